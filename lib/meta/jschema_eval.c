/* jschema_eval.c - validating a document against a compiled JSON Schema 2020-12 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"
#include "meta/jschema.h"
#include "meta/jschema_internal.h"
#include "core/banned.h"

/* Longest rendering of a value inside an error message. */
#define SHOW_MAX 120

struct seg {
	const char *key;	/* NULL for an array index */
	size_t idx;
};

/*
 * Which items or properties of the current value some subschema has
 * evaluated successfully (the annotations unevaluatedItems and
 * unevaluatedProperties depend on).  Properties are numbered in the
 * object's iteration order, which is stable.
 */
struct ann {
	size_t n;
	unsigned char *ev;
};

struct ctx {
	const struct em_jschema *s;
	struct em_jschema_errors *errs;
	int quiet;		/* > 0 inside anyOf/oneOf/not/if/contains trials: no errors kept */
	int oom;
	int depth;
	struct seg path[JS_MAX_EVAL_DEPTH + 1];
	size_t npath;
	const struct js_resource *scope[JS_MAX_EVAL_DEPTH + 1];	/* dynamic scope */
	size_t nscope;
	pcre2_match_data *md;
};

/* ---- numbers and equality ---- */

static long double
numval(const json_t *v)
{
	return json_is_integer(v) ? (long double)json_integer_value(v)
	    : (long double)json_real_value(v);
}

/* Exact for integers (long double holds every long long on the platforms we build for). */
static int
numcmp(const json_t *a, const json_t *b)
{
	long double x, y;

	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b);

		return i < j ? -1 : i > j;
	}
	x = numval(a);
	y = numval(b);
	return x < y ? -1 : x > y;
}

static int
is_integer(const json_t *v)
{
	double d;

	if (json_is_integer(v))
		return 1;
	if (!json_is_real(v))
		return 0;
	d = json_real_value(v);
	return isfinite(d) && floor(d) == d;
}

int
em_jschema_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return numcmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!em_jschema_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, key, v) {
			const json_t *w = json_object_get(b, key);

			if (w == NULL || !em_jschema_equal(v, w))
				return 0;
		}
		return 1;
	default:
		return 1;	/* true, false, null: the type is the value */
	}
}

/* A hash consistent with em_jschema_equal: 1 and 1.0 hash alike, key order does not count. */
static uint64_t
mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x7fb5d329728ea185ULL;
	h ^= h >> 27;
	h *= 0x81dadef4bc2dd44dULL;
	return h ^ (h >> 33);
}

static uint64_t
vhash(const json_t *v)
{
	uint64_t h = 0;
	const char *key, *p;
	json_t *e;
	size_t i;
	double d;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return mix((uint64_t)json_integer_value(v) ^ 0x1234);
	case JSON_REAL:
		d = json_real_value(v);
		if (d >= -9.2e18 && d <= 9.2e18 && floor(d) == d)
			return mix((uint64_t)(long long)d ^ 0x1234);
		if (d == 0)
			d = 0;
		memcpy(&h, &d, sizeof(h));
		return mix(h);
	case JSON_STRING:
		h = 1469598103934665603ULL;
		for (i = 0, p = json_string_value(v); i < json_string_length(v); i++)
			h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
		return mix(h);
	case JSON_ARRAY:
		h = 7;
		json_array_foreach(v, i, e)
			h = mix(h * 31 + vhash(e));
		return h;
	case JSON_OBJECT:
		h = 11;
		json_object_foreach((json_t *)v, key, e) {
			json_t *k = json_string(key);

			h += mix(vhash(k) * 31 + vhash(e));
			json_decref(k);
		}
		return h;
	default:
		return (uint64_t)json_typeof(v) * 0x9e3779b97f4a7c15ULL;
	}
}

struct hidx {
	uint64_t h;
	size_t i;
};

