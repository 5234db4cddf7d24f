/* safepath.c - names and relative paths from outside checked before they become local paths */
#include <string.h>

#include "core/safepath.h"
#include "core/banned.h"

/* Check the n bytes at name as one component. */
static int
component_ok(const char *name, size_t n)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i;

	if (n == 0 || n > EM_NAME_MAX)
		return 0;
	if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '/' || p[i] == '\\')
			return 0;
	return 1;
}

int
em_name_ok(const char *name)
{
	size_t n = strnlen(name, EM_NAME_MAX + 1);

	return n <= EM_NAME_MAX && component_ok(name, n);
}

int
em_relpath_ok(const char *path)
{
	size_t n = strnlen(path, EM_RELPATH_MAX + 1);
	const char *p = path, *end = path + n, *slash;

	if (n == 0 || n > EM_RELPATH_MAX)
		return 0;
	for (;;) {
		slash = memchr(p, '/', (size_t)(end - p));
		if (!component_ok(p, (size_t)((slash ? slash : end) - p)))
			return 0;
		if (slash == NULL)
			return 1;
		p = slash + 1;
	}
}
