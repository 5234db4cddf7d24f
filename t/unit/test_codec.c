/* test_codec.c - codec round trips, numcodecs' own test vectors, streams written by zlib, errors */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <zlib.h>

#include "store/codec.h"
#include "core/diag.h"
#include "core/jsonio.h"

static unsigned char *
sample(size_t n)
{
	unsigned char *p = malloc(n);
	uint32_t s = 12345;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		p[i] = (unsigned char)(i / 7 % 50 + (i % 16 == 0 ? s >> 28 : 0));	/* smooth + some noise */
	}
	return p;
}

static const char *const names[] = { "raw", "zlib", "gzip", "zstd", "blosc-lz4", "blosc-zstd",
	"blosc-zlib", "blosc-blosclz", "lz4", "blosc-lz4-bitshuffle", "blosc-zstd-noshuffle" };

START_TEST(round_trip)
{
	size_t n = 200003, olen = 0;
	unsigned char *src = sample(n), *dec = malloc(n), *enc;
	struct em_codec c, back;
	struct em_codec_ctx *x = em_codec_ctx_new();
	json_t *j;

	ck_assert_int_eq(em_codec_from_name(names[_i], -1, &c), 0);
	c.typesize = 2;
	enc = malloc(em_codec_bound(&c, n));
	ck_assert_int_eq(em_codec_encode(x, &c, src, n, enc, em_codec_bound(&c, n), &olen), 0);
	if (c.id != EM_CODEC_RAW)
		ck_assert_msg(olen < n, "%s did not compress (%zu)", names[_i], olen);
	ck_assert_int_eq(em_codec_decode(x, &c, enc, olen, dec, n), 0);
	ck_assert_mem_eq(src, dec, n);
	/* The same bytes again (deterministic, also through a fresh context). */
	{
		size_t o2 = 0;
		unsigned char *e2 = malloc(em_codec_bound(&c, n));
		ck_assert_int_eq(em_codec_encode(NULL, &c, src, n, e2, em_codec_bound(&c, n), &o2), 0);
		ck_assert_uint_eq(o2, olen);
		ck_assert_mem_eq(e2, enc, olen);
		free(e2);
	}
	/* A stream that decodes to another size than the chunk is an error. */
	ck_assert_int_eq(em_codec_decode(x, &c, enc, olen, dec, n - 1), -1);
	if (c.id != EM_CODEC_RAW) {
		ck_assert_int_eq(em_codec_decode(x, &c, enc, olen / 2, dec, n), -1);
	}
	/* The JSON form gives the same codec back. */
	j = em_codec_to_json(&c);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(em_codec_from_json(j, &back), 0);
	ck_assert_int_eq(back.id, c.id);
	ck_assert_int_eq(back.level, c.level);
	ck_assert_str_eq(back.cname, c.cname);
	ck_assert_int_eq(back.shuffle, c.shuffle);
	json_decref(j);
	em_codec_ctx_free(x);
	free(src);
	free(dec);
	free(enc);
}
END_TEST

START_TEST(json_forms)
{
	struct em_codec c;
	json_t *j;
	char buf[64];

	ck_assert_int_eq(em_codec_from_json(NULL, &c), 0);
	ck_assert_int_eq(c.id, EM_CODEC_RAW);
	j = json_loads("{\"id\":\"bz2\",\"level\":9}", 0, NULL);
	ck_assert_int_eq(em_codec_from_json(j, &c), -1);
	ck_assert_msg(strstr(em_errmsg(), "unsupported compressor 'bz2'") != NULL, "%s", em_errmsg());
	json_decref(j);
	j = json_loads("{\"id\":\"blosc\",\"cname\":\"zstd\",\"clevel\":1,\"shuffle\":2,"
	    "\"blocksize\":0}", 0, NULL);
	ck_assert_int_eq(em_codec_from_json(j, &c), 0);
	ck_assert_str_eq(em_codec_describe(&c, buf, sizeof(buf)), "blosc zstd clevel 1 bitshuffle");
	json_decref(j);
	j = json_loads("{\"id\":\"zlib\",\"level\":12}", 0, NULL);
	ck_assert_int_eq(em_codec_from_json(j, &c), -1);
	json_decref(j);
	j = json_loads("{\"level\":1}", 0, NULL);
	ck_assert_int_eq(em_codec_from_json(j, &c), -1);
	json_decref(j);
	ck_assert_int_eq(em_codec_from_name("bzip2", -1, &c), -1);
	ck_assert_msg(strstr(em_errmsg(), "'bzip2'") != NULL, "%s", em_errmsg());
	ck_assert_int_eq(em_codec_from_name("zlib", 10, &c), -1);
	ck_assert_int_eq(em_codec_from_name("blosc-lz4-byteshuffle", -1, &c), -1);
	ck_assert_int_eq(em_codec_from_name("blosc-", -1, &c), -1);
	ck_assert_int_eq(em_codec_from_name("blosc-zlib-bitshuffle", 3, &c), 0);
	ck_assert_str_eq(em_codec_describe(&c, buf, sizeof(buf)), "blosc zlib clevel 3 bitshuffle");
	em_codec_default(&c);
	ck_assert_str_eq(em_codec_describe(&c, buf, sizeof(buf)), "zstd level 1");
	j = em_codec_to_json(&c);
	{
		char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
		ck_assert_str_eq(s, "{\"id\":\"zstd\",\"level\":1}");
		free(s);
	}
	json_decref(j);
}
END_TEST

