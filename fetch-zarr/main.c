/* fetch-zarr - copy a box of a remote Zarr v2, Zarr v3 or N5 array into a local OME-Zarr store */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/fetch.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "meta/record.h"
#include "sources/remote.h"
#include "tool/tool.h"
#include "core/banned.h"

enum { OPT_LEVEL = EM_OPT_TOOL, OPT_BOX, OPT_CLEVEL };

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: fetch-zarr [URL] [--level PATH] [--box Z0:Z1,Y0:Y1,X0:X1]\n"
	    "       [-o DIR] [--chunks Z,Y,X] [--compressor NAME] [--compressor-level N]\n"
	    "       [--max-memory SIZE] [-j N] [--config FILE] [--cacert FILE]\n"
	    "       [--progress] [-q] [-v]\n");
	exit(status);
}

/* One request in flight: the chunk it is for. */
struct unit {
	uint64_t c[3];		/* chunk index, in the 3-D view */
	uint64_t off, len;	/* the byte range asked for (len 0: all) */
	int tries;		/* answers that did not decode */
};

struct run {
	struct em_fetch *f;
	struct em_remote *r;
	const struct em_remote_info *in;
	struct em_http *h;		/* the chunks' multi run */
	struct em_http *hidx;		/* metadata and shard indexes, one at a time */
	struct em_codec_ctx *cx;
	int nd;				/* the source's dimensions */
	uint64_t shape[3], chunks[3], shard[3];	/* the 3-D view of the source */
	uint64_t b0[3], b1[3];		/* the box, in the 3-D view */
	/* Iteration: shards in C order, then the chunks of each. */
	uint64_t s_lo[3], s_hi[3], s[3];
	uint64_t c_lo[3], c_hi[3], c[3];
	int started, finished;
	int attempts;
	struct em_http_multi *m;
	unsigned char *chunk, *pack;
	uint64_t fetched, missing, skipped, retried;
};

/* The source's chunk index of a 3-D one (leading dimensions are 0). */
static void
src_index(const struct run *x, const uint64_t *c3, uint64_t *cs)
{
	int i;

	for (i = 0; i < x->nd; i++) {
		int d = i - (x->nd - 3);
		cs[i] = d >= 0 ? c3[d] : 0;
	}
}

static void
chunk_range(struct run *x)
{
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t g = x->shard[i] / x->chunks[i];
		uint64_t lo = x->s[i] * g, hi = lo + g;
		uint64_t blo = x->b0[i] / x->chunks[i];
		uint64_t bhi = (x->b1[i] + x->chunks[i] - 1) / x->chunks[i];
		x->c_lo[i] = lo > blo ? lo : blo;
		x->c_hi[i] = hi < bhi ? hi : bhi;
		x->c[i] = x->c_lo[i];
	}
}

/* The next chunk to read, in c; 0 at the end. */
static int
next_chunk(struct run *x, uint64_t *c)
{
	int i;

	if (x->finished)
		return 0;
	if (!x->started) {
		x->started = 1;
		memcpy(x->s, x->s_lo, sizeof(x->s));
		chunk_range(x);
		memcpy(c, x->c, sizeof(x->c));
		return 1;
	}
	for (i = 2; i >= 0; i--) {
		if (++x->c[i] < x->c_hi[i])
			break;
		x->c[i] = x->c_lo[i];
	}
	if (i < 0) {
		/* Next shard. */
		for (i = 2; i >= 0; i--) {
			if (++x->s[i] < x->s_hi[i])
				break;
			x->s[i] = x->s_lo[i];
		}
		if (i < 0) {
			x->finished = 1;
			return 0;
		}
		chunk_range(x);
	}
	memcpy(c, x->c, sizeof(x->c));
	return 1;
}

/* The part of chunk c inside the box: source start lo, count n. */
static void
chunk_part(const struct run *x, const uint64_t *c, uint64_t *lo, uint64_t *n)
{
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t a = c[i] * x->chunks[i], b = a + x->chunks[i];
		if (a < x->b0[i])
			a = x->b0[i];
		if (b > x->b1[i])
			b = x->b1[i];
		lo[i] = a;
		n[i] = b - a;
	}
}

