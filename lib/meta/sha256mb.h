/* sha256mb.h - SHA-256 of up to 16 messages of one length at once, one per AVX-512 lane */
#ifndef EM_SHA256MB_H
#define EM_SHA256MB_H

#include <stddef.h>

/*
 * Fewer messages than this go through libcrypto one by one (em_sha256_hex):
 * the sixteen lanes cost about eight SHA-NI digests, however many are used.
 */
#define EM_SHA256MB_MIN 8

/*
 * hex[i] = the SHA-256 of msg[i][0..len) for i < n (n <= 16), as
 * em_sha256_hex gives it: 16 lanes on a CPU with AVX-512 (F and BW) where
 * they beat libcrypto (timed once per process), libcrypto one message
 * after another elsewhere.  Thread-safe.  -1 (error set) only when
 * libcrypto fails.
 */
int em_sha256mb_hex(const void *const *msg, int n, size_t len, char (*hex)[65]);
/* 16 where the lanes run on AVX-512 and win, else 1: how many messages are worth gathering. */
int em_sha256mb_lanes(void);
/*
 * 1 (default): the lanes where the CPU has AVX-512 and they are the faster;
 * 2: wherever the CPU has AVX-512; 0: always libcrypto (tests compare 2 and 0).
 */
extern int em_sha256mb_native;

#endif
