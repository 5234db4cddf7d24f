/* test_remote.c - remote arrays over file:// URLs: CRC-32C, metadata the reader refuses and why, N5 blocks */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "diag.h"
#include "fsutil.h"
#include "http.h"
#include "remote.h"

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
	suite_add_tcase(s, tc);
	return s;
}