/* Put the decoded chunk c (in x->chunk) into the store. */
static int
put_chunk(struct run *x, const uint64_t *c)
{
	uint64_t lo[3], n[3], off[3], out[3], zero[3] = { 0, 0, 0 };
	size_t isz = em_dtype_size(x->in->dtype);
	int i, whole = 1;

	chunk_part(x, c, lo, n);
	for (i = 0; i < 3; i++) {
		off[i] = lo[i] - c[i] * x->chunks[i];
		out[i] = lo[i] - x->b0[i];
		if (n[i] != x->chunks[i])
			whole = 0;
	}
	if (whole)
		return em_fetch_put_box(x->f, out, n, x->chunk);
	em_zarr_copy_box(3, isz, x->pack, n, zero, x->chunk, x->chunks, off, n);
	return em_fetch_put_box(x->f, out, n, x->pack);
}

static int
on_done(void *ctx, const struct em_http_reply *rp)
{
	struct run *x = ctx;
	struct unit *u = rp->user;
	uint64_t cs[EM_ZARR_MAXDIM];
	int rc = -1;

	if (em_interrupted()) {
		em_fail("interrupted");
		goto out;
	}
	if (rp->result < 0) {
		em_fail("%s", rp->error);
		goto out;
	}
	src_index(x, u->c, cs);
	if (rp->result == EM_HTTP_MISSING) {
		em_remote_fill(x->r, x->chunk);
		x->missing++;
	} else if (em_remote_decode(x->r, x->cx, cs, rp->body, rp->len, x->chunk) < 0) {
		/* A body cut or garbled on the way is fetched again; a bad chunk stays bad. */
		if (++u->tries < x->attempts) {
			em_log(EM_LOG_INFO, "chunk '%s': %s; fetching it again", rp->url, em_errmsg());
			x->retried++;
			if (em_http_multi_add(x->m, rp->url, u->off, u->len,
			    em_remote_max_encoded(x->r), u) < 0)
				goto out;
			return 0;
		}
		em_fail_ctx("chunk '%s' (%d attempts)", rp->url, u->tries);
		goto out;
	} else {
		x->fetched++;
	}
	rc = put_chunk(x, u->c);
out:
	free(u);
	return rc;
}

static int
on_feed(void *ctx, struct em_http_multi *m)
{
	struct run *x = ctx;
	char url[8192];
	uint64_t c[3], cs[EM_ZARR_MAXDIM], lo[3], n[3], out[3], off, len;
	struct unit *u;
	int rc, i;

	while (next_chunk(x, c)) {
		if (em_interrupted())
			return em_fail("interrupted");
		chunk_part(x, c, lo, n);
		for (i = 0; i < 3; i++)
			out[i] = lo[i] - x->b0[i];
		rc = em_fetch_box_done(x->f, out, n);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			x->skipped++;
			continue;
		}
		src_index(x, c, cs);
		rc = em_remote_locate(x->r, x->hidx, cs, url, sizeof(url), &off, &len);
		if (rc < 0)
			return -1;
		if (rc == EM_HTTP_MISSING) {
			em_remote_fill(x->r, x->chunk);
			x->missing++;
			if (put_chunk(x, c) < 0)
				return -1;
			continue;
		}
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return em_fail("out of memory");
		memcpy(u->c, c, sizeof(u->c));
		u->off = off;
		u->len = len;
		if (em_http_multi_add(m, url, off, len, em_remote_max_encoded(x->r), u) < 0) {
			free(u);
			return -1;
		}
		return 1;
	}
	return 0;
}

/* "Z0:Z1,Y0:Y1,X0:X1" */
static int
parse_box(const char *s, uint64_t *b0, uint64_t *b1)
{
	const char *p = s;
	char *end;
	int i;

	for (i = 0; i < 3; i++) {
		unsigned long long a, b;
		if (*p < '0' || *p > '9')
			goto bad;
		a = strtoull(p, &end, 10);
		if (*end != ':' || end[1] < '0' || end[1] > '9')
			goto bad;
		b = strtoull(end + 1, &end, 10);
		if (*end != (i < 2 ? ',' : '\0') || b <= a)
			goto bad;
		b0[i] = a;
		b1[i] = b;
		p = end + 1;
	}
	return 0;
bad:
	return em_fail("box '%s' is not Z0:Z1,Y0:Y1,X0:X1 with each start below its end", s);
}

