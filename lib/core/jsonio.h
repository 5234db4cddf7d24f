/* jsonio.h - read a stream of JSON texts (one document or JSON Lines) and write records one per line */
#ifndef EM_JSONIO_H
#define EM_JSONIO_H

#include <stdio.h>

#include <jansson.h>

/*
 * Reads JSON texts separated by optional whitespace, as jq does: a single
 * pretty-printed document, JSON Lines, or several values on one line.  Any
 * JSON value is a text ("abc", 3, {...}).  Each text is handed out as soon
 * as it is complete, so a reader at the end of a pipe sees records while
 * the producer is still running.  One text may be at most max_text bytes.
 */
struct em_json_reader;

/* fd is borrowed; name is used in messages ("-" or "<stdin>" for stdin). */
struct em_json_reader *em_json_reader_new(int fd, const char *name, size_t max_text);
void em_json_reader_free(struct em_json_reader *r);
/*
 * 1 with *out set to a new reference, 0 at the end, -1 on a malformed text
 * or a read error (error text names the line and column).  After a
 * malformed text the reader cannot continue: the rest of the input has no
 * reliable boundary.
 */
int em_json_reader_next(struct em_json_reader *r, json_t **out);
/* 1-based number of the last text returned. */
unsigned long em_json_reader_count(const struct em_json_reader *r);

/*
 * Keep the bytes of each text as they were read, for a filter that passes
 * documents on without re-encoding them (numbers keep their spelling).
 * em_json_reader_text gives the last text returned (borrowed, until the
 * next call), NULL when keeping is off.
 */
void em_json_reader_keep_text(struct em_json_reader *r, int on);
const char *em_json_reader_text(const struct em_json_reader *r, size_t *len);

/* Load one JSON file (the whole file must be one text). */
json_t *em_json_load_file(const char *path, size_t max_bytes);
/*
 * One JSON document of len bytes from memory (an archive's answer) that
 * must be an object: a new reference, or NULL with the reason naming where
 * ("'URL': malformed JSON: ... (line 3)", "'URL': not a JSON object"; no
 * name when where is NULL).
 */
json_t *em_json_load_object(const char *text, size_t len, const char *where);
/*
 * A number an archive may give as a JSON number or as a numeric string
 * ("8.0", as some EMPIAR and IDR answers do): 1 with *out set to a finite
 * value, 0 for anything else (null, absent, "n/a", "inf").
 */
int em_json_num(const json_t *v, double *out);

/*
 * The one JSON writer: every JSON text the tools write (records, JSON
 * Lines on stdout, the catalog, a store's .zarray and .zattrs) is spelled
 * here, so that one value is always spelled one way.  Layout as jansson's
 * json_dumps lays it out; then
 *   - a real number in the fewest digits that read back as the same double
 *     (core/decimal.h: 0.1, not 0.10000000000000001; 8.0 stays 8.0);
 *   - U+2028 and U+2029 escaped as \u2028 and \u2029: JSON allows them raw,
 *     but common line readers (JavaScript's, Python's str.splitlines) break
 *     a JSON Lines record there, and a DM3 tag value may carry one.
 * flags: EM_JSON_LINE (no whitespace at all), or EM_JSON_INDENT(n) (a
 * newline and n spaces a level, ": " after keys); EM_JSON_SORTED sorts an
 * object's keys by bytes, else they keep their insertion order.  NaN and
 * the infinities fail: JSON has no spelling for them.
 */
#define EM_JSON_LINE 0
#define EM_JSON_INDENT(n) ((n) & 0x0f)
#define EM_JSON_SORTED 0x10
/* The text, NUL-terminated, *len (may be NULL) its length: the caller frees it.  NULL on error. */
char *em_json_text(const json_t *v, int flags, size_t *len);
/* One compact line, keys in insertion order, then '\n'. */
int em_json_write_line(FILE *fp, const json_t *v);
/* Indented text (2 spaces) for files people read, ending in '\n' (caller frees). */
char *em_json_dump_pretty(const json_t *v);

#endif
