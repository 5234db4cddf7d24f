/* record.c - the metadata record of a volume: fields, status transitions, history, files */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/ident.h"
#include "meta/jschema.h"
#include "core/jsonio.h"
#include "core/paths.h"
#include "core/timefmt.h"
#include "meta/record.h"
#include "store/lock.h"
#include "core/banned.h"

static const char *const status_names[EM_STATUS_COUNT] = {
	"pending", "processing", "saving-data", "complete", "failed", "cancelled",
};

static const char *const sources[] = {
	"empiar", "epfl", "dvid", "idr", "openorganelle", "precomputed", NULL,
};

/* Every top-level name of schemas/metadata_schema.json. */
static const char *const known_fields[] = {
	"schema_version", "id", "source", "description", "volume_shape", "voxel_size_nm",
	"voxel_size_source", "data_type", "modality", "axes", "file_size_bytes", "sha256",
	"compression", "chunk_size", "zarr_format", "shard_size", "download_url", "source_files",
	"processing_pipeline", "internal_zarr_path", "archive", "license", "citation",
	"source_metadata", "extra", "statistics", "status", "status_history", "progress",
	"ngff_scale_nm", "levels", "missing_chunks", "missing_files",
	"error", "previous_runs", "last_attempt", "quality", "part", "parts", NULL,
};

/* Fields only the functions below may change. */
static const char *const ruled_fields[] = {
	"schema_version", "id", "source", "status", "status_history", "previous_runs", "error",
	"last_attempt", NULL,
};

/*
 * What a complete record of any source is expected to have: the
 * completeness score is the share of these present.  status, history and
 * the fields every record has are not counted, nor the open-ended ones.
 */
static const char *const expected_fields[] = {
	"description", "volume_shape", "voxel_size_nm", "voxel_size_source", "data_type",
	"modality", "axes", "file_size_bytes", "sha256", "compression", "chunk_size",
	"download_url", "processing_pipeline", "internal_zarr_path", "archive", "license",
	"citation", "statistics", NULL,
};

/* What a new run forgets of the old one: it was computed from the old data. */
static const char *const run_fields[] = {
	"error", "progress", "sha256", "file_size_bytes", "statistics", "quality",
	"missing_chunks", "missing_files", NULL,
};

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

const char *
em_status_name(enum em_status s)
{
	return (unsigned)s < EM_STATUS_COUNT ? status_names[s] : "(invalid)";
}

int
em_status_parse(const char *name, enum em_status *out)
{
	int i;

	for (i = 0; name != NULL && i < EM_STATUS_COUNT; i++)
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum em_status)i;
			return 0;
		}
	return em_fail("unknown status '%s'", name ? name : "(none)");
}

int
em_status_is_final(enum em_status s)
{
	return s == EM_STATUS_COMPLETE || s == EM_STATUS_FAILED || s == EM_STATUS_CANCELLED;
}

int
em_status_allowed(enum em_status from, enum em_status to)
{
	if ((unsigned)from >= EM_STATUS_COUNT || (unsigned)to >= EM_STATUS_COUNT || from == to)
		return 0;
	if (em_status_is_final(from))
		return to == EM_STATUS_PENDING || to == EM_STATUS_PROCESSING;
	if (to == EM_STATUS_FAILED || to == EM_STATUS_CANCELLED)
		return 1;
	/* A finished fetch awaiting em-meta, taken up again by the next run of the volume. */
	if (from == EM_STATUS_SAVING_DATA && to == EM_STATUS_PROCESSING)
		return 1;
	return (int)to == (int)from + 1 && to != EM_STATUS_PENDING;
}

int
em_source_valid(const char *source)
{
	return source != NULL && in_list(source, sources);
}

static json_t *
history_entry(const char *status, const char *time)
{
	return json_pack("{s:s,s:s}", "status", status, "time", time);
}

