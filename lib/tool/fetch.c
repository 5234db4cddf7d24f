/* fetch.c - what every fetcher does around its transfer: settings, the record's life, the store, the stub */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/timefmt.h"
#include "core/ident.h"
#include "tool/tool.h"
#include "tool/display.h"
#include "tool/fetch.h"
#include "core/fsutil.h"
#include "core/interrupt.h"
#include "core/jsonio.h"
#include "core/parse.h"
#include "meta/record.h"
#include "store/journal.h"
#include "store/lock.h"
#include "store/manifest.h"
#include "core/version.h"
#include "core/banned.h"

/*
 * The store's Zarr version and shard shape: the command line, then
 * global.zarr_format and global.shard.  --shard alone means version 3.  A
 * shard shape the chunk shape does not divide is a usage error when the
 * command line gave it (exit 2, as for any bad option), else the
 * configuration's mistake.
 */
static int
fetch_format(struct em_fetch *f, const struct em_fetch_opts *o)
{
	long long v;

	if (o->shard[0] != 0)
		memcpy(f->shard, o->shard, sizeof(f->shard));
	else if (em_config_get_u64_list(f->cfg, "global.shard", f->shard, 3, 1, 65536,
	    (const uint64_t[3]){ 0, 0, 0 }) < 0)
		return -1;
	if (o->zarr_format != 0 || o->shard[0] != 0) {
		f->zarr_format = o->zarr_format != 0 ? o->zarr_format : 3;
	} else {
		if (em_config_get_int(f->cfg, "global.zarr_format", 2, &v) < 0)
			return -1;
		f->zarr_format = (int)v;
		if (f->shard[0] != 0 && v != 3)
			return em_fail("global.shard needs global.zarr_format 3 (Zarr v2 has no "
			    "shards)");
	}
	if (f->shard[0] != 0 && em_fetch_check_shard(f->shard, f->chunks) < 0) {
		if (o->shard[0] != 0) {
			em_err("%s", em_errmsg());
			exit(em_tool_end(EM_EXIT_USAGE));
		}
		return em_fail_ctx("global.shard");
	}
	return 0;
}

/* The progress line (-q, --progress, global.progress, else a terminal) and --progress-file. */
static struct em_progress_display *
start_display(struct em_fetch *f, int prog)
{
	const struct em_fetch_opts *o = f->opts;

	return em_progress_display_open(&f->progress, o->quiet ? EM_PROGRESS_OFF :
	    (o->progress || prog) ? EM_PROGRESS_ON : EM_PROGRESS_AUTO, "chunks", o->progress_file);
}

int
em_fetch_begin(struct em_fetch *f, const char *tool, const char *source, int max_parallel,
    const struct em_fetch_opts *o)
{
	const char *root = NULL, *comp = NULL;
	char key[128];
	long long v, level;
	int prog = 0;

	memset(f, 0, sizeof(*f));
	f->tool = tool;
	f->source = source;
	f->opts = o;
	em_progress_init(&f->progress);
	f->cfg = em_config_open(o->config, NULL);
	if (f->cfg == NULL)
		return -1;
	if (o->outdir != NULL) {
		snprintf(f->root, sizeof(f->root), "%s", o->outdir);
	} else {
		if (em_config_get_str(f->cfg, "global.data_root", "data", &root) < 0)
			return -1;
		if ((size_t)snprintf(f->root, sizeof(f->root), "%s/%s", root, source) >=
		    sizeof(f->root))
			return em_fail("data root '%s' is too long", root);
	}
	if (o->chunks[0] != 0)
		memcpy(f->chunks, o->chunks, sizeof(f->chunks));
	else if (em_config_get_u64_list(f->cfg, "global.chunks", f->chunks, 3, 1, 4096,
	    (const uint64_t[3]){ 64, 64, 64 }) < 0)
		return -1;
	if (fetch_format(f, o) < 0)
		return -1;
	comp = o->compressor;
	if (comp == NULL && em_config_get_str(f->cfg, "global.compressor", "zstd", &comp) < 0)
		return -1;
	level = o->level;
	if (level < 0 && o->compressor == NULL &&
	    em_config_get_int(f->cfg, "global.level", -1, &level) < 0)
		return -1;
	if (em_codec_from_name(comp, (int)level, &f->codec) < 0)
		return em_fail_ctx("compressor");
	f->codec_name = comp;
	if (o->jobs > 0) {
		f->jobs = o->jobs;
	} else {
		if (em_config_get_int(f->cfg, "global.jobs", 4, &v) < 0)
			return -1;
		if (v < 1 || v > EM_JOBS_MAX)
			return em_fail("global.jobs must be 1..%d, not %lld", EM_JOBS_MAX, v);
		f->jobs = (int)v;
	}
	snprintf(key, sizeof(key), "sources.%s.max_parallel", source);
	if (em_config_get_int(f->cfg, key, max_parallel, &v) < 0)
		return -1;
	if (v < 1 || v > EM_JOBS_MAX)
		return em_fail("%s must be 1..%d, not %lld", key, EM_JOBS_MAX, v);
	f->max_parallel = (int)v;
	if (o->max_memory > 0)
		f->max_memory = o->max_memory;
	if (em_levels_conf_resolve(f->cfg, o->levels, o->downsample, &f->levels) < 0)
		return -1;
	/* A part writes level 0 only: em-downsample builds the pyramid of the whole store after. */
	if (o->part_count > 0)
		f->levels.levels = 1;
	if (em_config_get_bool(f->cfg, "global.progress", 0, &prog) < 0)
		return -1;
	em_http_opts_init(&f->http_opts);
	f->http_opts.jobs = em_fetch_transfers(f);
	f->http_opts.cacert = o->cacert;
	f->http_opts.max_download = o->max_download;	/* 0: http.c's default */
	f->http_opts.progress = &f->progress;
	if (em_config_get_int(f->cfg, "global.http.retries", 5, &v) < 0)
		return -1;
	f->http_opts.attempts = v < 1 ? 1 : (int)v;
	if (em_config_get_int(f->cfg, "global.http.connect_timeout_s", 15, &v) < 0)
		return -1;
	f->http_opts.connect_timeout_ms = (long)v * 1000;
	if (em_config_get_int(f->cfg, "global.http.low_speed_bytes", 1, &v) < 0)
		return -1;
	f->http_opts.low_speed_bytes = (long)v;
	if (em_config_get_int(f->cfg, "global.http.low_speed_time_s", 60, &v) < 0)
		return -1;
	f->http_opts.low_speed_secs = (long)v;
	if (em_config_get_int(f->cfg, "global.http.backoff_initial_ms", 500, &v) < 0)
		return -1;
	f->http_opts.backoff_ms = (long)v;
	if (em_config_get_int(f->cfg, "global.http.backoff_max_ms", 30000, &v) < 0)
		return -1;
	f->http_opts.backoff_max_ms = (long)v;
	f->http = em_http_new(&f->http_opts);
	if (f->http == NULL)
		return -1;
	f->display = start_display(f, prog);
	return 0;
}

