/* remote.c - a Zarr v2, Zarr v3 (sharded or not) or N5 array read over HTTP, chunk by chunk */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/dtype.h"
#include "core/safepath.h"
#include "sources/remote_internal.h"
#include "store/ngff.h"
#include "core/banned.h"

/* ---- fetching metadata ---- */

static char *
join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s;

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[0] == '/')
		b++, lb--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	if ((s = malloc(la + lb + 2)) == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb);
	s[la + 1 + lb] = '\0';
	if (lb == 0)
		s[la] = '\0';
	return s;
}

/* GET base/name as JSON: 0 with *out, EM_HTTP_MISSING, or -1. */
static int
get_json(struct em_http *h, const char *base, const char *name, json_t **out)
{
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	json_error_t e;
	char *u = join(base, name);
	int rc;

	*out = NULL;
	if (u == NULL)
		return -1;
	rc = em_http_get(h, u, EM_REMOTE_MAX_META_BYTES, &resp);
	if (rc != 0)
		goto out;
	*out = json_loadb(resp.body ? resp.body : "", resp.len, 0, &e);
	if (*out == NULL) {
		rc = em_fail("'%s' is not JSON: %s (line %d)", u, e.text, e.line);
	} else if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = em_fail("'%s' is not a JSON object", u);
	}
out:
	em_http_resp_release(&resp);
	free(u);
	return rc;
}

int
em_remote_dims(const json_t *v, const char *what, uint64_t *out, int *n)
{
	if (em_zarr_u64_list(v, what, out, n) < 0)
		return -1;
	if (*n == 0)
		return em_fail("'%s' is not a non-empty list", what);
	return 0;
}

int
em_remote_codec_by_id(const char *id, struct em_codec *c)
{
	json_t *j = json_pack("{s:s}", "id", id);
	int rc;

	if (j == NULL)
		return em_fail("out of memory");
	rc = em_codec_from_json(j, c);
	json_decref(j);
	return rc;
}

/* ---- opening ---- */

static void
set_urls(struct em_remote *r)
{
	r->in.url = r->url;
	r->in.group_url = r->group_url;
	r->in.level = r->level;
	r->in.meta = r->meta;
}

/* Read the array's own metadata at r->url: 0, EM_HTTP_MISSING (none there), -1. */
static int
open_array(struct em_remote *r, struct em_http *h, json_t **attrs)
{
	json_t *j = NULL;
	int rc;

	*attrs = NULL;
	rc = get_json(h, r->url, "zarr.json", &j);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		const char *nt = json_string_value(json_object_get(j, "node_type"));
		r->meta = j;
		if (!json_is_integer(json_object_get(j, "zarr_format")) ||
		    json_integer_value(json_object_get(j, "zarr_format")) != 3)
			return em_fail("'%s/zarr.json': zarr_format is not 3", r->url);
		if (nt == NULL || strcmp(nt, "array") != 0)
			return EM_HTTP_MISSING;
		r->in.format = EM_REMOTE_ZARR3;
		if (em_remote_open_zarr3(r, j) < 0)
			return em_fail_ctx("'%s/zarr.json'", r->url);
		*attrs = json_incref(json_object_get(j, "attributes"));
		return 0;
	}
	rc = get_json(h, r->url, ".zarray", &j);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		r->meta = j;
		r->in.format = EM_REMOTE_ZARR2;
		if (em_zarr_meta_from_json(&r->zm, j) < 0)
			return em_fail_ctx("'%s/.zarray'", r->url);
		r->in.ndim = r->zm.ndim;
		memcpy(r->in.shape, r->zm.shape, sizeof(r->in.shape));
		memcpy(r->in.chunks, r->zm.chunks, sizeof(r->in.chunks));
		memcpy(r->in.shard, r->zm.chunks, sizeof(r->in.shard));
		r->in.dtype = r->zm.dtype;
		memcpy(r->in.fill, r->zm.fill, sizeof(r->in.fill));
		r->isz = em_dtype_size(r->zm.dtype);
		{
			char d[64];
			snprintf(r->in.codecs, sizeof(r->in.codecs), "%s%s%s",
			    em_codec_describe(&r->zm.codec, d, sizeof(d)),
			    r->zm.order_f ? ", order F" : "", r->zm.big_endian ? ", big-endian" : "");
		}
		rc = get_json(h, r->url, ".zattrs", attrs);
		return rc < 0 ? -1 : 0;
	}
	rc = get_json(h, r->url, "attributes.json", &j);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		r->meta = j;
		if (json_object_get(j, "dimensions") == NULL)
			return EM_HTTP_MISSING;
		r->in.format = EM_REMOTE_N5;
		if (em_remote_open_n5(r, j) < 0)
			return em_fail_ctx("'%s/attributes.json'", r->url);
		*attrs = json_incref(j);
		return 0;
	}
	return EM_HTTP_MISSING;
}

