/* filefetch.h - the file-based fetchers' shared path: files from URLs into a cache, then into the store */
#ifndef EM_FILEFETCH_H
#define EM_FILEFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "tool/fetch.h"

/*
 * The files one volume is made of, in z order (one 3-D file, or a series
 * of 2-D files).  A file:// URL or a plain path is read where it is (no
 * copy); any other URL is downloaded into the cache directory
 * <global.cache_dir>/<source>/<id>/ with resume (<name>.part) and a size
 * check, and the downloads are removed once the store is whole unless
 * global.keep_downloads is true.  Each download runs under the lock
 * <name>.lock (store/lock.h), so processes that share the cache (the parts
 * of a split run) fetch every file once: one downloads, the others wait and
 * then read the whole file.  With --part the part that finishes last
 * removes the downloads (see em_filelist_ingest).
 */
struct em_filelist {
	struct em_filelist_item {
		char *url;		/* owned */
		int64_t size;		/* exact size in bytes, -1 unknown */
		char *path;		/* local path, set by em_filelist_fetch (owned) */
		int downloaded;		/* path is a cache copy */
		char *validator;	/* its ETag or Last-Modified, NULL unknown (owned) */
	} *v;
	size_t n, cap;
};

void em_filelist_init(struct em_filelist *l);
void em_filelist_release(struct em_filelist *l);
/*
 * Append url with its size (-1 unknown); at most 100000 files.  A plain
 * path that names a file is kept as its file:// URL (em_file_path_url),
 * which the record then shows.
 */
int em_filelist_add(struct em_filelist *l, const char *url, int64_t size);

/*
 * The absolute file:// URL of the file a path names: its realpath, bytes
 * other than letters, digits, '-', '.', '_', '~' and '/' %-escaped, so
 * that em_file_url_path() gives the realpath back.  -1 (error set) when
 * the path resolves to nothing or the URL does not fit in n.
 */
int em_file_path_url(const char *path, char *out, size_t n);

/*
 * The local path of a file:// URL (percent-decoded; host empty or
 * "localhost") or of a plain path (no scheme): 1 and out set; 0 for any
 * other URL; -1 when it does not fit or is malformed.
 */
int em_file_url_path(const char *url, char *out, size_t n);
/*
 * A volume id from a URL or path: the id em_id_from_name (core/ident.h)
 * makes of the last path component, without query (an id em_id_ok
 * accepts).  -1 when nothing usable is left.
 */
int em_file_url_id(const char *url, char *out, size_t n);

/*
 * Whether the volume <id> is already ingested from these same files with
 * the same layout (chunks, compressor, level): its record is complete, or
 * saving-data with every chunk written, its source_files list the same
 * URLs (and sizes where both are known) and its store is there.  If so the
 * record is printed on stdout (the stub for em-meta) and 1 returned;
 * 0 when the volume must be (re)made; -1 on an unreadable record.
 * Call it before em_fetch_set_id(), which starts a new run.
 */
int em_filelist_already(struct em_fetch *f, const char *id, const struct em_filelist *l);

/*
 * --url: one file from anywhere, nothing asked of the archive.  The volume
 * id is id, or (NULL) the file's name (em_file_url_id); then
 * em_filelist_start and em_filelist_ingest.  Returns the exit status, as
 * em_filelist_ingest does; failures before the run begins are reported.
 */
int em_filelist_url(struct em_fetch *f, const char *url, const char *id);

/*
 * The start every file fetcher makes for a volume: em_filelist_already,
 * then em_fetch_set_id.  EM_FETCH_GO when the volume is to be made (the
 * run has begun); otherwise the tool's exit status: 0 when it is already
 * there (its record printed), 1 after a message on stderr.
 */
#define EM_FETCH_GO (-1)
int em_filelist_start(struct em_fetch *f, const char *id, const struct em_filelist *l);

/*
 * Make every file local: downloads go to the cache with resume and the
 * size check, em_fetch_transfers() at a time (at most 16), each thread
 * with its own transport; sizes found on the way are filled in.  Files
 * another process is downloading are waited for after the others (a
 * signal ends the wait).  Sets the record's
 * source_files, and download_url when there is one file (the tool sets
 * it for a series: the listing's URL).  -1 with the
 * reason naming the URL.
 */
int em_filelist_fetch(struct em_fetch *f, struct em_filelist *l);
/*
 * The whole of a file fetcher's transfer after em_fetch_set_id() and the
 * tool's own record fields: em_filelist_fetch, em_fetch_image_ex,
 * em_fetch_done, then the downloads removed.  A part (--part) holds its
 * slot of the cache directory's lock, <cache>/<source>/<id>.lock, while it
 * downloads and reads, and removes the downloads only when every part's
 * record says its fetch wrote all its chunks and no part holds its slot.
 * Returns the exit status (0, 1, or 130/143 after a signal); failures go
 * through em_fetch_fail.
 */
int em_filelist_ingest(struct em_fetch *f, struct em_filelist *l,
    const struct em_fetch_image_opts *o);

/*
 * A voxel size setting sources.<source>.<key>: three positive numbers
 * (z,y,x nm) or one for all axes.  1 and out set; 0 when absent or null;
 * -1 (error set) when malformed.
 */
int em_fetch_conf_nm3(struct em_fetch *f, const char *key, double out[3]);

/* Natural order of file names: "slice_2" before "slice_10" (for qsort of strings). */
int em_natural_cmp(const char *a, const char *b);

#endif
