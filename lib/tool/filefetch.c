/* filefetch.c - the file-based fetchers' shared path: files from URLs into a cache, then into the store */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/ident.h"
#include "tool/tool.h"
#include "tool/filefetch.h"
#include "core/fsutil.h"
#include "core/interrupt.h"
#include "core/jsonio.h"
#include "net/listing.h"
#include "meta/record.h"
#include "store/writer.h"
#include "store/manifest.h"
#include "store/lock.h"
#include "core/banned.h"

void
em_filelist_init(struct em_filelist *l)
{
	memset(l, 0, sizeof(*l));
}

void
em_filelist_release(struct em_filelist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].url);
		free(l->v[i].path);
		free(l->v[i].validator);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether url starts with a scheme ("x+y-z.w:"). */
static size_t
scheme_len(const char *url)
{
	size_t i = 0;

	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' ||
	    url[i] == '.')
		i++;
	return url[i] == ':' ? i : 0;
}

/* Bytes a file:// URL keeps as they are (RFC 3986 unreserved, and the path's '/'). */
static int
url_plain(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}

int
em_file_path_url(const char *path, char *out, size_t n)
{
	char *real = realpath(path, NULL);
	const char *p;
	size_t o;
	int rc = -1;

	if (real == NULL)
		return em_fail_errno("cannot read '%s'", path);
	o = (size_t)snprintf(out, n, "file://");
	for (p = real; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (o + 4 > n) {
			em_fail("path '%s' is too long", real);
			goto out;
		}
		if (url_plain(c))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
	}
	out[o] = '\0';
	rc = 0;
out:
	free(real);
	return rc;
}

int
em_filelist_add(struct em_filelist *l, const char *url, int64_t size)
{
	struct em_filelist_item *it;
	char fu[EM_FETCH_PATH_MAX * 3 + 8];

	if (l->n >= EM_FILELIST_MAX)
		return em_fail("more than %d files in one volume", EM_FILELIST_MAX);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct em_filelist_item *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return em_fail("out of memory");
		l->v = v;
		l->cap = cap;
	}
	/*
	 * A plain path is recorded as the file:// URL of the file it names: the
	 * record's URLs have a scheme, and the same file is the same URL from
	 * any working directory.  One that names no file stays as it is, for
	 * the read to fail on with its own name.
	 */
	if (scheme_len(url) == 0 && em_file_path_url(url, fu, sizeof(fu)) == 0)
		url = fu;
	it = &l->v[l->n];
	memset(it, 0, sizeof(*it));
	it->size = size;
	if ((it->url = strdup(url)) == NULL)
		return em_fail("out of memory");
	l->n++;
	return 0;
}

int
em_file_url_path(const char *url, char *out, size_t n)
{
	size_t sl = scheme_len(url), o = 0;
	const char *p;

	if (sl == 0) {
		if ((size_t)snprintf(out, n, "%s", url) >= n)
			return em_fail("path '%s' is too long", url);
		return 1;
	}
	if (sl != 4 || strncasecmp(url, "file", 4) != 0)
		return 0;
	p = url + 5;
	if (strncmp(p, "//", 2) != 0)
		return em_fail("'%s' is not a file:// URL with an absolute path", url);
	p += 2;
	if (strncasecmp(p, "localhost/", 10) == 0)
		p += 9;
	if (*p != '/')
		return em_fail("'%s': only local files (file:///path) can be read", url);
	for (; *p != '\0' && *p != '?' && *p != '#'; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);

			if (l < 0)
				return em_fail("'%s': bad %%-escape", url);
			c = h * 16 + l;
			if (c == 0)
				return em_fail("'%s': %%00 in a path", url);
			p += 2;
		}
		if (o + 1 >= n)
			return em_fail("path of '%s' is too long", url);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 1;
}

