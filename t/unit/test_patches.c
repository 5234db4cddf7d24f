/* test_patches.c - what em-patches is built from: ustar headers, .npy headers, splits by blocks, normalization, sample digests */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "core/tar.h"
#include "formats/npy.h"
#include "meta/digest.h"
#include "meta/normalize.h"
#include "meta/sha256mb.h"
#include "meta/splits.h"
#include "core/diag.h"

/* Python's tarfile (USTAR_FORMAT, mtime 0, mode 0644, no names) writes this header for a.json of 3 bytes. */
START_TEST(tar_header)
{
	unsigned char h[EM_TAR_BLOCK];
	char hex[65], name[128];

	ck_assert_int_eq(em_tar_header(h, "a.json", 3, 0), 0);
	ck_assert_int_eq(em_sha256_hex(h, sizeof(h), hex), 0);
	ck_assert_str_eq(hex, "702074c2a4aa7a7997cf9a5960f61ce3f95115031b1726f80585a5375b985ca8");
	ck_assert_int_eq((int)em_tar_pad(3), 509);
	ck_assert_int_eq((int)em_tar_pad(512), 0);
	ck_assert_int_eq((int)em_tar_member_bytes(513), 512 + 1024);
	/* Names that do not fit the name field, and sizes past 11 octal digits, are refused. */
	memset(name, 'a', 100);
	name[100] = '\0';
	ck_assert_int_eq(em_tar_header(h, name, 1, 0), -1);
	ck_assert_int_eq(em_tar_header(h, "", 1, 0), -1);
	ck_assert_int_eq(em_tar_header(h, "x", EM_TAR_SIZE_MAX + 1, 0), -1);
	ck_assert_int_eq(em_tar_header(h, "x", EM_TAR_SIZE_MAX, 0), 0);
}
END_TEST

/* numpy.save's headers (numpy 1.24) for these arrays, prefix and length. */
START_TEST(npy_header)
{
	static const struct {
		enum em_dtype dt;
		int ndim;
		uint64_t shape[3];
		const char *dict;
	} cases[] = {
		{ EM_DT_F4, 3, { 64, 64, 64 }, "{'descr': '<f4', 'fortran_order': False, 'shape': (64, 64, 64), }" },
		{ EM_DT_U1, 1, { 5 }, "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }" },
		{ EM_DT_U2, 2, { 16, 16 }, "{'descr': '<u2', 'fortran_order': False, 'shape': (16, 16), }" },
	};
	char buf[EM_NPY_HEADER_MAX];
	size_t i, k;
	int n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = em_npy_header(buf, sizeof(buf), cases[i].dt, cases[i].ndim, cases[i].shape);
		ck_assert_int_eq(n, 128);
		ck_assert(memcmp(buf, "\x93NUMPY\x01\x00\x76\x00", 10) == 0);
		ck_assert(memcmp(buf + 10, cases[i].dict, strlen(cases[i].dict)) == 0);
		for (k = 10 + strlen(cases[i].dict); k < 127; k++)
			ck_assert_int_eq(buf[k], ' ');
		ck_assert_int_eq(buf[127], '\n');
	}
	ck_assert_int_eq(em_npy_header(buf, 64, EM_DT_F4, 3, cases[0].shape), -1);
	ck_assert_int_eq(em_npy_header(buf, sizeof(buf), EM_DT_NONE, 3, cases[0].shape), -1);
}
END_TEST

START_TEST(splits_parse)
{
	static const struct {
		const char *s;
		int ok, n;
		const char *msg;
	} cases[] = {
		{ "train=0.8,val=0.1,test=0.1", 1, 3, NULL },
		{ "train=1", 1, 1, NULL },
		{ "test=0.5,train=0.5", 1, 2, NULL },
		{ "train=0.8,val=0.3", 0, 0, "the fractions sum to 1.1, not 1" },
		{ "train=0.8,holdout=0.2", 0, 0, "unknown split 'holdout'" },
		{ "train=0.5,train=0.5", 0, 0, "split 'train' is given twice" },
		{ "train", 0, 0, "'train' is not NAME=FRACTION" },
		{ "train=x", 0, 0, "not a number in 0..1" },
		{ "train=1.5,val=-0.5", 0, 0, "not a number in 0..1" },
		{ "", 0, 0, "empty" },
	};
	struct em_splits sp;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = em_splits_parse(cases[i].s, &sp);

		ck_assert_msg(rc == (cases[i].ok ? 0 : -1), "%s", cases[i].s);
		if (cases[i].ok)
			ck_assert_int_eq(sp.n, cases[i].n);
		else
			ck_assert_msg(strstr(em_errmsg(), cases[i].msg) != NULL, "%s: %s", cases[i].s,
			    em_errmsg());
	}
}
END_TEST

