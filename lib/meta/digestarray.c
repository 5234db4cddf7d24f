/* digestarray.c - one streaming pass over an array: SHA-256 of its C-order bytes and its statistics */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "meta/digest.h"
#include "meta/digestarray.h"
#include "core/interrupt.h"
#include "meta/stats.h"
#include "core/banned.h"

/* The hash thread takes one piece at a time from the caller's thread. */
struct hasher {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const void *data;
	size_t len;
	int pending;	/* a piece is waiting to be hashed */
	int quit;
	int failed;
	char err[512];
	struct em_sha256 *sha;
};

static void *
hash_main(void *arg)
{
	struct hasher *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->pending && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->pending)
			break;
		pthread_mutex_unlock(&h->mu);
		if (em_sha256_update(h->sha, h->data, h->len) < 0) {
			pthread_mutex_lock(&h->mu);
			h->failed = 1;
			snprintf(h->err, sizeof(h->err), "%s", em_errmsg());
		} else {
			pthread_mutex_lock(&h->mu);
		}
		h->pending = 0;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void
hash_wait(struct hasher *h)
{
	pthread_mutex_lock(&h->mu);
	while (h->pending)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

int
em_digest_array(const struct em_slab_iter *src, char sha[65], json_t **stats)
{
	struct hasher h;
	struct em_stats *st = NULL;
	pthread_t th;
	int started = 0, rc = -1, r;
	size_t esize = em_dtype_size(src->dtype);
	const void *data;
	size_t len;

	if (stats != NULL)
		*stats = NULL;
	memset(&h, 0, sizeof(h));
	if (esize == 0)
		return em_fail("unsupported data type");
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	if ((h.sha = em_sha256_new()) == NULL ||
	    (stats != NULL && (st = em_stats_new(src->dtype, src->fill_value)) == NULL))
		goto out;
	if (pthread_create(&th, NULL, hash_main, &h) != 0) {
		em_fail("cannot start a thread");
		goto out;
	}
	started = 1;
	r = src->next(src->ctx, &data, &len);
	while (r == 1) {
		if (len % esize != 0) {
			em_fail("a piece of %zu bytes is not a whole number of %zu-byte elements",
			    len, esize);
			r = -1;
			break;
		}
		/* The piece before is hashed: the next call may take its buffer back. */
		hash_wait(&h);
		if (h.failed)
			break;
		pthread_mutex_lock(&h.mu);
		h.data = data;
		h.len = len;
		h.pending = 1;
		pthread_cond_broadcast(&h.cv);
		pthread_mutex_unlock(&h.mu);
		if (st != NULL)
			em_stats_add(st, data, len / esize);
		/*
		 * A source that keeps one piece is asked for the next while this
		 * one is hashed; otherwise the hash must end before the call.
		 */
		if (!src->keeps_one) {
			hash_wait(&h);
			if (h.failed)
				break;
		}
		if (em_interrupted()) {
			em_fail("interrupted");
			r = -1;
			break;
		}
		r = src->next(src->ctx, &data, &len);
	}
	hash_wait(&h);
	if (h.failed && r >= 0) {
		em_fail("%s", h.err);
		r = -1;
	}
	if (r < 0)
		goto out;
	if (em_sha256_final(h.sha, sha) < 0)
		goto out;
	if (stats == NULL)
		rc = 0;
	else if ((*stats = em_stats_result(st)) != NULL)
		rc = 0;
	else
		em_fail("cannot encode statistics");
out:
	if (started) {
		pthread_mutex_lock(&h.mu);
		h.quit = 1;
		pthread_cond_broadcast(&h.cv);
		pthread_mutex_unlock(&h.mu);
		pthread_join(th, NULL);
	}
	em_sha256_free(h.sha);
	em_stats_free(st);
	pthread_mutex_destroy(&h.mu);
	pthread_cond_destroy(&h.cv);
	return rc;
}