/* The last path component of url (without query or fragment), percent-decoded. */
static int
url_basename(const char *url, char *out, size_t n)
{
	const char *end = url + strcspn(url, "?#"), *b = end;
	size_t o = 0;

	while (b > url && b[-1] == '/')
		b--, end--;
	while (b > url && b[-1] != '/')
		b--;
	for (; b < end; b++) {
		int c = (unsigned char)*b;

		if (c == '%' && end - b >= 3 && hexval(b[1]) >= 0 && hexval(b[2]) >= 0) {
			c = hexval(b[1]) * 16 + hexval(b[2]);
			b += 2;
			/* "a%00x" and "a%00y" would both be the file "a". */
			if (c == 0)
				return em_fail("'%s': %%00 in a file name", url);
		}
		if (o + 1 >= n)
			return em_fail("file name in '%s' is too long", url);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (o == 0)
		return em_fail("'%s' names no file", url);
	return 0;
}

int
em_file_url_id(const char *url, char *out, size_t n)
{
	char name[256];

	if (url_basename(url, name, sizeof(name)) < 0)
		return -1;
	if (em_id_from_name(name, out, n) < 0)
		return em_fail_ctx("no usable volume id in '%s' (give --id)", url);
	return 0;
}

static int
same_sources(const json_t *have, const struct em_filelist *l)
{
	size_t i;

	if (!json_is_array(have) || json_array_size(have) != l->n)
		return 0;
	for (i = 0; i < l->n; i++) {
		const json_t *e = json_array_get(have, i);
		const char *u = json_string_value(json_object_get(e, "url"));
		const json_t *sz = json_object_get(e, "size_bytes");

		if (u == NULL || strcmp(u, l->v[i].url) != 0)
			return 0;
		if (l->v[i].size >= 0 && json_is_integer(sz) &&
		    json_integer_value(sz) != l->v[i].size)
			return 0;
	}
	return 1;
}

/*
 * Chunk temporaries of killed runs in a store that needs no work: the
 * writer, which removes them when it starts, is not started for it.
 */
static void
clean_leftovers(const char *store)
{
	uint64_t removed = 0;

	if (em_zarr_clean_tmp(store, 0, &removed) < 0)
		em_log(EM_LOG_WARN, "%s", em_errmsg());
	else if (removed > 0)
		em_log(EM_LOG_INFO, "removed %llu temporary files of an interrupted run",
		    (unsigned long long)removed);
}

/*
 * Whether the local files of l are the version the store's manifest names
 * (their modification times); 1 when they are or nothing tells (remote
 * files are asked again by the run itself), 0 when one changed.
 */
static int
same_version(const char *store, const struct em_filelist *l)
{
	const json_t *mt;
	json_t *m = NULL;
	char path[EM_FETCH_PATH_MAX], t[64];
	size_t i;
	int same = 1;

	if (em_manifest_load(store, &m) != 1)
		return 0;	/* a store without one is made this run's by the run */
	mt = json_object_get(json_object_get(m, "version"), "mtimes");
	if (json_is_array(mt)) {
		if (json_array_size(mt) != l->n)
			same = 0;
		for (i = 0; same && i < l->n; i++) {
			if (em_file_url_path(l->v[i].url, path, sizeof(path)) != 1 ||
			    em_mtime_text(path, t, sizeof(t)) < 0) {
				same = 0;
				break;
			}
			if (!json_is_string(json_array_get(mt, i)) ||
			    strcmp(json_string_value(json_array_get(mt, i)), t) != 0)
				same = 0;
		}
	}
	json_decref(m);
	return same;
}

int
em_filelist_already(struct em_fetch *f, const char *id, const struct em_filelist *l)
{
	char path[EM_FETCH_PATH_MAX], zarray[EM_FETCH_PATH_MAX + 16];
	const json_t *p, *comp, *cs;
	enum em_status st;
	json_t *rec;
	struct stat sb;
	const char *store;
	int same = 0, i;

	/* A part resumes its own chunks; whether the volume is whole is em-meta --merge's to say. */
	if (f->opts->part_count > 0)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", f->root, id) >= sizeof(path))
		return em_fail("path of '%s' in '%s' is too long", id, f->root);
	if (stat(path, &sb) < 0)
		return 0;
	if ((rec = em_record_load(path)) == NULL)
		return em_fail_ctx("cannot read record '%s'", path);
	if (em_record_status(rec, &st) < 0 ||
	    (st != EM_STATUS_COMPLETE && st != EM_STATUS_SAVING_DATA))
		goto out;
	p = json_object_get(rec, "progress");
	if (st == EM_STATUS_SAVING_DATA && (!json_is_integer(json_object_get(p, "chunks_total")) ||
	    json_integer_value(json_object_get(p, "chunks_done")) !=
	    json_integer_value(json_object_get(p, "chunks_total"))))
		goto out;
	if (!same_sources(json_object_get(rec, "source_files"), l))
		goto out;
	comp = json_object_get(rec, "compression");
	if (!json_is_string(json_object_get(comp, "codec")) ||
	    strcmp(json_string_value(json_object_get(comp, "codec")), f->codec_name) != 0)
		goto out;
	if (f->codec.id != EM_CODEC_RAW &&
	    json_integer_value(json_object_get(comp, "level")) != f->codec.level)
		goto out;
	cs = json_object_get(rec, "chunk_size");
	for (i = 0; i < 3; i++) {
		const json_t *sh = json_array_get(json_object_get(rec, "volume_shape"), (size_t)i);
		json_int_t c = json_integer_value(json_array_get(cs, (size_t)i));
		json_int_t want = (json_int_t)f->chunks[i];

		if (json_integer_value(sh) < want)
			want = json_integer_value(sh);
		if (c != want)
			goto out;
	}
	store = json_string_value(json_object_get(rec, "internal_zarr_path"));
	if (store == NULL)
		goto out;
	snprintf(zarray, sizeof(zarray), "%s/0/.zarray", store);
	if (stat(zarray, &sb) < 0 || !em_levels_match(&f->levels, store))
		goto out;
	/* A chunk cut short or put there by another program is not the volume: repair it. */
	if (!same_version(store, l)) {
		em_log(EM_LOG_INFO, "%s/%s: a source file changed since '%s' was written", f->source,
		    id, store);
		goto out;
	}
	if (em_fetch_store_whole(store, f->opts->verify) != 1) {
		em_log(EM_LOG_WARN, "%s/%s: the store '%s' is not whole (a chunk is missing, cut "
		    "short or not written by this store's writers): writing those chunks again",
		    f->source, id, store);
		goto out;
	}
	same = 1;
	clean_leftovers(store);
	em_log(EM_LOG_WARN, "%s/%s is already ingested from the same %zu file%s (record '%s', "
	    "status %s): nothing to do", f->source, id, l->n, l->n == 1 ? "" : "s", path,
	    em_status_name(st));
	if (em_json_write_line(stdout, rec) < 0 || fflush(stdout) == EOF) {
		json_decref(rec);
		return em_fail_errno("cannot write the stub to stdout");
	}
out:
	json_decref(rec);
	return same;
}

static int
cache_dir(struct em_fetch *f, char *out, size_t n)
{
	const char *dir = "cache";

	if (em_config_get_str(f->cfg, "global.cache_dir", "cache", &dir) < 0)
		return -1;
	if ((size_t)snprintf(out, n, "%s/%s/%s", dir, f->source, f->id) >= n)
		return em_fail("cache directory '%s' is too long", dir);
	return 0;
}

/* Downloads shared out among threads, each with its own transport. */
struct dl_pool {
	struct em_fetch *f;
	struct em_filelist *l;
	unsigned char *busy;	/* per item: another process held its lock in the first round */
	int wait;		/* this round waits for the holders */
	pthread_mutex_t mu;
	size_t next;
	int failed;
	char error[1024];
};

/* Download item i (its path is the cache path): 0 or -1 with the error text set. */
static int
download_one(struct em_http *h, struct em_filelist_item *it)
{
	struct em_http_check chk = { 0, NULL };
	struct em_http_dl dl;
	struct stat sb;
	int r, have = stat(it->path, &sb) == 0 && S_ISREG(sb.st_mode);

	if (it->size > 0)
		chk.size = (uint64_t)it->size;
	/*
	 * A finished download is only ever renamed into place whole (its
	 * Content-Length checked): with no size to check it against, the
	 * copy already in the cache is the file.
	 */
	else if (have && sb.st_size > 0)
		chk.size = (uint64_t)sb.st_size;
	if (!have || chk.size != (uint64_t)sb.st_size)
		em_log(EM_LOG_INFO, "downloading '%s' to '%s'", it->url, it->path);
	r = em_http_download(h, it->url, it->path, &chk, &dl);
	if (r == EM_HTTP_MISSING)
		return em_fail_ctx("cannot download '%s'", it->url);
	if (r < 0)
		return -1;
	if (dl.was_complete)
		em_log(EM_LOG_INFO, "'%s' is in the cache whole: not downloaded again", it->path);
	it->size = (int64_t)dl.size;
	free(it->validator);
	it->validator = dl.validator[0] ? strdup(dl.validator) : NULL;
	return 0;
}

/*
 * Item it downloaded under the lock "<path>.lock" beside its cache file
 * (store/lock.h, an OFD lock the kernel drops when its holder dies): of the
 * processes that want the same file (the parts of a split run, which share
 * the cache), one downloads it and the others wait, then find it whole and
 * fetch nothing.  None reads a file still being downloaded: the bytes go to
 * <path>.part and are renamed to <path> only when whole.  A holder killed
 * while downloading leaves its .part, which the next to take the lock
 * resumes by range.  wait 0: 1, nothing done, while another process holds
 * the lock (or it cannot be taken: the waiting round says why); wait 1:
 * wait for it, as long as it takes (a signal ends the wait).
 */
static int
download_shared(struct em_http *h, struct em_filelist_item *it, int wait)
{
	struct em_store_lock *lk;
	int r;

	if ((lk = em_store_lock(it->path, EM_LOCK_WHOLE, wait ? -1 : 0)) == NULL) {
		if (!wait && !em_interrupted())
			return 1;
		return em_fail_ctx("cannot download '%s'", it->url);
	}
	r = download_one(h, it);
	/* Whole in the cache: a waiter finds the lock file gone and takes the one there now. */
	if (r == 0)
		em_store_unlock_remove(lk, it->path);
	else
		em_store_unlock(lk);
	return r;
}

/* A download leaves the cache with the validator and the lock kept beside it. */
static int
drop_download(const char *path)
{
	char v[EM_FETCH_PATH_MAX + 16];

	snprintf(v, sizeof(v), "%s.validator", path);
	(void)unlink(v);
	snprintf(v, sizeof(v), "%s.lock", path);
	(void)unlink(v);
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Whether item i is this round's: a download, and in the waiting round one found busy. */
static int
dl_todo(const struct dl_pool *p, size_t i)
{
	return p->l->v[i].downloaded && (!p->wait || p->busy[i]);
}

/* One item of the round: 0 or -1 with the error text set. */
static int
dl_item(struct dl_pool *p, struct em_http *h, size_t i)
{
	int r = download_shared(h, &p->l->v[i], p->wait);

	if (r == 1)
		p->busy[i] = 1;	/* only this item's thread writes it in this round */
	return r < 0 ? -1 : 0;
}

static void *
dl_worker(void *arg)
{
	struct dl_pool *p = arg;
	struct em_http *h = em_http_new(&p->f->http_opts);

	for (;;) {
		size_t i = 0;
		int have = 0;

		pthread_mutex_lock(&p->mu);
		if (h == NULL && !p->failed) {
			p->failed = 1;
			snprintf(p->error, sizeof(p->error), "%s", em_errmsg());
		}
		while (!p->failed && p->next < p->l->n && !dl_todo(p, p->next))
			p->next++;
		if (!p->failed && p->next < p->l->n) {
			i = p->next++;
			have = 1;
		}
		pthread_mutex_unlock(&p->mu);
		if (!have)
			break;
		if (dl_item(p, h, i) < 0) {
			pthread_mutex_lock(&p->mu);
			if (!p->failed) {
				p->failed = 1;
				snprintf(p->error, sizeof(p->error), "%s", em_errmsg());
			}
			pthread_mutex_unlock(&p->mu);
			break;
		}
	}
	em_http_free(h);
	return NULL;
}

/* Download threads at most, whatever the transfers allowed. */
#define DL_THREADS_MAX 16

/* One round over the downloads, em_fetch_transfers() at a time. */
static int
download_round(struct dl_pool *p, size_t nremote)
{
	pthread_t th[DL_THREADS_MAX];
	size_t i, nth;
	int par = em_fetch_transfers(p->f);

	if (par > DL_THREADS_MAX)
		par = DL_THREADS_MAX;
	p->next = 0;
	if (par <= 1 || nremote <= 1) {
		for (i = 0; i < p->l->n; i++)
			if (dl_todo(p, i) && dl_item(p, p->f->http, i) < 0)
				return -1;
		return 0;
	}
	nth = nremote < (size_t)par ? nremote : (size_t)par;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, dl_worker, p) != 0)
			break;
	if (i == 0)
		return em_fail("cannot start download threads");
	nth = i;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (p->failed)
		return em_fail("%s", p->error);
	return 0;
}

