/* pcfetch.h - a box of a Neuroglancer precomputed volume into the store, through the block-fetch engine */
#ifndef EM_PCFETCH_H
#define EM_PCFETCH_H

#include <stdint.h>

#include "sources/precomputed.h"
#include "tool/fetch.h"

/*
 * After em_fetch_set_id(): record the volume (source_metadata: the info,
 * scale, encoding, whether it is lossy, sharding, the box; download_url;
 * the voxel size from the scale's resolution, provenance archive-api) and
 * fetch the box [b0, b1) (z,y,x voxels of the scale, counted from its
 * voxel_offset) chunk by chunk (em_blockfetch_run: bounded memory, resumed,
 * retried; a chunk the volume does not have is 0).  Returns the exit status.
 */
int em_pcfetch_run(struct em_fetch *f, struct em_pc_source *src, const uint64_t b0[3],
    const uint64_t b1[3], int boxed);

/*
 * The box from --box Z0:Z1,Y0:Y1,X0:X1 (box, may be NULL) or --offset and
 * --size X,Y,Z (off/size, NULL when not given), checked against the scale's
 * size; none: the whole scale.  0, or -1 with the reason.
 */
int em_pcfetch_box(const struct em_pc_scale *s, const char *box, const uint64_t *off_xyz,
    const uint64_t *size_xyz, uint64_t b0[3], uint64_t b1[3]);

/* extra.served_by in the record: which of a source's services gave the voxels. */
int em_pcfetch_served_by(struct em_fetch *f, const char *who);

/*
 * The FlyEM source's other path (fetch-dvid): the box at off_xyz of size
 * size_xyz (absolute voxels of scale `scale`, X,Y,Z as DVID takes them) from
 * the precomputed release at url, its scale `scale` (an index), into the
 * volume `id`.  Opens the volume (h borrowed), names the volume (em_fetch_set_id),
 * describes it (sources.<source>), records served_by "precomputed" and
 * fetches.  Returns the exit status.
 */
int em_pcfetch_flyem(struct em_fetch *f, struct em_http *h, const char *url, int scale,
    const uint64_t off_xyz[3], const uint64_t size_xyz[3], const char *id);

#endif