json_t *
em_record_new(const char *source, const char *id)
{
	char now[40];
	json_t *rec;

	if (!em_source_valid(source)) {
		em_fail("unknown source '%s' (expected empiar, epfl, dvid, idr, openorganelle or precomputed)",
		    source ? source : "(none)");
		return NULL;
	}
	if (!em_id_ok(id)) {
		em_fail("bad volume id '%s' (letters, digits, '.', '_' and '-', at most 128, "
		    "starting with a letter or digit)", id ? id : "(none)");
		return NULL;
	}
	if (em_time_now_rfc3339(now, sizeof(now)) < 0)
		return NULL;
	rec = json_pack("{s:i,s:s,s:s,s:s,s:[o]}", "schema_version", EM_RECORD_SCHEMA_VERSION,
	    "id", id, "source", source, "status", "pending", "status_history",
	    history_entry("pending", now));
	if (rec == NULL)
		em_fail("out of memory");
	return rec;
}

int
em_record_status(const json_t *rec, enum em_status *out)
{
	const char *s = json_string_value(json_object_get(rec, "status"));

	if (s == NULL)
		return em_fail("the record has no status");
	return em_status_parse(s, out);
}

/* Same fixed form as em_time_now_rfc3339: then text order is time order. */
static int
is_our_time(const char *t)
{
	return t != NULL && strlen(t) == 24 && t[10] == 'T' && t[23] == 'Z';
}

int
em_record_set_status(json_t *rec, enum em_status to, const char *error)
{
	json_t *hist, *last, *entry = NULL, *newhist = NULL, *prev = NULL, *runs;
	enum em_status from;
	const char *lasttime, *olderr;
	char now[40];
	size_t i;

	if (!json_is_object(rec))
		return em_fail("a record is a JSON object");
	if (em_record_status(rec, &from) < 0)
		return -1;
	if ((unsigned)to >= EM_STATUS_COUNT)
		return em_fail("bad status %d", (int)to);
	if (!em_status_allowed(from, to))
		return em_fail("cannot move the record from '%s' to '%s'", em_status_name(from),
		    em_status_name(to));
	if (to == EM_STATUS_FAILED && (error == NULL || *error == '\0'))
		return em_fail("a failed record needs an error message");
	if (error != NULL && *error == '\0')
		error = NULL;
	if (error != NULL && to != EM_STATUS_FAILED && to != EM_STATUS_CANCELLED)
		return em_fail("only a failed or cancelled record carries an error");
	hist = json_object_get(rec, "status_history");
	if (!json_is_array(hist) || json_array_size(hist) == 0)
		return em_fail("the record has no status history");
	if (json_array_size(hist) >= EM_RECORD_MAX_HISTORY)
		return em_fail("the status history is full (%d entries)", EM_RECORD_MAX_HISTORY);
	if (em_time_now_rfc3339(now, sizeof(now)) < 0)
		return -1;
	/* Times never go backwards within a history, even if the clock does. */
	last = json_array_get(hist, json_array_size(hist) - 1);
	lasttime = json_string_value(json_object_get(last, "time"));
	if (is_our_time(lasttime) && strcmp(now, lasttime) < 0)
		snprintf(now, sizeof(now), "%s", lasttime);

	/* Build everything first, so a failure leaves the record as it was. */
	entry = history_entry(em_status_name(to), now);
	if (entry == NULL)
		goto oom;
	if (em_status_is_final(from)) {
		const char *started = json_string_value(json_object_get(json_array_get(hist, 0),
		    "time"));

		prev = json_pack("{s:s,s:s,s:s}", "status", em_status_name(from), "started",
		    started ? started : now, "finished", lasttime ? lasttime : now);
		olderr = json_string_value(json_object_get(rec, "error"));
		if (prev == NULL || (olderr != NULL &&
		    json_object_set_new(prev, "error", json_string(olderr)) < 0))
			goto oom;
		newhist = json_array();
		if (newhist == NULL || json_array_append_new(newhist, entry) < 0)
			goto oom;
		entry = NULL;
		runs = json_object_get(rec, "previous_runs");
		if (!json_is_array(runs)) {
			runs = json_array();
			if (runs == NULL || json_object_set_new(rec, "previous_runs", runs) < 0)
				goto oom;
		}
		while (json_array_size(runs) >= EM_RECORD_MAX_RUNS)
			json_array_remove(runs, 0);
		if (json_array_append_new(runs, prev) < 0) {
			prev = NULL;
			goto oom;
		}
		prev = NULL;
		/* An attempt that failed after the outcome came after it: it is history now. */
		if (json_is_object(json_object_get(rec, "last_attempt"))) {
			while (json_array_size(runs) >= EM_RECORD_MAX_RUNS)
				json_array_remove(runs, 0);
			if (json_array_append(runs, json_object_get(rec, "last_attempt")) < 0)
				goto oom;
		}
		json_object_del(rec, "last_attempt");
		for (i = 0; run_fields[i] != NULL; i++)
			json_object_del(rec, run_fields[i]);
		if (json_object_set_new(rec, "status_history", newhist) < 0) {
			newhist = NULL;
			goto oom;
		}
		newhist = NULL;
	} else {
		if (json_array_append_new(hist, entry) < 0) {
			entry = NULL;
			goto oom;
		}
		entry = NULL;
	}
	if (json_object_set_new(rec, "status", json_string(em_status_name(to))) < 0)
		goto oom;
	if (error != NULL) {
		if (json_object_set_new(rec, "error", json_string(error)) < 0)
			goto oom;
	} else {
		json_object_del(rec, "error");
	}
	return 0;
oom:
	json_decref(entry);
	json_decref(newhist);
	json_decref(prev);
	return em_fail("out of memory");
}

