/* digestarray.h - one streaming pass over an array: SHA-256 of its C-order bytes and its statistics */
#ifndef EM_DIGESTARRAY_H
#define EM_DIGESTARRAY_H

#include <stddef.h>

#include <jansson.h>

#include "core/dtype.h"

/*
 * Where the bytes come from: next(ctx, &data, &len) hands out the array's
 * next piece in C order, little-endian (a whole number of elements),
 * borrowed until the following call (or, when keeps_one is set, until
 * the call after that); it returns 1, 0 at the end, or -1 with the error
 * text set.  A store's chunk-row iterator, which decodes ahead on its own
 * threads and keeps one slab, fits this directly.
 */
struct em_slab_iter {
	int (*next)(void *ctx, const void **data, size_t *len);
	void *ctx;
	enum em_dtype dtype;
	double fill_value;
	int keeps_one;		/* a piece stays valid through one more call */
};

/*
 * Hash and measure the whole array in one pass: each piece is hashed on a
 * second thread while this one computes its statistics (and, with
 * keeps_one, fetches the next piece), so SHA-256, statistics and the
 * source's work overlap.
 * Memory beyond the source's: constant.  On success sha holds 64 hex
 * digits and *stats a new reference (see stats.h); with stats NULL no
 * statistics are computed, only the digest.  Stops with -1 when
 * em_interrupted() becomes true.
 */
int em_digest_array(const struct em_slab_iter *src, char sha[65], json_t **stats);

#endif
