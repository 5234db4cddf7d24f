/* jschema.c - compiling a JSON Schema 2020-12: keywords checked, regexes compiled, refs resolved once */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"
#include "meta/jschema.h"
#include "meta/jschema_internal.h"
#include "core/banned.h"

/*
 * The base URI of a root schema without $id.  Refs are resolved against it
 * like any other URI, so "#/$defs/a" and relative names of embedded
 * resources work; it cannot collide with a real document's $id.
 */
#define DEFAULT_BASE "urn:em-jschema:root"

/* A backtracking bound so a hostile pattern cannot stall validation. */

struct comp {
	struct em_jschema *s;
};

/* A failure while compiling: "at '#/loc': reason" (the caller names the schema). */
static int
cfail(struct comp *c, const char *loc, const char *fmt, ...) EM_PRINTF(3, 4);

static int
cfail(struct comp *c, const char *loc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	(void)c;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return em_fail("at '%s': %s", loc, msg);
}

static char *
child_loc(const char *loc, const char *key)
{
	struct em_buf b = EM_BUF_INIT(1 << 20);
	const char *p;
	int bad;

	bad = em_buf_addstr(&b, loc) | em_buf_addch(&b, '/');
	for (p = key; *p != '\0' && !bad; p++) {
		if (*p == '~')
			bad = em_buf_addstr(&b, "~0");
		else if (*p == '/')
			bad = em_buf_addstr(&b, "~1");
		else
			bad = em_buf_addch(&b, *p);
	}
	if (bad) {
		em_buf_release(&b);
		return NULL;
	}
	return em_buf_detach(&b, NULL);
}

static char *
index_loc(const char *loc, const char *key, size_t i)
{
	char num[32];
	char *k, *r;

	snprintf(num, sizeof(num), "%zu", i);
	if ((k = child_loc(loc, key)) == NULL)
		return NULL;
	r = child_loc(k, num);
	free(k);
	return r;
}

/* ---- the pointer map ---- */

static size_t
ptr_hash(const void *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)(x & (cap - 1));
}

static int
map_put(struct em_jschema *s, struct js_node *n)
{
	size_t i;

	if ((s->mapn + 1) * 2 > s->mapcap) {
		size_t ncap = s->mapcap ? s->mapcap * 2 : 64, k;
		struct js_node **nm = calloc(ncap, sizeof(*nm));

		if (nm == NULL)
			return em_fail("out of memory");
		for (k = 0; k < s->mapcap; k++) {
			if (s->map[k] == NULL)
				continue;
			i = ptr_hash(s->map[k]->js, ncap);
			while (nm[i] != NULL)
				i = (i + 1) & (ncap - 1);
			nm[i] = s->map[k];
		}
		free(s->map);
		s->map = nm;
		s->mapcap = ncap;
	}
	i = ptr_hash(n->js, s->mapcap);
	while (s->map[i] != NULL)
		i = (i + 1) & (s->mapcap - 1);
	s->map[i] = n;
	s->mapn++;
	return 0;
}

static struct js_node *
map_get(const struct em_jschema *s, const json_t *js)
{
	size_t i;

	if (s->mapcap == 0)
		return NULL;
	for (i = ptr_hash(js, s->mapcap); s->map[i] != NULL; i = (i + 1) & (s->mapcap - 1))
		if (s->map[i]->js == js)
			return s->map[i];
	return NULL;
}

/* ---- nodes, resources, anchors ---- */

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if ((p = realloc(*v, ncap * size)) == NULL)
		return em_fail("out of memory");
	*v = p;
	*cap = ncap;
	return 0;
}

static struct js_node *
node_new(struct em_jschema *s, const json_t *js, const char *loc, const char *base,
    struct js_resource *res)
{
	struct js_node *n;

	if (grow((void **)&s->nodes, &s->capnodes, s->nnodes, sizeof(*s->nodes)) < 0)
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	s->nodes[s->nnodes++] = n;
	n->js = js;
	n->res = res;
	n->boolval = json_is_boolean(js) ? json_is_true(js) : -1;
	n->minprops = n->maxprops = n->minitems = n->maxitems = -1;
	n->mincontains = n->maxcontains = n->minlen = n->maxlen = -1;
	if ((n->loc = strdup(loc)) == NULL || (n->base = strdup(base)) == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	return n;
}

static void
regex_free(struct js_regex *r)
{
	if (r == NULL)
		return;
	free(r->src);
	pcre2_code_free(r->re);
}

static void
node_free(struct js_node *n)
{
	size_t i;

	free(n->loc);
	free(n->base);
	free(n->allof);
	free(n->anyof);
	free(n->oneof);
	for (i = 0; i < n->ndepsch; i++)
		free(n->depsch[i].key);
	free(n->depsch);
	for (i = 0; i < n->nprops; i++)
		free(n->props[i].key);
	free(n->props);
	for (i = 0; i < n->npprops; i++)
		regex_free(&n->pprops[i]);
	free(n->pprops);
	for (i = 0; i < n->ndepreq; i++)
		free(n->depreq[i].key);
	free(n->depreq);
	free(n->prefix);
	regex_free(n->pattern);
	free(n->pattern);
	free(n);
}

static size_t
str_hash(const char *k, size_t cap)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return (size_t)(h & (cap - 1));
}

