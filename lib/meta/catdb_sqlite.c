/* catdb_sqlite.c - the catalog database in one SQLite file (WAL mode): tables, statements, globs */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "meta/catdb.h"
#include "meta/catdb_internal.h"
#include "core/banned.h"

/* A load waits this long for another load of the same file to finish. */
#define BUSY_MS 120000

static const char *const schema_v1[] = {
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS records ("
	"source TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, modality TEXT, "
	"organism TEXT, license TEXT, dtype TEXT, voxel_z REAL, voxel_y REAL, voxel_x REAL, "
	"shape_z INTEGER, shape_y INTEGER, shape_x INTEGER, bytes INTEGER, "
	"ingested TEXT NOT NULL, ingested_ms INTEGER NOT NULL, complete INTEGER NOT NULL, "
	"words TEXT NOT NULL, digest TEXT NOT NULL, doc TEXT NOT NULL, "
	"PRIMARY KEY (source, id))",
	"CREATE INDEX IF NOT EXISTS records_modality ON records (modality, voxel_z)",
	"CREATE INDEX IF NOT EXISTS records_status ON records (status)",
	"CREATE INDEX IF NOT EXISTS records_ingested ON records (ingested_ms)",
	"CREATE INDEX IF NOT EXISTS records_voxel ON records (voxel_z, voxel_y, voxel_x)",
	"CREATE TABLE IF NOT EXISTS runs ("
	"source TEXT NOT NULL, id TEXT NOT NULL, started_ms INTEGER NOT NULL, "
	"started TEXT NOT NULL, finished_ms INTEGER NOT NULL, finished TEXT NOT NULL, "
	"final INTEGER NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL, "
	"PRIMARY KEY (source, id, started_ms))",
	NULL
};

/*
 * A load runs the same two statements for every record: they are prepared
 * once and kept (parsing them each time took a third of a load).
 */
#define NCACHE 8

struct sq {
	sqlite3 *h;
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[NCACHE];
	int next;
	int busy;	/* the last failure was another connection's lock */
};

static sqlite3 *
H(struct em_catdb *db)
{
	return ((struct sq *)db->h)->h;
}

/* A prepared statement for sql, from the cache or new (then cached in place of the oldest). */
static sqlite3_stmt *
prepare(struct em_catdb *db, const char *sql)
{
	struct sq *q = db->h;
	sqlite3_stmt *st = NULL;
	char *copy;
	int i;

	for (i = 0; i < NCACHE; i++)
		if (q->cache[i].sql != NULL && strcmp(q->cache[i].sql, sql) == 0)
			return q->cache[i].st;
	if (sqlite3_prepare_v2(q->h, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if ((copy = strdup(sql)) == NULL) {
		sqlite3_finalize(st);
		return NULL;
	}
	i = q->next;
	q->next = (q->next + 1) % NCACHE;
	free(q->cache[i].sql);
	sqlite3_finalize(q->cache[i].st);
	q->cache[i].sql = copy;
	q->cache[i].st = st;
	return st;
}

static int
db_fail(struct em_catdb *db, const char *what)
{
	int code = sqlite3_errcode(H(db)) & 0xff;

	((struct sq *)db->h)->busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
	return em_fail("%s: %s", what, sqlite3_errmsg(H(db)));
}

static int
sq_exec(struct em_catdb *db, const char *sql, const struct catdb_param *p, size_t np,
    catdb_row_fn row, void *ctx, uint64_t *changes)
{
	sqlite3_stmt *st = NULL;
	const char *val[64];
	size_t len[64];
	char num[64][32];
	int rc, ret = -1, ncol, c;
	size_t i;

	if ((st = prepare(db, sql)) == NULL)
		return db_fail(db, "cannot prepare a statement");
	for (i = 0; i < np; i++) {
		int k = (int)i + 1;

		switch (p[i].type) {
		case CATDB_NULL:
			rc = sqlite3_bind_null(st, k);
			break;
		case CATDB_TEXT:
			rc = sqlite3_bind_text64(st, k, p[i].s, p[i].len, SQLITE_STATIC, SQLITE_UTF8);
			break;
		case CATDB_INT:
			rc = sqlite3_bind_int64(st, k, p[i].i);
			break;
		default:
			rc = sqlite3_bind_double(st, k, p[i].d);
			break;
		}
		if (rc != SQLITE_OK) {
			db_fail(db, "cannot bind a value");
			goto out;
		}
	}
	ncol = sqlite3_column_count(st);
	if (ncol > 64) {
		em_fail("too many columns");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row == NULL)
			continue;
		for (c = 0; c < ncol; c++) {
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_NULL:
				val[c] = NULL;
				len[c] = 0;
				break;
			case SQLITE_FLOAT:
				/* 17 significant digits read back as the same double. */
				len[c] = (size_t)snprintf(num[c], sizeof(num[c]), "%.17g",
				    sqlite3_column_double(st, c));
				val[c] = num[c];
				break;
			case SQLITE_INTEGER:
				len[c] = (size_t)snprintf(num[c], sizeof(num[c]), "%lld",
				    (long long)sqlite3_column_int64(st, c));
				val[c] = num[c];
				break;
			default:
				val[c] = (const char *)sqlite3_column_text(st, c);
				len[c] = (size_t)sqlite3_column_bytes(st, c);
				if (val[c] == NULL)
					val[c] = "";
				break;
			}
		}
		if ((rc = row(ctx, ncol, val, len)) < 0) {
			ret = rc;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		db_fail(db, "cannot run a statement");
		goto out;
	}
	if (changes != NULL)
		*changes = (uint64_t)sqlite3_changes(H(db));
	ret = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static int
sq_begin(struct em_catdb *db)
{
	/* IMMEDIATE takes the write lock now: a second load waits here, not mid-way. */
	return sq_exec(db, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL, NULL);
}

static void
sq_close(struct em_catdb *db)
{
	struct sq *q = db->h;
	int i;

	if (q != NULL) {
		for (i = 0; i < NCACHE; i++) {
			free(q->cache[i].sql);
			sqlite3_finalize(q->cache[i].st);
		}
		sqlite3_close(q->h);
		free(q);
	}
	free(db);
}

/* Our globs have * and ? only; GLOB's [ is made literal. */
static int
sq_glob(const char *glob, struct em_buf *out)
{
	const char *p;

	em_buf_reset(out);
	for (p = glob; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			if (*p == '*' || *p == '?' || *p == '[')
				em_buf_addch(out, '['), em_buf_addch(out, *p), em_buf_addch(out, ']');
			else
				em_buf_addch(out, *p);
		} else if (*p == '[') {
			em_buf_addstr(out, "[[]");
		} else if (em_buf_addch(out, *p) < 0) {
			return -1;
		}
	}
	return em_buf_addstr(out, "");
}

static const struct catdb_ops sqlite_ops = {
	"sqlite", sq_exec, sq_begin, sq_close, "id GLOB ?", sq_glob, "instr",
};

static int
on_version(void *ctx, int ncol, const char *const *val, const size_t *len)
{
	(void)len;
	if (ncol == 1 && val[0] != NULL)
		*(long *)ctx = strtol(val[0], NULL, 10);
	return 0;
}

static int
on_table(void *ctx, int ncol, const char *const *val, const size_t *len)
{
	(void)ncol;
	(void)val;
	(void)len;
	*(int *)ctx = 1;
	return 0;
}

/* Create the tables, or check that those there are a version this program knows. */
static int
sq_schema(struct em_catdb *db, enum em_catdb_mode mode)
{
	long version = 0;
	int have = 0;
	int need;
	size_t i;
	char v[16];

	if (sq_exec(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'", NULL,
	    0, on_table, &have, NULL) < 0)
		return -1;
	if (have && sq_exec(db, "SELECT value FROM meta WHERE key = 'schema_version'", NULL, 0,
	    on_version, &version, NULL) < 0)
		return -1;
	if ((need = catdb_schema_need(version, mode)) <= 0)
		return need;
	if (sq_begin(db) < 0)
		return -1;
	for (i = 0; schema_v1[i] != NULL; i++)
		if (sq_exec(db, schema_v1[i], NULL, 0, NULL, NULL, NULL) < 0)
			goto fail;
	snprintf(v, sizeof(v), "%d", EM_CATDB_SCHEMA_VERSION);
	{
		struct catdb_param p = { CATDB_TEXT, v, strlen(v), 0, 0 };

		if (sq_exec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
		    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", &p, 1, NULL, NULL,
		    NULL) < 0)
			goto fail;
	}
	if (sq_exec(db, "COMMIT", NULL, 0, NULL, NULL, NULL) < 0)
		goto fail;
	return 0;
fail:
	{
		char why[512];

		snprintf(why, sizeof(why), "%s", em_errmsg());
		sq_exec(db, "ROLLBACK", NULL, 0, NULL, NULL, NULL);
		return em_fail("%s", why);
	}
}

/*
 * The pragmas and the schema, run on every open.  Pages of 16 KiB hold a
 * record (a few kB) without overflow pages, and reads through mmap save a
 * copy per page: together they make a query that returns many records
 * several times faster.  page_size only takes effect on a new file, before
 * WAL mode is set; WAL lets readers (serve, query) go on while a load writes.
 */
static int
sq_setup(struct em_catdb *db, enum em_catdb_mode mode)
{
	if (sq_exec(db, "PRAGMA mmap_size = 1073741824", NULL, 0, NULL, NULL, NULL) < 0 ||
	    (mode == EM_CATDB_WRITE &&
	    sq_exec(db, "PRAGMA page_size = 16384", NULL, 0, NULL, NULL, NULL) < 0))
		return -1;
	if (mode == EM_CATDB_WRITE &&
	    (sq_exec(db, "PRAGMA journal_mode = WAL", NULL, 0, NULL, NULL, NULL) < 0 ||
	    sq_exec(db, "PRAGMA synchronous = NORMAL", NULL, 0, NULL, NULL, NULL) < 0))
		return -1;
	return sq_schema(db, mode);
}

struct em_catdb *
em_catdb_sqlite_open(const char *path, enum em_catdb_mode mode)
{
	struct em_catdb *db = NULL;
	struct sq *q = NULL;
	sqlite3 *h = NULL;
	int flags = mode == EM_CATDB_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
	    SQLITE_OPEN_READONLY;
	char dir[4096];
	char *slash;
	struct stat st;
	long waited_ms = 0;

	if (mode == EM_CATDB_READ && access(path, F_OK) < 0) {
		if (errno == ENOENT)
			em_fail("no such file (em-catalog load makes one; --db or "
			    "EM_CATALOG_DB names another)");
		else
			em_fail("%s", strerror(errno));
		return NULL;
	}
	if (mode == EM_CATDB_WRITE) {
		/* The default catalog/catalog.db: its directory is made as em-consolidate's is. */
		snprintf(dir, sizeof(dir), "%s", path);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (em_mkdir_p(dir) < 0)
				return NULL;
		}
		/*
		 * No write bit means read-only, also for root (whom access(2)
		 * would let write): the owner made it so on purpose.
		 */
		if (stat(path, &st) == 0 && ((st.st_mode & 0222) == 0 || access(path, W_OK) < 0)) {
			em_fail("the file is read-only");
			return NULL;
		}
	}
	if ((db = calloc(1, sizeof(*db))) == NULL || (q = calloc(1, sizeof(*q))) == NULL) {
		free(db);
		em_fail("out of memory");
		return NULL;
	}
	db->ops = &sqlite_ops;
	snprintf(db->name, sizeof(db->name), "%s", path);
	if (sqlite3_open_v2(path, &h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		em_fail("%s", h ? sqlite3_errmsg(h) : "out of memory");
		sqlite3_close(h);
		free(q);
		free(db);
		return NULL;
	}
	q->h = h;
	db->h = q;
	sqlite3_busy_timeout(h, BUSY_MS);
	sqlite3_extended_result_codes(h, 1);
	if (mode == EM_CATDB_WRITE && sqlite3_db_readonly(h, "main") == 1) {
		em_fail("the file is read-only");
		goto fail;
	}
	for (;;) {
		struct timespec ts = { 0, 20 * 1000000L };

		q->busy = 0;
		if (sq_setup(db, mode) == 0)
			break;
		/*
		 * Two loads creating the same file at once: the one that is not
		 * switching it to WAL can be told "locked" at once, without the
		 * busy handler (SQLite will not wait where waiting could
		 * deadlock).  Try again, as the busy handler would have.
		 */
		if (!q->busy || waited_ms >= BUSY_MS)
			goto fail;
		nanosleep(&ts, NULL);
		waited_ms += 20;
	}
	return db;
fail:
	sq_close(db);
	return NULL;
}