int
em_fetch_record_path(const char *root, const char *id, int part_index, int part_count,
    char *out, size_t n)
{
	int k = part_count > 0 ?
	    snprintf(out, n, "%s/%s.part-%d-of-%d.json", root, id, part_index, part_count) :
	    snprintf(out, n, "%s/%s.json", root, id);

	if (k < 0 || (size_t)k >= n)
		return em_fail("path of '%s' in '%s' is too long", id, root);
	return 0;
}

int
em_fetch_transfers(const struct em_fetch *f)
{
	return em_transfers(f->jobs, f->max_parallel);
}

const char *
em_fetch_conf_str(struct em_fetch *f, const char *key, const char *def)
{
	char path[256];
	const char *v = def;

	snprintf(path, sizeof(path), "sources.%s.%s", f->source, key);
	if (em_config_get_str(f->cfg, path, def, &v) < 0)
		return def;
	return v;
}

static int
save(struct em_fetch *f)
{
	if (em_record_save(f->rec, f->recpath) < 0)
		return em_fail_ctx("cannot write record '%s'", f->recpath);
	return 0;
}

/* A new volume's record written early, then taken back: the run left nothing. */
static void
unsave(struct em_fetch *f)
{
	if (f->saved && unlink(f->recpath) < 0 && errno != ENOENT)
		em_log(EM_LOG_WARN, "cannot remove '%s': %s", f->recpath, strerror(errno));
	f->saved = 0;
	if (em_exists(f->store) == 0) {
		/* Nothing of the volume is left: neither is its lock file. */
		em_store_unlock_remove(f->lock, f->store);
		f->lock = NULL;
	}
	if (f->made_root)
		(void)rmdir(f->root);	/* only if this run left it empty */
	f->made_root = 0;
}

int
em_fetch_touch(struct em_fetch *f)
{
	if (f->touched)
		return 0;
	f->touched = 1;
	if (f->saved)
		return 0;
	if (save(f) < 0)
		return -1;
	f->saved = 1;
	return 0;
}

/* The store of the last volume closed, its journal and lock released. */
static void
close_store(struct em_fetch *f)
{
	em_levels_free(f->lv);
	f->lv = NULL;
	em_zwriter_free(f->w);
	f->w = NULL;
	em_zarr_close(f->arr);
	f->arr = NULL;
	em_journal_close(f->journal);
	f->journal = NULL;
	em_store_unlock(f->lock);
	f->lock = NULL;
	json_decref(f->manifest);
	f->manifest = NULL;
	f->overwriting = 0;
	f->no_validators = f->no_mtimes = 0;
}

/* Append v (stolen) to the array version.key, made if missing. */
static int
append(struct em_fetch *f, const char *key, json_t *v)
{
	json_t *o = em_manifest_section(f->manifest, EM_MANIFEST_VERSION), *a;

	if (o == NULL || v == NULL) {
		json_decref(v);
		return em_fail("out of memory");
	}
	if ((a = json_object_get(o, key)) == NULL &&
	    ((a = json_array()) == NULL || json_object_set_new(o, key, a) < 0)) {
		json_decref(v);
		return em_fail("out of memory");
	}
	return json_array_append_new(a, v) < 0 ? em_fail("out of memory") : 0;
}

int
em_fetch_note_file(struct em_fetch *f, uint64_t size, const char *validator,
    const char *local_path)
{
	char mt[64];

	if (f->manifest == NULL)
		return em_fail("no volume named yet");
	/*
	 * One array per kind of evidence, left out as soon as one file lacks
	 * it, so that two runs compare on what both know of every file.
	 */
	if (append(f, "sizes", json_integer((json_int_t)size)) < 0)
		return -1;
	if (!f->no_validators) {
		if (validator == NULL || *validator == '\0') {
			json_object_del(em_manifest_section(f->manifest, EM_MANIFEST_VERSION),
			    "validators");
			f->no_validators = 1;
		} else if (append(f, "validators", json_string(validator)) < 0) {
			return -1;
		}
	}
	if (!f->no_mtimes) {
		if (local_path == NULL || em_mtime_text(local_path, mt, sizeof(mt)) < 0) {
			json_object_del(em_manifest_section(f->manifest, EM_MANIFEST_VERSION),
			    "mtimes");
			f->no_mtimes = 1;
		} else if (append(f, "mtimes", json_string(mt)) < 0) {
			return -1;
		}
	}
	return 0;
}

int
em_fetch_note_source(struct em_fetch *f, const char *key, json_t *value)
{
	if (f->manifest == NULL) {
		json_decref(value);
		return em_fail("no volume named yet");
	}
	return em_manifest_set(f->manifest, EM_MANIFEST_SOURCE, key, value);
}

