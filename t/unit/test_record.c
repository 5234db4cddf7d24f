/* test_record.c - record creation, every status transition, history times, files and completeness */
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/timefmt.h"
#include "meta/record.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-record-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#define P EM_STATUS_PENDING
#define R EM_STATUS_PROCESSING
#define S EM_STATUS_SAVING_DATA
#define C EM_STATUS_COMPLETE
#define F EM_STATUS_FAILED
#define X EM_STATUS_CANCELLED

/* allowed[from][to] */
static const int allowed[EM_STATUS_COUNT][EM_STATUS_COUNT] = {
	/*          P  R  S  C  F  X */
	/* P */ {   0, 1, 0, 0, 1, 1 },
	/* R */ {   0, 0, 1, 0, 1, 1 },
	/* S */ {   0, 1, 0, 1, 1, 1 },
	/* C */ {   1, 1, 0, 0, 0, 0 },
	/* F */ {   1, 1, 0, 0, 0, 0 },
	/* X */ {   1, 1, 0, 0, 0, 0 },
};

/* A record brought to status st along legal transitions. */
static json_t *
record_in(enum em_status st)
{
	json_t *rec = em_record_new("empiar", "11759");

	ck_assert_ptr_nonnull(rec);
	switch (st) {
	case P:
		break;
	case R:
		ck_assert_int_eq(em_record_set_status(rec, R, NULL), 0);
		break;
	case S:
		ck_assert_int_eq(em_record_set_status(rec, R, NULL), 0);
		ck_assert_int_eq(em_record_set_status(rec, S, NULL), 0);
		break;
	case C:
		ck_assert_int_eq(em_record_set_status(rec, R, NULL), 0);
		ck_assert_int_eq(em_record_set_status(rec, S, NULL), 0);
		ck_assert_int_eq(em_record_set_status(rec, C, NULL), 0);
		break;
	case F:
		ck_assert_int_eq(em_record_set_status(rec, R, NULL), 0);
		ck_assert_int_eq(em_record_set_status(rec, F, "HTTP 500 from server"), 0);
		break;
	case X:
		ck_assert_int_eq(em_record_set_status(rec, X, NULL), 0);
		break;
	default:
		ck_abort();
	}
	return rec;
}

/* _i runs over every (from, to) pair. */
START_TEST(transitions)
{
	enum em_status from = (enum em_status)(_i / EM_STATUS_COUNT);
	enum em_status to = (enum em_status)(_i % EM_STATUS_COUNT), got;
	json_t *rec = record_in(from), *hist;
	const char *err = to == F ? "disk full" : NULL;
	char *before, *after, want[128];
	size_t n;
	int rc;

	ck_assert_int_eq(em_status_allowed(from, to), allowed[from][to]);
	before = json_dumps(rec, JSON_COMPACT);
	n = json_array_size(json_object_get(rec, "status_history"));
	rc = em_record_set_status(rec, to, err);
	if (!allowed[from][to]) {
		ck_assert_int_eq(rc, -1);
		snprintf(want, sizeof(want), "cannot move the record from '%s' to '%s'",
		    em_status_name(from), em_status_name(to));
		ck_assert_str_eq(em_errmsg(), want);
		after = json_dumps(rec, JSON_COMPACT);
		ck_assert_str_eq(before, after);	/* never overwritten */
		free(after);
	} else {
		ck_assert_msg(rc == 0, "%s -> %s: %s", em_status_name(from), em_status_name(to),
		    em_errmsg());
		ck_assert_int_eq(em_record_status(rec, &got), 0);
		ck_assert_int_eq(got, to);
		hist = json_object_get(rec, "status_history");
		if (em_status_is_final(from)) {
			/* a new run: a fresh history and the old outcome archived */
			ck_assert_uint_eq(json_array_size(hist), 1);
			ck_assert_uint_eq(json_array_size(json_object_get(rec, "previous_runs")), 1);
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
			    json_object_get(rec, "previous_runs"), 0), "status")),
			    em_status_name(from));
		} else {
			ck_assert_uint_eq(json_array_size(hist), n + 1);
		}
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(hist,
		    json_array_size(hist) - 1), "status")), em_status_name(to));
		if (to == F)
			ck_assert_str_eq(json_string_value(json_object_get(rec, "error")),
			    "disk full");
		else
			ck_assert_ptr_null(json_object_get(rec, "error"));
	}
	free(before);
	json_decref(rec);
}
END_TEST

