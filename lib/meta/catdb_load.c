/* catdb_load.c - em-catalog load: records from files, directory trees or stdin, validated, into the catalog database */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/jsonio.h"
#include "meta/catalog.h"
#include "meta/catdb.h"
#include "meta/catdb_load.h"
#include "meta/jschema.h"
#include "meta/recfind.h"
#include "core/banned.h"

/* Schema errors kept per invalid record; the rest are counted. */
#define MAX_ERRORS 20

struct loader {
	struct em_catdb *db;
	const struct em_jschema *schema;
	em_catdb_report_fn report;
	void *ctx;
	struct em_catdb_load_stats *st;
	struct em_buf doc;
};

static void
say(struct loader *l, const char *input, unsigned long text, const char *why,
    const struct em_jschema_errors *errs)
{
	if (l->report != NULL)
		l->report(l->ctx, input, text, why, errs);
}

/*
 * The text as read minus the whitespace between tokens: one line, each
 * string and number exactly as the producer wrote it.
 */
static int
compact(struct em_buf *out, const char *s, size_t n)
{
	size_t i, start = 0;
	int instr = 0;

	em_buf_reset(out);
	if (em_buf_grow(out, n + 1) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (instr) {
			if (ch == '\\' && i + 1 < n)
				i++;
			else if (ch == '"')
				instr = 0;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			em_buf_add(out, s + start, i - start);
			start = i + 1;
		} else if (ch == '"') {
			instr = 1;
		}
	}
	return em_buf_add(out, s + start, n - start);
}

/* One text: -1 only when the database failed (the load is then abandoned). */
static int
one(struct loader *l, const char *input, unsigned long n, json_t *rec, const char *text,
    size_t len)
{
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(MAX_ERRORS);
	struct em_catdb_entry e;
	int v, changed = 0, rc = 0;

	v = em_jschema_validate(l->schema, rec, &errs);
	if (v <= 0) {
		l->st->invalid++;
		say(l, input, n, v < 0 ? em_errmsg() : "invalid record", &errs);
		em_jschema_errors_reset(&errs);
		return 0;
	}
	if (compact(&l->doc, text, len) < 0 ||
	    em_catdb_entry_make(&e, rec, em_buf_cstr(&l->doc), l->doc.len) < 0) {
		l->st->invalid++;
		say(l, input, n, em_errmsg(), NULL);
		return 0;
	}
	if (em_catdb_put(l->db, &e, &changed) < 0) {
		rc = -1;
	} else if (changed) {
		l->st->loaded++;
	} else {
		l->st->unchanged++;
	}
	em_catdb_entry_free(&e);
	return rc;
}

static int
read_stream(struct loader *l, const char *path, int found)
{
	int is_stdin = strcmp(path, "-") == 0;
	const char *input = is_stdin ? "<stdin>" : path;
	struct em_json_reader *r = NULL;
	json_t *doc = NULL;
	unsigned long n = 0;
	int fd, rc, ret = 0;

	fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		l->st->unreadable++;
		say(l, input, 0, strerror(errno), NULL);
		return 0;
	}
	if ((r = em_json_reader_new(fd, input, EM_CATALOG_MAX_TEXT)) == NULL) {
		ret = -1;
		goto out;
	}
	em_json_reader_keep_text(r, 1);
	while ((rc = em_json_reader_next(r, &doc)) == 1) {
		size_t len;
		const char *text = em_json_reader_text(r, &len);

		n = em_json_reader_count(r);
		if (found && !em_catalog_is_record(doc)) {
			l->st->skipped++;
		} else {
			l->st->read++;
			if (one(l, input, n, doc, text, len) < 0) {
				ret = -1;
				goto out;
			}
		}
		json_decref(doc);
		doc = NULL;
	}
	if (rc < 0) {
		const char *msg = em_errmsg();
		size_t k = strlen(input);

		if (strncmp(msg, input, k) == 0 && strncmp(msg + k, ": ", 2) == 0)
			msg += k + 2;
		l->st->unreadable++;
		say(l, input, n + 1, msg, NULL);
	}
out:
	json_decref(doc);
	em_json_reader_free(r);
	if (!is_stdin)
		close(fd);
	return ret;
}

/* What a directory search meets: records read, unreadable ones counted; skips are not said. */
static int
found(enum em_recfind_event ev, const char *path, const char *text, void *ctx)
{
	struct loader *l = ctx;

	if (ev == EM_RECFIND_FILE)
		return read_stream(l, path, 1);
	if (ev == EM_RECFIND_UNREADABLE) {
		l->st->unreadable++;
		say(l, path, 0, text, NULL);
	}
	return 0;
}

int
em_catdb_load_path(struct em_catdb *db, const struct em_jschema *schema, const char *path,
    em_catdb_report_fn report, void *ctx, struct em_catdb_load_stats *st)
{
	struct loader l = { db, schema, report, ctx, st, EM_BUF_INIT(EM_CATALOG_MAX_TEXT + 1) };
	struct stat sb;
	int rc;

	if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		rc = em_recfind(path, found, &l);
	else
		rc = read_stream(&l, path, 0);
	em_buf_release(&l.doc);
	return rc;
}
