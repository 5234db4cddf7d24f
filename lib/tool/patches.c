/* patches.c - em-patches: sampling, reader threads, shards written in order, the manifest and resuming */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/bigmem.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "core/ident.h"
#include "core/interrupt.h"
#include "core/jsonio.h"
#include "core/parse.h"
#include "core/progress.h"
#include "core/safepath.h"
#include "core/tar.h"
#include "core/version.h"
#include "formats/npy.h"
#include "meta/digest.h"
#include "meta/record.h"
#include "meta/sha256mb.h"
#include "store/ngff.h"
#include "store/zarr.h"
#include "tool/patches.h"
#include "tool/tool.h"
#include "core/banned.h"

/* A record file or stdin holds records of at most this size each. */
#define RECORD_MAX EM_RECORD_MAX_BYTES
/* Tries to place one random patch inside the blocks of a single split. */
#define RANDOM_TRIES 64
/* A sample's .json is at most this long (the fields are bounded: ids, numbers). */
#define SAMPLE_JSON_MAX 4096
/* Bytes gathered before each write(2) to a shard. */
#define SHARD_BUF ((size_t)1 << 20)
/* The hasher's buffers: one being filled per split, the rest written and waiting to be hashed. */
#define HASH_BUFS (EM_SPLIT_MAX + 3)
/* Sample data from this size on is written and hashed where the reader left it, not copied. */
#define DIRECT_MIN ((size_t)64 << 10)
/* The ring of patches in flight may take this much (batches of samples hashed together). */
#define RING_BYTES ((uint64_t)96 << 20)
/* Tar headers carry this mtime: fixed, so the same samples give the same bytes. */
#define TAR_MTIME 0

struct vol {
	char *source;			/* NULL when the store came without a record */
	char *id;
	char *store;			/* the operand's store path */
	char *array;			/* the level's array directory */
	char *level_path;		/* the dataset's path in multiscales */
	int level;
	struct em_zarr *a;
	enum em_dtype dt;
	size_t itemsize;
	int ndim;			/* 2 or 3 */
	uint64_t shape[3];		/* z = 1 for 2-D */
	double voxel[3];
	int voxel_known;
	double origin[3];		/* nm of voxel 0 */
	double fill;
	struct em_norm norm;
	uint64_t bgrid[3];		/* blocks along each axis */
	char *blocks;			/* each block's split as a digit, C order */
};

/* The counts of one split; a shard keeps them as they were after its last sample. */
struct counts {
	uint64_t samples, skip_fill, skip_std;
};

struct shard {
	int open;
	int number;			/* the next shard's number while closed */
	struct em_atomic at;
	struct em_sha256 *h;
	int bi;				/* the hasher's buffer being filled; -1: none */
	unsigned char *buf;		/* that buffer */
	size_t blen;
	uint64_t bytes;			/* written so far, with the buffer */
	uint64_t samples;
	uint64_t cursor;		/* candidate after this shard's last sample */
	struct counts through;		/* the split's counts at that sample */
};

enum outcome { PENDING, KEEP, SKIP_FILL, SKIP_STD, FAILED };

struct slot {
	struct vol *v;
	uint64_t pos[3];
	int split;
	uint64_t g;			/* the candidate's number in the whole run */
	int done;
	enum outcome out;
	char sha[65];
	char err[512];
	unsigned char *conv;
	int hashing;			/* conv is queued for a shard's digest (under the hasher's lock) */
};

struct reader;

/*
 * The shards' SHA-256 on a thread of its own: a written buffer is queued
 * and hashed while the next is filled and written, so the digest of the
 * shard stream (a single SHA-256, which cannot be split) costs the writer
 * nothing but its wait at the shard's end.  A large sample's data is
 * queued where it is (its slot's conv), not copied into a buffer; the
 * slot is not reused before its data is hashed.
 */
struct hasher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running, stop, busy, failed;
	unsigned char *buf[HASH_BUFS];
	int freeb[HASH_BUFS], nfree;
	struct hjob {
		int b;			/* the buffer; -1: a slot's data */
		const unsigned char *data;
		size_t len;
		struct em_sha256 *h;
		struct slot *sl;	/* whose data it is (b = -1) */
	} *q;
	int qcap, qh, qn;
};

struct em_patches {
	struct em_patches_opts o;
	char *outdir;
	struct vol **vols;
	int nvols, capvols;
	enum em_dtype out_dt;		/* per volume when EM_DT_NONE (the store's) */
	/* the run */
	json_t *params;
	json_t *shards;			/* the manifest's list of finished shards */
	struct counts cnt[EM_SPLIT_MAX];
	uint64_t resume[EM_SPLIT_MAX];	/* candidates below are in finished shards */
	uint64_t straddling;
	struct shard sh[EM_SPLIT_MAX];
	struct em_progress progress;
	/* the ring of patches in flight */
	struct slot *ring;
	unsigned char *ring_mem;	/* every slot's conv, in one block (huge pages) */
	uint64_t nslots, head, tail, next_work;
	int batch;			/* patches a reader takes at once (their digests in one pass) */
	int stop, hurry;		/* hurry: the writer waits, take what there is */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct reader *rd;
	int nth, sync_init;
	struct hasher hs;
	int lockfd;
};

void
em_patches_opts_init(struct em_patches_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->patch[0] = o->patch[1] = o->patch[2] = 0;
	o->max_fill = 0.5;
	o->min_std = 0;
	o->splits.n = 1;
	o->splits.name[0] = "train";
	o->splits.frac[0] = 1;
	o->norm = EM_NORM_NONE;
	o->pct[0] = 1;
	o->pct[1] = 99;
	o->dtype = EM_DT_NONE;
	o->shard_size = (uint64_t)256 << 20;
	o->jobs = 2;
	o->progress = EM_PROGRESS_AUTO;
}

static void
vol_free(struct vol *v)
{
	if (v == NULL)
		return;
	em_zarr_close(v->a);
	em_norm_release(&v->norm);
	free(v->source);
	free(v->id);
	free(v->store);
	free(v->array);
	free(v->level_path);
	free(v->blocks);
	free(v);
}

void
em_patches_free(struct em_patches *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nvols; i++)
		vol_free(p->vols[i]);
	free(p->vols);
	for (i = 0; i < EM_SPLIT_MAX; i++) {
		if (p->sh[i].open)
			em_atomic_abort(&p->sh[i].at);
		em_sha256_free(p->sh[i].h);
	}
	for (i = 0; i < HASH_BUFS; i++)
		free(p->hs.buf[i]);
	free(p->hs.q);
	json_decref(p->params);
	json_decref(p->shards);
	if (p->lockfd >= 0)
		close(p->lockfd);
	free(p->outdir);
	free(p);
}

struct em_patches *
em_patches_new(const struct em_patches_opts *o, const char *outdir)
{
	struct em_patches *p;
	int i;

	for (i = 0; i < 3; i++) {
		if (o->patch[i] == 0)
			return em_fail("the patch size is 0 on an axis"), NULL;
		if (!o->random && o->stride[i] == 0)
			return em_fail("the grid stride is 0 on an axis"), NULL;
		if (o->block[i] != 0 && o->block[i] < o->patch[i])
			return em_fail("the block edge %llu is smaller than the patch (%llu) on "
			    "axis %c: a block must hold a patch", (unsigned long long)o->block[i],
			    (unsigned long long)o->patch[i], "zyx"[i]), NULL;
	}
	if (o->dtype != EM_DT_NONE && o->dtype != EM_DT_F4 && o->dtype != EM_DT_U1)
		return em_fail("--dtype is float32, uint8 or same"), NULL;
	if (o->dtype == EM_DT_U1 && o->norm == EM_NORM_ZSCORE)
		return em_fail("zscore values are not in 0..1: uint8 takes --normalize minmax, "
		    "percentile or none"), NULL;
	if (o->dtype == EM_DT_NONE && o->norm != EM_NORM_NONE)
		return em_fail("--dtype same keeps the stored values: it takes --normalize none"),
		    NULL;
	if (o->seed > INT64_MAX)
		return em_fail("the seed is larger than %lld", (long long)INT64_MAX), NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->outdir = strdup(outdir)) == NULL) {
		free(p);
		return em_fail("out of memory"), NULL;
	}
	p->o = *o;
	for (i = 0; i < 3; i++)
		if (p->o.block[i] == 0)
			p->o.block[i] = 4 * p->o.patch[i];
	for (i = 0; i < EM_SPLIT_MAX; i++)
		p->sh[i].bi = -1;
	p->lockfd = -1;
	return p;
}