static void *
strmap_get(const struct js_strmap *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = str_hash(key, m->cap); m->v[i].key != NULL; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->v[i].key, key) == 0)
			return m->v[i].val;
	return NULL;
}

/* Add key unless it is there already (the first one stays). */
static int
strmap_put(struct js_strmap *m, const char *key, void *val)
{
	size_t i, k;

	if ((m->n + 1) * 2 > m->cap) {
		struct js_strmap nm = { NULL, m->cap ? m->cap * 2 : 64, 0 };

		if ((nm.v = calloc(nm.cap, sizeof(*nm.v))) == NULL)
			return em_fail("out of memory");
		for (k = 0; k < m->cap; k++)
			if (m->v[k].key != NULL)
				strmap_put(&nm, m->v[k].key, m->v[k].val);
		free(m->v);
		*m = nm;
	}
	for (i = str_hash(key, m->cap); m->v[i].key != NULL; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->v[i].key, key) == 0)
			return 0;
	m->v[i].key = key;
	m->v[i].val = val;
	m->n++;
	return 0;
}

static struct js_resource *
resource_new(struct em_jschema *s, const char *uri, const json_t *js)
{
	struct js_resource *r;

	if (grow((void **)&s->res, &s->capres, s->nres, sizeof(*s->res)) < 0)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->uri = strdup(uri)) == NULL) {
		free(r);
		em_fail("out of memory");
		return NULL;
	}
	r->js = js;
	s->res[s->nres++] = r;
	if (strmap_put(&s->resmap, r->uri, r) < 0)
		return NULL;
	return r;
}

static struct js_resource *
resource_find(const struct em_jschema *s, const char *uri)
{
	return strmap_get(&s->resmap, uri);
}

static int
add_anchor(struct js_anchor **v, size_t *n, size_t *cap, const char *name, struct js_node *node)
{
	if (grow((void **)v, cap, *n, sizeof(**v)) < 0)
		return -1;
	if (((*v)[*n].name = strdup(name)) == NULL)
		return em_fail("out of memory");
	(*v)[*n].n = node;
	(*n)++;
	return 0;
}

/* ---- regular expressions ---- */

/*
 * ECMA-262 semantics on PCRE2: PCRE2_UTF for code points, ALT_BSUX for
 * \uXXXX, DOLLAR_ENDONLY because ECMA's $ (without the m flag) matches only
 * at the very end, ALLOW_EMPTY_CLASS for ECMA's [] (nothing) and [^] (any).
 * \d and \w are ASCII in both without PCRE2_UCP.  ECMA's
 * \s also takes the Unicode spaces, which are spelled out here.
 */
#define ECMA_SPACES "\\s\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

/*
 * ECMA-262 writes Unicode properties by their long names (\p{Letter},
 * \p{Script=Greek}); PCRE2 before 10.43 knows the short ones only.
 */
static const struct {
	const char *ecma, *pcre;
} property_names[] = {
	{ "Letter", "L" }, { "Cased_Letter", "L&" }, { "Uppercase_Letter", "Lu" },
	{ "Lowercase_Letter", "Ll" }, { "Titlecase_Letter", "Lt" }, { "Modifier_Letter", "Lm" },
	{ "Other_Letter", "Lo" }, { "Mark", "M" }, { "Nonspacing_Mark", "Mn" },
	{ "Spacing_Mark", "Mc" }, { "Enclosing_Mark", "Me" }, { "Number", "N" },
	{ "Decimal_Number", "Nd" }, { "digit", "Nd" }, { "Letter_Number", "Nl" },
	{ "Other_Number", "No" }, { "Punctuation", "P" }, { "punct", "P" },
	{ "Connector_Punctuation", "Pc" }, { "Dash_Punctuation", "Pd" },
	{ "Open_Punctuation", "Ps" }, { "Close_Punctuation", "Pe" },
	{ "Initial_Punctuation", "Pi" }, { "Final_Punctuation", "Pf" },
	{ "Other_Punctuation", "Po" }, { "Symbol", "S" }, { "Math_Symbol", "Sm" },
	{ "Currency_Symbol", "Sc" }, { "Modifier_Symbol", "Sk" }, { "Other_Symbol", "So" },
	{ "Separator", "Z" }, { "Space_Separator", "Zs" }, { "Line_Separator", "Zl" },
	{ "Paragraph_Separator", "Zp" }, { "Other", "C" }, { "Control", "Cc" },
	{ "cntrl", "Cc" }, { "Format", "Cf" }, { "Surrogate", "Cs" }, { "Private_Use", "Co" },
	{ "Unassigned", "Cn" },
};

