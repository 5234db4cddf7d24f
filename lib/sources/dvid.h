/* dvid.h - a DVID data instance as its /info describes it, read from the JSON */
#ifndef EM_DVID_H
#define EM_DVID_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * GET <server>/api/node/<uuid>/<instance>/info answers {"Base": {"TypeName":
 * "uint8blk", ...}, "Extended": {"BlockSize": [64,64,64], "VoxelSize":
 * [8,8,8], "VoxelUnits": ["nanometers", ...], "MinPoint": [x,y,z],
 * "MaxPoint": [x,y,z], ...}}.  Everything is X,Y,Z as DVID gives it.
 */
struct em_dvid_info {
	json_t *json;			/* the document (owned) */
	const char *type_name;		/* Base.TypeName, or NULL */
	int have_extents;		/* MinPoint and MaxPoint given, Min <= Max */
	int64_t min_xyz[3], max_xyz[3];	/* inclusive, within +-EM_DVID_MAX_COORD */
	int voxel_known;		/* VoxelSize given in a known length unit */
	double voxel_nm[3];		/* X,Y,Z; 0 when not known */
	uint64_t block_xyz[3];		/* Extended.BlockSize; 0 when not given */
};

/*
 * Read /info (len bytes of text); the caller's message names the URL.
 * 0, or -1 with the reason: not JSON, not an object, MinPoint or MaxPoint
 * present but not three integers within +-EM_DVID_MAX_COORD, MaxPoint below
 * MinPoint.  Absent extents are not an error here (have_extents is 0).
 */
int em_dvid_parse_info(const char *text, size_t len, struct em_dvid_info *di);
void em_dvid_info_release(struct em_dvid_info *di);

/*
 * Whether the box at off_xyz of size size_xyz (voxels) lies inside the
 * extents and the instance holds uint8 blocks; instance names it in
 * messages.  0, or -1 with the reason.
 */
int em_dvid_check_box(const struct em_dvid_info *di, const char *instance,
    const uint64_t off_xyz[3], const uint64_t size_xyz[3]);

#endif
