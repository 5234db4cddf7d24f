/* catdb.c - the catalog database's one copy of its SQL: loading, filters, queries, cursors, history and statistics */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/parse.h"
#include "meta/catalog.h"
#include "meta/catdb.h"
#include "meta/catdb_internal.h"
#include "meta/digest.h"
#include "core/banned.h"

/* A statement's text is built from fixed pieces only; values are always parameters. */
#define MAX_SQL 8192
#define MAX_PARAMS 64

const char *const em_catdb_col_names[] = {
	"source", "id", "status", "modality", "organism", "license", "dtype", "voxel_z",
	"voxel_y", "voxel_x", "shape_z", "shape_y", "shape_x", "bytes", "ingested", NULL
};

/* Ingest times are sorted and compared as milliseconds; the text is what is shown. */
static const char *
col_sql(enum em_catdb_col c)
{
	return c == EM_CATDB_INGESTED ? "ingested_ms" : em_catdb_col_names[c];
}

char
catdb_col_type(enum em_catdb_col c)
{
	if (c >= EM_CATDB_VOXEL_Z && c <= EM_CATDB_VOXEL_X)
		return 'r';
	if (c >= EM_CATDB_SHAPE_Z && c <= EM_CATDB_INGESTED)
		return 'i';
	return 't';
}

const char *const em_catdb_filter_names[] = {
	"source", "id", "status", "modality", "organism", "license", "dtype", "voxel-z",
	"voxel-y", "voxel-x", "shape-z", "shape-y", "shape-x", "min-bytes", "max-bytes",
	"text", "since", "until", "sort", "limit", "cursor", NULL
};

/* ---- opening ---- */

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int
is_pg(const char *url)
{
	return has_prefix(url, "postgresql://") || has_prefix(url, "postgres://");
}

/* A scheme other than ours ("mysql://x") is a mistake, not a file name. */
static int
other_scheme(const char *url)
{
	const char *p = url;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	    *p == '+' || *p == '-' || *p == '.')
		p++;
	return p > url && strncmp(p, "://", 3) == 0;
}

int
em_catdb_url_check(const char *url)
{
	if (url == NULL || *url == '\0')
		return em_fail("empty database URL");
	if (is_pg(url))
		return em_catdb_pg_check(url);
	if (has_prefix(url, "sqlite:")) {
		if (url[7] == '\0')
			return em_fail("'sqlite:' needs a path");
		return 0;
	}
	if (other_scheme(url))
		return em_fail("unknown kind of database (sqlite:PATH or postgresql://...)");
	return 0;
}

struct em_catdb *
em_catdb_open(const char *url, enum em_catdb_mode mode)
{
	if (em_catdb_url_check(url) < 0)
		return NULL;
	if (is_pg(url))
		return em_catdb_pg_open(url, mode);
	return em_catdb_sqlite_open(has_prefix(url, "sqlite:") ? url + 7 : url, mode);
}

void
em_catdb_close(struct em_catdb *db)
{
	if (db == NULL)
		return;
	if (db->in_tx)
		em_catdb_rollback(db);
	db->ops->close(db);
}

const char *
em_catdb_kind(const struct em_catdb *db)
{
	return db->ops->kind;
}

/* ---- records to rows ---- */

int
em_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t k, j;
		uint32_t cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static const char *