/* SplitMix64 as published; blocks split in the asked shares, from coordinates and seed only. */
START_TEST(splits_blocks)
{
	struct em_splits sp;
	uint64_t b[3], n[3] = { 0, 0, 0 };
	struct em_rng r1, r2;
	int i, s;

	ck_assert_uint_eq(em_splitmix64(0), 0xe220a8397b1dcdafu);
	ck_assert_uint_eq(em_splitmix64(1), 0x910a2dec89025cc1u);
	ck_assert_int_eq(em_splits_parse("train=0.8,val=0.1,test=0.1", &sp), 0);
	for (i = 0; i < 30000; i++) {
		b[0] = (uint64_t)i / 900;
		b[1] = (uint64_t)i / 30 % 30;
		b[2] = (uint64_t)i % 30;
		s = em_splits_block(&sp, 7, b);
		ck_assert(s >= 0 && s < 3);
		n[s]++;
		ck_assert_int_eq(em_splits_block(&sp, 7, b), s);
	}
	ck_assert(n[0] > 23400 && n[0] < 24600);
	ck_assert(n[1] > 2700 && n[1] < 3300);
	ck_assert(n[2] > 2700 && n[2] < 3300);
	/* A split of fraction 0 gets no block. */
	ck_assert_int_eq(em_splits_parse("train=0.5,val=0,test=0.5", &sp), 0);
	for (i = 0; i < 2000; i++) {
		b[0] = 0, b[1] = (uint64_t)i, b[2] = 3;
		ck_assert_int_ne(em_splits_block(&sp, 1, b), 1);
	}
	/* The same seed and stream give the same numbers; em_rng_below stays below. */
	em_rng_seed(&r1, 5, 2);
	em_rng_seed(&r2, 5, 2);
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(em_rng_next(&r1), em_rng_next(&r2));
	for (i = 0; i < 1000; i++)
		ck_assert_uint_lt(em_rng_below(&r1, 7), 7);
}
END_TEST

START_TEST(hist_percentiles)
{
	/* 10 values in bin 0, 30 in bin 2, 60 in bin 3; bins of width 2 from 100. */
	json_t *h = json_pack("{s:i, s:f, s:f, s:[iiii]}", "bins", 4, "start", 100.0, "width", 2.0,
	    "counts", 10, 0, 30, 60);
	double v;

	ck_assert_int_eq(em_hist_percentile(h, 0, &v), 0);
	ck_assert(v == 100);
	ck_assert_int_eq(em_hist_percentile(h, 0.05, &v), 0);
	ck_assert(v == 101);			/* half of bin 0 */
	ck_assert_int_eq(em_hist_percentile(h, 0.1, &v), 0);
	ck_assert(v == 102);			/* bin 0 full: its upper edge */
	ck_assert_int_eq(em_hist_percentile(h, 0.25, &v), 0);
	ck_assert(v == 105);			/* half of bin 2 (the empty bin 1 is skipped) */
	ck_assert_int_eq(em_hist_percentile(h, 1, &v), 0);
	ck_assert(v == 108);
	json_decref(h);
	h = json_pack("{s:f, s:f, s:[ii]}", "start", 0.0, "width", 1.0, "counts", 0, 0);
	ck_assert_int_eq(em_hist_percentile(h, 0.5, &v), -1);
	json_decref(h);
	h = json_pack("{s:f, s:f, s:[i]}", "start", 0.0, "width", 0.0, "counts", 3);
	ck_assert_int_eq(em_hist_percentile(h, 0.5, &v), -1);
	json_decref(h);
}
END_TEST

