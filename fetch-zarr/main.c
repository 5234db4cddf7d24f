/* fetch-zarr - copy a box of a remote Zarr v2, Zarr v3 or N5 array into a local OME-Zarr store */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/blockfetch.h"
#include "tool/fetch.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "meta/record.h"
#include "sources/remote.h"
#include "tool/tool.h"
#include "core/banned.h"

enum { OPT_LEVEL = EM_OPT_TOOL, OPT_BOX, OPT_CLEVEL, OPT_ID };

/* A box, from --box or sources.openorganelle.box; far below where its sums could wrap. */
#define BOX_FORM "Z0:Z1,Y0:Y1,X0:X1, each start below its end"
#define BOX_MAX (UINT64_MAX / 4)

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: fetch-zarr [URL] [--level PATH] [--box Z0:Z1,Y0:Y1,X0:X1] [--strict] [--id ID]\n"
	    "       [-o DIR] [--chunks Z,Y,X] [--compressor NAME] [--compressor-level N]\n"
	    "       [--zarr-format 2|3] [--shard Z,Y,X] [--max-memory SIZE] [-j N]\n"
	    "       [--config FILE] [--cacert FILE] [--max-download SIZE] [--overwrite]\n"
	    "       [--wait[=SECONDS]] [--verify] [--levels auto|N]\n"
	    "       [--downsample mean|mode|nearest] [--part I/N] [--progress]\n"
	    "       [--progress-file FILE] [-q] [-v]\n");
	exit(status);
}

