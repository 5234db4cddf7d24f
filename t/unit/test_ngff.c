/* test_ngff.c - OME-NGFF multiscales: the one reader of scale and translation, and what we write */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "core/version.h"
#include "store/ngff.h"

START_TEST(scales)
{
	static const struct {
		const char *ms;		/* multiscales[0]; its first dataset is read */
		int naxes, known, offset_known;
		double vox[3], off[3];
	} cases[] = {
		{ "{\"axes\":[{\"name\":\"z\",\"unit\":\"nanometer\"},{\"name\":\"y\",\"unit\":"
		  "\"nanometer\"},{\"name\":\"x\",\"unit\":\"nanometer\"}],\"datasets\":[{\"path\":\"0\","
		  "\"coordinateTransformations\":[{\"type\":\"scale\",\"scale\":[8,4,4]}]}]}",
		  3, 1, 0, { 8, 4, 4 }, { 0, 0, 0 } },
		/* Units converted; dataset scale times the multiscale's; translations too. */
		{ "{\"axes\":[{\"name\":\"z\",\"unit\":\"micrometer\"},{\"name\":\"y\",\"unit\":"
		  "\"angstrom\"},{\"name\":\"x\",\"unit\":\"nm\"}],\"coordinateTransformations\":["
		  "{\"type\":\"scale\",\"scale\":[2,2,2]},{\"type\":\"translation\",\"translation\":"
		  "[1,10,-3]}],\"datasets\":[{\"path\":\"s1\",\"coordinateTransformations\":[{\"type\":"
		  "\"scale\",\"scale\":[0.004,15,3]},{\"type\":\"translation\",\"translation\":"
		  "[0.5,5,1]}]}]}",
		  3, 1, 1, { 8, 3, 6 }, { 2000, 2, -1 } },
		/* An axis without a length unit: that axis unknown, the rest read. */
		{ "{\"axes\":[{\"name\":\"c\",\"type\":\"channel\"},{\"name\":\"y\",\"unit\":"
		  "\"micrometer\"},{\"name\":\"x\",\"unit\":\"micrometer\"}],\"datasets\":[{\"path\":"
		  "\"0\",\"coordinateTransformations\":[{\"type\":\"scale\",\"scale\":[1,0.5,0.5]}]}]}",
		  3, 0, 0, { 0, 500, 500 }, { 0, 0, 0 } },
		/* Scale and axes disagree in length: nothing known. */
		{ "{\"axes\":[{\"name\":\"y\",\"unit\":\"nanometer\"},{\"name\":\"x\",\"unit\":"
		  "\"nanometer\"}],\"datasets\":[{\"path\":\"0\",\"coordinateTransformations\":["
		  "{\"type\":\"scale\",\"scale\":[1,2,3]}]}]}",
		  2, 0, 0, { 0, 0, 0 }, { 0, 0, 0 } },
		/* A zero or negative scale is not a voxel size. */
		{ "{\"axes\":[{\"name\":\"y\",\"unit\":\"nanometer\"},{\"name\":\"x\",\"unit\":"
		  "\"nanometer\"}],\"datasets\":[{\"path\":\"0\",\"coordinateTransformations\":["
		  "{\"type\":\"scale\",\"scale\":[0,-2]}]}]}",
		  2, 0, 0, { 0, 0, 0 }, { 0, 0, 0 } },
		{ "{\"datasets\":[{\"path\":\"0\"}]}", 0, 0, 0, { 0, 0, 0 }, { 0, 0, 0 } },
	};
	size_t i;
	int a;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ms = json_loads(cases[i].ms, 0, NULL), *wrap;
		const json_t *mss, *m = NULL, *ds;
		struct em_ngff_scale sc;

		ck_assert_ptr_nonnull(ms);
		wrap = json_pack("{s:{s:[O]}}", "ome", "multiscales", ms);
		mss = em_ngff_multiscales(wrap);
		ck_assert_ptr_nonnull(mss);
		ds = em_ngff_dataset(mss, NULL, &m);
		ck_assert_ptr_nonnull(ds);
		ck_assert_ptr_eq(m, ms);
		em_ngff_scale(m, ds, &sc);
		ck_assert_int_eq(sc.naxes, cases[i].naxes);
		ck_assert_int_eq(sc.voxel_known, cases[i].known);
		ck_assert_int_eq(sc.offset_known, cases[i].offset_known);
		for (a = 0; a < sc.naxes; a++) {
			ck_assert_msg(sc.voxel_nm[a] == cases[i].vox[a], "case %zu axis %d: %.17g", i,
			    a, sc.voxel_nm[a]);
			if (cases[i].offset_known)
				ck_assert_msg(sc.offset_nm[a] == cases[i].off[a], "case %zu axis %d: %.17g",
				    i, a, sc.offset_nm[a]);
		}
		json_decref(wrap);
		json_decref(ms);
	}
}
END_TEST