START_TEST(normalize_values)
{
	json_t *st = json_pack("{s:f, s:f, s:f, s:f, s:{s:f, s:f, s:[iiii]}}", "min", 0.0, "max",
	    200.0, "mean", 100.0, "std", 50.0, "histogram", "start", 0.0, "width", 64.0, "counts",
	    25, 25, 25, 25);
	double pct[2] = { 25, 75 };
	struct em_norm n;
	uint8_t in[4] = { 0, 50, 100, 250 }, u8[4];
	float f[4];

	ck_assert_int_eq(em_norm_from_stats(&n, EM_NORM_ZSCORE, st, pct), 0);
	ck_assert_int_eq(em_norm_apply(&n, EM_DT_U1, in, 4, EM_DT_F4, f), 0);
	ck_assert(f[0] == -2.0f && f[1] == -1.0f && f[2] == 0.0f && f[3] == 3.0f);
	ck_assert_int_eq(em_norm_from_stats(&n, EM_NORM_MINMAX, st, pct), 0);
	ck_assert_int_eq(em_norm_apply(&n, EM_DT_U1, in, 4, EM_DT_U1, u8), 0);
	/* 50/200*255 = 63.75 -> 64; 100/200*255 = 127.5 -> 128 (half to even); 250 clips to 255. */
	ck_assert(u8[0] == 0 && u8[1] == 64 && u8[2] == 128 && u8[3] == 255);
	/* Percentiles 25 and 75 are 64 and 192: 50 clips to 64 (0), 100 is 36/128. */
	ck_assert_int_eq(em_norm_from_stats(&n, EM_NORM_PERCENTILE, st, pct), 0);
	ck_assert(n.lo == 64 && n.hi == 192);
	ck_assert_int_eq(em_norm_apply(&n, EM_DT_U1, in, 4, EM_DT_F4, f), 0);
	ck_assert(f[0] == 0.0f && f[1] == 0.0f && f[2] == (float)(36.0 / 128) && f[3] == 1.0f);
	/* Refusals: no statistics, a std of 0, zscore into uint8, same with a normalization. */
	ck_assert_int_eq(em_norm_from_stats(&n, EM_NORM_ZSCORE, NULL, pct), -1);
	ck_assert(strstr(em_errmsg(), "no statistics") != NULL);
	json_object_set_new(st, "std", json_real(0));
	ck_assert_int_eq(em_norm_from_stats(&n, EM_NORM_ZSCORE, st, pct), -1);
	json_object_set_new(st, "mean", json_null());
	ck_assert_int_eq(em_norm_from_stats(&n, EM_NORM_ZSCORE, st, pct), -1);
	ck_assert(strstr(em_errmsg(), "no mean") != NULL);
	ck_assert(!em_norm_supported(EM_NORM_ZSCORE, EM_DT_U1, EM_DT_U1));
	ck_assert(!em_norm_supported(EM_NORM_MINMAX, EM_DT_U2, EM_DT_U2));
	ck_assert(em_norm_supported(EM_NORM_NONE, EM_DT_U2, EM_DT_U2));
	ck_assert_int_eq(em_norm_from_stats(&n, EM_NORM_NONE, NULL, pct), 0);
	ck_assert_int_eq(em_norm_apply(&n, EM_DT_U1, in, 4, EM_DT_U1, u8), 0);
	ck_assert(memcmp(in, u8, 4) == 0);
	json_decref(st);
}
END_TEST

