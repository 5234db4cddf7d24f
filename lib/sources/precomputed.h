/* precomputed.h - Neuroglancer precomputed volumes: the info JSON, chunk names, the sharded format */
#ifndef EM_PRECOMPUTED_H
#define EM_PRECOMPUTED_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dtype.h"

/* Bounds that keep hostile metadata from asking for absurd memory. */
#define EM_PC_MAX_INFO_BYTES ((size_t)16 << 20)
#define EM_PC_MAX_SCALES 64
#define EM_PC_MAX_DIM ((uint64_t)1 << 32)	/* a volume's extent on one axis */
#define EM_PC_MAX_CHUNK_BYTES ((uint64_t)1 << 30)	/* one decoded chunk */
#define EM_PC_MAX_BITS 32			/* minishard_bits, shard_bits */
#define EM_PC_MAX_MINISHARD_ENTRIES ((uint64_t)1 << 22)

enum em_pc_encoding { EM_PC_RAW, EM_PC_JPEG, EM_PC_CSEG };
enum em_pc_hash { EM_PC_IDENTITY, EM_PC_MURMUR };

/* The sharding of a scale (neuroglancer_uint64_sharded_v1). */
struct em_pc_sharding {
	unsigned preshift_bits, minishard_bits, shard_bits;
	enum em_pc_hash hash;
	int index_gzip;			/* minishard_index_encoding "gzip" */
	int data_gzip;			/* data_encoding "gzip" */
};

/* One scale of the info; every triple is x,y,z as the info gives it. */
struct em_pc_scale {
	const char *key;		/* borrowed from the info's JSON */
	double resolution[3];		/* nm per voxel */
	uint64_t size[3];
	int64_t voxel_offset[3];
	uint64_t chunk[3];		/* chunk_sizes[0] */
	enum em_pc_encoding encoding;
	uint32_t cseg_block[3];		/* compressed_segmentation_block_size */
	int sharded;
	struct em_pc_sharding sh;
};

struct em_pc_info {
	json_t *json;			/* the document (owned) */
	enum em_dtype dtype;
	const char *type;		/* "image", "segmentation", or NULL */
	size_t nscales;
	struct em_pc_scale scales[EM_PC_MAX_SCALES];
};

/*
 * Read an info file (len bytes).  0, or -1 with the reason: not JSON, a
 * data_type or encoding or hash this reader does not know, num_channels
 * other than 1, a scale without key, resolution, size or chunk_sizes, sizes
 * past EM_PC_MAX_DIM, compressed_segmentation of anything but uint32 or
 * uint64, jpeg of anything but uint8.
 */
int em_pc_parse_info(const char *text, size_t len, struct em_pc_info *pi);
void em_pc_info_release(struct em_pc_info *pi);
/* The scale named by arg: its key, or its index as a number; NULL arg: 0.  -1 when none. */
int em_pc_find_scale(const struct em_pc_info *pi, const char *arg);
/* "raw", "jpeg", "compressed_segmentation". */
const char *em_pc_encoding_name(enum em_pc_encoding e);

/*
 * The name of the chunk with grid index g (x,y,z) of scale s:
 * "x0-x1_y0-y1_z0-z1" in voxels, the last chunk clipped at the volume's
 * end; into name (n bytes).  Its extent (x,y,z voxels) in ext.
 */
int em_pc_chunk_name(const struct em_pc_scale *s, const uint64_t g[3], char *name, size_t n,
    uint64_t ext[3]);
/* The number of chunks of scale s along each axis (x,y,z). */
void em_pc_grid(const struct em_pc_scale *s, uint64_t grid[3]);

/* MurmurHash3_x86_128 of n bytes with seed; the 16 bytes of the hash in out. */
void em_murmur3_x86_128(const void *key, size_t n, uint32_t seed, unsigned char out[16]);

/* The chunk id of grid index g: its compressed Morton code (sharded.md). */
uint64_t em_pc_chunk_id(const struct em_pc_scale *s, const uint64_t g[3]);
/* Which shard and minishard hold chunk id. */
void em_pc_locate(const struct em_pc_sharding *sh, uint64_t id, uint64_t *shard,
    uint64_t *minishard);
/* The shard file's name: its number in hex, ceil(shard_bits/4) digits, ".shard". */
void em_pc_shard_name(const struct em_pc_sharding *sh, uint64_t shard, char *name, size_t n);
/* Bytes of a shard's index: 16 per minishard. */
uint64_t em_pc_shard_index_bytes(const struct em_pc_sharding *sh);

/*
 * Entry m of a shard index (p, n bytes): where minishard m's index lies, as
 * absolute byte offsets in the shard file [*start, *end).  0; -1 with the
 * reason when the entry is inconsistent (end before start, past
 * EM_PC_MAX_MINISHARD_ENTRIES*24 bytes).
 */
