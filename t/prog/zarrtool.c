/* zarrtool.c - test and bench helper: write a Zarr store from a raw file, read stores back, hash them */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <time.h>

#include "store/codec.h"
#include "core/diag.h"
#include "tool/tool.h"
#include "core/dtype.h"
#include "core/fsutil.h"
#include "core/parse.h"
#include "meta/digestarray.h"
#include "store/zarr.h"
#include "store/writer.h"
#include "core/banned.h"

static void
usage(FILE *fp, int status)
{
	fputs("usage: zarrtool write [--dtype T] --shape S [--chunks C] [--codec NAME] [--level N]\n"
	    "                      [--sep /|.] [--fill V] [--jobs N] [--bare] [--voxel Z,Y,X]\n"
	    "                      [--boxes B] [--planes N] [--skip-fill] [--no-resume]\n"
	    "                      [--throttle-ms N] [--stats] [--zarr-format 2|3]\n"
	    "                      [--shard Z,Y,X] RAW STORE\n"
	    "       zarrtool read [--threads N] STORE OUT\n"
	    "       zarrtool sha256 [--threads N] STORE\n"
	    "       zarrtool box STORE START COUNT OUT\n"
	    "       zarrtool info STORE\n"
	    "       zarrtool minmem [--dtype T] --shape S [--chunks C] [--jobs N] [--boxes B]\n"
	    "                       [--shard Z,Y,X]\n"
	    "       zarrtool codecbench [--codec NAME] [--level N] [--chunks C] [--threads N] [--libdeflate] RAW\n"
	    "       zarrtool hashbench RAW\n"
	    "       zarrtool copybench RAW\n",
	    fp);
	exit(status);
}

static int
parse_dims(const char *s, uint64_t *out, int *n)
{
	int k = 1;
	const char *p;

	for (p = s; *p; p++)
		if (*p == ',')
			k++;
	if (k > EM_ZARR_MAXDIM)
		return em_fail("too many dimensions");
	if (em_parse_u64_list(s, out, (size_t)k, 0, UINT64_MAX) < 0)
		return -1;
	*n = k;
	return 0;
}

static int
read_full(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? em_fail("file is too short") : em_fail_errno("read failed");
		got += (size_t)r;
	}
	return 0;
}

/* Read the box start+count of the raw C-order array (shape, isz) from fd into buf. */
static int
read_raw_box(int fd, int n, size_t isz, const uint64_t *shape, const uint64_t *start,
    const uint64_t *count, unsigned char *buf)
{
	uint64_t pos[EM_ZARR_MAXDIM] = { 0 };
	size_t row = (size_t)count[n - 1] * isz;
	int k;

	for (;;) {
		uint64_t off = 0;
		for (k = 0; k < n; k++)
			off = off * shape[k] + start[k] + (k < n - 1 ? pos[k] : 0);
		if (read_full(fd, buf, row, (off_t)(off * isz)) < 0)
			return -1;
		buf += row;
		for (k = n - 2; k >= 0; k--) {
			if (++pos[k] < count[k])
				break;
			pos[k] = 0;
		}
		if (k < 0)
			return 0;
	}
}

enum { O_DTYPE = 256, O_SHAPE, O_CHUNKS, O_CODEC, O_LEVEL, O_SEP, O_FILL, O_JOBS, O_BARE,
	O_VOXEL, O_BOXES, O_PLANES, O_SKIPFILL, O_NORESUME, O_THROTTLE, O_STATS, O_THREADS, O_FORMAT, O_SHARD,
	O_LIBDEFLATE };