/* The PCRE2 name for an ECMA property name, NULL to keep it as written. */
static const char *
property_name(const char *s, size_t n)
{
	static const char *prefixes[] = { "General_Category=", "gc=", "Script=", "sc=",
		"Script_Extensions=", "scx=" };
	size_t i, k;

	for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		size_t pl = strlen(prefixes[k]);

		if (n > pl && strncmp(s, prefixes[k], pl) == 0) {
			s += pl;
			n -= pl;
			break;
		}
	}
	for (i = 0; i < sizeof(property_names) / sizeof(property_names[0]); i++)
		if (strlen(property_names[i].ecma) == n && strncmp(s, property_names[i].ecma, n) == 0)
			return property_names[i].pcre;
	return NULL;
}

static int
regex_compile(struct comp *c, const char *loc, const json_t *pat, struct js_regex *out)
{
	const char *src = json_string_value(pat), *p;
	size_t srclen = json_string_length(pat);
	struct em_buf b = EM_BUF_INIT(srclen * 8 + 256);
	int inclass = 0, bad = 0, err;
	pcre2_compile_context *cctx;
	PCRE2_SIZE off;
	char msg[256];

	memset(out, 0, sizeof(*out));
	for (p = src; p < src + srclen && !bad; p++) {
		if (*p == '\\' && p + 2 < src + srclen && (p[1] == 'p' || p[1] == 'P') &&
		    p[2] == '{') {
			const char *end = memchr(p + 3, '}', (size_t)(src + srclen - (p + 3)));
			const char *name;

			if (end != NULL) {
				name = property_name(p + 3, (size_t)(end - (p + 3)));
				bad = em_buf_addch(&b, '\\') | em_buf_addch(&b, p[1]) |
				    em_buf_addch(&b, '{');
				bad |= name != NULL ? em_buf_addstr(&b, name)
				    : em_buf_add(&b, p + 3, (size_t)(end - (p + 3)));
				bad |= em_buf_addch(&b, '}');
				p = end;
				continue;
			}
		}
		if (*p == '\\' && p + 1 < src + srclen) {
			p++;
			if (*p == 's')
				bad = inclass ? em_buf_addstr(&b, ECMA_SPACES)
				    : em_buf_addstr(&b, "[" ECMA_SPACES "]");
			else if (*p == 'S' && !inclass)
				bad = em_buf_addstr(&b, "[^" ECMA_SPACES "]");
			else
				bad = em_buf_addch(&b, '\\') | em_buf_addch(&b, *p);
			continue;
		}
		if (*p == '[' && !inclass)
			inclass = 1;
		else if (*p == ']' && inclass)
			inclass = 0;
		bad = em_buf_addch(&b, *p);
	}
	if (bad) {
		em_buf_release(&b);
		return -1;
	}
	if ((cctx = pcre2_compile_context_create(NULL)) == NULL) {
		em_buf_release(&b);
		return em_fail("out of memory");
	}
	/* ECMA's . stops at \r as well as \n. */
	pcre2_set_newline(cctx, PCRE2_NEWLINE_ANYCRLF);
	out->re = pcre2_compile((PCRE2_SPTR)em_buf_cstr(&b), b.len,
	    PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS, &err,
	    &off, cctx);
	pcre2_compile_context_free(cctx);
	em_buf_release(&b);
	if (out->re == NULL) {
		pcre2_get_error_message(err, (PCRE2_UCHAR *)msg, sizeof(msg));
		return cfail(c, loc, "invalid regular expression '%s': %s", src, msg);
	}
	if ((out->src = strdup(src)) == NULL)
		return em_fail("out of memory");
	return 0;
}

int
js_regex_match(const struct js_regex *r, const char *s, size_t n, pcre2_match_data *md,
    pcre2_match_context *mctx)
{
	char msg[128];
	int rc = pcre2_match(r->re, (PCRE2_SPTR)s, n, 0, 0, md, mctx);

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof(msg));
	return em_fail("cannot match pattern '%s': %s", r->src, msg);
}

/* ---- keywords ---- */

/* A non-negative integer keyword (1.0 counts as an integer); -1 in *out when absent. */
static int
kw_count(struct comp *c, const struct js_node *n, const char *kw, long long *out)
{
	const json_t *v = json_object_get(n->js, kw);
	double d;

	*out = -1;
	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return 0;
	}
	d = json_is_real(v) ? json_real_value(v) : -1;
	if (d >= 0 && d < 9e18 && floor(d) == d) {
		*out = (long long)d;
		return 0;
	}
	return cfail(c, n->loc, "%s must be a non-negative integer", kw);
}

