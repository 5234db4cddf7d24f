/* image_internal.h - what the format readers behind image.h share with it */
#ifndef EM_IMAGE_INTERNAL_H
#define EM_IMAGE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "formats/image.h"

struct em_img_ops {
	int (*read_plane)(struct em_img *img, uint64_t z, void *buf);
	void (*close)(void *priv);
};

struct em_img {
	struct em_img_info info;
	const struct em_img_ops *ops;
	void *priv;		/* the format reader's state */
};

/* A new image with an empty source_metadata object; NULL (error set) on failure. */
struct em_img *em_img_new(enum em_img_format format);

/*
 * Set info's voxel size for axis a from a value and the unit written in the
 * file: known only when the unit is a length and the value is finite and > 0.
 */
void em_img_set_voxel(struct em_img_info *info, int axis, double value, const char *unit);

/* Checks shared by the readers: dims within EM_IMG_MAX_DIM, plane within EM_IMG_MAX_PLANE_BYTES. */
int em_img_check_shape(const struct em_img_info *info);

/* pread exactly n bytes at off; a short read is "truncated" with the offsets. */
int em_pread_full(int fd, void *buf, size_t n, uint64_t off);

/*
 * Copy text from a file into dst (cap bytes, always terminated) as valid
 * UTF-8: bytes that are not part of a well-formed sequence become '?',
 * control characters too, and a sequence is never cut at the end.  JSON and
 * voxel_unit carry only such text.
 */
void em_utf8_clean(char *dst, size_t cap, const char *src);

/* Byte order of this machine: 1 when little-endian. */
int em_host_is_le(void);

/* The format readers; each fills *out or fails with the reason. */
int em_dm_open_img(const char *path, int fd, struct em_img **out);
int em_mrc_open_img(const char *path, int fd, const struct em_img_opts *opts,
    struct em_img **out);
int em_tiffvol_open_img(const char *path, const struct em_img_opts *opts, struct em_img **out);

#endif
