/* catalog.c - gathering records into the catalog, the validation report and the processing log */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "meta/catalog.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "core/jsonio.h"
#include "core/timefmt.h"
#include "meta/recfind.h"
#include "meta/record.h"
#include "core/version.h"
#include "core/banned.h"

/* A catalog or report read back into memory (em_catalog_json) may be this long, as the writer's. */
#define EM_CATALOG_MAX_OUTPUT ((size_t)4 << 30)

enum outcome {
	OUT_CATALOG,		/* valid, in the catalog */
	OUT_SUPERSEDED,		/* valid, a duplicate that lost */
	OUT_INVALID,		/* fails the schema */
	OUT_UNREADABLE,		/* could not be read */
};

static const char *const outcome_names[] = { "catalog", "superseded", "invalid", "unreadable" };

/* Bytes in the spool file. */
struct span {
	off_t off;
	size_t len;
};

/*
 * What is kept in memory of one text: what sorting, choosing and the
 * summary need.  The record itself (as the catalog spells it) and its
 * report details (errors, completeness, warnings) go to the spool file and
 * are read back one at a time when the outputs are written, so memory
 * grows by this much per record, not by the record's size.
 */
struct entry {
	char *path;
	unsigned long text;
	char *source;		/* NULL when absent or not a string */
	char *id;
	char *status;
	enum outcome outcome;
	int complete;
	int has_time;
	int64_t sec;		/* last status_history time */
	long nsec;
	size_t winner;		/* for OUT_SUPERSEDED: the index of the entry that won */
	size_t dropped;		/* errors not kept */
	size_t nwarnings;	/* the record's own warnings (not duplicate-superseded) */
	struct span doc;	/* the record's text (valid records only) */
	struct span info;	/* {"e": errors, "c": completeness, "m": missing, "w": warnings} */
	uint64_t voxels;	/* product of volume_shape, when has_shape */
	int has_shape;
	int shape_bad;		/* a negative length, or a product past 64 bits */
	uint64_t bytes;		/* file_size_bytes when a positive integer, else 0 */
	uint32_t *keys;		/* the record's top-level names, as indices into key_names */
	size_t nkeys;
};

struct em_catalog {
	const struct em_jschema *schema;
	char *schema_id;
	struct entry *v;
	size_t n, cap;
	struct em_buf log;
	int log_full;
	int finished;
	size_t skipped;
	int spool;		/* an unlinked temporary file, -1 until the first text */
	off_t spool_end;
	json_t *key_index;	/* top-level name -> index into key_names */
	char **key_names;
	size_t nkey_names, key_cap;
};

struct em_catalog *
em_catalog_new(const struct em_jschema *schema, const char *schema_id)
{
	struct em_catalog *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	c->schema = schema;
	c->spool = -1;
	if ((schema_id != NULL && (c->schema_id = strdup(schema_id)) == NULL) ||
	    (c->key_index = json_object()) == NULL) {
		free(c->schema_id);
		free(c);
		em_fail("out of memory");
		return NULL;
	}
	em_buf_init(&c->log, EM_CATALOG_MAX_LOG);
	return c;
}

void
em_catalog_free(struct em_catalog *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].source);
		free(c->v[i].id);
		free(c->v[i].status);
		free(c->v[i].keys);
	}
	for (i = 0; i < c->nkey_names; i++)
		free(c->key_names[i]);
	free(c->key_names);
	json_decref(c->key_index);
	if (c->spool >= 0)
		close(c->spool);
	free(c->v);
	free(c->schema_id);
	em_buf_release(&c->log);
	free(c);
}

/* Append bytes to the spool (made on first use, in $TMPDIR, unlinked at once). */
static int
spool_put(struct em_catalog *c, const char *data, size_t len, struct span *sp)
{
	char name[PATH_MAX];
	const char *dir = getenv("TMPDIR");

	if (c->spool < 0) {
		if (dir == NULL || *dir == '\0')
			dir = "/tmp";
		if (snprintf(name, sizeof(name), "%s/em-catalog.XXXXXX", dir) >= (int)sizeof(name))
			return em_fail("the temporary directory's name is too long");
		if ((c->spool = mkstemp(name)) < 0)
			return em_fail_errno("cannot create a temporary file in '%s'", dir);
		unlink(name);
	}
	if (em_write_all(c->spool, data, len) < 0)
		return em_fail_ctx("cannot write the catalog's temporary file");
	sp->off = c->spool_end;
	sp->len = len;
	c->spool_end += (off_t)len;
	return 0;
}

