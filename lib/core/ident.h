/* ident.h - the one volume id rule: what an id may be, and the id a file name gives */
#ifndef EM_IDENT_H
#define EM_IDENT_H

#include <stddef.h>

/* The longest id: it names <id>.zarr and <id>.json under one directory. */
#define EM_ID_MAX 128

/*
 * An id is one safe path component that is neither hidden nor an option:
 * [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
 */
int em_id_ok(const char *id);

/*
 * The id of a volume read from a file named name (no directory): the name
 * without its image extension (".tif", ".ome.tiff", ".dm3", ".mrc", ".gz"
 * ... in any case), each character the rule refuses replaced by '_', then
 * the leading characters an id may not start with ('.', '_', '-') dropped:
 * "F57-8_slice_0000.dm3" gives "F57-8_slice_0000", ".hidden.mrc" "hidden",
 * "_a.tif" "a", "x y.map" "x_y".  What it gives always passes em_id_ok.
 * -1 (error set) when nothing usable is left ("...", "_.tif") or the id
 * would be longer than EM_ID_MAX or n - 1.
 */
int em_id_from_name(const char *name, char *out, size_t n);

#endif
