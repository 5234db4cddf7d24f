/* test_archives.c - the archives' API answers: EMPIAR entry JSON, IDR imgData, DVID /info, numbers as strings */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/diag.h"
#include "sources/dvid.h"
#include "sources/empiar.h"
#include "sources/idr.h"
#include "core/jsonio.h"

#define LEN(s) strlen(s)

/* An answer shaped as the EMPIAR API gives one (numbers as strings where the API does). */
static const char entry_json[] =
    "{\"EMPIAR-11759\": {\"title\": \"SBF-SEM of zebrafish retina\","
    " \"experiment_type\": \"SBF-SEM\", \"entry_doi\": \"10.6019/EMPIAR-11759\","
    " \"release_date\": \"2023-11-02\","
    " \"citation\": [{\"title\": \"Cone photoreceptors\", \"journal\": \"J Neurosci\","
    "   \"year\": \"2023\", \"doi\": \"10.1523/x\", \"authors\": [\"Ann A\", {\"name\": \"Bob B\"},"
    "   {\"orcid\": \"0000\"}, \"Cy C\", \"Di D\"]}],"
    " \"imagesets\": ["
    "  {\"name\": \"raw\", \"directory\": \"/data/raw/\", \"pixel_width\": \"80.0\","
    "   \"pixel_height\": 65},"
    "  {\"name\": \"top\", \"directory\": \"data\"},"
    "  {\"name\": \"evil\", \"directory\": \"data/../../etc\", \"pixel_width\": 80},"
    "  {\"name\": \"\", \"pixel_width\": null, \"pixel_height\": \"n/a\"},"
    "  7]}}";

START_TEST(empiar_entry)
{
	struct em_empiar_entry e;
	json_t *c;

	ck_assert_int_eq(em_empiar_parse(entry_json, LEN(entry_json), "EMPIAR-11759", "u", &e), 0);
	ck_assert_str_eq(e.title, "SBF-SEM of zebrafish retina");
	ck_assert_str_eq(e.experiment_type, "SBF-SEM");
	ck_assert_str_eq(e.doi, "10.6019/EMPIAR-11759");
	ck_assert_str_eq(e.release_date, "2023-11-02");
	ck_assert_uint_eq(e.nsets, 5);
	ck_assert_uint_eq(e.sets_given, 5);
	/* Directories as the listing names files below data/. */
	ck_assert_str_eq(e.sets[0].dir, "raw/");
	ck_assert_str_eq(e.sets[0].name, "raw");
	ck_assert_double_eq(e.sets[0].pixel_w_nm, 8.0);
	ck_assert_double_eq(e.sets[0].pixel_h_nm, 6.5);
	ck_assert_str_eq(e.sets[1].dir, "");
	ck_assert_ptr_null(e.sets[2].dir);		/* "../" matches nothing */
	ck_assert_double_eq(e.sets[2].pixel_w_nm, 0);	/* width without height: neither */
	ck_assert_ptr_null(e.sets[3].dir);
	ck_assert_ptr_null(e.sets[3].name);
	ck_assert_double_eq(e.sets[3].pixel_w_nm, 0);
	ck_assert_ptr_null(e.sets[4].dir);		/* not an object: nothing of it */
	/* The paper: authors as strings or objects, year as a string. */
	ck_assert(e.have_citation);
	ck_assert_int_eq(e.cit.year, 2023);
	ck_assert_uint_eq(e.cit.nauthors, 4);
	ck_assert_str_eq(e.cit.authors[1], "Bob B");
	c = em_empiar_citation(&e, "EMPIAR-11759", e.doi);
	ck_assert_str_eq(json_string_value(json_object_get(c, "text")),
	    "Ann A; Bob B; Cy C et al., Cone photoreceptors, J Neurosci (2023)");
	ck_assert_str_eq(json_string_value(json_object_get(c, "doi")), "10.1523/x");
	ck_assert_int_eq(json_integer_value(json_object_get(c, "year")), 2023);
	ck_assert_uint_eq(json_array_size(json_object_get(c, "authors")), 4);
	json_decref(c);
	em_empiar_release(&e);
	ck_assert_ptr_null(e.json);
}
END_TEST

