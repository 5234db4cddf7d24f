/* pyramid.h - pyramid levels written in the same pass as the level below, from planes in z order, or box by box (a part) */
#ifndef EM_PYRAMID_H
#define EM_PYRAMID_H

#include <stdint.h>

#include "store/downsample.h"
#include "store/writer.h"
#include "store/zarr.h"

/*
 * Planes of level `base` go in, in z order; each level above keeps the
 * (one or two) planes of the level below that make its next plane, reduces
 * them and hands the plane to its own writer and to the level above it.  So
 * levels base+1 .. plan->levels-1 are written while the base level is, with
 * memory for two planes and one writer per level (each level's planes are a
 * quarter or half of the one below), and nothing is read back.  A resumed
 * run feeds every plane again; each level's writer skips its chunks already
 * written.
 */
struct em_pyramid;

/*
 * arrays[l] is level l's open array (borrowed, l = base+1 .. levels-1; the
 * others unused), made with plan->shape[l].  o: the options of every level's
 * writer (borrowed; journals per level in journals[l] when not NULL).
 */
struct em_pyramid *em_pyramid_new(const struct em_pyramid_plan *plan, int base,
    struct em_zarr *const *arrays, enum em_dtype dt, enum em_ds_method m,
    const struct em_zwriter_opts *o, struct em_journal *const *journals);
/* Planes z0 .. z0+nz-1 of the base level (C order, packed); z0 is the next plane expected. */
int em_pyramid_put_planes(struct em_pyramid *py, uint64_t z0, uint64_t nz, const void *data);
/*
 * Where the next base plane would be copied to: a caller that reads the
 * plane straight into it, then passes it to em_pyramid_put_planes (nz 1),
 * saves that copy.  Waits for the room to be free; NULL when there are no
 * levels above the base or the levels failed (put_planes then says why).
 */
void *em_pyramid_plane_buffer(struct em_pyramid *py);
/* Every level complete and written: 0, or -1 naming the first failure.  stats adds all levels. */
int em_pyramid_finish(struct em_pyramid *py, struct em_zwriter_stats *stats);
void em_pyramid_free(struct em_pyramid *py);

/* Bytes of buffers the levels above base hold at most (planes, and their writers). */
uint64_t em_pyramid_memory(const struct em_pyramid_plan *plan, int base, const uint64_t chunks[3],
    enum em_dtype dt, int jobs);

/*
 * Level l (1 .. plan->levels-1) over one box of it, start[3] + count[3]
 * (a part's units: --part I/N), made from level l-1 (src, borrowed; only
 * the box under it is read) and given to w, a writer of level l fed with
 * boxes.  The box goes by slabs of slab[0] planes and slab[1] rows (level
 * l's chunk depth and height: each slab completes its chunks, and holds
 * as little of a plane as that allows); a slab whose chunks w finds
 * stored already is skipped.  The box starts on a block of the level
 * below, so its voxels are those the whole level's reduction gives.
 * *bytes_read (may be NULL) adds the bytes of level l-1 read.
 */
int em_pyramid_box(const struct em_pyramid_plan *plan, int l, struct em_zarr *src, enum em_dtype dt,
    enum em_ds_method m, const uint64_t start[3], const uint64_t count[3], const uint64_t slab[2],
    struct em_zwriter *w, uint64_t *bytes_read);
/* Bytes em_pyramid_box holds for a box of count[3] (a slab of each level), besides w's. */
uint64_t em_pyramid_box_memory(const struct em_pyramid_plan *plan, int l, const uint64_t count[3],
    const uint64_t slab[2], enum em_dtype dt);

#endif
