/* main.c - em-meta: read fetchers' stubs, checksum and measure each store, write the complete record */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/codec.h"
#include "core/diag.h"
#include "meta/digestarray.h"
#include "meta/parts.h"
#include "core/fsutil.h"
#include "core/ident.h"
#include "core/interrupt.h"
#include "core/jsonio.h"
#include "core/parse.h"
#include "core/limits.h"
#include "meta/record.h"
#include "meta/window.h"
#include "store/ngff.h"
#include "tool/display.h"
#include "tool/levels.h"
#include "tool/tool.h"
#include "core/version.h"
#include "store/zarr.h"
#include "core/banned.h"

/* A stub is one record: the record's own limit bounds it. */
#define STUB_MAX_BYTES EM_RECORD_MAX_BYTES

struct opts {
	int jobs;
	uint64_t max_memory;
	int allow_missing;
	int merge;
	const char *progress_file;	/* --progress-file FILE: the hashing's progress; NULL none */
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: em-meta [-j N] [--max-memory SIZE] [--allow-missing] [--merge]\n"
	    "       [--progress-file FILE] [-q] [-v] [FILE ...]\n");
	exit(status);
}

static int
iter_next(void *ctx, const void **data, size_t *len)
{
	uint64_t z0, nz;

	return em_zarr_iter_next(ctx, data, len, &z0, &nz);
}

/* Level 0's slabs, counted for --progress-file: bytes read, and chunks whose last plane came. */
struct counted {
	struct em_zarr_iter *it;
	struct em_progress *p;
	uint64_t depth, cz, row;	/* planes, chunk depth, chunks in a row */
};

static int
counted_next(void *ctx, const void **data, size_t *len)
{
	struct counted *c = ctx;
	uint64_t z0, nz, rows;
	int r = em_zarr_iter_next(c->it, data, len, &z0, &nz);

	if (r == 1) {
		rows = (z0 + nz) / c->cz - z0 / c->cz;
		if (z0 + nz == c->depth && c->depth % c->cz != 0)
			rows++;
		em_progress_add_bytes(c->p, *len);
		em_progress_add_items(c->p, rows * c->row);
	}
	return r;
}

/* The record's name for a codec, as the schema and the fetchers' --compressor know it. */
static const char *
codec_name(const struct em_codec *c)
{
	switch (c->id) {
	case EM_CODEC_RAW: return "raw";
	case EM_CODEC_ZLIB: return "zlib";
	case EM_CODEC_GZIP: return "gzip";
	case EM_CODEC_ZSTD: return "zstd";
	case EM_CODEC_BLOSC:
		if (strcmp(c->cname, "lz4") == 0)
			return "blosc-lz4";
		if (strcmp(c->cname, "zstd") == 0)
			return "blosc-zstd";
		return NULL;
	default:
		return NULL;
	}
}

static double
fill_number(const struct em_zarr_meta *m)
{
	const unsigned char *f = m->fill;

	switch (m->dtype) {
	case EM_DT_U1: return f[0];
	case EM_DT_I1: return (signed char)f[0];
	case EM_DT_U2: { uint16_t v; memcpy(&v, f, 2); return v; }
	case EM_DT_I2: { int16_t v; memcpy(&v, f, 2); return v; }
	case EM_DT_U4: { uint32_t v; memcpy(&v, f, 4); return v; }
	case EM_DT_I4: { int32_t v; memcpy(&v, f, 4); return v; }
	case EM_DT_U8: { uint64_t v; memcpy(&v, f, 8); return (double)v; }
	case EM_DT_I8: { int64_t v; memcpy(&v, f, 8); return (double)v; }
	case EM_DT_F4: { float v; memcpy(&v, f, 4); return v; }
	case EM_DT_F8: { double v; memcpy(&v, f, 8); return v; }
	case EM_DT_F2: { uint16_t v; memcpy(&v, f, 2); return em_half_to_float(v); }
	default: return 0;
	}
}