/* The bytes of sp, NUL-terminated (caller frees). */
static char *
spool_get(const struct em_catalog *c, const struct span *sp)
{
	char *p = malloc(sp->len + 1);
	size_t got = 0;
	ssize_t k;

	if (p == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	while (got < sp->len) {
		k = pread(c->spool, p + got, sp->len - got, sp->off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			em_fail_errno("cannot read the catalog's temporary file");
			free(p);
			return NULL;
		}
		got += (size_t)k;
	}
	p[got] = '\0';
	return p;
}

/* The entry's details from the spool. */
static json_t *
spool_info(const struct em_catalog *c, const struct entry *e)
{
	char *text = spool_get(c, &e->info);
	json_t *j;

	if (text == NULL)
		return NULL;
	j = em_json_load_object(text, e->info.len, "the catalog's temporary file");
	free(text);
	return j;
}

int
em_catalog_logf(struct em_catalog *c, const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int k;

	if (c->log_full)
		return 0;
	va_start(ap, fmt);
	k = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (k < 0)
		return em_fail("cannot format a log line");
	if (em_buf_addstr(&c->log, line) < 0 || em_buf_addch(&c->log, '\n') < 0) {
		/* The log is bounded; say so once rather than fail the run. */
		c->log_full = 1;
		em_clear_error();
		em_buf_addstr(&c->log, "\n(log cut: too long)\n");
		return 0;
	}
	return 0;
}

/* A log line that is also said on stderr through the log hook at level (for -v and -q). */
static void note(struct em_catalog *c, enum em_log_level level, const char *fmt, ...) EM_PRINTF(3, 4);

static void
note(struct em_catalog *c, enum em_log_level level, const char *fmt, ...)
{
	char line[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	em_catalog_logf(c, "%s", line);
	if (em_log_get_level() >= (int)level)
		em_log(level, "%s", line);
}

const char *
em_catalog_log(const struct em_catalog *c)
{
	return em_buf_cstr(&c->log);
}

static const char *
shown(const char *path)
{
	return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/*
 * The path as JSON can hold it: a file name is bytes, JSON text is UTF-8,
 * so a name that is not UTF-8 is kept with '?' for each byte past ASCII.
 */
static char *
json_path(const char *path)
{
	json_t *t = json_string(path);
	char *s, *p;

	if (t != NULL) {
		json_decref(t);
		return strdup(path);
	}
	if ((s = strdup(path)) == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return s;
}

static struct entry *
new_entry(struct em_catalog *c, const char *path, unsigned long text)
{
	struct entry *e;

	if (c->finished) {
		em_fail("the catalog is finished");
		return NULL;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct entry *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL) {
			em_fail("out of memory");
			return NULL;
		}
		c->v = v;
		c->cap = cap;
	}
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	if ((e->path = json_path(path)) == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	e->text = text;
	c->n++;
	return e;
}

static int
add_error(json_t *errors, const char *pointer, const char *keyword, const char *message)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "pointer", pointer, "keyword", keyword,
	    "message", message);

	if (o == NULL || json_array_append_new(errors, o) < 0)
		return em_fail("out of memory");
	return 0;
}

/*
 * Spool what the report says of the entry: errors, completeness and missing
 * (null for what is not an object), the record's warnings.  Takes all four.
 */
static int
put_info(struct em_catalog *c, struct entry *e, json_t *errors, json_t *score, json_t *missing,
    json_t *warnings)
{
	json_t *o = json_pack("{s:o,s:o,s:o,s:o}", "e", errors, "c", score, "m", missing,
	    "w", warnings);
	char *text;
	size_t len;
	int rc;

	if (o == NULL)
		return em_fail("out of memory");
	if ((text = em_json_text(o, EM_JSON_LINE, &len)) == NULL) {
		json_decref(o);
		return -1;
	}
	rc = spool_put(c, text, len, &e->info);
	free(text);
	json_decref(o);
	return rc;
}

int
em_catalog_add_unreadable(struct em_catalog *c, const char *path, unsigned long text,
    const char *reason)
{
	struct entry *e = new_entry(c, path, text);
	json_t *errors;

	if (e == NULL)
		return -1;
	e->outcome = OUT_UNREADABLE;
	if (text > 0)
		note(c, EM_LOG_WARN, "cannot read '%s' (text %lu): %s", shown(path), text, reason);
	else
		note(c, EM_LOG_WARN, "cannot read '%s': %s", shown(path), reason);
	if ((errors = json_array()) == NULL || add_error(errors, "", "read", reason) < 0) {
		json_decref(errors);
		return em_fail("out of memory");
	}
	return put_info(c, e, errors, json_null(), json_null(), json_array());
}

/* The last status_history time of a record, if it has one that parses. */
static void
last_time(struct entry *e, const json_t *doc)
{
	json_t *h = json_object_get(doc, "status_history");
	const char *t;

	if (!json_is_array(h) || json_array_size(h) == 0)
		return;
	t = json_string_value(json_object_get(json_array_get(h, json_array_size(h) - 1), "time"));
	if (t != NULL && em_time_parse(t, &e->sec, &e->nsec) == 0)
		e->has_time = 1;
	else
		em_clear_error();
}

static int
warn(json_t *warnings, const char *code, const char *fmt, ...) EM_PRINTF(3, 4);

static int
warn(json_t *warnings, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s,s:s}", "code", code, "message", msg);
	if (o == NULL || json_array_append_new(warnings, o) < 0)
		return em_fail("out of memory");
	return 0;
}

/* The warnings a record earns by itself (duplicate-superseded is added when it loses). */
static int
doc_warnings(const json_t *doc, json_t *w)
{
	static const char *const axes[] = { "z", "y", "x" };
	json_t *vs, *prov, *ff, *la;
	const char *status;
	char list[16] = "";
	size_t i;

	if (!json_is_object(doc))
		return 0;
	vs = json_object_get(doc, "voxel_size_nm");
	prov = json_object_get(doc, "voxel_size_source");
	if (vs == NULL) {
		if (warn(w, "no-voxel-size", "the voxel size is not known") < 0)
			return -1;
	} else if (json_is_array(prov)) {
		for (i = 0; i < 3 && i < json_array_size(prov); i++) {
			const char *p = json_string_value(json_array_get(prov, i));

			if (p != NULL && strcmp(p, "config") == 0) {
				if (list[0] != '\0')
					strncat(list, ",", sizeof(list) - strlen(list) - 1);
				strncat(list, axes[i], sizeof(list) - strlen(list) - 1);
			}
		}
		if (list[0] != '\0' && warn(w, "voxel-size-from-config",
		    "the voxel size along %s is from the configuration, not from the data or the archive",
		    list) < 0)
			return -1;
		list[0] = '\0';
		for (i = 0; i < 3 && i < json_array_size(vs); i++)
			if (json_is_null(json_array_get(vs, i))) {
				if (list[0] != '\0')
					strncat(list, ",", sizeof(list) - strlen(list) - 1);
				strncat(list, axes[i], sizeof(list) - strlen(list) - 1);
			}
		if (list[0] != '\0' && warn(w, "voxel-size-unknown-axis",
		    "the voxel size along %s is not known", list) < 0)
			return -1;
	}
	ff = json_object_get(json_object_get(doc, "statistics"), "fill_fraction");
	if (json_is_number(ff) && json_number_value(ff) >= 1.0 &&
	    warn(w, "all-fill", "every voxel is the fill value (statistics.fill_fraction is 1)") < 0)
		return -1;
	status = json_string_value(json_object_get(doc, "status"));
	if (status != NULL && strcmp(status, "complete") != 0 &&
	    warn(w, "not-complete", "the status is %s, not complete", status) < 0)
		return -1;
	/* A complete volume whose latest re-run failed before it changed the data. */
	la = json_object_get(doc, "last_attempt");
	if (json_is_object(la)) {
		const char *ls = json_string_value(json_object_get(la, "status"));
		const char *lt = json_string_value(json_object_get(la, "finished"));
		const char *le = json_string_value(json_object_get(la, "error"));

		if (warn(w, "last-attempt-failed", "the last attempt (%s) was %s%s%s; the data"
		    " is still the complete run's", lt ? lt : "time unknown",
		    ls ? ls : "not finished", le ? ": " : "", le ? le : "") < 0)
			return -1;
	}
	return 0;
}

/* The top-level names of a record, as indices into the catalog's table of names. */
static int
intern_keys(struct em_catalog *c, struct entry *e, const json_t *doc)
{
	size_t n = json_object_size(doc);
	const char *key;
	json_t *v, *ix;

	if (n == 0)
		return 0;
	if ((e->keys = malloc(n * sizeof(*e->keys))) == NULL)
		return em_fail("out of memory");
	json_object_foreach((json_t *)doc, key, v) {
		if (e->nkeys == n)
			break;
		if ((ix = json_object_get(c->key_index, key)) == NULL) {
			if (c->nkey_names == c->key_cap) {
				size_t cap = c->key_cap ? c->key_cap * 2 : 64;
				char **names = realloc(c->key_names, cap * sizeof(*names));

				if (names == NULL)
					return em_fail("out of memory");
				c->key_names = names;
				c->key_cap = cap;
			}
			if ((c->key_names[c->nkey_names] = strdup(key)) == NULL ||
			    json_object_set_new(c->key_index, key,
			    json_integer((json_int_t)c->nkey_names)) < 0) {
				free(c->key_names[c->nkey_names]);
				return em_fail("out of memory");
			}
			ix = json_object_get(c->key_index, key);
			c->nkey_names++;
		}
		e->keys[e->nkeys++] = (uint32_t)json_integer_value(ix);
	}
	return 0;
}

/* What the summary needs of a valid record: voxels, bytes, names. */
static int
summary_facts(struct em_catalog *c, struct entry *e, const json_t *doc)
{
	json_t *shape = json_object_get(doc, "volume_shape");
	json_t *fsz = json_object_get(doc, "file_size_bytes");
	uint64_t prod = 1;
	size_t j;

	if (json_is_array(shape) && json_array_size(shape) > 0) {
		e->has_shape = 1;
		for (j = 0; j < json_array_size(shape); j++) {
			json_int_t x = json_integer_value(json_array_get(shape, j));

			if (x < 0 || __builtin_mul_overflow(prod, (uint64_t)x, &prod)) {
				e->shape_bad = 1;
				break;
			}
		}
		e->voxels = prod;
	}
	if (json_is_integer(fsz) && json_integer_value(fsz) > 0)
		e->bytes = (uint64_t)json_integer_value(fsz);
	return intern_keys(c, e, doc);
}

static char *
strdup_or_null(const char *s, int *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = 1;
	return d;
}

int
em_catalog_add(struct em_catalog *c, json_t *doc, const char *path, unsigned long text)
{
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(EM_CATALOG_MAX_ERRORS);
	struct entry *e;
	json_t *errors = NULL, *warnings = NULL, *score, *missing = NULL;
	char *rec = NULL;
	size_t i, len;
	int v, oom = 0, rc = -1;

	if ((e = new_entry(c, path, text)) == NULL) {
		json_decref(doc);
		return -1;
	}
	if (json_is_object(doc)) {
		const char *status = json_string_value(json_object_get(doc, "status"));

		e->source = strdup_or_null(json_string_value(json_object_get(doc, "source")), &oom);
		e->id = strdup_or_null(json_string_value(json_object_get(doc, "id")), &oom);
		e->status = strdup_or_null(status, &oom);
		e->complete = status != NULL && strcmp(status, "complete") == 0;
		last_time(e, doc);
	}
	if (oom || (errors = json_array()) == NULL || (warnings = json_array()) == NULL) {
		em_fail("out of memory");
		goto out;
	}
	v = em_jschema_validate(c->schema, doc, &errs);
	if (v < 0) {
		/* Validation that cannot finish (too deep, a runaway pattern) judges the record invalid. */
		e->outcome = OUT_INVALID;
		if (add_error(errors, "", "validation", em_errmsg()) < 0)
			goto out;
	} else if (v == 0) {
		e->outcome = OUT_INVALID;
		for (i = 0; i < errs.n; i++)
			if (add_error(errors, errs.v[i].pointer, errs.v[i].keyword,
			    errs.v[i].message) < 0)
				goto out;
		e->dropped = errs.dropped;
	} else {
		e->outcome = OUT_CATALOG;
	}
	if (e->outcome == OUT_CATALOG) {
		note(c, EM_LOG_INFO, "read '%s' (text %lu, %s/%s): valid, status %s", shown(path), text,
		    e->source, e->id, e->status);
	} else {
		json_t *first = json_array_get(errors, 0);
		const char *ptr = json_string_value(json_object_get(first, "pointer"));

		note(c, EM_LOG_WARN, "invalid record '%s' (text %lu, %s/%s): %s: %s%s", shown(path), text,
		    e->source ? e->source : "?", e->id ? e->id : "?",
		    ptr != NULL && *ptr != '\0' ? ptr : "(root)",
		    json_string_value(json_object_get(first, "message")),
		    json_array_size(errors) + e->dropped > 1 ? " (and more)" : "");
	}
	if (doc_warnings(doc, warnings) < 0)
		goto out;
	e->nwarnings = json_array_size(warnings);
	if (json_is_object(doc)) {
		score = json_real(em_record_completeness(doc, &missing));
		if (missing == NULL)
			missing = json_array();
	} else {
		score = json_null();
		missing = json_null();
	}
	rc = put_info(c, e, errors, score, missing, warnings);
	errors = warnings = NULL;
	if (rc < 0)
		goto out;
	rc = -1;
	/* The record as the catalog will spell it; only the valid can be in the catalog. */
	if (e->outcome == OUT_CATALOG) {
		if ((rec = em_json_text(doc, EM_JSON_INDENT(2), &len)) == NULL ||
		    spool_put(c, rec, len, &e->doc) < 0 || summary_facts(c, e, doc) < 0)
			goto out;
	}
	rc = 0;
out:
	free(rec);
	json_decref(errors);
	json_decref(warnings);
	json_decref(doc);
	em_jschema_errors_reset(&errs);
	return rc;
}

int
em_catalog_is_record(const json_t *doc)
{
	static const char *const keys[] = { "schema_version", "source", "status",
		"status_history" };
	size_t i;

	if (!json_is_object(doc))
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(doc, keys[i]) != NULL)
			return 1;
	return 0;
}

