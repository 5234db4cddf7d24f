/* config.c - the YAML configuration: loading into a JSON tree, ${VAR} interpolation, typed look-ups */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "core/buf.h"
#include "meta/config.h"
#include "core/diag.h"
#include "core/parse.h"
#include "core/paths.h"
#include "core/banned.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"
#define YAML_MAP_TAG "tag:yaml.org,2002:map"
#define YAML_SEQ_TAG "tag:yaml.org,2002:seq"

struct yctx {
	const char *name;
	const char *text;
	size_t len;
	yaml_parser_t parser;
	size_t nodes;
	struct em_buf sbuf;	/* the current scalar after interpolation */
	char path[512];		/* the dotted key of the value being read ("global.jobs") */
};

/* "name:line:col: reason"; libyaml's marks count from 0. */
static int
fail_at(const struct yctx *y, yaml_mark_t m, const char *fmt, ...) EM_PRINTF(3, 4);

static int
fail_at(const struct yctx *y, yaml_mark_t m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return em_fail("%s:%zu:%zu: %s", y->name, m.line + 1, m.column + 1, msg);
}

static int
next_event(struct yctx *y, yaml_event_t *ev)
{
	const yaml_parser_t *p = &y->parser;

	if (yaml_parser_parse(&y->parser, ev))
		return 0;
	if (p->error == YAML_MEMORY_ERROR)
		return em_fail("%s: out of memory", y->name);
	if (p->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		yaml_mark_t m = { 0, 0, 0 };
		size_t i;

		for (i = 0; i < p->problem_offset && i < y->len; i++) {
			if (y->text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else {
				m.column++;
			}
		}
		if (p->problem_value >= 0)
			return fail_at(y, m, "%s (byte 0x%02x)", p->problem, p->problem_value);
		return fail_at(y, m, "%s", p->problem);
	}
	if (p->context != NULL)
		return fail_at(y, p->problem_mark, "%s (%s at line %zu)", p->problem,
		    p->context, p->context_mark.line + 1);
	return fail_at(y, p->problem_mark, "%s", p->problem ? p->problem : "malformed YAML");
}

static int
is_name_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/*
 * ${VAR} and ${VAR:default} from the environment, $$ for a literal $.  A $
 * followed by anything else is itself, so prices and regexps survive.
 */
static int
interpolate(struct yctx *y, const char *s, size_t n, yaml_mark_t m)
{
	struct em_buf *out = &y->sbuf;
	size_t i, j, k, namelen;
	const char *val;
	char name[256];
	int has_def;

	em_buf_reset(out);
	for (i = 0; i < n; i++) {
		if (s[i] != '$' || i + 1 == n || (s[i + 1] != '$' && s[i + 1] != '{')) {
			if (em_buf_addch(out, s[i]) < 0)
				goto toolong;
			continue;
		}
		if (s[i + 1] == '$') {
			if (em_buf_addch(out, '$') < 0)
				goto toolong;
			i++;
			continue;
		}
		for (j = i + 2; j < n && s[j] != '}'; j++)
			;
		if (j == n)
			return fail_at(y, m, "unterminated '${' (write '$$' for a literal '$')");
		for (k = i + 2; k < j && s[k] != ':'; k++)
			;
		namelen = k - (i + 2);
		has_def = k < j;
		if (namelen == 0 || namelen >= sizeof(name) || !is_name_start(s[i + 2]))
			return fail_at(y, m, "bad variable name in '%.*s'",
			    (int)(j - i + 1 > 80 ? 80 : j - i + 1), s + i);
		for (k = i + 2; k < i + 2 + namelen; k++)
			if (!is_name_char(s[k]))
				return fail_at(y, m, "bad variable name in '%.*s'",
				    (int)(j - i + 1 > 80 ? 80 : j - i + 1), s + i);
		memcpy(name, s + i + 2, namelen);
		name[namelen] = '\0';
		val = getenv(name);
		if (val != NULL && *val != '\0') {
			if (em_buf_addstr(out, val) < 0)
				goto toolong;
		} else if (has_def) {
			if (em_buf_add(out, s + i + 2 + namelen + 1, j - (i + 2 + namelen + 1)) < 0)
				goto toolong;
		} else if (val == NULL) {
			return fail_at(y, m,
			    "environment variable '%s' is not set and '${%s}' has no default",
			    name, name);
		}
		i = j;
	}
	return 0;
toolong:
	return fail_at(y, m, "scalar longer than %u bytes after interpolation",
	    EM_CONFIG_MAX_SCALAR);
}

static int
is_oneof(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static int
all_digits(const char *s, int (*ok)(int))
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!ok((unsigned char)*s))
			return 0;
	return 1;
}

