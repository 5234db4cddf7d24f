/* blockfetch.c - the block fetchers' engine: a box of a remote array, block by block, into the store */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/interrupt.h"
#include "meta/record.h"
#include "tool/blockfetch.h"
#include "core/banned.h"

void
em_boxiter_init(struct em_boxiter *it, const uint64_t b0[3], const uint64_t b1[3],
    const uint64_t block[3], const uint64_t *group)
{
	int i;

	memset(it, 0, sizeof(*it));
	for (i = 0; i < 3; i++) {
		uint64_t blo = b0[i] / block[i], bhi = (b1[i] + block[i] - 1) / block[i];

		it->b0[i] = b0[i];
		it->b1[i] = b1[i];
		it->block[i] = block[i];
		/* No groups: one group as wide as every block of the box. */
		it->group[i] = group != NULL && group[i] > 0 ? group[i] : bhi;
		it->g_lo[i] = blo / it->group[i];
		it->g_hi[i] = (bhi + it->group[i] - 1) / it->group[i];
	}
}

/* The blocks of group g that touch the box. */
static void
group_range(struct em_boxiter *it)
{
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t lo = it->g[i] * it->group[i], hi = lo + it->group[i];
		uint64_t blo = it->b0[i] / it->block[i];
		uint64_t bhi = (it->b1[i] + it->block[i] - 1) / it->block[i];

		it->c_lo[i] = lo > blo ? lo : blo;
		it->c_hi[i] = hi < bhi ? hi : bhi;
		it->c[i] = it->c_lo[i];
	}
}

/* Step the C-order counter v in [lo, hi); 0 when it wraps round. */
static int
step(uint64_t *v, const uint64_t *lo, const uint64_t *hi)
{
	int i;

	for (i = 2; i >= 0; i--) {
		if (++v[i] < hi[i])
			return 1;
		v[i] = lo[i];
	}
	return 0;
}

int
em_boxiter_next(struct em_boxiter *it, struct em_block *b)
{
	int i;

	if (it->finished)
		return 0;
	if (!it->started) {
		it->started = 1;
		memcpy(it->g, it->g_lo, sizeof(it->g));
		group_range(it);
	} else if (!step(it->c, it->c_lo, it->c_hi)) {
		if (!step(it->g, it->g_lo, it->g_hi)) {
			it->finished = 1;
			return 0;
		}
		group_range(it);
	}
	for (i = 0; i < 3; i++) {
		uint64_t a = it->c[i] * it->block[i], e = a + it->block[i];

		if (a < it->b0[i])
			a = it->b0[i];
		if (e > it->b1[i])
			e = it->b1[i];
		b->idx[i] = it->c[i];
		b->lo[i] = a;
		b->n[i] = e - a;
		b->out[i] = a - it->b0[i];
	}
	return 1;
}

