/* levels.h - a store's pyramid levels for the tools: the settings, levels written with level 0, levels built from the level below */
#ifndef EM_LEVELS_H
#define EM_LEVELS_H

#include <stdint.h>

#include <jansson.h>

#include "core/progress.h"
#include "meta/config.h"
#include "store/downsample.h"
#include "store/writer.h"
#include "store/zarr.h"

/* How many levels and how they are made. */
struct em_levels_conf {
	int levels;			/* 0: auto; N >= 1 (1: level 0 alone) */
	enum em_ds_method method;
	int method_given;		/* said on the command line */
};

/* "auto" -> 0, "N" -> N (1 .. EM_PYRAMID_MAX_LEVELS); -1 otherwise ("--levels 0" included). */
int em_levels_parse(const char *arg, int *levels);
/*
 * The settings: levels (-1: unset) and method (NULL: unset) from the
 * command line, then global.levels and global.downsample from cfg (may be
 * NULL), then auto and mean.
 */
int em_levels_conf_resolve(struct em_config *cfg, int levels, const char *method,
    struct em_levels_conf *c);

/*
 * The levels of a fetcher's store.  Planes (the file fetchers): the levels
 * are planned and created when the store opens and written from the same
 * planes as level 0 (store/pyramid.h).  Boxes (the block fetchers): level
 * 0 alone is written while the boxes arrive, and the levels are built from
 * it at the end (em_levels_build, as em-downsample does).  Either way the
 * group's multiscales list every level, and the crop's origin is a
 * translation.
 */
struct em_levels;

/* What a fetcher's levels start from. */
struct em_levels_store {
	const char *store;		/* the OME-Zarr group (borrowed) */
	struct em_zarr *arr0;		/* level 0, open (borrowed) */
	const char *name;		/* the multiscale's name: the volume id */
	const double *scale;		/* z,y,x of the store's NGFF scale (nm); NULL: unknown */
	const uint64_t *origin;		/* voxel 0 in the source's grid (a crop), z,y,x; NULL: 0 */
	int planes;			/* fed with planes (else boxes: levels built at the end) */
	int jobs;			/* compression threads of level 0 */
};

/*
 * Bytes the levels hold beside level 0's writer while planes arrive (0
 * for boxes: the levels come after level 0 is done), for --max-memory.
 */
uint64_t em_levels_memory(const struct em_levels_conf *c, const uint64_t shape[3],
    const double *scale, const uint64_t chunks[3], enum em_dtype dt, int jobs, int planes);
/*
 * Plan the levels, create their arrays (idempotent: a resumed run reopens
 * them) and write the group's attributes.  NULL (error set) on failure.
 */
struct em_levels *em_levels_open(const struct em_levels_conf *c, const struct em_levels_store *s);
/* Planes z0 .. z0+nz-1 of level 0, as given to its writer. */
int em_levels_put_planes(struct em_levels *lv, uint64_t z0, uint64_t nz, const void *data);
/*
 * Room for the next plane of level 0 that em_levels_put_planes takes
 * without copying (store/pyramid.h); NULL: use a buffer of your own.
 */
void *em_levels_plane_buffer(struct em_levels *lv);
/*
 * After level 0 is finished: finish (planes) or build (boxes) the levels,
 * with max_memory (0: none), and set the record's levels (rec may be
 * NULL).  -1 naming the failure.
 */
int em_levels_finish(struct em_levels *lv, uint64_t max_memory, json_t *rec);
void em_levels_free(struct em_levels *lv);

/* What em_levels_build() does and found. */
struct em_levels_build {
	struct em_levels_conf conf;
	int jobs;			/* threads: decoding the level below, compressing */
	uint64_t max_memory;		/* 0: no limit */
	struct em_progress *progress;	/* bytes and planes of the level below read; may be NULL */
	unsigned throttle_ms;		/* testing: a pause before each chunk is renamed */
	/*
	 * level > 0: build that level alone (1 .. the plan's levels - 1), from
	 * the level below, which the group must list.  part_count > 0 (with
	 * level): only part part_index of part_count of its units (store/writer.h).
	 */
	int level;
	int part_index, part_count;
	int plan_only;			/* set had and levels (the plan's), build nothing */
	/* Set by the build. */
	int had;			/* levels the group listed */
	int levels;			/* levels it lists now */
	enum em_ds_method method;	/* the method the new levels were made with */
	uint64_t chunks_written;
	uint64_t chunks_present;	/* a part's chunks found written already */
	uint64_t part_chunks;		/* chunks in the part's units */
	uint64_t units[3];		/* a part's units [0], [1] of [2] */
	int parts_done;			/* parts of part_count with their part record */
	int listed_already;		/* b->level was listed already: nothing done */
	int listed;			/* this build listed new levels in the group */
	uint64_t memory;		/* bytes of buffers planned */
};

/*
 * Build the levels an OME-Zarr group (ours, or one written by anyone)
 * lacks, each from the level below: the last level the group lists is read
 * slab by slab and fed to the levels above it (store/pyramid.h), with
 * memory bounded by max_memory (fewer threads first; refused, naming the
 * least that works, when even one does not fit).  New levels take level
 * 0's chunks (cut to the level's shape), compressor and fill value; their
 * chunks are written atomically, so a run killed at any point is finished
 * by the next one, byte for byte.  The group's multiscales gain the new
 * datasets (scale exact, translation per the method: store/ngff.h) only
 * once every level is complete.  Levels the group lists already must be
 * the ones the plan gives (shape, scale and type), else nothing is
 * written and the error says which disagrees.  A store's own method (the
 * multiscale's type) is used unless conf.method_given.
 *
 * With b->level and b->part_count (--part I/N --level K): part I of level
 * K's units (chunks, or shards), made from just the box of level K-1 under
 * them (store/pyramid.h's em_pyramid_box), every chunk of which must be
 * stored (a part never reads a level still being written: refused,
 * nothing written, naming the first chunk missing).  The part holds the
 * store's part lock (store/lock.h), journals its chunks in
 * "<level>.chunks.<I-1>" (store/journal.h) and, when done, writes its
 * part record "<level>.part-I-of-N.json" in the group: {"tool",
 * "version", "level", "path", "downsample", "part": {"index", "count"},
 * "units": [first, end, of], "chunks", "chunks_written", "status":
 * "complete"}; a part whose method is not that of a record there is
 * refused.  The part that finds every part record of N there lists
 * the level in the group's multiscales, as a whole run does (parts that
 * finish together write the same bytes); so a level is listed only once
 * it is whole, and level K+1 is refused until then.  A level listed
 * already is left as it is (0, nothing written).
 */
int em_levels_build(const char *store, struct em_levels_build *b);

/*
 * 1 if the store already has the levels c asks for (as many, made by c's
 * method), 0 if not (a fetcher then does its work again, to make them).
 */
int em_levels_match(const struct em_levels_conf *c, const char *store);

/*
 * The levels of a store as its record lists them: [{path, shape, chunks,
 * voxel_size_nm (when the axes have length units), translation_nm (when
 * given)}], level 0 first.  New reference; NULL (error set) when the store
 * has no readable multiscales.
 */
json_t *em_levels_describe(const char *store);

#endif