static const struct option longopts[] = {
	{ "dtype", required_argument, NULL, O_DTYPE },
	{ "shape", required_argument, NULL, O_SHAPE },
	{ "chunks", required_argument, NULL, O_CHUNKS },
	{ "codec", required_argument, NULL, O_CODEC },
	{ "level", required_argument, NULL, O_LEVEL },
	{ "sep", required_argument, NULL, O_SEP },
	{ "fill", required_argument, NULL, O_FILL },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ "bare", no_argument, NULL, O_BARE },
	{ "voxel", required_argument, NULL, O_VOXEL },
	{ "boxes", required_argument, NULL, O_BOXES },
	{ "planes", required_argument, NULL, O_PLANES },
	{ "skip-fill", no_argument, NULL, O_SKIPFILL },
	{ "no-resume", no_argument, NULL, O_NORESUME },
	{ "throttle-ms", required_argument, NULL, O_THROTTLE },
	{ "stats", no_argument, NULL, O_STATS },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "libdeflate", no_argument, NULL, O_LIBDEFLATE },
	{ "zarr-format", required_argument, NULL, O_FORMAT },
	{ "shard", required_argument, NULL, O_SHARD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	enum em_dtype dtype;
	uint64_t shape[EM_ZARR_MAXDIM], chunks[EM_ZARR_MAXDIM], boxes[EM_ZARR_MAXDIM];
	uint64_t shard[EM_ZARR_MAXDIM];
	int ndim, nchunks, nboxes, nshard, format;
	const char *codec;
	int level, jobs, bare, planes, stats, threads, have_fill;
	int libdeflate;		/* codecbench: zlib through libdeflate, whatever the store uses */
	double fill, voxel[3];
	int have_voxel;
	char sep;
	struct em_zwriter_opts wo;
};