START_TEST(empiar_lenient)
{
	static const char bare[] = "{\"EMPIAR-1\": {\"title\": \"T\", \"entry_doi\": \"doi:x\","
	    " \"citation\": [{\"title\": \"\", \"year\": 1200}], \"imagesets\": {}}}";
	static const char noentry[] = "{\"EMPIAR-2\": {}}";
	static const char wrong[] = "{\"EMPIAR-1\": [1]}";
	struct em_empiar_entry e;
	json_t *c;

	ck_assert_int_eq(em_empiar_parse(bare, LEN(bare), "EMPIAR-1", "u", &e), 0);
	ck_assert_ptr_null(e.doi);			/* not a DOI */
	ck_assert_uint_eq(e.nsets, 0);
	ck_assert(!e.have_citation);			/* a paper without a title */
	c = em_empiar_citation(&e, "EMPIAR-1", "10.1/y");
	ck_assert_str_eq(json_string_value(json_object_get(c, "text")), "EMPIAR-1: T");
	ck_assert_str_eq(json_string_value(json_object_get(c, "doi")), "10.1/y");
	ck_assert_ptr_null(json_object_get(c, "year"));
	json_decref(c);
	em_empiar_release(&e);

	ck_assert_int_eq(em_empiar_parse(noentry, LEN(noentry), "EMPIAR-1", "https://a/e/", &e), -1);
	ck_assert_str_eq(em_errmsg(), "'https://a/e/': the answer has no object for 'EMPIAR-1'");
	ck_assert_int_eq(em_empiar_parse(wrong, LEN(wrong), "EMPIAR-1", "u", &e), -1);
	ck_assert_int_eq(em_empiar_parse("{\"EMPIAR-1\": ", 13, "EMPIAR-1", "u", &e), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "'u': malformed JSON: "));
	ck_assert_int_eq(em_empiar_parse(NULL, 0, "EMPIAR-1", "u", &e), -1);
	ck_assert_int_eq(em_empiar_parse("[]", 2, "EMPIAR-1", "u", &e), -1);
	ck_assert_str_eq(em_errmsg(), "'u': not a JSON object");
	ck_assert_ptr_null(e.json);
}
END_TEST

/*
 * Values shaped as the real API gives them (a stored answer of a real entry):
 * pixel sizes in ångström as numbers (650.0 is a 65 nm pixel), image sizes as
 * strings, and each author wrapped as {"author": {"name": ..., "order_id": ...}}.
 */
