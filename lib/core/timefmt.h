/* timefmt.h - time as text: the one RFC 3339 parser, and every date format the tools write */
#ifndef EM_TIMEFMT_H
#define EM_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse an RFC 3339 date-time ("2026-11-24T03:15:00.123Z", any zone
 * offset) into seconds since the epoch and nanoseconds.  -1 (error set)
 * when it is not one or names an impossible date.
 */
int em_time_parse(const char *s, int64_t *sec, long *nsec);

/* The forms a time is written in, all UTC and all independent of the locale. */
enum em_time_style {
	EM_TIME_RFC3339,	/* "2026-11-24T03:09:26Z": a catalog's "generated" */
	EM_TIME_RFC3339_MS,	/* "2026-11-24T03:09:26.123Z": a record's history (text order is time order) */
	EM_TIME_STAMP,		/* "20261124T030926Z": in file names */
	EM_TIME_HTTP,		/* "Tue, 24 Nov 2026 03:09:26 GMT": Last-Modified, Retry-After (RFC 9110) */
	EM_TIME_APACHE,		/* "2026-11-24 03:09": an Apache directory index */
	EM_TIME_NGINX,		/* "24-Nov-2026 03:09": an nginx directory index */
};
/*
 * sec (and nsec, for EM_TIME_RFC3339_MS) since the epoch into buf (n
 * bytes; 32 always suffice).  -1 (error set) when the time has no date
 * (years past 9999 or before 0) or buf is too small.
 */
int em_time_format(int64_t sec, long nsec, enum em_time_style style, char *buf, size_t n);
/* Now, as EM_TIME_RFC3339_MS ("2026-11-24T03:09:26.123Z"): buf holds at least 25 bytes. */
int em_time_now_rfc3339(char *buf, size_t n);

#endif
