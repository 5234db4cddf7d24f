/* jsonio.c - read a stream of JSON texts (one document or JSON Lines); the one JSON writer */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/decimal.h"
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

/* ---- writing ---- */

/* Deeper than jansson's parser goes: nothing read can be that deep. */
#define WRITE_MAX_DEPTH 2048
/* A record is at most EM_RECORD_MAX_BYTES, a catalog holds many: the bound is a safety net. */
#define WRITE_MAX_BYTES ((size_t)4 << 30)

static int
put_string(struct em_buf *b, const char *s, size_t n)
{
	size_t i, run = 0;
	char esc[8];

	if (em_buf_addch(b, '"') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;
		size_t skip = 1;

		if (c == '"')
			e = "\\\"";
		else if (c == '\\')
			e = "\\\\";
		else if (c == '\b')
			e = "\\b";
		else if (c == '\f')
			e = "\\f";
		else if (c == '\n')
			e = "\\n";
		else if (c == '\r')
			e = "\\r";
		else if (c == '\t')
			e = "\\t";
		else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04X", c);
			e = esc;
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			/* LINE SEPARATOR, PARAGRAPH SEPARATOR: see jsonio.h. */
			e = (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			skip = 3;
		}
		if (e == NULL) {
			run++;
			continue;
		}
		if (em_buf_add(b, s + i - run, run) < 0 || em_buf_addstr(b, e) < 0)
			return -1;
		run = 0;
		i += skip - 1;
	}
	if (em_buf_add(b, s + n - run, run) < 0)
		return -1;
	return em_buf_addch(b, '"');
}

/* A newline and the indent of depth, when indenting; else a space when space and not compact. */
static int
put_indent(struct em_buf *b, int flags, int depth)
{
	int i, n = EM_JSON_INDENT(flags) * depth;

	if (EM_JSON_INDENT(flags) == 0)
		return 0;
	if (em_buf_addch(b, '\n') < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (em_buf_addch(b, ' ') < 0)
			return -1;
	return 0;
}

struct key {
	const char *s;
	size_t n;
	json_t *v;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

static int put_value(struct em_buf *b, const json_t *v, int flags, int depth);

static int
put_object(struct em_buf *b, const json_t *v, int flags, int depth)
{
	size_t n = json_object_size(v), i = 0;
	struct key *keys;
	void *it;
	int rc = -1;

	if (n == 0)
		return em_buf_addstr(b, "{}");
	if ((keys = malloc(n * sizeof(*keys))) == NULL)
		return em_fail("out of memory");
	for (it = json_object_iter((json_t *)v); it != NULL && i < n;
	    it = json_object_iter_next((json_t *)v, it), i++) {
		keys[i].s = json_object_iter_key(it);
		keys[i].n = json_object_iter_key_len(it);
		keys[i].v = json_object_iter_value(it);
	}
	n = i;
	if (flags & EM_JSON_SORTED)
		qsort(keys, n, sizeof(*keys), key_cmp);
	if (em_buf_addch(b, '{') < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((i > 0 && em_buf_addch(b, ',') < 0) || put_indent(b, flags, depth + 1) < 0 ||
		    put_string(b, keys[i].s, keys[i].n) < 0 ||
		    em_buf_addstr(b, EM_JSON_INDENT(flags) ? ": " : ":") < 0 ||
		    put_value(b, keys[i].v, flags, depth + 1) < 0)
			goto out;
	}
	if (put_indent(b, flags, depth) < 0 || em_buf_addch(b, '}') < 0)
		goto out;
	rc = 0;
out:
	free(keys);
	return rc;
}

static int
put_value(struct em_buf *b, const json_t *v, int flags, int depth)
{
	char num[EM_DECIMAL_MAX];
	size_t i, n;

	if (depth > WRITE_MAX_DEPTH)
		return em_fail("JSON nested too deep to write");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(b, v, flags, depth);
	case JSON_ARRAY:
		n = json_array_size(v);
		if (n == 0)
			return em_buf_addstr(b, "[]");
		if (em_buf_addch(b, '[') < 0)
			return -1;
		for (i = 0; i < n; i++)
			if ((i > 0 && em_buf_addch(b, ',') < 0) ||
			    put_indent(b, flags, depth + 1) < 0 ||
			    put_value(b, json_array_get(v, i), flags, depth + 1) < 0)
				return -1;
		if (put_indent(b, flags, depth) < 0)
			return -1;
		return em_buf_addch(b, ']');
	case JSON_STRING:
		return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return em_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		if (em_decimal_spell(json_real_value(v), num, sizeof(num)) < 0)
			return -1;
		return em_buf_addstr(b, num);
	case JSON_TRUE:
		return em_buf_addstr(b, "true");
	case JSON_FALSE:
		return em_buf_addstr(b, "false");
	case JSON_NULL:
		return em_buf_addstr(b, "null");
	}
	return em_fail("not a JSON value");
}

/* The text of v, then a newline when nl. */
static char *
text_of(const json_t *v, int flags, int nl, size_t *len)
{
	struct em_buf b = EM_BUF_INIT(WRITE_MAX_BYTES);

	if (v == NULL) {
		em_fail("no JSON value to write");
		return NULL;
	}
	if (put_value(&b, v, flags, 0) < 0 || (nl && em_buf_addch(&b, '\n') < 0)) {
		em_buf_release(&b);
		return NULL;
	}
	return em_buf_detach(&b, len);
}

char *
em_json_text(const json_t *v, int flags, size_t *len)
{
	return text_of(v, flags, 0, len);
}

int
em_json_write_line(FILE *fp, const json_t *v)
{
	size_t n;
	char *s = text_of(v, EM_JSON_LINE, 1, &n);
	int rc = 0;

	if (s == NULL)
		return em_fail_ctx("cannot write JSON");
	if (fwrite(s, 1, n, fp) != n)
		rc = em_fail_errno("cannot write JSON");
	free(s);
	return rc;
}

char *
em_json_dump_pretty(const json_t *v)
{
	return text_of(v, EM_JSON_INDENT(2), 1, NULL);
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
