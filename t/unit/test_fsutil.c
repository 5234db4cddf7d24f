/* test_fsutil.c - atomic writes leave the old file or the whole new one */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "core/fsutil.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-fsutil-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int
count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

START_TEST(atomic_replace)
{
	char path[128], got[16] = { 0 };
	FILE *fp;

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	ck_assert_int_eq(em_mkdir_p(path), 0);
	ck_assert_int_eq(em_mkdir_p(path), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/file", dir);
	ck_assert_int_eq(em_write_atomic(path, "first", 5, 0), 0);
	ck_assert_int_eq(em_write_atomic(path, "second", 6, EM_ATOMIC_SYNC), 0);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(got, 1, sizeof(got), fp), 6);
	fclose(fp);
	ck_assert_str_eq(got, "second");
	/* No temporary file is left beside it. */
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	ck_assert_int_eq(count_entries(path), 1);
}
END_TEST

/* EM_ATOMIC_EXCL: the name is taken only when free, and nothing is left beside it either way. */
START_TEST(atomic_exclusive)
{
	char path[128], got[16] = { 0 };
	FILE *fp;

	snprintf(path, sizeof(path), "%s/once", dir);
	ck_assert_int_eq(em_write_atomic(path, "first", 5, EM_ATOMIC_EXCL), 0);
	ck_assert_int_eq(em_write_atomic(path, "second", 6, EM_ATOMIC_EXCL), 1);
	ck_assert_int_eq(em_write_atomic(path, "third", 5, EM_ATOMIC_EXCL | EM_ATOMIC_SYNC), 1);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(got, 1, sizeof(got), fp), 5);
	fclose(fp);
	ck_assert_str_eq(got, "first");
	ck_assert_int_eq(count_entries(dir), 1);
	snprintf(path, sizeof(path), "%s/missing/once", dir);
	ck_assert_int_eq(em_write_atomic(path, "x", 1, EM_ATOMIC_EXCL), -1);
	ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

/* path's text (at most 15 bytes), "" when it is not there. */
static const char *
text_of(const char *path, char got[16])
{
	FILE *fp = fopen(path, "r");

	memset(got, 0, 16);
	if (fp != NULL) {
		ck_assert_uint_le(fread(got, 1, 15, fp), 15);
		fclose(fp);
	}
	return got;
}

static void
commit_text(struct em_atomic *a, const char *path, const char *text)
{
	ck_assert_int_eq(em_atomic_open(a, path), 0);
	ck_assert_int_eq(em_write_all(a->fd, text, strlen(text)), 0);
	ck_assert_int_eq(em_atomic_commit(a, EM_ATOMIC_UNDO | EM_ATOMIC_SYNC), 0);
}

