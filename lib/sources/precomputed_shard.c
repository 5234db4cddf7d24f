/* precomputed_shard.c - the neuroglancer_uint64_sharded_v1 format: chunk ids, hashes, shard and minishard indexes */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "sources/precomputed.h"
#include "core/banned.h"

static uint32_t
rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static uint32_t
fmix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Austin Appleby's MurmurHash3_x86_128 (public domain), as the sharded format names it. */
void
em_murmur3_x86_128(const void *key, size_t len, uint32_t seed, unsigned char out[16])
{
	const unsigned char *data = key, *tail;
	const uint32_t c1 = 0x239b961bu, c2 = 0xab0e9789u, c3 = 0x38b34ae5u, c4 = 0xa1e38b93u;
	uint32_t h1 = seed, h2 = seed, h3 = seed, h4 = seed, k1, k2, k3, k4, h[4];
	size_t nblocks = len / 16, i;
	int j;

	for (i = 0; i < nblocks; i++) {
		const unsigned char *b = data + i * 16;

		k1 = get32(b);
		k2 = get32(b + 4);
		k3 = get32(b + 8);
		k4 = get32(b + 12);
		k1 *= c1; k1 = rotl32(k1, 15); k1 *= c2; h1 ^= k1;
		h1 = rotl32(h1, 19); h1 += h2; h1 = h1 * 5 + 0x561ccd1bu;
		k2 *= c2; k2 = rotl32(k2, 16); k2 *= c3; h2 ^= k2;
		h2 = rotl32(h2, 17); h2 += h3; h2 = h2 * 5 + 0x0bcaa747u;
		k3 *= c3; k3 = rotl32(k3, 17); k3 *= c4; h3 ^= k3;
		h3 = rotl32(h3, 15); h3 += h4; h3 = h3 * 5 + 0x96cd1c35u;
		k4 *= c4; k4 = rotl32(k4, 18); k4 *= c1; h4 ^= k4;
		h4 = rotl32(h4, 13); h4 += h1; h4 = h4 * 5 + 0x32ac3b17u;
	}
	tail = data + nblocks * 16;
	k1 = k2 = k3 = k4 = 0;
	switch (len & 15) {
	case 15: k4 ^= (uint32_t)tail[14] << 16; /* FALLTHROUGH */
	case 14: k4 ^= (uint32_t)tail[13] << 8; /* FALLTHROUGH */
	case 13: k4 ^= (uint32_t)tail[12];
		k4 *= c4; k4 = rotl32(k4, 18); k4 *= c1; h4 ^= k4; /* FALLTHROUGH */
	case 12: k3 ^= (uint32_t)tail[11] << 24; /* FALLTHROUGH */
	case 11: k3 ^= (uint32_t)tail[10] << 16; /* FALLTHROUGH */
	case 10: k3 ^= (uint32_t)tail[9] << 8; /* FALLTHROUGH */
	case 9: k3 ^= (uint32_t)tail[8];
		k3 *= c3; k3 = rotl32(k3, 17); k3 *= c4; h3 ^= k3; /* FALLTHROUGH */
	case 8: k2 ^= (uint32_t)tail[7] << 24; /* FALLTHROUGH */
	case 7: k2 ^= (uint32_t)tail[6] << 16; /* FALLTHROUGH */
	case 6: k2 ^= (uint32_t)tail[5] << 8; /* FALLTHROUGH */
	case 5: k2 ^= (uint32_t)tail[4];
		k2 *= c2; k2 = rotl32(k2, 16); k2 *= c3; h2 ^= k2; /* FALLTHROUGH */
	case 4: k1 ^= (uint32_t)tail[3] << 24; /* FALLTHROUGH */
	case 3: k1 ^= (uint32_t)tail[2] << 16; /* FALLTHROUGH */
	case 2: k1 ^= (uint32_t)tail[1] << 8; /* FALLTHROUGH */
	case 1: k1 ^= (uint32_t)tail[0];
		k1 *= c1; k1 = rotl32(k1, 15); k1 *= c2; h1 ^= k1;
	}
	h1 ^= (uint32_t)len; h2 ^= (uint32_t)len; h3 ^= (uint32_t)len; h4 ^= (uint32_t)len;
	h1 += h2; h1 += h3; h1 += h4;
	h2 += h1; h3 += h1; h4 += h1;
	h1 = fmix32(h1); h2 = fmix32(h2); h3 = fmix32(h3); h4 = fmix32(h4);
	h1 += h2; h1 += h3; h1 += h4;
	h2 += h1; h3 += h1; h4 += h1;
	h[0] = h1; h[1] = h2; h[2] = h3; h[3] = h4;
	for (j = 0; j < 4; j++) {
		out[4 * j] = (unsigned char)h[j];
		out[4 * j + 1] = (unsigned char)(h[j] >> 8);
		out[4 * j + 2] = (unsigned char)(h[j] >> 16);
		out[4 * j + 3] = (unsigned char)(h[j] >> 24);
	}
}

/* Bits needed for the indexes 0..n-1 (0 for n <= 1). */
static unsigned
bits_for(uint64_t n)
{
	unsigned b = 0;

	while (b < 64 && (n - 1) >> b != 0 && n > 1)
		b++;
	return b;
}