/* Every text of one file or stdin; found says it came from a directory search. */
static int
read_stream(struct em_catalog *c, const char *path, int found)
{
	struct em_json_reader *r = NULL;
	json_t *doc = NULL;
	unsigned long n = 0;
	int fd, rc, ret = 0;
	int is_stdin = strcmp(path, "-") == 0;

	fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return em_catalog_add_unreadable(c, path, 0, strerror(errno));
	if ((r = em_json_reader_new(fd, shown(path), EM_CATALOG_MAX_TEXT)) == NULL) {
		ret = em_catalog_add_unreadable(c, path, 0, em_errmsg());
		goto out;
	}
	while ((rc = em_json_reader_next(r, &doc)) == 1) {
		n = em_json_reader_count(r);
		if (found && !em_catalog_is_record(doc)) {
			note(c, EM_LOG_INFO, "skipped '%s' (text %lu): not a record (%s)", path, n,
			    json_is_object(doc) ? "no schema_version, source, status or "
			    "status_history" : "not an object");
			c->skipped++;
			json_decref(doc);
			doc = NULL;
			continue;
		}
		if (em_catalog_add(c, doc, path, n) < 0) {
			doc = NULL;
			ret = -1;
			goto out;
		}
		doc = NULL;
	}
	if (rc < 0) {
		const char *msg = em_errmsg();
		size_t k = strlen(shown(path));

		/* The reader's reason starts with the input's name; it is said already. */
		if (strncmp(msg, shown(path), k) == 0 && strncmp(msg + k, ": ", 2) == 0)
			msg += k + 2;
		ret = em_catalog_add_unreadable(c, path, n + 1, msg);
	} else if (n == 0 && is_stdin) {
		/* A pipe whose producer passed nothing on: no records, not an error. */
		em_catalog_logf(c, "read '<stdin>': no JSON text in it");
	} else if (n == 0) {
		/* A record file is never empty (records are written atomically): a damaged one. */
		ret = em_catalog_add_unreadable(c, path, 0, "no JSON text in it");
	}
out:
	em_json_reader_free(r);
	if (!is_stdin)
		close(fd);
	return ret;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What a directory search meets, into the catalog and its log. */
static int
found(enum em_recfind_event ev, const char *path, const char *text, void *ctx)
{
	struct em_catalog *c = ctx;

	switch (ev) {
	case EM_RECFIND_FILE:
		return read_stream(c, path, 1);
	case EM_RECFIND_ZARR:
		note(c, EM_LOG_INFO, "%s", text);
		return 0;
	case EM_RECFIND_SKIP:
		em_catalog_logf(c, "%s", text);
		return 0;
	default:
		return em_catalog_add_unreadable(c, path, 0, text);
	}
}

int
em_catalog_add_path(struct em_catalog *c, const char *path)
{
	struct stat st;

	if (c->finished)
		return em_fail("the catalog is finished");
	if (strcmp(path, "-") == 0)
		return read_stream(c, path, 0);
	if (stat(path, &st) < 0)
		return em_catalog_add_unreadable(c, path, 0, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		em_catalog_logf(c, "searching '%s'", path);
		return em_recfind(path, found, c);
	}
	return read_stream(c, path, 0);
}

/* Missing source or id sort first; then source, id, path and text number. */
static int
strcmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
cmp_entries(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int k;

	if ((k = strcmp_null(a->source, b->source)) != 0)
		return k;
	if ((k = strcmp_null(a->id, b->id)) != 0)
		return k;
	if ((k = strcmp(a->path, b->path)) != 0)
		return k;
	return a->text < b->text ? -1 : a->text > b->text;
}

/* 1 if a should win over b: complete first, then the newer, then the earlier in sort order. */
static int
better(const struct entry *a, const struct entry *b)
{
	if (a->complete != b->complete)
		return a->complete;
	if (a->has_time != b->has_time)
		return a->has_time;
	if (a->has_time && (a->sec != b->sec || a->nsec != b->nsec))
		return a->sec > b->sec || (a->sec == b->sec && a->nsec > b->nsec);
	return cmp_entries(a, b) < 0;
}

int
em_catalog_finish(struct em_catalog *c)
{
	size_t i, j, k, best;

	if (c->finished)
		return 0;
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_entries);
	/* Entries of one (source, id) are now next to each other. */
	for (i = 0; i < c->n; i = j) {
		for (j = i + 1; j < c->n && c->v[i].source != NULL && c->v[i].id != NULL &&
		    strcmp_null(c->v[j].source, c->v[i].source) == 0 &&
		    strcmp_null(c->v[j].id, c->v[i].id) == 0; j++)
			;
		best = SIZE_MAX;
		for (k = i; k < j; k++)
			if (c->v[k].outcome == OUT_CATALOG && (best == SIZE_MAX ||
			    better(&c->v[k], &c->v[best])))
				best = k;
		for (k = i; k < j; k++) {
			if (k == best || c->v[k].outcome != OUT_CATALOG)
				continue;
			c->v[k].outcome = OUT_SUPERSEDED;
			c->v[k].winner = best;
			note(c, EM_LOG_INFO, "duplicate %s/%s: kept '%s' (text %lu), superseded '%s' "
			    "(text %lu)", c->v[k].source, c->v[k].id, shown(c->v[best].path),
			    c->v[best].text, shown(c->v[k].path), c->v[k].text);
		}
	}
	c->finished = 1;
	return 0;
}

