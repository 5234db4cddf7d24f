/* levels.c - a store's pyramid levels for the tools: the settings, levels written with level 0, levels built from the level below */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "core/safepath.h"
#include "core/units.h"
#include "core/version.h"
#include "store/journal.h"
#include "store/lock.h"
#include "store/ngff.h"
#include "store/pyramid.h"
#include "tool/levels.h"
#include "core/banned.h"

int
em_levels_parse(const char *arg, int *levels)
{
	if (strcmp(arg, "auto") == 0) {
		*levels = 0;
		return 0;
	}
	if (em_parse_int(arg, 1, EM_PYRAMID_MAX_LEVELS, levels) < 0)
		return em_fail("levels must be 'auto' or 1 to %d (1: level 0 alone), not '%s'",
		    EM_PYRAMID_MAX_LEVELS, arg);
	return 0;
}

int
em_levels_conf_resolve(struct em_config *cfg, int levels, const char *method,
    struct em_levels_conf *c)
{
	const char *v = NULL;
	int m;

	memset(c, 0, sizeof(*c));
	c->levels = levels;
	if (levels < 0) {
		c->levels = 0;
		if (cfg != NULL && em_config_get_str(cfg, "global.levels", "auto", &v) < 0)
			return -1;
		if (v != NULL && em_levels_parse(v, &c->levels) < 0)
			return em_fail_ctx("%s: global.levels", em_config_name(cfg));
	}
	v = method;
	if (v == NULL && cfg != NULL && em_config_get_str(cfg, "global.downsample", NULL, &v) < 0)
		return -1;
	c->method = EM_DS_MEAN;
	if (v != NULL) {
		if ((m = em_ds_method_from_name(v)) < 0)
			return em_fail("%s%sdownsampling method '%s' is not mean, mode or nearest",
			    method == NULL ? em_config_name(cfg) : "",
			    method == NULL ? ": global.downsample: " : "", v);
		c->method = (enum em_ds_method)m;
		/* Only the command line overrules the method a store's levels were made with. */
		c->method_given = method != NULL;
	}
	return 0;
}

/*
 * The method the levels are made with: the one asked for, but by default
 * mode for 64-bit integers, whose sums overflow a mean and which are
 * label volumes in practice (a mean would invent labels).
 */
static enum em_ds_method
method_for(const struct em_levels_conf *c, enum em_dtype dt)
{
	if (!c->method_given && c->method == EM_DS_MEAN && (dt == EM_DT_U8 || dt == EM_DT_I8))
		return EM_DS_MODE;
	return c->method;
}

/* ---- the fetchers' levels ---- */

struct em_levels {
	struct em_levels_conf conf;
	struct em_levels_store s;
	char *store;
	struct em_pyramid_plan plan;
	struct em_zarr *arr[EM_PYRAMID_MAX_LEVELS];
	struct em_pyramid *py;
	int jobs;
};

static int
make_plan(const struct em_levels_conf *c, const uint64_t shape[3], const double *scale,
    const uint64_t chunks[3], struct em_pyramid_plan *p)
{
	return em_pyramid_plan(shape, scale, chunks, c->levels, p);
}

uint64_t
em_levels_memory(const struct em_levels_conf *c, const uint64_t shape[3], const double *scale,
    const uint64_t chunks[3], enum em_dtype dt, int jobs, int planes)
{
	struct em_pyramid_plan p;

	if (!planes || make_plan(c, shape, scale, chunks, &p) < 0)
		return 0;
	return em_pyramid_memory(&p, 0, chunks, dt, jobs);
}

/*
 * A level's array: level 0's format, chunks cut to its shape, codec,
 * separator and fill value.  A sharded level 0 gives sharded levels: the
 * shard shape cut to the chunks that cover the level (so a small level is
 * one shard, and a shard stays a multiple of the chunk).
 */
static int
level_meta(const struct em_zarr_meta *m0, const uint64_t shape[3], struct em_zarr_meta *m)
{
	uint64_t ch[3], sh[3];
	int sharded = em_zarr_sharded(m0);

	for (int i = 0; i < 3; i++) {
		ch[i] = m0->chunks[i] < shape[i] ? m0->chunks[i] : shape[i];
		sh[i] = (shape[i] + ch[i] - 1) / ch[i] * ch[i];
		if (sharded && m0->shard[i] < sh[i])
			sh[i] = m0->shard[i];
	}
	if (em_zarr_meta_init(m, 3, shape, ch, m0->dtype, &m0->codec) < 0 ||
	    em_zarr_meta_set_format(m, m0->zarr_format == 3 ? 3 : 2, sharded ? sh : NULL) < 0)
		return -1;
	m->sep = m0->sep;
	m->fill_null = m0->fill_null;
	memcpy(m->fill, m0->fill, sizeof(m->fill));
	return 0;
}

static char *
join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p == NULL)
		em_fail("out of memory");
	else
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* Create (or reopen) level l of the plan at store/path. */
static struct em_zarr *
open_level(const char *store, const char *path, const struct em_zarr_meta *m0,
    const uint64_t shape[3])
{
	struct em_zarr_meta m;
	struct em_zarr *a = NULL;
	char *dir = join(store, path);

	if (dir == NULL)
		return NULL;
	if (level_meta(m0, shape, &m) < 0 || em_zarr_create_array(dir, &m) < 0) {
		em_fail_ctx("level '%s' of '%s'", path, store);
		goto out;
	}
	a = em_zarr_open(dir);
out:
	free(dir);
	return a;
}

/* The origin of voxel 0 in the scale's units (nm, or voxels when unknown). */
static void
origin_units(const struct em_levels_store *s, double off[3])
{
	for (int i = 0; i < 3; i++)
		off[i] = s->origin != NULL ? (double)s->origin[i] *
		    (s->scale != NULL ? s->scale[i] : 1) : 0;
}