START_TEST(status_names)
{
	enum em_status s;
	int i;

	for (i = 0; i < EM_STATUS_COUNT; i++) {
		ck_assert_int_eq(em_status_parse(em_status_name((enum em_status)i), &s), 0);
		ck_assert_int_eq(s, i);
	}
	ck_assert_str_eq(em_status_name(S), "saving-data");
	ck_assert_int_eq(em_status_parse("saving_data", &s), -1);
	ck_assert_str_eq(em_errmsg(), "unknown status 'saving_data'");
	ck_assert_int_eq(em_status_parse("Complete", &s), -1);
	ck_assert_int_eq(em_status_allowed(P, EM_STATUS_COUNT), 0);
	ck_assert_int_eq(em_status_allowed((enum em_status)-1, P), 0);
}
END_TEST

START_TEST(error_rules)
{
	json_t *rec = record_in(R);

	ck_assert_int_eq(em_record_set_status(rec, F, NULL), -1);
	ck_assert_str_eq(em_errmsg(), "a failed record needs an error message");
	ck_assert_int_eq(em_record_set_status(rec, F, ""), -1);
	ck_assert_int_eq(em_record_set_status(rec, S, "why"), -1);
	ck_assert_str_eq(em_errmsg(), "only a failed or cancelled record carries an error");
	ck_assert_int_eq(em_record_set_status(rec, S, ""), 0);	/* empty is no error */
	ck_assert_ptr_null(json_object_get(rec, "error"));
	ck_assert_int_eq(em_record_set_status(rec, X, "interrupted by SIGTERM"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "error")),
	    "interrupted by SIGTERM");
	/* error cannot be set around the status functions */
	ck_assert_int_eq(em_record_set_str(rec, "error", "x"), -1);
	ck_assert_str_eq(em_errmsg(), "'error' is set by the record functions only");
	json_decref(rec);

	rec = json_pack("{s:s}", "id", "x");
	ck_assert_int_eq(em_record_set_status(rec, R, NULL), -1);
	ck_assert_str_eq(em_errmsg(), "the record has no status");
	json_object_set_new(rec, "status", json_string("done"));
	ck_assert_int_eq(em_record_set_status(rec, R, NULL), -1);
	ck_assert_str_eq(em_errmsg(), "unknown status 'done'");
	json_object_set_new(rec, "status", json_string("pending"));
	ck_assert_int_eq(em_record_set_status(rec, R, NULL), -1);
	ck_assert_str_eq(em_errmsg(), "the record has no status history");
	json_decref(rec);
}
END_TEST

static int
is_rfc3339_ms(const char *t)
{
	regex_t re;
	int ok;

	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T"
	    "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB), 0);
	ok = t != NULL && regexec(&re, t, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

START_TEST(history_times)
{
	json_t *rec = record_in(C), *hist, *e;
	const char *prev = "", *t;
	char now[40];
	size_t i;

	hist = json_object_get(rec, "status_history");
	ck_assert_uint_eq(json_array_size(hist), 4);
	json_array_foreach(hist, i, e) {
		t = json_string_value(json_object_get(e, "time"));
		ck_assert_msg(is_rfc3339_ms(t), "'%s' is not RFC 3339 UTC with milliseconds", t);
		ck_assert_msg(strcmp(prev, t) <= 0, "%s after %s", t, prev);
		prev = t;
	}
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(hist, 0), "status")),
	    "pending");
	ck_assert_int_eq(em_time_now_rfc3339(now, sizeof(now)), 0);
	ck_assert(is_rfc3339_ms(now));
	ck_assert_int_eq(em_time_now_rfc3339(now, 10), -1);
	json_decref(rec);

	/* a clock that went backwards does not make the history go backwards */
	rec = record_in(R);
	hist = json_object_get(rec, "status_history");
	json_object_set_new(json_array_get(hist, 1), "time",
	    json_string("2999-01-01T00:00:00.000Z"));
	ck_assert_int_eq(em_record_set_status(rec, S, NULL), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(hist, 2), "time")),
	    "2999-01-01T00:00:00.000Z");
	json_decref(rec);
}
END_TEST

