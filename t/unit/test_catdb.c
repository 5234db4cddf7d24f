/* test_catdb.c - the catalog database on SQLite: upserts, which version wins, runs, filters, cursors, UTF-8 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "core/diag.h"
#include "meta/catdb.h"

static char dbpath[64];

static void
setup(void)
{
	snprintf(dbpath, sizeof(dbpath), "/tmp/test_catdb.%ld.db", (long)getpid());
	unlink(dbpath);
}

static void
teardown(void)
{
	char p[80];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

/* A record text: source, id, status, first and last history times, modality, voxel z, error. */
static char *
rec(const char *source, const char *id, const char *status, const char *t0, const char *t1,
    const char *modality, double vz, const char *error)
{
	json_t *r = json_pack("{s:i,s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s}],s:[f,i,i],s:[i,i,i]}",
	    "schema_version", 1, "id", id, "source", source, "status", status, "status_history",
	    "status", "processing", "time", t0, "status", status, "time", t1, "voxel_size_nm", vz, 8,
	    8, "volume_shape", 10, 20, 30);
	char *s;

	if (modality)
		json_object_set_new(r, "modality", json_string(modality));
	if (error)
		json_object_set_new(r, "error", json_string(error));
	s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r);
	return s;
}

/* Load texts in one transaction; the number of records written. */
static int
load(struct em_catdb *db, char **texts, size_t n)
{
	int total = 0, changed;
	size_t i;

	ck_assert_int_eq(em_catdb_begin(db), 0);
	for (i = 0; i < n; i++) {
		struct em_catdb_entry e;
		json_t *r = json_loads(texts[i], 0, NULL);

		ck_assert_ptr_nonnull(r);
		ck_assert_msg(em_catdb_entry_make(&e, r, texts[i], strlen(texts[i])) == 0, "%s",
		    em_errmsg());
		ck_assert_msg(em_catdb_put(db, &e, &changed) == 0, "%s", em_errmsg());
		total += changed;
		em_catdb_entry_free(&e);
		json_decref(r);
	}
	ck_assert_int_eq(em_catdb_commit(db), 0);
	return total;
}

struct collect {
	char ids[64][32];
	char *cursor[64];
	const struct em_catdb_query *q;
	int n;
};

static int
on_row(const struct em_catdb_row *r, void *ctx)
{
	struct collect *c = ctx;

	snprintf(c->ids[c->n], sizeof(c->ids[c->n]), "%s/%s", r->col[EM_CATDB_SOURCE],
	    r->col[EM_CATDB_ID]);
	c->cursor[c->n] = em_catdb_cursor(c->q, r);
	c->n++;
	return 0;
}

static void
collect_free(struct collect *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		free(c->cursor[i]);
	c->n = 0;
}

