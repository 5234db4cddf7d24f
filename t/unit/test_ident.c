/* test_ident.c - the one volume id rule: the check, and the id a file name gives */
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "core/ident.h"

START_TEST(ids)
{
	static const struct { const char *id; int ok; } cases[] = {
		{ "a", 1 }, { "Z", 1 }, { "0", 1 }, { "EMPIAR-11759", 1 }, { "s0.v2_x-y", 1 },
		{ "a.", 1 }, { "a..b", 1 },
		{ "", 0 }, { "_a", 0 }, { ".a", 0 }, { "-a", 0 }, { "..", 0 }, { "a b", 0 },
		{ "a/b", 0 }, { "a\\b", 0 }, { "\xc3\xa9t\xc3\xa9", 0 }, { "a\n", 0 }, { "a:b", 0 },
	};
	char longid[EM_ID_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(em_id_ok(cases[i].id) == cases[i].ok, "'%s'", cases[i].id);
	ck_assert(!em_id_ok(NULL));
	memset(longid, 'x', EM_ID_MAX);
	longid[EM_ID_MAX] = '\0';
	ck_assert(em_id_ok(longid));
	longid[EM_ID_MAX] = 'x';
	longid[EM_ID_MAX + 1] = '\0';
	ck_assert(!em_id_ok(longid));
}
END_TEST

START_TEST(from_names)
{
	static const struct { const char *name; const char *id; } cases[] = {
		{ "F57-8_slice_0000.dm3", "F57-8_slice_0000" }, { "volumedata.tif", "volumedata" },
		{ "stack.ome.tif", "stack" }, { "STACK.OME.TIFF", "STACK" }, { "a.mrc.gz", "a.mrc" },
		{ "x y.map", "x_y" }, { ".hidden.mrc", "hidden" }, { "..a", "a" },
		/* The first character must be one the rule accepts: dropped, not kept. */
		{ "_a.tif", "a" }, { "__init__.tif", "init__" }, { "-v.dm4", "v" },
		{ "_.._etc_passwd", "etc_passwd" }, { " lead.tif", "lead" },
		{ "\xc3\xa9t\xc3\xa9.tif", "t__" }, { "a.b.c", "a.b.c" }, { "img.TIF", "img" },
		{ "tif", "tif" }, { "x.tifx", "x.tifx" },
	};
	static const char *const bad[] = { "", "...", "_.tif", "-", "\xc3\xa9.tif", "-._" };
	char id[EM_ID_MAX + 1], longname[EM_ID_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(em_id_from_name(cases[i].name, id, sizeof(id)) == 0, "'%s': %s",
		    cases[i].name, em_errmsg());
		ck_assert_str_eq(id, cases[i].id);
		/* The derivation and the check agree. */
		ck_assert_msg(em_id_ok(id), "'%s' gave '%s'", cases[i].name, id);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(em_id_from_name(bad[i], id, sizeof(id)) == -1, "'%s' gave '%s'",
		    bad[i], id);
	/* Long names: an id of EM_ID_MAX is made, one more byte is refused. */
	memset(longname, 'n', EM_ID_MAX);
	memcpy(longname + EM_ID_MAX, ".tif", 5);
	ck_assert_int_eq(em_id_from_name(longname, id, sizeof(id)), 0);
	ck_assert_uint_eq(strlen(id), EM_ID_MAX);
	longname[EM_ID_MAX] = 'n';
	memcpy(longname + EM_ID_MAX + 1, ".tif", 5);
	ck_assert_int_eq(em_id_from_name(longname, id, sizeof(id)), -1);
	/* The buffer bounds it too. */
	ck_assert_int_eq(em_id_from_name("abcdef.tif", id, 6), -1);
	ck_assert_int_eq(em_id_from_name("abcde.tif", id, 6), 0);
}
END_TEST

Suite *
ident_suite(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ids);
	tcase_add_test(tc, from_names);
	suite_add_tcase(s, tc);
	return s;
}