static int
hidx_cmp(const void *a, const void *b)
{
	const struct hidx *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* 1 when every item differs; otherwise 0 with the first duplicate pair in *a, *b. */
static int
all_unique(const json_t *arr, size_t *a, size_t *b)
{
	size_t n = json_array_size(arr), i, j, k;
	struct hidx *hs;
	int ok = 1;

	if (n < 2)
		return 1;
	if ((hs = malloc(n * sizeof(*hs))) == NULL)
		return em_fail("out of memory");
	for (i = 0; i < n; i++) {
		hs[i].h = vhash(json_array_get(arr, i));
		hs[i].i = i;
	}
	qsort(hs, n, sizeof(*hs), hidx_cmp);
	for (i = 0; i < n && ok; i = j) {
		for (j = i + 1; j < n && hs[j].h == hs[i].h; j++)
			;
		for (k = i; k < j && ok; k++) {
			size_t m;

			for (m = k + 1; m < j && ok; m++) {
				if (em_jschema_equal(json_array_get(arr, hs[k].i),
				    json_array_get(arr, hs[m].i))) {
					*a = hs[k].i < hs[m].i ? hs[k].i : hs[m].i;
					*b = hs[k].i < hs[m].i ? hs[m].i : hs[k].i;
					ok = 0;
				}
			}
		}
	}
	free(hs);
	return ok;
}

/* ---- messages ---- */

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return is_integer(v) ? "integer" : "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

/* A compact rendering of v, cut to SHOW_MAX bytes with "..." (caller frees). */
static char *
show(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	size_t n;

	if (s == NULL)
		return strdup("?");
	n = strlen(s);
	/* Cut only what "..." (3 bytes and the NUL) can replace inside the string's own buffer. */
	if (n > SHOW_MAX + 3) {
		n = SHOW_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		snprintf(s + n, 4, "...");
	}
	return s;
}

static char *
pointer_text(const struct ctx *c)
{
	struct em_buf b = EM_BUF_INIT(1 << 20);
	const char *p;
	size_t i;
	int bad = em_buf_addstr(&b, "");

	for (i = 0; i < c->npath && !bad; i++) {
		if (c->path[i].key == NULL) {
			bad = em_buf_addf(&b, "/%zu", c->path[i].idx);
			continue;
		}
		bad = em_buf_addch(&b, '/');
		for (p = c->path[i].key; *p != '\0' && !bad; p++) {
			if (*p == '~')
				bad = em_buf_addstr(&b, "~0");
			else if (*p == '/')
				bad = em_buf_addstr(&b, "~1");
			else
				bad = em_buf_addch(&b, *p);
		}
	}
	if (bad) {
		em_buf_release(&b);
		return NULL;
	}
	return em_buf_detach(&b, NULL);
}

static void report(struct ctx *c, const struct js_node *n, const char *kw, const char *fmt, ...)
    EM_PRINTF(4, 5);

static void
report(struct ctx *c, const struct js_node *n, const char *kw, const char *fmt, ...)
{
	struct em_jschema_errors *e = c->errs;
	struct em_jschema_error *x;
	char msg[1024];
	size_t len;
	va_list ap;

	if (c->quiet || e == NULL)
		return;
	if (e->n >= e->max) {
		e->dropped++;
		return;
	}
	/* Room for 8, then doubling up to max (held implicitly: n is a power of two then). */
	if (e->n == 0 || (e->n >= 8 && (e->n & (e->n - 1)) == 0)) {
		size_t want = e->n == 0 ? 8 : e->n * 2;
		struct em_jschema_error *nv;

		if (want > e->max)
			want = e->max;
		if ((nv = realloc(e->v, want * sizeof(*nv))) == NULL) {
			c->oom = 1;
			return;
		}
		e->v = nv;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x = &e->v[e->n];
	len = strlen(n->loc) + strlen(kw) + 2;
	x->pointer = pointer_text(c);
	x->keyword = strdup(kw);
	x->message = strdup(msg);
	if ((x->schema_path = malloc(len)) != NULL)
		snprintf(x->schema_path, len, "%s/%s", n->loc, kw);
	e->n++;
	if (x->pointer == NULL || x->keyword == NULL || x->message == NULL || x->schema_path == NULL)
		c->oom = 1;
}

/* ---- annotations ---- */

static int
ann_init(struct ann *a, const json_t *inst)
{
	a->n = json_is_object(inst) ? json_object_size(inst)
	    : json_is_array(inst) ? json_array_size(inst) : 0;
	a->ev = NULL;
	if (a->n > 0 && (a->ev = calloc(a->n, 1)) == NULL)
		return em_fail("out of memory");
	return 0;
}

static void
ann_merge(struct ann *dst, const struct ann *src)
{
	size_t i;

	for (i = 0; i < dst->n && i < src->n; i++)
		dst->ev[i] |= src->ev[i];
}

static void
ann_mark(struct ann *a, size_t i)
{
	if (a != NULL && i < a->n)
		a->ev[i] = 1;
}

/* ---- evaluation ---- */

static int eval(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *ann);

/* Evaluate a child value (an item or a property), extending the instance path. */
static int
eval_key(struct ctx *c, const struct js_node *n, const json_t *inst, const char *key, size_t idx)
{
	int r;

	c->path[c->npath].key = key;
	c->path[c->npath].idx = idx;
	c->npath++;
	r = eval(c, n, inst, NULL);
	c->npath--;
	return r;
}

/* Evaluate without keeping errors: a trial whose failure is not itself an error. */
static int
trial(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *ann)
{
	int r;

	c->quiet++;
	r = eval(c, n, inst, ann);
	c->quiet--;
	return r;
}

/*
 * ok tracks the result of one schema: a failed keyword sets it to 0 and,
 * when nobody wants the errors, evaluation stops there.
 */
#define STEP(expr) do {						\
		int r_ = (expr);				\
		if (r_ < 0 || c->oom)				\
			return -1;				\
		if (r_ == 0) {					\
			ok = 0;					\
			if (c->quiet || c->errs == NULL)	\
				return 0;			\
		}						\
	} while (0)

static int
eval_type(struct ctx *c, const struct js_node *n, const json_t *inst)
{
	unsigned t = 0, want = n->types;
	char names[128] = "";
	size_t i, off = 0;
	char *a;

	switch (json_typeof(inst)) {
	case JSON_NULL: t = JT_NULL; break;
	case JSON_TRUE:
	case JSON_FALSE: t = JT_BOOLEAN; break;
	case JSON_OBJECT: t = JT_OBJECT; break;
	case JSON_ARRAY: t = JT_ARRAY; break;
	case JSON_STRING: t = JT_STRING; break;
	case JSON_INTEGER: t = JT_NUMBER | JT_INTEGER; break;
	case JSON_REAL: t = JT_NUMBER | (is_integer(inst) ? JT_INTEGER : 0); break;
	}
	if (want == 0 || (t & want) != 0)
		return 1;
	for (i = 0; i < 7; i++) {
		static const char *nm[] = { "null", "boolean", "object", "array", "number",
			"string", "integer" };

		if (want & (1u << i))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			    off ? " or " : "", nm[i]);
	}
	a = show(inst);
	report(c, n, "type", "expected %s, got %s %s", names, type_name(inst), a);
	free(a);
	return 0;
}