START_TEST(new_run)
{
	json_t *rec = record_in(C), *runs, *r;
	const char *first, *last;
	int i;

	ck_assert_int_eq(em_record_set_str(rec, "description", "zebrafish retina"), 0);
	ck_assert_int_eq(em_record_set_str(rec, "sha256",
	    "0000000000000000000000000000000000000000000000000000000000000000"), 0);
	ck_assert_int_eq(em_record_set(rec, "statistics", json_pack("{s:i}", "min", 0)), 0);
	ck_assert_int_eq(em_record_update_quality(rec), 0);
	em_record_set_progress(rec, 4, 4, 100, 100);
	first = json_string_value(json_object_get(json_array_get(json_object_get(rec,
	    "status_history"), 0), "time"));
	last = json_string_value(json_object_get(json_array_get(json_object_get(rec,
	    "status_history"), 3), "time"));
	r = json_pack("{s:s,s:s}", "started", first, "finished", last);

	ck_assert_int_eq(em_record_set_status(rec, R, NULL), 0);
	runs = json_object_get(rec, "previous_runs");
	ck_assert_uint_eq(json_array_size(runs), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "started")),
	    json_string_value(json_object_get(r, "started")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "finished")),
	    json_string_value(json_object_get(r, "finished")));
	ck_assert_ptr_null(json_object_get(json_array_get(runs, 0), "error"));
	json_decref(r);
	/* what the old run computed is gone; what describes the volume stays */
	ck_assert_ptr_null(json_object_get(rec, "sha256"));
	ck_assert_ptr_null(json_object_get(rec, "statistics"));
	ck_assert_ptr_null(json_object_get(rec, "quality"));
	ck_assert_ptr_null(json_object_get(rec, "progress"));
	ck_assert_str_eq(json_string_value(json_object_get(rec, "description")),
	    "zebrafish retina");

	/* a failed run's error goes with it into previous_runs */
	ck_assert_int_eq(em_record_set_status(rec, F, "truncated DM3"), 0);
	ck_assert_int_eq(em_record_set_status(rec, P, NULL), 0);
	runs = json_object_get(rec, "previous_runs");
	ck_assert_uint_eq(json_array_size(runs), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 1), "error")),
	    "truncated DM3");
	ck_assert_ptr_null(json_object_get(rec, "error"));

	/* at most EM_RECORD_MAX_RUNS are kept, the oldest dropped */
	for (i = 0; i < EM_RECORD_MAX_RUNS + 5; i++) {
		ck_assert_int_eq(em_record_set_status(rec, X, NULL), 0);
		ck_assert_int_eq(em_record_set_status(rec, P, NULL), 0);
	}
	runs = json_object_get(rec, "previous_runs");
	ck_assert_uint_eq(json_array_size(runs), EM_RECORD_MAX_RUNS);
	for (i = 0; i < EM_RECORD_MAX_RUNS; i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, i),
		    "status")), "cancelled");
	json_decref(rec);
}
END_TEST

