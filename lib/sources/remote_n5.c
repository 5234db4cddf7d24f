/* remote_n5.c - N5 datasets: attributes.json, COSEM scales, blocks (header, compression, big-endian) */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <lz4.h>

#include "core/diag.h"
#include "core/dtype.h"
#include "core/units.h"
#include "sources/remote_internal.h"
#include "core/banned.h"

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
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
void
em_remote_cosem_scale(struct em_remote *r, const json_t *attrs)
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
			double v = json_number_value(json_array_get(sc, (size_t)i));
			if (d < 0 || !(v > 0) || !em_length_nm(v, u, &vox[d]) || !(vox[d] > 0) ||
			    !em_length_nm(json_number_value(json_array_get(tr, (size_t)i)), u, &off[d]))
				goto pixres;
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
		const char *u = json_string_value(json_object_get(pr, "unit"));
		if ((int)json_array_size(dims) != n)
			return;
		for (i = 0; i < n; i++) {
			double v = json_number_value(json_array_get(dims, (size_t)i));
			if (!(v > 0) || !em_length_nm(v, u, &vox[n - 1 - i]) || !(vox[n - 1 - i] > 0))
				return;
		}
		memcpy(r->in.voxel_nm, vox, sizeof(vox));
		r->in.voxel_known = 1;
	}
}

int
em_remote_open_n5(struct em_remote *r, const json_t *j)
{
	uint64_t dims[EM_ZARR_MAXDIM], bs[EM_ZARR_MAXDIM];
	const char *dt = json_string_value(json_object_get(j, "dataType")), *type;
	const json_t *comp = json_object_get(j, "compression");
	int n = 0, n2 = 0, i;

	if (em_remote_dims(json_object_get(j, "dimensions"), "dimensions", dims, &n) < 0 ||
	    em_remote_dims(json_object_get(j, "blockSize"), "blockSize", bs, &n2) < 0)
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
		if (em_remote_codec_by_id(json_is_true(json_object_get(comp, "useZlib")) ? "zlib" : "gzip",
		    &r->ch.codec) < 0)
			return -1;
		r->ch.b2b[r->ch.nb2b++] = EM_B2B_CODEC;
	} else if (strcmp(type, "zstandard") == 0 || strcmp(type, "zstd") == 0) {
		if (em_remote_codec_by_id("zstd", &r->ch.codec) < 0)
			return -1;
		r->ch.b2b[r->ch.nb2b++] = EM_B2B_CODEC;
	} else if (strcmp(type, "blosc") == 0) {
		if (em_remote_codec_by_id("blosc", &r->ch.codec) < 0)
			return -1;
		r->ch.codec.typesize = r->isz;
		r->ch.b2b[r->ch.nb2b++] = EM_B2B_CODEC;
	} else if (strcmp(type, "lz4") == 0) {
		r->n5_lz4 = 1;
	} else {
		return em_fail("unsupported N5 compression '%s'", type);
	}
	snprintf(r->in.codecs, sizeof(r->in.codecs), "n5 %s", type);
	return 0;
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
		clen = em_remote_le32(src + 9);
		olen = em_remote_le32(src + 13);
		check = em_remote_le32(src + 17);
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

int
em_remote_decode_n5(struct em_remote *r, struct em_codec_ctx *cx, const unsigned char *src,
    size_t n, void *out)
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
	} else if (em_remote_chain_undo(r, cx, &r->ch, src + hdr, n - hdr, want, &raw) < 0) {
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