static int
is_dec(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_oct(int c)
{
	return c >= '0' && c <= '7';
}

static int
is_hex(int c)
{
	return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? : the core schema's float. */
static int
is_float(const char *s)
{
	size_t intd = 0, fracd = 0;

	if (*s == '-' || *s == '+')
		s++;
	while (is_dec(*s)) {
		s++;
		intd++;
	}
	if (*s == '.') {
		s++;
		while (is_dec(*s)) {
			s++;
			fracd++;
		}
		if (intd == 0 && fracd == 0)
			return 0;
	} else if (intd == 0) {
		return 0;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!is_dec(*s))
			return 0;
		while (is_dec(*s))
			s++;
	}
	return *s == '\0';
}

/* The file is UTF-8 (libyaml checks), but an environment variable need not be. */
static json_t *
string_at(struct yctx *y, const char *s, yaml_mark_t m)
{
	json_t *v = json_string(s);

	if (v == NULL)
		fail_at(y, m, "value is not valid UTF-8 after interpolation");
	return v;
}

/* Type a plain scalar by the YAML 1.2 core schema (section 10.3.2). */
static json_t *
resolve(struct yctx *y, const char *s, yaml_mark_t m)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	static const char *const infs[] = { ".inf", ".Inf", ".INF", NULL };
	static const char *const nans[] = { ".nan", ".NaN", ".NAN", NULL };
	const char *body = (*s == '-' || *s == '+') ? s + 1 : s;
	unsigned long long u;
	long long ll;
	double d;
	char *end;

	if (is_oneof(s, nulls))
		return json_null();
	if (is_oneof(s, trues))
		return json_true();
	if (is_oneof(s, falses))
		return json_false();
	if (is_oneof(body, infs) || is_oneof(s, nans)) {
		fail_at(y, m, "'%s' cannot be stored: JSON has no infinity or NaN "
		    "(quote it for a string)", s);
		return NULL;
	}
	if (all_digits(body, is_dec)) {
		errno = 0;
		ll = strtoll(s, &end, 10);
		if (errno == ERANGE) {
			fail_at(y, m, "integer '%s' is out of range", s);
			return NULL;
		}
		return json_integer(ll);
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') &&
	    all_digits(s + 2, s[1] == 'x' ? is_hex : is_oct)) {
		errno = 0;
		u = strtoull(s + 2, &end, s[1] == 'x' ? 16 : 8);
		if (errno == ERANGE || u > LLONG_MAX) {
			fail_at(y, m, "integer '%s' is out of range", s);
			return NULL;
		}
		return json_integer((json_int_t)u);
	}
	if (is_float(s)) {
		errno = 0;
		d = strtod(s, &end);
		if (!isfinite(d)) {
			fail_at(y, m, "number '%s' is out of range", s);
			return NULL;
		}
		return json_real(d);
	}
	return string_at(y, s, m);
}

static int
check_anchor(struct yctx *y, const yaml_char_t *anchor, yaml_mark_t m)
{
	if (anchor != NULL)
		return fail_at(y, m, "anchors and aliases are not supported (anchor '&%s')",
		    (const char *)anchor);
	return 0;
}

