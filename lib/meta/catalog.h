/* catalog.h - gathering records into the catalog, the validation report and the processing log */
#ifndef EM_CATALOG_H
#define EM_CATALOG_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/diag.h"
#include "core/timefmt.h"
#include "meta/jschema.h"

/*
 * A catalog collects JSON texts that should be records (from files,
 * directory trees or stdin), validates each against a compiled schema, and
 * after em_catalog_finish() gives three outputs (em-consolidate(1)
 * documents their formats):
 *   the catalog: the valid records, sorted by source then id, one per
 *     (source, id), with a summary and the list of rejected texts;
 *   the validation report: one entry per text read, with the schema
 *     errors, completeness score and quality warnings;
 *   the processing log: text lines saying what was read, skipped and why.
 * The outputs do not depend on the order the inputs were added in; only the
 * "generated" time differs between runs over the same inputs.
 * Memory holds a few hundred bytes a text (what sorting, choosing and the
 * summary need); the texts themselves go to an unlinked temporary file in
 * $TMPDIR and are read back one at a time while the outputs are written.
 */
struct em_catalog;

/*
 * A new, empty catalog.  schema is borrowed and must outlive the catalog;
 * schema_id (copied, may be NULL) is written into the outputs to say which
 * schema judged the records.
 */
struct em_catalog *em_catalog_new(const struct em_jschema *schema, const char *schema_id);
void em_catalog_free(struct em_catalog *c);

/*
 * One JSON text that should be a record (taken: the reference is the
 * catalog's, also on failure).  path names the input ("-" for stdin) and
 * text is the 1-based number of the text in it.  Invalid documents are kept
 * and reported, not refused: -1 means out of memory or a finished catalog.
 */
int em_catalog_add(struct em_catalog *c, json_t *doc, const char *path, unsigned long text);
/* An input, or a text of it (text > 0), that could not be read, with the reason. */
int em_catalog_add_unreadable(struct em_catalog *c, const char *path, unsigned long text,
    const char *reason);

/*
 * Read an input: "-" is stdin; a directory is searched recursively for
 * files named *.json, in byte order of the names, without descending into
 * directories named *.zarr or following symbolic links to directories; any
 * other path is a file.  Each file is a stream of JSON texts (one record, or
 * JSON Lines).  Texts of files found by the search that are not records
 * (em_catalog_is_record) are skipped and logged; texts of files named
 * directly are all taken as records.  What cannot be read is recorded with
 * em_catalog_add_unreadable.  -1 only on out of memory.
 */
int em_catalog_add_path(struct em_catalog *c, const char *path);

/*
 * 1 if doc looks like a record, whatever its validity: an object with at
 * least one of schema_version, source, status and status_history.  A
 * zarr.json, a catalog or a report made by this module is not one.
 */
int em_catalog_is_record(const json_t *doc);

/* Append one line to the processing log (a newline is added). */
int em_catalog_logf(struct em_catalog *c, const char *fmt, ...) EM_PRINTF(2, 3);

/*
 * Sort the texts, choose one record per (source, id) among the valid ones
 * - the complete one whose last status_history time is newest, or the
 * newest when none is complete; ties go to the smaller path, then text
 * number - and compute the warnings.  Nothing can be added afterwards.
 */
int em_catalog_finish(struct em_catalog *c);

struct em_catalog_counts {
	size_t read;		/* texts taken as records, plus unreadable inputs */
	size_t valid;		/* valid per the schema */
	size_t invalid;		/* invalid per the schema */
	size_t unreadable;	/* files or texts that could not be read */
	size_t superseded;	/* valid duplicates that lost */
	size_t cataloged;	/* records in the catalog */
	size_t skipped;		/* JSON texts found by the search that are not records */
	size_t warned;		/* texts with at least one warning */
};
void em_catalog_counts(const struct em_catalog *c, struct em_catalog_counts *out);

/* The catalog and the report as new objects (after em_catalog_finish); generated is a time. */
json_t *em_catalog_json(const struct em_catalog *c, const char *generated);
json_t *em_catalog_report(const struct em_catalog *c, const char *generated);
/* The processing log so far (borrowed). */
const char *em_catalog_log(const struct em_catalog *c);


/* The names of the three outputs, made from the time (UTC). */
struct em_catalog_files {
	char catalog[4096];
	char report[4096];
	char log[4096];
};

/*
 * Write the three files into dir (created if needed), named
 * metadata_catalog_<T>.json, validation_report_<T>.json and
 * processing_log_<T>.log with T = YYYYMMDDTHHMMSSZ of now.  All or none:
 * each is written to a temporary name first and the three are renamed into
 * place only when all are written; if a rename fails, the ones already
 * renamed are removed.  The names are stored in files.
 */
int em_catalog_write(struct em_catalog *c, const char *dir, int64_t now,
    struct em_catalog_files *files);

#endif
