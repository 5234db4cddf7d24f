/* test_digestarray.c - the pipelined pass equals a one-shot hash and statistics of the same bytes */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "diag.h"
#include "digest.h"
#include "digestarray.h"
#include "stats.h"

struct mem {
	const uint16_t *data;
	uint64_t plane;
	uint64_t fail_at;	/* fail when asked for this plane (0 = never) */
	unsigned calls;
};

static int
mem_read(void *ctx, uint64_t z0, uint64_t nz, void *buf)
{
	struct mem *m = ctx;

	m->calls++;
	if (m->fail_at && z0 + nz > m->fail_at)
		return em_fail("chunk 3/0/0 is truncated");
	memcpy(buf, m->data + z0 * m->plane, nz * m->plane * sizeof(uint16_t));
	return 0;
}

static const uint64_t depths[] = { 1, 2, 3, 7, 10, 64 };

START_TEST(matches_one_shot)
{
	uint64_t shape[3] = { 10, 13, 17 }, n = 10 * 13 * 17, i;
	uint16_t *v = malloc(n * sizeof(*v));
	struct mem m = { NULL, 13 * 17, 0, 0 };
	struct em_slab_source src;
	struct em_stats *st = em_stats_new(EM_DT_U2, 0);
	char want[65], got[65];
	json_t *stats = NULL, *direct;

	for (i = 0; i < n; i++)
		v[i] = (uint16_t)(i * 7919u);
	m.data = v;
	src.read = mem_read;
	src.ctx = &m;
	memcpy(src.shape, shape, sizeof(shape));
	src.dtype = EM_DT_U2;
	src.fill_value = 0;
	ck_assert_int_eq(em_sha256_hex(v, n * 2, want), 0);
	ck_assert_int_eq(em_digest_array(&src, depths[_i], got, &stats), 0);
	ck_assert_str_eq(got, want);
	em_stats_add(st, v, n);
	direct = em_stats_result(st);
	ck_assert(json_equal(stats, direct));
	ck_assert_uint_eq(m.calls, (10 + depths[_i] - 1) / depths[_i] > 10 ? 10
	    : (10 + depths[_i] - 1) / depths[_i]);
	json_decref(stats);
	json_decref(direct);
	em_stats_free(st);
	free(v);
}
END_TEST

START_TEST(read_failure)
{
	uint16_t v[6 * 4] = { 0 };
	struct mem m = { v, 4, 4, 0 };
	struct em_slab_source src = { mem_read, &m, { 6, 2, 2 }, EM_DT_U2, 0 };
	char got[65];
	json_t *stats = (json_t *)1;

	ck_assert_int_eq(em_digest_array(&src, 1, got, &stats), -1);
	ck_assert_ptr_null(stats);
	ck_assert_str_eq(em_errmsg(), "chunk 3/0/0 is truncated");
}
END_TEST

Suite *
digestarray_suite(void)
{
	Suite *s = suite_create("digestarray");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, matches_one_shot, 0, sizeof(depths) / sizeof(depths[0]));
	tcase_add_test(tc, read_failure);
	suite_add_tcase(s, tc);
	return s;
}