/*
 * The downloads (items marked downloaded).  First every file that no other
 * process is downloading, then a wait for each that one was: parts started
 * together share a series out, each file fetched once, by whichever part
 * took it first.
 */
static int
download_all(struct em_fetch *f, struct em_filelist *l, size_t nremote)
{
	struct dl_pool p;
	size_t i, nbusy = 0;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	p.f = f;
	p.l = l;
	if ((p.busy = calloc(l->n, 1)) == NULL)
		return em_fail("out of memory");
	pthread_mutex_init(&p.mu, NULL);
	if (download_round(&p, nremote) < 0)
		goto out;
	for (i = 0; i < l->n; i++)
		nbusy += p.busy[i];
	if (nbusy > 0) {
		em_debug("%zu of the files %s being downloaded by another process: waiting for "
		    "%s", nbusy, nbusy == 1 ? "is" : "are", nbusy == 1 ? "it" : "them");
		p.wait = 1;
		if (download_round(&p, nbusy) < 0)
			goto out;
	}
	rc = 0;
out:
	pthread_mutex_destroy(&p.mu);
	free(p.busy);
	return rc;
}

int
em_filelist_fetch(struct em_fetch *f, struct em_filelist *l)
{
	char path[EM_FETCH_PATH_MAX], dir[EM_FETCH_PATH_MAX], name[256];
	json_t *files;
	size_t i, nremote = 0;

	dir[0] = '\0';
	/* Progress counts the bytes downloaded, then the bytes stored. */
	for (i = 0; i < l->n; i++)
		if (l->v[i].size > 0 && em_file_url_path(l->v[i].url, path, sizeof(path)) == 0)
			em_progress_add_bytes_total(&f->progress, (uint64_t)l->v[i].size);
	/* Local files are read in place; the others get a path in the cache. */
	for (i = 0; i < l->n; i++) {
		struct em_filelist_item *it = &l->v[i];
		int r = em_file_url_path(it->url, path, sizeof(path));
		struct stat sb;

		if (r < 0)
			return -1;
		it->downloaded = 0;
		if (r == 1) {
			if (stat(path, &sb) < 0)
				return em_fail_errno("cannot read '%s'", path);
			if (!S_ISREG(sb.st_mode))
				return em_fail("cannot read '%s': not a regular file", path);
			it->size = (int64_t)sb.st_size;
		} else {
			if (dir[0] == '\0' && (cache_dir(f, dir, sizeof(dir)) < 0 ||
			    em_mkdir_p(dir) < 0))
				return em_fail_ctx("cannot make cache directory '%s'", dir);
			if (url_basename(it->url, name, sizeof(name)) < 0)
				return -1;
			if (!em_listing_name_ok(name))
				snprintf(name, sizeof(name), "file-%zu", i);
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
			    sizeof(path))
				return em_fail("cache path for '%s' is too long", it->url);
			it->downloaded = 1;
			nremote++;
		}
		free(it->path);
		if ((it->path = strdup(path)) == NULL)
			return em_fail("out of memory");
	}
	if (nremote > 0 && download_all(f, l, nremote) < 0)
		return -1;
	if (em_interrupted())
		return em_fail("interrupted");
	files = json_array();
	for (i = 0; i < l->n; i++) {
		json_array_append_new(files, json_pack("{s:s, s:I}", "url", l->v[i].url,
		    "size_bytes", (json_int_t)l->v[i].size));
		/* The version of what the store is made from, for its manifest. */
		if (em_fetch_note_file(f, (uint64_t)l->v[i].size,
		    l->v[i].validator, l->v[i].downloaded ? NULL : l->v[i].path) < 0)
			return -1;
	}
	if (em_record_set(f->rec, "source_files", files) < 0)
		return -1;
	if (l->n == 1 && em_record_set_str(f->rec, "download_url", l->v[0].url) < 0)
		return -1;
	return 0;
}

