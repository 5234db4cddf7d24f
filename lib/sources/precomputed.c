/* precomputed.c - Neuroglancer precomputed volumes: the info JSON, chunk names and chunk decoding */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "core/diag.h"
#include "core/jsonio.h"
#include "formats/cseg.h"
#include "formats/jpeg.h"
#include "sources/precomputed.h"
#include "core/banned.h"

const char *
em_pc_encoding_name(enum em_pc_encoding e)
{
	switch (e) {
	case EM_PC_JPEG:
		return "jpeg";
	case EM_PC_CSEG:
		return "compressed_segmentation";
	default:
		return "raw";
	}
}

/* An array of three numbers: finite, and whole and within [lo, hi] when whole is set. */
static int
triple(const json_t *a, double v[3], int whole, double lo, double hi)
{
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != 3)
		return -1;
	for (i = 0; i < 3; i++) {
		const json_t *e = json_array_get(a, i);
		if (!json_is_number(e))
			return -1;
		v[i] = json_number_value(e);
		if (!isfinite(v[i]) || v[i] < lo || v[i] > hi || (whole && v[i] != floor(v[i])))
			return -1;
	}
	return 0;
}

static int
parse_sharding(const json_t *j, size_t k, struct em_pc_sharding *sh)
{
	const char *t = json_string_value(json_object_get(j, "@type"));
	const char *hash = json_string_value(json_object_get(j, "hash"));
	const char *ie = json_string_value(json_object_get(j, "minishard_index_encoding"));
	const char *de = json_string_value(json_object_get(j, "data_encoding"));
	static const char *const bits[] = { "preshift_bits", "minishard_bits", "shard_bits" };
	unsigned *dst[] = { &sh->preshift_bits, &sh->minishard_bits, &sh->shard_bits };
	int i;

	if (t == NULL || strcmp(t, "neuroglancer_uint64_sharded_v1") != 0)
		return em_fail("scale %zu: sharding of type '%s', not neuroglancer_uint64_sharded_v1",
		    k, t != NULL ? t : "(none)");
	for (i = 0; i < 3; i++) {
		const json_t *v = json_object_get(j, bits[i]);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (i == 0 ? 63 : EM_PC_MAX_BITS))
			return em_fail("scale %zu: sharding %s is not an integer 0..%d", k, bits[i],
			    i == 0 ? 63 : EM_PC_MAX_BITS);
		*dst[i] = (unsigned)json_integer_value(v);
	}
	/* 16 bytes per minishard in every shard index: a bound keeps one index in memory. */
	if (sh->minishard_bits > 24)
		return em_fail("scale %zu: minishard_bits %u is more than 24", k, sh->minishard_bits);
	if (sh->minishard_bits + sh->shard_bits > 64)
		return em_fail("scale %zu: minishard_bits + shard_bits is more than 64", k);
	if (hash != NULL && strcmp(hash, "identity") == 0)
		sh->hash = EM_PC_IDENTITY;
	else if (hash != NULL && strcmp(hash, "murmurhash3_x86_128") == 0)
		sh->hash = EM_PC_MURMUR;
	else
		return em_fail("scale %zu: unknown sharding hash '%s' (identity or "
		    "murmurhash3_x86_128)", k, hash != NULL ? hash : "(none)");
	if (ie == NULL || strcmp(ie, "raw") == 0)
		sh->index_gzip = 0;
	else if (strcmp(ie, "gzip") == 0)
		sh->index_gzip = 1;
	else
		return em_fail("scale %zu: unknown minishard_index_encoding '%s'", k, ie);
	if (de == NULL || strcmp(de, "raw") == 0)
		sh->data_gzip = 0;
	else if (strcmp(de, "gzip") == 0)
		sh->data_gzip = 1;
	else
		return em_fail("scale %zu: unknown data_encoding '%s'", k, de);
	return 0;
}

