/* ngff.c - OME-NGFF multiscales: scale and translation read in one place, the attributes we write */
#include <string.h>

#include <stdio.h>
#include <stdlib.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/jsonio.h"
#include "core/version.h"
#include "core/units.h"
#include "store/ngff.h"
#include "store/zarr.h"
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

static const char *const axis_names[] = { "z", "y", "x" };

/* What each method does, for the multiscale's metadata. */
static const char *
method_description(const char *method)
{
	if (strcmp(method, "mode") == 0)
		return "each voxel is the most frequent value of the 2x2x2 (or 1x2x2, 2x1x2...) "
		    "block below it, a tie going to the smallest value";
	if (strcmp(method, "nearest") == 0)
		return "each voxel is the first voxel of the 2x2x2 (or 1x2x2, 2x1x2...) block "
		    "below it";
	return "each voxel is the mean of the 2x2x2 (or 1x2x2, 2x1x2...) block below it, "
	    "integers rounded half up";
}

/* Blocks stand for their centre (mean, mode); a picked voxel for itself (nearest). */
static int
centred(const char *method)
{
	return strcmp(method, "nearest") != 0;
}

static json_t *
number_list(int n, const double *v)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_real(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* {"path", "coordinateTransformations": [scale, translation (when any is not 0)]} */
static json_t *
dataset(const char *path, int n, const double *scale, const double *translation)
{
	json_t *ct = json_array(), *ds;
	int i, any = 0;

	for (i = 0; translation != NULL && i < n; i++)
		any |= translation[i] != 0;
	if (ct == NULL || json_array_append_new(ct, json_pack("{s:s, s:o}", "type", "scale",
	    "scale", number_list(n, scale))) < 0 || (any && json_array_append_new(ct,
	    json_pack("{s:s, s:o}", "type", "translation", "translation",
	    number_list(n, translation))) < 0)) {
		json_decref(ct);
		return NULL;
	}
	ds = json_pack("{s:s, s:o}", "path", path, "coordinateTransformations", ct);
	return ds;
}

json_t *
em_ngff_level_dataset(const char *path, int n, const double *bscale, const double *btrans,
    const uint64_t *factor3, const char *method)
{
	double sc[EM_ZARR_MAXDIM], tr[EM_ZARR_MAXDIM];
	int i;

	if (n < 3 || n > EM_ZARR_MAXDIM) {
		em_fail("a level needs z, y and x axes");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		uint64_t f = i >= n - 3 ? factor3[i - (n - 3)] : 1;

		sc[i] = bscale[i] * (double)f;
		tr[i] = btrans != NULL ? btrans[i] : 0;
		if (centred(method) && f > 1)
			tr[i] += (sc[i] - bscale[i]) / 2;
	}
	return dataset(path, n, sc, tr);
}

json_t *
em_ngff_metadata(const char *method)
{
	char mname[200];

	snprintf(mname, sizeof(mname), EM_PACKAGE " pyramid (store/downsample.c): 2x %s",
	    method);
	return json_pack("{s:s, s:s, s:s}", "method", mname, "version", EM_VERSION,
	    "description", method_description(method));
}

json_t *
em_ngff_attrs(const struct em_ngff_image *im, int zarr_format)
{
	const char *method = im->method != NULL ? im->method : "mean";
	json_t *axes = json_array(), *dss = json_array(), *ms = NULL, *attrs = NULL, *md;
	int i, l, n = im->ndim, levels = im->levels > 0 ? im->levels : 1;
	char path[16];

	if (axes == NULL || dss == NULL)
		goto oom;
	if (n < 2 || n > 3 || (im->scale == NULL && levels > 1) ||
	    (zarr_format != 2 && zarr_format != 3)) {
		em_fail("no OME-NGFF image of %d axes, %d levels, Zarr format %d", n, levels,
		    zarr_format);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *an = axis_names[3 - n + i];
		json_t *ax = im->voxel_nm != NULL ?
		    json_pack("{s:s, s:s, s:s}", "name", an, "type", "space", "unit", "nanometer") :
		    json_pack("{s:s, s:s}", "name", an, "type", "space");
		if (json_array_append_new(axes, ax) < 0)
			goto oom;
	}
	for (l = 0; l < levels; l++) {
		double sc[3], tr[3];

		for (i = 0; i < n; i++) {
			int a = 3 - n + i;
			double v0 = im->voxel_nm != NULL ? im->voxel_nm[a] : 1;
			double f = im->scale != NULL ? (double)im->scale[l][a] : 1;

			sc[i] = v0 * f;
			tr[i] = im->offset_nm != NULL ? im->offset_nm[a] : 0;
			if (centred(method))
				tr[i] += (sc[i] - v0) / 2;
		}
		snprintf(path, sizeof(path), "%d", l);
		if (json_array_append_new(dss, dataset(path, n, sc, tr)) < 0)
			goto oom;
	}
	/*
	 * OME-NGFF's strict schemas want name, type (the downscaling method)
	 * and metadata (about that method) in every multiscale; one level has
	 * no method.
	 */
	md = levels > 1 ? em_ngff_metadata(method) : json_pack("{s:s, s:s, s:s}", "method",
	    "none", "version", EM_VERSION, "description", "one level: nothing was downscaled");
	ms = json_pack("{s:s, s:O, s:O, s:s, s:o}", "name", im->name != NULL ? im->name : "image",
	    "axes", axes, "datasets", dss, "type", levels > 1 ? method : "none", "metadata", md);
	if (ms == NULL)
		goto oom;
	if (zarr_format == 2) {
		if (json_object_set_new(ms, "version", json_string("0.4")) < 0)
			goto oom;
		attrs = json_pack("{s:[O]}", "multiscales", ms);
	} else {
		attrs = json_pack("{s:{s:s, s:[O]}}", "ome", "version", "0.5", "multiscales", ms);
	}
	if (attrs == NULL)
		goto oom;
	goto out;
oom:
	em_fail("out of memory");
out:
	json_decref(axes);
	json_decref(dss);
	json_decref(ms);
	return attrs;
}

json_t *
em_ngff_image_attrs(int ndim, const double *voxel_nm, const double *offset, const char *name)
{
	struct em_ngff_image im;
	double v[3] = { 1, 1, 1 }, o[3] = { 0, 0, 0 };

	memset(&im, 0, sizeof(im));
	im.ndim = ndim;
	/* voxel_nm and offset hold ndim values; the image takes z,y,x. */
	for (int i = 0; i < ndim && i < 3; i++) {
		if (voxel_nm != NULL)
			v[3 - ndim + i] = voxel_nm[i];
		if (offset != NULL)
			o[3 - ndim + i] = offset[i];
	}
	if (voxel_nm != NULL)
		im.voxel_nm = v;
	if (offset != NULL)
		im.offset_nm = o;
	im.name = name;
	im.levels = 1;
	return em_ngff_attrs(&im, 2);
}

json_t *
em_ngff_omero(const char *label, double min, double max, double start, double end)
{
	return json_pack("{s:[{s:s, s:s, s:b, s:f, s:s, s:b, s:{s:f, s:f, s:f, s:f}}],"
	    " s:{s:s, s:i, s:i}}",
	    "channels", "label", label != NULL ? label : "intensity", "color", "FFFFFF",
	    "active", 1, "coefficient", 1.0, "family", "linear", "inverted", 0,
	    "window", "min", min, "max", max, "start", start, "end", end,
	    "rdefs", "model", "greyscale", "defaultZ", 0, "defaultT", 0);
}

static char *
join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p == NULL)
		em_fail("out of memory");
	else
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

