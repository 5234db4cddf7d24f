/* shard.h - the index of a Zarr v3 sharding_indexed shard: (offset, nbytes) per inner chunk, crc32c */
#ifndef EM_SHARD_H
#define EM_SHARD_H

#include <stddef.h>
#include <stdint.h>

/*
 * The index is an array of n (offset, nbytes) pairs of little-endian
 * uint64, one per inner chunk of the shard in C order, followed by the
 * crc32c of those 16 * n bytes when the index codecs end in crc32c.  An
 * inner chunk that is not stored has both set to 2^64 - 1 (the reader then
 * gives the fill value).  The writer puts the index at the end of the
 * file; index_location "start" is read too.
 */
#define EM_SHARD_MISSING UINT64_MAX

struct em_shard_entry {
	uint64_t offset;	/* from the start of the shard file */
	uint64_t nbytes;
};

/* Bytes of the encoded index of n inner chunks (with or without its crc32c). */
size_t em_shard_index_bytes(uint64_t n, int crc);
/* Encode n entries into out (em_shard_index_bytes(n, crc) bytes). */
void em_shard_index_encode(const struct em_shard_entry *e, uint64_t n, int crc,
    unsigned char *out);
/*
 * Decode the index of n inner chunks (len bytes at p, len must be
 * em_shard_index_bytes(n, crc)) of a shard file of file_bytes bytes whose
 * index occupies [index_off, index_off + len).  Each stored chunk must lie
 * in the file outside the index.  -1 naming what is wrong (crc32c
 * mismatch, a chunk beyond the end); the caller names the file.
 */
int em_shard_index_decode(const unsigned char *p, size_t len, uint64_t n, int crc,
    uint64_t file_bytes, uint64_t index_off, struct em_shard_entry *out);

#endif
