/* downsample.h - pyramid levels: which axes each level halves, and the 2x reduction of a block */
#ifndef EM_DOWNSAMPLE_H
#define EM_DOWNSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

/*
 * How a level's voxel is made from the (up to) 2x2x2 voxels below it:
 *  - mean: the average of the voxels present (fewer at an odd edge).  Integer
 *    types round half up: floor(sum / k + 1/2), computed exactly in 64-bit
 *    integers (numpy: np.floor(s / k + 0.5) over int64 sums); floating types
 *    average in double and round to the type once.  A NaN makes the mean NaN.
 *  - mode: the most frequent value; a tie goes to the smallest value (for label
 *    volumes, where a mean would invent labels).  Floats compare by value.
 *  - nearest: the first voxel of the block (numpy: a[::2, ::2, ::2]).
 */
enum em_ds_method {
	EM_DS_MEAN,
	EM_DS_MODE,
	EM_DS_NEAREST,
};

/* "mean", "mode", "nearest" <-> the method; -1 for an unknown name. */
int em_ds_method_from_name(const char *name);
const char *em_ds_method_name(enum em_ds_method m);

#define EM_PYRAMID_MAX_LEVELS 24

/*
 * The levels of a pyramid over a 3-D (z,y,x) volume.  Level 0 is the
 * volume; level l+1 halves the axes factor[l+1][i] == 2 of level l (the
 * sizes rounded up).  An axis is halved while its voxel is clearly finer
 * than the level's coarsest (under 3/4 of it): anisotropic EM (50 nm z,
 * 8 nm y/x) halves y and x until they pass z, then all three together.
 * An axis of size 1 is never halved.
 */
struct em_pyramid_plan {
	int levels;					/* 1 .. EM_PYRAMID_MAX_LEVELS */
	uint64_t shape[EM_PYRAMID_MAX_LEVELS][3];
	double voxel[EM_PYRAMID_MAX_LEVELS][3];		/* nm; 0 when unknown at level 0 */
	uint64_t scale[EM_PYRAMID_MAX_LEVELS][3];	/* level voxel / level-0 voxel */
	int factor[EM_PYRAMID_MAX_LEVELS][3];		/* 1 or 2; level 0 all 1 */
};

/*
 * Plan the levels.  voxel may hold 0 for an unknown axis (it is then taken
 * as the coarsest known, so it is halved with it).  levels > 0 asks for that
 * many (fewer when every axis reaches size 1 first); levels == 0 is "auto":
 * stop when the next level would be smaller than one chunk in every axis it
 * halves.  -1 on a bad argument (levels < 0, a zero size).
 */
int em_pyramid_plan(const uint64_t shape[3], const double voxel[3], const uint64_t chunks[3],
    int levels, struct em_pyramid_plan *p);

/*
 * Reduce src (C order, shape sshape[3], elements of dtype) by factor[3]
 * (each 1 or 2) into dst, of shape ceil(sshape / factor).  The block at an
 * odd edge holds the voxels that exist.  -1 for a method the dtype cannot
 * take.
 */
int em_downsample(enum em_dtype dt, enum em_ds_method m, const void *src, const uint64_t sshape[3],
    const int factor[3], void *dst);

#endif
