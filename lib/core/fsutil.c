/* fsutil.c - atomic file replacement and directory creation */
#define _GNU_SOURCE	/* renameat2 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "core/banned.h"

static atomic_ulong tmp_counter;

int
em_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return em_fail_errno("write failed");
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
sync_dir_of(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, rc = 0;

	if (dir == NULL)
		return em_fail("out of memory");
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		free(dir);
		dir = strdup(".");
		if (dir == NULL)
			return em_fail("out of memory");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		if (fsync(fd) < 0 && errno != EINVAL)
			rc = em_fail_errno("cannot sync directory '%s'", dir);
		close(fd);
	}
	free(dir);
	return rc;
}

/* A new temporary name for path: "<path>.tmp.<pid>.<n>.<host>" (malloc'd), NULL when out of memory. */
static char *
tmp_name(const char *path)
{
	size_t n = strlen(path) + 64;
	char *t = malloc(n);

	if (t != NULL)
		snprintf(t, n, "%s.tmp.%ld.%lu.%s", path, (long)getpid(),
		    (unsigned long)atomic_fetch_add(&tmp_counter, 1), em_atomic_tmp_host());
	return t;
}

int
em_atomic_open(struct em_atomic *a, const char *path)
{
	a->fd = -1;
	a->undo = 0;
	a->dev = a->ino = 0;
	a->path = strdup(path);
	a->tmp = tmp_name(path);
	if (a->path == NULL || a->tmp == NULL) {
		free(a->path);
		free(a->tmp);
		a->path = a->tmp = NULL;
		return em_fail("out of memory");
	}
	a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (a->fd < 0) {
		em_fail_errno("cannot create '%s'", a->tmp);
		free(a->path);
		free(a->tmp);
		a->path = a->tmp = NULL;
		return -1;
	}
	return 0;
}

void
em_atomic_abort(struct em_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->tmp != NULL)
		unlink(a->tmp);
	free(a->path);
	free(a->tmp);
	a->fd = -1;
	a->undo = 0;
	a->path = a->tmp = NULL;
}

/* 1 when the file at path is the one this commit put in place. */
static int
is_ours(const struct em_atomic *a, const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && (unsigned long long)st.st_dev == a->dev &&
	    (unsigned long long)st.st_ino == a->ino;
}

/* renameat2 with flags: 0, or the errno (EINVAL where the filesystem or kernel has no such flag). */
static int
rename2(const char *from, const char *to, unsigned int flags)
{
#if defined(RENAME_EXCHANGE) && defined(RENAME_NOREPLACE)
	return renameat2(AT_FDCWD, from, AT_FDCWD, to, flags) == 0 ? 0 : errno;
#else
	(void)from;
	(void)to;
	(void)flags;
	return EINVAL;
#endif
}

