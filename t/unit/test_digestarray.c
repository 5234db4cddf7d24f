/* test_digestarray.c - the pipelined pass equals a one-shot hash and statistics of the same bytes */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "meta/digest.h"
#include "meta/digestarray.h"
#include "meta/stats.h"

/* Hands out n elements in pieces of `piece` elements; fails at piece fail_at (1-based). */
struct mem {
	const uint16_t *data;
	size_t n, off, piece;
	unsigned calls, fail_at;
};

static int
mem_next(void *ctx, const void **data, size_t *len)
{
	struct mem *m = ctx;
	size_t k;

	if (++m->calls == m->fail_at)
		return em_fail("chunk 3/0/0 is truncated");
	if (m->off == m->n)
		return 0;
	k = m->n - m->off < m->piece ? m->n - m->off : m->piece;
	*data = m->data + m->off;
	*len = k * sizeof(uint16_t);
	m->off += k;
	return 1;
}

static const size_t pieces[] = { 1, 2, 221, 1000, 2210, 100000 };

START_TEST(matches_one_shot)
{
	size_t n = 10 * 13 * 17, i;
	uint16_t *v = malloc(n * sizeof(*v));
	struct mem m = { NULL, n, 0, pieces[_i], 0, 0 };
	struct em_slab_iter src;
	struct em_stats *st = em_stats_new(EM_DT_U2, 0);
	char want[65], got[65];
	json_t *stats = NULL, *direct;

	for (i = 0; i < n; i++)
		v[i] = (uint16_t)(i * 7919u);
	m.data = v;
	src.next = mem_next;
	src.ctx = &m;
	src.dtype = EM_DT_U2;
	src.fill_value = 0;
	src.keeps_one = (int)(_i % 2);	/* the array stays: both ways hold */
	ck_assert_int_eq(em_sha256_hex(v, n * 2, want), 0);
	ck_assert_int_eq(em_digest_array(&src, got, &stats), 0);
	ck_assert_str_eq(got, want);
	em_stats_add(st, v, n);
	direct = em_stats_result(st);
	ck_assert(json_equal(stats, direct));
	ck_assert_uint_eq(m.calls, (n + pieces[_i] - 1) / pieces[_i] + 1);
	json_decref(stats);
	json_decref(direct);
	em_stats_free(st);
	free(v);
}
END_TEST

/*
 * A source that keeps one piece, as the store's iterator does: pieces are
 * copied into two buffers in turn, and the buffer taken back is scribbled
 * over first, so a hash still reading a piece two calls old would change.
 */
struct alt {
	struct mem m;
	uint16_t *buf[2];
	int next;
};

static int
alt_next(void *ctx, const void **data, size_t *len)
{
	struct alt *a = ctx;
	const void *p = NULL;
	int r = mem_next(&a->m, &p, len);

	if (r != 1)
		return r;
	memset(a->buf[a->next], 0xa5, a->m.piece * sizeof(uint16_t));
	memcpy(a->buf[a->next], p, *len);
	*data = a->buf[a->next];
	a->next ^= 1;
	return 1;
}

START_TEST(keeps_one)
{
	size_t n = 64 * 1024 * 64, i;
	uint16_t *v = malloc(n * sizeof(*v));
	struct alt a = { { NULL, n, 0, 4096, 0, 0 }, { NULL, NULL }, 0 };
	struct em_slab_iter src = { alt_next, &a, EM_DT_U2, 0, 1 };
	char want[65], got[65];
	json_t *stats = NULL;

	for (i = 0; i < n; i++)
		v[i] = (uint16_t)(i * 40503u);
	a.m.data = v;
	a.buf[0] = malloc(4096 * sizeof(uint16_t));
	a.buf[1] = malloc(4096 * sizeof(uint16_t));
	ck_assert_int_eq(em_sha256_hex(v, n * 2, want), 0);
	ck_assert_int_eq(em_digest_array(&src, got, &stats), 0);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(json_integer_value(json_object_get(stats, "max")), 65535);
	json_decref(stats);
	/* A failure of the source while a piece is being hashed. */
	a.m.off = 0;
	a.m.calls = 0;
	a.m.fail_at = 7;
	stats = NULL;
	ck_assert_int_eq(em_digest_array(&src, got, &stats), -1);
	ck_assert_ptr_null(stats);
	ck_assert_str_eq(em_errmsg(), "chunk 3/0/0 is truncated");
	free(a.buf[0]);
	free(a.buf[1]);
	free(v);
}
END_TEST

/* A piece that splits an element is refused rather than misread. */
static int
odd_next(void *ctx, const void **data, size_t *len)
{
	static const char b[3] = { 1, 2, 3 };

	(void)ctx;
	*data = b;
	*len = 3;
	return 1;
}

START_TEST(partial_element)
{
	struct em_slab_iter src = { odd_next, NULL, EM_DT_U2, 0, 0 };
	char got[65];
	json_t *stats = NULL;

	ck_assert_int_eq(em_digest_array(&src, got, &stats), -1);
	ck_assert_msg(strstr(em_errmsg(), "not a whole number") != NULL, "%s", em_errmsg());
}
END_TEST

/* Without statistics (stats NULL): the same digest, every piece taken, a read error still an error. */
START_TEST(digest_only)
{
	size_t n = 10 * 13 * 17, i;
	uint16_t *v = malloc(n * sizeof(*v));
	struct mem m = { NULL, n, 0, pieces[_i], 0, 0 };
	struct em_slab_iter src = { mem_next, &m, EM_DT_U2, 0, (int)(_i % 2) };
	char want[65], got[65];

	for (i = 0; i < n; i++)
		v[i] = (uint16_t)(i * 104729u);
	m.data = v;
	ck_assert_int_eq(em_sha256_hex(v, n * 2, want), 0);
	ck_assert_int_eq(em_digest_array(&src, got, NULL), 0);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(m.calls, (n + pieces[_i] - 1) / pieces[_i] + 1);
	m = (struct mem){ v, n, 0, pieces[_i], 0, 2 };
	ck_assert_int_eq(em_digest_array(&src, got, NULL), -1);
	ck_assert_str_eq(em_errmsg(), "chunk 3/0/0 is truncated");
	free(v);
}
END_TEST

START_TEST(read_failure)
{
	uint16_t v[6 * 4] = { 0 };
	struct mem m = { v, 24, 0, 4, 0, 3 };
	struct em_slab_iter src = { mem_next, &m, EM_DT_U2, 0, 0 };
	char got[65];
	json_t *stats = (json_t *)1;

	ck_assert_int_eq(em_digest_array(&src, got, &stats), -1);
	ck_assert_ptr_null(stats);
	ck_assert_str_eq(em_errmsg(), "chunk 3/0/0 is truncated");
}
END_TEST

Suite *
digestarray_suite(void)
{
	Suite *s = suite_create("digestarray");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, matches_one_shot, 0, sizeof(pieces) / sizeof(pieces[0]));
	tcase_add_loop_test(tc, digest_only, 0, sizeof(pieces) / sizeof(pieces[0]));
	tcase_add_test(tc, read_failure);
	tcase_add_test(tc, keeps_one);
	tcase_add_test(tc, partial_element);
	suite_add_tcase(s, tc);
	return s;
}
