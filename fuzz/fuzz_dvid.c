/* fuzz_dvid.c - fuzz target: a DVID instance's /info JSON, read and checked against boxes as fetch-dvid does */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "sources/dvid.h"
#include "fuzz.h"
#include "core/banned.h"

/*
 * Input: a /info document.  Boxes are checked against its extents: the
 * whole extents must pass (unless they hold more voxels than a volume may,
 * EM_ZARR_MAX_ELEMENTS), one voxel past them must not, and boxes at the
 * far ends of uint64 must be refused without overflow (UBSan watches).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t far[3] = { UINT64_MAX / 4, UINT64_MAX / 4, UINT64_MAX / 4 };
	static const uint64_t one[3] = { 1, 1, 1 }, zero[3] = { 0, 0, 0 };
	struct em_dvid_info di;
	uint64_t off[3], len[3], more[3];
	int i, uint8 = 0, huge = 0;
	long double voxels = 1;

	fuzz_quiet();
	if (em_dvid_parse_info((const char *)data, size, &di) < 0)
		return 0;
	(void)em_dvid_check_box(&di, "i", zero, one);
	(void)em_dvid_check_box(&di, "i", far, one);
	(void)em_dvid_check_box(&di, "i", one, far);
	for (i = 0; i < 3; i++)
		if (di.voxel_known && !(isfinite(di.voxel_nm[i]) && di.voxel_nm[i] > 0))
			abort();
	uint8 = di.type_name != NULL && strcmp(di.type_name, "uint8blk") == 0;
	if (di.have_extents && di.min_xyz[0] >= 0 && di.min_xyz[1] >= 0 && di.min_xyz[2] >= 0) {
		for (i = 0; i < 3; i++) {
			off[i] = (uint64_t)di.min_xyz[i];
			len[i] = (uint64_t)(di.max_xyz[i] - di.min_xyz[i]) + 1;
			more[i] = len[i];
			voxels *= (long double)len[i];
		}
		huge = voxels > (long double)EM_ZARR_MAX_ELEMENTS;
		more[2]++;
		if ((em_dvid_check_box(&di, "i", off, len) == 0) != (uint8 && !huge))
			abort();
		if (em_dvid_check_box(&di, "i", off, more) == 0)
			abort();
	}
	em_dvid_info_release(&di);
	return 0;
}