/* SHA-256 of one level's array in C order (no statistics: the record keeps level 0's). */
static int
digest_level(const char *store, const char *path, const struct opts *o, char sha[65])
{
	struct em_zarr *a = NULL;
	struct em_zarr_iter *it = NULL;
	struct em_slab_iter src;
	size_t n = strlen(store) + strlen(path) + 2;
	char *dir = malloc(n);
	int threads = o->jobs, rc = -1;

	if (dir == NULL)
		return em_fail("out of memory");
	snprintf(dir, n, "%s/%s", store, path);
	if ((a = em_zarr_open(dir)) == NULL)
		goto out;
	while (o->max_memory && threads > 0 &&
	    em_zarr_iter_memory(em_zarr_meta(a), threads) > o->max_memory)
		threads--;
	if ((it = em_zarr_iter_new(a, threads)) == NULL)
		goto out;
	src.next = iter_next;
	src.ctx = it;
	src.dtype = em_zarr_meta(a)->dtype;
	src.fill_value = fill_number(em_zarr_meta(a));
	src.keeps_one = 1;
	if (em_digest_array(&src, sha, NULL) < 0)
		goto out;
	if (em_zarr_iter_missing(it) > 0 && !o->allow_missing) {
		em_fail("level '%s' is incomplete: %llu of %llu chunks are missing", path,
		    (unsigned long long)em_zarr_iter_missing(it),
		    (unsigned long long)em_zarr_nchunks(em_zarr_meta(a)));
		goto out;
	}
	rc = 0;
out:
	em_zarr_iter_free(it);
	em_zarr_close(a);
	free(dir);
	return rc;
}

/*
 * The record's levels, each with its sha256 (level 0's is the record's),
 * when the store is an OME-Zarr group; nothing for a bare array.
 */
static int
measure_levels(json_t *rec, const char *store, const char *sha0, const struct opts *o)
{
	json_t *levels, *attrs;
	char sha[65];
	int zf;
	size_t i;

	/* A 2-D image (axes y, x) has level 0 only: the record's levels describe z, y, x volumes. */
	if ((attrs = em_ngff_load_attrs(store, &zf)) == NULL ||
	    em_ngff_multiscales(attrs) == NULL ||
	    json_array_size(json_object_get(json_array_get(em_ngff_multiscales(attrs), 0),
	    "axes")) != 3) {
		json_decref(attrs);
		json_object_del(rec, "levels");
		return 0;
	}
	json_decref(attrs);
	if ((levels = em_levels_describe(store)) == NULL)
		return -1;
	for (i = 0; i < json_array_size(levels); i++) {
		json_t *l = json_array_get(levels, i);

		if (i == 0) {
			json_object_set_new(l, "sha256", json_string(sha0));
			continue;
		}
		if (digest_level(store, json_string_value(json_object_get(l, "path")), o, sha) < 0) {
			json_decref(levels);
			return -1;
		}
		json_object_set_new(l, "sha256", json_string(sha));
	}
	return em_record_set(rec, "levels", levels);
}

/*
 * The display window a viewer opens with (the 0.5 and 99.5 percentiles),
 * into the group's omero block; a bare array has no group to hold it.
 */
static int
write_window(const char *store, const char *label, const json_t *stats, enum em_dtype dt)
{
	json_t *attrs;
	double win[4];
	int zf, rc;

	if (em_stats_window(stats, !em_dtype_is_float(dt), 0.5, 99.5, win) < 0)
		return 0;	/* no finite value: nothing to show */
	if ((attrs = em_ngff_load_attrs(store, &zf)) == NULL ||
	    em_ngff_multiscales(attrs) == NULL) {
		json_decref(attrs);
		return 0;
	}
	rc = em_ngff_set_omero(attrs, em_ngff_omero(label, win[0], win[1], win[2], win[3]));
	if (rc == 0)
		rc = em_ngff_save_attrs(store, zf, attrs);
	json_decref(attrs);
	return rc;
}

/*
 * Checksum and measure the store, and set the computed fields.  -1 with the
 * reason set when the store is missing, incomplete, truncated or corrupt.
 */