START_TEST(empiar_real_shapes)
{
	static const char real[] =
	    "{\"EMPIAR-10094\": {\"title\": \"Serial block face SEM of a mouse cortex\","
	    " \"experiment_type\": \"SBF-SEM\", \"entry_doi\": \"10.6019/EMPIAR-10094\","
	    " \"citation\": [{\"title\": \"Dense reconstruction\", \"journal\": \"Nature\","
	    "   \"year\": 2019, \"authors\": ["
	    "     {\"author\": {\"name\": \"Smith J\", \"order_id\": 0, \"author_orcid\": null}},"
	    "     {\"author\": {\"name\": \"Lee K\", \"order_id\": 1}},"
	    "     {\"author\": {\"order_id\": 2}}, {\"author\": \"Ng P\"}]}],"
	    " \"imagesets\": [{\"name\": \"stack\", \"directory\": \"/data/stack\","
	    "   \"category\": \"SBF-SEM\", \"header_format\": \"DM3\", \"data_format\": \"DM3\","
	    "   \"num_images_or_tilt_series\": 1, \"frames_per_image\": 1,"
	    "   \"voxel_type\": \"UNSIGNED BYTE\", \"pixel_width\": 650.0,"
	    "   \"pixel_height\": 650.0, \"image_width\": \"5496\", \"image_height\": \"5500\","
	    "   \"details\": \"\"}]}}";
	struct em_empiar_entry e;
	json_t *c, *names;

	ck_assert_int_eq(em_empiar_parse(real, LEN(real), "EMPIAR-10094", "u", &e), 0);
	ck_assert_uint_eq(e.nsets, 1);
	ck_assert_str_eq(e.sets[0].dir, "stack/");
	ck_assert_double_eq_tol(e.sets[0].pixel_w_nm, 65.0, 1e-12);	/* Å -> nm */
	ck_assert_double_eq_tol(e.sets[0].pixel_h_nm, 65.0, 1e-12);
	/* Every wrapped name kept, in order; a wrapper without a name is skipped. */
	ck_assert_uint_eq(e.cit.nauthors, 2);
	ck_assert_str_eq(e.cit.authors[0], "Smith J");
	ck_assert_str_eq(e.cit.authors[1], "Lee K");
	c = em_empiar_citation(&e, "EMPIAR-10094", e.doi);
	names = json_object_get(c, "authors");
	ck_assert_uint_eq(json_array_size(names), 2);
	ck_assert_str_eq(json_string_value(json_array_get(names, 1)), "Lee K");
	ck_assert_str_eq(json_string_value(json_object_get(c, "text")),
	    "Smith J; Lee K, Dense reconstruction, Nature (2019)");
	json_decref(c);
	em_empiar_release(&e);
}
END_TEST

/* Image sets past EM_EMPIAR_MAX_SETS are counted, not read; a long citation is cut whole. */
START_TEST(empiar_limits)
{
	struct em_buf b = EM_BUF_INIT(1 << 20);
	struct em_empiar_entry e;
	const char *t;
	json_t *c;
	size_t i;

	em_buf_addstr(&b, "{\"EMPIAR-3\": {\"citation\": [{\"title\": \"");
	for (i = 0; i < 1500; i++)
		em_buf_addstr(&b, "\xc3\xa9");	/* 2 bytes each: 3000 bytes of text */
	em_buf_addstr(&b, "\"}], \"imagesets\": [");
	for (i = 0; i < EM_EMPIAR_MAX_SETS + 10; i++)
		em_buf_addf(&b, "%s{\"directory\": \"d%zu\"}", i ? "," : "", i);
	em_buf_addstr(&b, "]}}");
	ck_assert_int_eq(em_empiar_parse(b.data, b.len, "EMPIAR-3", "u", &e), 0);
	ck_assert_uint_eq(e.nsets, EM_EMPIAR_MAX_SETS);
	ck_assert_uint_eq(e.sets_given, EM_EMPIAR_MAX_SETS + 10);
	ck_assert_str_eq(e.sets[EM_EMPIAR_MAX_SETS - 1].dir, "d63/");
	c = em_empiar_citation(&e, "EMPIAR-3", NULL);
	t = json_string_value(json_object_get(c, "text"));
	ck_assert_ptr_nonnull(t);		/* valid UTF-8: cut between characters */
	ck_assert_uint_eq(strlen(t), 2046);
	json_decref(c);
	em_empiar_release(&e);
	em_buf_release(&b);
}
END_TEST