/* Whether any file of l is downloaded (not read where it is). */
static int
any_remote(const struct em_filelist *l)
{
	char path[EM_FETCH_PATH_MAX];
	size_t i;

	for (i = 0; i < l->n; i++)
		if (em_file_url_path(l->v[i].url, path, sizeof(path)) == 0)
			return 1;
	return 0;
}

/*
 * Whether every part of the split run has read what it needs: each part
 * record says its fetch wrote all its chunks (saving-data with every chunk
 * done, or complete after em-meta).  A part not yet started, still running,
 * failed or cancelled has not.
 */
static int
parts_finished(struct em_fetch *f)
{
	char path[EM_FETCH_PATH_MAX];
	int j, n = f->opts->part_count, done = 1;

	for (j = 1; done && j <= n; j++) {
		const json_t *p;
		enum em_status st;
		json_t *rec;

		if (em_fetch_record_path(f->root, f->id, j, n, path, sizeof(path)) < 0 ||
		    em_exists(path) != 1 || (rec = em_record_load(path)) == NULL)
			return 0;
		p = json_object_get(rec, "progress");
		done = em_record_status(rec, &st) == 0 && (st == EM_STATUS_COMPLETE ||
		    (st == EM_STATUS_SAVING_DATA &&
		    json_is_integer(json_object_get(p, "chunks_total")) &&
		    json_integer_value(json_object_get(p, "chunks_done")) ==
		    json_integer_value(json_object_get(p, "chunks_total"))));
		json_decref(rec);
	}
	return done;
}

