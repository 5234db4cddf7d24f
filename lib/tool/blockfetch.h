/* blockfetch.h - the block fetchers' engine: a box of a remote array, block by block, into the store */
#ifndef EM_BLOCKFETCH_H
#define EM_BLOCKFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "net/http.h"
#include "tool/fetch.h"

/*
 * A box [b0, b1) of a source cut into blocks of a fixed size aligned at 0
 * (a Zarr array's chunks, or DVID requests), visited group by group (a
 * shard's blocks together, so its index is read once) in C order, and the
 * blocks of each group in C order.  Every voxel of the box is in exactly
 * one block's part.
 */
struct em_block {
	uint64_t idx[3];	/* the block's index in the source's grid of blocks */
	uint64_t lo[3];		/* its part inside the box: start, source coordinates */
	uint64_t n[3];		/* and size */
	uint64_t out[3];	/* where the part goes in the store: lo - b0 */
};

struct em_boxiter {
	uint64_t b0[3], b1[3], block[3], group[3];
	/* Where the walk is: groups g in [g_lo, g_hi), blocks c in [c_lo, c_hi). */
	uint64_t g_lo[3], g_hi[3], g[3], c_lo[3], c_hi[3], c[3];
	int started, finished;
};

/*
 * Start a walk over the box [b0, b1) (b0 < b1 on every axis) in blocks of
 * block voxels, group[i] blocks to a group along axis i (NULL: the whole
 * box is one group).
 */
void em_boxiter_init(struct em_boxiter *it, const uint64_t b0[3], const uint64_t b1[3],
    const uint64_t block[3], const uint64_t *group);
/* The next block in b: 1, or 0 at the end. */
int em_boxiter_next(struct em_boxiter *it, struct em_block *b);

/* decode()'s answer for a body cut or garbled on the way: it is asked for again. */
#define EM_BLOCKFETCH_AGAIN 2
/* request()'s answer for a block the source says is empty (a shard index's empty entry): fill. */
#define EM_BLOCKFETCH_EMPTY 3
/* request()'s answer for a block missing because the server refused access (HTTP 403). */
#define EM_BLOCKFETCH_DENIED 4

/* What the tool knows about its source; ctx is the tool's. */
struct em_blockfetch_ops {
	/*
	 * The request for block b: its URL (into url, n bytes), the byte range
	 * [off, off + len) (len 0: the whole body) and the most bytes the
	 * answer may have.  0; EM_HTTP_MISSING when the source has no such
	 * block (a shard that is not there: HTTP 404), EM_BLOCKFETCH_DENIED
	 * when the server refused it (403): both missing, filled without
	 * asking; EM_BLOCKFETCH_EMPTY when the source says the block is empty
	 * (filled, not missing); -1 on error.  url names the block in
	 * messages whenever it is set.
	 */
	int (*request)(void *ctx, const struct em_block *b, char *url, size_t n, uint64_t *off,
	    uint64_t *len, size_t *max);
	/*
	 * The voxels of block b from its answer: *data, laid out as the whole
	 * block when the engine's `whole` is set, else as the part b->n.  0;
	 * EM_BLOCKFETCH_AGAIN (error text set, naming the block) when the
	 * answer is cut or garbled, so that it is asked for again, up to the
	 * transport's attempts; -1 on error.
	 */
	int (*decode)(void *ctx, const struct em_block *b, const struct em_http_reply *rp,
	    const void **data);
	/*
	 * The voxels of a block the source does not have (its fill value), as
	 * decode() gives them.  NULL: a missing block (404) is an error.
	 */
	int (*fill)(void *ctx, const struct em_block *b, const void **data);
};

/* One box to fetch: the tool fills in the first part, the engine counts. */
struct em_blockfetch {
	const struct em_blockfetch_ops *ops;
	void *ctx;			/* given to every op */
	const char *url;		/* the source, for messages (borrowed) */
	uint64_t b0[3], b1[3];		/* the box, source coordinates; the store is b1 - b0 */
	uint64_t origin[3];		/* source coordinate 0 in the whole volume, when they are
					 * the box's own (DVID); the store's translation is
					 * origin + b0 voxels */
	uint64_t block[3];		/* the blocks (aligned at 0) */
	uint64_t group[3];		/* blocks per group on each axis; 0: one group */
	enum em_dtype dtype;
	int whole;			/* decode() gives whole blocks, not their parts */
	size_t max_body;		/* the most bytes of an answer, held per transfer */
	uint64_t own_bytes;		/* the tool's own buffers, for --max-memory */
	/*
	 * Every block of the box was missing (none fetched, none in the store
	 * already): 1 when the tool has changed where it looks (the other
	 * chunk key separator) so that the box is walked again, 0 when it has
	 * nothing else to try and the run fails.  NULL: the run fails.  Given ctx.
	 */
	int (*all_missing)(void *ctx);
	/*
	 * Counted by the run.  missing: blocks the server did not have (404,
	 * 410) or refused (403, also counted in denied), stored as the fill
	 * value; empty: blocks the source says are empty (not missing).
	 */
	uint64_t fetched, missing, denied, empty, skipped, retried;
	char first_missing[1024];	/* the URL of the first missing block (C order) */
};

/*
 * The whole of a block fetcher's transfer after em_fetch_set_id() and the
 * tool's record fields: open the store of the box's shape (voxel_nm and
 * provenance as em_fetch_open_store, the memory counted: the writer, the
 * engine's buffers, own_bytes, max_body for each transfer), then ask for
 * every block whose chunks are not all in the store already, at most
 * em_fetch_transfers() at a time (the transport backs off when the server
 * is busy), put each into the store, and finish it (em_fetch_done).
 *
 * Missing blocks (see ops) are counted into the record's missing_chunks
 * (with the count of earlier runs whose chunks this one keeps); a 403 is
 * warned of once and counted.  With --strict (f->opts->strict) any
 * missing block fails the run, naming how many and the first.  While no
 * block has been found, missing ones are not written: when the whole box
 * is missing the run fails (after ops->all_missing had its one chance),
 * with a hint, rather than store a volume of nothing but fill.
 * Returns the exit status (0, 1, or 130/143 after a signal); failures go
 * through em_fetch_fail.
 */
int em_blockfetch_run(struct em_fetch *f, struct em_blockfetch *bf, const double *voxel_nm,
    const char *const *provenance);

#endif
