/* codec.c - the chunk compressors of Zarr v2 (raw, zlib, gzip, zstd, blosc, lz4), their JSON form, and the checksums chunks carry */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blosc.h>
#include <isa-l/igzip_lib.h>
#include <jansson.h>
#include <libdeflate.h>
#include <lz4.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "store/codec.h"
#include "core/diag.h"
#include "core/banned.h"

#define DEFLATE_LEVELS 13

struct em_codec_ctx {
	struct libdeflate_compressor *dc[DEFLATE_LEVELS];
	struct libdeflate_decompressor *dd;
	/* ISA-L's stream (82 kB) and level-1 tables, zeroed once and reused chunk after chunk */
	struct isal_zstream *igzip;
	unsigned char *igzip_buf;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
};

struct em_codec_ctx *
em_codec_ctx_new(void)
{
	struct em_codec_ctx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		em_fail("out of memory");
	return x;
}

void
em_codec_ctx_free(struct em_codec_ctx *x)
{
	int i;

	if (x == NULL)
		return;
	for (i = 0; i < DEFLATE_LEVELS; i++)
		if (x->dc[i] != NULL)
			libdeflate_free_compressor(x->dc[i]);
	if (x->dd != NULL)
		libdeflate_free_decompressor(x->dd);
	free(x->igzip);
	free(x->igzip_buf);
	ZSTD_freeCCtx(x->zc);
	ZSTD_freeDCtx(x->zd);
	free(x);
}

/*
 * Which codec is the default, and why (measured on the synthetic EM volume
 * of bench/, 256 MiB uint8, 64^3 chunks, on the 2-core build machine; see
 * bench/b-store.sh and the README): zstd level 1 compresses noisy EM data a
 * little better than zlib level 1 and is an order of magnitude faster both
 * ways, blosc-lz4 does not compress such data at all, and blosc-zstd with
 * byte shuffle is no better than plain zstd on 8-bit data (shuffle does
 * nothing at typesize 1) while adding a header.  Every reader we target
 * (zarr-python/numcodecs, tensorstore, neuroglancer) decodes zstd.
 */
void
em_codec_default(struct em_codec *c)
{
	em_codec_from_name("zstd", -1, c);
}

static void
codec_init(struct em_codec *c, enum em_codec_id id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->typesize = 1;
	c->acceleration = 1;
	c->shuffle = EM_BLOSC_SHUFFLE;
}