static int
cmd_write(struct args *g, const char *raw, const char *store)
{
	struct em_zarr_meta m;
	struct em_codec c;
	struct em_zarr *a = NULL;
	struct em_zwriter *w = NULL;
	struct em_zwriter_stats st;
	unsigned char *buf = NULL;
	size_t isz = em_dtype_size(g->dtype), plane = isz;
	int fd = -1, rc = 1, i;

	if (em_codec_from_name(g->codec, g->level, &c) < 0 ||
	    em_zarr_meta_init(&m, g->ndim, g->shape, g->chunks, g->dtype, &c) < 0 ||
	    (g->have_fill && em_zarr_meta_set_fill(&m, g->fill) < 0)) {
		em_err("bad array: %s", em_errmsg());
		return 2;
	}
	m.sep = g->sep;
	if (em_zarr_meta_set_format(&m, g->format, g->nshard ? g->shard : NULL) < 0) {
		em_err("bad array: %s", em_errmsg());
		return 2;
	}
	if ((g->bare ? em_zarr_create_array(store, &m) :
	    em_zarr_create(store, &m, g->have_voxel ? g->voxel : NULL, "zarrtool")) < 0) {
		em_err("cannot create '%s': %s", store, em_errmsg());
		return 1;
	}
	if ((a = em_zarr_open(store)) == NULL) {
		em_err("cannot open '%s': %s", store, em_errmsg());
		return 1;
	}
	if ((fd = open(raw, O_RDONLY)) < 0) {
		em_err("cannot open '%s': %s", raw, strerror(errno));
		goto out;
	}
	if ((w = em_zwriter_new(a, &g->wo)) == NULL)
		goto fail;
	for (i = 1; i < m.ndim; i++)
		plane *= (size_t)m.shape[i];
	if (g->nboxes == 0) {
		uint64_t z;
		if ((buf = malloc(plane * (size_t)g->planes)) == NULL)
			goto fail;
		for (z = 0; z < m.shape[0]; z += (uint64_t)g->planes) {
			uint64_t nz = m.shape[0] - z < (uint64_t)g->planes ? m.shape[0] - z :
			    (uint64_t)g->planes;
			if (read_full(fd, buf, plane * (size_t)nz, (off_t)(z * plane)) < 0 ||
			    em_zwriter_put_planes(w, z, nz, buf) < 0)
				goto fail;
		}
	} else {
		uint64_t start[EM_ZARR_MAXDIM] = { 0 }, count[EM_ZARR_MAXDIM], bb = isz;
		if (g->nboxes != m.ndim) {
			em_err("--boxes needs %d numbers", m.ndim);
			goto out;
		}
		for (i = 0; i < m.ndim; i++)
			bb *= g->boxes[i];
		if ((buf = malloc((size_t)bb)) == NULL)
			goto fail;
		for (;;) {
			for (i = 0; i < m.ndim; i++)
				count[i] = m.shape[i] - start[i] < g->boxes[i] ?
				    m.shape[i] - start[i] : g->boxes[i];
			if (em_zwriter_box_done(w, start, count) == 0 &&
			    (read_raw_box(fd, m.ndim, isz, m.shape, start, count, buf) < 0 ||
			    em_zwriter_put_box(w, start, count, buf) < 0))
				goto fail;
			for (i = m.ndim - 1; i >= 0; i--) {
				start[i] += g->boxes[i];
				if (start[i] < m.shape[i])
					break;
				start[i] = 0;
			}
			if (i < 0)
				break;
		}
	}
	if (em_zwriter_finish(w, &st) < 0)
		goto fail;
	if (g->stats)
		fprintf(stderr, "written=%llu shards=%llu present=%llu fill=%llu in=%llu out=%llu "
		    "peak=%llu\n", (unsigned long long)st.chunks_written,
		    (unsigned long long)st.shards_written, (unsigned long long)st.chunks_present,
		    (unsigned long long)st.chunks_fill, (unsigned long long)st.bytes_in,
		    (unsigned long long)st.bytes_out, (unsigned long long)st.peak_buffer);
	rc = 0;
	goto out;
fail:
	em_err("cannot write '%s': %s", store, em_errmsg());
out:
	em_zwriter_free(w);
	em_zarr_close(a);
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
iter_piece(void *ctx, const void **data, size_t *len)
{
	uint64_t z0, nz;

	return em_zarr_iter_next(ctx, data, len, &z0, &nz);
}

/*
 * Stream the array in C order to the file fd, or (fd < 0) print its SHA-256
 * as em-meta takes it (lib/meta/digestarray.c: hashed on a thread of its own
 * while the iterator decodes and gathers) without the statistics, so that
 * em-meta's time beyond this one is theirs.
 */
static int
cmd_stream(const char *store, int threads, int fd)
{
	struct em_zarr *a = em_zarr_open(store);
	struct em_zarr_iter *it = NULL;
	const void *p;
	size_t len;
	char sha[65];
	int r, rc = 1;

	if (a == NULL) {
		em_err("cannot open '%s': %s", store, em_errmsg());
		return 1;
	}
	if ((it = em_zarr_iter_new(a, threads)) == NULL)
		goto fail;
	if (fd < 0) {
		struct em_slab_iter src = { iter_piece, it, em_zarr_meta(a)->dtype, 0, 1 };

		if (em_digest_array(&src, sha, NULL) < 0)
			goto fail;
		printf("%s\n", sha);
	} else {
		while ((r = iter_piece(it, &p, &len)) == 1)
			if (em_write_all(fd, p, len) < 0)
				goto fail;
		if (r < 0)
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	em_err("cannot read '%s': %s", store, em_errmsg());
out:
	em_zarr_iter_free(it);
	em_zarr_close(a);
	return rc;
}

static int
cmd_info(const char *store)
{
	struct em_zarr *a = em_zarr_open(store);
	const struct em_zarr_meta *m;
	char cd[128];
	double vox[EM_ZARR_MAXDIM];
	int i, nv;

	if (a == NULL) {
		em_err("cannot open '%s': %s", store, em_errmsg());
		return 1;
	}
	m = em_zarr_meta(a);
	printf("dtype %s\nshape", em_dtype_name(m->dtype));
	for (i = 0; i < m->ndim; i++)
		printf(" %llu", (unsigned long long)m->shape[i]);
	printf("\nchunks");
	for (i = 0; i < m->ndim; i++)
		printf(" %llu", (unsigned long long)m->chunks[i]);
	printf("\ncodec %s\nsep %c\n", em_codec_describe(&m->codec, cd, sizeof(cd)), m->sep);
	nv = em_zarr_voxel_nm(a, vox);
	printf("voxel_nm");
	if (nv == 0)
		printf(" unknown");
	else
		for (i = 0; i < m->ndim; i++)
			printf(" %g", vox[i]);
	printf("\n");
	em_zarr_close(a);
	return 0;
}

static int
cmd_box(const char *store, const char *s0, const char *s1, const char *outp)
{
	struct em_zarr *a = em_zarr_open(store);
	uint64_t start[EM_ZARR_MAXDIM], count[EM_ZARR_MAXDIM], n;
	int n0, n1, i, fd, rc = 1;
	void *buf = NULL;

	if (a == NULL) {
		em_err("cannot open '%s': %s", store, em_errmsg());
		return 1;
	}
	if (parse_dims(s0, start, &n0) < 0 || parse_dims(s1, count, &n1) < 0 ||
	    n0 != em_zarr_meta(a)->ndim || n1 != n0) {
		em_err("bad box");
		em_zarr_close(a);
		return 2;
	}
	n = em_zarr_itemsize(a);
	for (i = 0; i < n0; i++)
		n *= count[i];
	if ((buf = malloc(n ? (size_t)n : 1)) == NULL || em_zarr_read_box(a, start, count, buf) < 0)
		em_err("cannot read '%s': %s", store, em_errmsg());
	else if ((fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0666)) < 0)
		em_err("cannot create '%s': %s", outp, strerror(errno));
	else {
		rc = em_write_all(fd, buf, (size_t)n) < 0 || close(fd) < 0;
	}
	free(buf);
	em_zarr_close(a);
	return rc;
}

/* ---- codec and hash speed, for the benchmarks ----
 *
 * These figures are the ceilings `make bench` judges the store against, so they are measured
 * the way the libraries' own benchmarks are (`zstd -b`, `openssl speed`): every buffer written
 * once before the clock starts (a fresh page costs a fault and, on this machine's hypervisor,
 * a slow first touch), one untimed warm-up round, contexts made once per thread, and the best
 * of several timed rounds over the whole buffer.  A round's time is the CPU time the process
 * spent in it, shared out over the threads, as `openssl speed` counts: a figure that other
 * work on a shared machine does not lower.
 */

#define BENCH_MAX_BYTES ((size_t)256 << 20)
#define BENCH_MIN_ROUNDS 3
#define BENCH_MIN_SECONDS 1.0

/* The best of at least BENCH_MIN_ROUNDS timed rounds lasting BENCH_MIN_SECONDS, after a warm-up. */
static double
best_of(double (*round)(void *), void *arg)
{
	double best = 0, spent = 0, t;
	int r;

	round(arg);
	for (r = 0; r < BENCH_MIN_ROUNDS || spent < BENCH_MIN_SECONDS; r++) {
		t = round(arg);
		spent += t;
		if (r == 0 || t < best)
			best = t;
	}
	return best;
}

struct cb_arg {
	const struct em_codec *c;
	struct em_codec_ctx *x;
	unsigned char *src, *enc, *dec;
	size_t blk, nblk, bound, *elen;
	int t, nt, decode, rc;
	struct libdeflate_compressor *ld;	/* --libdeflate: encode with it */
};

static void *
cb_run(void *p)
{
	struct cb_arg *a = p;
	size_t i;

	a->rc = 0;
	for (i = (size_t)a->t; i < a->nblk && a->rc == 0; i += (size_t)a->nt) {
		if (!a->decode && a->ld != NULL) {
			a->elen[i] = libdeflate_zlib_compress(a->ld, a->src + i * a->blk, a->blk,
			    a->enc + i * a->bound, a->bound);
			a->rc = a->elen[i] == 0 ? em_fail("libdeflate: output too small") : 0;
		} else if (!a->decode)
			a->rc = em_codec_encode(a->x, a->c, a->src + i * a->blk, a->blk,
			    a->enc + i * a->bound, a->bound, &a->elen[i]);
		else
			a->rc = em_codec_decode(a->x, a->c, a->enc + i * a->bound, a->elen[i],
			    a->dec + i * a->blk, a->blk);
	}
	return NULL;
}

/* The CPU time of the whole process (every thread) in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Up to max bytes of path in a buffer that is already faulted in. */
static unsigned char *
load_raw(const char *path, size_t max, size_t *n)
{
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		em_die(1, "cannot open '%s': %s", path, strerror(errno));
	*n = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	if (*n == 0)
		em_die(1, "'%s' is empty", path);
	if ((p = malloc(*n)) == NULL)
		em_die(1, "out of memory for %zu bytes of '%s'", *n, path);
	memset(p, 0, *n);
	if (read_full(fd, p, *n, 0) < 0)
		em_die(1, "cannot read '%s': %s", path, em_errmsg());
	close(fd);
	return p;
}

/* One round of encoding or decoding every block on nt threads; its seconds. */
static double
cb_round(struct cb_arg *args, int nt, int decode)
{
	pthread_t th[16];
	double t0 = now();
	int k;

	for (k = 0; k < nt; k++) {
		args[k].decode = decode;
		if (pthread_create(&th[k], NULL, cb_run, &args[k]) != 0)
			em_die(1, "cannot start a thread");
	}
	for (k = 0; k < nt; k++)
		pthread_join(th[k], NULL);
	t0 = (now() - t0) / nt;
	for (k = 0; k < nt; k++)
		if (args[k].rc < 0)
			em_die(1, "codec failed: %s", em_errmsg());
	return t0;
}

struct cb_round_arg {
	struct cb_arg *args;
	int nt, decode;
};

static double
cb_round_of(void *arg)
{
	struct cb_round_arg *a = arg;

	return cb_round(a->args, a->nt, a->decode);
}

static double
cb_best(struct cb_arg *args, int nt, int decode)
{
	struct cb_round_arg a = { args, nt, decode };

	return best_of(cb_round_of, &a);
}

static int
cmd_codecbench(struct args *g, const char *raw)
{
	struct em_codec c;
	size_t n, blk = em_dtype_size(g->dtype), nblk, bound, i, total = 0;
	unsigned char *src, *enc, *dec;
	size_t *elen;
	struct cb_arg args[16];
	double te, td;
	int k, nt = g->threads < 1 ? 1 : g->threads;

	if (em_codec_from_name(g->codec, g->level, &c) < 0)
		em_die(2, "%s", em_errmsg());
	if (g->libdeflate && c.id != EM_CODEC_ZLIB)
		em_die(2, "--libdeflate measures the zlib codec only");
	c.typesize = em_dtype_size(g->dtype);
	for (k = 0; k < g->nchunks; k++)
		blk *= (size_t)g->chunks[k];
	src = load_raw(raw, BENCH_MAX_BYTES, &n);
	nblk = n / blk;
	if (nblk == 0)
		em_die(1, "'%s' has %zu bytes, less than one chunk of %zu", raw, n, blk);
	bound = em_codec_bound(&c, blk);
	enc = malloc(nblk * bound);
	dec = malloc(nblk * blk);
	elen = calloc(nblk, sizeof(*elen));
	if (enc == NULL || dec == NULL || elen == NULL)
		em_die(1, "out of memory");
	memset(enc, 0, nblk * bound);
	memset(dec, 0, nblk * blk);
	for (k = 0; k < nt; k++) {
		args[k] = (struct cb_arg){ &c, em_codec_ctx_new(), src, enc, dec, blk, nblk, bound,
		    elen, k, nt, 0, 0, NULL };
		if (args[k].x == NULL)
			em_die(1, "out of memory");
		if (g->libdeflate && (args[k].ld = libdeflate_alloc_compressor(c.level)) == NULL)
			em_die(1, "out of memory");
	}
	te = cb_best(args, nt, 0);
	td = cb_best(args, nt, 1);
	for (i = 0; i < nblk; i++)
		total += elen[i];
	if (memcmp(src, dec, nblk * blk) != 0)
		em_die(1, "round trip differs");
	printf("codec=%s threads=%d encode_MBps=%.1f decode_MBps=%.1f ratio=%.4f\n", g->codec, nt,
	    (double)(nblk * blk) / te / 1e6, (double)(nblk * blk) / td / 1e6,
	    (double)(nblk * blk) / (double)total);
	for (k = 0; k < nt; k++) {
		em_codec_ctx_free(args[k].x);
		if (args[k].ld != NULL)
			libdeflate_free_compressor(args[k].ld);
	}
	free(src);
	free(enc);
	free(dec);
	free(elen);
	return 0;
}

/*
 * SHA-256 of the whole buffer; its seconds.  piece == 0: straight from
 * memory in 4 MiB updates.  Otherwise in pieces of that size, each copied
 * into a small buffer first (untimed), as the tools hash a chunk they have
 * just decoded or gathered: a piece in cache.  On some machines hashing
 * from memory runs at two thirds of that (the loop waits on the loads).
 */
static double
hash_round(EVP_MD_CTX *md, const unsigned char *p, size_t n, unsigned char *piece_buf,
    size_t piece)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;
	double t0 = now(), spent = 0, t;
	size_t off, step = piece ? piece : (size_t)4 << 20, k;

	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		em_die(1, "cannot start SHA-256");
	for (off = 0; off < n; off += step) {
		k = n - off < step ? n - off : step;
		if (piece == 0) {
			EVP_DigestUpdate(md, p + off, k);
			continue;
		}
		memcpy(piece_buf, p + off, k);
		t = now();
		EVP_DigestUpdate(md, piece_buf, k);
		spent += now() - t;
	}
	EVP_DigestFinal_ex(md, d, &dn);
	return piece ? spent : now() - t0;
}

