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
 * The group attributes of an image we write: OME-NGFF 0.4 multiscales of
 * ndim (2 or 3) space axes z,y,x (the last ndim), one dataset "0" with a
 * scale transformation: voxel_nm with unit "nanometer", or 1 and no unit
 * when voxel_nm is NULL.  name (may be NULL) names the multiscale.  A new
 * reference, NULL when out of memory.
 */
json_t *em_ngff_image_attrs(int ndim, const double *voxel_nm, const char *name);

#endif
