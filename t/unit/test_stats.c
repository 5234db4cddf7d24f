/* test_stats.c - statistics and SHA-256 against values worked out independently */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "meta/digest.h"
#include "meta/stats.h"

static double
num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(json_is_number(v), "%s is not a number", k);
	return json_number_value(v);
}

static json_t *
hist_counts(json_t *o)
{
	return json_object_get(json_object_get(o, "histogram"), "counts");
}

START_TEST(uint8_exact)
{
	uint8_t v[10] = { 0, 0, 1, 2, 3, 4, 255, 255, 255, 5 };
	struct em_stats *s = em_stats_new(EM_DT_U1, 0);
	json_t *r;
	double mean = 0, var = 0;
	int i;

	for (i = 0; i < 10; i++)
		mean += v[i];
	mean /= 10;
	for (i = 0; i < 10; i++)
		var += (v[i] - mean) * (v[i] - mean);
	var /= 10;
	/* Fed in uneven pieces: the result must not depend on them. */
	em_stats_add(s, v, 3);
	em_stats_add(s, v + 3, 7);
	r = em_stats_result(s);
	ck_assert_int_eq(num(r, "count"), 10);
	ck_assert_int_eq(num(r, "min"), 0);
	ck_assert_int_eq(num(r, "max"), 255);
	ck_assert_double_eq_tol(num(r, "mean"), mean, 1e-12);
	ck_assert_double_eq_tol(num(r, "std"), sqrt(var), 1e-12);
	ck_assert_double_eq_tol(num(r, "fill_fraction"), 0.2, 1e-15);
	ck_assert_int_eq(json_array_size(hist_counts(r)), 256);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 255)), 3);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 0)), 2);
	ck_assert_int_eq(num(json_object_get(r, "histogram"), "width"), 1);
	json_decref(r);
	em_stats_free(s);
}
END_TEST

START_TEST(int8_and_int16_signed)
{
	int8_t a[4] = { -128, -1, 0, 127 };
	int16_t b[5] = { -32768, -300, 0, 300, 32767 };
	struct em_stats *s = em_stats_new(EM_DT_I1, 0);
	json_t *r, *h;

	em_stats_add(s, a, 4);
	r = em_stats_result(s);
	ck_assert_int_eq(num(r, "min"), -128);
	ck_assert_int_eq(num(r, "max"), 127);
	ck_assert_double_eq_tol(num(r, "mean"), -0.5, 1e-12);
	h = json_object_get(r, "histogram");
	ck_assert_int_eq(num(h, "start"), -128);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 0)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 128)), 1);
	json_decref(r);
	em_stats_free(s);

	s = em_stats_new(EM_DT_I2, 0);
	em_stats_add(s, b, 5);
	r = em_stats_result(s);
	ck_assert_int_eq(num(r, "min"), -32768);
	ck_assert_int_eq(num(r, "max"), 32767);
	ck_assert_double_eq_tol(num(r, "mean"), -0.2, 1e-12);
	h = json_object_get(r, "histogram");
	/* 65536 values in 256 bins of width 256 from the minimum. */
	ck_assert_int_eq(num(h, "width"), 256);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 0)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 255)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 128)), 1);
	json_decref(r);
	em_stats_free(s);
}
END_TEST

/* A large float array with a big offset: naive sum-of-squares would lose it all. */
/* The extremes are the data's, not the type's, while 8-bit bins start at the type minimum. */
START_TEST(extremes_inside_type_range)
{
	int8_t a[3] = { -127, 5, 100 };
	uint8_t b[3] = { 7, 9, 200 };
	struct em_stats *s = em_stats_new(EM_DT_I1, 0);
	json_t *r;

	em_stats_add(s, a, 3);
	r = em_stats_result(s);
	ck_assert_int_eq(num(r, "min"), -127);
	ck_assert_int_eq(num(r, "max"), 100);
	ck_assert_int_eq(num(json_object_get(r, "histogram"), "start"), -128);
	ck_assert_int_eq(json_integer_value(json_array_get(hist_counts(r), 1)), 1);
	json_decref(r);
	em_stats_free(s);
	s = em_stats_new(EM_DT_U1, 0);
	em_stats_add(s, b, 3);
	r = em_stats_result(s);
	ck_assert_int_eq(num(r, "min"), 7);
	ck_assert_int_eq(num(r, "max"), 200);
	ck_assert_int_eq(num(json_object_get(r, "histogram"), "start"), 0);
	json_decref(r);
	em_stats_free(s);
}
END_TEST