START_TEST(idr_imgdata)
{
	static const char ok[] = "{\"id\": 9846137, \"meta\": {\"imageName\": \"FIB-SEM U2OS\","
	    " \"datasetName\": \"D\", \"projectName\": \"\"}, \"size\": {\"width\": 2000,"
	    " \"height\": \"1500\", \"z\": 184, \"c\": 1, \"t\": 1},"
	    " \"pixel_size\": {\"x\": 0.02, \"y\": \"0.02\", \"z\": 0.02}}";
	static const char nops[] = "{\"size\": {\"width\": 4, \"height\": 3, \"z\": 2, \"c\": 3},"
	    " \"pixel_size\": {\"x\": 0.005, \"y\": 0.005, \"z\": null}}";
	static const char *const bad[] = {
		"{\"size\": {\"width\": 4, \"height\": 3}}",
		"{\"size\": {\"width\": 4.5, \"height\": 3, \"z\": 1}}",
		"{\"size\": {\"width\": 0, \"height\": 3, \"z\": 1}}",
		"{\"size\": {\"width\": -1, \"height\": 3, \"z\": 1}}",
		"{\"size\": {\"width\": 1e300, \"height\": 3, \"z\": 1}}",
		"{\"size\": {\"width\": \"inf\", \"height\": 3, \"z\": 1}}",
		"{\"size\": {\"width\": 4294967296, \"height\": 3, \"z\": 1}}",
		"{\"size\": [4, 3, 1]}",
	};
	struct em_idr_image im;
	size_t i;

	ck_assert_int_eq(em_idr_parse(ok, LEN(ok), "u", &im), 0);
	ck_assert_uint_eq(im.shape[0], 184);
	ck_assert_uint_eq(im.shape[1], 1500);
	ck_assert_uint_eq(im.shape[2], 2000);
	ck_assert(im.have_voxel);
	ck_assert_double_eq_tol(im.voxel_nm[1], 20.0, 1e-9);
	ck_assert_str_eq(im.name, "FIB-SEM U2OS");
	ck_assert_str_eq(im.dataset, "D");
	ck_assert_ptr_null(im.project);		/* empty */
	em_idr_release(&im);
	ck_assert_int_eq(em_idr_parse(nops, LEN(nops), "u", &im), 0);
	ck_assert(im.have_voxel);			/* y and x: a 2-D image's z is null */
	ck_assert_double_eq(im.voxel_nm[0], 0);
	ck_assert_double_eq_tol(im.voxel_nm[2], 5.0, 1e-9);
	ck_assert_uint_eq(im.channels, 3);
	ck_assert_uint_eq(im.times, 1);
	em_idr_release(&im);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(em_idr_parse(bad[i], LEN(bad[i]), "https://idr/x", &im) == -1, "%s",
		    bad[i]);
		ck_assert_ptr_nonnull(strstr(em_errmsg(), "'https://idr/x': imgData has no size.z"));
		ck_assert_ptr_null(im.json);
	}
	ck_assert_int_eq(em_idr_parse("<html>", 6, "u", &im), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "'u': not imgData JSON: "));
	ck_assert_int_eq(em_idr_parse("[1]", 3, "u", &im), -1);
	ck_assert_str_eq(em_errmsg(), "'u': not imgData JSON: not an object");
}
END_TEST

/* The image's URLs on a server named with or without a trailing slash: never "//". */
START_TEST(idr_urls)
{
	static const char *const bases[] = { "https://idr.openmicroscopy.org",
		"https://idr.openmicroscopy.org/", "https://idr.openmicroscopy.org//" };
	char u[128];
	size_t i;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		ck_assert_int_eq(em_idr_url(bases[i], "entry", "9846137", u, sizeof(u)), 0);
		ck_assert_str_eq(u, "https://idr.openmicroscopy.org/webclient/img_detail/9846137/");
		ck_assert_int_eq(em_idr_url(bases[i], "imgData", "9846137", u, sizeof(u)), 0);
		ck_assert_str_eq(u, "https://idr.openmicroscopy.org/webgateway/imgData/9846137/");
	}
	ck_assert_int_eq(em_idr_url("http://127.0.0.1:8080/", "entry", "1", u, sizeof(u)), 0);
	ck_assert_str_eq(u, "http://127.0.0.1:8080/webclient/img_detail/1/");
	ck_assert_int_eq(em_idr_url(bases[0], "entry", "9846137", u, 20), -1);
	ck_assert_int_eq(em_idr_url(bases[0], "thumbnail", "1", u, sizeof(u)), -1);
}
END_TEST

static const char dvid_json[] =
    "{\"Base\": {\"TypeName\": \"uint8blk\", \"Name\": \"grayscale\"},"
    " \"Extended\": {\"BlockSize\": [64, 64, 64], \"VoxelSize\": [8, 8, 8.5],"
    " \"VoxelUnits\": [\"nanometers\", \"nanometers\", \"micrometers\"],"
    " \"MinPoint\": [-10, 0, 100], \"MaxPoint\": [89, 49, 119]}}";

