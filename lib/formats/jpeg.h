/* jpeg.h - JPEG images decoded with libjpeg-turbo, as Neuroglancer precomputed stores its image chunks */
#ifndef EM_JPEG_H
#define EM_JPEG_H

#include <stddef.h>

/*
 * Decode a baseline or progressive JPEG (p, n bytes) of exactly width x
 * height pixels with `channels` components (1: grayscale; 3: RGB) into out
 * (width * height * channels bytes, rows top to bottom, components
 * interleaved).  0, or -1 with the reason: not a JPEG, cut short, other
 * dimensions or components than expected.
 */
int em_jpeg_decode(const void *p, size_t n, size_t width, size_t height, int channels,
    unsigned char *out);

#endif