/*
 * The downloads leave the cache once the store (or, for a part, every part)
 * no longer needs them.  The cache directory's lock "<dir>.lock" is held
 * shared by each part while it downloads and reads (*reader, released
 * here); removing takes it whole, so no part still reading loses a file.
 * With --part the part that finishes last removes them: the others leave
 * them, saying why at -v.
 */
static void
drop_downloads(struct em_fetch *f, struct em_filelist *l, struct em_store_lock **reader)
{
	char dir[EM_FETCH_PATH_MAX], who[160];
	struct em_store_lock *all;
	size_t i;

	em_store_unlock(*reader);
	*reader = NULL;
	if (cache_dir(f, dir, sizeof(dir)) < 0)
		return;
	if ((all = em_store_lock(dir, EM_LOCK_WHOLE, 0)) == NULL) {
		if (em_store_lock_holder(dir, EM_LOCK_WHOLE, who, sizeof(who)) < 0 || !who[0])
			snprintf(who, sizeof(who), "unknown");
		em_log(EM_LOG_INFO, "the downloads in '%s' stay: another part is reading them "
		    "(%s)", dir, who);
		return;
	}
	if (f->opts->part_count > 0 && !parts_finished(f)) {
		em_log(EM_LOG_INFO, "the downloads in '%s' stay for the parts that have not "
		    "finished: the last part to finish removes them", dir);
		em_store_unlock(all);
		return;
	}
	for (i = 0; i < l->n; i++)
		if (l->v[i].downloaded && drop_download(l->v[i].path) < 0)
			em_log(EM_LOG_WARN, "cannot remove download '%s': %s", l->v[i].path,
			    strerror(errno));
	(void)rmdir(dir);
	em_store_unlock_remove(all, dir);
}

