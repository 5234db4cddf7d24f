/* splits.h - training splits by spatial blocks, and the seeded random numbers patch sampling uses */
#ifndef EM_SPLITS_H
#define EM_SPLITS_H

#include <stdint.h>

/* The split names a --split list may use, in the order they are listed in a manifest. */
#define EM_SPLIT_MAX 3

struct em_splits {
	int n;				/* splits given (1..EM_SPLIT_MAX) */
	const char *name[EM_SPLIT_MAX];	/* "train", "val", "test" (static strings) */
	double frac[EM_SPLIT_MAX];	/* each in [0, 1], summing to 1 */
};

/*
 * Parse "train=0.8,val=0.1,test=0.1": names from train, val and test, each
 * at most once, fractions in [0, 1] that sum to 1 (within 1e-6).  -1 with
 * the reason (an unknown name, a sum that is not 1, ...).
 */
int em_splits_parse(const char *s, struct em_splits *out);

/*
 * SplitMix64 (Steele, Lea and Flood 2014): the one mixing function of
 * sampling, so a manifest's rule can be recomputed anywhere:
 *   z += 0x9e3779b97f4a7c15; z = (z ^ z>>30) * 0xbf58476d1ce4e5b9;
 *   z = (z ^ z>>27) * 0x94d049bb133111eb; return z ^ z>>31   (mod 2^64)
 */
uint64_t em_splitmix64(uint64_t z);

/*
 * The split of the block with block coordinates b (z, y, x): with
 * h = mix(mix(mix(mix(seed) ^ bz) ^ by) ^ bx) (mix = em_splitmix64) and
 * u = (h >> 11) / 2^53 in [0, 1), the first split i with a fraction
 * above 0 whose cumulative fraction frac[0] + ... + frac[i] exceeds u (the
 * last such split when rounding leaves u past them all).  Depends on the
 * coordinates and the seed only.
 */
int em_splits_block(const struct em_splits *sp, uint64_t seed, const uint64_t b[3]);

/* A seeded stream of 64-bit numbers: SplitMix64's generator (state += golden ratio). */
struct em_rng {
	uint64_t state;
};
/* The stream of stream number `stream` (a volume's position in the input) under seed. */
void em_rng_seed(struct em_rng *r, uint64_t seed, uint64_t stream);
uint64_t em_rng_next(struct em_rng *r);
/* A number in [0, n) (n > 0), without modulo bias (rejection). */
uint64_t em_rng_below(struct em_rng *r, uint64_t n);

#endif
