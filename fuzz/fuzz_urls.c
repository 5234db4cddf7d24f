/* fuzz_urls.c - fuzz target: URLs and names from archives turned into local paths, ids and orders */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool/filefetch.h"
#include "core/ident.h"
#include "core/safepath.h"
#include "fuzz.h"
#include "core/banned.h"

/* Sign of a comparison, for the order's symmetry. */
static int
sign(int c)
{
	return (c > 0) - (c < 0);
}

/*
 * Input: a URL or file name; after a NUL byte, a second name for the order.
 * What the fetchers rely on is checked: an id made from a URL is one safe
 * path component, and the natural order is an order (antisymmetric).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *t, out[4096];
	int r;

	fuzz_quiet();
	if ((s = malloc(size + 2)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	s[size + 1] = '\0';
	t = s + strlen(s) + 1;
	(void)em_file_url_path(s, out, sizeof(out));
	(void)em_file_url_path(s, out, 16);
	/* An id made from a name is one the id rule accepts, and a safe name. */
	if (em_file_url_id(s, out, sizeof(out)) == 0 && (!em_name_ok(out) || !em_id_ok(out)))
		abort();
	if (em_id_from_name(s, out, sizeof(out)) == 0 && !em_id_ok(out))
		abort();
	(void)em_id_ok(s);
	(void)em_relpath_ok(s);
	if (t <= s + size) {
		r = em_natural_cmp(s, t);
		if (sign(r) != -sign(em_natural_cmp(t, s)) || (r == 0 && strcmp(s, t) != 0 &&
		    em_natural_cmp(s, s) != 0))
			abort();
	}
	free(s);
	return 0;
}