int
em_filelist_ingest(struct em_fetch *f, struct em_filelist *l,
    const struct em_fetch_image_opts *o)
{
	struct em_store_lock *reader = NULL;
	const char **paths = NULL;
	int keep = 0, status;
	size_t i;

	/*
	 * A part says it reads the cache (its slot of the directory's lock)
	 * before it downloads, so that the part finishing last does not take
	 * files from under it.
	 */
	if (f->opts->part_count > 0 && any_remote(l)) {
		char dir[EM_FETCH_PATH_MAX];

		if (cache_dir(f, dir, sizeof(dir)) < 0)
			return em_fetch_fail(f, NULL);
		if (em_mkdir_p(dir) < 0 ||
		    (reader = em_store_lock(dir, f->opts->part_index - 1, -1)) == NULL) {
			em_fail_ctx("cannot use the cache directory '%s'", dir);
			return em_fetch_fail(f, NULL);
		}
	}
	if (em_filelist_fetch(f, l) < 0) {
		status = em_fetch_fail(f, NULL);
		goto out;
	}
	paths = calloc(l->n ? l->n : 1, sizeof(*paths));
	if (paths == NULL) {
		em_fail("out of memory");
		status = em_fetch_fail(f, NULL);
		goto out;
	}
	for (i = 0; i < l->n; i++)
		paths[i] = l->v[i].path;
	if (em_fetch_image_ex(f, paths, l->n, o) < 0) {
		/*
		 * A download the reader could not decode (its error names the
		 * file) leaves the cache, so that the next run fetches it again
		 * rather than failing the same way on the same bytes.
		 */
		for (i = 0; i < l->n && !em_interrupted(); i++)
			if (l->v[i].downloaded && strstr(em_errmsg(), l->v[i].path) != NULL &&
			    drop_download(l->v[i].path) == 0)
				em_log(EM_LOG_WARN, "removed '%s' from the cache: it cannot be decoded",
				    l->v[i].path);
		status = em_fetch_fail(f, NULL);
		goto out;
	}
	status = em_fetch_done(f);
	if (status != 0)
		goto out;
	if (em_config_get_bool(f->cfg, "global.keep_downloads", 0, &keep) < 0)
		keep = 1;
	for (i = 0; !keep && i < l->n; i++)
		if (l->v[i].downloaded) {
			drop_downloads(f, l, &reader);
			break;
		}
out:
	free(paths);
	em_store_unlock(reader);
	return status;
}