void
em_catalog_counts(const struct em_catalog *c, struct em_catalog_counts *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->skipped = c->skipped;
	for (i = 0; i < c->n; i++) {
		const struct entry *e = &c->v[i];

		out->read++;
		switch (e->outcome) {
		case OUT_CATALOG:
			out->valid++;
			out->cataloged++;
			break;
		case OUT_SUPERSEDED:
			out->valid++;
			out->superseded++;
			break;
		case OUT_INVALID:
			out->invalid++;
			break;
		case OUT_UNREADABLE:
			out->unreadable++;
			break;
		}
		/* Warnings are the finished catalog's: a duplicate earns one when it loses. */
		if (c->finished && (e->nwarnings > 0 || e->outcome == OUT_SUPERSEDED))
			out->warned++;
	}
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Add one to obj[key] (an integer). */
static int
count_up(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return json_object_set_new(obj, key, json_integer(1));
	return json_integer_set(v, json_integer_value(v) + 1);
}

/* An object with its keys in byte order (the summary's maps read the same every time). */
static json_t *
sorted_object(const json_t *obj)
{
	const char **keys;
	const char *key;
	json_t *v, *out = json_object();
	size_t n = 0, i;

	if (out == NULL)
		return NULL;
	if ((keys = malloc((json_object_size(obj) + 1) * sizeof(*keys))) == NULL) {
		json_decref(out);
		return NULL;
	}
	json_object_foreach((json_t *)obj, key, v)
		keys[n++] = key;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_names);
	for (i = 0; i < n; i++) {
		if (json_object_set(out, keys[i], json_object_get(obj, keys[i])) < 0) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	free(keys);
	return out;
}

static json_t *
sorted_keys_array(const json_t *set)
{
	json_t *sorted = sorted_object(set), *arr = json_array(), *v;
	const char *key;

	if (sorted == NULL || arr == NULL) {
		json_decref(sorted);
		json_decref(arr);
		return NULL;
	}
	json_object_foreach(sorted, key, v)
		json_array_append_new(arr, json_string(key));
	json_decref(sorted);
	return arr;
}

static json_t *
summary(const struct em_catalog *c)
{
	json_t *by_source = json_object(), *by_status = json_object(), *fields = json_object();
	json_t *out = NULL, *sets = NULL, *set, *a = NULL, *b = NULL, *d = NULL;
	struct em_catalog_counts k;
	uint64_t voxels = 0, bytes = 0;
	const char *key;
	size_t i, j;

	if (by_source == NULL || by_status == NULL || fields == NULL ||
	    (sets = json_object()) == NULL)
		goto oom;
	for (i = 0; i < c->n; i++) {
		const struct entry *e = &c->v[i];

		if (e->outcome != OUT_CATALOG)
			continue;
		if (count_up(by_source, e->source) < 0 || count_up(by_status, e->status) < 0)
			goto oom;
		if (e->has_shape) {
			if (e->shape_bad) {
				em_fail("%s/%s: the voxel count does not fit 64 bits", e->source, e->id);
				goto fail;
			}
			if (__builtin_add_overflow(voxels, e->voxels, &voxels)) {
				em_fail("the total voxel count does not fit 64 bits");
				goto fail;
			}
		}
		if (__builtin_add_overflow(bytes, e->bytes, &bytes)) {
			em_fail("the total byte count does not fit 64 bits");
			goto fail;
		}
		if ((set = json_object_get(sets, e->source)) == NULL) {
			if ((set = json_object()) == NULL || json_object_set_new(sets, e->source,
			    set) < 0)
				goto oom;
		}
		for (j = 0; j < e->nkeys; j++)
			if (json_object_set(set, c->key_names[e->keys[j]], json_true()) < 0)
				goto oom;
	}
	if (voxels > INT64_MAX || bytes > INT64_MAX) {
		em_fail("the totals do not fit a JSON integer");
		goto fail;
	}
	json_object_foreach(sets, key, set) {
		json_t *arr = sorted_keys_array(set);

		if (arr == NULL || json_object_set_new(fields, key, arr) < 0)
			goto oom;
	}
	em_catalog_counts(c, &k);
	if ((a = sorted_object(by_source)) == NULL || (b = sorted_object(by_status)) == NULL ||
	    (d = sorted_object(fields)) == NULL)
		goto oom;
	out = json_pack("{s:I,s:I,s:O,s:O,s:I,s:I,s:O}",
	    "records", (json_int_t)k.cataloged,
	    "rejected", (json_int_t)(k.invalid + k.unreadable + k.superseded),
	    "by_source", a, "by_status", b,
	    "total_voxels", (json_int_t)voxels, "total_bytes", (json_int_t)bytes,
	    "fields_by_source", d);
	if (out == NULL)
		goto oom;
	goto fail;
oom:
	em_fail("out of memory");
fail:
	json_decref(by_source);
	json_decref(by_status);
	json_decref(fields);
	json_decref(sets);
	json_decref(a);
	json_decref(b);
	json_decref(d);
	return out;
}

/* "pointer: message" of the first error, and how many more there are. */
static char *
reason(const struct entry *e, const json_t *errors)
{
	char buf[2048];
	json_t *first = json_array_get(errors, 0);
	const char *ptr = json_string_value(json_object_get(first, "pointer"));
	size_t more = json_array_size(errors) + e->dropped - 1;

	if (e->outcome == OUT_UNREADABLE) {
		snprintf(buf, sizeof(buf), "unreadable: %s",
		    json_string_value(json_object_get(first, "message")));
	} else if (more > 0) {
		snprintf(buf, sizeof(buf), "invalid: %s: %s (and %zu more)",
		    ptr != NULL && *ptr != '\0' ? ptr : "(root)",
		    json_string_value(json_object_get(first, "message")), more);
	} else {
		snprintf(buf, sizeof(buf), "invalid: %s: %s",
		    ptr != NULL && *ptr != '\0' ? ptr : "(root)",
		    json_string_value(json_object_get(first, "message")));
	}
	return strdup(buf);
}

static json_t *
rejected_entry(const struct em_catalog *c, const struct entry *e, const json_t *info)
{
	char buf[PATH_MAX + 256], *r = NULL;
	json_t *o;

	if (e->outcome == OUT_SUPERSEDED) {
		const struct entry *w = &c->v[e->winner];

		snprintf(buf, sizeof(buf), "superseded: another record of the same source and id "
		    "is kept (%s, text %lu)", w->path, w->text);
	} else {
		if ((r = reason(e, json_object_get(info, "e"))) == NULL) {
			em_fail("out of memory");
			return NULL;
		}
		snprintf(buf, sizeof(buf), "%s", r);
		free(r);
	}
	o = json_pack("{s:o,s:o,s:s,s:I,s:s}", "source", str_or_null(e->source),
	    "id", str_or_null(e->id), "path", e->path, "text", (json_int_t)e->text,
	    "reason", buf);
	if (o == NULL)
		em_fail("out of memory");
	return o;
}

static json_t *
report_entry(const struct em_catalog *c, const struct entry *e, json_t *info)
{
	json_t *o, *warnings = json_object_get(info, "w");

	if (e->outcome == OUT_SUPERSEDED) {
		const struct entry *w = &c->v[e->winner];

		if (warn(warnings, "duplicate-superseded", "another record of %s/%s is kept: %s "
		    "(text %lu)", e->source, e->id, w->path, w->text) < 0)
			return NULL;
	}
	o = json_pack("{s:s,s:I,s:o,s:o,s:o,s:s,s:b,s:O,s:I,s:O,s:O,s:O}",
	    "path", e->path, "text", (json_int_t)e->text,
	    "source", str_or_null(e->source), "id", str_or_null(e->id),
	    "status", str_or_null(e->status),
	    "outcome", outcome_names[e->outcome],
	    "valid", e->outcome == OUT_CATALOG || e->outcome == OUT_SUPERSEDED,
	    "errors", json_object_get(info, "e"), "errors_not_kept", (json_int_t)e->dropped,
	    "completeness", json_object_get(info, "c"), "missing", json_object_get(info, "m"),
	    "warnings", warnings);
	if (o == NULL)
		em_fail("out of memory");
	return o;
}

/*
 * Where the outputs go: a file (flushed as it fills, so it holds about one
 * record at a time) or, with fd -1, memory.  The outputs are laid out as
 * em_json_dump_pretty() lays out the whole document, written a member and
 * an array element at a time.
 */
struct sink {
	int fd;
	struct em_buf b;
};

#define SINK_FLUSH ((size_t)1 << 16)

static int
sink_add(struct sink *s, const char *p, size_t n)
{
	if (em_buf_add(&s->b, p, n) < 0)
		return -1;
	if (s->fd >= 0 && s->b.len >= SINK_FLUSH) {
		if (em_write_all(s->fd, s->b.data, s->b.len) < 0)
			return -1;
		em_buf_reset(&s->b);
	}
	return 0;
}

static int
sink_flush(struct sink *s)
{
	if (s->fd >= 0 && s->b.len > 0) {
		if (em_write_all(s->fd, s->b.data, s->b.len) < 0)
			return -1;
		em_buf_reset(&s->b);
	}
	return 0;
}

/*
 * A text laid out at depth 0 placed at depth: its lines indented 2 * depth
 * more.  A newline is always layout - JSON strings spell theirs "\n".
 */
static int
sink_nested(struct sink *s, const char *text, size_t len, int depth)
{
	static const char pad[] = "        ";
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		run++;
		if (text[i] != '\n')
			continue;
		if (sink_add(s, text + i + 1 - run, run) < 0 || sink_add(s, pad, 2 * (size_t)depth) < 0)
			return -1;
		run = 0;
	}
	return sink_add(s, text + len - run, run);
}

