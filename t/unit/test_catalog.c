/* test_catalog.c - the catalog: order, summary sums, duplicates, warnings, times, output files */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "meta/catalog.h"
#include "core/diag.h"
#include "meta/jschema.h"
#include "core/jsonio.h"

#define RECORDS "t/data/records/"

static struct em_jschema *schema;
static char dir[64];

static void
setup(void)
{
	json_t *js = em_json_load_file("schemas/metadata_schema.json", 16u << 20);

	/* Invalid records are said through the log hook too; the tests look at the outputs. */
	em_log_set_level(EM_LOG_ERROR);

	ck_assert_msg(js != NULL, "%s", em_errmsg());
	schema = em_jschema_compile(js, "metadata_schema.json");
	ck_assert_msg(schema != NULL, "%s", em_errmsg());
	json_decref(js);
	snprintf(dir, sizeof(dir), "/tmp/em-catalog-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	em_jschema_free(schema);
	em_log_set_level(EM_LOG_WARN);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * An example record with another source and id, and the time of its last
 * status_history entry set (NULL keeps it).
 */
static json_t *
rec(const char *file, const char *source, const char *id, const char *last)
{
	char path[256];
	json_t *r, *h;

	snprintf(path, sizeof(path), RECORDS "%s", file);
	r = em_json_load_file(path, 1u << 20);
	ck_assert_msg(r != NULL, "%s", em_errmsg());
	json_object_set_new(r, "source", json_string(source));
	json_object_set_new(r, "id", json_string(id));
	if (last != NULL) {
		h = json_object_get(r, "status_history");
		/* Earlier entries must not be later than the last: keep just the last. */
		while (json_array_size(h) > 1)
			json_array_remove(h, 0);
		json_object_set_new(json_array_get(h, 0), "time", json_string(last));
	}
	return r;
}

static struct em_catalog *
catalog(void)
{
	struct em_catalog *c = em_catalog_new(schema, "urn:test");

	ck_assert_ptr_nonnull(c);
	return c;
}

static void
add(struct em_catalog *c, json_t *doc, const char *path)
{
	ck_assert_int_eq(em_catalog_add(c, doc, path, 1), 0);
}

/* "source/id" of each record of the catalog, joined by spaces. */
static void
ids(const json_t *arr, char *out, size_t n)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *r = json_array_get(arr, i);
		size_t k = strlen(out);

		snprintf(out + k, n - k, "%s%s/%s", i ? " " : "",
		    json_string_value(json_object_get(r, "source")),
		    json_string_value(json_object_get(r, "id")));
	}
}

START_TEST(sorted_by_source_then_id)
{
	/* The same records added in two orders give the same bytes. */
	static const int orders[2][5] = { { 0, 1, 2, 3, 4 }, { 4, 2, 0, 3, 1 } };
	static const char *const src[5] = { "idr", "dvid", "epfl", "dvid", "empiar" };
	static const char *const id[5] = { "b", "b", "a", "A", "z" };
	char *dump[2], *rdump[2], got[256];
	json_t *cat = NULL, *rep;
	int o, i;

	for (o = 0; o < 2; o++) {
		struct em_catalog *c = catalog();

		for (i = 0; i < 5; i++) {
			int k = orders[o][i];
			char path[64];

			snprintf(path, sizeof(path), "in/%d.json", k);
			add(c, rec("valid-complete-openorganelle.json", src[k], id[k], NULL), path);
		}
		ck_assert_int_eq(em_catalog_finish(c), 0);
		cat = em_catalog_json(c, "2026-11-24T03:15:00Z");
		rep = em_catalog_report(c, "2026-11-24T03:15:00Z");
		ck_assert_ptr_nonnull(cat);
		ck_assert_ptr_nonnull(rep);
		dump[o] = em_json_dump_pretty(cat);
		rdump[o] = em_json_dump_pretty(rep);
		ids(json_object_get(cat, "records"), got, sizeof(got));
		/* Byte order: upper case before lower case. */
		ck_assert_str_eq(got, "dvid/A dvid/b empiar/z epfl/a idr/b");
		ids(json_object_get(rep, "records"), got, sizeof(got));
		ck_assert_str_eq(got, "dvid/A dvid/b empiar/z epfl/a idr/b");
		if (o == 0)
			json_decref(cat);
		json_decref(rep);
		em_catalog_free(c);
	}
	ck_assert_str_eq(dump[0], dump[1]);
	ck_assert_str_eq(rdump[0], rdump[1]);
	ck_assert_int_eq((int)json_array_size(json_object_get(cat, "rejected")), 0);
	json_decref(cat);
	for (o = 0; o < 2; o++) {
		free(dump[o]);
		free(rdump[o]);
	}
}
END_TEST