struct hash_arg {
	EVP_MD_CTX *md;
	const unsigned char *p;
	size_t n;
	unsigned char *pb;
	size_t piece;
};

static double
hash_round_of(void *arg)
{
	struct hash_arg *a = arg;

	return hash_round(a->md, a->p, a->n, a->pb, a->piece);
}

/* sha256_MBps: pieces of one 64^3 uint8 chunk in cache; sha256_mem_MBps: from memory. */
static int
cmd_hashbench(const char *raw)
{
	size_t n, piece = (size_t)256 << 10;
	unsigned char *p = load_raw(raw, BENCH_MAX_BYTES, &n), *pb = malloc(piece);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct hash_arg a;
	double cached, mem;

	if (md == NULL || pb == NULL)
		em_die(1, "out of memory");
	a = (struct hash_arg){ md, p, n, pb, piece };
	cached = best_of(hash_round_of, &a);
	a.piece = 0;
	mem = best_of(hash_round_of, &a);
	printf("sha256_MBps=%.1f sha256_mem_MBps=%.1f\n", (double)n / cached / 1e6,
	    (double)n / mem / 1e6);
	EVP_MD_CTX_free(md);
	free(pb);
	free(p);
	return 0;
}

struct copy_arg {
	unsigned char *dst;
	const unsigned char *src;
	size_t n;
};

