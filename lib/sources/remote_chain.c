/* remote_chain.c - the Zarr v3 codec chain: transpose, bytes (endian), bytes-to-bytes codecs, crc32c */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "core/dtype.h"
#include "sources/remote_internal.h"
#include "core/banned.h"

/*
 * Parse a codec list into ch.  shard (may be NULL) receives the
 * configuration of a sharding_indexed codec, which must then be the only one.
 */
int
em_remote_chain_parse(const json_t *codecs, struct em_remote_chain *ch, int ndim, size_t isz,
    const json_t **shard)
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
				ch->b2b[ch->nb2b++] = EM_B2B_CRC32C;
				continue;
			}
			if (have_comp)
				return em_fail("unsupported codec chain: two compressors");
			have_comp = 1;
			if (em_remote_codec_by_id(strncmp(name, "numcodecs.", 10) == 0 ? name + 10 : name,
			    &ch->codec) < 0)
				return -1;
			ch->codec.typesize = isz;
			ch->b2b[ch->nb2b++] = EM_B2B_CODEC;
		} else {
			return em_fail("unsupported codec '%s'", name);
		}
	}
	if (!have_a2b)
		return em_fail("no bytes codec in the chain");
	return 0;
}

void
em_remote_chain_describe(const struct em_remote_chain *ch, const char *a2b, char *buf, size_t n)
{
	char d[64];
	int i;
	size_t o;

	snprintf(buf, n, "%s%s%s", ch->has_perm ? "transpose," : "", a2b,
	    ch->big_endian ? "(big)" : "");
	for (i = 0; i < ch->nb2b; i++) {
		o = strlen(buf);
		snprintf(buf + o, n - o, ",%s", ch->b2b[i] == EM_B2B_CRC32C ? "crc32c" :
		    em_codec_describe(&ch->codec, d, sizeof(d)));
	}
}

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
int
em_remote_chain_undo(struct em_remote *r, struct em_codec_ctx *cx,
    const struct em_remote_chain *ch, const unsigned char *src, size_t n, size_t want,
    const unsigned char **outp)
{
	size_t sizes[EM_REMOTE_MAX_B2B + 1];
	int k, which = 0;

	sizes[0] = want;
	for (k = 0; k < ch->nb2b; k++)
		sizes[k + 1] = ch->b2b[k] == EM_B2B_CRC32C ? sizes[k] + 4 : 0;
	for (k = ch->nb2b - 1; k >= 0; k--) {
		if (ch->b2b[k] == EM_B2B_CRC32C) {
			uint32_t got, stored;
			if (n < 4)
				return em_fail("shorter than its crc32c checksum");
			stored = em_remote_le32(src + n - 4);
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

int
em_remote_chain_decode(struct em_remote *r, struct em_codec_ctx *cx, const void *src, size_t n,
    void *out)
{
	const unsigned char *raw;
	int rc;

	rc = em_remote_chain_undo(r, cx, &r->ch, src, n, r->chunk_bytes, &raw);
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
