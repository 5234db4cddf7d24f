/* precomputed_src.c - a Neuroglancer precomputed volume over HTTP: its info, chunk requests, shard indexes */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "net/http.h"
#include "sources/precomputed.h"
#include "core/banned.h"

/* Indexes kept: the walk goes through the chunks in grid order, which visits shards in turn. */
#define SHARD_CACHE 16
#define MINI_CACHE 64
/* At most this many bytes of shard indexes are kept (a big minishard_bits keeps fewer). */
#define SHARD_CACHE_BYTES ((uint64_t)64 << 20)

struct shard_entry {
	int used, missing;
	uint64_t no, total;		/* the shard's number and its size (UINT64_MAX unknown) */
	unsigned char *index;
};

struct mini_entry {
	int used;
	uint64_t shard, no;
	struct em_pc_minishard ms;
};

struct em_pc_source {
	struct em_http *h;		/* borrowed */
	struct em_pc_info info;
	const struct em_pc_scale *s;
	char url[4096];
	struct shard_entry shards[SHARD_CACHE];
	size_t nshards, next_shard;	/* entries to use, the next one to replace */
	struct mini_entry minis[MINI_CACHE];
	size_t next_mini;
	unsigned char *chunk;		/* one decoded chunk */
	size_t chunk_bytes;
	/* The box being fetched (em_pc_prefetch): chunk grid [pre_lo, pre_hi), z,y,x. */
	int have_box;
	uint64_t pre_lo[3], pre_hi[3];
};

struct em_pc_source *
em_pc_open(struct em_http *h, const char *url, const char *scale)
{
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	struct em_pc_source *src;
	char iurl[4200], gs[4096];
	size_t ul;
	int k, rc;

	/* Neuroglancer's own spellings of a volume's URL. */
	if (strncmp(url, "precomputed://", 14) == 0)
		url += 14;
	if (strncmp(url, "gs://", 5) == 0) {
		snprintf(gs, sizeof(gs), "https://storage.googleapis.com/%s", url + 5);
		url = gs;
	}
	ul = strlen(url);
	while (ul > 0 && url[ul - 1] == '/')
		ul--;
	if (ul == 0 || ul >= sizeof(src->url)) {
		em_fail("bad volume URL '%s'", url);
		return NULL;
	}
	if ((src = calloc(1, sizeof(*src))) == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	src->h = h;
	memcpy(src->url, url, ul);
	src->url[ul] = '\0';
	snprintf(iurl, sizeof(iurl), "%s/info", src->url);
	rc = em_http_get(h, iurl, EM_PC_MAX_INFO_BYTES, &resp);
	if (rc == EM_HTTP_MISSING) {
		em_fail("GET '%s': HTTP %ld %s: no precomputed volume there", iurl, resp.status,
		    em_http_reason(resp.status));
		goto fail;
	}
	if (rc < 0)
		goto fail;
	if (em_pc_parse_info(resp.body, resp.len, &src->info) < 0) {
		em_fail_ctx("info '%s'", iurl);
		goto fail;
	}
	if ((k = em_pc_find_scale(&src->info, scale)) < 0) {
		char keys[1024];
		size_t i, o = 0;

		keys[0] = '\0';
		for (i = 0; i < src->info.nscales && o < sizeof(keys); i++)
			o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s", i ? ", " : "",
			    src->info.scales[i].key);
		em_fail("info '%s' has no scale '%s' (scales: %s, or 0..%zu)", iurl, scale, keys,
		    src->info.nscales - 1);
		goto fail;
	}
	src->s = &src->info.scales[k];
	src->chunk_bytes = (size_t)(src->s->chunk[0] * src->s->chunk[1] * src->s->chunk[2] *
	    em_dtype_size(src->info.dtype));
	if (src->s->sharded) {
		uint64_t k = SHARD_CACHE_BYTES / em_pc_shard_index_bytes(&src->s->sh);
		src->nshards = k < 1 ? 1 : k > SHARD_CACHE ? SHARD_CACHE : (size_t)k;
	}
	em_http_resp_release(&resp);
	return src;
fail:
	em_http_resp_release(&resp);
	em_pc_close(src);
	return NULL;
}

