/* tiff.h - TIFF, BigTIFF, OME-TIFF and ImageJ stacks as volumes (through libtiff) behind image.h */
#ifndef EM_TIFF_H
#define EM_TIFF_H

#include "core/limits.h"

#include "formats/image.h"

/* Open a TIFF/BigTIFF/OME-TIFF file (see em_img_open); opts may be NULL. */
int em_tiffvol_open(const char *path, const struct em_img_opts *opts, struct em_img **out);

#endif
