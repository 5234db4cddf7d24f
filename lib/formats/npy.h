/* npy.h - the numpy .npy format, version 1.0: the header of a C-order little-endian array */
#ifndef EM_NPY_H
#define EM_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

/* numpy aligns the data to 64 bytes; a header is at most this long (v1.0 says 65535). */
#define EM_NPY_HEADER_MAX 4096

/*
 * The header numpy.save writes for an array of dtype and shape (ndim 1..8,
 * C order, little-endian): the magic "\x93NUMPY", version 1.0, the header
 * length, the dictionary {'descr', 'fortran_order': False, 'shape'} padded
 * with spaces to a multiple of 64 bytes and a newline - byte for byte what
 * numpy 1.24 writes (it leaves room for the first axis to grow).  Returns
 * the header's length, written into buf (n bytes), or -1 when it does not
 * fit or the dtype has no .npy spelling.
 */
int em_npy_header(char *buf, size_t n, enum em_dtype dtype, int ndim, const uint64_t *shape);

#endif
