/* dm.h - Gatan DigitalMicrograph DM3/DM4 tag files: the limits and the plane reader behind image.h */
#ifndef EM_DM_H
#define EM_DM_H

#include "dtype.h"
#include "image.h"

/*
 * Limits on what a tag file may make the reader do.  Real files from GMS 1
 * to 3 stay far below each; a corrupt or hostile header that passes one
 * fails with the limit named, before anything is allocated from it.
 */
/* Tag groups nest ~12 deep in GMS files; the walk recurses once per level. */
#define EM_DM_MAX_DEPTH 64
/* Entries in the whole tree (GMS files hold a few thousand). */
#define EM_DM_MAX_TAGS 1000000
/* Words of one tag's type description: a struct of 64 fields needs 131. */
#define EM_DM_MAX_INFO 1024
/* Images in ImageList (thumbnail + data + a few more in practice). */
#define EM_DM_MAX_IMAGES 256
/* Dimensions the reader takes; a 5-D image is refused with its count. */
#define EM_DM_MAX_DIMS 4
/* A tag value read to keep as metadata; longer values are skipped. */
#define EM_DM_MAX_VALUE_BYTES 16384
/* Tags kept in source_metadata.tags for the data image. */
#define EM_DM_MAX_META_TAGS 1024
/* Bytes of a tag label kept (labels longer than this are cut in keys). */
#define EM_DM_MAX_LABEL 128

/* ImageData/DataType code: its numeric type, EM_DT_NONE when not storable. */
enum em_dtype em_dm_dtype(int datatype);
/* "int16", "float32", "complex64", "RGB", "RGBA", "bool", ... or "unknown". */
const char *em_dm_type_name(int datatype);

/* Open a DM3 or DM4 file (see em_img_open). */
int em_dm_open(const char *path, struct em_img **out);

#endif