int
em_fetch_conf_nm3(struct em_fetch *f, const char *key, double out[3])
{
	char path[256];
	json_t *v = NULL;
	size_t i;

	snprintf(path, sizeof(path), "sources.%s.%s", f->source, key);
	if (em_config_get(f->cfg, path, &v) < 0 || v == NULL || json_is_null(v))
		return 0;
	if (json_is_number(v) && json_number_value(v) > 0) {
		out[0] = out[1] = out[2] = json_number_value(v);
		return 1;
	}
	if (!json_is_array(v) || json_array_size(v) != 3)
		return em_fail("%s must be three numbers (z,y,x nm) or one", path);
	for (i = 0; i < 3; i++) {
		const json_t *e = json_array_get(v, i);

		if (!json_is_number(e) || !(json_number_value(e) > 0))
			return em_fail("%s must hold positive numbers", path);
		out[i] = json_number_value(e);
	}
	return 1;
}

int
em_natural_cmp(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char *ea, *eb;
			size_t la, lb;
			int c;

			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			for (ea = a; isdigit((unsigned char)*ea); ea++)
				;
			for (eb = b; isdigit((unsigned char)*eb); eb++)
				;
			la = (size_t)(ea - a);
			lb = (size_t)(eb - b);
			if (la != lb)
				return la < lb ? -1 : 1;
			if ((c = memcmp(a, b, la)) != 0)
				return c < 0 ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	if (*a == *b)
		return 0;
	return *a == '\0' ? -1 : 1;
}

int
em_filelist_url(struct em_fetch *f, const char *url, const char *id)
{
	struct em_filelist files;
	struct em_fetch_image_opts io;
	char name[129];
	int status = 1;

	em_filelist_init(&files);
	memset(&io, 0, sizeof(io));
	if (id == NULL) {
		if (em_file_url_id(url, name, sizeof(name)) < 0) {
			em_err("%s", em_errmsg());
			goto out;
		}
		id = name;
	}
	if (em_filelist_add(&files, url, -1) < 0) {
		em_err("%s", em_errmsg());
		goto out;
	}
	if ((status = em_filelist_start(f, id, &files)) != EM_FETCH_GO)
		goto out;
	status = em_filelist_ingest(f, &files, &io);
out:
	em_filelist_release(&files);
	return status;
}

int
em_filelist_start(struct em_fetch *f, const char *id, const struct em_filelist *l)
{
	int r = em_filelist_already(f, id, l);

	if (r != 0) {
		if (r < 0)
			em_err("%s", em_errmsg());
		return r < 0 ? 1 : 0;
	}
	if (em_fetch_set_id(f, id) < 0) {
		em_err("cannot start '%s': %s", id, em_errmsg());
		return 1;
	}
	return EM_FETCH_GO;
}