/* The group's attributes for `levels` levels of the plan, keeping an omero block there is. */
static int
write_attrs(struct em_levels *lv, int levels)
{
	struct em_ngff_image im;
	json_t *attrs = NULL, *old = NULL, *om;
	double off[3];
	int zf = 2, rc = -1;

	origin_units(&lv->s, off);
	memset(&im, 0, sizeof(im));
	im.ndim = 3;
	im.voxel_nm = lv->s.scale;
	im.name = lv->s.name;
	im.levels = levels;
	im.scale = (const uint64_t (*)[3])lv->plan.scale;
	im.offset_nm = off;
	im.method = em_ds_method_name(lv->conf.method);
	if ((old = em_ngff_load_attrs(lv->store, &zf)) == NULL)
		goto out;
	if ((attrs = em_ngff_attrs(&im, zf)) == NULL)
		goto out;
	om = json_object_get(json_is_object(json_object_get(old, "ome")) ?
	    json_object_get(old, "ome") : old, "omero");
	if (om != NULL && em_ngff_set_omero(attrs, json_incref(om)) < 0)
		goto out;
	rc = em_ngff_save_attrs(lv->store, zf, attrs);
out:
	json_decref(old);
	json_decref(attrs);
	return rc;
}

struct em_levels *
em_levels_open(const struct em_levels_conf *c, const struct em_levels_store *s)
{
	const struct em_zarr_meta *m0 = em_zarr_meta(s->arr0);
	struct em_levels *lv = calloc(1, sizeof(*lv));
	struct em_zwriter_opts wo;
	char path[16];

	if (lv == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	lv->conf = *c;
	lv->conf.method = method_for(c, m0->dtype);
	lv->s = *s;
	lv->jobs = s->jobs;
	if ((lv->store = strdup(s->store)) == NULL) {
		em_fail("out of memory");
		goto fail;
	}
	if (m0->ndim != 3) {
		em_fail("'%s' has %d dimensions: levels are made for z, y, x volumes", s->store,
		    m0->ndim);
		goto fail;
	}
	if (make_plan(c, m0->shape, s->scale, m0->chunks, &lv->plan) < 0)
		goto fail;
	if (!s->planes) {
		/* Level 0 alone until it is complete; the crop's origin is said at once. */
		if (write_attrs(lv, 1) < 0)
			goto fail;
		return lv;
	}
	if (lv->plan.levels > 1 && lv->conf.method == EM_DS_MEAN &&
	    (m0->dtype == EM_DT_U8 || m0->dtype == EM_DT_I8)) {
		em_fail("mean downsampling of %s is not supported: use --downsample mode or "
		    "nearest, or --levels 1", em_dtype_name(m0->dtype));
		goto fail;
	}
	for (int l = 1; l < lv->plan.levels; l++) {
		snprintf(path, sizeof(path), "%d", l);
		if ((lv->arr[l] = open_level(s->store, path, m0, lv->plan.shape[l])) == NULL)
			goto fail;
	}
	memset(&wo, 0, sizeof(wo));
	wo.jobs = s->jobs;
	if (lv->plan.levels > 1 &&
	    (lv->py = em_pyramid_new(&lv->plan, 0, lv->arr, m0->dtype, lv->conf.method, &wo,
	    NULL)) == NULL)
		goto fail;
	/* Listed from the start: a reader of a store being written sees missing chunks as fill. */
	if (write_attrs(lv, lv->plan.levels) < 0)
		goto fail;
	return lv;
fail:
	em_levels_free(lv);
	return NULL;
}

int
em_levels_put_planes(struct em_levels *lv, uint64_t z0, uint64_t nz, const void *data)
{
	if (lv == NULL || lv->py == NULL)
		return 0;
	return em_pyramid_put_planes(lv->py, z0, nz, data);
}

void *
em_levels_plane_buffer(struct em_levels *lv)
{
	return lv != NULL ? em_pyramid_plane_buffer(lv->py) : NULL;
}

int
em_levels_finish(struct em_levels *lv, uint64_t max_memory, json_t *rec)
{
	json_t *levels;

	if (lv == NULL)
		return 0;
	if (lv->py != NULL && em_pyramid_finish(lv->py, NULL) < 0)
		return em_fail_ctx("cannot finish the levels of '%s'", lv->store);
	if (!lv->s.planes && lv->plan.levels > 1) {
		struct em_levels_build b;

		memset(&b, 0, sizeof(b));
		b.conf = lv->conf;
		b.jobs = lv->jobs;
		b.max_memory = max_memory;
		if (em_levels_build(lv->store, &b) < 0)
			return -1;
	}
	if (rec == NULL)
		return 0;
	if ((levels = em_levels_describe(lv->store)) == NULL)
		return -1;
	if (json_object_set_new(rec, "levels", levels) < 0)
		return em_fail("out of memory");
	return 0;
}

void
em_levels_free(struct em_levels *lv)
{
	if (lv == NULL)
		return;
	em_pyramid_free(lv->py);
	for (int l = 0; l < EM_PYRAMID_MAX_LEVELS; l++)
		em_zarr_close(lv->arr[l]);
	free(lv->store);
	free(lv);
}

/* ---- building the levels a group lacks ---- */

/* The first transformation of type t of a dataset, n numbers into out; 0 if there is none. */
static int
transform(const json_t *ds, const char *t, int n, double *out)
{
	const json_t *ct = json_object_get(ds, "coordinateTransformations");
	size_t i;

	for (i = 0; i < json_array_size(ct); i++) {
		const json_t *x = json_array_get(ct, i), *v;
		const char *ty = json_string_value(json_object_get(x, "type"));

		if (ty == NULL || strcmp(ty, t) != 0)
			continue;
		v = json_object_get(x, t);
		if (json_array_size(v) != (size_t)n)
			return em_fail("its %s has %zu values for %d axes", t, json_array_size(v), n);
		for (int k = 0; k < n; k++) {
			if (!json_is_number(json_array_get(v, (size_t)k)))
				return em_fail("its %s holds a value that is not a number", t);
			out[k] = json_number_value(json_array_get(v, (size_t)k));
		}
		return 1;
	}
	return 0;
}

/* The path new level l takes: "s<l>" beside "s0", else "<l>". */
static void
level_path(const char *path0, int l, char *out, size_t n)
{
	if (path0[0] == 's' && strcmp(path0 + 1, "0") == 0)
		snprintf(out, n, "s%d", l);
	else
		snprintf(out, n, "%d", l);
}

/* Is v a whole multiple f of base (scales are exact, but written by others as text)? */
static int
same_scale(double v, double base, uint64_t f)
{
	double want = base * (double)f;

	return fabs(v - want) <= 1e-9 * fabs(want);
}

struct build {
	const char *store;
	json_t *attrs;			/* the group's attributes (owned) */
	int zf;
	json_t *ms;			/* the first multiscale (borrowed from attrs) */
	json_t *dss;			/* its datasets (borrowed) */
	int naxes;
	int had;
	struct em_zarr *arr[EM_PYRAMID_MAX_LEVELS];
	struct em_pyramid_plan plan;
	double scale[EM_PYRAMID_MAX_LEVELS][EM_ZARR_MAXDIM];
	double trans[EM_PYRAMID_MAX_LEVELS][EM_ZARR_MAXDIM];
};

static int
load_group(struct build *x)
{
	char *p;
	int zf;
	json_t *mss;

	x->attrs = em_ngff_load_attrs(x->store, &zf);
	if (x->attrs == NULL) {
		/* A bare array has nowhere for levels beside it. */
		if ((p = join(x->store, ".zarray")) != NULL && em_exists(p) == 1) {
			free(p);
			return em_fail("'%s' is a Zarr array, not a group: levels are arrays beside "
			    "level 0 in an OME-Zarr group", x->store);
		}
		free(p);
		/* A path that is not there: the message says so, and names it already. */
		if (em_exists(x->store) == 0)
			return -1;
		return em_fail_ctx("'%s' is not a Zarr store", x->store);
	}
	x->zf = zf;
	mss = (json_t *)em_ngff_multiscales(x->attrs);
	if (mss == NULL)
		return em_fail("'%s' is a Zarr group without OME-NGFF multiscales: it does not "
		    "say which array is level 0", x->store);
	x->ms = json_array_get(mss, 0);
	x->dss = json_object_get(x->ms, "datasets");
	x->naxes = (int)json_array_size(json_object_get(x->ms, "axes"));
	x->had = (int)json_array_size(x->dss);
	if (x->had < 1)
		return em_fail("'%s': its multiscales list no dataset", x->store);
	if (x->had > EM_PYRAMID_MAX_LEVELS)
		return em_fail("'%s' lists %d levels, more than %d", x->store, x->had,
		    EM_PYRAMID_MAX_LEVELS);
	if (x->naxes < 3 || x->naxes > EM_ZARR_MAXDIM)
		return em_fail("'%s' has %d axes: levels are built for z, y, x volumes", x->store,
		    x->naxes);
	return 0;
}

/* Open the levels the group lists and read their transformations. */
static int
open_listed(struct build *x)
{
	for (int k = 0; k < x->had; k++) {
		const json_t *ds = json_array_get(x->dss, (size_t)k);
		const char *path = json_string_value(json_object_get(ds, "path"));
		char *dir;
		int r;

		if (path == NULL || !em_relpath_ok(path))
			return em_fail("'%s': dataset %d has no usable path", x->store, k);
		if ((dir = join(x->store, path)) == NULL)
			return -1;
		x->arr[k] = em_zarr_open(dir);
		free(dir);
		if (x->arr[k] == NULL)
			return em_fail_ctx("'%s': level %d ('%s')", x->store, k, path);
		if (em_zarr_meta(x->arr[k])->ndim != x->naxes)
			return em_fail("'%s': level %d ('%s') has %d dimensions, its axes %d",
			    x->store, k, path, em_zarr_meta(x->arr[k])->ndim, x->naxes);
		if (em_zarr_meta(x->arr[k])->ndim != 3)
			return em_fail("'%s' has %d dimensions: levels are built for z, y, x volumes",
			    x->store, em_zarr_meta(x->arr[k])->ndim);
		if ((r = transform(ds, "scale", x->naxes, x->scale[k])) <= 0) {
			if (r == 0)
				em_fail("it has no scale");
			return em_fail_ctx("'%s': level %d ('%s')", x->store, k, path);
		}
		if ((r = transform(ds, "translation", x->naxes, x->trans[k])) < 0)
			return em_fail_ctx("'%s': level %d ('%s')", x->store, k, path);
		if (r == 0)
			memset(x->trans[k], 0, sizeof(x->trans[k]));
	}
	return 0;
}

/* The listed levels must be the plan's: shape, data type, scale. */
static int
check_listed(struct build *x)
{
	const struct em_zarr_meta *m0 = em_zarr_meta(x->arr[0]);

	for (int k = 1; k < x->had && k < x->plan.levels; k++) {
		const struct em_zarr_meta *m = em_zarr_meta(x->arr[k]);
		const char *path = json_string_value(json_object_get(json_array_get(x->dss,
		    (size_t)k), "path"));

		if (m->dtype != m0->dtype)
			return em_fail("'%s': level %d ('%s') holds %s, level 0 %s", x->store, k,
			    path, em_dtype_name(m->dtype), em_dtype_name(m0->dtype));
		for (int i = 0; i < 3; i++)
			if (m->shape[i] != x->plan.shape[k][i] ||
			    !same_scale(x->scale[k][i], x->scale[0][i], x->plan.scale[k][i]))
				return em_fail("'%s': level %d ('%s') is %" PRIu64 "x%" PRIu64 "x%"
				    PRIu64 " with scale %g,%g,%g, but halving the level below gives %"
				    PRIu64 "x%" PRIu64 "x%" PRIu64 " with scale %g,%g,%g: the group's "
				    "metadata and its arrays disagree with this pyramid", x->store, k,
				    path, m->shape[0], m->shape[1], m->shape[2], x->scale[k][0],
				    x->scale[k][1], x->scale[k][2], x->plan.shape[k][0],
				    x->plan.shape[k][1], x->plan.shape[k][2],
				    x->scale[0][0] * (double)x->plan.scale[k][0],
				    x->scale[0][1] * (double)x->plan.scale[k][1],
				    x->scale[0][2] * (double)x->plan.scale[k][2]);
	}
	return 0;
}

/*
 * A directory holding nothing but temporary files: the array another
 * writer (a part of the same level) is creating right now, between its
 * mkdir and the rename of its metadata.
 */
static int
being_made(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int only = 1;

	if (d == NULL)
		return 0;
	while (only && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strstr(e->d_name, ".tmp.") == NULL)
			only = 0;
	closedir(d);
	return only;
}

/*
 * An unlisted level's directory is either absent, the array a killed
 * run began (same shape, type and chunks) or, for a part, one another
 * part is making; anything else is in the way.
 */
static int
check_unlisted(struct build *x, const char *path, int l, int parted)
{
	struct em_zarr_meta want;
	const struct em_zarr_meta *m;
	struct em_zarr *a;
	char *dir = join(x->store, path);
	int e, rc = -1;

	if (dir == NULL)
		return -1;
	if ((e = em_exists(dir)) <= 0 || (parted && being_made(dir))) {
		free(dir);
		return e < 0 ? -1 : 0;
	}
	if (level_meta(em_zarr_meta(x->arr[0]), x->plan.shape[l], &want) < 0)
		goto out;
	if ((a = em_zarr_open(dir)) == NULL) {
		em_fail_ctx("'%s': '%s' is in the way of level %d", x->store, path, l);
		goto out;
	}
	m = em_zarr_meta(a);
	if (m->ndim != 3 || m->dtype != want.dtype || memcmp(m->shape, want.shape,
	    3 * sizeof(m->shape[0])) != 0 || memcmp(m->chunks, want.chunks,
	    3 * sizeof(m->chunks[0])) != 0)
		em_fail("'%s': '%s' is an array the group does not list, and not level %d of this "
		    "pyramid (%" PRIu64 "x%" PRIu64 "x%" PRIu64 " %s)", x->store, path, l,
		    want.shape[0], want.shape[1], want.shape[2], em_dtype_name(want.dtype));
	else
		rc = 0;
	em_zarr_close(a);
out:
	free(dir);
	return rc;
}

/*
 * The threads that fit max_memory (fewer first): -1, before anything is
 * written, when even one does not.
 */
static int
fit(struct build *x, struct em_levels_build *b)
{
	int base = x->had - 1, threads = b->jobs > 0 ? b->jobs : 1;
	const struct em_zarr_meta *mb = em_zarr_meta(x->arr[base]);
	const uint64_t *ch0 = em_zarr_meta(x->arr[0])->chunks;
	char need[32], have[32];
	uint64_t mem;

	for (;;) {
		mem = em_pyramid_memory(&x->plan, base, ch0, mb->dtype, threads) +
		    em_zarr_iter_memory(mb, threads > 1 ? threads : 0);
		if (b->max_memory == 0 || mem <= b->max_memory || threads == 1)
			break;
		threads--;
	}
	b->memory = mem;
	if (b->max_memory > 0 && mem > b->max_memory)
		return em_fail("'%s': building its levels needs at least %s of memory, more than "
		    "--max-memory %s", x->store, em_format_size(mem, need, sizeof(need)),
		    em_format_size(b->max_memory, have, sizeof(have)));
	return threads;
}

/* Stream the last listed level into the new ones. */
static int
stream(struct build *x, struct em_levels_build *b, enum em_ds_method method, int threads)
{
	int base = x->had - 1, rc = -1, r;
	const struct em_zarr_meta *mb = em_zarr_meta(x->arr[base]);
	struct em_zarr_iter *it = NULL;
	struct em_pyramid *py = NULL;
	struct em_zwriter_opts wo;
	struct em_zwriter_stats st;
	uint64_t z0, nz;
	const void *data;
	size_t len;

	memset(&wo, 0, sizeof(wo));
	wo.jobs = threads;
	wo.throttle_ms = b->throttle_ms;
	if ((py = em_pyramid_new(&x->plan, base, x->arr, mb->dtype, method, &wo, NULL)) == NULL)
		goto out;
	if ((it = em_zarr_iter_new(x->arr[base], threads > 1 ? threads : 0)) == NULL)
		goto out;
	if (b->progress != NULL) {
		em_progress_add_bytes_total(b->progress, em_zarr_nbytes(x->arr[base]));
		em_progress_add_items_total(b->progress, mb->shape[0]);
	}
	while ((r = em_zarr_iter_next(it, &data, &len, &z0, &nz)) == 1) {
		if (em_interrupted()) {
			em_fail("interrupted");
			goto out;
		}
		if (em_pyramid_put_planes(py, z0, nz, data) < 0)
			goto out;
		if (b->progress != NULL) {
			em_progress_add_bytes(b->progress, len);
			em_progress_add_items(b->progress, nz);
		}
	}
	if (r < 0)
		goto out;
	memset(&st, 0, sizeof(st));
	if (em_pyramid_finish(py, &st) < 0)
		goto out;
	b->chunks_written = st.chunks_written;
	rc = 0;
out:
	if (rc < 0)
		em_fail_ctx("cannot build the levels of '%s'", x->store);
	em_zarr_iter_free(it);
	em_pyramid_free(py);
	return rc;
}

/* ---- a part of one level (--part I/N) ---- */

/*
 * At most: a run along x up to the end of its row, rows up to the end of
 * their plane, whole planes, then rows and a run along x again.
 */
#define PART_BOXES 5

/*
 * The units [lo, hi) of level meta mk (chunks, or shards), C order, as
 * boxes of voxels (start, count), each a block of whole units: a run of
 * units along x, of rows along y, of planes of units along z.
 */
static int
part_boxes(const struct em_zarr_meta *mk, uint64_t lo, uint64_t hi,
    uint64_t box[PART_BOXES][2][3])
{
	uint64_t g[3], us[3], u = lo, plane, ub[2][3];
	int n = 0, i;

	if (em_zarr_sharded(mk)) {
		em_zarr_shard_grid(mk, g);
		memcpy(us, mk->shard, sizeof(us));
	} else {
		em_zarr_grid(mk, g);
		memcpy(us, mk->chunks, sizeof(us));
	}
	plane = g[1] * g[2];
	while (u < hi && n < PART_BOXES) {
		uint64_t z = u / plane, y = u % plane / g[2], x = u % g[2], k;

		ub[0][0] = z;
		ub[0][1] = y;
		ub[0][2] = x;
		ub[1][0] = ub[1][1] = ub[1][2] = 1;
		if (x != 0 || hi - u < g[2]) {
			k = hi - u < g[2] - x ? hi - u : g[2] - x;
			ub[1][2] = k;
		} else if (y != 0 || hi - u < plane) {
			k = (hi - u) / g[2] < g[1] - y ? (hi - u) / g[2] : g[1] - y;
			ub[1][1] = k;
			ub[1][2] = g[2];
			k *= g[2];
		} else {
			ub[1][0] = (hi - u) / plane;
			ub[1][1] = g[1];
			ub[1][2] = g[2];
			k = ub[1][0] * plane;
		}
		u += k;
		for (i = 0; i < 3; i++) {
			uint64_t end = (ub[0][i] + ub[1][i]) * us[i];

			box[n][0][i] = ub[0][i] * us[i];
			box[n][1][i] = (end < mk->shape[i] ? end : mk->shape[i]) - box[n][0][i];
		}
		n++;
	}
	if (u < hi)
		return em_fail("units %llu to %llu are more than %d boxes", (unsigned long long)lo,
		    (unsigned long long)hi, PART_BOXES);
	return n;
}

/* The box of level l-1 that level l's box start, count is made from. */
static void
source_of(const struct em_pyramid_plan *p, int l, uint64_t box[2][3], uint64_t sb[2][3])
{
	for (int i = 0; i < 3; i++) {
		uint64_t f = (uint64_t)p->factor[l][i], end = (box[0][i] + box[1][i]) * f;

		sb[0][i] = box[0][i] * f;
		sb[1][i] = (end < p->shape[l - 1][i] ? end : p->shape[l - 1][i]) - sb[0][i];
	}
}

/*
 * A part reads only whole data: every chunk (shard) of level `base` under
 * the box sb is stored, else -1 naming the first one missing.  A level
 * whose writers have not all finished is refused this way rather than
 * read as fill.  *missing counts those missing.
 */
static int
check_source(struct build *x, int base, uint64_t sb[2][3], uint64_t *missing, char *first,
    size_t n)
{
	struct em_zarr *a = x->arr[base];
	const struct em_zarr_meta *m = em_zarr_meta(a);
	const char *path = json_string_value(json_object_get(json_array_get(x->dss,
	    (size_t)base), "path"));
	uint64_t c[3], c0[3], c1[3], us;
	char key[128];
	int sh = em_zarr_sharded(m), r, i;

	for (i = 0; i < 3; i++) {
		if (sb[1][i] == 0)
			return 0;
		us = sh ? m->shard[i] : m->chunks[i];
		c0[i] = sb[0][i] / us;
		c1[i] = (sb[0][i] + sb[1][i] - 1) / us;
	}
	for (c[0] = c0[0]; c[0] <= c1[0]; c[0]++)
		for (c[1] = c0[1]; c[1] <= c1[1]; c[1]++)
			for (c[2] = c0[2]; c[2] <= c1[2]; c[2]++) {
				if (em_interrupted())
					return em_fail("interrupted");
				r = sh ? em_zarr_shard_present(a, c, 0) : em_zarr_chunk_present(a, c, 0);
				if (r < 0)
					return em_fail_ctx("'%s': level %d ('%s')", x->store, base, path);
				if (r == 1)
					continue;
				if ((*missing)++ == 0 && em_zarr_chunk_key(m, c, key, sizeof(key)) != NULL)
					snprintf(first, n, "%s '%s/%s'", sh ? "shard" : "chunk", path,
					    key);
			}
	return 0;
}

/* "<store>/<path>.part-I-of-N.json" of level path's part index of count. */
static int
part_record_path(const char *store, const char *path, int index, int count, char *out, size_t n)
{
	if ((size_t)snprintf(out, n, "%s/%s.part-%d-of-%d.json", store, path, index, count) >= n)
		return em_fail("path of '%s' is too long", store);
	return 0;
}

/* The part's record, once its units are all written. */
static int
save_part_record(const char *store, const char *path, int level, const struct em_levels_build *b)
{
	char rp[4096];
	json_t *j;
	int rc;

	if (part_record_path(store, path, b->part_index, b->part_count, rp, sizeof(rp)) < 0)
		return -1;
	j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:{s:i, s:i}, s:[III], s:I, s:I, s:s}",
	    "tool", "em-downsample", "version", EM_VERSION, "level", level, "path", path,
	    "downsample", em_ds_method_name(b->method),
	    "part", "index", b->part_index, "count", b->part_count,
	    "units", (json_int_t)b->units[0], (json_int_t)b->units[1], (json_int_t)b->units[2],
	    "chunks", (json_int_t)b->part_chunks, "chunks_written", (json_int_t)b->chunks_written,
	    "status", "complete");
	if (j == NULL)
		return em_fail("out of memory");
	rc = em_zarr_write_json(rp, j);
	json_decref(j);
	return rc;
}

