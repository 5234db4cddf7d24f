/* idr.c - an IDR image as OMERO's webgateway imgData describes it, read from its JSON */
#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "sources/idr.h"
#include "core/jsonio.h"
#include "core/units.h"
#include "core/banned.h"

/* A size: a whole number in 1..EM_IMG_MAX_DIM (a number or a numeric string). */
static int
dim_of(const json_t *v, uint64_t *out)
{
	double d;

	if (!em_json_num(v, &d) || !(d >= 1) || d > (double)EM_IMG_MAX_DIM ||
	    d != (double)(uint64_t)d)
		return 0;
	*out = (uint64_t)d;
	return 1;
}

static const char *
text_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

int
em_idr_parse(const char *text, size_t len, const char *where, struct em_idr_image *im)
{
	static const char *const pskeys[3] = { "z", "y", "x" };
	const json_t *size, *ps, *meta;
	json_error_t je;
	int i;

	memset(im, 0, sizeof(*im));
	im->json = json_loadb(text != NULL ? text : "", text != NULL ? len : 0, 0, &je);
	if (!json_is_object(im->json)) {
		if (im->json == NULL)
			em_fail("'%s': not imgData JSON: %s (line %d)", where, je.text, je.line);
		else
			em_fail("'%s': not imgData JSON: not an object", where);
		em_idr_release(im);
		return -1;
	}
	size = json_object_get(im->json, "size");
	if (!dim_of(json_object_get(size, "z"), &im->shape[0]) ||
	    !dim_of(json_object_get(size, "height"), &im->shape[1]) ||
	    !dim_of(json_object_get(size, "width"), &im->shape[2])) {
		em_idr_release(im);
		return em_fail("'%s': imgData has no size.z, size.height and size.width "
		    "(whole numbers from 1 to %llu)", where, (unsigned long long)EM_IMG_MAX_DIM);
	}
	if (!dim_of(json_object_get(size, "c"), &im->channels))
		im->channels = 1;
	if (!dim_of(json_object_get(size, "t"), &im->times))
		im->times = 1;
	ps = json_object_get(im->json, "pixel_size");
	for (i = 0; i < 3; i++) {
		double um;

		/*
		 * OMERO gives micrometres; null when unknown, as z is for a 2-D
		 * image: each axis stands on its own.
		 */
		if (em_json_num(json_object_get(ps, pskeys[i]), &um) && um > 0 && um < 1e9
		    && em_length_nm(um, "micrometer", &im->voxel_nm[i])) {
			im->have_voxel = 1;
		}
	}
	meta = json_object_get(im->json, "meta");
	im->name = text_of(meta, "imageName");
	im->dataset = text_of(meta, "datasetName");
	im->project = text_of(meta, "projectName");
	return 0;
}

void
em_idr_release(struct em_idr_image *im)
{
	json_decref(im->json);
	memset(im, 0, sizeof(*im));
}

int
em_idr_url(const char *base, const char *what, const char *id, char *out, size_t n)
{
	size_t bl = strlen(base);
	const char *fmt;
	int k;

	/* base_url is often written with a trailing '/': no "//" in the path. */
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (strcmp(what, "imgData") == 0)
		fmt = "%.*s/webgateway/imgData/%s/";
	else if (strcmp(what, "entry") == 0)
		fmt = "%.*s/webclient/img_detail/%s/";
	else
		return em_fail("no IDR URL of kind '%s'", what);
	k = snprintf(out, n, fmt, (int)bl, base, id);
	if (k < 0 || (size_t)k >= n)
		return em_fail("the IDR URL of image %s on '%s' is too long", id, base);
	return 0;
}