START_TEST(upsert_and_history)
{
	char *v[6];
	struct em_catdb *db;
	struct em_catdb_query q;
	uint64_t n;
	char *doc = NULL;
	json_t *runs = NULL;

	v[0] = rec("dvid", "a", "complete", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z",
	    "FIB-SEM", 8, NULL);
	/* A newer run that failed must not hide the complete one. */
	v[1] = rec("dvid", "a", "failed", "2026-02-01T00:00:00Z", "2026-02-01T00:10:00Z",
	    "FIB-SEM", 8, "boom");
	v[2] = rec("idr", "b", "processing", "2026-01-05T00:00:00Z", "2026-01-05T00:01:00Z", NULL,
	    20, NULL);
	/* The same run of b, finished later: replaces the in-progress version. */
	v[3] = rec("idr", "b", "complete", "2026-01-05T00:00:00Z", "2026-01-05T02:00:00Z",
	    "SBF-SEM", 20, NULL);
	db = em_catdb_open(dbpath, EM_CATDB_WRITE);
	ck_assert_msg(db != NULL, "%s", em_errmsg());
	ck_assert_str_eq(em_catdb_kind(db), "sqlite");
	ck_assert_int_eq(load(db, v, 4), 4);
	/* Again: nothing changes. */
	ck_assert_int_eq(load(db, v, 4), 0);

	ck_assert_int_eq(em_catdb_get(db, "dvid", "a", &doc, NULL), 1);
	ck_assert_str_eq(doc, v[0]);
	free(doc);
	ck_assert_int_eq(em_catdb_get(db, "idr", "b", &doc, NULL), 1);
	ck_assert_str_eq(doc, v[3]);
	free(doc);
	ck_assert_int_eq(em_catdb_get(db, "idr", "nosuch", &doc, NULL), 0);

	ck_assert_int_eq(em_catdb_history(db, "dvid", "a", &runs), 1);
	ck_assert_int_eq(json_array_size(runs), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "status")),
	    "complete");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 1), "error")),
	    "boom");
	json_decref(runs);
	ck_assert_int_eq(em_catdb_history(db, "idr", "b", &runs), 1);
	ck_assert_int_eq(json_array_size(runs), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "status")),
	    "complete");
	json_decref(runs);

	em_catdb_query_init(&q);
	ck_assert_int_eq(em_catdb_query_set(&q, "status", "complete", 8), 0);
	ck_assert_int_eq(em_catdb_count(db, &q, &n), 0);
	ck_assert_int_eq(n, 2);
	em_catdb_close(db);
	free(v[0]);
	free(v[1]);
	free(v[2]);
	free(v[3]);
}
END_TEST

START_TEST(filters_sort_cursor)
{
	static const struct { const char *src, *id, *mod; double vz; } rows[] = {
		{ "empiar", "x1", "FIB-SEM", 4 }, { "empiar", "x2", "FIB-SEM", 8 },
		{ "epfl", "x_3", "FIB-SEM", 8 }, { "idr", "x%4", NULL, 20 },
		{ "dvid", "y5", "SBF-SEM", 2.96 }, { "openorganelle", "x6", "FIB-SEM", 8 },
	};
	char *v[6];
	struct em_catdb *db;
	struct em_catdb_query q;
	struct collect c;
	size_t i;
	int k;

	for (i = 0; i < 6; i++)
		v[i] = rec(rows[i].src, rows[i].id, "complete", "2026-01-01T00:00:00Z",
		    "2026-01-01T00:00:01Z", rows[i].mod, rows[i].vz, NULL);
	db = em_catdb_open(dbpath, EM_CATDB_WRITE);
	ck_assert_ptr_nonnull(db);
	load(db, v, 6);

	memset(&c, 0, sizeof(c));
	em_catdb_query_init(&q);
	c.q = &q;
	ck_assert_int_eq(em_catdb_query_set(&q, "modality", "FIB-SEM", 7), 0);
	ck_assert_int_eq(em_catdb_query_set(&q, "voxel-z", "5:", 2), 0);
	ck_assert_int_eq(em_catdb_query_set(&q, "sort", "-voxel_z", 8), 0);
	ck_assert_int_eq(em_catdb_query(db, &q, on_row, &c), 3);
	ck_assert_str_eq(c.ids[0], "empiar/x2");	/* ties by source, then id */
	ck_assert_str_eq(c.ids[1], "epfl/x_3");
	ck_assert_str_eq(c.ids[2], "openorganelle/x6");
	collect_free(&c);

	/* Globs: * and ?; % and _ are plain characters. */
	em_catdb_query_init(&q);
	ck_assert_int_eq(em_catdb_query_set(&q, "id", "x?", 2), 0);
	ck_assert_int_eq(em_catdb_query(db, &q, on_row, &c), 3);
	collect_free(&c);
	em_catdb_query_set(&q, "id", "x_*", 3);
	ck_assert_int_eq(em_catdb_query(db, &q, on_row, &c), 1);
	ck_assert_str_eq(c.ids[0], "epfl/x_3");
	collect_free(&c);
	em_catdb_query_set(&q, "id", "%", 1);
	ck_assert_int_eq(em_catdb_query(db, &q, on_row, &c), 0);
	em_catdb_query_set(&q, "id", "x%*", 3);
	ck_assert_int_eq(em_catdb_query(db, &q, on_row, &c), 1);
	collect_free(&c);

	/* Pages of two through the cursor: every row once, nulls last. */
	em_catdb_query_init(&q);
	em_catdb_query_set(&q, "sort", "modality", 8);
	ck_assert_int_eq(em_catdb_query(db, &q, on_row, &c), 6);
	ck_assert_str_eq(c.ids[5], "idr/x%4");
	{
		char all[6][32], *cur = NULL;
		int got = 0;

		for (k = 0; k < 6; k++)
			snprintf(all[k], sizeof(all[k]), "%s", c.ids[k]);
		collect_free(&c);
		for (;;) {
			struct em_catdb_query p;

			em_catdb_query_init(&p);
			c.q = &p;
			em_catdb_query_set(&p, "sort", "modality", 8);
			em_catdb_query_set(&p, "limit", "2", 1);
			if (cur)
				ck_assert_msg(em_catdb_query_set(&p, "cursor", cur, strlen(cur)) == 0, "%s",
				    em_errmsg());
			free(cur);
			cur = NULL;
			ck_assert_int_ge(em_catdb_query(db, &p, on_row, &c), 0);
			if (c.n == 0)
				break;
			for (k = 0; k < c.n; k++)
				ck_assert_str_eq(c.ids[k], all[got++]);
			cur = strdup(c.cursor[c.n - 1]);
			collect_free(&c);
		}
		ck_assert_int_eq(got, 6);
	}
	em_catdb_close(db);
	for (i = 0; i < 6; i++)
		free(v[i]);
}
END_TEST