/* One safe path component from the array's name, its level and the box. */
static void
make_id(const char *url, const char *level, const char *prefix, int boxed, const uint64_t *b0,
    const uint64_t *b1, char *id, size_t n)
{
	char name[256], lv[128];
	const char *base;
	size_t len, i, o;

	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	base = url;
	for (i = 0; i < len; i++)
		if (url[i] == '/')
			base = url + i + 1;
	len -= (size_t)(base - url);
	snprintf(name, sizeof(name), "%.*s", (int)len, base);
	for (i = 0; i < 3; i++) {
		static const char *const ext[] = { ".zarr", ".n5", ".zr" };
		size_t l = strlen(name), e = strlen(ext[i]);
		if (l > e && strcmp(name + l - e, ext[i]) == 0)
			name[l - e] = '\0';
	}
	snprintf(lv, sizeof(lv), "%s", level ? level : "");
	o = (size_t)snprintf(id, n, "%s%s%s%s%s", prefix ? prefix : "", prefix ? "_" : "", name,
	    level ? "_" : "", lv);
	if (boxed && o < n)
		snprintf(id + o, n - o, "_z%" PRIu64 "-%" PRIu64 "_y%" PRIu64 "-%" PRIu64 "_x%" PRIu64
		    "-%" PRIu64, b0[0], b1[0], b0[1], b1[1], b0[2], b1[2]);
	for (i = 0; id[i] != '\0'; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			id[i] = '_';
	}
	if (id[0] == '.' || id[0] == '-' || id[0] == '\0')
		id[0] = '_';
}

static json_t *
u64_array(const uint64_t *v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)v[i]));
	return a;
}

static int
record_source(struct run *x, const char *url, int boxed)
{
	const struct em_remote_info *in = x->in;
	json_t *sm = json_object(), *box;
	int i;

	if (sm == NULL)
		return em_fail("out of memory");
	json_object_set_new(sm, "format", json_string(in->format_name));
	json_object_set_new(sm, "url", json_string(url));
	json_object_set_new(sm, "array_url", json_string(in->url));
	if (in->group_url != NULL)
		json_object_set_new(sm, "group_url", json_string(in->group_url));
	if (in->level != NULL)
		json_object_set_new(sm, "level", json_string(in->level));
	json_object_set_new(sm, "shape", u64_array(in->shape, in->ndim));
	json_object_set_new(sm, "chunks", u64_array(in->chunks, in->ndim));
	if (in->sharded)
		json_object_set_new(sm, "shard", u64_array(in->shard, in->ndim));
	json_object_set_new(sm, "data_type", json_string(em_dtype_name(in->dtype)));
	json_object_set_new(sm, "codecs", json_string(in->codecs));
	box = json_array();
	for (i = 0; i < 3; i++)
		json_array_append_new(box, json_pack("[II]", (json_int_t)x->b0[i],
		    (json_int_t)x->b1[i]));
	json_object_set_new(sm, "box", box);
	json_object_set_new(sm, "box_given", json_boolean(boxed));
	if (in->offset_known && in->voxel_known && in->ndim >= 3) {
		json_t *o = json_array();
		for (i = 0; i < 3; i++) {
			int d = in->ndim - 3 + i;
			json_array_append_new(o, json_real(in->offset_nm[d] +
			    (double)x->b0[i] * in->voxel_nm[d]));
		}
		json_object_set_new(sm, "offset_nm", o);
	}
	if (in->meta != NULL)
		json_object_set_new(sm, "array_metadata", json_deep_copy(in->meta));
	if (em_record_set(x->f->rec, "source_metadata", sm) < 0)
		return -1;
	return em_record_set_str(x->f->rec, "download_url", in->url);
}

