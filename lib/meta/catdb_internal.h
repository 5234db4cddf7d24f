/* catdb_internal.h - what catdb.c asks of a backend (catdb_sqlite.c, catdb_pg.c) */
#ifndef EM_CATDB_INTERNAL_H
#define EM_CATDB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "meta/catdb.h"

enum catdb_ptype { CATDB_NULL, CATDB_TEXT, CATDB_INT, CATDB_REAL };

/* A bound parameter; text is s (len bytes, borrowed). */
struct catdb_param {
	enum catdb_ptype type;
	const char *s;
	size_t len;
	int64_t i;
	double d;
};

/* Each column of a result row as text (NULL for null); doubles in 17 digits or fewer. */
typedef int (*catdb_row_fn)(void *ctx, int ncol, const char *const *val, const size_t *len);

struct catdb_ops {
	const char *kind;
	/*
	 * Run one statement written with ? placeholders.  row (may be NULL) is
	 * called per result row; *changes (may be NULL) receives the rows an
	 * INSERT or UPDATE changed.  A negative return of row stops and is
	 * returned.  0, or -1 with the database's reason.
	 */
	int (*exec)(struct em_catdb *db, const char *sql, const struct catdb_param *p, size_t np,
	    catdb_row_fn row, void *ctx, uint64_t *changes);
	/* Begin a load: a write transaction that other loads wait for. */
	int (*begin)(struct em_catdb *db);
	void (*close)(struct em_catdb *db);
	/* The WHERE term matching id against a glob parameter, and the pattern for it. */
	const char *glob_sql;
	int (*glob_pattern)(const char *glob, struct em_buf *out);
	/* The function giving the position of its second argument in its first (0 when absent). */
	const char *find_fn;
};

struct em_catdb {
	const struct catdb_ops *ops;
	void *h;		/* sqlite3 * or PGconn * */
	int in_tx;
	char name[512];		/* for messages: the path, or the URI (which has no password) */
};

/* The backends' open functions: the catalog at a path, or at a libpq URI. */
struct em_catdb *em_catdb_sqlite_open(const char *path, enum em_catdb_mode mode);
struct em_catdb *em_catdb_pg_open(const char *uri, enum em_catdb_mode mode);
/* 0 when uri is a libpq URI without a password, -1 with the reason. */
int em_catdb_pg_check(const char *uri);

/*
 * What a catalog of schema version `version` (0: none yet) needs before it
 * is used in mode: 0 nothing, 1 the tables made or migrated, -1 refused (a
 * newer schema, or no tables to read) with the reason.
 */
int catdb_schema_need(long version, enum em_catdb_mode mode);

/* The SQL type of each query column, for the cursor: 't' text, 'r' real, 'i' integer. */
char catdb_col_type(enum em_catdb_col c);

#endif
