/* fuzz_listing.c - fuzz target: an HTML index page and an FTP LIST reply parsed into entries */
#include <stdint.h>
#include <stdlib.h>

#include "net/listing.h"
#include "fuzz.h"
#include "core/banned.h"

/* Every entry the parsers hand out must be a safe name: check what they promise. */
static void
check(struct em_listing *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		if (!em_listing_name_ok(l->v[i].name))
			abort();
	em_listing_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();
	check(em_listing_parse_html((const char *)data, size));
	check(em_listing_parse_ftp((const char *)data, size));
	return 0;
}
