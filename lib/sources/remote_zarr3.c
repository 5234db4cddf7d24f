/* remote_zarr3.c - a remote Zarr v3 array's zarr.json: shape, data type, chunk grid and keys, codecs, sharding, fill */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/dtype.h"
#include "sources/remote_internal.h"
#include "core/banned.h"

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

int
em_remote_open_zarr3(struct em_remote *r, const json_t *j)
{
	const json_t *grid = json_object_get(j, "chunk_grid"), *cke, *shard = NULL, *v;
	const char *dt = json_string_value(json_object_get(j, "data_type")), *name, *s;
	int n2 = 0, i;

	v = json_object_get(j, "storage_transformers");
	if (v != NULL && !(json_is_array(v) && json_array_size(v) == 0))
		return em_fail("unsupported storage_transformers");
	if (em_remote_dims(json_object_get(j, "shape"), "shape", r->in.shape, &r->in.ndim) < 0)
		return -1;
	if (dt == NULL || (r->in.dtype = em_dtype_from_name(dt)) == EM_DT_NONE)
		return em_fail("unsupported data type '%s'", dt ? dt : "(not a name)");
	r->isz = em_dtype_size(r->in.dtype);
	name = json_string_value(json_object_get(grid, "name"));
	if (name == NULL || strcmp(name, "regular") != 0)
		return em_fail("unsupported chunk grid '%s'", name ? name : "?");
	if (em_remote_dims(json_object_get(json_object_get(grid, "configuration"), "chunk_shape"),
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
	if (em_remote_chain_parse(json_object_get(j, "codecs"), &r->ch, r->in.ndim, r->isz, &shard) < 0)
		return -1;
	memcpy(r->in.chunks, r->in.shard, sizeof(r->in.chunks));
	if (shard != NULL) {
		const json_t *ic;
		struct em_remote_chain idx;
		const char *loc;
		int n3 = 0;

		r->in.sharded = 1;
		if (em_remote_dims(json_object_get(shard, "chunk_shape"), "sharding chunk_shape",
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
		if (em_remote_chain_parse(json_object_get(shard, "codecs"), &r->ch, r->in.ndim, r->isz,
		    NULL) < 0)
			return em_fail_ctx("sharding codecs");
		ic = json_object_get(shard, "index_codecs");
		if (ic == NULL) {
			r->index_crc = 0;
		} else {
			if (em_remote_chain_parse(ic, &idx, 1, 8, NULL) < 0)
				return em_fail_ctx("index_codecs");
			if (idx.has_perm || (idx.nb2b > 0 && idx.b2b[0] == EM_B2B_CODEC) ||
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
		em_remote_chain_describe(&r->ch, "bytes", d, sizeof(d));
		snprintf(r->in.codecs, sizeof(r->in.codecs), "%s%s", r->in.sharded ?
		    "sharding_indexed:" : "", d);
	}
	return 0;
}