static int
sink_value(struct sink *s, const json_t *v, int depth)
{
	size_t len;
	char *text = em_json_text(v, EM_JSON_INDENT(2), &len);
	int rc;

	if (text == NULL)
		return -1;
	rc = sink_nested(s, text, len, depth);
	free(text);
	return rc;
}

/* A member of the top-level object; takes v. */
static int
sink_member(struct sink *s, const char *key, json_t *v, int first)
{
	int rc;

	if (v == NULL)
		return em_fail("out of memory");
	rc = sink_add(s, first ? "{\n  \"" : ",\n  \"", 5) < 0 ||
	    sink_add(s, key, strlen(key)) < 0 || sink_add(s, "\": ", 3) < 0 ||
	    sink_value(s, v, 1) < 0 ? -1 : 0;
	json_decref(v);
	return rc;
}

/* The opening of a top-level array member, then its elements with sink_element. */
static int
sink_array(struct sink *s, const char *key)
{
	if (sink_add(s, ",\n  \"", 5) < 0 || sink_add(s, key, strlen(key)) < 0)
		return -1;
	return sink_add(s, "\": [", 4);
}

static int
sink_element(struct sink *s, const char *text, size_t len, size_t k)
{
	if (sink_add(s, k > 0 ? ",\n    " : "\n    ", k > 0 ? 6 : 5) < 0 ||
	    sink_nested(s, text, len, 2) < 0)
		return -1;
	/* Each element goes out whole before the next is read: memory holds about one. */
	return sink_flush(s);
}