static const struct {
	const char *source, *id;
	int ok;
} news[] = {
	{ "empiar", "11759", 1 },
	{ "epfl", "volumedata", 1 },
	{ "dvid", "hemibrain_17000_19500_20500_512", 1 },
	{ "idr", "9846137", 1 },
	{ "openorganelle", "jrc_mus-nacc-2.s0", 1 },
	{ "EMPIAR", "11759", 0 },
	{ "zenodo", "1", 0 },
	{ NULL, "1", 0 },
	{ "idr", "", 0 },
	{ "idr", NULL, 0 },
	{ "idr", "../etc", 0 },
	{ "idr", "a/b", 0 },
	{ ".hidden", "x", 0 },
	{ "idr", ".hidden", 0 },
	{ "idr", "-x", 0 },
	{ "idr", "a b", 0 },
	{ "idr", "caf\xc3\xa9", 0 },
	{ "idr", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1 },
	{ "idr", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0 },
};

START_TEST(record_new)
{
	json_t *rec = em_record_new(news[_i].source, news[_i].id);
	char *s;

	if (!news[_i].ok) {
		ck_assert_msg(rec == NULL, "%s/%s accepted", news[_i].source, news[_i].id);
		return;
	}
	ck_assert_msg(rec != NULL, "%s", em_errmsg());
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "schema_version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "source")), news[_i].source);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "id")), news[_i].id);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "pending");
	ck_assert_uint_eq(json_array_size(json_object_get(rec, "status_history")), 1);
	s = json_dumps(rec, JSON_COMPACT);
	ck_assert_msg(strncmp(s, "{\"schema_version\":1,\"id\":", 25) == 0, "%s", s);
	free(s);
	json_decref(rec);
}
END_TEST

START_TEST(fields)
{
	json_t *rec = em_record_new("idr", "9846137"), *v;
	static const uint64_t shape[3] = { 184, 775, 1121 };
	static const double nm[3] = { 20, 20, 20 }, bad[3] = { 20, 0, 20 };
	static const char *const prov[3] = { "archive-api", "archive-api", "archive-api" };
	static const char *const badprov[3] = { "file", "guess", "file" };
	char *s;

	ck_assert_int_eq(em_record_set(rec, "voxel_size", json_integer(1)), -1);
	ck_assert_str_eq(em_errmsg(), "'voxel_size' is not a field of the record");
	ck_assert_int_eq(em_record_set(rec, "status", json_string("complete")), -1);
	ck_assert_str_eq(em_errmsg(), "'status' is set by the record functions only");
	ck_assert_int_eq(em_record_set(rec, "id", json_string("x")), -1);
	ck_assert_int_eq(em_record_set(rec, "status_history", json_array()), -1);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "pending");

	ck_assert_int_eq(em_record_set_zyx(rec, "volume_shape", shape), 0);
	s = json_dumps(json_object_get(rec, "volume_shape"), JSON_COMPACT);
	ck_assert_str_eq(s, "[184,775,1121]");
	free(s);
	ck_assert_int_eq(em_record_set_voxel_size(rec, nm, prov), 0);
	s = json_dumps(json_object_get(rec, "voxel_size_source"), JSON_COMPACT);
	ck_assert_str_eq(s, "[\"archive-api\",\"archive-api\",\"archive-api\"]");
	free(s);
	ck_assert_int_eq(em_record_set_voxel_size(rec, bad, prov), -1);
	ck_assert_int_eq(em_record_set_voxel_size(rec, nm, badprov), -1);
	ck_assert_str_eq(em_errmsg(),
	    "unknown voxel size provenance 'guess' (expected file, archive-api, config or unknown)");

	ck_assert_int_eq(em_record_set_progress(rec, 3, 12, 1000, 0), 0);
	v = json_object_get(rec, "progress");
	ck_assert(json_real_value(json_object_get(v, "fraction")) == 0.25);
	ck_assert_ptr_null(json_object_get(v, "bytes_total"));
	ck_assert_int_eq(em_record_set_progress(rec, 13, 12, 0, 0), -1);
	ck_assert_int_eq(em_record_set_progress(rec, 0, 0, 50, 200), 0);
	ck_assert(json_real_value(json_object_get(json_object_get(rec, "progress"),
	    "fraction")) == 0.25);

	ck_assert_int_eq(em_record_add_step(rec, "fetch-idr", "0.1.0",
	    json_pack("{s:s}", "compressor", "zstd")), 0);
	ck_assert_int_eq(em_record_add_step(rec, "em-meta", "0.1.0", NULL), 0);
	v = json_object_get(rec, "processing_pipeline");
	ck_assert_uint_eq(json_array_size(v), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(v, 0),
	    "parameters"), "compressor")), "zstd");
	ck_assert(is_rfc3339_ms(json_string_value(json_object_get(json_array_get(v, 1),
	    "time"))));
	ck_assert_int_eq(em_record_add_step(rec, "", "1", NULL), -1);
	ck_assert_int_eq(em_record_add_step(rec, "x", "1", json_integer(3)), -1);

	/* NULL removes a field */
	ck_assert_int_eq(em_record_set(rec, "progress", NULL), 0);
	ck_assert_ptr_null(json_object_get(rec, "progress"));
	json_decref(rec);
}
END_TEST