/*
 * How many parts of count of level `level` have their record, complete,
 * made by method; -1 when one was made by another method (the level would
 * mix two).
 */
static int
parts_done(const char *store, const char *path, int level, int count, enum em_ds_method method)
{
	char rp[4096];
	int i, n = 0;

	for (i = 1; i <= count; i++) {
		json_t *j, *p;
		const char *m;

		if (part_record_path(store, path, i, count, rp, sizeof(rp)) < 0)
			return -1;
		if ((j = json_load_file(rp, 0, NULL)) == NULL)
			continue;
		p = json_object_get(j, "part");
		m = json_string_value(json_object_get(j, "downsample"));
		if (m != NULL && strcmp(m, em_ds_method_name(method)) != 0) {
			em_fail("'%s': part %d of %d of level %d was made by %s, this one by %s: one "
			    "level never mixes two methods (--downsample)", store, i, count, level, m,
			    em_ds_method_name(method));
			json_decref(j);
			return -1;
		}
		if (json_is_string(json_object_get(j, "status")) &&
		    strcmp(json_string_value(json_object_get(j, "status")), "complete") == 0 &&
		    json_integer_value(json_object_get(j, "level")) == level &&
		    json_integer_value(json_object_get(p, "index")) == i &&
		    json_integer_value(json_object_get(p, "count")) == count)
			n++;
		json_decref(j);
	}
	return n;
}

