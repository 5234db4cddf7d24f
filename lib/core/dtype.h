/* dtype.h - the element types a volume can have, with their Zarr and numpy names */
#ifndef EM_DTYPE_H
#define EM_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* Numeric element types the store keeps (little-endian on disk). */
enum em_dtype {
	EM_DT_NONE = 0,
	EM_DT_U1, EM_DT_I1, EM_DT_U2, EM_DT_I2, EM_DT_U4, EM_DT_I4,
	EM_DT_U8, EM_DT_I8, EM_DT_F4, EM_DT_F8,
	EM_DT_F2,		/* IEEE 754 binary16 (MRC mode 12): kept, never widened */
	EM_DT_COUNT
};

/* Bytes per element; 0 for EM_DT_NONE. */
size_t em_dtype_size(enum em_dtype t);
/* numpy name as used in records: "uint8", "int16", "float32", ... */
const char *em_dtype_name(enum em_dtype t);
/* Zarr v2 little-endian typestr: "|u1", "<i2", "<f4", ... */
const char *em_dtype_zarr(enum em_dtype t);
/* Zarr v3 data_type name: "uint8", "int16", "float32", ... (same as numpy) */
#define em_dtype_zarr3(t) em_dtype_name(t)
int em_dtype_is_float(enum em_dtype t);
int em_dtype_is_signed(enum em_dtype t);
/* From a numpy/Zarr v3 name ("uint16"); EM_DT_NONE if unknown. */
enum em_dtype em_dtype_from_name(const char *name);
/*
 * From a Zarr v2 typestr ("<u2", ">f4", "|u1", "u1"); *big_endian tells
 * the byte order.  EM_DT_NONE if unknown or not a plain number.
 */
enum em_dtype em_dtype_from_zarr(const char *typestr, int *big_endian);
/* IEEE 754 binary16 to binary32 (exact: every half is a float). */
float em_half_to_float(uint16_t h);
/* The nearest binary16 (ties to even; past the largest, infinity; NaN stays NaN). */
uint16_t em_half_from_double(double v);
/* Swap the bytes of n elements of size sz in place (to little-endian). */
void em_swap_bytes(void *p, size_t n, size_t sz);

#endif