int
em_patches_count(const struct em_patches *p)
{
	return p->nvols;
}

/* ---- volumes ---- */

static char *
join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s/%s", a, b);
	return s;
}

/* The group attributes: .zattrs (Zarr v2), or zarr.json's attributes (v3); NULL when neither. */
static json_t *
load_attrs(const char *store)
{
	char *path = join(store, ".zattrs");
	json_t *j = NULL, *attrs = NULL;

	if (path != NULL && em_exists(path) == 1) {
		attrs = em_json_load_file(path, (size_t)1 << 20);
	} else {
		free(path);
		path = join(store, "zarr.json");
		if (path != NULL && em_exists(path) == 1 &&
		    (j = em_json_load_file(path, (size_t)1 << 20)) != NULL) {
			attrs = json_incref(json_object_get(j, "attributes"));
			json_decref(j);
		}
	}
	free(path);
	return attrs;
}

/* The level asked for: its array, voxel size and translation. */
static int
open_level(struct em_patches *p, struct vol *v)
{
	const struct em_patches_opts *o = &p->o;
	json_t *attrs = load_attrs(v->store);
	const json_t *mss, *ms, *dss, *ds;
	struct em_ngff_scale sc;
	const struct em_zarr_meta *m;
	size_t nds, i, best = 0;
	double bestd = INFINITY;
	int rc = -1, k;

	mss = attrs ? em_ngff_multiscales(attrs) : NULL;
	ms = mss ? json_array_get(mss, 0) : NULL;
	dss = ms ? json_object_get(ms, "datasets") : NULL;
	nds = json_array_size(dss);
	if (nds == 0) {
		/* A bare array: one level, its voxel size unknown. */
		if (o->level > 0 || o->level < 0) {
			em_fail("the store has no OME-NGFF multiscales: only level 0, of unknown "
			    "voxel size");
			goto out;
		}
		v->level = 0;
		v->level_path = strdup("");
		v->array = strdup(v->store);
		memset(&sc, 0, sizeof(sc));
	} else {
		if (o->level >= 0) {
			if ((size_t)o->level >= nds) {
				em_fail("level %d is not in the store: its multiscales have %zu "
				    "level%s (0..%zu)", o->level, nds, nds == 1 ? "" : "s", nds - 1);
				goto out;
			}
			best = (size_t)o->level;
		} else {
			/* x: the finest axis of anisotropic EM, the one a voxel size is quoted for. */
			for (i = 0; i < nds; i++) {
				double d;

				em_ngff_scale(ms, json_array_get(dss, i), &sc);
				if (!sc.voxel_known || sc.naxes < 1)
					continue;
				d = fabs(log(sc.voxel_nm[sc.naxes - 1] / o->voxel_size));
				if (d < bestd - 1e-12) {
					bestd = d;
					best = i;
				}
			}
			if (!isfinite(bestd)) {
				em_fail("the store's multiscales give no voxel size in a length unit: "
				    "use --level");
				goto out;
			}
		}
		ds = json_array_get(dss, best);
		if (!json_is_string(json_object_get(ds, "path")) ||
		    !em_relpath_ok(json_string_value(json_object_get(ds, "path")))) {
			em_fail("multiscales dataset %zu has no safe relative path", best);
			goto out;
		}
		em_ngff_scale(ms, ds, &sc);
		v->level = (int)best;
		v->level_path = strdup(json_string_value(json_object_get(ds, "path")));
		v->array = join(v->store, v->level_path);
	}
	if (v->level_path == NULL || v->array == NULL) {
		em_fail("out of memory");
		goto out;
	}
	if ((v->a = em_zarr_open(v->array)) == NULL) {
		em_fail_ctx("level %d ('%s')", v->level, v->array);
		goto out;
	}
	m = em_zarr_meta(v->a);
	if (m->ndim != 2 && m->ndim != 3) {
		em_fail("level %d has %d dimensions: a volume has z, y, x (or y, x)", v->level,
		    m->ndim);
		goto out;
	}
	v->ndim = m->ndim;
	v->dt = m->dtype;
	v->itemsize = em_zarr_itemsize(v->a);
	v->shape[0] = 1;
	memcpy(v->shape + 3 - m->ndim, m->shape, (size_t)m->ndim * sizeof(uint64_t));
	/* The axes of the multiscale are the array's: the last ndim of z, y, x. */
	if (sc.voxel_known && sc.naxes == m->ndim) {
		v->voxel_known = 1;
		v->voxel[0] = 1;
		for (k = 0; k < m->ndim; k++) {
			v->voxel[3 - m->ndim + k] = sc.voxel_nm[k];
			v->origin[3 - m->ndim + k] = sc.offset_known ? sc.offset_nm[k] : 0;
		}
		if (m->ndim == 2)
			v->voxel[0] = 0;	/* a plane has no z extent */
	}
	{
		const unsigned char *f = m->fill;

		switch (m->dtype) {
		case EM_DT_U1: v->fill = f[0]; break;
		case EM_DT_I1: v->fill = (signed char)f[0]; break;
		case EM_DT_U2: { uint16_t x; memcpy(&x, f, 2); v->fill = x; break; }
		case EM_DT_I2: { int16_t x; memcpy(&x, f, 2); v->fill = x; break; }
		case EM_DT_U4: { uint32_t x; memcpy(&x, f, 4); v->fill = x; break; }
		case EM_DT_I4: { int32_t x; memcpy(&x, f, 4); v->fill = x; break; }
		case EM_DT_U8: { uint64_t x; memcpy(&x, f, 8); v->fill = (double)x; break; }
		case EM_DT_I8: { int64_t x; memcpy(&x, f, 8); v->fill = (double)x; break; }
		case EM_DT_F4: { float x; memcpy(&x, f, 4); v->fill = x; break; }
		case EM_DT_F8: { double x; memcpy(&x, f, 8); v->fill = x; break; }
		case EM_DT_F2: { uint16_t x; memcpy(&x, f, 2); v->fill = em_half_to_float(x); break; }
		default: v->fill = 0;
		}
	}
	rc = 0;
out:
	json_decref(attrs);
	return rc;
}

/* Blocks and their splits: a digit per block in C order, as the manifest lists them. */
static int
assign_blocks(struct em_patches *p, struct vol *v)
{
	uint64_t n = 1, b[3], i;
	int k;

	for (k = 0; k < 3; k++) {
		v->bgrid[k] = (v->shape[k] + p->o.block[k] - 1) / p->o.block[k];
		n *= v->bgrid[k];
	}
	if (n > ((uint64_t)1 << 28))
		return em_fail("%llu split blocks: use a larger --block", (unsigned long long)n);
	if ((v->blocks = malloc(n + 1)) == NULL)
		return em_fail("out of memory");
	for (i = 0; i < n; i++) {
		b[0] = i / (v->bgrid[1] * v->bgrid[2]);
		b[1] = i / v->bgrid[2] % v->bgrid[1];
		b[2] = i % v->bgrid[2];
		v->blocks[i] = (char)('0' + em_splits_block(&p->o.splits, p->o.seed, b));
	}
	v->blocks[n] = '\0';
	return 0;
}

/* The split of a patch at pos, or -1 when it would lie in blocks of different splits. */
static int
patch_split(const struct em_patches *p, const struct vol *v, const uint64_t *pos)
{
	uint64_t lo[3], hi[3], z, y, x;
	int s = -1, k;

	for (k = 0; k < 3; k++) {
		lo[k] = pos[k] / p->o.block[k];
		hi[k] = (pos[k] + p->o.patch[k] - 1) / p->o.block[k];
	}
	for (z = lo[0]; z <= hi[0]; z++)
		for (y = lo[1]; y <= hi[1]; y++)
			for (x = lo[2]; x <= hi[2]; x++) {
				int t = v->blocks[(z * v->bgrid[1] + y) * v->bgrid[2] + x] - '0';

				if (s >= 0 && t != s)
					return -1;
				s = t;
			}
	return s;
}

