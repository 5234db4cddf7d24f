/* fuzz_zarr.c - fuzz target: a .zarray or zarr.json and group attributes parsed as em_zarr_open parses them */
#include <stdint.h>
#include <string.h>

#include "core/safepath.h"
#include "store/zarr.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: the .zarray (or an array's zarr.json) text, a NUL byte, the
 * .zattrs text (or a v3 group's attributes; either may be empty).  What a parsed .zarray promises is checked: the geometry the
 * reader sizes its buffers from, and chunk keys that are safe relative paths.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t n1 = nul != NULL ? (size_t)(nul - data) : size;
	struct em_zarr_meta m;
	struct em_zarr_attrs at;

	fuzz_quiet();
	if (em_zarr_meta_parse((const char *)data, n1, &m) == 0) {
		uint64_t grid[EM_ZARR_MAXDIM], last[EM_ZARR_MAXDIM];
		char key[256];
		int i;
		(void)em_zarr_chunk_bytes(&m);
		(void)em_zarr_nchunks(&m);
		em_zarr_grid(&m, grid);
		for (i = 0; i < m.ndim; i++)
			last[i] = grid[i] > 0 ? grid[i] - 1 : 0;
		if (em_zarr_chunk_key(&m, last, key, sizeof(key)) == NULL || !em_relpath_ok(key))
			__builtin_trap();
		/* A sharded array's shards are whole chunks, and its shard keys safe paths too. */
		if (em_zarr_sharded(&m)) {
			for (i = 0; i < m.ndim; i++)
				if (m.shard[i] == 0 || m.shard[i] % m.chunks[i] != 0)
					__builtin_trap();
			em_zarr_shard_grid(&m, grid);
			for (i = 0; i < m.ndim; i++)
				last[i] = grid[i] > 0 ? grid[i] - 1 : 0;
			if (em_zarr_chunk_key(&m, last, key, sizeof(key)) == NULL ||
			    !em_relpath_ok(key))
				__builtin_trap();
		}
	}
	if (nul != NULL && em_zarr_attrs_parse((const char *)nul + 1, size - n1 - 1, &at) == 0)
		em_zarr_attrs_release(&at);
	return 0;
}