/* Files committed together, all or none: undone, the names hold what they held before. */
START_TEST(atomic_undo)
{
	char p1[128], p2[128], got[16];
	struct em_atomic a, b;

	snprintf(p1, sizeof(p1), "%s/one", dir);
	snprintf(p2, sizeof(p2), "%s/two", dir);
	ck_assert_int_eq(em_write_atomic(p1, "old", 3, 0), 0);
	/* Replacing: the new file is in place, the old one kept until the end. */
	commit_text(&a, p1, "new");
	ck_assert_str_eq(text_of(p1, got), "new");
	commit_text(&b, p2, "fresh");
	ck_assert_str_eq(text_of(p2, got), "fresh");
	ck_assert_int_eq(em_atomic_undo(&a), 0);
	ck_assert_int_eq(em_atomic_undo(&b), 0);
	ck_assert_str_eq(text_of(p1, got), "old");
	ck_assert_int_eq(em_exists(p2), 0);
	ck_assert_int_eq(count_entries(dir), 1);
	/* All went well: the old file goes, nothing else is left. */
	commit_text(&a, p1, "new");
	em_atomic_abort(&a);
	ck_assert_str_eq(text_of(p1, got), "new");
	ck_assert_int_eq(count_entries(dir), 1);
	/* Another writer's file, committed since: undo leaves it. */
	commit_text(&a, p1, "mine");
	ck_assert_int_eq(em_write_atomic(p1, "theirs", 6, 0), 0);
	ck_assert_int_eq(em_atomic_undo(&a), 0);
	ck_assert_str_eq(text_of(p1, got), "theirs");
	ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

START_TEST(abort_leaves_nothing)
{
	char path[128];
	struct em_atomic a;

	snprintf(path, sizeof(path), "%s/x", dir);
	ck_assert_int_eq(em_atomic_open(&a, path), 0);
	ck_assert_int_eq(em_write_all(a.fd, "partial", 7), 0);
	em_atomic_abort(&a);
	ck_assert_int_eq(em_exists(path), 0);
	ck_assert_int_eq(count_entries(dir), 0);
}
END_TEST

/*
 * Temporary names carry the pid and where it runs: a dead pid's file is
 * stale only here; another machine's (or container's) only once long still.
 */
START_TEST(tmp_names)
{
	const char *me = em_atomic_tmp_host();
	char name[128], other[9], self[64];
	long long now = (long long)time(NULL);
	struct em_atomic a;
	const char *slash;

	ck_assert_uint_eq(strlen(me), 8);
	ck_assert_uint_eq(strspn(me, "0123456789abcdef"), 8);
	/* The name em_atomic_open makes parses back to this pid and this host. */
	snprintf(name, sizeof(name), "%s/c", dir);
	ck_assert_int_eq(em_atomic_open(&a, name), 0);
	slash = strrchr(a.tmp, '/') + 1;
	snprintf(self, sizeof(self), "c.tmp.%ld.", (long)getpid());
	ck_assert_msg(strncmp(slash, self, strlen(self)) == 0, "%s", slash);
	ck_assert_str_eq(slash + strlen(slash) - 8, me);
	ck_assert_int_eq(em_atomic_tmp_pid(slash, "c"), (long)getpid());
	ck_assert_int_eq(em_atomic_tmp_stale(slash, "c", now - 2 * EM_TMP_FOREIGN_AGE), 0);
	em_atomic_abort(&a);
	/* Here: a dead pid is stale, with or without the host (earlier versions' names). */
	snprintf(name, sizeof(name), "3.tmp.1073741000.7.%s", me);
	ck_assert_int_eq(em_atomic_tmp_pid(name, NULL), 1073741000);
	ck_assert_int_eq(em_atomic_tmp_stale(name, NULL, now), 1);
	ck_assert_int_eq(em_atomic_tmp_stale("3.tmp.1073741000.7", NULL, now), 1);
	ck_assert_int_eq(em_atomic_tmp_stale("3.tmp.1.7", NULL, now), 0);	/* init runs */
	/* Elsewhere: the same dead-looking pid is kept until the file is a day old. */
	snprintf(other, sizeof(other), "%08x", (unsigned)strtoul(me, NULL, 16) ^ 1u);
	snprintf(name, sizeof(name), "3.tmp.1073741000.7.%s", other);
	ck_assert_int_eq(em_atomic_tmp_pid(name, NULL), 1073741000);
	ck_assert_int_eq(em_atomic_tmp_stale(name, NULL, now), 0);
	ck_assert_int_eq(em_atomic_tmp_stale(name, NULL, 0), 0);
	ck_assert_int_eq(em_atomic_tmp_stale(name, NULL, now - EM_TMP_FOREIGN_AGE - 60), 1);
	/* Not temporary names. */
	ck_assert_int_eq(em_atomic_tmp_pid("3.tmp.12.7.ABCDEF01", NULL), -1);
	ck_assert_int_eq(em_atomic_tmp_pid("3.tmp.12.7.abcdef0", NULL), -1);
	ck_assert_int_eq(em_atomic_tmp_pid("3.tmp.12.7.abcdef012", NULL), -1);
	ck_assert_int_eq(em_atomic_tmp_pid("3.tmp.12", NULL), -1);
	ck_assert_int_eq(em_atomic_tmp_pid("3.tmp.12.7", "4"), -1);
	ck_assert_int_eq(em_atomic_tmp_stale("3.tmp.x.7", NULL, 1), 0);
}
END_TEST

START_TEST(errors)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nodir/x", dir);
	ck_assert_int_eq(em_write_atomic(path, "a", 1, 0), -1);
	ck_assert_msg(strstr(em_errmsg(), "cannot create") != NULL, "%s", em_errmsg());
	snprintf(path, sizeof(path), "%s/file", dir);
	ck_assert_int_eq(em_write_atomic(path, "a", 1, 0), 0);
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	ck_assert_int_eq(em_mkdir_p(path), -1);
}
END_TEST

START_TEST(du)
{
	char path[128];
	unsigned long long n = 0;

	snprintf(path, sizeof(path), "%s/d/e", dir);
	ck_assert_int_eq(em_mkdir_p(path), 0);
	snprintf(path, sizeof(path), "%s/d/e/f", dir);
	ck_assert_int_eq(em_write_atomic(path, "12345", 5, 0), 0);
	snprintf(path, sizeof(path), "%s/d/g", dir);
	ck_assert_int_eq(em_write_atomic(path, "123", 3, 0), 0);
	snprintf(path, sizeof(path), "%s/d", dir);
	ck_assert_int_eq(em_du(path, &n), 0);
	ck_assert_uint_eq(n, 8);
}
END_TEST

Suite *
fsutil_suite(void)
{
	Suite *s = suite_create("fsutil");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, atomic_replace);
	tcase_add_test(tc, atomic_exclusive);
	tcase_add_test(tc, atomic_undo);
	tcase_add_test(tc, abort_leaves_nothing);
	tcase_add_test(tc, tmp_names);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, du);
	suite_add_tcase(s, tc);
	return s;
}
