/* jschema_internal.h - the compiled form of a JSON Schema, shared by the compiler and the evaluator */
#ifndef EM_JSCHEMA_INTERNAL_H
#define EM_JSCHEMA_INTERNAL_H

#include "core/limits.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <jansson.h>

/* Bits of the type keyword. */
enum {
	JT_NULL = 1 << 0,
	JT_BOOLEAN = 1 << 1,
	JT_OBJECT = 1 << 2,
	JT_ARRAY = 1 << 3,
	JT_NUMBER = 1 << 4,
	JT_STRING = 1 << 5,
	JT_INTEGER = 1 << 6,
};

struct js_node;
struct js_resource;

struct js_sub {			/* a subschema under a name: properties, dependentSchemas */
	char *key;
	struct js_node *n;
};

struct js_regex {
	char *src;		/* the pattern as written, for messages */
	pcre2_code *re;
	struct js_node *n;	/* patternProperties only */
};

struct js_dep {			/* dependentRequired */
	char *key;
	const json_t *names;	/* array of strings (borrowed from the schema copy) */
};

struct js_anchor {
	char *name;		/* the full URI "base#name" for $anchor, the bare name for $dynamicAnchor */
	struct js_node *n;
};

struct js_resource {		/* a schema resource: the root, or a subschema with $id */
	char *uri;		/* absolute, without fragment */
	const json_t *js;
	struct js_node *root;
	struct js_anchor *dyn;	/* $dynamicAnchor names declared in this resource */
	size_t ndyn, capdyn;
};

struct js_node {
	int boolval;		/* 1 true, 0 false, -1 an object schema */
	const json_t *js;	/* borrowed from the schema copy */
	char *loc;		/* "#/properties/a", for error messages */
	char *base;		/* base URI against which $ref is resolved */
	struct js_resource *res;
	int has_uneval;		/* unevaluatedProperties or unevaluatedItems is here */
	int visit;		/* compile-time loop check: 0 new, 1 on the path, 2 done */

	unsigned types;		/* 0 when there is no type keyword */
	const json_t *enumv, *constv;

	const char *ref;	/* $ref text, borrowed */
	struct js_node *reft;
	const char *dynref;	/* $dynamicRef text, borrowed */
	struct js_node *dynreft;
	const char *dynname;	/* set when $dynamicRef is dynamic (bookends a $dynamicAnchor) */
	int ref_done;

	struct js_node **allof, **anyof, **oneof;
	size_t nallof, nanyof, noneof;
	struct js_node *notn, *ifn, *thenn, *elsen;
	struct js_sub *depsch;
	size_t ndepsch;

	/* objects */
	struct js_sub *props;	/* sorted by key */
	size_t nprops;
	struct js_regex *pprops;
	size_t npprops;
	struct js_node *addprops, *propnames, *unevprops;
	long long minprops, maxprops;	/* -1 when absent */
	const json_t *required;
	struct js_dep *depreq;
	size_t ndepreq;

	/* arrays */
	struct js_node **prefix;
	size_t nprefix;
	struct js_node *items, *contains, *unevitems;
	long long minitems, maxitems, mincontains, maxcontains;
	int unique;

	/* numbers */
	const json_t *minimum, *maximum, *xminimum, *xmaximum, *multipleof;

	/* strings */
	long long minlen, maxlen;
	struct js_regex *pattern;
};

/* Strings to pointers, open addressing; keys are borrowed from the values. */
struct js_strmap {
	struct js_strent {
		const char *key;
		void *val;
	} *v;
	size_t cap, n;
};

struct em_jschema {
	char *name;
	json_t *doc;			/* private copy of the schema */
	struct js_node *root;
	struct js_node **nodes;		/* every node, for freeing */
	size_t nnodes, capnodes;
	struct js_resource **res;
	size_t nres, capres;
	struct js_anchor *anchors;
	size_t nanchors, capanchors;
	struct js_strmap resmap;	/* uri -> resource */
	struct js_strmap anchormap;	/* "uri#name" -> node */
	/* json_t * -> node, open addressing (pointers of object schemas only) */
	struct js_node **map;
	size_t mapcap, mapn;
	pcre2_match_context *mctx;
};

int js_eval_validate(const struct em_jschema *s, const json_t *doc,
    struct em_jschema_errors *errs);
int js_regex_match(const struct js_regex *r, const char *s, size_t n, pcre2_match_data *md,
    pcre2_match_context *mctx);

#endif
