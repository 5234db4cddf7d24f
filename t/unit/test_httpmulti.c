/* test_httpmulti.c - requests a multi run drops unfinished give their user data back */
#include <check.h>

#include "net/http.h"

static int released;

static void
count_release(void *user)
{
	released += *(int *)user;
}

static int
fail_done(void *ctx, const struct em_http_reply *r)
{
	(void)ctx;
	(void)r;
	return -1;
}

START_TEST(release_on_free)
{
	static int one = 1;
	struct em_http *h = em_http_new(NULL);
	struct em_http_multi *m;
	int i;

	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(m = em_http_multi_new(h, fail_done, NULL));
	em_http_multi_set_release(m, count_release);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(em_http_multi_add(m, "file:///nonexistent/x", 0, 0, 16, &one), 0);
	ck_assert_uint_eq(em_http_multi_pending(m), 3);
	released = 0;
	em_http_multi_free(m);
	ck_assert_int_eq(released, 3);
	/* Without a release hook nothing is called (the default). */
	ck_assert_ptr_nonnull(m = em_http_multi_new(h, fail_done, NULL));
	ck_assert_int_eq(em_http_multi_add(m, "file:///nonexistent/x", 0, 0, 16, &one), 0);
	released = 0;
	em_http_multi_free(m);
	ck_assert_int_eq(released, 0);
	em_http_free(h);
}
END_TEST

/* A run that done() stops: the request done() had is its own; every other one is released. */
START_TEST(release_on_stop)
{
	static int one = 1;
	struct em_http *h = em_http_new(NULL);
	struct em_http_multi *m;
	int i;

	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(m = em_http_multi_new(h, fail_done, NULL));
	em_http_multi_set_release(m, count_release);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(em_http_multi_add(m, "file:///nonexistent/x", 0, 0, 16, &one), 0);
	released = 0;
	ck_assert_int_eq(em_http_multi_run(m, NULL, NULL), -1);
	ck_assert_int_eq(released, 5);
	em_http_multi_free(m);
	ck_assert_int_eq(released, 5);
	em_http_free(h);
}
END_TEST

Suite *
httpmulti_suite(void)
{
	Suite *s = suite_create("httpmulti");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, release_on_free);
	tcase_add_test(tc, release_on_stop);
	suite_add_tcase(s, tc);
	return s;
}