START_TEST(summary_sums)
{
	struct em_catalog *c = catalog();
	json_t *cat, *sum, *f;
	char *s;

	/* 16*5500*5496 and 564*2520*2596 voxels; 301846221 and 4012345678 bytes. */
	add(c, rec("valid-complete-empiar.json", "empiar", "11759", NULL), "a.json");
	add(c, rec("valid-complete-openorganelle.json", "openorganelle", "x", NULL), "b.json");
	/* No shape, no size: counted, adds nothing to the sums. */
	add(c, rec("valid-failed.json", "epfl", "volumedata", NULL), "c.json");
	add(c, rec("valid-pending.json", "epfl", "p", NULL), "d.json");
	/* Invalid: not counted in the summary of the catalog's records. */
	add(c, rec("invalid-shape-zero.json", "dvid", "bad", NULL), "e.json");
	ck_assert_int_eq(em_catalog_finish(c), 0);
	cat = em_catalog_json(c, "2026-11-24T03:15:00Z");
	ck_assert_ptr_nonnull(cat);
	sum = json_object_get(cat, "summary");
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "records")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "rejected")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "total_voxels")),
	    16LL * 5500 * 5496 + 564LL * 2520 * 2596);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "total_bytes")),
	    301846221LL + 4012345678LL);
	s = json_dumps(json_object_get(sum, "by_source"), JSON_COMPACT);
	ck_assert_str_eq(s, "{\"empiar\":1,\"epfl\":2,\"openorganelle\":1}");
	free(s);
	s = json_dumps(json_object_get(sum, "by_status"), JSON_COMPACT);
	ck_assert_str_eq(s, "{\"complete\":2,\"failed\":1,\"pending\":1}");
	free(s);
	/* The union of the epfl records' keys, sorted. */
	f = json_object_get(json_object_get(sum, "fields_by_source"), "epfl");
	s = json_dumps(f, JSON_COMPACT);
	ck_assert_str_eq(s, "[\"download_url\",\"error\",\"id\",\"progress\",\"schema_version\","
	    "\"source\",\"status\",\"status_history\"]");
	free(s);
	ck_assert_ptr_null(json_object_get(json_object_get(sum, "fields_by_source"), "dvid"));
	json_decref(cat);
	em_catalog_free(c);
}
END_TEST

/* Duplicate resolution: which of two records of one volume is kept. */
static const struct dup_case {
	const char *file_a, *time_a, *file_b, *time_b;
	char winner;	/* 'a' or 'b' */
} dups[] = {
	/* A complete record wins over a newer one that is not. */
	{ "valid-complete-empiar.json", "2026-11-24T03:00:00Z",
	  "valid-processing.json", "2026-11-24T04:00:00Z", 'a' },
	{ "valid-processing.json", "2026-11-24T04:00:00Z",
	  "valid-complete-empiar.json", "2026-11-24T03:00:00Z", 'b' },
	/* Two complete: the newer. */
	{ "valid-complete-empiar.json", "2026-11-24T03:00:00Z",
	  "valid-complete-openorganelle.json", "2026-11-24T03:00:00.001Z", 'b' },
	/* Times compare as instants, whatever the zone: 05:00+03:00 is 02:00Z. */
	{ "valid-complete-empiar.json", "2026-11-24T05:00:00+03:00",
	  "valid-complete-openorganelle.json", "2026-11-24T03:00:00Z", 'b' },
	/* None complete: the newer. */
	{ "valid-failed.json", "2026-11-25T00:00:00Z",
	  "valid-processing.json", "2026-11-24T23:59:59.999Z", 'a' },
	/* Equal times: the path that sorts first. */
	{ "valid-complete-empiar.json", "2026-11-24T03:00:00Z",
	  "valid-complete-openorganelle.json", "2026-11-24T03:00:00.000Z", 'a' },
};

