/* fetch.h - what every fetcher does around its transfer: settings, the record's life, the store, the stub */
#ifndef EM_FETCH_H
#define EM_FETCH_H

#include "core/limits.h"

#include <stdint.h>

#include <jansson.h>

#include "store/codec.h"
#include "meta/config.h"
#include "core/dtype.h"
#include "tool/options.h"
#include "net/http.h"
#include "formats/image.h"
#include "tool/display.h"
#include "tool/levels.h"
#include "tool/parallel.h"
#include "store/zarr.h"
#include "store/writer.h"

/*
 * One fetch of one volume.  The life of a fetcher:
 *
 *	em_fetch_begin(&f, "fetch-idr", "idr", 4, &opts);	settings, transport
 *	em_fetch_set_id(&f, "9846137");			record -> processing
 *	... ask the archive, set description, URLs ... in f.rec
 *	em_fetch_open_store(&f, shape, dtype, voxel, prov, NULL, &share);
 *							store, record -> saving-data
 *	em_fetch_put_planes(&f, z, 1, plane);		... for every plane
 *	status = em_fetch_done(&f);			stub on stdout
 *	(on any failure: status = em_fetch_fail(&f, "cannot decode 'x.tif'"))
 *	em_fetch_end(&f);
 *
 * Every step that changes the record writes it atomically beside the store
 * (<root>/<id>.json), so a crash at any point leaves an honest trace; a
 * later run of the same id resumes the store and starts a new run of the
 * record (em_record_start()).  Until the volume's data begins to arrive
 * (em_fetch_touch: its files are here to decode, or its store is opened)
 * the run changes nothing it cannot take back: a failure before that
 * leaves no record of a volume that had none (a mistyped URL or entry
 * makes no stray record), and leaves a complete volume complete, its
 * record only gaining last_attempt; a record on disk that is complete is
 * not rewritten before that point at all.
 *
 * The block fetchers go through tool/blockfetch.h, the file fetchers
 * through tool/filefetch.h.  Tools read the fields below (the record they
 * fill in through f->rec and record.h) but never write them: every
 * setting is resolved here, once.
 */
struct em_fetch {
	const char *tool;		/* "fetch-idr" (borrowed) */
	const char *source;		/* "idr" (borrowed) */
	const struct em_fetch_opts *opts;	/* the command line (borrowed) */
	struct em_config *cfg;		/* the configuration, for the tool's own keys */
	/* Settings: command line, then config, then built-in defaults. */
	char root[EM_FETCH_PATH_MAX];	/* directory of this source's stores and records */
	uint64_t chunks[3];
	struct em_codec codec;
	const char *codec_name;		/* as on the command line: "zstd" */
	int zarr_format;		/* the store's Zarr version, 2 or 3 */
	uint64_t shard[3];		/* Zarr v3 shard shape; 0: not sharded */
	int jobs;			/* compression threads: --jobs, else global.jobs */
	int max_parallel;		/* the archive's fair use (tool/parallel.h) */
	uint64_t max_memory;		/* 0: no limit */
	struct em_levels_conf levels;	/* --levels, --downsample (tool/levels.h) */
	struct em_http_opts http_opts;
	struct em_http *http;		/* for the tool's requests */
	/* Set by em_fetch_set_id(). */
	char id[129];
	char store[EM_FETCH_PATH_MAX];	/* <root>/<id>.zarr */
	char recpath[EM_FETCH_PATH_MAX];	/* <root>/<id>.json */
	json_t *rec;			/* the record; the tool sets its own fields here */
	/* Set by em_fetch_open_store(). */
	struct em_zarr *arr;
	struct em_zwriter *w;
	struct em_levels *lv;		/* the pyramid's levels above level 0 */
	uint64_t origin[3];		/* a crop's voxel 0 in its source (block fetchers set it) */
	struct em_progress progress;
	struct em_progress_display *display;
	/*
	 * The store's identity (store/manifest.h) and its one writer
	 * (store/lock.h, store/journal.h): em_fetch_set_id takes the lock,
	 * em_fetch_open_store compares the manifest.  With --overwrite and a
	 * store already there, the new one is built at <store>.new (build)
	 * and em_fetch_done swaps it in.
	 */
	struct em_store_lock *lock;
	json_t *manifest;		/* what this run writes from */
	struct em_journal *journal;
	char build[EM_FETCH_PATH_MAX];	/* where the chunks go: store, or <store>.new */
	int overwriting;		/* build is beside store until em_fetch_done swaps them */
	int no_validators, no_mtimes;	/* a source file without that evidence was noted */
	int refused;			/* the store is another's: this run changed nothing */
	/* The record's life (em_fetch_set_id, em_fetch_touch, em_fetch_fail). */
	json_t *prev;			/* the record as it was on disk, NULL if none */
	char started[40];		/* when this run began */
	int touched;			/* the volume's data has begun to arrive */
	int saved;			/* this run's record is on disk */
	int made_root;			/* this run made the directory root */
};

