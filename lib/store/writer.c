/* writer.c - stream a volume into a Zarr array: chunk and shard assembly, a compression pool, atomic resumable writes */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/bigmem.h"
#include "core/buf.h"
#include "store/codec.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "store/journal.h"
#include "store/shard.h"
#include "store/zarr.h"
#include "store/writer.h"
#include "core/banned.h"

#define MAX_JOBS 64
#define NBUCKETS 4096

struct job {
	struct job *next;
	uint64_t cidx[EM_ZARR_MAXDIM];
	unsigned char *data;	/* a full chunk, owned */
};

/* A chunk being assembled from boxes. */
struct pend {
	struct pend *next;
	uint64_t lin;		/* linear chunk index */
	uint64_t cidx[EM_ZARR_MAXDIM];
	unsigned char *data;	/* NULL: already in the store, the data is dropped */
	uint64_t got, need;	/* voxels arrived / voxels inside the array */
};

enum { MODE_NONE, MODE_PLANES, MODE_BOXES };

/* What became of an inner chunk of a shard being assembled. */
enum { IN_WAIT = 0, IN_PARKED, IN_DONE };

/*
 * A shard being assembled.  Its inner chunks are appended to a temporary
 * file in C order (so the same input gives the same bytes, whatever order
 * the pool finishes them in); one compressed out of turn is parked in
 * memory until those before it are in.  Planes come in that order, so
 * little waits.  With the last one the index goes at the end and the file
 * is renamed into place: a shard under its final name is whole.
 */
struct shard {
	struct shard *next;
	uint64_t lin;			/* linear shard index */
	uint64_t sidx[EM_ZARR_MAXDIM];
	uint64_t left;			/* inner chunks inside the array yet to arrive */
	uint64_t next_k;		/* the next inner chunk to append */
	uint64_t off;			/* bytes appended */
	unsigned char *state;		/* IN_* per inner chunk */
	unsigned char **parked;		/* compressed, waiting for its turn */
	size_t *plen;
	struct em_shard_entry *ent;
	int present;			/* already whole in the store: what arrives is dropped */
	int busy;			/* a thread is appending */
	int opened;			/* at holds the temporary file */
	struct em_atomic at;
	uint64_t chunks;		/* inner chunks stored */
};

struct em_zwriter {
	struct em_zarr *a;
	const struct em_zarr_meta *m;
	struct em_zwriter_opts o;
	size_t isz, cbytes, bound;
	uint64_t grid[EM_ZARR_MAXDIM];
	int mode;
	/* planes */
	unsigned char **rowc;	/* the chunks of the current chunk row */
	uint64_t per_row;	/* chunks in a chunk row */
	size_t plane_bytes;
	uint64_t next_z;
	/* boxes */
	struct pend *tab[NBUCKETS];
	uint64_t pending_bytes, npend;
	/* the queue and the pool */
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_space;
	struct job *head, *tail;
	int inflight, qmax, stop, failed;
	char err[1024];
	pthread_t th[MAX_JOBS];
	int nth;
	struct em_zwriter_stats st;
	uint64_t cur_mem;
	unsigned char **freel;	/* recycled chunk buffers */
	int nfree, freecap;
	unsigned char **blocks;	/* where chunk buffers are cut from (chunk_alloc) */
	int nblocks, capblocks;
	unsigned char *carve;	/* the next buffer of the newest block */
	uint64_t carve_left;	/* buffers left in it */
	/* sharded arrays */
	int sharded;
	uint64_t cps[EM_ZARR_MAXDIM];	/* chunks per shard along each dimension */
	uint64_t sgrid[EM_ZARR_MAXDIM];	/* shards along each dimension */
	uint64_t per_shard;
	/* --part: only the units [part_lo, part_hi) are written; planes come from z_first to z_end. */
	int parted;
	uint64_t part_lo, part_hi, z_first, z_end;
	pthread_mutex_t smu;		/* the shard table and the shards in it */
	uint64_t nparked;		/* chunks parked in shards (under mu) */
	struct shard *stab[NBUCKETS];
};

/* Memory in use grows by n (w->mu held); the peak follows. */
static void
mem_add_locked(struct em_zwriter *w, uint64_t n)
{
	w->cur_mem += n;
	if (w->cur_mem > w->st.peak_buffer)
		w->st.peak_buffer = w->cur_mem;
}

static void
mem_add(struct em_zwriter *w, uint64_t n)
{
	pthread_mutex_lock(&w->mu);
	mem_add_locked(w, n);
	pthread_mutex_unlock(&w->mu);
}

static void
mem_sub(struct em_zwriter *w, uint64_t n)
{
	pthread_mutex_lock(&w->mu);
	w->cur_mem -= n;
	pthread_mutex_unlock(&w->mu);
}

/*
 * Chunk buffers are cut from blocks of at least 4 MiB (em_big_alloc: huge
 * pages where the kernel has them) and recycled through a free list that
 * keeps every one; the blocks go when the writer does.  A fresh 256 KiB
 * buffer per chunk from malloc cost page faults and mmap churn, a quarter of
 * the writer's time; buffers malloc'd one by one still took a fault per 4 KiB
 * the first time (34,000 for a 1 GiB volume, 7% of the time on a virtual
 * machine whose first touch is slow).  Every buffer alive at once is kept, so
 * the peak is what it was.
 */
#define CHUNK_BLOCK_BYTES ((uint64_t)4 << 20)

static unsigned char *
chunk_alloc(struct em_zwriter *w)
{
	unsigned char *p = NULL, *b;
	uint64_t per = CHUNK_BLOCK_BYTES / w->cbytes;

	pthread_mutex_lock(&w->mu);
	if (w->nfree > 0) {
		p = w->freel[--w->nfree];
	} else if (w->carve_left > 0) {
		p = w->carve;
		w->carve += w->cbytes;
		w->carve_left--;
		mem_add_locked(w, w->cbytes);
	}
	pthread_mutex_unlock(&w->mu);
	if (p != NULL)
		return p;
	if (per < 1)
		per = 1;
	if ((b = em_big_alloc((size_t)(per * w->cbytes))) == NULL) {
		em_fail("out of memory for a chunk of %zu bytes", w->cbytes);
		return NULL;
	}
	pthread_mutex_lock(&w->mu);
	if (w->nblocks == w->capblocks) {
		int cap = w->capblocks ? 2 * w->capblocks : 16;
		unsigned char **nb = realloc(w->blocks, (size_t)cap * sizeof(*nb));
		if (nb == NULL) {
			pthread_mutex_unlock(&w->mu);
			free(b);
			em_fail("out of memory");
			return NULL;
		}
		w->blocks = nb;
		w->capblocks = cap;
	}
	w->blocks[w->nblocks++] = b;
	/*
	 * Two threads that found no buffer at once each made a block: the first
	 * block's rest is cut, the second's stays unused (never touched, so it
	 * costs address space, not memory).
	 */
	if (w->carve_left == 0) {
		w->carve = b + w->cbytes;
		w->carve_left = per - 1;
	}
	mem_add_locked(w, w->cbytes);
	pthread_mutex_unlock(&w->mu);
	return b;
}