START_TEST(duplicates)
{
	const struct dup_case *d = &dups[_i];
	struct em_catalog *c = catalog();
	struct em_catalog_counts k;
	json_t *cat, *rep, *kept, *rej, *e, *w;
	const char *want = d->winner == 'a' ? "a.json" : "b.json";
	const char *lose = d->winner == 'a' ? "b.json" : "a.json";
	char reason[256];
	size_t i;

	/* Added in the losing order too: the outcome must not depend on it. */
	if (_i % 2) {
		add(c, rec(d->file_b, "epfl", "v1", d->time_b), "b.json");
		add(c, rec(d->file_a, "epfl", "v1", d->time_a), "a.json");
	} else {
		add(c, rec(d->file_a, "epfl", "v1", d->time_a), "a.json");
		add(c, rec(d->file_b, "epfl", "v1", d->time_b), "b.json");
	}
	ck_assert_int_eq(em_catalog_finish(c), 0);
	em_catalog_counts(c, &k);
	ck_assert_uint_eq(k.valid, 2);
	ck_assert_uint_eq(k.superseded, 1);
	ck_assert_uint_eq(k.cataloged, 1);
	cat = em_catalog_json(c, "t");
	kept = json_array_get(json_object_get(cat, "records"), 0);
	ck_assert_int_eq((int)json_array_size(json_object_get(cat, "records")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(kept,
	    "status_history"), 0), "time")), d->winner == 'a' ? d->time_a : d->time_b);
	rej = json_array_get(json_object_get(cat, "rejected"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(rej, "path")), lose);
	ck_assert_str_eq(json_string_value(json_object_get(rej, "source")), "epfl");
	ck_assert_str_eq(json_string_value(json_object_get(rej, "id")), "v1");
	snprintf(reason, sizeof(reason), "superseded: another record of the same source and id "
	    "is kept (%s, text 1)", want);
	ck_assert_str_eq(json_string_value(json_object_get(rej, "reason")), reason);
	/* The report says which lost, with a warning naming the winner. */
	rep = em_catalog_report(c, "t");
	for (i = 0; i < 2; i++) {
		e = json_array_get(json_object_get(rep, "records"), i);
		if (strcmp(json_string_value(json_object_get(e, "path")), lose) != 0) {
			ck_assert_str_eq(json_string_value(json_object_get(e, "outcome")), "catalog");
			continue;
		}
		ck_assert_str_eq(json_string_value(json_object_get(e, "outcome")), "superseded");
		ck_assert(json_is_true(json_object_get(e, "valid")));
		w = json_object_get(e, "warnings");
		w = json_array_get(w, json_array_size(w) - 1);
		ck_assert_str_eq(json_string_value(json_object_get(w, "code")),
		    "duplicate-superseded");
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(w, "message")), want));
	}
	json_decref(cat);
	json_decref(rep);
	em_catalog_free(c);
}
END_TEST

