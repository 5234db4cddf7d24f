/* zarr.c - Zarr v2 and v3 (sharded) arrays and OME-NGFF groups: create, open, read chunks, boxes and slabs */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/bigmem.h"
#include "store/codec.h"
#include "core/diag.h"
#include "core/dtype.h"
#include "core/fsutil.h"
#include "core/jsonio.h"
#include "core/safepath.h"
#include "store/ngff.h"
#include "store/shard.h"
#include "store/zarr.h"
#include "store/zarr_internal.h"
#include "core/banned.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the store code assumes a little-endian host"
#endif


struct em_zarr {
	char *path;		/* array directory */
	char *group;		/* group directory, or NULL for a bare array */
	struct em_zarr_meta m;
	size_t itemsize;
	size_t chunk_bytes;
	uint64_t grid[EM_ZARR_MAXDIM];
	/* sharded arrays */
	uint64_t cps[EM_ZARR_MAXDIM];	/* chunks per shard along each dimension */
	uint64_t per_shard;		/* chunks per shard (0: unsharded) */
	size_t index_bytes;		/* the encoded shard index */
	int nvoxel;		/* axes with a known length */
	double voxel[EM_ZARR_MAXDIM];
};

/* What one thread needs to read chunks: codec contexts and scratch buffers. */
struct rd {
	struct em_codec_ctx *cx;
	unsigned char *cbuf;	/* the encoded chunk file */
	size_t ccap;
	unsigned char *tmp;	/* a decoded chunk before transposing (F order) */
	unsigned char *chunk;	/* a decoded chunk (box and slab reads) */
	/* The last shard whose index was read (sharded arrays). */
	int have_shard;
	uint64_t sidx[EM_ZARR_MAXDIM];
	int sfd;		/* its file, -1 when missing */
	uint64_t sbytes;	/* its size */
	struct em_shard_entry *ent;
	unsigned char *ibuf;	/* the encoded index */
	char spath[4096];
};

static void
rd_release(struct rd *r)
{
	if (r->have_shard && r->sfd >= 0)
		close(r->sfd);
	free(r->ent);
	free(r->ibuf);
	em_codec_ctx_free(r->cx);
	free(r->cbuf);
	free(r->tmp);
	free(r->chunk);
	memset(r, 0, sizeof(*r));
}

/* ---- meta ---- */

size_t
em_zarr_chunk_bytes(const struct em_zarr_meta *m)
{
	size_t n = em_dtype_size(m->dtype);
	int i;

	for (i = 0; i < m->ndim; i++)
		n *= (size_t)m->chunks[i];
	return n;
}

void
em_zarr_grid(const struct em_zarr_meta *m, uint64_t *grid)
{
	int i;

	for (i = 0; i < m->ndim; i++)
		grid[i] = (m->shape[i] + m->chunks[i] - 1) / m->chunks[i];
}

void
em_zarr_shard_grid(const struct em_zarr_meta *m, uint64_t *grid)
{
	int i;

	if (!em_zarr_sharded(m)) {
		em_zarr_grid(m, grid);
		return;
	}
	for (i = 0; i < m->ndim; i++)
		grid[i] = (m->shape[i] + m->shard[i] - 1) / m->shard[i];
}

uint64_t
em_zarr_nshards(const struct em_zarr_meta *m)
{
	uint64_t g[EM_ZARR_MAXDIM], n = 1;
	int i;

	em_zarr_shard_grid(m, g);
	for (i = 0; i < m->ndim; i++)
		n *= g[i];
	return n;
}

uint64_t
em_zarr_nchunks(const struct em_zarr_meta *m)
{
	uint64_t g[EM_ZARR_MAXDIM], n = 1;
	int i;

	em_zarr_grid(m, g);
	for (i = 0; i < m->ndim; i++)
		n *= g[i];
	return n;
}