START_TEST(patch_measures)
{
	int16_t v[8] = { 0, 0, 0, 0, 2, 4, 6, 8 };
	double fs, sd;

	em_patch_measure(EM_DT_I2, v, 8, 0, &fs, &sd);
	ck_assert(fs == 0.5);
	/* mean 2.5; squares about it: 4*6.25 + 0.25 + 2.25 + 12.25 + 30.25 = 70 */
	ck_assert(fabs(sd - sqrt(70.0 / 8)) < 1e-12);
	em_patch_measure(EM_DT_I2, v, 8, 8, &fs, NULL);
	ck_assert(fs == 0.125);
	/* 8-bit types count values: the same shares and std. */
	{
		uint8_t u[8] = { 0, 0, 0, 0, 2, 4, 6, 8 };
		int8_t s8[8] = { -3, -3, -3, -3, -1, 1, 3, 5 };

		em_patch_measure(EM_DT_U1, u, 8, 0, &fs, &sd);
		ck_assert(fs == 0.5 && fabs(sd - sqrt(70.0 / 8)) < 1e-12);
		em_patch_measure(EM_DT_I1, s8, 8, -3, &fs, &sd);
		ck_assert(fs == 0.5 && fabs(sd - sqrt(70.0 / 8)) < 1e-12);
		em_patch_measure(EM_DT_I1, s8, 8, 0.5, &fs, NULL);
		ck_assert(fs == 0);
	}
	/* Lengths that are not a multiple of the four count tables: every byte counted once. */
	{
		static uint8_t b[1003];
		double sum = 0, ss = 0, mean;
		size_t i, n, nz;

		for (i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(i % 13 == 0 ? 0 : (i * 37) % 251);
		for (n = 997; n <= 1003; n++) {
			for (i = 0, sum = 0, nz = 0; i < n; i++) {
				sum += b[i];
				nz += b[i] == 0;
			}
			mean = sum / (double)n;
			for (i = 0, ss = 0; i < n; i++)
				ss += ((double)b[i] - mean) * ((double)b[i] - mean);
			em_patch_measure(EM_DT_U1, b, n, 0, &fs, &sd);
			ck_assert_msg(fs == (double)nz / (double)n, "n %zu: fill share %g", n, fs);
			ck_assert_msg(fabs(sd - sqrt(ss / (double)n)) < 1e-9, "n %zu: std %g", n, sd);
		}
	}
}
END_TEST

/*
 * em_patch_judge decides as em_patch_measure's numbers do: random uint8
 * patches (flat, fill-heavy, noisy; lengths around the 64-byte steps),
 * thresholds far off and exactly at the measured std (the band where the
 * integer sums hand over to the counts), fill values that no byte can be.
 */
START_TEST(patch_judge)
{
	static uint8_t b[5000];
	static const double fills[] = { 0, 7, 255, 7.5, -1, 300 };
	uint64_t x = 88172645463325252ULL;
	double fs, sd, ms[5];
	size_t n, i;
	int t, f, k, want;

	for (t = 0; t < 400; t++) {
		n = 1 + (size_t)(t * 97 % 4999);
		for (i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* t % 4: noisy, nearly flat, half fill, a single value */
			b[i] = t % 4 == 0 ? (uint8_t)x : t % 4 == 1 ? (uint8_t)(100 + (x & 1)) :
			    t % 4 == 2 ? (uint8_t)((x & 1) ? 0 : x) : 7;
		}
		for (f = 0; f < 6; f++) {
			em_patch_measure(EM_DT_U1, b, n, fills[f], &fs, &sd);
			ms[0] = 0;
			ms[1] = sd;
			ms[2] = nextafter(sd, 0);
			ms[3] = nextafter(sd, 1e9);
			ms[4] = sd * 1.5 + 1;
			for (k = 0; k < 5; k++) {
				want = fs > 0.5 ? EM_PATCH_FILL : ms[k] > 0 && sd < ms[k] ? EM_PATCH_FLAT :
				    EM_PATCH_KEEP;
				ck_assert_msg((int)em_patch_judge(EM_DT_U1, b, n, fills[f], 0.5, ms[k]) ==
				    want, "patch %d (%zu bytes), fill %g, min_std %.17g (std %.17g)", t, n,
				    fills[f], ms[k], sd);
			}
		}
	}
	/* Other types are measured as before. */
	{
		int16_t v[8] = { 0, 0, 0, 0, 2, 4, 6, 8 };

		ck_assert_int_eq(em_patch_judge(EM_DT_I2, v, 8, 0, 0.4, 0), EM_PATCH_FILL);
		ck_assert_int_eq(em_patch_judge(EM_DT_I2, v, 8, 0, 0.5, 3), EM_PATCH_FLAT);
		ck_assert_int_eq(em_patch_judge(EM_DT_I2, v, 8, 0, 0.5, 2.9), EM_PATCH_KEEP);
	}
}
END_TEST

/*
 * The 8-bit tables into float32 and uint8 (byte permutes where the CPU has
 * them): every byte value at every position of a 64-value step, from
 * unaligned starts, with tails of every length, equals the element rule.
 */
START_TEST(normalize_u8_tables)
{
	json_t *st = json_pack("{s:f, s:f, s:f, s:f}", "min", 3.0, "max", 250.0, "mean", 117.25,
	    "std", 37.5);
	static const enum em_dtype ins[] = { EM_DT_U1, EM_DT_I1 }, outs[] = { EM_DT_F4, EM_DT_U1 };
	static uint8_t in[16384 + 200];
	static unsigned char want[4 * sizeof(in)], got[4 * sizeof(in) + 4];
	struct em_norm n;
	size_t i, off, len, w;
	int t, m, k;

	/*
	 * Step r, position p holds 461 r + 7 p (mod 256): over the 256 steps
	 * every position takes every value (461 is odd).
	 */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + (i / 64) * 13);
	for (m = EM_NORM_ZSCORE; m <= EM_NORM_MINMAX; m++)
		for (t = 0; t < 2; t++)
			for (k = 0; k < 2; k++) {
				if (!em_norm_supported((enum em_norm_method)m, ins[t], outs[k]))
					continue;
				w = em_dtype_size(outs[k]);
				ck_assert_int_eq(em_norm_from_stats(&n, (enum em_norm_method)m, st, NULL),
				    0);
				ck_assert_int_eq(em_norm_apply(&n, ins[t], in, sizeof(in), outs[k], want),
				    0);
				ck_assert_int_eq(em_norm_prepare(&n, ins[t], outs[k]), 0);
				ck_assert(n.lut != NULL);
				for (off = 0; off < 4; off++)
					for (len = 16384 - 70; len <= 16384 + 70; len += 7) {
						memset(got + len * w, 0xa5, 4);
						ck_assert_int_eq(em_norm_apply(&n, ins[t], in + off, len,
						    outs[k], got), 0);
						for (i = 0; i < len; i++)
							if (memcmp(got + i * w, want + (off + i) * w, w) != 0)
								break;
						ck_assert_msg(i == len, "method %d type %d out %d from %zu, "
						    "%zu values: differs at %zu (value %u)", m, t, k, off, len,
						    i, i < len ? in[off + i] : 0);
						/* nothing past the end */
						ck_assert(got[len * w] == 0xa5 && got[len * w + w - 1] == 0xa5);
					}
				em_norm_release(&n);
			}
	json_decref(st);
}
END_TEST

