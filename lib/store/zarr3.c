/* zarr3.c - Zarr v3 array metadata (zarr.json): data type, chunk grid and keys, codecs, sharding */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/diag.h"
#include "core/dtype.h"
#include "store/codec.h"
#include "store/zarr.h"
#include "store/zarr_internal.h"
#include "core/banned.h"

static const char *const shuffles[] = { "noshuffle", "shuffle", "bitshuffle" };

/*
 * A bytes-to-bytes compressor of a v3 codec list into c.  The core codecs
 * (zstd, gzip, blosc) say their parameters a little differently from
 * numcodecs (booleans, shuffle by name); the "numcodecs.*" ones zarr-python
 * 3 writes carry numcodecs' own configuration.  Both go through
 * em_codec_from_json, the one reader of compressor parameters.
 */
static int
codec_from_v3(const char *name, const json_t *conf, size_t isz, struct em_codec *c)
{
	json_t *v2 = conf != NULL && json_is_object(conf) ? json_deep_copy(conf) : json_object();
	const char *id = strncmp(name, "numcodecs.", 10) == 0 ? name + 10 : name;
	json_t *sh;
	int rc = -1, k;

	if (v2 == NULL)
		return em_fail("out of memory");
	sh = json_object_get(v2, "shuffle");
	if (strcmp(name, "blosc") == 0 && json_is_string(sh)) {
		for (k = 0; k < 3; k++)
			if (strcmp(json_string_value(sh), shuffles[k]) == 0)
				break;
		if (k == 3) {
			em_fail("blosc shuffle '%s' is not noshuffle, shuffle or bitshuffle",
			    json_string_value(sh));
			goto out;
		}
		json_object_set_new(v2, "shuffle", json_integer(k));
	}
	if (json_object_set_new(v2, "id", json_string(id)) < 0) {
		em_fail("out of memory");
		goto out;
	}
	if (em_codec_from_json(v2, c) < 0) {
		/* "unsupported compressor 'bz2'" says it in v2 words; name the v3 codec. */
		if (strstr(em_errmsg(), "unsupported compressor") != NULL)
			em_fail("unsupported codec '%s'", name);
		goto out;
	}
	c->typesize = isz;
	rc = 0;
out:
	json_decref(v2);
	return rc;
}

/* A bytes-to-bytes compressor this library decodes (core codecs, or as zarr-python 3 names numcodecs'). */
static int
is_compressor(const char *name)
{
	static const char *const known[] = { "zstd", "gzip", "blosc", "numcodecs.zstd",
		"numcodecs.gzip", "numcodecs.zlib", "numcodecs.blosc", "numcodecs.lz4", NULL };
	int i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(name, known[i]) == 0)
			return 1;
	return 0;
}

/* The v3 codec of compressor c; NULL for raw (no codec). */
static json_t *
codec_to_v3(const struct em_codec *c, size_t isz)
{
	switch (c->id) {
	case EM_CODEC_RAW:
		return NULL;
	case EM_CODEC_GZIP:
		return json_pack("{s:s, s:{s:i}}", "name", "gzip", "configuration", "level",
		    c->level);
	case EM_CODEC_ZSTD:
		return json_pack("{s:s, s:{s:i, s:b}}", "name", "zstd", "configuration", "level",
		    c->level, "checksum", c->checksum);
	case EM_CODEC_BLOSC: {
		/* v3 names the shuffle; numcodecs' "auto" is what it means for this type. */
		int sh = c->shuffle >= 0 ? c->shuffle : isz == 1 ? EM_BLOSC_BITSHUFFLE :
		    EM_BLOSC_SHUFFLE;
		return json_pack("{s:s, s:{s:s, s:i, s:s, s:i, s:i}}", "name", "blosc",
		    "configuration", "cname", c->cname, "clevel", c->level, "shuffle",
		    shuffles[sh], "typesize", (int)isz, "blocksize", c->blocksize);
	}
	case EM_CODEC_ZLIB:
		return json_pack("{s:s, s:{s:i}}", "name", "numcodecs.zlib", "configuration",
		    "level", c->level);
	case EM_CODEC_LZ4:
		return json_pack("{s:s, s:{s:i}}", "name", "numcodecs.lz4", "configuration",
		    "acceleration", c->acceleration);
	}
	return NULL;
}

