/* normalize.c - normalization from recorded statistics (percentiles from the histogram), patch measures */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512 1
#endif

#include "core/diag.h"
#include "meta/normalize.h"
#include "core/banned.h"

static const char *const names[] = { "none", "zscore", "minmax", "percentile" };

int
em_norm_method_parse(const char *s, enum em_norm_method *out)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum em_norm_method)i;
			return 0;
		}
	return em_fail("unknown normalization '%s' (none, zscore, minmax, percentile)", s);
}

const char *
em_norm_method_name(enum em_norm_method m)
{
	return (unsigned)m < 4 ? names[m] : "?";
}

static int
stat_num(const json_t *stats, const char *key, double *out)
{
	const json_t *v = json_object_get(stats, key);

	if (!json_is_number(v))
		return em_fail("the statistics have no %s%s", key,
		    json_is_null(v) ? " (null: no finite value)" : "");
	*out = json_number_value(v);
	if (!isfinite(*out))
		return em_fail("the statistics' %s is not finite", key);
	return 0;
}

int
em_hist_percentile(const json_t *hist, double q, double *out)
{
	const json_t *counts = json_object_get(hist, "counts");
	double start, width, total = 0, cum = 0, t, c;
	size_t i, nb;

	if (!json_is_object(hist) || !json_is_number(json_object_get(hist, "start")) ||
	    !json_is_number(json_object_get(hist, "width")) || !json_is_array(counts))
		return em_fail("the histogram has no start, width and counts");
	start = json_number_value(json_object_get(hist, "start"));
	width = json_number_value(json_object_get(hist, "width"));
	nb = json_array_size(counts);
	if (!(width > 0) || !isfinite(start) || !isfinite(width))
		return em_fail("the histogram's width is not a positive number");
	for (i = 0; i < nb; i++) {
		const json_t *v = json_array_get(counts, i);

		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return em_fail("the histogram's count %zu is not a count", i);
		total += (double)json_integer_value(v);
	}
	if (total == 0)
		return em_fail("the histogram counts no values");
	t = q * total;
	for (i = 0; i < nb; i++) {
		c = (double)json_integer_value(json_array_get(counts, i));
		if (c > 0 && cum + c >= t) {
			*out = start + width * ((double)i + (t - cum) / c);
			return 0;
		}
		cum += c;
	}
	/* Not reached for q <= 1: the last bin with a count reaches the total. */
	return em_fail("the quantile %g is past the histogram", q);
}

int
em_norm_from_stats(struct em_norm *n, enum em_norm_method method, const json_t *stats,
    const double pct[2])
{
	double a, b;

	memset(n, 0, sizeof(*n));
	n->method = method;
	n->offset = 0;
	n->scale = 1;
	n->lo = -INFINITY;
	n->hi = INFINITY;
	if (method == EM_NORM_NONE)
		return 0;
	if (!json_is_object(stats))
		return em_fail("the record has no statistics (run em-meta on it first)");
	switch (method) {
	case EM_NORM_ZSCORE:
		if (stat_num(stats, "mean", &a) < 0 || stat_num(stats, "std", &b) < 0)
			return -1;
		if (b == 0)
			return em_fail("the statistics' std is 0: zscore would divide by zero");
		n->offset = a;
		n->scale = b;
		return 0;
	case EM_NORM_MINMAX:
		if (stat_num(stats, "min", &a) < 0 || stat_num(stats, "max", &b) < 0)
			return -1;
		if (!(b > a))
			return em_fail("the statistics' max is not above min: minmax has no range");
		n->offset = a;
		n->scale = b - a;
		return 0;
	case EM_NORM_PERCENTILE: {
		double mn, mx;

		if (!(pct[0] >= 0 && pct[0] < pct[1] && pct[1] <= 100))
			return em_fail("the percentiles %g,%g are not 0 <= LO < HI <= 100", pct[0],
			    pct[1]);
		if (stat_num(stats, "min", &mn) < 0 || stat_num(stats, "max", &mx) < 0)
			return -1;
		if (em_hist_percentile(json_object_get(stats, "histogram"), pct[0] / 100, &a) < 0 ||
		    em_hist_percentile(json_object_get(stats, "histogram"), pct[1] / 100, &b) < 0)
			return em_fail_ctx("the statistics' histogram");
		/* A bin's upper edge can lie past the largest value it holds. */
		a = a < mn ? mn : a > mx ? mx : a;
		b = b < mn ? mn : b > mx ? mx : b;
		if (!(b > a))
			return em_fail("percentiles %g and %g are both %g: no range to scale",
			    pct[0], pct[1], a);
		n->q[0] = pct[0];
		n->q[1] = pct[1];
		n->lo = a;
		n->hi = b;
		n->offset = a;
		n->scale = b - a;
		return 0;
	}
	default:
		return em_fail("unknown normalization");
	}
}

