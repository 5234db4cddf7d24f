/* parallel.h - the one rule for --jobs and max_parallel, and the memory a run needs for its jobs */
#ifndef EM_PARALLEL_H
#define EM_PARALLEL_H

#include <stdint.h>

#include "store/zarr.h"

/* sources.<source>.max_parallel is 1..256, as --jobs and global.jobs are. */
#define EM_JOBS_MAX 256

/*
 * Transfers to the archive at once: the jobs (--jobs, else global.jobs:
 * also the compression threads), at most the archive's max_parallel
 * (sources.<source>.max_parallel), its fair use whatever the jobs say.
 * Both at least 1.  Every fetcher, file or block, uses this rule.
 */
int em_transfers(int jobs, int max_parallel);

/* What a run holds in memory besides the store's writer. */
struct em_mem_share {
	uint64_t fixed;		/* buffers held once (a plane, a decoded chunk) */
	uint64_t per_transfer;	/* held for each transfer in flight (its answer) */
};

/*
 * The most jobs, at most `jobs`, whose memory fits budget (0: no limit):
 * the writer's least memory for j jobs (em_zwriter_min_memory, box as
 * there) plus share->fixed plus share->per_transfer for each of
 * em_transfers(j, max_parallel) transfers, recomputed for every j tried.
 * 0 when even one job does not fit.  *need (may be NULL) is the memory of
 * the jobs returned, or of one job when none fits.  share NULL: nothing
 * besides the writer.
 */
int em_fit_jobs(const struct em_zarr_meta *m, const uint64_t *box, int jobs, int max_parallel,
    const struct em_mem_share *share, uint64_t budget, uint64_t *need);

#endif