/* An invalid record never wins, even when it is complete and newer. */
START_TEST(invalid_never_wins)
{
	struct em_catalog *c = catalog();
	json_t *cat, *rej;

	add(c, rec("valid-pending.json", "empiar", "11759", "2026-11-24T01:00:00Z"), "old.json");
	add(c, rec("invalid-sha256-uppercase.json", "empiar", "11759", "2026-11-24T09:00:00Z"),
	    "new.json");
	ck_assert_int_eq(em_catalog_finish(c), 0);
	cat = em_catalog_json(c, "t");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(cat,
	    "records"), 0), "status")), "pending");
	rej = json_array_get(json_object_get(cat, "rejected"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(rej, "path")), "new.json");
	ck_assert_str_eq(json_string_value(json_object_get(rej, "reason")),
	    "invalid: /sha256: expected a string matching '^[0-9a-f]{64}$', got "
	    "\"3F0A9C1E5B7D2468ACE13579BDF02468ACE13579BDF02468ACE13579BDF02468\"");
	json_decref(cat);
	em_catalog_free(c);
}
END_TEST

/* The warning codes of one record, joined by spaces. */
static void
codes(struct em_catalog *c, char *out, size_t n)
{
	json_t *rep = em_catalog_report(c, "t"), *w;
	size_t i;

	ck_assert_ptr_nonnull(rep);
	w = json_object_get(json_array_get(json_object_get(rep, "records"), 0), "warnings");
	out[0] = '\0';
	for (i = 0; i < json_array_size(w); i++) {
		size_t k = strlen(out);

		snprintf(out + k, n - k, "%s%s", i ? " " : "",
		    json_string_value(json_object_get(json_array_get(w, i), "code")));
	}
	json_decref(rep);
}

START_TEST(warnings)
{
	struct em_catalog *c;
	json_t *r;
	char got[256];

	/* EMPIAR's z spacing is from the configuration. */
	c = catalog();
	add(c, rec("valid-complete-empiar.json", "empiar", "11759", NULL), "a.json");
	ck_assert_int_eq(em_catalog_finish(c), 0);
	codes(c, got, sizeof(got));
	ck_assert_str_eq(got, "voxel-size-from-config");
	em_catalog_free(c);

	/* Sizes from the archive, complete: nothing to say. */
	c = catalog();
	add(c, rec("valid-complete-openorganelle.json", "openorganelle", "x", NULL), "a.json");
	ck_assert_int_eq(em_catalog_finish(c), 0);
	codes(c, got, sizeof(got));
	ck_assert_str_eq(got, "");
	em_catalog_free(c);

	/* Every voxel is fill, and all three sizes from the configuration. */
	c = catalog();
	r = rec("valid-complete-empiar.json", "empiar", "11759", NULL);
	json_object_set_new(json_object_get(r, "statistics"), "fill_fraction", json_integer(1));
	json_object_set_new(r, "voxel_size_source", json_pack("[s,s,s]", "config", "config",
	    "config"));
	add(c, r, "a.json");
	ck_assert_int_eq(em_catalog_finish(c), 0);
	codes(c, got, sizeof(got));
	ck_assert_str_eq(got, "voxel-size-from-config all-fill");
	em_catalog_free(c);

	/* A run that failed: no voxel size, not complete. */
	c = catalog();
	add(c, rec("valid-failed.json", "epfl", "volumedata", NULL), "a.json");
	ck_assert_int_eq(em_catalog_finish(c), 0);
	codes(c, got, sizeof(got));
	ck_assert_str_eq(got, "no-voxel-size not-complete");
	em_catalog_free(c);
}
END_TEST

START_TEST(message_of_config_axes)
{
	struct em_catalog *c = catalog();
	json_t *rep, *w;

	add(c, rec("valid-complete-empiar.json", "empiar", "11759", NULL), "a.json");
	ck_assert_int_eq(em_catalog_finish(c), 0);
	rep = em_catalog_report(c, "t");
	w = json_array_get(json_object_get(json_array_get(json_object_get(rep, "records"), 0),
	    "warnings"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(w, "message")),
	    "the voxel size along z is from the configuration, not from the data or the archive");
	json_decref(rep);
	em_catalog_free(c);
}
END_TEST

