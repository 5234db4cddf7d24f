/* test_remote.c - remote arrays over file:// URLs: CRC-32C, metadata the reader refuses and why, N5 blocks */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <lz4.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "net/http.h"
#include "sources/remote.h"

static char dir[64];
static struct em_http *h;

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-remote-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	h = em_http_new(NULL);
	ck_assert_ptr_nonnull(h);
}

static void
teardown(void)
{
	char cmd[128];

	em_http_free(h);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
put(const char *name, const void *data, size_t n)
{
	char p[256], d[256], *slash;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(d, sizeof(d), "%s", p);
	slash = strrchr(d, '/');
	*slash = '\0';
	ck_assert_int_eq(em_mkdir_p(d), 0);
	ck_assert_int_eq(em_write_atomic(p, data, n, 0), 0);
}

static void
put_str(const char *name, const char *s)
{
	put(name, s, strlen(s));
}

static struct em_remote *
open_dir(const char *sub)
{
	char url[256];

	snprintf(url, sizeof(url), "file://%s/%s", dir, sub);
	return em_remote_open(h, url, NULL);
}

START_TEST(crc32c_vectors)
{
	/* RFC 3720 appendix B.4 and the usual check value. */
	unsigned char zeros[32] = { 0 }, ones[32];

	memset(ones, 0xff, sizeof(ones));
	ck_assert_uint_eq(em_crc32c("123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(em_crc32c("", 0), 0);
	ck_assert_uint_eq(em_crc32c(zeros, 32), 0x8a9136aau);
	ck_assert_uint_eq(em_crc32c(ones, 32), 0x62a8ab43u);
}
END_TEST

#define V3_HEAD "{\"zarr_format\":3,\"node_type\":\"array\",\"shape\":[4,6],\"data_type\":\"uint16\"," \
	"\"chunk_grid\":{\"name\":\"regular\",\"configuration\":{\"chunk_shape\":[2,3]}},\"fill_value\":0,"

static const struct {
	const char *meta;
	const char *error;
} bad_v3[] = {
	{ V3_HEAD "\"codecs\":[{\"name\":\"bytes\",\"configuration\":{\"endian\":\"little\"}},"
	  "{\"name\":\"numcodecs.bz2\"}]}", "unsupported codec 'numcodecs.bz2'" },
	{ V3_HEAD "\"codecs\":[{\"name\":\"transpose\",\"configuration\":{\"order\":[0,0]}},"
	  "{\"name\":\"bytes\",\"configuration\":{\"endian\":\"little\"}}]}", "not a permutation" },
	{ V3_HEAD "\"codecs\":[{\"name\":\"bytes\",\"configuration\":{\"endian\":\"little\"}},"
	  "{\"name\":\"gzip\"},{\"name\":\"zstd\"}]}", "two compressors" },
	{ V3_HEAD "\"codecs\":[{\"name\":\"bytes\"}]}", "without endian" },
	{ V3_HEAD "\"codecs\":[{\"name\":\"gzip\"}]}", "before the bytes codec" },
	{ V3_HEAD "\"codecs\":[{\"name\":\"sharding_indexed\",\"configuration\":{\"chunk_shape\":[2,2],"
	  "\"codecs\":[{\"name\":\"bytes\",\"configuration\":{\"endian\":\"little\"}}]}}]}",
	  "not a multiple of the inner chunk shape" },
	{ V3_HEAD "\"codecs\":[{\"name\":\"bytes\",\"configuration\":{\"endian\":\"little\"}}],"
	  "\"storage_transformers\":[{\"name\":\"x\"}]}", "storage_transformers" },
	{ "{\"zarr_format\":3,\"node_type\":\"array\",\"shape\":[4,6],\"data_type\":\"complex64\","
	  "\"chunk_grid\":{\"name\":\"regular\",\"configuration\":{\"chunk_shape\":[2,3]}},"
	  "\"fill_value\":0,\"codecs\":[]}", "unsupported data type 'complex64'" },
	{ "{\"zarr_format\":3,\"node_type\":\"array\",\"shape\":[4,6],\"data_type\":\"uint8\","
	  "\"chunk_grid\":{\"name\":\"rectilinear\"},\"fill_value\":0,\"codecs\":[]}",
	  "unsupported chunk grid 'rectilinear'" },
	{ "{\"dimensions\":[6,4],\"blockSize\":[3,2],\"dataType\":\"uint16\","
	  "\"compression\":{\"type\":\"bzip2\"}}", "unsupported N5 compression 'bzip2'" },
	{ "{\"dimensions\":[6,4],\"blockSize\":[3],\"dataType\":\"uint16\"}", "blockSize 1" },
	/* A shard of 0 rows: 0 is a multiple of any inner chunk, and every locate divided by it. */
	{ "{\"zarr_format\":3,\"node_type\":\"array\",\"shape\":[4,4],\"data_type\":\"uint8\","
	  "\"chunk_grid\":{\"name\":\"regular\",\"configuration\":{\"chunk_shape\":[0,4]}},"
	  "\"fill_value\":0,\"codecs\":[{\"name\":\"sharding_indexed\",\"configuration\":"
	  "{\"chunk_shape\":[1,2],\"codecs\":[{\"name\":\"bytes\"}]}}]}",
	  "a shard dimension (chunk_grid chunk_shape) is 0" },
};

START_TEST(refused)
{
	struct em_remote *r;
	char name[64];

	snprintf(name, sizeof(name), "a%d/%s", _i,
	    strstr(bad_v3[_i].meta, "dimensions") ? "attributes.json" : "zarr.json");
	put_str(name, bad_v3[_i].meta);
	snprintf(name, sizeof(name), "a%d", _i);
	r = open_dir(name);
	ck_assert_ptr_null(r);
	if (strstr(em_errmsg(), bad_v3[_i].error) == NULL)
		ck_abort_msg("'%s' does not say '%s'", em_errmsg(), bad_v3[_i].error);
	/* The message names the metadata file. */
	ck_assert_ptr_nonnull(strstr(em_errmsg(), name));
}
END_TEST

START_TEST(nothing_there)
{
	ck_assert_ptr_null(open_dir("none"));
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "is not a Zarr v2, Zarr v3 or N5 array"));
}
END_TEST

/* An N5 block: header (big-endian) + raw big-endian uint16 elements. */
static size_t
n5_block(unsigned char *b, unsigned mode, unsigned nd, const uint32_t *size, uint32_t nel,
    uint16_t first)
{
	size_t o = 0, i;
	uint32_t k, n = 1;

	b[o++] = (unsigned char)(mode >> 8);
	b[o++] = (unsigned char)mode;
	b[o++] = (unsigned char)(nd >> 8);
	b[o++] = (unsigned char)nd;
	for (i = 0; i < nd; i++) {
		b[o++] = (unsigned char)(size[i] >> 24);
		b[o++] = (unsigned char)(size[i] >> 16);
		b[o++] = (unsigned char)(size[i] >> 8);
		b[o++] = (unsigned char)size[i];
		n *= size[i];
	}
	if (mode == 1) {
		b[o++] = (unsigned char)(nel >> 24);
		b[o++] = (unsigned char)(nel >> 16);
		b[o++] = (unsigned char)(nel >> 8);
		b[o++] = (unsigned char)nel;
	}
	for (k = 0; k < n; k++) {
		b[o++] = (unsigned char)((first + k) >> 8);
		b[o++] = (unsigned char)(first + k);
	}
	return o;
}

START_TEST(n5_blocks)
{
	struct em_remote *r;
	const struct em_remote_info *in;
	unsigned char blk[256];
	uint16_t out[6];
	uint64_t cidx[2] = { 1, 1 }, off, len;
	uint32_t edge[2] = { 3, 1 }, full[2] = { 3, 2 }, big[2] = { 4, 2 };
	char url[512];
	size_t n;
	int i;

	/* dimensions are fastest first: x 6, y 3; blocks x 3, y 2. */
	put_str("n5/attributes.json",
	    "{\"dimensions\":[6,3],\"blockSize\":[3,2],\"dataType\":\"uint16\","
	    "\"compression\":{\"type\":\"raw\"},"
	    "\"pixelResolution\":{\"dimensions\":[4.0,2.5],\"unit\":\"nm\"}}");
	r = open_dir("n5");
	ck_assert_ptr_nonnull(r);
	in = em_remote_info(r);
	ck_assert_int_eq(in->ndim, 2);
	ck_assert_uint_eq(in->shape[0], 3);
	ck_assert_uint_eq(in->shape[1], 6);
	ck_assert_uint_eq(in->chunks[0], 2);
	ck_assert_uint_eq(in->chunks[1], 3);
	ck_assert_int_eq(in->voxel_known, 1);
	ck_assert(in->voxel_nm[0] == 2.5 && in->voxel_nm[1] == 4.0);
	/* Block (y 1, x 1) is at path 1/1 (x first); its edge is cut to 3 x 1. */
	ck_assert_int_eq(em_remote_locate(r, h, cidx, url, sizeof(url), &off, &len), 0);
	ck_assert_ptr_nonnull(strstr(url, "/n5/1/1"));
	n = n5_block(blk, 0, 2, edge, 0, 100);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n, out), 0);
	ck_assert_uint_eq(out[0], 100);
	ck_assert_uint_eq(out[1], 101);
	ck_assert_uint_eq(out[2], 102);
	for (i = 3; i < 6; i++)
		ck_assert_uint_eq(out[i], 0);	/* the padding is the fill value */
	/* varlength with the right count decodes; with another count it is refused. */
	n = n5_block(blk, 1, 2, full, 6, 7);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n, out), 0);
	ck_assert_uint_eq(out[5], 12);
	n = n5_block(blk, 1, 2, full, 5, 7);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n, out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "varlength"));
	/* A block larger than blockSize, mode 2, a cut body, a cut header. */
	n = n5_block(blk, 0, 2, big, 0, 0);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n, out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "block size 4"));
	n = n5_block(blk, 2, 2, full, 0, 0);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n, out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "mode 2"));
	n = n5_block(blk, 0, 2, full, 0, 0);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n - 1, out), -1);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, 6, out), -1);
	em_remote_free(r);
}
END_TEST

