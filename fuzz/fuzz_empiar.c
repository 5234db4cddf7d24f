/* fuzz_empiar.c - fuzz target: the EMPIAR API's entry JSON, read as fetch-empiar reads it */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/empiar.h"
#include "core/safepath.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: the API's answer for EMPIAR-11759 (the accession the seeds use).
 * What fetch-empiar relies on is checked: a set's directory is NULL, "" or
 * a safe relative path ending in '/'; the citation always has a text.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_empiar_entry e;
	json_t *c;
	size_t i;

	fuzz_quiet();
	if (em_empiar_parse((const char *)data, size, "EMPIAR-11759", "fuzz", &e) < 0)
		return 0;
	if (e.nsets > EM_EMPIAR_MAX_SETS || e.nsets > e.sets_given)
		abort();
	for (i = 0; i < e.nsets; i++) {
		char *d = e.sets[i].dir;
		size_t l;

		if (d == NULL || *d == '\0')
			continue;
		l = strlen(d);
		if (d[l - 1] != '/')
			abort();
		d[l - 1] = '\0';
		if (!em_relpath_ok(d))
			abort();
		d[l - 1] = '/';
	}
	for (i = 0; i < 2; i++) {
		c = em_empiar_citation(&e, "EMPIAR-11759", i ? "10.6019/EMPIAR-11759" : NULL);
		if (c == NULL || json_string_value(json_object_get(c, "text")) == NULL)
			abort();
		json_decref(c);
	}
	em_empiar_release(&e);
	return 0;
}