json_t *
em_norm_json(const struct em_norm *n)
{
	json_t *o = json_pack("{s:s}", "method", em_norm_method_name(n->method));

	if (o == NULL)
		return NULL;
	switch (n->method) {
	case EM_NORM_ZSCORE:
		json_object_set_new(o, "mean", json_real(n->offset));
		json_object_set_new(o, "std", json_real(n->scale));
		break;
	case EM_NORM_MINMAX:
		json_object_set_new(o, "min", json_real(n->offset));
		json_object_set_new(o, "max", json_real(n->offset + n->scale));
		break;
	case EM_NORM_PERCENTILE:
		json_object_set_new(o, "percentiles", json_pack("[ff]", n->q[0], n->q[1]));
		json_object_set_new(o, "lo", json_real(n->lo));
		json_object_set_new(o, "hi", json_real(n->hi));
		break;
	default:
		break;
	}
	return o;
}

/* Each element type read as double: one loop body per type, so the inner loops stay simple. */
#define EACH_TYPE(dt, in, BODY)							\
	switch (dt) {								\
	case EM_DT_U1: { const uint8_t *p = in; BODY; break; }			\
	case EM_DT_I1: { const int8_t *p = in; BODY; break; }			\
	case EM_DT_U2: { const uint16_t *p = in; BODY; break; }			\
	case EM_DT_I2: { const int16_t *p = in; BODY; break; }			\
	case EM_DT_U4: { const uint32_t *p = in; BODY; break; }			\
	case EM_DT_I4: { const int32_t *p = in; BODY; break; }			\
	case EM_DT_U8: { const uint64_t *p = in; BODY; break; }			\
	case EM_DT_I8: { const int64_t *p = in; BODY; break; }			\
	case EM_DT_F4: { const float *p = in; BODY; break; }			\
	case EM_DT_F8: { const double *p = in; BODY; break; }			\
	default: break;								\
	}

/* binary16 has no C type: its elements are converted one by one. */
static double
half_at(const void *in, size_t i)
{
	uint16_t h;

	memcpy(&h, (const unsigned char *)in + 2 * i, 2);
	return em_half_to_float(h);
}

/*
 * cnt[v ^ flip] += the bytes equal to v.  Four tables, taking bytes in
 * turn: runs of one value (flat regions, fill) would otherwise make each
 * increment wait for the one before it to be stored.
 */
static void
count_bytes(const uint8_t *b, size_t n, uint8_t flip, uint64_t cnt[256])
{
	uint32_t c[4][256];
	size_t i = 0, j, part;
	int k;

	memset(c, 0, sizeof(c));
	while (i < n) {
		/* At most 2^32 - 1 bytes into each 32-bit count before they are added up. */
		part = n - i < ((size_t)UINT32_MAX & ~(size_t)3) ? n - i : (size_t)UINT32_MAX & ~(size_t)3;
		for (j = 0; j + 4 <= part; j += 4) {
			c[0][(uint8_t)(b[i + j] ^ flip)]++;
			c[1][(uint8_t)(b[i + j + 1] ^ flip)]++;
			c[2][(uint8_t)(b[i + j + 2] ^ flip)]++;
			c[3][(uint8_t)(b[i + j + 3] ^ flip)]++;
		}
		for (; j < part; j++)
			c[0][(uint8_t)(b[i + j] ^ flip)]++;
		for (k = 0; k < 256; k++) {
			cnt[k] += (uint64_t)c[0][k] + c[1][k] + c[2][k] + c[3][k];
			c[0][k] = c[1][k] = c[2][k] = c[3][k] = 0;
		}
		i += part;
	}
}

