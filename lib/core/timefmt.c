/* timefmt.c - time as text: RFC 3339 parsing, and the date formats the tools write, locale-free */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/diag.h"
#include "core/timefmt.h"
#include "core/banned.h"

static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
em_time_parse(const char *s, int64_t *sec, long *nsec)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0, leap, max;
	long ns = 0, scale = 100000000;
	const char *p;

	if (strlen(s) < 20 || digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 ||
	    s[7] != '-' || digits(s + 8, 2, &d) < 0 || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) < 0 || s[13] != ':' || digits(s + 14, 2, &mi) < 0 ||
	    s[16] != ':' || digits(s + 17, 2, &se) < 0)
		return em_fail("'%s' is not an RFC 3339 date-time", s);
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return em_fail("'%s' is not an RFC 3339 date-time", s);
		for (; *p >= '0' && *p <= '9'; p++) {
			ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (digits(p + 1, 2, &oh) < 0 || p[3] != ':' || digits(p + 4, 2, &om) < 0 ||
		    oh > 23 || om > 59)
			return em_fail("'%s' has a bad zone offset", s);
		p += 6;
	} else {
		return em_fail("'%s' is not an RFC 3339 date-time (no zone)", s);
	}
	if (*p != '\0')
		return em_fail("'%s' is not an RFC 3339 date-time", s);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	max = mo >= 1 && mo <= 12 ? mdays[mo - 1] + (mo == 2 && leap) : 0;
	if (mo < 1 || mo > 12 || d < 1 || d > max || h > 23 || mi > 59 || se > 60)
		return em_fail("'%s' is not a possible date and time", s);
	*sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	    sign * (oh * 3600 + om * 60);
	*nsec = ns;
	return 0;
}

int
em_time_format(int64_t sec, long nsec, enum em_time_style style, char *buf, size_t n)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)sec;
	struct tm tm;
	int w = -1, y;

	if ((int64_t)t != sec || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		return em_fail("the time %lld cannot be shown as a date", (long long)sec);
	y = tm.tm_year + 1900;
	switch (style) {
	case EM_TIME_RFC3339:
		w = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		break;
	case EM_TIME_RFC3339_MS:
		w = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", y, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    nsec >= 0 && nsec < 1000000000L ? nsec / 1000000L : 0L);
		break;
	case EM_TIME_STAMP:
		w = snprintf(buf, n, "%04d%02d%02dT%02d%02d%02dZ", y, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		break;
	case EM_TIME_HTTP:
		w = snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
		    tm.tm_mday, months[tm.tm_mon], y, tm.tm_hour, tm.tm_min, tm.tm_sec);
		break;
	case EM_TIME_APACHE:
		w = snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", y, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min);
		break;
	case EM_TIME_NGINX:
		w = snprintf(buf, n, "%02d-%s-%04d %02d:%02d", tm.tm_mday, months[tm.tm_mon], y,
		    tm.tm_hour, tm.tm_min);
		break;
	}
	if (w < 0 || (size_t)w >= n)
		return em_fail("time buffer too small");
	return 0;
}

int
em_time_now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return em_fail_errno("cannot read the clock");
	return em_time_format((int64_t)ts.tv_sec, ts.tv_nsec, EM_TIME_RFC3339_MS, buf, n);
}
