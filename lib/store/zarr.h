/* zarr.h - Zarr v2 and v3 (sharded) arrays and OME-NGFF groups: create, open, read chunks, boxes and slabs */
#ifndef EM_ZARR_H
#define EM_ZARR_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/codec.h"
#include "core/dtype.h"

/*
 * What .zarray (v2) or zarr.json (v3) says.  The store always writes
 * little-endian, C order and filters null; big_endian and order_f describe
 * arrays written by others, whose data the reader converts so callers
 * always get C order, little-endian bytes.
 *
 * A sharded v3 array (shard[0] != 0) keeps its chunks (the inner chunks of
 * the sharding_indexed codec) in shard files of shard[] voxels each, a
 * multiple of chunks[] in every dimension; everything else still speaks of
 * chunks (chunk indexes, em_zarr_read_chunk), and the shard is found from
 * them.
 */
struct em_zarr_meta {
	int zarr_format;			/* 2 or 3 (0 in a zeroed meta means 2) */
	int ndim;				/* 1..EM_ZARR_MAXDIM (0-d arrays are refused) */
	uint64_t shape[EM_ZARR_MAXDIM];		/* slowest first (z, y, x) */
	uint64_t chunks[EM_ZARR_MAXDIM];
	enum em_dtype dtype;
	int big_endian;				/* read only: on-disk byte order */
	int order_f;				/* read only: chunks in Fortran order */
	char sep;				/* dimension_separator: '/' or '.' */
	struct em_codec codec;			/* typesize is kept = dtype size */
	int fill_null;				/* fill_value null: read as zeros */
	unsigned char fill[8];			/* fill value as one little-endian element */
	uint64_t shard[EM_ZARR_MAXDIM];		/* v3: shard shape in voxels; all 0 = unsharded */
	/* Read only: v3 arrays written by others (the store writes none of these). */
	int key_v2;				/* chunk_key_encoding "v2": no "c" prefix */
	int crc32c;				/* chunks end in a crc32c codec */
	int index_start;			/* the shard index is at the start of the file */
	int index_nocrc;			/* the shard index has no crc32c */
};

/*
 * A meta for a new array: Zarr v2, C order, little-endian, separator '/',
 * fill 0, codec copied (typesize set from dtype).  -1 on a bad
 * shape/chunk/dtype.  For v3 set zarr_format and, to shard, call
 * em_zarr_meta_set_shard().
 */
int em_zarr_meta_init(struct em_zarr_meta *m, int ndim, const uint64_t *shape,
    const uint64_t *chunks, enum em_dtype dtype, const struct em_codec *codec);
/*
 * Make m a Zarr v3 array (format 3) or v2 (format 2), sharded in shards of
 * shard[] voxels (NULL or all 0: unsharded; sharding needs format 3).  A
 * shard shape that is not a multiple of the chunk shape in every dimension
 * is refused, the message naming both.
 */
int em_zarr_meta_set_format(struct em_zarr_meta *m, int zarr_format, const uint64_t *shard);
/* 1 if m is a sharded (v3 sharding_indexed) array. */
int em_zarr_sharded(const struct em_zarr_meta *m);
/*
 * Whether an array of this shape and chunks is within EM_ZARR_MAX_ELEMENTS
 * elements and EM_ZARR_MAX_CHUNKS chunks (core/limits.h): 0, or -1 giving
 * the numbers.  em_zarr_meta_init and em_zarr_meta_from_json check it; the
 * remote readers check every format's metadata with it.
 */
int em_zarr_check_size(int ndim, const uint64_t *shape, const uint64_t *chunks);
/* Set the fill value from a number (rounded/clamped into the dtype; NaN allowed for floats). */
int em_zarr_meta_set_fill(struct em_zarr_meta *m, double v);
/* Bytes of one decoded chunk (prod(chunks) * itemsize). */
size_t em_zarr_chunk_bytes(const struct em_zarr_meta *m);
/* Number of chunks along each dimension, and in all. */
void em_zarr_grid(const struct em_zarr_meta *m, uint64_t *grid);
uint64_t em_zarr_nchunks(const struct em_zarr_meta *m);
/*
 * Shards along each dimension and in all (a sharded array's files); for
 * an unsharded array the chunk grid.
 */
void em_zarr_shard_grid(const struct em_zarr_meta *m, uint64_t *grid);
uint64_t em_zarr_nshards(const struct em_zarr_meta *m);
/*
 * The key of a chunk's file ("3/0/1" or "3.0.1", v3 "c/3/0/1") into buf of
 * size n; returns buf, or NULL if it does not fit.  For a sharded array
 * cidx is a shard index (em_zarr_shard_grid) and the key that of the shard.
 */
char *em_zarr_chunk_key(const struct em_zarr_meta *m, const uint64_t *cidx, char *buf, size_t n);

/*
 * Fill in m from a parsed .zarray object (an array written by anyone: any
 * byte order, C or F order).  -1 naming what is wrong or unsupported.
 */
