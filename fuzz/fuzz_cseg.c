/* fuzz_cseg.c - fuzz target: a compressed_segmentation chunk decoded as the precomputed reader does */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/cseg.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: byte 0 picks uint32 or uint64 values (bit 0) and one or two
 * channels (bit 1), bytes 1-3 the chunk's extent x,y,z (1..32), bytes 4-6
 * the block size (1..16), the rest is the stream.  The output buffer is
 * exactly the chunk: nothing may be written past it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ext[3], stride[2];
	uint32_t block[3];
	int vbytes, i;
	void *out;

	fuzz_quiet();
	if (size < 7)
		return 0;
	vbytes = data[0] & 1 ? 8 : 4;
	for (i = 0; i < 3; i++) {
		ext[i] = (uint64_t)(data[1 + i] % 32) + 1;
		block[i] = (uint32_t)(data[4 + i] % 16) + 1;
	}
	stride[0] = ext[0];
	stride[1] = ext[1];
	if ((out = malloc((size_t)(ext[0] * ext[1] * ext[2]) * (size_t)vbytes)) == NULL)
		return 0;
	(void)em_cseg_decode(data + 7, size - 7, vbytes, data[0] & 2 ? 2 : 1, ext, block, stride,
	    out);
	free(out);
	return 0;
}
