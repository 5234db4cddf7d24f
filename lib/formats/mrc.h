/* mrc.h - MRC2014 / CCP4 map header and the plane reader behind image.h */
#ifndef EM_MRC_H
#define EM_MRC_H

#include "core/limits.h"

#include <stdint.h>

#include "formats/image.h"

#define EM_MRC_HEADER_BYTES 1024

/* The fields of the 1024-byte header the reader uses, in host order. */
struct em_mrc_header {
	int little_endian;		/* from MACHST, else from which order looks sane */
	int32_t nx, ny, nz;		/* columns, rows, sections */
	int32_t mode;
	int32_t nxstart, nystart, nzstart;
	int32_t mx, my, mz;
	float cella[3], cellb[3];
	int32_t mapc, mapr, maps;	/* 1..3 each; an all-zero triple reads as 1,2,3 */
	float dmin, dmax, dmean;
	int32_t ispg, nsymbt;
	char exttyp[5];
	int32_t nversion;
	float origin[3];
	int has_map_stamp;		/* "MAP " at byte 208 (MRC2000 and later) */
	unsigned char machst[4];
	float rms;
	int32_t nlabl;
	char labels[10][81];
};

/*
 * Decode and check a header: byte order, sizes, mode, axis order.  Fails
 * with the reason for anything a reader could not use.
 */
int em_mrc_parse_header(const unsigned char hdr[EM_MRC_HEADER_BYTES], struct em_mrc_header *h);

/* Open an MRC/CCP4 file (see em_img_open); opts may be NULL. */
int em_mrc_open(const char *path, const struct em_img_opts *opts, struct em_img **out);

#endif