/*
 * Once a level is listed (whole), its parts' records and journals are of no
 * more use: a part run again finds the level listed and does nothing.  They
 * go, so that the store is the one a run without --part leaves, byte for
 * byte and in its size on disk.  A part finishing beside this one may have
 * removed them already.
 */
static void
forget_parts(const char *store, const char *path, int count)
{
	char p[4096];
	int i;

	for (i = 1; i <= count; i++) {
		if (part_record_path(store, path, i, count, p, sizeof(p)) == 0 &&
		    unlink(p) < 0 && errno != ENOENT)
			em_log(EM_LOG_WARN, "cannot remove '%s': %s", p, strerror(errno));
		if ((size_t)snprintf(p, sizeof(p), "%s/%s.chunks.%d", store, path, i - 1) < sizeof(p) &&
		    unlink(p) < 0 && errno != ENOENT)
			em_log(EM_LOG_WARN, "cannot remove '%s': %s", p, strerror(errno));
	}
}

/* Append levels x->had .. x->plan.levels-1 to the group's multiscales and save it. */
static int
list_levels(struct build *x, const char *path0, enum em_ds_method method)
{
	int l, i;

	for (l = x->had; l < x->plan.levels; l++) {
		char path[16];
		uint64_t f3[3];
		json_t *ds;

		level_path(path0, l, path, sizeof(path));
		for (i = 0; i < 3; i++)
			f3[i] = (uint64_t)x->plan.factor[l][i];
		ds = em_ngff_level_dataset(path, x->naxes, x->scale[l - 1], x->trans[l - 1], f3,
		    em_ds_method_name(method));
		if (ds == NULL || json_array_append_new(x->dss, ds) < 0)
			return em_fail("out of memory");
		/* The next level's base: this one's transformations. */
		for (i = 0; i < x->naxes; i++) {
			uint64_t f = (uint64_t)x->plan.factor[l][i];

			x->scale[l][i] = x->scale[l - 1][i] * (double)f;
			x->trans[l][i] = x->trans[l - 1][i] + (method != EM_DS_NEAREST && f > 1 ?
			    (x->scale[l][i] - x->scale[l - 1][i]) / 2 : 0);
		}
	}
	json_object_set_new(x->ms, "type", json_string(em_ds_method_name(method)));
	/* Levels made by others keep their description; ours say how they were made. */
	if (x->had == 1 || json_object_get(x->ms, "metadata") == NULL)
		json_object_set_new(x->ms, "metadata", em_ngff_metadata(em_ds_method_name(method)));
	return em_ngff_save_attrs(x->store, x->zf, x->attrs);
}

