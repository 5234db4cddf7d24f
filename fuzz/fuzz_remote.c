/* fuzz_remote.c - fuzz target: Zarr v2/v3 and N5 metadata opened over file:// by lib/sources/remote.c, a chunk decoded */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/codec.h"
#include "net/http.h"
#include "sources/remote.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: byte 0 picks the metadata file (zarr.json, .zarray, attributes.json),
 * then the metadata text, a NUL byte, and the bytes of chunk 0 given to
 * em_remote_decode.  For byte 0 = 3 the text is an OME-Zarr group's .zattrs,
 * a NUL, and the .zarray of its dataset "0" (the chunk after a second NUL).  Files go to a directory of this process under /dev/shm
 * (or $TMPDIR), read back through file:// as the fetchers read archives.
 */
static const char *const names[] = { "zarr.json", ".zarray", "attributes.json", ".zattrs" };

static char dir[256];
static struct em_http *h;

static void
put(const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		return;
	if (n > 0)
		(void)fwrite(p, 1, n, fp);
	fclose(fp);
}

static void
clear(void)
{
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/0/%s", dir, names[i]);
		unlink(path);
	}
}

/* The directory goes when the process ends (fuzzer or replay). */
static void
cleanup(void)
{
	char path[512];

	clear();
	snprintf(path, sizeof(path), "%s/.zgroup", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/0", dir);
	rmdir(path);
	rmdir(dir);
	em_http_free(h);
}

static int
init(void)
{
	char sub[300];

	if (fuzz_scratch_dir("remote", dir, sizeof(dir)) < 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s/0", dir);
	(void)mkdir(sub, 0700);
	atexit(cleanup);
	fuzz_quiet();
	return (h = em_http_new(NULL)) == NULL ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const uint8_t *meta, *nul, *end = data + size;
	size_t mlen, which;
	struct em_remote *r;
	char url[300];

	if (!ready) {
		if (init() < 0)
			return 0;
		ready = 1;
	}
	if (size < 1)
		return 0;
	which = data[0] % (sizeof(names) / sizeof(names[0]));
	meta = data + 1;
	nul = memchr(meta, 0, (size_t)(end - meta));
	mlen = nul ? (size_t)(nul - meta) : (size_t)(end - meta);
	clear();
	if (which == 3) {
		/* A group: .zattrs here, the array's .zarray at 0/. */
		const uint8_t *za = nul ? nul + 1 : end;
		put(".zattrs", meta, mlen);
		put(".zgroup", (const uint8_t *)"{\"zarr_format\": 2}", 18);
		nul = memchr(za, 0, (size_t)(end - za));
		put("0/.zarray", za, (size_t)((nul ? nul : end) - za));
	} else {
		put(names[which], meta, mlen);
	}
	snprintf(url, sizeof(url), "file://%s", dir);
	if ((r = em_remote_open(h, url, NULL)) != NULL) {
		size_t cb = em_remote_chunk_bytes(r);
		uint64_t cidx[EM_ZARR_MAXDIM] = { 0 };
		void *out;
		/* The harness's budget: the library allows chunks up to 2 GiB. */
		if (cb > 0 && cb <= ((size_t)64 << 20) && (out = malloc(cb)) != NULL) {
			em_remote_fill(r, out);
			if (nul != NULL)
				(void)em_remote_decode(r, NULL, cidx, nul + 1,
				    (size_t)(end - nul - 1), out);
			free(out);
		}
		em_remote_free(r);
	}
	return 0;
}