void
em_pc_close(struct em_pc_source *src)
{
	size_t i;

	if (src == NULL)
		return;
	for (i = 0; i < SHARD_CACHE; i++)
		free(src->shards[i].index);
	for (i = 0; i < MINI_CACHE; i++)
		em_pc_minishard_release(&src->minis[i].ms);
	em_pc_info_release(&src->info);
	free(src->chunk);
	free(src);
}

const struct em_pc_info *
em_pc_source_info(const struct em_pc_source *src)
{
	return &src->info;
}

const struct em_pc_scale *
em_pc_source_scale(const struct em_pc_source *src)
{
	return src->s;
}

const char *
em_pc_source_url(const struct em_pc_source *src)
{
	return src->url;
}

size_t
em_pc_chunk_bytes(const struct em_pc_source *src)
{
	return src->chunk_bytes;
}

uint64_t
em_pc_index_cache_bytes(const struct em_pc_source *src)
{
	return src->s->sharded ? src->nshards * em_pc_shard_index_bytes(&src->s->sh) : 0;
}

size_t
em_pc_max_body(const struct em_pc_source *src)
{
	/* Room for an encoding larger than the voxels (a noisy JPEG, a busy compressed_segmentation). */
	return src->chunk_bytes * 2 + 65536;
}

/* The grid index (x,y,z) of the store-order index g (z,y,x). */
static void
xyz_of(const uint64_t g[3], uint64_t v[3])
{
	v[0] = g[2];
	v[1] = g[1];
	v[2] = g[0];
}

/* A slot for shard or minishard index: the next one round-robin, emptied. */
static struct shard_entry *
shard_slot(struct em_pc_source *src)
{
	struct shard_entry *e = &src->shards[src->next_shard];

	src->next_shard = (src->next_shard + 1) % src->nshards;
	free(e->index);
	memset(e, 0, sizeof(*e));
	return e;
}

static struct mini_entry *
mini_slot(struct em_pc_source *src)
{
	struct mini_entry *me = &src->minis[src->next_mini];

	src->next_mini = (src->next_mini + 1) % MINI_CACHE;
	em_pc_minishard_release(&me->ms);
	me->used = 0;
	return me;
}

static struct shard_entry *
find_shard(struct em_pc_source *src, uint64_t shard)
{
	size_t i;

	for (i = 0; i < src->nshards; i++)
		if (src->shards[i].used && src->shards[i].no == shard)
			return &src->shards[i];
	return NULL;
}

static struct mini_entry *
find_mini(struct em_pc_source *src, uint64_t shard, uint64_t m)
{
	size_t i;

	for (i = 0; i < MINI_CACHE; i++)
		if (src->minis[i].used && src->minis[i].shard == shard && src->minis[i].no == m)
			return &src->minis[i];
	return NULL;
}

/* The index of shard number shard (at url), read unless it is kept; a shard that is not there has no chunks. */
static struct shard_entry *
get_shard(struct em_pc_source *src, uint64_t shard, const char *url)
{
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	uint64_t ib = em_pc_shard_index_bytes(&src->s->sh);
	struct shard_entry *e;
	int rc;

	if ((e = find_shard(src, shard)) != NULL)
		return e;
	e = shard_slot(src);
	rc = em_http_get_range(src->h, url, 0, ib, &resp);
	if (rc == EM_HTTP_MISSING) {
		e->missing = 1;
	} else if (rc < 0) {
		goto fail;
	} else if ((uint64_t)resp.len != ib) {
		em_fail("shard '%s' has %zu bytes, less than its index (%" PRIu64 ")", url,
		    resp.len, ib);
		goto fail;
	} else {
		e->total = resp.total;
		e->index = (unsigned char *)resp.body;
		resp.body = NULL;
	}
	e->no = shard;
	e->used = 1;
	em_http_resp_release(&resp);
	return e;
fail:
	em_http_resp_release(&resp);
	return NULL;
}

