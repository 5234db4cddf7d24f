/* fuzz_precomputed.c - fuzz target: a precomputed info, then a chunk and a minishard index read with its first scale */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/precomputed.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: an info JSON text, NUL, then bytes taken as chunk 0 of the first
 * scale (em_pc_decode_chunk, as the fetcher decodes an answer), as a
 * shard index (em_pc_shard_entry) and as a minishard index
 * (em_pc_minishard_parse).  Located chunks must have the ids asked for;
 * nothing may read outside its input.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct em_pc_info pi;
	const struct em_pc_scale *s;
	struct em_pc_sharding sh;
	struct em_pc_minishard ms;
	uint64_t g[3] = { 0, 0, 0 }, ext[3], start, end, id, len, k;
	size_t ilen, rlen;
	const uint8_t *rest;
	char name[128];
	void *out;

	fuzz_quiet();
	if (nul == NULL)
		return 0;
	ilen = (size_t)(nul - data);
	rest = nul + 1;
	rlen = size - ilen - 1;
	if (em_pc_parse_info((const char *)data, ilen, &pi) < 0)
		return 0;
	s = &pi.scales[0];
	if (em_pc_find_scale(&pi, s->key) != 0)
		abort();
	if (em_pc_chunk_name(s, g, name, sizeof(name), ext) == 0) {
		uint64_t bytes = s->chunk[0] * s->chunk[1] * s->chunk[2] * em_dtype_size(pi.dtype);
		/* The harness keeps to 16 MiB chunks; the library's own bound is 1 GiB. */
		if (bytes <= ((uint64_t)16 << 20) && (out = malloc((size_t)bytes)) != NULL) {
			(void)em_pc_decode_chunk(s, pi.dtype, ext, rest, rlen, out);
			free(out);
		}
	}
	if (s->sharded) {
		sh = s->sh;
		id = em_pc_chunk_id(s, g);
		em_pc_locate(&sh, id, &start, &end);
		if (sh.shard_bits < 64 && start >> sh.shard_bits != 0)
			abort();
		if ((uint64_t)rlen == em_pc_shard_index_bytes(&sh))
			for (k = 0; k < 4 && k < ((uint64_t)1 << sh.minishard_bits); k++)
				if (em_pc_shard_entry(&sh, rest, rlen, k, &start, &end) == 0 &&
				    end < start)
					abort();
	} else {
		memset(&sh, 0, sizeof(sh));
		sh.index_gzip = rlen > 0 && (rest[0] & 1);
	}
	if (em_pc_minishard_parse(&sh, rest, rlen, &ms) == 0) {
		for (k = 0; k < ms.n && k < 64; k++)
			if (em_pc_minishard_find(&ms, ms.id[k], &start, &len) != 1)
				abort();
		em_pc_minishard_release(&ms);
	}
	em_pc_info_release(&pi);
	return 0;
}
