/* test_limits.c - headers from outside that claim huge sizes are refused, nothing allocated from them */
#include <sys/resource.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/limits.h"
#include "formats/image.h"
#include "net/http.h"
#include "sources/dvid.h"
#include "sources/remote.h"
#include "store/zarr.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-limits-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* A classic little-endian TIFF of one uint8 page width x length, one strip of 16 bytes. */
static void
write_tiff(const char *path, uint32_t width, uint32_t length)
{
	static const struct { unsigned tag, type; uint32_t v; } e[] = {
		{ 256, 4, 0 }, { 257, 4, 0 }, { 258, 3, 8 }, { 259, 3, 1 }, { 262, 3, 1 },
		{ 273, 4, 256 }, { 277, 3, 1 }, { 278, 4, 0 }, { 279, 4, 16 },
	};
	unsigned char b[272];
	size_t i, n = sizeof(e) / sizeof(e[0]);
	FILE *fp;

	memset(b, 0, sizeof(b));
	memcpy(b, "II*\0", 4);
	put32(b + 4, 8);
	put16(b + 8, (unsigned)n);
	for (i = 0; i < n; i++) {
		unsigned char *p = b + 10 + 12 * i;
		uint32_t v = e[i].v;
		if (e[i].tag == 256)
			v = width;
		else if (e[i].tag == 257 || e[i].tag == 278)
			v = length;
		put16(p, e[i].tag);
		put16(p + 2, e[i].type);
		put32(p + 4, 1);
		if (e[i].type == 3)
			put16(p + 8, (unsigned)v);
		else
			put32(p + 8, v);
	}
	ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(b, 1, sizeof(b), fp), sizeof(b));
	ck_assert_int_eq(fclose(fp), 0);
}

/*
 * The readers run under an address-space limit far below what the
 * headers claim: only an allocation sized from the header could hit it.
 * Only in a forked test (CK_FORK=no runs every test in one process, as
 * under valgrind, where the limit would outlive the test).
 */
static void
limit_memory(void)
{
	struct rlimit rl = { (rlim_t)1 << 32, (rlim_t)1 << 32 };

	/* ASan reserves terabytes of address space; the limit is for plain builds only. */
#if !defined(__SANITIZE_ADDRESS__)
	const char *fork = getenv("CK_FORK");

	if (fork == NULL || strcmp(fork, "no") != 0)
		ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#else
	(void)rl;
#endif
}

START_TEST(tiff_huge_plane)
{
	struct em_img *img = NULL;
	char path[128];

	limit_memory();
	/* 2^20 x 2^20 = 2^40 voxels in one page of 16 bytes. */
	snprintf(path, sizeof(path), "%s/huge.tif", dir);
	write_tiff(path, 1u << 20, 1u << 20);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_ptr_null(img);
	ck_assert_str_eq(em_errmsg(), "a 1048576x1048576 uint8 plane is 1099511627776 bytes,"
	    " more than the 2147483648 a plane may take");
	/* A width past EM_IMG_MAX_DIM's reach of 32 bits still cannot make a plane. */
	write_tiff(path, 0xffffffffu, 1);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_ptr_null(img);
	/* The same header with a plane that fits reads (so the refusal is the size). */
	write_tiff(path, 4, 4);
	ck_assert_int_eq(em_img_open(path, NULL, &img), 0);
	ck_assert_uint_eq(em_img_plane_bytes(img), 16);
	em_img_free(img);
}
END_TEST

START_TEST(array_size)
{
	/* The hemibrain at 8 nm in 64^3 and 32^3 chunks: within both limits. */
	const uint64_t hemi[3] = { 34431, 39743, 41407 }, c64[3] = { 64, 64, 64 };
	const uint64_t c32[3] = { 32, 32, 32 }, c1[3] = { 1, 1, 1 };
	const uint64_t absurd[3] = { 1u << 30, 1u << 30, 1 }, wide[3] = { 1u << 30, 1u << 4, 1 };
	const uint64_t zero[3] = { 0, (uint64_t)1 << 62, (uint64_t)1 << 62 };
	const uint64_t wrap[3] = { (uint64_t)1 << 32, (uint64_t)1 << 32, (uint64_t)1 << 32 };
	struct em_zarr_meta m;
	json_t *j;

	ck_assert_int_eq(em_zarr_check_size(3, hemi, c64), 0);
	ck_assert_int_eq(em_zarr_check_size(3, hemi, c32), 0);
	ck_assert_int_eq(em_zarr_check_size(3, zero, c1), 0);	/* empty: no elements */
	/* 2^60 elements; the message gives the shape and the limit. */
	ck_assert_int_eq(em_zarr_check_size(3, absurd, c64), -1);
	ck_assert_str_eq(em_errmsg(), "shape 1073741824,1073741824,1 has more than "
	    "1125899906842624 (2^50) elements, the most an array may have here");
	/* 2^96 does not wrap round to a small count. */
	ck_assert_int_eq(em_zarr_check_size(3, wrap, c64), -1);
	/* 2^34 elements is fine, but not in 2^34 chunks of one. */
	ck_assert_int_eq(em_zarr_check_size(3, wide, c64), 0);
	ck_assert_int_eq(em_zarr_check_size(3, wide, c1), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "shape 1073741824,16,1 in chunks of 1,1,1 is "
	    "more than 4294967296 (2^32) chunks"));
	/* The writer's meta refuses such arrays, and so does a .zarray. */
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, hemi, c64, EM_DT_U1, NULL), 0);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, absurd, c64, EM_DT_U1, NULL), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "(2^50) elements"));
	j = json_loads("{\"zarr_format\": 2, \"shape\": [1073741824, 1073741824, 1], "
	    "\"chunks\": [64, 64, 64], \"dtype\": \"|u1\", \"order\": \"C\", "
	    "\"compressor\": null, \"fill_value\": 0, \"filters\": null}", 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(em_zarr_meta_from_json(&m, j), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "(2^50) elements"));
	json_decref(j);
}
END_TEST