/*
 * Resolve the settings and make the transport.  max_parallel is the
 * tool's default for sources.<source>.max_parallel.  -1 (error text set)
 * on a bad config file or value; the tool reports it and exits 1.
 */
int em_fetch_begin(struct em_fetch *f, const char *tool, const char *source, int max_parallel,
    const struct em_fetch_opts *opts);
/*
 * Where a volume's record lives: <root>/<id>.json, or for part I of N of a
 * split run (--part) its part record <root>/<id>.part-I-of-N.json, which
 * em-meta --merge combines into the volume's (em-record(5)).
 */
int em_fetch_record_path(const char *root, const char *id, int part_index, int part_count,
    char *out, size_t n);
/* Transfers to run at once: em_transfers(f->jobs, f->max_parallel). */
int em_fetch_transfers(const struct em_fetch *f);
/*
 * Name the volume: the store and record paths, the store's lock taken (one
 * writer per store: another holder makes this fail naming it, or with
 * --wait waits for it), and the record loaded (or made) and moved to
 * processing with this tool's step in processing_pipeline.  The id must be
 * one safe path component of at most EM_ID_MAX characters (never cut).
 * Called again after em_fetch_done() or em_fetch_fail(), it starts the
 * next volume of the same run (the previous store is closed and unlocked).
 */
int em_fetch_set_id(struct em_fetch *f, const char *id);
/*
 * The volume's data begins to arrive: from here on a failure is the
 * volume's (its record becomes failed).  Writes the run's record if it is
 * not on disk yet.  em_fetch_open_store and em_fetch_image_ex call it; a
 * tool calls it itself where data arrives before either.  0, or -1 when
 * the record cannot be written.
 */
int em_fetch_touch(struct em_fetch *f);
/*
 * Evidence of the version of what the store is made from, for its manifest
 * (called before em_fetch_open_store, once per file of the record's
 * source_files, in their order, which name the files): its size, the ETag
 * or Last-Modified it came with (NULL: unknown) and, for a local file read
 * in place, its path (its modification time is the version).
 */
int em_fetch_note_file(struct em_fetch *f, uint64_t size, const char *validator,
    const char *local_path);
/* A fact naming the source beyond the record's (the remote array's metadata digest, ...); value stolen. */
int em_fetch_note_source(struct em_fetch *f, const char *key, json_t *value);
/*
 * Create (or reopen, to resume) the OME-Zarr store and its writer, and
 * move the record to saving-data with the store's layout.  The store's
 * manifest says what it was written from (the record's source and URLs,
 * the notes above, the write parameters); a store written from another
 * source, version or parameters is refused naming both, unless
 * --overwrite, which builds the new store beside it.  Resume trusts only
 * the chunks the store's journal names with their size (--verify: decoded
 * too).  voxel_nm is
 * z,y,x in nanometres with its provenance per axis ("file", "archive-api",
 * "config", or "unknown" for an axis nobody states), or NULL when none is
 * known.  An unknown axis is null in the record; the store's NGFF scale,
 * which needs a number, gets em_voxel_store_scale()'s placeholder there,
 * recorded as ngff_scale_nm and said in a warning.  box is the size of the
 * blocks the tool will put (NULL: whole planes).  share is the memory the
 * tool itself holds while feeding (a plane buffer, answers in flight; NULL:
 * none), so
 * that --max-memory covers the whole process: when the total does not fit,
 * fewer jobs are tried (em_fit_jobs: the transfers' share is recounted for
 * each), and if one job does not fit either this fails with the smallest
 * budget that would work.  f->jobs is then the jobs that fit.
 */
