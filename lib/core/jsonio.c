/* jsonio.c - read a stream of JSON texts (one document or JSON Lines) and write records one per line */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/jsonio.h"
#include "core/parse.h"
#include "core/banned.h"

struct em_json_reader {
	int fd;
	int eof;
	char *name;
	struct em_buf buf;
	size_t off;		/* bytes at the start of buf already handed out */
	size_t max_text;
	unsigned long count;
	unsigned long line;	/* line number of the first byte not handed out */
	unsigned long col;	/* its column (0-based) */
	int keep;		/* keep the bytes of each text in text */
	struct em_buf text;
	/* Where the scan for the end of an object or array has got to. */
	size_t scan_pos;
	unsigned long scan_depth;
	int scan_instr, scan_esc;
};

struct em_json_reader *
em_json_reader_new(int fd, const char *name, size_t max_text)
{
	struct em_json_reader *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->name = strdup(name)) == NULL) {
		free(r);
		em_fail("out of memory");
		return NULL;
	}
	r->fd = fd;
	r->max_text = max_text;
	r->line = 1;
	em_buf_init(&r->buf, max_text);
	em_buf_init(&r->text, max_text);
	return r;
}

void
em_json_reader_free(struct em_json_reader *r)
{
	if (r == NULL)
		return;
	em_buf_release(&r->buf);
	em_buf_release(&r->text);
	free(r->name);
	free(r);
}

unsigned long
em_json_reader_count(const struct em_json_reader *r)
{
	return r->count;
}

/* Read whatever is available (at least one byte unless at the end). */
static int
fill(struct em_json_reader *r)
{
	size_t want = 1 << 16;
	ssize_t n;

	/*
	 * Texts handed out are dropped here, once per read, rather than one
	 * by one: moving the rest of the buffer for each short line of JSON
	 * Lines would cost more than parsing it.
	 */
	if (r->off > 0) {
		em_buf_consume(&r->buf, r->off);
		r->off = 0;
	}
	if (r->buf.len >= r->max_text)
		return em_fail("%s: JSON text longer than %zu bytes", r->name, r->max_text);
	if (want > r->max_text - r->buf.len)
		want = r->max_text - r->buf.len;
	if (em_buf_grow(&r->buf, want) < 0)
		return -1;
	do
		n = read(r->fd, r->buf.data + r->buf.len, want);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return em_fail_errno("%s: read failed", r->name);
	if (n == 0)
		r->eof = 1;
	r->buf.len += (size_t)n;
	r->buf.data[r->buf.len] = '\0';
	return 0;
}

/* Advance the line/column bookkeeping past n bytes and drop them. */
static void
consume(struct em_json_reader *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r->buf.data[r->off + i] == '\n') {
			r->line++;
			r->col = 0;
		} else {
			r->col++;
		}
	}
	r->off += n;
	if (r->off == r->buf.len) {
		em_buf_reset(&r->buf);
		r->off = 0;
	}
	if (n > 0) {
		r->scan_pos = 0;
		r->scan_depth = 0;
		r->scan_instr = r->scan_esc = 0;
	}
}

/*
 * An object or array at the start of the buffer: scan the bytes not seen
 * yet for its closing bracket.  Returns its length once complete, 0 while
 * more is needed.  Parsing only then keeps a big document linear: parsing
 * on every read would go over its beginning again each time.  Brackets are
 * only counted; jansson still judges the text.
 */
static size_t
scan_end(struct em_json_reader *r)
{
	const char *p = r->buf.data + r->off;
	size_t i;

	for (i = r->scan_pos; i < r->buf.len - r->off; i++) {
		char ch = p[i];

		if (r->scan_instr) {
			if (r->scan_esc)
				r->scan_esc = 0;
			else if (ch == '\\')
				r->scan_esc = 1;
			else if (ch == '"')
				r->scan_instr = 0;
		} else if (ch == '"') {
			r->scan_instr = 1;
		} else if (ch == '{' || ch == '[') {
			r->scan_depth++;
		} else if ((ch == '}' || ch == ']') && --r->scan_depth == 0) {
			r->scan_pos = i + 1;
			return i + 1;
		}
	}
	r->scan_pos = i;
	return 0;
}

static size_t
skip_ws(const struct em_json_reader *r)
{
	const char *p = r->buf.data;
	size_t i = 0, n = r->buf.len - r->off;

	if (p == NULL)
		return 0;
	p += r->off;
	while (i < n && strchr(" \t\r\n", p[i]) != NULL && p[i])
		i++;
	return i;
}

