/* catdb.h - the catalog database: records keyed by (source, id), their runs, filters and queries, on SQLite or PostgreSQL */
#ifndef EM_CATDB_H
#define EM_CATDB_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * One interface over two backends (catdb_sqlite.c, catdb_pg.c).  The SQL
 * of loading and querying is written once here (catdb.c) with bound
 * parameters only; a backend runs it and differs only in its table
 * definitions, placeholders, glob and substring functions.  Every value a
 * query filters or sorts on is taken out of the record by the same C code
 * when it is loaded (typed columns), and text is compared byte by byte
 * (PostgreSQL columns are COLLATE "C"), so both backends give the same
 * records in the same order.
 *
 * Tables (schema version EM_CATDB_SCHEMA_VERSION, created and migrated by
 * em_catdb_open in write mode):
 *   records  one row per (source, id): the record shown, its typed columns
 *            and its text as loaded (on PostgreSQL also as JSONB with a GIN
 *            index);
 *   runs     one row per run of a volume (its start time): status, start,
 *            end, error, from each loaded record's current run and its
 *            previous_runs, so the history outlives the record's own
 *            bounded list;
 *   meta     the schema version.
 */
#define EM_CATDB_SCHEMA_VERSION 1

/* A filter value at most this long (bytes): longer ones are refused, not searched. */
#define EM_CATDB_MAX_VALUE 4096
/* A cursor: the sort value (up to 16 KiB), source and id, in base64. */
#define EM_CATDB_MAX_CURSOR 32768
/* Words of --text. */
#define EM_CATDB_MAX_WORDS 16
/* Rows a page of the HTTP API may ask for. */
#define EM_CATDB_MAX_PAGE 1000

struct em_catdb;

enum em_catdb_mode {
	EM_CATDB_READ,		/* an existing catalog, read only */
	EM_CATDB_WRITE		/* created or migrated as needed */
};

/*
 * The database named by url: "sqlite:PATH", "postgresql://..." or
 * "postgres://..." (a libpq URI; the password comes from PGPASSWORD,
 * ~/.pgpass or a service file, and a URI carrying one is refused), or a
 * plain path for SQLite.  0 when it names one, -1 with the reason when not
 * (a usage error: nothing was opened).
 */
int em_catdb_url_check(const char *url);

/*
 * Open (and in write mode create or migrate) the catalog.  NULL with the
 * reason: unreachable server, authentication refused, a read-only file in
 * write mode, no catalog there in read mode, a schema newer than this
 * program's.
 */
struct em_catdb *em_catdb_open(const char *url, enum em_catdb_mode mode);
void em_catdb_close(struct em_catdb *db);
/* "sqlite" or "postgresql". */
const char *em_catdb_kind(const struct em_catdb *db);

/*
 * What a record gives the tables, taken out of it by em_catdb_entry_make.
 * Strings are borrowed from the record and the text; the text is the
 * record's JSON as stored and shown (compact, numbers spelled as read).
 */
struct em_catdb_run {
	const char *status, *started, *finished, *error;
	int64_t started_ms, finished_ms;
};

struct em_catdb_entry {
	const char *source, *id, *status, *modality, *organism, *license, *dtype, *title;
	const char *ingested;	/* the time of the last status_history entry */
	int64_t ingested_ms;
	int has_voxel[3], has_shape[3], has_bytes;
	double voxel[3];	/* nm, z y x */
	int64_t shape[3];
	int64_t bytes;
	char *text;		/* description and title, ASCII letters lower-cased (owned) */
	const char *doc;
	size_t doclen;
	char digest[65];	/* SHA-256 of doc */
	struct em_catdb_run *runs;	/* the current run, then previous_runs (owned) */
	size_t nruns;
};

/*
 * Fill e from rec (borrowed, must outlive e) and its text doc.  -1 with the
 * reason when the record lacks what the catalog keys or orders on: a
 * source, an id, a status or a status_history time.
 */
int em_catdb_entry_make(struct em_catdb_entry *e, const json_t *rec, const char *doc,
    size_t doclen);
void em_catdb_entry_free(struct em_catdb_entry *e);

/*
 * A load is one transaction: em_catdb_begin, em_catdb_put for each record,
 * em_catdb_commit (or em_catdb_rollback, which em_catdb_close also does).
 * Loads of the same catalog by several processes are serialized by the
 * database; none loses what another wrote.
 *
 * em_catdb_put keeps the better of the stored record and e for
 * (source, id): a complete one over any other, then the newer by
 * ingest time, then the larger digest (so the outcome does not depend on
 * the order of loads), and adds e's runs to the history.  *changed is 1
 * when anything was written, 0 when the catalog already held it all.
 */
int em_catdb_begin(struct em_catdb *db);
int em_catdb_put(struct em_catdb *db, const struct em_catdb_entry *e, int *changed);
int em_catdb_commit(struct em_catdb *db);
int em_catdb_rollback(struct em_catdb *db);

/* ---- queries ---- */