static int
measure(json_t *rec, const char *store, const struct opts *o)
{
	struct em_zarr *a = NULL;
	struct em_zarr_iter *it = NULL;
	const struct em_zarr_meta *m;
	struct em_slab_iter src;
	struct em_progress prog;
	struct em_progress_display *disp = NULL;
	struct counted cnt;
	json_t *stats = NULL, *shape, *comp;
	char sha[65], buf[64];
	unsigned long long du;
	uint64_t missing, mem, shape3[3], chunks3[3], shard3[3];
	int threads = o->jobs, rc = -1, i;
	const char *cname;

	em_progress_init(&prog);
	/* Only the file: em-meta draws no line (em-ingest(1) reads the file). */
	disp = em_progress_display_open(&prog, EM_PROGRESS_OFF, "chunks", o->progress_file);
	a = em_zarr_open(store);
	if (a == NULL)
		goto out;
	m = em_zarr_meta(a);
	/* A 2-D image is one plane: z = 1, with the same bytes in the same order. */
	if (m->ndim == 3) {
		memcpy(shape3, m->shape, sizeof(shape3));
		memcpy(chunks3, m->chunks, sizeof(chunks3));
		memcpy(shard3, m->shard, sizeof(shard3));
	} else if (m->ndim == 2) {
		shape3[0] = chunks3[0] = shard3[0] = 1;
		memcpy(shape3 + 1, m->shape, 2 * sizeof(*shape3));
		memcpy(chunks3 + 1, m->chunks, 2 * sizeof(*chunks3));
		memcpy(shard3 + 1, m->shard, 2 * sizeof(*shard3));
	} else {
		em_fail("the array has %d dimensions: a volume has z, y, x (or y, x)", m->ndim);
		goto out;
	}
	/* Fewer decoding threads when the budget is tight; none at all is the floor. */
	while (o->max_memory && threads > 0 && em_zarr_iter_memory(m, threads) > o->max_memory)
		threads--;
	mem = em_zarr_iter_memory(m, threads);
	if (o->max_memory && mem > o->max_memory) {
		em_fail("needs %s of memory for one row of chunks, more than --max-memory allows",
		    em_format_size(em_zarr_iter_memory(m, 0), buf, sizeof(buf)));
		goto out;
	}
	shape = json_object_get(rec, "volume_shape");
	if (json_is_array(shape)) {
		for (i = 0; i < 3; i++)
			if ((uint64_t)json_integer_value(json_array_get(shape, (size_t)i)) !=
			    shape3[i]) {
				em_fail("the store's shape %llu,%llu,%llu differs from the "
				    "record's volume_shape",
				    (unsigned long long)shape3[0], (unsigned long long)shape3[1],
				    (unsigned long long)shape3[2]);
				goto out;
			}
	}
	it = em_zarr_iter_new(a, threads);
	if (it == NULL)
		goto out;
	em_progress_add_bytes_total(&prog, em_zarr_nbytes(a));
	em_progress_add_items_total(&prog, em_zarr_nchunks(m));
	cnt.it = it;
	cnt.p = &prog;
	cnt.depth = shape3[0];
	cnt.cz = chunks3[0];
	cnt.row = em_zarr_nchunks(m) / ((shape3[0] + chunks3[0] - 1) / chunks3[0]);
	src.next = counted_next;
	src.ctx = &cnt;
	src.dtype = m->dtype;
	src.fill_value = fill_number(m);
	src.keeps_one = 1;	/* the iterator gathers into two buffers in turn */
	if (em_digest_array(&src, sha, &stats) < 0)
		goto out;
	missing = em_zarr_iter_missing(it);
	if (missing > 0 && !o->allow_missing) {
		em_fail("the store is incomplete: %llu of %llu chunks are missing",
		    (unsigned long long)missing, (unsigned long long)em_zarr_nchunks(m));
		goto out;
	}
	/* The store's attributes change first: its size on disk counts them. */
	if (write_window(store, json_string_value(json_object_get(rec, "id")), stats,
	    m->dtype) < 0 || measure_levels(rec, store, sha, o) < 0)
		goto out;
	if (em_du(store, &du) < 0)
		goto out;
	if (!em_zarr_sharded(m))
		json_object_del(rec, "shard_size");
	json_object_set_new(stats, "fill_value", json_real(src.fill_value));
	cname = codec_name(&m->codec);
	comp = cname == NULL ? NULL : json_pack("{s:s}", "codec", cname);
	if (comp != NULL && m->codec.id != EM_CODEC_RAW)
		json_object_set_new(comp, "level", json_integer(m->codec.level));
	if (em_record_set_str(rec, "sha256", sha) < 0 ||
	    em_record_set(rec, "file_size_bytes", json_integer((json_int_t)du)) < 0 ||
	    em_record_set_zyx(rec, "volume_shape", shape3) < 0 ||
	    em_record_set_zyx(rec, "chunk_size", chunks3) < 0 ||
	    em_record_set_str(rec, "data_type", em_dtype_name(m->dtype)) < 0 ||
	    em_record_set(rec, "axes", json_pack("[sss]", "z", "y", "x")) < 0 ||
	    em_record_set(rec, "zarr_format", json_integer(m->zarr_format == 3 ? 3 : 2)) < 0 ||
	    (em_zarr_sharded(m) && em_record_set_zyx(rec, "shard_size", shard3) < 0) ||
	    (comp != NULL && em_record_set(rec, "compression", comp) < 0) ||
	    em_record_set(rec, "statistics", stats) < 0) {
		stats = NULL;
		goto out;
	}
	stats = NULL;
	rc = 0;
out:
	em_progress_display_end(disp, rc == 0 ? "done" : em_interrupted() ? "cancelled" :
	    "failed");
	json_decref(stats);
	em_zarr_iter_free(it);
	em_zarr_close(a);
	return rc;
}

