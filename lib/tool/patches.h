/* patches.h - em-patches: volumes cut into training patches, written as WebDataset tar shards */
#ifndef EM_PATCHES_H
#define EM_PATCHES_H

#include <stdint.h>

#include "core/dtype.h"
#include "meta/normalize.h"
#include "meta/splits.h"
#include "tool/display.h"

/* What a run is asked for: everything here is written to the manifest's parameters. */
struct em_patches_opts {
	int level;			/* the dataset's index in multiscales; -1: by voxel_size */
	double voxel_size;		/* nm: the level whose x voxel size is nearest (level < 0) */
	uint64_t patch[3];		/* z, y, x; z = 1 gives 2-D (y, x) samples */
	int random;			/* 0: a grid of stride; 1: count positions drawn */
	uint64_t stride[3];
	uint64_t count;
	uint64_t seed;			/* at most INT64_MAX: it is a JSON integer */
	double max_fill;		/* skip a patch whose fill share is above */
	double min_std;			/* skip a patch whose std is below */
	struct em_splits splits;
	uint64_t block[3];		/* the split blocks' edge; 0: four patches */
	enum em_norm_method norm;
	double pct[2];			/* percentile normalization: lo, hi in percent */
	enum em_dtype dtype;		/* EM_DT_NONE: the store's own */
	uint64_t shard_size;		/* bytes a shard may take */
	int jobs;			/* reader threads */
	enum em_progress_mode progress;
};

/* Defaults: level 0, grid of one patch, max_fill 0.5, train=1, 256 MB shards, 2 jobs. */
void em_patches_opts_init(struct em_patches_opts *o);

struct em_patches;
/* A run writing into outdir (borrowed); o is copied.  NULL (error set) on a bad combination. */
struct em_patches *em_patches_new(const struct em_patches_opts *o, const char *outdir);
void em_patches_free(struct em_patches *p);
/*
 * Add the volumes one operand names: a store directory, or a file of
 * records as em-meta prints them ("-" for stdin).  Each volume is opened
 * and checked (its level, the patch size, the record's statistics) now,
 * before anything is written; every refusal is reported on stderr naming
 * the input.  -1 when any volume of the operand was refused.
 */
int em_patches_add(struct em_patches *p, const char *operand);
/* Volumes added so far. */
int em_patches_count(const struct em_patches *p);
/*
 * Sample, read, normalize and write the shards and the manifest, resuming
 * from the manifest a killed run left.  Prints each shard's path and then
 * the manifest's on stdout.  -1 (reported) on failure; no shard stands
 * under its final name unless it is whole.
 */
int em_patches_run(struct em_patches *p);

#endif