static int
add_vol(struct em_patches *p, struct vol *v)
{
	int k;

	if (p->nvols == p->capvols) {
		int cap = p->capvols ? 2 * p->capvols : 8;
		struct vol **nv = realloc(p->vols, (size_t)cap * sizeof(*nv));

		if (nv == NULL)
			return em_fail("out of memory");
		p->vols = nv;
		p->capvols = cap;
	}
	for (k = 0; k < 3; k++)
		if (p->o.patch[k] > v->shape[k])
			return em_fail("the patch %llu,%llu,%llu is larger than the volume "
			    "(%llu,%llu,%llu at level %d)", (unsigned long long)p->o.patch[0],
			    (unsigned long long)p->o.patch[1], (unsigned long long)p->o.patch[2],
			    (unsigned long long)v->shape[0], (unsigned long long)v->shape[1],
			    (unsigned long long)v->shape[2], v->level);
	if (!em_norm_supported(p->o.norm, v->dt, p->o.dtype == EM_DT_NONE ? v->dt : p->o.dtype))
		return em_fail("normalization %s cannot give %s values",
		    em_norm_method_name(p->o.norm), em_dtype_name(p->o.dtype));
	if (p->o.dtype == EM_DT_NONE && p->nvols > 0 && p->vols[0]->dt != v->dt)
		return em_fail("--dtype same needs one data type: this volume is %s, the first "
		    "%s", em_dtype_name(v->dt), em_dtype_name(p->vols[0]->dt));
	if (assign_blocks(p, v) < 0 ||
	    em_norm_prepare(&v->norm, v->dt, p->o.dtype == EM_DT_NONE ? v->dt : p->o.dtype) < 0)
		return -1;
	p->vols[p->nvols++] = v;
	return 0;
}

/*
 * One volume from its record (rec may be NULL for a store named without
 * one beside it).  -1 with the reason; v is freed either way on failure.
 */
static int
open_vol(struct em_patches *p, const json_t *rec, const char *store, const char *source,
    const char *id)
{
	struct vol *v = calloc(1, sizeof(*v));
	const json_t *stats = rec ? json_object_get(rec, "statistics") : NULL;
	enum em_status st;

	if (v == NULL)
		return em_fail("out of memory");
	v->source = source ? strdup(source) : NULL;
	v->id = strdup(id);
	v->store = strdup(store);
	if (v->id == NULL || v->store == NULL || (source && v->source == NULL)) {
		vol_free(v);
		return em_fail("out of memory");
	}
	if (rec != NULL && em_record_status(rec, &st) == 0 &&
	    (st == EM_STATUS_FAILED || st == EM_STATUS_CANCELLED)) {
		vol_free(v);
		return em_fail("the record is %s: its store is not whole", em_status_name(st));
	}
	if (p->o.norm != EM_NORM_NONE && rec == NULL) {
		vol_free(v);
		return em_fail("--normalize %s needs the record's statistics, and there is no "
		    "record beside the store", em_norm_method_name(p->o.norm));
	}
	if (em_norm_from_stats(&v->norm, p->o.norm, stats, p->o.pct) < 0) {
		em_fail_ctx("cannot normalize from the record");
		vol_free(v);
		return -1;
	}
	if (em_exists(store) != 1) {
		em_fail("the store does not exist");
		vol_free(v);
		return -1;
	}
	if (open_level(p, v) < 0 || add_vol(p, v) < 0) {
		vol_free(v);
		return -1;
	}
	return 0;
}

/* A store named on the command line: its record is <dir>/<id>.json beside it, when there. */
static int
add_store(struct em_patches *p, const char *operand)
{
	char *copy = strdup(operand), *base, *dot, *recpath = NULL;
	json_t *rec = NULL;
	const char *source = NULL;
	char id[EM_ID_MAX + 1];
	size_t k;
	int rc = -1;

	if (copy == NULL)
		return em_fail("out of memory");
	k = strlen(copy);
	while (k > 1 && copy[k - 1] == '/')
		copy[--k] = '\0';
	base = strrchr(copy, '/');
	base = base ? base + 1 : copy;
	snprintf(id, sizeof(id), "%s", base);
	if ((dot = strrchr(id, '.')) != NULL && strcmp(dot, ".zarr") == 0)
		*dot = '\0';
	if (em_id_ok(id)) {
		*base = '\0';
		recpath = malloc(strlen(copy) + strlen(id) + 8);
		if (recpath == NULL) {
			em_fail("out of memory");
			goto out;
		}
		snprintf(recpath, strlen(copy) + strlen(id) + 8, "%s%s.json", copy, id);
		if (em_exists(recpath) == 1) {
			if ((rec = em_record_load(recpath)) == NULL) {
				em_fail_ctx("cannot read the record '%s'", recpath);
				goto out;
			}
			source = json_string_value(json_object_get(rec, "source"));
		}
	}
	rc = open_vol(p, rec, operand, source, id);
out:
	json_decref(rec);
	free(recpath);
	free(copy);
	return rc;
}

static int
add_records(struct em_patches *p, const char *name)
{
	int is_stdin = strcmp(name, "-") == 0;
	const char *label = is_stdin ? "<stdin>" : name;
	struct em_json_reader *r = NULL;
	json_t *rec;
	int fd, rc, status = 0;

	fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		em_err("cannot open '%s': %s", name, strerror(errno));
		return -1;
	}
	if ((r = em_json_reader_new(fd, label, RECORD_MAX)) == NULL) {
		em_err("cannot read '%s': %s", label, em_errmsg());
		status = -1;
		goto out;
	}
	while ((rc = em_json_reader_next(r, &rec)) == 1) {
		const char *id = json_string_value(json_object_get(rec, "id"));
		const char *source = json_string_value(json_object_get(rec, "source"));
		const char *store = json_string_value(json_object_get(rec, "internal_zarr_path"));

		if (!json_is_object(rec) || id == NULL || source == NULL || !em_id_ok(id)) {
			em_err("cannot use '%s:%lu': not a record (an object with an id and a source)",
			    label, em_json_reader_count(r));
			status = -1;
		} else if (store == NULL) {
			em_err("cannot use %s/%s ('%s:%lu'): the record has no internal_zarr_path",
			    source, id, label, em_json_reader_count(r));
			status = -1;
		} else if (open_vol(p, rec, store, source, id) < 0) {
			em_err("cannot use %s/%s (store '%s'): %s", source, id, store, em_errmsg());
			status = -1;
		}
		json_decref(rec);
	}
	if (rc < 0) {
		em_err("cannot read '%s': %s", label, em_errmsg());
		status = -1;
	}
out:
	em_json_reader_free(r);
	if (!is_stdin)
		close(fd);
	return status;
}

int
em_patches_add(struct em_patches *p, const char *operand)
{
	struct stat st;

	if (strcmp(operand, "-") != 0 && stat(operand, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (add_store(p, operand) < 0) {
			em_err("cannot use store '%s': %s", operand, em_errmsg());
			return -1;
		}
		return 0;
	}
	if (strcmp(operand, "-") != 0 && stat(operand, &st) < 0 && errno == ENOENT) {
		em_err("cannot use '%s': no such store or record file", operand);
		return -1;
	}
	return add_records(p, operand);
}

/* ---- the manifest ---- */

static int split_index(const struct em_patches *p, const char *name);

static json_t *
u64_list(const uint64_t *v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)v[i]));
	return a;
}

static json_t *
num_list(const double *v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static enum em_dtype
out_dtype(const struct em_patches *p, const struct vol *v)
{
	return p->o.dtype == EM_DT_NONE ? v->dt : p->o.dtype;
}

/* What a resumed run must find unchanged: the parameters and every volume's plan. */
static json_t *
make_params(const struct em_patches *p)
{
	const struct em_patches_opts *o = &p->o;
	json_t *j, *splits, *vols, *samp;
	int i;

	splits = json_object();
	for (i = 0; i < o->splits.n; i++)
		json_object_set_new(splits, o->splits.name[i], json_real(o->splits.frac[i]));
	samp = o->random ? json_pack("{s:s, s:I}", "mode", "random", "count", (json_int_t)o->count)
	    : json_pack("{s:s, s:o}", "mode", "grid", "stride", u64_list(o->stride, 3));
	j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:f, s:f, s:o, s:o, s:s, s:o, s:s, s:I}",
	    "tool", "em-patches", "version", EM_VERSION,
	    "level", o->level >= 0 ? json_integer(o->level) : json_null(),
	    "voxel_size_nm", o->level >= 0 ? json_null() : json_real(o->voxel_size),
	    "patch", u64_list(o->patch, 3),
	    "sampling", samp,
	    "seed", (json_int_t)o->seed,
	    "max_fill", o->max_fill,
	    "min_std", o->min_std,
	    "splits", splits,
	    "block", u64_list(o->block, 3),
	    "normalize", em_norm_method_name(o->norm),
	    "percentiles", o->norm == EM_NORM_PERCENTILE ? num_list(o->pct, 2) : json_null(),
	    "dtype", o->dtype == EM_DT_NONE ? "same" : em_dtype_name(o->dtype),
	    "shard_size", (json_int_t)o->shard_size);
	vols = json_array();
	for (i = 0; i < p->nvols; i++) {
		const struct vol *v = p->vols[i];

		json_array_append_new(vols, json_pack(
		    "{s:o, s:s, s:s, s:i, s:s, s:o, s:s, s:s, s:o, s:o, s:f, s:o, s:o, s:s}",
		    "source", str_or_null(v->source), "id", v->id, "store", v->store,
		    "level", v->level, "level_path", v->level_path,
		    "shape", u64_list(v->shape, 3), "dtype", em_dtype_name(v->dt),
		    "out_dtype", em_dtype_name(out_dtype(p, v)),
		    "voxel_size_nm", v->voxel_known ? num_list(v->voxel, 3) : json_null(),
		    "origin_nm", v->voxel_known ? num_list(v->origin, 3) : json_null(),
		    "fill_value", v->fill,
		    "normalization", em_norm_json(&v->norm),
		    "block_grid", u64_list(v->bgrid, 3),
		    "blocks", v->blocks));
	}
	return json_pack("{s:o, s:s, s:o}", "parameters", j,
	    "block_rule", "the split of block (bz, by, bx) is the first split with a share whose "
	    "cumulative fraction exceeds u = (h >> 11) / 2^53, h = mix(mix(mix(mix(seed) ^ bz) ^ "
	    "by) ^ bx), mix = SplitMix64; blocks lists them as digits (0 = the first split) in C "
	    "order over block_grid; a patch is drawn only inside blocks of one split",
	    "volumes", vols);
}