static int
parse_scale(const json_t *j, size_t k, enum em_dtype dt, struct em_pc_scale *s)
{
	const char *enc = json_string_value(json_object_get(j, "encoding"));
	const json_t *cs = json_object_get(j, "chunk_sizes"), *vo, *sh;
	double v[3];
	int i;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(j))
		return em_fail("scale %zu is not an object", k);
	if ((s->key = json_string_value(json_object_get(j, "key"))) == NULL || *s->key == '\0')
		return em_fail("scale %zu has no key", k);
	if (triple(json_object_get(j, "resolution"), s->resolution, 0, 0, 1e12) < 0 ||
	    !(s->resolution[0] > 0 && s->resolution[1] > 0 && s->resolution[2] > 0))
		return em_fail("scale '%s': resolution is not three positive numbers (nm)", s->key);
	if (triple(json_object_get(j, "size"), v, 1, 1, (double)EM_PC_MAX_DIM) < 0)
		return em_fail("scale '%s': size is not three integers 1..%" PRIu64, s->key,
		    EM_PC_MAX_DIM);
	for (i = 0; i < 3; i++)
		s->size[i] = (uint64_t)v[i];
	vo = json_object_get(j, "voxel_offset");
	if (vo != NULL) {
		if (triple(vo, v, 1, -(double)EM_PC_MAX_DIM, (double)EM_PC_MAX_DIM) < 0)
			return em_fail("scale '%s': voxel_offset is not three integers", s->key);
		for (i = 0; i < 3; i++)
			s->voxel_offset[i] = (int64_t)v[i];
	}
	/* Several chunk shapes are allowed; any one of them reads the whole volume. */
	if (!json_is_array(cs) || json_array_size(cs) < 1 ||
	    triple(json_array_get(cs, 0), v, 1, 1, (double)EM_PC_MAX_DIM) < 0)
		return em_fail("scale '%s': chunk_sizes is not a list of three positive integers",
		    s->key);
	for (i = 0; i < 3; i++)
		s->chunk[i] = (uint64_t)v[i];
	/* Step by step, so that no product can wrap (each side is below 2^32). */
	if (s->chunk[0] * s->chunk[1] > EM_PC_MAX_CHUNK_BYTES ||
	    s->chunk[2] > EM_PC_MAX_CHUNK_BYTES / (s->chunk[0] * s->chunk[1] * em_dtype_size(dt)))
		return em_fail("scale '%s': chunks of %" PRIu64 "x%" PRIu64 "x%" PRIu64 " are larger "
		    "than %" PRIu64 " bytes", s->key, s->chunk[0], s->chunk[1], s->chunk[2],
		    EM_PC_MAX_CHUNK_BYTES);
	if (enc == NULL || strcmp(enc, "raw") == 0) {
		s->encoding = EM_PC_RAW;
	} else if (strcmp(enc, "jpeg") == 0) {
		s->encoding = EM_PC_JPEG;
		if (dt != EM_DT_U1)
			return em_fail("scale '%s': jpeg encoding of %s (only uint8)", s->key,
			    em_dtype_name(dt));
	} else if (strcmp(enc, "compressed_segmentation") == 0) {
		s->encoding = EM_PC_CSEG;
		if (dt != EM_DT_U4 && dt != EM_DT_U8)
			return em_fail("scale '%s': compressed_segmentation of %s (only uint32 and "
			    "uint64)", s->key, em_dtype_name(dt));
		if (triple(json_object_get(j, "compressed_segmentation_block_size"), v, 1, 1,
		    1024) < 0)
			return em_fail("scale '%s': compressed_segmentation_block_size is not three "
			    "integers 1..1024", s->key);
		for (i = 0; i < 3; i++)
			s->cseg_block[i] = (uint32_t)v[i];
	} else {
		return em_fail("scale '%s': unknown encoding '%s' (raw, jpeg or "
		    "compressed_segmentation)", s->key, enc);
	}
	sh = json_object_get(j, "sharding");
	if (sh != NULL && !json_is_null(sh)) {
		if (parse_sharding(sh, k, &s->sh) < 0)
			return -1;
		s->sharded = 1;
	}
	return 0;
}

