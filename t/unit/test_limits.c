/* test_limits.c - headers from outside that claim huge sizes are refused, nothing allocated from them */
#include <sys/resource.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "core/limits.h"
#include "formats/image.h"

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

Suite *
limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tiff_huge_plane);
	suite_add_tcase(s, tc);
	return s;
}
