/* writer.h - stream a volume into a Zarr v2 array: chunk assembly, a compression pool, atomic resumable writes */
#ifndef EM_WRITER_H
#define EM_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "store/journal.h"
#include "store/zarr.h"

/*
 * The writer takes data in either of two ways, not both:
 *  - planes: em_zwriter_put_planes() with consecutive runs of whole planes
 *    (all of dimension 1.. of the array) in increasing order of dimension
 *    0, as TIFF, DM3 and MRC readers produce them.  The planes are copied
 *    straight into the chunks of one chunk row (chunks[0] planes deep),
 *    which are queued when the row is complete.
 *  - boxes: em_zwriter_put_box() with any boxes (aligned or not, any
 *    order) that do not overlap, as DVID and Zarr sources produce them.  A
 *    chunk is kept until every voxel of it has arrived (counted, so an
 *    overlap is an error once a chunk gets more voxels than it holds).
 * Complete chunks go to a bounded queue, compressed and written by `jobs`
 * threads while the caller goes on; the caller blocks when the queue is
 * full.  The queue holds one chunk row plus 2 * jobs chunks by default, so
 * the caller fills the next row while the last one is compressed (planes
 * mode then holds two chunk rows); max_memory shrinks it, down to
 * em_zwriter_min_memory(), at the cost of that overlap.
 *
 * Each chunk is written to "<key>.tmp.<pid>.<n>" in its directory and
 * renamed into place, so a chunk file under its final name is whole.  With
 * resume (the default) a chunk already present is not written again, so
 * re-running an interrupted conversion finishes it and gives the same
 * bytes as an uninterrupted run (the codecs are deterministic).
 * Temporary files of dead writers on this host are removed when the writer
 * starts (see em_zarr_clean_tmp()).
 *
 * Chunks whose every voxel equals the fill value are written like any
 * other (as zarr-python 2.13 does by default), so "chunk missing" always
 * means "not written yet"; skip_fill leaves them out.
 */
struct em_zwriter_opts {
	int jobs;		/* compression/writing threads, >= 1 */
	int no_resume;		/* rewrite chunks already present */
	int verify;		/* resume: decode present chunks, rewrite those that fail */
	int skip_fill;		/* do not store chunks that are all fill value */
	int sync;		/* fsync each chunk file before renaming it */
	uint64_t max_pending;	/* boxes: bytes of incomplete chunks held at most (0: no limit) */
	uint64_t max_memory;	/* bound the queue (and max_pending if 0) to stay under this */
	unsigned throttle_ms;	/* testing: sleep this long before renaming each chunk */
	/*
	 * The store's chunk journal (store/journal.h; borrowed): every chunk
	 * written is added, and resume trusts only chunks it names with their
	 * size.  NULL: any regular file under a chunk's name counts as written.
	 */
	struct em_journal *journal;
	/*
	 * --part I/N (DESIGN.md section 6): part_count 0 is the whole array;
	 * else only the chunks of part part_index (1-based) of part_count are
	 * written, every other chunk given is dropped (see em_part_range).
	 */
	int part_index, part_count;
};

struct em_zwriter_stats {
	uint64_t chunks_written;	/* chunks written by this run (files, or into shards) */
	uint64_t shards_written;	/* shard files written by this run (sharded arrays) */
	uint64_t chunks_present;	/* skipped: already in the store (resume) */
	uint64_t chunks_fill;		/* not stored: all fill value (skip_fill) */
	uint64_t bytes_in;		/* decoded bytes of the chunks written */
	uint64_t bytes_out;		/* encoded bytes written */
	uint64_t peak_buffer;		/* most bytes of buffers the writer held at once */
};

struct em_zwriter;

/*
 * A writer for the open array a (borrowed; it must outlive the writer).
 * The array's metadata must exist already (em_zarr_create()).
 */
struct em_zwriter *em_zwriter_new(struct em_zarr *a, const struct em_zwriter_opts *o);
/*
 * Planes z0 .. z0+nz, C order, little-endian, packed.  z0 must be the
 * next plane expected (0 first).
 */
int em_zwriter_put_planes(struct em_zwriter *w, uint64_t z0, uint64_t nz, const void *data);
/* The box start[] + count[] (inside the array), C order, little-endian, packed. */
int em_zwriter_put_box(struct em_zwriter *w, const uint64_t *start, const uint64_t *count,
    const void *data);
/*
 * 1 if every chunk the box touches is already in the store (a resumed
 * fetcher can skip fetching it), 0 if not, -1 on error.
 */
int em_zwriter_box_done(struct em_zwriter *w, const uint64_t *start, const uint64_t *count);
/*
 * Wait for the queue to drain and check that the whole array arrived: 0,
 * or -1 naming the first failure (a chunk that could not be written, planes
 * or voxels that never came).  stats may be NULL.
 */
int em_zwriter_finish(struct em_zwriter *w, struct em_zwriter_stats *stats);
/* Stop the threads and free; chunks not yet written are dropped (a re-run resumes). */
void em_zwriter_free(struct em_zwriter *w);

/*
 * The least memory (bytes of buffers) a writer needs for this array and
 * jobs: planes mode when box is NULL (one chunk row, the queue and the
 * workers' buffers), else for boxes of that size fed in chunk-row order
 * (the chunks one row of boxes touches, plus the queue).  Add the caller's
 * own buffers.  Tools compare it with --max-memory before they start.
 */
uint64_t em_zwriter_min_memory(const struct em_zarr_meta *m, int jobs, const uint64_t *box);

/*
 * Parts of a split run (--part I/N).  The units are the chunks of an
 * unsharded array, the shards of a sharded one (a shard is never split
 * between parts), numbered in C order of their grid; part I of N owns the
 * units [floor((I-1)*U/N), floor(I*U/N)), so the N parts are disjoint and
 * cover the array, and a part may own none when N > U.
 */
uint64_t em_part_units(const struct em_zarr_meta *m);
void em_part_range(uint64_t units, int index, int count, uint64_t *lo, uint64_t *hi);
/* The unit (chunk or shard, linear index) that chunk cidx belongs to. */
uint64_t em_part_unit_of(const struct em_zarr_meta *m, const uint64_t *cidx);
/*
 * The planes [*z0, *z1) a part's units cover (whole chunk rows or shard
 * rows): a plane-order source reads only these.  *z0 == *z1 when the part
 * owns no unit.  The whole array for count 0.
 */
void em_part_planes(const struct em_zarr_meta *m, int index, int count, uint64_t *z0,
    uint64_t *z1);
/* Chunks (not shards) inside the part's units, for progress and records. */
uint64_t em_part_nchunks(const struct em_zarr_meta *m, int index, int count);

/*
 * Remove "*.tmp.<pid>.<n>" files under the array directory left by
 * writers that are no longer running on this host (all of them when
 * all_pids is set: only when no other writer can be working on the store,
 * e.g. after every part of a --part run has finished).  *removed counts them.
 */
int em_zarr_clean_tmp(const char *dir, int all_pids, uint64_t *removed);

#endif
