/* pyramid.c - pyramid levels written in the same pass as the level below, from planes in z order, or box by box (a part) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/interrupt.h"
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

/*
 * The levels above are made on a thread of their own, so that the caller's
 * thread (reading the source and filling the base level's chunks) does not
 * wait for them.  Planes of the base level are copied into one of two slots,
 * each holding the planes that make one plane of the next level; while the
 * thread reduces one, the caller fills the other.
 */
enum { SLOT_FREE, SLOT_READY, SLOT_BUSY };

struct em_pyramid {
	struct em_pyramid_plan plan;
	int base;
	enum em_dtype dt;
	enum em_ds_method m;
	struct level lv[EM_PYRAMID_MAX_LEVELS];
	/* the thread, when there are levels above the base */
	pthread_t th;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *slot[2];
	uint64_t slot_n[2];	/* planes in a ready slot */
	int state[2];
	int fill;		/* the slot the caller fills */
	uint64_t filled;	/* planes in it */
	uint64_t zin;		/* base planes taken */
	int sync;		/* mu and cv made */
	int done, stop, failed;
	char err[1024];
};

static void *levels_thread(void *arg);

static size_t
plane_bytes(const uint64_t shape[3], enum em_dtype dt)
{
	return (size_t)(shape[1] * shape[2]) * em_dtype_size(dt);
}

/*
 * Each level above holds a quarter or an eighth of the voxels of the one
 * below, so it needs about that share of the compression threads; but
 * the level just above gets as many as the base: it holds one chunk row,
 * and the levels' thread waits while that row is compressed, so the
 * sooner it is done the less the base level waits for a free slot.
 */
static int
level_jobs(int jobs, int above)
{
	int j = above == 1 ? jobs : above < 8 ? jobs >> (2 * above - 1) : 0;

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
		/*
		 * No second chunk row: the level's thread waits while a row is
		 * compressed, and the base level's pool is busy meanwhile, so
		 * the time is not lost, and the memory is (a level-1 row is a
		 * quarter of the base's).
		 */
		if (arrays[l] != NULL)
			lo.max_memory = em_zwriter_min_memory(em_zarr_meta(arrays[l]), lo.jobs, NULL);
		v->in_plane = plane_bytes(plan->shape[l - 1], dt);
		v->out_plane = plane_bytes(plan->shape[l], dt);
		/* Level base+1 reads the slots. */
		v->in = l > base + 1 ? malloc(v->in_plane * (size_t)plan->factor[l][0]) : NULL;
		v->out = malloc(v->out_plane);
		if ((l > base + 1 && v->in == NULL) || v->out == NULL) {
			em_fail("out of memory for level %d", l);
			goto fail;
		}
		if ((v->w = em_zwriter_new(arrays[l], &lo)) == NULL) {
			em_fail_ctx("level %d", l);
			goto fail;
		}
	}
	if (base + 1 < plan->levels) {
		size_t slot = plane_bytes(plan->shape[base], dt) * (size_t)plan->factor[base + 1][0];

		pthread_mutex_init(&py->mu, NULL);
		pthread_cond_init(&py->cv, NULL);
		py->sync = 1;
		py->slot[0] = malloc(slot);
		py->slot[1] = malloc(slot);
		if (py->slot[0] == NULL || py->slot[1] == NULL) {
			em_fail("out of memory for the planes of level %d", base + 1);
			goto fail;
		}
		if (pthread_create(&py->th, NULL, levels_thread, py) != 0) {
			em_fail("cannot start the levels' thread");
			goto fail;
		}
		py->running = 1;
	}
	return py;
fail:
	em_pyramid_free(py);
	return NULL;
}

static int feed(struct em_pyramid *py, int l, const unsigned char *plane);

/* The nin planes of level l-1 in `in` (nin = the factor, or fewer at the end) make a plane of level l. */
static int
reduce(struct em_pyramid *py, int l, const unsigned char *in, uint64_t nin)
{
	const struct em_pyramid_plan *p = &py->plan;
	struct level *v = &py->lv[l];
	uint64_t src[3];

	src[0] = nin;
	src[1] = p->shape[l - 1][1];
	src[2] = p->shape[l - 1][2];
	if (em_downsample(py->dt, py->m, in, src, p->factor[l], v->out) < 0)
		return -1;
	if (em_zwriter_put_planes(v->w, v->zout, 1, v->out) < 0)
		return em_fail_ctx("level %d", l);
	v->zout++;
	return feed(py, l + 1, v->out);
}