str_at(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* A voxel size given as a number, or as an object with a value (a per-axis form). */
static int
axis_value(const json_t *v, double *out)
{
	if (json_is_object(v))
		v = json_object_get(v, "value");
	if (!json_is_number(v))
		return 0;
	*out = json_number_value(v);
	return isfinite(*out);
}

static void
take_voxel(struct em_catdb_entry *e, const json_t *v)
{
	static const char *const names[3] = { "z", "y", "x" };
	int a;

	for (a = 0; a < 3; a++) {
		const json_t *x = json_is_array(v) && json_array_size(v) == 3 ?
		    json_array_get(v, (size_t)a) : json_is_object(v) ? json_object_get(v, names[a]) :
		    NULL;

		e->has_voxel[a] = axis_value(x, &e->voxel[a]);
	}
}

static int64_t
ms_of(const char *t, int *ok)
{
	int64_t sec;
	long nsec;

	*ok = 0;
	if (t == NULL || em_time_parse(t, &sec, &nsec) < 0)
		return 0;
	*ok = 1;
	return sec * 1000 + nsec / 1000000;
}

/* Description and title with ASCII letters lower-cased: the same bytes on both backends. */
static char *
fold_text(const char *desc, const char *title)
{
	struct em_buf b = EM_BUF_INIT(EM_RECORD_MAX_BYTES);
	size_t i;

	if ((desc && em_buf_addstr(&b, desc) < 0) || em_buf_addch(&b, '\n') < 0 ||
	    (title && em_buf_addstr(&b, title) < 0)) {
		em_buf_release(&b);
		return NULL;
	}
	for (i = 0; i < b.len; i++)
		if (b.data[i] >= 'A' && b.data[i] <= 'Z')
			b.data[i] = (char)(b.data[i] - 'A' + 'a');
	return em_buf_detach(&b, NULL);
}

static int
add_run(struct em_catdb_entry *e, const char *status, const char *started, const char *finished,
    const char *error)
{
	struct em_catdb_run *r = &e->runs[e->nruns];
	int ok1, ok2;

	if (status == NULL || started == NULL || finished == NULL)
		return 0;
	r->started_ms = ms_of(started, &ok1);
	r->finished_ms = ms_of(finished, &ok2);
	if (!ok1 || !ok2) {
		em_clear_error();
		return 0;
	}
	r->status = status;
	r->started = started;
	r->finished = finished;
	r->error = error;
	e->nruns++;
	return 0;
}

int
em_catdb_entry_make(struct em_catdb_entry *e, const json_t *rec, const char *doc, size_t doclen)
{
	const json_t *hist, *prev, *last, *extra, *v;
	const char *desc, *t;
	size_t i, n;
	int ok;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(rec))
		return em_fail("not a JSON object");
	e->source = str_at(rec, "source");
	e->id = str_at(rec, "id");
	e->status = str_at(rec, "status");
	if (e->source == NULL || e->id == NULL || e->status == NULL)
		return em_fail("no source, id or status");
	hist = json_object_get(rec, "status_history");
	last = json_array_get(hist, json_array_size(hist) - 1);
	e->ingested = str_at(last, "time");
	e->ingested_ms = ms_of(e->ingested, &ok);
	if (!ok)
		return em_fail("no status_history time");
	e->modality = str_at(rec, "modality");
	extra = json_object_get(rec, "extra");
	e->organism = str_at(rec, "organism") ? str_at(rec, "organism") : str_at(extra, "organism");
	e->license = str_at(rec, "license");
	e->dtype = str_at(rec, "data_type");
	e->title = str_at(json_object_get(rec, "archive"), "title");
	if (e->title == NULL)
		e->title = str_at(json_object_get(rec, "citation"), "title");
	take_voxel(e, json_object_get(rec, "voxel_size_nm"));
	v = json_object_get(rec, "volume_shape");
	for (i = 0; i < 3; i++) {
		const json_t *x = json_array_size(v) == 3 ? json_array_get(v, i) : NULL;

		e->has_shape[i] = json_is_integer(x);
		e->shape[i] = json_integer_value(x);
	}
	v = json_object_get(rec, "file_size_bytes");
	e->has_bytes = json_is_integer(v);
	e->bytes = json_integer_value(v);
	desc = str_at(rec, "description");
	if ((e->text = fold_text(desc, e->title)) == NULL)
		return -1;
	e->doc = doc;
	e->doclen = doclen;
	if (em_sha256_hex(doc, doclen, e->digest) < 0)
		goto fail;

	prev = json_object_get(rec, "previous_runs");
	n = json_array_size(prev) + 1;
	if ((e->runs = calloc(n, sizeof(*e->runs))) == NULL) {
		em_fail("out of memory");
		goto fail;
	}
	t = str_at(json_array_get(hist, 0), "time");
	add_run(e, e->status, t, e->ingested, str_at(rec, "error"));
	for (i = 0; i + 1 < n; i++) {
		const json_t *r = json_array_get(prev, i);

		add_run(e, str_at(r, "status"), str_at(r, "started"), str_at(r, "finished"),
		    str_at(r, "error"));
	}
	return 0;
fail:
	em_catdb_entry_free(e);
	return -1;
}

void
em_catdb_entry_free(struct em_catdb_entry *e)
{
	if (e == NULL)
		return;
	free(e->text);
	free(e->runs);
	e->text = NULL;
	e->runs = NULL;
	e->nruns = 0;
}

/* ---- parameters ---- */

struct params {
	struct catdb_param p[MAX_PARAMS];
	size_t n;
};

static void
p_text(struct params *ps, const char *s)
{
	struct catdb_param *p = &ps->p[ps->n++];

	p->type = s ? CATDB_TEXT : CATDB_NULL;
	p->s = s;
	p->len = s ? strlen(s) : 0;
}

static void
p_textn(struct params *ps, const char *s, size_t n)
{
	struct catdb_param *p = &ps->p[ps->n++];

	p->type = CATDB_TEXT;
	p->s = s;
	p->len = n;
}