/* A voxel size known on some axes: each known one with its provenance, the others null. */
START_TEST(voxel_axes)
{
	const double nm[3] = { 0, 0.2485, 0.2485 }, iso[3] = { 20, 8, 8 };
	const char *const part[3] = { "unknown", "file", "file" };
	const char *const noz[3] = { NULL, "archive-api", "config" };
	const char *const all[3] = { "config", "file", "file" };
	const char *const none[3] = { "unknown", "unknown", "unknown" };
	json_t *rec = em_record_new("empiar", "11759");
	double sc[3];
	char *s;

	ck_assert_int_eq(em_record_set_voxel_size(rec, nm, part), 0);
	s = json_dumps(json_object_get(rec, "voxel_size_nm"), JSON_COMPACT);
	ck_assert_str_eq(s, "[null,0.2485,0.2485]");
	free(s);
	s = json_dumps(json_object_get(rec, "voxel_size_source"), JSON_COMPACT);
	ck_assert_str_eq(s, "[\"unknown\",\"file\",\"file\"]");
	free(s);
	/* NULL provenance is unknown too; the value of an unknown axis is not looked at. */
	ck_assert_int_eq(em_record_set_voxel_size(rec, (const double[3]){ -1, 5, 6 }, noz), 0);
	s = json_dumps(json_object_get(rec, "voxel_size_nm"), JSON_COMPACT);
	ck_assert_str_eq(s, "[null,5.0,6.0]");
	free(s);
	/* Fully known: as it always was. */
	ck_assert_int_eq(em_record_set_voxel_size(rec, iso, all), 0);
	s = json_dumps(json_object_get(rec, "voxel_size_nm"), JSON_COMPACT);
	ck_assert_str_eq(s, "[20.0,8.0,8.0]");
	free(s);
	/* Nothing known: neither field, nothing guessed. */
	ck_assert_int_eq(em_record_set_voxel_size(rec, iso, none), 0);
	ck_assert_ptr_null(json_object_get(rec, "voxel_size_nm"));
	ck_assert_ptr_null(json_object_get(rec, "voxel_size_source"));
	/* A known axis must still be a length. */
	ck_assert_int_eq(em_record_set_voxel_size(rec, (const double[3]){ 0, 0, 1 }, all), -1);

	/* The NGFF scale: the placeholder is the largest known size. */
	ck_assert_int_eq(em_voxel_store_scale(nm, part, sc), 1);
	ck_assert(sc[0] == 0.2485 && sc[1] == 0.2485 && sc[2] == 0.2485);
	ck_assert_int_eq(em_voxel_store_scale((const double[3]){ 0, 2, 1 },
	    (const char *const[3]){ "unknown", "file", "file" }, sc), 1);
	ck_assert(sc[0] == 2 && sc[1] == 2 && sc[2] == 1);
	ck_assert_int_eq(em_voxel_store_scale((const double[3]){ 0, 0, 7 }, noz, sc), 2);
	ck_assert(sc[0] == 7 && sc[1] == 7 && sc[2] == 7);
	ck_assert_int_eq(em_voxel_store_scale(iso, all, sc), 0);
	ck_assert(sc[0] == 20 && sc[1] == 8 && sc[2] == 8);
	ck_assert_int_eq(em_voxel_store_scale(iso, none, sc), -1);
	json_decref(rec);
}
END_TEST

