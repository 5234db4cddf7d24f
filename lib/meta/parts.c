/* parts.c - split runs (--part I/N): a part's statistics over its own chunks, and their exact merge */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "meta/parts.h"
#include "store/writer.h"
#include "store/zarr.h"
#include "core/banned.h"

struct em_part_stats {
	enum em_dtype dtype;
	double fill;
	uint64_t n;		/* finite values */
	uint64_t nfill, nnan, ninf;
	double min, max, mean, m2;
	uint64_t *counts;	/* 8/16-bit integers: per value, index = value - type minimum */
	size_t ncounts;
};

struct em_part_stats *
em_part_stats_new(enum em_dtype dtype, double fill_value)
{
	struct em_part_stats *p = calloc(1, sizeof(*p));
	size_t esz = em_dtype_size(dtype);

	if (p == NULL || esz == 0) {
		free(p);
		em_fail(esz == 0 ? "no statistics for this data type" : "out of memory");
		return NULL;
	}
	p->dtype = dtype;
	p->fill = fill_value;
	p->min = INFINITY;
	p->max = -INFINITY;
	if (!em_dtype_is_float(dtype) && esz <= 2) {
		p->ncounts = (size_t)1 << (8 * esz);
		if ((p->counts = calloc(p->ncounts, sizeof(*p->counts))) == NULL) {
			free(p);
			em_fail("out of memory");
			return NULL;
		}
	}
	return p;
}

void
em_part_stats_free(struct em_part_stats *p)
{
	if (p == NULL)
		return;
	free(p->counts);
	free(p);
}

static double
value(enum em_dtype t, const unsigned char *e)
{
	switch (t) {
	case EM_DT_U1: return e[0];
	case EM_DT_I1: return (signed char)e[0];
	case EM_DT_U2: { uint16_t v; memcpy(&v, e, 2); return v; }
	case EM_DT_I2: { int16_t v; memcpy(&v, e, 2); return v; }
	case EM_DT_U4: { uint32_t v; memcpy(&v, e, 4); return v; }
	case EM_DT_I4: { int32_t v; memcpy(&v, e, 4); return v; }
	case EM_DT_U8: { uint64_t v; memcpy(&v, e, 8); return (double)v; }
	case EM_DT_I8: { int64_t v; memcpy(&v, e, 8); return (double)v; }
	case EM_DT_F4: { float v; memcpy(&v, e, 4); return v; }
	case EM_DT_F8: { double v; memcpy(&v, e, 8); return v; }
	case EM_DT_F2: { uint16_t v; memcpy(&v, e, 2); return em_half_to_float(v); }
	default: return 0;
	}
}

/* Chan et al.: the moments of a block (nb values, mean mb, M2 qb) joined to those so far. */
static void
combine(struct em_part_stats *p, uint64_t nb, double mb, double qb)
{
	double n, d;

	if (nb == 0)
		return;
	if (p->n == 0) {
		p->n = nb;
		p->mean = mb;
		p->m2 = qb;
		return;
	}
	n = (double)p->n + (double)nb;
	d = mb - p->mean;
	p->mean += d * (double)nb / n;
	p->m2 += qb + d * d * (double)p->n * (double)nb / n;
	p->n += nb;
}

int
em_part_stats_add(struct em_part_stats *p, const void *data, size_t nelem)
{
	const unsigned char *e = data;
	size_t isz = em_dtype_size(p->dtype), i;
	int signd = em_dtype_is_signed(p->dtype);
	uint64_t nb = 0;
	double sum = 0, q = 0, mb, v;

	for (i = 0; i < nelem; i++) {
		v = value(p->dtype, e + i * isz);
		if (isnan(v)) {
			p->nnan++;
			continue;
		}
		if (isinf(v)) {
			p->ninf++;
			continue;
		}
		if (v == p->fill)
			p->nfill++;
		if (v < p->min)
			p->min = v;
		if (v > p->max)
			p->max = v;
		if (p->counts != NULL)
			p->counts[(size_t)((int64_t)v + (signd ? (int64_t)(p->ncounts / 2) : 0))]++;
		sum += v;
		nb++;
	}
	if (nb == 0)
		return 0;
	mb = sum / (double)nb;
	for (i = 0; i < nelem; i++) {
		v = value(p->dtype, e + i * isz);
		if (isfinite(v))
			q += (v - mb) * (v - mb);
	}
	combine(p, nb, mb, q);
	return 0;
}

