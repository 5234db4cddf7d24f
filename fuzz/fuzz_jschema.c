/* fuzz_jschema.c - fuzz target: a JSON Schema compiled, then a document validated against it */
#include <stdint.h>

#include <jansson.h>

#include "meta/jschema.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: a schema (one JSON text) followed by the document (the rest).  A
 * schema of its own is also validated against itself, as a document.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(16);
	struct em_jschema *s;
	json_error_t jerr;
	json_t *schema, *doc = NULL;

	fuzz_quiet();
	schema = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY,
	    &jerr);
	if (schema == NULL)
		return 0;
	if ((size_t)jerr.position < size)
		doc = json_loadb((const char *)data + jerr.position, size - (size_t)jerr.position,
		    JSON_DECODE_ANY, &jerr);
	if ((s = em_jschema_compile(schema, "fuzz.json")) != NULL) {
		(void)em_jschema_validate(s, doc != NULL ? doc : schema, &errs);
		em_jschema_errors_reset(&errs);
		em_jschema_free(s);
	}
	json_decref(doc);
	json_decref(schema);
	return 0;
}
