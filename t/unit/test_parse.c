/* test_parse.c - the checked number, size and list parsers */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "core/parse.h"

static const struct {
	const char *in;
	int ok;
	uint64_t want;
} size_cases[] = {
	{ "0", 1, 0 },
	{ "1024", 1, 1024 },
	{ "64M", 1, 64ULL << 20 },
	{ "64m", 1, 64ULL << 20 },
	{ "2G", 1, 2ULL << 30 },
	{ "2GiB", 1, 2ULL << 30 },
	{ "2GB", 1, 2ULL << 30 },
	{ "1T", 1, 1ULL << 40 },
	{ "512K", 1, 512ULL << 10 },
	{ "", 0, 0 },
	{ "M", 0, 0 },
	{ "-1", 0, 0 },
	{ " 1", 0, 0 },
	{ "1 ", 0, 0 },
	{ "1X", 0, 0 },
	{ "1Mx", 0, 0 },
	{ "1.5G", 0, 0 },
	{ "18446744073709551615", 1, UINT64_MAX },
	{ "18446744073709551616", 0, 0 },
	{ "17179869184G", 0, 0 },
};

START_TEST(size)
{
	uint64_t v = 12345;
	int rc = em_parse_size(size_cases[_i].in, &v);

	ck_assert_msg((rc == 0) == size_cases[_i].ok, "'%s': rc %d", size_cases[_i].in, rc);
	if (size_cases[_i].ok)
		ck_assert_uint_eq(v, size_cases[_i].want);
	else
		ck_assert_uint_eq(v, 12345);
}
END_TEST

static const struct {
	const char *in;
	int ok;
	int want;
} int_cases[] = {
	{ "0", 1, 0 }, { "-5", 1, -5 }, { "+7", 1, 7 }, { "100", 1, 100 },
	{ "101", 0, 0 }, { "-11", 0, 0 }, { "", 0, 0 }, { "5x", 0, 0 },
	{ "--5", 0, 0 }, { "99999999999999999999", 0, 0 },
};

START_TEST(ints)
{
	int v = 42;
	int rc = em_parse_int(int_cases[_i].in, -10, 100, &v);

	ck_assert_msg((rc == 0) == int_cases[_i].ok, "'%s'", int_cases[_i].in);
	ck_assert_int_eq(v, int_cases[_i].ok ? int_cases[_i].want : 42);
}
END_TEST

START_TEST(lists)
{
	uint64_t v[3] = { 0, 0, 0 };

	ck_assert_int_eq(em_parse_u64_list("64,32,16", v, 3, 1, 1024), 0);
	ck_assert_uint_eq(v[0], 64);
	ck_assert_uint_eq(v[1], 32);
	ck_assert_uint_eq(v[2], 16);
	ck_assert_int_eq(em_parse_u64_list("64,32", v, 3, 1, 1024), -1);
	ck_assert_int_eq(em_parse_u64_list("64,32,16,8", v, 3, 1, 1024), -1);
	ck_assert_int_eq(em_parse_u64_list("64,,16", v, 3, 1, 1024), -1);
	ck_assert_int_eq(em_parse_u64_list("64,0,16", v, 3, 1, 1024), -1);
	ck_assert_int_eq(em_parse_u64_list("64,32,2048", v, 3, 1, 1024), -1);
	ck_assert_int_eq(em_parse_u64_list("64, 32,16", v, 3, 1, 1024), -1);
	/* Nothing is stored on failure. */
	ck_assert_uint_eq(v[0], 64);
}
END_TEST

