/* lock.h - one writer per store (or per part of a store): a lock beside it that names its holder */
#ifndef EM_LOCK_H
#define EM_LOCK_H

#include <stddef.h>

/*
 * A store <path> is locked through the file "<path>.lock" beside it (not
 * inside: --overwrite swaps the store directory while the lock is held).
 * The lock is a POSIX record lock on an open file description (Linux OFD
 * locks, plain fcntl locks elsewhere), so:
 * - the kernel releases it when the holder dies, however it dies: a stale
 *   lock of a dead process cannot exist on a local filesystem, and none
 *   needs taking over;
 * - on NFS (v4, or v3 with lockd/statd) the server holds the lock and
 *   frees it when the holder's lease ends after its client crashed;
 *   Lustre needs the "flock" mount option, as for every fcntl lock.
 * A whole-store writer holds byte 0 exclusively; part I of N holds byte 0
 * shared and byte 1+I exclusively, so parts run side by side while a
 * whole-store writer excludes them all, and the same part never runs twice.
 * The file also holds, one 128-byte slot per locked byte, "host pid" of each
 * holder, so a refusal names who has the store.
 */
struct em_store_lock;

/* part < 0: the whole store; else part I (0-based) of a run split in parts. */
#define EM_LOCK_WHOLE (-1)

/*
 * Take the lock on path's store.  wait_s: how long to keep trying (every
 * 100 ms) while another holds it: 0 not at all, < 0 for ever; a signal
 * (core/interrupt.h) ends the wait.  On failure returns NULL with the error
 * text naming the holder ("'<path>' is being written by pid 123 on host h"),
 * or the system's reason.
 */
struct em_store_lock *em_store_lock(const char *path, int part, double wait_s);
/* Release and free (NULL is fine).  The lock file stays: removing it would race a waiter. */
void em_store_unlock(struct em_store_lock *l);

/*
 * Release a whole-store lock and remove its file, for a run that leaves
 * nothing of its volume behind (a waiter then takes the lock of a new file:
 * em_store_lock checks that the file it locked is still the one there).
 */
void em_store_unlock_remove(struct em_store_lock *l, const char *path);

/* "host pid" of the holder of the given part's lock (or the whole), "" when free. */
int em_store_lock_holder(const char *path, int part, char *buf, size_t n);

#endif