static json_t *
counts_json(const struct counts *c)
{
	return json_pack("{s:I, s:I, s:I}", "samples", (json_int_t)c->samples,
	    "skipped_fill", (json_int_t)c->skip_fill, "skipped_std", (json_int_t)c->skip_std);
}

/* The shards in one order whatever the history (a resumed run finishes them in another): split, number. */
static json_t *
sorted_shards(const struct em_patches *p)
{
	json_t *out = json_array(), *e;
	size_t i;
	int s, k, n;

	for (s = 0; s < p->o.splits.n; s++)
		for (k = 0, n = p->sh[s].number; k < n; k++)
			json_array_foreach(p->shards, i, e)
				if (split_index(p, json_string_value(json_object_get(e, "split"))) == s &&
				    json_integer_value(json_object_get(e, "number")) == k)
					json_array_append(out, e);
	return out;
}

static int
write_manifest(struct em_patches *p, int complete)
{
	json_t *m = json_deep_copy(p->params), *counts = json_object();
	char *path = join(p->outdir, "manifest.json"), *text = NULL;
	size_t len;
	int i, rc = -1;

	for (i = 0; i < p->o.splits.n; i++) {
		json_t *c = counts_json(&p->cnt[i]);

		json_object_set_new(c, "shards", json_integer(p->sh[i].number));
		json_object_set_new(counts, p->o.splits.name[i], c);
	}
	json_object_set_new(counts, "straddling", json_integer((json_int_t)p->straddling));
	json_object_set_new(m, "complete", json_boolean(complete));
	json_object_set_new(m, "counts", counts);
	json_object_set_new(m, "shards", sorted_shards(p));
	if (path == NULL || (text = em_json_text(m, EM_JSON_INDENT(2), &len)) == NULL) {
		em_fail("out of memory");
		goto out;
	}
	/* em_json_text ends without a newline; files people read end with one. */
	text[len] = '\0';
	{
		char *t2 = realloc(text, len + 2);

		if (t2 == NULL) {
			em_fail("out of memory");
			goto out;
		}
		text = t2;
		text[len++] = '\n';
		text[len] = '\0';
	}
	if (em_write_atomic(path, text, len, EM_ATOMIC_SYNC) < 0) {
		em_fail_ctx("cannot write '%s'", path);
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(path);
	json_decref(m);
	return rc;
}

/* sha256 of a file, and its size. */
static int
file_sha256(const char *path, char hex[65], uint64_t *size)
{
	struct em_sha256 *h = em_sha256_new();
	unsigned char *buf = malloc(SHARD_BUF);
	int fd = -1, rc = -1;
	ssize_t n;

	*size = 0;
	if (h == NULL || buf == NULL) {
		em_fail("out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		em_fail_errno("cannot open '%s'", path);
		goto out;
	}
	while ((n = read(fd, buf, SHARD_BUF)) > 0) {
		em_sha256_update(h, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	if (n < 0) {
		em_fail_errno("cannot read '%s'", path);
		goto out;
	}
	rc = em_sha256_final(h, hex);
out:
	if (fd >= 0)
		close(fd);
	em_sha256_free(h);
	free(buf);
	return rc;
}

static int
split_index(const struct em_patches *p, const char *name)
{
	int i;

	for (i = 0; i < p->o.splits.n; i++)
		if (name && strcmp(p->o.splits.name[i], name) == 0)
			return i;
	return -1;
}

/*
 * A manifest a killed (or finished) run left: with the same parameters,
 * each split's shards are kept as far as their files are whole (size and
 * sha256 as listed), and the run goes on after the last of them.  Other
 * parameters: refused, nothing touched.
 */
static int
resume(struct em_patches *p)
{
	char *path = join(p->outdir, "manifest.json");
	json_t *old = NULL, *sh;
	int broken[EM_SPLIT_MAX] = { 0 }, rc = -1, e;
	size_t i;

	p->shards = json_array();
	if (path == NULL || p->shards == NULL) {
		em_fail("out of memory");
		goto out;
	}
	if ((e = em_exists(path)) != 1) {
		rc = e < 0 ? -1 : 0;
		goto out;
	}
	if ((old = em_json_load_file(path, (size_t)1 << 30)) == NULL) {
		em_fail_ctx("cannot read the manifest '%s'", path);
		goto out;
	}
	if (!json_equal(json_object_get(old, "parameters"), json_object_get(p->params,
	    "parameters")) || !json_equal(json_object_get(old, "volumes"),
	    json_object_get(p->params, "volumes"))) {
		em_fail("'%s' is the manifest of a run with other parameters or volumes: write "
		    "into another directory, or remove that one", path);
		goto out;
	}
	json_array_foreach(json_object_get(old, "shards"), i, sh) {
		const char *name = json_string_value(json_object_get(sh, "name"));
		const char *sha = json_string_value(json_object_get(sh, "sha256"));
		const json_t *r = json_object_get(sh, "resume");
		int s = split_index(p, json_string_value(json_object_get(sh, "split")));
		char hex[65], *fp;
		uint64_t size;

		if (s < 0 || name == NULL || sha == NULL || !em_name_ok(name) || broken[s])
			continue;
		if ((fp = join(p->outdir, name)) == NULL) {
			em_fail("out of memory");
			goto out;
		}
		if (file_sha256(fp, hex, &size) < 0 || strcmp(hex, sha) != 0 ||
		    (json_int_t)size != json_integer_value(json_object_get(sh, "bytes")) ||
		    json_integer_value(json_object_get(sh, "number")) != p->sh[s].number) {
			/* This shard and the split's later ones are written again. */
			em_log(EM_LOG_INFO, "shard '%s' is not whole: it is written again", fp);
			broken[s] = 1;
			free(fp);
			continue;
		}
		free(fp);
		p->sh[s].number++;
		p->resume[s] = (uint64_t)json_integer_value(json_object_get(r, "cursor"));
		p->cnt[s].samples = (uint64_t)json_integer_value(json_object_get(r, "samples"));
		p->cnt[s].skip_fill = (uint64_t)json_integer_value(json_object_get(r,
		    "skipped_fill"));
		p->cnt[s].skip_std = (uint64_t)json_integer_value(json_object_get(r, "skipped_std"));
		json_array_append(p->shards, sh);
	}
	rc = 0;
out:
	json_decref(old);
	free(path);
	return rc;
}

/* Temporary files a killed run left: the names em_write_atomic and em_atomic_open give. */
static void
remove_leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *t = strstr(e->d_name, ".tmp.");
		size_t k = t ? (size_t)(t - e->d_name) : 0;

		if (t == NULL)
			continue;
		if ((k > 4 && memcmp(e->d_name + k - 4, ".tar", 4) == 0) ||
		    (k == 13 && memcmp(e->d_name, "manifest.json", 13) == 0)) {
			char *f = join(dir, e->d_name);

			if (f != NULL && unlink(f) == 0)
				em_log(EM_LOG_INFO, "removed '%s', left by a run that did not finish", f);
			free(f);
		}
	}
	closedir(d);
}

/* ---- the shards' hasher ---- */

static void *
hasher_main(void *arg)
{
	struct hasher *hs = arg;
	struct hjob j;
	int rc;

	pthread_mutex_lock(&hs->mu);
	for (;;) {
		while (!hs->stop && hs->qn == 0)
			pthread_cond_wait(&hs->cv, &hs->mu);
		if (hs->qn == 0)
			break;
		j = hs->q[hs->qh];
		hs->qh = (hs->qh + 1) % hs->qcap;
		hs->qn--;
		hs->busy = 1;
		pthread_mutex_unlock(&hs->mu);
		rc = em_sha256_update(j.h, j.data, j.len);
		pthread_mutex_lock(&hs->mu);
		if (rc < 0)
			hs->failed = 1;
		hs->busy = 0;
		if (j.b >= 0)
			hs->freeb[hs->nfree++] = j.b;
		else
			j.sl->hashing = 0;
		pthread_cond_broadcast(&hs->cv);
	}
	pthread_mutex_unlock(&hs->mu);
	return NULL;
}

/* nslots: the slots whose data can be queued besides the buffers. */
static int
hasher_start(struct hasher *hs, uint64_t nslots)
{
	int i;

	hs->qcap = HASH_BUFS + (int)nslots;
	if ((hs->q = calloc((size_t)hs->qcap, sizeof(*hs->q))) == NULL)
		return em_fail("out of memory");
	for (i = 0; i < HASH_BUFS; i++) {
		if ((hs->buf[i] = malloc(SHARD_BUF)) == NULL)
			return em_fail("out of memory");
		hs->freeb[i] = i;
	}
	hs->nfree = HASH_BUFS;
	pthread_mutex_init(&hs->mu, NULL);
	pthread_cond_init(&hs->cv, NULL);
	if (pthread_create(&hs->th, NULL, hasher_main, hs) != 0) {
		pthread_mutex_destroy(&hs->mu);
		pthread_cond_destroy(&hs->cv);
		return em_fail("cannot start the hashing thread");
	}
	hs->running = 1;
	return 0;
}

/* Hashes what is queued, then ends the thread; the buffers stay until em_patches_free. */
static void
hasher_stop(struct hasher *hs)
{
	if (!hs->running)
		return;
	pthread_mutex_lock(&hs->mu);
	hs->stop = 1;
	pthread_cond_broadcast(&hs->cv);
	pthread_mutex_unlock(&hs->mu);
	pthread_join(hs->th, NULL);
	pthread_mutex_destroy(&hs->mu);
	pthread_cond_destroy(&hs->cv);
	hs->running = 0;
	free(hs->q);
	hs->q = NULL;
}

/* A free buffer, waiting for the hasher to give one back. */
static int
hasher_get(struct hasher *hs)
{
	int b;

	pthread_mutex_lock(&hs->mu);
	while (hs->nfree == 0)
		pthread_cond_wait(&hs->cv, &hs->mu);
	b = hs->freeb[--hs->nfree];
	pthread_mutex_unlock(&hs->mu);
	return b;
}

/* Buffer b's first len bytes (or, b = -1, sl's data) go into h after what was queued before. */
static void
hasher_put(struct hasher *hs, int b, const unsigned char *data, size_t len, struct em_sha256 *h,
    struct slot *sl)
{
	pthread_mutex_lock(&hs->mu);
	hs->q[(hs->qh + hs->qn) % hs->qcap] = (struct hjob){ b, data, len, h, sl };
	hs->qn++;
	if (sl != NULL)
		sl->hashing = 1;
	pthread_cond_broadcast(&hs->cv);
	pthread_mutex_unlock(&hs->mu);
}

/* The slot's data is hashed (or was never queued): it can take another patch. */
static void
hasher_release(struct hasher *hs, struct slot *sl)
{
	pthread_mutex_lock(&hs->mu);
	while (sl->hashing)
		pthread_cond_wait(&hs->cv, &hs->mu);
	pthread_mutex_unlock(&hs->mu);
}

/* Everything queued is hashed.  -1 (error set) when an update failed. */
static int
hasher_drain(struct hasher *hs)
{
	int failed;

	pthread_mutex_lock(&hs->mu);
	while (hs->qn > 0 || hs->busy)
		pthread_cond_wait(&hs->cv, &hs->mu);
	failed = hs->failed;
	hs->failed = 0;
	pthread_mutex_unlock(&hs->mu);
	return failed ? em_fail("SHA-256 update failed") : 0;
}

/* ---- shards ---- */

/* The filled buffer: written, then queued for the shard's digest. */
static int
shard_flush(struct em_patches *p, struct shard *s)
{
	if (s->blen == 0)
		return 0;
	if (em_write_all(s->at.fd, s->buf, s->blen) < 0)
		return -1;
	hasher_put(&p->hs, s->bi, s->buf, s->blen, s->h, NULL);
	em_progress_add_bytes(&p->progress, s->blen);
	s->bi = -1;
	s->buf = NULL;
	s->blen = 0;
	return 0;
}

static int
shard_put(struct em_patches *p, struct shard *s, const void *data, size_t n)
{
	const unsigned char *d = data;

	while (n > 0) {
		size_t k = SHARD_BUF - s->blen;

		if (s->buf == NULL) {
			s->bi = hasher_get(&p->hs);
			s->buf = p->hs.buf[s->bi];
		}
		if (k > n)
			k = n;
		memcpy(s->buf + s->blen, d, k);
		s->blen += k;
		s->bytes += k;
		d += k;
		n -= k;
		if (s->blen == SHARD_BUF && shard_flush(p, s) < 0)
			return -1;
	}
	return 0;
}

/* A sample's data: written and queued for the digest where it is, after what is buffered. */
static int
shard_put_direct(struct em_patches *p, struct shard *s, struct slot *sl, size_t n)
{
	if (shard_flush(p, s) < 0 || em_write_all(s->at.fd, sl->conv, n) < 0)
		return -1;
	hasher_put(&p->hs, -1, sl->conv, n, s->h, sl);
	em_progress_add_bytes(&p->progress, n);
	s->bytes += n;
	return 0;
}

static const unsigned char zeros[EM_TAR_END];

static char *
shard_path(const struct em_patches *p, int split, int number)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-%06d.tar", p->o.splits.name[split], number);
	return join(p->outdir, name);
}

static int
shard_open(struct em_patches *p, int split)
{
	struct shard *s = &p->sh[split];
	char *path = shard_path(p, split, s->number);
	int rc;

	if (path == NULL)
		return em_fail("out of memory");
	em_sha256_free(s->h);
	if ((s->h = em_sha256_new()) == NULL) {
		free(path);
		return em_fail("out of memory");
	}
	rc = em_atomic_open(&s->at, path);
	free(path);
	if (rc < 0)
		return -1;
	s->open = 1;
	s->blen = 0;
	s->bytes = 0;
	s->samples = 0;
	return 0;
}

static int
shard_close(struct em_patches *p, int split)
{
	struct shard *s = &p->sh[split];
	char name[64], hex[65];
	json_t *e;

	snprintf(name, sizeof(name), "%s-%06d.tar", p->o.splits.name[split], s->number);
	if (shard_put(p, s, zeros, EM_TAR_END) < 0 || shard_flush(p, s) < 0 ||
	    hasher_drain(&p->hs) < 0 || em_sha256_final(s->h, hex) < 0) {
		em_fail_ctx("cannot write shard '%s'", s->at.path);
		em_atomic_abort(&s->at);
		s->open = 0;
		return -1;
	}
	s->open = 0;
	/*
	 * Not synced: the manifest is (it is small), and a resumed run checks
	 * every listed shard's size and sha256, so a shard a crash lost is
	 * written again rather than trusted.
	 */
	if (em_atomic_commit(&s->at, 0) < 0)
		return em_fail_ctx("cannot write shard '%s/%s'", p->outdir, name);
	e = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:{s:I, s:I, s:I, s:I}}",
	    "name", name, "split", p->o.splits.name[split], "number", s->number,
	    "samples", (json_int_t)s->samples, "bytes", (json_int_t)s->bytes, "sha256", hex,
	    "resume", "cursor", (json_int_t)s->cursor,
	    "samples", (json_int_t)s->through.samples,
	    "skipped_fill", (json_int_t)s->through.skip_fill,
	    "skipped_std", (json_int_t)s->through.skip_std);
	if (e == NULL || json_array_append_new(p->shards, e) < 0)
		return em_fail("out of memory");
	s->number++;
	return write_manifest(p, 0);
}