static int
eval_generic(struct ctx *c, const struct js_node *n, const json_t *inst)
{
	int ok = 1;
	size_t i;
	char *a, *b;

	if (n->types != 0)
		STEP(eval_type(c, n, inst));
	if (n->constv != NULL && !em_jschema_equal(n->constv, inst)) {
		a = show(n->constv);
		b = show(inst);
		report(c, n, "const", "expected the value %s, got %s", a, b);
		free(a);
		free(b);
		STEP(0);
	}
	if (n->enumv != NULL) {
		for (i = 0; i < json_array_size(n->enumv); i++)
			if (em_jschema_equal(json_array_get(n->enumv, i), inst))
				break;
		if (i == json_array_size(n->enumv)) {
			a = show(n->enumv);
			b = show(inst);
			report(c, n, "enum", "expected one of %s, got %s", a, b);
			free(a);
			free(b);
			STEP(0);
		}
	}
	return ok;
}

/*
 * Why each alternative of a failed anyOf/oneOf fails: its first error,
 * "anyOf/0: expected string, got integer 3; anyOf/1 at /a: ...", so that a
 * user sees which branch came close.  Only run when errors are kept.
 */
static int
why_none(struct ctx *c, const char *kw, struct js_node *const *subs, size_t nsubs,
    const json_t *inst, char *out, size_t size)
{
	struct em_jschema_errors *keep = c->errs, one = EM_JSCHEMA_ERRORS_INIT(1);
	char *here = pointer_text(c);
	size_t i, off = 0;
	int r = 0;

	out[0] = '\0';
	if (here == NULL)
		return em_fail("out of memory");
	c->errs = &one;
	for (i = 0; i < nsubs && r >= 0 && off + 16 < size; i++) {
		r = eval(c, subs[i], inst, NULL);
		if (r == 0 && one.n > 0) {
			const struct em_jschema_error *e = &one.v[0];
			int at = strcmp(e->pointer, here) != 0, f = strcmp(e->keyword, "false") == 0;

			off += (size_t)snprintf(out + off, size - off, "%s%s/%zu%s%s: %s%s%s",
			    off ? "; " : " (", kw, i, at ? " at " : "", at ? e->pointer : "",
			    f ? "false schema" : e->keyword, f ? "" : ": ", f ? "" : e->message);
		}
		em_jschema_errors_reset(&one);
	}
	if (off > 0 && off < size)
		snprintf(out + off, size - off, ")");
	if (off >= size && size > 4)
		snprintf(out + size - 5, 5, "...)");
	c->errs = keep;
	free(here);
	return r < 0 || c->oom ? -1 : 0;
}

