/* lock.c - one writer per store (or per part of a store): a lock beside it that names its holder */
/* F_OFD_SETLK and F_OFD_GETLK are Linux extensions. */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/interrupt.h"
#include "core/limits.h"
#include "store/lock.h"
#include "core/banned.h"

/* OFD locks belong to the open file, not the process: threads and a second open cannot drop them. */
#ifdef F_OFD_SETLK
#define LOCK_SET F_OFD_SETLK
#define LOCK_GET F_OFD_GETLK
#else
#define LOCK_SET F_SETLK
#define LOCK_GET F_GETLK
#endif

#define SLOT 128		/* bytes of "host pid\n" per holder */
#define WAIT_STEP_NS 100000000L

struct em_store_lock {
	int fd;
	int part;
};

static int
lock_path(const char *path, char *buf, size_t n)
{
	if ((size_t)snprintf(buf, n, "%s.lock", path) >= n)
		return em_fail("path too long");
	return 0;
}

/* The byte a holder locks: 0 for the whole store, 1+I for part I. */
static off_t
byte_of(int part)
{
	return part < 0 ? 0 : (off_t)part + 1;
}

static int
setlk(int fd, short type, off_t start)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = 1;
	return fcntl(fd, LOCK_SET, &fl);
}

/* The first lock that conflicts with a type lock on [start, start+len) (len 0: to the end). */
static int
getlk(int fd, short type, off_t start, off_t len, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = start;
	fl->l_len = len;
	return fcntl(fd, LOCK_GET, fl) == 0 && fl->l_type != F_UNLCK;
}

/* Whose lock keeps part from locking: the byte (slot) of a holder, or -1 when none is seen. */
static off_t
conflict(int fd, int part)
{
	struct flock fl;

	if (getlk(fd, part < 0 ? F_WRLCK : F_RDLCK, 0, 1, &fl)) {
		if (fl.l_type == F_WRLCK)
			return 0;
		/* A shared hold of byte 0 is a part's: name one of them. */
		return getlk(fd, F_WRLCK, 1, 0, &fl) ? fl.l_start : -1;
	}
	if (part >= 0 && getlk(fd, F_WRLCK, byte_of(part), 1, &fl))
		return fl.l_start;
	return -1;
}

static void
read_slot(int fd, off_t byte, char *buf, size_t n)
{
	char slot[SLOT + 1];
	ssize_t got;
	char *nl;

	buf[0] = '\0';
	got = pread(fd, slot, SLOT, byte * SLOT);
	if (got <= 0)
		return;
	slot[got] = '\0';
	if ((nl = strchr(slot, '\n')) != NULL)
		*nl = '\0';
	/* A trailing run of blanks is the slot's padding. */
	for (size_t i = strlen(slot); i > 0 && slot[i - 1] == ' '; i--)
		slot[i - 1] = '\0';
	snprintf(buf, n, "%s", slot);
}

/* Try once: 0 locked, 1 held by another (holder in who), -1 error. */
static int
try_lock(int fd, int part, char *who, size_t n)
{
	off_t c;

	if (part < 0) {
		if (setlk(fd, F_WRLCK, 0) == 0)
			return 0;
	} else if (setlk(fd, F_RDLCK, 0) == 0) {
		if (setlk(fd, F_WRLCK, byte_of(part)) == 0)
			return 0;
		setlk(fd, F_UNLCK, 0);
	}
	if (errno != EAGAIN && errno != EACCES && errno != EINTR)
		return em_fail_errno("cannot lock");
	c = conflict(fd, part);
	if (c >= 0)
		read_slot(fd, c, who, n);
	else
		who[0] = '\0';
	return 1;
}