int
em_fetch_set_id(struct em_fetch *f, const char *id)
{
	enum em_status prevst;
	json_t *params;
	int e;

	if (strlen(id) > EM_ID_MAX)
		/* Never cut: two long ids that share a beginning would share a store. */
		return em_fail("the id '%.40s...' is %zu characters long; an id has at most %d",
		    id, strlen(id), EM_ID_MAX);
	if (!em_id_ok(id))
		return em_fail("'%s' is not a usable volume id (letters, digits, '.', '_', '-')",
		    id);
	/* A second volume in the same run: the first one's store is closed. */
	close_store(f);
	if (f->display == NULL) {
		int prog = 0;

		/* The previous volume's display ended with it: this one's counts anew. */
		em_progress_init(&f->progress);
		if (em_config_get_bool(f->cfg, "global.progress", 0, &prog) < 0)
			return -1;
		f->display = start_display(f, prog);
	}
	snprintf(f->id, sizeof(f->id), "%s", id);
	if ((size_t)snprintf(f->store, sizeof(f->store), "%s/%s.zarr", f->root, id) >=
	    sizeof(f->store) ||
	    em_fetch_record_path(f->root, id, f->opts->part_index, f->opts->part_count,
	    f->recpath, sizeof(f->recpath)) < 0)
		return em_fail("path of '%s' in '%s' is too long", id, f->root);
	json_decref(f->rec);
	f->rec = NULL;
	json_decref(f->prev);
	f->prev = NULL;
	f->touched = f->saved = f->made_root = f->refused = 0;
	if (em_time_now_rfc3339(f->started, sizeof(f->started)) < 0)
		return -1;
	if ((e = em_exists(f->root)) < 0)
		return -1;
	if (em_mkdir_p(f->root) < 0)
		return -1;
	f->made_root = e == 0;
	/*
	 * One writer per store, taken before the record is read: a second run
	 * of the same id neither mixes its chunks into the store nor takes the
	 * first one's unfinished run for a failed one.
	 */
	f->lock = em_store_lock(f->store, f->opts->part_count > 0 ? f->opts->part_index - 1 :
	    EM_LOCK_WHOLE, f->opts->wait_s);
	if (f->lock == NULL) {
		if (f->made_root)
			(void)rmdir(f->root);
		f->made_root = 0;
		return -1;
	}
	snprintf(f->build, sizeof(f->build), "%s", f->store);
	if ((f->manifest = em_manifest_new()) == NULL)
		return em_fail("out of memory");
	/*
	 * The record is <root>/<id>.json (root already names the source), so
	 * em_record_load_or_new(), which adds <source>/, is not the one.
	 */
	switch (em_exists(f->recpath)) {
	case 0:
		f->rec = em_record_new(f->source, id);
		break;
	case 1:
		f->rec = em_record_load(f->recpath);
		if (f->rec != NULL && (!json_is_string(json_object_get(f->rec, "source")) ||
		    strcmp(json_string_value(json_object_get(f->rec, "source")), f->source) != 0 ||
		    strcmp(json_string_value(json_object_get(f->rec, "id")), id) != 0)) {
			json_decref(f->rec);
			f->rec = NULL;
			return em_fail("'%s' is the record of another volume", f->recpath);
		}
		break;
	default:
		return -1;
	}
	if (f->rec == NULL)
		return em_fail_ctx("cannot read record '%s'", f->recpath);
	if (em_exists(f->recpath) == 1 && (f->prev = json_deep_copy(f->rec)) == NULL)
		return em_fail("out of memory");
	if (em_record_start(f->rec) < 0)
		return -1;
	params = json_pack("{s:[III], s:s, s:i, s:i}",
	    "chunks", (json_int_t)f->chunks[0], (json_int_t)f->chunks[1],
	    (json_int_t)f->chunks[2], "compressor", f->codec_name, "level", f->codec.level,
	    "jobs", f->jobs);
	if (params != NULL && f->max_memory > 0)
		json_object_set_new(params, "max_memory", json_integer((json_int_t)f->max_memory));
	/* Zarr v3 runs say so; v2 runs' parameters stay as they were. */
	if (params != NULL && f->zarr_format == 3)
		json_object_set_new(params, "zarr_format", json_integer(3));
	if (params != NULL && f->shard[0] != 0)
		json_object_set_new(params, "shard", json_pack("[III]", (json_int_t)f->shard[0],
		    (json_int_t)f->shard[1], (json_int_t)f->shard[2]));
	if (f->opts->url != NULL)
		json_object_set_new(params, "url", json_string(f->opts->url));
	if (f->opts->part_count > 0 && em_record_set(f->rec, "part", json_pack("{s:i, s:i}",
	    "index", f->opts->part_index, "count", f->opts->part_count)) < 0)
		return -1;
	if (em_record_add_step(f->rec, f->tool, EM_VERSION, params) < 0)
		return -1;
	/*
	 * Early, so that a crash leaves a trace; but a complete record stays
	 * as it is until this run's data arrives: its store is still whole.
	 */
	if (f->prev != NULL && em_record_status(f->prev, &prevst) == 0 &&
	    prevst == EM_STATUS_COMPLETE)
		return 0;
	if (save(f) < 0)
		return -1;
	f->saved = 1;
	return 0;
}

/* The archive's own identifiers among the record's "archive" facts (titles and DOIs may be edited). */
static const char *const archive_ids[] = {
	"accession", "dataset", "dataset_id", "study", "file", "image_id", "server", "uuid",
	"instance", "box_xyz", NULL
};

