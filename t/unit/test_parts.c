/* test_parts.c - --part I/N: unit ranges cover the array once, planes cover the units, partial statistics merge exactly */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "meta/parts.h"
#include "meta/stats.h"
#include "store/codec.h"
#include "store/writer.h"
#include "store/zarr.h"
#include "tool/options.h"

/* Units and part counts: fewer parts than units, as many, more (empty parts). */
static const struct { uint64_t units; int n; } ranges[] = {
	{ 60, 8 }, { 60, 1 }, { 60, 60 }, { 5, 12 }, { 1, 3 }, { 0, 4 },
	{ 1000003, 100000 }, { 7, 7 }, { UINT64_C(1) << 40, 99991 },
};

START_TEST(ranges_partition)
{
	uint64_t U = ranges[_i].units, lo, hi, next = 0;
	int n = ranges[_i].n, i;

	for (i = 1; i <= n; i++) {
		em_part_range(U, i, n, &lo, &hi);
		ck_assert_uint_eq(lo, next);
		ck_assert_uint_le(lo, hi);
		/* floor((I-1)U/N), floor(IU/N), exactly. */
		if (U < (UINT64_C(1) << 40))
			ck_assert_uint_eq(hi, U * (uint64_t)i / (uint64_t)n);
		next = hi;
	}
	ck_assert_uint_eq(next, U);
	em_part_range(U, 0, 0, &lo, &hi);
	ck_assert_uint_eq(lo, 0);
	ck_assert_uint_eq(hi, U);
}
END_TEST

START_TEST(planes_cover_units)
{
	struct em_zarr_meta m;
	struct em_codec c;
	uint64_t shape[3] = { 40, 96, 128 }, chunks[3] = { 8, 32, 32 }, z0, z1;
	uint64_t shard[3] = { 16, 64, 64 }, ci[3] = { 2, 1, 3 };

	ck_assert_int_eq(em_codec_from_name("raw", -1, &c), 0);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U1, &c), 0);
	ck_assert_uint_eq(em_part_units(&m), 60);
	/* Part 3 of 8: units 15..21, chunk rows 1 (12..23): planes 8..16. */
	em_part_planes(&m, 3, 8, &z0, &z1);
	ck_assert_uint_eq(z0, 8);
	ck_assert_uint_eq(z1, 16);
	ck_assert_uint_eq(em_part_nchunks(&m, 3, 8), 7);
	/* Part 4 of 8: units 22..29 straddle rows 1 and 2. */
	em_part_planes(&m, 4, 8, &z0, &z1);
	ck_assert_uint_eq(z0, 8);
	ck_assert_uint_eq(z1, 24);
	/* A part without units reads no plane. */
	em_part_planes(&m, 1, 100, &z0, &z1);
	ck_assert_uint_eq(z0, z1);
	ck_assert_uint_eq(em_part_nchunks(&m, 0, 0), 60);
	ck_assert_uint_eq(em_part_unit_of(&m, ci), 2 * 12 + 1 * 4 + 3);
	/* Shards of 16,64,64: a 3x2x2 grid; the last shard row is 8 planes deep. */
	ck_assert_int_eq(em_zarr_meta_set_format(&m, 3, shard), 0);
	ck_assert_uint_eq(em_part_units(&m), 12);
	ck_assert_uint_eq(em_part_unit_of(&m, ci), 1 * 4 + 0 * 2 + 1);
	em_part_planes(&m, 3, 3, &z0, &z1);
	ck_assert_uint_eq(z0, 32);
	ck_assert_uint_eq(z1, 40);
	/*
	 * Its 4 shards are one chunk deep (the grid is 5,3,4 chunks): 1x2x2,
	 * 1x2x2 and, at the y edge, 1x1x2 twice.
	 */
	ck_assert_uint_eq(em_part_nchunks(&m, 3, 3), 12);
	ck_assert_uint_eq(em_part_nchunks(&m, 1, 3) + em_part_nchunks(&m, 2, 3) +
	    em_part_nchunks(&m, 3, 3), 60);
}
END_TEST

START_TEST(parse_part)
{
	static const char *const bad[] = { "5/4", "0/0", "x/y", "1/100001", "3", "/4", "1/",
	    "2/-3", "1/2/3", "01/", "" };
	int i, n, k;
	size_t j;

	ck_assert_int_eq(em_part_parse("3/8", &i, &n), 0);
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(n, 8);
	ck_assert_int_eq(em_part_parse("100000/100000", &i, &n), 0);
	for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		k = em_part_parse(bad[j], &i, &n);
		ck_assert_msg(k == -1, "'%s' accepted", bad[j]);
		ck_assert_msg(strncmp(em_errmsg(), "--part: ", 8) == 0, "'%s': %s", bad[j], em_errmsg());
		ck_assert_int_eq(i, 0);
	}
}
END_TEST