START_TEST(report_entries)
{
	struct em_catalog *c = catalog();
	struct em_catalog_counts k;
	json_t *rep, *e, *err;

	add(c, rec("invalid-voxel-negative.json", "empiar", "11759", NULL), "bad.json");
	ck_assert_int_eq(em_catalog_add(c, json_pack("[i]", 1), "-", 3), 0);
	ck_assert_int_eq(em_catalog_add_unreadable(c, "gone.json", 0, "No such file or directory"),
	    0);
	ck_assert_int_eq(em_catalog_finish(c), 0);
	/* Nothing can be added to a finished catalog. */
	ck_assert_int_eq(em_catalog_add(c, json_object(), "late.json", 1), -1);
	em_catalog_counts(c, &k);
	ck_assert_uint_eq(k.read, 3);
	ck_assert_uint_eq(k.invalid, 2);
	ck_assert_uint_eq(k.unreadable, 1);
	ck_assert_uint_eq(k.valid, 0);
	rep = em_catalog_report(c, "t");
	/* No source sorts first: "-" before "gone.json", then empiar. */
	e = json_array_get(json_object_get(rep, "records"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "path")), "-");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "text")), 3);
	ck_assert(json_is_null(json_object_get(e, "completeness")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(e,
	    "errors"), 0), "keyword")), "type");
	e = json_array_get(json_object_get(rep, "records"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "outcome")), "unreadable");
	err = json_array_get(json_object_get(e, "errors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(err, "keyword")), "read");
	ck_assert_str_eq(json_string_value(json_object_get(err, "message")),
	    "No such file or directory");
	e = json_array_get(json_object_get(rep, "records"), 2);
	ck_assert_str_eq(json_string_value(json_object_get(e, "outcome")), "invalid");
	ck_assert(json_is_false(json_object_get(e, "valid")));
	err = json_array_get(json_object_get(e, "errors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(err, "pointer")), "/voxel_size_nm/0");
	ck_assert_str_eq(json_string_value(json_object_get(err, "keyword")), "exclusiveMinimum");
	ck_assert(json_is_real(json_object_get(e, "completeness")));
	json_decref(rep);
	em_catalog_free(c);
}
END_TEST

static const struct time_case {
	const char *text;
	int ok;
	long long sec;
	long nsec;
} times[] = {
	{ "1970-01-01T00:00:00Z", 1, 0, 0 },
	{ "2026-11-24T03:15:00Z", 1, 1795490100LL, 0 },
	{ "2026-11-24T03:15:00.5Z", 1, 1795490100LL, 500000000 },
	{ "2026-11-24T03:15:00.123456789z", 1, 1795490100LL, 123456789 },
	{ "2026-11-24t06:15:00+03:00", 1, 1795490100LL, 0 },
	{ "2026-11-23T23:45:00-03:30", 1, 1795490100LL, 0 },
	{ "2024-02-29T00:00:00Z", 1, 1709164800LL, 0 },
	{ "1969-12-31T23:59:59Z", 1, -1, 0 },
	{ "2023-02-29T00:00:00Z", 0, 0, 0 },
	{ "2026-13-01T00:00:00Z", 0, 0, 0 },
	{ "2026-11-24T24:00:00Z", 0, 0, 0 },
	{ "2026-11-24T03:15:00", 0, 0, 0 },
	{ "2026-11-24 03:15:00Z", 0, 0, 0 },
	{ "2026-11-24T03:15:00.Z", 0, 0, 0 },
	{ "2026-11-24T03:15:00Zjunk", 0, 0, 0 },
	{ "2026-11-24T03:15:00+3:00", 0, 0, 0 },
	{ "", 0, 0, 0 },
};

START_TEST(time_parse)
{
	const struct time_case *t = &times[_i];
	int64_t sec = 42;
	long nsec = 42;
	int rc = em_time_parse(t->text, &sec, &nsec);

	ck_assert_msg(rc == (t->ok ? 0 : -1), "'%s': rc %d", t->text, rc);
	if (t->ok) {
		ck_assert_int_eq(sec, t->sec);
		ck_assert_int_eq(nsec, t->nsec);
	} else {
		ck_assert_ptr_nonnull(strstr(em_errmsg(), t->text));
	}
}
END_TEST

START_TEST(dump_numbers)
{
	json_t *v = json_pack("{s:f,s:f,s:f,s:f,s:I,s:s,s:[],s:{},s:[f]}", "a", 0.1, "b", 1.0,
	    "c", 2.96, "d", 1e300, "e", (json_int_t)-7, "f", "q\"\n", "g", "h", "i", 0.9444);
	char *s = em_json_dump_pretty(v);

	ck_assert_str_eq(s, "{\n  \"a\": 0.1,\n  \"b\": 1.0,\n  \"c\": 2.96,\n  \"d\": 1e300,\n"
	    "  \"e\": -7,\n  \"f\": \"q\\\"\\n\",\n  \"g\": [],\n  \"h\": {},\n  \"i\": [\n"
	    "    0.9444\n  ]\n}\n");
	free(s);
	json_decref(v);
}
END_TEST

START_TEST(is_record)
{
	json_t *v;

	ck_assert(!em_catalog_is_record(v = json_pack("{s:i,s:s}", "zarr_format", 3,
	    "node_type", "group")));
	json_decref(v);
	ck_assert(!em_catalog_is_record(v = json_pack("{s:i}", "catalog_version", 1)));
	json_decref(v);
	ck_assert(!em_catalog_is_record(v = json_pack("[{s:s}]", "source", "epfl")));
	json_decref(v);
	ck_assert(em_catalog_is_record(v = json_pack("{s:s}", "status", "done")));
	json_decref(v);
	ck_assert(em_catalog_is_record(v = json_pack("{s:i}", "schema_version", 7)));
	json_decref(v);
}
END_TEST

static void
put(const char *rel, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
mkd(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_int_eq(mkdir(path, 0777), 0);
}

START_TEST(search_tree)
{
	static const char good[] = "{\"schema_version\": 1, \"id\": \"a\", \"source\": \"idr\", "
	    "\"status\": \"pending\", \"status_history\": [{\"status\": \"pending\", "
	    "\"time\": \"2026-11-24T03:10:00.000Z\"}]}\n";
	struct em_catalog *c = catalog();
	struct em_catalog_counts k;
	char top[128];

	mkd("d");
	mkd("d/a.zarr");
	put("d/a.zarr/zarr.json", "{\"zarr_format\": 3, \"node_type\": \"group\"}");
	put("d/a.zarr/rec.json", good);
	put("d/zarr.json", "{\"zarr_format\": 3, \"node_type\": \"group\"}");
	put("d/a.json", good);
	put("d/list.json", "[1, 2]");
	put("d/notes.txt", "{");
	put("d/broken.json", "{\"source\": ");
	put("d/empty.json", "");
	snprintf(top, sizeof(top), "%s/d", dir);
	ck_assert_int_eq(em_catalog_add_path(c, top), 0);
	ck_assert_int_eq(em_catalog_finish(c), 0);
	em_catalog_counts(c, &k);
	/* a.json; broken.json and empty.json unreadable; zarr.json and list.json skipped. */
	ck_assert_uint_eq(k.read, 3);
	ck_assert_uint_eq(k.cataloged, 1);
	ck_assert_uint_eq(k.unreadable, 2);
	ck_assert_uint_eq(k.skipped, 2);
	ck_assert_ptr_nonnull(strstr(em_catalog_log(c), "/d/a.zarr': a Zarr store, not searched"));
	ck_assert_ptr_nonnull(strstr(em_catalog_log(c), "/d/zarr.json' (text 1): not a record"));
	ck_assert_ptr_nonnull(strstr(em_catalog_log(c), "/d/empty.json': no JSON text in it"));
	ck_assert_ptr_null(strstr(em_catalog_log(c), "notes.txt"));
	em_catalog_free(c);
}
END_TEST

/* Names in dir, sorted, joined by spaces. */
static void
listing(const char *d, char *out, size_t n)
{
	struct dirent **names;
	int i, k = scandir(d, &names, NULL, alphasort);

	ck_assert_int_ge(k, 0);
	out[0] = '\0';
	for (i = 0; i < k; i++) {
		if (names[i]->d_name[0] != '.') {
			size_t len = strlen(out);

			snprintf(out + len, n - len, "%s%s", len ? " " : "", names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
}

START_TEST(write_files)
{
	struct em_catalog *c = catalog();
	struct em_catalog_files f;
	char out[256], got[1024], want[1024];
	json_t *cat;

	add(c, rec("valid-complete-empiar.json", "empiar", "11759", NULL), "a.json");
	snprintf(out, sizeof(out), "%s/new/dir", dir);
	/* 2026-11-24T03:15:00Z */
	ck_assert_msg(em_catalog_write(c, out, 1795490100LL, &f) == 0, "%s", em_errmsg());
	snprintf(want, sizeof(want), "%s/metadata_catalog_20261124T031500Z.json", out);
	ck_assert_str_eq(f.catalog, want);
	snprintf(want, sizeof(want), "%s/validation_report_20261124T031500Z.json", out);
	ck_assert_str_eq(f.report, want);
	snprintf(want, sizeof(want), "%s/processing_log_20261124T031500Z.log", out);
	ck_assert_str_eq(f.log, want);
	listing(out, got, sizeof(got));
	ck_assert_str_eq(got, "metadata_catalog_20261124T031500Z.json "
	    "processing_log_20261124T031500Z.log validation_report_20261124T031500Z.json");
	cat = em_json_load_file(f.catalog, 1u << 24);
	ck_assert_ptr_nonnull(cat);
	ck_assert_str_eq(json_string_value(json_object_get(cat, "generated")),
	    "2026-11-24T03:15:00Z");
	json_decref(cat);
	em_catalog_free(c);
}
END_TEST

START_TEST(write_all_or_none)
{
	struct em_catalog *c = catalog();
	struct em_catalog_files f;
	char out[256], blocker[300], got[1024];

	add(c, rec("valid-complete-empiar.json", "empiar", "11759", NULL), "a.json");
	/* The report's name is taken by a directory: its rename fails after the catalog's. */
	snprintf(out, sizeof(out), "%s/out", dir);
	ck_assert_int_eq(mkdir(out, 0777), 0);
	snprintf(blocker, sizeof(blocker), "%s/validation_report_20261124T031500Z.json", out);
	ck_assert_int_eq(mkdir(blocker, 0777), 0);
	ck_assert_int_eq(em_catalog_write(c, out, 1795490100LL, &f), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "validation_report_20261124T031500Z.json"));
	listing(out, got, sizeof(got));
	ck_assert_str_eq(got, "validation_report_20261124T031500Z.json");
	/* A directory that cannot be made. */
	put("file", "x");
	snprintf(out, sizeof(out), "%s/file/sub", dir);
	ck_assert_int_eq(em_catalog_write(c, out, 1795490100LL, &f), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "cannot create directory"));
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "file/sub': Not a directory"));
	em_catalog_free(c);
}
END_TEST

Suite *
catalog_suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("catalog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sorted_by_source_then_id);
	tcase_add_test(tc, summary_sums);
	tcase_add_loop_test(tc, duplicates, 0, sizeof(dups) / sizeof(dups[0]));
	tcase_add_test(tc, invalid_never_wins);
	tcase_add_test(tc, warnings);
	tcase_add_test(tc, message_of_config_axes);
	tcase_add_test(tc, report_entries);
	tcase_add_loop_test(tc, time_parse, 0, sizeof(times) / sizeof(times[0]));
	tcase_add_test(tc, dump_numbers);
	tcase_add_test(tc, is_record);
	tcase_add_test(tc, search_tree);
	tcase_add_test(tc, write_files);
	tcase_add_test(tc, write_all_or_none);
	suite_add_tcase(s, tc);
	return s;
}