/* What this run writes from, into f->manifest: the record's source facts and the write parameters. */
static int
describe_run(struct em_fetch *f, const struct em_zarr_meta *m)
{
	json_t *src = em_manifest_section(f->manifest, EM_MANIFEST_SOURCE);
	json_t *wr = em_manifest_section(f->manifest, EM_MANIFEST_WRITE);
	const json_t *arch = json_object_get(f->rec, "archive");
	const json_t *files = json_object_get(f->rec, "source_files");
	const json_t *sm = json_object_get(f->rec, "source_metadata"), *v;
	json_t *urls, *ids, *a;
	size_t i;

	if (src == NULL || wr == NULL)
		return em_fail("out of memory");
	json_object_set_new(src, "source", json_string(f->source));
	json_object_set_new(src, "id", json_string(f->id));
	if ((v = json_object_get(f->rec, "download_url")) != NULL)
		json_object_set(src, "download_url", (json_t *)v);
	if (json_array_size(files) > 0) {
		urls = json_array();
		json_array_foreach(files, i, v)
			json_array_append(urls, json_object_get(v, "url"));
		json_object_set_new(src, "files", urls);
	}
	if (json_is_object(arch)) {
		ids = json_object();
		for (i = 0; archive_ids[i] != NULL; i++)
			if ((v = json_object_get(arch, archive_ids[i])) != NULL)
				json_object_set(ids, archive_ids[i], (json_t *)v);
		json_object_set_new(src, "archive", ids);
	}
	if ((v = json_object_get(sm, "box")) != NULL)
		json_object_set(src, "box", (json_t *)v);
	a = json_array();
	for (i = 0; i < (size_t)m->ndim; i++)
		json_array_append_new(a, json_integer((json_int_t)m->shape[i]));
	json_object_set_new(wr, "shape", a);
	a = json_array();
	for (i = 0; i < (size_t)m->ndim; i++)
		json_array_append_new(a, json_integer((json_int_t)m->chunks[i]));
	json_object_set_new(wr, "chunks", a);
	json_object_set_new(wr, "data_type", json_string(em_dtype_name(m->dtype)));
	json_object_set_new(wr, "codec", f->codec.id == EM_CODEC_RAW ?
	    json_pack("{s:s}", "name", f->codec_name) :
	    json_pack("{s:s, s:i}", "name", f->codec_name, "level", f->codec.level));
	json_object_set_new(wr, "zarr_format", json_integer(2));
	return 0;
}

/* The refusal of a store whose manifest differs from this run's (the comparison's error says where). */
static int
other_source(struct em_fetch *f)
{
	char why[1024];

	snprintf(why, sizeof(why), "%s", em_errmsg());
	f->refused = 1;
	return em_fail("'%s' holds %s/%s written from another source, version or parameters "
	    "(%s); --overwrite replaces it", f->store, f->source, f->id, why);
}

/*
 * Where this run's chunks go, from the store's manifest: into the store
 * (made anew, or resumed when its manifest agrees with this run's) or,
 * with --overwrite, into <store>.new beside it.  A store whose manifest
 * disagrees is refused unless --overwrite.  *fresh: the array has no
 * chunk yet (its journal starts empty).
 */
static int
place(struct em_fetch *f, int *fresh)
{
	json_t *was = NULL;
	int e, r;

	*fresh = 0;
	snprintf(f->build, sizeof(f->build), "%s", f->store);
	if ((e = em_exists(f->store)) < 0)
		return -1;
	if (e == 0) {
		*fresh = 1;
		return 0;
	}
	r = em_manifest_load(f->store, &was);
	if (r < 0 && !f->opts->overwrite)
		return em_fail_ctx("cannot tell what '%s' was written from (--overwrite replaces "
		    "it)", f->store);
	if (r == 0 && f->opts->part_count > 0) {
		/*
		 * Another part is making the store right now (its directory
		 * comes before its manifest): this part's manifest is the same.
		 */
		em_debug("'%s' has no %s yet: another part is making it", f->store,
		    EM_MANIFEST_NAME);
		return 0;
	}
	if (r == 0 && !f->opts->overwrite) {
		/*
		 * A store from before manifests (or another program): it becomes
		 * this run's, but none of its chunks is trusted, so each is
		 * written again (its journal starts empty).
		 */
		em_log(EM_LOG_WARN, "'%s' does not say what it was written from (no %s): every "
		    "chunk is written again", f->store, EM_MANIFEST_NAME);
		return 0;
	}
	if (r == 1) {
		r = em_manifest_compare(was, f->manifest);
		if (r == 0 && !f->opts->overwrite) {
			r = em_manifest_merge(f->manifest, was);
			json_decref(was);
			return r;
		}
		if (r == 1 && !f->opts->overwrite) {
			json_decref(was);
			return other_source(f);
		}
		json_decref(was);
		if (r < 0)
			return -1;
	}
	/* --overwrite: the new store is built beside the old one, which stays whole till the swap. */
	if ((size_t)snprintf(f->build, sizeof(f->build), "%s.new", f->store) >= sizeof(f->build))
		return em_fail("path of '%s' is too long", f->store);
	f->overwriting = 1;
	if ((e = em_exists(f->build)) < 0)
		return -1;
	if (e == 1) {
		/* An overwrite that was cut short: resumed if it was of the same volume. */
		r = em_manifest_load(f->build, &was);
		if (r == 1 && em_manifest_compare(was, f->manifest) == 0) {
			em_log(EM_LOG_INFO, "resuming the unfinished replacement '%s'", f->build);
			json_decref(was);
			return 0;
		}
		json_decref(was);
		if (em_remove_tree(f->build) < 0)
			return -1;
	}
	*fresh = 1;
	return 0;
}

/*
 * The tool's memory plus the pyramid's (its planes and writers, when the
 * levels are written with level 0's planes), for em_fit_jobs.
 */