/* One plane of level l-1 arrives at level l (and what it completes goes on up). */
static int
feed(struct em_pyramid *py, int l, const unsigned char *plane)
{
	const struct em_pyramid_plan *p = &py->plan;
	struct level *v = &py->lv[l];
	uint64_t nin;

	if (l >= p->levels)
		return 0;
	memcpy(v->in + v->nin * v->in_plane, plane, v->in_plane);
	v->nin++;
	v->zin++;
	/* A full pair, or the last plane of an odd-sized level below. */
	if (v->nin < (uint64_t)p->factor[l][0] && v->zin < p->shape[l - 1][0])
		return 0;
	nin = v->nin;
	v->nin = 0;
	return reduce(py, l, v->in, nin);
}

/* The thread: each ready slot makes a plane of level base+1, and what that completes above. */
static void *
levels_thread(void *arg)
{
	struct em_pyramid *py = arg;
	int k = 0;

	pthread_mutex_lock(&py->mu);
	for (;;) {
		while (py->state[k] != SLOT_READY && !py->done && !py->stop)
			pthread_cond_wait(&py->cv, &py->mu);
		if (py->stop || py->state[k] != SLOT_READY)
			break;
		py->state[k] = SLOT_BUSY;
		pthread_mutex_unlock(&py->mu);
		int rc = reduce(py, py->base + 1, py->slot[k], py->slot_n[k]);
		pthread_mutex_lock(&py->mu);
		py->state[k] = SLOT_FREE;
		if (rc < 0) {
			snprintf(py->err, sizeof(py->err), "%s", em_errmsg());
			py->failed = 1;
		}
		pthread_cond_broadcast(&py->cv);
		if (rc < 0)
			break;
		k ^= 1;
	}
	pthread_mutex_unlock(&py->mu);
	return NULL;
}

/* Wait for the thread; 0, or -1 with its reason. */
static int
join(struct em_pyramid *py, int stop)
{
	if (!py->running)
		return py->failed ? em_fail("%s", py->err) : 0;
	pthread_mutex_lock(&py->mu);
	py->done = 1;
	py->stop |= stop;
	pthread_cond_broadcast(&py->cv);
	pthread_mutex_unlock(&py->mu);
	pthread_join(py->th, NULL);
	py->running = 0;
	return py->failed ? em_fail("%s", py->err) : 0;
}

/* Wait until the slot the caller fills is free: 0, or -1 when the levels failed. */
static int
slot_wait(struct em_pyramid *py)
{
	int k = py->fill;

	if (py->filled == 0) {
		pthread_mutex_lock(&py->mu);
		while (py->state[k] != SLOT_FREE && !py->failed)
			pthread_cond_wait(&py->cv, &py->mu);
		pthread_mutex_unlock(&py->mu);
	}
	return py->failed ? -1 : 0;
}

void *
em_pyramid_plane_buffer(struct em_pyramid *py)
{
	size_t bytes;

	if (py == NULL || py->base + 1 >= py->plan.levels || py->zin >= py->plan.shape[py->base][0] ||
	    slot_wait(py) < 0)
		return NULL;
	bytes = plane_bytes(py->plan.shape[py->base], py->dt);
	return py->slot[py->fill] + py->filled * bytes;
}

int
em_pyramid_put_planes(struct em_pyramid *py, uint64_t z0, uint64_t nz, const void *data)
{
	const unsigned char *d = data;
	size_t bytes = plane_bytes(py->plan.shape[py->base], py->dt);
	int l = py->base + 1;
	uint64_t depth = py->plan.shape[py->base][0];

	if (l >= py->plan.levels)
		return 0;
	if (z0 != py->zin)
		return em_fail("planes out of order: %llu, expected %llu", (unsigned long long)z0,
		    (unsigned long long)py->zin);
	for (uint64_t i = 0; i < nz; i++) {
		int k = py->fill;
		unsigned char *dst;

		if (slot_wait(py) < 0)
			return em_fail("%s", py->err);
		/* A plane read into em_pyramid_plane_buffer's room is there already. */
		dst = py->slot[k] + py->filled * bytes;
		if (dst != d + i * bytes)
			memcpy(dst, d + i * bytes, bytes);
		py->filled++;
		py->zin++;
		/* A full pair, or the last plane of an odd-sized base. */
		if (py->filled < (uint64_t)py->plan.factor[l][0] && py->zin < depth)
			continue;
		pthread_mutex_lock(&py->mu);
		py->slot_n[k] = py->filled;
		py->state[k] = SLOT_READY;
		pthread_cond_broadcast(&py->cv);
		pthread_mutex_unlock(&py->mu);
		py->fill ^= 1;
		py->filled = 0;
	}
	return 0;
}

