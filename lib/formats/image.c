/* image.c - one plane-at-a-time reader over DM3/DM4, MRC/CCP4, TIFF/BigTIFF and OME-TIFF files */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/diag.h"
#include "formats/image.h"
#include "formats/image_internal.h"
#include "core/units.h"
#include "core/banned.h"

/* Bytes read to tell the format: the MRC header's fixed part is 1024. */
#define SNIFF_BYTES 1024

struct em_img *
em_img_new(enum em_img_format format)
{
	struct em_img *img;

	if ((img = calloc(1, sizeof(*img))) == NULL) {
		em_fail_errno("out of memory");
		return NULL;
	}
	img->info.format = format;
	if ((img->info.source_metadata = json_object()) == NULL) {
		free(img);
		em_fail("out of memory");
		return NULL;
	}
	return img;
}

void
em_img_free(struct em_img *img)
{
	if (img == NULL)
		return;
	if (img->ops != NULL && img->ops->close != NULL)
		img->ops->close(img->priv);
	json_decref(img->info.source_metadata);
	free(img);
}

const struct em_img_info *
em_img_info(const struct em_img *img)
{
	return &img->info;
}

size_t
em_img_plane_bytes(const struct em_img *img)
{
	return (size_t)(img->info.shape[EM_Y] * img->info.shape[EM_X] *
	    em_dtype_size(img->info.dtype));
}

int
em_img_read_plane(struct em_img *img, uint64_t z, void *buf)
{
	if (z >= img->info.shape[EM_Z])
		return em_fail("plane %llu out of range (the volume has %llu)",
		    (unsigned long long)z, (unsigned long long)img->info.shape[EM_Z]);
	return img->ops->read_plane(img, z, buf);
}

const char *
em_img_format_name(enum em_img_format f)
{
	switch (f) {
	case EM_IMG_DM3: return "DM3";
	case EM_IMG_DM4: return "DM4";
	case EM_IMG_MRC: return "MRC";
	case EM_IMG_TIFF: return "TIFF";
	case EM_IMG_OMETIFF: return "OME-TIFF";
	case EM_IMG_SERIES: return "series";
	}
	return "unknown";
}

/* Length of the well-formed UTF-8 sequence at p (1-4), 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *p)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c < 0xe000))
		return 0;
	return n;
}

void
em_utf8_clean(char *dst, size_t cap, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t len = 0, n;

	if (cap == 0)
		return;
	while (*p != '\0') {
		n = utf8_seq(p);
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			if (len + 1 >= cap)
				break;
			dst[len++] = '?';
			p++;
			continue;
		}
		if (len + n >= cap)
			break;
		memmove(dst + len, p, n);	/* dst may be src: cleaning in place */
		len += n;
		p += n;
	}
	dst[len] = '\0';
}

void
em_img_set_voxel(struct em_img_info *info, int axis, double value, const char *unit)
{
	double nm;

	em_utf8_clean(info->voxel_unit[axis], sizeof(info->voxel_unit[axis]), unit);
	info->voxel_known[axis] = 0;
	info->voxel_nm[axis] = 0;
	if (em_length_nm(value, unit, &nm) && value > 0 && nm > 0) {
		info->voxel_known[axis] = 1;
		info->voxel_nm[axis] = nm;
	}
}

int
em_img_check_shape(const struct em_img_info *info)
{
	uint64_t plane;
	int a;

	for (a = 0; a < 3; a++)
		if (info->shape[a] == 0 || info->shape[a] > EM_IMG_MAX_DIM)
			return em_fail("dimension %c of %llu is out of range (1 to %llu)",
			    "zyx"[a], (unsigned long long)info->shape[a],
			    (unsigned long long)EM_IMG_MAX_DIM);
	plane = info->shape[EM_Y] * info->shape[EM_X] * em_dtype_size(info->dtype);
	if (plane > EM_IMG_MAX_PLANE_BYTES)
		return em_fail("a %llux%llu %s plane is %llu bytes, more than the %llu a plane may take",
		    (unsigned long long)info->shape[EM_Y], (unsigned long long)info->shape[EM_X],
		    em_dtype_name(info->dtype), (unsigned long long)plane,
		    (unsigned long long)EM_IMG_MAX_PLANE_BYTES);
	return 0;
}