static const struct em_mem_share *
levels_share(const struct em_fetch *f, const struct em_zarr_meta *m, const double *voxel_nm,
    const uint64_t *box, const struct em_mem_share *share, struct em_mem_share *out)
{
	out->fixed = share != NULL ? share->fixed : 0;
	out->per_transfer = share != NULL ? share->per_transfer : 0;
	out->fixed += em_levels_memory(&f->levels, m->shape, voxel_nm, m->chunks, m->dtype,
	    f->jobs, box == NULL);
	return out;
}

/* The store's levels: planned and created now (planes), or built at the end (boxes). */
static int
open_levels(struct em_fetch *f, const double *scale, const uint64_t *box)
{
	struct em_levels_store s;

	memset(&s, 0, sizeof(s));
	s.store = f->build;
	s.arr0 = f->arr;
	s.name = f->id;
	s.scale = scale;
	s.origin = f->origin;
	s.planes = box == NULL;
	s.jobs = f->jobs;
	if ((f->lv = em_levels_open(&f->levels, &s)) == NULL)
		return em_fail_ctx("cannot make the levels of '%s'", f->build);
	return 0;
}

int
em_fetch_open_store(struct em_fetch *f, const uint64_t shape[3], enum em_dtype dtype,
    const double *voxel_nm, const char *const *prov, const uint64_t *box,
    const struct em_mem_share *share)
{
	struct em_zarr_meta m;
	struct em_zwriter_opts wo;
	struct em_mem_share lshare;
	char need[32], have[32], arrdir[EM_FETCH_PATH_MAX + 4];
	uint64_t mem = 0, chunks[3], shard[3];
	double scale[3], offset[3];
	const double *store_scale = NULL;
	int i, jobs, fresh, placeholders = -1, keep_group;

	for (i = 0; i < 3; i++) {
		chunks[i] = f->chunks[i] < shape[i] ? f->chunks[i] : (shape[i] ? shape[i] : 1);
		/* No bigger than the chunks the volume has (still a multiple of them). */
		shard[i] = (shape[i] + chunks[i] - 1) / chunks[i] * chunks[i];
		if (f->shard[i] < shard[i])
			shard[i] = f->shard[i];
	}
	if (em_zarr_meta_init(&m, 3, shape, chunks, dtype, &f->codec) < 0 ||
	    em_zarr_meta_set_format(&m, f->zarr_format, f->shard[0] != 0 ? shard : NULL) < 0)
		return -1;
	jobs = em_fit_jobs(&m, box, f->jobs, f->max_parallel, levels_share(f, &m, voxel_nm, box,
	    share, &lshare), f->max_memory, &mem);
	if (jobs < 1) {
		f->jobs = 1;
		return em_fail("needs at least %s of memory for %llu,%llu,%llu chunks of %s "
		    "planes, more than --max-memory %s",
		    em_format_size(mem, need, sizeof(need)), (unsigned long long)chunks[0],
		    (unsigned long long)chunks[1], (unsigned long long)chunks[2],
		    em_dtype_name(dtype), em_format_size(f->max_memory, have, sizeof(have)));
	}
	f->jobs = jobs;
	/* Whose store it is, settled before this run changes anything. */
	if (describe_run(f, &m) < 0)
		return -1;
	if (place(f, &fresh) < 0) {
		f->refused = 1;
		return -1;
	}
	if (em_fetch_touch(f) < 0)
		return -1;
	if (voxel_nm != NULL && (placeholders = em_voxel_store_scale(voxel_nm, prov, scale)) >= 0)
		store_scale = scale;
	/*
	 * First the manifest: a store never holds chunks of a source it does
	 * not name.  Parts starting together make it once; the others compare
	 * theirs with it, as they would have found it, and one refused leaves
	 * nothing of its own.
	 */
	if (em_mkdir_p(f->build) < 0)
		return em_fail_ctx("cannot create store '%s'", f->build);
	if (f->opts->part_count > 0) {
		if ((i = em_manifest_create(f->build, f->manifest)) == 1)
			return other_source(f);
		if (i < 0)
			return -1;
	} else if (em_manifest_save(f->build, f->manifest) < 0) {
		return -1;
	}
	/*
	 * The group's first attributes already say where a crop lies.  A part
	 * makes them only where none are, and leaves them as another part or
	 * em-downsample made them (the pyramid's levels stay listed): it only
	 * checks that level 0 is the array it writes.
	 */
	for (i = 0; i < 3; i++)
		offset[i] = (double)f->origin[i] * (store_scale != NULL ? store_scale[i] : 1);
	keep_group = em_zarr_create_at(f->build, &m, store_scale, offset, f->id,
	    f->opts->part_count > 0 ? EM_ZARR_KEEP_GROUP : 0);
	if (keep_group < 0)
		return em_fail_ctx("cannot create store '%s'", f->build);
	f->arr = em_zarr_open(f->build);
	if (f->arr == NULL)
		return em_fail_ctx("cannot open store '%s'", f->build);
	if ((size_t)snprintf(arrdir, sizeof(arrdir), "%s/0", f->build) >= sizeof(arrdir))
		return em_fail("path of '%s' is too long", f->build);
	f->journal = em_journal_open(arrdir, em_zarr_nchunks(&m), f->opts->part_count > 0 ?
	    f->opts->part_index - 1 : -1, fresh);
	if (f->journal == NULL)
		return -1;
	memset(&wo, 0, sizeof(wo));
	wo.jobs = f->jobs;
	wo.journal = f->journal;
	wo.verify = f->opts->verify;
	wo.part_index = f->opts->part_index;
	wo.part_count = f->opts->part_count;
	f->w = em_zwriter_new(f->arr, &wo);
	if (f->w == NULL)
		return -1;
	if (!keep_group && open_levels(f, store_scale, box) < 0)
		return -1;
	if (f->opts->part_count > 0) {
		uint64_t z0, z1;

		em_part_planes(&m, f->opts->part_index, f->opts->part_count, &z0, &z1);
		em_progress_add_items_total(&f->progress, em_part_nchunks(&m, f->opts->part_index,
		    f->opts->part_count));
		/* Bytes of the planes the part reads (a plane-order source; about so for boxes). */
		em_progress_add_bytes_total(&f->progress, em_zarr_nbytes(f->arr) / shape[0] *
		    (z1 - z0));
	} else {
		em_progress_add_items_total(&f->progress, em_zarr_nchunks(&m));
		em_progress_add_bytes_total(&f->progress, em_zarr_nbytes(f->arr));
	}
	if (em_record_set_zyx(f->rec, "volume_shape", shape) < 0 ||
	    em_record_set_str(f->rec, "data_type", em_dtype_name(dtype)) < 0 ||
	    em_record_set(f->rec, "axes", json_pack("[sss]", "z", "y", "x")) < 0 ||
	    em_record_set_zyx(f->rec, "chunk_size", chunks) < 0 ||
	    em_record_set(f->rec, "compression", f->codec.id == EM_CODEC_RAW ?
	    json_pack("{s:s}", "codec", f->codec_name) :
	    json_pack("{s:s, s:i}", "codec", f->codec_name, "level", f->codec.level)) < 0 ||
	    em_record_set(f->rec, "zarr_format", json_integer(f->zarr_format)) < 0 ||
	    (f->shard[0] != 0 && em_record_set_zyx(f->rec, "shard_size", shard) < 0) ||
	    em_record_set_str(f->rec, "internal_zarr_path", f->store) < 0)
		return -1;
	if (f->shard[0] == 0)
		json_object_del(f->rec, "shard_size");
	if (voxel_nm != NULL && em_record_set_voxel_size(f->rec, voxel_nm, prov) < 0)
		return -1;
	if (placeholders > 0) {
		/* Said, never silent: the store's scale holds a number the data does not give. */
		char axes[8] = "";
		double ph = 0;

		for (i = 0; i < 3; i++)
			if (prov[i] == NULL || strcmp(prov[i], "unknown") == 0) {
				strncat(axes, &"zyx"[i], 1);
				ph = scale[i];
			}
		if (em_record_set(f->rec, "ngff_scale_nm", json_pack("[f,f,f]", scale[0],
		    scale[1], scale[2])) < 0)
			return -1;
		em_log(EM_LOG_WARN, "%s/%s: the voxel size along %s is not known (null in the "
		    "record); the store's OME-NGFF scale puts %g nm there, the largest known "
		    "(the record's ngff_scale_nm)", f->source, f->id, axes, ph);
	} else {
		json_object_del(f->rec, "ngff_scale_nm");
	}
	if (em_record_set_status(f->rec, EM_STATUS_SAVING_DATA, NULL) < 0)
		return -1;
	return save(f);
}

