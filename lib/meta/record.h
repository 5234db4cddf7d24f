/* record.h - the metadata record of a volume: fields, status transitions, history, files */
#ifndef EM_RECORD_H
#define EM_RECORD_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * A record is a jansson object (json_t *) following
 * schemas/metadata_schema.json; em-record(5) documents every field.  These
 * functions keep the parts with rules (status, history, quality) right;
 * other fields are set with em_record_set() or jansson directly.
 */

#define EM_RECORD_SCHEMA_VERSION 1

enum em_status {
	EM_STATUS_PENDING,
	EM_STATUS_PROCESSING,
	EM_STATUS_SAVING_DATA,
	EM_STATUS_COMPLETE,
	EM_STATUS_FAILED,
	EM_STATUS_CANCELLED,
	EM_STATUS_COUNT
};

/* "pending", "processing", "saving-data", "complete", "failed", "cancelled". */
const char *em_status_name(enum em_status s);
/* 0, or -1 for a name that is not a status. */
int em_status_parse(const char *name, enum em_status *out);
/* 1 for complete, failed and cancelled. */
int em_status_is_final(enum em_status s);
/*
 * 1 if a record may move from -> to:
 *   pending -> processing -> saving-data -> complete;
 *   pending, processing or saving-data -> failed or cancelled;
 *   complete, failed or cancelled -> pending or processing (a new run).
 * Nothing else, and never to the same status.
 */
int em_status_allowed(enum em_status from, enum em_status to);

/* The source names of the schema: empiar, epfl, dvid, idr, openorganelle. */
int em_source_valid(const char *source);

/*
 * A new record: schema_version, id, source, status pending with one
 * history entry at the current time.  NULL (error set) for an unknown
 * source or an id that is not a safe file name.
 */
json_t *em_record_new(const char *source, const char *id);

/* The current status; -1 if the record has none or an unknown one. */
int em_record_status(const json_t *rec, enum em_status *out);

/*
 * Move to status `to`, appending {status, time} to status_history.  An
 * illegal transition returns -1 with an error naming both statuses and
 * leaves the record untouched.  error is the reason: required for failed,
 * allowed for cancelled, refused otherwise ("" counts as none).  A new run (from complete,
 * failed or cancelled) first moves the old run's outcome to
 * previous_runs ({status, started, finished, error}, at most
 * EM_RECORD_MAX_RUNS, oldest dropped), then starts a fresh history and
 * drops what the old run computed: error, progress, sha256,
 * file_size_bytes, statistics and quality.
 */
int em_record_set_status(json_t *rec, enum em_status to, const char *error);

/*
 * A later run of a complete volume that failed or was cancelled before it
 * changed any of the volume's data: the record stays complete (its store
 * is intact) and gains last_attempt {status, started, finished, error},
 * replacing an earlier one.  started is the attempt's start (RFC 3339 as
 * em_time_now_rfc3339 writes it; now when NULL).  The next run that does begin
 * moves last_attempt into previous_runs after the complete outcome.
 * -1 when the record is not complete or outcome is not failed/cancelled.
 */
int em_record_note_attempt(json_t *rec, enum em_status outcome, const char *started,
    const char *error);

/*
 * Set a top-level field, taking the reference to value (also on failure).
 * Refuses names the schema does not know (a typo is caught here, not by a
 * reader later) and the fields with rules: status, status_history,
 * previous_runs, error (use em_record_set_status), last_attempt (use
 * em_record_note_attempt), schema_version, id and source.
 */
int em_record_set(json_t *rec, const char *field, json_t *value);
/* Shorthands for the common kinds of field. */
int em_record_set_str(json_t *rec, const char *field, const char *value);
int em_record_set_zyx(json_t *rec, const char *field, const uint64_t v[3]);
/*
 * voxel_size_nm and voxel_size_source from z, y, x sizes in nm and their
 * provenance ("file", "archive-api", "config"); an axis whose provenance is
 * NULL or "unknown" is not known: null in voxel_size_nm, "unknown" in
 * voxel_size_source.  With no axis known both fields are removed.  prov
 * NULL: none known.
 */
int em_record_set_voxel_size(json_t *rec, const double nm[3], const char *const prov[3]);
/*
 * The OME-NGFF scale of a store whose voxel size is known on some axes
 * only: NGFF wants a number on every axis, so an unknown one takes the
 * largest known size (it is then drawn no finer than the calibrated axes,
 * and a pyramid halves it with them).  Known axes (as in
 * em_record_set_voxel_size) keep their size.  Returns the number of axes
 * given that placeholder (0 when all are known), or -1 when no axis is
 * known (the store then has no unit and a scale of 1, as NGFF's default).
 */
int em_voxel_store_scale(const double nm[3], const char *const prov[3], double scale[3]);
/* progress: chunks and bytes done of total (total 0 = unknown), and the fraction. */
int em_record_set_progress(json_t *rec, uint64_t chunks_done, uint64_t chunks_total,
    uint64_t bytes_done, uint64_t bytes_total);
/* Append {tool, version, parameters, time} to processing_pipeline (params taken; may be NULL). */
int em_record_add_step(json_t *rec, const char *tool, const char *version, json_t *params);

/*
 * The share of the expected fields present (a number in 0..1); the list
 * is in em-record(5).  If missing is not NULL, it receives a new array of
 * the absent names.
 */
double em_record_completeness(const json_t *rec, json_t **missing);
/* Store quality.completeness and quality.missing, keeping quality.validation. */
int em_record_update_quality(json_t *rec);

/*
 * Load a record file: one JSON object with a known source, a valid id and
 * a known status, at most EM_RECORD_MAX_BYTES.  Not a schema check: that is
 * em-validate's.
 */
json_t *em_record_load(const char *path);
/*
 * The record of <root>/<source>/<id>.json if that file exists (its source
 * and id must match), else a new one (em_record_new).  What a fetcher
 * calls first, so that a volume's history survives re-runs.
 */
json_t *em_record_load_or_new(const char *root, const char *source, const char *id);
/*
 * Begin a run: move the record to processing along legal transitions.
 * From pending: directly.  From complete, failed or cancelled: a new run
 * (see em_record_set_status).  From processing or saving-data - a run that
 * died without recording its end, such as a crash or a kill -9 - that run
 * is first closed as failed with the error "the run did not finish (it
 * stopped in status 'X')", then a new run begins - unless another live
 * process holds the lock of its store (internal_zarr_path, store/lock.h):
 * that run is still going, so -1 with "'<store>' is being written by
 * <host> <pid>: its run (status 'X') is still going", rec unchanged.
 */
int em_record_start(json_t *rec);
/*
 * Write rec pretty-printed to path atomically (temporary file, fsync,
 * rename).  First removes path's temporary files left by processes that
 * are gone from this host (a save killed with SIGKILL before its rename).
 */
int em_record_save(const json_t *rec, const char *path);

/*
 * The record schema the tools validate against: path when given, else
 * $EM_SCHEMA when set, else schemas/metadata_schema.json from the data
 * directory.  The file used goes into used (n bytes) and, when id is not
 * NULL, the schema's $id into *id (malloc'd, NULL when it has none).
 * NULL with the reason ("cannot find schema ...", "cannot read schema
 * 'x': ...", "invalid schema 'x': ...").
 */
struct em_jschema;
struct em_jschema *em_record_schema_load(const char *path, char *used, size_t n, char **id);

#endif
