/* catdb_load.h - reading records from files, trees or stdin into the catalog database, each checked against the schema */
#ifndef EM_CATDB_LOAD_H
#define EM_CATDB_LOAD_H

#include "meta/catdb.h"
#include "meta/jschema.h"

struct em_catdb_load_stats {
	unsigned long read;		/* texts taken as records */
	unsigned long loaded;		/* written: new, or better than the stored version */
	unsigned long unchanged;	/* the catalog held them already */
	unsigned long invalid;		/* refused by the schema */
	unsigned long unreadable;	/* files or texts that could not be read */
	unsigned long skipped;		/* JSON texts found by a search that are not records */
};

/*
 * Told of each record not loaded: the input ("<stdin>" for stdin), the
 * number of the text in it (0 for the whole input), the reason, and the
 * schema's errors when it refused the record (else NULL).
 */
typedef void (*em_catdb_report_fn)(void *ctx, const char *input, unsigned long text,
    const char *why, const struct em_jschema_errors *errs);

/*
 * Load path into db, inside a load the caller began (em_catdb_begin): "-"
 * is stdin; a directory is searched as em-consolidate searches it (files
 * named *.json, not inside *.zarr directories, texts that are not records
 * skipped); any other path is a stream of records (one, or JSON Lines).
 * Each record is validated against schema first; invalid and unreadable
 * ones are reported and counted in st, and the rest still loaded.  -1 only
 * when the database failed: the caller rolls the load back.
 */
int em_catdb_load_path(struct em_catdb *db, const struct em_jschema *schema, const char *path,
    em_catdb_report_fn report, void *ctx, struct em_catdb_load_stats *st);

#endif