struct em_store_lock *
em_store_lock(const char *path, int part, double wait_s)
{
	char lp[EM_FETCH_PATH_MAX], who[SLOT + 1], slot[SLOT];
	struct em_store_lock *l = NULL;
	struct timespec step = {0, WAIT_STEP_NS};
	double waited = 0;
	int fd = -1, r, len;
	char host[256];

	if (lock_path(path, lp, sizeof(lp)) < 0)
		return NULL;
reopen:
	if ((fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0) {
		em_fail_errno("cannot open '%s'", lp);
		return NULL;
	}
	for (;;) {
		struct stat a, b;

		if ((r = try_lock(fd, part, who, sizeof(who))) < 0)
			goto fail;
		if (r == 0) {
			/*
			 * The holder before us may have removed the file (a run that
			 * left nothing of its volume): a lock on the removed file
			 * guards nothing, so take the one on the file there now.
			 */
			if (fstat(fd, &a) == 0 && stat(lp, &b) == 0 && a.st_ino == b.st_ino &&
			    a.st_dev == b.st_dev)
				break;
			close(fd);
			goto reopen;
		}
		if (em_interrupted() || (wait_s >= 0 && waited >= wait_s)) {
			if (who[0] != '\0') {
				char *sp = strchr(who, ' ');
				if (sp != NULL) {
					*sp = '\0';
					em_fail("'%s' is being written by pid %s on host %s%s", path, sp + 1,
					    who, wait_s > 0 ? " (waited for it)" : "");
				} else {
					em_fail("'%s' is being written by %s", path, who);
				}
			} else {
				em_fail("'%s' is being written by another process", path);
			}
			goto fail;
		}
		if (waited == 0)
			em_log(EM_LOG_INFO, "'%s' is being written by another process (%s); waiting",
			    path, who[0] ? who : "unknown");
		nanosleep(&step, NULL);
		waited += WAIT_STEP_NS / 1e9;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	memset(slot, ' ', sizeof(slot));
	len = snprintf(slot, sizeof(slot), "%s %ld", host, (long)getpid());
	if (len < 0 || len >= SLOT)
		len = SLOT - 1;
	slot[len] = ' ';
	slot[SLOT - 1] = '\n';
	/* A holder's slot is only written under its own lock, so slots never tear. */
	if (pwrite(fd, slot, SLOT, byte_of(part) * SLOT) != SLOT) {
		em_fail_errno("cannot write '%s'", lp);
		goto fail;
	}
	if ((l = malloc(sizeof(*l))) == NULL) {
		em_fail("out of memory");
		goto fail;
	}
	l->fd = fd;
	l->part = part;
	return l;
fail:
	close(fd);
	return NULL;
}

void
em_store_unlock_remove(struct em_store_lock *l, const char *path)
{
	char lp[EM_FETCH_PATH_MAX];

	if (l == NULL)
		return;
	/* Only a whole-store holder may: parts share the file. */
	if (l->part == EM_LOCK_WHOLE && lock_path(path, lp, sizeof(lp)) == 0)
		(void)unlink(lp);
	em_store_unlock(l);
}

void
em_store_unlock(struct em_store_lock *l)
{
	char blank[SLOT];

	if (l == NULL)
		return;
	memset(blank, ' ', sizeof(blank));
	blank[SLOT - 1] = '\n';
	if (pwrite(l->fd, blank, SLOT, byte_of(l->part) * SLOT) != SLOT)
		em_debug("cannot clear a lock slot: %s", strerror(errno));
	/* Closing the descriptor drops every lock taken through it. */
	close(l->fd);
	free(l);
}

int
em_store_lock_holder(const char *path, int part, char *buf, size_t n)
{
	char lp[EM_FETCH_PATH_MAX];
	off_t c;
	int fd;

	buf[0] = '\0';
	if (lock_path(path, lp, sizeof(lp)) < 0)
		return -1;
	if ((fd = open(lp, O_RDWR | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : em_fail_errno("cannot open '%s'", lp);
	if ((c = conflict(fd, part)) >= 0) {
		read_slot(fd, c, buf, n);
	}
	close(fd);
	return 0;
}