/*
 * Part b->part_index of level k (the one level x->plan ends with): its
 * units' boxes, made from the boxes of level k-1 under them, written
 * under the part's lock and journal; then its part record, and the level
 * listed if every part's record is there.
 */
static int
build_part(struct build *x, struct em_levels_build *b, enum em_ds_method method, int k)
{
	const struct em_zarr_meta *m0 = em_zarr_meta(x->arr[0]);
	const char *path0 = json_string_value(json_object_get(json_array_get(x->dss, 0), "path"));
	struct em_zarr_meta mk;
	uint64_t boxes[PART_BOXES][2][3], sb[2][3], missing = 0, mem = 0, read = 0, slab[2], us[2];
	struct em_store_lock *lock = NULL;
	struct em_journal *journal = NULL;
	int tidy = 0;
	struct em_zwriter *w = NULL;
	struct em_zwriter_opts wo;
	struct em_zwriter_stats st;
	char path[16], dir[4096], first[192] = "", need[32], have[32];
	int nb, i, n, threads, rc = -1;

	level_path(path0, k, path, sizeof(path));
	if (level_meta(m0, x->plan.shape[k], &mk) < 0)
		return em_fail_ctx("'%s': level %d", x->store, k);
	em_part_range(em_part_units(&mk), b->part_index, b->part_count, &b->units[0],
	    &b->units[1]);
	b->units[2] = em_part_units(&mk);
	b->part_chunks = em_part_nchunks(&mk, b->part_index, b->part_count);
	if ((nb = part_boxes(&mk, b->units[0], b->units[1], boxes)) < 0)
		return -1;
	/* Slabs of one chunk deep and high: they complete the chunks they touch. */
	slab[0] = mk.chunks[0];
	slab[1] = mk.chunks[1];
	us[0] = em_zarr_sharded(&mk) ? mk.shard[0] : mk.chunks[0];
	us[1] = em_zarr_sharded(&mk) ? mk.shard[1] : mk.chunks[1];
	/* The largest box's slabs of both levels and the writer's room, fewer threads first. */
	for (threads = b->jobs > 0 ? b->jobs : 1; ; threads--) {
		mem = 0;
		for (i = 0; i < nb; i++) {
			uint64_t box[3] = { mk.chunks[0], mk.chunks[1], boxes[i][1][2] };
			uint64_t bm = em_pyramid_box_memory(&x->plan, k, boxes[i][1], slab,
			    mk.dtype) + em_zwriter_min_memory(&mk, threads, box);

			mem = bm > mem ? bm : mem;
		}
		if (b->max_memory == 0 || mem <= b->max_memory || threads == 1)
			break;
	}
	b->memory = mem;
	if (b->max_memory > 0 && mem > b->max_memory)
		return em_fail("'%s': part %d of %d of level %d needs at least %s of memory, more "
		    "than --max-memory %s", x->store, b->part_index, b->part_count, k,
		    em_format_size(mem, need, sizeof(need)),
		    em_format_size(b->max_memory, have, sizeof(have)));
	/* Refused before anything is written: a level in the way, a source not whole, a method mix. */
	if (check_unlisted(x, path, k, 1) < 0)
		return -1;
	for (i = 0; i < nb; i++) {
		source_of(&x->plan, k, boxes[i], sb);
		if (check_source(x, k - 1, sb, &missing, first, sizeof(first)) < 0)
			return -1;
	}
	if (missing > 0)
		return em_fail("'%s': level %d ('%s') is not complete: %s and %llu more this part "
		    "reads are missing (its writers have not all finished?); a part reads whole "
		    "levels only: finish level %d first, or build without --part", x->store, k - 1,
		    json_string_value(json_object_get(json_array_get(x->dss, (size_t)(k - 1)),
		    "path")), first, (unsigned long long)(missing - 1), k - 1);
	if (parts_done(x->store, path, k, b->part_count, method) < 0)
		return -1;
	if ((lock = em_store_lock(x->store, b->part_index - 1, 0)) == NULL)
		return -1;
	if ((x->arr[k] = open_level(x->store, path, m0, x->plan.shape[k])) == NULL)
		goto out;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", x->store, path) >= sizeof(dir)) {
		em_fail("path of '%s' is too long", x->store);
		goto out;
	}
	if ((journal = em_journal_open(dir, em_zarr_nchunks(&mk), b->part_index - 1, 0)) == NULL)
		goto out;
	memset(&wo, 0, sizeof(wo));
	wo.jobs = threads;
	wo.throttle_ms = b->throttle_ms;
	wo.journal = journal;
	wo.part_index = b->part_index;
	wo.part_count = b->part_count;
	if ((w = em_zwriter_new(x->arr[k], &wo)) == NULL)
		goto out;
	if (b->progress != NULL)
		for (i = 0; i < nb; i++) {
			source_of(&x->plan, k, boxes[i], sb);
			em_progress_add_bytes_total(b->progress, sb[1][0] * sb[1][1] * sb[1][2] *
			    em_dtype_size(mk.dtype));
			em_progress_add_items_total(b->progress, sb[1][0]);
		}
	/*
	 * Each box a strip of units at a time (one unit deep and high, its
	 * whole run along x): a strip completes its shards before the next
	 * begins, so the writer assembles one row of them, not a plane.
	 */
	for (i = 0; i < nb; i++) {
		uint64_t before = read, strip[2][3], u0, u1;

		for (u0 = 0; u0 < boxes[i][1][0]; u0 += us[0])
			for (u1 = 0; u1 < boxes[i][1][1]; u1 += us[1]) {
				strip[0][0] = boxes[i][0][0] + u0;
				strip[0][1] = boxes[i][0][1] + u1;
				strip[0][2] = boxes[i][0][2];
				strip[1][0] = boxes[i][1][0] - u0 < us[0] ? boxes[i][1][0] - u0 : us[0];
				strip[1][1] = boxes[i][1][1] - u1 < us[1] ? boxes[i][1][1] - u1 : us[1];
				strip[1][2] = boxes[i][1][2];
				if (em_pyramid_box(&x->plan, k, x->arr[k - 1], mk.dtype, method,
				    strip[0], strip[1], slab, w, &read) < 0)
					goto out;
			}
		if (b->progress != NULL) {
			source_of(&x->plan, k, boxes[i], sb);
			em_progress_add_bytes(b->progress, read - before);
			em_progress_add_items(b->progress, sb[1][0]);
		}
	}
	memset(&st, 0, sizeof(st));
	if (em_zwriter_finish(w, &st) < 0)
		goto out;
	b->chunks_written = st.chunks_written;
	b->chunks_present = b->part_chunks > st.chunks_written ? b->part_chunks -
	    st.chunks_written : 0;
	/*
	 * The part's record, then the others': of parts finishing together,
	 * at least the last to write its own sees them all.
	 */
	if (save_part_record(x->store, path, k, b) < 0 ||
	    (n = parts_done(x->store, path, k, b->part_count, method)) < 0)
		goto out;
	b->parts_done = n;
	rc = 0;
	if (n < b->part_count)
		goto out;
	/* Every part is done: list the level, unless a part finishing beside this one has. */
	rc = -1;
	json_decref(x->attrs);
	x->attrs = NULL;
	if (load_group(x) < 0)
		goto out;
	if (x->had > k) {
		b->levels = x->had;
		tidy = 1;
		rc = 0;
		goto out;
	}
	if (x->had != k) {
		em_fail("'%s': the group's levels changed while level %d was built", x->store, k);
		goto out;
	}
	path0 = json_string_value(json_object_get(json_array_get(x->dss, 0), "path"));
	if (path0 == NULL) {
		em_fail("'%s': dataset 0 has no path any more", x->store);
		goto out;
	}
	if (list_levels(x, path0, method) < 0)
		goto out;
	b->listed = 1;
	b->levels = x->plan.levels;
	tidy = 1;
	rc = 0;
