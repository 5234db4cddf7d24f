/* jschema.h - JSON Schema 2020-12 validation: compile a schema once, validate many documents */
#ifndef EM_JSCHEMA_H
#define EM_JSCHEMA_H

#include "core/limits.h"

#include <stddef.h>

#include <jansson.h>

/*
 * A compiled schema: regular expressions are compiled and every $ref is
 * resolved once, so validating a document does no parsing of the schema.
 * Refs are resolved within the schema document only (JSON pointers, $id
 * base URIs, embedded resources, $anchor, $dynamicAnchor); a ref to
 * anything outside it is a compile error.  format is an annotation only.
 * A compiled schema is read-only: several threads may validate with it.
 */
struct em_jschema;

/* One failed keyword at one place in the document. */
struct em_jschema_error {
	char *pointer;		/* JSON pointer (RFC 6901) of the value, "" for the root */
	char *keyword;		/* "type", "required", "minimum", "false" for a false schema */
	char *schema_path;	/* where the keyword is in the schema, "#/properties/id/type" */
	char *message;		/* what was expected and what was found */
};

/*
 * Errors of validations (appended; reset to reuse).  At most max are kept, in
 * a list that grows as errors come (memory stays bounded on a
 * document with a million bad values); the rest are counted in dropped.
 */
struct em_jschema_errors {
	struct em_jschema_error *v;
	size_t n;
	size_t max;
	size_t dropped;
};

#define EM_JSCHEMA_ERRORS_INIT(maxn) { NULL, 0, (maxn), 0 }

/* Free the kept errors; the list can be used again with the same max. */
void em_jschema_errors_reset(struct em_jschema_errors *e);

/*
 * Compile schema (borrowed; a private copy is kept).  name is used in
 * messages.  NULL with the error text set on an invalid schema, an
 * unresolvable $ref (the text names the ref), a bad regular expression or
 * a loop of $ref/allOf/... that would apply to the same value forever.
 */
struct em_jschema *em_jschema_compile(const json_t *schema, const char *name);
void em_jschema_free(struct em_jschema *s);

/*
 * 1 valid, 0 invalid (errors appended to errs when it is not NULL), -1 when
 * validation could not finish (the document is nested deeper than the
 * evaluation depth limit, a regular expression hit its backtracking limit,
 * out of memory): the error text says why.
 */
int em_jschema_validate(const struct em_jschema *s, const json_t *doc,
    struct em_jschema_errors *errs);

/* Equality per JSON Schema: 1 == 1.0, object key order does not matter. */
int em_jschema_equal(const json_t *a, const json_t *b);

/*
 * Resolve a URI reference against a base URI (RFC 3986 section 5.2).
 * Returns a new string (caller frees), NULL when out of memory.
 */
char *em_uri_resolve(const char *base, const char *ref);

#endif