/* The prepared tables give what the element rule gives, for every value of 8- and 16-bit types. */
START_TEST(normalize_tables)
{
	static const enum em_dtype ins[] = { EM_DT_U1, EM_DT_I1, EM_DT_U2, EM_DT_I2 };
	static const enum em_dtype outs[] = { EM_DT_F4, EM_DT_U1 };
	json_t *st = json_pack("{s:f, s:f, s:f, s:f, s:{s:f, s:f, s:[iiii]}}", "min", -100.0, "max",
	    3000.0, "mean", 90.5, "std", 41.25, "histogram", "start", -100.0, "width", 800.0,
	    "counts", 5, 25, 25, 45);
	static uint16_t vals[65536];
	static float a[65536], b[65536];
	double pct[2] = { 3, 97 };
	struct em_norm n;
	size_t i, k, j, m, nv;

	for (i = 0; i < 65536; i++)
		vals[i] = (uint16_t)i;
	for (m = EM_NORM_NONE; m <= EM_NORM_PERCENTILE; m++)
		for (i = 0; i < 4; i++)
			for (k = 0; k < 2; k++) {
				if (!em_norm_supported((enum em_norm_method)m, ins[i], outs[k]))
					continue;
				nv = em_dtype_size(ins[i]) == 1 ? 256 : 65536;
				ck_assert_int_eq(em_norm_from_stats(&n, (enum em_norm_method)m, st, pct), 0);
				ck_assert_int_eq(em_norm_apply(&n, ins[i], vals, nv, outs[k], a), 0);
				ck_assert_int_eq(em_norm_prepare(&n, ins[i], outs[k]), 0);
				ck_assert(n.lut != NULL || (ins[i] == outs[k] && m == EM_NORM_NONE));
				ck_assert_int_eq(em_norm_apply(&n, ins[i], vals, nv, outs[k], b), 0);
				/* One comparison, then the first difference named (a check per value is slow). */
				for (j = 0; j < nv * em_dtype_size(outs[k]) / 4; j++)
					if (memcmp(&a[j], &b[j], 4) != 0)
						break;
				ck_assert_msg(j == nv * em_dtype_size(outs[k]) / 4, "method %zu in %zu "
				    "out %zu at %zu", m, i, k, j);
				/* Through the table from an odd offset, a length not a multiple of 16. */
				ck_assert_int_eq(em_norm_apply(&n, ins[i], (const char *)vals + 2 *
				    em_dtype_size(ins[i]), 37, outs[k], b), 0);
				ck_assert(memcmp(b, (const char *)a + 2 * em_dtype_size(outs[k]),
				    37 * em_dtype_size(outs[k])) == 0);
				em_norm_release(&n);
			}
	json_decref(st);
}
END_TEST

