/* parse.h - checked parsers for numbers, sizes and comma lists from the command line or files */
#ifndef EM_PARSE_H
#define EM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Each returns 0, or -1 with the error text set, on empty input, trailing
 * junk, a sign where none is allowed, or overflow.  Nothing is stored on
 * failure.
 */
int em_parse_u64(const char *s, uint64_t *out);
int em_parse_i64(const char *s, int64_t *out);
/* An int in [min, max]. */
int em_parse_int(const char *s, int min, int max, int *out);
/* A finite double. */
int em_parse_double(const char *s, double *out);
/*
 * A byte size: a number with an optional binary suffix K, M, G, T
 * (optionally followed by "B" or "iB"): "64M" = 64 MiB, "2G", "1024".
 */
int em_parse_size(const char *s, uint64_t *out);
/*
 * A list of exactly n unsigned integers separated by commas ("64,64,64"),
 * each in [min, max].
 */
int em_parse_u64_list(const char *s, uint64_t *out, size_t n, uint64_t min, uint64_t max);
/*
 * A list of exactly n half-open ranges START:END separated by commas
 * ("0:64,10:20,5:6"), each with START < END <= max: lo and hi set.
 */
int em_parse_range_list(const char *s, uint64_t *lo, uint64_t *hi, size_t n, uint64_t max);
/* Format a byte count for people: "1.5 GiB", "512 B" (into buf of size n). */
const char *em_format_size(uint64_t bytes, char *buf, size_t n);

#endif