static json_t *
scalar(struct yctx *y, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	int as_string;

	if (check_anchor(y, ev->data.scalar.anchor, ev->start_mark) < 0)
		return NULL;
	if (tag != NULL && strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0) {
		fail_at(y, ev->start_mark, "tag '%s' is not supported (only !!str)", tag);
		return NULL;
	}
	if (memchr(v, '\0', n) != NULL) {
		fail_at(y, ev->start_mark, "NUL character in a scalar");
		return NULL;
	}
	as_string = tag != NULL || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (interpolate(y, v, n, ev->start_mark) < 0)
		return NULL;
	if (as_string)
		return string_at(y, em_buf_cstr(&y->sbuf), ev->start_mark);
	return resolve(y, em_buf_cstr(&y->sbuf), ev->start_mark);
}

static json_t *parse_node(struct yctx *y, const yaml_event_t *ev, int depth);

/*
 * Numbers the tools read from the configuration, and what they may be.  A
 * value outside these is a mistake (a negative retry count, a zero
 * backoff that retries at once forever, a job count that forks thousands
 * of transfers), so it is refused where it is written rather than used.
 * The bounds are those the tools document in em-config(5).
 * global.memory_budget is em-ingest's to check: its message names
 * EM_MEMORY_BUDGET when the value came from there.
 */
enum bound_kind { B_INT, B_SIZE, B_ZYX };
static const struct bound {
	const char *key;	/* fnmatch(3) pattern on the dotted key */
	enum bound_kind kind;
	long long min, max;	/* B_INT, B_ZYX (each of 3): inclusive; B_SIZE: min bytes */
	const char *what;
} bounds[] = {
	{ "global.jobs", B_INT, 1, 256, "concurrent transfers" },
	/* As --chunks: 4096 per axis keeps one uint64 chunk under 512 GiB. */
	{ "global.chunks", B_ZYX, 1, 4096, "a chunk shape" },
	{ "development.testing.chunks", B_ZYX, 1, 4096, "a chunk shape" },
	{ "global.level", B_INT, 0, 22, "a compression level" },
	{ "global.zarr_format", B_INT, 2, 3, "a Zarr version" },
	{ "global.http.connect_timeout_s", B_INT, 1, 3600, "a timeout in seconds" },
	{ "global.http.low_speed_bytes", B_INT, 0, 1LL << 30, "bytes a second" },
	{ "global.http.low_speed_time_s", B_INT, 0, 86400, "seconds" },
	{ "global.http.retries", B_INT, 1, 1000, "attempts" },
	{ "global.http.backoff_initial_ms", B_INT, 1, 3600000, "a wait in milliseconds" },
	{ "global.http.backoff_max_ms", B_INT, 1, 3600000, "a wait in milliseconds" },
	{ "sources.*.max_parallel", B_INT, 1, 256, "concurrent transfers" },
	{ "sources.*.expected_bytes", B_SIZE, 1, 0, "a size" },
	{ "docker.memory_limits.*", B_SIZE, 1, 0, "a memory size" },
	{ "development.testing.memory_budget", B_SIZE, 1, 0, "a memory size" },
};

/* Refuse a value outside its bound, at its place in the file. */
static int
check_bound(const struct yctx *y, const json_t *v, yaml_mark_t m)
{
	const struct bound *b = NULL;
	uint64_t u;
	size_t i;

	if (json_is_null(v) || json_is_object(v))
		return 0;
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]) && b == NULL; i++)
		if (fnmatch(bounds[i].key, y->path, 0) == 0)
			b = &bounds[i];
	if (b == NULL || json_is_array(v) != (b->kind == B_ZYX))
		return 0;	/* a wrong type is the typed look-up's to report */
	if (b->kind == B_ZYX) {
		const json_t *e;

		if (json_array_size(v) != 3)
			return fail_at(y, m, "'%s' has %zu items, expected 3 (z, y, x: %s)", y->path,
			    json_array_size(v), b->what);
		for (i = 0; i < 3; i++) {
			e = json_array_get(v, i);
			if (!json_is_integer(e) || json_integer_value(e) < b->min ||
			    json_integer_value(e) > b->max)
				return fail_at(y, m, "'%s' item %zu is not a whole number from %lld "
				    "to %lld (%s)", y->path, i + 1, b->min, b->max, b->what);
		}
		return 0;
	}
	if (b->kind == B_SIZE && json_is_string(v)) {
		if (em_parse_size(json_string_value(v), &u) < 0)
			return fail_at(y, m, "'%s' is '%s', not %s: %s", y->path,
			    json_string_value(v), b->what, em_errmsg());
		if (u < (uint64_t)b->min)
			return fail_at(y, m, "'%s' is %s, expected at least %lld bytes", y->path,
			    json_string_value(v), b->min);
		return 0;
	}
	if (json_is_real(v))
		return fail_at(y, m, "'%s' is %g, expected a whole number (%s)", y->path,
		    json_real_value(v), b->what);
	if (!json_is_integer(v))
		return 0;	/* a wrong type is the typed look-up's to report */
	if (b->kind == B_SIZE) {
		if (json_integer_value(v) < b->min)
			return fail_at(y, m, "'%s' is %" JSON_INTEGER_FORMAT ", expected at least "
			    "%lld bytes", y->path, json_integer_value(v), b->min);
		return 0;
	}
	if (json_integer_value(v) < b->min || json_integer_value(v) > b->max)
		return fail_at(y, m, "'%s' is %" JSON_INTEGER_FORMAT ", expected %lld to %lld (%s)",
		    y->path, json_integer_value(v), b->min, b->max, b->what);
	return 0;
}

