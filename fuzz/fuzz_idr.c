/* fuzz_idr.c - fuzz target: IDR imgData JSON, read as fetch-idr reads it */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sources/idr.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: an imgData document.  What fetch-idr relies on is checked: the
 * sizes it compares with the file are in 1..EM_IMG_MAX_DIM, and voxel sizes
 * are finite and positive when said to be known.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_idr_image im;
	int i;

	fuzz_quiet();
	if (em_idr_parse((const char *)data, size, "fuzz", &im) < 0)
		return 0;
	for (i = 0; i < 3; i++) {
		if (im.shape[i] < 1 || im.shape[i] > EM_IMG_MAX_DIM)
			abort();
		if (!(isfinite(im.voxel_nm[i]) && im.voxel_nm[i] >= 0))
			abort();
	}
	if (im.channels < 1 || im.times < 1)
		abort();
	em_idr_release(&im);
	return 0;
}