static int
kw_number(struct comp *c, const struct js_node *n, const char *kw, const json_t **out)
{
	const json_t *v = json_object_get(n->js, kw);

	*out = v;
	if (v != NULL && !json_is_number(v))
		return cfail(c, n->loc, "%s must be a number", kw);
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
} type_names[] = {
	{ "null", JT_NULL }, { "boolean", JT_BOOLEAN }, { "object", JT_OBJECT },
	{ "array", JT_ARRAY }, { "number", JT_NUMBER }, { "string", JT_STRING },
	{ "integer", JT_INTEGER },
};

static int
type_bit(const json_t *v, unsigned *bit)
{
	size_t i;

	if (!json_is_string(v))
		return -1;
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(json_string_value(v), type_names[i].name) == 0) {
			*bit = type_names[i].bit;
			return 0;
		}
	}
	return -1;
}

static struct js_node *walk(struct comp *c, const json_t *js, const char *loc, const char *base,
    struct js_resource *res, int depth);

/* A keyword holding one subschema. */
static int
kw_one(struct comp *c, struct js_node *n, const char *kw, struct js_node **out, int depth)
{
	const json_t *v = json_object_get(n->js, kw);
	char *loc;

	*out = NULL;
	if (v == NULL)
		return 0;
	if ((loc = child_loc(n->loc, kw)) == NULL)
		return em_fail("out of memory");
	*out = walk(c, v, loc, n->base, n->res, depth + 1);
	free(loc);
	return *out == NULL ? -1 : 0;
}

/* A keyword holding a non-empty array of subschemas. */
static int
kw_list(struct comp *c, struct js_node *n, const char *kw, struct js_node ***out, size_t *nout,
    int depth)
{
	const json_t *v = json_object_get(n->js, kw);
	size_t i;
	char *loc;

	*out = NULL;
	*nout = 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cfail(c, n->loc, "%s must be a non-empty array of schemas", kw);
	if ((*out = calloc(json_array_size(v), sizeof(**out))) == NULL)
		return em_fail("out of memory");
	for (i = 0; i < json_array_size(v); i++) {
		if ((loc = index_loc(n->loc, kw, i)) == NULL)
			return em_fail("out of memory");
		(*out)[i] = walk(c, json_array_get(v, i), loc, n->base, n->res, depth + 1);
		free(loc);
		if ((*out)[i] == NULL)
			return -1;
		(*nout)++;
	}
	return 0;
}

/* A keyword holding an object of subschemas. */
static int
kw_map(struct comp *c, struct js_node *n, const char *kw, struct js_sub **out, size_t *nout,
    int depth)
{
	const json_t *v = json_object_get(n->js, kw), *sub;
	const char *key;
	char *loc, *kloc;

	*out = NULL;
	*nout = 0;
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return cfail(c, n->loc, "%s must be an object of schemas", kw);
	if (json_object_size(v) == 0)
		return 0;
	if ((*out = calloc(json_object_size(v), sizeof(**out))) == NULL)
		return em_fail("out of memory");
	if ((loc = child_loc(n->loc, kw)) == NULL)
		return em_fail("out of memory");
	json_object_foreach((json_t *)v, key, sub) {
		struct js_sub *e = &(*out)[*nout];

		if ((kloc = child_loc(loc, key)) == NULL || (e->key = strdup(key)) == NULL) {
			free(kloc);
			free(loc);
			return em_fail("out of memory");
		}
		(*nout)++;
		e->n = walk(c, sub, kloc, n->base, n->res, depth + 1);
		free(kloc);
		if (e->n == NULL) {
			free(loc);
			return -1;
		}
	}
	free(loc);
	return 0;
}

static int
sub_cmp(const void *a, const void *b)
{
	return strcmp(((const struct js_sub *)a)->key, ((const struct js_sub *)b)->key);
}

static int
strings_array(struct comp *c, const struct js_node *n, const char *kw, const json_t *v)
{
	size_t i;

	if (!json_is_array(v))
		return cfail(c, n->loc, "%s must be an array of strings", kw);
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return cfail(c, n->loc, "%s must be an array of strings", kw);
	return 0;
}

