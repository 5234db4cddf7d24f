/* npy.c - .npy v1.0 headers as numpy.lib.format writes them (NEP 1; numpy 1.24's padding) */
#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "formats/npy.h"
#include "core/banned.h"

/* numpy's GROWTH_AXIS_MAX_DIGITS: room for the first axis to be rewritten longer in place. */
#define GROWTH_DIGITS 21
#define ALIGN 64
#define PREFIX 10	/* magic (6), version (2), header length (2) */

int
em_npy_header(char *buf, size_t n, enum em_dtype dtype, int ndim, const uint64_t *shape)
{
	char dict[EM_NPY_HEADER_MAX], first[32];
	size_t len, pad, total, hlen;
	const char *descr = em_dtype_zarr(dtype);
	int i, k;

	if (descr == NULL || dtype == EM_DT_NONE)
		return em_fail("no .npy type for this dtype");
	if (ndim < 1 || ndim > 8)
		return em_fail("a .npy array of %d dimensions is not written here", ndim);
	/* Python's repr of the dict, keys sorted; a 1-tuple keeps its comma: (5,). */
	k = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (",
	    descr);
	len = (size_t)k;
	for (i = 0; i < ndim; i++) {
		k = snprintf(dict + len, sizeof(dict) - len, "%s%llu", i ? ", " : "",
		    (unsigned long long)shape[i]);
		if (k < 0 || (size_t)k >= sizeof(dict) - len)
			return em_fail(".npy header too long");
		len += (size_t)k;
	}
	k = snprintf(dict + len, sizeof(dict) - len, "%s), }", ndim == 1 ? "," : "");
	if (k < 0 || (size_t)k >= sizeof(dict) - len)
		return em_fail(".npy header too long");
	len += (size_t)k;
	snprintf(first, sizeof(first), "%llu", (unsigned long long)shape[0]);
	pad = GROWTH_DIGITS - strlen(first);
	/* Then spaces so that the data starts at a multiple of 64, and the newline. */
	hlen = len + pad + 1;
	pad += ALIGN - (PREFIX + hlen) % ALIGN;	/* 1..64: numpy never pads by 0 */
	hlen = len + pad + 1;
	total = PREFIX + hlen;
	if (total > n || hlen > 65535)
		return em_fail(".npy header of %zu bytes does not fit", total);
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)(hlen & 0xff);
	buf[9] = (char)(hlen >> 8);
	memcpy(buf + PREFIX, dict, len);
	memset(buf + PREFIX + len, ' ', pad);
	buf[total - 1] = '\n';
	return (int)total;
}