int em_zarr_meta_from_json(struct em_zarr_meta *m, const json_t *zarray);
/*
 * A JSON list of at most EM_ZARR_MAXDIM non-negative integers (a shape,
 * chunks) into out, *n its length (0 for []).  -1 naming what for
 * anything else.
 */
int em_zarr_u64_list(const json_t *v, const char *what, uint64_t *out, int *n);
/* Set m's fill value from a .zarray fill_value (number, "NaN", null...); m->dtype must be set. */
int em_zarr_meta_fill_json(struct em_zarr_meta *m, const json_t *fill_value);
/*
 * Decode one encoded chunk of m (n bytes at src) into out: full chunk,
 * C order, little-endian.  tmp (em_zarr_chunk_bytes() bytes) is needed
 * for Fortran-order arrays only.  cx may be NULL.
 */
int em_zarr_decode_chunk(struct em_codec_ctx *cx, const struct em_zarr_meta *m,
    const void *src, size_t n, void *out, void *tmp);

/*
 * Write dir/.zarray for m (creating dir).  Idempotent and safe when several
 * processes race: an existing .zarray that describes the same array is
 * kept; one that differs is an error naming the difference.  Files are
 * written to a temporary name and renamed.
 */
int em_zarr_create_array(const char *dir, const struct em_zarr_meta *m);
/*
 * Group metadata at dir (created): v2 .zgroup and .zattrs = attrs (NULL:
 * no .zattrs); v3 zarr.json with node_type "group" and attributes = attrs
 * (NULL: {}).  Each file is written to a temporary name and renamed, and
 * only when its content changes, so calling it again is harmless.
 */
int em_zarr_write_group(const char *dir, int zarr_format, const json_t *attrs);
/*
 * Write j to path as zarr-python does (sorted keys, indent 4), atomically,
 * unless the same JSON is there already.
 */
int em_zarr_write_json(const char *path, const json_t *j);
/*
 * An OME-Zarr image: store/.zgroup, store/.zattrs with OME-NGFF 0.4
 * multiscales (axes z,y,x of type space, dataset "0" with a scale
 * transformation) and the array at store/0.  ndim must be 2 or 3 (axes y,x
 * or z,y,x).  voxel_nm (ndim values, slowest first) gives unit "nanometer"
 * and scale = voxel size; NULL (unknown) gives axes with no unit and scale
 * 1 - one voxel, a length we do not claim to know.  name may be NULL.
 * Idempotent like em_zarr_create_array(); .zattrs is rewritten only when
 * its content changes.
 */
int em_zarr_create(const char *store, const struct em_zarr_meta *m, const double *voxel_nm,
    const char *name);
/* em_zarr_create_at's flags: leave group attributes that exist as they are. */
#define EM_ZARR_KEEP_GROUP 1
/*
 * em_zarr_create with offset (ndim values in voxel_nm's units, NULL: none)
 * as level 0's translation, so the group's first attributes already say
 * where a crop lies.  With EM_ZARR_KEEP_GROUP the attributes' file is made
 * only where none is (two parts starting together: one makes it, neither
 * replaces the other's); 1 then says it was there and left as it is.  0 when
 * written, -1 on an error; level 0 is made or checked either way.
 */
int em_zarr_create_at(const char *store, const struct em_zarr_meta *m, const double *voxel_nm,
    const double *offset, const char *name, int flags);

/*
 * The metadata parsers em_zarr_open() uses, from memory (len bytes of text,
 * at most 1 MiB): so the tests and the fuzzers reach them without files.
 * em_zarr_meta_parse fills m from the text of a .zarray; the errors are
 * the ones em_zarr_open gives for that file.
 */
int em_zarr_meta_parse(const char *text, size_t len, struct em_zarr_meta *m);

/* What an OME-NGFF group's .zattrs says about its first image. */
struct em_zarr_attrs {
	char *path;		/* multiscales[0].datasets[0].path, a safe relative path; owned */
	int naxes;		/* entries in multiscales[0].axes (0..EM_ZARR_MAXDIM) */
	double voxel_nm[EM_ZARR_MAXDIM];	/* per axis, 0 when not a known length */
};
/*
 * Parse the text of a .zattrs.  Fails when the first dataset's path is
 * missing, empty, absolute or leaves the group ("..").  Voxel sizes are
 * set only when axes and the scale transformations agree in length;
 * em_zarr_open uses them when that length is the array's ndim.
 * Release with em_zarr_attrs_release().
 */
int em_zarr_attrs_parse(const char *text, size_t len, struct em_zarr_attrs *at);
void em_zarr_attrs_release(struct em_zarr_attrs *at);

/* An open array (read side, also what the writer writes through). */
struct em_zarr;