/* Shape as "a,b,c" into buf, for messages. */
static const char *
dims_text(int ndim, const uint64_t *v, char *buf, size_t n)
{
	size_t o = 0;
	int i, w;

	buf[0] = '\0';
	for (i = 0; i < ndim && o < n; i++) {
		w = snprintf(buf + o, n - o, "%s%" PRIu64, i ? "," : "", v[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	return buf;
}

int
em_zarr_check_size(int ndim, const uint64_t *shape, const uint64_t *chunks)
{
	uint64_t elems = 1, nch = 1;
	int i, over_e = 0, over_c = 0;
	char sh[EM_ZARR_MAXDIM * 24], ch[EM_ZARR_MAXDIM * 24];

	for (i = 0; i < ndim; i++) {
		uint64_t g = chunks[i] > 0 ? shape[i] / chunks[i] + (shape[i] % chunks[i] != 0) : 0;

		if (shape[i] == 0)
			return 0;
		/* Saturating products: a shape of 2^40 x 2^40 x 2^40 must not wrap to small. */
		if (over_e || elems > EM_ZARR_MAX_ELEMENTS / shape[i])
			over_e = 1;
		else
			elems *= shape[i];
		if (over_c || (g > 0 && nch > EM_ZARR_MAX_CHUNKS / g))
			over_c = 1;
		else
			nch *= g;
	}
	if (over_e || elems > EM_ZARR_MAX_ELEMENTS)
		return em_fail("shape %s has more than %" PRIu64 " (2^50) elements, the most an "
		    "array may have here", dims_text(ndim, shape, sh, sizeof(sh)),
		    EM_ZARR_MAX_ELEMENTS);
	if (over_c || nch > EM_ZARR_MAX_CHUNKS)
		return em_fail("shape %s in chunks of %s is more than %" PRIu64 " (2^32) chunks, "
		    "the most an array may have here", dims_text(ndim, shape, sh, sizeof(sh)),
		    dims_text(ndim, chunks, ch, sizeof(ch)), EM_ZARR_MAX_CHUNKS);
	return 0;
}

int
em_zarr_check_geometry(const struct em_zarr_meta *m)
{
	uint64_t elems = 1, cel = 1;
	size_t isz = em_dtype_size(m->dtype);
	int i;

	if (m->ndim < 1 || m->ndim > EM_ZARR_MAXDIM)
		return em_fail("arrays of %d dimensions are not supported (1..%d)", m->ndim,
		    EM_ZARR_MAXDIM);
	if (isz == 0)
		return em_fail("no element type");
	for (i = 0; i < m->ndim; i++) {
		if (m->chunks[i] == 0)
			return em_fail("chunk size 0 in dimension %d", i);
		if (m->shape[i] > 0 && elems > UINT64_MAX / m->shape[i])
			return em_fail("array shape overflows");
		elems *= m->shape[i];
		if (cel > (EM_ZARR_MAX_CHUNK_BYTES / isz) / m->chunks[i])
			return em_fail("chunks of more than %zu bytes are not supported",
			    EM_ZARR_MAX_CHUNK_BYTES);
		cel *= m->chunks[i];
	}
	if (elems > UINT64_MAX / isz)
		return em_fail("array shape overflows");
	return em_zarr_check_size(m->ndim, m->shape, m->chunks);
}

int
em_zarr_meta_init(struct em_zarr_meta *m, int ndim, const uint64_t *shape,
    const uint64_t *chunks, enum em_dtype dtype, const struct em_codec *codec)
{
	int i;

	memset(m, 0, sizeof(*m));
	m->zarr_format = 2;
	m->ndim = ndim;
	m->dtype = dtype;
	m->sep = '/';
	if (ndim < 1 || ndim > EM_ZARR_MAXDIM)
		return em_zarr_check_geometry(m);
	for (i = 0; i < ndim; i++) {
		m->shape[i] = shape[i];
		m->chunks[i] = chunks[i];
	}
	if (codec != NULL)
		m->codec = *codec;
	else
		em_codec_from_name("raw", 0, &m->codec);
	m->codec.typesize = em_dtype_size(dtype);
	return em_zarr_check_geometry(m);
}

int
em_zarr_sharded(const struct em_zarr_meta *m)
{
	return m->zarr_format == 3 && m->shard[0] != 0;
}

int
em_zarr_check_shard(const struct em_zarr_meta *m, const uint64_t *shard)
{
	char sb[128], cb[128];
	size_t so = 0, co = 0;
	int i, bad = 0;

	for (i = 0; i < m->ndim; i++) {
		if (shard[i] == 0 || shard[i] % m->chunks[i] != 0)
			bad = 1;
		so += (size_t)snprintf(sb + so, sizeof(sb) - so, "%s%llu", i ? "," : "",
		    (unsigned long long)shard[i]);
		co += (size_t)snprintf(cb + co, sizeof(cb) - co, "%s%llu", i ? "," : "",
		    (unsigned long long)m->chunks[i]);
	}
	if (bad)
		return em_fail("shard shape %s is not a multiple of the chunk shape %s", sb, cb);
	return 0;
}

int
em_zarr_meta_set_format(struct em_zarr_meta *m, int zarr_format, const uint64_t *shard)
{
	int i, sharded = 0;

	if (zarr_format != 2 && zarr_format != 3)
		return em_fail("Zarr format %d is not supported (2 or 3)", zarr_format);
	for (i = 0; shard != NULL && i < m->ndim; i++)
		if (shard[i] != 0)
			sharded = 1;
	if (sharded && zarr_format != 3)
		return em_fail("sharding needs Zarr format 3");
	if (sharded && em_zarr_check_shard(m, shard) < 0)
		return -1;
	m->zarr_format = zarr_format;
	memset(m->shard, 0, sizeof(m->shard));
	for (i = 0; sharded && i < m->ndim; i++)
		m->shard[i] = shard[i];
	return 0;
}

int
em_zarr_meta_set_fill(struct em_zarr_meta *m, double v)
{
	unsigned char *f = m->fill;

	memset(f, 0, sizeof(m->fill));
	m->fill_null = 0;
	if (em_dtype_is_float(m->dtype)) {
		if (m->dtype == EM_DT_F2) {
			uint16_t h = em_half_from_double(v);
			memcpy(f, &h, 2);
		} else if (m->dtype == EM_DT_F4) {
			float x = (float)v;
			memcpy(f, &x, 4);
		} else {
			memcpy(f, &v, 8);
		}
		return 0;
	}
	if (isnan(v) || v != floor(v))
		return em_fail("fill value %g is not an integer", v);
	switch (m->dtype) {
	case EM_DT_U1: case EM_DT_U2: case EM_DT_U4: case EM_DT_U8: {
		uint64_t u;
		size_t sz = em_dtype_size(m->dtype);
		if (v < 0 || (sz < 8 && v >= ldexp(1.0, (int)(8 * sz))) || v >= 18446744073709551616.0)
			return em_fail("fill value %g does not fit %s", v, em_dtype_name(m->dtype));
		u = (uint64_t)v;
		memcpy(f, &u, sz);
		return 0;
	}
	case EM_DT_I1: case EM_DT_I2: case EM_DT_I4: case EM_DT_I8: {
		int64_t s;
		size_t sz = em_dtype_size(m->dtype);
		double lim = ldexp(1.0, (int)(8 * sz - 1));
		if (v < -lim || v >= lim)
			return em_fail("fill value %g does not fit %s", v, em_dtype_name(m->dtype));
		s = (int64_t)v;
		memcpy(f, &s, sz);	/* little-endian: the low bytes carry the value */
		return 0;
	}
	default:
		return em_fail("no element type");
	}
}

char *
em_zarr_chunk_key(const struct em_zarr_meta *m, const uint64_t *cidx, char *buf, size_t n)
{
	size_t off = 0;
	int i, w;

	/* v3's default key encoding puts the chunks under "c". */
	if (m->zarr_format == 3 && !m->key_v2) {
		if (n < 3)
			return NULL;
		buf[off++] = 'c';
		buf[off++] = m->sep;
	}
	for (i = 0; i < m->ndim; i++) {
		if (i > 0) {
			if (off + 1 >= n)
				return NULL;
			buf[off++] = m->sep;
		}
		w = snprintf(buf + off, n - off, "%llu", (unsigned long long)cidx[i]);
		if (w < 0 || (size_t)w >= n - off)
			return NULL;
		off += (size_t)w;
	}
	return buf;
}

/* ---- .zarray ---- */

int
em_zarr_u64_list(const json_t *v, const char *what, uint64_t *out, int *n)
{
	size_t i;

	if (!json_is_array(v))
		return em_fail("'%s' is not a list", what);
	if (json_array_size(v) > EM_ZARR_MAXDIM)
		return em_fail("'%s' has more than %d dimensions", what, EM_ZARR_MAXDIM);
	for (i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_integer(e) || json_integer_value(e) < 0)
			return em_fail("'%s' holds something other than a non-negative integer",
			    what);
		out[i] = (uint64_t)json_integer_value(e);
	}
	*n = (int)json_array_size(v);
	return 0;
}

static int
parse_fill(struct em_zarr_meta *m, const json_t *v)
{
	double d;

	if (v == NULL || json_is_null(v)) {
		m->fill_null = 1;
		memset(m->fill, 0, sizeof(m->fill));
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!em_dtype_is_float(m->dtype))
			return em_fail("fill_value '%s' for an integer dtype", s);
		if (strcmp(s, "NaN") == 0)
			d = NAN;
		else if (strcmp(s, "Infinity") == 0)
			d = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			d = -INFINITY;
		else
			return em_fail("fill_value '%s' is not a number", s);
		return em_zarr_meta_set_fill(m, d);
	}
	if (json_is_integer(v) && !em_dtype_is_float(m->dtype)) {
		json_int_t i = json_integer_value(v);
		size_t sz = em_dtype_size(m->dtype);
		if (em_dtype_is_signed(m->dtype)) {
			if (sz < 8 && (i < -((json_int_t)1 << (8 * sz - 1)) ||
			    i >= ((json_int_t)1 << (8 * sz - 1))))
				return em_fail("fill_value %lld does not fit the dtype", (long long)i);
		} else if (i < 0 || (sz < 8 && i >= ((json_int_t)1 << (8 * sz)))) {
			return em_fail("fill_value %lld does not fit the dtype", (long long)i);
		}
		memcpy(m->fill, &i, sz);
		return 0;
	}
	if (json_is_boolean(v))
		return em_zarr_meta_set_fill(m, json_is_true(v) ? 1 : 0);
	if (!json_is_number(v))
		return em_fail("fill_value is not a number");
	return em_zarr_meta_set_fill(m, json_number_value(v));
}

/* Fill in m from the .zarray object j; name is the file for messages. */
static int
parse_zarray(struct em_zarr_meta *m, const json_t *j)
{
	const json_t *v;
	const char *s;
	int n2 = 0;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(j))
		return em_fail("not a JSON object");
	m->zarr_format = 2;
	v = json_object_get(j, "zarr_format");
	if (!json_is_integer(v) || json_integer_value(v) != 2)
		return em_fail("zarr_format is not 2");
	if (em_zarr_u64_list(json_object_get(j, "shape"), "shape", m->shape, &m->ndim) < 0 ||
	    em_zarr_u64_list(json_object_get(j, "chunks"), "chunks", m->chunks, &n2) < 0)
		return -1;
	if (m->ndim != n2)
		return em_fail("shape has %d dimensions, chunks %d", m->ndim, n2);
	if (m->ndim == 0)
		return em_fail("0-d arrays are not supported");
	v = json_object_get(j, "dtype");
	if (!json_is_string(v))
		return em_fail("unsupported dtype (not a plain numeric type string)");
	s = json_string_value(v);
	m->dtype = em_dtype_from_zarr(s, &m->big_endian);
	if (m->dtype == EM_DT_NONE)
		return em_fail("unsupported dtype '%s'", s);
	if (em_zarr_check_geometry(m) < 0)
		return -1;
	v = json_object_get(j, "order");
	s = json_string_value(v);
	if (s == NULL || (strcmp(s, "C") != 0 && strcmp(s, "F") != 0))
		return em_fail("order is not \"C\" or \"F\"");
	m->order_f = s[0] == 'F';
	v = json_object_get(j, "filters");
	if (v != NULL && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0)) {
		const char *id = json_string_value(json_object_get(json_array_get(v, 0), "id"));
		return em_fail("unsupported filter '%s'", id ? id : "?");
	}
	v = json_object_get(j, "dimension_separator");
	s = json_string_value(v);
	if (v == NULL || json_is_null(v))
		m->sep = '.';
	else if (s != NULL && (strcmp(s, "/") == 0 || strcmp(s, ".") == 0))
		m->sep = s[0];
	else
		return em_fail("dimension_separator is not \"/\" or \".\"");
	if (em_codec_from_json(json_object_get(j, "compressor"), &m->codec) < 0)
		return -1;
	m->codec.typesize = em_dtype_size(m->dtype);
	return parse_fill(m, json_object_get(j, "fill_value"));
}

/* A .zarray (v2) or an array's zarr.json (v3), by its zarr_format. */
static int
parse_meta(struct em_zarr_meta *m, const json_t *j)
{
	const json_t *v = json_object_get(j, "zarr_format");

	if (json_is_integer(v) && json_integer_value(v) == 3)
		return em_zarr3_parse(m, j);
	return parse_zarray(m, j);
}

int
em_zarr_meta_from_json(struct em_zarr_meta *m, const json_t *j)
{
	return parse_meta(m, j);
}

int
em_zarr_meta_fill_json(struct em_zarr_meta *m, const json_t *v)
{
	return parse_fill(m, v);
}

