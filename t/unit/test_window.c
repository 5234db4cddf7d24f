/* test_window.c - the display window from a histogram, and the --levels parser */
#include <check.h>
#include <jansson.h>

#include "meta/stats.h"
#include "meta/window.h"
#include "tool/levels.h"

/* 1000 uint8 values: 5 zeros, then 1..9 many times, 5 at 255. */
START_TEST(percentiles_u8)
{
	struct em_stats *s = em_stats_new(EM_DT_U1, 0);
	unsigned char v[1000];
	double w[4];
	json_t *r;
	int i;

	for (i = 0; i < 1000; i++)
		v[i] = i < 5 ? 0 : i >= 995 ? 255 : (unsigned char)(1 + i % 9);
	ck_assert_int_eq(em_stats_add(s, v, 1000), 0);
	r = em_stats_result(s);
	ck_assert_int_eq(em_stats_window(r, 1, 0.5, 99.5, w), 0);
	/* Rank 5 is the last zero; rank 995 the last value below 255. */
	ck_assert(w[0] == 0 && w[1] == 255);
	ck_assert_msg(w[2] == 0 && w[3] == 9, "window %g..%g", w[2], w[3]);
	/* 0.6 %: rank 6, the first 1. */
	ck_assert_int_eq(em_stats_window(r, 1, 0.6, 99.6, w), 0);
	ck_assert_msg(w[2] == 1 && w[3] == 255, "window %g..%g", w[2], w[3]);
	json_decref(r);
	em_stats_free(s);
}
END_TEST

START_TEST(no_values)
{
	json_t *r = json_pack("{s:n, s:n}", "min", "max");
	double w[4];

	ck_assert_int_eq(em_stats_window(r, 1, 0.5, 99.5, w), -1);
	json_decref(r);
}
END_TEST

START_TEST(levels_parse)
{
	int l = -1;

	ck_assert_int_eq(em_levels_parse("auto", &l), 0);
	ck_assert_int_eq(l, 0);
	ck_assert_int_eq(em_levels_parse("1", &l), 0);
	ck_assert_int_eq(l, 1);
	ck_assert_int_eq(em_levels_parse("24", &l), 0);
	ck_assert_int_eq(l, 24);
	ck_assert_int_eq(em_levels_parse("0", &l), -1);
	ck_assert_int_eq(em_levels_parse("25", &l), -1);
	ck_assert_int_eq(em_levels_parse("3x", &l), -1);
	ck_assert_int_eq(em_levels_parse("", &l), -1);
}
END_TEST

Suite *
window_suite(void)
{
	Suite *s = suite_create("window");
	TCase *tc = tcase_create("window");

	tcase_add_test(tc, percentiles_u8);
	tcase_add_test(tc, no_values);
	tcase_add_test(tc, levels_parse);
	suite_add_tcase(s, tc);
	return s;
}