START_TEST(float_stable)
{
	size_t n = 100000, i;
	float *v = malloc(n * sizeof(*v));
	struct em_stats *s = em_stats_new(EM_DT_F4, 0);
	long double mean = 0, var = 0;
	uint64_t total = 0;
	json_t *r, *c;

	for (i = 0; i < n; i++)
		v[i] = 1.0e6f + (float)(i % 17) * 0.25f;
	for (i = 0; i < n; i++)
		mean += v[i];
	mean /= n;
	for (i = 0; i < n; i++)
		var += (v[i] - mean) * (v[i] - mean);
	var /= n;
	em_stats_add(s, v, 999);
	em_stats_add(s, v + 999, n - 999);
	r = em_stats_result(s);
	ck_assert_double_eq_tol(num(r, "mean"), (double)mean, 1e-6);
	ck_assert_double_eq_tol(num(r, "std"), sqrt((double)var), 1e-9);
	ck_assert_double_eq(num(r, "min"), 1.0e6);
	ck_assert_double_eq(num(r, "max"), 1.0e6 + 4.0);
	c = hist_counts(r);
	for (i = 0; i < 256; i++)
		total += (uint64_t)json_integer_value(json_array_get(c, i));
	ck_assert_uint_eq(total, n);
	json_decref(r);
	em_stats_free(s);
	free(v);
}
END_TEST

/* Values outside the first block's range make the histogram double, never lose counts. */
START_TEST(histogram_grows)
{
	double v[6] = { 10, 11, 12, -1000, 5000, NAN };
	struct em_stats *s = em_stats_new(EM_DT_F8, 0);
	json_t *r, *h, *c;
	double start, width;
	uint64_t total = 0;
	size_t i;

	em_stats_add(s, v, 3);
	em_stats_add(s, v + 3, 1);
	em_stats_add(s, v + 4, 2);
	r = em_stats_result(s);
	h = json_object_get(r, "histogram");
	start = num(h, "start");
	width = num(h, "width");
	ck_assert(start <= -1000 && start + 256 * width > 5000);
	c = hist_counts(r);
	for (i = 0; i < 256; i++)
		total += (uint64_t)json_integer_value(json_array_get(c, i));
	ck_assert_uint_eq(total, 5);
	/* Each value is in the bin its edges declare. */
	for (i = 0; i < 5; i++) {
		size_t b = (size_t)((v[i] - start) / width);
		ck_assert_int_ge(json_integer_value(json_array_get(c, b)), 1);
	}
	ck_assert_int_eq(num(r, "nan_count"), 1);
	ck_assert_int_eq(num(r, "count"), 6);
	ck_assert_double_eq(num(r, "min"), -1000);
	json_decref(r);
	em_stats_free(s);
}
END_TEST

START_TEST(wide_integers_exact)
{
	uint64_t v[2] = { UINT64_C(9007199254740993), 3 };
	int64_t w[2] = { INT64_MIN, INT64_MAX };
	struct em_stats *s = em_stats_new(EM_DT_U8, 0);
	json_t *r;

	em_stats_add(s, v, 2);
	r = em_stats_result(s);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "max")), 9007199254740993LL);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "min")), 3);
	json_decref(r);
	em_stats_free(s);
	s = em_stats_new(EM_DT_I8, 0);
	em_stats_add(s, w, 2);
	r = em_stats_result(s);
	ck_assert(json_integer_value(json_object_get(r, "min")) == INT64_MIN);
	ck_assert(json_integer_value(json_object_get(r, "max")) == INT64_MAX);
	json_decref(r);
	em_stats_free(s);
}
END_TEST

