/* pyramid.h - pyramid levels written in the same pass as the level below, from planes in z order */
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
/*
 * Before the first plane: the base level's planes begin at z instead of 0
 * (a part's planes, --part I/N), and so do the levels above it at z over
 * their factors, which must divide it.  Their writers must expect those
 * planes (a writer of the same part: store/writer.h's em_part_planes).
 */
int em_pyramid_start_at(struct em_pyramid *py, uint64_t z);
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

#endif