out:
	if (rc < 0)
		em_fail_ctx("cannot build part %d of %d of level %d of '%s'", b->part_index,
		    b->part_count, k, x->store);
	em_zwriter_free(w);
	em_journal_close(journal);
	if (tidy)
		forget_parts(x->store, path, b->part_count);
	em_store_unlock(lock);
	return rc;
}

int
em_levels_build(const char *store, struct em_levels_build *b)
{
	struct build x;
	enum em_ds_method method = b->conf.method;
	const char *type, *path0;
	double voxel[3], *vp = NULL;
	struct em_ngff_scale sc;
	char path[16];
	int rc = -1, l, i, threads, k = b->level;

	memset(&x, 0, sizeof(x));
	x.store = store;
	b->had = b->levels = 0;
	b->chunks_written = b->chunks_present = b->part_chunks = 0;
	b->parts_done = b->listed_already = b->listed = 0;
	memset(b->units, 0, sizeof(b->units));
	if (load_group(&x) < 0 || open_listed(&x) < 0)
		goto out;
	b->had = b->levels = x.had;
	method = method_for(&b->conf, em_zarr_meta(x.arr[0])->dtype);
	/* The group's own method, unless another was asked for; two methods never mix. */
	type = json_string_value(json_object_get(x.ms, "type"));
	if (type != NULL && em_ds_method_from_name(type) >= 0 && x.had > 1) {
		if (b->conf.method_given && em_ds_method_from_name(type) != (int)method) {
			em_fail("'%s' has %s levels: --downsample %s would mix two methods in one "
			    "pyramid", store, type, em_ds_method_name(method));
			goto out;
		}
		method = (enum em_ds_method)em_ds_method_from_name(type);
	}
	/* Which axes halve follows the voxel size: nm when the axes say, else the scale. */
	em_ngff_scale(x.ms, json_array_get(x.dss, 0), &sc);
	for (i = 0; i < 3; i++)
		voxel[i] = sc.voxel_known ? sc.voxel_nm[i] : x.scale[0][i];
	vp = voxel;
	if (make_plan(&b->conf, em_zarr_meta(x.arr[0])->shape, vp,
	    em_zarr_meta(x.arr[0])->chunks, &x.plan) < 0) {
		em_fail_ctx("'%s'", store);
		goto out;
	}
	if (check_listed(&x) < 0)
		goto out;
	if (b->plan_only) {
		b->levels = x.plan.levels;
		rc = 0;
		goto out;
	}
	if (k > 0) {
		/* One level: its source must be listed, so whole; the plan ends with it. */
		if (k >= x.plan.levels) {
			if (x.plan.levels == 1)
				em_fail("'%s': --level %d is past its pyramid: level 0 alone (--levels), "
				    "no level to build", store, k);
			else
				em_fail("'%s': --level %d is past its pyramid: it has levels 1 to %d to "
				    "build (--levels)", store, k, x.plan.levels - 1);
			goto out;
		}
		if (k > x.had) {
			em_fail("'%s': level %d is built from level %d, which is not complete (the "
			    "group lists levels 0 to %d): build level %d first, every part of it",
			    store, k, k - 1, x.had - 1, k - 1);
			goto out;
		}
		if (k < x.had) {
			b->listed_already = 1;	/* listed: whole already */
			rc = 0;
			goto out;
		}
		x.plan.levels = k + 1;
	}
	if (x.had >= x.plan.levels) {
		rc = 0;
		goto out;
	}
	if (method == EM_DS_MEAN && (em_zarr_meta(x.arr[0])->dtype == EM_DT_U8 ||
	    em_zarr_meta(x.arr[0])->dtype == EM_DT_I8)) {
		em_fail("'%s': mean downsampling of %s is not supported: use --downsample mode or "
		    "nearest", store, em_dtype_name(em_zarr_meta(x.arr[0])->dtype));
		goto out;
	}
	b->method = method;
	if (b->part_count > 0 && k > 0) {
		rc = build_part(&x, b, method, k);
		goto out;
	}
	if ((threads = fit(&x, b)) < 0)
		goto out;
	path0 = json_string_value(json_object_get(json_array_get(x.dss, 0), "path"));
	/* A directory in the way that is not the level a killed run began: refused first. */
	for (l = x.had; l < x.plan.levels; l++) {
		level_path(path0, l, path, sizeof(path));
		if (check_unlisted(&x, path, l, 0) < 0)
			goto out;
	}
	for (l = x.had; l < x.plan.levels; l++) {
		level_path(path0, l, path, sizeof(path));
		if ((x.arr[l] = open_level(store, path, em_zarr_meta(x.arr[0]),
		    x.plan.shape[l])) == NULL)
			goto out;
	}
	if (stream(&x, b, method, threads) < 0)
		goto out;
	/* Every level is whole: now the group lists them. */
	if (list_levels(&x, path0, method) < 0)
		goto out;
	b->listed = 1;
	b->levels = x.plan.levels;
	rc = 0;
out:
	for (l = 0; l < EM_PYRAMID_MAX_LEVELS; l++)
		em_zarr_close(x.arr[l]);
	json_decref(x.attrs);
	return rc;
}

