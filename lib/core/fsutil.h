/* fsutil.h - atomic file replacement and directory creation */
#ifndef EM_FSUTIL_H
#define EM_FSUTIL_H

#include <stddef.h>

#define EM_ATOMIC_SYNC 0x1	/* fsync the file (and its directory) before and after rename */
#define EM_ATOMIC_EXCL 0x2	/* only if path is not there: commit returns 1 and writes nothing */
#define EM_ATOMIC_UNDO 0x4	/* commit keeps what em_atomic_undo() needs (em_atomic_commit) */

/*
 * Write data to path so that readers see either the old file or the whole
 * new one, never a part: the bytes go to a temporary name in the same
 * directory ("<path>.tmp.<pid>.<n>.<host>", unique per process and thread,
 * so several writers may race) which is renamed over path.  On failure the
 * temporary file is removed and path is untouched.  With EM_ATOMIC_EXCL:
 * 1 when a file has the name already (and path is untouched).
 */
int em_write_atomic(const char *path, const void *data, size_t len, int flags);

/*
 * The same for a file written by the caller: em_atomic_open() creates the
 * temporary file and returns its descriptor; em_atomic_commit() (optionally
 * fsyncs,) closes and renames it; em_atomic_abort() closes and removes it.
 * With EM_ATOMIC_EXCL the file takes the name only when no file has it (a
 * hard link, which never replaces): 1 when one has, and nothing changes.
 */
struct em_atomic {
	int fd;
	char *path;
	char *tmp;
	int undo;			/* EM_ATOMIC_UNDO: 1 committed, 2 and the old file at tmp */
	unsigned long long dev, ino;	/* the committed file's */
};
int em_atomic_open(struct em_atomic *a, const char *path);
int em_atomic_commit(struct em_atomic *a, int flags);
void em_atomic_abort(struct em_atomic *a);
/*
 * Files committed together, all or none: with EM_ATOMIC_UNDO a commit
 * keeps the file it replaced at a temporary name (the two names are
 * exchanged, renameat2 RENAME_EXCHANGE, or where the filesystem cannot,
 * the old file is linked there first) until em_atomic_abort() drops it
 * (all went well) or em_atomic_undo() puts it back (one failed); a commit
 * that replaced nothing is undone by removing the name.  Undo touches the
 * name only while it holds the file this commit put there: another
 * writer's, committed since, stays.  Where neither exchange nor hard links
 * work, the old file is not kept.  When the old file cannot be put back,
 * undo fails naming where it is kept.
 */
int em_atomic_undo(struct em_atomic *a);

/*
 * The pid in a temporary name em_atomic_open() made
 * ("<base>.tmp.<pid>.<n>.<host>", or "<base>.tmp.<pid>.<n>" as earlier
 * versions made them), or -1 when name is not one; base NULL: any base.
 * <host> is eight hex digits naming the machine and pid namespace (the
 * host name and /proc/self/ns/pid): a pid means something only there.
 */
long em_atomic_tmp_pid(const char *name, const char *base);
/* This process's <host>: eight hex digits and a NUL. */
const char *em_atomic_tmp_host(void);
/*
 * 1 when the temporary file name is one a writer that is gone left behind:
 * made here by a pid that no longer runs, or made elsewhere (another node of
 * a cluster, another container) and not modified for EM_TMP_FOREIGN_AGE
 * seconds, since its writer's pid cannot be checked from here.  mtime 0:
 * not known, and files made elsewhere are kept.
 */
#define EM_TMP_FOREIGN_AGE (24 * 3600)
int em_atomic_tmp_stale(const char *name, const char *base, long long mtime);

/* mkdir -p with mode 0777 (less umask); existing directories are fine. */
int em_mkdir_p(const char *path);
/* Write all n bytes to fd, retrying short writes and EINTR. */
int em_write_all(int fd, const void *p, size_t n);
/* 1 if path exists, 0 if not, -1 on another error. */
int em_exists(const char *path);
/*
 * path's modification time as "SECONDS.NANOSECONDS" (the version of a local
 * file a store's manifest keeps): 0, or -1 with the error set.
 */
int em_mtime_text(const char *path, char *out, size_t n);
/* Total size of the regular files under path (a file or a directory tree). */
int em_du(const char *path, unsigned long long *bytes);
/* Remove path and everything under it (symbolic links are removed, not followed); gone is fine. */
int em_remove_tree(const char *path);
/*
 * Put directory from in the place of directory to in one step, as readers
 * see it: to's old tree ends up at from (for the caller to remove).  Where
 * the filesystem cannot exchange two names atomically (renameat2
 * RENAME_EXCHANGE: not NFS before Linux 6.x, not every FUSE), to is first
 * renamed to from's name + ".old" and back on failure, so a reader may
 * find no directory at to for an instant, never a mix of the two trees.
 */
int em_swap_dirs(const char *from, const char *to);

#endif
