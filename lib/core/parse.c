/* parse.c - checked parsers for numbers, sizes and comma lists from the command line or files */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/parse.h"
#include "core/banned.h"

/* scan_u64's failures: not a number (-1), or digits past UINT64_MAX. */
enum { SCAN_TOO_LARGE = -2 };

/* Digits only: strtoull would accept leading blanks and a minus sign. */
static int
scan_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return em_fail("'%s' is not a number", s);
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			/* Name the number, not the rest of a list it starts. */
			while (isdigit((unsigned char)*p))
				p++;
			em_fail("'%.*s' is too large", (int)(p - s), s);
			return SCAN_TOO_LARGE;
		}
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return 0;
}

int
em_parse_u64(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;

	if (s == NULL || scan_u64(s, &v, &end) < 0)
		return s ? -1 : em_fail("missing number");
	if (*end != '\0')
		return em_fail("'%s' is not a number", s);
	*out = v;
	return 0;
}

int
em_parse_i64(const char *s, int64_t *out)
{
	uint64_t v;
	int neg = 0;
	const char *p = s;

	if (s == NULL)
		return em_fail("missing number");
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (em_parse_u64(p, &v) < 0)
		return em_fail("'%s' is not a number", s);
	if ((!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
		return em_fail("'%s' is out of range", s);
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int
em_parse_int(const char *s, int min, int max, int *out)
{
	int64_t v;

	if (em_parse_i64(s, &v) < 0)
		return -1;
	if (v < min || v > max)
		return em_fail("'%s' is out of range [%d, %d]", s, min, max);
	*out = (int)v;
	return 0;
}

int
em_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return em_fail("'%s' is not a number", s ? s : "");
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || end == s)
		return em_fail("'%s' is not a number", s);
	if (errno == ERANGE || !isfinite(v))
		return em_fail("'%s' is out of range", s);
	*out = v;
	return 0;
}

int
em_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *end, *u;
	uint64_t v, mul = 1;

	if (s == NULL || scan_u64(s, &v, &end) < 0)
		return s ? em_fail("'%s' is not a size", s) : em_fail("missing size");
	if (*end != '\0') {
		u = strchr(units, toupper((unsigned char)*end));
		if (u == NULL)
			return em_fail("'%s' is not a size (use a number with K, M, G or T)", s);
		mul = (uint64_t)1 << (10 * (u - units + 1));
		end++;
		if ((end[0] == 'i' || end[0] == 'I') && (end[1] == 'B' || end[1] == 'b'))
			end += 2;
		else if (end[0] == 'B' || end[0] == 'b')
			end++;
		if (*end != '\0')
			return em_fail("'%s' is not a size (use a number with K, M, G or T)", s);
	}
	if (v > UINT64_MAX / mul)
		return em_fail("'%s' is too large", s);
	*out = v * mul;
	return 0;
}

int
em_parse_u64_list(const char *s, uint64_t *out, size_t n, uint64_t min, uint64_t max)
{
	uint64_t tmp[16];
	const char *p = s, *end;
	size_t i;

	if (s == NULL || n == 0 || n > 16)
		return em_fail("missing list");
	for (i = 0; i < n; i++) {
		int r = scan_u64(p, &tmp[i], &end);

		if (r == SCAN_TOO_LARGE)
			return em_fail_ctx("'%s'", s);
		if (r < 0)
			return em_fail("'%s' is not a list of %zu numbers", s, n);
		if (tmp[i] < min || tmp[i] > max)
			return em_fail("'%s': %llu is out of range [%llu, %llu]", s,
			    (unsigned long long)tmp[i], (unsigned long long)min,
			    (unsigned long long)max);
		if (i + 1 < n) {
			if (*end != ',')
				return em_fail("'%s' is not a list of %zu numbers", s, n);
			p = end + 1;
		} else if (*end != '\0') {
			return em_fail("'%s' is not a list of %zu numbers", s, n);
		}
	}
	memcpy(out, tmp, n * sizeof(*out));
	return 0;
}

int
em_parse_range_list(const char *s, uint64_t *lo, uint64_t *hi, size_t n, uint64_t max)
{
	uint64_t a[16], b[16];
	const char *p = s, *end;
	size_t i;

	if (s == NULL || n == 0 || n > 16)
		return em_fail("missing list");
	for (i = 0; i < n; i++) {
		int r = scan_u64(p, &a[i], &end);

		if (r == 0 && *end == ':')
			r = scan_u64(end + 1, &b[i], &end);
		else if (r == 0)
			r = -1;
		if (r == 0 && *end != (i + 1 < n ? ',' : '\0'))
			r = -1;
		/* An overflow keeps its own reason (it names the number). */
		if (r == SCAN_TOO_LARGE)
			return em_fail_ctx("'%s'", s);
		if (r < 0)
			return em_fail("'%s' is not %zu ranges START:END separated by commas", s, n);
		if (b[i] > max)
			return em_fail("'%s': %llu is out of range [0, %llu]", s,
			    (unsigned long long)b[i], (unsigned long long)max);
		if (a[i] >= b[i])
			return em_fail("'%s': range %zu (%llu:%llu) does not start below its end", s,
			    i + 1, (unsigned long long)a[i], (unsigned long long)b[i]);
		p = end + 1;
	}
	memcpy(lo, a, n * sizeof(*lo));
	memcpy(hi, b, n * sizeof(*hi));
	return 0;
}

const char *
em_format_size(uint64_t bytes, char *buf, size_t n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t i = 0;

	while (v >= 1024.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, n, "%.1f %s", v, units[i]);
	return buf;
}
