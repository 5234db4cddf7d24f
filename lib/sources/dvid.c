/* dvid.c - a DVID data instance as its /info describes it, read from the JSON */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/diag.h"
#include "sources/dvid.h"
#include "core/jsonio.h"
#include "core/units.h"
#include "core/banned.h"

/* Extended.<key>: three finite numbers; 1, 0 when absent, -1 when present but not three numbers. */
static int
xyz_of(const json_t *ext, const char *key, double v[3])
{
	const json_t *a = json_object_get(ext, key);
	size_t i;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) != 3)
		return -1;
	for (i = 0; i < 3; i++) {
		if (!json_is_number(json_array_get(a, i)))
			return -1;
		v[i] = json_number_value(json_array_get(a, i));
		if (!isfinite(v[i]))
			return -1;
	}
	return 1;
}

/* A point: three integers within +-EM_DVID_MAX_COORD. */
static int
point_of(const json_t *ext, const char *key, int64_t p[3])
{
	double v[3];
	int i, r = xyz_of(ext, key, v);

	if (r <= 0)
		return r == 0 ? 0 : em_fail("Extended.%s is not three numbers", key);
	for (i = 0; i < 3; i++) {
		if (v[i] != floor(v[i]) || fabs(v[i]) > (double)EM_DVID_MAX_COORD)
			return em_fail("Extended.%s is not three integer coordinates within +-%"
			    PRId64, key, (int64_t)EM_DVID_MAX_COORD);
		p[i] = (int64_t)v[i];
	}
	return 1;
}

int
em_dvid_parse_info(const char *text, size_t len, struct em_dvid_info *di)
{
	const json_t *ext, *units;
	double v[3];
	int i, rmin, rmax;

	memset(di, 0, sizeof(*di));
	if ((di->json = em_json_load_object(text, len, NULL)) == NULL)
		return -1;
	di->type_name = json_string_value(json_object_get(json_object_get(di->json, "Base"),
	    "TypeName"));
	ext = json_object_get(di->json, "Extended");
	if ((rmin = point_of(ext, "MinPoint", di->min_xyz)) < 0 ||
	    (rmax = point_of(ext, "MaxPoint", di->max_xyz)) < 0)
		goto fail;
	if (rmin == 1 && rmax == 1) {
		for (i = 0; i < 3; i++)
			if (di->max_xyz[i] < di->min_xyz[i]) {
				em_fail("Extended.MaxPoint is below MinPoint");
				goto fail;
			}
		di->have_extents = 1;
	}
	if (xyz_of(ext, "BlockSize", v) == 1)
		for (i = 0; i < 3; i++)
			di->block_xyz[i] = v[i] >= 1 && v[i] <= (double)EM_DVID_MAX_COORD &&
			    v[i] == floor(v[i]) ? (uint64_t)v[i] : 0;
	/* VoxelUnits: one per axis, or the first for all. */
	units = json_object_get(ext, "VoxelUnits");
	if (xyz_of(ext, "VoxelSize", v) == 1) {
		di->voxel_known = 1;
		for (i = 0; i < 3; i++) {
			const char *u = json_string_value(json_array_get(units, (size_t)i));
			double nm;

			if (u == NULL)
				u = json_string_value(json_array_get(units, 0));
			di->voxel_nm[i] = v[i] > 0 && v[i] < 1e12 && em_length_nm(v[i], u, &nm) ? nm : 0;
			if (!(di->voxel_nm[i] > 0))
				di->voxel_known = 0;
		}
		if (!di->voxel_known)
			memset(di->voxel_nm, 0, sizeof(di->voxel_nm));
	}
	return 0;
fail:
	em_dvid_info_release(di);
	return -1;
}

void
em_dvid_info_release(struct em_dvid_info *di)
{
	json_decref(di->json);
	memset(di, 0, sizeof(*di));
}

/* Whether a volume of n voxels (X,Y,Z) is past EM_ZARR_MAX_ELEMENTS, without wrapping. */
static int
over_limit(const uint64_t n[3])
{
	uint64_t v = 1;
	int i;

	for (i = 0; i < 3; i++) {
		if (n[i] == 0)
			return 0;
		if (v > EM_ZARR_MAX_ELEMENTS / n[i])
			return 1;
		v *= n[i];
	}
	return 0;
}

int
em_dvid_check_box(const struct em_dvid_info *di, const char *instance,
    const uint64_t off_xyz[3], const uint64_t size_xyz[3])
{
	const char *tn = di->type_name;
	uint64_t ext[3];
	int i;

	if (tn == NULL || strcmp(tn, "uint8blk") != 0)
		return em_fail("instance '%s' is of type '%s', not uint8blk", instance,
		    tn != NULL ? tn : "(none)");
	if (!di->have_extents)
		return em_fail("instance '%s' has no extents (MinPoint/MaxPoint): nothing stored",
		    instance);
	for (i = 0; i < 3; i++) {
		/* Both sides as unsigned distances from MinPoint: no overflow for any box. */
		if (size_xyz[i] == 0 || (int64_t)off_xyz[i] < 0 ||
		    (int64_t)off_xyz[i] < di->min_xyz[i] ||
		    off_xyz[i] - (uint64_t)di->min_xyz[i] > (uint64_t)(di->max_xyz[i] -
		    di->min_xyz[i]) || size_xyz[i] - 1 > (uint64_t)(di->max_xyz[i] -
		    di->min_xyz[i]) - (off_xyz[i] - (uint64_t)di->min_xyz[i]))
			return em_fail("box at %" PRIu64 ",%" PRIu64 ",%" PRIu64 " of size %" PRIu64
			    ",%" PRIu64 ",%" PRIu64 " (X,Y,Z) is outside the extents of '%s': %"
			    PRId64 ",%" PRId64 ",%" PRId64 " to %" PRId64 ",%" PRId64 ",%" PRId64
			    " (X,Y,Z, inclusive)", off_xyz[0], off_xyz[1], off_xyz[2], size_xyz[0],
			    size_xyz[1], size_xyz[2], instance, di->min_xyz[0], di->min_xyz[1],
			    di->min_xyz[2], di->max_xyz[0], di->max_xyz[1], di->max_xyz[2]);
		ext[i] = (uint64_t)(di->max_xyz[i] - di->min_xyz[i]) + 1;
	}
	/* Extents within int32 still allow 2^96 voxels: no real instance has past 2^50. */
	if (over_limit(ext))
		return em_fail("instance '%s' has extents of %" PRIu64 " x %" PRIu64 " x %" PRIu64
		    " voxels (X,Y,Z), more than the %" PRIu64 " (2^50) a volume may have here",
		    instance, ext[0], ext[1], ext[2], EM_ZARR_MAX_ELEMENTS);
	return 0;
}
