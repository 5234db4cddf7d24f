/* test_lock.c - one writer per store or part: refusals name the holder, a dead holder frees it */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "store/lock.h"

static char dir[64], store[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-lock-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(store, sizeof(store), "%s/vol.zarr", dir);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(whole_excludes_whole)
{
	struct em_store_lock *a, *b;
	char who[256], want[64];

	a = em_store_lock(store, EM_LOCK_WHOLE, 0);
	ck_assert_ptr_nonnull(a);
	b = em_store_lock(store, EM_LOCK_WHOLE, 0);
	ck_assert_ptr_null(b);
	snprintf(want, sizeof(want), "is being written by pid %ld on host ", (long)getpid());
	ck_assert_msg(strstr(em_errmsg(), want) != NULL, "got '%s'", em_errmsg());
	ck_assert_msg(strstr(em_errmsg(), store) != NULL, "got '%s'", em_errmsg());
	ck_assert_int_eq(em_store_lock_holder(store, EM_LOCK_WHOLE, who, sizeof(who)), 0);
	snprintf(want, sizeof(want), " %ld", (long)getpid());
	ck_assert_msg(strstr(who, want) != NULL && who[strlen(who) - 1] != ' ', "holder '%s'", who);
	/* A short wait still fails while the holder stays. */
	ck_assert_ptr_null(em_store_lock(store, EM_LOCK_WHOLE, 0.3));
	em_store_unlock(a);
	ck_assert_int_eq(em_store_lock_holder(store, EM_LOCK_WHOLE, who, sizeof(who)), 0);
	ck_assert_str_eq(who, "");
	b = em_store_lock(store, EM_LOCK_WHOLE, 0);
	ck_assert_ptr_nonnull(b);
	em_store_unlock(b);
	em_store_unlock(NULL);
}
END_TEST

START_TEST(parts_side_by_side)
{
	struct em_store_lock *p0, *p1, *w;

	p0 = em_store_lock(store, 0, 0);
	p1 = em_store_lock(store, 1, 0);
	ck_assert_ptr_nonnull(p0);
	ck_assert_ptr_nonnull(p1);
	/* The same part twice, or the whole store, waits for the parts. */
	ck_assert_ptr_null(em_store_lock(store, 1, 0));
	ck_assert_ptr_null(w = em_store_lock(store, EM_LOCK_WHOLE, 0));
	ck_assert_msg(strstr(em_errmsg(), "pid") != NULL, "got '%s'", em_errmsg());
	em_store_unlock(p0);
	ck_assert_ptr_null(em_store_lock(store, EM_LOCK_WHOLE, 0));
	em_store_unlock(p1);
	w = em_store_lock(store, EM_LOCK_WHOLE, 0);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_null(em_store_lock(store, 3, 0));
	em_store_unlock(w);
}
END_TEST

/* A holder killed with SIGKILL leaves no stale lock: the kernel drops it with the process. */
START_TEST(dead_holder_frees)
{
	struct em_store_lock *l;
	int ready[2];
	char c, want[64];
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (em_store_lock(store, EM_LOCK_WHOLE, 0) == NULL)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_ptr_null(em_store_lock(store, EM_LOCK_WHOLE, 0));
	snprintf(want, sizeof(want), "pid %ld on host", (long)pid);
	ck_assert_msg(strstr(em_errmsg(), want) != NULL, "got '%s'", em_errmsg());
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	l = em_store_lock(store, EM_LOCK_WHOLE, 0);
	ck_assert_ptr_nonnull(l);
	em_store_unlock(l);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

/* --wait: a waiter gets the store once the holder lets go. */
START_TEST(waiter_gets_it)
{
	struct em_store_lock *l;
	int ready[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct em_store_lock *h = em_store_lock(store, EM_LOCK_WHOLE, 0);
		if (h == NULL || write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep(400000);
		em_store_unlock(h);
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	l = em_store_lock(store, EM_LOCK_WHOLE, -1);
	ck_assert_ptr_nonnull(l);
	em_store_unlock(l);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

START_TEST(unwritable_dir)
{
	ck_assert_ptr_null(em_store_lock("/nonexistent-dir/x.zarr", EM_LOCK_WHOLE, 0));
	ck_assert_msg(strstr(em_errmsg(), "/nonexistent-dir/x.zarr.lock") != NULL, "got '%s'",
	    em_errmsg());
}
END_TEST

Suite *
lock_suite(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("lock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, whole_excludes_whole);
	tcase_add_test(tc, parts_side_by_side);
	tcase_add_test(tc, dead_holder_frees);
	tcase_add_test(tc, waiter_gets_it);
	tcase_add_test(tc, unwritable_dir);
	suite_add_tcase(s, tc);
	return s;
}