/*
 * <directory of the store>/<id>.json: the record lives beside its store;
 * part I of N of a split run's record is <id>.part-I-of-N.json there.
 */
static int
record_path_part(const char *store, const char *id, int index, int count, char *out, size_t n);

static int
record_path(const char *store, const char *id, char *out, size_t n)
{
	return record_path_part(store, id, 0, 0, out, n);
}

static int
record_path_part(const char *store, const char *id, int index, int count, char *out, size_t n)
{
	char *copy = strdup(store), *dir;
	int k;

	if (copy == NULL)
		return em_fail("out of memory");
	/* "data/x/1.zarr/" names the same store as "data/x/1.zarr". */
	k = (int)strlen(copy);
	while (k > 1 && copy[k - 1] == '/')
		copy[--k] = '\0';
	dir = dirname(copy);
	k = count > 0 ? snprintf(out, n, "%s/%s.part-%d-of-%d.json", dir, id, index, count) :
	    snprintf(out, n, "%s/%s.json", dir, id);
	free(copy);
	if (k < 0 || (size_t)k >= n)
		return em_fail("path too long");
	return 0;
}

/* The part's index and count from a record's "part", 0 or -1 with the reason. */
static int
part_of(const json_t *rec, int *index, int *count)
{
	const json_t *p = json_object_get(rec, "part");
	json_int_t i = json_integer_value(json_object_get(p, "index"));
	json_int_t c = json_integer_value(json_object_get(p, "count"));

	if (!json_is_integer(json_object_get(p, "index")) ||
	    !json_is_integer(json_object_get(p, "count")) || c < 1 || c > 100000 || i < 1 ||
	    i > c)
		return em_fail("its \"part\" is not {\"index\": I, \"count\": N} with "
		    "1 <= I <= N <= 100000");
	*index = (int)i;
	*count = (int)c;
	return 0;
}

/* Save the record at path and print it on stdout: failed, or 1 when either fails. */
static int
save_and_print(json_t *stub, const char *path, int failed)
{
	if (em_record_save(stub, path) < 0) {
		em_err("cannot write record '%s': %s", path, em_errmsg());
		failed = 1;
	}
	if (em_json_write_line(stdout, stub) < 0 || fflush(stdout) == EOF) {
		em_err("cannot write 'stdout': %s", em_errmsg());
		return 1;
	}
	return failed;
}

/*
 * A part's stub (--part I/N): statistics over the part's own chunks only,
 * into the part record <id>.part-I-of-N.json, complete when every chunk of
 * the part is in the store.  0 complete, 1 failed.
 */