START_TEST(v3_crc_and_keys)
{
	struct em_remote *r;
	unsigned char chunk[2 * 3 * 2 + 4];
	uint16_t out[6];
	uint64_t cidx[2] = { 1, 0 }, off, len;
	uint32_t crc;
	char url[512];
	int i;

	put_str("v3/zarr.json", V3_HEAD
	    "\"chunk_key_encoding\":{\"name\":\"default\",\"configuration\":{\"separator\":\".\"}},"
	    "\"codecs\":[{\"name\":\"bytes\",\"configuration\":{\"endian\":\"big\"}},"
	    "{\"name\":\"crc32c\"}]}");
	r = open_dir("v3");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(em_remote_locate(r, h, cidx, url, sizeof(url), &off, &len), 0);
	ck_assert_ptr_nonnull(strstr(url, "/v3/c.1.0"));
	for (i = 0; i < 6; i++) {
		chunk[2 * i] = 0;
		chunk[2 * i + 1] = (unsigned char)(i + 1);	/* big-endian 1..6 */
	}
	crc = em_crc32c(chunk, 12);
	for (i = 0; i < 4; i++)
		chunk[12 + i] = (unsigned char)(crc >> (8 * i));
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, chunk, sizeof(chunk), out), 0);
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(out[i], (unsigned)(i + 1));
	chunk[3] ^= 1;
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, chunk, sizeof(chunk), out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "crc32c mismatch"));
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, chunk, 12, out), -1);
	/* Outside the grid. */
	cidx[0] = 2;
	ck_assert_int_eq(em_remote_locate(r, h, cidx, url, sizeof(url), &off, &len), -1);
	em_remote_free(r);
}
END_TEST

