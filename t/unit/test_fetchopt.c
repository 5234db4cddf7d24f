/* test_fetchopt.c - the fetchers' common options accept good values and name bad ones */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "tool/options.h"

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

static jmp_buf usage_called;

/* usage() exits; here it comes back to the test with its status instead. */
static void
no_usage(FILE *fp, int status)
{
	(void)fp;
	longjmp(usage_called, 100 + status);
}

/* The common options applied, the tool's own returned in order; one of the tool's replaces a common one. */
START_TEST(getopt_loop)
{
	static const struct option own[] = {
		{ "level", required_argument, NULL, EM_OPT_TOOL },
		{ "box", required_argument, NULL, EM_OPT_TOOL + 1 },
	};
	char *argv[] = { "t", "-q", "--jobs", "3", "--level", "s1", "--url", "file:///x",
	    "--box", "a", "--chunks", "1,2,3", "rest", NULL };
	struct em_fetch_opts o;
	int c;

	em_fetch_opts_init(&o);
	optind = 0;
	c = em_fetch_getopt(13, argv, own, 2, &o, no_usage);
	ck_assert_int_eq(c, EM_OPT_TOOL);
	ck_assert_str_eq(optarg, "s1");
	c = em_fetch_getopt(13, argv, own, 2, &o, no_usage);
	ck_assert_int_eq(c, EM_OPT_TOOL + 1);
	ck_assert_str_eq(optarg, "a");
	ck_assert_int_eq(em_fetch_getopt(13, argv, own, 2, &o, no_usage), -1);
	ck_assert_int_eq(o.quiet, 1);
	ck_assert_int_eq(o.jobs, 3);
	ck_assert_int_eq(o.level, -1);		/* --level was the tool's */
	ck_assert_str_eq(o.url, "file:///x");
	ck_assert_uint_eq(o.chunks[2], 3);
	ck_assert_str_eq(argv[optind], "rest");
}
END_TEST

/* A bad value or an unknown option: usage with status 2; --help: usage with 0. */
START_TEST(getopt_bad)
{
	char *bad[] = { "t", "--jobs", "0", NULL };
	char *unknown[] = { "t", "--jobz", "3", NULL };
	char *help[] = { "t", "--help", NULL };
	struct em_fetch_opts o;
	volatile int r;

	em_fetch_opts_init(&o);
	optind = 0;
	opterr = 0;
	if ((r = setjmp(usage_called)) == 0)
		(void)em_fetch_getopt(3, bad, NULL, 0, &o, no_usage);
	ck_assert_int_eq(r, 102);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "--jobs: '0' is out of range"));
	optind = 0;
	if ((r = setjmp(usage_called)) == 0)
		(void)em_fetch_getopt(3, unknown, NULL, 0, &o, no_usage);
	ck_assert_int_eq(r, 102);
	optind = 0;
	if ((r = setjmp(usage_called)) == 0)
		(void)em_fetch_getopt(2, help, NULL, 0, &o, no_usage);
	ck_assert_int_eq(r, 100);
	opterr = 1;
}
END_TEST

Suite *
fetchopt_suite(void)
{
	Suite *s = suite_create("fetchopt");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, values, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, stored);
	tcase_add_test(tc, getopt_loop);
	tcase_add_test(tc, getopt_bad);
	suite_add_tcase(s, tc);
	return s;
}