int
em_record_note_attempt(json_t *rec, enum em_status outcome, const char *started,
    const char *error)
{
	enum em_status st;
	char now[40];
	json_t *a;

	if (outcome != EM_STATUS_FAILED && outcome != EM_STATUS_CANCELLED)
		return em_fail("an attempt is noted only when it failed or was cancelled");
	if (em_record_status(rec, &st) < 0)
		return -1;
	if (st != EM_STATUS_COMPLETE && st != EM_STATUS_SAVING_DATA)
		return em_fail("an attempt is noted beside a complete or saving-data outcome only, not '%s'",
		    em_status_name(st));
	if (outcome == EM_STATUS_FAILED && (error == NULL || *error == '\0'))
		return em_fail("a failed attempt needs an error message");
	if (em_time_now_rfc3339(now, sizeof(now)) < 0)
		return -1;
	if (!is_our_time(started) || strcmp(started, now) > 0)
		started = now;
	a = json_pack("{s:s,s:s,s:s}", "status", em_status_name(outcome), "started", started,
	    "finished", now);
	if (a == NULL || (error != NULL && *error != '\0' &&
	    json_object_set_new(a, "error", json_string(error)) < 0) ||
	    json_object_set_new(rec, "last_attempt", a) < 0)
		return em_fail("out of memory");
	return 0;
}

int
em_record_set(json_t *rec, const char *field, json_t *value)
{
	if (!json_is_object(rec)) {
		json_decref(value);
		return em_fail("a record is a JSON object");
	}
	if (field == NULL || !in_list(field, known_fields)) {
		json_decref(value);
		return em_fail("'%s' is not a field of the record", field ? field : "(null)");
	}
	if (in_list(field, ruled_fields)) {
		json_decref(value);
		return em_fail("'%s' is set by the record functions only", field);
	}
	if (value == NULL) {
		json_object_del(rec, field);
		return 0;
	}
	if (json_object_set_new(rec, field, value) < 0)
		return em_fail("out of memory");
	return 0;
}

