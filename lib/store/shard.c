/* shard.c - the index of a Zarr v3 sharding_indexed shard: (offset, nbytes) per inner chunk, crc32c */
#include <stdint.h>
#include <string.h>

#include "core/diag.h"
#include "store/codec.h"
#include "store/shard.h"
#include "core/banned.h"

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

size_t
em_shard_index_bytes(uint64_t n, int crc)
{
	return (size_t)n * 16 + (crc ? 4 : 0);
}

void
em_shard_index_encode(const struct em_shard_entry *e, uint64_t n, int crc, unsigned char *out)
{
	uint64_t i;
	uint32_t c;

	for (i = 0; i < n; i++) {
		put64(out + 16 * i, e[i].offset);
		put64(out + 16 * i + 8, e[i].nbytes);
	}
	if (crc) {
		c = em_crc32c(out, (size_t)n * 16);
		out[16 * n] = (unsigned char)c;
		out[16 * n + 1] = (unsigned char)(c >> 8);
		out[16 * n + 2] = (unsigned char)(c >> 16);
		out[16 * n + 3] = (unsigned char)(c >> 24);
	}
}

int
em_shard_index_decode(const unsigned char *p, size_t len, uint64_t n, int crc,
    uint64_t file_bytes, uint64_t index_off, struct em_shard_entry *out)
{
	uint64_t i;

	if (len != em_shard_index_bytes(n, crc))
		return em_fail("shard index has %zu bytes, expected %zu", len,
		    em_shard_index_bytes(n, crc));
	if (crc) {
		const unsigned char *q = p + 16 * n;
		uint32_t stored = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
		    (uint32_t)q[3] << 24;
		uint32_t got = em_crc32c(p, (size_t)n * 16);
		if (got != stored)
			return em_fail("shard index crc32c mismatch (computed %08x, stored %08x)",
			    got, stored);
	}
	for (i = 0; i < n; i++) {
		uint64_t off = get64(p + 16 * i), nb = get64(p + 16 * i + 8);
		out[i].offset = off;
		out[i].nbytes = nb;
		if (off == EM_SHARD_MISSING && nb == EM_SHARD_MISSING)
			continue;
		if (off == EM_SHARD_MISSING || nb == EM_SHARD_MISSING)
			return em_fail("shard index entry %llu is half missing",
			    (unsigned long long)i);
		/* Inside the file and clear of the index (no overflow: checked in that order). */
		if (off > file_bytes || nb > file_bytes - off ||
		    (off < index_off + len && off + nb > index_off && nb > 0))
			return em_fail("shard index entry %llu (%llu bytes at %llu) lies outside "
			    "the %llu-byte file's data", (unsigned long long)i,
			    (unsigned long long)nb, (unsigned long long)off,
			    (unsigned long long)file_bytes);
	}
	return 0;
}