void
em_patch_measure(enum em_dtype dt, const void *data, size_t n, double fill,
    double *fill_share, double *std)
{
	size_t i, nfill = 0;
	double sum = 0, mean, ss = 0, v;

	if (n == 0) {
		*fill_share = 0;
		if (std)
			*std = 0;
		return;
	}
	if (dt == EM_DT_U1 || dt == EM_DT_I1) {
		/* 256 values: count them, then every sum is over the counts (exact up to 2^53). */
		uint64_t cnt[256] = { 0 }, isum = 0;
		const uint8_t *b = data;
		int base = dt == EM_DT_I1 ? -128 : 0, k;

		if (dt == EM_DT_U1)
			count_bytes(b, n, 0, cnt);
		else
			count_bytes(b, n, 0x80, cnt);	/* int8 v counted at v + 128 */
		for (k = 0; k < 256; k++) {
			isum += cnt[k] * (uint64_t)k;
			if ((double)(k + base) == fill)
				nfill = cnt[k];
		}
		*fill_share = (double)nfill / (double)n;
		if (std == NULL)
			return;
		mean = ((double)isum + (double)base * (double)n) / (double)n;
		for (k = 0; k < 256; k++) {
			v = (double)(k + base) - mean;
			ss += (double)cnt[k] * v * v;
		}
		*std = sqrt(ss / (double)n);
		return;
	}
	if (dt == EM_DT_F2) {
		for (i = 0; i < n; i++) {
			v = half_at(data, i);
			nfill += v == fill;
			sum += v;
		}
	} else {
		EACH_TYPE(dt, data, for (i = 0; i < n; i++) {
			v = (double)p[i]; nfill += v == fill; sum += v; })
	}
	*fill_share = (double)nfill / (double)n;
	if (std == NULL)
		return;
	/* Two passes: the mean first, then the squares about it (no cancellation). */
	mean = sum / (double)n;
	if (dt == EM_DT_F2) {
		for (i = 0; i < n; i++) {
			v = half_at(data, i) - mean;
			ss += v * v;
		}
	} else {
		EACH_TYPE(dt, data, for (i = 0; i < n; i++) {
			v = (double)p[i] - mean; ss += v * v; })
	}
	*std = sqrt(ss / (double)n);
}

#ifdef HAVE_AVX512
/* The integer sums of em_patch_judge, 64 bytes a step. */
__attribute__((target("avx512f,avx512bw"))) static size_t
u8_sums_avx512(const uint8_t *b, size_t n, int fv, uint64_t *nfill, uint64_t *s1, uint64_t *s2)
{
	const __m512i zero = _mm512_setzero_si512(), f = _mm512_set1_epi8((char)fv);
	__m512i a1 = zero, a2 = zero;
	uint64_t nf = 0;
	size_t i = 0, lim;

	while (i + 64 <= n) {
		/* A 32-bit lane gains at most 4 * 255^2 a step: 8192 steps stay below 2^32. */
		__m512i q = zero;

		lim = n - i > (size_t)64 * 8192 ? i + (size_t)64 * 8192 : n;
		for (; i + 64 <= lim; i += 64) {
			__m512i v = _mm512_loadu_si512((const void *)(b + i));
			__m512i lo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v));
			__m512i hi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(v, 1));

			a1 = _mm512_add_epi64(a1, _mm512_sad_epu8(v, zero));
			q = _mm512_add_epi32(q, _mm512_add_epi32(_mm512_madd_epi16(lo, lo),
			    _mm512_madd_epi16(hi, hi)));
			if (fv >= 0)
				nf += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(v, f));
		}
		a2 = _mm512_add_epi64(a2, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(q)));
		a2 = _mm512_add_epi64(a2, _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(q, 1)));
	}
	*nfill += nf;
	*s1 += (uint64_t)_mm512_reduce_add_epi64(a1);
	*s2 += (uint64_t)_mm512_reduce_add_epi64(a2);
	return i;
}
#endif