/* The attributes of the group at url: 0 with *attrs (may be NULL), EM_HTTP_MISSING, -1. */
static int
group_attrs(struct em_http *h, const char *url, json_t **attrs)
{
	json_t *j = NULL;
	int rc;

	*attrs = NULL;
	rc = get_json(h, url, ".zattrs", &j);
	if (rc != EM_HTTP_MISSING) {
		*attrs = j;
		return rc;
	}
	rc = get_json(h, url, "zarr.json", &j);
	if (rc == 0) {
		*attrs = json_incref(json_object_get(j, "attributes"));
		json_decref(j);
		return 0;
	}
	if (rc < 0)
		return -1;
	rc = get_json(h, url, "attributes.json", &j);
	if (rc == 0)
		*attrs = j;
	return rc;
}

static void
alloc_fail(void)
{
	em_fail("out of memory");
}

/* Voxel size and offset from an OME-NGFF multiscale's dataset ds. */
static void
ngff_scale(struct em_remote *r, const json_t *ms, const json_t *ds)
{
	struct em_ngff_scale sc;

	em_ngff_scale(ms, ds, &sc);
	if (sc.naxes != r->in.ndim || !sc.voxel_known)
		return;
	memcpy(r->in.voxel_nm, sc.voxel_nm, sizeof(r->in.voxel_nm));
	memcpy(r->in.offset_nm, sc.offset_nm, sizeof(r->in.offset_nm));
	r->in.voxel_known = 1;
	r->in.offset_known = sc.offset_known;
}

