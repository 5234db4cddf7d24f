/* zarr_internal.h - what zarr.c and zarr3.c share: geometry checks, fill values, the v3 metadata */
#ifndef EM_ZARR_INTERNAL_H
#define EM_ZARR_INTERNAL_H

#include <jansson.h>

#include "store/zarr.h"

/* Shape and chunks are sane (no overflow of the element count or the chunk size). */
int em_zarr_check_geometry(const struct em_zarr_meta *m);
/* m's fill value as JSON (a new reference), NULL if it cannot be said. */
json_t *em_zarr_fill_to_json(const struct em_zarr_meta *m);
/* The shard shape is whole chunks in every dimension; -1 naming both shapes. */
int em_zarr_check_shard(const struct em_zarr_meta *m, const uint64_t *shard);

/* zarr3.c: m from a v3 zarr.json object (an array); -1 naming what is wrong or unsupported. */
int em_zarr3_parse(struct em_zarr_meta *m, const json_t *j);
/* The zarr.json of the array m (zarr_format 3): a new reference, NULL if it cannot be said. */
json_t *em_zarr3_json(const struct em_zarr_meta *m);

#endif
