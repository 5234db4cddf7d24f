/* recfind.h - the record files under a data root, found as em-consolidate and em-catalog search */
#ifndef EM_RECFIND_H
#define EM_RECFIND_H

/*
 * What a search meets.  FILE: a regular *.json file to read (text NULL).
 * SKIP: something passed over, text the whole line to log ("skipped 'x':
 * not a regular file").  ZARR: a Zarr store, not searched (text likewise).
 * UNREADABLE: a directory or file that could not be read, text the reason.
 */
enum em_recfind_event {
	EM_RECFIND_FILE,
	EM_RECFIND_SKIP,
	EM_RECFIND_ZARR,
	EM_RECFIND_UNREADABLE,
};

/* Called for each; a non-zero return stops the search and is returned. */
typedef int (*em_recfind_fn)(enum em_recfind_event ev, const char *path, const char *text,
    void *ctx);

/*
 * Search dir: *.json files, in name order (so logs read the same on every
 * file system), not inside *.zarr directories, links to directories not
 * followed, at most EM_CATALOG_MAX_DEPTH levels and EM_CATALOG_MAX_DIR_ENTRIES
 * entries a directory.  -1 when out of memory.
 */
int em_recfind(const char *dir, em_recfind_fn fn, void *ctx);

#endif
