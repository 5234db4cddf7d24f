/* remote.h - a Zarr v2, Zarr v3 (sharded or not) or N5 array read over HTTP, chunk by chunk */
#ifndef EM_REMOTE_H
#define EM_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/codec.h"
#include "core/dtype.h"
#include "net/http.h"
#include "store/zarr.h"

/*
 * Opening reads the metadata a reader needs and nothing else:
 *
 *	r = em_remote_open(h, "https://bucket/x.zarr/recon-2/em/fibsem-int16", "s0");
 *	in = em_remote_info(r);		shape, chunks, dtype, voxel size ...
 *	for each chunk index c:
 *		rc = em_remote_locate(r, h, c, url, sizeof(url), &off, &len);
 *		rc == EM_HTTP_MISSING: em_remote_fill(r, out)
 *		else GET url (bytes off .. off+len when len > 0), then
 *		em_remote_decode(r, cx, c, body, n, out)
 *
 * The format is told by the metadata present at the URL: `.zarray` (Zarr
 * v2 array), `.zattrs` with `multiscales` (an OME-Zarr 0.4 group),
 * `zarr.json` (Zarr v3 array or group; OME-Zarr 0.5 under attributes.ome),
 * `attributes.json` (N5 dataset or group).  A group's level is the given
 * path, or its multiscales' first dataset.
 *
 * Decoded: Zarr v2 as lib/store/zarr.h reads it; Zarr v3 codecs transpose, bytes,
 * gzip, zstd, blosc, crc32c, numcodecs.zlib/gzip/zstd/blosc/lz4 and
 * sharding_indexed (index at either end, bytes + crc32c index codecs); N5
 * raw, gzip (zlib), zstd, blosc and lz4 (lz4-java's LZ4Block stream).
 *
 * The unit of reading is a chunk: for a sharded Zarr v3 array the inner
 * chunk, read with a range request on its shard (em_remote_locate() reads
 * the shard's index first, and keeps the last one).  Decoded chunks are
 * always whole (edge chunks padded with the fill value), C order,
 * little-endian.  An em_remote is used by one thread at a time.
 */
enum em_remote_format { EM_REMOTE_ZARR2 = 1, EM_REMOTE_ZARR3, EM_REMOTE_N5 };

struct em_remote_info {
	enum em_remote_format format;
	const char *format_name;		/* "zarr2", "zarr3", "n5" */
	const char *url;			/* the array (no final '/') */
	const char *group_url;			/* its multiscale group, or NULL */
	const char *level;			/* the dataset path in the group, or NULL */
	int ndim;
	uint64_t shape[EM_ZARR_MAXDIM];		/* C order, slowest first */
	uint64_t chunks[EM_ZARR_MAXDIM];	/* the unit read (inner chunk if sharded) */
	uint64_t shard[EM_ZARR_MAXDIM];		/* the shard (= chunks when not sharded) */
	int sharded;
	enum em_dtype dtype;
	unsigned char fill[8];			/* one element, little-endian */
	int voxel_known;			/* every axis has a length unit and scale */
	double voxel_nm[EM_ZARR_MAXDIM];
	int offset_known;
	double offset_nm[EM_ZARR_MAXDIM];	/* translation of voxel 0, nanometres */
	char codecs[200];			/* the chain, for records: "bytes,zstd" */
	const json_t *meta;			/* the array's metadata document (borrowed) */
};

/*
 * Read the metadata of the array at url (http://, https://, file://),
 * level a path below it or NULL.  NULL with the reason: not found ("'URL'
 * is not a Zarr v2, Zarr v3 or N5 array or group"), or unsupported
 * ("unsupported codec 'numcodecs.bz2'", "unsupported N5 compression
 * 'bzip2'", "unsupported data type 'complex64'").
 */
struct em_remote *em_remote_open(struct em_http *h, const char *url, const char *level);
void em_remote_free(struct em_remote *r);
const struct em_remote_info *em_remote_info(const struct em_remote *r);
/* Bytes of one decoded chunk, and the most bytes an encoded one may have. */
size_t em_remote_chunk_bytes(const struct em_remote *r);
size_t em_remote_max_encoded(const struct em_remote *r);
/*
 * Where chunk cidx is stored: its URL into url (size n), and the byte range
 * [*off, *off + *len) of it (*len 0: the whole object).  0 when there is
 * something to fetch, EM_HTTP_MISSING when the chunk is known to be absent
 * (an empty entry of a shard's index, a missing shard), -1 on error.
 * Sharded arrays fetch the shard's index with h here.
 */
int em_remote_locate(struct em_remote *r, struct em_http *h, const uint64_t *cidx, char *url,
    size_t n, uint64_t *off, uint64_t *len);
/*
 * After em_remote_locate returned EM_HTTP_MISSING: the HTTP status of the
 * shard that is not there (404, 403, 410), or 0 when the shard's index
 * says the chunk is empty (the fill value, as written).
 */
long em_remote_missing_status(const struct em_remote *r);
/*
 * A Zarr v2 array whose .zarray names no dimension_separator has '.' keys
 * by the spec, but some writers put '/' keys there.  When none of a box's
 * chunks is found: switch to the other separator, once.  Returns it ('/'
 * or '.'), or 0 when the array names its separator, is not Zarr v2, or
 * the switch was made before.
 */
int em_remote_other_separator(struct em_remote *r);
/*
 * A shard's index as em_remote_locate reads it, for callers that hold the
 * bytes already (tests, the fuzz target): bytes the index has (0 when the
 * array is not sharded) and whether it is at the shard's end.
 * em_remote_take_index checks the n bytes at p (checksum, every entry empty
 * or inside a shard of total bytes, UINT64_MAX when not known) and keeps
 * them as shard sidx's index (one entry per dimension), so em_remote_locate of its chunks reads
 * nothing.  0, or -1 with the reason naming url.
 */
size_t em_remote_index_bytes(const struct em_remote *r);
int em_remote_index_at_end(const struct em_remote *r);
int em_remote_take_index(struct em_remote *r, const uint64_t *sidx, const void *p, size_t n,
    uint64_t total, const char *url);
/* Decode the n bytes fetched for chunk cidx into out (em_remote_chunk_bytes()). */
int em_remote_decode(struct em_remote *r, struct em_codec_ctx *cx, const uint64_t *cidx,
    const void *src, size_t n, void *out);
/* A chunk of fill value into out. */
void em_remote_fill(const struct em_remote *r, void *out);

#endif
