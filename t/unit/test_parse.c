/* test_parse.c - the checked number, size and list parsers */
#include <stdint.h>
#include <string.h>

#include <check.h>

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
	tcase_add_test(tc, doubles);
	tcase_add_test(tc, format);
	suite_add_tcase(s, tc);
	return s;
}