static int
enrich_part(json_t *stub, const char *where, const char *store, enum em_status st)
{
	const char *id = json_string_value(json_object_get(stub, "id"));
	const char *source = json_string_value(json_object_get(stub, "source"));
	uint64_t units[2], total, written;
	json_t *stats = NULL, *p;
	char path[4096], reason[1100];
	int index = 0, count = 0, failed = 0;

	if (part_of(stub, &index, &count) < 0) {
		em_err("cannot enrich '%s': %s", where, em_errmsg());
		return 1;
	}
	if (st == EM_STATUS_FAILED || st == EM_STATUS_CANCELLED)
		return em_json_write_line(stdout, stub) < 0 ? 1 : 0;
	if (store == NULL || record_path_part(store, id, index, count, path, sizeof(path)) < 0) {
		em_err("cannot enrich '%s': %s", where, store == NULL ?
		    "the part record has no internal_zarr_path" : em_errmsg());
		return 1;
	}
	if (st != EM_STATUS_SAVING_DATA && st != EM_STATUS_COMPLETE) {
		em_fail("record is '%s': the fetcher did not finish writing its part",
		    em_status_name(st));
		failed = 1;
	} else if (em_part_measure(store, index, count, units, &total, &written, &stats) < 0) {
		em_fail_ctx("cannot read store '%s'", store);
		failed = 1;
	} else if (written < total) {
		em_fail("part %d of %d is incomplete: %llu of its %llu chunks are missing", index,
		    count, (unsigned long long)(total - written), (unsigned long long)total);
		failed = 1;
	}
	p = json_object_get(stub, "part");
	if (stats != NULL) {
		json_object_set_new(p, "units", json_pack("[I,I]", (json_int_t)units[0],
		    (json_int_t)units[1]));
		json_object_set_new(p, "chunks_total", json_integer((json_int_t)total));
		json_object_set_new(p, "chunks_written", json_integer((json_int_t)written));
		json_object_set_new(p, "statistics", stats);
	}
	if (failed) {
		snprintf(reason, sizeof(reason), "%s", em_errmsg());
		em_err("%s/%s part %d of %d: %s", source, id, index, count, reason);
		if (st == EM_STATUS_COMPLETE &&
		    em_record_set_status(stub, EM_STATUS_PROCESSING, NULL) < 0) {
			em_err("cannot mark %s/%s part %d failed: %s", source, id, index, em_errmsg());
			return 1;
		}
		if (em_record_set_status(stub, em_interrupted() ? EM_STATUS_CANCELLED :
		    EM_STATUS_FAILED, reason) < 0) {
			em_err("cannot mark %s/%s part %d failed: %s", source, id, index, em_errmsg());
			return 1;
		}
	} else if (em_record_add_step(stub, "em-meta", EM_VERSION, json_pack("{s:i, s:s}",
	    "jobs", 1, "part", "statistics of the part's chunks")) < 0 ||
	    (st != EM_STATUS_COMPLETE && em_record_set_status(stub, EM_STATUS_COMPLETE,
	    NULL) < 0)) {
		em_err("cannot complete %s/%s part %d: %s", source, id, index, em_errmsg());
		return 1;
	}
	return save_and_print(stub, path, failed);
}

/*
 * Enrich one stub.  Returns 0 when the record is complete (or was passed
 * through unchanged), 1 when it failed; the record is printed either way
 * when it can be.
 */
static int
enrich(json_t *stub, const char *where, const struct opts *o)
{
	const char *id, *source, *store;
	enum em_status st;
	char path[4096];
	int failed = 0;

	id = json_string_value(json_object_get(stub, "id"));
	source = json_string_value(json_object_get(stub, "source"));
	store = json_string_value(json_object_get(stub, "internal_zarr_path"));
	if (!json_is_object(stub) || id == NULL || source == NULL ||
	    !em_id_ok(id) || em_record_status(stub, &st) < 0) {
		em_err("cannot enrich '%s': not a record stub (an object with a valid id, "
		    "source and status)", where);
		return 1;
	}
	if (st == EM_STATUS_FAILED || st == EM_STATUS_CANCELLED) {
		/* The fetcher's own outcome: pass it on for the catalog. */
		em_log(EM_LOG_INFO, "'%s': record %s/%s is %s, passed on unchanged", where, source,
		    id, em_status_name(st));
		return em_json_write_line(stdout, stub) < 0 ? 1 : 0;
	}
	if (store == NULL) {
		em_err("cannot enrich '%s': record %s/%s has no internal_zarr_path", where, source,
		    id);
		return 1;
	}
	if (json_object_get(stub, "part") != NULL)
		return enrich_part(stub, where, store, st);
	if (record_path(store, id, path, sizeof(path)) < 0) {
		em_err("cannot enrich '%s': %s", where, em_errmsg());
		return 1;
	}
	if (st != EM_STATUS_SAVING_DATA && st != EM_STATUS_COMPLETE) {
		em_fail("record is '%s': the fetcher did not finish writing the store",
		    em_status_name(st));
		failed = 1;
	} else if (measure(stub, store, o) < 0) {
		em_fail_ctx("cannot read store '%s'", store);
		failed = 1;
	}
	if (failed) {
		char reason[1024];

		snprintf(reason, sizeof(reason), "%s", em_errmsg());
		em_err("%s/%s: %s", source, id, reason);
		if (st == EM_STATUS_COMPLETE && em_interrupted())
			return 1;	/* stopped, not found wrong: the record stays as it was */
		if (st == EM_STATUS_COMPLETE) {
			/*
			 * The store no longer holds what its complete record says (a
			 * chunk cut short, removed or garbled): the record may not go
			 * on saying complete.  The complete run goes to previous_runs
			 * and the volume is failed until the fetcher, run again,
			 * rewrites what is damaged.
			 */
			char why[1200];

			snprintf(why, sizeof(why), "the store no longer holds the complete volume (%s); "
			    "run the fetcher again to repair it", reason);
			if (em_record_set_status(stub, EM_STATUS_PROCESSING, NULL) < 0 ||
			    em_record_set_status(stub, EM_STATUS_FAILED, why) < 0) {
				em_err("cannot mark %s/%s failed: %s", source, id, em_errmsg());
				return 1;
			}
			em_err("%s/%s was complete; its record now says failed: re-run the fetcher "
			    "to repair the store", source, id);
		} else if (em_record_set_status(stub, em_interrupted() ?
		    EM_STATUS_CANCELLED : EM_STATUS_FAILED, reason) < 0) {
			em_err("cannot mark %s/%s failed: %s", source, id, em_errmsg());
			return 1;
		}
	} else {
		if (em_record_add_step(stub, "em-meta", EM_VERSION, json_pack("{s:i}", "jobs",
		    o->jobs)) < 0 ||
		    (st != EM_STATUS_COMPLETE &&
		    em_record_set_status(stub, EM_STATUS_COMPLETE, NULL) < 0) ||
		    em_record_update_quality(stub) < 0) {
			em_err("cannot complete %s/%s: %s", source, id, em_errmsg());
			return 1;
		}
	}
	return save_and_print(stub, path, failed);
}