/* The C order of two blocks' indexes: <0, 0, >0. */
static int
memcmp_idx(const uint64_t *a, const uint64_t *b)
{
	int i;

	for (i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* One request in flight. */
struct unit {
	struct em_block b;
	uint64_t off, len;	/* the byte range asked for (len 0: all) */
	size_t max;
	int tries;		/* answers that did not decode */
};

/* A run: the tool's box and what the engine holds while it fetches. */
struct run {
	struct em_fetch *f;
	struct em_blockfetch *bf;
	struct em_boxiter it;
	struct em_http_multi *m;
	unsigned char *pack;	/* a block's part, cut from a whole block */
	size_t isz;
	int attempts;
	int found;		/* a block was fetched, said empty, or in the store already */
	/* Missing blocks not yet filled: nothing was found when they came. */
	struct em_block *deferred;
	size_t ndeferred, capdeferred;
	int overflowed;		/* more than EM_BLOCKFETCH_MAX_DEFERRED: they were filled */
	uint64_t first_idx[3];	/* the first missing block, in C order */
	/*
	 * The store's log of missing blocks (<store>/0.missing, and
	 * 0.missing.<K> for part K+1, as each part journals its chunks in a file
	 * of its own: appends from two nodes to one file on NFS can overwrite
	 * each other): a block filled because the source lacked it is written
	 * there before it is filled, so that a resumed run, which skips the
	 * block, still counts it.  Lines "m Z Y X" (missing) and "f Z Y X"
	 * (fetched after all), Z Y X the block's index; read in the order the
	 * files were last written, the last line for a block holds.
	 */
	FILE *mlog;
	uint64_t (*gone)[3];	/* blocks the log says are missing, sorted */
	size_t ngone;
	uint64_t kept;		/* of those, skipped by this run: already in the store */
};

static int
cmp_idx(const void *a, const void *b)
{
	return memcmp_idx(a, b);
}

/* One block of the log: its index and whether its last line says missing. */
struct mline {
	uint64_t idx[3];
	size_t seq;
	int missing;
};

static int
cmp_mline(const void *a, const void *b)
{
	const struct mline *p = a, *q = b;
	int c = memcmp_idx(p->idx, q->idx);

	return c != 0 ? c : (p->seq > q->seq) - (p->seq < q->seq);
}

/* This run's log: 0.missing for a whole run, 0.missing.<K> for part K+1. */
static int
mlog_path(const struct run *x, char *path, size_t n)
{
	const struct em_fetch_opts *o = x->f->opts;
	int r = o->part_count > 0 ? snprintf(path, n, "%s/0.missing.%d", x->f->build,
	    o->part_index - 1) : snprintf(path, n, "%s/0.missing", x->f->build);

	if (r < 0 || (size_t)r >= n)
		return em_fail("path of '%s' is too long", x->f->build);
	return 0;
}

/* A log's name: "0.missing" or "0.missing.<digits>". */
static int
mlog_name(const char *name)
{
	if (strncmp(name, "0.missing", 9) != 0)
		return 0;
	if (name[9] == '\0')
		return 1;
	if (name[9] != '.' || name[10] == '\0')
		return 0;
	return strspn(name + 10, "0123456789") == strlen(name + 10);
}

struct mfile {
	char name[32];
	struct timespec mtime;
};

static int
cmp_mfile(const void *a, const void *b)
{
	const struct mfile *p = a, *q = b;

	if (p->mtime.tv_sec != q->mtime.tv_sec)
		return p->mtime.tv_sec < q->mtime.tv_sec ? -1 : 1;
	if (p->mtime.tv_nsec != q->mtime.tv_nsec)
		return p->mtime.tv_nsec < q->mtime.tv_nsec ? -1 : 1;
	return strcmp(p->name, q->name);
}

/* Append the lines of one log to *v (sequence numbers going on from *n). */
static int
mlog_read(const char *path, struct mline **v, size_t *n, size_t *cap)
{
	uint64_t z, y, xx;
	struct mline *t;
	char op;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : em_fail_errno("cannot read '%s'", path);
	while (fscanf(fp, " %c %" SCNu64 " %" SCNu64 " %" SCNu64, &op, &z, &y, &xx) == 4) {
		if (op != 'm' && op != 'f')
			break;
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			if ((t = realloc(*v, *cap * sizeof(**v))) == NULL) {
				fclose(fp);
				return em_fail("out of memory");
			}
			*v = t;
		}
		(*v)[*n].idx[0] = z;
		(*v)[*n].idx[1] = y;
		(*v)[*n].idx[2] = xx;
		(*v)[*n].seq = *n;
		(*v)[*n].missing = op == 'm';
		(*n)++;
	}
	fclose(fp);
	return 0;
}

/* Read the store's logs into x->gone; this run's is made when its first line is written. */
static int
mlog_open(struct run *x)
{
	char path[EM_FETCH_PATH_MAX + 48];
	struct mline *v = NULL;
	struct mfile *files = NULL, *t;
	size_t n = 0, cap = 0, nf = 0, capf = 0, i;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int rc = -1;

	if ((d = opendir(x->f->build)) == NULL)
		return errno == ENOENT ? 0 : em_fail_errno("cannot read directory '%s'",
		    x->f->build);
	while ((e = readdir(d)) != NULL) {
		if (!mlog_name(e->d_name) || strlen(e->d_name) >= sizeof(files->name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", x->f->build, e->d_name);
		if (stat(path, &st) < 0)
			continue;	/* gone since: nothing to read */
		if (nf == capf) {
			capf = capf ? 2 * capf : 8;
			if ((t = realloc(files, capf * sizeof(*files))) == NULL) {
				em_fail("out of memory");
				closedir(d);
				goto out;
			}
			files = t;
		}
		snprintf(files[nf].name, sizeof(files->name), "%s", e->d_name);
		files[nf++].mtime = st.st_mtim;
	}
	closedir(d);
	if (nf > 0)
		qsort(files, nf, sizeof(*files), cmp_mfile);
	for (i = 0; i < nf; i++) {
		snprintf(path, sizeof(path), "%s/%s", x->f->build, files[i].name);
		if (mlog_read(path, &v, &n, &cap) < 0)
			goto out;
	}
	if (n > 0) {
		qsort(v, n, sizeof(*v), cmp_mline);
		if ((x->gone = malloc(n * sizeof(*x->gone))) == NULL) {
			em_fail("out of memory");
			goto out;
		}
		for (i = 0; i < n; i++)
			if (v[i].missing && (i + 1 == n || memcmp_idx(v[i].idx, v[i + 1].idx) != 0))
				memcpy(x->gone[x->ngone++], v[i].idx, sizeof(v[i].idx));
	}
	rc = 0;
out:
	free(files);
	free(v);
	return rc;
}

static int
mlog_has(const struct run *x, const struct em_block *b)
{
	return x->ngone > 0 &&
	    bsearch(b->idx, x->gone, x->ngone, sizeof(*x->gone), cmp_idx) != NULL;
}

/* Note block b in the log: op 'm' missing, 'f' fetched. */
static int
mlog_note(struct run *x, const struct em_block *b, char op)
{
	char path[EM_FETCH_PATH_MAX + 48];

	if ((op == 'm') == mlog_has(x, b))
		return 0;
	if (mlog_path(x, path, sizeof(path)) < 0)
		return -1;
	if (x->mlog == NULL && (x->mlog = fopen(path, "a")) == NULL)
		return em_fail_errno("cannot open '%s'", path);
	if (fprintf(x->mlog, "%c %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", op, b->idx[0],
	    b->idx[1], b->idx[2]) < 0 || fflush(x->mlog) == EOF)
		return em_fail_errno("cannot write '%s'", path);
	return 0;
}

/* Put block b's voxels (data, laid out as decode() gives them) into the store. */
static int
put(struct run *x, const struct em_block *b, const void *data)
{
	uint64_t off[3], zero[3] = { 0, 0, 0 };
	int i, part = 0;

	if (!x->bf->whole)
		return em_fetch_put_box(x->f, b->out, b->n, data);
	for (i = 0; i < 3; i++) {
		off[i] = b->lo[i] - b->idx[i] * x->bf->block[i];
		if (b->n[i] != x->bf->block[i])
			part = 1;
	}
	if (!part)
		return em_fetch_put_box(x->f, b->out, b->n, data);
	em_zarr_copy_box(3, x->isz, x->pack, b->n, zero, data, x->bf->block, off, b->n);
	return em_fetch_put_box(x->f, b->out, b->n, x->pack);
}

static int
fill(struct run *x, const struct em_block *b)
{
	const void *data = NULL;

	if (x->bf->ops->fill(x->bf->ctx, b, &data) < 0)
		return -1;
	return put(x, b, data);
}

/* A missing block: in the log first, then filled. */
static int
fill_missing(struct run *x, const struct em_block *b)
{
	if (mlog_note(x, b, 'm') < 0)
		return -1;
	return fill(x, b);
}

/* Fill the missing blocks held back while nothing was found. */
static int
fill_deferred(struct run *x)
{
	size_t i;

	for (i = 0; i < x->ndeferred; i++) {
		if (em_interrupted())
			return em_fail("interrupted");
		if (fill_missing(x, &x->deferred[i]) < 0)
			return -1;
	}
	x->ndeferred = 0;
	return 0;
}

/*
 * Block b is missing (status: the HTTP status, 0 when not known): count
 * it, and fill it now, or later when a block of the box turns up at all.
 */
static int
missing(struct run *x, const struct em_block *b, const char *url, long status)
{
	struct em_blockfetch *bf = x->bf;

	/* The first in the box's order (C order of blocks), whatever order the answers came in. */
	if (bf->missing++ == 0 || memcmp_idx(b->idx, x->first_idx) < 0) {
		memcpy(x->first_idx, b->idx, sizeof(x->first_idx));
		if (url != NULL && *url != '\0')
			snprintf(bf->first_missing, sizeof(bf->first_missing), "%s", url);
		else
			snprintf(bf->first_missing, sizeof(bf->first_missing), "%s at %" PRIu64 ",%"
			    PRIu64 ",%" PRIu64, bf->url, b->lo[0], b->lo[1], b->lo[2]);
	}
	if (status == 403 && bf->denied++ == 0)
		em_log(EM_LOG_WARN, "GET '%s': HTTP 403 Forbidden: read as the fill value, but "
		    "the server may hold data there that it will not give; further ones are "
		    "counted", url != NULL && *url != '\0' ? url : bf->url);
	if (x->found || x->overflowed)
		return fill_missing(x, b);
	if (x->ndeferred < EM_BLOCKFETCH_MAX_DEFERRED) {
		if (x->ndeferred == x->capdeferred) {
			size_t cap = x->capdeferred ? 2 * x->capdeferred : 64;
			struct em_block *v = realloc(x->deferred, cap * sizeof(*v));

			if (v == NULL)
				return em_fail("out of memory");
			x->deferred = v;
			x->capdeferred = cap;
		}
		x->deferred[x->ndeferred++] = *b;
		return 0;
	}
	/* A long empty stretch before the data begins: stop holding them back. */
	x->overflowed = 1;
	return fill_deferred(x) < 0 ? -1 : fill_missing(x, b);
}

static int
on_done(void *ctx, const struct em_http_reply *rp)
{
	struct run *x = ctx;
	struct unit *u = rp->user;
	const void *data = NULL;
	char why[1024];
	int rc = -1, r;

	if (em_interrupted()) {
		em_fail("interrupted");
		goto out;
	}
	if (rp->result == EM_HTTP_MISSING) {
		if (x->bf->ops->fill == NULL) {
			em_fail("GET '%s': HTTP %ld %s", rp->url, rp->status,
			    em_http_reason(rp->status));
			goto out;
		}
		rc = missing(x, &u->b, rp->url, rp->status);
		goto out;
	}
	if (rp->result < 0) {
		em_fail("%s", rp->error);
		goto out;
	}
	r = x->bf->ops->decode(x->bf->ctx, &u->b, rp, &data);
	if (r == EM_BLOCKFETCH_AGAIN) {
		/* A body cut or garbled on the way is fetched again; a bad block stays bad. */
		snprintf(why, sizeof(why), "%s", em_errmsg());
		if (++u->tries < x->attempts) {
			em_log(EM_LOG_INFO, "%s; fetching it again", why);
			x->bf->retried++;
			if (em_http_multi_add(x->m, rp->url, u->off, u->len, u->max, u) < 0)
				goto out;
			return 0;
		}
		em_fail("%s after %d attempts", why, u->tries);
		goto out;
	}
	if (r < 0)
		goto out;
	x->bf->fetched++;
	x->found = 1;
	if (mlog_note(x, &u->b, 'f') < 0)
		goto out;
	rc = put(x, &u->b, data);
out:
	free(u);
	return rc;
}

static int
on_feed(void *ctx, struct em_http_multi *m)
{
	struct run *x = ctx;
	struct em_block b;
	struct unit *u;
	char url[8192];
	uint64_t off, len;
	size_t max;
	int rc;

	while (em_boxiter_next(&x->it, &b)) {
		if (em_interrupted())
			return em_fail("interrupted");
		rc = em_fetch_box_done(x->f, b.out, b.n);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			x->bf->skipped++;
			if (mlog_has(x, &b))
				x->kept++;
			x->found = 1;
			continue;
		}
		url[0] = '\0';
		rc = x->bf->ops->request(x->bf->ctx, &b, url, sizeof(url), &off, &len, &max);
		if (rc < 0)
			return -1;
		if (rc == EM_HTTP_MISSING || rc == EM_BLOCKFETCH_DENIED ||
		    rc == EM_BLOCKFETCH_EMPTY) {
			if (x->bf->ops->fill == NULL)
				return em_fail("no block at %" PRIu64 ",%" PRIu64 ",%" PRIu64 " in '%s'",
				    b.lo[0], b.lo[1], b.lo[2], x->bf->url);
			if (rc == EM_BLOCKFETCH_EMPTY) {
				x->bf->empty++;
				x->found = 1;
				rc = fill(x, &b);
			} else {
				rc = missing(x, &b, url, rc == EM_BLOCKFETCH_DENIED ? 403 : 404);
			}
			if (rc < 0)
				return -1;
			continue;
		}
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return em_fail("out of memory");
		u->b = b;
		u->off = off;
		u->len = len;
		u->max = max;
		if (em_http_multi_add(m, url, off, len, max, u) < 0) {
			free(u);
			return -1;
		}
		return 1;
	}
	return 0;
}

/* One walk over the box: every block fetched, found in the store, or counted missing. */
static int
walk(struct run *x, struct em_http *h)
{
	struct em_blockfetch *bf = x->bf;

	bf->fetched = bf->missing = bf->denied = bf->empty = bf->skipped = bf->retried = 0;
	bf->first_missing[0] = '\0';
	x->found = 0;
	x->kept = 0;
	x->ndeferred = 0;
	x->overflowed = 0;
	em_http_multi_free(x->m);
	if ((x->m = em_http_multi_new(h, on_done, x)) == NULL)
		return -1;
	/* Requests a stopped run (a signal, an error) did not hand back are freed by the multi. */
	em_http_multi_set_release(x->m, free);
	em_boxiter_init(&x->it, bf->b0, bf->b1, bf->block, bf->group);
	return em_http_multi_run(x->m, on_feed, x);
}

/* The record's missing_chunks: this run's, and those an earlier run filled and this one kept. */
static int
record_missing(const struct run *x)
{
	return em_record_set(x->f->rec, "missing_chunks",
	    json_integer((json_int_t)(x->bf->missing + x->kept)));
}

int
em_blockfetch_run(struct em_fetch *f, struct em_blockfetch *bf, const double *voxel_nm,
    const char *const *prov)
{
	struct em_http_opts ho;
	struct em_http *h = NULL;
	struct em_mem_share share;
	struct run x;
	char what[4200];
	uint64_t shape[3], wbox[3], part = 0;
	int i, status = 1, again = 0, rc;

	memset(&x, 0, sizeof(x));
	x.f = f;
	x.bf = bf;
	x.isz = em_dtype_size(bf->dtype);
	bf->fetched = bf->missing = bf->denied = bf->empty = bf->skipped = bf->retried = 0;
	bf->first_missing[0] = '\0';
	for (i = 0; i < 3; i++) {
		shape[i] = bf->b1[i] - bf->b0[i];
		/* The writer is fed blocks' parts of at most this size. */
		wbox[i] = bf->block[i] < shape[i] ? bf->block[i] : shape[i];
	}
	if (bf->whole)
		part = wbox[0] * wbox[1] * wbox[2] * x.isz;
	share.fixed = bf->own_bytes + part;
	share.per_transfer = bf->max_body;
	/* A box of a larger volume: its origin there is the store's translation. */
	for (i = 0; i < 3; i++)
		f->origin[i] = bf->origin[i] + bf->b0[i];
	if (em_fetch_open_store(f, shape, bf->dtype, voxel_nm, prov, wbox, &share) < 0) {
		snprintf(what, sizeof(what), "cannot open store '%s'", f->store);
		return em_fetch_fail(f, what);
	}
	if (mlog_open(&x) < 0) {
		status = em_fetch_fail(f, "cannot fetch");
		goto out;
	}
	if (part > 0 && (x.pack = malloc(part)) == NULL) {
		em_fail("out of memory");
		status = em_fetch_fail(f, "cannot fetch");
		goto out;
	}
	/* The store's writer may have taken fewer jobs to fit --max-memory. */
	ho = f->http_opts;
	ho.progress = NULL;
	ho.jobs = em_fetch_transfers(f);
	x.attempts = ho.attempts;
	if ((h = em_http_new(&ho)) == NULL) {
		status = em_fetch_fail(f, "cannot fetch");
		goto out;
	}
	for (;;) {
		rc = walk(&x, h);
		if (rc < 0 || x.found || bf->missing == 0 || again || bf->all_missing == NULL ||
		    x.overflowed || em_interrupted())
			break;
		/* Nothing of the box is there: the tool may know where else to look, once. */
		if (bf->all_missing(bf->ctx) != 1)
			break;
		again = 1;
	}
	if (rc < 0) {
		snprintf(what, sizeof(what), "cannot fetch '%s'", bf->url);
		record_missing(&x);
		status = em_fetch_fail(f, what);
		goto out;
	}
	if (bf->denied > 0)
		em_log(EM_LOG_WARN, "%s: %" PRIu64 " chunks refused with HTTP 403 were read as the "
		    "fill value", bf->url, bf->denied);
	em_log(EM_LOG_INFO, "%s: %" PRIu64 " blocks fetched, %" PRIu64 " missing (fill value), %"
	    PRIu64 " empty, %" PRIu64 " already in the store, %" PRIu64 " fetched again", bf->url,
	    bf->fetched, bf->missing, bf->empty, bf->skipped, bf->retried);
	if (record_missing(&x) < 0) {
		status = em_fetch_fail(f, "record");
		goto out;
	}
	if (!x.found && bf->missing > 0) {
		em_fail("none of the box's %" PRIu64 " chunks is there (the first: '%s'%s): %s",
		    bf->missing, bf->first_missing, bf->denied == bf->missing ? ", HTTP 403" :
		    bf->denied > 0 ? ", HTTP 404 and 403" : ", HTTP 404",
		    bf->denied > 0 ? "the server refuses access; the data may need credentials or "
		    "not be public" : "check the URL, the level, the chunk key separator "
		    "(dimension_separator) and that the server gives this array's chunks");
		snprintf(what, sizeof(what), "cannot fetch '%s'", bf->url);
		status = em_fetch_fail(f, what);
		goto out;
	}
	if (f->opts->strict && bf->missing > 0) {
		/* Stored all the same, so that a run without --strict has them and their count. */
		if (fill_deferred(&x) < 0) {
			snprintf(what, sizeof(what), "cannot fetch '%s'", bf->url);
			status = em_fetch_fail(f, what);
			goto out;
		}
		em_fail("%" PRIu64 " chunk%s of the box %s missing (HTTP 404 or 403), the first '%s'",
		    bf->missing, bf->missing == 1 ? "" : "s", bf->missing == 1 ? "is" : "are",
		    bf->first_missing);
		snprintf(what, sizeof(what), "--strict: cannot fetch '%s'", bf->url);
		status = em_fetch_fail(f, what);
		goto out;
	}
	if (fill_deferred(&x) < 0) {
		snprintf(what, sizeof(what), "cannot fetch '%s'", bf->url);
		status = em_fetch_fail(f, what);
		goto out;
	}
	status = em_fetch_done(f);
out:
	em_http_multi_free(x.m);
	em_http_free(h);
	free(x.pack);
	free(x.deferred);
	free(x.gone);
	if (x.mlog != NULL)
		fclose(x.mlog);
	return status;
}