static const struct js_node *
dynamic_target(const struct ctx *c, const struct js_node *n)
{
	size_t i, k;

	if (n->dynname == NULL)
		return n->dynreft;
	/* The outermost resource of the dynamic scope with that anchor wins. */
	for (i = 0; i < c->nscope; i++)
		for (k = 0; k < c->scope[i]->ndyn; k++)
			if (strcmp(c->scope[i]->dyn[k].name, n->dynname) == 0)
				return c->scope[i]->dyn[k].n;
	return n->dynreft;
}

static int
eval_inplace(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *la)
{
	struct ann tmp = { 0, NULL };
	size_t i, matched, first = 0, second = 0;
	char why[600] = "";
	int ok = 1, r;

	if (n->reft != NULL)
		STEP(eval(c, n->reft, inst, la));
	if (n->dynreft != NULL)
		STEP(eval(c, dynamic_target(c, n), inst, la));
	for (i = 0; i < n->nallof; i++)
		STEP(eval(c, n->allof[i], inst, la));
	if (n->nanyof > 0) {
		/* With annotations wanted every branch counts, so no short cut. */
		for (i = 0, matched = 0; i < n->nanyof && (la != NULL || matched == 0); i++) {
			if (la != NULL && ann_init(&tmp, inst) < 0)
				return -1;
			r = trial(c, n->anyof[i], inst, la != NULL ? &tmp : NULL);
			if (r == 1) {
				matched++;
				if (la != NULL)
					ann_merge(la, &tmp);
			}
			free(tmp.ev);
			tmp.ev = NULL;
			if (r < 0)
				return -1;
		}
		if (matched == 0) {
			if (!c->quiet && c->errs != NULL &&
			    why_none(c, "anyOf", n->anyof, n->nanyof, inst, why, sizeof(why)) < 0)
				return -1;
			report(c, n, "anyOf", "expected the value to match at least one of the %zu "
			    "anyOf subschemas, it matches none%s", n->nanyof, why);
			STEP(0);
		}
	}
	if (n->noneof > 0) {
		struct ann keep = { 0, NULL };

		for (i = 0, matched = 0; i < n->noneof && matched < 2; i++) {
			if (la != NULL && ann_init(&tmp, inst) < 0)
				return -1;
			r = trial(c, n->oneof[i], inst, la != NULL ? &tmp : NULL);
			if (r == 1) {
				if (matched++ == 0) {
					first = i;
					keep = tmp;
					tmp.ev = NULL;
				} else {
					second = i;
				}
			}
			free(tmp.ev);
			tmp.ev = NULL;
			if (r < 0) {
				free(keep.ev);
				return -1;
			}
		}
		if (matched == 1 && la != NULL)
			ann_merge(la, &keep);
		free(keep.ev);
		if (matched == 0) {
			if (!c->quiet && c->errs != NULL &&
			    why_none(c, "oneOf", n->oneof, n->noneof, inst, why, sizeof(why)) < 0)
				return -1;
			report(c, n, "oneOf", "expected the value to match exactly one of the %zu "
			    "oneOf subschemas, it matches none%s", n->noneof, why);
			STEP(0);
		} else if (matched > 1) {
			report(c, n, "oneOf", "expected the value to match exactly one of the %zu "
			    "oneOf subschemas, it matches oneOf/%zu and oneOf/%zu", n->noneof,
			    first, second);
			STEP(0);
		}
	}
	if (n->notn != NULL) {
		r = trial(c, n->notn, inst, NULL);
		if (r < 0)
			return -1;
		if (r == 1) {
			report(c, n, "not", "expected the value not to match the 'not' subschema");
			STEP(0);
		}
	}
	if (n->ifn != NULL) {
		if (la != NULL && ann_init(&tmp, inst) < 0)
			return -1;
		r = trial(c, n->ifn, inst, la != NULL ? &tmp : NULL);
		if (r == 1 && la != NULL)
			ann_merge(la, &tmp);
		free(tmp.ev);
		tmp.ev = NULL;
		if (r < 0)
			return -1;
		if (r == 1 && n->thenn != NULL)
			STEP(eval(c, n->thenn, inst, la));
		else if (r == 0 && n->elsen != NULL)
			STEP(eval(c, n->elsen, inst, la));
	}
	if (json_is_object(inst)) {
		for (i = 0; i < n->ndepsch; i++)
			if (json_object_get(inst, n->depsch[i].key) != NULL)
				STEP(eval(c, n->depsch[i].n, inst, la));
	}
	return ok;
}