/* Zarr v3 and N5 metadata over file:// are refused the same way, naming the URL. */
START_TEST(remote_array_size)
{
	static const char *const meta[][2] = {
		{ "v3/zarr.json", "{\"zarr_format\":3,\"node_type\":\"array\",\"shape\":"
		  "[1073741824,1073741824,1],\"data_type\":\"uint8\",\"chunk_grid\":{\"name\":"
		  "\"regular\",\"configuration\":{\"chunk_shape\":[64,64,64]}},\"fill_value\":0,"
		  "\"codecs\":[{\"name\":\"bytes\"}]}" },
		{ "n5/attributes.json", "{\"dimensions\":[1,1073741824,1073741824],\"blockSize\":"
		  "[64,64,64],\"dataType\":\"uint8\",\"compression\":{\"type\":\"raw\"}}" },
	};
	struct em_http *h = em_http_new(NULL);
	char p[256], url[256];
	size_t i;

	ck_assert_ptr_nonnull(h);
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, meta[i][0]);
		*strrchr(p, '/') = '\0';
		ck_assert_int_eq(em_mkdir_p(p), 0);
		snprintf(p, sizeof(p), "%s/%s", dir, meta[i][0]);
		ck_assert_int_eq(em_write_atomic(p, meta[i][1], strlen(meta[i][1]), 0), 0);
		snprintf(url, sizeof(url), "file://%s/%.2s", dir, meta[i][0]);
		ck_assert_ptr_null(em_remote_open(h, url, NULL));
		ck_assert_msg(strstr(em_errmsg(), url) != NULL &&
		    strstr(em_errmsg(), "(2^50) elements") != NULL, "%s", em_errmsg());
	}
	em_http_free(h);
}
END_TEST

/* A DVID instance whose extents (each within int32) make more than 2^50 voxels. */
START_TEST(dvid_extents)
{
	static const char info[] = "{\"Base\": {\"TypeName\": \"uint8blk\"}, \"Extended\": "
	    "{\"MinPoint\": [0, 0, 0], \"MaxPoint\": [2000000000, 2000000000, 2000000000]}}";
	static const char hemi[] = "{\"Base\": {\"TypeName\": \"uint8blk\"}, \"Extended\": "
	    "{\"MinPoint\": [0, 0, 0], \"MaxPoint\": [34430, 39742, 41406]}}";
	const uint64_t o[3] = { 0, 0, 0 }, s[3] = { 64, 64, 64 };
	struct em_dvid_info di;

	ck_assert_int_eq(em_dvid_parse_info(info, sizeof(info) - 1, &di), 0);
	ck_assert_int_eq(em_dvid_check_box(&di, "grayscale", o, s), -1);
	ck_assert_str_eq(em_errmsg(), "instance 'grayscale' has extents of 2000000001 x 2000000001 "
	    "x 2000000001 voxels (X,Y,Z), more than the 1125899906842624 (2^50) a volume may "
	    "have here");
	em_dvid_info_release(&di);
	ck_assert_int_eq(em_dvid_parse_info(hemi, sizeof(hemi) - 1, &di), 0);
	ck_assert_int_eq(em_dvid_check_box(&di, "grayscale", o, s), 0);
	em_dvid_info_release(&di);
}
END_TEST

Suite *
limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tiff_huge_plane);
	tcase_add_test(tc, array_size);
	tcase_add_test(tc, remote_array_size);
	tcase_add_test(tc, dvid_extents);
	suite_add_tcase(s, tc);
	return s;
}