/*
 * The sample digests, 16 at a time in AVX-512 lanes, equal libcrypto's for
 * every length around the block and padding edges (55, 56, 63, 64 bytes
 * ...), every count of messages (the lanes left empty, the counts sent to
 * libcrypto), messages at any alignment, and a 1 MiB patch; and with the
 * lanes turned off, the same digests from libcrypto alone.
 */
START_TEST(sample_digests)
{
	static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	size_t big = (size_t)1 << 20, len;
	unsigned char *buf = malloc(16 * big + 16);
	const void *msg[16];
	char hex[16][65], want[65];
	int n, i, native;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < 16 * (int)big + 16; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	for (native = 2; native >= 0; native -= 2) {
		em_sha256mb_native = native;
#if defined(__x86_64__) && defined(__GNUC__)
		ck_assert_int_eq(em_sha256mb_lanes(), native == 2 &&
		    __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 16 : 1);
#else
		ck_assert_int_eq(em_sha256mb_lanes(), 1);
#endif
		/* FIPS 180-4's "abc" example in every lane. */
		for (i = 0; i < 16; i++)
			msg[i] = "abc";
		ck_assert_int_eq(em_sha256mb_hex(msg, 16, 3, hex), 0);
		for (i = 0; i < 16; i++)
			ck_assert_str_eq(hex[i], abc);
		for (len = 0; len <= 200; len++)
			for (n = 1; n <= 16; n++) {
				if (n != 16 && n != EM_SHA256MB_MIN && n != EM_SHA256MB_MIN - 1 &&
				    n != 11 && len % 17 != 0)
					continue;
				for (i = 0; i < n; i++)
					msg[i] = buf + 1000 * (size_t)i + (size_t)i % 7;
				ck_assert_int_eq(em_sha256mb_hex(msg, n, len, hex), 0);
				for (i = 0; i < n; i++) {
					ck_assert_int_eq(em_sha256_hex(msg[i], len, want), 0);
					ck_assert_msg(strcmp(hex[i], want) == 0, "length %zu, %d messages, "
					    "lane %d: %s, libcrypto %s", len, n, i, hex[i], want);
				}
			}
		for (i = 0; i < 16; i++)
			msg[i] = buf + big * (size_t)i + (size_t)i;
		ck_assert_int_eq(em_sha256mb_hex(msg, 16, big - 3, hex), 0);
		for (i = 0; i < 16; i++) {
			ck_assert_int_eq(em_sha256_hex(msg[i], big - 3, want), 0);
			ck_assert_str_eq(hex[i], want);
		}
	}
	em_sha256mb_native = 1;
	n = em_sha256mb_lanes();
	ck_assert(n == 1 || n == 16);
	free(buf);
}
END_TEST

Suite *
patches_suite(void)
{
	Suite *s = suite_create("patches");
	TCase *tc = tcase_create("patches");

	/* The table test runs every value of the 16-bit types through each method (slow under valgrind). */
	tcase_set_timeout(tc, 60);

	tcase_add_test(tc, tar_header);
	tcase_add_test(tc, npy_header);
	tcase_add_test(tc, splits_parse);
	tcase_add_test(tc, splits_blocks);
	tcase_add_test(tc, hist_percentiles);
	tcase_add_test(tc, normalize_values);
	tcase_add_test(tc, normalize_tables);
	tcase_add_test(tc, normalize_u8_tables);
	tcase_add_test(tc, patch_measures);
	tcase_add_test(tc, patch_judge);
	tcase_add_test(tc, sample_digests);
	suite_add_tcase(s, tc);
	return s;
}