/* Minishard m's index in shard e (at url), read unless it is kept. */
static struct mini_entry *
get_minishard(struct em_pc_source *src, struct shard_entry *e, uint64_t m, const char *url)
{
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	struct mini_entry *me;
	uint64_t a, b;
	int rc;

	if ((me = find_mini(src, e->no, m)) != NULL)
		return me;
	me = mini_slot(src);
	if (em_pc_shard_entry(&src->s->sh, e->index, (size_t)em_pc_shard_index_bytes(
	    &src->s->sh), m, &a, &b) < 0) {
		em_fail_ctx("shard '%s'", url);
		return NULL;
	}
	if (e->total != UINT64_MAX && b > e->total) {
		em_fail("shard '%s': the index of minishard %" PRIu64 " (bytes %" PRIu64 "-%"
		    PRIu64 ") points past the end of the file (%" PRIu64 " bytes)", url, m, a, b,
		    e->total);
		return NULL;
	}
	if (b > a) {
		rc = em_http_get_range(src->h, url, a, b - a, &resp);
		if (rc == EM_HTTP_MISSING)
			rc = em_fail("shard '%s' went missing while it was read", url);
		if (rc < 0)
			goto fail;
		if ((uint64_t)resp.len != b - a) {
			em_fail("shard '%s': the index of minishard %" PRIu64 " (bytes %" PRIu64
			    "-%" PRIu64 ") points past the end of the file", url, m, a, b);
			goto fail;
		}
		if (em_pc_minishard_parse(&src->s->sh, resp.body, resp.len, &me->ms) < 0) {
			em_fail_ctx("shard '%s', minishard %" PRIu64, url, m);
			goto fail;
		}
	}
	me->shard = e->no;
	me->no = m;
	me->used = 1;
	em_http_resp_release(&resp);
	return me;
fail:
	em_http_resp_release(&resp);
	return NULL;
}

/* Prefetch: the indexes the first chunks of a box will need, read many at a time. */
struct pre {
	struct em_pc_source *src;
	size_t nsh, nmi;
	uint64_t sh[SHARD_CACHE];		/* shards to read */
	uint64_t mi_sh[MINI_CACHE], mi_no[MINI_CACHE];	/* minishards to read */
};

/* A shard index arrived (user: the shard's number + 1, so that 0 is never a pointer to it). */
static int
pre_shard_done(void *ctx, const struct em_http_reply *rp)
{
	struct pre *p = ctx;
	uint64_t no = (uint64_t)(uintptr_t)rp->user - 1;
	uint64_t ib = em_pc_shard_index_bytes(&p->src->s->sh);
	struct shard_entry *e;

	/* Best effort: what did not come whole is read again, and judged, when it is needed. */
	if ((rp->result != 0 && rp->result != EM_HTTP_MISSING) ||
	    (rp->result == 0 && (uint64_t)rp->len != ib) || find_shard(p->src, no) != NULL)
		return 0;
	e = shard_slot(p->src);
	if (rp->result == 0) {
		if ((e->index = malloc((size_t)ib)) == NULL)
			return 0;
		memcpy(e->index, rp->body, (size_t)ib);
		e->total = rp->total;
	} else {
		e->missing = 1;
	}
	e->no = no;
	e->used = 1;
	return 0;
}

/* A minishard index arrived (user: its position in p's list + 1). */
static int
pre_mini_done(void *ctx, const struct em_http_reply *rp)
{
	struct pre *p = ctx;
	size_t k = (size_t)(uintptr_t)rp->user - 1;
	struct mini_entry *me;
	struct em_pc_minishard ms;

	if (rp->result != 0 || find_mini(p->src, p->mi_sh[k], p->mi_no[k]) != NULL ||
	    em_pc_minishard_parse(&p->src->s->sh, rp->body, rp->len, &ms) < 0)
		return 0;
	me = mini_slot(p->src);
	me->ms = ms;
	me->shard = p->mi_sh[k];
	me->no = p->mi_no[k];
	me->used = 1;
	return 0;
}

