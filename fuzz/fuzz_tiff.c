/* fuzz_tiff.c - fuzz target: a TIFF/BigTIFF/OME-TIFF/ImageJ file through lib/formats/tiff.c and image.h */
#include <stdint.h>
#include <unistd.h>

#include "formats/image.h"
#include "formats/tiff.h"
#include "fuzz.h"
#include "core/banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct em_img_opts first = { 0, 0, 0 };
	struct em_img *img = NULL;
	char path[64];
	int fd;

	fuzz_quiet();
	if ((fd = fuzz_memfile(data, size, path, sizeof(path))) < 0)
		return 0;
	/* As the tools open it: telling the format from the first bytes. */
	if (em_img_open(path, NULL, &img) == 0) {
		fuzz_read_planes(img);
		em_img_free(img);
	}
	/* Channel 0, time point 0 of a multi-channel OME-TIFF. */
	if (em_tiffvol_open(path, &first, &img) == 0) {
		fuzz_read_planes(img);
		em_img_free(img);
	}
	close(fd);
	return 0;
}
