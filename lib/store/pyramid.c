/* pyramid.c - pyramid levels written in the same pass as the level below, from planes in z order */
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "store/pyramid.h"
#include "core/banned.h"

struct level {
	struct em_zwriter *w;
	unsigned char *in;	/* the planes of the level below that make the next plane here */
	unsigned char *out;	/* one plane of this level */
	uint64_t nin;		/* planes in `in` */
	uint64_t zin;		/* planes of the level below seen */
	uint64_t zout;		/* planes of this level written */
	size_t in_plane, out_plane;
};

struct em_pyramid {
	struct em_pyramid_plan plan;
	int base;
	enum em_dtype dt;
	enum em_ds_method m;
	struct level lv[EM_PYRAMID_MAX_LEVELS];
};

static size_t
plane_bytes(const uint64_t shape[3], enum em_dtype dt)
{
	return (size_t)(shape[1] * shape[2]) * em_dtype_size(dt);
}

/*
 * Each level above holds a quarter or an eighth of the voxels of the one
 * below, so it needs about that share of the compression threads.
 */
static int
level_jobs(int jobs, int above)
{
	int j = above < 8 ? jobs >> (2 * above) : 0;

	return j > 1 ? j : 1;
}

struct em_pyramid *
em_pyramid_new(const struct em_pyramid_plan *plan, int base, struct em_zarr *const *arrays,
    enum em_dtype dt, enum em_ds_method m, const struct em_zwriter_opts *o,
    struct em_journal *const *journals)
{
	struct em_pyramid *py;

	if (base < 0 || base >= plan->levels) {
		em_fail("no level %d in a pyramid of %d", base, plan->levels);
		return NULL;
	}
	if ((py = calloc(1, sizeof(*py))) == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	py->plan = *plan;
	py->base = base;
	py->dt = dt;
	py->m = m;
	for (int l = base + 1; l < plan->levels; l++) {
		struct level *v = &py->lv[l];
		struct em_zwriter_opts lo = *o;

		lo.journal = journals != NULL ? journals[l] : NULL;
		lo.jobs = level_jobs(o->jobs, l - base);
		v->in_plane = plane_bytes(plan->shape[l - 1], dt);
		v->out_plane = plane_bytes(plan->shape[l], dt);
		v->in = malloc(v->in_plane * (size_t)plan->factor[l][0]);
		v->out = malloc(v->out_plane);
		if (v->in == NULL || v->out == NULL) {
			em_fail("out of memory for level %d", l);
			goto fail;
		}
		if ((v->w = em_zwriter_new(arrays[l], &lo)) == NULL) {
			em_fail_ctx("level %d", l);
			goto fail;
		}
	}
	return py;
fail:
	em_pyramid_free(py);
	return NULL;
}

/* One plane of level l-1 arrives at level l (and what it completes goes on up). */
static int
feed(struct em_pyramid *py, int l, const unsigned char *plane)
{
	const struct em_pyramid_plan *p = &py->plan;
	struct level *v = &py->lv[l];
	uint64_t src[3];

	if (l >= p->levels)
		return 0;
	memcpy(v->in + v->nin * v->in_plane, plane, v->in_plane);
	v->nin++;
	v->zin++;
	/* A full pair, or the last plane of an odd-sized level below. */
	if (v->nin < (uint64_t)p->factor[l][0] && v->zin < p->shape[l - 1][0])
		return 0;
	src[0] = v->nin;
	src[1] = p->shape[l - 1][1];
	src[2] = p->shape[l - 1][2];
	v->nin = 0;
	if (em_downsample(py->dt, py->m, v->in, src, p->factor[l], v->out) < 0)
		return -1;
	if (em_zwriter_put_planes(v->w, v->zout, 1, v->out) < 0)
		return em_fail_ctx("level %d", l);
	v->zout++;
	return feed(py, l + 1, v->out);
}

int
em_pyramid_put_planes(struct em_pyramid *py, uint64_t z0, uint64_t nz, const void *data)
{
	const unsigned char *d = data;
	size_t bytes = plane_bytes(py->plan.shape[py->base], py->dt);
	int l = py->base + 1;

	if (l >= py->plan.levels)
		return 0;
	if (z0 != py->lv[l].zin)
		return em_fail("planes out of order: %llu, expected %llu", (unsigned long long)z0,
		    (unsigned long long)py->lv[l].zin);
	for (uint64_t i = 0; i < nz; i++)
		if (feed(py, l, d + i * bytes) < 0)
			return -1;
	return 0;
}

int
em_pyramid_finish(struct em_pyramid *py, struct em_zwriter_stats *stats)
{
	int rc = 0;

	for (int l = py->base + 1; l < py->plan.levels; l++) {
		struct em_zwriter_stats st;

		if (rc == 0 && em_zwriter_finish(py->lv[l].w, &st) < 0)
			rc = em_fail_ctx("level %d", l);
		else if (rc == 0 && stats != NULL) {
			stats->chunks_written += st.chunks_written;
			stats->chunks_present += st.chunks_present;
			stats->chunks_fill += st.chunks_fill;
			stats->bytes_in += st.bytes_in;
			stats->bytes_out += st.bytes_out;
			stats->peak_buffer += st.peak_buffer;
		}
	}
	return rc;
}

void
em_pyramid_free(struct em_pyramid *py)
{
	if (py == NULL)
		return;
	for (int l = 0; l < EM_PYRAMID_MAX_LEVELS; l++) {
		em_zwriter_free(py->lv[l].w);
		free(py->lv[l].in);
		free(py->lv[l].out);
	}
	free(py);
}

uint64_t
em_pyramid_memory(const struct em_pyramid_plan *plan, int base, const uint64_t chunks[3],
    enum em_dtype dt, int jobs)
{
	uint64_t total = 0;

	for (int l = base + 1; l < plan->levels; l++) {
		struct em_zarr_meta m;

		total += plane_bytes(plan->shape[l - 1], dt) * (uint64_t)plan->factor[l][0]
		    + plane_bytes(plan->shape[l], dt);
		if (em_zarr_meta_init(&m, 3, plan->shape[l], chunks, dt, NULL) == 0)
			total += em_zwriter_min_memory(&m, level_jobs(jobs, l - base), NULL);
	}
	return total;
}
