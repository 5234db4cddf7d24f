/* ident.c - the one volume id rule, and the id a file name gives, kept together so they agree */
#include <string.h>
#include <strings.h>

#include "core/diag.h"
#include "core/ident.h"
#include "core/banned.h"

static int
is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A character an id may hold after its first. */
static int
is_idchar(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

int
em_id_ok(const char *id)
{
	size_t i;

	if (id == NULL || !is_alnum((unsigned char)id[0]) || strlen(id) > EM_ID_MAX)
		return 0;
	for (i = 1; id[i] != '\0'; i++)
		if (!is_idchar((unsigned char)id[i]))
			return 0;
	return 1;
}

int
em_id_from_name(const char *name, char *out, size_t n)
{
	/* Longest first: ".ome.tif" before ".tif". */
	static const char *const exts[] = {
		".ome.tiff", ".ome.tif", ".ome.btf", ".tiff", ".tif", ".btf", ".dm3", ".dm4",
		".mrcs", ".mrc", ".map", ".ccp4", ".rec", ".st", ".ali", ".gz", NULL,
	};
	size_t len = strlen(name), start = 0, i, k;

	for (k = 0; exts[k] != NULL; k++) {
		size_t el = strlen(exts[k]);

		if (len > el && strcasecmp(name + len - el, exts[k]) == 0) {
			len -= el;
			break;
		}
	}
	/* Not hidden, not "." or "..", not an option, not "_x" (the rule's first character). */
	while (start < len && !is_alnum((unsigned char)name[start]))
		start++;
	if (start == len)
		return em_fail("no letter or digit to make an id of in '%s'", name);
	if (len - start > EM_ID_MAX || len - start >= n)
		return em_fail("an id made of '%s' would be longer than %d bytes", name, EM_ID_MAX);
	for (i = start; i < len; i++)
		out[i - start] = is_idchar((unsigned char)name[i]) ? name[i] : '_';
	out[len - start] = '\0';
	return 0;
}
