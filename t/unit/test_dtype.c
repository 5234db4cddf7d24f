/* test_dtype.c - element type names in both directions, byte swapping, float16 conversions */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "core/dtype.h"

static const struct {
	const char *zarr;
	enum em_dtype want;
	int big;
} zarr_cases[] = {
	{ "|u1", EM_DT_U1, 0 }, { "u1", EM_DT_U1, 0 }, { "<u1", EM_DT_U1, 0 },
	{ "|i1", EM_DT_I1, 0 }, { "<u2", EM_DT_U2, 0 }, { ">u2", EM_DT_U2, 1 },
	{ "<i2", EM_DT_I2, 0 }, { ">i4", EM_DT_I4, 1 }, { "<u8", EM_DT_U8, 0 },
	{ "<f4", EM_DT_F4, 0 }, { ">f8", EM_DT_F8, 1 }, { "|u2", EM_DT_NONE, 0 },
	{ "<c8", EM_DT_NONE, 0 }, { "|b1", EM_DT_NONE, 0 }, { "<f2", EM_DT_F2, 0 },
	{ ">f2", EM_DT_F2, 1 }, { "|f2", EM_DT_NONE, 0 },
	{ "", EM_DT_NONE, 0 },
};

START_TEST(from_zarr)
{
	int big = -1;
	enum em_dtype t = em_dtype_from_zarr(zarr_cases[_i].zarr, &big);

	ck_assert_msg(t == zarr_cases[_i].want, "'%s'", zarr_cases[_i].zarr);
	if (t != EM_DT_NONE)
		ck_assert_int_eq(big, zarr_cases[_i].big);
}
END_TEST

/* binary16 from a double: nearest, ties to even, overflow to infinity; and back exactly. */
START_TEST(half)
{
	static const struct { double v; uint16_t h; } cases[] = {
		{ 1.0, 0x3c00 }, { -2.0, 0xc000 }, { 0.5, 0x3800 }, { 65504, 0x7bff },
		{ 65519.99, 0x7bff }, { 65520, 0x7c00 }, { 1e300, 0x7c00 }, { -INFINITY, 0xfc00 },
		{ 5.9604644775390625e-8, 0x0001 }, { 0x1p-25, 0x0000 }, { 0x3p-25, 0x0002 },
		{ 0x1.ff8p-15, 0x03ff }, { 0x1.ffcp-15, 0x0400 }, { 1 + 0x1p-11, 0x3c00 }, { 1 + 0x3p-11, 0x3c02 },
		{ 0.0, 0x0000 }, { -0.0, 0x8000 }, { 0.1, 0x2e66 }, { 2049, 0x6800 },
	};
	size_t i;
	uint32_t h;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(em_half_from_double(cases[i].v) == cases[i].h, "%a -> %04x, not %04x",
		    cases[i].v, em_half_from_double(cases[i].v), cases[i].h);
	ck_assert_uint_eq(em_half_from_double(NAN) & 0x7e00, 0x7e00);
	for (h = 0; h < 0x10000; h++) {
		float f = em_half_to_float((uint16_t)h);

		if (isnan(f))
			continue;
		ck_assert_msg(em_half_from_double(f) == h, "%04x -> %g -> %04x", h, f,
		    em_half_from_double(f));
	}
	ck_assert_uint_eq(em_dtype_size(EM_DT_F2), 2);
	ck_assert_str_eq(em_dtype_name(EM_DT_F2), "float16");
	ck_assert_str_eq(em_dtype_zarr(EM_DT_F2), "<f2");
	ck_assert(em_dtype_is_float(EM_DT_F2) && em_dtype_is_signed(EM_DT_F2));
}
END_TEST

START_TEST(names)
{
	int t;

	for (t = EM_DT_U1; t < EM_DT_COUNT; t++) {
		ck_assert_int_eq(em_dtype_from_name(em_dtype_name(t)), t);
		ck_assert_int_eq(em_dtype_from_zarr(em_dtype_zarr(t), NULL), t);
	}
	ck_assert_uint_eq(em_dtype_size(EM_DT_I2), 2);
	ck_assert_uint_eq(em_dtype_size(EM_DT_F8), 8);
	ck_assert_uint_eq(em_dtype_size(EM_DT_NONE), 0);
	ck_assert_str_eq(em_dtype_name(EM_DT_U2), "uint16");
	ck_assert_int_eq(em_dtype_from_name("complex64"), EM_DT_NONE);
	ck_assert(em_dtype_is_float(EM_DT_F4));
	ck_assert(!em_dtype_is_float(EM_DT_I4));
	ck_assert(em_dtype_is_signed(EM_DT_I1));
	ck_assert(!em_dtype_is_signed(EM_DT_U8));
}
END_TEST

START_TEST(swap)
{
	uint16_t a[2] = { 0x0102, 0x0304 };
	uint32_t b = 0x01020304;

	em_swap_bytes(a, 2, 2);
	ck_assert_uint_eq(a[0], 0x0201);
	ck_assert_uint_eq(a[1], 0x0403);
	em_swap_bytes(&b, 1, 4);
	ck_assert_uint_eq(b, 0x04030201);
}
END_TEST

Suite *
dtype_suite(void)
{
	Suite *s = suite_create("dtype");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, from_zarr, 0, sizeof(zarr_cases) / sizeof(zarr_cases[0]));
	tcase_add_test(tc, names);
	tcase_add_test(tc, half);
	tcase_add_test(tc, swap);
	suite_add_tcase(s, tc);
	return s;
}