int
em_fetch_store_whole(const char *store, int verify)
{
	static const uint64_t zero[EM_ZARR_MAXDIM];
	struct em_zwriter_opts wo;
	struct em_journal *j = NULL;
	struct em_zwriter *w = NULL;
	struct em_zarr *a;
	char arrdir[EM_FETCH_PATH_MAX + 4];
	int rc = -1;

	if ((a = em_zarr_open(store)) == NULL)
		return em_fail_ctx("cannot open store '%s'", store);
	if ((size_t)snprintf(arrdir, sizeof(arrdir), "%s/0", store) >= sizeof(arrdir)) {
		em_fail("path of '%s' is too long", store);
		goto out;
	}
	if ((j = em_journal_open(arrdir, em_zarr_nchunks(em_zarr_meta(a)), -1, 0)) == NULL)
		goto out;
	memset(&wo, 0, sizeof(wo));
	wo.jobs = 1;
	wo.journal = j;
	wo.verify = verify;
	if ((w = em_zwriter_new(a, &wo)) == NULL)
		goto out;
	rc = em_zwriter_box_done(w, zero, em_zarr_meta(a)->shape);
out:
	em_zwriter_free(w);
	em_journal_close(j);
	em_zarr_close(a);
	return rc;
}

/* Chunks are counted as the data that completes them arrives. */
static void
count(struct em_fetch *f, uint64_t bytes)
{
	em_progress_add_bytes(&f->progress, bytes);
}

/* Feed the writer whole planes (store/writer.h) and count progress; -1 when interrupted. */
static int
put_planes(struct em_fetch *f, uint64_t z0, uint64_t nz, const void *data)
{
	const struct em_zarr_meta *m = em_zarr_meta(f->arr);
	uint64_t plane = m->shape[1] * m->shape[2] * em_dtype_size(m->dtype);

	if (em_interrupted())
		return em_fail("interrupted");
	if (em_zwriter_put_planes(f->w, z0, nz, data) < 0 ||
	    em_levels_put_planes(f->lv, z0, nz, data) < 0)
		return -1;
	count(f, nz * plane);
	/* A chunk row is written when its last plane arrives. */
	if ((z0 + nz) % m->chunks[0] == 0 || z0 + nz == m->shape[0]) {
		uint64_t grid[EM_ZARR_MAXDIM];

		em_zarr_grid(m, grid);
		em_progress_add_items(&f->progress, grid[1] * grid[2]);
	}
	return 0;
}

/*
 * Chunks whose last voxel lies in the box: boxes do not overlap, so each
 * chunk is counted once, when (or about when) it completes.
 */
static uint64_t
chunks_ending_in(const struct em_zarr_meta *m, const uint64_t start[3], const uint64_t n[3])
{
	uint64_t total = 1;
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t ch = m->chunks[i], k = 0, c;
		for (c = start[i] / ch; c * ch < start[i] + n[i]; c++) {
			uint64_t last = (c + 1) * ch < m->shape[i] ? (c + 1) * ch - 1 : m->shape[i] - 1;
			if (last >= start[i] && last < start[i] + n[i])
				k++;
		}
		total *= k;
	}
	return total;
}