/* A shard's index: where its inner chunks are, checksum, entries past the shard, big-endian. */
static void
put_le64(unsigned char *p, uint64_t v, int big)
{
	int i;

	for (i = 0; i < 8; i++)
		p[big ? 7 - i : i] = (unsigned char)(v >> (8 * i));
}

START_TEST(shard_index)
{
	static const uint64_t sidx[2] = { 0, 0 };
	/* 4x4 uint8 in one shard of four 2x2 inner chunks, index at the end with crc32c. */
	const char *meta = "{\"zarr_format\":3,\"node_type\":\"array\",\"shape\":[4,4],"
	    "\"data_type\":\"uint8\",\"chunk_grid\":{\"name\":\"regular\",\"configuration\":"
	    "{\"chunk_shape\":[4,4]}},\"chunk_key_encoding\":{\"name\":\"default\"},"
	    "\"fill_value\":0,\"codecs\":[{\"name\":\"sharding_indexed\",\"configuration\":"
	    "{\"chunk_shape\":[2,2],\"codecs\":[{\"name\":\"bytes\"}],\"index_codecs\":"
	    "[{\"name\":\"bytes\",\"configuration\":{\"endian\":\"%s\"}},{\"name\":\"crc32c\"}],"
	    "\"index_location\":\"end\"}}]}";
	unsigned char shard[12 + 4 * 16 + 4], *ix = shard + 12, out[4];
	uint64_t cidx[2], off, len;
	char url[512], text[1024];
	struct em_remote *r;
	uint32_t crc;
	int k, big;

	for (big = 0; big < 2; big++) {
		snprintf(text, sizeof(text), meta, big ? "big" : "little");
		put_str("sh/zarr.json", text);
		r = open_dir("sh");
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(em_remote_index_bytes(r), 4 * 16 + 4);
		ck_assert(em_remote_index_at_end(r));
		/* Chunks 0, 1, 3 stored in reverse order; chunk 2 empty. */
		for (k = 0; k < 12; k++)
			shard[k] = (unsigned char)(100 + k);
		put_le64(ix + 0, 8, big), put_le64(ix + 8, 4, big);
		put_le64(ix + 16, 4, big), put_le64(ix + 24, 4, big);
		put_le64(ix + 32, UINT64_MAX, big), put_le64(ix + 40, UINT64_MAX, big);
		put_le64(ix + 48, 0, big), put_le64(ix + 56, 4, big);
		crc = em_crc32c(ix, 64);
		for (k = 0; k < 4; k++)
			ix[64 + k] = (unsigned char)(crc >> (8 * k));
		ck_assert_int_eq(em_remote_take_index(r, sidx, ix, 68, sizeof(shard), "s"), 0);
		cidx[0] = 0, cidx[1] = 1;
		ck_assert_int_eq(em_remote_locate(r, NULL, cidx, url, sizeof(url), &off, &len), 0);
		ck_assert_uint_eq(off, 4);
		ck_assert_uint_eq(len, 4);
		ck_assert_ptr_nonnull(strstr(url, "/sh/c/0/0"));
		ck_assert_int_eq(em_remote_decode(r, NULL, cidx, shard + off, (size_t)len, out), 0);
		ck_assert_uint_eq(out[0], 104);
		cidx[0] = 1, cidx[1] = 0;
		ck_assert_int_eq(em_remote_locate(r, NULL, cidx, url, sizeof(url), &off, &len),
		    EM_HTTP_MISSING);
		cidx[1] = 1;
		ck_assert_int_eq(em_remote_locate(r, NULL, cidx, url, sizeof(url), &off, &len), 0);
		ck_assert_uint_eq(off, 0);
		/* A changed byte: the checksum says so, and nothing of it is kept. */
		ix[5] ^= 1;
		ck_assert_int_eq(em_remote_take_index(r, sidx, ix, 68, sizeof(shard), "s"), -1);
		ck_assert_ptr_nonnull(strstr(em_errmsg(), "shard 's': index checksum mismatch"));
		ix[5] ^= 1;
		/* An entry past the shard's end (checksum right). */
		put_le64(ix + 48, 78, big);
		crc = em_crc32c(ix, 64);
		for (k = 0; k < 4; k++)
			ix[64 + k] = (unsigned char)(crc >> (8 * k));
		ck_assert_int_eq(em_remote_take_index(r, sidx, ix, 68, 80, "s"), -1);
		ck_assert_str_eq(em_errmsg(), "shard 's': index entry 3 (78+4) is outside the shard");
		ck_assert_int_eq(em_remote_take_index(r, sidx, ix, 68, 82, "s"), 0);
		ck_assert_int_eq(em_remote_take_index(r, sidx, ix, 67, 82, "s"), -1);
		ck_assert_ptr_nonnull(strstr(em_errmsg(), "index of 67 bytes, expected 68"));
		em_remote_free(r);
	}
}
END_TEST