/* Types and how many parts an array of them is cut in. */
static const struct { enum em_dtype t; int parts; } merges[] = {
	{ EM_DT_U1, 4 }, { EM_DT_U2, 3 }, { EM_DT_I2, 5 }, { EM_DT_F4, 7 }, { EM_DT_I4, 2 },
	{ EM_DT_F8, 1 },
};

static void
put(enum em_dtype t, unsigned char *p, uint64_t r)
{
	switch (t) {
	case EM_DT_U1: p[0] = (unsigned char)(r % 200 + 20); break;
	case EM_DT_U2: { uint16_t v = (uint16_t)(r % 5000); memcpy(p, &v, 2); break; }
	case EM_DT_I2: { int16_t v = (int16_t)((int)(r % 3000) - 1500); memcpy(p, &v, 2); break; }
	case EM_DT_F4: {
		float v = (float)(r % 100000) / 7.0f - 3000.0f;
		if (r % 997 == 0)
			v = NAN;
		memcpy(p, &v, 4);
		break;
	}
	case EM_DT_I4: { int32_t v = (int32_t)(r % 2000001) - 1000000; memcpy(p, &v, 4); break; }
	case EM_DT_F8: { double v = (double)(r % 1000) * 1e6; memcpy(p, &v, 8); break; }
	default: break;
	}
}

/* Parts' statistics, through their JSON, merge to what one pass over the whole says. */
START_TEST(merge_is_exact)
{
	enum em_dtype t = merges[_i].t;
	int parts = merges[_i].parts, k;
	size_t n = 100000, isz = em_dtype_size(t), i, lo, hi;
	unsigned char *a = malloc(n * isz);
	struct em_stats *whole = em_stats_new(t, 0);
	struct em_part_stats *merged = em_part_stats_new(t, 0);
	uint64_t r = 88172645463325252ULL;
	json_t *ws;

	ck_assert_ptr_nonnull(a);
	for (i = 0; i < n; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		put(t, a + i * isz, r);
	}
	/* Some fill (0) too. */
	memset(a, 0, 50 * isz);
	ck_assert_int_eq(em_stats_add(whole, a, n), 0);
	ws = em_stats_result(whole);
	for (k = 0; k < parts; k++) {
		struct em_part_stats *p = em_part_stats_new(t, 0);
		json_t *pj;

		lo = n * (size_t)k / (size_t)parts;
		hi = n * (size_t)(k + 1) / (size_t)parts;
		/* Pieces of uneven size, as chunk rows come. */
		for (i = lo; i < hi; i += 333)
			ck_assert_int_eq(em_part_stats_add(p, a + i * isz, hi - i < 333 ? hi - i : 333), 0);
		pj = em_part_stats_json(p);
		ck_assert_ptr_nonnull(pj);
		ck_assert_int_eq(em_part_stats_merge(merged, pj), 0);
		json_decref(pj);
		em_part_stats_free(p);
	}
	ck_assert_msg(em_part_stats_check(merged, ws) == 0, "%s", em_errmsg());
	/* A part counted twice does not add up. */
	{
		struct em_part_stats *p = em_part_stats_new(t, 0);
		json_t *pj;

		ck_assert_int_eq(em_part_stats_add(p, a, 1000), 0);
		pj = em_part_stats_json(p);
		ck_assert_int_eq(em_part_stats_merge(merged, pj), 0);
		ck_assert_int_eq(em_part_stats_check(merged, ws), -1);
		json_decref(pj);
		em_part_stats_free(p);
	}
	json_decref(ws);
	em_stats_free(whole);
	em_part_stats_free(merged);
	free(a);
}
END_TEST

Suite *
parts_suite(void)
{
	Suite *s = suite_create("parts");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, ranges_partition, 0, sizeof(ranges) / sizeof(ranges[0]));
	tcase_add_test(tc, planes_cover_units);
	tcase_add_test(tc, parse_part);
	tcase_add_loop_test(tc, merge_is_exact, 0, sizeof(merges) / sizeof(merges[0]));
	suite_add_tcase(s, tc);
	return s;
}