START_TEST(dvid_info)
{
	struct em_dvid_info di;
	const uint64_t inside[3] = { 0, 0, 100 }, size[3] = { 90, 50, 20 };
	const uint64_t past[3] = { 90, 50, 21 }, off[3] = { 1, 1, 101 };
	const uint64_t huge[3] = { UINT64_MAX / 4, 1, 1 };
	const uint64_t below[3] = { 0, 0, 99 }, one[3] = { 1, 1, 1 };

	ck_assert_int_eq(em_dvid_parse_info(dvid_json, LEN(dvid_json), &di), 0);
	ck_assert_str_eq(di.type_name, "uint8blk");
	ck_assert(di.have_extents);
	ck_assert_int_eq(di.min_xyz[0], -10);
	ck_assert_int_eq(di.max_xyz[2], 119);
	ck_assert_uint_eq(di.block_xyz[1], 64);
	ck_assert(di.voxel_known);
	ck_assert_double_eq_tol(di.voxel_nm[0], 8.0, 1e-9);
	ck_assert_double_eq_tol(di.voxel_nm[2], 8500.0, 1e-6);
	ck_assert_int_eq(em_dvid_check_box(&di, "g", inside, size), 0);
	ck_assert_int_eq(em_dvid_check_box(&di, "g", inside, past), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "outside the extents of 'g': -10,0,100 to 89,49,119"));
	ck_assert_int_eq(em_dvid_check_box(&di, "g", off, size), -1);
	ck_assert_int_eq(em_dvid_check_box(&di, "g", huge, one), -1);
	ck_assert_int_eq(em_dvid_check_box(&di, "g", one, huge), -1);
	ck_assert_int_eq(em_dvid_check_box(&di, "g", below, one), -1);
	em_dvid_info_release(&di);
}
END_TEST

START_TEST(dvid_bad)
{
	static const char *const bad[] = {
		"{\"Extended\": {\"MinPoint\": [0, 0], \"MaxPoint\": [1, 1, 1]}}",
		"{\"Extended\": {\"MinPoint\": [0, 0, 0.5], \"MaxPoint\": [1, 1, 1]}}",
		"{\"Extended\": {\"MinPoint\": [0, 0, \"0\"], \"MaxPoint\": [1, 1, 1]}}",
		/* Past int32 (a cast of 1e300 to an integer would be undefined). */
		"{\"Extended\": {\"MinPoint\": [0, 0, 0], \"MaxPoint\": [1, 1, 1e300]}}",
		"{\"Extended\": {\"MinPoint\": [0, 0, 0], \"MaxPoint\": [1, 1, 2147483648]}}",
		"{\"Extended\": {\"MinPoint\": [0, 0, 5], \"MaxPoint\": [1, 1, 4]}}",
		"not json", "[]",
	};
	static const char labels[] = "{\"Base\": {\"TypeName\": \"labelmap\"}, \"Extended\":"
	    " {\"MinPoint\": [0, 0, 0], \"MaxPoint\": [9, 9, 9], \"VoxelSize\": [8, 8, 8],"
	    " \"VoxelUnits\": [\"parsecs\"]}}";
	static const char empty[] = "{\"Base\": {\"TypeName\": \"uint8blk\"}, \"Extended\":"
	    " {\"VoxelSize\": [8, 8, 8], \"VoxelUnits\": [\"nm\"]}}";
	const uint64_t o[3] = { 0, 0, 0 }, s[3] = { 1, 1, 1 };
	struct em_dvid_info di;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(em_dvid_parse_info(bad[i], LEN(bad[i]), &di) == -1, "%s", bad[i]);
		ck_assert_ptr_null(di.json);
		if (i == 3)
			ck_assert_str_eq(em_errmsg(), "Extended.MaxPoint is not three integer "
			    "coordinates within +-2147483647");
	}
	ck_assert_int_eq(em_dvid_parse_info(labels, LEN(labels), &di), 0);
	ck_assert(!di.voxel_known);			/* an unknown unit */
	ck_assert_int_eq(em_dvid_check_box(&di, "seg", o, s), -1);
	ck_assert_str_eq(em_errmsg(), "instance 'seg' is of type 'labelmap', not uint8blk");
	em_dvid_info_release(&di);
	ck_assert_int_eq(em_dvid_parse_info(empty, LEN(empty), &di), 0);
	ck_assert(di.voxel_known);			/* one unit for all three */
	ck_assert_double_eq(di.voxel_nm[2], 8.0);
	ck_assert(!di.have_extents);
	ck_assert_int_eq(em_dvid_check_box(&di, "g", o, s), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "has no extents"));
	em_dvid_info_release(&di);
}
END_TEST