static int
compile_keywords(struct comp *c, struct js_node *n, int depth)
{
	const json_t *js = n->js, *v, *e;
	struct js_sub *subs = NULL;
	const char *key;
	size_t i, nsubs = 0;
	unsigned bit;

	if ((v = json_object_get(js, "type")) != NULL) {
		if (json_is_string(v)) {
			if (type_bit(v, &bit) < 0)
				return cfail(c, n->loc, "unknown type '%s'", json_string_value(v));
			n->types = bit;
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, e) {
				if (type_bit(e, &bit) < 0)
					return cfail(c, n->loc, "type must list type names");
				n->types |= bit;
			}
			if (n->types == 0)
				return cfail(c, n->loc, "type must not be an empty array");
		} else {
			return cfail(c, n->loc, "type must be a string or an array of strings");
		}
	}
	if ((v = json_object_get(js, "enum")) != NULL && !json_is_array(v))
		return cfail(c, n->loc, "enum must be an array");
	n->enumv = v;
	n->constv = json_object_get(js, "const");

	if ((v = json_object_get(js, "$ref")) != NULL && !json_is_string(v))
		return cfail(c, n->loc, "$ref must be a string");
	n->ref = json_string_value(v);
	if ((v = json_object_get(js, "$dynamicRef")) != NULL && !json_is_string(v))
		return cfail(c, n->loc, "$dynamicRef must be a string");
	n->dynref = json_string_value(v);

	if (kw_list(c, n, "allOf", &n->allof, &n->nallof, depth) < 0 ||
	    kw_list(c, n, "anyOf", &n->anyof, &n->nanyof, depth) < 0 ||
	    kw_list(c, n, "oneOf", &n->oneof, &n->noneof, depth) < 0 ||
	    kw_one(c, n, "not", &n->notn, depth) < 0 ||
	    kw_one(c, n, "if", &n->ifn, depth) < 0 ||
	    kw_one(c, n, "then", &n->thenn, depth) < 0 ||
	    kw_one(c, n, "else", &n->elsen, depth) < 0 ||
	    kw_map(c, n, "dependentSchemas", &n->depsch, &n->ndepsch, depth) < 0 ||
	    kw_map(c, n, "$defs", &subs, &nsubs, depth) < 0)
		goto fail;
	/* $defs are compiled (refs find them in the map) but not applied. */
	for (i = 0; i < nsubs; i++)
		free(subs[i].key);
	free(subs);
	subs = NULL;

	/* objects */
	if (kw_map(c, n, "properties", &n->props, &n->nprops, depth) < 0)
		return -1;
	if (n->nprops > 1)
		qsort(n->props, n->nprops, sizeof(*n->props), sub_cmp);
	if ((v = json_object_get(js, "patternProperties")) != NULL) {
		if (!json_is_object(v))
			return cfail(c, n->loc, "patternProperties must be an object of schemas");
		if (json_object_size(v) > 0 &&
		    (n->pprops = calloc(json_object_size(v), sizeof(*n->pprops))) == NULL)
			return em_fail("out of memory");
		json_object_foreach((json_t *)v, key, e) {
			struct js_regex *r = &n->pprops[n->npprops];
			char *ploc = child_loc(n->loc, "patternProperties"), *kloc;
			json_t *ks = json_string(key);

			kloc = ploc != NULL ? child_loc(ploc, key) : NULL;
			free(ploc);
			if (kloc == NULL || ks == NULL) {
				free(kloc);
				json_decref(ks);
				return em_fail("out of memory");
			}
			n->npprops++;
			if (regex_compile(c, kloc, ks, r) < 0 ||
			    (r->n = walk(c, e, kloc, n->base, n->res, depth + 1)) == NULL) {
				free(kloc);
				json_decref(ks);
				return -1;
			}
			free(kloc);
			json_decref(ks);
		}
	}
	if (kw_one(c, n, "additionalProperties", &n->addprops, depth) < 0 ||
	    kw_one(c, n, "propertyNames", &n->propnames, depth) < 0 ||
	    kw_one(c, n, "unevaluatedProperties", &n->unevprops, depth) < 0 ||
	    kw_count(c, n, "minProperties", &n->minprops) < 0 ||
	    kw_count(c, n, "maxProperties", &n->maxprops) < 0)
		return -1;
	if ((v = json_object_get(js, "required")) != NULL && strings_array(c, n, "required", v) < 0)
		return -1;
	n->required = v;
	if ((v = json_object_get(js, "dependentRequired")) != NULL) {
		if (!json_is_object(v))
			return cfail(c, n->loc, "dependentRequired must be an object");
		if (json_object_size(v) > 0 &&
		    (n->depreq = calloc(json_object_size(v), sizeof(*n->depreq))) == NULL)
			return em_fail("out of memory");
		json_object_foreach((json_t *)v, key, e) {
			if (strings_array(c, n, "dependentRequired", e) < 0)
				return -1;
			if ((n->depreq[n->ndepreq].key = strdup(key)) == NULL)
				return em_fail("out of memory");
			n->depreq[n->ndepreq++].names = e;
		}
	}

	/* arrays */
	if (json_is_array(json_object_get(js, "items")))
		return cfail(c, n->loc, "items must be a schema; a list of schemas is prefixItems "
		    "in draft 2020-12");
	if (kw_list(c, n, "prefixItems", &n->prefix, &n->nprefix, depth) < 0 ||
	    kw_one(c, n, "items", &n->items, depth) < 0 ||
	    kw_one(c, n, "contains", &n->contains, depth) < 0 ||
	    kw_one(c, n, "unevaluatedItems", &n->unevitems, depth) < 0 ||
	    kw_count(c, n, "minItems", &n->minitems) < 0 ||
	    kw_count(c, n, "maxItems", &n->maxitems) < 0 ||
	    kw_count(c, n, "minContains", &n->mincontains) < 0 ||
	    kw_count(c, n, "maxContains", &n->maxcontains) < 0)
		return -1;
	if ((v = json_object_get(js, "uniqueItems")) != NULL) {
		if (!json_is_boolean(v))
			return cfail(c, n->loc, "uniqueItems must be a boolean");
		n->unique = json_is_true(v);
	}

	/* numbers */
	if (kw_number(c, n, "minimum", &n->minimum) < 0 ||
	    kw_number(c, n, "maximum", &n->maximum) < 0 ||
	    kw_number(c, n, "exclusiveMinimum", &n->xminimum) < 0 ||
	    kw_number(c, n, "exclusiveMaximum", &n->xmaximum) < 0 ||
	    kw_number(c, n, "multipleOf", &n->multipleof) < 0)
		return -1;
	if (n->multipleof != NULL && !(json_number_value(n->multipleof) > 0))
		return cfail(c, n->loc, "multipleOf must be greater than 0");

	/* strings */
	if (kw_count(c, n, "minLength", &n->minlen) < 0 ||
	    kw_count(c, n, "maxLength", &n->maxlen) < 0)
		return -1;
	if ((v = json_object_get(js, "pattern")) != NULL) {
		char *ploc;

		if (!json_is_string(v))
			return cfail(c, n->loc, "pattern must be a string");
		if ((n->pattern = calloc(1, sizeof(*n->pattern))) == NULL ||
		    (ploc = child_loc(n->loc, "pattern")) == NULL)
			return em_fail("out of memory");
		i = (size_t)regex_compile(c, ploc, v, n->pattern);
		free(ploc);
		if (i != 0)
			return -1;
	}
	n->has_uneval = n->unevprops != NULL || n->unevitems != NULL;
	return 0;