struct em_remote *
em_remote_open(struct em_http *h, const char *url, const char *level)
{
	struct em_remote *r = calloc(1, sizeof(*r));
	json_t *attrs = NULL, *gattrs = NULL;
	const json_t *ms = NULL, *ds = NULL;
	size_t k;
	int rc, i;

	if (r == NULL) {
		alloc_fail();
		return NULL;
	}
	if (level != NULL && *level != '\0' && !em_relpath_ok(level)) {
		em_fail("level '%s' is not a relative path", level);
		goto fail;
	}
	if (level != NULL && *level == '\0')
		level = NULL;
	if ((r->url = join(url, level ? level : "")) == NULL)
		goto fail;
	rc = level == NULL ? open_array(r, h, &attrs) : EM_HTTP_MISSING;
	if (rc < 0)
		goto fail;
	if (rc == EM_HTTP_MISSING) {
		/* A group: the level is given, or its multiscales' first dataset. */
		json_decref(r->meta);
		r->meta = NULL;
		if ((r->group_url = join(url, "")) == NULL)
			goto fail;
		rc = group_attrs(h, r->group_url, &gattrs);
		if (rc < 0)
			goto fail;
		if (level == NULL) {
			const json_t *mss = em_ngff_multiscales(gattrs);
			const char *p;
			ds = em_ngff_dataset(mss, NULL, &ms);
			p = json_string_value(json_object_get(ds, "path"));
			if (rc == EM_HTTP_MISSING || p == NULL) {
				em_fail("'%s' is not a Zarr v2, Zarr v3 or N5 array, nor a group with "
				    "OME-NGFF multiscales (no .zarray, .zattrs, zarr.json or "
				    "attributes.json that says so)", url);
				goto fail;
			}
			if (!em_relpath_ok(p)) {
				em_fail("'%s': multiscales dataset path '%s' is not a relative path",
				    url, p);
				goto fail;
			}
			level = p;
		} else if (gattrs != NULL) {
			ds = em_ngff_dataset(em_ngff_multiscales(gattrs), level, &ms);
		}
		free(r->url);
		if ((r->level = strdup(level)) == NULL || (r->url = join(url, level)) == NULL) {
			alloc_fail();
			goto fail;
		}
		rc = open_array(r, h, &attrs);
		if (rc == EM_HTTP_MISSING) {
			em_fail("'%s' is not a Zarr v2, Zarr v3 or N5 array (no .zarray, zarr.json "
			    "or attributes.json with an array)", r->url);
			goto fail;
		}
		if (rc < 0)
			goto fail;
	}
	for (i = 0; i < r->in.ndim; i++)
		if (r->in.chunks[i] == 0) {
			em_fail("'%s': a chunk dimension is 0", r->url);
			goto fail;
		}
	/* Every format's metadata: an absurd array is refused before a chunk is asked for. */
	if (em_zarr_check_size(r->in.ndim, r->in.shape, r->in.chunks) < 0) {
		em_fail_ctx("'%s'", r->url);
		goto fail;
	}
	r->in.format_name = r->in.format == EM_REMOTE_ZARR2 ? "zarr2" :
	    r->in.format == EM_REMOTE_ZARR3 ? "zarr3" : "n5";
	/* Voxel size: the group's multiscales, else the array's own attributes. */
	if (ds != NULL) {
		if (json_object_get(ds, "transform") != NULL)
			em_remote_cosem_scale(r, ds);
		else
			ngff_scale(r, ms, ds);
	}
	if (!r->in.voxel_known && attrs != NULL) {
		const json_t *mss = em_ngff_multiscales(attrs);
		if (mss != NULL && (ds = em_ngff_dataset(mss, NULL, &ms)) != NULL &&
		    json_array_size(json_object_get(ms, "datasets")) == 1)
			ngff_scale(r, ms, ds);
		if (!r->in.voxel_known)
			em_remote_cosem_scale(r, attrs);
	}
	r->chunk_bytes = r->isz;
	for (i = 0; i < r->in.ndim; i++) {
		if (r->chunk_bytes > EM_ZARR_MAX_CHUNK_BYTES / r->in.chunks[i]) {
			em_fail("'%s': chunks of more than %zu bytes are not read", r->url,
			    (size_t)EM_ZARR_MAX_CHUNK_BYTES);
			goto fail;
		}
		r->chunk_bytes *= r->in.chunks[i];
	}
	r->bufcap = em_remote_max_encoded(r);
	for (k = 0; k < 2; k++)
		if ((r->buf[k] = malloc(r->bufcap)) == NULL) {
			alloc_fail();
			goto fail;
		}
	if (r->in.sharded && (r->index = malloc(r->per_shard * 16 + 4)) == NULL) {
		alloc_fail();
		goto fail;
	}
	set_urls(r);
	json_decref(attrs);
	json_decref(gattrs);
	return r;
fail:
	json_decref(attrs);
	json_decref(gattrs);
	em_remote_free(r);
	return NULL;
}

void
em_remote_free(struct em_remote *r)
{
	if (r == NULL)
		return;
	free(r->url);
	free(r->group_url);
	free(r->level);
	json_decref(r->meta);
	free(r->index);
	free(r->buf[0]);
	free(r->buf[1]);
	free(r);
}

const struct em_remote_info *
em_remote_info(const struct em_remote *r)
{
	return &r->in;
}

size_t
em_remote_chunk_bytes(const struct em_remote *r)
{
	return r->chunk_bytes;
}