START_TEST(datasets)
{
	json_t *attrs = json_loads("{\"multiscales\":[{\"datasets\":[{\"path\":\"s0\"},{\"path\":"
	    "\"s1\"}]},{\"datasets\":[{\"path\":\"t0\"}]}]}", 0, NULL);
	const json_t *mss = em_ngff_multiscales(attrs), *ms = NULL, *ds;

	ck_assert_ptr_nonnull(mss);
	ds = em_ngff_dataset(mss, "t0", &ms);
	ck_assert_str_eq(json_string_value(json_object_get(ds, "path")), "t0");
	ck_assert_ptr_eq(ms, json_array_get(mss, 1));
	ds = em_ngff_dataset(mss, NULL, &ms);
	ck_assert_str_eq(json_string_value(json_object_get(ds, "path")), "s0");
	ck_assert_ptr_null(em_ngff_dataset(mss, "s9", &ms));
	json_decref(attrs);
	attrs = json_loads("{\"multiscales\":[]}", 0, NULL);
	ck_assert_ptr_null(em_ngff_multiscales(attrs));
	json_decref(attrs);
}
END_TEST

START_TEST(written)
{
	static const double vox[3] = { 30, 4, 4.5 };
	json_t *a = em_ngff_image_attrs(3, vox, NULL, "vol");
	const json_t *ms = NULL, *ds;
	struct em_ngff_scale sc;
	char *text;

	ck_assert_ptr_nonnull(a);
	text = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(text, "{\"multiscales\":[{\"axes\":[{\"name\":\"z\",\"type\":\"space\","
	    "\"unit\":\"nanometer\"},{\"name\":\"y\",\"type\":\"space\",\"unit\":\"nanometer\"},"
	    "{\"name\":\"x\",\"type\":\"space\",\"unit\":\"nanometer\"}],\"datasets\":[{"
	    "\"coordinateTransformations\":[{\"scale\":[30.0,4.0,4.5],\"type\":\"scale\"}],"
	    "\"path\":\"0\"}],\"metadata\":{\"description\":\"one level: nothing was downscaled\","
	    "\"method\":\"none\",\"version\":\"" EM_VERSION "\"},\"name\":\"vol\",\"type\":\"none\","
	    "\"version\":\"0.4\"}]}");
	free(text);
	/* What we write, we read back. */
	ds = em_ngff_dataset(em_ngff_multiscales(a), NULL, &ms);
	em_ngff_scale(ms, ds, &sc);
	ck_assert(sc.voxel_known);
	ck_assert(sc.voxel_nm[0] == 30 && sc.voxel_nm[1] == 4 && sc.voxel_nm[2] == 4.5);
	json_decref(a);
	/* Without a voxel size: scale 1 and no unit, so nothing is claimed. */
	a = em_ngff_image_attrs(2, NULL, NULL, NULL);
	ds = em_ngff_dataset(em_ngff_multiscales(a), NULL, &ms);
	em_ngff_scale(ms, ds, &sc);
	ck_assert_int_eq(sc.naxes, 2);
	ck_assert(!sc.voxel_known);
	ck_assert_str_eq(json_string_value(json_object_get(ms, "name")), "image");
	json_decref(a);
	/* A crop's offset is level 0's translation from the first attributes on. */
	{
		static const double off[3] = { 300, 40, 0 };

		a = em_ngff_image_attrs(3, vox, off, "crop");
		ds = em_ngff_dataset(em_ngff_multiscales(a), NULL, &ms);
		text = json_dumps(json_object_get(ds, "coordinateTransformations"),
		    JSON_SORT_KEYS | JSON_COMPACT);
		ck_assert_str_eq(text, "[{\"scale\":[30.0,4.0,4.5],\"type\":\"scale\"},"
		    "{\"translation\":[300.0,40.0,0.0],\"type\":\"translation\"}]");
		free(text);
		em_ngff_scale(ms, ds, &sc);
		ck_assert(sc.offset_nm[0] == 300 && sc.offset_nm[1] == 40 && sc.offset_nm[2] == 0);
		json_decref(a);
	}
}
END_TEST

