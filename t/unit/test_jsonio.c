/* test_jsonio.c - reading streams of JSON texts, as jq does */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "core/jsonio.h"

/*
 * Read every text of s through a pipe; return the count, -1 on error (texts
 * in out, their number in *got either way).
 */
static int
read_all_n(const char *s, json_t **out, int max, int *got)
{
	struct em_json_reader *r;
	int fds[2], n = 0, rc;
	json_t *v;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], s, strlen(s)), (ssize_t)strlen(s));
	close(fds[1]);
	r = em_json_reader_new(fds[0], "<test>", 1 << 20);
	while ((rc = em_json_reader_next(r, &v)) == 1) {
		if (n < max)
			out[n] = v;
		else
			json_decref(v);
		n++;
	}
	em_json_reader_free(r);
	close(fds[0]);
	*got = n < max ? n : max;
	return rc < 0 ? -1 : n;
}

static void
free_all(json_t **v, int n)
{
	while (n-- > 0)
		json_decref(v[n]);
}

static const struct {
	const char *in;
	int count;
	const char *first;	/* compact encoding of the first text */
} cases[] = {
	{ "", 0, NULL },
	{ "  \n\t ", 0, NULL },
	{ "{\"a\":1}", 1, "{\"a\":1}" },
	{ "{\"a\":1}\n{\"b\":2}\n", 2, "{\"a\":1}" },
	{ "{\n  \"a\": [1, 2]\n}\n", 1, "{\"a\":[1,2]}" },
	{ "\"abc\"", 1, "\"abc\"" },
	{ "3", 1, "3" },
	{ "1 2 3", 3, "1" },
	{ "12345678", 1, "12345678" },
	{ "true false null", 3, "true" },
	{ "[1][2]{}", 3, "[1]" },
	{ "{\"a\":1}{\"b\"", -1, NULL },
	{ "{\"a\":1}\n{bad}", -1, NULL },
	{ "[1,", -1, NULL },
	{ "{\"a\":\"}]\"} [{\"b\":\"\\\"]\"}]", 2, "{\"a\":\"}]\"}" },
	{ "[[1],{\"x\":[2]}] 3", 2, "[[1],{\"x\":[2]}]" },
	{ "[1,2}", -1, NULL },
	{ "{\"a\":[}", -1, NULL },
};

START_TEST(stream)
{
	json_t *v[4] = { NULL };
	int got, n = read_all_n(cases[_i].in, v, 4, &got);

	ck_assert_msg(n == cases[_i].count, "'%s': %d texts, expected %d", cases[_i].in, n,
	    cases[_i].count);
	if (cases[_i].first != NULL) {
		char *s = json_dumps(v[0], JSON_COMPACT | JSON_ENCODE_ANY);
		ck_assert_str_eq(s, cases[_i].first);
		free(s);
	}
	free_all(v, got);
}
END_TEST

START_TEST(error_position)
{
	json_t *v[4] = { NULL };
	int got, n = read_all_n("{\"a\":1}\n{\"b\":2}\n{\"c\" 3}\n", v, 4, &got);

	ck_assert_int_eq(n, -1);
	ck_assert_msg(strstr(em_errmsg(), "<test>: invalid JSON at line 3") != NULL, "%s",
	    em_errmsg());
	ck_assert_int_eq(got, 2);
	free_all(v, got);
}
END_TEST

START_TEST(size_limit)
{
	struct em_json_reader *r;
	int fds[2];
	json_t *v = NULL;
	const char *big = "[\"0123456789012345678901234567890123456789\"]";

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], big, strlen(big)), (ssize_t)strlen(big));
	close(fds[1]);
	r = em_json_reader_new(fds[0], "<test>", 16);
	ck_assert_int_eq(em_json_reader_next(r, &v), -1);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(em_errmsg(), "longer than 16 bytes") != NULL, "%s", em_errmsg());
	em_json_reader_free(r);
	close(fds[0]);
}
END_TEST

/* A big document arriving in small pieces is one text (parsed once its end has come). */
START_TEST(big_document)
{
	struct em_json_reader *r;
	json_t *v = NULL;
	int fds[2], i;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (write(fds[1], "[", 1) != 1)
			_exit(1);
		for (i = 0; i < 100000; i++)
			if (write(fds[1], i ? ",\"a]}\"" : "\"a]}\"", i ? 6 : 5) < 0)
				_exit(1);
		if (write(fds[1], "]\n{}", 4) != 4)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	r = em_json_reader_new(fds[0], "<test>", 1 << 20);
	ck_assert_int_eq(em_json_reader_next(r, &v), 1);
	ck_assert(json_is_array(v));
	ck_assert_int_eq(json_array_size(v), 100000);
	ck_assert_str_eq(json_string_value(json_array_get(v, 99999)), "a]}");
	json_decref(v);
	ck_assert_int_eq(em_json_reader_next(r, &v), 1);
	ck_assert(json_is_object(v));
	json_decref(v);
	ck_assert_int_eq(em_json_reader_next(r, &v), 0);
	em_json_reader_free(r);
	close(fds[0]);
	waitpid(pid, &i, 0);
	ck_assert_int_eq(i, 0);
}
END_TEST

/* The kept bytes are each text as written: numbers keep their spelling. */
START_TEST(keep_text)
{
	static const char *in = "{\"a\": 0.1}\n 1.50 [1e2]\"x\"";
	static const char *want[] = { "{\"a\": 0.1}", "1.50", "[1e2]", "\"x\"" };
	struct em_json_reader *r;
	const char *t;
	json_t *v = NULL;
	size_t len, k;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], in, strlen(in)), (ssize_t)strlen(in));
	close(fds[1]);
	r = em_json_reader_new(fds[0], "<test>", 1 << 10);
	ck_assert_ptr_null(em_json_reader_text(r, &len));
	em_json_reader_keep_text(r, 1);
	for (k = 0; k < 4; k++) {
		ck_assert_int_eq(em_json_reader_next(r, &v), 1);
		json_decref(v);
		t = em_json_reader_text(r, &len);
		ck_assert_ptr_nonnull(t);
		ck_assert_msg(len == strlen(want[k]) && memcmp(t, want[k], len) == 0,
		    "text %zu: '%.*s', expected '%s'", k, (int)len, t, want[k]);
	}
	ck_assert_int_eq(em_json_reader_next(r, &v), 0);
	em_json_reader_free(r);
	close(fds[0]);
}
END_TEST

Suite *
jsonio_suite(void)
{
	Suite *s = suite_create("jsonio");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, stream, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, error_position);
	tcase_add_test(tc, size_limit);
	tcase_add_test(tc, keep_text);
	tcase_add_test(tc, big_document);
	suite_add_tcase(s, tc);
	return s;
}