/* A re-run that fails before the data changes: complete stays, the attempt is noted. */
START_TEST(last_attempt)
{
	json_t *rec = em_record_new("idr", "9846137"), *la, *runs;

	ck_assert_int_eq(em_record_set_status(rec, EM_STATUS_PROCESSING, NULL), 0);
	/* Only beside a complete outcome. */
	ck_assert_int_eq(em_record_note_attempt(rec, EM_STATUS_FAILED, NULL, "x"), -1);
	ck_assert_int_eq(em_record_set_status(rec, EM_STATUS_SAVING_DATA, NULL), 0);
	ck_assert_int_eq(em_record_set_status(rec, EM_STATUS_COMPLETE, NULL), 0);
	ck_assert_int_eq(em_record_set(rec, "sha256", json_string("ab")), 0);
	ck_assert_int_eq(em_record_note_attempt(rec, EM_STATUS_FAILED, NULL, ""), -1);
	ck_assert_int_eq(em_record_note_attempt(rec, EM_STATUS_COMPLETE, NULL, "x"), -1);
	ck_assert_int_eq(em_record_note_attempt(rec, EM_STATUS_FAILED,
	    "2026-01-02T03:04:05.678Z", "GET 'u': HTTP 404"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "complete");
	ck_assert_str_eq(json_string_value(json_object_get(rec, "sha256")), "ab");
	la = json_object_get(rec, "last_attempt");
	ck_assert_str_eq(json_string_value(json_object_get(la, "status")), "failed");
	ck_assert_str_eq(json_string_value(json_object_get(la, "started")),
	    "2026-01-02T03:04:05.678Z");
	ck_assert_str_eq(json_string_value(json_object_get(la, "error")), "GET 'u': HTTP 404");
	ck_assert_ptr_nonnull(json_object_get(la, "finished"));
	/* A later one replaces it; the field is the record functions' own. */
	ck_assert_int_eq(em_record_note_attempt(rec, EM_STATUS_CANCELLED, NULL, NULL), 0);
	la = json_object_get(rec, "last_attempt");
	ck_assert_str_eq(json_string_value(json_object_get(la, "status")), "cancelled");
	ck_assert_ptr_null(json_object_get(la, "error"));
	ck_assert_int_eq(em_record_set(rec, "last_attempt", json_object()), -1);
	/* The next run that begins: the outcome, then the attempt, go to previous_runs. */
	ck_assert_int_eq(em_record_start(rec), 0);
	ck_assert_ptr_null(json_object_get(rec, "last_attempt"));
	runs = json_object_get(rec, "previous_runs");
	ck_assert_uint_eq(json_array_size(runs), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "status")),
	    "complete");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 1), "status")),
	    "cancelled");
	json_decref(rec);
}
END_TEST

START_TEST(completeness)
{
	static const char *const half[] = {
		"description", "volume_shape", "voxel_size_nm", "voxel_size_source", "data_type",
		"modality", "axes", "file_size_bytes", "sha256",
	};
	json_t *rec = em_record_new("epfl", "volumedata"), *missing;
	size_t i;

	ck_assert(em_record_completeness(rec, NULL) == 0.0);
	for (i = 0; i < sizeof(half) / sizeof(half[0]); i++)
		ck_assert_int_eq(em_record_set(rec, half[i], json_string("x")), 0);
	/* present but empty does not count */
	ck_assert_int_eq(em_record_set(rec, "license", json_string("")), 0);
	ck_assert_int_eq(em_record_set(rec, "archive", json_object()), 0);
	ck_assert_int_eq(em_record_set(rec, "citation", json_null()), 0);
	ck_assert(em_record_completeness(rec, &missing) == 0.5);
	ck_assert_uint_eq(json_array_size(missing), 9);
	ck_assert_str_eq(json_string_value(json_array_get(missing, 0)), "compression");
	json_decref(missing);

	ck_assert_int_eq(em_record_set(rec, "license", json_string("CC0-1.0")), 0);
	ck_assert_int_eq(em_record_update_quality(rec), 0);
	ck_assert(json_real_value(json_object_get(json_object_get(rec, "quality"),
	    "completeness")) == 0.5556);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(rec, "quality"),
	    "missing")), 8);
	/* the validation part of quality is kept */
	json_object_set_new(json_object_get(rec, "quality"), "validation",
	    json_pack("{s:b}", "valid", 1));
	ck_assert_int_eq(em_record_update_quality(rec), 0);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(rec, "quality"), "validation"));
	json_decref(rec);
}
END_TEST