/* The bytes codec's byte order: 0 little, 1 big, -1 error. */
static int
bytes_endian(const json_t *conf, size_t isz)
{
	const char *e = json_string_value(json_object_get(conf, "endian"));

	if (e == NULL) {
		if (isz > 1)
			return em_fail("bytes codec without endian for %zu-byte elements", isz);
		return 0;
	}
	if (strcmp(e, "little") == 0)
		return 0;
	if (strcmp(e, "big") == 0)
		return isz > 1;
	return em_fail("bytes codec endian '%s' is not little or big", e);
}

/* A transpose order that is C (identity: 0) or F (reversed: 1); -1 for others. */
static int
transpose_order(const json_t *conf, int ndim)
{
	const json_t *o = json_object_get(conf, "order");
	int k, ident = 1, rev = 1;

	if (json_is_string(o) && strcmp(json_string_value(o), "C") == 0)
		return 0;
	if (json_is_string(o) && strcmp(json_string_value(o), "F") == 0)
		return 1;
	if (!json_is_array(o) || (int)json_array_size(o) != ndim)
		return em_fail("transpose order does not list %d axes", ndim);
	for (k = 0; k < ndim; k++) {
		const json_t *e = json_array_get(o, (size_t)k);
		if (!json_is_integer(e))
			return em_fail("transpose order is not a list of axes");
		ident &= json_integer_value(e) == k;
		rev &= json_integer_value(e) == ndim - 1 - k;
	}
	if (ident)
		return 0;
	if (rev)
		return 1;
	return em_fail("unsupported transpose order (only C or F order is read)");
}

/*
 * Parse a codec list into m: [transpose] bytes [compressor] [crc32c].
 * outer: the array's own list, where sharding_indexed may stand alone
 * (*shard then gets its configuration).
 */
