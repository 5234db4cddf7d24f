/* downsample.c - pyramid levels: which axes each level halves, and the 2x reduction of a block */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/diag.h"
#include "store/downsample.h"
#include "core/banned.h"

/* An axis finer than this share of the level's coarsest voxel is halved (see the header). */
#define FINER 0.75

static const char *const method_name[] = { "mean", "mode", "nearest" };

int
em_ds_method_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(method_name) / sizeof(method_name[0]); i++)
		if (strcmp(name, method_name[i]) == 0)
			return (int)i;
	return -1;
}

const char *
em_ds_method_name(enum em_ds_method m)
{
	return (unsigned)m < sizeof(method_name) / sizeof(method_name[0]) ? method_name[m] : "?";
}

int
em_pyramid_plan(const uint64_t shape[3], const double voxel[3], const uint64_t chunks[3],
    int levels, struct em_pyramid_plan *p)
{
	double v[3], known = 0;
	int i, l;

	if (levels < 0 || levels > EM_PYRAMID_MAX_LEVELS)
		return em_fail("levels must be from 1 to %d, or auto", EM_PYRAMID_MAX_LEVELS);
	memset(p, 0, sizeof(*p));
	for (i = 0; i < 3; i++) {
		if (shape[i] == 0 || chunks[i] == 0)
			return em_fail("a size of 0 has no pyramid");
		if (voxel != NULL && voxel[i] > 0 && voxel[i] > known)
			known = voxel[i];
	}
	for (i = 0; i < 3; i++) {
		/* An unknown axis is taken as the coarsest known one: it halves with the rest. */
		v[i] = voxel != NULL && voxel[i] > 0 ? voxel[i] : (known > 0 ? known : 1);
		p->shape[0][i] = shape[i];
		p->voxel[0][i] = voxel != NULL && voxel[i] > 0 ? voxel[i] : 0;
		p->scale[0][i] = 1;
		p->factor[0][i] = 1;
	}
	p->levels = 1;
	for (l = 1; l < EM_PYRAMID_MAX_LEVELS; l++) {
		const uint64_t *s = p->shape[l - 1];
		double coarsest = 0;
		int f[3], any = 0, big = 0;

		if (levels > 0 && l >= levels)
			break;
		for (i = 0; i < 3; i++)
			if (s[i] > 1 && v[i] > coarsest)
				coarsest = v[i];
		for (i = 0; i < 3; i++) {
			f[i] = s[i] > 1 && v[i] < FINER * coarsest ? 2 : 1;
			any |= f[i] == 2;
		}
		if (!any)
			for (i = 0; i < 3; i++) {
				f[i] = s[i] > 1 ? 2 : 1;
				any |= f[i] == 2;
			}
		if (!any)
			break;
		for (i = 0; i < 3; i++)
			if (f[i] == 2 && (s[i] + 1) / 2 >= chunks[i])
				big = 1;
		if (levels == 0 && !big)
			break;
		for (i = 0; i < 3; i++) {
			p->factor[l][i] = f[i];
			p->shape[l][i] = (s[i] + (uint64_t)f[i] - 1) / (uint64_t)f[i];
			p->scale[l][i] = p->scale[l - 1][i] * (uint64_t)f[i];
			p->voxel[l][i] = p->voxel[0][i] * (double)p->scale[l][i];
			v[i] *= f[i];
		}
		p->levels++;
	}
	return 0;
}

/* The (up to 8) source offsets of output voxel (z,y,x); returns how many. */
static int
gather(const uint64_t ss[3], const int f[3], uint64_t z, uint64_t y, uint64_t x, size_t off[8])
{
	int n = 0;

	for (uint64_t dz = 0; dz < (uint64_t)f[0] && z * f[0] + dz < ss[0]; dz++)
		for (uint64_t dy = 0; dy < (uint64_t)f[1] && y * f[1] + dy < ss[1]; dy++)
			for (uint64_t dx = 0; dx < (uint64_t)f[2] && x * f[2] + dx < ss[2]; dx++)
				off[n++] = (size_t)(((z * f[0] + dz) * ss[1] + y * f[1] + dy) * ss[2]
				    + x * f[2] + dx);
	return n;
}

/*
 * Mode, by voxel: the k values counted against each other.
 */
#define MODE_LOOP(T)								\
	do {									\
		const T *in = src;						\
		T *out = dst;							\
		size_t off[8], o = 0;						\
		for (uint64_t z = 0; z < ds[0]; z++)				\
		for (uint64_t y = 0; y < ds[1]; y++)				\
		for (uint64_t x = 0; x < ds[2]; x++, o++) {			\
			int k = gather(ss, f, z, y, x, off);			\
			T best = in[off[0]];					\
			int bestn = 0;						\
			for (int i = 0; i < k; i++) {				\
				T c = in[off[i]];				\
				int n = 0;					\
				for (int j = 0; j < k; j++)			\
					n += in[off[j]] == c;			\
				if (n > bestn || (n == bestn && c < best)) {	\
					best = c;				\
					bestn = n;				\
				}						\
			}							\
			out[o] = best;						\
		}								\
	} while (0)

