/* fuzz_mrc.c - fuzz target: an MRC/CCP4 header parsed, then the file opened and planes read */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "formats/image.h"
#include "formats/mrc.h"
#include "fuzz.h"
#include "core/banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct em_img_opts file_order = { -1, -1, 1 };
	unsigned char hdr[EM_MRC_HEADER_BYTES];
	struct em_mrc_header h;
	struct em_img *img = NULL;
	char path[64];
	int fd;

	fuzz_quiet();
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, data, size < sizeof(hdr) ? size : sizeof(hdr));
	(void)em_mrc_parse_header(hdr, &h);
	if ((fd = fuzz_memfile(data, size, path, sizeof(path))) < 0)
		return 0;
	if (em_mrc_open(path, NULL, &img) == 0) {
		fuzz_read_planes(img);
		em_img_free(img);
	}
	/* The other axis-order mode reads the sections as stored. */
	if (em_mrc_open(path, &file_order, &img) == 0) {
		fuzz_read_planes(img);
		em_img_free(img);
	}
	close(fd);
	return 0;
}
