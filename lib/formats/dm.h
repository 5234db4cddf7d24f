/* dm.h - Gatan DigitalMicrograph DM3/DM4 tag files: the limits and the plane reader behind image.h */
#ifndef EM_DM_H
#define EM_DM_H

#include "core/limits.h"

#include "core/dtype.h"
#include "formats/image.h"

/*
 * Limits on what a tag file may make the reader do (EM_DM_MAX_*, in
 * limits.h).  Real files from GMS 1 to 3 stay far below each; a corrupt or
 * hostile header that passes one fails with the limit named, before
 * anything is allocated from it.
 */

/* ImageData/DataType code: its numeric type, EM_DT_NONE when not storable. */
enum em_dtype em_dm_dtype(int datatype);
/* "int16", "float32", "complex64", "RGB", "RGBA", "bool", ... or "unknown". */
const char *em_dm_type_name(int datatype);

/* Open a DM3 or DM4 file (see em_img_open). */
int em_dm_open(const char *path, struct em_img **out);

#endif