json_t *
em_zarr_fill_to_json(const struct em_zarr_meta *m)
{
	size_t sz = em_dtype_size(m->dtype);

	if (m->fill_null)
		return json_null();
	if (em_dtype_is_float(m->dtype)) {
		double d;
		if (sz == 2) {
			uint16_t h;
			memcpy(&h, m->fill, 2);
			d = em_half_to_float(h);
		} else if (sz == 4) {
			float f;
			memcpy(&f, m->fill, 4);
			d = f;
		} else {
			memcpy(&d, m->fill, 8);
		}
		if (isnan(d))
			return json_string("NaN");
		if (isinf(d))
			return json_string(d > 0 ? "Infinity" : "-Infinity");
		return json_real(d);
	}
	if (em_dtype_is_signed(m->dtype)) {
		int64_t s = 0;
		memcpy(&s, m->fill, sz);
		if (sz < 8 && (s >> (8 * sz - 1)) & 1)	/* sign-extend */
			s |= (int64_t)(~(uint64_t)0 << (8 * sz));
		return json_integer(s);
	} else {
		uint64_t u = 0;
		memcpy(&u, m->fill, sz);
		if (u > INT64_MAX)
			return NULL;
		return json_integer((json_int_t)u);
	}
}

static json_t *
zarray_json(const struct em_zarr_meta *m)
{
	json_t *shape = json_array(), *chunks = json_array(), *fill = em_zarr_fill_to_json(m);
	char sep[2] = { m->sep, '\0' };
	int i;

	for (i = 0; i < m->ndim; i++) {
		json_array_append_new(shape, json_integer((json_int_t)m->shape[i]));
		json_array_append_new(chunks, json_integer((json_int_t)m->chunks[i]));
	}
	if (fill == NULL) {
		json_decref(shape);
		json_decref(chunks);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:s, s:s, s:o, s:n, s:s, s:o, s:i}",
	    "chunks", chunks, "compressor", em_codec_to_json(&m->codec),
	    "dimension_separator", sep, "dtype", em_dtype_zarr(m->dtype), "fill_value", fill,
	    "filters", "order", "C", "shape", shape, "zarr_format", 2);
}

/* The same array (what readers would see), as far as the store is concerned. */
static const char *
meta_diff(const struct em_zarr_meta *a, const struct em_zarr_meta *b)
{
	int i;

	if ((a->zarr_format == 3) != (b->zarr_format == 3))
		return "Zarr format";
	if (a->ndim != b->ndim)
		return "number of dimensions";
	for (i = 0; i < a->ndim; i++)
		if (a->shard[i] != b->shard[i])
			return "shard shape";
	if (a->key_v2 != b->key_v2 || a->crc32c != b->crc32c || a->index_start != b->index_start ||
	    a->index_nocrc != b->index_nocrc)
		return "codecs";
	for (i = 0; i < a->ndim; i++) {
		if (a->shape[i] != b->shape[i])
			return "shape";
		if (a->chunks[i] != b->chunks[i])
			return "chunks";
	}
	if (a->dtype != b->dtype || a->big_endian != b->big_endian)
		return "dtype";
	if (a->order_f != b->order_f)
		return "order";
	if (a->sep != b->sep)
		return "dimension_separator";
	if (a->fill_null != b->fill_null || memcmp(a->fill, b->fill, sizeof(a->fill)) != 0)
		return "fill_value";
	if (a->codec.id != b->codec.id || a->codec.level != b->codec.level ||
	    a->codec.checksum != b->codec.checksum || strcmp(a->codec.cname, b->codec.cname) != 0 ||
	    a->codec.shuffle != b->codec.shuffle || a->codec.blocksize != b->codec.blocksize ||
	    (a->codec.id == EM_CODEC_LZ4 && a->codec.acceleration != b->codec.acceleration))
		return "compressor";
	return NULL;
}

static char *
path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* The JSON text at path, by em_write_atomic (EM_ATOMIC_EXCL: 1 when the name is taken). */
static int
write_json(const char *path, const json_t *j, int flags)
{
	size_t len;
	char *text = em_json_text(j, EM_JSON_SORTED | EM_JSON_INDENT(4), &len);
	int rc;

	if (text == NULL)
		return em_fail_ctx("cannot format JSON for '%s'", path);
	rc = em_write_atomic(path, text, len, flags);
	free(text);
	return rc;
}

int
em_zarr_write_json(const char *path, const json_t *j)
{
	json_t *old = json_load_file(path, 0, NULL);
	int same = old != NULL && json_equal(old, j);

	json_decref(old);
	return same ? 0 : write_json(path, j, 0);
}

int
em_zarr_create_array(const char *dir, const struct em_zarr_meta *m)
{
	int v3 = m->zarr_format == 3;
	char *p = NULL, *other = NULL;
	json_t *j = NULL, *old = NULL;
	struct em_zarr_meta om, want;
	const char *diff;
	int i, rc = -1;

	if (em_zarr_check_geometry(m) < 0)
		return -1;
	if (m->big_endian || m->order_f || m->key_v2 || m->crc32c || m->index_start ||
	    m->index_nocrc)
		return em_fail("the store writes little-endian C-order arrays only, in its own "
		    "layout");
	if (m->sep != '/' && m->sep != '.')
		return em_fail("dimension separator must be '/' or '.'");
	for (i = 0; i < m->ndim; i++)
		if (m->shard[i] != 0 && !v3)
			return em_fail("sharding needs Zarr format 3");
	if (em_zarr_sharded(m) && em_zarr_check_shard(m, m->shard) < 0)
		return -1;
	if (em_mkdir_p(dir) < 0 || (p = path_join(dir, v3 ? "zarr.json" : ".zarray")) == NULL ||
	    (other = path_join(dir, v3 ? ".zarray" : "zarr.json")) == NULL)
		goto out;
	if (em_exists(other) == 1) {
		em_fail("'%s' exists: the array is Zarr v%d, not v%d", other, v3 ? 2 : 3,
		    v3 ? 3 : 2);
		goto out;
	}
	if ((j = v3 ? em_zarr3_json(m) : zarray_json(m)) == NULL) {
		em_fail("cannot express the array's metadata in JSON");
		goto out;
	}
	/* v3 says some parameters its own way (blosc's automatic shuffle): compare as read back. */
	want = *m;
	if (v3 && em_zarr3_parse(&want, j) < 0)
		goto out;
	/*
	 * Other writers of the same array (parts) may make it at any moment:
	 * it is linked into place only where none is, and the one there is
	 * then read back and compared (also where the filesystem has no hard
	 * links and two renames may both land).  Once there it stays, so a
	 * name that fails to load twice is not JSON, not a writer's
	 * half-finished file.
	 */
	for (i = 0; i < 4 && rc < 0; i++) {
		int e;

		if ((old = json_load_file(p, 0, NULL)) != NULL) {
			if (parse_meta(&om, old) < 0)
				em_fail_ctx("'%s' exists and is not a Zarr array we can read", p);
			else if ((diff = meta_diff(&om, &want)) != NULL)
				em_fail("'%s' exists with a different %s", p, diff);
			else
				rc = 0;
			goto out;
		}
		if ((e = em_exists(p)) < 0)
			goto out;
		if (e == 1 && i > 0) {
			em_fail("'%s' exists and is not valid JSON", p);
			goto out;
		}
		/* Made (or another's won): read back and compared on the next pass. */
		if (e == 0 && write_json(p, j, EM_ATOMIC_EXCL) < 0)
			goto out;
	}
	if (rc < 0)
		em_fail("'%s' keeps changing: another program is writing it", p);
out:
	json_decref(j);
	json_decref(old);
	free(p);
	free(other);
	return rc;
}

/* Group metadata another writer made, kept: only if it is what a group has there. */
static int
check_kept(const char *p, int zarr_format)
{
	json_t *j = json_load_file(p, 0, NULL);
	const char *nt = json_string_value(json_object_get(j, "node_type"));
	int ok = json_is_object(j) && (zarr_format == 2 || (nt != NULL && strcmp(nt, "group") == 0));

	json_decref(j);
	return ok ? 1 : em_fail("'%s' exists and is not %s", p, zarr_format == 3 ?
	    "a Zarr group's metadata" : "a JSON object");
}

/* The attributes' file: replaced when it changes, or with keep made only where none is (1: kept). */
static int
put_attrs(const char *p, const json_t *j, int keep, int zarr_format)
{
	int rc = keep ? write_json(p, j, EM_ATOMIC_EXCL) : em_zarr_write_json(p, j);

	return rc == 1 ? check_kept(p, zarr_format) : rc;
}

/*
 * The group's files; with keep, the attributes' file (v2 .zattrs, v3
 * zarr.json) is linked into place only where none is, and 1 says one was
 * there already (left as it is).
 */
