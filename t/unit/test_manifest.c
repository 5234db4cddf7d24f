/* test_manifest.c - a store's manifest: saved and loaded whole, compared on what both runs know */
#include <sys/stat.h>
#include <sys/wait.h>

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

/* Made only where none is: the first writer's stays, the others join it only if they agree. */
START_TEST(create_once)
{
	json_t *a = sample("https://a/x.tif", "\"e1\"", 10);
	json_t *less = sample("https://a/x.tif", NULL, 10);
	json_t *other = sample("https://a/x.tif", "\"e2\"", 10), *got = NULL;
	char sub[128];

	ck_assert_int_eq(em_manifest_create(dir, a), 0);
	ck_assert_int_eq(em_manifest_load(dir, &got), 1);
	ck_assert(json_equal(a, got));
	json_decref(got);
	/* Agrees on what both know: joins, and learns the version. */
	ck_assert_int_eq(em_manifest_create(dir, less), 0);
	ck_assert_str_eq(json_string_value(json_object_get(em_manifest_section(less,
	    EM_MANIFEST_VERSION), "etag")), "\"e1\"");
	/* Another version: refused naming both values, and the file is the first one's. */
	ck_assert_int_eq(em_manifest_create(dir, other), 1);
	ck_assert_msg(strstr(em_errmsg(), "version.etag") != NULL &&
	    strstr(em_errmsg(), "e2") != NULL, "got '%s'", em_errmsg());
	ck_assert_int_eq(em_manifest_load(dir, &got), 1);
	ck_assert(json_equal(a, got));
	json_decref(got);
	/*
	 * The first writer knew less: a later one that knows the version adds
	 * it, so a writer of another version is refused from then on.
	 */
	snprintf(sub, sizeof(sub), "%s/less", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	json_decref(less);
	less = sample("https://a/x.tif", NULL, 10);
	ck_assert_int_eq(em_manifest_create(sub, less), 0);
	ck_assert_int_eq(em_manifest_create(sub, a), 0);
	ck_assert_int_eq(em_manifest_load(sub, &got), 1);
	ck_assert(json_equal(a, got));
	json_decref(got);
	ck_assert_int_eq(em_manifest_create(sub, other), 1);
	json_decref(a);
	json_decref(less);
	json_decref(other);
}
END_TEST

#define RACE_WRITERS 6
#define RACE_DIRS 100

/*
 * Writers of two versions start together on fresh stores: in each, one
 * manifest is left whole, every writer of its version joins, every writer
 * of the other is refused.
 */
START_TEST(create_race)
{
	pid_t pid[RACE_WRITERS];
	char d[128], cmd[256];
	int w, k, st, joined[RACE_DIRS];

	for (w = 0; w < RACE_WRITERS; w++) {
		pid[w] = fork();
		ck_assert_int_ge(pid[w], 0);
		if (pid[w] == 0) {
			json_t *m = sample("https://a/x.tif", w % 2 ? "\"odd\"" : "\"even\"", 10);
			unsigned char res[RACE_DIRS];

			for (k = 0; k < RACE_DIRS; k++) {
				int r;

				snprintf(d, sizeof(d), "%s/s%d", dir, k);
				(void)mkdir(d, 0755);
				r = em_manifest_create(d, m);
				if (r < 0) {
					fprintf(stderr, "writer %d, %s: %s\n", w, d, em_errmsg());
					_exit(2);
				}
				res[k] = (unsigned char)r;
			}
			/* What each store did for this writer: '0' joined, '1' refused. */
			snprintf(d, sizeof(d), "%s/w%d", dir, w);
			{
				FILE *fp = fopen(d, "w");

				for (k = 0; k < RACE_DIRS; k++)
					fputc('0' + res[k], fp);
				fclose(fp);
			}
			json_decref(m);
			_exit(0);
		}
	}
	for (w = 0; w < RACE_WRITERS; w++) {
		ck_assert_int_eq(waitpid(pid[w], &st, 0), pid[w]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", w);
	}
	for (k = 0; k < RACE_DIRS; k++) {
		json_t *got = NULL;
		const char *etag;

		snprintf(d, sizeof(d), "%s/s%d", dir, k);
		ck_assert_int_eq(em_manifest_load(d, &got), 1);
		etag = json_string_value(json_object_get(em_manifest_section(got,
		    EM_MANIFEST_VERSION), "etag"));
		ck_assert_ptr_nonnull(etag);
		joined[k] = strcmp(etag, "\"odd\"") == 0;	/* the odd writers' version won */
		json_decref(got);
		snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = %s", d, EM_MANIFEST_NAME);
		ck_assert_msg(system(cmd) == 0, "s%d holds more than its manifest", k);
	}
	for (w = 0; w < RACE_WRITERS; w++) {
		char res[RACE_DIRS + 1] = "";
		FILE *fp;

		snprintf(d, sizeof(d), "%s/w%d", dir, w);
		fp = fopen(d, "r");
		ck_assert_ptr_nonnull(fp);
		ck_assert_uint_eq(fread(res, 1, RACE_DIRS, fp), RACE_DIRS);
		fclose(fp);
		for (k = 0; k < RACE_DIRS; k++)
			ck_assert_msg(res[k] == ((joined[k] == (w % 2)) ? '0' : '1'),
			    "writer %d in s%d: %c", w, k, res[k]);
	}
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
	tcase_add_test(tc, create_once);
	tcase_add_test(tc, create_race);
	suite_add_tcase(s, tc);
	return s;
}