/*
 * Mean and nearest go row by row: output row (z,y) is made from the (1, 2
 * or 4) source rows (z*fz+dz, y*fy+dy) that exist, in (dz,dy) order.
 */
static int
source_rows(const uint64_t ss[3], const int f[3], uint64_t z, uint64_t y, size_t esz,
    const unsigned char *src, const unsigned char *rows[4])
{
	int n = 0;

	for (uint64_t dz = 0; dz < (uint64_t)f[0] && z * f[0] + dz < ss[0]; dz++)
		for (uint64_t dy = 0; dy < (uint64_t)f[1] && y * f[1] + dy < ss[1]; dy++)
			rows[n++] = src + (size_t)(((z * f[0] + dz) * ss[1] + y * f[1] + dy) * ss[2])
			    * esz;
	return n;
}

/*
 * Integer means.  Every count k is a power of two (factors are 1 or 2), so
 * floor(sum / k + 1/2) is (sum + k/2) >> log2(k), for negative sums too
 * (an arithmetic shift is a floor).  The rows are summed down first into
 * acc (exact in A), then across in pairs.
 */
#define IMEAN_ROW(NAME, T, A)							\
static void									\
NAME(const unsigned char *const *rows, int nr, uint64_t n, int fx, void *accv, void *dst) \
{										\
	A *acc = accv;								\
	const T *r0 = (const T *)(const void *)rows[0];				\
	T *out = dst;								\
	uint64_t x, pairs = fx == 2 ? n / 2 : 0;				\
	int sh = nr == 4 ? 2 : nr - 1;						\
										\
	for (x = 0; x < n; x++)							\
		acc[x] = (A)r0[x];						\
	for (int i = 1; i < nr; i++) {						\
		const T *r = (const T *)(const void *)rows[i];			\
		for (x = 0; x < n; x++)						\
			acc[x] += (A)r[x];					\
	}									\
	if (fx == 1) {								\
		A half = (A)((1 << sh) >> 1);					\
		for (x = 0; x < n; x++)						\
			out[x] = (T)((acc[x] + half) >> sh);			\
		return;								\
	}									\
	A half2 = (A)(1 << sh);							\
	for (x = 0; x < pairs; x++)						\
		out[x] = (T)((acc[2 * x] + acc[2 * x + 1] + half2) >> (sh + 1));	\
	if (n % 2)								\
		out[pairs] = (T)((acc[n - 1] + (A)((1 << sh) >> 1)) >> sh);	\
}

IMEAN_ROW(mean_u8_scalar, uint8_t, uint32_t)

#ifdef __SSE2__
/*
 * uint8, the common case, 16 voxels at a time: each row's bytes split into
 * even and odd 16-bit lanes, added (pairs across x when fx == 2, then the
 * rows down: at most 8 x 255), rounded as above and packed back.  The tail
 * goes through the scalar loop.
 */
static void
mean_u8(const unsigned char *const *rows, int nr, uint64_t n, int fx, void *accv, void *dst)
{
	unsigned char *out = dst;
	int sh = (nr == 4 ? 2 : nr - 1) + (fx == 2);
	const __m128i half = _mm_set1_epi16((short)((1 << sh) >> 1));
	const __m128i lo = _mm_set1_epi16(0x00ff);
	const __m128i cnt = _mm_cvtsi32_si128(sh);
	uint64_t x = 0, o = 0;

	if (fx == 2) {
		for (; x + 32 <= n; x += 32, o += 16) {
			__m128i a = half, b = half;

			for (int i = 0; i < nr; i++) {
				__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(rows[i] + x));
				__m128i w = _mm_loadu_si128((const __m128i *)(const void *)(rows[i] + x + 16));

				a = _mm_add_epi16(a, _mm_add_epi16(_mm_and_si128(v, lo), _mm_srli_epi16(v, 8)));
				b = _mm_add_epi16(b, _mm_add_epi16(_mm_and_si128(w, lo), _mm_srli_epi16(w, 8)));
			}
			_mm_storeu_si128((__m128i *)(void *)(out + o),
			    _mm_packus_epi16(_mm_srl_epi16(a, cnt), _mm_srl_epi16(b, cnt)));
		}
	} else {
		const __m128i zero = _mm_setzero_si128();

		for (; x + 16 <= n; x += 16, o += 16) {
			__m128i a = half, b = half;

			for (int i = 0; i < nr; i++) {
				__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(rows[i] + x));

				a = _mm_add_epi16(a, _mm_unpacklo_epi8(v, zero));
				b = _mm_add_epi16(b, _mm_unpackhi_epi8(v, zero));
			}
			_mm_storeu_si128((__m128i *)(void *)(out + o),
			    _mm_packus_epi16(_mm_srl_epi16(a, cnt), _mm_srl_epi16(b, cnt)));
		}
	}
	if (x < n) {
		const unsigned char *rest[4] = { NULL, NULL, NULL, NULL };

		for (int i = 0; i < nr; i++)
			rest[i] = rows[i] + x;
		mean_u8_scalar(rest, nr, n - x, fx, accv, out + o);
	}
}
#else
#define mean_u8 mean_u8_scalar
#endif
IMEAN_ROW(mean_i8, int8_t, int32_t)
IMEAN_ROW(mean_u16, uint16_t, uint32_t)
IMEAN_ROW(mean_i16, int16_t, int32_t)
IMEAN_ROW(mean_u32, uint32_t, uint64_t)
IMEAN_ROW(mean_i32, int32_t, int64_t)