static int
count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

START_TEST(save_load)
{
	json_t *rec = record_in(S), *back;
	char path[256], sub[256];
	FILE *fp;
	char text[8];

	ck_assert_int_eq(em_record_set_str(rec, "description", "zebrafish \xc3\xa9"), 0);
	snprintf(path, sizeof(path), "%s/empiar/11759.json", dir);
	snprintf(sub, sizeof(sub), "%s/empiar", dir);
	ck_assert_int_eq(em_mkdir_p(sub), 0);
	ck_assert_int_eq(em_record_save(rec, path), 0);
	ck_assert_int_eq(count_entries(sub), 1);	/* no temporary file left */
	back = em_record_load(path);
	ck_assert_msg(back != NULL, "%s", em_errmsg());
	ck_assert(json_equal(rec, back));
	json_decref(back);

	/* pretty-printed, ending in a newline */
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(text, sizeof(text), fp));
	ck_assert_str_eq(text, "{\n");
	fclose(fp);

	/* replaced whole */
	ck_assert_int_eq(em_record_set_status(rec, C, NULL), 0);
	ck_assert_int_eq(em_record_save(rec, path), 0);
	ck_assert_int_eq(count_entries(sub), 1);
	back = em_record_load(path);
	ck_assert_ptr_nonnull(back);
	ck_assert_str_eq(json_string_value(json_object_get(back, "status")), "complete");
	json_decref(back);

	/* a directory that cannot be written: an error, no file */
	ck_assert_int_eq(em_record_save(rec, "/nonexistent/dir/x.json"), -1);
	json_decref(rec);

	/* The record's name is made of a valid source and id only. */
	ck_assert_ptr_null(em_record_load_or_new(dir, "idr", "../x"));
	ck_assert_ptr_null(em_record_load_or_new(dir, "idr", "_x"));
	ck_assert_ptr_null(em_record_load_or_new(dir, "nope", "x"));
}
END_TEST

/* em_record_start reaches processing from every status; a dead run is closed as failed. */
START_TEST(start_run)
{
	enum em_status from = (enum em_status)_i, st;
	json_t *rec = record_in(from), *runs;
	char want[128];

	ck_assert_int_eq(em_record_start(rec), 0);
	ck_assert_int_eq(em_record_status(rec, &st), 0);
	ck_assert_int_eq(st, R);
	ck_assert_uint_eq(json_array_size(json_object_get(rec, "status_history")),
	    from == P ? 2 : 1);
	runs = json_object_get(rec, "previous_runs");
	if (from == P) {
		ck_assert_ptr_null(runs);
	} else {
		ck_assert_uint_eq(json_array_size(runs), 1);
		if (from == R || from == S) {
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0),
			    "status")), "failed");
			snprintf(want, sizeof(want),
			    "the run did not finish (it stopped in status '%s')",
			    em_status_name(from));
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0),
			    "error")), want);
		} else {
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0),
			    "status")), em_status_name(from));
		}
	}
	ck_assert_ptr_null(json_object_get(rec, "error"));
	json_decref(rec);
}
END_TEST

