/* tiffvol.h - TIFF, BigTIFF, OME-TIFF and ImageJ stacks as volumes (through libtiff) behind image.h */
#ifndef EM_TIFFVOL_H
#define EM_TIFFVOL_H

#include "image.h"

/* IFDs (pages) a file may have: a stack of a million planes is far past any EM volume. */
#define EM_TIFF_MAX_PAGES (1u << 20)
/* OME-XML or ImageJ text in ImageDescription read at most this long. */
#define EM_TIFF_MAX_DESCRIPTION ((size_t)64 << 20)
/*
 * One strip or tile is decoded whole.  A plane bounds strips; tiles can
 * overhang it, so their size has a limit of its own.
 */
#define EM_TIFF_MAX_TILE_BYTES ((uint64_t)256 << 20)

/* Open a TIFF/BigTIFF/OME-TIFF file (see em_img_open); opts may be NULL. */
int em_tiffvol_open(const char *path, const struct em_img_opts *opts, struct em_img **out);

#endif