int em_pc_shard_entry(const struct em_pc_sharding *sh, const void *p, size_t n, uint64_t m,
    uint64_t *start, uint64_t *end);

/* A decoded minishard index: n chunk ids with their absolute byte ranges in the shard. */
struct em_pc_minishard {
	uint64_t n;
	uint64_t *id, *start, *len;	/* owned */
};
/*
 * Decode a minishard index (p, n bytes, still gzipped when the sharding
 * says so).  0; -1 with the reason: not a whole number of entries, a gzip
 * stream that does not decode, offsets that overflow.
 */
int em_pc_minishard_parse(const struct em_pc_sharding *sh, const void *p, size_t n,
    struct em_pc_minishard *ms);
void em_pc_minishard_release(struct em_pc_minishard *ms);
/* Chunk id's byte range in the shard: 1 found, 0 not there. */
int em_pc_minishard_find(const struct em_pc_minishard *ms, uint64_t id, uint64_t *start,
    uint64_t *len);

/*
 * Decode one chunk of scale s with extent ext (x,y,z, as em_pc_chunk_name
 * gives) from its stored bytes (p, n; gunzipped already) into out, laid out
 * z,y,x in C order with the whole chunk's shape (s->chunk; the parts past
 * ext stay as they were).  0; -1 with the reason: a raw chunk of the wrong
 * size, a JPEG of other dimensions, a compressed_segmentation stream that
 * points outside itself.
 */
int em_pc_decode_chunk(const struct em_pc_scale *s, enum em_dtype dtype, const uint64_t ext[3],
    const void *p, size_t n, void *out);

/* gunzip n bytes into a new buffer (at most max bytes): 0, -1 with the reason. */
int em_pc_gunzip(const void *p, size_t n, size_t max, unsigned char **out, size_t *outlen);


/*
 * A precomputed volume read over the transport (net/http.h): the info, one
 * scale, and the shard and minishard indexes last read (a shard's chunks
 * come together in the block walk, so one of each is enough).
 */
struct em_http;
struct em_pc_source;

/*
 * Read <url>/info and choose the scale (key or index, NULL: the first).
 * h is borrowed for the source's life (index reads go through it).  NULL
 * with the reason (naming the URL) on failure.
 */
struct em_pc_source *em_pc_open(struct em_http *h, const char *url, const char *scale);
void em_pc_close(struct em_pc_source *src);
const struct em_pc_info *em_pc_source_info(const struct em_pc_source *src);
const struct em_pc_scale *em_pc_source_scale(const struct em_pc_source *src);
/* The volume's base URL, without a trailing slash (borrowed). */
const char *em_pc_source_url(const struct em_pc_source *src);
/* The most bytes one chunk's answer may have. */
size_t em_pc_max_body(const struct em_pc_source *src);
/* The most bytes of shard indexes kept at once. */
uint64_t em_pc_index_cache_bytes(const struct em_pc_source *src);
/* Bytes of one decoded chunk (the decoder's buffer). */
size_t em_pc_chunk_bytes(const struct em_pc_source *src);
/*
 * The request for the chunk with grid index g (z,y,x, the store's order):
 * its URL, byte range (len 0: all of it) and largest answer.  For a sharded
 * scale this reads the shard's and minishard's indexes as needed (after
 * em_pc_prefetch, together with those of the chunks that follow in the
 * box, many at a time).  0;
 * EM_HTTP_MISSING when the volume has no such chunk (its voxels are 0); -1
 * with the reason naming the URL.
 */
int em_pc_request(struct em_pc_source *src, const uint64_t g[3], char *url, size_t n,
    uint64_t *off, uint64_t *len, size_t *max);
/*
 * Decode the answer for chunk g into the source's chunk buffer (*data:
 * z,y,x, the whole chunk's shape).  0, or -1 with the reason naming url.
 */
int em_pc_decode(struct em_pc_source *src, const uint64_t g[3], const char *url,
    const void *body, size_t len, const void **data);
/*
 * Read, many at a time (the transport's jobs), the shard and minishard
 * indexes the first chunks of the box [b0, b1) (z,y,x voxels of the scale)
 * will need, as many as are kept; the chunk requests then find them.  Best
 * effort: an index that does not come is read, and its failure reported,
 * when its chunk is asked for.  Always 0 (-1 only when out of memory).
 */
int em_pc_prefetch(struct em_pc_source *src, const uint64_t b0[3], const uint64_t b1[3]);
/* The buffer of a chunk the volume does not have: zeros. */
int em_pc_fill(struct em_pc_source *src, const void **data);

#endif
