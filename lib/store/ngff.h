/* ngff.h - OME-NGFF multiscales: the one reader of scale and translation, and the writer's attributes */
#ifndef EM_NGFF_H
#define EM_NGFF_H

#include <jansson.h>

#include "store/zarr.h"

/*
 * The multiscales list of a group's attributes: OME-NGFF 0.4
 * ("multiscales"), 0.5 (under "ome"), COSEM N5.  Borrowed; NULL when there
 * is none or it is empty.
 */
const json_t *em_ngff_multiscales(const json_t *attrs);
/*
 * The dataset of multiscales mss whose path is level (NULL: the first of
 * the first multiscale), and in *ms the multiscale that holds it.
 * Borrowed; NULL when there is none.
 */
const json_t *em_ngff_dataset(const json_t *mss, const char *level, const json_t **ms);

/* What the multiscale says of one dataset's grid, in nanometres. */
struct em_ngff_scale {
	int naxes;				/* entries in axes (0 when more than EM_ZARR_MAXDIM) */
	int scaled;				/* axes and the scale lists agree in length */
	double voxel_nm[EM_ZARR_MAXDIM];	/* per axis; 0 when not a known length */
	int voxel_known;			/* every axis has a length unit and a scale > 0 */
	double offset_nm[EM_ZARR_MAXDIM];	/* the translation of voxel 0 */
	int offset_known;			/* voxel_known and a translation was given */
};
/*
 * Read the coordinate transformations of dataset ds in multiscale ms: the
 * voxel size is the dataset's scale times the multiscale's own scale, the
 * translation the dataset's translation times the multiscale's scale plus
 * the multiscale's translation, each axis in its unit ("micrometer",
 * anything core/units.h knows).  Never fails: what is not said stays 0.
 */
void em_ngff_scale(const json_t *ms, const json_t *ds, struct em_ngff_scale *out);

/*
 * An image we write: its axes, its levels and how they were made.  Levels
 * are the datasets "0" .. "levels-1"; level l's voxel is scale[l] times
 * level 0's, per axis z,y,x (exact: scales are voxel_nm[i] * scale[l][i]).
 * A mean or mode level stands for the block of voxels it summarises, so
 * its voxel 0 is centred where that block's centre is: the translation of
 * level l is offset_nm + (voxel_l - voxel_0) / 2 per axis, the convention
 * NGFF's own multiscale example and ome-zarr-py follow; a nearest level
 * keeps the first voxel of each block, so it keeps level 0's origin.
 * offset_nm is where voxel 0 of level 0 lies (a crop of a larger volume),
 * so the crop overlays on the whole; NULL (or all 0) gives no translation
 * at level 0.
 */
struct em_ngff_image {
	int ndim;			/* 2 or 3: axes y,x or z,y,x (the last ndim of z,y,x) */
	const double *voxel_nm;		/* z,y,x of level 0 (3 values); NULL: unknown (no unit, scale 1) */
	const char *name;		/* the multiscale's name; NULL: "image" (strict NGFF wants one) */
	int levels;			/* datasets; 0 counts as 1 */
	const uint64_t (*scale)[3];	/* per level, z,y,x; NULL: one level */
	const double *offset_nm;	/* z,y,x; NULL: none */
	const char *method;		/* "mean", "mode", "nearest"; NULL: "mean" */
};

/*
 * The group attributes of im, in the form of zarr_format: 2 gives OME-NGFF
 * 0.4 ({"multiscales": [{"version": "0.4", ...}]}, for .zattrs), 3 gives
 * 0.5 ({"ome": {"version": "0.5", "multiscales": [...]}}, for zarr.json's
 * attributes).  The multiscale carries name, type (the method; "none"
 * for one level) and metadata (method, description, version), as the
 * strict schemas want.  A
 * new reference, NULL (error set) on a bad argument or out of memory.
 */
json_t *em_ngff_attrs(const struct em_ngff_image *im, int zarr_format);

/* The multiscale's metadata for levels made by method: {method, version, description}. */
json_t *em_ngff_metadata(const char *method);

/*
 * The group attributes of a one-level image (em_ngff_attrs with levels 1,
 * OME-NGFF 0.4): voxel_nm (ndim values) with unit "nanometer", or scale 1
 * and no unit when NULL; offset (ndim values, in the scale's units: a
 * crop's voxel 0 in its source) as the translation, 0 when NULL.
 */
json_t *em_ngff_image_attrs(int ndim, const double *voxel_nm, const double *offset,
    const char *name);

/*
 * A dataset's transformations for a level made from the level below: its
 * scale is base_scale[i] * factor[i] (exact) and, for mean and mode, its
 * translation base_translation[i] + (scale[i] - base_scale[i]) / 2: the
 * centre of the block it summarises (see struct em_ngff_image).  n axes; the last 3 are
 * z,y,x (factor has 3 entries); base_translation may be NULL (0).  New
 * reference.
 */
json_t *em_ngff_level_dataset(const char *path, int n, const double *base_scale,
    const double *base_translation, const uint64_t *factor3, const char *method);

/*
 * The omero block for a one-channel grey image: the window min/max (the
 * data's range) and start/end (what a viewer shows: the 0.5 and 99.5
 * percentiles), a white channel and greyscale rdefs.  New reference.
 */
json_t *em_ngff_omero(const char *label, double min, double max, double start, double end);

/*
 * A group's attributes: .zattrs (Zarr v2) or the attributes of zarr.json
 * (v3); *zarr_format says which.  {} when a v2 group has no .zattrs.  New
 * reference, NULL (error set) when group is not a Zarr group.
 */
json_t *em_ngff_load_attrs(const char *group, int *zarr_format);
/*
 * Replace a group's attributes atomically (a temporary file renamed over
 * .zattrs, or over zarr.json with its other members kept), written as
 * zarr-python does (sorted keys, indent 4); nothing is written when they
 * are already equal.
 */
int em_ngff_save_attrs(const char *group, int zarr_format, const json_t *attrs);
/* Set (a new reference taken) the omero block where the attributes' NGFF version keeps it. */
int em_ngff_set_omero(json_t *attrs, json_t *omero);

#endif
