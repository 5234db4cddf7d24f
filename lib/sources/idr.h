/* idr.h - an IDR image as OMERO's webgateway imgData describes it, read from its JSON */
#ifndef EM_IDR_H
#define EM_IDR_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * GET <base>/webgateway/imgData/<id>/ answers an object with "size"
 * (width, height, z, c, t), "pixel_size" (x, y, z in micrometres, null
 * when unknown) and "meta" (imageName, datasetName, projectName, ...).
 * Numbers may come as numeric strings.  Strings are borrowed from json.
 */
struct em_idr_image {
	json_t *json;			/* imgData (owned) */
	uint64_t shape[3];		/* z, y, x: size.z, size.height, size.width */
	uint64_t channels, times;	/* size.c, size.t; 1 when not given */
	double voxel_nm[3];		/* z, y, x; 0 when not given */
	int have_voxel;			/* at least one given and positive */
	const char *name, *dataset, *project;	/* meta.imageName, ...; NULL when not given */
};

/*
 * Read imgData (len bytes of text); where names it in messages (the URL).
 * 0, or -1 with the reason: not JSON, not an object, no size.z,
 * size.height and size.width that are whole numbers in 1..EM_IMG_MAX_DIM.
 */
int em_idr_parse(const char *text, size_t len, const char *where, struct em_idr_image *im);
void em_idr_release(struct em_idr_image *im);

/*
 * The URLs of image id on the IDR server base ("https://idr.openmicroscopy.org",
 * with or without trailing slashes): what = "imgData" gives
 * <base>/webgateway/imgData/<id>/, what = "entry" the image's page
 * <base>/webclient/img_detail/<id>/.  -1 when it does not fit in n bytes.
 */
int em_idr_url(const char *base, const char *what, const char *id, char *out, size_t n);

#endif
