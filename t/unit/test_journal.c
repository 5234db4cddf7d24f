/* test_journal.c - the chunk journal: what it names is trusted, torn lines and other sizes are not */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "core/limits.h"
#include "store/codec.h"
#include "store/journal.h"
#include "store/writer.h"
#include "store/zarr.h"

static char dir[64], arr[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-journal-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(arr, sizeof(arr), "%s/0", dir);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
append(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "a");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

START_TEST(add_and_reload)
{
	struct em_journal *j = em_journal_open(arr, 8, -1, 0);

	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(em_journal_count(j), 0);
	ck_assert_int_eq(em_journal_add(j, 3, "0/1/1", 1234), 0);
	ck_assert_int_eq(em_journal_add(j, 7, "1/1/1", 99), 0);
	ck_assert_int_eq(em_journal_add(j, 8, "2/0/0", 99), -1);
	ck_assert_int_eq(em_journal_add(j, 2, "0/1/0", 0), -1);
	ck_assert_int_eq(em_journal_has(j, 3, 1234), 1);
	ck_assert_int_eq(em_journal_has(j, 3, 1233), 0);
	ck_assert_int_eq(em_journal_has(j, 4, 1234), 0);
	em_journal_close(j);

	j = em_journal_open(arr, 8, -1, 0);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(em_journal_count(j), 2);
	ck_assert_int_eq(em_journal_has(j, 3, 1234), 1);
	ck_assert_int_eq(em_journal_has(j, 7, 99), 1);
	em_journal_forget(j, 3);
	ck_assert_int_eq(em_journal_has(j, 3, 1234), 0);
	ck_assert_uint_eq(em_journal_count(j), 1);
	em_journal_close(j);

	/* fresh: a store made anew trusts nothing of before. */
	j = em_journal_open(arr, 8, -1, 1);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(em_journal_count(j), 0);
	em_journal_close(j);
	j = em_journal_open(arr, 8, -1, 0);
	ck_assert_uint_eq(em_journal_count(j), 0);
	em_journal_close(j);
}
END_TEST

START_TEST(torn_and_foreign_lines)
{
	struct em_journal *j;

	/* A line cut by a crash, junk, an index past the array, a later size for the same chunk. */
	append("0.chunks", "1 0/0/1 500\nrubbish\n9 9/9/9 5\n2 0/1/0 77\n1 0/0/1 501\n5 1/0/1 12");
	j = em_journal_open(arr, 8, -1, 0);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(em_journal_count(j), 2);
	ck_assert_int_eq(em_journal_has(j, 1, 501), 1);
	ck_assert_int_eq(em_journal_has(j, 1, 500), 0);
	ck_assert_int_eq(em_journal_has(j, 2, 77), 1);
	ck_assert_int_eq(em_journal_has(j, 5, 12), 0);
	em_journal_close(j);
}
END_TEST

START_TEST(parts_read_each_other)
{
	struct em_journal *a, *b, *all;

	append("0.chunks.tmp.123.0", "6 1/1/0 40\n");
	append("00.chunks", "4 1/0/0 40\n");
	a = em_journal_open(arr, 8, 0, 0);
	b = em_journal_open(arr, 8, 1, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(em_journal_add(a, 0, "0/0/0", 10), 0);
	ck_assert_int_eq(em_journal_add(b, 1, "0/0/1", 11), 0);
	em_journal_close(a);
	em_journal_close(b);
	all = em_journal_open(arr, 8, -1, 0);
	ck_assert_ptr_nonnull(all);
	ck_assert_uint_eq(em_journal_count(all), 2);
	ck_assert_int_eq(em_journal_has(all, 0, 10), 1);
	ck_assert_int_eq(em_journal_has(all, 1, 11), 1);
	/* Temporary files and other arrays' journals are not read. */
	ck_assert_int_eq(em_journal_has(all, 6, 40), 0);
	ck_assert_int_eq(em_journal_has(all, 4, 40), 0);
	em_journal_close(all);
}
END_TEST

START_TEST(refusals)
{
	ck_assert_ptr_null(em_journal_open(arr, EM_JOURNAL_MAX_CHUNKS + 1, -1, 0));
	ck_assert_msg(strstr(em_errmsg(), "shards") != NULL, "got '%s'", em_errmsg());
	ck_assert_ptr_null(em_journal_open("/nonexistent-dir/0", 8, -1, 0));
	ck_assert_msg(strstr(em_errmsg(), "/nonexistent-dir/0.chunks") != NULL, "got '%s'",
	    em_errmsg());
	em_journal_close(NULL);
}
END_TEST

/* The writer with a journal: a chunk cut short or a foreign file at a chunk's path is written again. */
static void
write_all(const char *store, int fresh, int verify, struct em_zwriter_stats *st)
{
	unsigned char vol[16 * 16 * 16];
	struct em_zwriter_opts o = { .jobs = 2, .verify = verify };
	struct em_zwriter *w;
	struct em_zarr *a;
	char arrdir[256];

	for (size_t i = 0; i < sizeof(vol); i++)
		vol[i] = (unsigned char)(i * 7 + i / 16);
	a = em_zarr_open(store);
	ck_assert_msg(a != NULL, "%s", em_errmsg());
	snprintf(arrdir, sizeof(arrdir), "%s", em_zarr_path(a));
	o.journal = em_journal_open(arrdir, em_zarr_nchunks(em_zarr_meta(a)), -1, fresh);
	ck_assert_ptr_nonnull(o.journal);
	w = em_zwriter_new(a, &o);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(em_zwriter_put_planes(w, 0, 16, vol), 0);
	ck_assert_msg(em_zwriter_finish(w, st) == 0, "%s", em_errmsg());
	em_zwriter_free(w);
	em_journal_close(o.journal);
	em_zarr_close(a);
}

START_TEST(writer_rewrites_what_it_did_not_finish)
{
	uint64_t shape[3] = { 16, 16, 16 }, chunks[3] = { 8, 8, 8 };
	struct em_zwriter_stats st;
	struct em_zarr_meta m;
	struct em_codec c;
	char store[256], path[320], cmd[1400];
	struct stat sb;
	FILE *fp;

	snprintf(store, sizeof(store), "%s/vol", dir);
	ck_assert_int_eq(em_codec_from_name("zlib", -1, &c), 0);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U1, &c), 0);
	ck_assert_msg(em_zarr_create(store, &m, NULL, NULL) == 0, "%s", em_errmsg());
	/* Another program's file where chunk 0/1/0 goes, before the first run. */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/0/0/1' && echo foreign > '%s/0/0/1/0'", store, store);
	ck_assert_int_eq(system(cmd), 0);
	write_all(store, 1, 0, &st);
	ck_assert_uint_eq(st.chunks_written, 8);
	ck_assert_uint_eq(st.chunks_present, 0);
	/* A second run finds every chunk whole. */
	write_all(store, 0, 0, &st);
	ck_assert_uint_eq(st.chunks_written, 0);
	ck_assert_uint_eq(st.chunks_present, 8);
	/* One chunk cut short: that one is written again, to the same bytes. */
	snprintf(path, sizeof(path), "%s/0/1/1/1", store);
	ck_assert_int_eq(stat(path, &sb), 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s.whole' && truncate -s %lld '%s'", path, path,
	    (long long)sb.st_size - 3, path);
	ck_assert_int_eq(system(cmd), 0);
	write_all(store, 0, 0, &st);
	ck_assert_uint_eq(st.chunks_written, 1);
	ck_assert_uint_eq(st.chunks_present, 7);
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s.whole'", path, path);
	ck_assert_int_eq(system(cmd), 0);
	/* Replaced by a foreign file of the same size: the size agrees, so --verify decodes. */
	fp = fopen(path, "r+");
	ck_assert_ptr_nonnull(fp);
	fputs("xxxx", fp);
	fclose(fp);
	write_all(store, 0, 0, &st);
	ck_assert_uint_eq(st.chunks_written, 0);
	write_all(store, 0, 1, &st);
	ck_assert_uint_eq(st.chunks_written, 1);
	ck_assert_uint_eq(st.chunks_present, 7);
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s.whole'", path, path);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *
journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, add_and_reload);
	tcase_add_test(tc, torn_and_foreign_lines);
	tcase_add_test(tc, parts_read_each_other);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, writer_rewrites_what_it_did_not_finish);
	suite_add_tcase(s, tc);
	return s;
}
