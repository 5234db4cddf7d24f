/* test_buf.c - the bounded growable buffer and the error text */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/diag.h"

START_TEST(grows_to_max)
{
	struct em_buf b = EM_BUF_INIT(10);

	ck_assert_str_eq(em_buf_cstr(&b), "");
	ck_assert_int_eq(em_buf_addstr(&b, "hello"), 0);
	ck_assert_int_eq(em_buf_addf(&b, "%d", 12345), 0);
	ck_assert_str_eq(em_buf_cstr(&b), "hello12345");
	ck_assert_uint_eq(b.len, 10);
	/* One byte more is refused, and the contents stay as they were. */
	ck_assert_int_eq(em_buf_addch(&b, 'x'), -1);
	ck_assert_str_eq(em_errmsg(), "buffer limit of 10 bytes exceeded");
	ck_assert_str_eq(em_buf_cstr(&b), "hello12345");
	ck_assert_int_eq(em_buf_addf(&b, "%s", "y"), -1);
	em_buf_consume(&b, 5);
	ck_assert_str_eq(em_buf_cstr(&b), "12345");
	em_buf_consume(&b, 99);
	ck_assert_uint_eq(b.len, 0);
	em_buf_release(&b);
	em_buf_release(&b);
}
END_TEST

START_TEST(binary_and_detach)
{
	struct em_buf b = EM_BUF_INIT(1 << 20);
	char zeros[1000] = { 0 };
	size_t n;
	char *p;

	ck_assert_int_eq(em_buf_add(&b, zeros, sizeof(zeros)), 0);
	ck_assert_int_eq(em_buf_add(&b, "z", 1), 0);
	ck_assert_uint_eq(b.len, 1001);
	p = em_buf_detach(&b, &n);
	ck_assert_uint_eq(n, 1001);
	ck_assert_int_eq(p[1000], 'z');
	ck_assert_int_eq(p[1001], '\0');
	ck_assert_ptr_null(b.data);
	free(p);
	p = em_buf_detach(&b, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(p, "");
	free(p);
}
END_TEST

START_TEST(error_context)
{
	em_clear_error();
	ck_assert_str_eq(em_errmsg(), "unknown error");
	ck_assert_int_eq(em_fail("truncated at offset %d", 12), -1);
	ck_assert_int_eq(em_fail_ctx("tag '%s'", "Data"), -1);
	ck_assert_str_eq(em_errmsg(), "tag 'Data': truncated at offset 12");
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, grows_to_max);
	tcase_add_test(tc, binary_and_detach);
	tcase_add_test(tc, error_context);
	suite_add_tcase(s, tc);
	return s;
}