enum em_patch_verdict
em_patch_judge(enum em_dtype dt, const void *data, size_t n, double fill, double max_fill,
    double min_std)
{
	const uint8_t *b = data;
	uint64_t nfill = 0, s1 = 0, s2 = 0, num;
	double fs, sd, var, m2;
	size_t i = 0;
	int fv;

	/* n * s2 and s1^2 stay below 2^64 up to 2^23 voxels. */
	if (dt != EM_DT_U1 || n == 0 || n > ((size_t)1 << 23)) {
		em_patch_measure(dt, data, n, fill, &fs, min_std > 0 ? &sd : NULL);
		if (fs > max_fill)
			return EM_PATCH_FILL;
		return min_std > 0 && sd < min_std ? EM_PATCH_FLAT : EM_PATCH_KEEP;
	}
	/* The byte equal to fill, if a byte can be: em_patch_measure's (double)k == fill. */
	fv = fill >= 0 && fill <= 255 && (double)(int)fill == fill ? (int)fill : -1;
#ifdef HAVE_AVX512
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
		i = u8_sums_avx512(b, n, fv, &nfill, &s1, &s2);
#endif
	for (; i < n; i++) {
		nfill += b[i] == fv;
		s1 += b[i];
		s2 += (uint64_t)b[i] * b[i];
	}
	/* The same division as em_patch_measure's. */
	if ((double)nfill / (double)n > max_fill)
		return EM_PATCH_FILL;
	if (!(min_std > 0))
		return EM_PATCH_KEEP;
	/*
	 * n^2 var = n * s2 - s1^2 exactly; var is then within a few units in
	 * the last place, as em_patch_measure's std is of the true one.  Away
	 * from min_std by more than a millionth both are on the same side.
	 */
	num = (uint64_t)n * s2 - s1 * s1;
	var = (double)num / ((double)n * (double)n);
	m2 = min_std * min_std;
	if (fabs(var - m2) > 1e-6 * m2)
		return var < m2 ? EM_PATCH_FLAT : EM_PATCH_KEEP;
	em_patch_measure(dt, data, n, fill, &fs, &sd);
	return sd < min_std ? EM_PATCH_FLAT : EM_PATCH_KEEP;
}

int
em_norm_supported(enum em_norm_method method, enum em_dtype in_dt, enum em_dtype out_dt)
{
	if (out_dt == EM_DT_F4)
		return 1;
	if (out_dt == EM_DT_U1)
		return method != EM_NORM_ZSCORE;
	return out_dt == in_dt && method == EM_NORM_NONE;
}

static inline double
clip(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int apply_direct(const struct em_norm *n, enum em_dtype in_dt, const void *in,
    size_t count, enum em_dtype out_dt, void *out);

int
em_norm_prepare(struct em_norm *n, enum em_dtype in_dt, enum em_dtype out_dt)
{
	size_t nv, i, osz = em_dtype_size(out_dt);
	void *vals, *lut;
	int rc;

	em_norm_release(n);
	if (!em_norm_supported(n->method, in_dt, out_dt))
		return em_fail("normalization %s cannot give %s values", em_norm_method_name(n->method),
		    em_dtype_name(out_dt));
	/* Values kept as they are need no table; 8-bit minmax or percentile to uint8 does. */
	if ((in_dt == out_dt && n->method == EM_NORM_NONE) || (in_dt != EM_DT_U1 &&
	    in_dt != EM_DT_I1 && in_dt != EM_DT_U2 && in_dt != EM_DT_I2))
		return 0;
	nv = in_dt == EM_DT_U1 || in_dt == EM_DT_I1 ? 256 : 65536;
	/* Every bit pattern of the type, in index order, converted by the one element rule. */
	if ((vals = malloc(nv * em_dtype_size(in_dt))) == NULL || (lut = malloc(nv * osz)) == NULL) {
		free(vals);
		return em_fail("out of memory");
	}
	for (i = 0; i < nv; i++) {
		if (nv == 256) {
			((uint8_t *)vals)[i] = (uint8_t)i;
		} else {
			((uint16_t *)vals)[i] = (uint16_t)i;
		}
	}
	rc = apply_direct(n, in_dt, vals, nv, out_dt, lut);
	free(vals);
	if (rc < 0) {
		free(lut);
		return -1;
	}
	n->lut = lut;
	n->lut_in = in_dt;
	n->lut_out = out_dt;
	return 0;
}

void
em_norm_release(struct em_norm *n)
{
	free(n->lut);
	n->lut = NULL;
	n->lut_in = n->lut_out = EM_DT_NONE;
}

#ifdef HAVE_AVX512
/* Sixteen table entries a gather: a third of the time of one load and one store a value. */
__attribute__((target("avx512f"))) static void
lut_u8_f32_avx512(const float *lut, const uint8_t *b, size_t count, float *o)
{
	size_t i;

	for (i = 0; i + 16 <= count; i += 16) {
		__m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b + i)));

		_mm512_storeu_ps(o + i, _mm512_i32gather_ps(idx, lut, 4));
	}
	for (; i < count; i++)
		o[i] = lut[b[i]];
}