START_TEST(xxh32_vectors)
{
	static const char spam[] = "Nobody inspects the spammish repetition";

	ck_assert_uint_eq(em_xxh32("", 0, 0), 0x02cc5d05u);
	ck_assert_uint_eq(em_xxh32("abc", 3, 0), 0x32d153ffu);
	ck_assert_uint_eq(em_xxh32(spam, strlen(spam), 0), 0xe2293b2fu);
}
END_TEST

/* One lz4-java block: header, then the data. */
static size_t
lz4block(unsigned char *b, int method, uint32_t olen, uint32_t clen, const void *payload,
    uint32_t check)
{
	uint32_t v[3] = { clen, olen, check };
	size_t o = 8;
	int i, k;

	memcpy(b, "LZ4Block", 8);
	b[o++] = (unsigned char)(method | 5);
	for (k = 0; k < 3; k++)
		for (i = 0; i < 4; i++)
			b[o++] = (unsigned char)(v[k] >> (8 * i));
	memcpy(b + o, payload, clen);
	return o + clen;
}

START_TEST(n5_lz4)
{
	struct em_remote *r;
	unsigned char blk[4096], comp[2048], *p;
	uint16_t vals[30], out[30];
	uint64_t cidx[2] = { 0, 0 };
	uint32_t sizes[2] = { 6, 5 }, check;
	size_t n, i, half = 24;
	int clen;

	put_str("l4/attributes.json",
	    "{\"dimensions\":[6,5],\"blockSize\":[6,5],\"dataType\":\"uint16\","
	    "\"compression\":{\"type\":\"lz4\",\"blockSize\":65536}}");
	r = open_dir("l4");
	ck_assert_ptr_nonnull(r);
	/* Header: mode 0, 2 dimensions, 6 x 5; elements big-endian. */
	p = blk;
	*p++ = 0; *p++ = 0; *p++ = 0; *p++ = 2;
	for (i = 0; i < 2; i++) {
		*p++ = 0; *p++ = 0; *p++ = 0; *p++ = (unsigned char)sizes[i];
	}
	for (i = 0; i < 30; i++) {
		unsigned char be[2] = { (unsigned char)((i * 1000) >> 8), (unsigned char)(i * 1000) };
		memcpy((unsigned char *)vals + 2 * i, be, 2);
	}
	/* The first 24 bytes raw, the other 36 lz4-compressed, then the end block. */
	check = em_xxh32(vals, half, 0x9747b28cu) & 0x0fffffffu;
	p += lz4block(p, 0x10, (uint32_t)half, (uint32_t)half, vals, check);
	clen = LZ4_compress_default((const char *)vals + half, (char *)comp, 60 - (int)half,
	    (int)sizeof(comp));
	ck_assert_int_gt(clen, 0);
	check = em_xxh32((const unsigned char *)vals + half, 60 - half, 0x9747b28cu) & 0x0fffffffu;
	p += lz4block(p, 0x20, 60 - (uint32_t)half, (uint32_t)clen, comp, check);
	p += lz4block(p, 0x10, 0, 0, "", 0);
	n = (size_t)(p - blk);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n, out), 0);
	for (i = 0; i < 30; i++)
		ck_assert_uint_eq(out[i], (unsigned)(i * 1000));
	/* A checksum that does not match; a stream without its end block. */
	blk[4 + 8 + 17] ^= 1;
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n, out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "checksum"));
	blk[4 + 8 + 17] ^= 1;
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, n - 21, out), -1);
	/* numcodecs' LZ4 framing (what zarr-python's N5 store writes) is not lz4-java's. */
	clen = LZ4_compress_default((const char *)vals, (char *)comp, 60, (int)sizeof(comp));
	ck_assert_int_gt(clen, 0);
	p = blk + 12;
	*p++ = 60; *p++ = 0; *p++ = 0; *p++ = 0;
	memcpy(p, comp, (size_t)clen);
	ck_assert_int_eq(em_remote_decode(r, NULL, cidx, blk, 16 + (size_t)clen, out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "not an LZ4Block stream"));
	em_remote_free(r);
}
END_TEST

Suite *
remote_suite(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("remote");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, crc32c_vectors);
	tcase_add_loop_test(tc, refused, 0, (int)(sizeof(bad_v3) / sizeof(bad_v3[0])));
	tcase_add_test(tc, nothing_there);
	tcase_add_test(tc, n5_blocks);
	tcase_add_test(tc, v3_crc_and_keys);
	tcase_add_test(tc, shard_index);
	tcase_add_test(tc, xxh32_vectors);
	tcase_add_test(tc, n5_lz4);
	suite_add_tcase(s, tc);
	return s;
}
