/* catdb_pg.c - the catalog database on a PostgreSQL server (libpq): tables with JSONB, statements, globs */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/buf.h"
#include "core/diag.h"
#include "meta/catdb.h"
#include "meta/catdb_internal.h"
#include "core/banned.h"

/* The advisory lock every load and migration holds: loads of one catalog take turns. */
#define LOCK_KEY "6835531582514292"
/* Seconds to wait for the server when the URI does not say. */
#define CONNECT_TIMEOUT "10"
#define MAX_PARAMS 64

/*
 * Text compares byte by byte (COLLATE "C"), as SQLite's does, whatever the
 * database's locale: both backends sort alike.  The record is kept as the
 * text it was loaded as (what queries give back) and as JSONB for the
 * server's own JSON queries.
 */
static const char *const schema_v1[] = {
	"CREATE TABLE IF NOT EXISTS meta (key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL)",
	"CREATE TABLE IF NOT EXISTS records ("
	"source text COLLATE \"C\" NOT NULL, id text COLLATE \"C\" NOT NULL, "
	"status text COLLATE \"C\" NOT NULL, modality text COLLATE \"C\", "
	"organism text COLLATE \"C\", license text COLLATE \"C\", dtype text COLLATE \"C\", "
	"voxel_z double precision, voxel_y double precision, voxel_x double precision, "
	"shape_z bigint, shape_y bigint, shape_x bigint, bytes bigint, "
	"ingested text NOT NULL, ingested_ms bigint NOT NULL, complete integer NOT NULL, "
	"words text COLLATE \"C\" NOT NULL, digest text COLLATE \"C\" NOT NULL, doc text NOT NULL, "
	"record jsonb GENERATED ALWAYS AS (doc::jsonb) STORED, "
	"PRIMARY KEY (source, id))",
	"CREATE INDEX IF NOT EXISTS records_record ON records USING GIN (record jsonb_path_ops)",
	"CREATE INDEX IF NOT EXISTS records_modality ON records (modality, voxel_z)",
	"CREATE INDEX IF NOT EXISTS records_status ON records (status)",
	"CREATE INDEX IF NOT EXISTS records_ingested ON records (ingested_ms)",
	"CREATE INDEX IF NOT EXISTS records_voxel ON records (voxel_z, voxel_y, voxel_x)",
	"CREATE TABLE IF NOT EXISTS runs ("
	"source text COLLATE \"C\" NOT NULL, id text COLLATE \"C\" NOT NULL, "
	"started_ms bigint NOT NULL, started text NOT NULL, finished_ms bigint NOT NULL, "
	"finished text NOT NULL, final integer NOT NULL, status text COLLATE \"C\" NOT NULL, "
	"error text COLLATE \"C\" NOT NULL, PRIMARY KEY (source, id, started_ms))",
	NULL
};

static PGconn *
H(struct em_catdb *db)
{
	return db->h;
}

/* libpq's message on one line, without its trailing newline. */
static int
pg_fail(const char *msg)
{
	char buf[1024];
	size_t i, n;

	snprintf(buf, sizeof(buf), "%s", msg && *msg ? msg : "unknown error");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
	return em_fail("%s", buf);
}

/* Notices ("relation already exists, skipping") go to the debug log, not to stderr. */
static void
on_notice(void *arg, const char *msg)
{
	(void)arg;
	em_debug("postgresql: %s", msg);
}

static int
to_dollars(const char *sql, struct em_buf *out)
{
	int n = 0;

	for (; *sql != '\0'; sql++) {
		if (*sql == '?') {
			if (em_buf_addf(out, "$%d", ++n) < 0)
				return -1;
		} else if (em_buf_addch(out, *sql) < 0) {
			return -1;
		}
	}
	return em_buf_addstr(out, "");
}

static int
pg_exec(struct em_catdb *db, const char *sql, const struct catdb_param *p, size_t np,
    catdb_row_fn row, void *ctx, uint64_t *changes)
{
	struct em_buf text = EM_BUF_INIT(1 << 20);
	const char *vals[MAX_PARAMS];
	char num[MAX_PARAMS][32];
	const char *cv[64];
	size_t cl[64];
	PGresult *res;
	int ret = 0, ncol, c, stop = 0;
	size_t i;

	if (np > MAX_PARAMS)
		return em_fail("too many parameters");
	if (to_dollars(sql, &text) < 0)
		return -1;
	for (i = 0; i < np; i++) {
		switch (p[i].type) {
		case CATDB_NULL:
			vals[i] = NULL;
			break;
		case CATDB_TEXT:
			vals[i] = p[i].s;
			break;
		case CATDB_INT:
			snprintf(num[i], sizeof(num[i]), "%" PRId64, p[i].i);
			vals[i] = num[i];
			break;
		default:
			snprintf(num[i], sizeof(num[i]), "%.17g", p[i].d);
			vals[i] = num[i];
			break;
		}
	}
	if (!PQsendQueryParams(H(db), em_buf_cstr(&text), (int)np, NULL, vals, NULL, NULL, 0)) {
		em_buf_release(&text);
		return pg_fail(PQerrorMessage(H(db)));
	}
	em_buf_release(&text);
	/* Row by row: a query over every record does not hold them all in memory. */
	if (row != NULL)
		PQsetSingleRowMode(H(db));
	while ((res = PQgetResult(H(db))) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
			ncol = PQnfields(res);
			if (ncol > 64 && ret == 0)
				ret = em_fail("too many columns");
			for (int r = 0; r < PQntuples(res) && ret == 0 && !stop && row != NULL; r++) {
				for (c = 0; c < ncol; c++) {
					cv[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
					cl[c] = (size_t)PQgetlength(res, r, c);
				}
				if ((c = row(ctx, ncol, cv, cl)) < 0) {
					ret = c;
					stop = 1;
				}
			}
		} else if (st == PGRES_COMMAND_OK) {
			if (changes != NULL)
				*changes = strtoull(PQcmdTuples(res), NULL, 10);
		} else if (ret == 0) {
			ret = pg_fail(PQresultErrorMessage(res));
		}
		PQclear(res);
	}
	return ret;
}