int
em_record_set_str(json_t *rec, const char *field, const char *value)
{
	json_t *v = json_string(value);

	if (v == NULL)
		return em_fail("'%s': not a UTF-8 string", field);
	return em_record_set(rec, field, v);
}

int
em_record_set_zyx(json_t *rec, const char *field, const uint64_t v[3])
{
	int i;

	for (i = 0; i < 3; i++)
		if (v[i] > (uint64_t)INT64_MAX)
			return em_fail("'%s': %llu is too large", field, (unsigned long long)v[i]);
	return em_record_set(rec, field, json_pack("[I,I,I]", (json_int_t)v[0],
	    (json_int_t)v[1], (json_int_t)v[2]));
}

/* An axis whose provenance is absent or "unknown" has no known size. */
static int
axis_known(const double nm[3], const char *const prov[3], int i)
{
	return prov != NULL && prov[i] != NULL && strcmp(prov[i], "unknown") != 0 &&
	    isfinite(nm[i]) && nm[i] > 0;
}

int
em_record_set_voxel_size(json_t *rec, const double nm[3], const char *const prov[3])
{
	static const char *const provs[] = { "file", "archive-api", "config", NULL };
	json_t *a, *b;
	int i, known = 0;

	for (i = 0; i < 3; i++) {
		if (prov == NULL || prov[i] == NULL || strcmp(prov[i], "unknown") == 0)
			continue;
		if (!isfinite(nm[i]) || nm[i] <= 0)
			return em_fail("voxel size %g nm is not a positive number", nm[i]);
		if (!in_list(prov[i], provs))
			return em_fail("unknown voxel size provenance '%s' "
			    "(expected file, archive-api, config or unknown)", prov[i]);
		known++;
	}
	if (known == 0) {
		/* Nothing known: nothing to say, and nothing is guessed. */
		json_object_del(rec, "voxel_size_nm");
		json_object_del(rec, "voxel_size_source");
		return 0;
	}
	a = json_array();
	b = json_array();
	if (a == NULL || b == NULL)
		goto oom;
	for (i = 0; i < 3; i++) {
		int k = axis_known(nm, prov, i);

		if (json_array_append_new(a, k ? json_real(nm[i]) : json_null()) < 0 ||
		    json_array_append_new(b, json_string(k ? prov[i] : "unknown")) < 0)
			goto oom;
	}
	if (em_record_set(rec, "voxel_size_nm", a) < 0) {
		json_decref(b);
		return -1;
	}
	return em_record_set(rec, "voxel_size_source", b);
oom:
	json_decref(a);
	json_decref(b);
	return em_fail("out of memory");
}

int
em_voxel_store_scale(const double nm[3], const char *const prov[3], double scale[3])
{
	double largest = 0;
	int i, unknown = 0;

	for (i = 0; i < 3; i++)
		if (axis_known(nm, prov, i) && nm[i] > largest)
			largest = nm[i];
	if (largest == 0)
		return -1;
	for (i = 0; i < 3; i++) {
		if (axis_known(nm, prov, i)) {
			scale[i] = nm[i];
		} else {
			scale[i] = largest;
			unknown++;
		}
	}
	return unknown;
}

int
em_record_set_progress(json_t *rec, uint64_t chunks_done, uint64_t chunks_total,
    uint64_t bytes_done, uint64_t bytes_total)
{
	json_t *p;
	double f = -1;

	if ((chunks_total > 0 && chunks_done > chunks_total) ||
	    (bytes_total > 0 && bytes_done > bytes_total))
		return em_fail("progress past its total");
	if (chunks_total > (uint64_t)INT64_MAX || bytes_total > (uint64_t)INT64_MAX)
		return em_fail("progress total too large");
	p = json_pack("{s:I,s:I}", "chunks_done", (json_int_t)chunks_done, "bytes_done",
	    (json_int_t)bytes_done);
	if (p == NULL)
		return em_fail("out of memory");
	if (chunks_total > 0) {
		json_object_set_new(p, "chunks_total", json_integer((json_int_t)chunks_total));
		f = (double)chunks_done / (double)chunks_total;
	}
	if (bytes_total > 0) {
		json_object_set_new(p, "bytes_total", json_integer((json_int_t)bytes_total));
		if (f < 0)
			f = (double)bytes_done / (double)bytes_total;
	}
	if (f >= 0)
		json_object_set_new(p, "fraction", json_real(f));
	return em_record_set(rec, "progress", p);
}

