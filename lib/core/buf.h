/* buf.h - the one growable byte buffer, always created with a maximum size */
#ifndef EM_BUF_H
#define EM_BUF_H

#include <stddef.h>

#include "core/diag.h"

/*
 * A buffer never grows past max: hostile input cannot exhaust memory.  The
 * data is kept NUL-terminated (the terminator is not counted in len), so a
 * text buffer can be used as a C string.
 */
struct em_buf {
	char *data;	/* NULL until the first byte is added */
	size_t len;
	size_t cap;
	size_t max;
};

#define EM_BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes) }

void em_buf_init(struct em_buf *b, size_t max);
/* Make room for n more bytes; -1 (error text set) when past max or out of memory. */
int em_buf_grow(struct em_buf *b, size_t n);
int em_buf_add(struct em_buf *b, const void *p, size_t n);
int em_buf_addstr(struct em_buf *b, const char *s);
int em_buf_addch(struct em_buf *b, int c);
int em_buf_addf(struct em_buf *b, const char *fmt, ...) EM_PRINTF(2, 3);
/* Drop the first n bytes, keeping the rest. */
void em_buf_consume(struct em_buf *b, size_t n);
void em_buf_reset(struct em_buf *b);
/* Always a valid C string, "" when empty (borrowed). */
const char *em_buf_cstr(const struct em_buf *b);
/* Hand the data to the caller (who frees it); the buffer is left empty. */
char *em_buf_detach(struct em_buf *b, size_t *len);
void em_buf_release(struct em_buf *b);

#endif