int
em_pc_parse_info(const char *text, size_t len, struct em_pc_info *pi)
{
	const json_t *scales, *nc;
	const char *dts, *t;
	size_t k;

	memset(pi, 0, sizeof(*pi));
	if ((pi->json = em_json_load_object(text, len, NULL)) == NULL)
		return -1;
	t = json_string_value(json_object_get(pi->json, "@type"));
	if (t != NULL && strcmp(t, "neuroglancer_multiscale_volume") != 0) {
		em_fail("@type is '%s', not neuroglancer_multiscale_volume", t);
		goto fail;
	}
	pi->type = json_string_value(json_object_get(pi->json, "type"));
	dts = json_string_value(json_object_get(pi->json, "data_type"));
	if (dts == NULL) {
		em_fail("no data_type");
		goto fail;
	}
	{
		/* Names are compared without regard to case, as neuroglancer does. */
		static const char *const names[] = { "uint8", "int8", "uint16", "int16", "uint32",
		    "int32", "uint64", "int64", "float32", NULL };
		char low[16];
		size_t i;

		for (i = 0; names[i] != NULL; i++)
			if (strcasecmp(dts, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			em_fail("unknown data_type '%s'", dts);
			goto fail;
		}
		snprintf(low, sizeof(low), "%s", names[i]);
		pi->dtype = em_dtype_from_name(low);
	}
	nc = json_object_get(pi->json, "num_channels");
	if (!json_is_integer(nc)) {
		em_fail("num_channels is not an integer");
		goto fail;
	}
	if (json_integer_value(nc) != 1) {
		em_fail("num_channels is %" JSON_INTEGER_FORMAT ": only single-channel volumes are "
		    "read", json_integer_value(nc));
		goto fail;
	}
	scales = json_object_get(pi->json, "scales");
	if (!json_is_array(scales) || json_array_size(scales) == 0) {
		em_fail("no scales");
		goto fail;
	}
	if (json_array_size(scales) > EM_PC_MAX_SCALES) {
		em_fail("%zu scales, more than %d", json_array_size(scales), EM_PC_MAX_SCALES);
		goto fail;
	}
	for (k = 0; k < json_array_size(scales); k++)
		if (parse_scale(json_array_get(scales, k), k, pi->dtype, &pi->scales[k]) < 0)
			goto fail;
	pi->nscales = k;
	return 0;
fail:
	em_pc_info_release(pi);
	return -1;
}

void
em_pc_info_release(struct em_pc_info *pi)
{
	json_decref(pi->json);
	memset(pi, 0, sizeof(*pi));
}

int
em_pc_find_scale(const struct em_pc_info *pi, const char *arg)
{
	size_t k;
	char *e;
	unsigned long v;

	if (arg == NULL)
		return pi->nscales > 0 ? 0 : -1;
	for (k = 0; k < pi->nscales; k++)
		if (strcmp(pi->scales[k].key, arg) == 0)
			return (int)k;
	if (*arg >= '0' && *arg <= '9') {
		v = strtoul(arg, &e, 10);
		if (*e == '\0' && v < pi->nscales)
			return (int)v;
	}
	return -1;
}

void
em_pc_grid(const struct em_pc_scale *s, uint64_t grid[3])
{
	int i;

	for (i = 0; i < 3; i++)
		grid[i] = (s->size[i] + s->chunk[i] - 1) / s->chunk[i];
}

int
em_pc_chunk_name(const struct em_pc_scale *s, const uint64_t g[3], char *name, size_t n,
    uint64_t ext[3])
{
	int64_t a[3], b[3];
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t lo = g[i] * s->chunk[i], hi = lo + s->chunk[i];

		if (lo >= s->size[i])
			return em_fail("chunk %" PRIu64 " is past the volume on axis %d", g[i], i);
		if (hi > s->size[i])
			hi = s->size[i];
		ext[i] = hi - lo;
		a[i] = s->voxel_offset[i] + (int64_t)lo;
		b[i] = s->voxel_offset[i] + (int64_t)hi;
	}
	if ((size_t)snprintf(name, n, "%" PRId64 "-%" PRId64 "_%" PRId64 "-%" PRId64 "_%" PRId64
	    "-%" PRId64, a[0], b[0], a[1], b[1], a[2], b[2]) >= n)
		return em_fail("chunk name too long");
	return 0;
}

