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
	json_t *a = em_ngff_image_attrs(3, vox, "vol");
	const json_t *ms = NULL, *ds;
	struct em_ngff_scale sc;
	char *text;

	ck_assert_ptr_nonnull(a);
	text = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(text, "{\"multiscales\":[{\"axes\":[{\"name\":\"z\",\"type\":\"space\","
	    "\"unit\":\"nanometer\"},{\"name\":\"y\",\"type\":\"space\",\"unit\":\"nanometer\"},"
	    "{\"name\":\"x\",\"type\":\"space\",\"unit\":\"nanometer\"}],\"datasets\":[{"
	    "\"coordinateTransformations\":[{\"scale\":[30.0,4.0,4.5],\"type\":\"scale\"}],"
	    "\"path\":\"0\"}],\"metadata\":{\"description\":\"one level: nothing was "
	    "downscaled\",\"method\":\"none\",\"version\":\"" EM_VERSION "\"},"
	    "\"name\":\"vol\",\"type\":\"none\",\"version\":\"0.4\"}]}");
	free(text);
	/* What we write, we read back. */
	ds = em_ngff_dataset(em_ngff_multiscales(a), NULL, &ms);
	em_ngff_scale(ms, ds, &sc);
	ck_assert(sc.voxel_known);
	ck_assert(sc.voxel_nm[0] == 30 && sc.voxel_nm[1] == 4 && sc.voxel_nm[2] == 4.5);
	json_decref(a);
	/* Without a voxel size: scale 1 and no unit, so nothing is claimed. */
	a = em_ngff_image_attrs(2, NULL, NULL);
	ds = em_ngff_dataset(em_ngff_multiscales(a), NULL, &ms);
	em_ngff_scale(ms, ds, &sc);
	ck_assert_int_eq(sc.naxes, 2);
	ck_assert(!sc.voxel_known);
	/* OME-NGFF's strict schemas want a name: "image" when the caller has none. */
	ck_assert_str_eq(json_string_value(json_object_get(ms, "name")), "image");
	json_decref(a);
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
	suite_add_tcase(s, tc);
	return s;
}
