/* remote.c - a Zarr v2, Zarr v3 (sharded or not) or N5 array read over HTTP, chunk by chunk */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>

#include "core/diag.h"
#include "sources/remote.h"
#include "core/banned.h"


enum b2b { B2B_CODEC = 1, B2B_CRC32C };

/* A Zarr v3 codec chain (also used for N5's single compressor). */
struct chain {
	int perm[EM_ZARR_MAXDIM];	/* transpose: stored axis i is array axis perm[i] */
	int has_perm;
	int big_endian;
	int nb2b;
	enum b2b b2b[EM_REMOTE_MAX_B2B];		/* in encoding order */
	struct em_codec codec;		/* the one compressor, if any */
};

struct em_remote {
	struct em_remote_info in;
	char *url, *group_url, *level;
	json_t *meta;
	struct em_zarr_meta zm;		/* Zarr v2 */
	struct chain ch;		/* Zarr v3 (inner chain when sharded), N5 */
	int n5_lz4;			/* N5 lz4: lz4-java block streams */
	/* Zarr v3 */
	int v2_keys;			/* chunk_key_encoding "v2" */
	char sep;
	int index_end;			/* index_location "end" */
	int index_crc;
	int index_big;
	uint64_t per_shard;		/* inner chunks per shard */
	uint64_t shard_grid[EM_ZARR_MAXDIM];	/* shard / chunks */
	/* The last shard index read. */
	int have_index;
	uint64_t index_of[EM_ZARR_MAXDIM];
	int index_missing;
	unsigned char *index;		/* per_shard * 16 bytes, little-endian */
	size_t chunk_bytes;
	size_t isz;
	unsigned char *buf[2];		/* decode scratch, chunk_bytes + slack */
	size_t bufcap;
};

/* ---- CRC-32C ---- */