START_TEST(load_or_new)
{
	json_t *rec, *back;
	char path[256];
	FILE *fp;

	rec = em_record_load_or_new(dir, "idr", "9846137");
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "pending");
	ck_assert_int_eq(em_record_start(rec), 0);
	snprintf(path, sizeof(path), "%s/idr", dir);
	ck_assert_int_eq(em_mkdir_p(path), 0);
	snprintf(path, sizeof(path), "%s/idr/9846137.json", dir);
	ck_assert_int_eq(em_record_save(rec, path), 0);
	back = em_record_load_or_new(dir, "idr", "9846137");
	ck_assert_ptr_nonnull(back);
	ck_assert(json_equal(rec, back));
	json_decref(back);
	json_decref(rec);

	/* a file whose content is another volume's record */
	snprintf(path, sizeof(path), "%s/idr/other.json", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("{\"id\": \"9846137\", \"source\": \"idr\", \"status\": \"pending\", "
	    "\"status_history\": [{\"status\": \"pending\", \"time\": \"2026-01-01T00:00:00Z\"}]}",
	    fp);
	fclose(fp);
	ck_assert_ptr_null(em_record_load_or_new(dir, "idr", "other"));
	ck_assert_msg(strstr(em_errmsg(), "other.json: the record is of idr/9846137") != NULL, "%s",
	    em_errmsg());
	ck_assert_ptr_null(em_record_load_or_new(dir, "idr", "a/b"));
}
END_TEST

static const struct {
	const char *text;
	const char *err;
} bad_files[] = {
	{ "[1, 2]\n", "a record is a JSON object" },
	{ "{\"id\": \"x\", \"source\": \"zenodo\"}", "unknown or missing source" },
	{ "{\"id\": \"../x\", \"source\": \"idr\"}", "missing or bad id" },
	{ "{\"id\": \"x\", \"source\": \"idr\"}", "the record has no status" },
	{ "{\"id\": \"x\", \"source\": \"idr\", \"status\": \"done\"}", "unknown status 'done'" },
	{ "{\"id\": \"x\", \"source\": \"idr\", \"status\": \"pending\"}",
	  "the record has no status history" },
	{ "{\"id\": \"x\", ", "invalid JSON" },
	{ "{\"schema_version\": 2, \"id\": \"x\", \"source\": \"idr\"}",
	  "record format version 2 is not the one this tool knows (1)" },
	{ "{\"schema_version\": \"1\", \"id\": \"x\", \"source\": \"idr\"}",
	  "schema_version is not an integer" },
};

START_TEST(load_errors)
{
	char path[256], want[300];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/bad.json", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(bad_files[_i].text, fp);
	fclose(fp);
	ck_assert_ptr_null(em_record_load(path));
	snprintf(want, sizeof(want), "%s: ", path);
	ck_assert_msg(strncmp(em_errmsg(), want, strlen(want)) == 0 &&
	    strstr(em_errmsg(), bad_files[_i].err) != NULL, "got \"%s\", expected \"%s%s\"",
	    em_errmsg(), want, bad_files[_i].err);
}
END_TEST

Suite *
record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, transitions, 0, EM_STATUS_COUNT * EM_STATUS_COUNT);
	tcase_add_test(tc, status_names);
	tcase_add_test(tc, error_rules);
	tcase_add_test(tc, history_times);
	tcase_add_test(tc, new_run);
	tcase_add_loop_test(tc, record_new, 0, sizeof(news) / sizeof(news[0]));
	tcase_add_test(tc, fields);
	tcase_add_test(tc, voxel_axes);
	tcase_add_test(tc, last_attempt);
	tcase_add_test(tc, completeness);
	tcase_add_test(tc, save_load);
	tcase_add_loop_test(tc, start_run, 0, EM_STATUS_COUNT);
	tcase_add_test(tc, load_or_new);
	tcase_add_loop_test(tc, load_errors, 0, sizeof(bad_files) / sizeof(bad_files[0]));
	suite_add_tcase(s, tc);
	return s;
}