static int
pg_begin(struct em_catdb *db)
{
	if (pg_exec(db, "BEGIN", NULL, 0, NULL, NULL, NULL) < 0)
		return -1;
	if (pg_exec(db, "SELECT pg_advisory_xact_lock(" LOCK_KEY ")", NULL, 0, NULL, NULL,
	    NULL) < 0) {
		pg_exec(db, "ROLLBACK", NULL, 0, NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static void
pg_close(struct em_catdb *db)
{
	PQfinish(H(db));
	free(db);
}

/* * and ? to LIKE's % and _; LIKE's own %, _ and the escape are made literal. */
static int
pg_glob(const char *glob, struct em_buf *out)
{
	const char *p;

	em_buf_reset(out);
	for (p = glob; *p != '\0'; p++) {
		int lit = 0;

		if (*p == '\\' && p[1] != '\0') {
			p++;
			lit = 1;
		}
		if (!lit && *p == '*')
			em_buf_addch(out, '%');
		else if (!lit && *p == '?')
			em_buf_addch(out, '_');
		else if (*p == '%' || *p == '_' || *p == '\\')
			em_buf_addch(out, '\\'), em_buf_addch(out, *p);
		else if (em_buf_addch(out, *p) < 0)
			return -1;
	}
	return em_buf_addstr(out, "");
}

static const struct catdb_ops pg_ops = {
	"postgresql", pg_exec, pg_begin, pg_close, "id LIKE ? ESCAPE '\\'", pg_glob, "strpos",
};

int
em_catdb_pg_check(const char *uri)
{
	PQconninfoOption *opts, *o;
	char *err = NULL;
	int rc = 0;

	if ((opts = PQconninfoParse(uri, &err)) == NULL) {
		rc = err ? pg_fail(err) : em_fail("out of memory");
		PQfreemem(err);
		return rc;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
			rc = em_fail("a password in the URL is refused (it would show in ps and "
			    "logs): use PGPASSWORD, ~/.pgpass or a service file");
	PQconninfoFree(opts);
	return rc;
}

static int
on_version(void *ctx, int ncol, const char *const *val, const size_t *len)
{
	(void)len;
	if (ncol == 1 && val[0] != NULL)
		*(long *)ctx = strtol(val[0], NULL, 10);
	return 0;
}

static int
pg_schema(struct em_catdb *db, enum em_catdb_mode mode)
{
	long version = 0, have = 0;
	int need;
	char why[1024];
	size_t i;

	if (pg_exec(db, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = "
	    "current_schema() AND tablename = 'meta'", NULL, 0, on_version, &have, NULL) < 0)
		return -1;
	if (have && pg_exec(db, "SELECT value FROM meta WHERE key = 'schema_version'", NULL, 0,
	    on_version, &version, NULL) < 0)
		return -1;
	if ((need = catdb_schema_need(version, mode)) <= 0)
		return need;
	if (pg_begin(db) < 0)
		return -1;
	for (i = 0; schema_v1[i] != NULL; i++)
		if (pg_exec(db, schema_v1[i], NULL, 0, NULL, NULL, NULL) < 0)
			goto fail;
	if (pg_exec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', '1') "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", NULL, 0, NULL, NULL,
	    NULL) < 0 || pg_exec(db, "COMMIT", NULL, 0, NULL, NULL, NULL) < 0)
		goto fail;
	return 0;
fail:
	snprintf(why, sizeof(why), "%s", em_errmsg());
	pg_exec(db, "ROLLBACK", NULL, 0, NULL, NULL, NULL);
	return em_fail("%s", why);
}

struct em_catdb *
em_catdb_pg_open(const char *uri, enum em_catdb_mode mode)
{
	/* The URI's own settings come after ours and win (expand_dbname). */
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { CONNECT_TIMEOUT, "em-catalog", uri, NULL };
	struct em_catdb *db;
	PGconn *conn;

	if (em_catdb_pg_check(uri) < 0)
		return NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	db->ops = &pg_ops;
	snprintf(db->name, sizeof(db->name), "%s", uri);
	conn = PQconnectdbParams(keys, vals, 1);
	db->h = conn;
	if (conn == NULL) {
		em_fail("out of memory");
		free(db);
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		pg_fail(PQerrorMessage(conn));
		pg_close(db);
		return NULL;
	}
	PQsetNoticeProcessor(conn, on_notice, NULL);
	if (PQsetClientEncoding(conn, "UTF8") != 0) {
		pg_fail(PQerrorMessage(conn));
		pg_close(db);
		return NULL;
	}
	if (pg_schema(db, mode) < 0) {
		pg_close(db);
		return NULL;
	}
	return db;
}