int
em_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = pread(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return em_fail_errno("read at offset %llu", (unsigned long long)off);
		}
		if (r == 0)
			return em_fail("truncated: %zu bytes missing at offset %llu", n,
			    (unsigned long long)off);
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int
em_host_is_le(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 1;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An old-style MRC header (no "MAP " stamp): sane sizes and mode in either byte order. */
static int
looks_like_old_mrc(const unsigned char *b)
{
	int le, i;

	for (le = 0; le < 2; le++) {
		int32_t w[4], m[3];
		int ok = 1;

		for (i = 0; i < 4; i++) {
			const unsigned char *p = b + 4 * i;

			w[i] = (int32_t)(le ? ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
			    (uint32_t)p[1] << 8 | p[0]) : be32(p));
		}
		for (i = 0; i < 3; i++) {
			const unsigned char *p = b + 64 + 4 * i;

			m[i] = (int32_t)(le ? ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
			    (uint32_t)p[1] << 8 | p[0]) : be32(p));
		}
		for (i = 0; i < 3; i++)
			if (w[i] < 1 || w[i] > (1 << 30))
				ok = 0;
		if (!(w[3] >= 0 && w[3] <= 4) && w[3] != 6 && w[3] != 12 && w[3] != 16 &&
		    w[3] != 101)
			ok = 0;
		if (!((m[0] == 0 && m[1] == 0 && m[2] == 0) ||
		    (m[0] >= 1 && m[0] <= 3 && m[1] >= 1 && m[1] <= 3 && m[2] >= 1 &&
		    m[2] <= 3 && m[0] != m[1] && m[1] != m[2] && m[0] != m[2])))
			ok = 0;
		if (ok)
			return 1;
	}
	return 0;
}

int
em_img_open(const char *path, const struct em_img_opts *opts, struct em_img **out)
{
	static const struct em_img_opts defaults = EM_IMG_OPTS_INIT;
	unsigned char b[SNIFF_BYTES];
	size_t n = 0;
	ssize_t r;
	int fd, rc = -1;

	*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return em_fail_errno("cannot open");
	while (n < sizeof(b)) {
		r = read(fd, b + n, sizeof(b) - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			em_fail_errno("cannot read");
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
	    (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)))) {
		close(fd);
		fd = -1;
		return em_tiffvol_open_img(path, opts, out);
	}
	if (n >= 212 && memcmp(b + 208, "MAP ", 4) == 0) {
		rc = em_mrc_open_img(path, fd, opts, out);
		fd = -1;
		goto out;
	}
	if (n >= 20 && ((be32(b) == 3 && be32(b + 8) <= 1 && b[12] <= 1 && b[13] <= 1) ||
	    (be32(b) == 4 && be32(b + 12) <= 1 && b[16] <= 1 && b[17] <= 1))) {
		rc = em_dm_open_img(path, fd, out);
		fd = -1;
		goto out;
	}
	if (n == SNIFF_BYTES && looks_like_old_mrc(b)) {
		rc = em_mrc_open_img(path, fd, opts, out);
		fd = -1;
		goto out;
	}
	if (n < 4)
		em_fail("file of %zu bytes is too short to be an image", n);
	else
		em_fail("not a DM3, DM4, MRC/CCP4 or TIFF file (first bytes %02x %02x %02x %02x)",
		    b[0], b[1], b[2], b[3]);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- a series of 2-D files read as one volume ---- */

struct series {
	char **paths;
	size_t n;
	uint64_t shape[3];
	enum em_dtype dtype;
	enum em_img_format format;
};

static void
series_close(void *priv)
{
	struct series *s = priv;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->paths[i]);
	free(s->paths);
	free(s);
}