static int
write_group(const char *dir, int zarr_format, const json_t *attrs, int keep)
{
	json_t *grp = NULL, *empty = NULL;
	char *p = NULL, *other = NULL;
	int rc = -1;

	if (zarr_format != 2 && zarr_format != 3)
		return em_fail("Zarr format %d is not supported (2 or 3)", zarr_format);
	if (em_mkdir_p(dir) < 0)
		return -1;
	/* One store, one format: readers pick either and would see half of it. */
	if ((other = path_join(dir, zarr_format == 3 ? ".zgroup" : "zarr.json")) == NULL)
		goto out;
	if (em_exists(other) == 1) {
		em_fail("'%s' exists: the group is Zarr v%d, not v%d", other, 5 - zarr_format,
		    zarr_format);
		goto out;
	}
	if (zarr_format == 3) {
		if (attrs == NULL && (attrs = empty = json_object()) == NULL)
			goto oom;
		grp = json_pack("{s:i, s:s, s:O}", "zarr_format", 3, "node_type", "group",
		    "attributes", attrs);
		if (grp == NULL)
			goto oom;
		if ((p = path_join(dir, "zarr.json")) != NULL)
			rc = put_attrs(p, grp, keep, 3);
		goto out;
	}
	if ((grp = json_pack("{s:i}", "zarr_format", 2)) == NULL)
		goto oom;
	if ((p = path_join(dir, ".zgroup")) == NULL || em_zarr_write_json(p, grp) < 0)
		goto out;
	rc = 0;
	if (attrs != NULL) {
		free(p);
		rc = (p = path_join(dir, ".zattrs")) == NULL ? -1 : put_attrs(p, attrs, keep, 2);
	}
	goto out;
oom:
	em_fail("out of memory");
out:
	json_decref(grp);
	json_decref(empty);
	free(p);
	free(other);
	return rc;
}

int
em_zarr_write_group(const char *dir, int zarr_format, const json_t *attrs)
{
	return write_group(dir, zarr_format, attrs, 0) < 0 ? -1 : 0;
}

/*
 * OME-NGFF 0.5 attributes from 0.4 ones: the same keys under "ome" with
 * the version said once there, not in each multiscale.  A new reference.
 */
static json_t *
ngff_05(const json_t *attrs)
{
	json_t *ome = json_deep_copy(attrs), *ms, *e;
	size_t i;

	if (ome == NULL)
		return NULL;
	ms = json_object_get(ome, "multiscales");
	json_array_foreach(ms, i, e)
		json_object_del(e, "version");
	if (json_object_set_new(ome, "version", json_string("0.5")) < 0) {
		json_decref(ome);
		return NULL;
	}
	return json_pack("{s:o}", "ome", ome);
}

int
em_zarr_create(const char *store, const struct em_zarr_meta *m, const double *voxel_nm,
    const char *name)
{
	return em_zarr_create_at(store, m, voxel_nm, NULL, name, 0) < 0 ? -1 : 0;
}

int
em_zarr_create_at(const char *store, const struct em_zarr_meta *m, const double *voxel_nm,
    const double *offset, const char *name, int flags)
{
	json_t *attrs = NULL, *a5 = NULL;
	char *p = NULL;
	int i, kept, rc = -1;

	if (m->ndim != 2 && m->ndim != 3)
		return em_fail("an OME-Zarr image needs 2 or 3 dimensions, not %d", m->ndim);
	if (voxel_nm != NULL)
		for (i = 0; i < m->ndim; i++)
			if (!(voxel_nm[i] > 0) || !isfinite(voxel_nm[i]))
				return em_fail("voxel size %g nm is not a positive number", voxel_nm[i]);
	attrs = em_ngff_image_attrs(m->ndim, voxel_nm, offset, name);
	if (attrs == NULL || (m->zarr_format == 3 && (a5 = ngff_05(attrs)) == NULL)) {
		em_fail("out of memory");
		goto out;
	}
	if ((kept = write_group(store, m->zarr_format == 3 ? 3 : 2, a5 ? a5 : attrs,
	    (flags & EM_ZARR_KEEP_GROUP) != 0)) < 0)
		goto out;
	if ((p = path_join(store, "0")) == NULL || em_zarr_create_array(p, m) < 0)
		goto out;
	rc = kept;
out:
	json_decref(attrs);
	json_decref(a5);
	free(p);
	return rc;
}

/* ---- open ---- */

static int
attrs_from_json(const json_t *attrs, struct em_zarr_attrs *at)
{
	const json_t *ms = json_array_get(em_ngff_multiscales(attrs), 0);
	const json_t *ds = json_array_get(json_object_get(ms, "datasets"), 0);
	const char *dp = json_string_value(json_object_get(ds, "path"));
	struct em_ngff_scale sc;

	memset(at, 0, sizeof(*at));
	if (dp == NULL || !em_relpath_ok(dp))
		return em_fail("no usable multiscales[0].datasets[0].path");
	if ((at->path = strdup(dp)) == NULL)
		return em_fail("out of memory");
	em_ngff_scale(ms, ds, &sc);
	at->naxes = sc.naxes;
	memcpy(at->voxel_nm, sc.voxel_nm, sizeof(at->voxel_nm));
	return 0;
}

void
em_zarr_attrs_release(struct em_zarr_attrs *at)
{
	if (at == NULL)
		return;
	free(at->path);
	at->path = NULL;
}

/* One JSON text of at most EM_ZARR_MAX_META_BYTES from memory. */
static json_t *
meta_from_text(const char *text, size_t len)
{
	json_error_t jerr;
	json_t *j;

	if (len > EM_ZARR_MAX_META_BYTES) {
		em_fail("metadata has %zu bytes, more than %d", len, EM_ZARR_MAX_META_BYTES);
		return NULL;
	}
	if ((j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr)) == NULL)
		em_fail("line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	return j;
}

int
em_zarr_meta_parse(const char *text, size_t len, struct em_zarr_meta *m)
{
	json_t *j = meta_from_text(text, len);
	int rc;

	if (j == NULL)
		return -1;
	rc = parse_meta(m, j);
	json_decref(j);
	return rc;
}

int
em_zarr_attrs_parse(const char *text, size_t len, struct em_zarr_attrs *at)
{
	json_t *j = meta_from_text(text, len);
	int rc;

	memset(at, 0, sizeof(*at));
	if (j == NULL)
		return -1;
	rc = attrs_from_json(j, at);
	json_decref(j);
	return rc;
}

static json_t *
load_meta(const char *path)
{
	json_t *j = em_json_load_file(path, EM_ZARR_MAX_META_BYTES);

	if (j == NULL)
		em_fail_ctx("cannot read '%s'", path);
	return j;
}

/* The zarr.json at path: 1 an array, 2 a group, 0 none, -1 error (*jp the parsed text). */
static int
zarr_json_kind(const char *dir, json_t **jp)
{
	char *p = path_join(dir, "zarr.json");
	const char *nt;
	json_t *j;
	int rc;

	*jp = NULL;
	if (p == NULL)
		return -1;
	if ((rc = em_exists(p)) != 1) {
		free(p);
		return rc;
	}
	if ((j = load_meta(p)) == NULL) {
		free(p);
		return -1;
	}
	nt = json_string_value(json_object_get(j, "node_type"));
	if (nt != NULL && strcmp(nt, "array") == 0)
		rc = 1;
	else if (nt != NULL && strcmp(nt, "group") == 0)
		rc = 2;
	else
		rc = em_fail("'%s': node_type is not 'array' or 'group'", p);
	free(p);
	if (rc < 0)
		json_decref(j);
	else
		*jp = j;
	return rc;
}

static int
open_array(struct em_zarr *a)
{
	char *p = NULL;
	json_t *j = NULL;
	int i, rc = -1, kind;

	if ((kind = zarr_json_kind(a->path, &j)) < 0)
		return -1;
	if (kind == 2) {
		em_fail("'%s/zarr.json' is a Zarr v3 group, not an array", a->path);
		goto out;
	}
	if ((p = path_join(a->path, kind == 1 ? "zarr.json" : ".zarray")) == NULL)
		goto out;
	if (kind == 0 && (j = load_meta(p)) == NULL)
		goto out;
	if ((kind == 1 ? em_zarr3_parse(&a->m, j) : parse_zarray(&a->m, j)) < 0) {
		em_fail_ctx("'%s'", p);
		goto out;
	}
	a->itemsize = em_dtype_size(a->m.dtype);
	a->chunk_bytes = em_zarr_chunk_bytes(&a->m);
	em_zarr_grid(&a->m, a->grid);
	for (i = 0; i < a->m.ndim; i++)
		a->voxel[i] = 0;
	a->per_shard = 0;
	if (em_zarr_sharded(&a->m)) {
		a->per_shard = 1;
		for (i = 0; i < a->m.ndim; i++) {
			a->cps[i] = a->m.shard[i] / a->m.chunks[i];
			if (a->per_shard > EM_ZARR_MAX_CHUNK_BYTES / 16 / a->cps[i]) {
				em_fail("'%s': more inner chunks per shard than this reader takes", p);
				goto out;
			}
			a->per_shard *= a->cps[i];
		}
		a->index_bytes = em_shard_index_bytes(a->per_shard, !a->m.index_nocrc);
	}
	rc = 0;
out:
	free(p);
	json_decref(j);
	return rc;
}

