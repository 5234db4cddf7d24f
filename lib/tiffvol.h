/* tiffvol.h - TIFF, BigTIFF, OME-TIFF and ImageJ stacks as volumes (through libtiff) behind image.h */
#ifndef EM_TIFFVOL_H
#define EM_TIFFVOL_H

#include "em_limits.h"

#include "image.h"

/* Open a TIFF/BigTIFF/OME-TIFF file (see em_img_open); opts may be NULL. */
int em_tiffvol_open(const char *path, const struct em_img_opts *opts, struct em_img **out);

#endif