/* em-meta --merge: the part records of one volume, read as they come. */
struct merge {
	json_t *rec;			/* the first part's record: the volume record to be */
	const char *id, *source, *store;	/* borrowed from rec */
	int count;
	unsigned char *seen;		/* per part: 0 not given, 1 complete, 2 not complete */
	struct em_part_stats *stats;
	struct em_zarr *arr;
	char why[1024];			/* the first part's reason for not being complete */
	int why_index;
};

/* One part record into the merge: 0, or -1 when it is not a part of the same volume. */
static int
merge_add(struct merge *mg, json_t *rec, const char *where)
{
	enum em_status st;
	const char *e;
	int index, count;

	if (!json_is_object(rec) || em_record_status(rec, &st) < 0 ||
	    json_object_get(rec, "part") == NULL)
		return em_fail("'%s' is not a part record (a record with \"part\")", where);
	if (part_of(rec, &index, &count) < 0)
		return em_fail_ctx("'%s'", where);
	if (mg->rec == NULL) {
		if ((mg->rec = json_deep_copy(rec)) == NULL ||
		    (mg->seen = calloc((size_t)count + 1, 1)) == NULL)
			return em_fail("out of memory");
		mg->id = json_string_value(json_object_get(mg->rec, "id"));
		mg->source = json_string_value(json_object_get(mg->rec, "source"));
		mg->store = json_string_value(json_object_get(mg->rec, "internal_zarr_path"));
		mg->count = count;
		if (mg->id == NULL || mg->source == NULL || mg->store == NULL)
			return em_fail("'%s' names no id, source or internal_zarr_path", where);
		if ((mg->arr = em_zarr_open(mg->store)) == NULL)
			return em_fail_ctx("cannot open store '%s'", mg->store);
		mg->stats = em_part_stats_new(em_zarr_meta(mg->arr)->dtype,
		    fill_number(em_zarr_meta(mg->arr)));
		if (mg->stats == NULL)
			return -1;
	}
	if (count != mg->count ||
	    !json_equal(json_object_get(rec, "id"), json_object_get(mg->rec, "id")) ||
	    !json_equal(json_object_get(rec, "source"), json_object_get(mg->rec, "source")) ||
	    !json_equal(json_object_get(rec, "internal_zarr_path"),
	    json_object_get(mg->rec, "internal_zarr_path")))
		return em_fail("'%s' is part %d of %d of %s/%s, not a part of %d of %s/%s", where,
		    index, count, json_string_value(json_object_get(rec, "source")),
		    json_string_value(json_object_get(rec, "id")), mg->count, mg->source, mg->id);
	if (mg->seen[index] != 0)
		return em_fail("'%s': part %d of %d is given twice", where, index, count);
	mg->seen[index] = 2;
	if (st != EM_STATUS_COMPLETE) {
		e = json_string_value(json_object_get(rec, "error"));
		if (mg->why_index == 0) {
			mg->why_index = index;
			snprintf(mg->why, sizeof(mg->why), "%s", e != NULL ? e : em_status_name(st));
		}
		return 0;
	}
	if (em_part_stats_merge(mg->stats, json_object_get(json_object_get(rec, "part"),
	    "statistics")) < 0) {
		if (mg->why_index == 0) {
			mg->why_index = index;
			snprintf(mg->why, sizeof(mg->why), "%s", em_errmsg());
		}
		return 0;
	}
	mg->seen[index] = 1;
	return 0;
}