/* Open file i of the series and check it is one plane like the first. */
static int
series_open_one(const struct series *s, size_t i, struct em_img **out)
{
	const struct em_img_info *fi;
	struct em_img *f = NULL;

	*out = NULL;
	if (em_img_open(s->paths[i], NULL, &f) < 0)
		return em_fail_ctx("series file %zu '%s'", i + 1, s->paths[i]);
	fi = em_img_info(f);
	if (fi->shape[EM_Z] != 1) {
		em_fail("series file %zu '%s' has %llu planes, not one", i + 1, s->paths[i],
		    (unsigned long long)fi->shape[EM_Z]);
		goto bad;
	}
	if (i > 0 && (fi->shape[EM_Y] != s->shape[EM_Y] || fi->shape[EM_X] != s->shape[EM_X] ||
	    fi->dtype != s->dtype)) {
		em_fail("series file %zu '%s' is %llux%llu %s, the first is %llux%llu %s",
		    i + 1, s->paths[i], (unsigned long long)fi->shape[EM_Y],
		    (unsigned long long)fi->shape[EM_X], em_dtype_name(fi->dtype),
		    (unsigned long long)s->shape[EM_Y], (unsigned long long)s->shape[EM_X],
		    em_dtype_name(s->dtype));
		goto bad;
	}
	*out = f;
	return 0;
bad:
	em_img_free(f);
	return -1;
}

static int
series_read_plane(struct em_img *img, uint64_t z, void *buf)
{
	struct series *s = img->priv;
	struct em_img *f = NULL;
	int rc;

	if (series_open_one(s, (size_t)z, &f) < 0)
		return -1;
	rc = em_img_read_plane(f, 0, buf);
	if (rc < 0)
		em_fail_ctx("series file %llu '%s'", (unsigned long long)z + 1, s->paths[z]);
	em_img_free(f);
	return rc;
}

static const struct em_img_ops series_ops = { series_read_plane, series_close };

int
em_img_open_series(const char *const *paths, size_t n, double z_spacing_nm,
    struct em_img **out)
{
	struct series *s = NULL;
	struct em_img *img = NULL, *f = NULL;
	const struct em_img_info *fi;
	json_t *meta = NULL;
	size_t i;
	int a;

	*out = NULL;
	if (n == 0)
		return em_fail("a series needs at least one file");
	if ((uint64_t)n > EM_IMG_MAX_DIM)
		return em_fail("a series of %zu files is too long", n);
	if (!(isfinite(z_spacing_nm) && z_spacing_nm >= 0))
		return em_fail("z spacing must be a length >= 0 nm");
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->paths = calloc(n, sizeof(char *))) == NULL) {
		em_fail_errno("out of memory");
		goto bad;
	}
	for (i = 0; i < n; i++) {
		if ((s->paths[i] = strdup(paths[i])) == NULL) {
			em_fail_errno("out of memory");
			goto bad;
		}
		s->n = i + 1;
	}
	for (i = 0; i < n; i++) {
		if (series_open_one(s, i, &f) < 0)
			goto bad;
		fi = em_img_info(f);
		if (i == 0) {
			s->shape[EM_Y] = fi->shape[EM_Y];
			s->shape[EM_X] = fi->shape[EM_X];
			s->dtype = fi->dtype;
			s->format = fi->format;
			if ((img = em_img_new(EM_IMG_SERIES)) == NULL)
				goto bad;
			img->info.ndim = 3;
			img->info.shape[EM_Z] = n;
			img->info.shape[EM_Y] = fi->shape[EM_Y];
			img->info.shape[EM_X] = fi->shape[EM_X];
			img->info.dtype = fi->dtype;
			for (a = EM_Y; a <= EM_X; a++) {
				img->info.voxel_known[a] = fi->voxel_known[a];
				img->info.voxel_nm[a] = fi->voxel_nm[a];
				memcpy(img->info.voxel_unit[a], fi->voxel_unit[a],
				    sizeof(img->info.voxel_unit[a]));
			}
			if (z_spacing_nm > 0)
				em_img_set_voxel(&img->info, EM_Z, z_spacing_nm, "nm");
			meta = json_deep_copy(fi->source_metadata);
			if (meta == NULL || json_object_set_new(meta, "series", json_pack(
			    "{s:I, s:s, s:s}", "files", (json_int_t)n, "format",
			    em_img_format_name(fi->format), "first", paths[0])) < 0) {
				em_fail("out of memory");
				goto bad;
			}
			json_decref(img->info.source_metadata);
			img->info.source_metadata = meta;
			meta = NULL;
		}
		em_img_free(f);
		f = NULL;
	}
	img->ops = &series_ops;
	img->priv = s;
	*out = img;
	return 0;
bad:
	json_decref(meta);
	em_img_free(f);
	em_img_free(img);
	series_close(s);
	return -1;
}