struct em_zarr *
em_zarr_open(const char *path)
{
	struct em_zarr *a = calloc(1, sizeof(*a));
	struct em_zarr_attrs at = { NULL, 0, { 0 } };
	json_t *attrs = NULL, *zj = NULL;
	char *p = NULL;
	int i, kind;

	if (a == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	if ((p = path_join(path, ".zarray")) == NULL)
		goto fail;
	if ((kind = zarr_json_kind(path, &zj)) < 0)
		goto fail;
	if (em_exists(p) == 1 || kind == 1) {
		if ((a->path = strdup(path)) == NULL || open_array(a) < 0)
			goto fail;
		json_decref(zj);
		free(p);
		return a;
	}
	free(p);
	p = NULL;
	if (kind == 2) {
		/* A v3 group: its attributes are in its zarr.json (OME-NGFF 0.5 under "ome"). */
		if ((p = path_join(path, "zarr.json")) == NULL)
			goto fail;
		attrs = json_incref(json_object_get(zj, "attributes"));
	} else {
		if ((p = path_join(path, ".zgroup")) == NULL)
			goto fail;
		if (em_exists(p) != 1) {
			if (em_exists(path) == 0)
				em_fail("'%s' does not exist", path);
			else
				em_fail("'%s' is not a Zarr array or group (no .zarray, .zgroup or "
				    "zarr.json)", path);
			goto fail;
		}
		free(p);
		if ((p = path_join(path, ".zattrs")) == NULL)
			goto fail;
		if (em_exists(p) != 1) {
			em_fail("'%s' is a Zarr group without .zattrs (no OME-NGFF multiscales)",
			    path);
			goto fail;
		}
		if ((attrs = load_meta(p)) == NULL)
			goto fail;
	}
	if (attrs_from_json(attrs, &at) < 0) {
		em_fail_ctx("'%s'", p);
		goto fail;
	}
	if ((a->group = strdup(path)) == NULL || (a->path = path_join(path, at.path)) == NULL)
		goto fail;
	if (open_array(a) < 0)
		goto fail;
	if (at.naxes == a->m.ndim) {
		for (i = 0; i < a->m.ndim; i++) {
			a->voxel[i] = at.voxel_nm[i];
			if (a->voxel[i] > 0)
				a->nvoxel++;
		}
	}
	em_zarr_attrs_release(&at);
	json_decref(attrs);
	json_decref(zj);
	free(p);
	return a;
fail:
	if (a->path == NULL && a->group == NULL && em_errmsg()[0] == '\0')
		em_fail("out of memory");
	em_zarr_attrs_release(&at);
	json_decref(attrs);
	json_decref(zj);
	free(p);
	em_zarr_close(a);
	return NULL;
}

void
em_zarr_close(struct em_zarr *a)
{
	if (a == NULL)
		return;
	free(a->path);
	free(a->group);
	free(a);
}

const struct em_zarr_meta *
em_zarr_meta(const struct em_zarr *a)
{
	return &a->m;
}

const char *
em_zarr_path(const struct em_zarr *a)
{
	return a->path;
}

size_t
em_zarr_itemsize(const struct em_zarr *a)
{
	return a->itemsize;
}

uint64_t
em_zarr_nbytes(const struct em_zarr *a)
{
	uint64_t n = a->itemsize;
	int i;

	for (i = 0; i < a->m.ndim; i++)
		n *= a->m.shape[i];
	return n;
}

int
em_zarr_voxel_nm(const struct em_zarr *a, double *out)
{
	int i;

	for (i = 0; i < a->m.ndim; i++)
		out[i] = a->voxel[i];
	return a->nvoxel;
}

/* ---- copying ---- */

void
em_zarr_fill(void *dst, size_t n, size_t itemsize, const unsigned char *elem)
{
	unsigned char *d = dst;
	size_t i, k;

	for (k = 0; k < itemsize && elem[k] == elem[0]; k++)
		;
	if (k == itemsize) {
		memset(d, elem[0], n * itemsize);
		return;
	}
	for (i = 0; i < n; i++)
		memcpy(d + i * itemsize, elem, itemsize);
}

/*
 * Rows of a fixed length: the compiler turns each copy into a few vector
 * moves.  Gathering 64^3 uint8 chunks into planes is 16 million rows of 64
 * bytes per GiB, and a call to memcpy for each cost as much as the bytes.
 */
#define COPY_ROWS(len) \
	do { \
		for (j = 0; j < cnt; j++, d += dstep, s += sstep) \
			memcpy(d, s, (len)); \
	} while (0)

static void
copy_rows(unsigned char *d, const unsigned char *s, uint64_t cnt, size_t dstep, size_t sstep,
    size_t row)
{
	uint64_t j;

	switch (row) {
	case 16: COPY_ROWS(16); break;
	case 32: COPY_ROWS(32); break;
	case 64: COPY_ROWS(64); break;
	case 128: COPY_ROWS(128); break;
	case 256: COPY_ROWS(256); break;
	default: COPY_ROWS(row); break;
	}
}

void
em_zarr_copy_box(int n, size_t itemsize, void *dst, const uint64_t *dst_shape,
    const uint64_t *dst_off, const void *src, const uint64_t *src_shape,
    const uint64_t *src_off, const uint64_t *count)
{
	uint64_t ss[EM_ZARR_MAXDIM], ds[EM_ZARR_MAXDIM], pos[EM_ZARR_MAXDIM];
	size_t row;
	int i, k;

	for (i = 0; i < n; i++)
		if (count[i] == 0)
			return;
	ss[n - 1] = ds[n - 1] = 1;
	for (i = n - 2; i >= 0; i--) {
		ss[i] = ss[i + 1] * src_shape[i + 1];
		ds[i] = ds[i + 1] * dst_shape[i + 1];
	}
	/* Merge trailing dimensions copied whole into one run. */
	row = (size_t)count[n - 1] * itemsize;
	while (n > 1 && count[n - 1] == src_shape[n - 1] && count[n - 1] == dst_shape[n - 1] &&
	    src_off[n - 1] == 0 && dst_off[n - 1] == 0) {
		n--;
		row *= (size_t)count[n - 1];
	}
	if (n == 1) {
		memcpy((char *)dst + dst_off[0] * ds[0] * itemsize,
		    (const char *)src + src_off[0] * ss[0] * itemsize, row);
		return;
	}
	/* The runs along dimension n - 2 in one loop; the dimensions before it by pos. */
	memset(pos, 0, sizeof(pos));
	for (;;) {
		uint64_t so = 0, dof = 0;
		for (i = 0; i < n - 2; i++) {
			so += (src_off[i] + pos[i]) * ss[i];
			dof += (dst_off[i] + pos[i]) * ds[i];
		}
		so += src_off[n - 2] * ss[n - 2] + src_off[n - 1] * ss[n - 1];
		dof += dst_off[n - 2] * ds[n - 2] + dst_off[n - 1] * ds[n - 1];
		copy_rows((unsigned char *)dst + dof * itemsize,
		    (const unsigned char *)src + so * itemsize, count[n - 2],
		    (size_t)ds[n - 2] * itemsize, (size_t)ss[n - 2] * itemsize, row);
		for (k = n - 3; k >= 0; k--) {
			if (++pos[k] < count[k])
				break;
			pos[k] = 0;
		}
		if (k < 0)
			break;
	}
}

/* Fortran-order chunk src to C order in dst. */
static void
transpose_f(const struct em_zarr_meta *m, size_t isz, const unsigned char *src, unsigned char *dst)
{
	uint64_t pos[EM_ZARR_MAXDIM] = { 0 }, fst[EM_ZARR_MAXDIM];
	size_t total = em_zarr_chunk_bytes(m) / isz, i;
	int n = m->ndim, k;

	fst[0] = 1;
	for (k = 1; k < n; k++)
		fst[k] = fst[k - 1] * m->chunks[k - 1];
	for (i = 0; i < total; i++) {
		uint64_t fo = 0;
		for (k = 0; k < n; k++)
			fo += pos[k] * fst[k];
		memcpy(dst + i * isz, src + fo * isz, isz);
		for (k = n - 1; k >= 0; k--) {
			if (++pos[k] < m->chunks[k])
				break;
			pos[k] = 0;
		}
	}
}

/* ---- reading chunks ---- */

static char *
chunk_path(const struct em_zarr *a, const uint64_t *cidx, char *buf, size_t n)
{
	size_t len = strlen(a->path);

	if (len + 2 >= n)
		return NULL;
	memcpy(buf, a->path, len);
	buf[len] = '/';
	if (em_zarr_chunk_key(&a->m, cidx, buf + len + 1, n - len - 1) == NULL)
		return NULL;
	return buf;
}

static int
check_cidx(const struct em_zarr *a, const uint64_t *cidx)
{
	int i;

	for (i = 0; i < a->m.ndim; i++)
		if (cidx[i] >= a->grid[i])
			return em_fail("chunk index %llu is outside the grid (%llu) in dimension %d",
			    (unsigned long long)cidx[i], (unsigned long long)a->grid[i], i);
	return 0;
}

/* Largest chunk file we accept: any encoder's worst case for this chunk size, with margin. */
static size_t
max_file_bytes(const struct em_zarr *a)
{
	size_t b = em_codec_bound(&a->m.codec, a->chunk_bytes);

	if (b < a->chunk_bytes)
		b = a->chunk_bytes;
	return b + a->chunk_bytes / 8 + 65536;
}

/* Read the chunk file into r->cbuf: 1 read (*len set), 0 missing, -1 error. */
static int
load_file(struct em_zarr *a, struct rd *r, const char *path, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return em_fail_errno("cannot open chunk '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		em_fail_errno("cannot stat chunk '%s'", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		em_fail("chunk '%s' is not a regular file", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > max_file_bytes(a)) {
		em_fail("chunk '%s' has %llu bytes, more than any encoding of a %zu-byte chunk",
		    path, (unsigned long long)st.st_size, a->chunk_bytes);
		goto fail;
	}
	if ((size_t)st.st_size + 1 > r->ccap) {
		size_t cap = (size_t)st.st_size + 1;
		unsigned char *nb = realloc(r->cbuf, cap);
		if (nb == NULL) {
			em_fail("out of memory");
			goto fail;
		}
		r->cbuf = nb;
		r->ccap = cap;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, r->cbuf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			em_fail_errno("cannot read chunk '%s'", path);
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return 1;
fail:
	close(fd);
	return -1;
}

/* Grow r->cbuf to hold n bytes. */
static int
cbuf_reserve(struct rd *r, size_t n)
{
	unsigned char *nb;

	if (n <= r->ccap)
		return 0;
	if ((nb = realloc(r->cbuf, n)) == NULL)
		return em_fail("out of memory");
	r->cbuf = nb;
	r->ccap = n;
	return 0;
}

static int
pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = EIO;	/* the file shrank under us */
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

/*
 * Read the index of shard sidx into r (kept until another shard is asked
 * for): 1 read, 0 the shard file is missing, -1 error naming the file.
 */
static int
shard_load(struct em_zarr *a, struct rd *r, const uint64_t *sidx)
{
	struct stat st;
	uint64_t ioff;
	int i;

	if (r->have_shard) {
		for (i = 0; i < a->m.ndim && r->sidx[i] == sidx[i]; i++)
			;
		if (i == a->m.ndim)
			return r->sfd >= 0;
		if (r->sfd >= 0)
			close(r->sfd);
		r->have_shard = 0;
	}
	if (chunk_path(a, sidx, r->spath, sizeof(r->spath)) == NULL)
		return em_fail("shard path too long in '%s'", a->path);
	if (r->ent == NULL && ((r->ent = calloc((size_t)a->per_shard, sizeof(*r->ent))) == NULL ||
	    (r->ibuf = malloc(a->index_bytes)) == NULL))
		return em_fail("out of memory");
	r->sfd = open(r->spath, O_RDONLY | O_CLOEXEC);
	if (r->sfd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return em_fail_errno("cannot open shard '%s'", r->spath);
		memcpy(r->sidx, sidx, (size_t)a->m.ndim * sizeof(*sidx));
		r->have_shard = 1;
		return 0;
	}
	if (fstat(r->sfd, &st) < 0) {
		em_fail_errno("cannot stat shard '%s'", r->spath);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		em_fail("shard '%s' is not a regular file", r->spath);
		goto fail;
	}
	r->sbytes = (uint64_t)st.st_size;
	if (r->sbytes < a->index_bytes) {
		em_fail("shard '%s' has %llu bytes, less than its %zu-byte index", r->spath,
		    (unsigned long long)r->sbytes, a->index_bytes);
		goto fail;
	}
	ioff = a->m.index_start ? 0 : r->sbytes - a->index_bytes;
	if (pread_all(r->sfd, r->ibuf, a->index_bytes, ioff) < 0) {
		em_fail_errno("cannot read the index of shard '%s'", r->spath);
		goto fail;
	}
	if (em_shard_index_decode(r->ibuf, a->index_bytes, a->per_shard, !a->m.index_nocrc,
	    r->sbytes, ioff, r->ent) < 0) {
		em_fail_ctx("shard '%s'", r->spath);
		goto fail;
	}
	memcpy(r->sidx, sidx, (size_t)a->m.ndim * sizeof(*sidx));
	r->have_shard = 1;
	return 1;
fail:
	close(r->sfd);
	r->sfd = -1;
	return -1;
}

/* Where chunk cidx is: its shard's index (in r) and its entry there; *ent NULL if missing. */
static int
shard_entry(struct em_zarr *a, struct rd *r, const uint64_t *cidx,
    const struct em_shard_entry **ent)
{
	uint64_t sidx[EM_ZARR_MAXDIM], k = 0;
	int i, rc;

	for (i = 0; i < a->m.ndim; i++) {
		sidx[i] = cidx[i] / a->cps[i];
		k = k * a->cps[i] + cidx[i] % a->cps[i];
	}
	*ent = NULL;
	if ((rc = shard_load(a, r, sidx)) <= 0)
		return rc;
	if (r->ent[k].offset != EM_SHARD_MISSING)
		*ent = &r->ent[k];
	return 0;
}

/* The encoded chunk cidx of a sharded array into r->cbuf: 1 (*len set), 0 missing, -1 error. */
static int
load_inner(struct em_zarr *a, struct rd *r, const uint64_t *cidx, size_t *len)
{
	const struct em_shard_entry *e;

	if (shard_entry(a, r, cidx, &e) < 0)
		return -1;
	if (e == NULL)
		return 0;
	if (e->nbytes > max_file_bytes(a))
		return em_fail("shard '%s': a chunk of %llu bytes, more than any encoding of a "
		    "%zu-byte chunk", r->spath, (unsigned long long)e->nbytes, a->chunk_bytes);
	if (cbuf_reserve(r, (size_t)e->nbytes + 1) < 0)
		return -1;
	if (pread_all(r->sfd, r->cbuf, (size_t)e->nbytes, e->offset) < 0)
		return em_fail_errno("cannot read shard '%s'", r->spath);
	*len = (size_t)e->nbytes;
	return 1;
}

static int
read_chunk_rd(struct em_zarr *a, struct rd *r, const uint64_t *cidx, void *out)
{
	char path[4096], key[256];
	size_t len = 0;
	int rc, need_tmp = a->m.order_f;

	if (check_cidx(a, cidx) < 0)
		return -1;
	if (a->per_shard > 0) {
		rc = load_inner(a, r, cidx, &len);
	} else {
		if (chunk_path(a, cidx, path, sizeof(path)) == NULL)
			return em_fail("chunk path too long in '%s'", a->path);
		rc = load_file(a, r, path, &len);
	}
	if (rc <= 0) {
		if (rc == 0)
			em_zarr_fill(out, a->chunk_bytes / a->itemsize, a->itemsize, a->m.fill);
		return rc;
	}
	if (r->cx == NULL && (r->cx = em_codec_ctx_new()) == NULL)
		return -1;
	if (need_tmp && r->tmp == NULL && (r->tmp = malloc(a->chunk_bytes)) == NULL)
		return em_fail("out of memory");
	if (em_zarr_decode_chunk(r->cx, &a->m, r->cbuf, len, out, r->tmp) < 0) {
		if (a->per_shard > 0) {
			struct em_zarr_meta km = a->m;
			km.zarr_format = 2;	/* the chunk's indexes, not a file name */
			return em_fail_ctx("chunk %s in shard '%s'",
			    em_zarr_chunk_key(&km, cidx, key, sizeof(key)) ? key : "?", r->spath);
		}
		return em_fail_ctx("chunk '%s'", path);
	}
	return 1;
}

int
em_zarr_decode_chunk(struct em_codec_ctx *cx, const struct em_zarr_meta *m, const void *src,
    size_t n, void *out, void *tmp)
{
	size_t cb = em_zarr_chunk_bytes(m), isz = em_dtype_size(m->dtype);
	unsigned char *dst = m->order_f ? tmp : out;

	if (dst == NULL)
		return em_fail("no buffer for a Fortran-order chunk");
	if (m->crc32c) {
		const unsigned char *q = (const unsigned char *)src + n - 4;
		uint32_t stored, got;
		if (n < 4)
			return em_fail("shorter than its crc32c checksum");
		stored = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
		    (uint32_t)q[3] << 24;
		n -= 4;
		if ((got = em_crc32c(src, n)) != stored)
			return em_fail("crc32c mismatch (computed %08x, stored %08x)", got, stored);
	}
	if (em_codec_decode(cx, &m->codec, src, n, dst, cb) < 0)
		return -1;
	if (m->big_endian && isz > 1)
		em_swap_bytes(dst, cb / isz, isz);
	if (m->order_f)
		transpose_f(m, isz, dst, out);
	return 0;
}

int
em_zarr_read_chunk(struct em_zarr *a, const uint64_t *cidx, void *out)
{
	struct rd r = { 0 };
	int rc = read_chunk_rd(a, &r, cidx, out);

	rd_release(&r);
	return rc;
}

int
em_zarr_chunk_present(struct em_zarr *a, const uint64_t *cidx, int verify)
{
	char path[4096];
	struct stat st;
	void *buf;
	int rc;

	if (check_cidx(a, cidx) < 0)
		return -1;
	if (a->per_shard > 0) {
		struct rd r = { 0 };
		const struct em_shard_entry *e = NULL;
		rc = shard_entry(a, &r, cidx, &e);
		if (rc == 0 && e != NULL && verify) {
			if ((buf = malloc(a->chunk_bytes)) == NULL) {
				rd_release(&r);
				return em_fail("out of memory");
			}
			rc = read_chunk_rd(a, &r, cidx, buf);
			free(buf);
			if (rc < 0) {
				em_debug("%s", em_errmsg());
				rc = 0;
			}
		} else if (rc == 0) {
			rc = e != NULL;
		} else {
			/* An index that does not decode: the chunk is not (known to be) there. */
			em_debug("%s", em_errmsg());
			rc = 0;
		}
		rd_release(&r);
		return rc;
	}
	if (chunk_path(a, cidx, path, sizeof(path)) == NULL)
		return em_fail("chunk path too long in '%s'", a->path);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return em_fail_errno("cannot stat chunk '%s'", path);
	}
	/*
	 * Chunks are renamed into place only when whole, so a regular file
	 * under the final name is whole.  An empty one can only come from a
	 * crash of the machine before the data reached the disk (no fsync);
	 * no codec produces 0 bytes, so it is not whole.
	 */
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return 0;
	if (!verify)
		return 1;
	if ((buf = malloc(a->chunk_bytes)) == NULL)
		return em_fail("out of memory");
	rc = em_zarr_read_chunk(a, cidx, buf);
	free(buf);
	if (rc < 0) {
		em_debug("chunk '%s' does not decode: %s", path, em_errmsg());
		return 0;
	}
	return rc;
}

int
em_zarr_shard_present(struct em_zarr *a, const uint64_t *sidx, int verify)
{
	uint64_t cidx[EM_ZARR_MAXDIM], k, rest;
	struct rd r = { 0 };
	void *buf = NULL;
	int i, rc;

	if (a->per_shard == 0)
		return em_fail("'%s' is not sharded", a->path);
	for (i = 0; i < a->m.ndim; i++)
		if (sidx[i] * a->cps[i] >= a->grid[i])
			return em_fail("shard index %llu is outside the grid in dimension %d",
			    (unsigned long long)sidx[i], i);
	rc = shard_load(a, &r, sidx);
	if (rc < 0) {
		/* Cut short or damaged: not whole, so a writer writes it again. */
		em_debug("%s", em_errmsg());
		rc = 0;
	}
	if (rc == 1 && verify) {
		if ((buf = malloc(a->chunk_bytes)) == NULL) {
			rc = em_fail("out of memory");
			goto out;
		}
		for (k = 0; k < a->per_shard && rc == 1; k++) {
			if (r.ent[k].offset == EM_SHARD_MISSING)
				continue;
			for (rest = k, i = a->m.ndim - 1; i >= 0; i--) {
				cidx[i] = sidx[i] * a->cps[i] + rest % a->cps[i];
				rest /= a->cps[i];
			}
			for (i = 0; i < a->m.ndim && cidx[i] < a->grid[i]; i++)
				;
			if (i < a->m.ndim)
				continue;	/* beyond the array's edge: nobody reads it */
			if (read_chunk_rd(a, &r, cidx, buf) < 0) {
				em_debug("%s", em_errmsg());
				rc = 0;
			}
		}
	}
out:
	free(buf);
	rd_release(&r);
	return rc;
}

static int
check_box(const struct em_zarr *a, const uint64_t *start, const uint64_t *count)
{
	int i;

	for (i = 0; i < a->m.ndim; i++)
		if (start[i] > a->m.shape[i] || count[i] > a->m.shape[i] - start[i])
			return em_fail("box %llu+%llu is outside the array (%llu) in dimension %d",
			    (unsigned long long)start[i], (unsigned long long)count[i],
			    (unsigned long long)a->m.shape[i], i);
	return 0;
}

int
em_zarr_read_box(struct em_zarr *a, const uint64_t *start, const uint64_t *count, void *out)
{
	uint64_t c0[EM_ZARR_MAXDIM], c1[EM_ZARR_MAXDIM], ci[EM_ZARR_MAXDIM];
	struct rd r = { 0 };
	int n = a->m.ndim, i, rc = -1;

	if (check_box(a, start, count) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (count[i] == 0)
			return 0;
		c0[i] = start[i] / a->m.chunks[i];
		c1[i] = (start[i] + count[i] - 1) / a->m.chunks[i];
		ci[i] = c0[i];
	}
	if ((r.chunk = malloc(a->chunk_bytes)) == NULL)
		return em_fail("out of memory");
	for (;;) {
		uint64_t so[EM_ZARR_MAXDIM], dof[EM_ZARR_MAXDIM], cnt[EM_ZARR_MAXDIM];
		for (i = 0; i < n; i++) {
			uint64_t lo = ci[i] * a->m.chunks[i], hi = lo + a->m.chunks[i];
			uint64_t b0 = start[i] > lo ? start[i] : lo;
			uint64_t b1 = start[i] + count[i] < hi ? start[i] + count[i] : hi;
			so[i] = b0 - lo;
			dof[i] = b0 - start[i];
			cnt[i] = b1 - b0;
		}
		if (read_chunk_rd(a, &r, ci, r.chunk) < 0)
			goto out;
		em_zarr_copy_box(n, a->itemsize, out, count, dof, r.chunk, a->m.chunks, so, cnt);
		for (i = n - 1; i >= 0; i--) {
			if (++ci[i] <= c1[i])
				break;
			ci[i] = c0[i];
		}
		if (i < 0)
			break;
	}
	rc = 0;
out:
	rd_release(&r);
	return rc;
}

int
em_zarr_read_slab(struct em_zarr *a, uint64_t z0, uint64_t nz, void *out)
{
	uint64_t start[EM_ZARR_MAXDIM] = { 0 }, count[EM_ZARR_MAXDIM];
	int i;

	start[0] = z0;
	count[0] = nz;
	for (i = 1; i < a->m.ndim; i++)
		count[i] = a->m.shape[i];
	return em_zarr_read_box(a, start, count, out);
}

/* ---- the slab iterator ---- */

/*
 * Workers decode the chunks of a chunk row straight into a row buffer
 * (chunk after chunk, as stored); the caller's thread then gathers a few
 * planes at a time from it into a small buffer and hands that out.  The
 * gathered planes are still in cache when the caller hashes them, and the
 * decoders write their output sequentially: scattering each chunk into a
 * C-order slab instead cost a fifth of the read time in cache misses.
 */
#define GATHER_BYTES ((size_t)4 << 20)

struct em_zarr_iter {
	struct em_zarr *a;
	int threads, nbuf;
	uint64_t rows;		/* chunk rows along dimension 0 */
	uint64_t per_row;	/* chunks in one row */
	uint64_t plane_elems;	/* elements of one plane (all but dimension 0) */
	size_t row_cap;		/* per_row decoded chunks */
	unsigned char *buf[2];
	uint64_t buf_row[2], buf_done[2];
	uint64_t next_item;	/* next chunk to decode: row * per_row + k */
	uint64_t released;	/* rows whose buffer may be reused */
	uint64_t cur_row;	/* row being gathered (ready) */
	uint64_t cur_z;		/* next plane of the array to gather */
	int have_row;
	/*
	 * Gathered planes handed to the caller, two buffers in turn: a slab
	 * stays valid for one more call, so the caller may hash it on another
	 * thread while the next one is gathered.
	 */
	unsigned char *gbuf[2];
	int gnext;
	size_t gcap;
	uint64_t gplanes;	/* planes per hand-out */
	uint64_t missing;
	int failed, stop;
	char err[512];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th[16];
	int started;
	struct rd r0;		/* the caller's own decoding */
};

static uint64_t
gather_planes(const struct em_zarr_meta *m, uint64_t plane_bytes)
{
	uint64_t g = plane_bytes > 0 ? GATHER_BYTES / plane_bytes : 1;

	if (g < 1)
		g = 1;
	if (g > m->chunks[0])
		g = m->chunks[0];
	return g;
}

uint64_t
em_zarr_iter_memory(const struct em_zarr_meta *m, int threads)
{
	uint64_t cb = em_zarr_chunk_bytes(m), per_row = 1, g[EM_ZARR_MAXDIM];
	uint64_t plane = em_dtype_size(m->dtype);
	int i, nbuf = threads > 0 ? 2 : 1;

	em_zarr_grid(m, g);
	for (i = 1; i < m->ndim; i++) {
		per_row *= g[i];
		plane *= m->shape[i];
	}
	if (threads < 1)
		threads = 1;
	return (uint64_t)nbuf * per_row * cb + 2 * gather_planes(m, plane) * plane +
	    (uint64_t)(threads + 1) * (cb + em_codec_bound(&m->codec, cb));
}

/* Decode chunk k of row into its place in the row buffer b. */
static int
iter_do(struct em_zarr_iter *it, struct rd *r, uint64_t row, uint64_t k, unsigned char *b)
{
	struct em_zarr *a = it->a;
	uint64_t ci[EM_ZARR_MAXDIM], rest = k;
	int i, rc;

	ci[0] = row;
	for (i = a->m.ndim - 1; i >= 1; i--) {
		ci[i] = rest % a->grid[i];
		rest /= a->grid[i];
	}
	rc = read_chunk_rd(a, r, ci, b + k * a->chunk_bytes);
	if (rc == 0)
		__atomic_add_fetch(&it->missing, 1, __ATOMIC_RELAXED);
	return rc < 0 ? -1 : 0;
}

/* Take the next chunk to decode if its row may use a buffer (lock held); 0 if none. */
static int
iter_take(struct em_zarr_iter *it, uint64_t only_row, int any_row, uint64_t *row, uint64_t *k,
    int *b)
{
	uint64_t item = it->next_item;

	if (item >= it->rows * it->per_row)
		return 0;
	*row = item / it->per_row;
	if (*row >= it->released + (uint64_t)it->nbuf || (!any_row && *row != only_row))
		return 0;
	*k = item % it->per_row;
	*b = (int)(*row % (uint64_t)it->nbuf);
	if (*k == 0) {
		it->buf_row[*b] = *row;
		it->buf_done[*b] = 0;
	}
	it->next_item++;
	return 1;
}

/* Decode (lock released meanwhile) and count the chunk done (lock held). */
static void
iter_run(struct em_zarr_iter *it, struct rd *r, uint64_t row, uint64_t k, int b)
{
	int rc;

	pthread_mutex_unlock(&it->mu);
	rc = iter_do(it, r, row, k, it->buf[b]);
	pthread_mutex_lock(&it->mu);
	if (rc < 0 && !it->failed) {
		it->failed = 1;
		snprintf(it->err, sizeof(it->err), "%s", em_errmsg());
	}
	it->buf_done[b]++;
	pthread_cond_broadcast(&it->cv);
}

static void *
iter_worker(void *arg)
{
	struct em_zarr_iter *it = arg;
	struct rd r = { 0 };
	uint64_t row, k;
	int b;

	pthread_mutex_lock(&it->mu);
	while (!it->stop && !it->failed && it->next_item < it->rows * it->per_row) {
		if (iter_take(it, 0, 1, &row, &k, &b))
			iter_run(it, &r, row, k, b);
		else
			pthread_cond_wait(&it->cv, &it->mu);
	}
	pthread_cond_broadcast(&it->cv);
	pthread_mutex_unlock(&it->mu);
	rd_release(&r);
	return NULL;
}

struct em_zarr_iter *
em_zarr_iter_new(struct em_zarr *a, int threads)
{
	struct em_zarr_iter *it = calloc(1, sizeof(*it));
	int i;

	if (it == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	if (threads < 0)
		threads = 0;
	if (threads > 16)
		threads = 16;
	it->a = a;
	it->threads = threads;
	it->nbuf = threads > 0 ? 2 : 1;
	it->rows = a->grid[0];
	it->per_row = 1;
	it->plane_elems = 1;
	for (i = 1; i < a->m.ndim; i++) {
		it->per_row *= a->grid[i];
		it->plane_elems *= a->m.shape[i];
	}
	it->row_cap = (size_t)(it->per_row * a->chunk_bytes);
	it->gplanes = gather_planes(&a->m, it->plane_elems * a->itemsize);
	it->gcap = (size_t)(it->gplanes * it->plane_elems * a->itemsize);
	pthread_mutex_init(&it->mu, NULL);
	pthread_cond_init(&it->cv, NULL);
	for (i = 0; i < it->nbuf; i++)
		if ((it->buf[i] = em_big_alloc(it->row_cap)) == NULL) {
			em_fail("out of memory for a chunk row of %zu bytes", it->row_cap);
			em_zarr_iter_free(it);
			return NULL;
		}
	for (i = 0; i < 2; i++)
		if ((it->gbuf[i] = em_big_alloc(it->gcap)) == NULL) {
			em_fail("out of memory");
			em_zarr_iter_free(it);
			return NULL;
		}
	for (i = 0; i < threads; i++) {
		if (pthread_create(&it->th[i], NULL, iter_worker, it) != 0)
			break;
		it->started++;
	}
	if (threads > 0 && it->started == 0) {
		em_fail("cannot start decoding threads");
		em_zarr_iter_free(it);
		return NULL;
	}
	return it;
}

/* Wait until chunk row `row` is decoded, decoding its chunks here too. */
static int
iter_wait_row(struct em_zarr_iter *it, uint64_t row)
{
	int b = (int)(row % (uint64_t)it->nbuf);
	uint64_t r, k;
	int bb;

	pthread_mutex_lock(&it->mu);
	while (!it->failed && !(it->next_item > row * it->per_row && it->buf_row[b] == row &&
	    it->buf_done[b] == it->per_row)) {
		/* Rather than sleep, decode chunks of the row we wait for. */
		if (iter_take(it, row, 0, &r, &k, &bb))
			iter_run(it, &it->r0, r, k, bb);
		else
			pthread_cond_wait(&it->cv, &it->mu);
	}
	pthread_mutex_unlock(&it->mu);
	return it->failed ? em_fail("%s", it->err) : 0;
}

int
em_zarr_iter_next(struct em_zarr_iter *it, const void **data, size_t *len, uint64_t *z0,
    uint64_t *nz)
{
	struct em_zarr *a = it->a;
	uint64_t row, zr, n, k, ci[EM_ZARR_MAXDIM], cnt[EM_ZARR_MAXDIM], so[EM_ZARR_MAXDIM];
	uint64_t dof[EM_ZARR_MAXDIM] = { 0 }, dsh[EM_ZARR_MAXDIM], row_end;
	int nd = a->m.ndim, i, b;
	unsigned char *g;

	if (it->cur_z >= a->m.shape[0])
		return 0;
	row = it->cur_z / a->m.chunks[0];
	if (!it->have_row) {
		if (it->threads == 0) {
			for (k = 0; k < it->per_row; k++)
				if (iter_do(it, &it->r0, row, k, it->buf[0]) < 0)
					return -1;
		} else if (iter_wait_row(it, row) < 0) {
			return -1;
		}
		it->have_row = 1;
	}
	b = (int)(row % (uint64_t)it->nbuf);
	zr = it->cur_z - row * a->m.chunks[0];
	row_end = (row + 1) * a->m.chunks[0];
	if (row_end > a->m.shape[0])
		row_end = a->m.shape[0];
	n = row_end - it->cur_z < it->gplanes ? row_end - it->cur_z : it->gplanes;
	/* Gather planes cur_z .. cur_z+n from the row's chunks into the next gather buffer. */
	g = it->gbuf[it->gnext];
	it->gnext ^= 1;
	dsh[0] = n;
	for (i = 1; i < nd; i++)
		dsh[i] = a->m.shape[i];
	for (k = 0; k < it->per_row; k++) {
		uint64_t rest = k;
		for (i = nd - 1; i >= 1; i--) {
			ci[i] = rest % a->grid[i];
			rest /= a->grid[i];
		}
		cnt[0] = n;
		so[0] = zr;
		for (i = 1; i < nd; i++) {
			uint64_t lo = ci[i] * a->m.chunks[i];
			cnt[i] = a->m.shape[i] - lo < a->m.chunks[i] ? a->m.shape[i] - lo :
			    a->m.chunks[i];
			so[i] = 0;
			dof[i] = lo;
		}
		em_zarr_copy_box(nd, a->itemsize, g, dsh, dof,
		    it->buf[b] + k * a->chunk_bytes, a->m.chunks, so, cnt);
	}
	*data = g;
	*len = (size_t)(n * it->plane_elems * a->itemsize);
	*z0 = it->cur_z;
	*nz = n;
	it->cur_z += n;
	if (it->cur_z == row_end) {
		/* The row is gathered: its buffer may take the row after next. */
		it->have_row = 0;
		if (it->threads > 0) {
			pthread_mutex_lock(&it->mu);
			it->released = row + 1;
			pthread_cond_broadcast(&it->cv);
			pthread_mutex_unlock(&it->mu);
		}
	}
	return 1;
}

uint64_t
em_zarr_iter_missing(const struct em_zarr_iter *it)
{
	return __atomic_load_n(&it->missing, __ATOMIC_RELAXED);
}

void
em_zarr_iter_free(struct em_zarr_iter *it)
{
	int i;

	if (it == NULL)
		return;
	if (it->started > 0) {
		pthread_mutex_lock(&it->mu);
		it->stop = 1;
		pthread_cond_broadcast(&it->cv);
		pthread_mutex_unlock(&it->mu);
		for (i = 0; i < it->started; i++)
			pthread_join(it->th[i], NULL);
	}
	pthread_mutex_destroy(&it->mu);
	pthread_cond_destroy(&it->cv);
	rd_release(&it->r0);
	free(it->buf[0]);
	free(it->buf[1]);
	free(it->gbuf[0]);
	free(it->gbuf[1]);
	free(it);
}
