/* digest.h - SHA-256 of array bytes through OpenSSL's libcrypto (SHA-NI where the CPU has it) */
#ifndef EM_DIGEST_H
#define EM_DIGEST_H

#include <stddef.h>

struct em_sha256;

struct em_sha256 *em_sha256_new(void);
void em_sha256_free(struct em_sha256 *h);
int em_sha256_update(struct em_sha256 *h, const void *p, size_t n);
/* 64 lowercase hex digits and a NUL into hex; the context can then be freed. */
int em_sha256_final(struct em_sha256 *h, char hex[65]);
/* One-shot convenience. */
int em_sha256_hex(const void *p, size_t n, char hex[65]);

#endif
