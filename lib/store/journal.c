/* journal.c - the chunks a store's writers finished, so a resumed run trusts only its own whole chunks */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/limits.h"
#include "store/journal.h"
#include "core/banned.h"

/* Sizes are kept in 32 bits (4 bytes a chunk in memory); a larger chunk is compared modulo that cap. */
#define SIZE_CAP UINT32_MAX

struct em_journal {
	uint32_t *size;		/* per chunk index; 0: not journaled */
	uint64_t nchunks;
	uint64_t count;
	int fd;			/* this run's journal, O_APPEND */
	pthread_mutex_t lock;
};

static uint32_t
capped(uint64_t bytes)
{
	return bytes >= SIZE_CAP ? SIZE_CAP : (uint32_t)bytes;
}

/* Read one journal file; lines that are torn or out of range are passed over. */
static int
load(struct em_journal *j, const char *path)
{
	char line[512];
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : em_fail_errno("cannot open '%s'", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		uint64_t idx, bytes;
		char key[256];
		size_t len = strlen(line);

		if (len == 0 || line[len - 1] != '\n')
			continue;
		if (sscanf(line, "%" SCNu64 " %255s %" SCNu64, &idx, key, &bytes) != 3)
			continue;
		if (idx >= j->nchunks || bytes == 0)
			continue;
		if (j->size[idx] == 0)
			j->count++;
		j->size[idx] = capped(bytes);
	}
	if (ferror(fp)) {
		fclose(fp);
		return em_fail_errno("cannot read '%s'", path);
	}
	fclose(fp);
	return 0;
}

/* Every "<array>.chunks" and "<array>.chunks.<part>" in the array's parent directory. */
static int
load_all(struct em_journal *j, const char *array_dir)
{
	char parent[EM_FETCH_PATH_MAX], path[EM_FETCH_PATH_MAX], base[256];
	const char *slash = strrchr(array_dir, '/');
	struct dirent *e;
	size_t blen;
	DIR *d;
	int rc = 0;

	if (slash == NULL) {
		snprintf(parent, sizeof(parent), ".");
		slash = array_dir - 1;
	} else if ((size_t)(slash - array_dir) >= sizeof(parent)) {
		return em_fail("path too long: '%s'", array_dir);
	} else {
		memcpy(parent, array_dir, (size_t)(slash - array_dir));
		parent[slash - array_dir] = '\0';
	}
	if ((size_t)snprintf(base, sizeof(base), "%s.chunks", slash + 1) >= sizeof(base))
		return em_fail("array name too long: '%s'", array_dir);
	blen = strlen(base);
	if ((d = opendir(parent)) == NULL)
		return errno == ENOENT ? 0 : em_fail_errno("cannot open '%s'", parent);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, base, blen) != 0)
			continue;
		if (e->d_name[blen] != '\0' && e->d_name[blen] != '.')
			continue;
		/* Temporary files of em_write_atomic are not journals. */
		if (strstr(e->d_name + blen, ".tmp.") != NULL)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) >= sizeof(path))
			continue;
		rc = load(j, path);
	}
	closedir(d);
	return rc;
}

struct em_journal *
em_journal_open(const char *array_dir, uint64_t nchunks, int part, int fresh)
{
	char path[EM_FETCH_PATH_MAX];
	struct em_journal *j;
	int n;

	if (nchunks > EM_JOURNAL_MAX_CHUNKS) {
		em_fail("%" PRIu64 " chunks is more than one writer keeps track of (%" PRIu64
		    "): use larger chunks, or shards", nchunks, (uint64_t)EM_JOURNAL_MAX_CHUNKS);
		return NULL;
	}
	if (part < 0)
		n = snprintf(path, sizeof(path), "%s.chunks", array_dir);
	else
		n = snprintf(path, sizeof(path), "%s.chunks.%d", array_dir, part);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		em_fail("path too long: '%s'", array_dir);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->size = calloc(nchunks ? nchunks : 1,
	    sizeof(*j->size))) == NULL) {
		free(j);
		em_fail("out of memory for a journal of %" PRIu64 " chunks", nchunks);
		return NULL;
	}
	j->nchunks = nchunks;
	j->fd = -1;
	pthread_mutex_init(&j->lock, NULL);
	if (!fresh && load_all(j, array_dir) < 0)
		goto fail;
	j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (fresh ? O_TRUNC : 0), 0666);
	if (j->fd < 0) {
		em_fail_errno("cannot open '%s'", path);
		goto fail;
	}
	return j;
fail:
	em_journal_close(j);
	return NULL;
}

void
em_journal_close(struct em_journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->lock);
	free(j->size);
	free(j);
}

int
em_journal_has(const struct em_journal *j, uint64_t index, uint64_t file_bytes)
{
	return index < j->nchunks && j->size[index] != 0 && j->size[index] == capped(file_bytes);
}

uint64_t
em_journal_count(const struct em_journal *j)
{
	return j->count;
}

int
em_journal_add(struct em_journal *j, uint64_t index, const char *key, uint64_t bytes)
{
	char line[320];
	int n, rc = 0;

	if (index >= j->nchunks || bytes == 0)
		return em_fail("chunk %" PRIu64 " of %" PRIu64 " cannot be journaled", index, j->nchunks);
	n = snprintf(line, sizeof(line), "%" PRIu64 " %s %" PRIu64 "\n", index, key, bytes);
	if (n < 0 || (size_t)n >= sizeof(line))
		return em_fail("chunk key too long: '%s'", key);
	pthread_mutex_lock(&j->lock);
	/* One write a line: O_APPEND puts each whole at the end, even with other writers. */
	if (em_write_all(j->fd, line, (size_t)n) < 0)
		rc = em_fail_errno("cannot append to the chunk journal");
	else {
		if (j->size[index] == 0)
			j->count++;
		j->size[index] = capped(bytes);
	}
	pthread_mutex_unlock(&j->lock);
	return rc;
}

void
em_journal_forget(struct em_journal *j, uint64_t index)
{
	if (index >= j->nchunks)
		return;
	pthread_mutex_lock(&j->lock);
	if (j->size[index] != 0)
		j->count--;
	j->size[index] = 0;
	pthread_mutex_unlock(&j->lock);
}