static int
unsupported(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

/*
 * The commit that may be undone.  Where a file has the name, the two names
 * are exchanged, so the old file is at the temporary name; where the
 * filesystem cannot exchange, the old file is first linked to a temporary
 * name of its own, then replaced.  Where no file has the name, the rename
 * does not replace (one committed meanwhile is exchanged instead).  Else,
 * or for a name that is not a file, a plain rename, undone by removing.
 */
static int
commit_undoable(struct em_atomic *a)
{
	struct stat st;
	char *old;
	int tries, e;

	for (tries = 0; tries < 3; tries++) {
		if (lstat(a->path, &st) == 0) {
			if (!S_ISREG(st.st_mode))
				break;
			if ((e = rename2(a->tmp, a->path, RENAME_EXCHANGE)) == 0) {
				a->undo = 2;
				return 0;
			}
			if (e == ENOENT)
				continue;	/* gone meanwhile */
			if (!unsupported(e) || (old = tmp_name(a->path)) == NULL)
				break;
			if (link(a->path, old) < 0) {
				free(old);
				break;
			}
			if (rename(a->tmp, a->path) < 0) {
				e = errno;
				unlink(old);
				free(old);
				errno = e;
				return em_fail_errno("cannot rename '%s' to '%s'", a->tmp, a->path);
			}
			free(a->tmp);
			a->tmp = old;
			a->undo = 2;
			return 0;
		}
		if (errno != ENOENT)
			break;
		if ((e = rename2(a->tmp, a->path, RENAME_NOREPLACE)) == 0)
			goto renamed;
		if (e != EEXIST)
			break;
	}
	if (rename(a->tmp, a->path) < 0)
		return em_fail_errno("cannot rename '%s' to '%s'", a->tmp, a->path);
renamed:
	free(a->tmp);
	a->tmp = NULL;
	a->undo = 1;
	return 0;
}

/* The old file back at the name, unless another writer's file has it since. */
static int
put_back(struct em_atomic *a)
{
	int e = rename2(a->tmp, a->path, RENAME_EXCHANGE);

	if (e == 0) {
		/* The file that came to the temporary name must be this commit's. */
		if (is_ours(a, a->tmp) || rename2(a->tmp, a->path, RENAME_EXCHANGE) == 0)
			return 0;
		e = errno;
	} else if (unsupported(e)) {
		if (!is_ours(a, a->path))
			return 0;
		if (rename(a->tmp, a->path) == 0) {
			free(a->tmp);
			a->tmp = NULL;
			return 0;
		}
		e = errno;
	}
	errno = e;
	em_fail_errno("cannot put back '%s' (the file it replaced is kept as '%s')", a->path,
	    a->tmp);
	/* Not removed by em_atomic_abort: it may be the only copy. */
	free(a->tmp);
	a->tmp = NULL;
	return -1;
}

int
em_atomic_undo(struct em_atomic *a)
{
	int rc = 0;

	if (a->undo == 2)
		rc = put_back(a);
	else if (a->undo == 1 && is_ours(a, a->path) && unlink(a->path) < 0)
		rc = em_fail_errno("cannot remove '%s'", a->path);
	em_atomic_abort(a);
	return rc;
}

int
em_atomic_commit(struct em_atomic *a, int flags)
{
	struct stat st;
	int rc = -1;

	if ((flags & EM_ATOMIC_SYNC) && fsync(a->fd) < 0) {
		em_fail_errno("cannot sync '%s'", a->tmp);
		goto out;
	}
	if (flags & EM_ATOMIC_UNDO) {
		if (fstat(a->fd, &st) < 0) {
			em_fail_errno("cannot stat '%s'", a->tmp);
			goto out;
		}
		a->dev = (unsigned long long)st.st_dev;
		a->ino = (unsigned long long)st.st_ino;
	}
	if (close(a->fd) < 0) {
		a->fd = -1;
		em_fail_errno("cannot close '%s'", a->tmp);
		goto out;
	}
	a->fd = -1;
	if (flags & EM_ATOMIC_EXCL) {
		int e = link(a->tmp, a->path) < 0 ? errno : 0;

		/* A filesystem without hard links: the check and the rename are two steps. */
		if (e == EPERM || e == EOPNOTSUPP || e == ENOSYS) {
			if ((e = em_exists(a->path)) < 0)
				goto out;
			if (e == 0 && rename(a->tmp, a->path) < 0) {
				em_fail_errno("cannot rename '%s' to '%s'", a->tmp, a->path);
				goto out;
			}
			e = e == 1 ? EEXIST : 0;
		}
		if (e == EEXIST) {
			rc = 1;
			goto out;
		}
		if (e != 0) {
			errno = e;
			em_fail_errno("cannot link '%s' to '%s'", a->tmp, a->path);
			goto out;
		}
		/* em_atomic_abort() removes the temporary name (or finds it renamed). */
	} else if (flags & EM_ATOMIC_UNDO) {
		if (commit_undoable(a) < 0)
			goto out;
		/* Kept for em_atomic_undo() or em_atomic_abort(). */
		if ((flags & EM_ATOMIC_SYNC) && sync_dir_of(a->path) < 0) {
			em_atomic_undo(a);
			return -1;
		}
		return 0;
	} else {
		if (rename(a->tmp, a->path) < 0) {
			em_fail_errno("cannot rename '%s' to '%s'", a->tmp, a->path);
			goto out;
		}
		free(a->tmp);
		a->tmp = NULL;
	}
	if ((flags & EM_ATOMIC_SYNC) && sync_dir_of(a->path) < 0)
		goto out;
	rc = 0;
out:
	em_atomic_abort(a);
	return rc;
}

int
em_write_atomic(const char *path, const void *data, size_t len, int flags)
{
	struct em_atomic a;

	if (em_atomic_open(&a, path) < 0)
		return -1;
	if (em_write_all(a.fd, data, len) < 0) {
		em_fail_ctx("cannot write '%s'", a.tmp);
		em_atomic_abort(&a);
		return -1;
	}
	return em_atomic_commit(&a, flags);
}

int
em_mkdir_p(const char *path)
{
	char *p, *s;
	int rc = 0;

	if (path == NULL || *path == '\0')
		return em_fail("empty directory name");
	p = strdup(path);
	if (p == NULL)
		return em_fail("out of memory");
	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0777) < 0 && errno != EEXIST) {
				rc = em_fail_errno("cannot create directory '%s'", p);
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	if (rc == 0) {
		struct stat st;
		if (stat(path, &st) < 0)
			rc = em_fail_errno("cannot create directory '%s'", path);
		else if (!S_ISDIR(st.st_mode))
			rc = em_fail("'%s' exists and is not a directory", path);
	}
	free(p);
	return rc;
}

int
em_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return em_fail_errno("cannot stat '%s'", path);
}

static int
du_walk(struct em_buf *path, unsigned long long *bytes, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	size_t len;
	int rc = 0;

	if (depth > 64)
		return em_fail("directory tree too deep at '%s'", em_buf_cstr(path));
	if (lstat(em_buf_cstr(path), &st) < 0)
		return em_fail_errno("cannot stat '%s'", em_buf_cstr(path));
	if (S_ISREG(st.st_mode)) {
		*bytes += (unsigned long long)st.st_size;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	d = opendir(em_buf_cstr(path));
	if (d == NULL)
		return em_fail_errno("cannot open directory '%s'", em_buf_cstr(path));
	len = path->len;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (em_buf_addch(path, '/') < 0 || em_buf_addstr(path, e->d_name) < 0 ||
		    du_walk(path, bytes, depth + 1) < 0) {
			rc = -1;
			break;
		}
		path->len = len;
		path->data[len] = '\0';
	}
	closedir(d);
	return rc;
}