/* "1, 4-6, 9": the parts whose seen[] is want, at most about len characters. */
static void
part_list(const struct merge *mg, int want, char *buf, size_t len)
{
	size_t used = 0;
	int i, j;

	buf[0] = '\0';
	for (i = 1; i <= mg->count; i++) {
		if (mg->seen[i] != want)
			continue;
		for (j = i; j < mg->count && mg->seen[j + 1] == want; j++)
			;
		if (used + 32 >= len) {
			snprintf(buf + used, len - used, ", ...");
			return;
		}
		used += (size_t)snprintf(buf + used, len - used, i == j ? "%s%d" : "%s%d-%d",
		    used ? ", " : "", i, j);
		i = j;
	}
}

/* The volume record from its parts: complete only with every part complete; 0, or 1. */
static int
merge_finish(struct merge *mg, const struct opts *o)
{
	char path[4096], missing[512], bad[512], reason[2400];
	const struct em_zarr_meta *m;
	int i, nmiss = 0, nbad = 0, failed = 0;

	for (i = 1; i <= mg->count; i++) {
		nmiss += mg->seen[i] == 0;
		nbad += mg->seen[i] == 2;
	}
	part_list(mg, 0, missing, sizeof(missing));
	part_list(mg, 2, bad, sizeof(bad));
	json_object_del(mg->rec, "part");
	json_object_set_new(mg->rec, "parts", json_pack("{s:i}", "count", mg->count));
	if (record_path(mg->store, mg->id, path, sizeof(path)) < 0) {
		em_err("cannot merge %s/%s: %s", mg->source, mg->id, em_errmsg());
		return 1;
	}
	reason[0] = '\0';
	if (nmiss > 0 || nbad > 0) {
		char m1[600] = "", m2[1800] = "";

		if (nmiss)
			snprintf(m1, sizeof(m1), "missing part%s %s of %d", nmiss > 1 ? "s" : "",
			    missing, mg->count);
		if (nbad)
			snprintf(m2, sizeof(m2), "failed part%s %s of %d (part %d: %s)",
			    nbad > 1 ? "s" : "", bad, mg->count, mg->why_index, mg->why);
		snprintf(reason, sizeof(reason), "%s%s%s", m1, nmiss && nbad ? "; " : "", m2);
		failed = 1;
	} else if (measure(mg->rec, mg->store, o) < 0) {
		snprintf(reason, sizeof(reason), "cannot read store '%s': %s", mg->store,
		    em_errmsg());
		failed = 1;
	} else if (em_part_stats_check(mg->stats, json_object_get(mg->rec, "statistics")) < 0) {
		snprintf(reason, sizeof(reason), "the parts' statistics do not add up to the store's "
		    "(a part record of another run?): %s", em_errmsg());
		failed = 1;
	}
	m = em_zarr_meta(mg->arr);
	if (failed) {
		em_err("%s/%s: %s", mg->source, mg->id, reason);
		json_object_del(mg->rec, "sha256");
		json_object_del(mg->rec, "statistics");
		json_object_del(mg->rec, "file_size_bytes");
		(void)em_record_set_status(mg->rec, EM_STATUS_PROCESSING, NULL);
		if (em_record_set_status(mg->rec, EM_STATUS_FAILED, reason) < 0) {
			em_err("cannot mark %s/%s failed: %s", mg->source, mg->id, em_errmsg());
			return 1;
		}
	} else if (em_record_add_step(mg->rec, "em-meta", EM_VERSION, json_pack("{s:i, s:i}",
	    "jobs", o->jobs, "merge", mg->count)) < 0 ||
	    em_record_set_progress(mg->rec, em_zarr_nchunks(m), em_zarr_nchunks(m),
	    em_zarr_nbytes(mg->arr), em_zarr_nbytes(mg->arr)) < 0 ||
	    em_record_update_quality(mg->rec) < 0) {
		em_err("cannot complete %s/%s: %s", mg->source, mg->id, em_errmsg());
		return 1;
	}
	if (em_record_save(mg->rec, path) < 0) {
		em_err("cannot write record '%s': %s", path, em_errmsg());
		failed = 1;
	}
	if (em_json_write_line(stdout, mg->rec) < 0 || fflush(stdout) == EOF) {
		em_err("cannot write 'stdout': %s", em_errmsg());
		return 1;
	}
	return failed;
}

