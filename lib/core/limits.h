/* limits.h - every bound on what the suite reads from outside (files, servers, configuration), with its reason */
#ifndef EM_LIMITS_H
#define EM_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Users point the tools at files and servers they do not control.  Every
 * count, size, depth and length taken from such input is checked against
 * one of these before it is used to allocate, recurse or loop; past one the
 * input is refused with an error naming the limit, never read further.
 * Each value is far above what real data needs, so only corrupt or hostile
 * input meets it.  The module headers include this file; the names are the
 * ones the modules have always used.
 *
 * (Not named limits.h: GCC's own <limits.h> would find it through -Ilib.)
 */

/* ---- paths (safepath.h) ---- */
/* One path component: NAME_MAX of Linux filesystems. */
#define EM_NAME_MAX 255
/* A relative path taken from metadata (an OME-Zarr dataset path). */
#define EM_RELPATH_MAX 1024
/* Paths a fetcher builds under its output root (PATH_MAX). */
#define EM_FETCH_PATH_MAX 4096

/* ---- images (image.h) ---- */
/*
 * A plane is handed to the caller whole, so its size is the one memory cost
 * a reader cannot bound by itself.  Past this (e.g. a 32768 x 32768 float64
 * plane) the file is refused rather than allocated.
 */
#define EM_IMG_MAX_PLANE_BYTES ((uint64_t)2 << 30)
/* Any one dimension: more than this is a corrupt header, not an EM image. */
#define EM_IMG_MAX_DIM ((uint64_t)1 << 31)

/* ---- DM3/DM4 (dm.h) ---- */
/* Tag groups nest ~12 deep in GMS files; the walk recurses once per level. */
#define EM_DM_MAX_DEPTH 64
/* Entries in the whole tree (GMS files hold a few thousand). */
#define EM_DM_MAX_TAGS 1000000
/* Words of one tag's type description: a struct of 64 fields needs 131. */
#define EM_DM_MAX_INFO 1024
/* Nesting of arrays and structs inside one type description (recursion). */
#define EM_DM_MAX_TYPE_DEPTH 8
/* Images in ImageList (thumbnail + data + a few more in practice). */
#define EM_DM_MAX_IMAGES 256
/* Dimensions the reader takes; a 5-D image is refused with its count. */
#define EM_DM_MAX_DIMS 4
/* A tag value read to keep as metadata; longer values are skipped. */
#define EM_DM_MAX_VALUE_BYTES 16384
/* Tags kept in source_metadata.tags for the data image. */
#define EM_DM_MAX_META_TAGS 1024
/* Bytes of a tag label kept (labels longer than this are cut in keys). */
#define EM_DM_MAX_LABEL 128

/* ---- MRC/CCP4 (mrc.h) ---- */
/*
 * A map whose columns run along Z (MAPC = 3) gives each Z plane one value
 * per row of every section, so each plane read passes over the whole map.
 * Up to this many data bytes that is cheap enough; past it the file is
 * refused with the reason rather than read at a quadratic cost.
 */
#define EM_MRC_PERMUTE_MAX_BYTES ((uint64_t)1 << 30)

/* ---- TIFF (formats/tiff.h) ---- */
/* IFDs (pages) a file may have: a stack of a million planes is far past any EM volume. */
#define EM_TIFF_MAX_PAGES (1u << 20)
/* OME-XML or ImageJ text in ImageDescription read at most this long. */
#define EM_TIFF_MAX_DESCRIPTION ((size_t)64 << 20)
/*
 * One strip or tile is decoded whole.  A plane bounds strips; tiles can
 * overhang it, so their size has a limit of its own.
 */
#define EM_TIFF_MAX_TILE_BYTES ((uint64_t)256 << 20)

/* ---- Zarr (zarr.h) ---- */
/* Dimensions of an array: OME-NGFF has at most 5; the fixed arrays of the reader hold 8. */
#define EM_ZARR_MAXDIM 8
/* A chunk larger than this (decoded) is refused: it bounds every buffer. */
#define EM_ZARR_MAX_CHUNK_BYTES ((size_t)1 << 31)
/* .zarray / .zattrs text: real ones are a few kB (OME-NGFF with many datasets). */
#define EM_ZARR_MAX_META_BYTES (1 << 20)
/*
 * Elements of one array, and chunks of its grid.  Metadata read from a
 * server is believed only this far: an array past them is refused before
 * anything is fetched or written, since a fetcher would otherwise write
 * fill chunks for it until the disk is full.  The largest EM volumes are
 * far below: the hemibrain at 8 nm is 34,431 x 39,743 x 41,407 voxels,
 * 5.7e13 (2^45.7) elements, 2.2e8 chunks of 64^3 (1.7e9 of 32^3).
 */
#define EM_ZARR_MAX_ELEMENTS ((uint64_t)1 << 50)
#define EM_ZARR_MAX_CHUNKS ((uint64_t)1 << 32)

/* ---- remote arrays: Zarr v2/v3, N5 over HTTP (remote.h) ---- */
/* Metadata documents are small; a larger one is not metadata. */
#define EM_REMOTE_MAX_META_BYTES ((size_t)16 << 20)
/* Bytes-to-bytes codecs in one chain, at most. */
#define EM_REMOTE_MAX_B2B 4
/* Inner chunks of one shard, at most (its index is 16 bytes each: 64 MiB). */
#define EM_REMOTE_MAX_SHARD_ENTRIES ((uint64_t)1 << 22)

/* ---- archives' APIs and file lists (filefetch.h, fetch-*) ---- */
/* Files one volume is made of: a series of 100000 planes is past any EM volume. */
#define EM_FILELIST_MAX 100000
/* An EMPIAR entry's API JSON: a few kB in practice. */
#define EM_EMPIAR_MAX_API_BYTES ((size_t)8 << 20)
/* Directory levels an EMPIAR image set is searched below its top directory. */
#define EM_EMPIAR_MAX_LIST_DEPTH 4
/* Image sets of one EMPIAR entry (the largest have a few dozen). */
#define EM_EMPIAR_MAX_SETS 64
/* Authors of one EMPIAR citation kept (consortium papers list a few thousand). */
#define EM_EMPIAR_MAX_AUTHORS 10000
/* An IDR imgData JSON document: a few kB in practice. */
#define EM_IDR_MAX_IMGDATA_BYTES ((size_t)1 << 20)
/* The largest box one DVID request may ask for (DVID answers bigger ones slowly or not at all). */
#define EM_DVID_MAX_REQUEST_VOXELS ((uint64_t)1 << 30)
/* A DVID /info document: a few kB in practice. */
#define EM_DVID_MAX_INFO_BYTES ((size_t)1 << 20)
/* DVID's coordinates are int32 (dvid.Point3d): an extent past them is not DVID's. */
#define EM_DVID_MAX_COORD ((int64_t)INT32_MAX)

/* ---- configuration (config.h) ---- */
/*
 * A configuration is written by people; anything past these is a mistake
 * or hostile, and is refused with the reason rather than read.
 */
#define EM_CONFIG_MAX_BYTES (1u << 20)	/* size of one file */
#define EM_CONFIG_MAX_DEPTH 32		/* nested mappings and sequences */
#define EM_CONFIG_MAX_NODES 100000	/* scalars, mappings and sequences */
#define EM_CONFIG_MAX_SCALAR (64u << 10)	/* one scalar after interpolation */

/* ---- records and catalogs (record.h, catalog.h) ---- */
/* A record file larger than this is refused when loading. */
#define EM_RECORD_MAX_BYTES (64u << 20)
/* Earlier runs kept in previous_runs (the oldest are dropped). */
#define EM_RECORD_MAX_RUNS 20
/* Transitions kept in status_history: a run has at most 4, so this is a guard. */
#define EM_RECORD_MAX_HISTORY 1000
/* Texts larger than this are refused (the record's own limit). */
#define EM_CATALOG_MAX_TEXT ((size_t)64 << 20)
/* Directory trees are searched this deep at most. */
#define EM_CATALOG_MAX_DEPTH 64
/* Schema errors kept per text; the rest are counted. */
#define EM_CATALOG_MAX_ERRORS 50
/* Entries of one directory searched: a million files in one directory is not a catalog. */
#define EM_CATALOG_MAX_DIR_ENTRIES 1000000
/* The processing log kept in memory: one line per input, so 64 MiB is ~500k inputs. */
#define EM_CATALOG_MAX_LOG ((size_t)64 << 20)

/* ---- JSON Schema (jschema_internal.h) ---- */
/*
 * Evaluation nests one C call per schema applied; a schema that refers to
 * itself through properties or items on a deep document must stop with an
 * error well before the stack does (ASan frames are large).
 */
#define JS_MAX_EVAL_DEPTH 400
/* Nesting of subschemas inside the schema text (the compiler recurses). */
#define JS_MAX_SCHEMA_DEPTH 200
/* PCRE2 backtracking steps per match: a pattern/value pair past it is an error, not a hang. */
#define EM_JSCHEMA_REGEX_MATCH_LIMIT 1000000

/* ---- the block fetchers (tool/blockfetch.h) ---- */
/*
 * Missing blocks held back, not yet filled, while no block of the box has
 * been found (so that a box where nothing is found writes nothing): past
 * this many (6 MiB of them) they are filled after all.
 */
#define EM_BLOCKFETCH_MAX_DEFERRED 65536

/* ---- the store's chunk journal (store/journal.h) ---- */
/*
 * Chunks of one array a writer keeps track of (4 bytes each in memory): 2^26
 * is 17 TB of uint8 at 64^3 chunks, 256 MB of memory.  Larger volumes use
 * larger chunks or shards.
 */
#define EM_JOURNAL_MAX_CHUNKS ((uint64_t)1 << 26)

/* ---- remote listings and HTTP (listing.h, http.h) ---- */
/* No listing may hold more entries than this (a hostile one is refused). */
#define EM_LISTING_MAX 1000000
/* An index page or LIST reply larger than this is refused before parsing. */
#define EM_LISTING_MAX_BODY (64u << 20)
/* Redirects followed for one request: a loop stops here. */
#define EM_HTTP_MAX_REDIRS 10
/*
 * One downloaded file, when neither the configuration nor the server's
 * Content-Length says how large it is (--max-download changes it).  The
 * largest single files of the archives are tens of GiB (EMPIAR MRC stacks,
 * EPFL's 3.3 GB TIFF); an endless chunked body or a lying Content-Length of
 * 2^40 must stop long before the disk fills.
 */
#define EM_HTTP_MAX_DOWNLOAD ((uint64_t)256 << 30)
/*
 * The shortest wait before a retry, whatever the configuration says: with
 * none, a server that fails at once is asked thousands of times a minute.
 */
#define EM_HTTP_MIN_BACKOFF_MS 10
/* An error page (404, 503, ...) read and dropped: past this the connection is closed. */
#define EM_HTTP_MAX_ERROR_BODY ((uint64_t)1 << 20)

#endif
