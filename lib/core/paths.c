/* paths.c - where the suite's data files (schemas, default config) are found */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/paths.h"
#include "core/banned.h"

#ifndef EM_DATADIR
#define EM_DATADIR "/usr/local/share/electron-microscopy-ingest"
#endif

static int
try(const char *dir, const char *rel, char *out, size_t n)
{
	int k = snprintf(out, n, "%s/%s", dir, rel);

	return k > 0 && (size_t)k < n && access(out, R_OK) == 0;
}

int
em_data_path(const char *rel, char *out, size_t n)
{
	char exe[PATH_MAX], *slash;
	const char *env = getenv("EM_DATADIR");
	ssize_t k;

	if (env != NULL && *env != '\0' && try(env, rel, out, n))
		return 0;
	k = readlink("/proc/self/exe", exe, sizeof(exe) - 4);
	if (k > 0) {
		exe[k] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			/* <top>/<tool>/<tool>: the data is in <top>. */
			memcpy(slash + 1, "..", 3);
			if (try(exe, rel, out, n))
				return 0;
		}
	}
	if (try(EM_DATADIR, rel, out, n))
		return 0;
	return em_fail("cannot find '%s' (looked in $EM_DATADIR, the build tree and %s)", rel,
	    EM_DATADIR);
}