/*
 * The same with byte permutes, 64 values at a time: the table's four byte
 * planes live in sixteen registers, each plane looked up with two vpermi2b
 * (values below and above 128) and a blend on the top bit, and the planes are
 * interleaved into floats with unpacks.  The unpacks work within 128-bit
 * lanes, so the input is first permuted such that they leave the floats in
 * order: position 16L + 4q + i takes value 16q + 4L + i.  4.3 times the
 * speed of the gathers (11.8 against 2.7 G values a second on an AMD EPYC).
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
lut_u8_f32_vbmi(const float *lut, const uint8_t *b, size_t count, float *o)
{
	uint8_t planes[4][256], perm[64];
	__m512i t[4][4], pidx;
	size_t i;
	int j, l, q;

	for (i = 0; i < 256; i++) {
		uint32_t v;

		memcpy(&v, &lut[i], 4);
		for (j = 0; j < 4; j++)
			planes[j][i] = (uint8_t)(v >> (8 * j));
	}
	for (j = 0; j < 4; j++)
		for (l = 0; l < 4; l++)
			t[j][l] = _mm512_loadu_si512(planes[j] + 64 * l);
	for (l = 0; l < 4; l++)
		for (q = 0; q < 4; q++)
			for (j = 0; j < 4; j++)
				perm[16 * l + 4 * q + j] = (uint8_t)(16 * q + 4 * l + j);
	pidx = _mm512_loadu_si512(perm);
	for (i = 0; i + 64 <= count; i += 64) {
		__m512i x = _mm512_permutexvar_epi8(pidx, _mm512_loadu_si512(b + i));
		__mmask64 hi = _mm512_movepi8_mask(x);
		__m512i r[4], u01l, u01h, u23l, u23h;

		for (j = 0; j < 4; j++)
			r[j] = _mm512_mask_blend_epi8(hi,
			    _mm512_permutex2var_epi8(t[j][0], x, t[j][1]),
			    _mm512_permutex2var_epi8(t[j][2], x, t[j][3]));
		u01l = _mm512_unpacklo_epi8(r[0], r[1]);
		u01h = _mm512_unpackhi_epi8(r[0], r[1]);
		u23l = _mm512_unpacklo_epi8(r[2], r[3]);
		u23h = _mm512_unpackhi_epi8(r[2], r[3]);
		_mm512_storeu_si512(o + i, _mm512_unpacklo_epi16(u01l, u23l));
		_mm512_storeu_si512(o + i + 16, _mm512_unpackhi_epi16(u01l, u23l));
		_mm512_storeu_si512(o + i + 32, _mm512_unpacklo_epi16(u01h, u23h));
		_mm512_storeu_si512(o + i + 48, _mm512_unpackhi_epi16(u01h, u23h));
	}
	for (; i < count; i++)
		o[i] = lut[b[i]];
}

/* o[i] = lut[b[i]] for 8-bit out: one plane of the same lookup. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
lut_u8_u8_vbmi(const uint8_t *lut, const uint8_t *b, size_t count, uint8_t *o)
{
	__m512i t0 = _mm512_loadu_si512(lut), t1 = _mm512_loadu_si512(lut + 64);
	__m512i t2 = _mm512_loadu_si512(lut + 128), t3 = _mm512_loadu_si512(lut + 192);
	size_t i;

	for (i = 0; i + 64 <= count; i += 64) {
		__m512i x = _mm512_loadu_si512(b + i);

		_mm512_storeu_si512(o + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(x),
		    _mm512_permutex2var_epi8(t0, x, t1), _mm512_permutex2var_epi8(t2, x, t3)));
	}
	for (; i < count; i++)
		o[i] = lut[b[i]];
}
#endif

/* o[i] = lut[b[i]] through an 8-bit value table: into float32 (w = 4) or uint8 (w = 1). */
static void
lut_u8(const void *lut, int w, const uint8_t *b, size_t count, void *o)
{
	size_t i;

#ifdef HAVE_AVX512
	if (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw")) {
		if (w == 4)
			lut_u8_f32_vbmi(lut, b, count, o);
		else
			lut_u8_u8_vbmi(lut, b, count, o);
		return;
	}
	if (w == 4 && __builtin_cpu_supports("avx512f")) {
		lut_u8_f32_avx512(lut, b, count, o);
		return;
	}
#endif
	if (w == 4)
		for (i = 0; i < count; i++)
			((float *)o)[i] = ((const float *)lut)[b[i]];
	else
		for (i = 0; i < count; i++)
			((uint8_t *)o)[i] = ((const uint8_t *)lut)[b[i]];
}

