/* test_jsonio.c - reading streams of JSON texts, as jq does */
#include <stdio.h>
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

/* ---- the one writer ---- */

START_TEST(write_spellings)
{
	static const struct { const char *in; int flags; const char *out; } cases[] = {
		/* Reals in the fewest digits that read back; integers as they are. */
		{ "[0.1, 8.0, 100.0, 1e20, 0.00001, -0.0, 2.96, 12, -7]", EM_JSON_LINE,
		  "[0.1,8.0,100.0,1e20,1e-5,-0.0,2.96,12,-7]" },
		{ "[0.30000000000000004, 1.7976931348623157e308]", EM_JSON_LINE,
		  "[0.30000000000000004,1.7976931348623157e308]" },
		/* Escapes as jansson writes them; other UTF-8 passes unchanged. */
		{ "\"q\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f/\"", EM_JSON_LINE,
		  "\"q\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001F\x7f/\"" },
		{ "\"\xc3\x85 \xc2\xb5m \xe2\x80\xa7 \xe2\x80\xaa \xf0\x9f\x94\xac\"", EM_JSON_LINE,
		  "\"\xc3\x85 \xc2\xb5m \xe2\x80\xa7 \xe2\x80\xaa \xf0\x9f\x94\xac\"" },
		/* U+2028 and U+2029 escaped: line readers split there. */
		{ "{\"Name\": \"a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\"}", EM_JSON_LINE,
		  "{\"Name\":\"a\\u2028b\\u2029c\"}" },
		{ "{\"k\xe2\x80\xa8\": \"\\u2029\"}", EM_JSON_LINE, "{\"k\\u2028\":\"\\u2029\"}" },
		/* Layouts: keys in insertion order unless sorted; empty containers stay short. */
		{ "{\"b\": 1, \"a\": [], \"c\": {}}", EM_JSON_LINE, "{\"b\":1,\"a\":[],\"c\":{}}" },
		{ "{\"b\": 1, \"a\": [2, 3.5]}", EM_JSON_INDENT(2),
		  "{\n  \"b\": 1,\n  \"a\": [\n    2,\n    3.5\n  ]\n}" },
		{ "{\"b\": 1, \"ab\": null, \"a\": {\"z\": true, \"y\": false}}",
		  EM_JSON_INDENT(4) | EM_JSON_SORTED,
		  "{\n    \"a\": {\n        \"y\": false,\n        \"z\": true\n    },\n"
		  "    \"ab\": null,\n    \"b\": 1\n}" },
		{ "\"x\"", EM_JSON_INDENT(2), "\"x\"" },
	};
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_error_t e;
		json_t *v = json_loads(cases[i].in, JSON_DECODE_ANY, &e);
		char *s;

		ck_assert_msg(v != NULL, "%s: %s", cases[i].in, e.text);
		s = em_json_text(v, cases[i].flags, &n);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, cases[i].out);
		ck_assert_uint_eq(n, strlen(cases[i].out));
		free(s);
		json_decref(v);
	}
}
END_TEST

START_TEST(write_line_separators)
{
	/* A DM3 tag value with U+2028 stays on one line, and reads back the same. */
	json_t *v = json_pack("{s:s,s:f}", "DataBar.Device Name", "GIF\xe2\x80\xa8Quantum",
	    "scale", 0.1), *back;
	char *text = NULL;
	size_t len = 0, i;
	FILE *fp = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(em_json_write_line(fp, v), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_str_eq(text, "{\"DataBar.Device Name\":\"GIF\\u2028Quantum\",\"scale\":0.1}\n");
	for (i = 0; i + 2 < len; i++)
		ck_assert(!(text[i] == '\xe2' && text[i + 1] == '\x80' &&
		    (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')));
	back = json_loads(text, 0, NULL);
	ck_assert(json_equal(back, v));
	json_decref(back);
	free(text);
	ck_assert_ptr_null(em_json_text(NULL, EM_JSON_LINE, NULL));
	text = em_json_dump_pretty(v);
	ck_assert_str_eq(text, "{\n  \"DataBar.Device Name\": \"GIF\\u2028Quantum\",\n"
	    "  \"scale\": 0.1\n}\n");
	free(text);
	json_decref(v);
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
	tcase_add_test(tc, write_spellings);
	tcase_add_test(tc, write_line_separators);
	suite_add_tcase(s, tc);
	return s;
}
