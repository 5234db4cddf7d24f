/* progress.c - progress counters the transport updates, and their one-line summary for people */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/parse.h"
#include "core/progress.h"
#include "core/banned.h"


static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
em_progress_init(struct em_progress *p)
{
	atomic_init(&p->bytes_done, 0);
	atomic_init(&p->bytes_total, 0);
	atomic_init(&p->items_done, 0);
	atomic_init(&p->items_total, 0);
	p->t0 = mono_now();
}

void
em_progress_add_bytes(struct em_progress *p, uint64_t n)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->bytes_done, n, memory_order_relaxed);
}

void
em_progress_add_bytes_total(struct em_progress *p, uint64_t n)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->bytes_total, n, memory_order_relaxed);
}

void
em_progress_add_items(struct em_progress *p, uint64_t n)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->items_done, n, memory_order_relaxed);
}

void
em_progress_add_items_total(struct em_progress *p, uint64_t n)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->items_total, n, memory_order_relaxed);
}

void
em_progress_snapshot(const struct em_progress *p, struct em_progress_snap *s)
{
	s->bytes_done = atomic_load_explicit(&p->bytes_done, memory_order_relaxed);
	s->bytes_total = atomic_load_explicit(&p->bytes_total, memory_order_relaxed);
	s->items_done = atomic_load_explicit(&p->items_done, memory_order_relaxed);
	s->items_total = atomic_load_explicit(&p->items_total, memory_order_relaxed);
	s->secs = mono_now() - p->t0;
	s->rate = s->secs > 0 ? (double)s->bytes_done / s->secs : 0;
	s->eta = -1;
	if (s->bytes_total > s->bytes_done && s->rate > 0)
		s->eta = (double)(s->bytes_total - s->bytes_done) / s->rate;
	else if (s->items_total > s->items_done && s->items_done > 0)
		s->eta = s->secs * (double)(s->items_total - s->items_done) / (double)s->items_done;
	else if (s->bytes_total && s->bytes_done >= s->bytes_total)
		s->eta = 0;
}

static void put(char *buf, size_t n, size_t *len, const char *fmt, ...) EM_PRINTF(4, 5);

/* Append to buf, truncating at its end. */
static void
put(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf + *len, n - *len, fmt, ap);
	va_end(ap);
	if (w > 0)
		*len = (size_t)w >= n - *len ? n - 1 : *len + (size_t)w;
}

const char *
em_progress_format(const struct em_progress_snap *s, const char *unit, char *buf, size_t n)
{
	char a[32], b[32];
	size_t len = 0;

#define PUT(...) put(buf, n, &len, __VA_ARGS__)
	if (n == 0)
		return buf;
	buf[0] = '\0';
	em_format_size(s->bytes_done, a, sizeof(a));
	if (s->bytes_total)
		PUT("%s / %s", a, em_format_size(s->bytes_total, b, sizeof(b)));
	else
		PUT("%s", a);
	if (unit != NULL) {
		if (s->items_total)
			PUT("  %llu/%llu %s", (unsigned long long)s->items_done,
			    (unsigned long long)s->items_total, unit);
		else
			PUT("  %llu %s", (unsigned long long)s->items_done, unit);
	}
	PUT("  %.1f MB/s", s->rate / 1e6);
	if (s->eta >= 0) {
		unsigned long e = (unsigned long)(s->eta + 0.5);
		if (e >= 3600)
			PUT("  ETA %lu:%02lu:%02lu", e / 3600, e / 60 % 60, e % 60);
		else
			PUT("  ETA %lu:%02lu", e / 60, e % 60);
	}
#undef PUT
	return buf;
}

const char *
em_progress_line(const struct em_progress_snap *s, const char *state, const char *unit,
    char *buf, size_t n)
{
	size_t len = 0;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	put(buf, n, &len, "state=%s bytes=%llu/%llu items=%llu/%llu unit=%s seconds=%.3f "
	    "rate=%.0f eta=%.1f\n", state, (unsigned long long)s->bytes_done,
	    (unsigned long long)s->bytes_total, (unsigned long long)s->items_done,
	    (unsigned long long)s->items_total, unit != NULL ? unit : "-", s->secs, s->rate,
	    s->eta < 0 ? -1.0 : s->eta);
	return buf;
}