int
em_norm_apply(const struct em_norm *n, enum em_dtype in_dt, const void *in, size_t count,
    enum em_dtype out_dt, void *out)
{
	size_t i;

	if (n->lut != NULL && n->lut_in == in_dt && n->lut_out == out_dt) {
		const uint8_t *b = in;
		const uint16_t *w = in;

		if (out_dt == EM_DT_F4 && (in_dt == EM_DT_U1 || in_dt == EM_DT_I1))
			lut_u8(n->lut, 4, b, count, out);
		else if (out_dt == EM_DT_F4)
			for (i = 0; i < count; i++)
				((float *)out)[i] = ((const float *)n->lut)[w[i]];
		else if (in_dt == EM_DT_U1 || in_dt == EM_DT_I1)
			lut_u8(n->lut, 1, b, count, out);
		else
			for (i = 0; i < count; i++)
				((uint8_t *)out)[i] = ((const uint8_t *)n->lut)[w[i]];
		return 0;
	}
	return apply_direct(n, in_dt, in, count, out_dt, out);
}

static int
apply_direct(const struct em_norm *n, enum em_dtype in_dt, const void *in, size_t count,
    enum em_dtype out_dt, void *out)
{
	const double off = n->offset, sc = n->scale, lo = n->lo, hi = n->hi;
	size_t i;

	if (!em_norm_supported(n->method, in_dt, out_dt))
		return em_fail("normalization %s cannot give %s values", em_norm_method_name(n->method),
		    em_dtype_name(out_dt));
	if (out_dt == in_dt && n->method == EM_NORM_NONE) {
		memcpy(out, in, count * em_dtype_size(in_dt));
		return 0;
	}
	if (out_dt == EM_DT_F4) {
		float *o = out;

		if (n->method == EM_NORM_NONE) {
			if (in_dt == EM_DT_F2)
				for (i = 0; i < count; i++)
					o[i] = (float)half_at(in, i);
			else
				EACH_TYPE(in_dt, in, for (i = 0; i < count; i++) o[i] = (float)p[i])
		} else if (in_dt == EM_DT_F2) {
			for (i = 0; i < count; i++)
				o[i] = (float)((clip(half_at(in, i), lo, hi) - off) / sc);
		} else if (n->method == EM_NORM_PERCENTILE) {
			EACH_TYPE(in_dt, in, for (i = 0; i < count; i++)
				o[i] = (float)((clip((double)p[i], lo, hi) - off) / sc))
		} else {
			EACH_TYPE(in_dt, in, for (i = 0; i < count; i++)
				o[i] = (float)(((double)p[i] - off) / sc))
		}
		return 0;
	}
	/* uint8: 0..1 onto 0..255, or the values themselves clipped; rint rounds half to even as numpy. */
	{
		uint8_t *o = out;

		if (n->method == EM_NORM_NONE) {
			if (in_dt == EM_DT_F2)
				for (i = 0; i < count; i++)
					o[i] = (uint8_t)rint(clip(half_at(in, i), 0, 255));
			else
				EACH_TYPE(in_dt, in, for (i = 0; i < count; i++)
					o[i] = (uint8_t)rint(clip((double)p[i], 0, 255)))
		} else if (in_dt == EM_DT_F2) {
			for (i = 0; i < count; i++)
				o[i] = (uint8_t)rint(clip((clip(half_at(in, i), lo, hi) - off) / sc, 0,
				    1) * 255);
		} else {
			EACH_TYPE(in_dt, in, for (i = 0; i < count; i++)
				o[i] = (uint8_t)rint(clip((clip((double)p[i], lo, hi) - off) / sc, 0,
				    1) * 255))
		}
	}
	return 0;
}
