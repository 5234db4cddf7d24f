/* digestarray.h - one streaming pass over an array: SHA-256 of its C-order bytes and its statistics */
#ifndef EM_DIGESTARRAY_H
#define EM_DIGESTARRAY_H

#include <stdint.h>

#include <jansson.h>

#include "dtype.h"

/*
 * Where the planes come from: read(ctx, z0, nz, buf) fills buf with planes
 * z0 .. z0+nz-1 in C order, little-endian (nz * shape[1] * shape[2]
 * elements) and returns 0, or -1 with the error text set.
 */
struct em_slab_source {
	int (*read)(void *ctx, uint64_t z0, uint64_t nz, void *buf);
	void *ctx;
	uint64_t shape[3];	/* z, y, x */
	enum em_dtype dtype;
	double fill_value;
};

/*
 * Hash and measure the whole array, slab by slab.  Slabs of `depth` planes
 * are read into one of three buffers while the previous slab is hashed and
 * measured on two other threads, so reading (decompression), SHA-256 and
 * statistics overlap.  Memory: 3 * depth * plane bytes.  On success sha
 * holds 64 hex digits and *stats a new reference (see stats.h).
 * Stops early with -1 when em_interrupted() becomes true.
 */
int em_digest_array(const struct em_slab_source *src, uint64_t depth, char sha[65],
    json_t **stats);

#endif