static int
parse_chain(struct em_zarr_meta *m, const json_t *codecs, int outer, const json_t **shard)
{
	size_t i, isz = em_dtype_size(m->dtype);
	int have_a2b = 0, have_comp = 0, r;

	if (!json_is_array(codecs) || json_array_size(codecs) == 0)
		return em_fail("'codecs' is not a non-empty list");
	em_codec_from_json(NULL, &m->codec);
	m->codec.typesize = isz;
	for (i = 0; i < json_array_size(codecs); i++) {
		const json_t *c = json_array_get(codecs, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		const json_t *conf = json_object_get(c, "configuration");

		if (name == NULL)
			return em_fail("a codec without a name");
		if (m->crc32c)
			return em_fail("unsupported codec chain: '%s' after crc32c", name);
		if (strcmp(name, "transpose") == 0) {
			if (have_a2b)
				return em_fail("transpose after the bytes codec");
			if ((r = transpose_order(conf, m->ndim)) < 0)
				return -1;
			m->order_f ^= r;
		} else if (strcmp(name, "bytes") == 0) {
			if (have_a2b)
				return em_fail("two array-to-bytes codecs");
			have_a2b = 1;
			if ((r = bytes_endian(conf, isz)) < 0)
				return -1;
			m->big_endian = r;
		} else if (strcmp(name, "sharding_indexed") == 0) {
			if (!outer)
				return em_fail("unsupported codec 'sharding_indexed' inside a shard");
			if (json_array_size(codecs) != 1)
				return em_fail("unsupported codec chain: sharding_indexed with other "
				    "codecs around it");
			*shard = conf;
			return 0;
		} else if (strcmp(name, "crc32c") == 0) {
			if (!have_a2b)
				return em_fail("codec 'crc32c' before the bytes codec");
			m->crc32c = 1;
		} else {
			if (!is_compressor(name))
				return em_fail("unsupported codec '%s'", name);
			if (!have_a2b)
				return em_fail("codec '%s' before the bytes codec", name);
			if (have_comp)
				return em_fail("unsupported codec chain: two compressors");
			have_comp = 1;
			if (codec_from_v3(name, conf, isz, &m->codec) < 0)
				return -1;
		}
	}
	if (!have_a2b)
		return em_fail("no bytes codec in the chain");
	return 0;
}

/* The sharding_indexed configuration: inner chunk shape and codecs, the index's codecs and place. */
static int
parse_sharding(struct em_zarr_meta *m, const json_t *conf)
{
	const json_t *ic = json_object_get(conf, "index_codecs");
	const char *loc = json_string_value(json_object_get(conf, "index_location"));
	uint64_t inner[EM_ZARR_MAXDIM];
	size_t i;
	int n = 0, have_bytes = 0;

	if (!json_is_object(conf))
		return em_fail("sharding_indexed has no configuration");
	if (em_zarr_u64_list(json_object_get(conf, "chunk_shape"), "sharding chunk_shape", inner,
	    &n) < 0)
		return -1;
	if (n != m->ndim)
		return em_fail("shape has %d dimensions, sharding chunk_shape %d", m->ndim, n);
	memcpy(m->shard, m->chunks, sizeof(m->shard));
	memcpy(m->chunks, inner, sizeof(m->chunks));
	for (i = 0; i < (size_t)n; i++)
		if (inner[i] == 0)
			return em_fail("sharding chunk_shape has a 0");
	if (em_zarr_check_shard(m, m->shard) < 0)
		return -1;
	if (parse_chain(m, json_object_get(conf, "codecs"), 0, NULL) < 0)
		return em_fail_ctx("sharding_indexed codecs");
	/* The index: bytes (little-endian) and an optional crc32c, nothing else. */
	if (!json_is_array(ic) || json_array_size(ic) == 0)
		return em_fail("sharding_indexed has no index_codecs");
	m->index_nocrc = 1;
	for (i = 0; i < json_array_size(ic); i++) {
		const json_t *c = json_array_get(ic, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		if (name != NULL && strcmp(name, "bytes") == 0 && !have_bytes) {
			const char *e = json_string_value(json_object_get(json_object_get(c,
			    "configuration"), "endian"));
			if (e != NULL && strcmp(e, "little") != 0)
				return em_fail("unsupported shard index byte order '%s'", e);
			have_bytes = 1;
		} else if (name != NULL && strcmp(name, "crc32c") == 0 && have_bytes &&
		    m->index_nocrc) {
			m->index_nocrc = 0;
		} else {
			return em_fail("unsupported shard index codec '%s' (bytes and crc32c are "
			    "read)", name ? name : "?");
		}
	}
	if (!have_bytes)
		return em_fail("shard index codecs without bytes");
	if (loc == NULL || strcmp(loc, "end") == 0)
		m->index_start = 0;
	else if (strcmp(loc, "start") == 0)
		m->index_start = 1;
	else
		return em_fail("index_location '%s' is not start or end", loc);
	return 0;
}

/* A v3 fill value: what v2 allows, and the "0x..." bit patterns of floats. */
static int
parse_fill3(struct em_zarr_meta *m, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t isz = em_dtype_size(m->dtype), k;

	if (v == NULL || json_is_null(v))
		return em_fail("no fill_value");
	if (s != NULL && s[0] == '0' && s[1] == 'x') {
		char *end;
		unsigned long long bits = strtoull(s + 2, &end, 16);
		if (*end != '\0' || end == s + 2 || strlen(s + 2) > 2 * isz)
			return em_fail("fill_value '%s' is not a hex bit pattern of the type", s);
		for (k = 0; k < isz; k++)
			m->fill[k] = (unsigned char)(bits >> (8 * k));
		return 0;
	}
	return em_zarr_meta_fill_json(m, v);
}

int
em_zarr3_parse(struct em_zarr_meta *m, const json_t *j)
{
	const json_t *v, *grid, *cke, *shard = NULL;
	const char *s, *name;
	int n2 = 0;

	memset(m, 0, sizeof(*m));
	m->zarr_format = 3;
	if (!json_is_object(j))
		return em_fail("not a JSON object");
	v = json_object_get(j, "zarr_format");
	if (!json_is_integer(v) || json_integer_value(v) != 3)
		return em_fail("zarr_format is not 3");
	s = json_string_value(json_object_get(j, "node_type"));
	if (s == NULL || strcmp(s, "array") != 0)
		return em_fail("node_type is '%s', not 'array'", s ? s : "?");
	if (em_zarr_u64_list(json_object_get(j, "shape"), "shape", m->shape, &m->ndim) < 0)
		return -1;
	if (m->ndim == 0)
		return em_fail("0-d arrays are not supported");
	s = json_string_value(json_object_get(j, "data_type"));
	if (s == NULL)
		return em_fail("unsupported data_type (not a name)");
	if ((m->dtype = em_dtype_from_name(s)) == EM_DT_NONE)
		return em_fail("unsupported data_type '%s'", s);
	grid = json_object_get(j, "chunk_grid");
	name = json_string_value(json_object_get(grid, "name"));
	if (name == NULL || strcmp(name, "regular") != 0)
		return em_fail("unsupported chunk_grid '%s'", name ? name : "?");
	if (em_zarr_u64_list(json_object_get(json_object_get(grid, "configuration"),
	    "chunk_shape"), "chunk_shape", m->chunks, &n2) < 0)
		return -1;
	if (n2 != m->ndim)
		return em_fail("shape has %d dimensions, chunk_shape %d", m->ndim, n2);
	cke = json_object_get(j, "chunk_key_encoding");
	name = json_string_value(json_object_get(cke, "name"));
	if (name == NULL || (strcmp(name, "default") != 0 && strcmp(name, "v2") != 0))
		return em_fail("unsupported chunk_key_encoding '%s'", name ? name : "?");
	m->key_v2 = name[0] == 'v';
	v = json_object_get(json_object_get(cke, "configuration"), "separator");
	s = json_string_value(v);
	if (v == NULL)
		m->sep = m->key_v2 ? '.' : '/';
	else if (s != NULL && (strcmp(s, "/") == 0 || strcmp(s, ".") == 0))
		m->sep = s[0];
	else
		return em_fail("chunk key separator is not \"/\" or \".\"");
	v = json_object_get(j, "storage_transformers");
	if (v != NULL && !(json_is_array(v) && json_array_size(v) == 0))
		return em_fail("unsupported storage_transformers");
	if (em_zarr_check_geometry(m) < 0)
		return -1;
	if (parse_chain(m, json_object_get(j, "codecs"), 1, &shard) < 0)
		return -1;
	if (shard != NULL && parse_sharding(m, shard) < 0)
		return -1;
	if (em_zarr_check_geometry(m) < 0)
		return -1;
	return parse_fill3(m, json_object_get(j, "fill_value"));
}

/* The codecs of one chunk: bytes (little-endian) and the compressor. */
static json_t *
chunk_codecs(const struct em_zarr_meta *m)
{
	size_t isz = em_dtype_size(m->dtype);
	json_t *l = json_pack("[{s:s, s:{s:s}}]", "name", "bytes", "configuration", "endian",
	    "little"), *c;

	if (l == NULL)
		return NULL;
	if (m->codec.id != EM_CODEC_RAW) {
		if ((c = codec_to_v3(&m->codec, isz)) == NULL || json_array_append_new(l, c) < 0) {
			json_decref(l);
			return NULL;
		}
	}
	return l;
}

static json_t *
u64_list(const uint64_t *v, int n)
{
	json_t *l = json_array();
	int i;

	for (i = 0; l != NULL && i < n; i++)
		if (json_array_append_new(l, json_integer((json_int_t)v[i])) < 0) {
			json_decref(l);
			return NULL;
		}
	return l;
}

json_t *
em_zarr3_json(const struct em_zarr_meta *m)
{
	static const char *const dn[] = { "z", "y", "x" };
	int sharded = em_zarr_sharded(m), i;
	json_t *codecs = chunk_codecs(m), *fill = NULL, *names = NULL, *j = NULL;
	char sep[2] = { m->sep, '\0' };
	struct em_zarr_meta fm = *m;

	if (codecs == NULL)
		return NULL;
	if (sharded) {
		json_t *sc = json_pack("[{s:s, s:{s:o, s:o, s:[{s:s, s:{s:s}}, {s:s}], s:s}}]",
		    "name", "sharding_indexed", "configuration", "chunk_shape",
		    u64_list(m->chunks, m->ndim), "codecs", codecs, "index_codecs", "name",
		    "bytes", "configuration", "endian", "little", "name", "crc32c",
		    "index_location", "end");
		if (sc == NULL)
			return NULL;
		codecs = sc;
	}
	/* v3 has no null fill value: the zeros v2's null reads as. */
	fm.fill_null = 0;
	if ((fill = em_zarr_fill_to_json(&fm)) == NULL)
		goto out;
	/* The arrays of our images (OME-NGFF 0.5 asks for names matching the axes). */
	if (m->ndim == 2 || m->ndim == 3) {
		names = json_array();
		for (i = 0; names != NULL && i < m->ndim; i++)
			json_array_append_new(names, json_string(dn[3 - m->ndim + i]));
	}
	j = json_pack("{s:i, s:s, s:o, s:s, s:{s:s, s:{s:o}}, s:{s:s, s:{s:s}}, s:O, s:O, s:{}}",
	    "zarr_format", 3, "node_type", "array", "shape", u64_list(m->shape, m->ndim),
	    "data_type", em_dtype_zarr3(m->dtype), "chunk_grid", "name", "regular",
	    "configuration", "chunk_shape", u64_list(sharded ? m->shard : m->chunks, m->ndim),
	    "chunk_key_encoding", "name", "default", "configuration", "separator", sep,
	    "fill_value", fill, "codecs", codecs, "attributes");
	if (j != NULL && names != NULL && json_object_set(j, "dimension_names", names) < 0) {
		json_decref(j);
		j = NULL;
	}
out:
	json_decref(codecs);
	json_decref(fill);
	json_decref(names);
	return j;
}
