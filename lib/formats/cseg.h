/* cseg.h - Neuroglancer's compressed_segmentation encoding of uint32 and uint64 label chunks */
#ifndef EM_CSEG_H
#define EM_CSEG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode one channel-0 chunk of ext voxels (x,y,z) in blocks of block
 * voxels (x,y,z) from p (n bytes), values of vbytes bytes (4 or 8,
 * little-endian), into out: z,y,x C order in a buffer whose rows are
 * stride[0] voxels long and whose planes are stride[1] rows (the chunk's
 * full shape, so that an edge chunk lands in the corner of a whole one).
 * nchan is the number of channels the stream holds; only the first is
 * read.  0, or -1 with the reason: a header, lookup table or value offset
 * outside the stream, an encoded bit width other than 0, 1, 2, 4, 8, 16,
 * 32, or an index past the end of its lookup table.
 */
int em_cseg_decode(const void *p, size_t n, int vbytes, uint64_t nchan, const uint64_t ext[3],
    const uint32_t block[3], const uint64_t stride[2], void *out);

#endif