int
em_pc_gunzip(const void *p, size_t n, size_t max, unsigned char **out, size_t *outlen)
{
	z_stream zs;
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, len = 0;
	int zr, rc = -1;

	*out = NULL;
	*outlen = 0;
	memset(&zs, 0, sizeof(zs));
	/* 32 + MAX_WBITS: gzip or zlib, whichever the header says. */
	if (inflateInit2(&zs, 32 + MAX_WBITS) != Z_OK)
		return em_fail("cannot start gzip decoding");
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	if (n > UINT32_MAX) {
		em_fail("gzip stream too large");
		goto out;
	}
	do {
		if (len == cap) {
			size_t nc = cap == 0 ? 4096 : cap * 2;
			if (cap >= max) {
				em_fail("gzip stream decodes to more than %zu bytes", max);
				goto out;
			}
			if (nc > max)
				nc = max;
			if ((nb = realloc(buf, nc)) == NULL) {
				em_fail("out of memory");
				goto out;
			}
			buf = nb;
			cap = nc;
		}
		zs.next_out = buf + len;
		zs.avail_out = (uInt)(cap - len);
		zr = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			em_fail("corrupt gzip stream: %s", zs.msg ? zs.msg : "inflate failed");
			goto out;
		}
		if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
			em_fail("gzip stream cut short");
			goto out;
		}
	} while (1);
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	inflateEnd(&zs);
	free(buf);
	return rc;
}

int
em_pc_decode_chunk(const struct em_pc_scale *s, enum em_dtype dtype, const uint64_t ext[3],
    const void *p, size_t n, void *out)
{
	size_t isz = em_dtype_size(dtype);
	uint64_t want = ext[0] * ext[1] * ext[2] * isz, z, y;
	const unsigned char *src = p;
	unsigned char *dst = out;

	switch (s->encoding) {
	case EM_PC_RAW:
		if ((uint64_t)n != want)
			return em_fail("raw chunk of %zu bytes, expected %" PRIu64 " (%" PRIu64 "x%"
			    PRIu64 "x%" PRIu64 " %s)", n, want, ext[0], ext[1], ext[2],
			    em_dtype_name(dtype));
		break;
	case EM_PC_JPEG:
		/* One image ext[0] wide and ext[1]*ext[2] high: the rows are (z, y). */
		if (ext[0] * ext[1] * ext[2] > EM_PC_MAX_CHUNK_BYTES)
			return em_fail("chunk too large");
		if (ext[0] == s->chunk[0] && ext[1] == s->chunk[1])
			return em_jpeg_decode(p, n, (size_t)ext[0], (size_t)(ext[1] * ext[2]), 1, out);
		{
			unsigned char *tmp = malloc((size_t)want);
			int rc;

			if (tmp == NULL)
				return em_fail("out of memory");
			rc = em_jpeg_decode(p, n, (size_t)ext[0], (size_t)(ext[1] * ext[2]), 1, tmp);
			if (rc == 0)
				for (z = 0; z < ext[2]; z++)
					for (y = 0; y < ext[1]; y++)
						memcpy(dst + (z * s->chunk[1] + y) * s->chunk[0],
						    tmp + (z * ext[1] + y) * ext[0], (size_t)ext[0]);
			free(tmp);
			return rc;
		}
	case EM_PC_CSEG: {
		uint64_t stride[2] = { s->chunk[0], s->chunk[1] };
		return em_cseg_decode(p, n, (int)isz, 1, ext, s->cseg_block, stride, out);
	}
	}
	/* Raw: x fastest, then y, then z; rows of the clipped chunk into the whole one. */
	if (ext[0] == s->chunk[0] && ext[1] == s->chunk[1]) {
		memcpy(dst, src, (size_t)want);
		return 0;
	}
	for (z = 0; z < ext[2]; z++)
		for (y = 0; y < ext[1]; y++)
			memcpy(dst + ((z * s->chunk[1] + y) * s->chunk[0]) * isz,
			    src + ((z * ext[1] + y) * ext[0]) * isz, (size_t)(ext[0] * isz));
	return 0;
}
