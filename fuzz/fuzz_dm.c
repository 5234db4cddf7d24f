/* fuzz_dm.c - fuzz target: a DM3/DM4 tag file opened and read as em-meta and the fetchers do */
#include <stdint.h>
#include <unistd.h>

#include "formats/dm.h"
#include "formats/image.h"
#include "fuzz.h"
#include "core/banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_img *img = NULL;
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	fuzz_quiet();
	if (em_dm_open(path, &img) == 0) {
		fuzz_read_planes(img);
		em_img_free(img);
	}
	close(fd);
	return 0;
}