/* Read the indexes of the chunks from grid index from (z,y,x) on, in the walk's order. */
static int
prefetch_from(struct em_pc_source *src, const uint64_t from[3])
{
	const struct em_pc_scale *s = src->s;
	const uint64_t *lo = src->pre_lo, *hi = src->pre_hi;
	struct em_http_multi *m = NULL;
	struct pre *p = NULL;
	uint64_t g[3], v[3], id, shard, mini, a, b, walked = 0;
	char name[64], url[4400];
	size_t i, j;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return em_fail("out of memory");
	p->src = src;
	/* The walk's order (z, y, x), until the caches would be full or enough chunks were seen. */
	for (g[0] = from[0]; g[0] < hi[0]; g[0]++)
		for (g[1] = g[0] == from[0] ? from[1] : lo[1]; g[1] < hi[1]; g[1]++)
			for (g[2] = g[0] == from[0] && g[1] == from[1] ? from[2] : lo[2];
			    g[2] < hi[2]; g[2]++) {
				if (++walked > ((uint64_t)1 << 16) || p->nmi == MINI_CACHE)
					goto walked;
				v[0] = g[2];
				v[1] = g[1];
				v[2] = g[0];
				id = em_pc_chunk_id(s, v);
				em_pc_locate(&s->sh, id, &shard, &mini);
				for (i = 0; i < p->nsh && p->sh[i] != shard; i++)
					;
				if (i == p->nsh) {
					if (p->nsh == src->nshards)
						continue;
					p->sh[p->nsh++] = shard;
				}
				for (j = 0; j < p->nmi && !(p->mi_sh[j] == shard &&
				    p->mi_no[j] == mini); j++)
					;
				if (j == p->nmi) {
					p->mi_sh[p->nmi] = shard;
					p->mi_no[p->nmi++] = mini;
				}
			}
walked:
	if ((m = em_http_multi_new(src->h, pre_shard_done, p)) == NULL)
		goto out;
	for (i = 0; i < p->nsh; i++) {
		if (find_shard(src, p->sh[i]) != NULL)
			continue;
		em_pc_shard_name(&s->sh, p->sh[i], name, sizeof(name));
		snprintf(url, sizeof(url), "%s/%s/%s", src->url, s->key, name);
		if (em_http_multi_add(m, url, 0, em_pc_shard_index_bytes(&s->sh), 0,
		    (void *)(uintptr_t)(p->sh[i] + 1)) < 0)
			goto out;
	}
	if (em_http_multi_run(m, NULL, NULL) < 0)
		goto out;
	em_http_multi_free(m);
	if ((m = em_http_multi_new(src->h, pre_mini_done, p)) == NULL)
		goto out;
	for (j = 0; j < p->nmi; j++) {
		struct shard_entry *e = find_shard(src, p->mi_sh[j]);

		if (e == NULL || e->missing || find_mini(src, p->mi_sh[j], p->mi_no[j]) != NULL ||
		    em_pc_shard_entry(&s->sh, e->index, (size_t)em_pc_shard_index_bytes(&s->sh),
		    p->mi_no[j], &a, &b) < 0 || b <= a ||
		    (e->total != UINT64_MAX && b > e->total))
			continue;
		em_pc_shard_name(&s->sh, p->mi_sh[j], name, sizeof(name));
		snprintf(url, sizeof(url), "%s/%s/%s", src->url, s->key, name);
		if (em_http_multi_add(m, url, a, b - a, 0, (void *)(uintptr_t)(j + 1)) < 0)
			goto out;
	}
	(void)em_http_multi_run(m, NULL, NULL);
out:
	em_http_multi_free(m);
	free(p);
	/* Nothing here fails the fetch: the walk reads whatever is not kept, and reports it. */
	return 0;
}

int
em_pc_prefetch(struct em_pc_source *src, const uint64_t b0[3], const uint64_t b1[3])
{
	const struct em_pc_scale *s = src->s;
	int d;

	if (!s->sharded)
		return 0;
	for (d = 0; d < 3; d++) {
		src->pre_lo[d] = b0[d] / s->chunk[2 - d];
		src->pre_hi[d] = (b1[d] + s->chunk[2 - d] - 1) / s->chunk[2 - d];
	}
	src->have_box = 1;
	return prefetch_from(src, src->pre_lo);
}

