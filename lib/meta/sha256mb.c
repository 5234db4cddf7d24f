/* sha256mb.c - SHA-256 of up to 16 messages of one length at once, one per AVX-512 lane */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_MB 1
#endif

#include "meta/digest.h"
#include "meta/sha256mb.h"
#include "core/banned.h"

/*
 * Why: em-patches hashes every sample (1 MiB for a 64^3 float32 patch),
 * and one SHA-256 stream, even on the SHA-NI unit, runs at about 1.2 GB/s
 * on the 2-core Xeon it is measured on: the digests were half its CPU.
 * The compression function is 64 rounds of 32-bit adds, rotations and
 * bitwise functions (FIPS 180-4 6.2.2), so sixteen independent messages
 * run in the sixteen 32-bit lanes of AVX-512 registers (rotations and the
 * three-input functions are one instruction each there) at well above
 * sixteen times a lane's share.  Samples of one run all have one length,
 * which keeps the lanes in step to the last (padding) block.
 */

#ifdef HAVE_MB

#define TGT __attribute__((target("avx512f,avx512bw")))

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* x ^ y ^ z, (x & y) ^ (~x & z), majority: vpternlogd's truth tables. */
#define XOR3(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0x96)
#define CH(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xca)
#define MAJ(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xe8)
#define ROR(x, n) _mm512_ror_epi32((x), (n))
#define ADD(x, y) _mm512_add_epi32((x), (y))

/* Word t of block 'blk' of each lane's message, big-endian, lane i in 32-bit lane i. */
TGT static void
load_words(__m512i w[16], const unsigned char *const p[16], size_t off)
{
	const __m512i bswap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
	__m512i t[16], u[16], v0, v1, x0, x1;
	int i, m;

	for (i = 0; i < 16; i++)
		w[i] = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(p[i] + off)), bswap);
	/* A 16x16 transpose of 32-bit words: rows (lanes' blocks) into columns (words). */
	for (i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(w[i], w[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(w[i], w[i + 1]);
	}
	for (i = 0; i < 16; i += 4) {
		u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
		u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
		u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
		u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	/* u[4k + m]'s 128-bit lane L holds word 4L + m of rows 4k..4k+3. */
	for (m = 0; m < 4; m++) {
		v0 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x88);
		v1 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x88);
		x0 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xdd);
		x1 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xdd);
		w[m] = _mm512_shuffle_i32x4(v0, v1, 0x88);
		w[8 + m] = _mm512_shuffle_i32x4(v0, v1, 0xdd);
		w[4 + m] = _mm512_shuffle_i32x4(x0, x1, 0x88);
		w[12 + m] = _mm512_shuffle_i32x4(x0, x1, 0xdd);
	}
}

/* Rounds t of FIPS 180-4 6.2.2 step 3 with the state in s[(8 - t) & 7 ...] rotated by index. */
#define ROUND(t, wt) do {							\
	__m512i a_ = s[(0 - (t)) & 7], b_ = s[(1 - (t)) & 7], c_ = s[(2 - (t)) & 7]; \
	__m512i e_ = s[(4 - (t)) & 7], f_ = s[(5 - (t)) & 7], g_ = s[(6 - (t)) & 7]; \
	__m512i t1_ = ADD(ADD(s[(7 - (t)) & 7], XOR3(ROR(e_, 6), ROR(e_, 11), ROR(e_, 25))), \
	    ADD(CH(e_, f_, g_), ADD((wt), _mm512_set1_epi32((int)K[t]))));	\
	__m512i t2_ = ADD(XOR3(ROR(a_, 2), ROR(a_, 13), ROR(a_, 22)), MAJ(a_, b_, c_)); \
	s[(3 - (t)) & 7] = ADD(s[(3 - (t)) & 7], t1_);				\
	s[(7 - (t)) & 7] = ADD(t1_, t2_);					\
} while (0)

#define SIG0(x) XOR3(ROR((x), 7), ROR((x), 18), _mm512_srli_epi32((x), 3))
#define SIG1(x) XOR3(ROR((x), 17), ROR((x), 19), _mm512_srli_epi32((x), 10))

/* nblocks 64-byte blocks of each lane's message from p[i] + off on. */
TGT static void
compress(__m512i h[8], const unsigned char *const p[16], size_t off, size_t nblocks)
{
	__m512i w[16], s[8];
	int t, i;

	while (nblocks-- > 0) {
		load_words(w, p, off);
		for (i = 0; i < 8; i++)
			s[i] = h[i];
		/*
		 * s[] is indexed so that no register moves between rounds: after
		 * round t, a is s[(-t-1) & 7]; the compiler unrolls these loops
		 * into straight code with constant indices.
		 */
#pragma GCC unroll 16
		for (t = 0; t < 16; t++)
			ROUND(t, w[t]);
#pragma GCC unroll 48
		for (t = 16; t < 64; t++) {
			w[t & 15] = ADD(ADD(SIG1(w[(t - 2) & 15]), w[(t - 7) & 15]),
			    ADD(SIG0(w[(t - 15) & 15]), w[t & 15]));
			ROUND(t, w[t & 15]);
		}
		for (i = 0; i < 8; i++)
			h[i] = ADD(h[i], s[i]);
		off += 64;
	}
}