uint64_t
em_pc_chunk_id(const struct em_pc_scale *s, const uint64_t g[3])
{
	uint64_t grid[3], id = 0;
	unsigned bits[3], maxb = 0, i, j = 0;
	int d;

	em_pc_grid(s, grid);
	for (d = 0; d < 3; d++) {
		bits[d] = bits_for(grid[d]);
		if (bits[d] > maxb)
			maxb = bits[d];
	}
	for (i = 0; i < maxb; i++)
		for (d = 0; d < 3; d++)
			if (i < bits[d]) {
				if (j < 64)
					id |= ((g[d] >> i) & 1) << j;
				j++;
			}
	return id;
}

void
em_pc_locate(const struct em_pc_sharding *sh, uint64_t id, uint64_t *shard, uint64_t *minishard)
{
	uint64_t h = sh->preshift_bits >= 64 ? 0 : id >> sh->preshift_bits;

	if (sh->hash == EM_PC_MURMUR) {
		unsigned char key[8], out[16];
		int i;

		for (i = 0; i < 8; i++)
			key[i] = (unsigned char)(h >> (8 * i));
		em_murmur3_x86_128(key, 8, 0, out);
		h = get64(out);
	}
	*minishard = sh->minishard_bits == 0 ? 0 : h & ((UINT64_C(1) << sh->minishard_bits) - 1);
	h = sh->minishard_bits >= 64 ? 0 : h >> sh->minishard_bits;
	*shard = sh->shard_bits == 0 ? 0 : sh->shard_bits >= 64 ? h :
	    h & ((UINT64_C(1) << sh->shard_bits) - 1);
}

void
em_pc_shard_name(const struct em_pc_sharding *sh, uint64_t shard, char *name, size_t n)
{
	int digits = (int)((sh->shard_bits + 3) / 4);

	snprintf(name, n, "%0*" PRIx64 ".shard", digits, shard);
}

uint64_t
em_pc_shard_index_bytes(const struct em_pc_sharding *sh)
{
	return (UINT64_C(1) << sh->minishard_bits) * 16;
}

int
em_pc_shard_entry(const struct em_pc_sharding *sh, const void *p, size_t n, uint64_t m,
    uint64_t *start, uint64_t *end)
{
	uint64_t ib = em_pc_shard_index_bytes(sh), a, b;
	const unsigned char *e = p;

	if ((uint64_t)n != ib)
		return em_fail("shard index of %zu bytes, expected %" PRIu64, n, ib);
	if (m >= ib / 16)
		return em_fail("minishard %" PRIu64 " past the shard index", m);
	a = get64(e + 16 * m);
	b = get64(e + 16 * m + 8);
	if (b < a)
		return em_fail("minishard %" PRIu64 " index ends (%" PRIu64 ") before it starts (%"
		    PRIu64 ")", m, b, a);
	/* The largest index we accept, raw or gzipped (gzip does not shrink this much more). */
	if (b - a > EM_PC_MAX_MINISHARD_ENTRIES * 24 || a > UINT64_MAX / 2)
		return em_fail("minishard %" PRIu64 " index of %" PRIu64 " bytes is too large", m,
		    b - a);
	*start = ib + a;
	*end = ib + b;
	return 0;
}

int
em_pc_minishard_parse(const struct em_pc_sharding *sh, const void *p, size_t n,
    struct em_pc_minishard *ms)
{
	unsigned char *raw = NULL;
	const unsigned char *b = p;
	size_t len = n;
	uint64_t k, cnt, id = 0, off = 0, ib = em_pc_shard_index_bytes(sh);
	int rc = -1;

	memset(ms, 0, sizeof(*ms));
	if (sh->index_gzip) {
		if (em_pc_gunzip(p, n, (size_t)(EM_PC_MAX_MINISHARD_ENTRIES * 24), &raw, &len) < 0) {
			em_fail_ctx("minishard index");
			return -1;
		}
		b = raw;
	}
	if (len % 24 != 0) {
		em_fail("minishard index of %zu bytes is not a whole number of 24-byte entries", len);
		goto out;
	}
	cnt = len / 24;
	ms->n = cnt;
	if (cnt > 0 && ((ms->id = calloc((size_t)cnt, 8)) == NULL ||
	    (ms->start = calloc((size_t)cnt, 8)) == NULL ||
	    (ms->len = calloc((size_t)cnt, 8)) == NULL)) {
		em_fail("out of memory");
		goto out;
	}
	for (k = 0; k < cnt; k++) {
		uint64_t did = get64(b + 8 * k), doff = get64(b + 8 * (cnt + k));
		uint64_t sz = get64(b + 8 * (2 * cnt + k));

		id += did;
		if (doff > UINT64_MAX / 4 || sz > UINT64_MAX / 4 || off > UINT64_MAX / 4) {
			em_fail("minishard index entry %" PRIu64 ": offsets overflow", k);
			goto out;
		}
		off += doff;
		ms->id[k] = id;
		ms->start[k] = ib + off;
		ms->len[k] = sz;
		off += sz;
	}
	rc = 0;
out:
	free(raw);
	if (rc < 0)
		em_pc_minishard_release(ms);
	return rc;
}

void
em_pc_minishard_release(struct em_pc_minishard *ms)
{
	free(ms->id);
	free(ms->start);
	free(ms->len);
	memset(ms, 0, sizeof(*ms));
}

int
em_pc_minishard_find(const struct em_pc_minishard *ms, uint64_t id, uint64_t *start,
    uint64_t *len)
{
	uint64_t k;

	for (k = 0; k < ms->n; k++)
		if (ms->id[k] == id) {
			*start = ms->start[k];
			*len = ms->len[k];
			return 1;
		}
	return 0;
}