static int
sink_array_end(struct sink *s, size_t k)
{
	return k > 0 ? sink_add(s, "\n  ]", 4) : sink_add(s, "]", 1);
}

static int
sink_element_json(struct sink *s, json_t *v, size_t k)
{
	size_t len;
	char *text;
	int rc;

	if (v == NULL)
		return -1;
	text = em_json_text(v, EM_JSON_INDENT(2), &len);
	json_decref(v);
	if (text == NULL)
		return -1;
	rc = sink_element(s, text, len, k);
	free(text);
	return rc;
}

static json_t *
generator(void)
{
	return json_pack("{s:s,s:s}", "tool", "em-consolidate", "version", EM_VERSION);
}

/* The catalog; sum (the summary) is borrowed. */
static int
write_catalog(const struct em_catalog *c, struct sink *s, const char *generated, json_t *sum)
{
	size_t i, k;
	char *text;
	json_t *info;
	int rc;

	if (!c->finished)
		return em_fail("the catalog is not finished");
	if (sink_member(s, "catalog_version", json_integer(1), 1) < 0 ||
	    sink_member(s, "generated", json_string(generated), 0) < 0 ||
	    sink_member(s, "generator", generator(), 0) < 0 ||
	    sink_member(s, "schema", str_or_null(c->schema_id), 0) < 0 ||
	    sink_member(s, "summary", json_incref(sum), 0) < 0 ||
	    sink_array(s, "records") < 0)
		return -1;
	for (i = k = 0; i < c->n; i++) {
		const struct entry *e = &c->v[i];

		if (e->outcome != OUT_CATALOG)
			continue;
		if ((text = spool_get(c, &e->doc)) == NULL)
			return -1;
		rc = sink_element(s, text, e->doc.len, k++);
		free(text);
		if (rc < 0)
			return -1;
	}
	if (sink_array_end(s, k) < 0 || sink_array(s, "rejected") < 0)
		return -1;
	for (i = k = 0; i < c->n; i++) {
		const struct entry *e = &c->v[i];

		if (e->outcome == OUT_CATALOG)
			continue;
		if ((info = spool_info(c, e)) == NULL)
			return -1;
		rc = sink_element_json(s, rejected_entry(c, e, info), k++);
		json_decref(info);
		if (rc < 0)
			return -1;
	}
	if (sink_array_end(s, k) < 0 || sink_add(s, "\n}\n", 3) < 0)
		return -1;
	return sink_flush(s);
}