TGT static void
mb(const void *const *msg, int n, size_t len, char (*hex)[65])
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p[16];
	unsigned char tail[16][128];
	size_t full = len / 64, r = len % 64, nt = r < 56 ? 1 : 2;
	uint64_t bits = (uint64_t)len * 8;
	uint32_t out[8][16];
	__m512i h[8];
	int i, k;

	for (i = 0; i < 16; i++)
		p[i] = msg[i < n ? i : 0];
	for (k = 0; k < 8; k++)
		h[k] = _mm512_set1_epi32((int)H0[k]);
	compress(h, p, 0, full);
	/* The padding (FIPS 180-4 5.1.1): 0x80, zeros, the length in bits; the same for every lane. */
	for (i = 0; i < 16; i++) {
		memset(tail[i], 0, sizeof(tail[i]));
		if (r > 0)
			memcpy(tail[i], p[i] + 64 * full, r);
		tail[i][r] = 0x80;
		for (k = 0; k < 8; k++)
			tail[i][64 * nt - 1 - k] = (unsigned char)(bits >> (8 * k));
		p[i] = tail[i];
	}
	compress(h, p, 0, nt);
	for (k = 0; k < 8; k++)
		_mm512_storeu_si512((void *)out[k], h[k]);
	for (i = 0; i < n; i++)
		for (k = 0; k < 32; k++) {
			unsigned v = (out[k / 4][i] >> (24 - 8 * (k % 4))) & 0xff;

			hex[i][2 * k] = digits[v >> 4];
			hex[i][2 * k + 1] = digits[v & 15];
		}
	for (i = 0; i < n; i++)
		hex[i][64] = '\0';
}

#endif

int em_sha256mb_native = 1;

#ifdef HAVE_MB
static int lanes_16;
static pthread_once_t lanes_once = PTHREAD_ONCE_INIT;

static double
secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/*
 * Whether the sixteen lanes beat libcrypto here: the lead differs from
 * CPU to CPU (on the 2-core Xeon and on a 2-core AMD EPYC they hash about
 * twice what SHA-NI does, 3.2 against 1.7 GB/s on the EPYC), and a core
 * that runs 512-bit operations at a lower clock, or a faster SHA-NI unit,
 * can turn it around.  So both are timed once, on sixteen 32 KiB messages,
 * the best of three each (about 3 ms in all); either gives the same digests.
 */
static void
lanes_measure(void)
{
	enum { LEN = 32768 };
	static unsigned char buf[16][LEN];
	const void *msg[16];
	char hex[16][65];
	double t, best_mb = 1e9, best_one = 1e9;
	int i, r;

	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw"))
		return;
	for (i = 0; i < 16; i++) {
		memset(buf[i], i * 37 + 1, LEN);
		msg[i] = buf[i];
	}
	for (r = 0; r < 3; r++) {
		t = secs();
		mb(msg, 16, LEN, hex);
		if ((t = secs() - t) < best_mb)
			best_mb = t;
		t = secs();
		for (i = 0; i < 16; i++)
			if (em_sha256_hex(msg[i], LEN, hex[i]) < 0)
				return;
		if ((t = secs() - t) < best_one)
			best_one = t;
	}
	lanes_16 = best_mb < best_one;
}
#endif

int
em_sha256mb_lanes(void)
{
#ifdef HAVE_MB
	if (em_sha256mb_native == 2 && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw"))
		return 16;
	if (em_sha256mb_native == 1) {
		pthread_once(&lanes_once, lanes_measure);
		if (lanes_16)
			return 16;
	}
#endif
	return 1;
}

int
em_sha256mb_hex(const void *const *msg, int n, size_t len, char (*hex)[65])
{
	int i;

#ifdef HAVE_MB
	/* Below a few messages the lanes left empty cost more than libcrypto's SHA-NI. */
	if (n >= EM_SHA256MB_MIN && n <= 16 && em_sha256mb_lanes() == 16) {
		mb(msg, n, len, hex);
		return 0;
	}
#endif
	for (i = 0; i < n; i++)
		if (em_sha256_hex(msg[i], len, hex[i]) < 0)
			return -1;
	return 0;
}