static const struct js_node *
prop_find(const struct js_node *n, const char *key)
{
	size_t lo = 0, hi = n->nprops, mid;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(key, n->props[mid].key);
		if (cmp == 0)
			return n->props[mid].n;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
eval_object(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *la)
{
	size_t size = json_object_size(inst), i, k;
	const struct js_node *p;
	const char *key;
	json_t *val, *e;
	int ok = 1, m, matched;

	if (n->minprops >= 0 && size < (unsigned long long)n->minprops) {
		report(c, n, "minProperties", "expected at least %lld properties, got %zu",
		    n->minprops, size);
		STEP(0);
	}
	if (n->maxprops >= 0 && size > (unsigned long long)n->maxprops) {
		report(c, n, "maxProperties", "expected at most %lld properties, got %zu",
		    n->maxprops, size);
		STEP(0);
	}
	json_array_foreach(n->required, i, e) {
		if (json_object_get(inst, json_string_value(e)) == NULL) {
			report(c, n, "required", "required property '%s' is missing",
			    json_string_value(e));
			STEP(0);
		}
	}
	for (i = 0; i < n->ndepreq; i++) {
		if (json_object_get(inst, n->depreq[i].key) == NULL)
			continue;
		json_array_foreach(n->depreq[i].names, k, e) {
			if (json_object_get(inst, json_string_value(e)) == NULL) {
				report(c, n, "dependentRequired", "property '%s' is required when "
				    "'%s' is present", json_string_value(e), n->depreq[i].key);
				STEP(0);
			}
		}
	}
	if (n->nprops == 0 && n->npprops == 0 && n->addprops == NULL && n->propnames == NULL)
		return ok;
	i = 0;
	json_object_foreach((json_t *)inst, key, val) {
		matched = 0;
		if ((p = prop_find(n, key)) != NULL) {
			matched = 1;
			STEP(eval_key(c, p, val, key, 0));
		}
		for (k = 0; k < n->npprops; k++) {
			if ((m = js_regex_match(&n->pprops[k], key, strlen(key), c->md,
			    c->s->mctx)) < 0)
				return -1;
			if (m) {
				matched = 1;
				STEP(eval_key(c, n->pprops[k].n, val, key, 0));
			}
		}
		if (!matched && n->addprops != NULL) {
			matched = 1;
			if (n->addprops->boolval == 0) {
				c->path[c->npath++].key = key;
				report(c, n, "additionalProperties", "property '%s' is not allowed",
				    key);
				c->npath--;
				STEP(0);
			} else {
				STEP(eval_key(c, n->addprops, val, key, 0));
			}
		}
		if (matched)
			ann_mark(la, i);
		if (n->propnames != NULL) {
			json_t *ks = json_string(key);

			if (ks == NULL)
				return em_fail("out of memory");
			m = trial(c, n->propnames, ks, NULL);
			json_decref(ks);
			if (m < 0)
				return -1;
			if (m == 0) {
				report(c, n, "propertyNames", "property name '%s' does not match the "
				    "propertyNames schema", key);
				STEP(0);
			}
		}
		i++;
	}
	return ok;
}

static int
eval_array(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *la)
{
	size_t size = json_array_size(inst), i, a = 0, b = 0, count;
	int ok = 1, r;

	if (n->minitems >= 0 && size < (unsigned long long)n->minitems) {
		report(c, n, "minItems", "expected at least %lld items, got %zu", n->minitems, size);
		STEP(0);
	}
	if (n->maxitems >= 0 && size > (unsigned long long)n->maxitems) {
		report(c, n, "maxItems", "expected at most %lld items, got %zu", n->maxitems, size);
		STEP(0);
	}
	if (n->unique) {
		r = all_unique(inst, &a, &b);
		if (r < 0)
			return -1;
		if (r == 0) {
			report(c, n, "uniqueItems", "expected unique items, items %zu and %zu are "
			    "equal", a, b);
			STEP(0);
		}
	}
	for (i = 0; i < size && i < n->nprefix; i++) {
		STEP(eval_key(c, n->prefix[i], json_array_get(inst, i), NULL, i));
		ann_mark(la, i);
	}
	if (n->items != NULL && size > n->nprefix) {
		if (n->items->boolval == 0) {
			report(c, n, "items", "expected at most %zu items, got %zu", n->nprefix, size);
			STEP(0);
		} else {
			for (i = n->nprefix; i < size; i++) {
				STEP(eval_key(c, n->items, json_array_get(inst, i), NULL, i));
				ann_mark(la, i);
			}
		}
	}
	if (n->contains != NULL) {
		long long min = n->mincontains >= 0 ? n->mincontains : 1;

		for (i = 0, count = 0; i < size; i++) {
			/* Only maxContains and annotations need every match counted. */
			if (n->maxcontains < 0 && la == NULL && count >= (unsigned long long)min)
				break;
			c->path[c->npath].key = NULL;
			c->path[c->npath++].idx = i;
			r = trial(c, n->contains, json_array_get(inst, i), NULL);
			c->npath--;
			if (r < 0)
				return -1;
			if (r == 1) {
				count++;
				ann_mark(la, i);
			}
		}
		if (count < (unsigned long long)min) {
			report(c, n, n->mincontains >= 0 ? "minContains" : "contains",
			    "expected at least %lld items matching the contains schema, found %zu",
			    min, count);
			STEP(0);
		}
		if (n->maxcontains >= 0 && count > (unsigned long long)n->maxcontains) {
			report(c, n, "maxContains", "expected at most %lld items matching the "
			    "contains schema, found %zu", n->maxcontains, count);
			STEP(0);
		}
	}
	return ok;
}

static size_t
utf8_count(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

static int
eval_string(struct ctx *c, const struct js_node *n, const json_t *inst)
{
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst), cp;
	int ok = 1, m;

	if (n->minlen >= 0 || n->maxlen >= 0) {
		cp = utf8_count(s, len);
		if (n->minlen >= 0 && cp < (unsigned long long)n->minlen) {
			report(c, n, "minLength", "expected at least %lld characters, got %zu",
			    n->minlen, cp);
			STEP(0);
		}
		if (n->maxlen >= 0 && cp > (unsigned long long)n->maxlen) {
			report(c, n, "maxLength", "expected at most %lld characters, got %zu",
			    n->maxlen, cp);
			STEP(0);
		}
	}
	if (n->pattern != NULL) {
		if ((m = js_regex_match(n->pattern, s, len, c->md, c->s->mctx)) < 0)
			return -1;
		if (m == 0) {
			char *a = show(inst);

			report(c, n, "pattern", "expected a string matching '%s', got %s",
			    n->pattern->src, a);
			free(a);
			STEP(0);
		}
	}
	return ok;
}

static int
multiple_of(const json_t *inst, const json_t *m)
{
	double q;

	if (json_is_integer(inst) && json_is_integer(m)) {
		json_int_t d = json_integer_value(m);

		return d == 1 || json_integer_value(inst) % d == 0;
	}
	/*
	 * In double, as every JSON Schema implementation does; a quotient past
	 * 2^53 is always whole, one that overflows is decided by the exact
	 * remainder (1e308 is a multiple of 0.5, not of 0.123456789).  Decimal
	 * divisors are inexact in binary (0.0075 / 0.0001 is 75 give or take),
	 * hence the tolerance.
	 */
	q = json_number_value(inst) / json_number_value(m);
	if (!isfinite(q))
		return fmod(json_number_value(inst), json_number_value(m)) == 0;
	return fabs(q - round(q)) < 1e-9;
}

static int
eval_number(struct ctx *c, const struct js_node *n, const json_t *inst)
{
	char *a = NULL, *b = NULL;
	int ok = 1;

	if (n->minimum != NULL && numcmp(inst, n->minimum) < 0) {
		a = show(n->minimum), b = show(inst);
		report(c, n, "minimum", "expected a number >= %s, got %s", a, b);
		free(a), free(b);
		STEP(0);
	}
	if (n->maximum != NULL && numcmp(inst, n->maximum) > 0) {
		a = show(n->maximum), b = show(inst);
		report(c, n, "maximum", "expected a number <= %s, got %s", a, b);
		free(a), free(b);
		STEP(0);
	}
	if (n->xminimum != NULL && numcmp(inst, n->xminimum) <= 0) {
		a = show(n->xminimum), b = show(inst);
		report(c, n, "exclusiveMinimum", "expected a number > %s, got %s", a, b);
		free(a), free(b);
		STEP(0);
	}
	if (n->xmaximum != NULL && numcmp(inst, n->xmaximum) >= 0) {
		a = show(n->xmaximum), b = show(inst);
		report(c, n, "exclusiveMaximum", "expected a number < %s, got %s", a, b);
		free(a), free(b);
		STEP(0);
	}
	if (n->multipleof != NULL && !multiple_of(inst, n->multipleof)) {
		a = show(n->multipleof), b = show(inst);
		report(c, n, "multipleOf", "expected a multiple of %s, got %s", a, b);
		free(a), free(b);
		STEP(0);
	}
	return ok;
}

static int
eval_unevaluated(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *la)
{
	const char *key;
	json_t *val;
	size_t i;
	int ok = 1;

	if (n->unevprops != NULL && json_is_object(inst)) {
		i = 0;
		json_object_foreach((json_t *)inst, key, val) {
			if (!la->ev[i]) {
				if (n->unevprops->boolval == 0) {
					c->path[c->npath++].key = key;
					report(c, n, "unevaluatedProperties", "property '%s' is not "
					    "allowed (no subschema evaluates it)", key);
					c->npath--;
					STEP(0);
				} else {
					STEP(eval_key(c, n->unevprops, val, key, 0));
				}
				la->ev[i] = 1;
			}
			i++;
		}
	}
	if (n->unevitems != NULL && json_is_array(inst)) {
		for (i = 0; i < json_array_size(inst); i++) {
			if (la->ev[i])
				continue;
			if (n->unevitems->boolval == 0) {
				c->path[c->npath].key = NULL;
				c->path[c->npath++].idx = i;
				report(c, n, "unevaluatedItems", "item %zu is not allowed (no "
				    "subschema evaluates it)", i);
				c->npath--;
				STEP(0);
			} else {
				STEP(eval_key(c, n->unevitems, json_array_get(inst, i), NULL, i));
			}
			la->ev[i] = 1;
		}
	}
	return ok;
}

static int
eval_body(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *la)
{
	int ok = 1;

	STEP(eval_generic(c, n, inst));
	STEP(eval_inplace(c, n, inst, la));
	if (json_is_object(inst))
		STEP(eval_object(c, n, inst, la));
	else if (json_is_array(inst))
		STEP(eval_array(c, n, inst, la));
	else if (json_is_string(inst))
		STEP(eval_string(c, n, inst));
	else if (json_is_number(inst))
		STEP(eval_number(c, n, inst));
	/*
	 * Only after every other keyword, and only on a value valid so far:
	 * a failed anyOf leaves no annotations, and reporting every property
	 * as unevaluated then would bury the real error.
	 */
	if (ok && n->has_uneval)
		STEP(eval_unevaluated(c, n, inst, la));
	return ok;
}

static int
eval(struct ctx *c, const struct js_node *n, const json_t *inst, struct ann *ann)
{
	struct ann la = { 0, NULL };
	int r, pushed = 0, want;

	if (n->boolval == 1)
		return 1;
	if (n->boolval == 0) {
		report(c, n, "false", "no value is allowed here (the schema is false)");
		return c->oom ? -1 : 0;
	}
	if (c->depth >= JS_MAX_EVAL_DEPTH) {
		char *p = pointer_text(c);

		em_fail("schema applied more than %d levels deep at '%s' (a document nested "
		    "too deeply for this schema)", JS_MAX_EVAL_DEPTH, p != NULL ? p : "?");
		free(p);
		return -1;
	}
	c->depth++;
	if (c->nscope == 0 || c->scope[c->nscope - 1] != n->res) {
		c->scope[c->nscope++] = n->res;
		pushed = 1;
	}
	want = ann != NULL || n->has_uneval;
	if (want && ann_init(&la, inst) < 0) {
		r = -1;
		goto out;
	}
	r = eval_body(c, n, inst, want ? &la : NULL);
	if (r == 1 && ann != NULL)
		ann_merge(ann, &la);
out:
	free(la.ev);
	if (pushed)
		c->nscope--;
	c->depth--;
	return r;
}

int
js_eval_validate(const struct em_jschema *s, const json_t *doc, struct em_jschema_errors *errs)
{
	struct ctx *c = calloc(1, sizeof(*c));
	int r;

	if (c == NULL || (c->md = pcre2_match_data_create(1, NULL)) == NULL) {
		free(c);
		return em_fail("out of memory");
	}
	c->s = s;
	c->errs = errs;
	r = eval(c, s->root, doc, NULL);
	if (c->oom && r >= 0)
		r = em_fail("out of memory");
	pcre2_match_data_free(c->md);
	free(c);
	return r;
}
