/* fault.c - em-origin's fault specs: parsing, per-path request counts, deciding what applies */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/parse.h"
#include "origin.h"
#include "core/banned.h"

void
fault_clear(struct fault *f)
{
	free(f->path);
	free(f->omit);
	memset(f, 0, sizeof(*f));
	f->share = 1.0;
	f->drop = -1;
	f->retry_after = -1;
	f->short_by = -1;
	f->length = -1;
}

static int
parse_i64_size(const char *v, int64_t *out)
{
	uint64_t u;

	if (em_parse_size(v, &u) == -1)
		return -1;
	if (u > INT64_MAX)
		return em_fail("too large");
	*out = (int64_t)u;
	return 0;
}

/*
 * SPEC is a comma-separated list of key=value: drop=N, status=CODE,
 * retry-after=S (or retry-after=date:S), delay=MS, short=N, rate=N (bytes a
 * second), norange=1, noetag=1, endless=1, length=N (the Content-Length
 * announced), omit=GLOB (a directory page leaves out the names matching
 * it, as a web server whose index missed a file does), and the selectors
 * path=GLOB, share=P, first=K.
 */
int
fault_parse(const char *spec, struct fault *f)
{
	char *copy = NULL, *p, *item;
	int ret = -1;

	fault_clear(f);
	if ((copy = strdup(spec)) == NULL)
		return em_fail_errno("out of memory");
	p = copy;
	while ((item = strsep(&p, ",")) != NULL) {
		char *v = strchr(item, '=');
		int64_t i64 = 0;

		if (*item == '\0')
			continue;
		if (v == NULL) {
			em_fail("'%s' is not key=value", item);
			goto out;
		}
		*v++ = '\0';
		if (strcmp(item, "path") == 0) {
			free(f->path);
			if ((f->path = strdup(v)) == NULL) {
				em_fail_errno("out of memory");
				goto out;
			}
		} else if (strcmp(item, "omit") == 0) {
			if (strlen(v) >= sizeof(((struct fault_effect *)NULL)->omit)) {
				em_fail("omit glob '%s' is too long", v);
				goto out;
			}
			free(f->omit);
			if ((f->omit = strdup(v)) == NULL) {
				em_fail_errno("out of memory");
				goto out;
			}
		} else if (strcmp(item, "share") == 0) {
			if (em_parse_double(v, &f->share) == -1 || f->share < 0 || f->share > 1) {
				em_fail("share '%s' is not a number from 0 to 1", v);
				goto out;
			}
		} else if (strcmp(item, "first") == 0) {
			int k;
			if (em_parse_int(v, 1, 1000000000, &k) == -1)
				goto bad;
			f->first = k;
		} else if (strcmp(item, "drop") == 0) {
			if (parse_i64_size(v, &f->drop) == -1)
				goto bad;
		} else if (strcmp(item, "short") == 0) {
			if (parse_i64_size(v, &f->short_by) == -1)
				goto bad;
		} else if (strcmp(item, "rate") == 0) {
			if (parse_i64_size(v, &i64) == -1 || i64 == 0)
				goto bad;
			f->rate = (uint64_t)i64;
		} else if (strcmp(item, "norange") == 0) {
			if (em_parse_int(v, 0, 1, &f->norange) == -1)
				goto bad;
		} else if (strcmp(item, "noetag") == 0) {
			if (em_parse_int(v, 0, 1, &f->noetag) == -1)
				goto bad;
		} else if (strcmp(item, "endless") == 0) {
			if (em_parse_int(v, 0, 1, &f->endless) == -1)
				goto bad;
		} else if (strcmp(item, "length") == 0) {
			if (parse_i64_size(v, &f->length) == -1)
				goto bad;
		} else if (strcmp(item, "status") == 0) {
			if (em_parse_int(v, 100, 599, &f->status) == -1)
				goto bad;
		} else if (strcmp(item, "delay") == 0) {
			int ms;
			if (em_parse_int(v, 0, 3600000, &ms) == -1)
				goto bad;
			f->delay_ms = ms;
		} else if (strcmp(item, "retry-after") == 0) {
			int s;
			if (strncmp(v, "date:", 5) == 0) {
				f->retry_after_date = 1;
				v += 5;
			}
			if (em_parse_int(v, 0, 86400, &s) == -1)
				goto bad;
			f->retry_after = s;
		} else {
			em_fail("unknown key '%s'", item);
			goto out;
		}
	}
	ret = 0;
	goto out;
bad:
	em_fail_ctx("%s", item);
out:
	free(copy);
	if (ret == -1) {
		free(f->path);
		f->path = NULL;
		free(f->omit);
		f->omit = NULL;
	}
	return ret;
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The number of requests to path so far, this one included (1 for the first). */
unsigned long
origin_count_path(struct origin *o, const char *path)
{
	uint64_t h = fnv1a(path);
	struct pathcount **pp = &o->counts[h % PATHCOUNT_BUCKETS], *pc;
	unsigned long n = 0;

	pthread_mutex_lock(&o->lock);
	for (pc = *pp; pc != NULL; pc = pc->next)
		if (strcmp(pc->path, path) == 0)
			break;
	if (pc == NULL) {
		size_t len = strlen(path);
		pc = malloc(sizeof(*pc) + len + 1);
		if (pc != NULL) {
			memcpy(pc->path, path, len + 1);
			pc->n = 0;
			pc->next = *pp;
			*pp = pc;
		}
	}
	if (pc != NULL)
		n = ++pc->n;
	pthread_mutex_unlock(&o->lock);
	return n;
}

/*
 * Whether fault f applies to the n-th request to path; if so its actions
 * are merged into fx (a later fault overrides an earlier one).  The share
 * is decided by a hash of the seed, the path and n, so a run with the same
 * requests in the same order meets the same faults.
 */
void
fault_apply(struct origin *o, const struct fault *f, const char *path, unsigned long n,
    struct fault_effect *fx)
{
	if (f->path != NULL && fnmatch(f->path, path, 0) != 0)
		return;
	if (f->first > 0 && n > (unsigned long)f->first)
		return;
	if (f->share < 1.0) {
		uint64_t h = mix64(o->seed ^ fnv1a(path) ^ mix64(n));
		double u = (double)(h >> 11) / 9007199254740992.0;
		if (u >= f->share)
			return;
	}
	fx->any = 1;
	if (f->drop >= 0)
		fx->drop = f->drop;
	if (f->status) {
		fx->status = f->status;
		fx->retry_after = f->retry_after;
		fx->retry_after_date = f->retry_after_date;
	}
	if (f->delay_ms)
		fx->delay_ms = f->delay_ms;
	if (f->short_by >= 0)
		fx->short_by = f->short_by;
	if (f->rate)
		fx->rate = f->rate;
	if (f->norange)
		fx->norange = 1;
	if (f->noetag)
		fx->noetag = 1;
	if (f->endless)
		fx->endless = 1;
	if (f->length >= 0)
		fx->length = f->length;
	if (f->omit != NULL)
		snprintf(fx->omit, sizeof(fx->omit), "%s", f->omit);
}