int
em_pc_request(struct em_pc_source *src, const uint64_t g[3], char *url, size_t n,
    uint64_t *off, uint64_t *len, size_t *max)
{
	const struct em_pc_scale *s = src->s;
	struct shard_entry *se;
	struct mini_entry *me;
	uint64_t v[3], ext[3], id, shard, mini, start, clen;
	char name[128];

	xyz_of(g, v);
	*off = *len = 0;
	*max = em_pc_max_body(src);
	if (!s->sharded) {
		if (em_pc_chunk_name(s, v, name, sizeof(name), ext) < 0)
			return -1;
		if ((size_t)snprintf(url, n, "%s/%s/%s", src->url, s->key, name) >= n)
			return em_fail("URL of '%s' is too long", src->url);
		return 0;
	}
	id = em_pc_chunk_id(s, v);
	em_pc_locate(&s->sh, id, &shard, &mini);
	em_pc_shard_name(&s->sh, shard, name, sizeof(name));
	if ((size_t)snprintf(url, n, "%s/%s/%s", src->url, s->key, name) >= n)
		return em_fail("URL of '%s' is too long", src->url);
	/*
	 * An index not kept: read it together with those of the chunks that
	 * come next, inside the box, so that index reads overlap as chunks do.
	 */
	if (src->have_box && (find_shard(src, shard) == NULL || (!find_shard(src, shard)->missing &&
	    find_mini(src, shard, mini) == NULL)) && prefetch_from(src, g) < 0)
		return -1;
	if ((se = get_shard(src, shard, url)) == NULL)
		return -1;
	if (se->missing)
		return EM_HTTP_MISSING;
	if ((me = get_minishard(src, se, mini, url)) == NULL)
		return -1;
	if (!em_pc_minishard_find(&me->ms, id, &start, &clen))
		return EM_HTTP_MISSING;
	if (clen == 0)
		return em_fail("shard '%s': chunk %" PRIu64 " has 0 bytes", url, id);
	if (se->total != UINT64_MAX && (start > se->total || clen > se->total - start))
		return em_fail("shard '%s': chunk %" PRIu64 " at bytes %" PRIu64 "-%" PRIu64 " is "
		    "past the end of the file (%" PRIu64 " bytes)", url, id, start, start + clen,
		    se->total);
	if (clen > (uint64_t)em_pc_max_body(src))
		return em_fail("shard '%s': chunk %" PRIu64 " of %" PRIu64 " bytes is larger than "
		    "any encoding of its %zu bytes of voxels", url, id, clen, src->chunk_bytes);
	*off = start;
	*len = clen;
	*max = (size_t)clen;
	return 0;
}

static int
chunk_buffer(struct em_pc_source *src)
{
	if (src->chunk == NULL && (src->chunk = malloc(src->chunk_bytes)) == NULL)
		return em_fail("out of memory");
	return 0;
}

int
em_pc_decode(struct em_pc_source *src, const uint64_t g[3], const char *url, const void *body,
    size_t len, const void **data)
{
	const struct em_pc_scale *s = src->s;
	const unsigned char *b = body;
	unsigned char *raw = NULL;
	uint64_t v[3], ext[3], want;
	char name[128];
	int rc = -1, gz;

	if (chunk_buffer(src) < 0)
		return -1;
	xyz_of(g, v);
	if (em_pc_chunk_name(s, v, name, sizeof(name), ext) < 0)
		return -1;
	want = ext[0] * ext[1] * ext[2] * em_dtype_size(src->info.dtype);
	/*
	 * The sharded format says when data is gzipped; an unsharded chunk
	 * stored gzipped and served without decoding shows its magic (a raw
	 * chunk of the right size is taken as it is).
	 */
	gz = s->sharded ? s->sh.data_gzip : len >= 2 && b[0] == 0x1f && b[1] == 0x8b &&
	    !(s->encoding == EM_PC_RAW && (uint64_t)len == want);
	if (gz) {
		size_t rl;
		if (em_pc_gunzip(body, len, em_pc_max_body(src), &raw, &rl) < 0)
			goto out;
		b = raw;
		len = rl;
	}
	/* Edge chunks fill only part of the buffer: the rest must not carry an earlier chunk. */
	if (ext[0] != s->chunk[0] || ext[1] != s->chunk[1] || ext[2] != s->chunk[2])
		memset(src->chunk, 0, src->chunk_bytes);
	if (em_pc_decode_chunk(s, src->info.dtype, ext, b, len, src->chunk) < 0)
		goto out;
	*data = src->chunk;
	rc = 0;
out:
	if (rc < 0)
		em_fail_ctx("chunk '%s'", url);
	free(raw);
	return rc;
}

int
em_pc_fill(struct em_pc_source *src, const void **data)
{
	if (chunk_buffer(src) < 0)
		return -1;
	memset(src->chunk, 0, src->chunk_bytes);
	*data = src->chunk;
	return 0;
}