int
em_json_reader_next(struct em_json_reader *r, json_t **out)
{
	json_error_t jerr;
	json_t *v;
	size_t end;

	*out = NULL;
	for (;;) {
		size_t ws = skip_ws(r);
		const char *p;
		size_t avail;

		consume(r, ws);
		avail = r->buf.len - r->off;
		if (avail == 0) {
			if (r->eof)
				return 0;
			if (fill(r) < 0)
				return -1;
			continue;
		}
		p = r->buf.data + r->off;
		end = 0;
		if ((p[0] == '{' || p[0] == '[') && !r->eof &&
		    (end = scan_end(r)) == 0) {
			if (fill(r) < 0)
				return -1;
			continue;
		}
		v = json_loadb(p, end ? end : avail,
		    JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &jerr);
		/*
		 * A text that ends exactly at the end of what has been read may
		 * go on (a number "12" whose "34" is still in the pipe), and a
		 * failure may just mean "more to come": read on before deciding.
		 * An object or array whose closing bracket has come is complete.
		 */
		if (!r->eof && end == 0 && (v == NULL || (size_t)jerr.position >= avail)) {
			json_decref(v);
			if (fill(r) < 0)
				return -1;
			continue;
		}
		if (v == NULL) {
			unsigned long line = r->line + (unsigned long)jerr.line - 1;
			unsigned long col = jerr.line == 1 ? r->col + (unsigned long)jerr.column
			    : (unsigned long)jerr.column;
			return em_fail("%s: invalid JSON at line %lu, column %lu: %s",
			    r->name, line, col, jerr.text);
		}
		if (r->keep) {
			em_buf_reset(&r->text);
			if (em_buf_add(&r->text, p, (size_t)jerr.position) < 0) {
				json_decref(v);
				return -1;
			}
		}
		consume(r, (size_t)jerr.position);
		r->count++;
		*out = v;
		return 1;
	}
}

void
em_json_reader_keep_text(struct em_json_reader *r, int on)
{
	r->keep = on;
}

const char *
em_json_reader_text(const struct em_json_reader *r, size_t *len)
{
	*len = r->text.len;
	return r->keep ? em_buf_cstr(&r->text) : NULL;
}

json_t *
em_json_load_file(const char *path, size_t max_bytes)
{
	struct em_json_reader *r;
	json_t *v = NULL, *extra = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		em_fail_errno("cannot open '%s'", path);
		return NULL;
	}
	r = em_json_reader_new(fd, path, max_bytes);
	if (r == NULL)
		goto out;
	rc = em_json_reader_next(r, &v);
	if (rc == 0)
		em_fail("%s: no JSON text", path);
	if (rc != 1)
		goto out;
	rc = em_json_reader_next(r, &extra);
	if (rc != 0) {
		if (rc == 1)
			em_fail("%s: more than one JSON text", path);
		json_decref(v);
		json_decref(extra);
		v = NULL;
	}
out:
	em_json_reader_free(r);
	close(fd);
	return v;
}

int
em_json_write_line(FILE *fp, const json_t *v)
{
	if (json_dumpf(v, fp, JSON_COMPACT | JSON_ENCODE_ANY) < 0 || putc('\n', fp) == EOF)
		return em_fail_errno("cannot write JSON");
	return 0;
}

char *
em_json_dump_pretty(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	char *t;
	size_t n;

	if (s == NULL) {
		em_fail("cannot encode JSON");
		return NULL;
	}
	n = strlen(s);
	t = realloc(s, n + 2);
	if (t == NULL) {
		free(s);
		em_fail("out of memory");
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return t;
}

json_t *
em_json_load_object(const char *text, size_t len, const char *where)
{
	json_error_t je;
	json_t *j;

	j = json_loadb(text != NULL ? text : "", text != NULL ? len : 0, 0, &je);
	if (j == NULL) {
		em_fail("%s%s%smalformed JSON: %s (line %d)", where ? "'" : "", where ? where : "",
		    where ? "': " : "", je.text, je.line);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		em_fail("%s%s%snot a JSON object", where ? "'" : "", where ? where : "",
		    where ? "': " : "");
		return NULL;
	}
	return j;
}

int
em_json_num(const json_t *v, double *out)
{
	double d;

	if (json_is_number(v))
		d = json_number_value(v);
	else if (!json_is_string(v) || em_parse_double(json_string_value(v), &d) < 0)
		return 0;
	if (!isfinite(d))
		return 0;
	*out = d;
	return 1;
}
