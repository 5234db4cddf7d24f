/* test_fetchopt.c - the fetchers' common options accept good values and name bad ones */
#include <string.h>

#include <check.h>

#include "diag.h"
#include "fetchopt.h"

static const struct {
	int opt;
	const char *arg;
	int want;		/* 1 handled, -1 refused */
	const char *msg;	/* part of the message when refused */
} cases[] = {
	{ EM_OPT_CHUNKS, "64,64,64", 1, NULL },
	{ EM_OPT_CHUNKS, "64,64", -1, "--chunks wants Z,Y,X" },
	{ EM_OPT_CHUNKS, "0,64,64", -1, "out of range" },
	{ EM_OPT_COMPRESSOR, "zstd", 1, NULL },
	{ EM_OPT_COMPRESSOR, "blosc-lz4", 1, NULL },
	{ EM_OPT_COMPRESSOR, "bz2", -1, "unknown compressor 'bz2'" },
	{ EM_OPT_LEVEL, "1", 1, NULL },
	{ EM_OPT_LEVEL, "23", -1, "--level" },
	{ EM_OPT_MAX_MEMORY, "512M", 1, NULL },
	{ EM_OPT_MAX_MEMORY, "0", -1, "more than 0" },
	{ EM_OPT_MAX_MEMORY, "lots", -1, "not a size" },
	{ EM_OPT_JOBS, "8", 1, NULL },
	{ EM_OPT_JOBS, "0", -1, "out of range" },
	{ 'o', "", -1, "empty output directory" },
	{ 'o', "data/x", 1, NULL },
};

START_TEST(values)
{
	struct em_fetch_opts o;
	int rc;

	em_fetch_opts_init(&o);
	rc = em_fetch_opt(&o, cases[_i].opt, cases[_i].arg);
	ck_assert_int_eq(rc, cases[_i].want);
	if (rc < 0)
		ck_assert_msg(strstr(em_errmsg(), cases[_i].msg) != NULL, "'%s' lacks '%s'",
		    em_errmsg(), cases[_i].msg);
}
END_TEST

START_TEST(stored)
{
	struct em_fetch_opts o;

	em_fetch_opts_init(&o);
	ck_assert_int_eq(o.level, -1);
	em_fetch_opt(&o, EM_OPT_CHUNKS, "32,16,8");
	em_fetch_opt(&o, EM_OPT_MAX_MEMORY, "2G");
	em_fetch_opt(&o, EM_OPT_COMPRESSOR, "raw");
	ck_assert_uint_eq(o.chunks[0], 32);
	ck_assert_uint_eq(o.chunks[2], 8);
	ck_assert_uint_eq(o.max_memory, 2ULL << 30);
	ck_assert_str_eq(o.compressor, "raw");
	/* Not a common option: the tool's own. */
	ck_assert_int_eq(em_fetch_opt(&o, EM_OPT_TOOL, "x"), 0);
	ck_assert_ptr_null(em_fetch_longopts[EM_FETCH_NLONGOPTS].name);
}
END_TEST

Suite *
fetchopt_suite(void)
{
	Suite *s = suite_create("fetchopt");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, values, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, stored);
	suite_add_tcase(s, tc);
	return s;
}