int
em_levels_match(const struct em_levels_conf *c, const char *store)
{
	struct build x;
	struct em_pyramid_plan p;
	struct em_ngff_scale sc;
	const char *type;
	int match = 0;

	memset(&x, 0, sizeof(x));
	x.store = store;
	if (load_group(&x) < 0 || open_listed(&x) < 0)
		goto out;
	em_ngff_scale(x.ms, json_array_get(x.dss, 0), &sc);
	if (make_plan(c, em_zarr_meta(x.arr[0])->shape, sc.voxel_known ? sc.voxel_nm : NULL,
	    em_zarr_meta(x.arr[0])->chunks, &p) < 0 || p.levels != x.had)
		goto out;
	type = json_string_value(json_object_get(x.ms, "type"));
	match = x.had == 1 || (type != NULL && strcmp(type,
	    em_ds_method_name(method_for(c, em_zarr_meta(x.arr[0])->dtype))) == 0);
out:
	for (int k = 0; k < EM_PYRAMID_MAX_LEVELS; k++)
		em_zarr_close(x.arr[k]);
	json_decref(x.attrs);
	return match;
}

json_t *
em_levels_describe(const char *store)
{
	struct build x;
	json_t *out = NULL, *lv;
	int k, i;

	memset(&x, 0, sizeof(x));
	x.store = store;
	if (load_group(&x) < 0 || open_listed(&x) < 0)
		goto out;
	if ((out = json_array()) == NULL)
		goto oom;
	for (k = 0; k < x.had; k++) {
		const json_t *ds = json_array_get(x.dss, (size_t)k);
		const struct em_zarr_meta *m = em_zarr_meta(x.arr[k]);
		struct em_ngff_scale sc;

		em_ngff_scale(x.ms, ds, &sc);
		lv = json_pack("{s:O, s:[III], s:[III]}", "path", json_object_get(ds, "path"),
		    "shape", (json_int_t)m->shape[0], (json_int_t)m->shape[1],
		    (json_int_t)m->shape[2], "chunks", (json_int_t)m->chunks[0],
		    (json_int_t)m->chunks[1], (json_int_t)m->chunks[2]);
		if (lv == NULL || json_array_append_new(out, lv) < 0)
			goto oom;
		if (sc.voxel_known) {
			json_t *v = json_array(), *t = json_array();

			for (i = 0; i < 3; i++) {
				json_array_append_new(v, json_real(sc.voxel_nm[i]));
				json_array_append_new(t, json_real(sc.offset_nm[i]));
			}
			json_object_set_new(lv, "voxel_size_nm", v);
			if (sc.offset_known)
				json_object_set_new(lv, "translation_nm", t);
			else
				json_decref(t);
		}
	}
	goto out;
oom:
	em_fail("out of memory");
	json_decref(out);
	out = NULL;
out:
	for (k = 0; k < EM_PYRAMID_MAX_LEVELS; k++)
		em_zarr_close(x.arr[k]);
	json_decref(x.attrs);
	return out;
}