int
em_du(const char *path, unsigned long long *bytes)
{
	struct em_buf b = EM_BUF_INIT(1 << 16);
	int rc;

	*bytes = 0;
	if (em_buf_addstr(&b, path) < 0)
		return -1;
	rc = du_walk(&b, bytes, 0);
	em_buf_release(&b);
	return rc;
}

static int
remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return em_fail_errno("cannot remove '%s'", path);
	return 0;
}

int
em_remove_tree(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : em_fail_errno("cannot stat '%s'", path);
	if (!S_ISDIR(sb.st_mode))
		return unlink(path) < 0 && errno != ENOENT ?
		    em_fail_errno("cannot remove '%s'", path) : 0;
	/* Depth first, never across a symbolic link or onto another filesystem. */
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 ? -1 : 0;
}

int
em_swap_dirs(const char *from, const char *to)
{
	char *old;
	size_t n;

#ifdef RENAME_EXCHANGE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return em_fail_errno("cannot put '%s' in the place of '%s'", from, to);
#endif
	n = strlen(from) + 5;
	if ((old = malloc(n)) == NULL)
		return em_fail("out of memory");
	snprintf(old, n, "%s.old", from);
	if (em_remove_tree(old) < 0 || rename(to, old) < 0) {
		free(old);
		return em_fail_errno("cannot move '%s' aside", to);
	}
	if (rename(from, to) < 0) {
		int e = errno;

		(void)rename(old, to);
		free(old);
		errno = e;
		return em_fail_errno("cannot put '%s' in the place of '%s'", from, to);
	}
	if (rename(old, from) < 0) {
		em_fail_errno("cannot move '%s' to '%s'", old, from);
		free(old);
		return -1;
	}
	free(old);
	return 0;
}

static char tmp_host[9];
static pthread_once_t tmp_host_once = PTHREAD_ONCE_INIT;

/* FNV-1a over the host name and the pid namespace's inode. */
static void
tmp_host_init(void)
{
	char name[256] = "";
	struct stat st;
	uint64_t ino = 0;
	uint32_t h = 2166136261u;
	size_t i;

	if (gethostname(name, sizeof(name) - 1) < 0)
		name[0] = '\0';
	name[sizeof(name) - 1] = '\0';
	if (stat("/proc/self/ns/pid", &st) == 0)
		ino = (uint64_t)st.st_ino;
	for (i = 0; name[i] != '\0'; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	for (i = 0; i < 8; i++)
		h = (h ^ (unsigned char)(ino >> (8 * i))) * 16777619u;
	snprintf(tmp_host, sizeof(tmp_host), "%08x", (unsigned)h);
}

const char *
em_atomic_tmp_host(void)
{
	pthread_once(&tmp_host_once, tmp_host_init);
	return tmp_host;
}

/* Parse "<base>.tmp.<pid>.<n>[.<host>]": the pid, and host (empty when the name has none). */
static long
tmp_parse(const char *name, const char *base, char host[9])
{
	const char *t = NULL, *s;
	long pid = 0;
	int i;

	host[0] = '\0';
	if (base != NULL) {
		size_t blen = strlen(base);

		if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0)
			return -1;
		t = name + blen;
	} else {
		for (s = strstr(name, ".tmp."); s != NULL; s = strstr(s + 1, ".tmp."))
			t = s;
		if (t == NULL || t == name)
			return -1;
	}
	s = t + 5;
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		if (pid > 1L << 30)
			return -1;
		pid = pid * 10 + (*s++ - '0');
	}
	if (*s++ != '.' || *s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '\0')
		return pid;
	if (*s++ != '.')
		return -1;
	for (i = 0; i < 8; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
		host[i] = s[i];
	}
	host[8] = '\0';
	return s[8] == '\0' ? pid : -1;
}

long
em_atomic_tmp_pid(const char *name, const char *base)
{
	char host[9];

	return tmp_parse(name, base, host);
}

int
em_atomic_tmp_stale(const char *name, const char *base, long long mtime)
{
	char host[9];
	long pid = tmp_parse(name, base, host);

	if (pid <= 0)
		return 0;
	/* Made elsewhere: its writer may be running there now, unless it has long been still. */
	if (host[0] != '\0' && strcmp(host, em_atomic_tmp_host()) != 0)
		return mtime > 0 && (long long)time(NULL) - mtime > EM_TMP_FOREIGN_AGE;
	/* A live pid keeps its file: it may be writing it now. */
	return pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int
em_mtime_text(const char *path, char *out, size_t n)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return em_fail_errno("cannot stat '%s'", path);
	snprintf(out, n, "%lld.%09ld", (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
	return 0;
}