/* The source as the engine sees it: blocks are the array's chunks in its 3-D view. */
struct run {
	struct em_remote *r;
	const struct em_remote_info *in;
	struct em_http *hidx;		/* metadata and shard indexes, one at a time */
	struct em_codec_ctx *cx;
	struct em_fetch *f;
	int switched;			/* the other key separator, when all_missing switched to it */
	int nd;				/* the source's dimensions */
	unsigned char *chunk;		/* one decoded chunk, made when the first one comes */
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

static int
chunk_buffer(struct run *x)
{
	if (x->chunk == NULL && (x->chunk = malloc(em_remote_chunk_bytes(x->r))) == NULL)
		return em_fail("out of memory");
	return 0;
}

static int
request(void *ctx, const struct em_block *b, char *url, size_t n, uint64_t *off, uint64_t *len,
    size_t *max)
{
	struct run *x = ctx;
	uint64_t cs[EM_ZARR_MAXDIM];

	long st;
	int rc;

	src_index(x, b->idx, cs);
	*max = em_remote_max_encoded(x->r);
	rc = em_remote_locate(x->r, x->hidx, cs, url, n, off, len);
	if (rc != EM_HTTP_MISSING)
		return rc;
	/* A shard index's empty entry is written emptiness; a shard not there is missing. */
	st = em_remote_missing_status(x->r);
	return st == 0 ? EM_BLOCKFETCH_EMPTY : st == 403 ? EM_BLOCKFETCH_DENIED : EM_HTTP_MISSING;
}

/* No chunk of the box where .zarray's keys say: its writer may have used the other separator. */
static int
all_missing(void *ctx)
{
	struct run *x = ctx;
	int sep = em_remote_other_separator(x->r);

	if (sep == 0)
		return 0;
	em_log(EM_LOG_WARN, "'%s/.zarray' names no dimension_separator and none of the box's "
	    "chunks is at '%c' keys (the default): trying '%c' keys", x->in->url,
	    sep == '/' ? '.' : '/', sep);
	json_object_set_new(json_object_get(x->f->rec, "source_metadata"), "key_separator",
	    json_string(sep == '/' ? "/" : "."));
	x->switched = sep;
	return 1;
}

static int
decode(void *ctx, const struct em_block *b, const struct em_http_reply *rp, const void **data)
{
	struct run *x = ctx;
	uint64_t cs[EM_ZARR_MAXDIM];

	if (chunk_buffer(x) < 0)
		return -1;
	src_index(x, b->idx, cs);
	/* Any chunk that does not decode is asked for again: a body cut on the way looks the same. */
	if (em_remote_decode(x->r, x->cx, cs, rp->body, rp->len, x->chunk) < 0) {
		em_fail_ctx("chunk '%s'", rp->url);
		return EM_BLOCKFETCH_AGAIN;
	}
	*data = x->chunk;
	return 0;
}

static int
fill(void *ctx, const struct em_block *b, const void **data)
{
	struct run *x = ctx;

	(void)b;
	if (chunk_buffer(x) < 0)
		return -1;
	em_remote_fill(x->r, x->chunk);
	*data = x->chunk;
	return 0;
}

static const struct em_blockfetch_ops ops = { request, decode, fill };

/* The store extensions taken off names in ids. */
static const char *const store_ext[] = { ".zarr", ".n5", ".zr", NULL };

/* name (n bytes) without a store extension, into out. */
static void
strip_ext(const char *name, size_t n, char *out, size_t outn)
{
	size_t i, e;

	for (i = 0; store_ext[i] != NULL; i++) {
		e = strlen(store_ext[i]);
		if (n > e && strncmp(name + n - e, store_ext[i], e) == 0) {
			n -= e;
			break;
		}
	}
	snprintf(out, outn, "%.*s", (int)n, name);
}

/*
 * One safe path component from the array's dataset, name, level and box:
 * <dataset>_<array>_<level>[_z..-.._y..-.._x..-..], where the dataset is the
 * last component of the URL's path before the array that ends in .zarr,
 * .n5 or .zr (OpenOrganelle's jrc_hela-2.zarr/recon-1/em/fibsem-int16 and
 * jrc_mus-nacc-2.zarr/recon-2/em/fibsem-int16 are both "fibsem-int16"),
 * and prefix (sources.openorganelle.dataset) comes first when it is set
 * and not the dataset itself.
 */
static void
make_id(const char *url, const char *level, const char *prefix, int boxed, const uint64_t *b0,
    const uint64_t *b1, char *id, size_t n)
{
	char name[256], ds[256], lv[128];
	const char *p, *comp, *path;
	size_t len, i, o;

	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	/* The path: after "scheme://host". */
	path = strstr(url, "://");
	path = path != NULL ? path + 3 : url;
	if ((p = strchr(path, '/')) != NULL && p < url + len)
		path = p;
	ds[0] = name[0] = '\0';
	for (comp = path; comp < url + len; comp = p + 1) {
		size_t cl;

		while (comp < url + len && *comp == '/')
			comp++;
		p = memchr(comp, '/', (size_t)(url + len - comp));
		if (p == NULL)
			p = url + len;
		cl = (size_t)(p - comp);
		if (p == url + len) {
			strip_ext(comp, cl, name, sizeof(name));
			break;
		}
		for (i = 0; store_ext[i] != NULL; i++) {
			size_t e = strlen(store_ext[i]);
			if (cl > e && strncmp(comp + cl - e, store_ext[i], e) == 0)
				strip_ext(comp, cl, ds, sizeof(ds));
		}
	}
	if (prefix != NULL && strcmp(prefix, ds) == 0)
		ds[0] = '\0';
	snprintf(lv, sizeof(lv), "%s", level ? level : "");
	o = (size_t)snprintf(id, n, "%s%s%s%s%s%s%s", prefix ? prefix : "", prefix ? "_" : "", ds,
	    ds[0] ? "_" : "", name, level ? "_" : "", lv);
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
record_source(struct em_fetch *f, const struct em_remote_info *in, const struct em_blockfetch *bf,
    const char *url, int boxed)
{
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
		json_array_append_new(box, json_pack("[II]", (json_int_t)bf->b0[i],
		    (json_int_t)bf->b1[i]));
	json_object_set_new(sm, "box", box);
	json_object_set_new(sm, "box_given", json_boolean(boxed));
	if (in->offset_known && in->voxel_known && in->ndim >= 3) {
		json_t *o = json_array();
		for (i = 0; i < 3; i++) {
			int d = in->ndim - 3 + i;
			json_array_append_new(o, json_real(in->offset_nm[d] +
			    (double)bf->b0[i] * in->voxel_nm[d]));
		}
		json_object_set_new(sm, "offset_nm", o);
	}
	if (in->meta != NULL)
		json_object_set_new(sm, "array_metadata", json_deep_copy(in->meta));
	if (em_record_set(f->rec, "source_metadata", sm) < 0)
		return -1;
	return em_record_set_str(f->rec, "download_url", in->url);
}

int
main(int argc, char **argv)
{
	/* --level names the array here; the store's level is --compressor-level. */
	static const struct option ownopts[] = {
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "box", required_argument, NULL, OPT_BOX },
		{ "compressor-level", required_argument, NULL, OPT_CLEVEL },
		{ "id", required_argument, NULL, OPT_ID },
		EM_FETCH_OPT_STRICT,
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct run x;
	struct em_blockfetch bf;
	struct em_http_opts ho;
	const char *url = NULL, *level = NULL, *boxarg = NULL, *prefix = NULL, *idopt = NULL;
	char defurl[4096], id[256], what[4200];
	double voxel[3];
	const char *prov[3] = { "archive-api", "archive-api", "archive-api" };
	uint64_t shape[3], cb;
	int c, status = EM_EXIT_FAIL, boxed = 0, clevel = -1, d;

	memset(&x, 0, sizeof(x));
	memset(&bf, 0, sizeof(bf));
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
			if (em_parse_range_list(optarg, bf.b0, bf.b1, 3, BOX_MAX) < 0) {
				em_err("bad --box: %s (%s)", em_errmsg(), BOX_FORM);
				usage(stderr, EM_EXIT_USAGE);
			}
			continue;
		case OPT_ID:
			idopt = optarg;
			if (strlen(idopt) >= sizeof(id)) {
				em_err("bad --id: longer than %zu bytes", sizeof(id) - 1);
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
	if (em_fetch_begin(&f, "fetch-zarr", "openorganelle", 8, &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		em_fetch_end(&f);
		return em_tool_end(EM_EXIT_FAIL);
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
		    em_parse_range_list(boxarg, bf.b0, bf.b1, 3, BOX_MAX) < 0) {
			em_err("bad sources.openorganelle.box: %s (%s)", em_errmsg(), BOX_FORM);
			goto end;
		}
		prefix = em_fetch_conf_str(&f, "dataset", NULL);
	}
	boxed = boxarg != NULL;
	ho = f.http_opts;
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
		make_id(url, level, prefix, boxed, bf.b0, bf.b1, id, sizeof(id));
		if (idopt != NULL)
			snprintf(id, sizeof(id), "%s", idopt);
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
		shape[d] = sd >= 0 ? x.in->shape[sd] : 1;
		bf.block[d] = sd >= 0 ? x.in->chunks[sd] : 1;
		/* A shard's chunks together, so that its index is read once. */
		bf.group[d] = (sd >= 0 ? x.in->shard[sd] : 1) / bf.block[d];
		if (shape[d] == 0) {
			em_err("cannot fetch '%s': the array is empty", x.in->url);
			goto end;
		}
	}
	if (!boxed) {
		memset(bf.b0, 0, sizeof(bf.b0));
		memcpy(bf.b1, shape, sizeof(bf.b1));
	}
	for (d = 0; d < 3; d++)
		if (bf.b1[d] > shape[d]) {
			em_err("box %s is outside the array '%s' of shape %" PRIu64 ",%" PRIu64 ",%"
			    PRIu64 " (z,y,x)", boxarg, x.in->url, shape[0], shape[1], shape[2]);
			goto end;
		}
	make_id(x.in->group_url ? x.in->group_url : x.in->url, x.in->level, prefix, boxed, bf.b0,
	    bf.b1, id, sizeof(id));
	if (idopt != NULL)
		snprintf(id, sizeof(id), "%s", idopt);
	if (em_fetch_set_id(&f, id) < 0) {
		em_err("cannot start '%s': %s", id, em_errmsg());
		goto end;
	}
	if (prefix != NULL && em_fetch_describe(&f) < 0) {
		status = em_fetch_fail(&f, "record");
		goto end;
	}
	if (record_source(&f, x.in, &bf, url, boxed) < 0) {
		status = em_fetch_fail(&f, "record");
		goto end;
	}
	if (x.in->voxel_known && x.nd >= 3)
		for (d = 0; d < 3; d++)
			voxel[d] = x.in->voxel_nm[x.nd - 3 + d];
	if ((x.cx = em_codec_ctx_new()) == NULL) {
		em_fail("out of memory");
		status = em_fetch_fail(&f, "cannot fetch");
		goto end;
	}
	bf.ops = &ops;
	bf.ctx = &x;
	bf.all_missing = all_missing;
	x.f = &f;
	bf.url = x.in->url;
	bf.dtype = x.in->dtype;
	bf.whole = 1;
	bf.max_body = em_remote_max_encoded(x.r);
	/* The decoded chunk, the decoders' scratch (two chunks) and a shard index read. */
	cb = em_remote_chunk_bytes(x.r);
	bf.own_bytes = 3 * cb + 2 * em_remote_max_encoded(x.r);
	status = em_blockfetch_run(&f, &bf, x.in->voxel_known && x.nd >= 3 ? voxel : NULL, prov);
	if (status == 0 && x.switched)
		em_log(EM_LOG_WARN, "%s: the chunks are at '%c' keys: read so (the record's "
		    "source_metadata.key_separator)", x.in->url, x.switched);
end:
	if (em_interrupted() && status == EM_EXIT_FAIL && f.rec == NULL)
		status = em_interrupt_status();
	em_remote_free(x.r);
	em_http_free(x.hidx);
	em_codec_ctx_free(x.cx);
	free(x.chunk);
	em_fetch_end(&f);
	return em_tool_end(status);
}
