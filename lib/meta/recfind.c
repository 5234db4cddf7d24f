/* recfind.c - the record files under a data root, found as em-consolidate and em-catalog search */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/diag.h"
#include "core/limits.h"
#include "meta/recfind.h"
#include "core/banned.h"

struct search {
	em_recfind_fn fn;
	void *ctx;
};

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
skip(struct search *s, enum em_recfind_event ev, const char *path, const char *why)
{
	char line[PATH_MAX + 128];

	snprintf(line, sizeof(line), "skipped '%s': %s", path, why);
	return s->fn(ev, path, line, s->ctx);
}

static int walk(struct search *s, const char *dir, int depth);

/* "<id>.part-I-of-N.json": one part of a split run's volume (em-record(5)), not a volume's record. */
static int
part_record(const char *name)
{
	const char *p = strstr(name, ".part-");
	size_t d;

	if (p == NULL)
		return 0;
	p += 6;
	if ((d = strspn(p, "0123456789")) == 0 || strncmp(p + d, "-of-", 4) != 0)
		return 0;
	p += d + 4;
	if ((d = strspn(p, "0123456789")) == 0)
		return 0;
	return strcmp(p + d, ".json") == 0;
}

/* One entry found in a directory search. */
static int
walk_one(struct search *s, const char *path, const char *name, int depth)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return s->fn(EM_RECFIND_UNREADABLE, path, strerror(errno), s->ctx);
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) < 0) {
			if (!has_suffix(name, ".json"))
				return 0;
			return s->fn(EM_RECFIND_UNREADABLE, path, strerror(errno), s->ctx);
		}
		if (S_ISDIR(st.st_mode))
			return skip(s, EM_RECFIND_SKIP, path, "a symbolic link to a directory, not followed");
	}
	if (S_ISDIR(st.st_mode)) {
		if (has_suffix(name, ".zarr"))
			return skip(s, EM_RECFIND_ZARR, path, "a Zarr store, not searched");
		return walk(s, path, depth + 1);
	}
	if (!has_suffix(name, ".json"))
		return 0;
	if (!S_ISREG(st.st_mode))
		return skip(s, EM_RECFIND_SKIP, path, "not a regular file");
	if (part_record(name))
		return skip(s, EM_RECFIND_SKIP, path, "a part record (em-meta --merge makes the volume's)");
	return s->fn(EM_RECFIND_FILE, path, NULL, s->ctx);
}

static int
walk(struct search *s, const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, path[PATH_MAX], line[PATH_MAX + 128];
	size_t n = 0, cap = 0, i;
	int ret = 0;

	if (depth > EM_CATALOG_MAX_DEPTH) {
		char why[64];

		snprintf(why, sizeof(why), "deeper than %d directories", EM_CATALOG_MAX_DEPTH);
		return skip(s, EM_RECFIND_SKIP, dir, why);
	}
	if ((d = opendir(dir)) == NULL)
		return s->fn(EM_RECFIND_UNREADABLE, dir, strerror(errno), s->ctx);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == EM_CATALOG_MAX_DIR_ENTRIES) {
			snprintf(line, sizeof(line), "skipped the rest of '%s': more than %d entries", dir,
			    EM_CATALOG_MAX_DIR_ENTRIES);
			ret = s->fn(EM_RECFIND_SKIP, dir, line, s->ctx);
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **t = realloc(names, ncap * sizeof(*t));

			if (t == NULL) {
				ret = em_fail("out of memory");
				goto out;
			}
			names = t;
			cap = ncap;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			ret = em_fail("out of memory");
			goto out;
		}
		n++;
	}
	if (errno != 0 && de == NULL) {
		ret = s->fn(EM_RECFIND_UNREADABLE, dir, strerror(errno), s->ctx);
		goto out;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && ret == 0; i++) {
		int k = snprintf(path, sizeof(path), "%s%s%s", dir,
		    has_suffix(dir, "/") ? "" : "/", names[i]);

		if (k < 0 || (size_t)k >= sizeof(path)) {
			ret = s->fn(EM_RECFIND_UNREADABLE, dir, "a name in it is too long", s->ctx);
			continue;
		}
		ret = walk_one(s, path, names[i], depth);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

int
em_recfind(const char *dir, em_recfind_fn fn, void *ctx)
{
	struct search s = { fn, ctx };

	return walk(&s, dir, 0);
}
