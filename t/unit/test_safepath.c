/* test_safepath.c - names and relative paths from outside: what may become a local path */
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "tool/filefetch.h"
#include "net/listing.h"
#include "core/safepath.h"

START_TEST(names)
{
	char longname[EM_NAME_MAX + 2];

	ck_assert(em_name_ok("a.dm3"));
	ck_assert(em_name_ok("..a"));
	ck_assert(em_name_ok("a..b"));
	ck_assert(em_name_ok("..."));
	ck_assert(em_name_ok("\xc3\xa9t\xc3\xa9.tif"));	/* UTF-8 is a name like any other */
	ck_assert(!em_name_ok(""));
	ck_assert(!em_name_ok("."));
	ck_assert(!em_name_ok(".."));
	ck_assert(!em_name_ok("a/b"));
	ck_assert(!em_name_ok("/etc"));
	ck_assert(!em_name_ok("a\\b"));
	ck_assert(!em_name_ok("a\nb"));
	ck_assert(!em_name_ok("a\tb"));
	ck_assert(!em_name_ok("a\x7f"));
	ck_assert(!em_name_ok("\x1b[2J"));
	memset(longname, 'x', EM_NAME_MAX);
	longname[EM_NAME_MAX] = '\0';
	ck_assert(em_name_ok(longname));
	longname[EM_NAME_MAX] = 'x';
	longname[EM_NAME_MAX + 1] = '\0';
	ck_assert(!em_name_ok(longname));
	/* The listing check is the same check. */
	ck_assert(!em_listing_name_ok(".."));
	ck_assert(em_listing_name_ok("a b.dm3"));
}
END_TEST

START_TEST(relpaths)
{
	static char longpath[EM_RELPATH_MAX + 2];
	size_t i;

	ck_assert(em_relpath_ok("0"));
	ck_assert(em_relpath_ok("s0/0"));
	ck_assert(em_relpath_ok("3/1/2"));
	ck_assert(em_relpath_ok("3.1.2"));
	ck_assert(em_relpath_ok("a..b/c"));
	ck_assert(!em_relpath_ok(""));
	ck_assert(!em_relpath_ok("/"));
	ck_assert(!em_relpath_ok("/abs"));
	ck_assert(!em_relpath_ok(".."));
	ck_assert(!em_relpath_ok("../x"));
	ck_assert(!em_relpath_ok("a/../../x"));
	ck_assert(!em_relpath_ok("a/.."));
	ck_assert(!em_relpath_ok("a/./b"));
	ck_assert(!em_relpath_ok("./a"));
	ck_assert(!em_relpath_ok("a//b"));
	ck_assert(!em_relpath_ok("a/"));
	ck_assert(!em_relpath_ok("a\\..\\b"));
	ck_assert(!em_relpath_ok("a/b\r"));
	/* Exactly at the limit passes; one byte more does not. */
	for (i = 0; i < EM_RELPATH_MAX; i++)
		longpath[i] = i % 2 ? '/' : 'a';
	longpath[EM_RELPATH_MAX - 1] = 'a';
	longpath[EM_RELPATH_MAX] = '\0';
	ck_assert(em_relpath_ok(longpath));
	longpath[EM_RELPATH_MAX] = 'a';
	ck_assert(!em_relpath_ok(longpath));
}
END_TEST

/* Volume ids and cache names made from archive URLs stay one safe component. */
START_TEST(url_ids)
{
	static const struct { const char *url, *id; } ok[] = {
		{ "https://ftp.ebi.ac.uk/empiar/11759/data/F57-8_slice_0000.dm3", "F57-8_slice_0000" },
		{ "https://h/a/stack.ome.tif?x=1#f", "stack" },
		{ "https://h/a/b%2f..%2fc.tif", "b_.._c" },
		{ "https://h/a/..%2f..%2fetc%2fpasswd", "etc_passwd" },
		{ "https://h/a/_a.tif", "a" }, { "https://h/a/-x-.tif", "x-" },
		{ "https://h/a/.hidden.mrc", "hidden" },
		{ "file:///d/x%20y.map", "x_y" },
	};
	static const char *const bad[] = {
		"https://h/a/%2e%2e", "https://h/a/...", "https://h/a/%2e.tif", "https://h/a/x%00y.tif",
	};
	char id[256];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(em_file_url_id(ok[i].url, id, sizeof(id)) == 0, "%s: %s", ok[i].url,
		    em_errmsg());
		ck_assert_str_eq(id, ok[i].id);
		ck_assert(em_name_ok(id));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(em_file_url_id(bad[i], id, sizeof(id)) == -1, "%s gave '%s'", bad[i],
		    id);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "%00 in a file name"));
}
END_TEST

Suite *
safepath_suite(void)
{
	Suite *s = suite_create("safepath");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, names);
	tcase_add_test(tc, relpaths);
	tcase_add_test(tc, url_ids);
	suite_add_tcase(s, tc);
	return s;
}
