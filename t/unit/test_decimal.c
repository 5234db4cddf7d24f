/* test_decimal.c - shortest decimal spellings of doubles and of float32 header values */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/decimal.h"
#include "core/diag.h"

START_TEST(spell)
{
	static const struct { double d; const char *text; } cases[] = {
		{ 0.1, "0.1" }, { 8, "8.0" }, { 100, "100.0" }, { -0.0, "-0.0" }, { 0, "0.0" },
		{ 1.5, "1.5" }, { 0.001, "0.001" }, { 0.0001, "0.0001" }, { 0.00001, "1e-5" },
		{ 1.5e-7, "1.5e-7" }, { 1e16, "10000000000000000.0" }, { 1e17, "1e17" },
		{ 1e20, "1e20" }, { 123456789012.5, "123456789012.5" }, { -2.25, "-2.25" },
		{ 1.0 / 3, "0.3333333333333333" }, { 2.0 / 3, "0.6666666666666666" },
		{ 0.30000000000000004, "0.30000000000000004" }, { 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e308" },
		{ 8.00000037997961, "8.00000037997961" },
	};
	char buf[EM_DECIMAL_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(em_decimal_spell(cases[i].d, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, cases[i].text);
		/* Whatever the spelling, it reads back as the same double. */
		ck_assert(strtod(buf, NULL) == cases[i].d);
	}
	ck_assert_int_eq(em_decimal_spell(NAN, buf, sizeof(buf)), -1);
	ck_assert_int_eq(em_decimal_spell(INFINITY, buf, sizeof(buf)), -1);
	ck_assert_int_eq(em_decimal_spell(0.1, buf, 3), -1);
}
END_TEST

START_TEST(float32)
{
	static const struct { float f; double d; } cases[] = {
		{ 0.008f, 0.008 }, { 80.0f, 80 }, { 0.1f, 0.1 }, { 5.28f, 5.28 },
		{ 1.0f / 3, 0.33333334 }, { 16777216.0f, 16777216 }, { 1e-30f, 1e-30 },
		{ -2.5f, -2.5 }, { 3.4028235e38f, 3.4028235e38 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double d = em_decimal_f32(cases[i].f);

		ck_assert_msg(d == cases[i].d, "%.9g gave %.17g", (double)cases[i].f, d);
		ck_assert((float)d == cases[i].f);
	}
	/* Without it a float32 calibration of 0.008 um is 8.00000037997961 nm. */
	ck_assert((double)0.008f * 1000 != 8);
	ck_assert(em_decimal_f32(0.008f) * 1000 == 8);
	ck_assert(isnan(em_decimal_f32(NAN)));
	ck_assert(isinf(em_decimal_f32(-INFINITY)));
}
END_TEST

Suite *
decimal_suite(void)
{
	Suite *s = suite_create("decimal");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, spell);
	tcase_add_test(tc, float32);
	suite_add_tcase(s, tc);
	return s;
}
