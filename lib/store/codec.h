/* codec.h - the chunk compressors of Zarr v2 (raw, zlib, gzip, zstd, blosc, lz4) and their JSON form */
#ifndef EM_CODEC_H
#define EM_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum em_codec_id {
	EM_CODEC_RAW = 0,	/* "compressor": null */
	EM_CODEC_ZLIB,		/* RFC 1950 stream (level 1: ISA-L igzip; else libdeflate) */
	EM_CODEC_GZIP,		/* RFC 1952 member(s) (the same) */
	EM_CODEC_ZSTD,		/* one or more zstd frames */
	EM_CODEC_BLOSC,		/* Blosc1 frame (c-blosc) */
	EM_CODEC_LZ4,		/* numcodecs LZ4: u32 LE size + LZ4 block */
};

/* Blosc shuffle modes, as numcodecs numbers them. */
#define EM_BLOSC_AUTOSHUFFLE (-1)
#define EM_BLOSC_NOSHUFFLE 0
#define EM_BLOSC_SHUFFLE 1
#define EM_BLOSC_BITSHUFFLE 2

/*
 * A compressor with its parameters.  level is zlib/gzip 0..9 (-1 = 6),
 * zstd's level (numcodecs: 0 = zstd's default 3), or blosc's clevel 0..9.
 * typesize (blosc only) is the element size; the array sets it from its
 * dtype.
 */
struct em_codec {
	enum em_codec_id id;
	int level;
	int checksum;		/* zstd: frame checksum */
	char cname[12];		/* blosc: lz4 lz4hc blosclz zstd zlib snappy */
	int shuffle;		/* blosc: EM_BLOSC_* */
	int blocksize;		/* blosc: 0 = automatic */
	int acceleration;	/* lz4 */
	size_t typesize;	/* blosc: element size (1 if unset) */
};

/*
 * The codec of a `compressor` value of .zarray (NULL or JSON null is raw).
 * An id this library does not decode (bz2, lzma, zfpy, pcodec, ...) fails
 * with "unsupported compressor 'ID'".
 */
int em_codec_from_json(const json_t *compressor, struct em_codec *c);
/* The `compressor` value for .zarray: a new reference (json null for raw). */
json_t *em_codec_to_json(const struct em_codec *c);
/*
 * From a command-line name: raw, zlib, gzip, zstd, blosc-lz4, blosc-zstd,
 * blosc-zlib, blosc-blosclz, lz4; level -1 takes the codec's default
 * (zlib/gzip 1, zstd 1, blosc 5).  Blosc uses byte shuffle unless the name
 * ends in -bitshuffle or -noshuffle ("blosc-zstd-bitshuffle").
 */
int em_codec_from_name(const char *name, int level, struct em_codec *c);
/* One line for records and logs: "zstd level 1", "blosc lz4 clevel 5 shuffle", "raw". */
const char *em_codec_describe(const struct em_codec *c, char *buf, size_t n);
/* The default compressor of the suite (see em_codec_default in codec.c for why). */
void em_codec_default(struct em_codec *c);

/* The largest encoded size of n input bytes. */
size_t em_codec_bound(const struct em_codec *c, size_t n);

/*
 * Per-thread state (compressor and decompressor contexts, made on first
 * use).  Every call below takes one; NULL makes a temporary one.  A context
 * must not be used by two threads at once.
 */
struct em_codec_ctx;
struct em_codec_ctx *em_codec_ctx_new(void);
void em_codec_ctx_free(struct em_codec_ctx *x);

/*
 * Encode n bytes of src into dst (capacity cap, at least em_codec_bound());
 * the encoded size goes to *outlen.  The output is deterministic: the same
 * input and codec give the same bytes.
 */
int em_codec_encode(struct em_codec_ctx *x, const struct em_codec *c, const void *src,
    size_t n, void *dst, size_t cap, size_t *outlen);
/*
 * Decode n bytes of src into dst, which must receive exactly expect bytes:
 * a stream that decodes to a different size, or does not decode, is an
 * error ("corrupt ... stream", "decoded to N bytes, expected M").
 */
int em_codec_decode(struct em_codec_ctx *x, const struct em_codec *c, const void *src,
    size_t n, void *dst, size_t expect);

/* CRC-32C (Castagnoli) of n bytes, as the Zarr v3 crc32c codec computes it. */
uint32_t em_crc32c(const void *p, size_t n);
/* XXH32 of n bytes with seed (lz4-java's block checksum is its low 28 bits, seed 0x9747b28c). */
uint32_t em_xxh32(const void *p, size_t n, uint32_t seed);

#endif
