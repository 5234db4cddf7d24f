/* parts.h - split runs (--part I/N): a part's statistics over its own chunks, and their exact merge */
#ifndef EM_PARTS_H
#define EM_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dtype.h"

/*
 * Partial statistics, kept so that any number of them combine exactly:
 * count, min, max, mean and M2 (the sum of squared deviations from the
 * mean, combined pairwise as Chan, Golub and LeVeque give it), fill, NaN
 * and infinity counts, and for 8- and 16-bit integers the count of every
 * value (so histograms add).  NaN and infinities are counted apart, as
 * stats.h does.
 */
struct em_part_stats;

struct em_part_stats *em_part_stats_new(enum em_dtype dtype, double fill_value);
void em_part_stats_free(struct em_part_stats *p);
/* Elements (native little-endian values) of one piece. */
int em_part_stats_add(struct em_part_stats *p, const void *data, size_t nelem);
/*
 * {"count", "min", "max", "mean", "m2", "fill_value", "fill_count",
 *  "nan_count", "inf_count", "histogram" (8/16-bit: one bin per value)}:
 * the part record's part.statistics (schemas/metadata_schema.json).
 */
json_t *em_part_stats_json(const struct em_part_stats *p);
/* Add one part record's part.statistics: -1 with the reason when it is not one of this type. */
int em_part_stats_merge(struct em_part_stats *into, const json_t *part_stats);
/*
 * The merged parts against the statistics of one pass over the whole
 * array (stats.h's em_stats_result): count, min, max and the fill share
 * exactly, the histogram exactly for 8/16-bit types, mean and std to
 * 1e-9 relative.  0 when they agree, -1 naming the first that differs.
 */
int em_part_stats_check(const struct em_part_stats *merged, const json_t *whole);

/*
 * Part index of count of the store's level 0 (the array at <store>/0):
 * read the chunks of the part's units (store/writer.h's em_part_range),
 * each cut to the array, into partial statistics.  *units gets the unit
 * range, *chunks_total the part's chunks, *chunks_written those stored.
 * threads: none yet (one reader); memory is one chunk.
 */
int em_part_measure(const char *store, int index, int count, uint64_t units[2],
    uint64_t *chunks_total, uint64_t *chunks_written, json_t **stats);

#endif