static json_t *
num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* An integer type's extreme as an integer (as stats.h gives it), a float's as a number. */
static json_t *
extreme(const struct em_part_stats *p, double v)
{
	if (p->n == 0)
		return json_null();
	if (!em_dtype_is_float(p->dtype) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return num(v);
}

json_t *
em_part_stats_json(const struct em_part_stats *p)
{
	json_t *o, *c;
	size_t i;

	o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:f, s:I, s:I, s:I}",
	    "count", (json_int_t)(p->n + p->nnan + p->ninf),
	    "min", extreme(p, p->min), "max", extreme(p, p->max),
	    "mean", p->n ? num(p->mean) : json_null(), "m2", p->n ? num(p->m2) : json_null(),
	    "fill_value", p->fill, "fill_count", (json_int_t)p->nfill,
	    "nan_count", (json_int_t)p->nnan, "inf_count", (json_int_t)p->ninf);
	if (o == NULL || p->counts == NULL)
		return o;
	if ((c = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	for (i = 0; i < p->ncounts; i++)
		json_array_append_new(c, json_integer((json_int_t)p->counts[i]));
	json_object_set_new(o, "histogram", json_pack("{s:I, s:I, s:i, s:o}",
	    "bins", (json_int_t)p->ncounts,
	    "start", em_dtype_is_signed(p->dtype) ? -(json_int_t)(p->ncounts / 2) : 0,
	    "width", 1, "counts", c));
	return o;
}

static int
get_count(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return em_fail("part statistics without a count '%s'", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int
em_part_stats_merge(struct em_part_stats *into, const json_t *ps)
{
	uint64_t count, nfill, nnan, ninf, nb;
	const json_t *h, *c;
	size_t i;

	if (!json_is_object(ps))
		return em_fail("no part statistics");
	if (get_count(ps, "count", &count) < 0 || get_count(ps, "fill_count", &nfill) < 0 ||
	    get_count(ps, "nan_count", &nnan) < 0 || get_count(ps, "inf_count", &ninf) < 0)
		return -1;
	if (!json_is_number(json_object_get(ps, "fill_value")) ||
	    json_number_value(json_object_get(ps, "fill_value")) != into->fill)
		return em_fail("the part was measured with another fill value");
	if (nnan + ninf > count)
		return em_fail("part statistics count more NaN and infinities than values");
	nb = count - nnan - ninf;
	if (nb > 0) {
		const json_t *mn = json_object_get(ps, "min"), *mx = json_object_get(ps, "max");
		const json_t *me = json_object_get(ps, "mean"), *q = json_object_get(ps, "m2");

		if (!json_is_number(mn) || !json_is_number(mx) || !json_is_number(me) ||
		    !json_is_number(q))
			return em_fail("part statistics of %llu values without min, max, mean or m2",
			    (unsigned long long)nb);
		if (json_number_value(mn) < into->min)
			into->min = json_number_value(mn);
		if (json_number_value(mx) > into->max)
			into->max = json_number_value(mx);
		combine(into, nb, json_number_value(me), json_number_value(q));
	}
	into->nfill += nfill;
	into->nnan += nnan;
	into->ninf += ninf;
	if (into->counts == NULL)
		return 0;
	h = json_object_get(ps, "histogram");
	c = json_object_get(h, "counts");
	if (json_array_size(c) != into->ncounts)
		return em_fail("part statistics without the %zu value counts of their type",
		    into->ncounts);
	for (i = 0; i < into->ncounts; i++) {
		const json_t *v = json_array_get(c, i);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return em_fail("a bad value count in part statistics");
		into->counts[i] += (uint64_t)json_integer_value(v);
	}
	return 0;
}

static int
close_to(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

/* The whole array's 256-bin histogram from the merged value counts, binned as stats.c bins them. */
static int
check_histogram(const struct em_part_stats *p, const json_t *h)
{
	const json_t *counts = json_object_get(h, "counts");
	int64_t base = em_dtype_is_signed(p->dtype) ? -(int64_t)(p->ncounts / 2) : 0;
	uint64_t width, bins[256] = { 0 };
	size_t i, first = 0, last = 0, hfirst;
	int seen = 0;

	for (i = 0; i < p->ncounts; i++)
		if (p->counts[i] != 0) {
			if (!seen)
				first = i;
			seen = 1;
			last = i;
		}
	hfirst = p->ncounts == 256 ? 0 : first;
	width = p->ncounts == 256 || !seen ? 1 : (last - first) / 256 + 1;
	for (i = seen ? first : 0; seen && i <= last; i++)
		bins[(i - hfirst) / width] += p->counts[i];
	if (json_integer_value(json_object_get(h, "start")) != base + (int64_t)hfirst ||
	    json_integer_value(json_object_get(h, "width")) != (json_int_t)width ||
	    json_array_size(counts) != 256)
		return em_fail("the parts' histogram starts or bins otherwise than the store's");
	for (i = 0; i < 256; i++)
		if ((uint64_t)json_integer_value(json_array_get(counts, i)) != bins[i])
			return em_fail("the parts' histogram differs from the store's in bin %zu", i);
	return 0;
}

int
em_part_stats_check(const struct em_part_stats *p, const json_t *w)
{
	uint64_t total = p->n + p->nnan + p->ninf;
	const json_t *v;
	double std;

	if ((uint64_t)json_integer_value(json_object_get(w, "count")) != total)
		return em_fail("the parts count %llu values, the store holds %llu",
		    (unsigned long long)total,
		    (unsigned long long)json_integer_value(json_object_get(w, "count")));
	if (p->n == 0)
		return 0;
	if (json_number_value(json_object_get(w, "min")) != p->min ||
	    json_number_value(json_object_get(w, "max")) != p->max)
		return em_fail("the parts' min and max (%g, %g) are not the store's (%g, %g)",
		    p->min, p->max, json_number_value(json_object_get(w, "min")),
		    json_number_value(json_object_get(w, "max")));
	std = sqrt(p->m2 / (double)p->n);
	if (!close_to(p->mean, json_number_value(json_object_get(w, "mean"))) ||
	    !close_to(std, json_number_value(json_object_get(w, "std"))))
		return em_fail("the parts' mean and std (%.17g, %.17g) are not the store's (%.17g, "
		    "%.17g)", p->mean, std, json_number_value(json_object_get(w, "mean")),
		    json_number_value(json_object_get(w, "std")));
	v = json_object_get(w, "fill_fraction");
	if (!close_to((double)p->nfill / (double)total, json_number_value(v)))
		return em_fail("the parts' fill share is not the store's");
	if (p->counts != NULL)
		return check_histogram(p, json_object_get(w, "histogram"));
	return 0;
}

/* Feed the part of chunk ci inside the array (buf holds the whole chunk). */
static int
add_chunk(struct em_part_stats *p, const struct em_zarr_meta *m, const uint64_t *ci,
    const unsigned char *buf)
{
	uint64_t cnt[EM_ZARR_MAXDIM], rows = 1, r, off, rest, k;
	size_t isz = em_dtype_size(m->dtype);
	int n = m->ndim, i;

	for (i = 0; i < n; i++) {
		uint64_t lo = ci[i] * m->chunks[i];
		cnt[i] = m->shape[i] - lo < m->chunks[i] ? m->shape[i] - lo : m->chunks[i];
	}
	for (i = 0; i < n - 1; i++)
		rows *= cnt[i];
	for (r = 0; r < rows; r++) {
		/* Row r's (k0, k1, ...) among the inside rows, then its offset ((k0*c1 + k1)*c2...). */
		for (off = 0, rest = r, i = 0; i < n - 1; i++) {
			uint64_t below = 1;
			int j;
			for (j = i + 1; j < n - 1; j++)
				below *= cnt[j];
			k = rest / below;
			rest %= below;
			off = off * m->chunks[i] + k;
		}
		off *= m->chunks[n - 1];
		if (em_part_stats_add(p, buf + off * isz, (size_t)cnt[n - 1]) < 0)
			return -1;
	}
	return 0;
}

int
em_part_measure(const char *store, int index, int count, uint64_t units[2],
    uint64_t *chunks_total, uint64_t *chunks_written, json_t **stats)
{
	struct em_zarr *a;
	const struct em_zarr_meta *m;
	struct em_part_stats *p = NULL;
	unsigned char *buf = NULL;
	uint64_t g[EM_ZARR_MAXDIM], ug[EM_ZARR_MAXDIM], per[EM_ZARR_MAXDIM], u, lo, hi;
	uint64_t ci[EM_ZARR_MAXDIM], k, nin, rest;
	double fill;
	int sh, i, n, rc = -1, r;

	*stats = NULL;
	*chunks_total = *chunks_written = 0;
	if ((a = em_zarr_open(store)) == NULL)
		return -1;
	m = em_zarr_meta(a);
	n = m->ndim;
	sh = em_zarr_sharded(m);
	em_zarr_grid(m, g);
	if (sh)
		em_zarr_shard_grid(m, ug);
	else
		memcpy(ug, g, sizeof(ug));
	nin = 1;
	for (i = 0; i < n; i++) {
		per[i] = sh ? m->shard[i] / m->chunks[i] : 1;
		nin *= per[i];
	}
	em_part_range(em_part_units(m), index, count, &lo, &hi);
	units[0] = lo;
	units[1] = hi;
	fill = value(m->dtype, m->fill);
	if ((p = em_part_stats_new(m->dtype, fill)) == NULL)
		goto out;
	if ((buf = malloc(em_zarr_chunk_bytes(m))) == NULL) {
		em_fail("out of memory for a chunk");
		goto out;
	}
	for (u = lo; u < hi; u++) {
		for (k = 0; k < nin; k++) {
			int inside = 1;
			/* Unit u's k-th chunk (C order within a shard). */
			for (rest = u, i = n - 1; i >= 0; i--) {
				ci[i] = rest % ug[i] * per[i];
				rest /= ug[i];
			}
			for (rest = k, i = n - 1; i >= 0; i--) {
				ci[i] += rest % per[i];
				rest /= per[i];
				if (ci[i] >= g[i])
					inside = 0;
			}
			if (!inside)
				continue;
			(*chunks_total)++;
			if ((r = em_zarr_read_chunk(a, ci, buf)) < 0)
				goto out;
			*chunks_written += (uint64_t)r;
			if (add_chunk(p, m, ci, buf) < 0)
				goto out;
		}
	}
	if ((*stats = em_part_stats_json(p)) == NULL) {
		em_fail("out of memory");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	em_part_stats_free(p);
	em_zarr_close(a);
	return rc;
}
