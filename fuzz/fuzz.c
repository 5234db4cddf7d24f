/* fuzz.c - helpers of the fuzz targets: in-memory files, bounded plane reads */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/diag.h"
#include "formats/image.h"
#include "fuzz.h"
#include "core/banned.h"

/* Planes larger than this are not read: a fuzzer's memory is bounded at 2 GiB. */
#define FUZZ_MAX_PLANE_BYTES ((size_t)64 << 20)
/* Planes read per image: the first, the second and the last cover the readers' paths. */
#define FUZZ_MAX_PLANES 3

int
fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t n)
{
	size_t off = 0;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}

void
fuzz_read_planes(struct em_img *img)
{
	const struct em_img_info *info = em_img_info(img);
	size_t pb = em_img_plane_bytes(img);
	uint64_t z[FUZZ_MAX_PLANES], nz = info->shape[EM_Z];
	void *buf;
	int i;

	if (pb == 0 || pb > FUZZ_MAX_PLANE_BYTES || nz == 0)
		return;
	if ((buf = malloc(pb)) == NULL)
		return;
	z[0] = 0;
	z[1] = nz > 1 ? 1 : 0;
	z[2] = nz - 1;
	for (i = 0; i < FUZZ_MAX_PLANES; i++)
		if (em_img_read_plane(img, z[i], buf) < 0)
			break;
	free(buf);
}

static void
drop_log(enum em_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)msg;
	(void)ctx;
}

void
fuzz_quiet(void)
{
	em_log_set_hook(drop_log, NULL);
	em_log_set_level(EM_LOG_DEBUG);
}

int
fuzz_scratch_dir(const char *name, char *dir, size_t n)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");

	snprintf(dir, n, "%s/em-fuzz-%s-%ld", base, name, (long)getpid());
	if (mkdir(dir, 0700) < 0 && access(dir, W_OK) != 0)
		return -1;
	return 0;
}
