/* stats.h - one-pass statistics of an array: exact min/max, stable mean/std, histogram, fill share */
#ifndef EM_STATS_H
#define EM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dtype.h"

/*
 * Feed the array's elements (native little-endian values, any order) in
 * pieces of any size, then ask for the result.  Memory is constant.
 *
 * Binning of the 256-bin histogram, declared in the result:
 *  - 8-bit types: one bin per value (start = type minimum, width 1);
 *  - 16-bit types: every value is counted exactly, then folded into 256
 *    bins of equal integer width starting at the minimum;
 *  - wider integers and floats: bins of equal width whose range starts at
 *    the first piece's values and doubles (merging pairs of bins) whenever
 *    a value falls outside, so every count is exact for its declared bin.
 * NaN and infinities are counted apart and left out of min/max/mean/std.
 * mean and std (population, ddof = 0) are exact for 8/16-bit types and
 * use Chan's pairwise combination of blocks in double precision otherwise.
 */
struct em_stats;

struct em_stats *em_stats_new(enum em_dtype dtype, double fill_value);
void em_stats_free(struct em_stats *s);
int em_stats_add(struct em_stats *s, const void *data, size_t nelem);
/*
 * {"count", "min", "max", "mean", "std", "fill_fraction",
 *  "histogram": {"bins", "start", "width", "counts": [...]},
 *  "nan_count", "inf_count" (floats only)}
 * New reference; min/max/mean/std are null for an array of no finite value.
 */
json_t *em_stats_result(const struct em_stats *s);

#endif
