/* splits.c - splits by spatial blocks: the --split list, each block's split, seeded positions */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/parse.h"
#include "meta/splits.h"
#include "core/banned.h"

static const char *const known[EM_SPLIT_MAX] = { "train", "val", "test" };

int
em_splits_parse(const char *s, struct em_splits *out)
{
	struct em_splits sp;
	const char *p = s, *eq, *end;
	char name[32], num[64];
	double sum = 0;
	int i;

	memset(&sp, 0, sizeof(sp));
	if (*s == '\0')
		return em_fail("empty list");
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p)
			return em_fail("'%.*s' is not NAME=FRACTION", (int)(end - p), p);
		if ((size_t)(eq - p) >= sizeof(name) || (size_t)(end - eq - 1) >= sizeof(num))
			return em_fail("'%.*s' is too long", (int)(end - p), p);
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		memcpy(num, eq + 1, (size_t)(end - eq - 1));
		num[end - eq - 1] = '\0';
		for (i = 0; i < EM_SPLIT_MAX; i++)
			if (strcmp(name, known[i]) == 0)
				break;
		if (i == EM_SPLIT_MAX)
			return em_fail("unknown split '%s' (the splits are train, val and test)",
			    name);
		for (i = 0; i < sp.n; i++)
			if (strcmp(sp.name[i], name) == 0)
				return em_fail("split '%s' is given twice", name);
		if (sp.n == EM_SPLIT_MAX)
			return em_fail("more than %d splits", EM_SPLIT_MAX);
		if (em_parse_double(num, &sp.frac[sp.n]) < 0 || sp.frac[sp.n] < 0 ||
		    sp.frac[sp.n] > 1)
			return em_fail("the fraction of '%s' is not a number in 0..1: '%s'", name,
			    num);
		for (i = 0; i < EM_SPLIT_MAX; i++)
			if (strcmp(name, known[i]) == 0)
				sp.name[sp.n] = known[i];
		sum += sp.frac[sp.n++];
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (fabs(sum - 1) > 1e-6)
		return em_fail("the fractions sum to %g, not 1", sum);
	*out = sp;
	return 0;
}

uint64_t
em_splitmix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

int
em_splits_block(const struct em_splits *sp, uint64_t seed, const uint64_t b[3])
{
	uint64_t h = em_splitmix64(seed);
	double u, cum = 0;
	int i;

	h = em_splitmix64(h ^ b[0]);
	h = em_splitmix64(h ^ b[1]);
	h = em_splitmix64(h ^ b[2]);
	u = (double)(h >> 11) * 0x1p-53;
	for (i = 0; i < sp->n; i++) {
		cum += sp->frac[i];
		if (u < cum && sp->frac[i] > 0)
			return i;
	}
	/* Rounding left u past the sum: the last split that has a share. */
	for (i = sp->n - 1; i > 0 && sp->frac[i] == 0; i--)
		;
	return i;
}

void
em_rng_seed(struct em_rng *r, uint64_t seed, uint64_t stream)
{
	r->state = em_splitmix64(em_splitmix64(seed) ^ stream);
}

uint64_t
em_rng_next(struct em_rng *r)
{
	/* em_splitmix64 adds the golden-ratio step itself: the state advances by it each call. */
	uint64_t out = em_splitmix64(r->state);

	r->state += 0x9e3779b97f4a7c15u;
	return out;
}

uint64_t
em_rng_below(struct em_rng *r, uint64_t n)
{
	/* Draws past the last whole multiple of n would favour the small values: draw again. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	do
		x = em_rng_next(r);
	while (x >= limit);
	return x % n;
}