/* The transformations of dataset k of attrs' first multiscale, as "s,s,s t,t,t" (t: none). */
static void
transforms(const json_t *attrs, size_t k, char *out, size_t n)
{
	const json_t *ms = json_array_get(em_ngff_multiscales(attrs), 0);
	const json_t *ct = json_object_get(json_array_get(json_object_get(ms, "datasets"), k),
	    "coordinateTransformations");
	const json_t *s = json_object_get(json_array_get(ct, 0), "scale");
	const json_t *t = json_object_get(json_array_get(ct, 1), "translation");
	size_t m = 0;

	for (size_t i = 0; i < json_array_size(s); i++)
		m += (size_t)snprintf(out + m, n - m, "%s%g", i ? "," : "",
		    json_number_value(json_array_get(s, i)));
	m += (size_t)snprintf(out + m, n - m, " ");
	if (t == NULL)
		snprintf(out + m, n - m, "-");
	for (size_t i = 0; i < json_array_size(t); i++)
		m += (size_t)snprintf(out + m, n - m, "%s%g", i ? "," : "",
		    json_number_value(json_array_get(t, i)));
}

START_TEST(levels)
{
	static const double vox[3] = { 50, 8, 8 }, off[3] = { 500, 80, 0 };
	static const uint64_t scale[3][3] = { { 1, 1, 1 }, { 1, 2, 2 }, { 2, 4, 4 } };
	struct em_ngff_image im = { 3, vox, "v", 3, scale, NULL, "mean" };
	const json_t *ms;
	json_t *a, *ds;
	char t[200];

	/* Mean: each level's voxel 0 is at the centre of the block it summarises. */
	a = em_ngff_attrs(&im, 2);
	ck_assert_ptr_nonnull(a);
	transforms(a, 0, t, sizeof(t));
	ck_assert_str_eq(t, "50,8,8 -");
	transforms(a, 1, t, sizeof(t));
	ck_assert_str_eq(t, "50,16,16 0,4,4");
	transforms(a, 2, t, sizeof(t));
	ck_assert_str_eq(t, "100,32,32 25,12,12");
	ms = json_array_get(em_ngff_multiscales(a), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(ms,
	    "datasets"), 2), "path")), "2");
	json_decref(a);
	/* A crop's origin is added to every level; nearest keeps level 0's origin. */
	im.offset_nm = off;
	im.method = "nearest";
	a = em_ngff_attrs(&im, 2);
	transforms(a, 0, t, sizeof(t));
	ck_assert_str_eq(t, "50,8,8 500,80,0");
	transforms(a, 2, t, sizeof(t));
	ck_assert_str_eq(t, "100,32,32 500,80,0");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(em_ngff_multiscales(a),
	    0), "type")), "nearest");
	json_decref(a);
	/* NGFF 0.5: the same multiscale under "ome", the version there. */
	im.method = "mode";
	a = em_ngff_attrs(&im, 3);
	ck_assert_ptr_null(json_object_get(a, "multiscales"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "ome"), "version")),
	    "0.5");
	ms = json_array_get(em_ngff_multiscales(a), 0);
	ck_assert_ptr_null(json_object_get(ms, "version"));
	transforms(a, 1, t, sizeof(t));
	ck_assert_str_eq(t, "50,16,16 500,84,4");
	/* The omero block goes where the version keeps it. */
	ck_assert_int_eq(em_ngff_set_omero(a, em_ngff_omero(NULL, 0, 255, 3, 250)), 0);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(a, "ome"), "omero"));
	json_decref(a);
	/* A level built on one made by others continues from its transformations. */
	ds = em_ngff_level_dataset("s3", 3, (const double[3]){ 100, 32, 32 },
	    (const double[3]){ 25, 12, 12 }, (const uint64_t[3]){ 2, 2, 2 }, "mean");
	a = json_pack("{s:[{s:[{},{},{}], s:[O]}]}", "multiscales", "axes", "datasets", ds);
	transforms(a, 0, t, sizeof(t));
	ck_assert_str_eq(t, "200,64,64 75,28,28");
	json_decref(ds);
	json_decref(a);
	/* Bad arguments are refused. */
	im.ndim = 4;
	ck_assert_ptr_null(em_ngff_attrs(&im, 2));
	im.ndim = 3;
	ck_assert_ptr_null(em_ngff_attrs(&im, 4));
}
END_TEST

Suite *
ngff_suite(void)
{
	Suite *s = suite_create("ngff");
	TCase *tc = tcase_create("store");

	tcase_add_test(tc, scales);
	tcase_add_test(tc, datasets);
	tcase_add_test(tc, written);
	tcase_add_test(tc, levels);
	suite_add_tcase(s, tc);
	return s;
}