static json_t *
sequence(struct yctx *y, int depth)
{
	json_t *arr = json_array(), *item;
	yaml_event_t ev;

	if (arr == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	for (;;) {
		if (next_event(y, &ev) < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return arr;
		}
		item = parse_node(y, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (item == NULL)
			goto fail;
		if (json_array_append_new(arr, item) < 0) {
			em_fail("out of memory");
			goto fail;
		}
	}
fail:
	json_decref(arr);
	return NULL;
}

static json_t *
mapping(struct yctx *y, int depth)
{
	json_t *obj = json_object(), *val;
	yaml_event_t kev, vev;
	char *key = NULL;
	size_t plen;

	if (obj == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	for (;;) {
		if (next_event(y, &kev) < 0)
			goto fail;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return obj;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			fail_at(y, kev.start_mark, "a key must be a scalar");
			yaml_event_delete(&kev);
			goto fail;
		}
		if (check_anchor(y, kev.data.scalar.anchor, kev.start_mark) < 0) {
			yaml_event_delete(&kev);
			goto fail;
		}
		if (memchr(kev.data.scalar.value, '\0', kev.data.scalar.length) != NULL) {
			fail_at(y, kev.start_mark, "NUL character in a key");
			yaml_event_delete(&kev);
			goto fail;
		}
		/* Keys are names, not values: no interpolation, no typing. */
		if (json_object_get(obj, (const char *)kev.data.scalar.value) != NULL) {
			fail_at(y, kev.start_mark, "duplicate key '%s'",
			    (const char *)kev.data.scalar.value);
			yaml_event_delete(&kev);
			goto fail;
		}
		key = strdup((const char *)kev.data.scalar.value);
		yaml_event_delete(&kev);
		if (key == NULL) {
			em_fail("out of memory");
			goto fail;
		}
		if (next_event(y, &vev) < 0)
			goto fail;
		plen = strlen(y->path);
		snprintf(y->path + plen, sizeof(y->path) - plen, "%s%s", plen ? "." : "", key);
		val = parse_node(y, &vev, depth + 1);
		if (val != NULL && check_bound(y, val, vev.start_mark) < 0) {
			json_decref(val);
			val = NULL;
		}
		y->path[plen] = '\0';
		yaml_event_delete(&vev);
		if (val == NULL)
			goto fail;
		if (json_object_set_new(obj, key, val) < 0) {
			em_fail("out of memory");
			goto fail;
		}
		free(key);
		key = NULL;
	}
fail:
	free(key);
	json_decref(obj);
	return NULL;
}

static json_t *
parse_node(struct yctx *y, const yaml_event_t *ev, int depth)
{
	const char *tag;

	if (++y->nodes > EM_CONFIG_MAX_NODES) {
		fail_at(y, ev->start_mark, "more than %d nodes", EM_CONFIG_MAX_NODES);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return scalar(y, ev);
	case YAML_ALIAS_EVENT:
		fail_at(y, ev->start_mark, "anchors and aliases are not supported (alias '*%s')",
		    (const char *)ev->data.alias.anchor);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		break;
	default:
		fail_at(y, ev->start_mark, "unexpected YAML event");
		return NULL;
	}
	if (depth >= EM_CONFIG_MAX_DEPTH) {
		fail_at(y, ev->start_mark, "nested deeper than %d levels", EM_CONFIG_MAX_DEPTH);
		return NULL;
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		tag = (const char *)ev->data.sequence_start.tag;
		if (check_anchor(y, ev->data.sequence_start.anchor, ev->start_mark) < 0)
			return NULL;
		if (tag != NULL && strcmp(tag, YAML_SEQ_TAG) != 0) {
			fail_at(y, ev->start_mark, "tag '%s' is not supported here", tag);
			return NULL;
		}
		return sequence(y, depth);
	}
	tag = (const char *)ev->data.mapping_start.tag;
	if (check_anchor(y, ev->data.mapping_start.anchor, ev->start_mark) < 0)
		return NULL;
	if (tag != NULL && strcmp(tag, YAML_MAP_TAG) != 0) {
		fail_at(y, ev->start_mark, "tag '%s' is not supported here", tag);
		return NULL;
	}
	return mapping(y, depth);
}

json_t *
em_yaml_parse(const char *text, size_t len, const char *name)
{
	struct yctx y;
	yaml_event_t ev;
	json_t *root = NULL, *result = NULL;

	memset(&y, 0, sizeof(y));
	y.name = name;
	y.text = text;
	y.len = len;
	em_buf_init(&y.sbuf, EM_CONFIG_MAX_SCALAR);
	if (!yaml_parser_initialize(&y.parser)) {
		em_fail("out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	/* stream-start, then document-start or, for an empty stream, stream-end */
	if (next_event(&y, &ev) < 0)
		goto out;
	yaml_event_delete(&ev);
	if (next_event(&y, &ev) < 0)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		result = json_null();
		goto out;
	}
	yaml_event_delete(&ev);
	if (next_event(&y, &ev) < 0)
		goto out;
	root = parse_node(&y, &ev, 0);
	yaml_event_delete(&ev);
	if (root == NULL)
		goto out;
	/* document-end, then stream-end: a second document is refused */
	if (next_event(&y, &ev) < 0)
		goto out;
	yaml_event_delete(&ev);
	if (next_event(&y, &ev) < 0)
		goto out;
	if (ev.type != YAML_STREAM_END_EVENT) {
		fail_at(&y, ev.start_mark, "more than one YAML document");
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	result = root;
	root = NULL;
out:
	json_decref(root);
	yaml_parser_delete(&y.parser);
	em_buf_release(&y.sbuf);
	return result;
}

/* Read a whole small file, at most max bytes. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	struct em_buf b = EM_BUF_INIT(max);
	char chunk[8192];
	ssize_t k;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		em_fail_errno("%s", path);
		return NULL;
	}
	for (;;) {
		k = read(fd, chunk, sizeof(chunk));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			em_fail_errno("%s", path);
			goto fail;
		}
		if (k == 0)
			break;
		if (em_buf_add(&b, chunk, (size_t)k) < 0) {
			em_fail("%s: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	if (em_buf_grow(&b, 1) < 0) {
		em_buf_release(&b);
		em_fail("out of memory");
		return NULL;
	}
	return em_buf_detach(&b, len);
fail:
	close(fd);
	em_buf_release(&b);
	return NULL;
}

json_t *
em_yaml_load_file(const char *path)
{
	size_t len;
	char *text = slurp(path, EM_CONFIG_MAX_BYTES, &len);
	json_t *v;

	if (text == NULL)
		return NULL;
	v = em_yaml_parse(text, len, path);
	free(text);
	return v;
}

int
em_json_merge(json_t *base, const json_t *overlay)
{
	const char *key;
	json_t *v, *b, *copy;

	if (!json_is_object(base) || !json_is_object(overlay))
		return em_fail("only objects can be merged");
	json_object_foreach((json_t *)overlay, key, v) {
		b = json_object_get(base, key);
		if (json_is_object(b) && json_is_object(v)) {
			if (em_json_merge(b, v) < 0)
				return -1;
			continue;
		}
		copy = json_deep_copy(v);
		if (copy == NULL || json_object_set_new(base, key, copy) < 0)
			return em_fail("out of memory");
	}
	return 0;
}

struct em_config {
	json_t *root;
	json_t *strs;	/* integers read as strings, kept so the text can be borrowed */
	char *name;
};

static struct em_config *
config_with(json_t *root, const char *name)
{
	struct em_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL || (cfg->strs = json_object()) == NULL ||
	    (cfg->name = strdup(name)) == NULL) {
		em_fail("out of memory");
		json_decref(root);
		em_config_free(cfg);
		return NULL;
	}
	cfg->root = root;
	return cfg;
}

struct em_config *
em_config_new(void)
{
	json_t *root = json_object();

	if (root == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	return config_with(root, "built-in defaults");
}

static json_t *
load_mapping(const char *path)
{
	json_t *v = em_yaml_load_file(path);

	if (v == NULL)
		return NULL;
	if (json_is_null(v)) {
		v = json_object();
		if (v == NULL)
			em_fail("out of memory");
		return v;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		em_fail("%s: the top level must be a mapping of sections", path);
		return NULL;
	}
	return v;
}

struct em_config *
em_config_load(const char *path)
{
	json_t *root = load_mapping(path);

	return root == NULL ? NULL : config_with(root, path);
}

int
em_config_overlay(struct em_config *cfg, const char *path)
{
	json_t *over = load_mapping(path);
	char *name;
	size_t n;

	if (over == NULL)
		return -1;
	if (em_json_merge(cfg->root, over) < 0) {
		json_decref(over);
		return -1;
	}
	json_decref(over);
	n = strlen(cfg->name) + strlen(path) + 4;
	name = malloc(n);
	if (name == NULL)
		return em_fail("out of memory");
	snprintf(name, n, "%s + %s", cfg->name, path);
	free(cfg->name);
	cfg->name = name;
	return 0;
}

struct em_config *
em_config_open(const char *path, const char *overlay)
{
	struct em_config *cfg;
	const char *env = getenv("EM_CONFIG");
	char found[4096];

	if (path != NULL)
		cfg = em_config_load(path);
	else if (env != NULL && *env != '\0')
		cfg = em_config_load(env);
	else if (access("config/config.yaml", F_OK) == 0)
		cfg = em_config_load("config/config.yaml");
	else if (em_data_path("config/config.yaml", found, sizeof(found)) == 0)
		cfg = em_config_load(found);
	else {
		em_debug("no configuration file found; using built-in defaults");
		cfg = em_config_new();
	}
	if (cfg == NULL)
		return NULL;
	if (overlay == NULL) {
		overlay = getenv("EM_CONFIG_OVERLAY");
		if (overlay != NULL && *overlay == '\0')
			overlay = NULL;
	}
	if (overlay != NULL && em_config_overlay(cfg, overlay) < 0) {
		em_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
em_config_free(struct em_config *cfg)
{
	if (cfg == NULL)
		return;
	json_decref(cfg->root);
	json_decref(cfg->strs);
	free(cfg->name);
	free(cfg);
}

const char *
em_config_name(const struct em_config *cfg)
{
	return cfg->name;
}

json_t *
em_config_root(const struct em_config *cfg)
{
	return cfg->root;
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a sequence";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

static int
wrong_type(const struct em_config *cfg, const char *key, const json_t *v, const char *want)
{
	return em_fail("%s: '%s' is %s, expected %s", cfg->name, key, type_name(v), want);
}

int
em_config_get(const struct em_config *cfg, const char *key, json_t **out)
{
	json_t *cur = cfg->root;
	const char *p = key, *dot;
	char part[256];
	size_t n;

	*out = NULL;
	for (;;) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(part))
			return em_fail("bad configuration key '%s'", key);
		memcpy(part, p, n);
		part[n] = '\0';
		cur = json_object_get(cur, part);
		if (cur == NULL || json_is_null(cur))
			return 0;
		if (dot == NULL)
			break;
		if (!json_is_object(cur))
			return em_fail("%s: '%.*s' is %s, expected a mapping", cfg->name,
			    (int)(dot - key), key, type_name(cur));
		p = dot + 1;
	}
	*out = cur;
	return 0;
}

int
em_config_get_str(struct em_config *cfg, const char *key, const char *def, const char **out)
{
	json_t *v, *s;
	char num[32];

	if (em_config_get(cfg, key, &v) < 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (json_is_string(v)) {
		*out = json_string_value(v);
		return 0;
	}
	if (!json_is_integer(v))
		return wrong_type(cfg, key, v, "a string");
	/* Kept per key, so an earlier answer for the same key stays valid. */
	s = json_object_get(cfg->strs, key);
	if (s != NULL) {
		*out = json_string_value(s);
		return 0;
	}
	snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	s = json_string(num);
	if (s == NULL || json_object_set_new(cfg->strs, key, s) < 0)
		return em_fail("out of memory");
	*out = json_string_value(s);
	return 0;
}

int
em_config_get_int(const struct em_config *cfg, const char *key, long long def, long long *out)
{
	json_t *v;

	if (em_config_get(cfg, key, &v) < 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return wrong_type(cfg, key, v, "an integer");
	*out = json_integer_value(v);
	return 0;
}

int
em_config_get_double(const struct em_config *cfg, const char *key, double def, double *out)
{
	json_t *v;

	if (em_config_get(cfg, key, &v) < 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_number(v))
		return wrong_type(cfg, key, v, "a number");
	*out = json_number_value(v);
	return 0;
}

int
em_config_get_bool(const struct em_config *cfg, const char *key, int def, int *out)
{
	json_t *v;

	if (em_config_get(cfg, key, &v) < 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return wrong_type(cfg, key, v, "true or false");
	*out = json_is_true(v);
	return 0;
}

int
em_config_get_size(const struct em_config *cfg, const char *key, uint64_t def, uint64_t *out)
{
	json_t *v;

	if (em_config_get(cfg, key, &v) < 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return em_fail("%s: '%s' is negative, expected a size", cfg->name, key);
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return wrong_type(cfg, key, v, "a size such as 8G");
	if (em_parse_size(json_string_value(v), out) < 0)
		return em_fail_ctx("%s: '%s'", cfg->name, key);
	return 0;
}

int
em_config_get_u64_list(const struct em_config *cfg, const char *key, uint64_t *out, size_t n,
    uint64_t min, uint64_t max, const uint64_t *def)
{
	uint64_t tmp[16];
	json_t *v, *item;
	json_int_t x;
	size_t i;

	if (n == 0 || n > 16)
		return em_fail("a list of %zu values is not supported", n);
	if (em_config_get(cfg, key, &v) < 0)
		return -1;
	if (v == NULL) {
		if (def != NULL)
			memcpy(out, def, n * sizeof(*out));
		return 0;
	}
	if (json_is_string(v)) {
		if (em_parse_u64_list(json_string_value(v), out, n, min, max) < 0)
			return em_fail_ctx("%s: '%s'", cfg->name, key);
		return 0;
	}
	if (!json_is_array(v))
		return wrong_type(cfg, key, v, "a sequence of integers");
	if (json_array_size(v) != n)
		return em_fail("%s: '%s' has %zu values, expected %zu", cfg->name, key,
		    json_array_size(v), n);
	json_array_foreach(v, i, item) {
		if (!json_is_integer(item))
			return em_fail("%s: '%s' item %zu is %s, expected an integer", cfg->name,
			    key, i + 1, type_name(item));
		x = json_integer_value(item);
		if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
			return em_fail("%s: '%s' item %zu is %" JSON_INTEGER_FORMAT
			    ", expected %llu to %llu", cfg->name, key, i + 1, x,
			    (unsigned long long)min, (unsigned long long)max);
		tmp[i] = (uint64_t)x;
	}
	memcpy(out, tmp, n * sizeof(*out));
	return 0;
}