enum em_catdb_col {
	EM_CATDB_SOURCE, EM_CATDB_ID, EM_CATDB_STATUS, EM_CATDB_MODALITY, EM_CATDB_ORGANISM,
	EM_CATDB_LICENSE, EM_CATDB_DTYPE, EM_CATDB_VOXEL_Z, EM_CATDB_VOXEL_Y, EM_CATDB_VOXEL_X,
	EM_CATDB_SHAPE_Z, EM_CATDB_SHAPE_Y, EM_CATDB_SHAPE_X, EM_CATDB_BYTES,
	EM_CATDB_INGESTED, EM_CATDB_NCOLS
};

struct em_catdb_range {
	int has_min, has_max;
	double min, max;	/* voxel sizes in nm */
	int64_t imin, imax;	/* shapes, bytes, times (ms) */
};

/*
 * The filters of `em-catalog query` and of GET /records.  Strings are
 * borrowed from the caller.  em_catdb_query_init gives "everything, ordered
 * by source then id".
 */
struct em_catdb_query {
	const char *eq[EM_CATDB_NCOLS];	/* equality on text columns (source ... dtype) */
	const char *id_glob;		/* id with * and ? */
	struct em_catdb_range range[EM_CATDB_NCOLS];	/* voxel, shape, bytes, ingested */
	const char *words[EM_CATDB_MAX_WORDS];	/* each in description or title */
	size_t nwords;
	char wordbuf[EM_CATDB_MAX_VALUE + 1];
	enum em_catdb_col sort;
	int desc;
	uint64_t limit;			/* 0 = no limit */
	/* Keyset pagination: rows after this one in the query's order. */
	int has_after;
	int after_null;
	char after_val[16384];
	char after_source[EM_CATDB_MAX_VALUE + 1];
	char after_id[EM_CATDB_MAX_VALUE + 1];
};

void em_catdb_query_init(struct em_catdb_query *q);

/*
 * Set one filter by its name, the same on the command line (--NAME VALUE)
 * and in the HTTP API (?NAME=VALUE): source, id (a glob), status, modality,
 * organism, license, dtype, voxel-z, voxel-y, voxel-x (MIN:MAX in nm,
 * either side may be empty), shape-z, shape-y, shape-x (MIN:MAX voxels),
 * min-bytes, max-bytes, text (words separated by spaces), since, until (an
 * RFC 3339 time or a YYYY-MM-DD date, UTC; since is inclusive, until
 * exclusive), sort (a column name, "-" in front for descending), limit,
 * cursor.  value is len bytes and borrowed (it must outlive q); it must be
 * UTF-8 without NUL and at most EM_CATDB_MAX_VALUE bytes.  0, 1 when name
 * is not a filter, -1 with the reason for a bad value.
 */
int em_catdb_query_set(struct em_catdb_query *q, const char *name, const char *value,
    size_t len);

/* The names em_catdb_query_set takes, NULL-terminated (for usage and the OpenAPI document). */
extern const char *const em_catdb_filter_names[];
/* Column names, indexed by enum em_catdb_col (what sort takes). */
extern const char *const em_catdb_col_names[];

/* One row of a query; every pointer is borrowed until the callback returns. */
struct em_catdb_row {
	const char *col[EM_CATDB_NCOLS];	/* each column as text, NULL when null */
	const char *doc;
	size_t doclen;
	const char *sortval;	/* the sort column as text (NULL when null) */
};

typedef int (*em_catdb_row_fn)(const struct em_catdb_row *row, void *ctx);

/*
 * Run q, calling fn for each row in order; a negative return from fn stops
 * the query and is returned.  The number of rows, or -1.
 */
long em_catdb_query(struct em_catdb *db, const struct em_catdb_query *q, em_catdb_row_fn fn,
    void *ctx);
/* The number of records q matches (limit and cursor ignored). */
int em_catdb_count(struct em_catdb *db, const struct em_catdb_query *q, uint64_t *n);

/*
 * The cursor that continues q after row (a new string, base64url; caller
 * frees), for em_catdb_query_set(q, "cursor", ...).
 */
char *em_catdb_cursor(const struct em_catdb_query *q, const struct em_catdb_row *row);

/* The text of one record: 1 found (*doc new, caller frees), 0 not found, -1 error. */
int em_catdb_get(struct em_catdb *db, const char *source, const char *id, char **doc,
    size_t *len);
/*
 * The runs of one volume, oldest first, as a new array of {status,
 * started, finished, error}: 1 found, 0 no such record, -1 error.
 */
int em_catdb_history(struct em_catdb *db, const char *source, const char *id, json_t **runs);
/*
 * Counts and bytes: {"records", "bytes", "by_source": [{"source", "records",
 * "bytes"}...], "by_status": [...], "by_modality": [...]} (a new object).
 */
json_t *em_catdb_stats(struct em_catdb *db);

/* 1 when s (n bytes) is UTF-8 without NUL. */
int em_utf8_valid(const char *s, size_t n);

#endif
