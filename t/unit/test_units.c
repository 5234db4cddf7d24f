/* test_units.c - the one table of length units: names, case, exact conversions */
#include <math.h>
#include <stddef.h>

#include <check.h>

#include "core/units.h"

START_TEST(unit_names)
{
	static const struct { const char *u; double nm; } cases[] = {
		{ "nm", 1 }, { "nanometer", 1 }, { "nanometers", 1 }, { "nanometres", 1 },
		{ "NM", 1 }, { "Nanometer", 1 },
		{ "um", 1e3 }, { "\xc2\xb5m", 1e3 }, { "\xce\xbcm", 1e3 }, { "micron", 1e3 },
		{ "microns", 1e3 }, { "micrometer", 1e3 }, { "micrometres", 1e3 },
		{ "A", 0.1 }, { "\xc3\x85", 0.1 }, { "\xe2\x84\xab", 0.1 }, { "angstrom", 0.1 },
		{ "Angstroms", 0.1 },
		{ "pm", 1e-3 }, { "picometer", 1e-3 }, { "femtometer", 1e-6 },
		{ "mm", 1e6 }, { "millimeter", 1e6 }, { "cm", 1e7 }, { "centimeter", 1e7 },
		{ "m", 1e9 }, { "meter", 1e9 }, { "inch", 2.54e7 },
		/* Not lengths: a zero factor. */
		{ "a", 0 }, { "M", 0 }, { "eV", 0 }, { "1/nm", 0 }, { "", 0 }, { "px", 0 },
		{ "pixel", 0 }, { "second", 0 }, { "nm ", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double f = em_unit_nm(cases[i].u), nm = -1;
		int ok = em_length_nm(1, cases[i].u, &nm);

		ck_assert_msg(fabs(f - cases[i].nm) <= 1e-12 * cases[i].nm, "'%s': %g", cases[i].u,
		    f);
		ck_assert_msg(ok == (cases[i].nm > 0), "'%s': %d", cases[i].u, ok);
		if (ok)
			ck_assert_msg(nm == f, "'%s': %g", cases[i].u, nm);
	}
	ck_assert(em_unit_nm(NULL) == 0);
}
END_TEST

START_TEST(exact_conversions)
{
	/* Exactly the double nearest the decimal result: what a record prints. */
	static const struct { double v; const char *u; double nm; } cases[] = {
		{ 3, "A", 0.3 }, { 5.28, "\xc3\x85", 0.528 }, { 80, "\xc3\x85", 8 },
		{ 0.008, "\xc2\xb5m", 8 }, { 0.0042, "um", 4.2 }, { 16.5, "nm", 16.5 },
		{ 7, "pm", 0.007 }, { -12.5, "micrometer", -12500 }, { 0, "nm", 0 },
	};
	size_t i;
	double nm;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert(em_length_nm(cases[i].v, cases[i].u, &nm));
		ck_assert_msg(nm == cases[i].nm, "%g %s: %.17g", cases[i].v, cases[i].u, nm);
	}
	ck_assert(!em_length_nm(NAN, "nm", &nm));
	ck_assert(!em_length_nm(INFINITY, "nm", &nm));
	ck_assert(!em_length_nm(1e300, "m", &nm));
	ck_assert(!em_length_nm(1, "px", &nm));
}
END_TEST

Suite *
units_suite(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, unit_names);
	tcase_add_test(tc, exact_conversions);
	suite_add_tcase(s, tc);
	return s;
}