static int
blosc_cname_ok(const char *s)
{
	static const char *const names[] = { "lz4", "lz4hc", "blosclz", "zstd", "zlib", "snappy" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/* "lz4", "zstd-bitshuffle", "zlib-noshuffle", ...: blosc's cname and shuffle. */
static int
blosc_name(const char *s, struct em_codec *c)
{
	static const struct { const char *suffix; int shuffle; } sh[] = {
		{ "-noshuffle", EM_BLOSC_NOSHUFFLE }, { "-shuffle", EM_BLOSC_SHUFFLE },
		{ "-bitshuffle", EM_BLOSC_BITSHUFFLE },
	};
	char cname[sizeof(c->cname)];
	size_t i, n = strcspn(s, "-");

	if (n == 0 || n >= sizeof(cname))
		return -1;
	memcpy(cname, s, n);
	cname[n] = '\0';
	if (!blosc_cname_ok(cname))
		return -1;
	codec_init(c, EM_CODEC_BLOSC);
	snprintf(c->cname, sizeof(c->cname), "%s", cname);
	if (s[n] == '\0')
		return 0;
	for (i = 0; i < sizeof(sh) / sizeof(sh[0]); i++)
		if (strcmp(s + n, sh[i].suffix) == 0) {
			c->shuffle = sh[i].shuffle;
			return 0;
		}
	return -1;
}

int
em_codec_from_name(const char *name, int level, struct em_codec *c)
{
	if (strcmp(name, "raw") == 0 || strcmp(name, "none") == 0) {
		codec_init(c, EM_CODEC_RAW);
	} else if (strcmp(name, "zlib") == 0 || strcmp(name, "gzip") == 0) {
		codec_init(c, name[0] == 'z' ? EM_CODEC_ZLIB : EM_CODEC_GZIP);
		if (level < -1 || level > 9)
			return em_fail("%s level %d is out of range 0..9", name, level);
		c->level = level == -1 ? 1 : level;
	} else if (strcmp(name, "zstd") == 0) {
		codec_init(c, EM_CODEC_ZSTD);
		if (level < -1 || level > ZSTD_maxCLevel())
			return em_fail("zstd level %d is out of range 0..%d", level, ZSTD_maxCLevel());
		c->level = level == -1 ? 1 : level;
	} else if (strncmp(name, "blosc-", 6) == 0 && blosc_name(name + 6, c) == 0) {
		if (level < -1 || level > 9)
			return em_fail("blosc level %d is out of range 0..9", level);
		c->level = level == -1 ? 5 : level;
	} else if (strcmp(name, "lz4") == 0) {
		codec_init(c, EM_CODEC_LZ4);
		c->acceleration = level <= 0 ? 1 : level;
	} else {
		return em_fail("unknown compressor '%s' (known: raw, zlib, gzip, zstd, "
		    "blosc-lz4, blosc-zstd, blosc-zlib, blosc-blosclz, lz4; blosc names may end "
		    "in -shuffle, -bitshuffle or -noshuffle)", name);
	}
	return 0;
}

static int
json_int_field(const json_t *o, const char *key, int def, int min, int max, int *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t i;

	if (v == NULL || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (!json_is_integer(v))
		return em_fail("compressor field '%s' is not an integer", key);
	i = json_integer_value(v);
	if (i < min || i > max)
		return em_fail("compressor field '%s' = %lld is out of range", key, (long long)i);
	*out = (int)i;
	return 0;
}

int
em_codec_from_json(const json_t *j, struct em_codec *c)
{
	const char *id;

	codec_init(c, EM_CODEC_RAW);
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_object(j))
		return em_fail("compressor is not an object or null");
	id = json_string_value(json_object_get(j, "id"));
	if (id == NULL)
		return em_fail("compressor has no string 'id'");
	if (strcmp(id, "zlib") == 0 || strcmp(id, "gzip") == 0) {
		c->id = id[0] == 'z' ? EM_CODEC_ZLIB : EM_CODEC_GZIP;
		if (json_int_field(j, "level", 1, -1, 9, &c->level) < 0)
			return -1;
		if (c->level == -1)
			c->level = 6;
	} else if (strcmp(id, "zstd") == 0) {
		c->id = EM_CODEC_ZSTD;
		if (json_int_field(j, "level", 1, -(1 << 17), 200, &c->level) < 0 ||
		    json_int_field(j, "checksum", 0, 0, 1, &c->checksum) < 0)
			return -1;
	} else if (strcmp(id, "blosc") == 0) {
		const char *cname = json_string_value(json_object_get(j, "cname"));
		c->id = EM_CODEC_BLOSC;
		if (cname == NULL)
			cname = "lz4";
		if (!blosc_cname_ok(cname))
			return em_fail("unsupported blosc cname '%s'", cname);
		snprintf(c->cname, sizeof(c->cname), "%s", cname);
		if (json_int_field(j, "clevel", 5, 0, 9, &c->level) < 0 ||
		    json_int_field(j, "shuffle", 1, -1, 2, &c->shuffle) < 0 ||
		    json_int_field(j, "blocksize", 0, 0, INT_MAX, &c->blocksize) < 0)
			return -1;
	} else if (strcmp(id, "lz4") == 0) {
		c->id = EM_CODEC_LZ4;
		if (json_int_field(j, "acceleration", 1, INT_MIN, INT_MAX, &c->acceleration) < 0)
			return -1;
	} else {
		return em_fail("unsupported compressor '%s' (this build decodes zlib, gzip, "
		    "zstd, blosc, lz4 and raw)", id);
	}
	return 0;
}

json_t *
em_codec_to_json(const struct em_codec *c)
{
	switch (c->id) {
	case EM_CODEC_RAW:
		return json_null();
	case EM_CODEC_ZLIB:
	case EM_CODEC_GZIP:
		return json_pack("{s:s, s:i}", "id", c->id == EM_CODEC_ZLIB ? "zlib" : "gzip",
		    "level", c->level);
	case EM_CODEC_ZSTD:
		/* numcodecs 0.11 (Debian's zarr 2.13) knows only id and level. */
		if (c->checksum)
			return json_pack("{s:s, s:i, s:b}", "id", "zstd", "level", c->level,
			    "checksum", 1);
		return json_pack("{s:s, s:i}", "id", "zstd", "level", c->level);
	case EM_CODEC_BLOSC:
		return json_pack("{s:s, s:s, s:i, s:i, s:i}", "id", "blosc", "cname", c->cname,
		    "clevel", c->level, "shuffle", c->shuffle, "blocksize", c->blocksize);
	case EM_CODEC_LZ4:
		return json_pack("{s:s, s:i}", "id", "lz4", "acceleration", c->acceleration);
	}
	return NULL;
}

const char *
em_codec_describe(const struct em_codec *c, char *buf, size_t n)
{
	static const char *const sh[] = { "noshuffle", "shuffle", "bitshuffle" };

	switch (c->id) {
	case EM_CODEC_RAW:
		snprintf(buf, n, "raw");
		break;
	case EM_CODEC_ZLIB:
	case EM_CODEC_GZIP:
	case EM_CODEC_ZSTD:
		snprintf(buf, n, "%s level %d", c->id == EM_CODEC_ZLIB ? "zlib" :
		    c->id == EM_CODEC_GZIP ? "gzip" : "zstd", c->level);
		break;
	case EM_CODEC_BLOSC:
		snprintf(buf, n, "blosc %s clevel %d %s", c->cname, c->level,
		    c->shuffle >= 0 && c->shuffle <= 2 ? sh[c->shuffle] : "autoshuffle");
		break;
	case EM_CODEC_LZ4:
		snprintf(buf, n, "lz4 acceleration %d", c->acceleration);
		break;
	}
	return buf;
}

size_t
em_codec_bound(const struct em_codec *c, size_t n)
{
	switch (c->id) {
	case EM_CODEC_RAW:
		return n;
	case EM_CODEC_ZLIB:
	case EM_CODEC_GZIP:
		return libdeflate_gzip_compress_bound(NULL, n) + 32;
	case EM_CODEC_ZSTD:
		return ZSTD_compressBound(n);
	case EM_CODEC_BLOSC:
		return n + BLOSC_MAX_OVERHEAD + 64;
	case EM_CODEC_LZ4:
		return (size_t)LZ4_compressBound(n > LZ4_MAX_INPUT_SIZE ? 0 : (int)n) + 4;
	}
	return n;
}

static struct libdeflate_compressor *
deflater(struct em_codec_ctx *x, int level)
{
	if (level < 0 || level >= DEFLATE_LEVELS)
		level = 6;
	if (x->dc[level] == NULL)
		x->dc[level] = libdeflate_alloc_compressor(level);
	if (x->dc[level] == NULL)
		em_fail("out of memory");
	return x->dc[level];
}

/*
 * Level 1 of zlib and gzip is written with ISA-L's igzip at its level 1: on the
 * EM volume of bench/ (64^3 uint8 chunks) it compresses 3.5 times as fast as
 * libdeflate's level 1 (350 against 100 MB/s on one core) to within 0.2% of its
 * size (0.706 against 0.705 of the input).  Both write plain RFC 1950/1952
 * streams that every zlib reader decodes; other levels stay with libdeflate,
 * whose higher levels compress better than igzip's.  Returns 0 when written,
 * 1 when igzip cannot take it (too big for its 32-bit counts, or the output does
 * not fit) and libdeflate is to try, -1 on failure.
 */
static int
igzip_encode(struct em_codec_ctx *x, const struct em_codec *c, const void *src, size_t n,
    void *dst, size_t cap, size_t *outlen)
{
	struct isal_zstream *s;

	if (n > UINT32_MAX || cap > UINT32_MAX)
		return 1;
	/*
	 * Zeroed when made: igzip reads parts of the stream its init leaves
	 * alone (valgrind says so), and what the chunk before left there does
	 * not change the output (checked against a fresh stream for each chunk).
	 */
	if ((x->igzip == NULL && (x->igzip = calloc(1, sizeof(*x->igzip))) == NULL) ||
	    (x->igzip_buf == NULL && (x->igzip_buf = calloc(1, ISAL_DEF_LVL1_DEFAULT)) == NULL))
		return em_fail("out of memory");
	s = x->igzip;
	isal_deflate_stateless_init(s);
	s->level = 1;
	s->level_buf = x->igzip_buf;
	s->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	s->gzip_flag = c->id == EM_CODEC_ZLIB ? IGZIP_ZLIB : IGZIP_GZIP;
	s->end_of_stream = 1;
	s->flush = NO_FLUSH;
	s->next_in = (uint8_t *)(uintptr_t)src;
	s->avail_in = (uint32_t)n;
	s->next_out = dst;
	s->avail_out = (uint32_t)cap;
	switch (isal_deflate_stateless(s)) {
	case COMP_OK:
		*outlen = s->total_out;
		return 0;
	case STATELESS_OVERFLOW:
		return 1;
	default:
		return em_fail("igzip could not compress a chunk of %zu bytes", n);
	}
}

static int
blosc_shuffle_of(const struct em_codec *c)
{
	if (c->shuffle == EM_BLOSC_AUTOSHUFFLE)
		return c->typesize == 1 ? BLOSC_BITSHUFFLE : BLOSC_SHUFFLE;
	return c->shuffle;
}

static int
encode(struct em_codec_ctx *x, const struct em_codec *c, const void *src, size_t n,
    void *dst, size_t cap, size_t *outlen)
{
	size_t r;

	switch (c->id) {
	case EM_CODEC_RAW:
		if (cap < n)
			return em_fail("output buffer too small");
		memcpy(dst, src, n);
		*outlen = n;
		return 0;
	case EM_CODEC_ZLIB:
	case EM_CODEC_GZIP: {
		struct libdeflate_compressor *d;
		int rc;
		if (c->level == 1 && (rc = igzip_encode(x, c, src, n, dst, cap, outlen)) <= 0)
			return rc;
		if ((d = deflater(x, c->level)) == NULL)
			return -1;
		r = c->id == EM_CODEC_ZLIB ? libdeflate_zlib_compress(d, src, n, dst, cap) :
		    libdeflate_gzip_compress(d, src, n, dst, cap);
		if (r == 0)
			return em_fail("output buffer too small");
		*outlen = r;
		return 0;
	}
	case EM_CODEC_ZSTD:
		if (x->zc == NULL && (x->zc = ZSTD_createCCtx()) == NULL)
			return em_fail("out of memory");
		ZSTD_CCtx_reset(x->zc, ZSTD_reset_session_and_parameters);
		if (ZSTD_isError(ZSTD_CCtx_setParameter(x->zc, ZSTD_c_compressionLevel, c->level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(x->zc, ZSTD_c_checksumFlag, c->checksum)))
			return em_fail("bad zstd parameters (level %d)", c->level);
		r = ZSTD_compress2(x->zc, dst, cap, src, n);
		if (ZSTD_isError(r))
			return em_fail("zstd: %s", ZSTD_getErrorName(r));
		*outlen = r;
		return 0;
	case EM_CODEC_BLOSC: {
		int rc;
		if (n > BLOSC_MAX_BUFFERSIZE)
			return em_fail("chunk of %zu bytes is too big for blosc", n);
		rc = blosc_compress_ctx(c->level, blosc_shuffle_of(c), c->typesize ? c->typesize : 1,
		    n, src, dst, cap, c->cname, (size_t)c->blocksize, 1);
		if (rc <= 0)
			return em_fail("blosc %s compression failed (%d)", c->cname, rc);
		*outlen = (size_t)rc;
		return 0;
	}
	case EM_CODEC_LZ4: {
		unsigned char *o = dst;
		int rc;
		if (n > LZ4_MAX_INPUT_SIZE || cap < 4 || cap - 4 > INT_MAX)
			return em_fail("chunk of %zu bytes is too big for lz4", n);
		o[0] = (unsigned char)n;
		o[1] = (unsigned char)(n >> 8);
		o[2] = (unsigned char)(n >> 16);
		o[3] = (unsigned char)(n >> 24);
		rc = LZ4_compress_fast(src, (char *)o + 4, (int)n, (int)(cap - 4),
		    c->acceleration < 1 ? 1 : c->acceleration);
		if (rc <= 0)
			return em_fail("output buffer too small");
		*outlen = (size_t)rc + 4;
		return 0;
	}
	}
	return em_fail("unknown codec");
}

int
em_codec_encode(struct em_codec_ctx *x, const struct em_codec *c, const void *src, size_t n,
    void *dst, size_t cap, size_t *outlen)
{
	struct em_codec_ctx *own = NULL;
	int rc;

	if (x == NULL && (x = own = em_codec_ctx_new()) == NULL)
		return -1;
	rc = encode(x, c, src, n, dst, cap, outlen);
	em_codec_ctx_free(own);
	return rc;
}

static int
size_mismatch(const char *what, size_t got, size_t expect)
{
	return em_fail("%s decoded to %zu bytes, expected %zu", what, got, expect);
}

static int
inflate_data(struct em_codec_ctx *x, int gzip, const unsigned char *src, size_t n,
    unsigned char *dst, size_t expect)
{
	const char *what = gzip ? "gzip" : "zlib";
	size_t in_used, got, off = 0;
	enum libdeflate_result r;

	if (x->dd == NULL && (x->dd = libdeflate_alloc_decompressor()) == NULL)
		return em_fail("out of memory");
	if (!gzip) {
		r = libdeflate_zlib_decompress(x->dd, src, n, dst, expect, &got);
		if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
			return em_fail("zlib stream decodes to more than %zu bytes", expect);
		if (r != LIBDEFLATE_SUCCESS)
			return em_fail("corrupt zlib stream");
		return got == expect ? 0 : size_mismatch(what, got, expect);
	}
	/* A gzip file may hold several members; their data is concatenated. */
	do {
		r = libdeflate_gzip_decompress_ex(x->dd, src, n, dst + off, expect - off,
		    &in_used, &got);
		if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
			return em_fail("gzip stream decodes to more than %zu bytes", expect);
		if (r != LIBDEFLATE_SUCCESS)
			return em_fail("corrupt gzip stream");
		src += in_used;
		n -= in_used;
		off += got;
	} while (n >= 18 && src[0] == 0x1f && src[1] == 0x8b);
	return off == expect ? 0 : size_mismatch(what, off, expect);
}

static int
blosc_decode(const unsigned char *src, size_t n, void *dst, size_t expect)
{
	size_t nbytes = 0, cbytes = 0, bsize = 0;
	int rc;

	if (n < BLOSC_MIN_HEADER_LENGTH)
		return em_fail("blosc frame of %zu bytes is shorter than its header", n);
	blosc_cbuffer_sizes(src, &nbytes, &cbytes, &bsize);
	if (cbytes > n)
		return em_fail("blosc frame is truncated (%zu of %zu bytes)", n, cbytes);
	if (blosc_cbuffer_validate(src, n, &nbytes) < 0)
		return em_fail("corrupt blosc frame");
	if (nbytes != expect)
		return size_mismatch("blosc", nbytes, expect);
	rc = blosc_decompress_ctx(src, dst, expect, 1);
	if (rc < 0) {
		/* The frame names its compressor in bits 5-7 of the flags byte. */
		const char *name = NULL;
		char *lib = NULL, *ver = NULL;
		int code = (src[2] >> 5) & 7;
		if (blosc_compcode_to_compname(code, &name) < 0 || name == NULL)
			return em_fail("blosc frame uses unknown compressor code %d", code);
		if (blosc_get_complib_info(name, &lib, &ver) < 0) {
			free(lib);
			free(ver);
			return em_fail("blosc frame uses '%s', which this c-blosc lacks", name);
		}
		free(lib);
		free(ver);
		return em_fail("corrupt blosc frame (%s)", name);
	}
	if ((size_t)rc != expect)
		return size_mismatch("blosc", (size_t)rc, expect);
	return 0;
}

static int
decode(struct em_codec_ctx *x, const struct em_codec *c, const unsigned char *src, size_t n,
    void *dst, size_t expect)
{
	size_t r;

	switch (c->id) {
	case EM_CODEC_RAW:
		if (n != expect)
			return em_fail("raw chunk has %zu bytes, expected %zu", n, expect);
		memcpy(dst, src, n);
		return 0;
	case EM_CODEC_ZLIB:
	case EM_CODEC_GZIP:
		return inflate_data(x, c->id == EM_CODEC_GZIP, src, n, dst, expect);
	case EM_CODEC_ZSTD:
		if (x->zd == NULL && (x->zd = ZSTD_createDCtx()) == NULL)
			return em_fail("out of memory");
		r = ZSTD_decompressDCtx(x->zd, dst, expect, src, n);
		if (ZSTD_isError(r)) {
			if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
				return em_fail("zstd stream decodes to more than %zu bytes", expect);
			return em_fail("corrupt zstd stream: %s", ZSTD_getErrorName(r));
		}
		return r == expect ? 0 : size_mismatch("zstd", r, expect);
	case EM_CODEC_BLOSC:
		return blosc_decode(src, n, dst, expect);
	case EM_CODEC_LZ4: {
		uint32_t hdr;
		int rc;
		if (n < 4)
			return em_fail("lz4 chunk of %zu bytes is shorter than its header", n);
		hdr = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 |
		    (uint32_t)src[3] << 24;
		if (hdr != expect)
			return size_mismatch("lz4 (header)", hdr, expect);
		if (n - 4 > INT_MAX || expect > INT_MAX)
			return em_fail("lz4 chunk too big");
		rc = LZ4_decompress_safe((const char *)src + 4, dst, (int)(n - 4), (int)expect);
		if (rc < 0)
			return em_fail("corrupt lz4 block");
		return (size_t)rc == expect ? 0 : size_mismatch("lz4", (size_t)rc, expect);
	}
	}
	return em_fail("unknown codec");
}

int
em_codec_decode(struct em_codec_ctx *x, const struct em_codec *c, const void *src, size_t n,
    void *dst, size_t expect)
{
	struct em_codec_ctx *own = NULL;
	int rc;

	if (x == NULL && (x = own = em_codec_ctx_new()) == NULL)
		return -1;
	rc = decode(x, c, src, n, dst, expect);
	em_codec_ctx_free(own);
	return rc;
}

/* ---- checksums ---- */

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void
crc32c_init(void)
{
	uint32_t k, v;
	int j;

	for (k = 0; k < 256; k++) {
		v = k;
		for (j = 0; j < 8; j++)
			v = (v & 1) ? (v >> 1) ^ 0x82f63b78u : v >> 1;
		crc32c_table[k] = v;
	}
}

uint32_t
em_crc32c(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t c = 0xffffffffu;
	size_t i;

	/* Decoding runs on worker threads: the table is made once, before any use. */
	pthread_once(&crc32c_once, crc32c_init);
	for (i = 0; i < n; i++)
		c = crc32c_table[(c ^ b[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
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