/*
 * Open a Zarr array: path is the array directory (has .zarray, or a
 * zarr.json of node_type array), or an OME-Zarr group (.zgroup and .zattrs,
 * or a v3 zarr.json of node_type group, OME-NGFF 0.5 attributes under
 * "ome") whose multiscales[0].datasets[0].path names it.  v3 arrays may be
 * sharded (sharding_indexed, index at either end, with or without crc32c)
 * and use bytes (either order), transpose (C or F order), a compressor and
 * crc32c.  Errors name the file and what is wrong: not Zarr, unsupported
 * dtype, order, filters, compressor or codec ("unsupported codec 'bz2'").
 */
struct em_zarr *em_zarr_open(const char *path);
void em_zarr_close(struct em_zarr *a);
const struct em_zarr_meta *em_zarr_meta(const struct em_zarr *a);
/* The array directory (borrowed). */
const char *em_zarr_path(const struct em_zarr *a);
size_t em_zarr_itemsize(const struct em_zarr *a);
/* Bytes of the whole array in C order. */
uint64_t em_zarr_nbytes(const struct em_zarr *a);
/*
 * Voxel size in nanometres from the group's multiscales (dataset scale
 * times the multiscale's own scale, units converted): the number of axes
 * filled into out (ndim), or 0 when the store does not say (no group, no
 * unit, or a unit that is not a length).
 */
int em_zarr_voxel_nm(const struct em_zarr *a, double *out);

/*
 * Read one chunk, decoded, full chunk size, C order, little-endian, into
 * out (em_zarr_chunk_bytes() bytes).  1 if it was stored, 0 if missing
 * (out is the fill value), -1 on error (message names the chunk file).
 * Safe to call from several threads on the same array.
 */
int em_zarr_read_chunk(struct em_zarr *a, const uint64_t *cidx, void *out);
/* 1 if the chunk file exists and is whole (verify: it decodes), 0 if not, -1 on error. */
int em_zarr_chunk_present(struct em_zarr *a, const uint64_t *cidx, int verify);
/*
 * Sharded arrays: 1 if shard sidx is in the store and its index is whole
 * (crc32c checked; verify: every chunk it lists decodes), 0 if not (missing,
 * cut short, damaged), -1 on error.
 */
int em_zarr_shard_present(struct em_zarr *a, const uint64_t *sidx, int verify);
/*
 * Read the box start[i] .. start[i]+count[i] (inside the array) into out,
 * C order, little-endian, packed (prod(count) * itemsize bytes).
 */
int em_zarr_read_box(struct em_zarr *a, const uint64_t *start, const uint64_t *count,
    void *out);
/* The planes z0 .. z0+nz (all of the other dimensions) into out. */
int em_zarr_read_slab(struct em_zarr *a, uint64_t z0, uint64_t nz, void *out);

/*
 * Stream the whole array once in C order with bounded memory.  `threads`
 * worker threads (0 = none) decode the chunks of the next chunk row
 * (chunks[0] planes) while the caller works; the caller's thread helps
 * when it would otherwise wait.  Each call hands out a run of whole planes
 * of at most 4 MiB (at least one plane), gathered from the decoded row into
 * one of two small buffers in turn, so the caller's hashing and statistics
 * of it run from cache, and a slab may still be read (on another thread)
 * while the next is gathered.  Memory: em_zarr_iter_memory() (two chunk
 * rows with threads, one without).
 *
 *	it = em_zarr_iter_new(a, 2);
 *	while ((r = em_zarr_iter_next(it, &p, &len, &z0, &nz)) == 1)
 *		EVP_DigestUpdate(md, p, len);	// p valid until the call after next
 *	if (r < 0) ... em_errmsg() ...
 *	em_zarr_iter_free(it);
 */
struct em_zarr_iter;
struct em_zarr_iter *em_zarr_iter_new(struct em_zarr *a, int threads);
/*
 * 1 with the next slab (borrowed, valid until the call after next) of *len bytes
 * holding planes *z0 .. *z0+*nz; 0 at the end; -1 on error.
 */
int em_zarr_iter_next(struct em_zarr_iter *it, const void **data, size_t *len, uint64_t *z0,
    uint64_t *nz);
/* Chunks found missing (read as fill value) so far. */
uint64_t em_zarr_iter_missing(const struct em_zarr_iter *it);
void em_zarr_iter_free(struct em_zarr_iter *it);
/* Bytes the iterator holds at most for this array and thread count. */
uint64_t em_zarr_iter_memory(const struct em_zarr_meta *m, int threads);

/*
 * Copy the box count[] at src_off[] of a C-order array of shape src_shape
 * to dst_off[] of one of shape dst_shape (n dimensions, itemsize bytes per
 * element).  Used by the reader and the writer; exposed for tests.
 */
void em_zarr_copy_box(int n, size_t itemsize, void *dst, const uint64_t *dst_shape,
    const uint64_t *dst_off, const void *src, const uint64_t *src_shape,
    const uint64_t *src_off, const uint64_t *count);
/* Fill n elements of itemsize bytes with the element pattern elem. */
void em_zarr_fill(void *dst, size_t n, size_t itemsize, const unsigned char *elem);

#endif