/* The sample's .json: where it came from, how it was scaled, the digest of its values. */
static char *
sample_json(const struct em_patches *p, const struct slot *sl, const char *key, size_t *len)
{
	const struct vol *v = sl->v;
	double off[3];
	uint64_t shape[3];
	int k, nd = p->o.patch[0] == 1 ? 2 : 3;
	json_t *j;
	char *t;

	for (k = 0; k < 3; k++)
		off[k] = v->origin[k] + (double)sl->pos[k] * v->voxel[k];
	memcpy(shape, p->o.patch, sizeof(shape));
	j = json_pack("{s:s, s:o, s:s, s:s, s:i, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:s}",
	    "key", key, "source", str_or_null(v->source), "id", v->id,
	    "split", p->o.splits.name[sl->split], "level", v->level, "store", v->store,
	    "offset_voxels", u64_list(sl->pos, 3),
	    "offset_nm", v->voxel_known ? num_list(off, 3) : json_null(),
	    "voxel_size_nm", v->voxel_known ? num_list(v->voxel, 3) : json_null(),
	    "shape", u64_list(shape + 3 - nd, nd),
	    "dtype", em_dtype_name(out_dtype(p, v)),
	    "normalization", em_norm_json(&v->norm),
	    "sha256", sl->sha);
	if (j == NULL)
		return em_fail("out of memory"), NULL;
	t = em_json_text(j, EM_JSON_LINE, len);
	json_decref(j);
	return t;
}

