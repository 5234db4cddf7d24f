/* test_timefmt.c - time as text: every written form, RFC 3339 parsing, and the two agreeing */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "core/timefmt.h"

START_TEST(formats)
{
	static const struct {
		int64_t sec;
		long nsec;
		enum em_time_style style;
		const char *text;
	} cases[] = {
		{ 0, 0, EM_TIME_RFC3339, "1970-01-01T00:00:00Z" },
		{ 1795835366, 0, EM_TIME_RFC3339, "2026-11-28T03:09:26Z" },
		{ 1795835366, 123999999, EM_TIME_RFC3339_MS, "2026-11-28T03:09:26.123Z" },
		{ 1795835366, 0, EM_TIME_RFC3339_MS, "2026-11-28T03:09:26.000Z" },
		{ 1795835366, 0, EM_TIME_STAMP, "20261128T030926Z" },
		{ 1795835366, 0, EM_TIME_HTTP, "Sat, 28 Nov 2026 03:09:26 GMT" },
		{ 784111777, 0, EM_TIME_HTTP, "Sun, 06 Nov 1994 08:49:37 GMT" },	/* RFC 9110's */
		{ 1795835366, 0, EM_TIME_APACHE, "2026-11-28 03:09" },
		{ 1795835366, 0, EM_TIME_NGINX, "28-Nov-2026 03:09" },
		{ 951782400, 0, EM_TIME_RFC3339, "2000-02-29T00:00:00Z" },
		{ -1, 0, EM_TIME_RFC3339, "1969-12-31T23:59:59Z" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(em_time_format(cases[i].sec, cases[i].nsec, cases[i].style, buf,
		    sizeof(buf)), 0);
		ck_assert_str_eq(buf, cases[i].text);
	}
	ck_assert_int_eq(em_time_format(0, 0, EM_TIME_HTTP, buf, 10), -1);
	ck_assert_int_eq(em_time_format(INT64_C(400000000000), 0, EM_TIME_RFC3339, buf,
	    sizeof(buf)), -1);
}
END_TEST

START_TEST(round_trip)
{
	/* What is written as RFC 3339 parses back to the same second (and millisecond). */
	static const int64_t secs[] = { 0, 1, 86399, 951782400, 1795835366, 4102444799 };
	char buf[32];
	int64_t sec;
	long nsec;
	size_t i;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		ck_assert_int_eq(em_time_format(secs[i], 0, EM_TIME_RFC3339, buf, sizeof(buf)), 0);
		ck_assert_int_eq(em_time_parse(buf, &sec, &nsec), 0);
		ck_assert_int_eq(sec, secs[i]);
		ck_assert_int_eq(nsec, 0);
		ck_assert_int_eq(em_time_format(secs[i], 456000000, EM_TIME_RFC3339_MS, buf,
		    sizeof(buf)), 0);
		ck_assert_int_eq(em_time_parse(buf, &sec, &nsec), 0);
		ck_assert_int_eq(sec, secs[i]);
		ck_assert_int_eq(nsec, 456000000);
	}
}
END_TEST

START_TEST(parse)
{
	static const struct { const char *text; int ok; int64_t sec; long nsec; } cases[] = {
		{ "2026-11-28T03:09:26Z", 1, 1795835366, 0 },
		{ "2026-11-28t03:09:26.5z", 1, 1795835366, 500000000 },
		{ "2026-11-28T04:09:26+01:00", 1, 1795835366, 0 },
		{ "2026-11-27T22:09:26-05:00", 1, 1795835366, 0 },
		{ "2024-02-29T00:00:00Z", 1, 1709164800, 0 },
		{ "2023-02-29T00:00:00Z", 0, 0, 0 },
		{ "2026-11-28T03:09:26", 0, 0, 0 },
		{ "2026-11-28 03:09:26Z", 0, 0, 0 },
		{ "2026-13-01T00:00:00Z", 0, 0, 0 },
		{ "2026-11-28T03:09:26.Z", 0, 0, 0 },
		{ "2026-11-28T03:09:26Zx", 0, 0, 0 },
		{ "", 0, 0, 0 },
	};
	int64_t sec;
	long nsec;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = em_time_parse(cases[i].text, &sec, &nsec);

		ck_assert_msg(rc == (cases[i].ok ? 0 : -1), "'%s': %d", cases[i].text, rc);
		if (cases[i].ok) {
			ck_assert_int_eq(sec, cases[i].sec);
			ck_assert_int_eq(nsec, cases[i].nsec);
		} else {
			ck_assert_ptr_nonnull(strstr(em_errmsg(), cases[i].text));
		}
	}
}
END_TEST

START_TEST(now)
{
	char buf[32];
	int64_t sec;
	long nsec;

	ck_assert_int_eq(em_time_now_rfc3339(buf, sizeof(buf)), 0);
	ck_assert_uint_eq(strlen(buf), 24);
	ck_assert_int_eq(em_time_parse(buf, &sec, &nsec), 0);
	ck_assert_int_eq(nsec % 1000000, 0);
	ck_assert_int_eq(em_time_now_rfc3339(buf, 10), -1);
}
END_TEST

Suite *
timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, formats);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, parse);
	tcase_add_test(tc, now);
	suite_add_tcase(s, tc);
	return s;
}