/* Streams made by zlib itself (not libdeflate): zlib format, and gzip with a name and two members. */
START_TEST(zlib_written_streams)
{
	size_t n = 65536, half = n / 2;
	unsigned char *src = sample(n), *dec = malloc(n), out[2 * 65536];
	uLongf zl = sizeof(out);
	struct em_codec c;
	z_stream zs;
	gz_header h;
	size_t off = 0;
	int k;

	ck_assert_int_eq(compress2(out, &zl, src, n, 6), Z_OK);
	ck_assert_int_eq(em_codec_from_name("zlib", 1, &c), 0);
	ck_assert_int_eq(em_codec_decode(NULL, &c, out, zl, dec, n), 0);
	ck_assert_mem_eq(src, dec, n);
	for (k = 0; k < 2; k++) {
		memset(&zs, 0, sizeof(zs));
		memset(&h, 0, sizeof(h));
		h.name = (Bytef *)"chunk.raw";
		ck_assert_int_eq(deflateInit2(&zs, 5, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
		ck_assert_int_eq(deflateSetHeader(&zs, &h), Z_OK);
		zs.next_in = src + k * half;
		zs.avail_in = (uInt)half;
		zs.next_out = out + off;
		zs.avail_out = (uInt)(sizeof(out) - off);
		ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
		off += zs.total_out;
		deflateEnd(&zs);
	}
	ck_assert_int_eq(em_codec_from_name("gzip", 1, &c), 0);
	ck_assert_int_eq(em_codec_decode(NULL, &c, out, off, dec, n), 0);
	ck_assert_mem_eq(src, dec, n);
	free(src);
	free(dec);
}
END_TEST

/* zlib's own inflate reads n bytes at p (zlib format, or gzip when gz) back as want. */
static void
zlib_reads(const unsigned char *p, size_t n, int gz, const unsigned char *want, size_t wn)
{
	unsigned char *got = malloc(wn + 1);
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(inflateInit2(&zs, gz ? 31 : 15), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = got;
	zs.avail_out = (uInt)(wn + 1);
	ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
	ck_assert_uint_eq(zs.total_out, wn);
	ck_assert_uint_eq(zs.avail_in, 0);
	if (wn > 0)
		ck_assert_mem_eq(got, want, wn);
	inflateEnd(&zs);
	free(got);
}

/*
 * Level 1 (igzip) and another level (libdeflate): streams zlib itself reads,
 * the same bytes each time, within em_codec_bound for data that does not
 * compress, and for nothing at all.
 */
START_TEST(deflate_streams)
{
	size_t sizes[] = { 0, 1, 262144, 300001 }, k;
	struct em_codec_ctx *x = em_codec_ctx_new();
	uint32_t s = 99;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k], i, cap, l1, l2;
		unsigned char *src = n == 300001 ? malloc(n) : sample(n ? n : 1), *e1, *e2;
		struct em_codec c;
		int gz, level;

		if (n == 300001)	/* noise: does not compress */
			for (i = 0; i < n; i++) {
				s = s * 1664525u + 1013904223u;
				src[i] = (unsigned char)(s >> 24);
			}
		for (gz = 0; gz < 2; gz++)
			for (level = 1; level <= 6; level += 5) {
				ck_assert_int_eq(em_codec_from_name(gz ? "gzip" : "zlib", level, &c), 0);
				cap = em_codec_bound(&c, n);
				e1 = malloc(cap);
				e2 = malloc(cap);
				ck_assert_int_eq(em_codec_encode(x, &c, src, n, e1, cap, &l1), 0);
				ck_assert_int_eq(em_codec_encode(x, &c, src, n, e2, cap, &l2), 0);
				ck_assert_uint_eq(l1, l2);
				ck_assert_mem_eq(e1, e2, l1);
				if (n == 262144)
					ck_assert_uint_lt(l1, n / 2);
				zlib_reads(e1, l1, gz, src, n);
				free(e1);
				free(e2);
			}
		free(src);
	}
	em_codec_ctx_free(x);
}
END_TEST

static unsigned char *
load(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *p;
	long len;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	*n = (size_t)len;
	return p;
}

/* The data of a .npy file (any version): offset of the payload. */
static size_t
npy_data(const unsigned char *p, size_t n)
{
	ck_assert_uint_ge(n, 12);
	ck_assert_mem_eq(p, "\x93NUMPY", 6);
	if (p[6] == 1)
		return 10 + (size_t)(p[8] | p[9] << 8);
	return 12 + (size_t)(p[8] | p[9] << 8 | p[10] << 16 | (size_t)p[11] << 24);
}

static const char *
testdata(void)
{
	const char *t = getenv("EM_TESTDATA");

	return t != NULL ? t : "../shared/testdata";
}

START_TEST(numcodecs_vectors)
{
	static const char *const fx[] = { "zlib", "gzip", "zstd", "blosc", "lz4" };
	char dir[512], path[700];
	int cnum, anum, decoded = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/codecs/numcodecs_fixture_%s", testdata(), fx[_i]);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "skipped: no %s\n", dir);
		return;
	}
	closedir(d);
	for (cnum = 0; cnum < 20; cnum++) {
		struct em_codec c;
		json_t *cfg;
		snprintf(path, sizeof(path), "%s/codec.%02d/config.json", dir, cnum);
		if ((cfg = json_load_file(path, 0, NULL)) == NULL)
			continue;
		ck_assert_msg(em_codec_from_json(cfg, &c) == 0, "%s: %s", path, em_errmsg());
		json_decref(cfg);
		for (anum = 0; anum < 20; anum++) {
			size_t an, en, off;
			unsigned char *arr, *enc, *dec;
			snprintf(path, sizeof(path), "%s/array.%02d.npy", dir, anum);
			if ((arr = load(path, &an)) == NULL)
				continue;
			snprintf(path, sizeof(path), "%s/codec.%02d/encoded.%02d.dat", dir, cnum, anum);
			if ((enc = load(path, &en)) == NULL) {
				free(arr);
				continue;
			}
			off = npy_data(arr, an);
			dec = malloc(an - off + 1);
			ck_assert_msg(em_codec_decode(NULL, &c, enc, en, dec, an - off) == 0,
			    "%s: %s", path, em_errmsg());
			ck_assert_msg(memcmp(dec, arr + off, an - off) == 0, "%s differs", path);
			/* One byte short of the array is a size mismatch, never silence. */
			ck_assert_int_eq(em_codec_decode(NULL, &c, enc, en, dec, an - off - 1), -1);
			decoded++;
			free(arr);
			free(enc);
			free(dec);
		}
	}
	ck_assert_int_ge(decoded, 50);
}
END_TEST