/*
 * Floating means add in double in (dz, dy, dx) order, the order numpy's
 * reference adds them in, so the rounding is the same.
 */
#define FMEAN_ROW(NAME, T)							\
static void									\
NAME(const unsigned char *const *rows, int nr, uint64_t n, int fx, void *acc, void *dst) \
{										\
	T *out = dst;								\
	uint64_t no = fx == 2 ? (n + 1) / 2 : n;				\
										\
	(void)acc;								\
	for (uint64_t x = 0; x < no; x++) {					\
		double sum = 0;							\
		int k = 0;							\
		for (int i = 0; i < nr; i++) {					\
			const T *r = (const T *)(const void *)rows[i];		\
			for (uint64_t d = 0; d < (uint64_t)fx && x * fx + d < n; d++, k++) \
				sum += (double)r[x * fx + d];			\
		}								\
		out[x] = (T)(sum / k);						\
	}									\
}

FMEAN_ROW(mean_f32, float)
FMEAN_ROW(mean_f64, double)

int
em_downsample(enum em_dtype dt, enum em_ds_method m, const void *src, const uint64_t ss[3],
    const int f[3], void *dst)
{
	uint64_t ds[3];
	size_t esz = em_dtype_size(dt);

	for (int i = 0; i < 3; i++) {
		if (f[i] != 1 && f[i] != 2)
			return em_fail("a downsampling factor is 1 or 2, not %d", f[i]);
		ds[i] = (ss[i] + (uint64_t)f[i] - 1) / (uint64_t)f[i];
	}
	if (esz == 0)
		return em_fail("cannot downsample %s", em_dtype_name(dt));
	if (m == EM_DS_MODE) {
		switch (dt) {
		case EM_DT_U1: MODE_LOOP(uint8_t); break;
		case EM_DT_I1: MODE_LOOP(int8_t); break;
		case EM_DT_U2: MODE_LOOP(uint16_t); break;
		case EM_DT_I2: MODE_LOOP(int16_t); break;
		case EM_DT_U4: MODE_LOOP(uint32_t); break;
		case EM_DT_I4: MODE_LOOP(int32_t); break;
		case EM_DT_U8: MODE_LOOP(uint64_t); break;
		case EM_DT_I8: MODE_LOOP(int64_t); break;
		case EM_DT_F4: MODE_LOOP(float); break;
		case EM_DT_F8: MODE_LOOP(double); break;
		default: return em_fail("cannot downsample %s", em_dtype_name(dt));
		}
		return 0;
	}
	if (m == EM_DS_MEAN && (dt == EM_DT_U8 || dt == EM_DT_I8))
		/* Sums of 8 such values overflow 64 bits: only picking methods apply. */
		return em_fail("mean downsampling of %s is not supported: use mode or nearest",
		    em_dtype_name(dt));

	void (*mean)(const unsigned char *const *, int, uint64_t, int, void *, void *) = NULL;
	size_t accsz = 0;

	if (m == EM_DS_MEAN) {
		switch (dt) {
#define PICK(FN, A) mean = FN; accsz = sizeof(A); break
		case EM_DT_U1: PICK(mean_u8, uint32_t);
		case EM_DT_I1: PICK(mean_i8, int32_t);
		case EM_DT_U2: PICK(mean_u16, uint32_t);
		case EM_DT_I2: PICK(mean_i16, int32_t);
		case EM_DT_U4: PICK(mean_u32, uint64_t);
		case EM_DT_I4: PICK(mean_i32, int64_t);
		case EM_DT_F4: PICK(mean_f32, double);
		case EM_DT_F8: PICK(mean_f64, double);
#undef PICK
		default: return em_fail("cannot downsample %s", em_dtype_name(dt));
		}
	}
	void *acc = accsz ? malloc((size_t)ss[2] * accsz) : NULL;
	unsigned char *out = dst;
	size_t orow = (size_t)ds[2] * esz;

	if (accsz && acc == NULL)
		return em_fail("out of memory");
	for (uint64_t z = 0; z < ds[0]; z++)
		for (uint64_t y = 0; y < ds[1]; y++, out += orow) {
			const unsigned char *rows[4];
			int nr = source_rows(ss, f, z, y, esz, src, rows);

			if (mean != NULL)
				mean(rows, nr, ss[2], f[2], acc, out);
			else if (f[2] == 1)
				memcpy(out, rows[0], orow);
			else
				for (uint64_t x = 0; x < ds[2]; x++)
					memcpy(out + x * esz, rows[0] + 2 * x * esz, esz);
		}
	free(acc);
	return 0;
}