static void
p_int(struct params *ps, int has, int64_t v)
{
	struct catdb_param *p = &ps->p[ps->n++];

	p->type = has ? CATDB_INT : CATDB_NULL;
	p->i = v;
}

static void
p_real(struct params *ps, int has, double v)
{
	struct catdb_param *p = &ps->p[ps->n++];

	p->type = has ? CATDB_REAL : CATDB_NULL;
	p->d = v;
}

static int
run(struct em_catdb *db, const char *sql, const struct params *ps, catdb_row_fn fn, void *ctx,
    uint64_t *changes)
{
	return db->ops->exec(db, sql, ps ? ps->p : NULL, ps ? ps->n : 0, fn, ctx, changes);
}

/* ---- loading ---- */

int
em_catdb_begin(struct em_catdb *db)
{
	if (db->in_tx)
		return em_fail("a load is already open");
	if (db->ops->begin(db) < 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

int
em_catdb_commit(struct em_catdb *db)
{
	int rc = run(db, "COMMIT", NULL, NULL, NULL, NULL);

	if (rc < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", em_errmsg());
		em_catdb_rollback(db);
		return em_fail("%s", why);
	}
	db->in_tx = 0;
	return 0;
}

int
em_catdb_rollback(struct em_catdb *db)
{
	int rc;

	if (!db->in_tx)
		return 0;
	db->in_tx = 0;
	rc = run(db, "ROLLBACK", NULL, NULL, NULL, NULL);
	return rc;
}

/*
 * The better of two versions of a record wins (catdb.h): the row values
 * compare in the same order on both backends.
 */
static const char put_record_sql[] =
    "INSERT INTO records (source, id, status, modality, organism, license, dtype, "
    "voxel_z, voxel_y, voxel_x, shape_z, shape_y, shape_x, bytes, ingested, ingested_ms, "
    "complete, words, digest, doc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (source, id) DO UPDATE SET status = excluded.status, "
    "modality = excluded.modality, organism = excluded.organism, "
    "license = excluded.license, dtype = excluded.dtype, voxel_z = excluded.voxel_z, "
    "voxel_y = excluded.voxel_y, voxel_x = excluded.voxel_x, shape_z = excluded.shape_z, "
    "shape_y = excluded.shape_y, shape_x = excluded.shape_x, bytes = excluded.bytes, "
    "ingested = excluded.ingested, ingested_ms = excluded.ingested_ms, "
    "complete = excluded.complete, words = excluded.words, digest = excluded.digest, "
    "doc = excluded.doc "
    "WHERE (excluded.complete, excluded.ingested_ms, excluded.digest) > "
    "(records.complete, records.ingested_ms, records.digest)";

/* A run seen again later (its end, its outcome) replaces what was known of it. */
static const char put_run_sql[] =
    "INSERT INTO runs (source, id, started_ms, started, finished_ms, finished, final, status, "
    "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (source, id, started_ms) DO UPDATE SET started = excluded.started, "
    "finished_ms = excluded.finished_ms, finished = excluded.finished, "
    "final = excluded.final, status = excluded.status, error = excluded.error "
    "WHERE (excluded.finished_ms, excluded.final, excluded.status, excluded.error) > "
    "(runs.finished_ms, runs.final, runs.status, runs.error)";

static int
is_final(const char *status)
{
	return strcmp(status, "complete") == 0 || strcmp(status, "failed") == 0 ||
	    strcmp(status, "cancelled") == 0;
}

int
em_catdb_put(struct em_catdb *db, const struct em_catdb_entry *e, int *changed)
{
	struct params ps;
	uint64_t ch = 0, total = 0;
	size_t i;
	int a;

	if (!db->in_tx)
		return em_fail("no load open");
	ps.n = 0;
	p_text(&ps, e->source);
	p_text(&ps, e->id);
	p_text(&ps, e->status);
	p_text(&ps, e->modality);
	p_text(&ps, e->organism);
	p_text(&ps, e->license);
	p_text(&ps, e->dtype);
	for (a = 0; a < 3; a++)
		p_real(&ps, e->has_voxel[a], e->voxel[a]);
	for (a = 0; a < 3; a++)
		p_int(&ps, e->has_shape[a], e->shape[a]);
	p_int(&ps, e->has_bytes, e->bytes);
	p_text(&ps, e->ingested);
	p_int(&ps, 1, e->ingested_ms);
	p_int(&ps, 1, strcmp(e->status, "complete") == 0);
	p_text(&ps, e->text);
	p_text(&ps, e->digest);
	p_textn(&ps, e->doc, e->doclen);
	if (run(db, put_record_sql, &ps, NULL, NULL, &ch) < 0)
		return -1;
	total += ch;
	for (i = 0; i < e->nruns; i++) {
		const struct em_catdb_run *r = &e->runs[i];

		ps.n = 0;
		p_text(&ps, e->source);
		p_text(&ps, e->id);
		p_int(&ps, 1, r->started_ms);
		p_text(&ps, r->started);
		p_int(&ps, 1, r->finished_ms);
		p_text(&ps, r->finished);
		p_int(&ps, 1, is_final(r->status));
		p_text(&ps, r->status);
		p_text(&ps, r->error ? r->error : "");
		if (run(db, put_run_sql, &ps, NULL, NULL, &ch) < 0)
			return -1;
		total += ch;
	}
	*changed = total > 0;
	return 0;
}

/* ---- filters ---- */

void
em_catdb_query_init(struct em_catdb_query *q)
{
	memset(q, 0, sizeof(*q));
	q->sort = EM_CATDB_SOURCE;
}

static int
col_by_name(const char *name, size_t n, enum em_catdb_col *out)
{
	int c;

	for (c = 0; c < EM_CATDB_NCOLS; c++)
		if (strlen(em_catdb_col_names[c]) == n && memcmp(em_catdb_col_names[c], name, n) == 0) {
			*out = (enum em_catdb_col)c;
			return 0;
		}
	return -1;
}

/* "MIN:MAX", either side empty. */
static int
parse_range(const char *v, int real, struct em_catdb_range *r)
{
	const char *colon = strchr(v, ':');
	char lo[128], hi[128];

	if (colon == NULL)
		return em_fail("not MIN:MAX");
	if ((size_t)(colon - v) >= sizeof(lo) || strlen(colon + 1) >= sizeof(hi))
		return em_fail("a number too long");
	memcpy(lo, v, (size_t)(colon - v));
	lo[colon - v] = '\0';
	snprintf(hi, sizeof(hi), "%s", colon + 1);
	if (lo[0] == '\0' && hi[0] == '\0')
		return em_fail("not MIN:MAX (both empty)");
	r->has_min = lo[0] != '\0';
	r->has_max = hi[0] != '\0';
	if (real) {
		if ((r->has_min && em_parse_double(lo, &r->min) < 0) ||
		    (r->has_max && em_parse_double(hi, &r->max) < 0))
			return -1;
	} else {
		if ((r->has_min && em_parse_i64(lo, &r->imin) < 0) ||
		    (r->has_max && em_parse_i64(hi, &r->imax) < 0))
			return -1;
	}
	return 0;
}

/* An RFC 3339 time, or a date (its midnight, UTC). */
static int
parse_when(const char *v, int64_t *ms)
{
	char t[64];
	int ok;

	if (strlen(v) == 10 && v[4] == '-' && v[7] == '-') {
		snprintf(t, sizeof(t), "%sT00:00:00Z", v);
		v = t;
	}
	*ms = ms_of(v, &ok);
	if (!ok)
		return em_fail("not an RFC 3339 time or a YYYY-MM-DD date");
	return 0;
}

static int b64_decode(const char *s, size_t n, struct em_buf *out);

static int
set_cursor(struct em_catdb_query *q, const char *v, size_t n)
{
	struct em_buf b = EM_BUF_INIT(EM_CATDB_MAX_CURSOR);
	json_t *a = NULL, *x;
	const char *s, *src, *id;
	int rc = -1;

	if (b64_decode(v, n, &b) < 0)
		goto out;
	a = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	if (!json_is_array(a) || json_array_size(a) != 3)
		goto bad;
	x = json_array_get(a, 0);
	src = json_string_value(json_array_get(a, 1));
	id = json_string_value(json_array_get(a, 2));
	if (src == NULL || id == NULL || strlen(src) > EM_CATDB_MAX_VALUE ||
	    strlen(id) > EM_CATDB_MAX_VALUE)
		goto bad;
	if (json_is_null(x)) {
		q->after_null = 1;
		q->after_val[0] = '\0';
	} else if ((s = json_string_value(x)) != NULL && strlen(s) < sizeof(q->after_val)) {
		char type = catdb_col_type(q->sort);
		double d;
		int64_t i;

		if ((type == 'r' && em_parse_double(s, &d) < 0) ||
		    (type == 'i' && em_parse_i64(s, &i) < 0)) {
			em_clear_error();
			goto bad;
		}
		q->after_null = 0;
		snprintf(q->after_val, sizeof(q->after_val), "%s", s);
	} else {
		goto bad;
	}
	snprintf(q->after_source, sizeof(q->after_source), "%s", src);
	snprintf(q->after_id, sizeof(q->after_id), "%s", id);
	q->has_after = 1;
	rc = 0;
	goto out;
bad:
	rc = em_fail("not a cursor of this query (give sort before cursor)");
out:
	json_decref(a);
	em_buf_release(&b);
	return rc;
}

int
em_catdb_query_set(struct em_catdb_query *q, const char *name, const char *value, size_t len)
{
	enum em_catdb_col c;
	size_t nl = strlen(name);

	if (len > (strcmp(name, "cursor") == 0 ? EM_CATDB_MAX_CURSOR : EM_CATDB_MAX_VALUE))
		return em_fail("%s: longer than %d bytes", name, strcmp(name, "cursor") == 0 ?
		    EM_CATDB_MAX_CURSOR : EM_CATDB_MAX_VALUE);
	if (!em_utf8_valid(value, len) || value[len] != '\0')
		return em_fail("%s: not UTF-8 text (or a NUL in it)", name);
	if (strcmp(name, "id") == 0) {
		q->id_glob = value;
		return 0;
	}
	if (col_by_name(name, nl, &c) == 0 && catdb_col_type(c) == 't') {
		q->eq[c] = value;
		return 0;
	}
	if (strncmp(name, "voxel-", 6) == 0 || strncmp(name, "shape-", 6) == 0) {
		char col[8];

		snprintf(col, sizeof(col), "%.5s_%s", name, name + 6);
		if (nl != 7 || col_by_name(col, strlen(col), &c) < 0)
			return 1;
		if (parse_range(value, name[0] == 'v', &q->range[c]) < 0)
			return em_fail_ctx("%s '%s'", name, value);
		return 0;
	}
	if (strcmp(name, "min-bytes") == 0 || strcmp(name, "max-bytes") == 0) {
		struct em_catdb_range *r = &q->range[EM_CATDB_BYTES];
		uint64_t v;

		if (em_parse_size(value, &v) < 0 || v > INT64_MAX)
			return em_fail("%s '%s': not a byte count", name, value);
		if (name[1] == 'i') {
			r->has_min = 1;
			r->imin = (int64_t)v;
		} else {
			r->has_max = 1;
			r->imax = (int64_t)v;
		}
		return 0;
	}
	if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
		struct em_catdb_range *r = &q->range[EM_CATDB_INGESTED];
		int64_t ms;

		if (parse_when(value, &ms) < 0)
			return em_fail_ctx("%s '%s'", name, value);
		if (name[0] == 's') {
			r->has_min = 1;
			r->imin = ms;
		} else {
			/* until is exclusive: the range's max is inclusive. */
			r->has_max = 1;
			r->imax = ms - 1;
		}
		return 0;
	}
	if (strcmp(name, "text") == 0) {
		size_t i;
		char *p;

		memcpy(q->wordbuf, value, len);
		q->wordbuf[len] = '\0';
		q->nwords = 0;
		for (i = 0; i < len; i++)
			if (q->wordbuf[i] >= 'A' && q->wordbuf[i] <= 'Z')
				q->wordbuf[i] = (char)(q->wordbuf[i] - 'A' + 'a');
		p = q->wordbuf;
		while (*p != '\0') {
			while (*p == ' ' || *p == '\t' || *p == '\n')
				*p++ = '\0';
			if (*p == '\0')
				break;
			if (q->nwords == EM_CATDB_MAX_WORDS)
				return em_fail("text: more than %d words", EM_CATDB_MAX_WORDS);
			q->words[q->nwords++] = p;
			while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
				p++;
		}
		return 0;
	}
	if (strcmp(name, "sort") == 0) {
		const char *f = value;

		q->desc = *f == '-';
		if (*f == '-' || *f == '+')
			f++;
		if (col_by_name(f, strlen(f), &c) < 0 &&
		    !(strcmp(f, "voxel-z") == 0 && (c = EM_CATDB_VOXEL_Z, 1)) &&
		    !(strcmp(f, "voxel-y") == 0 && (c = EM_CATDB_VOXEL_Y, 1)) &&
		    !(strcmp(f, "voxel-x") == 0 && (c = EM_CATDB_VOXEL_X, 1)) &&
		    !(strcmp(f, "shape-z") == 0 && (c = EM_CATDB_SHAPE_Z, 1)) &&
		    !(strcmp(f, "shape-y") == 0 && (c = EM_CATDB_SHAPE_Y, 1)) &&
		    !(strcmp(f, "shape-x") == 0 && (c = EM_CATDB_SHAPE_X, 1)))
			return em_fail("sort '%s': not a field (source, id, status, modality, "
			    "organism, license, dtype, voxel_z, voxel_y, voxel_x, shape_z, shape_y, "
			    "shape_x, bytes, ingested)", value);
		q->sort = c;
		return 0;
	}
	if (strcmp(name, "limit") == 0) {
		if (em_parse_u64(value, &q->limit) < 0 || q->limit == 0)
			return em_fail("limit '%s': not a positive count", value);
		return 0;
	}
	if (strcmp(name, "cursor") == 0)
		return set_cursor(q, value, len);
	return 1;
}

/* ---- cursors: base64url of ["sort value" or null, source, id] ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_decode(const char *s, size_t n, struct em_buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = s[i] != '\0' ? strchr(b64, s[i]) : NULL;

		if (p == NULL)
			return em_fail("not a cursor");
		acc = (acc << 6) | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (em_buf_addch(out, (int)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	return 0;
}

char *
em_catdb_cursor(const struct em_catdb_query *q, const struct em_catdb_row *row)
{
	json_t *a;
	char *s;
	struct em_buf b = EM_BUF_INIT(4 * (sizeof(q->after_val) + 3 * EM_CATDB_MAX_VALUE));
	size_t i, n;
	uint32_t acc = 0;
	int bits = 0;

	(void)q;
	a = json_pack("[s?,s,s]", row->sortval, row->col[EM_CATDB_SOURCE], row->col[EM_CATDB_ID]);
	if (a == NULL || (s = json_dumps(a, JSON_COMPACT)) == NULL) {
		json_decref(a);
		em_fail("out of memory");
		return NULL;
	}
	json_decref(a);
	n = strlen(s);
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | (unsigned char)s[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			em_buf_addch(&b, b64[(acc >> bits) & 63]);
		}
	}
	if (bits > 0)
		em_buf_addch(&b, b64[(acc << (6 - bits)) & 63]);
	free(s);
	if (b.data == NULL && em_buf_addstr(&b, "") < 0)
		return NULL;
	return em_buf_detach(&b, NULL);
}

/* ---- queries ---- */

static const char select_cols[] =
    "SELECT source, id, status, modality, organism, license, dtype, voxel_z, voxel_y, "
    "voxel_x, shape_z, shape_y, shape_x, bytes, ingested, doc";

/* The WHERE clause of q (with a leading " WHERE" when there is one) and its parameters. */
static int
where(struct em_catdb *db, const struct em_catdb_query *q, int paged, struct em_buf *sql,
    struct params *ps, struct em_buf *glob)
{
	int n = 0, c;
	size_t i;

#define AND() (em_buf_addstr(sql, n++ ? " AND " : " WHERE "))
	for (c = 0; c < EM_CATDB_NCOLS; c++) {
		if (q->eq[c] != NULL) {
			AND();
			em_buf_addf(sql, "%s = ?", col_sql((enum em_catdb_col)c));
			p_text(ps, q->eq[c]);
		}
		if (q->range[c].has_min) {
			AND();
			em_buf_addf(sql, "%s >= ?", col_sql((enum em_catdb_col)c));
			if (catdb_col_type((enum em_catdb_col)c) == 'r')
				p_real(ps, 1, q->range[c].min);
			else
				p_int(ps, 1, q->range[c].imin);
		}
		if (q->range[c].has_max) {
			AND();
			em_buf_addf(sql, "%s <= ?", col_sql((enum em_catdb_col)c));
			if (catdb_col_type((enum em_catdb_col)c) == 'r')
				p_real(ps, 1, q->range[c].max);
			else
				p_int(ps, 1, q->range[c].imax);
		}
	}
	if (q->id_glob != NULL) {
		if (db->ops->glob_pattern(q->id_glob, glob) < 0)
			return -1;
		AND();
		em_buf_addstr(sql, db->ops->glob_sql);
		p_text(ps, em_buf_cstr(glob));
	}
	for (i = 0; i < q->nwords; i++) {
		AND();
		em_buf_addf(sql, "%s(words, ?) > 0", db->ops->find_fn);
		p_text(ps, q->words[i]);
	}
	if (paged && q->has_after) {
		const char *s = col_sql(q->sort);
		char type = catdb_col_type(q->sort);

		AND();
		/* Rows after the cursor's in ORDER BY s [DESC] NULLS LAST, source, id. */
		if (q->after_null) {
			em_buf_addf(sql, "(%s IS NULL AND (source, id) > (?, ?))", s);
		} else {
			em_buf_addf(sql, "(%s %s ? OR (%s = ? AND (source, id) > (?, ?)) OR %s IS NULL)",
			    s, q->desc ? "<" : ">", s, s);
			for (int k = 0; k < 2; k++) {
				if (type == 'r')
					p_real(ps, 1, strtod(q->after_val, NULL));
				else if (type == 'i')
					p_int(ps, 1, strtoll(q->after_val, NULL, 10));
				else
					p_text(ps, q->after_val);
			}
		}
		p_text(ps, q->after_source);
		p_text(ps, q->after_id);
	}
#undef AND
	if (sql->len >= MAX_SQL)
		return em_fail("query too long");
	return 0;
}

struct qctx {
	const struct em_catdb_query *q;
	em_catdb_row_fn fn;
	void *ctx;
	long rows;
};

static int
on_row(void *vctx, int ncol, const char *const *val, const size_t *len)
{
	struct qctx *x = vctx;
	struct em_catdb_row r;
	int c;

	if (ncol != EM_CATDB_NCOLS + 1)
		return em_fail("unexpected columns");
	for (c = 0; c < EM_CATDB_NCOLS; c++)
		r.col[c] = val[c];
	r.doc = val[EM_CATDB_NCOLS];
	r.doclen = len[EM_CATDB_NCOLS];
	r.sortval = val[x->q->sort];
	x->rows++;
	return x->fn(&r, x->ctx);
}

/*
 * Sorting on the ingest time pages by its milliseconds, which the row does
 * not carry as text: such a query selects them as one more column.
 */
static int
on_row_ms(void *vctx, int ncol, const char *const *val, const size_t *len)
{
	struct qctx *x = vctx;
	struct em_catdb_row r;
	int c;

	if (ncol != EM_CATDB_NCOLS + 2)
		return em_fail("unexpected columns");
	for (c = 0; c < EM_CATDB_NCOLS; c++)
		r.col[c] = val[c];
	r.doc = val[EM_CATDB_NCOLS];
	r.doclen = len[EM_CATDB_NCOLS];
	r.sortval = val[EM_CATDB_NCOLS + 1];
	x->rows++;
	return x->fn(&r, x->ctx);
}

long
em_catdb_query(struct em_catdb *db, const struct em_catdb_query *q, em_catdb_row_fn fn,
    void *ctx)
{
	struct em_buf sql = EM_BUF_INIT(2 * MAX_SQL), glob = EM_BUF_INIT(4 * EM_CATDB_MAX_VALUE + 8);
	struct params ps;
	struct qctx x = { q, fn, ctx, 0 };
	const char *s = col_sql(q->sort);
	int ms = q->sort == EM_CATDB_INGESTED;
	int rc;

	ps.n = 0;
	em_buf_addstr(&sql, select_cols);
	if (ms)
		em_buf_addstr(&sql, ", ingested_ms");
	em_buf_addstr(&sql, " FROM records");
	if (where(db, q, 1, &sql, &ps, &glob) < 0) {
		rc = -1;
		goto out;
	}
	em_buf_addf(&sql, " ORDER BY %s %s NULLS LAST", s, q->desc ? "DESC" : "ASC");
	if (q->sort != EM_CATDB_SOURCE && q->sort != EM_CATDB_ID)
		em_buf_addstr(&sql, ", source, id");
	else if (q->sort == EM_CATDB_SOURCE)
		em_buf_addstr(&sql, ", id");
	else
		em_buf_addstr(&sql, ", source");
	if (q->limit > 0) {
		em_buf_addstr(&sql, " LIMIT ?");
		p_int(&ps, 1, q->limit > INT64_MAX ? INT64_MAX : (int64_t)q->limit);
	}
	rc = run(db, em_buf_cstr(&sql), &ps, ms ? on_row_ms : on_row, &x, NULL);
out:
	em_buf_release(&sql);
	em_buf_release(&glob);
	return rc < 0 ? rc : x.rows;
}

static int
on_count(void *ctx, int ncol, const char *const *val, const size_t *len)
{
	(void)len;
	if (ncol != 1 || val[0] == NULL || em_parse_u64(val[0], ctx) < 0)
		return em_fail("unexpected count");
	return 0;
}

int
em_catdb_count(struct em_catdb *db, const struct em_catdb_query *q, uint64_t *n)
{
	struct em_buf sql = EM_BUF_INIT(2 * MAX_SQL), glob = EM_BUF_INIT(4 * EM_CATDB_MAX_VALUE + 8);
	struct params ps;
	int rc;

	ps.n = 0;
	*n = 0;
	em_buf_addstr(&sql, "SELECT count(*) FROM records");
	rc = where(db, q, 0, &sql, &ps, &glob);
	if (rc == 0)
		rc = run(db, em_buf_cstr(&sql), &ps, on_count, n, NULL);
	em_buf_release(&sql);
	em_buf_release(&glob);
	return rc;
}

struct getctx {
	char *doc;
	size_t len;
};

static int
on_get(void *vctx, int ncol, const char *const *val, const size_t *len)
{
	struct getctx *g = vctx;

	if (ncol != 1 || val[0] == NULL)
		return em_fail("unexpected columns");
	free(g->doc);
	if ((g->doc = malloc(len[0] + 1)) == NULL)
		return em_fail("out of memory");
	memcpy(g->doc, val[0], len[0]);
	g->doc[len[0]] = '\0';
	g->len = len[0];
	return 0;
}

int
em_catdb_get(struct em_catdb *db, const char *source, const char *id, char **doc, size_t *len)
{
	struct params ps;
	struct getctx g = { NULL, 0 };

	ps.n = 0;
	p_text(&ps, source);
	p_text(&ps, id);
	if (run(db, "SELECT doc FROM records WHERE source = ? AND id = ?", &ps, on_get, &g,
	    NULL) < 0) {
		free(g.doc);
		return -1;
	}
	*doc = g.doc;
	if (len)
		*len = g.len;
	return g.doc != NULL;
}

static int
on_run(void *ctx, int ncol, const char *const *val, const size_t *len)
{
	json_t *o;

	(void)len;
	if (ncol != 4)
		return em_fail("unexpected columns");
	o = json_pack("{s:s?,s:s?,s:s?,s:s?}", "status", val[0], "started", val[1], "finished",
	    val[2], "error", val[3] != NULL && *val[3] != '\0' ? val[3] : NULL);
	if (o == NULL || json_array_append_new(ctx, o) < 0)
		return em_fail("out of memory");
	return 0;
}

int
em_catdb_history(struct em_catdb *db, const char *source, const char *id, json_t **runs)
{
	struct params ps;
	json_t *a = json_array();
	char *doc = NULL;
	int rc;

	*runs = NULL;
	if (a == NULL)
		return em_fail("out of memory");
	if ((rc = em_catdb_get(db, source, id, &doc, NULL)) <= 0) {
		json_decref(a);
		return rc;
	}
	free(doc);
	ps.n = 0;
	p_text(&ps, source);
	p_text(&ps, id);
	if (run(db, "SELECT status, started, finished, error FROM runs WHERE source = ? AND "
	    "id = ? ORDER BY started_ms, finished_ms", &ps, on_run, a, NULL) < 0) {
		json_decref(a);
		return -1;
	}
	*runs = a;
	return 1;
}

struct statctx {
	const char *key;
	json_t *arr;
	uint64_t records, bytes;
};

static int
on_stat(void *vctx, int ncol, const char *const *val, const size_t *len)
{
	struct statctx *s = vctx;
	uint64_t n = 0, b = 0;
	json_t *o;

	(void)len;
	if (ncol != 3 || val[1] == NULL || em_parse_u64(val[1], &n) < 0 ||
	    (val[2] != NULL && em_parse_u64(val[2], &b) < 0))
		return em_fail("unexpected statistics");
	o = json_pack("{s:s?,s:I,s:I}", s->key, val[0], "records", (json_int_t)n, "bytes",
	    (json_int_t)b);
	if (o == NULL || json_array_append_new(s->arr, o) < 0)
		return em_fail("out of memory");
	s->records += n;
	s->bytes += b;
	return 0;
}

json_t *
em_catdb_stats(struct em_catdb *db)
{
	static const char *const keys[] = { "source", "status", "modality" };
	json_t *out = json_object();
	char sql[256], name[32];
	size_t i;

	if (out == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	for (i = 0; i < 3; i++) {
		struct statctx s = { keys[i], json_array(), 0, 0 };

		/* Names come from the fixed list above, never from a request. */
		snprintf(sql, sizeof(sql), "SELECT %s, count(*), sum(bytes) FROM records GROUP BY %s "
		    "ORDER BY %s NULLS LAST", keys[i], keys[i], keys[i]);
		snprintf(name, sizeof(name), "by_%s", keys[i]);
		if (s.arr == NULL || run(db, sql, NULL, on_stat, &s, NULL) < 0) {
			json_decref(s.arr);
			json_decref(out);
			return NULL;
		}
		if (i == 0) {
			json_object_set_new(out, "records", json_integer((json_int_t)s.records));
			json_object_set_new(out, "bytes", json_integer((json_int_t)s.bytes));
		}
		json_object_set_new(out, name, s.arr);
	}
	return out;
}

int
catdb_schema_need(long version, enum em_catdb_mode mode)
{
	if (version > EM_CATDB_SCHEMA_VERSION)
		return em_fail("the catalog's schema version %ld is newer than this program's (%d)",
		    version, EM_CATDB_SCHEMA_VERSION);
	if (version == EM_CATDB_SCHEMA_VERSION)
		return 0;
	if (mode == EM_CATDB_READ)
		return em_fail("not a catalog database (no tables; em-catalog load makes them)");
	return 1;
}
