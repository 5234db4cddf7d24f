/* fuzz_zshard.c - fuzz target: a sharded Zarr v3 array of the store read by em_zarr_open and em_zarr_read_box */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "store/zarr.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: an array's zarr.json, a NUL byte, then the bytes of the file at
 * the key of chunk (or shard) 0, both written to a directory of this
 * process; the array is opened as em-meta opens stores and its first
 * shard read back whole (an index that lies, chunks that do not decode).
 * Arrays of more than 16 MiB a shard are skipped (the harness's budget).
 */
static char dir[256];
static char chunk0[512];

static void
cleanup(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/zarr.json", dir);
	unlink(path);
	if (chunk0[0] != '\0')
		unlink(chunk0);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (strchr(dir, '\'') == NULL)
		(void)system(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct em_zarr_meta m;
	struct em_zarr *a;
	uint64_t start[EM_ZARR_MAXDIM] = { 0 }, count[EM_ZARR_MAXDIM], bytes;
	char path[512], key[256];
	void *out;
	int i;

	fuzz_quiet();
	if (dir[0] == '\0') {
		if (fuzz_scratch_dir("zshard", dir, sizeof(dir)) < 0)
			return 0;
		atexit(cleanup);
	}
	if (nul == NULL || em_zarr_meta_parse((const char *)data, (size_t)(nul - data), &m) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/zarr.json", dir);
	if (em_write_atomic(path, data, (size_t)(nul - data), 0) < 0)
		return 0;
	if (chunk0[0] != '\0')
		unlink(chunk0);
	if (em_zarr_chunk_key(&m, start, key, sizeof(key)) == NULL)
		return 0;
	snprintf(chunk0, sizeof(chunk0), "%s/%s", dir, key);
	{
		char *slash;
		snprintf(path, sizeof(path), "%s", chunk0);
		if ((slash = strrchr(path, '/')) != NULL) {
			*slash = '\0';
			(void)em_mkdir_p(path);
		}
	}
	if (em_write_atomic(chunk0, nul + 1, size - (size_t)(nul - data) - 1, 0) < 0)
		return 0;
	if ((a = em_zarr_open(dir)) == NULL)
		return 0;
	bytes = em_zarr_itemsize(a);
	for (i = 0; i < m.ndim; i++) {
		uint64_t s = em_zarr_sharded(&m) ? m.shard[i] : m.chunks[i];
		count[i] = s < m.shape[i] ? s : m.shape[i];
		if (count[i] > 0 && bytes > ((uint64_t)16 << 20) / count[i])
			goto out;
		bytes *= count[i];
	}
	if ((out = malloc(bytes ? bytes : 1)) != NULL) {
		(void)em_zarr_read_box(a, start, count, out);
		free(out);
	}
out:
	em_zarr_close(a);
	return 0;
}