START_TEST(json_numbers)
{
	double d = -1;
	json_t *v;

	v = json_string("8.0");
	ck_assert(em_json_num(v, &d));
	ck_assert_double_eq(d, 8.0);
	json_decref(v);
	v = json_integer(12);
	ck_assert(em_json_num(v, &d));
	ck_assert_double_eq(d, 12.0);
	json_decref(v);
	d = -1;
	v = json_string("nan");
	ck_assert(!em_json_num(v, &d));
	json_decref(v);
	v = json_string("8 nm");
	ck_assert(!em_json_num(v, &d));
	json_decref(v);
	ck_assert(!em_json_num(json_null(), &d));
	ck_assert(!em_json_num(NULL, &d));
	ck_assert_double_eq(d, -1);
}
END_TEST

/* Which files of a numbered series are missing, told from the others' names. */
START_TEST(empiar_missing_names)
{
	const char *gap[] = { "d/s_1.dm3", "d/s_2.dm3", "d/s_4.dm3", "d/s_2.dm3" };
	const char *pad[] = { "img_007.tif", "img_008.tif", "img_010.tif" };
	const char *mixed[] = { "a_1.tif", "b_2.tif" };
	const char *none[] = { "one.tif", "two.tif" };
	char *out[8];
	int k, i;

	/* A gap (3), then past the end (5, 6); a name listed twice is one file. */
	k = em_empiar_missing_names(gap, 4, 6, out, 8);
	ck_assert_int_eq(k, 3);
	ck_assert_str_eq(out[0], "d/s_3.dm3");
	ck_assert_str_eq(out[1], "d/s_5.dm3");
	ck_assert_str_eq(out[2], "d/s_6.dm3");
	for (i = 0; i < k; i++)
		free(out[i]);
	/* Zero-padded numbers keep their width; at most max names. */
	k = em_empiar_missing_names(pad, 3, 6, out, 2);
	ck_assert_int_eq(k, 2);
	ck_assert_str_eq(out[0], "img_009.tif");
	ck_assert_str_eq(out[1], "img_011.tif");
	free(out[0]);
	free(out[1]);
	/* No series: only the count is known. */
	ck_assert_int_eq(em_empiar_missing_names(mixed, 2, 3, out, 8), 0);
	ck_assert_int_eq(em_empiar_missing_names(none, 2, 3, out, 8), 0);
	/* Nothing missing. */
	ck_assert_int_eq(em_empiar_missing_names(pad, 3, 3, out, 8), 0);
}
END_TEST

Suite *
archives_suite(void)
{
	Suite *s = suite_create("archives");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, empiar_entry);
	tcase_add_test(tc, empiar_lenient);
	tcase_add_test(tc, empiar_limits);
	tcase_add_test(tc, empiar_missing_names);
	tcase_add_test(tc, idr_imgdata);
	tcase_add_test(tc, idr_urls);
	tcase_add_test(tc, empiar_real_shapes);
	tcase_add_test(tc, dvid_info);
	tcase_add_test(tc, dvid_bad);
	tcase_add_test(tc, json_numbers);
	suite_add_tcase(s, tc);
	return s;
}
