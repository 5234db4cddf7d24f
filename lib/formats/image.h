/* image.h - one plane-at-a-time reader over DM3/DM4, MRC/CCP4, TIFF/BigTIFF and OME-TIFF files */
#ifndef EM_IMAGE_H
#define EM_IMAGE_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dtype.h"

enum em_img_format {
	EM_IMG_DM3 = 1,
	EM_IMG_DM4,
	EM_IMG_MRC,
	EM_IMG_TIFF,
	EM_IMG_OMETIFF,
	EM_IMG_SERIES,		/* several 2-D files read as one volume */
};

/* Axis indices of shape, voxel_nm and voxel_unit. */
enum { EM_Z = 0, EM_Y = 1, EM_X = 2 };

struct em_img_info {
	enum em_img_format format;
	int ndim;		/* dimensions as the file has them: 2 or 3 */
	uint64_t shape[3];	/* z, y, x (C order); z is 1 for a 2-D image */
	enum em_dtype dtype;	/* one of the storable numeric types */
	/*
	 * Voxel size per axis (z, y, x) in nanometres, only when the file
	 * states a length for that axis: voxel_known[a] is 0 otherwise and
	 * voxel_nm[a] is then 0.  voxel_unit[a] is the unit as written in
	 * the file ("um", "µm", "Å", "1/nm", ...), "" when it gave none; it
	 * is kept even when it is not a length.  Every value here comes
	 * from the file itself (provenance "file").
	 */
	int voxel_known[3];
	double voxel_nm[3];
	char voxel_unit[3][16];
	/* Format-specific tags worth keeping (borrowed from the image). */
	json_t *source_metadata;
};

/* Choices for files that hold more than one volume.  Zero = defaults. */
struct em_img_opts {
	/*
	 * OME-TIFF with SizeC > 1 or SizeT > 1: which channel and time point
	 * to read as the volume.  The default (-1) refuses such a file with
	 * a message giving the sizes.
	 */
	int channel;
	int timepoint;
	/*
	 * MRC: read the sections as stored, ignoring MAPC/MAPR/MAPS (what
	 * mrcfile's .data gives).  Default: apply the axis order so that z,
	 * y, x are the map's Z, Y, X.
	 */
	int mrc_file_order;
};
#define EM_IMG_OPTS_INIT { -1, -1, 0 }

struct em_img;

/*
 * What each format gives (details in dm.h, mrc.h, formats/tiff.h):
 *   DM3/DM4  the largest image that is not a thumbnail; trailing dimensions
 *            of one dropped (as rosettasciio does); a 4-D image with a
 *            dimension of one is a stack.  Voxel sizes from
 *            ImageData/Calibrations (nm, µm, Å, pm, ...); an axis in eV
 *            makes the file a spectrum (refused), 1/nm leaves it unknown.
 *   MRC      modes 0 (int8; uint8 when IMOD says so), 1, 2, 6, 12 (float16,
 *            kept as float16), 101 (4-bit handed out as uint8);
 *            MAPC/MAPR/MAPS applied; voxel = CELLA/MX.. in Å when > 0.
 *   TIFF     pages are planes (reduced-resolution pages skipped); a plain
 *            TIFF's XResolution is a print setting, never a voxel size.
 *   OME-TIFF Pixels/TiffData say which page is which plane; PhysicalSize*
 *            with their units (µm when none is given).
 *   ImageJ   XResolution in the description's unit, z from spacing=;
 *            stacks past 4 GiB stored after one IFD are read as well.
 */

/*
 * Open a file, telling its format from its first bytes, and read its
 * header only.  Files the store must not take (1-D spectra, RGB, complex,
 * bool, 4-D data, several channels) fail here with the reason naming what
 * they are.  *out is owned by the caller (em_img_free).  opts may be NULL.
 */
int em_img_open(const char *path, const struct em_img_opts *opts, struct em_img **out);
/*
 * A series of 2-D files (one plane each, same shape and dtype, in the given
 * order) read as one volume of n planes.  z_spacing_nm > 0 gives the z voxel
 * size (the caller's: a series of files does not state it); 0 leaves it
 * unknown.  y/x voxel sizes and source_metadata are the first file's.  Every
 * file's header is read here; one that differs is named in the error.
 * paths are copied.
 */
int em_img_open_series(const char *const *paths, size_t n, double z_spacing_nm,
    struct em_img **out);
void em_img_free(struct em_img *img);

/* Borrowed; valid until em_img_free. */
const struct em_img_info *em_img_info(const struct em_img *img);
/* Bytes of one plane: shape[y] * shape[x] * dtype size. */
size_t em_img_plane_bytes(const struct em_img *img);
/*
 * Read plane z (0 <= z < shape[0]) into buf (em_img_plane_bytes() bytes):
 * little-endian, C order (x fastest).  Planes may be read in any order.
 * Memory use is one plane plus small per-file state.
 */
int em_img_read_plane(struct em_img *img, uint64_t z, void *buf);

/* "DM3", "DM4", "MRC", "TIFF", "OME-TIFF", "series". */
const char *em_img_format_name(enum em_img_format f);

#endif
