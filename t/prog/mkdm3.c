/* mkdm3.c - test and bench helper: writes a 2-D uint8 DM3 image (Gatan 3View style slice) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/tool.h"
#include "core/parse.h"
#include "core/banned.h"

/*
 * usage: mkdm3 WIDTH HEIGHT SCALE_UM OUT [RAW [OFFSET]]
 *
 * One image of WIDTH x HEIGHT uint8 pixels, calibrated SCALE_UM µm per
 * pixel on both axes (0: no units), little-endian values.  The pixels are
 * WIDTH*HEIGHT bytes of RAW from OFFSET, or x*7 + y*13 + OFFSET (mod 256)
 * without RAW.  The tag tree is the one DigitalMicrograph writes for a
 * slice: ImageList/[0]/ImageData/{Calibrations, Data, DataType, Dimensions}.
 */

static FILE *out;

static void
put(const void *b, size_t n)
{
	if (fwrite(b, 1, n, out) != n) {
		em_err("cannot write: %s", strerror(errno));
		exit(1);
	}
}

static void
be(uint64_t v, int n)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	put(b, (size_t)n);
}

static void
le(uint64_t v, int n)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(b, (size_t)n);
}

static void
label(int kind, const char *s)
{
	unsigned char k = (unsigned char)kind;

	put(&k, 1);
	be(strlen(s), 2);
	put(s, strlen(s));
}

static void
group(const char *s, uint64_t ntags)
{
	label(20, s);
	be(0, 1);
	be(0, 1);
	be(ntags, 4);
}

static void
simple(const char *s, int type, uint64_t bits, int n)
{
	label(21, s);
	put("%%%%", 4);
	be(1, 4);
	be((uint64_t)type, 4);
	le(bits, n);
}

static void
text(const char *s, const char *v)
{
	size_t i, n = strlen(v);

	label(21, s);
	put("%%%%", 4);
	be(3, 4);
	be(20, 4);
	be(4, 4);
	be(n, 4);
	for (i = 0; i < n; i++)
		le((unsigned char)v[i], 2);
}

int
main(int argc, char **argv)
{
	uint64_t w, h, off = 0, y, x;
	double scale;
	FILE *raw = NULL;
	unsigned char *row;
	float fs;
	uint32_t bits;
	int d;

	em_set_progname(argv[0]);
	if (argc < 5 || argc > 7 || em_parse_u64(argv[1], &w) < 0 ||
	    em_parse_u64(argv[2], &h) < 0 || em_parse_double(argv[3], &scale) < 0 ||
	    w == 0 || h == 0 || w > 100000 || h > 100000 ||
	    (argc == 7 && em_parse_u64(argv[6], &off) < 0)) {
		fprintf(stderr, "usage: mkdm3 WIDTH HEIGHT SCALE_UM OUT [RAW [OFFSET]]\n");
		return 2;
	}
	if (argc >= 6 && (raw = fopen(argv[5], "rb")) == NULL) {
		em_err("cannot open '%s': %s", argv[5], strerror(errno));
		return 1;
	}
	if (raw != NULL && fseeko(raw, (off_t)off, SEEK_SET) != 0) {
		em_err("cannot seek '%s': %s", argv[5], strerror(errno));
		return 1;
	}
	if ((out = fopen(argv[4], "wb")) == NULL) {
		em_err("cannot create '%s': %s", argv[4], strerror(errno));
		return 1;
	}
	if ((row = malloc(w)) == NULL)
		return 1;
	fs = (float)scale;
	memcpy(&bits, &fs, 4);
	be(3, 4);		/* version */
	be(0, 4);		/* root length: not needed to read */
	be(1, 4);		/* little-endian values */
	be(1, 1);
	be(0, 1);
	be(1, 4);
	group("ImageList", 1);
	group("", 3);
	text("Name", "slice");
	group("ImageTags", 0);
	group("ImageData", 4);
	group("Calibrations", 1);
	group("Dimension", 2);
	for (d = 0; d < 2; d++) {
		group("", 3);
		simple("Origin", 6, 0, 4);
		simple("Scale", 6, bits, 4);
		text("Units", scale > 0 ? "\xb5m" : "");
	}
	label(21, "Data");
	put("%%%%", 4);
	be(3, 4);
	be(20, 4);
	be(10, 4);		/* octets */
	be(w * h, 4);
	for (y = 0; y < h; y++) {
		if (raw != NULL) {
			if (fread(row, 1, w, raw) != w) {
				em_err("'%s' is too short", argv[5]);
				return 1;
			}
		} else {
			for (x = 0; x < w; x++)
				row[x] = (unsigned char)(x * 7 + y * 13 + off);
		}
		put(row, w);
	}
	simple("DataType", 3, 6, 4);	/* uint8 */
	group("Dimensions", 2);
	simple("", 5, w, 4);
	simple("", 5, h, 4);
	put("\0\0\0\0\0\0\0\0", 8);
	free(row);
	if (raw != NULL)
		fclose(raw);
	if (fclose(out) != 0) {
		em_err("cannot write '%s': %s", argv[4], strerror(errno));
		return 1;
	}
	return 0;
}