static uint64_t
npy_data_bytes(const struct em_patches *p, const struct vol *v)
{
	return p->o.patch[0] * p->o.patch[1] * p->o.patch[2] *
	    em_dtype_size(out_dtype(p, v));
}

static int
npy_head(const struct em_patches *p, const struct vol *v, char *buf, size_t n)
{
	int nd = p->o.patch[0] == 1 ? 2 : 3;

	return em_npy_header(buf, n, out_dtype(p, v), nd, p->o.patch + 3 - nd);
}

/* Append one sample (KEY.json, KEY.npy: sorted) to its split's shard, starting a new one when full. */
static int
put_sample(struct em_patches *p, struct slot *sl)
{
	struct shard *s = &p->sh[sl->split];
	unsigned char hdr[EM_TAR_BLOCK];
	char key[64], name[80], npyh[EM_NPY_HEADER_MAX], *js = NULL;
	size_t jlen = 0;
	uint64_t dbytes = npy_data_bytes(p, sl->v), need;
	int hlen, rc = -1;

	snprintf(key, sizeof(key), "%s-%09llu", p->o.splits.name[sl->split],
	    (unsigned long long)p->cnt[sl->split].samples);
	if ((js = sample_json(p, sl, key, &jlen)) == NULL ||
	    (hlen = npy_head(p, sl->v, npyh, sizeof(npyh))) < 0)
		goto out;
	need = em_tar_member_bytes(jlen) + em_tar_member_bytes((uint64_t)hlen + dbytes);
	if (s->open && s->samples > 0 && s->bytes + need + EM_TAR_END > p->o.shard_size &&
	    shard_close(p, sl->split) < 0)
		goto out;
	if (!s->open && shard_open(p, sl->split) < 0)
		goto out;
	snprintf(name, sizeof(name), "%s.json", key);
	if (em_tar_header(hdr, name, jlen, TAR_MTIME) < 0 ||
	    shard_put(p, s, hdr, sizeof(hdr)) < 0 || shard_put(p, s, js, jlen) < 0 ||
	    shard_put(p, s, zeros, em_tar_pad(jlen)) < 0)
		goto werr;
	snprintf(name, sizeof(name), "%s.npy", key);
	if (em_tar_header(hdr, name, (uint64_t)hlen + dbytes, TAR_MTIME) < 0 ||
	    shard_put(p, s, hdr, sizeof(hdr)) < 0 || shard_put(p, s, npyh, (size_t)hlen) < 0 ||
	    (dbytes >= DIRECT_MIN ? shard_put_direct(p, s, sl, (size_t)dbytes) :
	    shard_put(p, s, sl->conv, (size_t)dbytes)) < 0 ||
	    shard_put(p, s, zeros, em_tar_pad((uint64_t)hlen + dbytes)) < 0)
		goto werr;
	s->samples++;
	p->cnt[sl->split].samples++;
	s->cursor = sl->g + 1;
	s->through = p->cnt[sl->split];
	rc = 0;
	goto out;
werr:
	em_fail_ctx("cannot write shard '%s'", s->at.path);
out:
	free(js);
	return rc;
}

/* ---- the readers ---- */

/*
 * Each reader keeps the chunks it decoded last: neighbouring patches (a
 * grid, overlapping strides) share chunks, and decoding a chunk costs far
 * more than copying a patch out of it.  A reader's cache holds at most
 * CACHE_BYTES (at least the chunks one patch touches), least recently used
 * out first.  Until a chunk is found there a second time (patches side by
 * side on chunk borders, or drawn far apart, never share one), a reader
 * fills only as many entries as one patch can touch: the rest of the
 * cache's memory is not touched for nothing, and the kernel need not hand
 * out and clear pages for it.
 */
#define CACHE_BYTES ((uint64_t)32 << 20)
#define CACHE_MAX 512

struct centry {
	const struct em_zarr *a;	/* NULL: empty */
	uint64_t c[EM_ZARR_MAXDIM];
	uint64_t used;
	unsigned char *data;
	size_t cap;
};

struct reader {
	struct em_patches *p;
	pthread_t th;
	struct centry *ent;
	int nent;
	int ntouch;			/* the entries in use until the first hit */
	uint64_t clock;
	uint64_t hits;			/* chunks found in the cache */
	unsigned char *raw;		/* the patch as stored, before it is converted */
	unsigned char *cmem;		/* every entry's data, in one block (huge pages) */
};

/* The decoded chunk c of v's array: from the cache, or read into the least recently used entry. */
static const unsigned char *
cached_chunk(struct reader *r, const struct vol *v, const uint64_t *c)
{
	const struct em_zarr_meta *m = em_zarr_meta(v->a);
	size_t nb = em_zarr_chunk_bytes(m);
	struct centry *e, *lru = &r->ent[0];
	int i;

	for (i = 0; i < r->nent; i++) {
		e = &r->ent[i];
		if (e->a == v->a && memcmp(e->c, c, (size_t)m->ndim * sizeof(*c)) == 0) {
			e->used = ++r->clock;
			r->hits++;
			return e->data;
		}
		if (e->used < lru->used && (r->hits > 0 || i < r->ntouch))
			lru = e;
	}
	e = lru;
	e->a = NULL;
	/* Every entry holds the largest chunk of the run's volumes (start_readers). */
	if (e->cap < nb)
		return em_fail("a chunk of %zu bytes is larger than the cache's %zu", nb, e->cap),
		    NULL;
	if (em_zarr_read_chunk(v->a, c, e->data) < 0)
		return NULL;
	e->a = v->a;
	memcpy(e->c, c, (size_t)m->ndim * sizeof(*c));
	e->used = ++r->clock;
	return e->data;
}

/* The patch's box, chunk by chunk (em_zarr_read_box's walk, through the cache). */
static int
read_patch(struct reader *r, const struct vol *v, const uint64_t *start, const uint64_t *count,
    void *out)
{
	const struct em_zarr_meta *m = em_zarr_meta(v->a);
	uint64_t c0[EM_ZARR_MAXDIM], c1[EM_ZARR_MAXDIM], ci[EM_ZARR_MAXDIM];
	int n = m->ndim, i;

	for (i = 0; i < n; i++) {
		c0[i] = start[i] / m->chunks[i];
		c1[i] = (start[i] + count[i] - 1) / m->chunks[i];
		ci[i] = c0[i];
	}
	for (;;) {
		uint64_t so[EM_ZARR_MAXDIM], dof[EM_ZARR_MAXDIM], cnt[EM_ZARR_MAXDIM];
		const unsigned char *chunk;

		for (i = 0; i < n; i++) {
			uint64_t lo = ci[i] * m->chunks[i], hi = lo + m->chunks[i];
			uint64_t b0 = start[i] > lo ? start[i] : lo;
			uint64_t b1 = start[i] + count[i] < hi ? start[i] + count[i] : hi;

			so[i] = b0 - lo;
			dof[i] = b0 - start[i];
			cnt[i] = b1 - b0;
		}
		if ((chunk = cached_chunk(r, v, ci)) == NULL)
			return -1;
		em_zarr_copy_box(n, v->itemsize, out, count, dof, chunk, m->chunks, so, cnt);
		for (i = n - 1; i >= 0; i--) {
			if (++ci[i] <= c1[i])
				break;
			ci[i] = c0[i];
		}
		if (i < 0)
			return 0;
	}
}