static int
write_report(const struct em_catalog *c, struct sink *s, const char *generated)
{
	struct em_catalog_counts k;
	json_t *info;
	size_t i;
	int rc;

	if (!c->finished)
		return em_fail("the catalog is not finished");
	em_catalog_counts(c, &k);
	if (sink_member(s, "report_version", json_integer(1), 1) < 0 ||
	    sink_member(s, "generated", json_string(generated), 0) < 0 ||
	    sink_member(s, "generator", generator(), 0) < 0 ||
	    sink_member(s, "schema", str_or_null(c->schema_id), 0) < 0 ||
	    sink_member(s, "summary", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "read", (json_int_t)k.read, "valid", (json_int_t)k.valid,
	    "invalid", (json_int_t)k.invalid, "unreadable", (json_int_t)k.unreadable,
	    "superseded", (json_int_t)k.superseded, "cataloged", (json_int_t)k.cataloged,
	    "skipped", (json_int_t)k.skipped, "with_warnings", (json_int_t)k.warned), 0) < 0 ||
	    sink_array(s, "records") < 0)
		return -1;
	for (i = 0; i < c->n; i++) {
		if ((info = spool_info(c, &c->v[i])) == NULL)
			return -1;
		rc = sink_element_json(s, report_entry(c, &c->v[i], info), i);
		json_decref(info);
		if (rc < 0)
			return -1;
	}
	if (sink_array_end(s, c->n) < 0 || sink_add(s, "\n}\n", 3) < 0)
		return -1;
	return sink_flush(s);
}

