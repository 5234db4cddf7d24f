/* cseg.c - Neuroglancer's compressed_segmentation encoding of uint32 and uint64 label chunks */
#include <inttypes.h>
#include <string.h>

#include "core/diag.h"
#include "formats/cseg.h"
#include "core/banned.h"

/* Word i (little-endian uint32) of the stream. */
static uint32_t
word(const unsigned char *p, uint64_t i)
{
	p += i * 4;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int
em_cseg_decode(const void *p, size_t n, int vbytes, uint64_t nchan, const uint64_t ext[3],
    const uint32_t block[3], const uint64_t stride[2], void *out)
{
	const unsigned char *s = p;
	uint64_t nw = n / 4, base, grid[3], g[3], vw = (uint64_t)vbytes / 4;
	int i;

	if (vbytes != 4 && vbytes != 8)
		return em_fail("compressed_segmentation of %d-byte values", vbytes);
	if (n % 4 != 0)
		return em_fail("compressed_segmentation stream of %zu bytes, not whole 32-bit words", n);
	if (nchan == 0 || nchan > nw)
		return em_fail("compressed_segmentation stream of %zu bytes is too short for %" PRIu64
		    " channel offsets", n, nchan);
	for (i = 0; i < 3; i++) {
		if (block[i] == 0)
			return em_fail("compressed_segmentation block size 0");
		grid[i] = (ext[i] + block[i] - 1) / block[i];
	}
	base = word(s, 0);
	if (base > nw || grid[0] * grid[1] * grid[2] * 2 > nw - base)
		return em_fail("compressed_segmentation channel at word %" PRIu64 " leaves no room "
		    "for its %" PRIu64 " block headers in %" PRIu64 " words", base,
		    grid[0] * grid[1] * grid[2], nw);
	for (g[2] = 0; g[2] < grid[2]; g[2]++)
		for (g[1] = 0; g[1] < grid[1]; g[1]++)
			for (g[0] = 0; g[0] < grid[0]; g[0]++) {
				uint64_t h = base + 2 * (g[0] + grid[0] * (g[1] + grid[1] * g[2]));
				uint32_t h0 = word(s, h), h1 = word(s, h + 1);
				uint64_t table = base + (h0 & 0xffffff), vals = base + h1;
				unsigned bits = h0 >> 24;
				uint64_t lo[3], hi[3], nvox = (uint64_t)block[0] * block[1] * block[2];
				uint64_t ntable, x, y, z;

				if (bits != 0 && bits != 1 && bits != 2 && bits != 4 && bits != 8 &&
				    bits != 16 && bits != 32)
					return em_fail("compressed_segmentation block %" PRIu64 ",%"
					    PRIu64 ",%" PRIu64 ": %u encoded bits", g[0], g[1], g[2],
					    bits);
				if (table >= nw || vals > nw ||
				    (nvox * bits + 31) / 32 > nw - vals)
					return em_fail("compressed_segmentation block %" PRIu64 ",%"
					    PRIu64 ",%" PRIu64 " points past the stream's %" PRIu64
					    " words", g[0], g[1], g[2], nw);
				/* The table runs to the end of the stream at most; indexes are checked against it. */
				ntable = (nw - table) / vw;
				if (ntable == 0)
					return em_fail("compressed_segmentation block %" PRIu64 ",%"
					    PRIu64 ",%" PRIu64 " has no lookup table", g[0], g[1],
					    g[2]);
				for (i = 0; i < 3; i++) {
					lo[i] = g[i] * block[i];
					hi[i] = lo[i] + block[i] < ext[i] ? lo[i] + block[i] : ext[i];
				}
				for (z = lo[2]; z < hi[2]; z++)
					for (y = lo[1]; y < hi[1]; y++)
						for (x = lo[0]; x < hi[0]; x++) {
							uint64_t k = (x - lo[0]) + block[0] * ((y - lo[1]) +
							    (uint64_t)block[1] * (z - lo[2]));
							uint64_t idx = 0, o;

							if (bits > 0) {
								uint64_t bit = k * bits;
								idx = (word(s, vals + bit / 32) >>
								    (bit % 32)) & (bits == 32 ?
								    0xffffffffu : ((1u << bits) - 1));
							}
							if (idx >= ntable)
								return em_fail("compressed_segmentation "
								    "block %" PRIu64 ",%" PRIu64 ",%"
								    PRIu64 ": index %" PRIu64 " past "
								    "its table", g[0], g[1], g[2],
								    idx);
							o = (x + stride[0] * (y + stride[1] * z)) *
							    (uint64_t)vbytes;
							memcpy((unsigned char *)out + o,
							    s + (table + idx * vw) * 4, (size_t)vbytes);
						}
			}
	return 0;
}