static void
process(struct reader *r, struct slot *sl)
{
	struct em_patches *p = r->p;
	const struct vol *v = sl->v;
	uint64_t start[3], count[3], n = p->o.patch[0] * p->o.patch[1] * p->o.patch[2];
	int k, off = 3 - v->ndim;

	for (k = 0; k < v->ndim; k++) {
		start[k] = sl->pos[off + k];
		count[k] = p->o.patch[off + k];
	}
	if (read_patch(r, v, start, count, r->raw) < 0) {
		snprintf(sl->err, sizeof(sl->err), "cannot read '%s' at %llu,%llu,%llu: %s",
		    v->array, (unsigned long long)sl->pos[0], (unsigned long long)sl->pos[1],
		    (unsigned long long)sl->pos[2], em_errmsg());
		sl->out = FAILED;
		return;
	}
	switch (em_patch_judge(v->dt, r->raw, (size_t)n, v->fill, p->o.max_fill, p->o.min_std)) {
	case EM_PATCH_FILL:
		sl->out = SKIP_FILL;
		return;
	case EM_PATCH_FLAT:
		sl->out = SKIP_STD;
		return;
	default:
		break;
	}
	if (em_norm_apply(&v->norm, v->dt, r->raw, (size_t)n, out_dtype(p, v), sl->conv) < 0) {
		snprintf(sl->err, sizeof(sl->err), "cannot convert a patch of '%s': %s", v->array,
		    em_errmsg());
		sl->out = FAILED;
		return;
	}
	sl->out = KEEP;
}

/*
 * The digests of the kept samples among n slots from first on: those of
 * one length (every sample of a run has one) go through the AVX-512 lanes
 * together, up to 16 at a time, where em_sha256mb_lanes found those faster.
 */
static void
digest_batch(struct em_patches *p, uint64_t first, int n)
{
	const void *msg[16];
	char hex[16][65];
	struct slot *sl[16];
	size_t len = 0;
	int i, k = 0, j;

	for (i = 0; i <= n; i++) {
		struct slot *x = i < n ? &p->ring[(first + (uint64_t)i) % p->nslots] : NULL;
		size_t xl = x != NULL ? (size_t)npy_data_bytes(p, x->v) : 0;

		if (x != NULL && x->out != KEEP)
			continue;
		if (k > 0 && (x == NULL || xl != len || k == 16)) {
			if (em_sha256mb_hex(msg, k, len, hex) < 0) {
				for (j = 0; j < k; j++) {
					snprintf(sl[j]->err, sizeof(sl[j]->err), "cannot hash a patch of "
					    "'%s': %s", sl[j]->v->array, em_errmsg());
					sl[j]->out = FAILED;
				}
			} else {
				for (j = 0; j < k; j++)
					memcpy(sl[j]->sha, hex[j], sizeof(sl[j]->sha));
			}
			k = 0;
		}
		if (x == NULL)
			break;
		len = xl;
		sl[k] = x;
		msg[k++] = x->conv;
	}
}

