/* tar.c - POSIX ustar headers (POSIX.1-2001 pax "ustar" format) with nothing that varies by run */
#include <string.h>

#include "core/diag.h"
#include "core/tar.h"
#include "core/banned.h"

/* Write v as n-1 octal digits, zero-padded, then a NUL: the form every tar reader takes. */
static int
octal(unsigned char *field, size_t n, uint64_t v)
{
	size_t i = n - 1;

	field[i] = '\0';
	while (i > 0) {
		field[--i] = (unsigned char)('0' + (v & 7));
		v >>= 3;
	}
	return v == 0 ? 0 : -1;
}

int
em_tar_header(unsigned char hdr[EM_TAR_BLOCK], const char *name, uint64_t size, uint64_t mtime)
{
	size_t len = strlen(name), i;
	unsigned sum = 0;

	memset(hdr, 0, EM_TAR_BLOCK);
	if (len == 0 || len > EM_TAR_NAME_MAX)
		return em_fail("tar member name '%s' is empty or longer than %d bytes", name,
		    EM_TAR_NAME_MAX);
	if (size > EM_TAR_SIZE_MAX)
		return em_fail("tar member '%s' is larger than a ustar header can say", name);
	memcpy(hdr, name, len);				/* name[100] */
	octal(hdr + 100, 8, 0644);			/* mode */
	octal(hdr + 108, 8, 0);				/* uid */
	octal(hdr + 116, 8, 0);				/* gid */
	octal(hdr + 124, 12, size);			/* size */
	if (octal(hdr + 136, 12, mtime) < 0)		/* mtime */
		return em_fail("tar mtime %llu does not fit a ustar header",
		    (unsigned long long)mtime);
	hdr[156] = '0';					/* typeflag: regular file */
	memcpy(hdr + 257, "ustar", 6);			/* magic, NUL-terminated */
	memcpy(hdr + 263, "00", 2);			/* version */
	/* devmajor, devminor: left empty for a regular file, as Python's tarfile leaves them. */
	/* The checksum is summed with its own field as eight spaces. */
	memset(hdr + 148, ' ', 8);
	for (i = 0; i < EM_TAR_BLOCK; i++)
		sum += hdr[i];
	octal(hdr + 148, 7, sum);			/* six digits, NUL, then the space */
	hdr[155] = ' ';
	return 0;
}

size_t
em_tar_pad(uint64_t len)
{
	return (size_t)((EM_TAR_BLOCK - len % EM_TAR_BLOCK) % EM_TAR_BLOCK);
}

uint64_t
em_tar_member_bytes(uint64_t len)
{
	return EM_TAR_BLOCK + len + em_tar_pad(len);
}
