/* fuzz_jpeg.c - fuzz target: a JPEG chunk decoded with libjpeg-turbo as the precomputed reader does */
#include <stdint.h>
#include <stdlib.h>

#include "formats/jpeg.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: bytes 0-1 the expected width and height (1..256), byte 2 the
 * components (bit 0: 1 or 3), then the JPEG.  The output buffer is exactly
 * the expected image: an image of other dimensions must be refused, not
 * written past it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t w, h;
	int ch;
	unsigned char *out;

	fuzz_quiet();
	if (size < 3)
		return 0;
	w = (size_t)data[0] + 1;
	h = (size_t)data[1] + 1;
	ch = data[2] & 1 ? 3 : 1;
	if ((out = malloc(w * h * (size_t)ch)) == NULL)
		return 0;
	(void)em_jpeg_decode(data + 3, size - 3, w, h, ch, out);
	free(out);
	return 0;
}
