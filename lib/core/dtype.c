/* dtype.c - the element types a volume can have, with their Zarr and numpy names */
#include <math.h>
#include <string.h>

#include "core/dtype.h"
#include "core/banned.h"

static const struct {
	const char *name;
	const char *zarr;
	size_t size;
	int is_float, is_signed;
} types[EM_DT_COUNT] = {
	[EM_DT_NONE] = { "none", "", 0, 0, 0 },
	[EM_DT_U1] = { "uint8", "|u1", 1, 0, 0 },
	[EM_DT_I1] = { "int8", "|i1", 1, 0, 1 },
	[EM_DT_U2] = { "uint16", "<u2", 2, 0, 0 },
	[EM_DT_I2] = { "int16", "<i2", 2, 0, 1 },
	[EM_DT_U4] = { "uint32", "<u4", 4, 0, 0 },
	[EM_DT_I4] = { "int32", "<i4", 4, 0, 1 },
	[EM_DT_U8] = { "uint64", "<u8", 8, 0, 0 },
	[EM_DT_I8] = { "int64", "<i8", 8, 0, 1 },
	[EM_DT_F4] = { "float32", "<f4", 4, 1, 1 },
	[EM_DT_F8] = { "float64", "<f8", 8, 1, 1 },
	[EM_DT_F2] = { "float16", "<f2", 2, 1, 1 },
};

static int
valid(enum em_dtype t)
{
	return (int)t > EM_DT_NONE && t < EM_DT_COUNT;
}

size_t
em_dtype_size(enum em_dtype t)
{
	return valid(t) ? types[t].size : 0;
}

const char *
em_dtype_name(enum em_dtype t)
{
	return valid(t) ? types[t].name : "none";
}

const char *
em_dtype_zarr(enum em_dtype t)
{
	return valid(t) ? types[t].zarr : "";
}

int
em_dtype_is_float(enum em_dtype t)
{
	return valid(t) && types[t].is_float;
}

int
em_dtype_is_signed(enum em_dtype t)
{
	return valid(t) && types[t].is_signed;
}

enum em_dtype
em_dtype_from_name(const char *name)
{
	int t;

	for (t = EM_DT_NONE + 1; t < EM_DT_COUNT; t++)
		if (strcmp(types[t].name, name) == 0)
			return (enum em_dtype)t;
	return EM_DT_NONE;
}

enum em_dtype
em_dtype_from_zarr(const char *s, int *big_endian)
{
	int t;
	char order = '|';

	if (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')
		order = *s++;
	for (t = EM_DT_NONE + 1; t < EM_DT_COUNT; t++) {
		if (strcmp(types[t].zarr + 1, s) != 0)
			continue;
		/* '|' (not applicable) is only right for one-byte types. */
		if (order == '|' && types[t].size > 1)
			return EM_DT_NONE;
		if (big_endian != NULL)
			*big_endian = order == '>' && types[t].size > 1;
		return (enum em_dtype)t;
	}
	return EM_DT_NONE;
}

void
em_swap_bytes(void *p, size_t n, size_t sz)
{
	unsigned char *c = p, tmp;
	size_t i, k;

	if (sz <= 1)
		return;
	for (i = 0; i < n; i++, c += sz)
		for (k = 0; k < sz / 2; k++) {
			tmp = c[k];
			c[k] = c[sz - 1 - k];
			c[sz - 1 - k] = tmp;
		}
}

float
em_half_to_float(uint16_t h)
{
	int sign = (h >> 15) & 1, ex = (h >> 10) & 0x1f, man = h & 0x3ff;
	float v;

	if (ex == 0)
		v = ldexpf((float)man, -24);		/* zero and subnormals */
	else if (ex == 31)
		v = man ? NAN : INFINITY;
	else
		v = ldexpf((float)(man | 0x400), ex - 25);
	return sign ? -v : v;
}

uint16_t
em_half_from_double(double v)
{
	uint16_t sign = signbit(v) ? 0x8000 : 0;
	double a = fabs(v), m, r;
	int e, ex;

	if (isnan(v))
		return sign | 0x7e00;
	/* 65504 is the largest half; from 65520 on, the nearest is infinity. */
	if (a >= 65520.0)
		return sign | 0x7c00;
	m = frexp(a, &e);		/* a = m * 2^e, 0.5 <= m < 1 */
	ex = e + 14;			/* the half's biased exponent */
	if (a == 0 || ex < 1) {
		/* Subnormal: a multiple of 2^-24 (1024 is the smallest normal). */
		r = nearbyint(ldexp(a, 24));
		return sign | (uint16_t)r;
	}
	r = nearbyint((2 * m - 1) * 1024);
	if (r == 1024) {
		r = 0;
		ex++;
	}
	if (ex >= 31)
		return sign | 0x7c00;
	return sign | (uint16_t)(ex << 10) | (uint16_t)r;
}