int
em_fetch_put_box(struct em_fetch *f, const uint64_t start[3], const uint64_t count3[3],
    const void *data)
{
	const struct em_zarr_meta *m = em_zarr_meta(f->arr);

	if (em_interrupted())
		return em_fail("interrupted");
	if (em_zwriter_put_box(f->w, start, count3, data) < 0)
		return -1;
	count(f, count3[0] * count3[1] * count3[2] * em_dtype_size(m->dtype));
	em_progress_add_items(&f->progress, chunks_ending_in(m, start, count3));
	return 0;
}

int
em_fetch_box_done(struct em_fetch *f, const uint64_t start[3], const uint64_t count3[3])
{
	const struct em_zarr_meta *m = em_zarr_meta(f->arr);
	int rc = em_zwriter_box_done(f->w, start, count3);

	if (rc == 1) {
		count(f, count3[0] * count3[1] * count3[2] * em_dtype_size(m->dtype));
		em_progress_add_items(&f->progress, chunks_ending_in(m, start, count3));
	}
	return rc;
}

static int
print_stub(struct em_fetch *f)
{
	if (em_json_write_line(stdout, f->rec) < 0 || fflush(stdout) == EOF)
		return em_fail_errno("cannot write the stub to stdout");
	return 0;
}

int
em_fetch_done(struct em_fetch *f)
{
	struct em_zwriter_stats st;
	const struct em_zarr_meta *m = em_zarr_meta(f->arr);

	if (em_zwriter_finish(f->w, &st) < 0)
		return em_fail_ctx("cannot finish store '%s'", f->store), em_fetch_fail(f, "write");
	if (em_levels_finish(f->lv, f->max_memory, f->rec) < 0)
		return em_fetch_fail(f, "write");
	em_journal_close(f->journal);
	f->journal = NULL;
	if (f->overwriting) {
		/* The new store takes the old one's place in one step; then the old one goes. */
		if (em_swap_dirs(f->build, f->store) < 0)
			return em_fetch_fail(f, "cannot replace the store");
		f->overwriting = 0;
		if (em_remove_tree(f->build) < 0)
			em_log(EM_LOG_WARN, "the replaced store stays at '%s': %s", f->build,
			    em_errmsg());
		em_log(EM_LOG_INFO, "'%s' replaced by this run's store", f->store);
	}
	em_log(EM_LOG_INFO, "%s: %llu chunks written, %llu already present, peak buffers %llu bytes",
	    f->store, (unsigned long long)st.chunks_written,
	    (unsigned long long)st.chunks_present, (unsigned long long)st.peak_buffer);
	em_progress_display_stop(f->display);
	f->display = NULL;
	if (em_record_set_progress(f->rec, em_part_nchunks(m, f->opts->part_index,
	    f->opts->part_count), em_part_nchunks(m, f->opts->part_index, f->opts->part_count),
	    em_zarr_nbytes(f->arr), em_zarr_nbytes(f->arr)) < 0 || save(f) < 0 ||
	    print_stub(f) < 0) {
		em_err("cannot save '%s': %s", f->recpath, em_errmsg());
		return 1;
	}
	return 0;
}

int
em_fetch_fail(struct em_fetch *f, const char *what)
{
	char reason[1100];
	int sig = em_interrupted();

	snprintf(reason, sizeof(reason), "%s%s%s", what ? what : "", what ? ": " : "",
	    sig ? "interrupted by a signal" : em_errmsg());
	em_progress_display_end(f->display, sig ? "cancelled" : "failed");
	f->display = NULL;
	em_err("%s", reason);
	if (f->w != NULL) {
		/* Whole chunks already written stay; the rest is dropped for a re-run. */
		em_levels_free(f->lv);
		f->lv = NULL;
		em_zwriter_free(f->w);
		f->w = NULL;
	}
	if (f->rec != NULL) {
		enum em_status st, prevst;
		enum em_status to = sig ? EM_STATUS_CANCELLED : EM_STATUS_FAILED;

		/*
		 * This run did not change the store when its data never came, when
		 * the store was never opened (a file that does not decode), when
		 * it was refused (another source's store) or when it was building
		 * an --overwrite beside the store.
		 */
		int unchanged = !f->touched || f->arr == NULL || f->refused || f->overwriting;

		if (unchanged && f->prev != NULL && em_record_status(f->prev, &prevst) == 0 &&
		    (prevst == EM_STATUS_COMPLETE || prevst == EM_STATUS_SAVING_DATA)) {
			/* The store is as the last run left it: so is its record. */
			json_decref(f->rec);
			f->rec = f->prev;
			f->prev = NULL;
			if (em_record_note_attempt(f->rec, to, f->started, reason) < 0 ||
			    save(f) < 0 || print_stub(f) < 0)
				em_err("%s", em_errmsg());
			else
				em_err("%s/%s stays %s (its store is unchanged); the failed"
				    " attempt is in its record's last_attempt", f->source, f->id,
				    em_status_name(prevst));
		} else if (em_record_status(f->rec, &st) == 0 && !em_status_is_final(st) &&
		    em_record_set_status(f->rec, to, reason) == 0) {
			if ((!f->touched || f->refused) && f->prev == NULL && !sig) {
				/* Nothing of the volume came: no record of it is left behind. */
				unsave(f);
				if (print_stub(f) < 0)
					em_err("%s", em_errmsg());
			} else if (save(f) < 0 || print_stub(f) < 0) {
				em_err("%s", em_errmsg());
			}
		}
	}
	return sig ? em_interrupt_status() : 1;
}

void
em_fetch_end(struct em_fetch *f)
{
	em_progress_display_stop(f->display);
	close_store(f);
	em_http_free(f->http);
	json_decref(f->rec);
	json_decref(f->prev);
	em_config_free(f->cfg);
	memset(f, 0, sizeof(*f));
}

