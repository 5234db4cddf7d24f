/* tar.h - POSIX ustar headers for archives written byte-identically on every run */
#ifndef EM_TAR_H
#define EM_TAR_H

#include <stddef.h>
#include <stdint.h>

#define EM_TAR_BLOCK 512
/* The end of an archive: two zero blocks. */
#define EM_TAR_END (2 * EM_TAR_BLOCK)
/* A member name must fit the header's name field (no prefix split: names stay simple). */
#define EM_TAR_NAME_MAX 99
/* The size field holds 11 octal digits. */
#define EM_TAR_SIZE_MAX (((uint64_t)1 << 33) - 1)

/*
 * The header of a regular file: name (1..EM_TAR_NAME_MAX bytes), size,
 * mode 0644, uid and gid 0, empty user and group names, the given mtime,
 * magic "ustar" version "00", and its checksum.  Nothing else (no time of
 * the run, no user) goes into it, so the same members give the same bytes.
 * -1 when the name is empty or too long, or the size or mtime do not fit.
 */
int em_tar_header(unsigned char hdr[EM_TAR_BLOCK], const char *name, uint64_t size,
    uint64_t mtime);
/* The zero bytes that follow len data bytes to the next block (0..511). */
size_t em_tar_pad(uint64_t len);
/* The bytes a member of len data bytes takes: header, data, padding. */
uint64_t em_tar_member_bytes(uint64_t len);

#endif