int em_fetch_open_store(struct em_fetch *f, const uint64_t shape[3], enum em_dtype dtype,
    const double *voxel_nm, const char *const *provenance, const uint64_t *box,
    const struct em_mem_share *share);
/*
 * 1 when every chunk of the store's array is whole by the rule a resumed
 * run uses (named in the store's journal with its size), 0 when one is
 * missing, cut short or foreign (a re-run writes it), -1 on error.
 * verify: a chunk must also decode.
 */
int em_fetch_store_whole(const char *store, int verify);
/* Feed the writer (see store/writer.h) and count progress; -1 when interrupted. */
int em_fetch_put_box(struct em_fetch *f, const uint64_t start[3], const uint64_t count[3],
    const void *data);
/*
 * 1 if every chunk of the box is already written (a resumed run skips it;
 * the box then counts as done in the progress), 0 if not, -1 on error.
 * Both calls count a chunk in the progress when its last voxel comes.
 */
int em_fetch_box_done(struct em_fetch *f, const uint64_t start[3], const uint64_t count[3]);
/*
 * Finish the store, save the record (still saving-data: em-meta completes
 * it) and print it on stdout as the stub.  Returns the exit status: 0, or
 * what em_fetch_fail() returns when finishing fails.
 */
int em_fetch_done(struct em_fetch *f);
/*
 * Report "what: reason" (reason = the current error text), move the record
 * to failed, or cancelled when a signal stopped the run, save it and print
 * it on stdout so the pipeline sees it.  Before the data began to arrive
 * (em_fetch_touch) the volume is not failed: a complete record stays
 * complete with last_attempt (saved and printed), and a volume without a
 * record gets none on disk (only the failed stub on stdout; a cancelled
 * run still leaves its cancelled record).  Returns the exit status: 1, or
 * 130/143 after SIGINT/SIGTERM.
 */
int em_fetch_fail(struct em_fetch *f, const char *what);
/* Free everything; the store's written chunks stay for a later run. */
void em_fetch_end(struct em_fetch *f);

/*
 * The source's facts from its config block into the record: description,
 * modality, license, citation (text and doi) and organism (under extra);
 * settings absent or null are left out.
 */
int em_fetch_describe(struct em_fetch *f);

/* What em_fetch_image_ex() may be told beyond the files.  Zero = none. */
struct em_fetch_image_opts {
	double z_spacing_nm;		/* a series' z step, provenance "config"; 0: unknown */
	/*
	 * Voxel size (z,y,x nm, > 0) for the axes the file does not state,
	 * with its provenance per axis ("archive-api", "config"): the file's
	 * own value always wins.  NULL: none.
	 */
	const double *fallback_nm;
	const char *const *fallback_prov;
	/* Shape (z,y,x) the archive states; a file that differs is refused naming both. */
	const uint64_t *expect_shape;
	const char *expect_from;	/* who states it, for that error: "imgData" */
	const struct em_img_opts *img;	/* reader choices (one file only); NULL: defaults */
};
/*
 * Decode local image files (DM3/DM4, MRC, TIFF, OME-TIFF: lib/formats/image.h) into
 * the store, one plane at a time: one file, or a series of 2-D files
 * stacked in the given order with o->z_spacing_nm between them (0:
 * unknown; its provenance is "config").  Opens the store
 * (em_fetch_open_store) with the file's shape, type and voxel size
 * (provenance "file"), records the file's own metadata under
 * source_metadata, and feeds every plane.  The caller then calls
 * em_fetch_done().  -1 with the reason naming the file.
 */
int em_fetch_image_ex(struct em_fetch *f, const char *const *paths, size_t n,
    const struct em_fetch_image_opts *o);

/* A string setting of this source: sources.<source>.<key>, or def (borrowed). */
const char *em_fetch_conf_str(struct em_fetch *f, const char *key, const char *def);

#endif
