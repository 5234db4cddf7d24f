/* fuzz_shard.c - fuzz target: a sharded Zarr v3 array's shard index and inner chunks, as fetch-zarr reads them */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/http.h"
#include "sources/remote.h"
#include "fuzz.h"
#include "core/banned.h"

/* Inner chunks of shard 0 located and decoded per input, at most. */
#define FUZZ_MAX_INNER 16
/* The harness's budget for one decoded chunk (the library allows 2 GiB). */
#define FUZZ_MAX_CHUNK ((size_t)16 << 20)

/*
 * Input: zarr.json text, a NUL byte, then the bytes of shard 0.  The
 * metadata is opened over file:// from a directory of this process under
 * /dev/shm (or $TMPDIR) as fetch-zarr opens an archive's; the shard's index
 * is taken from its start or end by em_remote_take_index, as
 * em_remote_locate takes a fetched one; then the first inner chunks are
 * located and decoded.  Checked: a located chunk lies inside the shard.
 */
static char dir[256];
static struct em_http *h;

static void
cleanup(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/zarr.json", dir);
	unlink(path);
	rmdir(dir);
	em_http_free(h);
}

static int
init(void)
{
	if (fuzz_scratch_dir("shard", dir, sizeof(dir)) < 0)
		return -1;
	atexit(cleanup);
	fuzz_quiet();
	return (h = em_http_new(NULL)) == NULL ? -1 : 0;
}

static int
put_meta(const uint8_t *p, size_t n)
{
	char path[512];
	FILE *fp;
	int ok;

	snprintf(path, sizeof(path), "%s/zarr.json", dir);
	if ((fp = fopen(path, "wb")) == NULL)
		return -1;
	ok = n == 0 || fwrite(p, 1, n, fp) == n;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/* Locate and decode the first inner chunks of shard 0. */
static void
inner_chunks(struct em_remote *r, const uint8_t *shard, size_t slen)
{
	const struct em_remote_info *in = em_remote_info(r);
	uint64_t cidx[EM_ZARR_MAXDIM] = { 0 }, grid[EM_ZARR_MAXDIM], off, len;
	size_t cb = em_remote_chunk_bytes(r);
	char url[4096];
	void *out;
	int i, k, rc;

	if (cb == 0 || cb > FUZZ_MAX_CHUNK || (out = malloc(cb)) == NULL)
		return;
	for (i = 0; i < in->ndim; i++) {
		grid[i] = in->shard[i] / in->chunks[i];
		if (in->shape[i] > 0 && (in->shape[i] + in->chunks[i] - 1) / in->chunks[i] < grid[i])
			grid[i] = (in->shape[i] + in->chunks[i] - 1) / in->chunks[i];
	}
	for (k = 0; k < FUZZ_MAX_INNER; k++) {
		rc = em_remote_locate(r, NULL, cidx, url, sizeof(url), &off, &len);
		if (rc == 0) {
			if (off > slen || len > slen - off)
				abort();
			(void)em_remote_decode(r, NULL, cidx, shard + off, (size_t)len, out);
		}
		/* The next inner chunk of shard 0, last dimension fastest. */
		for (i = in->ndim - 1; i >= 0; i--) {
			if (++cidx[i] < grid[i])
				break;
			cidx[i] = 0;
		}
		if (i < 0)
			break;
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static const uint64_t sidx[EM_ZARR_MAXDIM] = { 0 };
	const uint8_t *nul, *shard;
	struct em_remote *r;
	char url[300];
	size_t slen, ib;

	if (!ready) {
		if (init() < 0)
			return 0;
		ready = 1;
	}
	nul = memchr(data, 0, size);
	if (nul == NULL || put_meta(data, (size_t)(nul - data)) < 0)
		return 0;
	shard = nul + 1;
	slen = (size_t)(data + size - shard);
	snprintf(url, sizeof(url), "file://%s", dir);
	if ((r = em_remote_open(h, url, NULL)) == NULL)
		return 0;
	ib = em_remote_index_bytes(r);
	if (ib > 0 && ib <= slen && em_remote_take_index(r, sidx,
	    em_remote_index_at_end(r) ? shard + slen - ib : shard, ib, slen, "fuzz") == 0)
		inner_chunks(r, shard, slen);
	em_remote_free(r);
	return 0;
}