/* Boxes: START:END ranges, checked as the numbers above are; the message says why. */
static const struct {
	const char *in;
	const char *msg;	/* NULL: accepted */
} range_cases[] = {
	{ "0:64,10:20,5:6", NULL },
	{ "0:18446744073709551615,0:1,0:1", NULL },
	{ "0:18446744073709551616,0:1,0:1", "'18446744073709551616' is too large" },
	{ "99999999999999999999999:1,0:1,0:1", "'99999999999999999999999' is too large" },
	{ "0:4,0:4", "is not 3 ranges START:END" },
	{ "0:4,0:4,0:4,0:4", "is not 3 ranges START:END" },
	{ "0:4,0:4,0:4x", "is not 3 ranges START:END" },
	{ "0:4,0:4,-1:4", "is not 3 ranges START:END" },
	{ "0:4, 0:4,0:4", "is not 3 ranges START:END" },
	{ "0-4,0:4,0:4", "is not 3 ranges START:END" },
	{ "0:,0:4,0:4", "is not 3 ranges START:END" },
	{ "", "is not 3 ranges START:END" },
	{ "0:4,5:5,0:4", "range 2 (5:5) does not start below its end" },
	{ "0:4,6:5,0:4", "range 2 (6:5) does not start below its end" },
};

START_TEST(ranges)
{
	uint64_t lo[3] = { 7, 7, 7 }, hi[3] = { 7, 7, 7 };
	int rc = em_parse_range_list(range_cases[_i].in, lo, hi, 3, UINT64_MAX);

	if (range_cases[_i].msg == NULL) {
		ck_assert_int_eq(rc, 0);
		return;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(em_errmsg(), range_cases[_i].msg) != NULL, "'%s': '%s' lacks '%s'",
	    range_cases[_i].in, em_errmsg(), range_cases[_i].msg);
	/* Nothing is stored on failure. */
	ck_assert_uint_eq(lo[0], 7);
	ck_assert_uint_eq(hi[2], 7);
}
END_TEST

START_TEST(range_values)
{
	uint64_t lo[3], hi[3];

	ck_assert_int_eq(em_parse_range_list("0:64,10:20,5:6", lo, hi, 3, 1000), 0);
	ck_assert_uint_eq(lo[0], 0);
	ck_assert_uint_eq(hi[0], 64);
	ck_assert_uint_eq(lo[1], 10);
	ck_assert_uint_eq(hi[1], 20);
	ck_assert_uint_eq(lo[2], 5);
	ck_assert_uint_eq(hi[2], 6);
	ck_assert_int_eq(em_parse_range_list("0:64,10:20,5:1001", lo, hi, 3, 1000), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "1001 is out of range [0, 1000]"));
	/* A list of numbers names the one that overflows too. */
	ck_assert_int_eq(em_parse_u64_list("1,99999999999999999999,3", lo, 3, 0, UINT64_MAX), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "'99999999999999999999' is too large"));
}
END_TEST

START_TEST(doubles)
{
	double d = 0;

	ck_assert_int_eq(em_parse_double("5.5", &d), 0);
	ck_assert(d == 5.5);
	ck_assert_int_eq(em_parse_double("1e-3", &d), 0);
	ck_assert(d == 1e-3);
	ck_assert_int_eq(em_parse_double("", &d), -1);
	ck_assert_int_eq(em_parse_double("nan", &d), -1);
	ck_assert_int_eq(em_parse_double("1e999", &d), -1);
	ck_assert_int_eq(em_parse_double("3nm", &d), -1);
}
END_TEST

START_TEST(format)
{
	char b[32];

	ck_assert_str_eq(em_format_size(512, b, sizeof(b)), "512 B");
	ck_assert_str_eq(em_format_size(1536, b, sizeof(b)), "1.5 KiB");
	ck_assert_str_eq(em_format_size(3ULL << 30, b, sizeof(b)), "3.0 GiB");
}
END_TEST

Suite *
parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, size, 0, sizeof(size_cases) / sizeof(size_cases[0]));
	tcase_add_loop_test(tc, ints, 0, sizeof(int_cases) / sizeof(int_cases[0]));
	tcase_add_test(tc, lists);
	tcase_add_loop_test(tc, ranges, 0, sizeof(range_cases) / sizeof(range_cases[0]));
	tcase_add_test(tc, range_values);
	tcase_add_test(tc, doubles);
	tcase_add_test(tc, format);
	suite_add_tcase(s, tc);
	return s;
}