/* A document written to memory, read back as an object. */
static json_t *
parsed(struct sink *s)
{
	json_t *j = em_json_load_object(em_buf_cstr(&s->b), s->b.len, NULL);

	em_buf_release(&s->b);
	return j;
}

json_t *
em_catalog_json(const struct em_catalog *c, const char *generated)
{
	struct sink s = { -1, EM_BUF_INIT(EM_CATALOG_MAX_OUTPUT) };
	json_t *sum = NULL;

	if (!c->finished) {
		em_fail("the catalog is not finished");
		return NULL;
	}
	if ((sum = summary(c)) == NULL || write_catalog(c, &s, generated, sum) < 0) {
		json_decref(sum);
		em_buf_release(&s.b);
		return NULL;
	}
	json_decref(sum);
	return parsed(&s);
}

json_t *
em_catalog_report(const struct em_catalog *c, const char *generated)
{
	struct sink s = { -1, EM_BUF_INIT(EM_CATALOG_MAX_OUTPUT) };

	if (write_report(c, &s, generated) < 0) {
		em_buf_release(&s.b);
		return NULL;
	}
	return parsed(&s);
}

int
em_catalog_write(struct em_catalog *c, const char *dir, int64_t now,
    struct em_catalog_files *files)
{
	struct em_atomic a[3];
	const char *paths[3] = { files->catalog, files->report, files->log };
	char stamp[32], generated[32];
	json_t *sum = NULL;
	struct em_catalog_counts k;
	struct em_buf lb = EM_BUF_INIT(EM_CATALOG_MAX_LOG + 4096);
	struct sink s = { -1, EM_BUF_INIT(EM_CATALOG_MAX_TEXT * 2 + SINK_FLUSH) };
	size_t i, opened = 0, done = 0;
	int rc = -1;

	if (em_time_format(now, 0, EM_TIME_STAMP, stamp, sizeof(stamp)) < 0 ||
	    em_time_format(now, 0, EM_TIME_RFC3339, generated, sizeof(generated)) < 0)
		return -1;
	if (snprintf(files->catalog, sizeof(files->catalog), "%s/metadata_catalog_%s.json", dir,
	    stamp) >= (int)sizeof(files->catalog) ||
	    snprintf(files->report, sizeof(files->report), "%s/validation_report_%s.json", dir,
	    stamp) >= (int)sizeof(files->report) ||
	    snprintf(files->log, sizeof(files->log), "%s/processing_log_%s.log", dir,
	    stamp) >= (int)sizeof(files->log))
		return em_fail("the output directory's name is too long");
	if (em_catalog_finish(c) < 0)
		return -1;
	em_catalog_counts(c, &k);
	/* The summary first: a catalog that cannot be summed leaves no directory behind. */
	if ((sum = summary(c)) == NULL)
		goto out;
	if (em_buf_addf(&lb, "em-consolidate %s, %s\n", EM_VERSION, generated) < 0 ||
	    em_buf_addf(&lb, "schema %s\n", c->schema_id ? c->schema_id : "(no $id)") < 0 ||
	    em_buf_addstr(&lb, em_catalog_log(c)) < 0 ||
	    em_buf_addf(&lb, "summary: %zu read, %zu valid, %zu invalid, %zu unreadable, "
	    "%zu superseded, %zu skipped, %zu in the catalog, %zu with warnings\n", k.read,
	    k.valid, k.invalid, k.unreadable, k.superseded, k.skipped, k.cataloged, k.warned) < 0 ||
	    em_buf_addf(&lb, "catalog %s\nreport %s\n", files->catalog, files->report) < 0)
		goto out;
	if (em_mkdir_p(dir) < 0)	/* its message names the directory */
		goto out;
	for (opened = 0; opened < 3; opened++)
		if (em_atomic_open(&a[opened], paths[opened]) < 0)
			goto out;
	s.fd = a[0].fd;
	if (write_catalog(c, &s, generated, sum) < 0) {
		em_fail_ctx("cannot write '%s'", a[0].tmp);
		goto out;
	}
	s.fd = a[1].fd;
	if (write_report(c, &s, generated) < 0) {
		em_fail_ctx("cannot write '%s'", a[1].tmp);
		goto out;
	}
	if (em_write_all(a[2].fd, em_buf_cstr(&lb), lb.len) < 0) {
		em_fail_ctx("cannot write '%s'", a[2].tmp);
		goto out;
	}
	for (done = 0; done < 3; done++) {
		/*
		 * The data is what a run leaves behind: sync it before it
		 * replaces anything, and keep what it replaces (a run's of the
		 * same second) until all three are in place.
		 */
		if (em_atomic_commit(&a[done], EM_ATOMIC_SYNC | EM_ATOMIC_UNDO) < 0) {
			done++;
			goto out;
		}
	}
	rc = 0;
out:
	/*
	 * All or none: what was renamed is undone (the files it replaced come
	 * back), what was not is dropped; once all three are in place, the
	 * files they replaced go.
	 */
	if (rc == 0) {
		for (i = 0; i < done; i++)
			em_atomic_abort(&a[i]);
	} else {
		char why[1024];

		/* The reason stays the failure's; a file that cannot be put back is said too. */
		snprintf(why, sizeof(why), "%s", em_errmsg());
		for (i = 0; i + 1 < done; i++)
			if (em_atomic_undo(&a[i]) < 0)
				em_log(EM_LOG_ERROR, "%s", em_errmsg());
		for (i = done; i < opened; i++)
			em_atomic_abort(&a[i]);
		em_fail("%s", why);
	}
	json_decref(sum);
	em_buf_release(&s.b);
	em_buf_release(&lb);
	return rc;
}
