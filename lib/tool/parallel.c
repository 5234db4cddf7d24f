/* parallel.c - the one rule for --jobs and max_parallel, and the memory a run needs for its jobs */
#include "tool/parallel.h"
#include "store/writer.h"
#include "core/banned.h"

int
em_transfers(int jobs, int max_parallel)
{
	int n = jobs < max_parallel ? jobs : max_parallel;

	return n < 1 ? 1 : n;
}

/* Saturating: a hostile chunk shape must not wrap the sum below the budget. */
static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
mul_sat(uint64_t a, uint64_t b)
{
	return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t
need_for(const struct em_zarr_meta *m, const uint64_t *box, int jobs, int max_parallel,
    const struct em_mem_share *share)
{
	uint64_t mem = em_zwriter_min_memory(m, jobs, box);

	if (share != NULL) {
		mem = add_sat(mem, share->fixed);
		mem = add_sat(mem, mul_sat(share->per_transfer,
		    (uint64_t)em_transfers(jobs, max_parallel)));
	}
	return mem;
}

int
em_fit_jobs(const struct em_zarr_meta *m, const uint64_t *box, int jobs, int max_parallel,
    const struct em_mem_share *share, uint64_t budget, uint64_t *need)
{
	uint64_t mem = 0;
	int j;

	/* Fewer jobs before giving up: each holds buffers of its own, and so may its transfer. */
	for (j = jobs < 1 ? 1 : jobs; j >= 1; j--) {
		mem = need_for(m, box, j, max_parallel, share);
		if (budget == 0 || mem <= budget)
			break;
	}
	if (need != NULL)
		*need = mem;
	return j;
}
