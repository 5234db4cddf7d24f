/* fuzz_codec.c - fuzz target: chunk bytes decoded by each codec into a chunk of a stated size */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: byte 0 picks the codec, bytes 1-3 the expected decoded size (at
 * most 16 MiB, as a store's chunk is bounded by its .zarray), byte 4 the
 * element size for blosc; the rest is the encoded chunk.
 */
#define FUZZ_MAX_EXPECT ((size_t)1 << 24)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum em_codec_id ids[] = {
		EM_CODEC_RAW, EM_CODEC_ZLIB, EM_CODEC_GZIP, EM_CODEC_ZSTD, EM_CODEC_BLOSC,
		EM_CODEC_LZ4,
	};
	struct em_codec c;
	size_t expect;
	void *dst;

	if (size < 5)
		return 0;
	memset(&c, 0, sizeof(c));
	c.id = ids[data[0] % (sizeof(ids) / sizeof(ids[0]))];
	c.typesize = (size_t)(data[4] % 8) + 1;
	expect = ((size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16) % FUZZ_MAX_EXPECT;
	/* A malloc(0) pointer is fine as a destination of zero bytes, but keep it non-NULL. */
	if ((dst = malloc(expect ? expect : 1)) == NULL)
		return 0;
	(void)em_codec_decode(NULL, &c, data + 5, size - 5, dst, expect);
	free(dst);
	return 0;
}