size_t
em_remote_max_encoded(const struct em_remote *r)
{
	const struct em_codec *c = r->in.format == EM_REMOTE_ZARR2 ? &r->zm.codec : &r->ch.codec;
	size_t b = em_codec_bound(c, r->chunk_bytes);

	if (b < r->chunk_bytes)
		b = r->chunk_bytes;
	/* N5 block headers, crc32c, and encoders worse than the bound. */
	return b + r->chunk_bytes / 8 + 65536 + 16 * EM_ZARR_MAXDIM;
}

void
em_remote_fill(const struct em_remote *r, void *out)
{
	em_zarr_fill(out, r->chunk_bytes / r->isz, r->isz, r->in.fill);
}

/* ---- locating and decoding chunks ---- */

int
em_remote_key(const struct em_remote *r, const uint64_t *idx, char *url, size_t n)
{
	size_t o;
	int i, w;

	w = snprintf(url, n, "%s/", r->url);
	if (w < 0 || (size_t)w >= n)
		return em_fail("URL of '%s' too long", r->url);
	o = (size_t)w;
	if (r->in.format == EM_REMOTE_ZARR2) {
		if (em_zarr_chunk_key(&r->zm, idx, url + o, n - o) == NULL)
			return em_fail("URL of '%s' too long", r->url);
		return 0;
	}
	if (r->in.format == EM_REMOTE_ZARR3 && !r->v2_keys) {
		if (o + 2 >= n)
			return em_fail("URL of '%s' too long", r->url);
		url[o++] = 'c';
		url[o] = '\0';
	}
	for (i = 0; i < r->in.ndim; i++) {
		/* N5 paths list the fastest dimension first. */
		uint64_t v = r->in.format == EM_REMOTE_N5 ? idx[r->in.ndim - 1 - i] : idx[i];
		char sep = r->in.format == EM_REMOTE_N5 ? '/' : r->sep;
		int first = i == 0 && (r->in.format != EM_REMOTE_ZARR3 || r->v2_keys);
		w = snprintf(url + o, n - o, "%s%" PRIu64, first ? "" : (sep == '/' ? "/" : "."), v);
		if (w < 0 || (size_t)w >= n - o)
			return em_fail("URL of '%s' too long", r->url);
		o += (size_t)w;
	}
	return 0;
}

int
em_remote_locate(struct em_remote *r, struct em_http *h, const uint64_t *cidx, char *url,
    size_t n, uint64_t *off, uint64_t *len)
{
	int i;

	*off = 0;
	*len = 0;
	for (i = 0; i < r->in.ndim; i++)
		if (cidx[i] * r->in.chunks[i] >= r->in.shape[i] && r->in.shape[i] > 0)
			return em_fail("chunk index %" PRIu64 " is outside the array in dimension %d",
			    cidx[i], i);
	r->last_missing = 0;
	if (r->in.sharded)
		return em_remote_locate_sharded(r, h, cidx, url, n, off, len);
	return em_remote_key(r, cidx, url, n);
}

long
em_remote_missing_status(const struct em_remote *r)
{
	return r->last_missing;
}

int
em_remote_other_separator(struct em_remote *r)
{
	const json_t *v;

	if (r->in.format != EM_REMOTE_ZARR2 || r->sep_tried)
		return 0;
	v = json_object_get(r->meta, "dimension_separator");
	if (v != NULL && !json_is_null(v))
		return 0;
	r->sep_tried = 1;
	r->zm.sep = r->zm.sep == '.' ? '/' : '.';
	return r->zm.sep;
}

int
em_remote_decode(struct em_remote *r, struct em_codec_ctx *cx, const uint64_t *cidx,
    const void *src, size_t n, void *out)
{
	(void)cidx;
	if (n > r->bufcap + 16)
		return em_fail("%zu bytes, more than any encoding of a %zu-byte chunk", n,
		    r->chunk_bytes);
	switch (r->in.format) {
	case EM_REMOTE_ZARR2:
		return em_zarr_decode_chunk(cx, &r->zm, src, n, out, r->buf[0]);
	case EM_REMOTE_N5:
		return em_remote_decode_n5(r, cx, src, n, out);
	case EM_REMOTE_ZARR3:
		return em_remote_chain_decode(r, cx, src, n, out);
	}
	return em_fail("unknown format");
}
