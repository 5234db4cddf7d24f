/* remote_internal.h - what the remote array readers' files share: the open array's state, the codec chain */
#ifndef EM_REMOTE_INTERNAL_H
#define EM_REMOTE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/limits.h"
#include "net/http.h"
#include "sources/remote.h"
#include "store/codec.h"
#include "store/zarr.h"

/*
 * remote.c opens an array (format, groups, multiscales) and hands out its
 * chunks; remote_chain.c is the Zarr v3 codec chain, remote_zarr3.c the
 * Zarr v3 array metadata, remote_n5.c N5 datasets and blocks,
 * remote_shard.c the shard index of sharded Zarr v3 arrays.
 */

enum em_remote_b2b { EM_B2B_CODEC = 1, EM_B2B_CRC32C };

/* A Zarr v3 codec chain (also used for N5's single compressor). */
struct em_remote_chain {
	int perm[EM_ZARR_MAXDIM];	/* transpose: stored axis i is array axis perm[i] */
	int has_perm;
	int big_endian;
	int nb2b;
	enum em_remote_b2b b2b[EM_REMOTE_MAX_B2B];	/* in encoding order */
	struct em_codec codec;		/* the one compressor, if any */
};

struct em_remote {
	struct em_remote_info in;
	char *url, *group_url, *level;
	json_t *meta;
	struct em_zarr_meta zm;		/* Zarr v2 */
	struct em_remote_chain ch;	/* Zarr v3 (inner chain when sharded), N5 */
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
	long missing_status;		/* the HTTP status of the missing shard */
	long last_missing;		/* em_remote_missing_status() */
	int sep_tried;			/* Zarr v2: the other key separator was tried */
	unsigned char *index;		/* per_shard * 16 bytes, little-endian */
	size_t chunk_bytes;
	size_t isz;
	unsigned char *buf[2];		/* decode scratch, chunk_bytes + slack */
	size_t bufcap;
};

static inline uint32_t
em_remote_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
em_remote_le64(const unsigned char *p)
{
	return (uint64_t)em_remote_le32(p) | (uint64_t)em_remote_le32(p + 4) << 32;
}

/* remote.c: a list of 1..EM_ZARR_MAXDIM non-negative integers ("shape"), *n set. */
int em_remote_dims(const json_t *v, const char *what, uint64_t *out, int *n);
/* remote.c: a compressor from a v2-style {"id": ...} object made for it. */
int em_remote_codec_by_id(const char *id, struct em_codec *c);
/* remote.c: the URL of grid index idx (a chunk, or a shard) in the array's own key encoding. */
int em_remote_key(const struct em_remote *r, const uint64_t *idx, char *url, size_t n);

/*
 * remote_chain.c: parse a Zarr v3 codec list into ch (ndim axes of isz-byte
 * elements).  shard (may be NULL) receives the configuration of a
 * sharding_indexed codec, which must then be the only one.
 */
int em_remote_chain_parse(const json_t *codecs, struct em_remote_chain *ch, int ndim, size_t isz,
    const json_t **shard);
/* The chain for records: "transpose,bytes(big),crc32c,zstd(3)" with a2b the array-to-bytes name. */
void em_remote_chain_describe(const struct em_remote_chain *ch, const char *a2b, char *buf,
    size_t n);
/*
 * Undo the bytes-to-bytes codecs of ch (in reverse): src/n to the raw
 * bytes of want bytes, in *outp (one of r's buffers, or src itself).
 */
int em_remote_chain_undo(struct em_remote *r, struct em_codec_ctx *cx,
    const struct em_remote_chain *ch, const unsigned char *src, size_t n, size_t want,
    const unsigned char **outp);
/* Decode a Zarr v3 chunk (inner chunk when sharded) through r's chain into out. */
int em_remote_chain_decode(struct em_remote *r, struct em_codec_ctx *cx, const void *src,
    size_t n, void *out);

/* remote_zarr3.c: r's geometry, dtype, chain, sharding and fill from zarr.json j (an array). */
int em_remote_open_zarr3(struct em_remote *r, const json_t *j);

/* remote_n5.c: r's geometry, dtype and compression from an N5 dataset's attributes.json j. */
int em_remote_open_n5(struct em_remote *r, const json_t *j);
/* remote_n5.c: voxel size and offset from N5 / COSEM "transform" or "pixelResolution". */
void em_remote_cosem_scale(struct em_remote *r, const json_t *attrs);
/* remote_n5.c: decode one N5 block (header, compression, big-endian) into a whole chunk. */
int em_remote_decode_n5(struct em_remote *r, struct em_codec_ctx *cx, const unsigned char *src,
    size_t n, void *out);

/* remote_shard.c: em_remote_locate for a sharded array (the shard's index read as needed). */
int em_remote_locate_sharded(struct em_remote *r, struct em_http *h, const uint64_t *cidx,
    char *url, size_t n, uint64_t *off, uint64_t *len);

#endif