int
em_record_add_step(json_t *rec, const char *tool, const char *version, json_t *params)
{
	json_t *pipe = json_object_get(rec, "processing_pipeline"), *step;
	char now[40];

	if (tool == NULL || *tool == '\0' || version == NULL || *version == '\0') {
		json_decref(params);
		return em_fail("a pipeline step needs a tool and a version");
	}
	if (params != NULL && !json_is_object(params)) {
		json_decref(params);
		return em_fail("the parameters of a pipeline step are an object");
	}
	if (pipe != NULL && !json_is_array(pipe)) {
		json_decref(params);
		return em_fail("the record's processing_pipeline is not an array");
	}
	if (em_time_now_rfc3339(now, sizeof(now)) < 0) {
		json_decref(params);
		return -1;
	}
	step = json_pack("{s:s,s:s,s:o,s:s}", "tool", tool, "version", version, "parameters",
	    params != NULL ? params : json_object(), "time", now);
	if (step == NULL)
		return em_fail("out of memory");
	if (pipe == NULL) {
		pipe = json_array();
		if (pipe == NULL || json_object_set_new(rec, "processing_pipeline", pipe) < 0) {
			json_decref(step);
			return em_fail("out of memory");
		}
	}
	if (json_array_append_new(pipe, step) < 0)
		return em_fail("out of memory");
	return 0;
}

static int
present(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return 1;
}

double
em_record_completeness(const json_t *rec, json_t **missing)
{
	size_t i, have = 0, total = 0;
	json_t *m = NULL;

	if (missing != NULL)
		m = json_array();
	for (i = 0; expected_fields[i] != NULL; i++, total++) {
		if (present(json_object_get(rec, expected_fields[i])))
			have++;
		else if (m != NULL)
			json_array_append_new(m, json_string(expected_fields[i]));
	}
	if (missing != NULL)
		*missing = m;
	/* Four decimals: a score people read, stable across platforms. */
	return round((double)have / (double)total * 10000.0) / 10000.0;
}

int
em_record_update_quality(json_t *rec)
{
	json_t *q = json_object_get(rec, "quality"), *missing = NULL;
	double score = em_record_completeness(rec, &missing);

	if (missing == NULL)
		return em_fail("out of memory");
	if (!json_is_object(q)) {
		q = json_object();
		if (q == NULL || json_object_set_new(rec, "quality", q) < 0) {
			json_decref(missing);
			return em_fail("out of memory");
		}
	}
	if (json_object_set_new(q, "completeness", json_real(score)) < 0 ||
	    json_object_set_new(q, "missing", missing) < 0)
		return em_fail("out of memory");
	return 0;
}

/* "<root>/<source>/<id>.json"; -1 if the id or source is not valid or it does not fit. */
static int
record_path(const char *root, const char *source, const char *id, char *out, size_t n)
{
	int k;

	if (!em_source_valid(source))
		return em_fail("unknown source '%s'", source ? source : "(none)");
	if (!em_id_ok(id))
		return em_fail("bad volume id '%s'", id ? id : "(none)");
	k = snprintf(out, n, "%s/%s/%s.json", root, source, id);
	if (k < 0 || (size_t)k >= n)
		return em_fail("path of the record is too long");
	return 0;
}