/* em-meta --merge FILE...: the part records in the files (or stdin) into the volume record. */
static int
run_merge(char **names, int n, const struct opts *o)
{
	struct merge mg;
	struct em_json_reader *r;
	json_t *rec;
	char where[4200];
	const char *stdin_only[] = { "-" };
	int i, fd, rc, status = 0;

	memset(&mg, 0, sizeof(mg));
	if (n == 0) {
		names = (char **)stdin_only;
		n = 1;
	}
	for (i = 0; i < n && status == 0; i++) {
		int is_stdin = strcmp(names[i], "-") == 0;
		const char *label = is_stdin ? "<stdin>" : names[i];

		fd = is_stdin ? STDIN_FILENO : open(names[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			em_err("cannot open '%s': %s", names[i], strerror(errno));
			status = 1;
			break;
		}
		if ((r = em_json_reader_new(fd, label, STUB_MAX_BYTES)) == NULL) {
			em_err("cannot read '%s': %s", label, em_errmsg());
			status = 1;
		}
		while (status == 0 && (rc = em_json_reader_next(r, &rec)) != 0) {
			if (rc < 0) {
				em_err("cannot read '%s': %s", label, em_errmsg());
				status = 1;
				break;
			}
			snprintf(where, sizeof(where), "%s:%lu", label, em_json_reader_count(r));
			if (merge_add(&mg, rec, where) < 0) {
				em_err("%s", em_errmsg());
				status = 1;
			}
			json_decref(rec);
		}
		em_json_reader_free(r);
		if (!is_stdin)
			close(fd);
	}
	if (status == 0 && mg.rec == NULL) {
		em_err("no part records to merge");
		status = 1;
	}
	if (status == 0)
		status = merge_finish(&mg, o);
	json_decref(mg.rec);
	free(mg.seen);
	em_part_stats_free(mg.stats);
	em_zarr_close(mg.arr);
	return status;
}

static int
run_input(const char *name, const struct opts *o)
{
	struct em_json_reader *r;
	json_t *stub;
	char where[4200];
	int fd, rc, status = 0;
	int is_stdin = strcmp(name, "-") == 0;
	const char *label = is_stdin ? "<stdin>" : name;

	fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		em_err("cannot open '%s': %s", name, strerror(errno));
		return 1;
	}
	r = em_json_reader_new(fd, label, STUB_MAX_BYTES);
	if (r == NULL) {
		em_err("cannot read '%s': %s", label, em_errmsg());
		status = 1;
		goto out;
	}
	while ((rc = em_json_reader_next(r, &stub)) == 1) {
		snprintf(where, sizeof(where), "%s:%lu", label, em_json_reader_count(r));
		if (enrich(stub, where, o) != 0)
			status = 1;
		json_decref(stub);
		if (em_interrupted())
			break;
	}
	if (rc < 0) {
		em_err("cannot read '%s': %s", label, em_errmsg());
		status = 1;
	}
out:
	em_json_reader_free(r);
	if (!is_stdin)
		close(fd);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "max-memory", required_argument, NULL, 'm' },
		{ "allow-missing", no_argument, NULL, 'a' },
		{ "merge", no_argument, NULL, 'M' },
		{ "progress-file", required_argument, NULL, 'P' },
		EM_TOOL_LONGOPTS,
	};
	struct opts o = { 2, 0, 0, 0, NULL };
	int c, i, status = 0;

	em_tool_begin(argv[0]);
	while ((c = getopt_long(argc, argv, "j:qv", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (em_parse_int(optarg, 0, 64, &o.jobs) < 0) {
				em_err("bad --jobs: %s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case 'm':
			if (em_parse_size(optarg, &o.max_memory) < 0 || o.max_memory == 0) {
				em_err("bad --max-memory '%s'", optarg);
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case 'a':
			o.allow_missing = 1;
			break;
		case 'M':
			o.merge = 1;
			break;
		case 'P':
			if (*optarg == '\0') {
				em_err("--progress-file wants a file name");
				usage(stderr, EM_EXIT_USAGE);
			}
			o.progress_file = optarg;
			break;
		default:
			em_tool_option(c, usage);
		}
	}
	em_interrupt_install();
	if (o.merge) {
		status = run_merge(argv + optind, argc - optind, &o);
	} else if (optind == argc) {
		status = run_input("-", &o);
	} else {
		for (i = optind; i < argc && !em_interrupted(); i++)
			if (run_input(argv[i], &o) != 0)
				status = 1;
	}
	if (em_interrupted())
		status = em_interrupt_status();
	return em_tool_end(status);
}
