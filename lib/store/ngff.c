/* ngff.c - OME-NGFF multiscales: scale and translation read in one place, the attributes we write */
#include <string.h>

#include "core/diag.h"
#include "core/version.h"
#include "core/units.h"
#include "store/ngff.h"
#include "core/banned.h"

const json_t *
em_ngff_multiscales(const json_t *attrs)
{
	const json_t *ms = json_object_get(attrs, "multiscales");

	if (ms == NULL)
		ms = json_object_get(json_object_get(attrs, "ome"), "multiscales");
	return json_is_array(ms) && json_array_size(ms) > 0 ? ms : NULL;
}

const json_t *
em_ngff_dataset(const json_t *mss, const char *level, const json_t **msp)
{
	size_t i, k;

	for (i = 0; i < json_array_size(mss); i++) {
		const json_t *ms = json_array_get(mss, i);
		const json_t *ds = json_object_get(ms, "datasets");
		for (k = 0; k < json_array_size(ds); k++) {
			const json_t *d = json_array_get(ds, k);
			const char *p = json_string_value(json_object_get(d, "path"));
			if (p != NULL && (level == NULL || strcmp(p, level) == 0)) {
				*msp = ms;
				return d;
			}
		}
	}
	return NULL;
}

/* The list of the first transformation of type type ("scale", "translation"), or NULL. */
static const json_t *
transform_of(const json_t *transforms, const char *type)
{
	size_t i;

	for (i = 0; i < json_array_size(transforms); i++) {
		const json_t *t = json_array_get(transforms, i);
		const char *ty = json_string_value(json_object_get(t, "type"));
		if (ty != NULL && strcmp(ty, type) == 0)
			return json_object_get(t, type);
	}
	return NULL;
}

static double
num_at(const json_t *list, size_t i)
{
	return json_number_value(json_array_get(list, i));
}

void
em_ngff_scale(const json_t *ms, const json_t *ds, struct em_ngff_scale *out)
{
	const json_t *axes = json_object_get(ms, "axes");
	const json_t *dt = json_object_get(ds, "coordinateTransformations");
	const json_t *mt = json_object_get(ms, "coordinateTransformations");
	const json_t *s1 = transform_of(dt, "scale"), *t1 = transform_of(dt, "translation");
	const json_t *s2 = transform_of(mt, "scale"), *t2 = transform_of(mt, "translation");
	size_t n = json_array_size(axes), i, known = 0;

	memset(out, 0, sizeof(*out));
	if (n > EM_ZARR_MAXDIM)
		return;
	out->naxes = (int)n;
	if (n == 0 || json_array_size(s1) != n || (s2 != NULL && json_array_size(s2) != n))
		return;
	out->scaled = 1;
	for (i = 0; i < n; i++) {
		const char *unit = json_string_value(json_object_get(json_array_get(axes, i),
		    "unit"));
		double v = num_at(s1, i) * (s2 != NULL ? num_at(s2, i) : 1), t = 0, nm;

		if (!(v > 0) || !em_length_nm(v, unit, &nm) || !(nm > 0))
			continue;
		out->voxel_nm[i] = nm;
		known++;
		if (json_array_size(t1) == n)
			t = num_at(t1, i) * (s2 != NULL ? num_at(s2, i) : 1);
		if (json_array_size(t2) == n)
			t += num_at(t2, i);
		if (em_length_nm(t, unit, &nm))
			out->offset_nm[i] = nm;
	}
	out->voxel_known = known == n;
	out->offset_known = out->voxel_known && (t1 != NULL || t2 != NULL);
}

json_t *
em_ngff_image_attrs(int ndim, const double *voxel_nm, const char *name)
{
	static const char *const names3[] = { "z", "y", "x" };
	json_t *axes = json_array(), *scale = json_array(), *ms = NULL, *attrs = NULL;
	int i;

	if (axes == NULL || scale == NULL || ndim < 1 || ndim > 3)
		goto out;
	for (i = 0; i < ndim; i++) {
		const char *an = names3[3 - ndim + i];
		json_t *ax = voxel_nm != NULL ?
		    json_pack("{s:s, s:s, s:s}", "name", an, "type", "space", "unit", "nanometer") :
		    json_pack("{s:s, s:s}", "name", an, "type", "space");
		if (json_array_append_new(axes, ax) < 0 ||
		    json_array_append_new(scale, json_real(voxel_nm != NULL ? voxel_nm[i] : 1.0)) < 0)
			goto out;
	}
	ms = json_pack("{s:s, s:O, s:[{s:s, s:[{s:s, s:O}]}]}", "version", "0.4", "axes", axes,
	    "datasets", "path", "0", "coordinateTransformations", "type", "scale", "scale", scale);
	/*
	 * OME-NGFF's strict schemas want name, type (the downscaling method)
	 * and metadata (about that method) in every multiscale; one level has
	 * no method.
	 */
	if (ms == NULL || json_object_set_new(ms, "name", json_string(name ? name : "image")) < 0 ||
	    json_object_set_new(ms, "type", json_string("none")) < 0 ||
	    json_object_set_new(ms, "metadata", json_pack("{s:s, s:s, s:s}", "method", "none",
	    "version", EM_VERSION, "description", "one level: nothing was downscaled")) < 0)
		goto out;
	attrs = json_pack("{s:[O]}", "multiscales", ms);
out:
	json_decref(axes);
	json_decref(scale);
	json_decref(ms);
	return attrs;
}