static void
chunk_release(struct em_zwriter *w, unsigned char *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->nfree == w->freecap) {
		int cap = 2 * w->freecap + 16;
		unsigned char **nf = realloc(w->freel, (size_t)cap * sizeof(*nf));
		if (nf == NULL) {	/* the buffer stays in its block, unused */
			pthread_mutex_unlock(&w->mu);
			return;
		}
		w->freel = nf;
		w->freecap = cap;
	}
	w->freel[w->nfree++] = p;
	pthread_mutex_unlock(&w->mu);
}

/* Record the first failure (the error text is per thread, so copy it). */
static void
set_failed(struct em_zwriter *w)
{
	pthread_mutex_lock(&w->mu);
	if (!w->failed) {
		__atomic_store_n(&w->failed, 1, __ATOMIC_RELAXED);
		snprintf(w->err, sizeof(w->err), "%s", em_errmsg());
	}
	pthread_cond_broadcast(&w->cv_space);
	pthread_mutex_unlock(&w->mu);
}

static int
all_fill(const struct em_zwriter *w, const unsigned char *p)
{
	size_t i, n = w->cbytes / w->isz;

	for (i = 0; i < n; i++)
		if (memcmp(p + i * w->isz, w->m->fill, w->isz) != 0)
			return 0;
	return 1;
}

static int
chunk_file(const struct em_zwriter *w, const uint64_t *cidx, char *buf, size_t n)
{
	const char *dir = em_zarr_path(w->a);
	size_t len = strlen(dir);

	if (len + 2 >= n)
		return em_fail("path too long");
	memcpy(buf, dir, len);
	buf[len] = '/';
	if (em_zarr_chunk_key(w->m, cidx, buf + len + 1, n - len - 1) == NULL)
		return em_fail("path too long");
	return 0;
}

static uint64_t
lin_index(const struct em_zwriter *w, const uint64_t *ci)
{
	uint64_t l = 0;
	int i;

	for (i = 0; i < w->m->ndim; i++)
		l = l * w->grid[i] + ci[i];
	return l;
}

uint64_t
em_part_units(const struct em_zarr_meta *m)
{
	uint64_t g[EM_ZARR_MAXDIM], n = 1;
	int i;

	if (em_zarr_sharded(m))
		em_zarr_shard_grid(m, g);
	else
		em_zarr_grid(m, g);
	for (i = 0; i < m->ndim; i++)
		n *= g[i];
	return n;
}

/* floor(a * b / c), exact and without overflow for b <= c <= 100000. */
static uint64_t
muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	return a / c * b + a % c * b / c;
}

void
em_part_range(uint64_t units, int index, int count, uint64_t *lo, uint64_t *hi)
{
	if (count <= 0 || index < 1 || index > count) {
		*lo = 0;
		*hi = units;
		return;
	}
	*lo = muldiv(units, (uint64_t)index - 1, (uint64_t)count);
	*hi = muldiv(units, (uint64_t)index, (uint64_t)count);
}

uint64_t
em_part_unit_of(const struct em_zarr_meta *m, const uint64_t *cidx)
{
	uint64_t g[EM_ZARR_MAXDIM], l = 0;
	int i, sh = em_zarr_sharded(m);

	if (sh)
		em_zarr_shard_grid(m, g);
	else
		em_zarr_grid(m, g);
	for (i = 0; i < m->ndim; i++)
		l = l * g[i] + (sh ? cidx[i] / (m->shard[i] / m->chunks[i]) : cidx[i]);
	return l;
}

void
em_part_planes(const struct em_zarr_meta *m, int index, int count, uint64_t *z0, uint64_t *z1)
{
	uint64_t g[EM_ZARR_MAXDIM], lo, hi, slab = 1, depth;
	int i;

	if (em_zarr_sharded(m)) {
		em_zarr_shard_grid(m, g);
		depth = m->shard[0];
	} else {
		em_zarr_grid(m, g);
		depth = m->chunks[0];
	}
	for (i = 1; i < m->ndim; i++)
		slab *= g[i];
	em_part_range(em_part_units(m), index, count, &lo, &hi);
	if (lo >= hi) {
		*z0 = *z1 = 0;
		return;
	}
	*z0 = lo / slab * depth;
	*z1 = ((hi - 1) / slab + 1) * depth;
	if (*z1 > m->shape[0])
		*z1 = m->shape[0];
}

uint64_t
em_part_nchunks(const struct em_zarr_meta *m, int index, int count)
{
	uint64_t g[EM_ZARR_MAXDIM], sg[EM_ZARR_MAXDIM], lo, hi, u, n = 0, per;
	int i;

	if (count <= 0)
		return em_zarr_nchunks(m);
	if (!em_zarr_sharded(m)) {
		em_part_range(em_part_units(m), index, count, &lo, &hi);
		return hi - lo;
	}
	/* Shards at the array's edge hold fewer chunks: count each shard's. */
	em_zarr_grid(m, g);
	em_zarr_shard_grid(m, sg);
	em_part_range(em_part_units(m), index, count, &lo, &hi);
	for (u = lo; u < hi; u++) {
		uint64_t rest = u;
		for (per = 1, i = m->ndim - 1; i >= 0; i--) {
			uint64_t cps = m->shard[i] / m->chunks[i], s = rest % sg[i], c0 = s * cps;
			rest /= sg[i];
			per *= g[i] - c0 < cps ? g[i] - c0 : cps;
		}
		n += per;
	}
	return n;
}

/* Whether chunk cidx is one this writer's part writes. */
static int
in_part(const struct em_zwriter *w, const uint64_t *cidx)
{
	uint64_t u;

	if (!w->parted)
		return 1;
	u = em_part_unit_of(w->m, cidx);
	return u >= w->part_lo && u < w->part_hi;
}

/*
 * Whether chunk cidx is already in the store.  With a journal, only a file
 * of the size this store's writers recorded counts: one cut short, or put
 * there by another program, is written again.  Without one, a regular file
 * under the chunk's name counts (chunks are renamed into place when whole).
 * verify: also decode it.
 */
static int
chunk_present(const struct em_zwriter *w, const uint64_t *cidx)
{
	char path[4096];
	struct stat st;

	if (w->o.journal == NULL)
		return em_zarr_chunk_present(w->a, cidx, w->o.verify);
	if (chunk_file(w, cidx, path, sizeof(path)) < 0)
		return -1;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return em_fail_errno("cannot stat chunk '%s'", path);
	}
	if (!S_ISREG(st.st_mode)
	    || !em_journal_has(w->o.journal, lin_index(w, cidx), (uint64_t)st.st_size)) {
		em_debug("chunk '%s' is not one this store's writers finished: writing it again", path);
		return 0;
	}
	return w->o.verify ? em_zarr_chunk_present(w->a, cidx, 1) : 1;
}