json_t *
em_record_load(const char *path)
{
	json_t *rec = em_json_load_file(path, EM_RECORD_MAX_BYTES), *version;
	const char *source, *id;
	enum em_status st;

	if (rec == NULL)
		return NULL;
	if (!json_is_object(rec)) {
		em_fail("%s: a record is a JSON object", path);
		goto bad;
	}
	version = json_object_get(rec, "schema_version");
	if (version != NULL && !json_is_integer(version)) {
		em_fail("%s: schema_version is not an integer", path);
		goto bad;
	}
	if (version != NULL && json_integer_value(version) != EM_RECORD_SCHEMA_VERSION) {
		em_fail("%s: record format version %" JSON_INTEGER_FORMAT
		    " is not the one this tool knows (%d)", path, json_integer_value(version),
		    EM_RECORD_SCHEMA_VERSION);
		goto bad;
	}
	source = json_string_value(json_object_get(rec, "source"));
	id = json_string_value(json_object_get(rec, "id"));
	if (!em_source_valid(source)) {
		em_fail("%s: unknown or missing source", path);
		goto bad;
	}
	if (!em_id_ok(id)) {
		em_fail("%s: missing or bad id", path);
		goto bad;
	}
	if (em_record_status(rec, &st) < 0) {
		em_fail_ctx("%s", path);
		goto bad;
	}
	if (!json_is_array(json_object_get(rec, "status_history")) ||
	    json_array_size(json_object_get(rec, "status_history")) == 0) {
		em_fail("%s: the record has no status history", path);
		goto bad;
	}
	return rec;
bad:
	json_decref(rec);
	return NULL;
}

json_t *
em_record_load_or_new(const char *root, const char *source, const char *id)
{
	char path[4096];
	json_t *rec;
	int e;

	if (record_path(root, source, id, path, sizeof(path)) < 0)
		return NULL;
	e = em_exists(path);
	if (e < 0)
		return NULL;
	if (e == 0)
		return em_record_new(source, id);
	rec = em_record_load(path);
	if (rec == NULL)
		return NULL;
	if (strcmp(json_string_value(json_object_get(rec, "source")), source) != 0 ||
	    strcmp(json_string_value(json_object_get(rec, "id")), id) != 0) {
		em_fail("%s: the record is of %s/%s", path,
		    json_string_value(json_object_get(rec, "source")),
		    json_string_value(json_object_get(rec, "id")));
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/*
 * 1 when another live process holds the lock of the record's store
 * (store/lock.h), its "host pid" in holder: the run the record shows in
 * progress has not stopped, it is going on beside this one.  This
 * process's own hold is not another's (Linux OFD locks show it too).
 * A lock that cannot be read says nothing: 0.
 */
static int
store_busy(const json_t *rec, char *holder, size_t n)
{
	const char *store = json_string_value(json_object_get(rec, "internal_zarr_path"));
	char host[256], self[300];

	holder[0] = '\0';
	if (store == NULL)
		return 0;
	if (em_store_lock_holder(store, EM_LOCK_WHOLE, holder, n) < 0) {
		em_clear_error();
		holder[0] = '\0';
		return 0;
	}
	if (holder[0] == '\0')
		return 0;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(self, sizeof(self), "%s %ld", host, (long)getpid());
	return strcmp(holder, self) != 0;
}

int
em_record_start(json_t *rec)
{
	enum em_status st;
	char why[128], holder[160];

	if (em_record_status(rec, &st) < 0)
		return -1;
	if ((st == EM_STATUS_PROCESSING || st == EM_STATUS_SAVING_DATA) &&
	    store_busy(rec, holder, sizeof(holder))) {
		/*
		 * Not a run that died: it is not closed as failed, and a second run of
		 * the volume cannot begin beside it.  The record is left as it is.
		 */
		return em_fail("'%s' is being written by %s: its run (status '%s') is still going",
		    json_string_value(json_object_get(rec, "internal_zarr_path")), holder,
		    em_status_name(st));
	}
	/*
	 * The store's lock is held (tool/fetch.h): no other run is writing, so
	 * a run still processing was killed.  One saving-data with every chunk
	 * done finished its fetch and waits for em-meta: this run goes on with
	 * it, it did not fail.
	 */
	if (st == EM_STATUS_SAVING_DATA) {
		const json_t *p = json_object_get(rec, "progress");
		const json_t *done = json_object_get(p, "chunks_done");

		if (json_is_integer(done) && json_equal((json_t *)done,
		    json_object_get(p, "chunks_total")))
			return em_record_set_status(rec, EM_STATUS_PROCESSING, NULL);
	}
	if (st == EM_STATUS_PROCESSING || st == EM_STATUS_SAVING_DATA) {
		snprintf(why, sizeof(why), "the run did not finish (it stopped in status '%s')",
		    em_status_name(st));
		if (em_record_set_status(rec, EM_STATUS_FAILED, why) < 0)
			return -1;
	}
	return em_record_set_status(rec, EM_STATUS_PROCESSING, NULL);
}

/*
 * Remove the temporary files of path's earlier saves whose process is gone
 * from this host (a saver killed with SIGKILL between writing and renaming
 * leaves one), as the store writer does for chunks (em_zarr_clean_tmp).  A
 * live pid keeps its file: it may be saving now.  Best effort: what cannot
 * be removed is said, and the save goes on.
 */
static void
clean_tmp(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	struct dirent *e;
	DIR *d;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path),
	    path) >= (int)sizeof(dir))
		return;
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char tmp[4096 + 256];
		struct stat sb;

		if (em_atomic_tmp_pid(e->d_name, base) <= 0)
			continue;
		if (snprintf(tmp, sizeof(tmp), "%s/%s", dir, e->d_name) >= (int)sizeof(tmp))
			continue;
		if (stat(tmp, &sb) < 0 || !em_atomic_tmp_stale(e->d_name, base,
		    (long long)sb.st_mtime))
			continue;
		if (unlink(tmp) == 0)
			em_log(EM_LOG_INFO, "removed '%s', left by an earlier run that was killed", tmp);
		else if (errno != ENOENT)
			em_log(EM_LOG_WARN, "cannot remove '%s': %s", tmp, strerror(errno));
	}
	closedir(d);
}