int
em_fetch_image_ex(struct em_fetch *f, const char *const *paths, size_t n,
    const struct em_fetch_image_opts *o)
{
	struct em_img *img = NULL;
	const struct em_img_info *in;
	const char *prov[3];
	struct em_mem_share share = { 0, 0 };
	double voxel[3];
	int i, rc = -1;
	unsigned char *plane = NULL;
	uint64_t z, z1;
	size_t pb;

	if (n == 0)
		return em_fail("no image files");
	/* The files are here: whatever is wrong with them now is the volume's. */
	if (em_fetch_touch(f) < 0)
		return -1;
	if ((n == 1 ? em_img_open(paths[0], o->img, &img) :
	    em_img_open_series(paths, n, o->z_spacing_nm, &img)) < 0)
		return n == 1 ? em_fail_ctx("cannot decode '%s'", paths[0]) :
		    em_fail_ctx("cannot decode the series of %zu files from '%s'", n, paths[0]);
	in = em_img_info(img);
	if (o->expect_shape != NULL && memcmp(o->expect_shape, in->shape,
	    sizeof(in->shape)) != 0) {
		em_fail("'%s' holds %llu x %llu x %llu (z,y,x) voxels but %s says "
		    "%llu x %llu x %llu", paths[0], (unsigned long long)in->shape[0],
		    (unsigned long long)in->shape[1], (unsigned long long)in->shape[2],
		    o->expect_from ? o->expect_from : "the archive",
		    (unsigned long long)o->expect_shape[0], (unsigned long long)o->expect_shape[1],
		    (unsigned long long)o->expect_shape[2]);
		goto out;
	}
	for (i = 0; i < 3; i++) {
		voxel[i] = in->voxel_nm[i];
		prov[i] = "file";
		if (!in->voxel_known[i] || !(voxel[i] > 0)) {
			if (o->fallback_nm != NULL && o->fallback_nm[i] > 0) {
				voxel[i] = o->fallback_nm[i];
				prov[i] = o->fallback_prov != NULL && o->fallback_prov[i] != NULL ?
				    o->fallback_prov[i] : "config";
			} else {
				voxel[i] = 0;
				prov[i] = "unknown";
			}
		}
	}
	/*
	 * A series' z spacing is the caller's (the files do not carry it).  An
	 * axis nobody states stays unknown (null in the record, never guessed);
	 * the others are kept with their provenance.
	 */
	if (n > 1 && o->z_spacing_nm > 0)
		prov[0] = "config";
	pb = em_img_plane_bytes(img);
	share.fixed = pb;
	if (em_fetch_open_store(f, in->shape, in->dtype, voxel, prov, NULL, &share) < 0)
		goto out;
	if (in->source_metadata != NULL && json_object_size(in->source_metadata) > 0) {
		json_t *sm = json_object_get(f->rec, "source_metadata");

		if (!json_is_object(sm)) {
			sm = json_object();
			if (em_record_set(f->rec, "source_metadata", sm) < 0)
				goto out;
		}
		json_object_set(sm, "file", in->source_metadata);
		json_object_set_new(sm, "file_format",
		    json_string(em_img_format_name(in->format)));
	}
	plane = malloc(pb ? pb : 1);
	if (plane == NULL) {
		em_fail("out of memory for a plane of %zu bytes", pb);
		goto out;
	}
	/*
	 * A part reads only the planes of its chunk (or shard) rows: the
	 * readers seek to a plane (MRC and DM by offset, TIFF by its directory
	 * and that page's strips or tiles), so the planes before are not read.
	 */
	z1 = in->shape[0];
	z = 0;
	if (f->opts->part_count > 0)
		em_part_planes(em_zarr_meta(f->arr), f->opts->part_index, f->opts->part_count,
		    &z, &z1);
	for (; z < z1; z++) {
		/* Read straight into the levels' room when there is one (no copy there). */
		void *buf = em_levels_plane_buffer(f->lv);

		if (buf == NULL)
			buf = plane;
		if (em_img_read_plane(img, z, buf) < 0) {
			em_fail_ctx("cannot read plane %llu of '%s'", (unsigned long long)z,
			    n == 1 ? paths[0] : paths[z]);
			goto out;
		}
		if (put_planes(f, z, 1, buf) < 0)
			goto out;
	}
	rc = 0;
out:
	free(plane);
	em_img_free(img);
	return rc;
}

int
em_fetch_describe(struct em_fetch *f)
{
	static const char *const strs[] = { "description", "modality", "license" };
	const char *v, *doi, *cite;
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		v = em_fetch_conf_str(f, strs[i], NULL);
		if (v != NULL && *v != '\0' && em_record_set_str(f->rec, strs[i], v) < 0)
			return -1;
	}
	doi = em_fetch_conf_str(f, "doi", NULL);
	cite = em_fetch_conf_str(f, "citation", NULL);
	if ((cite != NULL && *cite != '\0') || (doi != NULL && *doi != '\0')) {
		json_t *c = json_object();

		if (c == NULL)
			return em_fail("out of memory");
		if (cite != NULL && *cite != '\0')
			json_object_set_new(c, "text", json_string(cite));
		if (doi != NULL && *doi != '\0')
			json_object_set_new(c, "doi", json_string(doi));
		if (em_record_set(f->rec, "citation", c) < 0)
			return -1;
	}
	v = em_fetch_conf_str(f, "organism", NULL);
	if (v != NULL && *v != '\0') {
		json_t *x = json_object_get(f->rec, "extra");

		if (!json_is_object(x)) {
			x = json_object();
			if (x == NULL || em_record_set(f->rec, "extra", x) < 0)
				return em_fail("out of memory");
		}
		json_object_set_new(x, "organism", json_string(v));
	}
	return 0;
}
