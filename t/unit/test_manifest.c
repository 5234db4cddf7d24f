/* test_manifest.c - a store's manifest: saved and loaded whole, compared on what both runs know */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "store/manifest.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-manifest-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static json_t *
sample(const char *url, const char *etag, int shape_z)
{
	json_t *m = em_manifest_new();

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(em_manifest_set_str(m, EM_MANIFEST_SOURCE, "url", url), 0);
	ck_assert_int_eq(em_manifest_set_str(m, EM_MANIFEST_VERSION, "etag", etag), 0);
	ck_assert_int_eq(em_manifest_set(m, EM_MANIFEST_WRITE, "shape",
	    json_pack("[iii]", shape_z, 64, 64)), 0);
	ck_assert_int_eq(em_manifest_set_str(m, EM_MANIFEST_WRITE, "dtype", "|u1"), 0);
	return m;
}

START_TEST(save_load)
{
	json_t *m = sample("https://a/x.tif", "\"e1\"", 10), *got = NULL;
	char path[128];
	FILE *fp;

	ck_assert_int_eq(em_manifest_load(dir, &got), 0);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(em_manifest_save(dir, m), 0);
	ck_assert_int_eq(em_manifest_load(dir, &got), 1);
	ck_assert(json_equal(m, got));
	json_decref(got);
	/* Not a manifest: refused naming the file. */
	snprintf(path, sizeof(path), "%s/%s", dir, EM_MANIFEST_NAME);
	fp = fopen(path, "w");
	fputs("{\"manifest\": 7}", fp);
	fclose(fp);
	ck_assert_int_eq(em_manifest_load(dir, &got), -1);
	ck_assert_msg(strstr(em_errmsg(), path) != NULL, "got '%s'", em_errmsg());
	fp = fopen(path, "w");
	fputs("{\"manifest\": 1, \"sou", fp);
	fclose(fp);
	ck_assert_int_eq(em_manifest_load(dir, &got), -1);
	ck_assert_msg(strstr(em_errmsg(), EM_MANIFEST_NAME) != NULL, "got '%s'", em_errmsg());
	json_decref(m);
}
END_TEST

START_TEST(compare)
{
	json_t *a = sample("https://a/x.tif", "\"e1\"", 10);
	json_t *same = sample("https://a/x.tif", "\"e1\"", 10);
	json_t *other = sample("https://b/y.tif", "\"e1\"", 10);
	json_t *changed = sample("https://a/x.tif", "\"e2\"", 10);
	json_t *shape = sample("https://a/x.tif", "\"e1\"", 11);
	json_t *unknown = sample("https://a/x.tif", NULL, 10);

	ck_assert_int_eq(em_manifest_compare(a, same), 0);
	ck_assert_int_eq(em_manifest_compare(a, other), 1);
	ck_assert_str_eq(em_errmsg(),
	    "source.url: the store has \"https://a/x.tif\", this run \"https://b/y.tif\"");
	ck_assert_int_eq(em_manifest_compare(a, changed), 1);
	ck_assert_msg(strstr(em_errmsg(), "version.etag") != NULL, "got '%s'", em_errmsg());
	ck_assert_int_eq(em_manifest_compare(a, shape), 1);
	ck_assert_str_eq(em_errmsg(), "write.shape: the store has [10,64,64], this run [11,64,64]");
	/* A run that does not know the version yet is compared on the rest. */
	ck_assert_int_eq(em_manifest_compare(a, unknown), 0);
	ck_assert_int_eq(em_manifest_compare(unknown, a), 0);
	/* 8 and 8.0 are the same number. */
	ck_assert_int_eq(em_manifest_set(a, EM_MANIFEST_WRITE, "voxel", json_real(8.0)), 0);
	ck_assert_int_eq(em_manifest_set(same, EM_MANIFEST_WRITE, "voxel", json_integer(8)), 0);
	ck_assert_int_eq(em_manifest_compare(a, same), 0);
	json_decref(a);
	json_decref(same);
	json_decref(other);
	json_decref(changed);
	json_decref(shape);
	json_decref(unknown);
}
END_TEST

START_TEST(long_values_cut)
{
	char big[1000];
	json_t *a, *b;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a = sample(big, NULL, 1);
	b = sample("y", NULL, 1);
	ck_assert_int_eq(em_manifest_compare(a, b), 1);
	ck_assert_msg(strlen(em_errmsg()) < 400 && strstr(em_errmsg(), "...") != NULL, "got '%s'",
	    em_errmsg());
	json_decref(a);
	json_decref(b);
}
END_TEST

Suite *
manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("manifest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, save_load);
	tcase_add_test(tc, compare);
	tcase_add_test(tc, long_values_cut);
	suite_add_tcase(s, tc);
	return s;
}