int
main(int argc, char **argv)
{
	/* --level names the array here; the store's level is --compressor-level. */
	static const struct option ownopts[] = {
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "box", required_argument, NULL, OPT_BOX },
		{ "compressor-level", required_argument, NULL, OPT_CLEVEL },
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct run x;
	struct em_http_opts ho;
	struct em_http_multi *m = NULL;
	const char *url = NULL, *level = NULL, *boxarg = NULL, *prefix = NULL;
	char defurl[4096], id[256], what[4200];
	double voxel[3];
	const char *prov[3] = { "archive-api", "archive-api", "archive-api" };
	uint64_t box[3];
	int c, status = EM_EXIT_FAIL, boxed = 0, clevel = -1, d;

	memset(&x, 0, sizeof(x));
	em_tool_begin(argv[0]);
	em_fetch_opts_init(&o);
	while ((c = em_fetch_getopt(argc, argv, ownopts, sizeof(ownopts) / sizeof(ownopts[0]), &o,
	    usage)) != -1) {
		switch (c) {
		case OPT_LEVEL:
			level = optarg;
			continue;
		case OPT_BOX:
			boxarg = optarg;
			if (parse_box(optarg, x.b0, x.b1) < 0) {
				em_err("%s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			continue;
		case OPT_CLEVEL:
			if (em_parse_int(optarg, 0, 22, &clevel) < 0) {
				em_err("bad --compressor-level: %s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			o.level = clevel;
			continue;
		default:
			break;
		}
	}
	url = o.url;
	if (optind < argc) {
		if (url != NULL || optind + 1 < argc)
			usage(stderr, EM_EXIT_USAGE);
		url = argv[optind];
	}
	em_interrupt_install();
	if (em_fetch_begin(&f, "fetch-zarr", "openorganelle", &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		em_fetch_end(&f);
		return em_tool_end(EM_EXIT_FAIL);
	}
	x.f = &f;
	if (o.jobs == 0) {
		long long v;
		if (em_config_get_int(f.cfg, "sources.openorganelle.max_parallel", 8, &v) < 0 ||
		    v < 1 || v > 256) {
			em_err("bad sources.openorganelle.max_parallel: %s", em_errmsg());
			goto end;
		}
		f.jobs = (int)v;
	}
	if (url == NULL) {
		const char *zu = em_fetch_conf_str(&f, "zarr_url", NULL);
		const char *arr = em_fetch_conf_str(&f, "array", NULL);
		if (zu == NULL) {
			em_err("no URL given and no sources.openorganelle.zarr_url in '%s'",
			    em_config_name(f.cfg));
			goto end;
		}
		snprintf(defurl, sizeof(defurl), "%s%s%s", zu, arr ? "/" : "", arr ? arr : "");
		url = defurl;
		if (level == NULL)
			level = em_fetch_conf_str(&f, "level", NULL);
		if (boxarg == NULL && (boxarg = em_fetch_conf_str(&f, "box", NULL)) != NULL &&
		    parse_box(boxarg, x.b0, x.b1) < 0) {
			em_err("bad sources.openorganelle.box: %s", em_errmsg());
			goto end;
		}
		prefix = em_fetch_conf_str(&f, "dataset", NULL);
	}
	boxed = boxarg != NULL;
	em_http_opts_init(&ho);
	ho = f.http_opts;
	ho.jobs = f.jobs;
	ho.progress = NULL;
	if ((x.hidx = em_http_new(&ho)) == NULL) {
		em_err("cannot start: %s", em_errmsg());
		goto end;
	}
	x.r = em_remote_open(x.hidx, url, level);
	if (x.r == NULL) {
		/* The record says why, under the id the array would have had. */
		char why[2048];
		snprintf(why, sizeof(why), "%s", em_errmsg());
		make_id(url, level, prefix, boxed, x.b0, x.b1, id, sizeof(id));
		if (em_fetch_set_id(&f, id) < 0) {
			em_err("cannot open '%s': %s", url, why);
			goto end;
		}
		em_fail("%s", why);
		snprintf(what, sizeof(what), "cannot open '%s'", url);
		status = em_fetch_fail(&f, what);
		goto end;
	}
	x.in = em_remote_info(x.r);
	x.nd = x.in->ndim;
	for (d = 0; d < x.nd - 3; d++)
		if (x.in->shape[d] != 1) {
			em_err("cannot fetch '%s': %d dimensions with more than three of them over 1",
			    x.in->url, x.nd);
			goto end;
		}
	for (d = 0; d < 3; d++) {
		int sd = x.nd - 3 + d;
		x.shape[d] = sd >= 0 ? x.in->shape[sd] : 1;
		x.chunks[d] = sd >= 0 ? x.in->chunks[sd] : 1;
		x.shard[d] = sd >= 0 ? x.in->shard[sd] : 1;
		if (x.shape[d] == 0) {
			em_err("cannot fetch '%s': the array is empty", x.in->url);
			goto end;
		}
	}
	if (!boxed) {
		memset(x.b0, 0, sizeof(x.b0));
		memcpy(x.b1, x.shape, sizeof(x.b1));
	}
	for (d = 0; d < 3; d++) {
		if (x.b1[d] > x.shape[d]) {
			em_err("box %s is outside the array '%s' of shape %" PRIu64 ",%" PRIu64 ",%"
			    PRIu64 " (z,y,x)", boxarg, x.in->url, x.shape[0], x.shape[1],
			    x.shape[2]);
			goto end;
		}
		box[d] = x.b1[d] - x.b0[d];
		x.s_lo[d] = x.b0[d] / x.shard[d];
		x.s_hi[d] = (x.b1[d] + x.shard[d] - 1) / x.shard[d];
	}
	make_id(x.in->group_url ? x.in->group_url : x.in->url, x.in->level, prefix, boxed, x.b0,
	    x.b1, id, sizeof(id));
	if (em_fetch_set_id(&f, id) < 0) {
		em_err("cannot start '%s': %s", id, em_errmsg());
		goto end;
	}
	if (prefix != NULL && em_fetch_describe(&f) < 0) {
		status = em_fetch_fail(&f, "record");
		goto end;
	}
	if (record_source(&x, url, boxed) < 0) {
		status = em_fetch_fail(&f, "record");
		goto end;
	}
	if (x.in->voxel_known && x.nd >= 3)
		for (d = 0; d < 3; d++)
			voxel[d] = x.in->voxel_nm[x.nd - 3 + d];
	{
		uint64_t cb = em_remote_chunk_bytes(x.r), wbox[3];
		uint64_t caller = (uint64_t)f.jobs * em_remote_max_encoded(x.r) + 4 * cb +
		    2 * em_remote_max_encoded(x.r);
		for (d = 0; d < 3; d++)
			wbox[d] = x.chunks[d] < box[d] ? x.chunks[d] : box[d];
		if (em_fetch_open_store(&f, box, x.in->dtype, x.in->voxel_known && x.nd >= 3 ?
		    voxel : NULL, prov, wbox, caller) < 0) {
			snprintf(what, sizeof(what), "cannot open store '%s'", f.store);
			status = em_fetch_fail(&f, what);
			goto end;
		}
		x.chunk = malloc(cb);
		x.pack = malloc(cb);
		x.cx = em_codec_ctx_new();
		if (x.chunk == NULL || x.pack == NULL || x.cx == NULL) {
			em_fail("out of memory");
			status = em_fetch_fail(&f, "cannot fetch");
			goto end;
		}
	}
	/* The store's writer may have taken fewer jobs to fit --max-memory. */
	ho.jobs = f.jobs;
	x.attempts = ho.attempts;
	if ((x.h = em_http_new(&ho)) == NULL || (m = em_http_multi_new(x.h, on_done, &x)) == NULL) {
		status = em_fetch_fail(&f, "cannot fetch");
		goto end;
	}
	x.m = m;
	/* Requests a stopped run (a signal, an error) did not hand back are freed by the multi. */
	em_http_multi_set_release(m, free);
	if (em_http_multi_run(m, on_feed, &x) < 0) {
		snprintf(what, sizeof(what), "cannot fetch '%s'", x.in->url);
		status = em_fetch_fail(&f, what);
		goto end;
	}
	em_log(EM_LOG_INFO, "%s: %" PRIu64 " chunks fetched, %" PRIu64 " missing (fill value), %"
	    PRIu64 " skipped (already in the store), %" PRIu64 " fetched again", x.in->url,
	    x.fetched, x.missing, x.skipped, x.retried);
	status = em_fetch_done(&f);
end:
	if (em_interrupted() && status == EM_EXIT_FAIL && f.rec == NULL)
		status = em_interrupt_status();
	em_http_multi_free(m);
	em_remote_free(x.r);
	em_http_free(x.h);
	em_http_free(x.hidx);
	em_codec_ctx_free(x.cx);
	free(x.chunk);
	free(x.pack);
	em_fetch_end(&f);
	return em_tool_end(status);
}
