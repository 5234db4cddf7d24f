/* normalize.h - patch values normalized from a record's statistics, and the measures that skip patches */
#ifndef EM_NORMALIZE_H
#define EM_NORMALIZE_H

#include <stddef.h>

#include <jansson.h>

#include "core/dtype.h"

enum em_norm_method {
	EM_NORM_NONE,		/* values as stored */
	EM_NORM_ZSCORE,		/* (v - mean) / std */
	EM_NORM_MINMAX,		/* (v - min) / (max - min) */
	EM_NORM_PERCENTILE,	/* (clip(v, lo, hi) - lo) / (hi - lo), lo and hi percentiles */
};

/* "none", "zscore", "minmax", "percentile"; -1 for another name. */
int em_norm_method_parse(const char *s, enum em_norm_method *out);
const char *em_norm_method_name(enum em_norm_method m);

/* out = (clip(v, lo, hi) - offset) / scale, computed in double precision. */
struct em_norm {
	enum em_norm_method method;
	double offset, scale;
	double lo, hi;		/* the clip range: -inf, +inf but for percentile */
	double q[2];		/* percentile: the percentiles asked for (0..100) */
	/* em_norm_prepare's table: every value of an 8- or 16-bit type, converted once */
	void *lut;
	enum em_dtype lut_in, lut_out;
};

/*
 * The parameters of method from a record's statistics object (as em-meta
 * writes it: min, max, mean, std, histogram), never recomputed.
 * percentile: pct[0] and pct[1] (0 <= pct[0] < pct[1] <= 100) read from
 * the histogram (em_hist_percentile), clipped to [min, max].  -1 with the
 * reason when a number is missing or null, or the scale would be 0 (std 0,
 * max = min, an empty percentile range).  NONE needs no statistics (stats
 * may be NULL).
 */
int em_norm_from_stats(struct em_norm *n, enum em_norm_method method, const json_t *stats,
    const double pct[2]);
/* {"method": ..., then mean and std, min and max, or percentiles, lo and hi}; new reference. */
json_t *em_norm_json(const struct em_norm *n);

/*
 * The q-th quantile (0 <= q <= 1) of the values a histogram counts
 * ({"start", "width", "counts"}: bin i counts start + i*width <= v <
 * start + (i+1)*width), with the values taken as spread evenly over each
 * bin: with N the sum of the counts, t = q*N, C(k) the counts of bins
 * 0..k, and k the first bin with a count and C(k) >= t, the quantile is
 * start + width*(k + (t - C(k-1)) / counts[k]).  -1 when the histogram is
 * malformed or counts nothing.
 */
int em_hist_percentile(const json_t *hist, double q, double *out);

/*
 * What decides whether a patch is kept: the share of its n elements equal
 * to fill, and (when std is not NULL) the population standard deviation of
 * its values, both in double precision.
 */
void em_patch_measure(enum em_dtype dt, const void *data, size_t n, double fill,
    double *fill_share, double *std);

/* Why a patch is skipped, or not. */
enum em_patch_verdict {
	EM_PATCH_KEEP,
	EM_PATCH_FILL,		/* its share of fill voxels is above max_fill */
	EM_PATCH_FLAT,		/* min_std > 0 and its standard deviation is below min_std */
};

/*
 * The decision em_patch_measure's numbers give (fill share first, then
 * std), made with less work where it can be made exactly: uint8 patches
 * from integer sums (the fill count, the sum and the sum of squares),
 * and from em_patch_measure only when the std lies within a millionth of
 * min_std, where the two roundings could disagree.
 */
enum em_patch_verdict em_patch_judge(enum em_dtype dt, const void *data, size_t n, double fill,
    double max_fill, double min_std);

/*
 * Convert n elements of type in_dt into out_dt through n: EM_DT_F4 the
 * normalized value rounded to float32; EM_DT_U1 rint(clip(x, 0, 1) * 255)
 * for minmax and percentile, rint(clip(v, 0, 255)) for none; in_dt itself
 * the bytes unchanged (none only).  -1 for another combination.
 */
int em_norm_apply(const struct em_norm *n, enum em_dtype in_dt, const void *in, size_t count,
    enum em_dtype out_dt, void *out);
/*
 * Convert every value of an 8- or 16-bit integer type in_dt once, into a
 * table em_norm_apply then looks values up in (the same results, without
 * a division per element).  Other types, and values kept unchanged (none
 * into their own type), need no table (0, nothing done).
 * Release the table with em_norm_release.
 */
int em_norm_prepare(struct em_norm *n, enum em_dtype in_dt, enum em_dtype out_dt);
void em_norm_release(struct em_norm *n);
/* Whether em_norm_apply accepts method into out_dt from in_dt (the same check, no data). */
int em_norm_supported(enum em_norm_method method, enum em_dtype in_dt, enum em_dtype out_dt);

#endif