/* Takes a batch of patches in order, reads and converts each, then hashes them together. */
static void *
worker(void *arg)
{
	struct reader *r = arg;
	struct em_patches *p = r->p;
	uint64_t first, pending;
	int n, i;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && (pending = p->tail - p->next_work) < (uint64_t)p->batch &&
		    !(pending > 0 && p->hurry))
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		pending = p->tail - p->next_work;
		n = pending < (uint64_t)p->batch ? (int)pending : p->batch;
		first = p->next_work;
		p->next_work += (uint64_t)n;
		p->hurry = 0;
		pthread_mutex_unlock(&p->mu);
		for (i = 0; i < n; i++)
			process(r, &p->ring[(first + (uint64_t)i) % p->nslots]);
		digest_batch(p, first, n);
		pthread_mutex_lock(&p->mu);
		for (i = 0; i < n; i++)
			p->ring[(first + (uint64_t)i) % p->nslots].done = 1;
		pthread_cond_broadcast(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Take the oldest patch in flight when it is done: counted, or written to its shard. */
static int
consume(struct em_patches *p)
{
	struct slot *sl = &p->ring[p->head % p->nslots];
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	while (!sl->done) {
		/* Not taken yet: a reader takes it with what else waits, however few. */
		if (p->next_work <= p->head && !p->hurry) {
			p->hurry = 1;
			pthread_cond_broadcast(&p->work_cv);
		}
		pthread_cond_wait(&p->done_cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	switch (sl->out) {
	case KEEP:
		rc = put_sample(p, sl);
		break;
	case SKIP_FILL:
		p->cnt[sl->split].skip_fill++;
		break;
	case SKIP_STD:
		p->cnt[sl->split].skip_std++;
		break;
	default:
		rc = em_fail("%s", sl->err);
	}
	em_progress_add_items(&p->progress, 1);
	p->head++;
	return rc;
}

static int
push(struct em_patches *p, struct vol *v, const uint64_t *pos, int split, uint64_t g)
{
	struct slot *sl;

	if (p->tail - p->head == p->nslots && consume(p) < 0)
		return -1;
	sl = &p->ring[p->tail % p->nslots];
	hasher_release(&p->hs, sl);
	sl->v = v;
	memcpy(sl->pos, pos, sizeof(sl->pos));
	sl->split = split;
	sl->g = g;
	sl->done = 0;
	sl->out = PENDING;
	pthread_mutex_lock(&p->mu);
	p->tail++;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* ---- sampling ---- */

/* The candidates of one volume in order; each drawn one goes to the readers unless resumed past. */
static int
sample_volume(struct em_patches *p, int vi, uint64_t *g)
{
	struct vol *v = p->vols[vi];
	const struct em_patches_opts *o = &p->o;
	uint64_t pos[3], n[3], total, i, room[3];
	struct em_rng rng;
	int k, s, t;

	for (k = 0; k < 3; k++) {
		room[k] = v->shape[k] - o->patch[k] + 1;
		n[k] = o->random ? 0 : (v->shape[k] - o->patch[k]) / o->stride[k] + 1;
	}
	total = o->random ? o->count : n[0] * n[1] * n[2];
	em_rng_seed(&rng, o->seed, (uint64_t)vi);
	for (i = 0; i < total; i++) {
		if (em_interrupted())
			return em_fail("interrupted");
		s = -1;
		if (o->random) {
			for (t = 0; t < RANDOM_TRIES && s < 0; t++) {
				for (k = 0; k < 3; k++)
					pos[k] = em_rng_below(&rng, room[k]);
				s = patch_split(p, v, pos);
			}
		} else {
			pos[0] = i / (n[1] * n[2]) * o->stride[0];
			pos[1] = i / n[2] % n[1] * o->stride[1];
			pos[2] = i % n[2] * o->stride[2];
			s = patch_split(p, v, pos);
		}
		if (s < 0) {
			p->straddling++;
			em_progress_add_items(&p->progress, 1);
			continue;
		}
		if (*g < p->resume[s]) {
			/* Its outcome is in a shard already written and verified. */
			(*g)++;
			em_progress_add_items(&p->progress, 1);
			continue;
		}
		if (push(p, v, pos, s, (*g)++) < 0)
			return -1;
	}
	return 0;
}

static int
start_readers(struct em_patches *p)
{
	uint64_t raw = 0, conv = 0, n = p->o.patch[0] * p->o.patch[1] * p->o.patch[2];
	uint64_t i, cbytes = 1, touch = 1;
	int k, e, nent;

	for (k = 0; k < p->nvols; k++) {
		const struct em_zarr_meta *m = em_zarr_meta(p->vols[k]->a);
		uint64_t t = 1;
		int d;

		if (n * p->vols[k]->itemsize > raw)
			raw = n * p->vols[k]->itemsize;
		if (npy_data_bytes(p, p->vols[k]) > conv)
			conv = npy_data_bytes(p, p->vols[k]);
		if (em_zarr_chunk_bytes(m) > cbytes)
			cbytes = em_zarr_chunk_bytes(m);
		/* The most chunks a patch can touch: a patch edge spans at most this many per axis. */
		for (d = 0; d < m->ndim; d++)
			t *= (p->o.patch[3 - m->ndim + d] + m->chunks[d] - 2) / m->chunks[d] + 1;
		if (t > touch)
			touch = t;
	}
	nent = (int)(CACHE_BYTES / cbytes);
	if ((uint64_t)nent < touch)
		nent = (int)(touch < CACHE_MAX ? touch : CACHE_MAX);
	if (nent > CACHE_MAX)
		nent = CACHE_MAX;
	if (nent < 1)
		nent = 1;
	/*
	 * A reader takes a batch of patches (as many as the digest lanes, while
	 * the ring stays within RING_BYTES); one batch per reader and one more
	 * keeps every reader busy while the oldest is written, and two patches
	 * a reader at least.
	 */
	p->batch = em_sha256mb_lanes();
	while (p->batch > 1 && (uint64_t)(p->o.jobs + 1) * (uint64_t)p->batch * conv > RING_BYTES)
		p->batch /= 2;
	p->nslots = (uint64_t)(p->o.jobs + 1) * (uint64_t)p->batch;
	if (p->nslots < 2 * (uint64_t)p->o.jobs)
		p->nslots = 2 * (uint64_t)p->o.jobs;
	conv = (conv + 63) & ~(uint64_t)63;
	if ((p->ring = calloc(p->nslots, sizeof(*p->ring))) == NULL)
		return em_fail("out of memory");
	if ((p->ring_mem = em_big_alloc((size_t)(p->nslots * conv))) == NULL)
		return em_fail("out of memory for %llu patches in flight",
		    (unsigned long long)p->nslots);
	for (i = 0; i < p->nslots; i++)
		p->ring[i].conv = p->ring_mem + i * conv;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->sync_init = 1;
	if ((p->rd = calloc((size_t)p->o.jobs, sizeof(*p->rd))) == NULL)
		return em_fail("out of memory");
	cbytes = (cbytes + 63) & ~(uint64_t)63;
	for (k = 0; k < p->o.jobs; k++) {
		p->rd[k].p = p;
		p->rd[k].nent = nent;
		p->rd[k].ntouch = touch < (uint64_t)nent ? (int)touch : nent;
		if ((p->rd[k].ent = calloc((size_t)nent, sizeof(struct centry))) == NULL ||
		    (p->rd[k].raw = malloc(raw)) == NULL)
			return em_fail("out of memory");
		/*
		 * One block for the entries: where patches do not share chunks
		 * every chunk read lands in memory touched for the first time,
		 * one fault per 2 MiB there instead of one per 4 KiB.
		 */
		if ((p->rd[k].cmem = em_big_alloc((size_t)((uint64_t)nent * cbytes))) == NULL)
			return em_fail("out of memory for the chunk caches");
		for (e = 0; e < nent; e++) {
			p->rd[k].ent[e].data = p->rd[k].cmem + (uint64_t)e * cbytes;
			p->rd[k].ent[e].cap = (size_t)cbytes;
		}
	}
	if (hasher_start(&p->hs, p->nslots) < 0)
		return -1;
	for (k = 0; k < p->o.jobs; k++) {
		if (pthread_create(&p->rd[k].th, NULL, worker, &p->rd[k]) != 0)
			return em_fail("cannot start a reader thread");
		p->nth++;
	}
	return 0;
}

static void
stop_readers(struct em_patches *p)
{
	int k;

	if (p->sync_init) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_broadcast(&p->work_cv);
		pthread_mutex_unlock(&p->mu);
		for (k = 0; k < p->nth; k++)
			pthread_join(p->rd[k].th, NULL);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->work_cv);
		pthread_cond_destroy(&p->done_cv);
		p->sync_init = 0;
	}
	hasher_stop(&p->hs);
	if (p->rd != NULL) {
		for (k = 0; k < p->o.jobs; k++) {
			free(p->rd[k].cmem);
			free(p->rd[k].ent);
			free(p->rd[k].raw);
		}
		free(p->rd);
		p->rd = NULL;
	}
	free(p->ring_mem);
	p->ring_mem = NULL;
	free(p->ring);
	p->ring = NULL;
}

/* The output directory: made, and held by one run at a time. */
static int
lock_outdir(struct em_patches *p)
{
	if (em_mkdir_p(p->outdir) < 0)
		return -1;		/* the message names the directory it could not make */
	if ((p->lockfd = open(p->outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return em_fail_errno("cannot open '%s'", p->outdir);
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) < 0)
		return em_fail(errno == EWOULDBLOCK ? "another em-patches is writing into '%s'" :
		    "cannot lock '%s'", p->outdir);
	return 0;
}

/* The largest sample: it must fit one shard. */
static int
check_shard_size(const struct em_patches *p)
{
	char npyh[EM_NPY_HEADER_MAX];
	uint64_t need;
	int k, hlen;

	for (k = 0; k < p->nvols; k++) {
		if ((hlen = npy_head(p, p->vols[k], npyh, sizeof(npyh))) < 0)
			return -1;
		need = em_tar_member_bytes(SAMPLE_JSON_MAX) +
		    em_tar_member_bytes((uint64_t)hlen + npy_data_bytes(p, p->vols[k])) + EM_TAR_END;
		if (need > p->o.shard_size) {
			char a[32], b[32];

			return em_fail("a sample takes up to %s, more than --shard-size %s",
			    em_format_size(need, a, sizeof(a)),
			    em_format_size(p->o.shard_size, b, sizeof(b)));
		}
	}
	return 0;
}

int
em_patches_run(struct em_patches *p)
{
	struct em_progress_display *disp = NULL;
	uint64_t g = 0, total = 0;
	json_t *e, *sorted;
	size_t i;
	int vi, s, rc = -1;

	if (p->nvols == 0) {
		em_err("no volumes to sample");
		return -1;
	}
	if (check_shard_size(p) < 0) {
		em_err("cannot write shards into '%s': %s", p->outdir, em_errmsg());
		return -1;
	}
	if ((p->params = make_params(p)) == NULL) {
		em_err("out of memory");
		return -1;
	}
	if (lock_outdir(p) < 0) {
		em_err("%s", em_errmsg());	/* each of its messages names the directory */
		return -1;
	}
	if (resume(p) < 0) {
		em_err("cannot write into '%s': %s", p->outdir, em_errmsg());
		return -1;
	}
	remove_leftovers(p->outdir);
	em_progress_init(&p->progress);
	for (vi = 0; vi < p->nvols; vi++) {
		const struct vol *v = p->vols[vi];

		total += p->o.random ? p->o.count :
		    ((v->shape[0] - p->o.patch[0]) / p->o.stride[0] + 1) *
		    ((v->shape[1] - p->o.patch[1]) / p->o.stride[1] + 1) *
		    ((v->shape[2] - p->o.patch[2]) / p->o.stride[2] + 1);
	}
	em_progress_add_items_total(&p->progress, total);
	if (start_readers(p) < 0) {
		em_err("cannot start: %s", em_errmsg());
		goto out;
	}
	disp = em_progress_display_start(&p->progress, p->o.progress, "patches");
	for (vi = 0; vi < p->nvols; vi++)
		if (sample_volume(p, vi, &g) < 0)
			goto fail;
	while (p->head < p->tail)
		if (consume(p) < 0)
			goto fail;
	for (s = 0; s < p->o.splits.n; s++)
		if (p->sh[s].open && shard_close(p, s) < 0)
			goto fail;
	if (write_manifest(p, 1) < 0)
		goto fail;
	em_progress_display_stop(disp);
	disp = NULL;
	sorted = sorted_shards(p);
	json_array_foreach(sorted, i, e)
		printf("%s/%s\n", p->outdir, json_string_value(json_object_get(e, "name")));
	json_decref(sorted);
	printf("%s/manifest.json\n", p->outdir);
	for (s = 0; s < p->o.splits.n; s++)
		em_log(EM_LOG_INFO, "%s: %llu sample%s in %d shard%s; skipped %llu (fill), %llu (std)",
		    p->o.splits.name[s], (unsigned long long)p->cnt[s].samples,
		    p->cnt[s].samples == 1 ? "" : "s", p->sh[s].number, p->sh[s].number == 1 ? "" : "s",
		    (unsigned long long)p->cnt[s].skip_fill,
		    (unsigned long long)p->cnt[s].skip_std);
	em_log(EM_LOG_INFO, "%llu position%s not drawn: %s patch would straddle blocks of "
	    "different splits", (unsigned long long)p->straddling, p->straddling == 1 ? "" : "s",
	    p->straddling == 1 ? "its" : "their");
	rc = 0;
	goto out;
fail:
	em_progress_display_stop(disp);
	disp = NULL;
	if (!em_interrupted())
		em_err("cannot write patches into '%s': %s", p->outdir, em_errmsg());
out:
	em_progress_display_stop(disp);
	stop_readers(p);
	for (s = 0; s < EM_SPLIT_MAX; s++)
		if (p->sh[s].open) {
			em_atomic_abort(&p->sh[s].at);
			p->sh[s].open = 0;
		}
	return rc;
}