START_TEST(bad_values)
{
	struct em_catdb_query q;

	em_catdb_query_init(&q);
	ck_assert_int_eq(em_catdb_query_set(&q, "voxel-z", "5", 1), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "voxel-z", ":", 1), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "voxel-z", "a:b", 3), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "shape-z", "1.5:", 4), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "since", "yesterday", 9), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "sort", "doc", 3), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "limit", "0", 1), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "cursor", "!!", 2), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "nosuch", "x", 1), 1);
	ck_assert_int_eq(em_catdb_query_set(&q, "source", "a\0b", 3), -1);
	ck_assert_int_eq(em_catdb_query_set(&q, "source", "\xff", 1), -1);
	ck_assert(em_utf8_valid("\xc3\xa9", 2));
	ck_assert(!em_utf8_valid("\xc0\xaf", 2));	/* overlong */
	ck_assert(!em_utf8_valid("\xed\xa0\x80", 3));	/* a surrogate */
	ck_assert(!em_utf8_valid("\xe2\x82", 2));	/* cut short */
	ck_assert_int_eq(em_catdb_url_check("mysql://h/d"), -1);
	ck_assert_int_eq(em_catdb_url_check("postgresql://u:pw@h/d"), -1);
	ck_assert_int_eq(em_catdb_url_check("postgresql://u@h/d"), 0);
	ck_assert_int_eq(em_catdb_url_check("sqlite:"), -1);
	ck_assert_int_eq(em_catdb_url_check("some/file.db"), 0);
	/* Reading a catalog that is not there does not make one. */
	ck_assert_ptr_null(em_catdb_open(dbpath, EM_CATDB_READ));
	ck_assert_int_eq(access(dbpath, F_OK), -1);
}
END_TEST

Suite *
catdb_suite(void)
{
	Suite *s = suite_create("catdb");
	TCase *tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, upsert_and_history);
	tcase_add_test(tc, filters_sort_cursor);
	tcase_add_test(tc, bad_values);
	suite_add_tcase(s, tc);
	return s;
}