START_TEST(empty)
{
	struct em_stats *s = em_stats_new(EM_DT_F4, 0);
	json_t *r = em_stats_result(s);

	ck_assert(json_is_null(json_object_get(r, "min")));
	ck_assert(json_is_null(json_object_get(r, "mean")));
	ck_assert_int_eq(num(r, "count"), 0);
	json_decref(r);
	em_stats_free(s);
	ck_assert_ptr_null(em_stats_new(EM_DT_NONE, 0));
}
END_TEST

START_TEST(sha256_vectors)
{
	char hex[65];
	struct em_sha256 *h = em_sha256_new();

	ck_assert_int_eq(em_sha256_hex("", 0, hex), 0);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* The same digest whatever the pieces. */
	em_sha256_update(h, "a", 1);
	em_sha256_update(h, "bc", 2);
	ck_assert_int_eq(em_sha256_final(h, hex), 0);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	em_sha256_free(h);
}
END_TEST

/*
 * Long pieces of bytes are counted by pairs: every count, for uint8 and int8,
 * equals one counted byte by byte, whether the bytes come in one piece of
 * over 1 MiB (odd length: a last byte outside any pair), in small pieces, or
 * as a run of one value.
 */
START_TEST(bytes_counted_by_pairs)
{
	size_t n = ((size_t)3 << 20) + 13, i, k, off;
	uint8_t *v = malloc(n);
	uint64_t want[256];
	enum em_dtype types[2] = { EM_DT_U1, EM_DT_I1 };
	int t, run;

	ck_assert_ptr_nonnull(v);
	for (run = 0; run < 2; run++) {
		uint32_t x = 12345;

		for (i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* smooth EM-like values with noise, then one value throughout */
			v[i] = run == 0 ? (uint8_t)(128 + 60 * sin((double)i / 5000.0) + (x >> 28)) : 77;
		}
		for (t = 0; t < 2; t++) {
			struct em_stats *one = em_stats_new(types[t], 0), *many = em_stats_new(types[t], 0);
			json_t *a, *b, *ca;

			memset(want, 0, sizeof(want));
			for (i = 0; i < n; i++)
				want[t == 1 ? (uint8_t)(v[i] ^ 0x80) : v[i]]++;
			ck_assert_int_eq(em_stats_add(one, v, n), 0);
			for (off = 0; off < n; off += 4099)
				ck_assert_int_eq(em_stats_add(many, v + off, n - off < 4099 ? n - off : 4099), 0);
			a = em_stats_result(one);
			b = em_stats_result(many);
			ca = hist_counts(a);
			ck_assert_int_eq(json_array_size(ca), 256);
			for (k = 0; k < 256; k++)
				ck_assert_msg((uint64_t)json_integer_value(json_array_get(ca, k)) == want[k],
				    "%s, value %zu: %lld counted, %llu there", t ? "int8" : "uint8", k,
				    (long long)json_integer_value(json_array_get(ca, k)),
				    (unsigned long long)want[k]);
			ck_assert_msg(json_equal(a, b), "one piece and small pieces disagree");
			json_decref(a);
			json_decref(b);
			em_stats_free(one);
			em_stats_free(many);
		}
	}
	free(v);
}
END_TEST

Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, uint8_exact);
	tcase_add_test(tc, int8_and_int16_signed);
	tcase_add_test(tc, bytes_counted_by_pairs);
	tcase_add_test(tc, extremes_inside_type_range);
	tcase_add_test(tc, float_stable);
	tcase_add_test(tc, histogram_grows);
	tcase_add_test(tc, wide_integers_exact);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, sha256_vectors);
	suite_add_tcase(s, tc);
	return s;
}