START_TEST(blosc_header_checks)
{
	unsigned char buf[64] = { 2, 1, 0x21, 1 };
	unsigned char out[16];
	struct em_codec c;

	ck_assert_int_eq(em_codec_from_name("blosc-lz4", 5, &c), 0);
	ck_assert_int_eq(em_codec_decode(NULL, &c, buf, 8, out, sizeof(out)), -1);
	ck_assert_msg(strstr(em_errmsg(), "shorter than its header") != NULL, "%s", em_errmsg());
	/* nbytes 16, cbytes 1000 > what we have */
	buf[4] = 16;
	buf[12] = 0xe8;
	buf[13] = 0x03;
	ck_assert_int_eq(em_codec_decode(NULL, &c, buf, sizeof(buf), out, sizeof(out)), -1);
	ck_assert_msg(strstr(em_errmsg(), "truncated") != NULL, "%s", em_errmsg());
}
END_TEST

Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, round_trip, 0, (int)(sizeof(names) / sizeof(names[0])));
	tcase_add_test(tc, json_forms);
	tcase_add_test(tc, zlib_written_streams);
	tcase_add_test(tc, deflate_streams);
	tcase_add_loop_test(tc, numcodecs_vectors, 0, 5);
	tcase_add_test(tc, blosc_header_checks);
	suite_add_tcase(s, tc);
	return s;
}