uint32_t
em_crc32c(const void *p, size_t n)
{
	static uint32_t table[256];
	static int ready;
	const unsigned char *b = p;
	uint32_t c = 0xffffffffu;
	size_t i;

	if (!ready) {
		uint32_t k, v;
		int j;
		for (k = 0; k < 256; k++) {
			v = k;
			for (j = 0; j < 8; j++)
				v = (v & 1) ? (v >> 1) ^ 0x82f63b78u : v >> 1;
			table[k] = v;
		}
		ready = 1;
	}
	for (i = 0; i < n; i++)
		c = table[(c ^ b[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

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

/* A safe relative path: no empty, '.' or '..' segment, no leading '/'. */
static int
path_ok(const char *p)
{
	const char *s = p;

	if (p == NULL || *p == '\0' || *p == '/')
		return 0;
	while (*s != '\0') {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		if (*s == '/')
			s++;
	}
	return 1;
}

/* ---- units and scales ---- */

double
em_remote_unit_nm(const char *u)
{
	static const struct { const char *name; double nm; } shortu[] = {
		{ "nm", 1 }, { "um", 1e3 }, { "\xc2\xb5m", 1e3 }, { "\xce\xbcm", 1e3 },
		{ "pm", 1e-3 }, { "mm", 1e6 }, { "m", 1e9 }, { "A", 0.1 },
		{ "\xc3\x85", 0.1 }, { "nanometers", 1 }, { "micrometers", 1e3 },
		{ "micron", 1e3 }, { "nanometre", 1 }, { "nanometres", 1 },
	};
	double v;
	size_t i;

	if (u == NULL)
		return 0;
	if ((v = em_zarr_unit_nm(u)) > 0)
		return v;
	for (i = 0; i < sizeof(shortu) / sizeof(shortu[0]); i++)
		if (strcmp(u, shortu[i].name) == 0)
			return shortu[i].nm;
	return 0;
}

static const json_t *
transform_of(const json_t *transforms, const char *type)
{
	size_t i;

	for (i = 0; i < json_array_size(transforms); i++) {
		const json_t *t = json_array_get(transforms, i);
		const char *ty = json_string_value(json_object_get(t, "type"));
		if (ty != NULL && strcmp(ty, type) == 0)
			return json_object_get(t, type);
	}
	return NULL;
}

/* OME-NGFF multiscales: voxel size (and translation) of dataset ds. */
static void
ngff_scale(struct em_remote *r, const json_t *ms, const json_t *ds)
{
	const json_t *axes = json_object_get(ms, "axes");
	const json_t *dt = json_object_get(ds, "coordinateTransformations");
	const json_t *mt = json_object_get(ms, "coordinateTransformations");
	const json_t *s1 = transform_of(dt, "scale"), *t1 = transform_of(dt, "translation");
	const json_t *s2 = transform_of(mt, "scale"), *t2 = transform_of(mt, "translation");
	int i, n = r->in.ndim, known = 0;

	if ((int)json_array_size(axes) != n || (int)json_array_size(s1) != n ||
	    (s2 != NULL && (int)json_array_size(s2) != n))
		return;
	for (i = 0; i < n; i++) {
		const json_t *ax = json_array_get(axes, (size_t)i);
		double f = em_remote_unit_nm(json_string_value(json_object_get(ax, "unit")));
		double v = json_number_value(json_array_get(s1, (size_t)i));
		double t = 0;
		if (s2 != NULL)
			v *= json_number_value(json_array_get(s2, (size_t)i));
		if (!(f > 0 && v > 0))
			return;
		r->in.voxel_nm[i] = v * f;
		if ((int)json_array_size(t1) == n)
			t = json_number_value(json_array_get(t1, (size_t)i)) *
			    (s2 != NULL ? json_number_value(json_array_get(s2, (size_t)i)) : 1);
		if ((int)json_array_size(t2) == n)
			t += json_number_value(json_array_get(t2, (size_t)i));
		r->in.offset_nm[i] = t * f;
		known++;
	}
	r->in.voxel_known = known == n;
	r->in.offset_known = r->in.voxel_known && (t1 != NULL || t2 != NULL);
}

/* The C-order dimension of an axis name among the last three (x fastest), or -1. */
static int
axis_dim(int ndim, const char *name)
{
	if (name == NULL || name[1] != '\0')
		return -1;
	if (name[0] == 'x' && ndim >= 1)
		return ndim - 1;
	if (name[0] == 'y' && ndim >= 2)
		return ndim - 2;
	if (name[0] == 'z' && ndim >= 3)
		return ndim - 3;
	return -1;
}

/*
 * N5 / COSEM attributes: "transform" {axes, scale, translate, units} (axes
 * named; the lists in that order) or "pixelResolution" {dimensions (fastest
 * first), unit}, or "resolution" (fastest first, no unit: not a length).
 */
static void
cosem_scale(struct em_remote *r, const json_t *attrs)
{
	const json_t *t = json_object_get(attrs, "transform");
	const json_t *pr = json_object_get(attrs, "pixelResolution");
	int n = r->in.ndim, i, got = 0;
	double vox[EM_ZARR_MAXDIM] = { 0 }, off[EM_ZARR_MAXDIM] = { 0 };

	if (json_is_object(t)) {
		const json_t *axes = json_object_get(t, "axes"), *sc = json_object_get(t, "scale");
		const json_t *tr = json_object_get(t, "translate"), *un = json_object_get(t, "units");
		if ((int)json_array_size(axes) != n || (int)json_array_size(sc) != n)
			goto pixres;
		for (i = 0; i < n; i++) {
			int d = axis_dim(n, json_string_value(json_array_get(axes, (size_t)i)));
			const char *u = json_string_value(json_array_get(un, (size_t)i));
			double f = em_remote_unit_nm(u);
			double v = json_number_value(json_array_get(sc, (size_t)i));
			if (d < 0 || !(f > 0 && v > 0))
				goto pixres;
			vox[d] = v * f;
			off[d] = json_number_value(json_array_get(tr, (size_t)i)) * f;
			got++;
		}
		if (got == n) {
			memcpy(r->in.voxel_nm, vox, sizeof(vox));
			memcpy(r->in.offset_nm, off, sizeof(off));
			r->in.voxel_known = 1;
			r->in.offset_known = json_array_size(tr) == (size_t)n;
			return;
		}
	}
pixres:
	if (json_is_object(pr)) {
		const json_t *dims = json_object_get(pr, "dimensions");
		double f = em_remote_unit_nm(json_string_value(json_object_get(pr, "unit")));
		if ((int)json_array_size(dims) != n || !(f > 0))
			return;
		for (i = 0; i < n; i++) {
			double v = json_number_value(json_array_get(dims, (size_t)i));
			if (!(v > 0))
				return;
			vox[n - 1 - i] = v * f;
		}
		memcpy(r->in.voxel_nm, vox, sizeof(vox));
		r->in.voxel_known = 1;
	}
}

/* ---- Zarr v3 ---- */

static int
u64_list(const json_t *v, const char *what, uint64_t *out, int *n)
{
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return em_fail("'%s' is not a non-empty list", what);
	if (json_array_size(v) > EM_ZARR_MAXDIM)
		return em_fail("'%s' has more than %d dimensions", what, EM_ZARR_MAXDIM);
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i);
		if (!json_is_integer(e) || json_integer_value(e) < 0)
			return em_fail("'%s' holds something other than a non-negative integer",
			    what);
		out[i] = (uint64_t)json_integer_value(e);
	}
	*n = (int)json_array_size(v);
	return 0;
}

/* A compressor from a v2-style {"id": ...} object made for it. */
static int
codec_by_id(const char *id, struct em_codec *c)
{
	json_t *j = json_pack("{s:s}", "id", id);
	int rc;

	if (j == NULL)
		return em_fail("out of memory");
	rc = em_codec_from_json(j, c);
	json_decref(j);
	return rc;
}

/*
 * Parse a codec list into ch.  shard (may be NULL) receives the
 * configuration of a sharding_indexed codec, which must then be the only one.
 */
static int
parse_chain(const json_t *codecs, struct chain *ch, int ndim, size_t isz, const json_t **shard)
{
	size_t i;
	int have_a2b = 0, have_comp = 0;

	memset(ch, 0, sizeof(*ch));
	if (shard != NULL)
		*shard = NULL;
	if (!json_is_array(codecs) || json_array_size(codecs) == 0)
		return em_fail("'codecs' is not a non-empty list");
	for (i = 0; i < json_array_size(codecs); i++) {
		const json_t *c = json_array_get(codecs, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		const json_t *conf = json_object_get(c, "configuration");

		if (name == NULL)
			return em_fail("a codec without a name");
		if (strcmp(name, "transpose") == 0) {
			const json_t *order = json_object_get(conf, "order");
			int seen[EM_ZARR_MAXDIM] = { 0 }, k;
			if (have_a2b)
				return em_fail("transpose after the bytes codec");
			if (json_is_string(order) && strcmp(json_string_value(order), "C") == 0) {
				for (k = 0; k < ndim; k++)
					ch->perm[k] = k;
			} else if (json_is_string(order) &&
			    strcmp(json_string_value(order), "F") == 0) {
				for (k = 0; k < ndim; k++)
					ch->perm[k] = ndim - 1 - k;
			} else {
				if ((int)json_array_size(order) != ndim)
					return em_fail("transpose order does not list %d axes", ndim);
				for (k = 0; k < ndim; k++) {
					const json_t *e = json_array_get(order, (size_t)k);
					json_int_t v = json_integer_value(e);
					if (!json_is_integer(e) || v < 0 || v >= ndim || seen[v])
						return em_fail("transpose order is not a permutation");
					seen[v] = 1;
					ch->perm[k] = (int)v;
				}
			}
			ch->has_perm = 1;
		} else if (strcmp(name, "bytes") == 0 || strcmp(name, "endian") == 0) {
			const char *e = json_string_value(json_object_get(conf, "endian"));
			if (have_a2b)
				return em_fail("two array-to-bytes codecs");
			have_a2b = 1;
			if (e != NULL && strcmp(e, "big") == 0)
				ch->big_endian = 1;
			else if (e != NULL && strcmp(e, "little") != 0)
				return em_fail("bytes codec endian '%s'", e);
			else if (e == NULL && isz > 1)
				return em_fail("bytes codec without endian for %zu-byte elements", isz);
		} else if (strcmp(name, "sharding_indexed") == 0) {
			if (shard == NULL)
				return em_fail("unsupported codec 'sharding_indexed' inside a shard");
			if (json_array_size(codecs) != 1)
				return em_fail("unsupported codec chain: sharding_indexed with "
				    "other codecs around it");
			*shard = conf;
			return 0;
		} else if (strcmp(name, "crc32c") == 0 || strcmp(name, "gzip") == 0 ||
		    strcmp(name, "zstd") == 0 || strcmp(name, "blosc") == 0 ||
		    strcmp(name, "numcodecs.zlib") == 0 || strcmp(name, "numcodecs.gzip") == 0 ||
		    strcmp(name, "numcodecs.zstd") == 0 || strcmp(name, "numcodecs.blosc") == 0 ||
		    strcmp(name, "numcodecs.lz4") == 0) {
			if (!have_a2b)
				return em_fail("codec '%s' before the bytes codec", name);
			if (ch->nb2b == EM_REMOTE_MAX_B2B)
				return em_fail("more than %d bytes-to-bytes codecs", EM_REMOTE_MAX_B2B);
			if (strcmp(name, "crc32c") == 0) {
				ch->b2b[ch->nb2b++] = B2B_CRC32C;
				continue;
			}
			if (have_comp)
				return em_fail("unsupported codec chain: two compressors");
			have_comp = 1;
			if (codec_by_id(strncmp(name, "numcodecs.", 10) == 0 ? name + 10 : name,
			    &ch->codec) < 0)
				return -1;
			ch->codec.typesize = isz;
			ch->b2b[ch->nb2b++] = B2B_CODEC;
		} else {
			return em_fail("unsupported codec '%s'", name);
		}
	}
	if (!have_a2b)
		return em_fail("no bytes codec in the chain");
	return 0;
}

static void
chain_describe(const struct chain *ch, const char *a2b, char *buf, size_t n)
{
	char d[64];
	int i;
	size_t o;

	snprintf(buf, n, "%s%s%s", ch->has_perm ? "transpose," : "", a2b,
	    ch->big_endian ? "(big)" : "");
	for (i = 0; i < ch->nb2b; i++) {
		o = strlen(buf);
		snprintf(buf + o, n - o, ",%s", ch->b2b[i] == B2B_CRC32C ? "crc32c" :
		    em_codec_describe(&ch->codec, d, sizeof(d)));
	}
}

/* Fill value of a Zarr v3 array: numbers, "NaN", "Infinity", hex bit patterns, booleans. */
static int
v3_fill(struct em_remote *r, const json_t *v)
{
	struct em_zarr_meta m;
	const char *s = json_string_value(v);

	memset(&m, 0, sizeof(m));
	m.dtype = r->in.dtype;
	if (s != NULL && s[0] == '0' && s[1] == 'x') {
		char *end;
		unsigned long long bits = strtoull(s + 2, &end, 16);
		size_t k;
		if (*end != '\0' || end == s + 2)
			return em_fail("fill_value '%s' is not a hex bit pattern", s);
		for (k = 0; k < r->isz; k++)
			r->in.fill[k] = (unsigned char)(bits >> (8 * k));
		return 0;
	}
	if (v == NULL)
		return em_fail("no fill_value");
	if (em_zarr_meta_fill_json(&m, v) < 0)
		return -1;
	memcpy(r->in.fill, m.fill, sizeof(r->in.fill));
	return 0;
}

static int
open_v3_array(struct em_remote *r, const json_t *j)
{
	const json_t *grid = json_object_get(j, "chunk_grid"), *cke, *shard = NULL, *v;
	const char *dt = json_string_value(json_object_get(j, "data_type")), *name, *s;
	int n2 = 0, i;

	v = json_object_get(j, "storage_transformers");
	if (v != NULL && !(json_is_array(v) && json_array_size(v) == 0))
		return em_fail("unsupported storage_transformers");
	if (u64_list(json_object_get(j, "shape"), "shape", r->in.shape, &r->in.ndim) < 0)
		return -1;
	if (dt == NULL || (r->in.dtype = em_dtype_from_name(dt)) == EM_DT_NONE)
		return em_fail("unsupported data type '%s'", dt ? dt : "(not a name)");
	r->isz = em_dtype_size(r->in.dtype);
	name = json_string_value(json_object_get(grid, "name"));
	if (name == NULL || strcmp(name, "regular") != 0)
		return em_fail("unsupported chunk grid '%s'", name ? name : "?");
	if (u64_list(json_object_get(json_object_get(grid, "configuration"), "chunk_shape"),
	    "chunk_shape", r->in.shard, &n2) < 0)
		return -1;
	if (n2 != r->in.ndim)
		return em_fail("shape has %d dimensions, chunk_shape %d", r->in.ndim, n2);
	cke = json_object_get(j, "chunk_key_encoding");
	name = json_string_value(json_object_get(cke, "name"));
	s = json_string_value(json_object_get(json_object_get(cke, "configuration"), "separator"));
	if (name == NULL || strcmp(name, "default") == 0) {
		r->sep = s ? s[0] : '/';
	} else if (strcmp(name, "v2") == 0) {
		r->v2_keys = 1;
		r->sep = s ? s[0] : '.';
	} else {
		return em_fail("unsupported chunk key encoding '%s'", name);
	}
	if (r->sep != '/' && r->sep != '.')
		return em_fail("chunk key separator is not \"/\" or \".\"");
	if (parse_chain(json_object_get(j, "codecs"), &r->ch, r->in.ndim, r->isz, &shard) < 0)
		return -1;
	memcpy(r->in.chunks, r->in.shard, sizeof(r->in.chunks));
	if (shard != NULL) {
		const json_t *ic;
		struct chain idx;
		const char *loc;
		int n3 = 0;

		r->in.sharded = 1;
		if (u64_list(json_object_get(shard, "chunk_shape"), "sharding chunk_shape",
		    r->in.chunks, &n3) < 0)
			return -1;
		if (n3 != r->in.ndim)
			return em_fail("sharding chunk_shape has %d dimensions, not %d", n3,
			    r->in.ndim);
		r->per_shard = 1;
		for (i = 0; i < r->in.ndim; i++) {
			/* A shard of 0 would hold no inner chunk: every locate divides by it. */
			if (r->in.shard[i] == 0)
				return em_fail("a shard dimension (chunk_grid chunk_shape) is 0");
			if (r->in.chunks[i] == 0 || r->in.shard[i] % r->in.chunks[i] != 0)
				return em_fail("shard shape is not a multiple of the inner chunk shape");
			r->shard_grid[i] = r->in.shard[i] / r->in.chunks[i];
			r->per_shard *= r->shard_grid[i];
			if (r->per_shard > EM_REMOTE_MAX_SHARD_ENTRIES)
				return em_fail("more than %llu inner chunks per shard",
				    (unsigned long long)EM_REMOTE_MAX_SHARD_ENTRIES);
		}
		if (parse_chain(json_object_get(shard, "codecs"), &r->ch, r->in.ndim, r->isz,
		    NULL) < 0)
			return em_fail_ctx("sharding codecs");
		ic = json_object_get(shard, "index_codecs");
		if (ic == NULL) {
			r->index_crc = 0;
		} else {
			if (parse_chain(ic, &idx, 1, 8, NULL) < 0)
				return em_fail_ctx("index_codecs");
			if (idx.has_perm || (idx.nb2b > 0 && idx.b2b[0] == B2B_CODEC) ||
			    idx.nb2b > 1)
				return em_fail("unsupported index_codecs (only bytes and crc32c)");
			r->index_crc = idx.nb2b == 1;
			r->index_big = idx.big_endian;
		}
		loc = json_string_value(json_object_get(shard, "index_location"));
		r->index_end = loc == NULL || strcmp(loc, "end") == 0;
		if (loc != NULL && !r->index_end && strcmp(loc, "start") != 0)
			return em_fail("index_location '%s'", loc);
	}
	for (i = 0; i < r->in.ndim; i++)
		if (r->in.chunks[i] == 0)
			return em_fail("a chunk dimension is 0");
	v = json_object_get(j, "fill_value");
	if (v3_fill(r, v) < 0)
		return em_fail_ctx("fill_value");
	{
		char d[160];
		chain_describe(&r->ch, "bytes", d, sizeof(d));
		snprintf(r->in.codecs, sizeof(r->in.codecs), "%s%s", r->in.sharded ?
		    "sharding_indexed:" : "", d);
	}
	return 0;
}

/* ---- N5 ---- */

static int
open_n5_array(struct em_remote *r, const json_t *j)
{
	uint64_t dims[EM_ZARR_MAXDIM], bs[EM_ZARR_MAXDIM];
	const char *dt = json_string_value(json_object_get(j, "dataType")), *type;
	const json_t *comp = json_object_get(j, "compression");
	int n = 0, n2 = 0, i;

	if (u64_list(json_object_get(j, "dimensions"), "dimensions", dims, &n) < 0 ||
	    u64_list(json_object_get(j, "blockSize"), "blockSize", bs, &n2) < 0)
		return -1;
	if (n != n2)
		return em_fail("dimensions has %d entries, blockSize %d", n, n2);
	r->in.ndim = n;
	for (i = 0; i < n; i++) {
		r->in.shape[i] = dims[n - 1 - i];
		r->in.chunks[i] = bs[n - 1 - i];
		if (r->in.chunks[i] == 0)
			return em_fail("a blockSize entry is 0");
	}
	memcpy(r->in.shard, r->in.chunks, sizeof(r->in.shard));
	if (dt == NULL || (r->in.dtype = em_dtype_from_name(dt)) == EM_DT_NONE)
		return em_fail("unsupported N5 dataType '%s'", dt ? dt : "(none)");
	r->isz = em_dtype_size(r->in.dtype);
	memset(&r->ch, 0, sizeof(r->ch));
	r->ch.big_endian = 1;
	type = json_is_object(comp) ? json_string_value(json_object_get(comp, "type")) :
	    json_string_value(json_object_get(j, "compressionType"));
	if (type == NULL || strcmp(type, "raw") == 0) {
		type = "raw";
	} else if (strcmp(type, "gzip") == 0) {
		if (codec_by_id(json_is_true(json_object_get(comp, "useZlib")) ? "zlib" : "gzip",
		    &r->ch.codec) < 0)
			return -1;
		r->ch.b2b[r->ch.nb2b++] = B2B_CODEC;
	} else if (strcmp(type, "zstandard") == 0 || strcmp(type, "zstd") == 0) {
		if (codec_by_id("zstd", &r->ch.codec) < 0)
			return -1;
		r->ch.b2b[r->ch.nb2b++] = B2B_CODEC;
	} else if (strcmp(type, "blosc") == 0) {
		if (codec_by_id("blosc", &r->ch.codec) < 0)
			return -1;
		r->ch.codec.typesize = r->isz;
		r->ch.b2b[r->ch.nb2b++] = B2B_CODEC;
	} else if (strcmp(type, "lz4") == 0) {
		r->n5_lz4 = 1;
	} else {
		return em_fail("unsupported N5 compression '%s'", type);
	}
	snprintf(r->in.codecs, sizeof(r->in.codecs), "n5 %s", type);
	return 0;
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

/* The multiscales list of a group's attributes (OME-NGFF 0.4, 0.5 under "ome", COSEM N5). */
static const json_t *
multiscales_of(const json_t *attrs)
{
	const json_t *ms = json_object_get(attrs, "multiscales");

	if (ms == NULL)
		ms = json_object_get(json_object_get(attrs, "ome"), "multiscales");
	return json_is_array(ms) && json_array_size(ms) > 0 ? ms : NULL;
}

/* The dataset of multiscales whose path is level (NULL: the first); *msp its multiscale. */
static const json_t *
find_dataset(const json_t *mss, const char *level, const json_t **msp)
{
	size_t i, k;

	for (i = 0; i < json_array_size(mss); i++) {
		const json_t *ms = json_array_get(mss, i);
		const json_t *ds = json_object_get(ms, "datasets");
		for (k = 0; k < json_array_size(ds); k++) {
			const json_t *d = json_array_get(ds, k);
			const char *p = json_string_value(json_object_get(d, "path"));
			if (p != NULL && (level == NULL || strcmp(p, level) == 0)) {
				*msp = ms;
				return d;
			}
		}
	}
	return NULL;
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
		if (open_v3_array(r, j) < 0)
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
		if (open_n5_array(r, j) < 0)
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
	if (level != NULL && *level != '\0' && !path_ok(level)) {
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
			const json_t *mss = multiscales_of(gattrs);
			const char *p;
			ds = find_dataset(mss, NULL, &ms);
			p = json_string_value(json_object_get(ds, "path"));
			if (rc == EM_HTTP_MISSING || p == NULL) {
				em_fail("'%s' is not a Zarr v2, Zarr v3 or N5 array, nor a group with "
				    "OME-NGFF multiscales (no .zarray, .zattrs, zarr.json or "
				    "attributes.json that says so)", url);
				goto fail;
			}
			if (!path_ok(p)) {
				em_fail("'%s': multiscales dataset path '%s' is not a relative path",
				    url, p);
				goto fail;
			}
			level = p;
		} else if (gattrs != NULL) {
			ds = find_dataset(multiscales_of(gattrs), level, &ms);
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
	r->in.format_name = r->in.format == EM_REMOTE_ZARR2 ? "zarr2" :
	    r->in.format == EM_REMOTE_ZARR3 ? "zarr3" : "n5";
	/* Voxel size: the group's multiscales, else the array's own attributes. */
	if (ds != NULL) {
		if (json_object_get(ds, "transform") != NULL)
			cosem_scale(r, ds);
		else
			ngff_scale(r, ms, ds);
	}
	if (!r->in.voxel_known && attrs != NULL) {
		const json_t *mss = multiscales_of(attrs);
		if (mss != NULL && (ds = find_dataset(mss, NULL, &ms)) != NULL &&
		    json_array_size(json_object_get(ms, "datasets")) == 1)
			ngff_scale(r, ms, ds);
		if (!r->in.voxel_known)
			cosem_scale(r, attrs);
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

/* ---- locating chunks ---- */

/* The key of grid index idx in the array's own encoding. */
static int
key_of(const struct em_remote *r, const uint64_t *idx, char *url, size_t n)
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

/* Read the index of shard sidx into r->index. */
static int
load_index(struct em_remote *r, struct em_http *h, const uint64_t *sidx, const char *url)
{
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	uint64_t ilen = em_remote_index_bytes(r), total, off = 0;
	int rc;

	r->have_index = 0;
	r->index_missing = 0;
	if (r->index_end) {
		rc = em_http_head(h, url, &resp);
		if (rc == EM_HTTP_MISSING) {
			r->index_missing = 1;
			goto done;
		}
		if (rc < 0)
			goto out;
		total = resp.total;
		if (total == UINT64_MAX) {
			/* No Content-Length on HEAD (file://, some servers): a one-byte range tells. */
			rc = em_http_get_range(h, url, 0, 1, &resp);
			if (rc < 0)
				goto out;
			total = resp.total;
		}
		if (total == UINT64_MAX) {
			rc = em_fail("shard '%s': the server gives no size", url);
			goto out;
		}
		if (total < ilen) {
			rc = em_fail("shard '%s' has %" PRIu64 " bytes, less than its index (%" PRIu64
			    ")", url, total, ilen);
			goto out;
		}
		off = total - ilen;
	}
	rc = em_http_get_range(h, url, off, ilen, &resp);
	if (rc == EM_HTTP_MISSING) {
		r->index_missing = 1;
		goto done;
	}
	if (rc < 0)
		goto out;
	rc = em_remote_take_index(r, sidx, resp.body, resp.len, resp.total, url);
	goto out;
done:
	memcpy(r->index_of, sidx, sizeof(r->index_of));
	r->have_index = 1;
	rc = 0;
out:
	em_http_resp_release(&resp);
	return rc;
}

size_t
em_remote_index_bytes(const struct em_remote *r)
{
	return r->in.sharded ? (size_t)(r->per_shard * 16 + (r->index_crc ? 4 : 0)) : 0;
}

int
em_remote_index_at_end(const struct em_remote *r)
{
	return r->index_end;
}

int
em_remote_take_index(struct em_remote *r, const uint64_t *sidx, const void *p, size_t n,
    uint64_t total, const char *url)
{
	size_t ilen = em_remote_index_bytes(r);
	uint64_t k;

	r->have_index = 0;
	r->index_missing = 0;
	if (!r->in.sharded)
		return em_fail("'%s' is not a sharded array", url);
	if (n != ilen)
		return em_fail("shard '%s': index of %zu bytes, expected %zu", url, n, ilen);
	if (r->index_crc) {
		uint32_t want = le32((const unsigned char *)p + ilen - 4);
		uint32_t got = em_crc32c(p, ilen - 4);
		if (want != got)
			return em_fail("shard '%s': index checksum mismatch (crc32c %08x, stored %08x)",
			    url, got, want);
	}
	memcpy(r->index, p, r->per_shard * 16);
	if (r->index_big)
		em_swap_bytes(r->index, r->per_shard * 2, 8);
	/* Every entry is empty or lies inside the shard. */
	for (k = 0; k < r->per_shard; k++) {
		uint64_t o = le64(r->index + 16 * k), l = le64(r->index + 16 * k + 8);
		if (o == UINT64_MAX && l == UINT64_MAX)
			continue;
		if (l > em_remote_max_encoded(r) || (total != UINT64_MAX && (o > total ||
		    l > total - o)))
			return em_fail("shard '%s': index entry %" PRIu64 " (%" PRIu64 "+%" PRIu64
			    ") is outside the shard", url, k, o, l);
	}
	/* sidx has ndim entries; the rest stay 0 as em_remote_locate's do. */
	memset(r->index_of, 0, sizeof(r->index_of));
	memcpy(r->index_of, sidx, sizeof(*sidx) * (size_t)r->in.ndim);
	r->have_index = 1;
	return 0;
}

int
em_remote_locate(struct em_remote *r, struct em_http *h, const uint64_t *cidx, char *url,
    size_t n, uint64_t *off, uint64_t *len)
{
	uint64_t sidx[EM_ZARR_MAXDIM] = { 0 }, e = 0, o, l;
	int i;

	*off = 0;
	*len = 0;
	for (i = 0; i < r->in.ndim; i++)
		if (cidx[i] * r->in.chunks[i] >= r->in.shape[i] && r->in.shape[i] > 0)
			return em_fail("chunk index %" PRIu64 " is outside the array in dimension %d",
			    cidx[i], i);
	if (!r->in.sharded)
		return key_of(r, cidx, url, n);
	for (i = 0; i < r->in.ndim; i++) {
		sidx[i] = cidx[i] / r->shard_grid[i];
		e = e * r->shard_grid[i] + cidx[i] % r->shard_grid[i];
	}
	if (key_of(r, sidx, url, n) < 0)
		return -1;
	if (!r->have_index || memcmp(sidx, r->index_of, sizeof(sidx)) != 0)
		if (load_index(r, h, sidx, url) < 0)
			return -1;
	if (r->index_missing)
		return EM_HTTP_MISSING;
	o = le64(r->index + 16 * e);
	l = le64(r->index + 16 * e + 8);
	if (o == UINT64_MAX && l == UINT64_MAX)
		return EM_HTTP_MISSING;
	if (l == 0)
		return em_fail("shard '%s': inner chunk %" PRIu64 " has 0 bytes", url, e);
	*off = o;
	*len = l;
	return 0;
}

/* ---- decoding ---- */

/* Undo transpose: src holds the chunk with axes permuted (stored axis k = array axis perm[k]). */
static void
untranspose(const struct em_remote *r, const unsigned char *src, unsigned char *dst)
{
	uint64_t pos[EM_ZARR_MAXDIM] = { 0 }, tshape[EM_ZARR_MAXDIM], tstride[EM_ZARR_MAXDIM];
	uint64_t astride[EM_ZARR_MAXDIM], total = r->chunk_bytes / r->isz, i;
	int n = r->in.ndim, k;

	for (k = 0; k < n; k++)
		tshape[k] = r->in.chunks[r->ch.perm[k]];
	tstride[n - 1] = 1;
	for (k = n - 2; k >= 0; k--)
		tstride[k] = tstride[k + 1] * tshape[k + 1];
	/* astride[a]: the stride in the stored layout of array axis a. */
	for (k = 0; k < n; k++)
		astride[r->ch.perm[k]] = tstride[k];
	for (i = 0; i < total; i++) {
		uint64_t so = 0;
		for (k = 0; k < n; k++)
			so += pos[k] * astride[k];
		memcpy(dst + i * r->isz, src + so * r->isz, r->isz);
		for (k = n - 1; k >= 0; k--) {
			if (++pos[k] < r->in.chunks[k])
				break;
			pos[k] = 0;
		}
	}
}

/*
 * Undo the bytes-to-bytes codecs of ch (in reverse): src/n to the raw
 * bytes of want bytes, in *outp (one of r's buffers, or src itself).
 */
static int
undo_b2b(struct em_remote *r, struct em_codec_ctx *cx, const struct chain *ch,
    const unsigned char *src, size_t n, size_t want, const unsigned char **outp)
{
	size_t sizes[EM_REMOTE_MAX_B2B + 1];
	int k, which = 0;

	sizes[0] = want;
	for (k = 0; k < ch->nb2b; k++)
		sizes[k + 1] = ch->b2b[k] == B2B_CRC32C ? sizes[k] + 4 : 0;
	for (k = ch->nb2b - 1; k >= 0; k--) {
		if (ch->b2b[k] == B2B_CRC32C) {
			uint32_t got, stored;
			if (n < 4)
				return em_fail("shorter than its crc32c checksum");
			stored = le32(src + n - 4);
			got = em_crc32c(src, n - 4);
			if (got != stored)
				return em_fail("crc32c mismatch (computed %08x, stored %08x)", got,
				    stored);
			n -= 4;
		} else {
			if (sizes[k] > r->bufcap)
				return em_fail("decoded chunk too large");
			if (em_codec_decode(cx, &ch->codec, src, n, r->buf[which], sizes[k]) < 0)
				return -1;
			src = r->buf[which];
			which ^= 1;
			n = sizes[k];
		}
	}
	if (n != want)
		return em_fail("%zu bytes, expected %zu", n, want);
	*outp = src;
	return 0;
}

/* XXH32 (xxHash, 32 bits) of n bytes with seed: what lz4-java checks its blocks with. */
static uint32_t
rotl32(uint32_t x, int r)
{
	return x << r | x >> (32 - r);
}

uint32_t
em_xxh32(const void *p, size_t n, uint32_t seed)
{
	static const uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u,
	    P4 = 668265263u, P5 = 374761393u;
	const unsigned char *b = p, *end = b + n;
	uint32_t h;

	if (n >= 16) {
		uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
		while (end - b >= 16) {
			v1 = rotl32(v1 + le32(b) * P2, 13) * P1;
			v2 = rotl32(v2 + le32(b + 4) * P2, 13) * P1;
			v3 = rotl32(v3 + le32(b + 8) * P2, 13) * P1;
			v4 = rotl32(v4 + le32(b + 12) * P2, 13) * P1;
			b += 16;
		}
		h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
	} else {
		h = seed + P5;
	}
	h += (uint32_t)n;
	while (end - b >= 4) {
		h = rotl32(h + le32(b) * P3, 17) * P4;
		b += 4;
	}
	while (b < end) {
		h = rotl32(h + *b * P5, 11) * P1;
		b++;
	}
	h ^= h >> 15;
	h *= P2;
	h ^= h >> 13;
	h *= P3;
	h ^= h >> 16;
	return h;
}

/*
 * lz4-java's LZ4BlockOutputStream, as N5 writes "lz4": blocks of "LZ4Block",
 * a token (0x10 raw or 0x20 lz4, plus the level), compressed and original
 * lengths and a checksum (XXH32, seed 0x9747b28c, low 28 bits), all
 * little-endian, then the data; an empty block ends the stream.  Exactly
 * want bytes must come out.
 */
static int
lz4block_decode(const unsigned char *src, size_t n, unsigned char *dst, size_t want)
{
	size_t o = 0;

	for (;;) {
		uint32_t clen, olen, check;
		unsigned method;

		if (n < 21 || memcmp(src, "LZ4Block", 8) != 0)
			return em_fail("not an LZ4Block stream (block header missing or cut)");
		method = src[8] & 0xf0;
		clen = le32(src + 9);
		olen = le32(src + 13);
		check = le32(src + 17);
		src += 21;
		n -= 21;
		if (olen == 0 && clen == 0)
			break;
		if (clen > n || olen > want - o || (method != 0x10 && method != 0x20) ||
		    (method == 0x10 && clen != olen))
			return em_fail("bad LZ4Block block (method 0x%02x, %u bytes to %u)", method,
			    clen, olen);
		if (method == 0x10) {
			memcpy(dst + o, src, olen);
		} else if (clen > INT32_MAX || olen > INT32_MAX ||
		    LZ4_decompress_safe((const char *)src, (char *)dst + o, (int)clen, (int)olen) !=
		    (int)olen) {
			return em_fail("corrupt LZ4Block block");
		}
		if ((em_xxh32(dst + o, olen, 0x9747b28cu) & 0x0fffffffu) != check)
			return em_fail("LZ4Block checksum mismatch");
		o += olen;
		src += clen;
		n -= clen;
	}
	if (o != want)
		return em_fail("LZ4Block stream of %zu bytes, expected %zu", o, want);
	return 0;
}

static int
decode_n5(struct em_remote *r, struct em_codec_ctx *cx, const unsigned char *src, size_t n,
    void *out)
{
	uint64_t bs[EM_ZARR_MAXDIM], zero[EM_ZARR_MAXDIM] = { 0 }, nel = 1;
	const unsigned char *raw;
	unsigned mode, nd;
	size_t hdr, want;
	int i;

	if (n < 4)
		return em_fail("block of %zu bytes has no header", n);
	mode = (unsigned)src[0] << 8 | src[1];
	nd = (unsigned)src[2] << 8 | src[3];
	if (mode > 1)
		return em_fail("unsupported N5 block mode %u", mode);
	if ((int)nd != r->in.ndim)
		return em_fail("block header has %u dimensions, the dataset %d", nd, r->in.ndim);
	hdr = 4 + 4 * (size_t)nd + (mode == 1 ? 4 : 0);
	if (n < hdr)
		return em_fail("block of %zu bytes is shorter than its header", n);
	for (i = 0; i < r->in.ndim; i++) {
		/* Sizes are fastest first; edge blocks are cut to the dataset. */
		bs[r->in.ndim - 1 - i] = be32(src + 4 + 4 * (size_t)i);
	}
	for (i = 0; i < r->in.ndim; i++) {
		if (bs[i] == 0 || bs[i] > r->in.chunks[i])
			return em_fail("block size %" PRIu64 " in dimension %d is not 1..%" PRIu64,
			    bs[i], i, r->in.chunks[i]);
		nel *= bs[i];
	}
	if (mode == 1 && be32(src + 4 + 4 * (size_t)nd) != nel)
		return em_fail("varlength block of %u elements, not %" PRIu64,
		    be32(src + 4 + 4 * (size_t)nd), nel);
	want = (size_t)nel * r->isz;
	if (r->n5_lz4) {
		if (want > r->bufcap || lz4block_decode(src + hdr, n - hdr, r->buf[1], want) < 0)
			return -1;
		raw = r->buf[1];
	} else if (r->ch.nb2b == 0) {
		if (n - hdr != want)
			return em_fail("raw block of %zu bytes, expected %zu", n - hdr, want);
		raw = src + hdr;
	} else if (undo_b2b(r, cx, &r->ch, src + hdr, n - hdr, want, &raw) < 0) {
		return -1;
	}
	if (memcmp(bs, r->in.chunks, sizeof(uint64_t) * (size_t)r->in.ndim) != 0)
		em_remote_fill(r, out);
	if (raw != r->buf[0] && raw != r->buf[1]) {
		memcpy(r->buf[0], raw, want);
		raw = r->buf[0];
	}
	if (r->isz > 1)
		em_swap_bytes((void *)(uintptr_t)raw, nel, r->isz);
	em_zarr_copy_box(r->in.ndim, r->isz, out, r->in.chunks, zero, raw, bs, zero, bs);
	return 0;
}

int
em_remote_decode(struct em_remote *r, struct em_codec_ctx *cx, const uint64_t *cidx,
    const void *src, size_t n, void *out)
{
	const unsigned char *raw;
	int rc;

	(void)cidx;
	if (n > r->bufcap + 16)
		return em_fail("%zu bytes, more than any encoding of a %zu-byte chunk", n,
		    r->chunk_bytes);
	switch (r->in.format) {
	case EM_REMOTE_ZARR2:
		return em_zarr_decode_chunk(cx, &r->zm, src, n, out, r->buf[0]);
	case EM_REMOTE_N5:
		return decode_n5(r, cx, src, n, out);
	case EM_REMOTE_ZARR3:
		rc = undo_b2b(r, cx, &r->ch, src, n, r->chunk_bytes, &raw);
		if (rc < 0)
			return -1;
		if (!r->ch.has_perm) {
			if (raw != out)
				memcpy(out, raw, r->chunk_bytes);
			if (r->ch.big_endian && r->isz > 1)
				em_swap_bytes(out, r->chunk_bytes / r->isz, r->isz);
			return 0;
		}
		if (raw != r->buf[0] && raw != r->buf[1]) {
			memcpy(r->buf[0], raw, r->chunk_bytes);
			raw = r->buf[0];
		}
		if (r->ch.big_endian && r->isz > 1)
			em_swap_bytes((void *)(uintptr_t)raw, r->chunk_bytes / r->isz, r->isz);
		untranspose(r, raw, out);
		return 0;
	}
	return em_fail("unknown format");
}
