/* paths.h - where the suite's data files (schemas, default config) are found */
#ifndef EM_PATHS_H
#define EM_PATHS_H

#include <stddef.h>

/*
 * Find a data file by its path relative to the source tree
 * ("schemas/metadata_schema.json") in order:
 *   $EM_DATADIR/<rel>;
 *   the build tree the running tool lives in (<exe dir>/../<rel>), so the
 *   tools work uninstalled;
 *   the installed data directory (DATADIR of the Makefile).
 * Returns 0 with the path in out, or -1 (error text lists where it looked).
 */
int em_data_path(const char *rel, char *out, size_t n);

#endif