static int
open_tmp(struct em_atomic *at, const char *path)
{
	char parent[4096];
	char *slash;

	if (em_atomic_open(at, path) == 0)
		return 0;
	/* The first chunk of a nested ('/') key: make its directories. */
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	if (em_mkdir_p(parent) < 0)
		return -1;
	return em_atomic_open(at, path);
}

static int
write_job(struct em_zwriter *w, struct em_codec_ctx *cx, unsigned char *out, struct job *j)
{
	char path[4096];
	struct em_atomic at;
	size_t olen = 0;
	int present;

	if (chunk_file(w, j->cidx, path, sizeof(path)) < 0)
		return -1;
	if (!w->o.no_resume) {
		present = chunk_present(w, j->cidx);
		if (present < 0)
			return -1;
		if (present) {
			pthread_mutex_lock(&w->mu);
			w->st.chunks_present++;
			pthread_mutex_unlock(&w->mu);
			return 0;
		}
	}
	if (w->o.skip_fill && all_fill(w, j->data)) {
		pthread_mutex_lock(&w->mu);
		w->st.chunks_fill++;
		pthread_mutex_unlock(&w->mu);
		if (w->o.no_resume && unlink(path) < 0 && errno != ENOENT)
			return em_fail_errno("cannot remove '%s'", path);
		return 0;
	}
	if (em_codec_encode(cx, &w->m->codec, j->data, w->cbytes, out, w->bound, &olen) < 0)
		return em_fail_ctx("cannot compress chunk '%s'", path);
	if (open_tmp(&at, path) < 0)
		return -1;
	if (em_write_all(at.fd, out, olen) < 0) {
		em_fail_ctx("cannot write '%s'", at.tmp);
		em_atomic_abort(&at);
		return -1;
	}
	/* Testing: hold the half-done temporary file, so a kill can leave one behind. */
	if (w->o.throttle_ms > 0) {
		struct timespec ts = { (time_t)(w->o.throttle_ms / 1000),
		    (long)(w->o.throttle_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (em_atomic_commit(&at, w->o.sync ? EM_ATOMIC_SYNC : 0) < 0)
		return -1;
	if (w->o.journal != NULL && em_journal_add(w->o.journal, lin_index(w, j->cidx),
	    path + strlen(em_zarr_path(w->a)) + 1, olen) < 0)
		return -1;
	pthread_mutex_lock(&w->mu);
	w->st.chunks_written++;
	w->st.bytes_in += w->cbytes;
	w->st.bytes_out += olen;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* ---- shards ---- */

/*
 * A chunk compressed out of turn is parked (+1) until the one before it is
 * in (-1).  Planes mode counts parked chunks against the queue, so they
 * stay within the memory the queue was given: the chunk they wait for was
 * queued before them (rows come in order), so it is being worked on and
 * they cannot wait forever.  Boxes may come in any order, so there they
 * are only counted in peak_buffer.
 */
static void
park(struct em_zwriter *w, size_t n, int d)
{
	pthread_mutex_lock(&w->mu);
	if (d > 0) {
		w->nparked++;
		w->cur_mem += n;
		if (w->cur_mem > w->st.peak_buffer)
			w->st.peak_buffer = w->cur_mem;
	} else {
		w->nparked--;
		w->cur_mem -= n;
		pthread_cond_broadcast(&w->cv_space);
	}
	pthread_mutex_unlock(&w->mu);
}

static uint64_t
shard_lin(const struct em_zwriter *w, const uint64_t *sidx)
{
	uint64_t l = 0;
	int i;

	for (i = 0; i < w->m->ndim; i++)
		l = l * w->sgrid[i] + sidx[i];
	return l;
}

/* Chunk cidx's shard and its place (C order) among the shard's inner chunks. */
static void
shard_of(const struct em_zwriter *w, const uint64_t *cidx, uint64_t *sidx, uint64_t *k)
{
	int i;

	*k = 0;
	for (i = 0; i < w->m->ndim; i++) {
		sidx[i] = cidx[i] / w->cps[i];
		*k = *k * w->cps[i] + cidx[i] % w->cps[i];
	}
}

/*
 * Whether shard sidx is already in the store, by the rule chunk_present()
 * applies to chunk files: with a journal only a shard of the size it
 * recorded (the journal is keyed by shard index for sharded arrays), else
 * a whole shard file (its index read, the crc32c checked).
 */
static int
shard_present(const struct em_zwriter *w, const uint64_t *sidx)
{
	char path[4096];
	struct stat st;

	if (w->o.journal == NULL)
		return em_zarr_shard_present(w->a, sidx, w->o.verify);
	if (chunk_file(w, sidx, path, sizeof(path)) < 0)
		return -1;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return em_fail_errno("cannot stat shard '%s'", path);
	}
	if (!S_ISREG(st.st_mode)
	    || !em_journal_has(w->o.journal, shard_lin(w, sidx), (uint64_t)st.st_size)) {
		em_debug("shard '%s' is not one this store's writers finished: writing it again", path);
		return 0;
	}
	return w->o.verify ? em_zarr_shard_present(w->a, sidx, 1) : 1;
}

static void
shard_free(struct em_zwriter *w, struct shard *sh)
{
	uint64_t k;

	if (sh == NULL)
		return;
	if (sh->opened)
		em_atomic_abort(&sh->at);
	for (k = 0; sh->parked != NULL && k < w->per_shard; k++)
		if (sh->parked[k] != NULL) {
			park(w, sh->plen[k], -1);
			free(sh->parked[k]);
		}
	free(sh->state);
	free(sh->parked);
	free(sh->plen);
	free(sh->ent);
	free(sh);
}

/* The shard sidx from the table, made on its first chunk (smu held); NULL on error. */
static struct shard *
shard_get(struct em_zwriter *w, const uint64_t *sidx)
{
	uint64_t lin = shard_lin(w, sidx), k, rest, c;
	struct shard *sh;
	int i, inside, present = 0;

	for (sh = w->stab[lin % NBUCKETS]; sh != NULL; sh = sh->next)
		if (sh->lin == lin)
			return sh;
	if (!w->o.no_resume && (present = shard_present(w, sidx)) < 0)
		return NULL;
	if ((sh = calloc(1, sizeof(*sh))) == NULL ||
	    (!present && ((sh->state = calloc((size_t)w->per_shard, 1)) == NULL ||
	    (sh->parked = calloc((size_t)w->per_shard, sizeof(*sh->parked))) == NULL ||
	    (sh->plen = calloc((size_t)w->per_shard, sizeof(*sh->plen))) == NULL ||
	    (sh->ent = malloc((size_t)w->per_shard * sizeof(*sh->ent))) == NULL))) {
		shard_free(w, sh);
		em_fail("out of memory");
		return NULL;
	}
	sh->lin = lin;
	memcpy(sh->sidx, sidx, sizeof(sh->sidx));
	sh->present = present;
	sh->at.fd = -1;
	/* The inner chunks beyond the array's edge never come: stored as missing. */
	for (k = 0; k < w->per_shard; k++) {
		for (rest = k, inside = 1, i = w->m->ndim - 1; i >= 0; i--) {
			c = sidx[i] * w->cps[i] + rest % w->cps[i];
			rest /= w->cps[i];
			if (c >= w->grid[i])
				inside = 0;
		}
		if (inside)
			sh->left++;
		else if (!present)
			sh->state[k] = IN_DONE;
		if (!present) {
			sh->ent[k].offset = EM_SHARD_MISSING;
			sh->ent[k].nbytes = EM_SHARD_MISSING;
		}
	}
	sh->next = w->stab[lin % NBUCKETS];
	w->stab[lin % NBUCKETS] = sh;
	return sh;
}

static void
shard_remove(struct em_zwriter *w, struct shard *sh)
{
	struct shard **pp = &w->stab[sh->lin % NBUCKETS];

	while (*pp != sh)
		pp = &(*pp)->next;
	*pp = sh->next;
}

/* Append inner chunk k (n bytes) to the shard's temporary file (only the busy thread). */
static int
shard_append(struct em_zwriter *w, struct shard *sh, uint64_t k, const void *p, size_t n)
{
	char path[4096];

	if (!sh->opened) {
		if (chunk_file(w, sh->sidx, path, sizeof(path)) < 0 || open_tmp(&sh->at, path) < 0)
			return -1;
		sh->opened = 1;
	} else if (sh->at.fd < 0 &&
	    (sh->at.fd = open(sh->at.tmp, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0) {
		return em_fail_errno("cannot open '%s'", sh->at.tmp);
	}
	if (em_write_all(sh->at.fd, p, n) < 0)
		return em_fail_ctx("cannot write '%s'", sh->at.tmp);
	sh->ent[k].offset = sh->off;
	sh->ent[k].nbytes = n;
	sh->off += n;
	sh->chunks++;
	return 0;
}

/* All inner chunks are in: the index at the end, then the rename (sh is out of the table). */
static int
shard_finish(struct em_zwriter *w, struct shard *sh)
{
	size_t ib = em_shard_index_bytes(w->per_shard, 1);
	unsigned char *idx = NULL;
	char path[4096];
	int rc = -1;

	if (chunk_file(w, sh->sidx, path, sizeof(path)) < 0)
		return -1;
	if (!sh->opened) {
		/* Every chunk was fill (skip_fill): no shard, as no chunk file unsharded. */
		if (w->o.no_resume && unlink(path) < 0 && errno != ENOENT)
			return em_fail_errno("cannot remove '%s'", path);
		return 0;
	}
	if ((idx = malloc(ib)) == NULL)
		return em_fail("out of memory");
	em_shard_index_encode(sh->ent, w->per_shard, 1, idx);
	if (sh->at.fd < 0 && (sh->at.fd = open(sh->at.tmp, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0) {
		em_fail_errno("cannot open '%s'", sh->at.tmp);
		goto out;
	}
	if (em_write_all(sh->at.fd, idx, ib) < 0) {
		em_fail_ctx("cannot write '%s'", sh->at.tmp);
		goto out;
	}
	/* Testing: hold the half-done temporary file, so a kill can leave one behind. */
	if (w->o.throttle_ms > 0) {
		struct timespec ts = { (time_t)(w->o.throttle_ms / 1000),
		    (long)(w->o.throttle_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	sh->opened = 0;
	if (em_atomic_commit(&sh->at, w->o.sync ? EM_ATOMIC_SYNC : 0) < 0)
		goto out;
	if (w->o.journal != NULL && em_journal_add(w->o.journal, sh->lin,
	    path + strlen(em_zarr_path(w->a)) + 1, sh->off + ib) < 0)
		goto out;
	pthread_mutex_lock(&w->mu);
	w->st.shards_written++;
	w->st.bytes_out += ib;
	pthread_mutex_unlock(&w->mu);
	rc = 0;
out:
	free(idx);
	return rc;
}

/*
 * A full chunk of a sharded array: dropped if its shard is already in the
 * store, else compressed (out, bound bytes) and appended to its shard or
 * parked until its turn; the thread that appends the last one finishes
 * the shard.
 */
static int
write_job_sharded(struct em_zwriter *w, struct em_codec_ctx *cx, unsigned char *out,
    struct job *j)
{
	uint64_t sidx[EM_ZARR_MAXDIM], k;
	struct shard *sh;
	size_t olen = 0;
	int fill, direct = 0, rc = 0;

	shard_of(w, j->cidx, sidx, &k);
	pthread_mutex_lock(&w->smu);
	if ((sh = shard_get(w, sidx)) == NULL) {
		pthread_mutex_unlock(&w->smu);
		return -1;
	}
	if (sh->present) {
		if (--sh->left == 0) {
			shard_remove(w, sh);
			shard_free(w, sh);
		}
		pthread_mutex_unlock(&w->smu);
		pthread_mutex_lock(&w->mu);
		w->st.chunks_present++;
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	pthread_mutex_unlock(&w->smu);
	fill = w->o.skip_fill && all_fill(w, j->data);
	if (!fill && em_codec_encode(cx, &w->m->codec, j->data, w->cbytes, out, w->bound,
	    &olen) < 0) {
		char key[256];
		return em_fail_ctx("cannot compress a chunk of shard '%s'",
		    em_zarr_chunk_key(w->m, sidx, key, sizeof(key)) ? key : "?");
	}
	pthread_mutex_lock(&w->mu);
	if (fill) {
		w->st.chunks_fill++;
	} else {
		w->st.chunks_written++;
		w->st.bytes_in += w->cbytes;
		w->st.bytes_out += olen;
	}
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_lock(&w->smu);
	sh->left--;
	if (fill) {
		sh->state[k] = IN_DONE;
	} else if (!sh->busy && sh->next_k == k) {
		direct = 1;	/* its turn: straight from out, no copy */
	} else {
		if ((sh->parked[k] = malloc(olen ? olen : 1)) == NULL) {
			pthread_mutex_unlock(&w->smu);
			return em_fail("out of memory");
		}
		memcpy(sh->parked[k], out, olen);
		sh->plen[k] = olen;
		sh->state[k] = IN_PARKED;
		park(w, olen, 1);
	}
	if (sh->busy || (!direct && sh->state[sh->next_k] == IN_WAIT)) {
		/* The busy thread appends ours too, or it waits for one before it. */
		pthread_mutex_unlock(&w->smu);
		return 0;
	}
	sh->busy = 1;
	if (direct) {
		pthread_mutex_unlock(&w->smu);
		rc = shard_append(w, sh, k, out, olen);
		pthread_mutex_lock(&w->smu);
		sh->state[k] = IN_DONE;
		sh->next_k++;
	}
	while (rc == 0 && sh->next_k < w->per_shard && sh->state[sh->next_k] != IN_WAIT) {
		uint64_t kk = sh->next_k;
		if (sh->state[kk] == IN_PARKED) {
			unsigned char *d = sh->parked[kk];
			size_t n = sh->plen[kk];
			sh->parked[kk] = NULL;
			sh->state[kk] = IN_DONE;
			pthread_mutex_unlock(&w->smu);
			rc = shard_append(w, sh, kk, d, n);
			free(d);
			park(w, n, -1);
			pthread_mutex_lock(&w->smu);
		}
		sh->next_k++;
	}
	if (rc == 0 && sh->next_k == w->per_shard) {
		shard_remove(w, sh);
		pthread_mutex_unlock(&w->smu);
		rc = shard_finish(w, sh);
		shard_free(w, sh);
		return rc;
	}
	/* Not done: give the descriptor back (a row of shards may be wider than the fd limit). */
	if (sh->at.fd >= 0) {
		close(sh->at.fd);
		sh->at.fd = -1;
	}
	sh->busy = 0;
	pthread_mutex_unlock(&w->smu);
	return rc;
}

static void *
worker(void *arg)
{
	struct em_zwriter *w = arg;
	struct em_codec_ctx *cx = em_codec_ctx_new();
	unsigned char *out = malloc(w->bound);
	int ok = cx != NULL && out != NULL;

	if (!ok) {
		em_fail("out of memory");
		set_failed(w);
	} else {
		mem_add(w, w->bound);
	}
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *j;
		int rc;
		while (w->head == NULL && !w->stop)
			pthread_cond_wait(&w->cv_work, &w->mu);
		if (w->head == NULL)
			break;
		j = w->head;
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		/* After a failure the rest of the queue is dropped: a re-run writes it. */
		rc = ok && !__atomic_load_n(&w->failed, __ATOMIC_RELAXED) ?
		    (w->sharded ? write_job_sharded(w, cx, out, j) : write_job(w, cx, out, j)) : 0;
		if (rc < 0)
			set_failed(w);
		chunk_release(w, j->data);
		free(j);
		pthread_mutex_lock(&w->mu);
		w->inflight--;
		pthread_cond_broadcast(&w->cv_space);
	}
	pthread_mutex_unlock(&w->mu);
	if (ok)
		mem_sub(w, w->bound);
	free(out);
	em_codec_ctx_free(cx);
	return NULL;
}

static int
failure(struct em_zwriter *w)
{
	char msg[sizeof(w->err)];

	pthread_mutex_lock(&w->mu);
	snprintf(msg, sizeof(msg), "%s", w->err);
	pthread_mutex_unlock(&w->mu);
	return em_fail("%s", msg);
}

/* Hand a full chunk (data owned, counted in cur_mem) to the pool; blocks while the queue is full. */
static int
submit(struct em_zwriter *w, const uint64_t *cidx, unsigned char *data)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		chunk_release(w, data);
		return em_fail("out of memory");
	}
	memcpy(j->cidx, cidx, sizeof(j->cidx));
	j->data = data;
	pthread_mutex_lock(&w->mu);
	while ((uint64_t)w->inflight + (w->mode == MODE_PLANES ? w->nparked : 0) >=
	    (uint64_t)w->qmax && !w->failed)
		pthread_cond_wait(&w->cv_space, &w->mu);
	if (w->failed) {
		pthread_mutex_unlock(&w->mu);
		chunk_release(w, j->data);
		free(j);
		return failure(w);
	}
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->inflight++;
	pthread_cond_signal(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static void
stop_pool(struct em_zwriter *w)
{
	int i;

	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->nth; i++)
		pthread_join(w->th[i], NULL);
	w->nth = 0;
}

uint64_t
em_zwriter_min_memory(const struct em_zarr_meta *m, int jobs, const uint64_t *box)
{
	uint64_t cb = em_zarr_chunk_bytes(m), g[EM_ZARR_MAXDIM], need, n, shards = 0;
	uint64_t bound;
	int i;

	if (jobs < 1)
		jobs = 1;
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	bound = em_codec_bound(&m->codec, cb);
	/* The queue's chunks, plus the one the caller fills while it waits for room. */
	need = (uint64_t)jobs * bound + (2 * (uint64_t)jobs + 1) * cb;
	em_zarr_grid(m, g);
	if (em_zarr_sharded(m)) {
		/*
		 * Shards being assembled: the index and bookkeeping of each (one
		 * row of shards, planes; the rows a row of boxes touches), and
		 * the chunks compressed out of turn, parked until the one before
		 * them is in - one per worker, as the pool takes chunks in order.
		 */
		uint64_t sg[EM_ZARR_MAXDIM], per = 1;
		em_zarr_shard_grid(m, sg);
		for (i = 0; i < m->ndim; i++)
			per *= m->shard[i] / m->chunks[i];
		shards = box == NULL ? 1 : box[0] / m->shard[0] + 2;
		if (shards > sg[0])
			shards = sg[0];
		for (i = 1; i < m->ndim; i++)
			shards *= sg[i];
		need += shards * per * (sizeof(struct em_shard_entry) + 2 * sizeof(void *) + 1) +
		    (uint64_t)jobs * bound;
	}
	if (box == NULL) {
		/* The chunks of one chunk row (edge chunks full size). */
		for (n = 1, i = 1; i < m->ndim; i++)
			n *= g[i];
		return need + n * cb;
	}
	n = box[0] / m->chunks[0] + 2;
	if (n > g[0])
		n = g[0];
	for (i = 1; i < m->ndim; i++)
		n *= g[i];
	return need + n * cb;
}

struct em_zwriter *
em_zwriter_new(struct em_zarr *a, const struct em_zwriter_opts *o)
{
	struct em_zwriter *w = calloc(1, sizeof(*w));
	uint64_t removed = 0;
	int i;

	if (w == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	w->a = a;
	w->m = em_zarr_meta(a);
	if (o != NULL)
		w->o = *o;
	if (w->m->big_endian || w->m->order_f) {
		free(w);
		em_fail("the writer writes little-endian C-order arrays only");
		return NULL;
	}
	if (w->o.jobs < 1)
		w->o.jobs = 1;
	if (w->o.jobs > MAX_JOBS)
		w->o.jobs = MAX_JOBS;
	w->isz = em_zarr_itemsize(a);
	w->cbytes = em_zarr_chunk_bytes(w->m);
	w->bound = em_codec_bound(&w->m->codec, w->cbytes);
	em_zarr_grid(w->m, w->grid);
	if (em_zarr_sharded(w->m)) {
		w->sharded = 1;
		w->per_shard = 1;
		em_zarr_shard_grid(w->m, w->sgrid);
		for (i = 0; i < w->m->ndim; i++) {
			w->cps[i] = w->m->shard[i] / w->m->chunks[i];
			w->per_shard *= w->cps[i];
		}
	}
	w->z_end = w->m->shape[0];
	if (w->o.part_count > 0) {
		if (w->o.part_index < 1 || w->o.part_index > w->o.part_count) {
			em_fail("part %d of %d does not exist", w->o.part_index, w->o.part_count);
			free(w);
			return NULL;
		}
		w->parted = 1;
		em_part_range(em_part_units(w->m), w->o.part_index, w->o.part_count,
		    &w->part_lo, &w->part_hi);
		em_part_planes(w->m, w->o.part_index, w->o.part_count, &w->z_first, &w->z_end);
		w->next_z = w->z_first;
	}
	w->plane_bytes = w->isz;
	w->per_row = 1;
	for (i = 1; i < w->m->ndim; i++) {
		w->plane_bytes *= (size_t)w->m->shape[i];
		w->per_row *= w->grid[i];
	}
	/*
	 * Queue: 2 * jobs chunks keep the pool busy; one more chunk row lets
	 * the caller fill the next row while this one is compressed.  A
	 * memory bound takes back what it must of that extra row.
	 */
	{
		uint64_t minq = 2 * (uint64_t)w->o.jobs, q = minq + w->per_row;
		uint64_t need = em_zwriter_min_memory(w->m, w->o.jobs, NULL);
		if (w->o.max_memory > 0) {
			uint64_t extra = w->o.max_memory > need ? (w->o.max_memory - need) / w->cbytes : 0;
			if (extra < w->per_row)
				q = minq + extra;
		}
		w->qmax = q > 1 << 20 ? 1 << 20 : (int)q;
		/* Boxes: what the budget leaves after the pool and the queue holds partial chunks. */
		if (w->o.max_memory > 0 && w->o.max_pending == 0) {
			uint64_t base = (uint64_t)w->o.jobs * w->bound + (minq + 1) * w->cbytes;
			w->o.max_pending = w->o.max_memory > base + w->cbytes ?
			    w->o.max_memory - base : w->cbytes;
		}
		w->freecap = w->qmax + 1;
		if ((w->freel = calloc((size_t)w->freecap, sizeof(*w->freel))) == NULL) {
			free(w);
			em_fail("out of memory");
			return NULL;
		}
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->smu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_space, NULL);
	if (em_zarr_clean_tmp(em_zarr_path(a), 0, &removed) < 0)
		goto fail;
	if (removed > 0)
		em_log(EM_LOG_INFO, "removed %llu temporary files of an interrupted run",
		    (unsigned long long)removed);
	for (i = 0; i < w->o.jobs; i++) {
		if (pthread_create(&w->th[i], NULL, worker, w) != 0) {
			em_fail("cannot start a writer thread");
			goto fail;
		}
		w->nth++;
	}
	return w;
fail:
	em_zwriter_free(w);
	return NULL;
}

/* Chunk k of the current row: its index and the part of it inside the array. */
static int
row_chunk(const struct em_zwriter *w, uint64_t r, uint64_t k, uint64_t *ci, uint64_t *cnt)
{
	const struct em_zarr_meta *m = w->m;
	int n = m->ndim, i, edge = 0;

	ci[0] = r;
	for (i = n - 1; i >= 1; i--) {
		ci[i] = k % w->grid[i];
		k /= w->grid[i];
	}
	for (i = 0; i < n; i++) {
		uint64_t lo = ci[i] * m->chunks[i];
		cnt[i] = m->shape[i] - lo < m->chunks[i] ? m->shape[i] - lo : m->chunks[i];
		if (cnt[i] < m->chunks[i])
			edge = 1;
	}
	return edge;
}

/*
 * Copy planes z0 .. z0+nz (all in chunk row r) straight into the row's
 * chunk buffers: one pass over the data, no intermediate row copy.
 */
static int
fill_row(struct em_zwriter *w, uint64_t r, uint64_t z0, uint64_t nz, const unsigned char *src)
{
	const struct em_zarr_meta *m = w->m;
	uint64_t k, ci[EM_ZARR_MAXDIM], cnt[EM_ZARR_MAXDIM], so[EM_ZARR_MAXDIM];
	uint64_t dof[EM_ZARR_MAXDIM] = { 0 }, ssh[EM_ZARR_MAXDIM];
	int n = m->ndim, i;

	ssh[0] = nz;
	for (i = 1; i < n; i++)
		ssh[i] = m->shape[i];
	for (k = 0; k < w->per_row; k++) {
		int edge = row_chunk(w, r, k, ci, cnt);
		if (!in_part(w, ci))
			continue;	/* another part's chunk */
		if (w->rowc[k] == NULL) {
			if ((w->rowc[k] = chunk_alloc(w)) == NULL)
				return -1;
			/* Zarr stores edge chunks full size; the part outside the array is fill. */
			if (edge)
				em_zarr_fill(w->rowc[k], w->cbytes / w->isz, w->isz, m->fill);
		}
		so[0] = 0;
		for (i = 1; i < n; i++)
			so[i] = ci[i] * m->chunks[i];
		cnt[0] = nz;
		dof[0] = z0 - r * m->chunks[0];
		em_zarr_copy_box(n, w->isz, w->rowc[k], m->chunks, dof, src, ssh, so, cnt);
	}
	return 0;
}

/*
 * Queue the chunks of the finished row.  Chunk files are queued column by
 * column (the last index outermost), so the chunks the threads take one after
 * another lie in different directories of a '/' key layout: creating and
 * renaming a file locks its directory, and threads writing into the same one
 * spend their time waiting on each other in the kernel.  A sharded array
 * takes its chunks in C order, the order its shards are appended in.
 */
static int
submit_row(struct em_zwriter *w, uint64_t r)
{
	uint64_t i, k, ci[EM_ZARR_MAXDIM], cnt[EM_ZARR_MAXDIM];
	uint64_t gx = w->m->ndim > 1 ? w->grid[w->m->ndim - 1] : 1, ny = w->per_row / gx;
	int rc = 0;

	for (i = 0; i < w->per_row; i++) {
		unsigned char *c;

		k = w->sharded ? i : (i % ny) * gx + i / ny;
		c = w->rowc[k];
		row_chunk(w, r, k, ci, cnt);
		w->rowc[k] = NULL;
		if (c == NULL)
			continue;	/* another part's chunk */
		if (rc == 0 && submit(w, ci, c) < 0)
			rc = -1;
		else if (rc < 0)
			chunk_release(w, c);
	}
	return rc;
}

int
em_zwriter_put_planes(struct em_zwriter *w, uint64_t z0, uint64_t nz, const void *data)
{
	const struct em_zarr_meta *m = w->m;
	const unsigned char *src = data;
	uint64_t c0 = m->chunks[0];

	if (__atomic_load_n(&w->failed, __ATOMIC_RELAXED))
		return failure(w);
	if (w->mode == MODE_BOXES)
		return em_fail("planes given to a writer fed with boxes");
	if (z0 != w->next_z)
		return em_fail("plane %llu given when plane %llu was expected",
		    (unsigned long long)z0, (unsigned long long)w->next_z);
	if (nz > w->z_end - z0)
		return em_fail("planes %llu..%llu are beyond the %s's %llu",
		    (unsigned long long)z0, (unsigned long long)(z0 + nz),
		    w->parted ? "part" : "array", (unsigned long long)w->z_end);
	if (w->rowc == NULL && (w->rowc = calloc((size_t)w->per_row, sizeof(*w->rowc))) == NULL)
		return em_fail("out of memory");
	w->mode = MODE_PLANES;
	while (nz > 0) {
		uint64_t r = w->next_z / c0, zr = w->next_z - r * c0, take = c0 - zr;
		if (take > nz)
			take = nz;
		if (fill_row(w, r, w->next_z, take, src) < 0) {
			set_failed(w);
			return -1;
		}
		src += take * w->plane_bytes;
		nz -= take;
		w->next_z += take;
		if ((w->next_z % c0 == 0 || w->next_z == m->shape[0] || w->next_z == w->z_end) &&
		    submit_row(w, r) < 0) {
			set_failed(w);
			return -1;
		}
	}
	return 0;
}


static struct pend *
pend_get(struct em_zwriter *w, const uint64_t *ci, int *err)
{
	const struct em_zarr_meta *m = w->m;
	uint64_t lin = lin_index(w, ci);
	struct pend *p;
	int i, present = 0;

	*err = 0;
	for (p = w->tab[lin % NBUCKETS]; p != NULL; p = p->next)
		if (p->lin == lin)
			return p;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		*err = em_fail("out of memory");
		return NULL;
	}
	p->lin = lin;
	memcpy(p->cidx, ci, sizeof(p->cidx));
	p->need = 1;
	for (i = 0; i < m->ndim; i++) {
		uint64_t lo = ci[i] * m->chunks[i];
		p->need *= m->shape[i] - lo < m->chunks[i] ? m->shape[i] - lo : m->chunks[i];
	}
	if (!w->o.no_resume && w->sharded) {
		/* Whole shards are resumed: the shard's entry (its index read once) says. */
		uint64_t sidx[EM_ZARR_MAXDIM], k;
		struct shard *sh;
		shard_of(w, ci, sidx, &k);
		pthread_mutex_lock(&w->smu);
		sh = shard_get(w, sidx);
		present = sh == NULL ? -1 : sh->present;
		pthread_mutex_unlock(&w->smu);
	} else if (!w->o.no_resume) {
		present = chunk_present(w, ci);
	}
	if (present < 0) {
		free(p);
		*err = -1;
		return NULL;
	}
	if (!present) {
		if (w->o.max_pending > 0 && w->pending_bytes + w->cbytes > w->o.max_pending) {
			free(p);
			*err = em_fail("incomplete chunks would need more than %llu bytes "
			    "(%llu chunks wait for data): feed the boxes in chunk order or allow "
			    "more memory", (unsigned long long)w->o.max_pending,
			    (unsigned long long)w->npend);
			return NULL;
		}
		if ((p->data = chunk_alloc(w)) == NULL) {
			free(p);
			*err = -1;
			return NULL;
		}
		em_zarr_fill(p->data, w->cbytes / w->isz, w->isz, m->fill);
		w->pending_bytes += w->cbytes;
	}
	p->next = w->tab[lin % NBUCKETS];
	w->tab[lin % NBUCKETS] = p;
	w->npend++;
	return p;
}

static void
pend_remove(struct em_zwriter *w, struct pend *p)
{
	struct pend **pp = &w->tab[p->lin % NBUCKETS];

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	w->npend--;
	if (p->data != NULL)
		w->pending_bytes -= w->cbytes;
}

int
em_zwriter_put_box(struct em_zwriter *w, const uint64_t *start, const uint64_t *count,
    const void *data)
{
	const struct em_zarr_meta *m = w->m;
	uint64_t c0[EM_ZARR_MAXDIM], c1[EM_ZARR_MAXDIM], ci[EM_ZARR_MAXDIM];
	int n = m->ndim, i, err;

	if (__atomic_load_n(&w->failed, __ATOMIC_RELAXED))
		return failure(w);
	if (w->mode == MODE_PLANES)
		return em_fail("a box given to a writer fed with planes");
	for (i = 0; i < n; i++) {
		if (start[i] > m->shape[i] || count[i] > m->shape[i] - start[i])
			return em_fail("box %llu+%llu is outside the array (%llu) in dimension %d",
			    (unsigned long long)start[i], (unsigned long long)count[i],
			    (unsigned long long)m->shape[i], i);
		if (count[i] == 0)
			return 0;
	}
	w->mode = MODE_BOXES;
	for (i = 0; i < n; i++) {
		c0[i] = start[i] / m->chunks[i];
		c1[i] = (start[i] + count[i] - 1) / m->chunks[i];
		ci[i] = c0[i];
	}
	for (;;) {
		uint64_t so[EM_ZARR_MAXDIM], dof[EM_ZARR_MAXDIM], cnt[EM_ZARR_MAXDIM], vox = 1;
		struct pend *p;
		if (!in_part(w, ci))
			goto next;	/* another part's chunk: dropped */
		if ((p = pend_get(w, ci, &err)) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			uint64_t lo = ci[i] * m->chunks[i], hi = lo + m->chunks[i];
			uint64_t b0 = start[i] > lo ? start[i] : lo;
			uint64_t b1 = start[i] + count[i] < hi ? start[i] + count[i] : hi;
			so[i] = b0 - start[i];
			dof[i] = b0 - lo;
			cnt[i] = b1 - b0;
			vox *= cnt[i];
		}
		if (p->data != NULL)
			em_zarr_copy_box(n, w->isz, p->data, m->chunks, dof, data, count, so, cnt);
		p->got += vox;
		if (p->got > p->need) {
			char key[256];
			return em_fail("boxes overlap in chunk %s",
			    em_zarr_chunk_key(m, ci, key, sizeof(key)) ? key : "?");
		}
		if (p->got == p->need) {
			pend_remove(w, p);
			if (p->data == NULL) {
				pthread_mutex_lock(&w->mu);
				w->st.chunks_present++;
				pthread_mutex_unlock(&w->mu);
			} else if (submit(w, p->cidx, p->data) < 0) {
				free(p);
				return -1;
			}
			free(p);
		}
next:
		for (i = n - 1; i >= 0; i--) {
			if (++ci[i] <= c1[i])
				break;
			ci[i] = c0[i];
		}
		if (i < 0)
			break;
	}
	(void)err;
	return 0;
}

int
em_zwriter_box_done(struct em_zwriter *w, const uint64_t *start, const uint64_t *count)
{
	const struct em_zarr_meta *m = w->m;
	uint64_t c0[EM_ZARR_MAXDIM], c1[EM_ZARR_MAXDIM], ci[EM_ZARR_MAXDIM];
	int n = m->ndim, i, rc;

	for (i = 0; i < n; i++) {
		/* Sharded arrays are resumed by whole shards: the box is done when they are. */
		uint64_t unit = w->sharded ? m->shard[i] : m->chunks[i];
		if (start[i] > m->shape[i] || count[i] > m->shape[i] - start[i])
			return em_fail("box is outside the array in dimension %d", i);
		if (count[i] == 0)
			return 1;
		c0[i] = ci[i] = start[i] / unit;
		c1[i] = (start[i] + count[i] - 1) / unit;
	}
	if (w->o.no_resume)
		return 0;
	for (;;) {
		if (w->parted) {
			/* Another part's units count as done: this part never writes them. */
			uint64_t u = w->sharded ? shard_lin(w, ci) : lin_index(w, ci);
			rc = u < w->part_lo || u >= w->part_hi ? 1 :
			    w->sharded ? shard_present(w, ci) : chunk_present(w, ci);
		} else {
			rc = w->sharded ? shard_present(w, ci) : chunk_present(w, ci);
		}
		if (rc <= 0)
			return rc;
		for (i = n - 1; i >= 0; i--) {
			if (++ci[i] <= c1[i])
				break;
			ci[i] = c0[i];
		}
		if (i < 0)
			return 1;
	}
}

int
em_zwriter_finish(struct em_zwriter *w, struct em_zwriter_stats *stats)
{
	int rc = 0, b;

	if (w->mode == MODE_PLANES && w->next_z < w->z_end)
		rc = em_fail("only %llu of %llu planes arrived", (unsigned long long)w->next_z,
		    (unsigned long long)w->z_end);
	/*
	 * A chunk already in the store (data NULL) may see only part of its
	 * voxels again: the boxes inside chunks all present were skipped
	 * (em_zwriter_box_done).  It is whole where it is.
	 */
	for (b = 0; rc == 0 && b < NBUCKETS; b++) {
		struct pend *p;
		for (p = w->tab[b]; rc == 0 && p != NULL; p = p->next) {
			char key[256];
			if (p->data == NULL)
				continue;
			rc = em_fail("chunk %s is incomplete (%llu of %llu voxels arrived; "
			    "%llu chunks in all)", em_zarr_chunk_key(w->m, p->cidx, key, sizeof(key)) ?
			    key : "?", (unsigned long long)p->got, (unsigned long long)p->need,
			    (unsigned long long)w->npend);
		}
	}
	pthread_mutex_lock(&w->mu);
	while (w->inflight > 0)
		pthread_cond_wait(&w->cv_space, &w->mu);
	pthread_mutex_unlock(&w->mu);
	stop_pool(w);
	if (rc == 0 && w->failed)
		rc = failure(w);
	for (b = 0; rc == 0 && w->sharded && b < NBUCKETS; b++) {
		struct shard *sh;
		for (sh = w->stab[b]; rc == 0 && sh != NULL; sh = sh->next) {
			char key[256];
			if (sh->present)
				continue;
			rc = em_fail("shard %s is incomplete (%llu chunks never came)",
			    em_zarr_chunk_key(w->m, sh->sidx, key, sizeof(key)) ? key : "?",
			    (unsigned long long)sh->left);
		}
	}
	if (stats != NULL)
		*stats = w->st;
	return rc;
}

void
em_zwriter_free(struct em_zwriter *w)
{
	struct job *j;
	int b;

	if (w == NULL)
		return;
	/* Drop what is queued: a re-run writes those chunks. */
	pthread_mutex_lock(&w->mu);
	while ((j = w->head) != NULL) {
		w->head = j->next;
		free(j);	/* its data is in a block */
		w->inflight--;
	}
	w->tail = NULL;
	pthread_mutex_unlock(&w->mu);
	stop_pool(w);
	for (b = 0; b < NBUCKETS; b++)
		while (w->tab[b] != NULL) {
			struct pend *p = w->tab[b];
			w->tab[b] = p->next;
			free(p);
		}
	free(w->rowc);
	/* Shards not finished: their temporary files go (a re-run writes them whole). */
	for (b = 0; b < NBUCKETS; b++)
		while (w->stab[b] != NULL) {
			struct shard *sh = w->stab[b];
			w->stab[b] = sh->next;
			shard_free(w, sh);
		}
	free(w->freel);
	while (w->nblocks > 0)
		free(w->blocks[--w->nblocks]);
	free(w->blocks);
	pthread_mutex_destroy(&w->smu);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_space);
	free(w);
}

static int
clean_walk(struct em_buf *path, int all, uint64_t *removed, int depth)
{
	DIR *d;
	struct dirent *e;
	size_t len = path->len;
	int rc = 0;

	if (depth > EM_ZARR_MAXDIM + 2)
		return 0;
	if ((d = opendir(em_buf_cstr(path))) == NULL)
		return errno == ENOENT ? 0 : em_fail_errno("cannot open directory '%s'",
		    em_buf_cstr(path));
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
		    (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		if (em_buf_addch(path, '/') < 0 || em_buf_addstr(path, e->d_name) < 0) {
			rc = -1;
			break;
		}
		if (lstat(em_buf_cstr(path), &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				if (clean_walk(path, all, removed, depth + 1) < 0) {
					rc = -1;
					break;
				}
			} else if (S_ISREG(st.st_mode) && (all ? em_atomic_tmp_pid(e->d_name,
			    NULL) > 0 : em_atomic_tmp_stale(e->d_name, NULL,
			    (long long)st.st_mtime))) {
				if (unlink(em_buf_cstr(path)) == 0)
					(*removed)++;
				else if (errno != ENOENT) {
					rc = em_fail_errno("cannot remove '%s'", em_buf_cstr(path));
					break;
				}
			}
		}
		path->len = len;
		path->data[len] = '\0';
	}
	closedir(d);
	return rc;
}

int
em_zarr_clean_tmp(const char *dir, int all_pids, uint64_t *removed)
{
	struct em_buf b = EM_BUF_INIT(1 << 16);
	uint64_t n = 0;
	int rc;

	if (em_buf_addstr(&b, dir) < 0)
		return -1;
	rc = clean_walk(&b, all_pids, &n, 0);
	em_buf_release(&b);
	if (removed != NULL)
		*removed = n;
	return rc;
}
