/* downsample.c - pyramid levels: which axes each level halves, and the 2x reduction of a block */
#include <math.h>
#include <stdint.h>
#include <string.h>

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

/* floor(a / b) for b > 0, a of either sign. */
static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0)) ? q - 1 : q;
}

/*
 * One loop per element type.  ACC is the sum's type; MEAN turns (sum, k)
 * into the element.  Mode counts the k values against each other.
 */
#define DS_LOOP(T, ACC, MEAN)							\
	do {									\
		const T *in = src;						\
		T *out = dst;							\
		size_t off[8], o = 0;						\
		for (uint64_t z = 0; z < ds[0]; z++)				\
		for (uint64_t y = 0; y < ds[1]; y++)				\
		for (uint64_t x = 0; x < ds[2]; x++, o++) {			\
			int k = gather(ss, f, z, y, x, off);			\
			if (m == EM_DS_NEAREST) {				\
				out[o] = in[off[0]];				\
			} else if (m == EM_DS_MEAN) {				\
				ACC sum = 0;					\
				for (int i = 0; i < k; i++)			\
					sum += (ACC)in[off[i]];			\
				out[o] = MEAN;					\
			} else {						\
				T best = in[off[0]];				\
				int bestn = 0;					\
				for (int i = 0; i < k; i++) {			\
					T c = in[off[i]];			\
					int n = 0;				\
					for (int j = 0; j < k; j++)		\
						n += in[off[j]] == c;		\
					if (n > bestn || (n == bestn && c < best)) { \
						best = c;			\
						bestn = n;			\
					}					\
				}						\
				out[o] = best;					\
			}							\
		}								\
	} while (0)

#define IMEAN(T) ((T)floordiv(2 * sum + k, 2 * (int64_t)k))
#define UMEAN(T) ((T)((2 * sum + (uint64_t)k) / (2 * (uint64_t)k)))

int
em_downsample(enum em_dtype dt, enum em_ds_method m, const void *src, const uint64_t ss[3],
    const int f[3], void *dst)
{
	uint64_t ds[3];

	for (int i = 0; i < 3; i++) {
		if (f[i] != 1 && f[i] != 2)
			return em_fail("a downsampling factor is 1 or 2, not %d", f[i]);
		ds[i] = (ss[i] + (uint64_t)f[i] - 1) / (uint64_t)f[i];
	}
	switch (dt) {
	case EM_DT_U1: DS_LOOP(uint8_t, uint64_t, UMEAN(uint8_t)); break;
	case EM_DT_I1: DS_LOOP(int8_t, int64_t, IMEAN(int8_t)); break;
	case EM_DT_U2: DS_LOOP(uint16_t, uint64_t, UMEAN(uint16_t)); break;
	case EM_DT_I2: DS_LOOP(int16_t, int64_t, IMEAN(int16_t)); break;
	case EM_DT_U4: DS_LOOP(uint32_t, uint64_t, UMEAN(uint32_t)); break;
	case EM_DT_I4: DS_LOOP(int32_t, int64_t, IMEAN(int32_t)); break;
	case EM_DT_F4: DS_LOOP(float, double, (float)(sum / k)); break;
	case EM_DT_F8: DS_LOOP(double, double, sum / k); break;
	case EM_DT_U8:
	case EM_DT_I8:
		/* Sums of 8 such values overflow 64 bits: only picking methods apply. */
		if (m == EM_DS_MEAN)
			return em_fail("mean downsampling of %s is not supported: use mode or nearest",
			    em_dtype_name(dt));
		if (dt == EM_DT_U8)
			DS_LOOP(uint64_t, uint64_t, 0);
		else
			DS_LOOP(int64_t, int64_t, 0);
		break;
	default:
		return em_fail("cannot downsample %s", em_dtype_name(dt));
	}
	return 0;
}