fail:
	for (i = 0; i < nsubs; i++)
		free(subs[i].key);
	free(subs);
	return -1;
}

/*
 * First pass over the schema text: a node for every subschema, a resource
 * for every $id, every anchor registered.  Refs are resolved afterwards,
 * when every target exists.
 */
static struct js_node *
walk(struct comp *c, const json_t *js, const char *loc, const char *base,
    struct js_resource *res, int depth)
{
	struct em_jschema *s = c->s;
	struct js_node *n;
	const json_t *v;
	char *uri = NULL, *full = NULL, *hash;

	if (depth > JS_MAX_SCHEMA_DEPTH) {
		cfail(c, loc, "subschemas nested deeper than %d levels", JS_MAX_SCHEMA_DEPTH);
		return NULL;
	}
	if (json_is_boolean(js))
		return node_new(s, js, loc, base, res);
	if (!json_is_object(js)) {
		cfail(c, loc, "a schema must be an object or a boolean");
		return NULL;
	}
	if ((v = json_object_get(js, "$id")) != NULL) {
		if (!json_is_string(v)) {
			cfail(c, loc, "$id must be a string");
			return NULL;
		}
		if ((uri = em_uri_resolve(base, json_string_value(v))) == NULL) {
			em_fail("out of memory");
			return NULL;
		}
		if ((hash = strchr(uri, '#')) != NULL) {
			if (hash[1] != '\0') {
				cfail(c, loc, "$id '%s' must not have a fragment", json_string_value(v));
				goto fail;
			}
			*hash = '\0';
		}
		base = uri;
		if (resource_find(s, uri) == NULL) {
			if ((res = resource_new(s, uri, js)) == NULL)
				goto fail;
		} else {
			cfail(c, loc, "$id '%s' is used twice", json_string_value(v));
			goto fail;
		}
	}
	if ((n = node_new(s, js, loc, base, res)) == NULL || map_put(s, n) < 0)
		goto fail;
	if (res != NULL && res->js == js)
		res->root = n;
	if ((v = json_object_get(js, "$anchor")) != NULL ||
	    (v = json_object_get(js, "$dynamicAnchor")) != NULL) {
		const json_t *a = json_object_get(js, "$anchor");
		const json_t *d = json_object_get(js, "$dynamicAnchor");
		size_t k;

		for (k = 0; k < 2; k++) {
			v = k == 0 ? a : d;
			if (v == NULL)
				continue;
			if (!json_is_string(v)) {
				cfail(c, loc, "%s must be a string", k ? "$dynamicAnchor" : "$anchor");
				goto fail;
			}
			free(full);
			if ((full = malloc(strlen(base) + json_string_length(v) + 2)) == NULL) {
				em_fail("out of memory");
				goto fail;
			}
			snprintf(full, strlen(base) + json_string_length(v) + 2, "%s#%s", base,
			    json_string_value(v));
			if (add_anchor(&s->anchors, &s->nanchors, &s->capanchors, full, n) < 0 ||
			    strmap_put(&s->anchormap, s->anchors[s->nanchors - 1].name, n) < 0)
				goto fail;
			if (k == 1 && add_anchor(&res->dyn, &res->ndyn, &res->capdyn,
			    json_string_value(v), n) < 0)
				goto fail;
		}
	}
	if (compile_keywords(c, n, depth) < 0)
		goto fail;
	free(full);
	free(uri);
	return n;
fail:
	free(full);
	free(uri);
	return NULL;
}