/* memcpy of the whole buffer into another one, in 4 MiB pieces; its seconds. */
static double
copy_round(void *arg)
{
	struct copy_arg *a = arg;
	double t0 = now();
	size_t off, step = (size_t)4 << 20;

	for (off = 0; off < a->n; off += step)
		memcpy(a->dst + off, a->src + off, a->n - off < step ? a->n - off : step);
	return now() - t0;
}

static int
cmd_copybench(const char *raw)
{
	size_t n;
	unsigned char *p = load_raw(raw, BENCH_MAX_BYTES, &n), *q = malloc(n);
	struct copy_arg a = { q, p, n };
	double best;

	if (q == NULL)
		em_die(1, "out of memory");
	memset(q, 0, n);
	best = best_of(copy_round, &a);
	if (memcmp(p, q, n) != 0)
		em_die(1, "copy differs");
	printf("memcpy_MBps=%.1f\n", (double)n / best / 1e6);
	free(p);
	free(q);
	return 0;
}

int
main(int argc, char **argv)
{
	struct args g;
	const char *cmd;
	int c, n;

	em_set_progname("zarrtool");
	memset(&g, 0, sizeof(g));
	g.dtype = EM_DT_U1;
	g.codec = "zstd";
	g.level = -1;
	g.jobs = 1;
	g.planes = 1;
	g.sep = '/';
	g.threads = 2;
	g.format = 2;
	if (argc < 2)
		usage(stderr, 2);
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0)
		usage(stdout, 0);
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_DTYPE:
			g.dtype = em_dtype_from_name(optarg);
			if (g.dtype == EM_DT_NONE) {
				char ts[16];
				snprintf(ts, sizeof(ts), "<%s", optarg);
				g.dtype = em_dtype_from_zarr(ts, &n);
			}
			if (g.dtype == EM_DT_NONE)
				em_die(2, "unknown dtype '%s'", optarg);
			break;
		case O_SHAPE:
			if (parse_dims(optarg, g.shape, &g.ndim) < 0)
				em_die(2, "bad --shape '%s': %s", optarg, em_errmsg());
			break;
		case O_CHUNKS:
			if (parse_dims(optarg, g.chunks, &g.nchunks) < 0)
				em_die(2, "bad --chunks '%s': %s", optarg, em_errmsg());
			break;
		case O_BOXES:
			if (parse_dims(optarg, g.boxes, &g.nboxes) < 0)
				em_die(2, "bad --boxes '%s': %s", optarg, em_errmsg());
			break;
		case O_CODEC:
			g.codec = optarg;
			break;
		case O_LEVEL:
			if (em_parse_int(optarg, -1, 100, &g.level) < 0)
				em_die(2, "bad --level '%s'", optarg);
			break;
		case O_SEP:
			if (strcmp(optarg, "/") != 0 && strcmp(optarg, ".") != 0)
				em_die(2, "bad --sep '%s'", optarg);
			g.sep = optarg[0];
			break;
		case O_FILL:
			if (strcmp(optarg, "nan") == 0)
				g.fill = NAN;
			else if (em_parse_double(optarg, &g.fill) < 0)
				em_die(2, "bad --fill '%s'", optarg);
			g.have_fill = 1;
			break;
		case O_JOBS:
			if (em_parse_int(optarg, 1, 64, &g.jobs) < 0)
				em_die(2, "bad --jobs '%s'", optarg);
			g.wo.jobs = g.jobs;
			break;
		case O_BARE:
			g.bare = 1;
			break;
		case O_VOXEL: {
			char *e;
			const char *s = optarg;
			int i;
			for (i = 0; i < 3; i++) {
				g.voxel[i] = strtod(s, &e);
				if (e == s || (i < 2 && *e != ',') || (i == 2 && *e != '\0'))
					em_die(2, "bad --voxel '%s'", optarg);
				s = e + 1;
			}
			g.have_voxel = 1;
			break;
		}
		case O_PLANES:
			if (em_parse_int(optarg, 1, 1 << 20, &g.planes) < 0)
				em_die(2, "bad --planes '%s'", optarg);
			break;
		case O_SKIPFILL:
			g.wo.skip_fill = 1;
			break;
		case O_NORESUME:
			g.wo.no_resume = 1;
			break;
		case O_THROTTLE:
			if (em_parse_int(optarg, 0, 100000, &n) < 0)
				em_die(2, "bad --throttle-ms '%s'", optarg);
			g.wo.throttle_ms = (unsigned)n;
			break;
		case O_STATS:
			g.stats = 1;
			break;
		case O_LIBDEFLATE:
			g.libdeflate = 1;
			break;
		case O_THREADS:
			if (em_parse_int(optarg, 0, 16, &g.threads) < 0)
				em_die(2, "bad --threads '%s'", optarg);
			break;
		case O_FORMAT:
			if (em_parse_int(optarg, 2, 3, &g.format) < 0)
				em_die(2, "bad --zarr-format '%s'", optarg);
			break;
		case O_SHARD:
			if (parse_dims(optarg, g.shard, &g.nshard) < 0)
				em_die(2, "bad --shard '%s': %s", optarg, em_errmsg());
			g.format = 3;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (g.nchunks == 0) {
		int i;
		g.nchunks = g.ndim ? g.ndim : 3;
		for (i = 0; i < g.nchunks; i++)
			g.chunks[i] = 64;
	}
	if (strcmp(cmd, "write") == 0 && argc == 2) {
		if (g.ndim == 0 || g.nchunks != g.ndim)
			em_die(2, "--shape and --chunks must have the same number of dimensions");
		g.wo.jobs = g.jobs;
		return cmd_write(&g, argv[0], argv[1]);
	}
	if (strcmp(cmd, "read") == 0 && argc == 2) {
		int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0666), rc;
		if (fd < 0)
			em_die(1, "cannot create '%s': %s", argv[1], strerror(errno));
		rc = cmd_stream(argv[0], g.threads, fd);
		if (close(fd) < 0)
			rc = 1;
		return rc;
	}
	if (strcmp(cmd, "sha256") == 0 && argc == 1)
		return cmd_stream(argv[0], g.threads, -1);
	if (strcmp(cmd, "box") == 0 && argc == 4)
		return cmd_box(argv[0], argv[1], argv[2], argv[3]);
	if (strcmp(cmd, "info") == 0 && argc == 1)
		return cmd_info(argv[0]);
	if (strcmp(cmd, "codecbench") == 0 && argc == 1)
		return cmd_codecbench(&g, argv[0]);
	if (strcmp(cmd, "hashbench") == 0 && argc == 1)
		return cmd_hashbench(argv[0]);
	if (strcmp(cmd, "copybench") == 0 && argc == 1)
		return cmd_copybench(argv[0]);
	if (strcmp(cmd, "minmem") == 0 && argc == 0) {
		struct em_zarr_meta m;
		struct em_codec cd;
		if (em_codec_from_name(g.codec, g.level, &cd) < 0 ||
		    em_zarr_meta_init(&m, g.ndim, g.shape, g.chunks, g.dtype, &cd) < 0 ||
		    em_zarr_meta_set_format(&m, g.format, g.nshard ? g.shard : NULL) < 0)
			em_die(2, "bad array: %s", em_errmsg());
		printf("%llu\n", (unsigned long long)em_zwriter_min_memory(&m, g.jobs,
		    g.nboxes ? g.boxes : NULL));
		return 0;
	}
	usage(stderr, 2);
	return 2;
}