int
em_record_save(const json_t *rec, const char *path)
{
	char *text = em_json_dump_pretty(rec);
	int rc;

	if (text == NULL)
		return -1;
	clean_tmp(path);
	rc = em_write_atomic(path, text, strlen(text), EM_ATOMIC_SYNC);
	free(text);
	return rc;
}

/* A schema file larger than this is not the record schema (it is about 20 kB). */
#define SCHEMA_MAX_BYTES ((size_t)16 << 20)
#define DEFAULT_SCHEMA "schemas/metadata_schema.json"

struct em_jschema *
em_record_schema_load(const char *path, char *used, size_t n, char **id)
{
	struct em_jschema *s;
	const char *env = getenv("EM_SCHEMA"), *sid;
	json_t *js;

	if (id != NULL)
		*id = NULL;
	if (path == NULL && env != NULL && *env != '\0')
		path = env;
	if (path != NULL) {
		snprintf(used, n, "%s", path);
	} else if (em_data_path(DEFAULT_SCHEMA, used, n) < 0) {
		em_fail_ctx("cannot find schema '%s'", DEFAULT_SCHEMA);
		return NULL;
	}
	if ((js = em_json_load_file(used, SCHEMA_MAX_BYTES)) == NULL) {
		em_fail_ctx("cannot read schema '%s'", used);
		return NULL;
	}
	if ((s = em_jschema_compile(js, used)) == NULL) {
		em_fail_ctx("invalid schema '%s'", used);
	} else if (id != NULL && (sid = json_string_value(json_object_get(js, "$id"))) != NULL &&
	    (*id = strdup(sid)) == NULL) {
		em_jschema_free(s);
		s = NULL;
		em_fail("out of memory");
	}
	json_decref(js);
	return s;
}