/* ---- refs ---- */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode in place (a URI fragment). */
static void
pct_decode(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*w++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Follow a JSON pointer (RFC 6901) from js; NULL when it leads nowhere. */
static const json_t *
pointer_get(const json_t *js, const char *ptr)
{
	char *tok = malloc(strlen(ptr) + 1), *end;
	unsigned long long idx;
	size_t k;

	if (tok == NULL)
		return NULL;
	while (js != NULL && *ptr == '/') {
		ptr++;
		for (k = 0; *ptr != '\0' && *ptr != '/'; k++) {
			if (*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
				tok[k] = ptr[1] == '0' ? '~' : '/';
				ptr += 2;
			} else {
				tok[k] = *ptr++;
			}
		}
		tok[k] = '\0';
		if (json_is_object(js)) {
			js = json_object_get(js, tok);
		} else if (json_is_array(js) && k > 0 && strspn(tok, "0123456789") == k &&
		    (tok[0] != '0' || k == 1)) {
			idx = strtoull(tok, &end, 10);
			js = idx < json_array_size(js) ? json_array_get(js, (size_t)idx) : NULL;
		} else {
			js = NULL;
		}
	}
	if (*ptr != '\0')
		js = NULL;
	free(tok);
	return js;
}

/*
 * Resolve one $ref or $dynamicRef of n.  For a $dynamicRef whose target
 * carries a $dynamicAnchor of the same name, *dynname is set: the
 * evaluator then looks for that anchor in the dynamic scope.
 */
static int
resolve(struct comp *c, struct js_node *n, const char *kw, const char *ref, struct js_node **out,
    const char **dynname)
{
	struct em_jschema *s = c->s;
	struct js_resource *res;
	const json_t *t, *da;
	char *full = em_uri_resolve(n->base, ref), *frag, *loc = NULL;
	int rc = -1;

	*out = NULL;
	if (full == NULL)
		return em_fail("out of memory");
	if ((frag = strchr(full, '#')) != NULL)
		*frag++ = '\0';
	if ((res = resource_find(s, full)) == NULL || res->root == NULL) {
		cfail(c, n->loc, "unresolvable %s '%s': no schema with that URI in this document "
		    "(refs to other documents are not followed)", kw, ref);
		goto out;
	}
	if (frag == NULL || *frag == '\0') {
		*out = res->root;
	} else if (frag[0] == '/') {
		pct_decode(frag);
		if ((t = pointer_get(res->js, frag)) == NULL) {
			cfail(c, n->loc, "unresolvable %s '%s': the document has nothing at '%s'",
			    kw, ref, frag);
			goto out;
		}
		if ((*out = map_get(s, t)) == NULL) {
			/* A location no keyword marks as a schema: compile it now. */
			size_t len = strlen(frag) + 2;

			if ((loc = malloc(len)) == NULL) {
				em_fail("out of memory");
				goto out;
			}
			snprintf(loc, len, "#%s", frag);
			if ((*out = walk(c, t, loc, res->uri, res, 0)) == NULL)
				goto out;
		}
	} else {
		pct_decode(frag);
		frag[-1] = '#';
		if ((*out = strmap_get(&s->anchormap, full)) == NULL) {
			frag[-1] = '\0';
			cfail(c, n->loc, "unresolvable %s '%s': no $anchor '%s' in this document",
			    kw, ref, frag);
			goto out;
		}
		da = json_object_get((*out)->js, "$dynamicAnchor");
		if (dynname != NULL && da != NULL && strcmp(json_string_value(da), frag) == 0)
			*dynname = json_string_value(da);
	}
	rc = 0;
out:
	free(loc);
	free(full);
	return rc;
}

/*
 * In-place applicators ($ref, allOf, anyOf, oneOf, not, if/then/else,
 * dependentSchemas) apply a schema to the same value.  A loop of them
 * would recurse without end; the spec leaves such a schema undefined, and
 * it is reported here, once, rather than on every document.
 */
static int
loop_check(struct comp *c, struct js_node *n, int depth)
{
	struct js_node *one[5] = { n->reft, n->notn, n->ifn, n->thenn, n->elsen };
	size_t i;

	if (n->visit == 2 || n->boolval >= 0)
		return 0;
	if (n->visit == 1)
		return cfail(c, n->loc, "$ref loop: the schema applies itself to the same value "
		    "without end");
	if (depth > JS_MAX_EVAL_DEPTH)
		return cfail(c, n->loc, "chain of $ref and in-place applicators longer than %d",
		    JS_MAX_EVAL_DEPTH);
	n->visit = 1;
	for (i = 0; i < 5; i++)
		if (one[i] != NULL && loop_check(c, one[i], depth + 1) < 0)
			return -1;
	for (i = 0; i < n->nallof; i++)
		if (loop_check(c, n->allof[i], depth + 1) < 0)
			return -1;
	for (i = 0; i < n->nanyof; i++)
		if (loop_check(c, n->anyof[i], depth + 1) < 0)
			return -1;
	for (i = 0; i < n->noneof; i++)
		if (loop_check(c, n->oneof[i], depth + 1) < 0)
			return -1;
	for (i = 0; i < n->ndepsch; i++)
		if (loop_check(c, n->depsch[i].n, depth + 1) < 0)
			return -1;
	n->visit = 2;
	return 0;
}

struct em_jschema *
em_jschema_compile(const json_t *schema, const char *name)
{
	struct em_jschema *s = calloc(1, sizeof(*s));
	struct comp c = { s };
	struct js_resource *res0 = NULL;
	struct js_node *n;
	size_t i;

	if (s == NULL || (s->name = strdup(name)) == NULL ||
	    (s->doc = json_deep_copy(schema)) == NULL ||
	    (s->mctx = pcre2_match_context_create(NULL)) == NULL) {
		em_fail("out of memory");
		goto fail;
	}
	pcre2_set_match_limit(s->mctx, EM_JSCHEMA_REGEX_MATCH_LIMIT);
	if (!json_is_object(s->doc) || json_object_get(s->doc, "$id") == NULL) {
		if ((res0 = resource_new(s, DEFAULT_BASE, s->doc)) == NULL)
			goto fail;
	}
	if ((s->root = walk(&c, s->doc, "#", DEFAULT_BASE, res0, 0)) == NULL)
		goto fail;
	if (res0 != NULL)
		res0->root = s->root;
	/* Nodes compiled on demand for pointer refs are appended and resolved in turn. */
	for (i = 0; i < s->nnodes; i++) {
		n = s->nodes[i];
		if (n->ref != NULL && resolve(&c, n, "$ref", n->ref, &n->reft, NULL) < 0)
			goto fail;
		if (n->dynref != NULL &&
		    resolve(&c, n, "$dynamicRef", n->dynref, &n->dynreft, &n->dynname) < 0)
			goto fail;
	}
	for (i = 0; i < s->nnodes; i++)
		if (loop_check(&c, s->nodes[i], 0) < 0)
			goto fail;
	em_debug("schema '%s': %zu subschemas, %zu resources", name, s->nnodes, s->nres);
	return s;
fail:
	em_jschema_free(s);
	return NULL;
}

void
em_jschema_free(struct em_jschema *s)
{
	size_t i, k;

	if (s == NULL)
		return;
	for (i = 0; i < s->nnodes; i++)
		node_free(s->nodes[i]);
	free(s->nodes);
	for (i = 0; i < s->nres; i++) {
		for (k = 0; k < s->res[i]->ndyn; k++)
			free(s->res[i]->dyn[k].name);
		free(s->res[i]->dyn);
		free(s->res[i]->uri);
		free(s->res[i]);
	}
	free(s->res);
	for (i = 0; i < s->nanchors; i++)
		free(s->anchors[i].name);
	free(s->anchors);
	free(s->resmap.v);
	free(s->anchormap.v);
	free(s->map);
	pcre2_match_context_free(s->mctx);
	json_decref(s->doc);
	free(s->name);
	free(s);
}

int
em_jschema_validate(const struct em_jschema *s, const json_t *doc, struct em_jschema_errors *errs)
{
	return js_eval_validate(s, doc, errs);
}

void
em_jschema_errors_reset(struct em_jschema_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->v[i].pointer);
		free(e->v[i].keyword);
		free(e->v[i].schema_path);
		free(e->v[i].message);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
	e->dropped = 0;
}
