/* digestarray.c - one streaming pass over an array: SHA-256 of its C-order bytes and its statistics */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "digest.h"
#include "digestarray.h"
#include "interrupt.h"
#include "stats.h"
#include "banned.h"

#define NSLOT 3

/*
 * Slots cycle: the reader fills slot i % NSLOT, then both consumers (the
 * hash and the statistics thread) take it in order; a slot is reused once
 * both are done with it.  Consumers see slots strictly in order, so the
 * hash is over the C-order bytes.
 */
struct pass {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *buf[NSLOT];
	size_t nbytes[NSLOT];
	uint64_t filled;	/* slabs the reader has completed */
	uint64_t done[2];	/* slabs each consumer has completed */
	int eof, failed;
	struct em_sha256 *sha;
	struct em_stats *stats;
	size_t esize;
	char err[512];
};

struct consumer {
	struct pass *p;
	int which;	/* 0 hash, 1 statistics */
};

static void *
consume(void *arg)
{
	struct consumer *c = arg;
	struct pass *p = c->p;
	uint64_t i;
	int rc;

	for (i = 0;; i++) {
		pthread_mutex_lock(&p->mu);
		while (p->filled <= i && !p->eof && !p->failed)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->failed || p->filled <= i) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		pthread_mutex_unlock(&p->mu);
		if (c->which == 0)
			rc = em_sha256_update(p->sha, p->buf[i % NSLOT], p->nbytes[i % NSLOT]);
		else
			rc = em_stats_add(p->stats, p->buf[i % NSLOT],
			    p->nbytes[i % NSLOT] / p->esize);
		pthread_mutex_lock(&p->mu);
		if (rc < 0 && !p->failed) {
			p->failed = 1;
			snprintf(p->err, sizeof(p->err), "%s", em_errmsg());
		}
		p->done[c->which] = i + 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

int
em_digest_array(const struct em_slab_source *src, uint64_t depth, char sha[65], json_t **stats)
{
	struct pass p;
	struct consumer cons[2] = { { &p, 0 }, { &p, 1 } };
	pthread_t th[2];
	int started = 0, rc = -1, k;
	uint64_t plane, z, i;
	size_t esize = em_dtype_size(src->dtype);

	*stats = NULL;
	memset(&p, 0, sizeof(p));
	if (esize == 0)
		return em_fail("unsupported data type");
	if (depth == 0)
		depth = 1;
	if (depth > src->shape[0])
		depth = src->shape[0] ? src->shape[0] : 1;
	plane = src->shape[1] * src->shape[2];
	if (src->shape[1] != 0 && plane / src->shape[1] != src->shape[2])
		return em_fail("array too large");
	if (plane != 0 && (SIZE_MAX / 4) / esize / plane < depth)
		return em_fail("a slab of %llu planes does not fit in memory",
		    (unsigned long long)depth);
	p.esize = esize;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.sha = em_sha256_new();
	p.stats = em_stats_new(src->dtype, src->fill_value);
	if (p.sha == NULL || p.stats == NULL)
		goto out;
	for (k = 0; k < NSLOT; k++) {
		size_t slab = (size_t)(depth * plane) * esize;

		p.buf[k] = malloc(slab > 0 ? slab : 1);
		if (p.buf[k] == NULL) {
			em_fail("out of memory for a slab of %llu planes", (unsigned long long)depth);
			goto out;
		}
	}
	for (k = 0; k < 2; k++) {
		if (pthread_create(&th[k], NULL, consume, &cons[k]) != 0) {
			em_fail("cannot start a thread");
			pthread_mutex_lock(&p.mu);
			p.failed = 1;
			snprintf(p.err, sizeof(p.err), "%s", em_errmsg());
			pthread_cond_broadcast(&p.cv);
			pthread_mutex_unlock(&p.mu);
			break;
		}
		started++;
	}
	for (z = 0, i = 0; z < src->shape[0] && started == 2; z += depth, i++) {
		uint64_t nz = src->shape[0] - z < depth ? src->shape[0] - z : depth;
		int r;

		/* Wait until both consumers are done with the slot's previous slab. */
		pthread_mutex_lock(&p.mu);
		while (!p.failed && i >= NSLOT &&
		    (p.done[0] < i - NSLOT + 1 || p.done[1] < i - NSLOT + 1))
			pthread_cond_wait(&p.cv, &p.mu);
		pthread_mutex_unlock(&p.mu);
		if (p.failed)
			break;
		r = em_interrupted() ? em_fail("interrupted") : src->read(src->ctx, z, nz,
		    p.buf[i % NSLOT]);
		pthread_mutex_lock(&p.mu);
		if (r < 0) {
			p.failed = 1;
			snprintf(p.err, sizeof(p.err), "%s", em_errmsg());
		} else {
			p.nbytes[i % NSLOT] = nz * plane * esize;
			p.filled = i + 1;
		}
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		if (r < 0)
			break;
	}
	pthread_mutex_lock(&p.mu);
	p.eof = 1;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.mu);
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	if (p.failed) {
		em_fail("%s", p.err);
		goto out;
	}
	if (started != 2 || em_sha256_final(p.sha, sha) < 0)
		goto out;
	*stats = em_stats_result(p.stats);
	rc = *stats ? 0 : em_fail("cannot encode statistics");
out:
	for (k = 0; k < NSLOT; k++)
		free(p.buf[k]);
	em_sha256_free(p.sha);
	em_stats_free(p.stats);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	return rc;
}