json_t *
em_ngff_load_attrs(const char *group, int *zarr_format)
{
	char *p = NULL;
	json_t *j = NULL, *out = NULL;

	if ((p = join(group, ".zgroup")) == NULL)
		return NULL;
	if (em_exists(p) == 1) {
		free(p);
		*zarr_format = 2;
		if ((p = join(group, ".zattrs")) == NULL)
			return NULL;
		if (em_exists(p) != 1) {
			free(p);
			return json_object();
		}
		out = em_json_load_file(p, EM_ZARR_MAX_META_BYTES);
		if (out == NULL)
			em_fail_ctx("cannot read '%s'", p);
		else if (!json_is_object(out)) {
			em_fail("'%s' is not a JSON object", p);
			json_decref(out);
			out = NULL;
		}
		free(p);
		return out;
	}
	free(p);
	if ((p = join(group, "zarr.json")) == NULL)
		return NULL;
	if (em_exists(p) != 1) {
		if (em_exists(group) == 0)
			em_fail("'%s' does not exist", group);
		else
			em_fail("'%s' is not a Zarr group (no .zgroup or zarr.json)", group);
		goto out;
	}
	*zarr_format = 3;
	if ((j = em_json_load_file(p, EM_ZARR_MAX_META_BYTES)) == NULL) {
		em_fail_ctx("cannot read '%s'", p);
		goto out;
	}
	if (!json_is_string(json_object_get(j, "node_type")) ||
	    strcmp(json_string_value(json_object_get(j, "node_type")), "group") != 0) {
		em_fail("'%s' is a Zarr v3 array, not a group", group);
		goto out;
	}
	out = json_is_object(json_object_get(j, "attributes")) ?
	    json_deep_copy(json_object_get(j, "attributes")) : json_object();
	if (out == NULL)
		em_fail("out of memory");
out:
	json_decref(j);
	free(p);
	return out;
}

int
em_ngff_save_attrs(const char *group, int zarr_format, const json_t *attrs)
{
	char *p = join(group, zarr_format == 3 ? "zarr.json" : ".zattrs");
	json_t *j = NULL;
	int rc = -1;

	if (p == NULL)
		return -1;
	if (zarr_format != 3) {
		rc = em_zarr_write_json(p, attrs);
		goto out;
	}
	if ((j = em_json_load_file(p, EM_ZARR_MAX_META_BYTES)) == NULL) {
		em_fail_ctx("cannot read '%s'", p);
		goto out;
	}
	if (json_object_set(j, "attributes", (json_t *)attrs) < 0) {
		em_fail("out of memory");
		goto out;
	}
	rc = em_zarr_write_json(p, j);
out:
	if (rc < 0)
		em_fail_ctx("cannot write the attributes of '%s'", group);
	json_decref(j);
	free(p);
	return rc;
}

int
em_ngff_set_omero(json_t *attrs, json_t *omero)
{
	json_t *ome = json_object_get(attrs, "ome");

	/* NGFF 0.5 keeps every OME key under "ome"; 0.4 at the top. */
	if (json_is_object(ome))
		return json_object_set_new(ome, "omero", omero) < 0 ? em_fail("out of memory") : 0;
	return json_object_set_new(attrs, "omero", omero) < 0 ? em_fail("out of memory") : 0;
}