int
em_pyramid_finish(struct em_pyramid *py, struct em_zwriter_stats *stats)
{
	int rc = join(py, 0);

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
	(void)join(py, 1);
	if (py->sync) {
		pthread_cond_destroy(&py->cv);
		pthread_mutex_destroy(&py->mu);
	}
	free(py->slot[0]);
	free(py->slot[1]);
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

		/* Level base+1 has two slots of planes from the base, the others one. */
		total += plane_bytes(plan->shape[l - 1], dt) * (uint64_t)plan->factor[l][0]
		    * (l == base + 1 ? 2 : 1) + plane_bytes(plan->shape[l], dt);
		if (em_zarr_meta_init(&m, 3, plan->shape[l], chunks, dt, NULL) == 0)
			total += em_zwriter_min_memory(&m, level_jobs(jobs, l - base), NULL);
	}
	return total;
}

/* The box of level l-1 under the box start, count of level l (cut to level l-1). */
static void
source_box(const struct em_pyramid_plan *plan, int l, const uint64_t start[3],
    const uint64_t count[3], uint64_t sstart[3], uint64_t scount[3])
{
	for (int i = 0; i < 3; i++) {
		uint64_t f = (uint64_t)plan->factor[l][i], end = (start[i] + count[i]) * f;

		sstart[i] = start[i] * f;
		if (end > plan->shape[l - 1][i])
			end = plan->shape[l - 1][i];
		scount[i] = end - sstart[i];
	}
}

uint64_t
em_pyramid_box_memory(const struct em_pyramid_plan *plan, int l, const uint64_t count[3],
    const uint64_t slab[2], enum em_dtype dt)
{
	uint64_t start[3] = { 0, 0, 0 }, c[3], ss[3], sc[3];

	c[0] = slab[0] < count[0] ? slab[0] : count[0];
	c[1] = slab[1] < count[1] ? slab[1] : count[1];
	c[2] = count[2];
	source_box(plan, l, start, c, ss, sc);
	return (sc[0] * sc[1] * sc[2] + c[0] * c[1] * c[2]) * em_dtype_size(dt);
}

int
em_pyramid_box(const struct em_pyramid_plan *plan, int l, struct em_zarr *src, enum em_dtype dt,
    enum em_ds_method m, const uint64_t start[3], const uint64_t count[3], const uint64_t slab[2],
    struct em_zwriter *w, uint64_t *bytes_read)
{
	uint64_t ss[3], sc[3], c[3], st[3], step[2], z, y;
	unsigned char *in = NULL, *out = NULL;
	size_t isz = em_dtype_size(dt);
	int rc = -1, r;

	if (l < 1 || l >= plan->levels)
		return em_fail("no level %d in a pyramid of %d", l, plan->levels);
	for (int i = 0; i < 3; i++)
		if (start[i] > plan->shape[l][i] || count[i] > plan->shape[l][i] - start[i])
			return em_fail("box %llu+%llu is outside level %d (%llu) in dimension %d",
			    (unsigned long long)start[i], (unsigned long long)count[i], l,
			    (unsigned long long)plan->shape[l][i], i);
	if (count[0] == 0 || count[1] == 0 || count[2] == 0)
		return 0;
	for (int i = 0; i < 2; i++)
		step[i] = slab[i] == 0 ? 1 : slab[i] < count[i] ? slab[i] : count[i];
	c[0] = step[0];
	c[1] = step[1];
	c[2] = count[2];
	source_box(plan, l, start, c, ss, sc);
	in = malloc((size_t)(sc[0] * sc[1] * sc[2]) * isz);
	out = malloc((size_t)(c[0] * c[1] * c[2]) * isz);
	if (in == NULL || out == NULL) {
		em_fail("out of memory for a slab of level %d", l);
		goto out;
	}
	for (z = 0; z < count[0]; z += step[0])
		for (y = 0; y < count[1]; y += step[1]) {
			if (em_interrupted()) {
				em_fail("interrupted");
				goto out;
			}
			c[0] = count[0] - z < step[0] ? count[0] - z : step[0];
			c[1] = count[1] - y < step[1] ? count[1] - y : step[1];
			st[0] = start[0] + z;
			st[1] = start[1] + y;
			st[2] = start[2];
			/* A slab stored already (a part run again) is neither read nor made. */
			if ((r = em_zwriter_box_done(w, st, c)) < 0)
				goto out;
			if (r == 1)
				continue;
			source_box(plan, l, st, c, ss, sc);
			if (em_zarr_read_box(src, ss, sc, in) < 0) {
				em_fail_ctx("level %d", l - 1);
				goto out;
			}
			if (bytes_read != NULL)
				*bytes_read += sc[0] * sc[1] * sc[2] * isz;
			if (em_downsample(dt, m, in, sc, plan->factor[l], out) < 0 ||
			    em_zwriter_put_box(w, st, c, out) < 0) {
				em_fail_ctx("level %d", l);
				goto out;
			}
		}
	rc = 0;
out:
	free(in);
	free(out);
	return rc;
}
