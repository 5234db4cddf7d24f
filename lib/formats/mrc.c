/* mrc.c - MRC2014 / CCP4 map header and the plane reader behind image.h */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/decimal.h"
#include "core/diag.h"
#include "formats/image_internal.h"
#include "formats/mrc.h"
#include "core/banned.h"

/*
 * IMOD marks its files with this stamp in word 39 (byte 152); bit 0 of the
 * flags word after it says mode-0 bytes are signed.  Older IMOD wrote
 * unsigned bytes with the flag clear.  Without the stamp, MRC2014 says
 * mode 0 is signed (int8), as mrcfile reads it.
 */
#define IMOD_STAMP 1146047817

struct mrc {
	int fd;
	struct em_mrc_header h;
	uint64_t data_off;
	int swap;		/* file order differs from this machine's */
	int mode;
	size_t fsize;		/* bytes of one element in the file (0 for 4-bit) */
	size_t osize;		/* bytes of one element handed out */
	int64_t n[3];		/* file axes: columns, rows, sections */
	int ax[3];		/* spatial axis (0 X, 1 Y, 2 Z) of each file axis */
	unsigned char *raw;	/* file bytes being converted */
	size_t raw_cap;
	unsigned char *tmp;	/* a plane in file axis order, before a transpose */
	unsigned char *sec;	/* one section, for Z along the columns */
};

static int32_t
get32(const unsigned char *p, int le)
{
	return (int32_t)(le ? ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0]) :
	    ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]));
}

static float
getf(const unsigned char *p, int le)
{
	uint32_t u = (uint32_t)get32(p, le);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static int
mode_known(int32_t m)
{
	return (m >= 0 && m <= 4) || m == 6 || m == 12 || m == 16 || m == 101;
}

static int
plausible(const unsigned char *hdr, int le)
{
	int i;

	for (i = 0; i < 3; i++)
		if (get32(hdr + 4 * i, le) < 1)
			return 0;
	return mode_known(get32(hdr + 12, le));
}

/* Printable ASCII only: labels go into JSON, which must be valid UTF-8. */
static void
clean_text(char *dst, const unsigned char *src, size_t n)
{
	size_t i, end = 0;

	for (i = 0; i < n && src[i] != '\0'; i++) {
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
		if (dst[i] != ' ')
			end = i + 1;
	}
	dst[end] = '\0';
}

int
em_mrc_parse_header(const unsigned char hdr[EM_MRC_HEADER_BYTES], struct em_mrc_header *h)
{
	int le, i;

	memset(h, 0, sizeof(*h));
	memcpy(h->machst, hdr + 212, 4);
	if (hdr[212] == 0x44)
		le = 1;
	else if (hdr[212] == 0x11)
		le = 0;
	else
		le = plausible(hdr, 1) || !plausible(hdr, 0);
	h->little_endian = le;
	h->nx = get32(hdr, le);
	h->ny = get32(hdr + 4, le);
	h->nz = get32(hdr + 8, le);
	h->mode = get32(hdr + 12, le);
	h->nxstart = get32(hdr + 16, le);
	h->nystart = get32(hdr + 20, le);
	h->nzstart = get32(hdr + 24, le);
	h->mx = get32(hdr + 28, le);
	h->my = get32(hdr + 32, le);
	h->mz = get32(hdr + 36, le);
	for (i = 0; i < 3; i++) {
		h->cella[i] = getf(hdr + 40 + 4 * i, le);
		h->cellb[i] = getf(hdr + 52 + 4 * i, le);
		h->origin[i] = getf(hdr + 196 + 4 * i, le);
	}
	h->mapc = get32(hdr + 64, le);
	h->mapr = get32(hdr + 68, le);
	h->maps = get32(hdr + 72, le);
	h->dmin = getf(hdr + 76, le);
	h->dmax = getf(hdr + 80, le);
	h->dmean = getf(hdr + 84, le);
	h->ispg = get32(hdr + 88, le);
	h->nsymbt = get32(hdr + 92, le);
	clean_text(h->exttyp, hdr + 104, 4);
	h->nversion = get32(hdr + 108, le);
	h->has_map_stamp = memcmp(hdr + 208, "MAP ", 4) == 0;
	h->rms = getf(hdr + 216, le);
	h->nlabl = get32(hdr + 220, le);
	for (i = 0; i < 10; i++)
		clean_text(h->labels[i], hdr + 224 + 80 * i, 80);

	if (h->nx < 1 || h->ny < 1 || h->nz < 1)
		return em_fail("MRC header gives a size of %d x %d x %d: each must be at least 1",
		    h->nx, h->ny, h->nz);
	if (!mode_known(h->mode))
		return em_fail("MRC mode %d is not one of 0, 1, 2, 3, 4, 6, 12, 16, 101", h->mode);
	if (h->mapc == 0 && h->mapr == 0 && h->maps == 0) {
		/* Some old writers left the axis words zero; they meant the standard order. */
		h->mapc = 1;
		h->mapr = 2;
		h->maps = 3;
	}
	if (h->mapc < 1 || h->mapc > 3 || h->mapr < 1 || h->mapr > 3 || h->maps < 1 ||
	    h->maps > 3 || h->mapc == h->mapr || h->mapr == h->maps || h->mapc == h->maps)
		return em_fail("MRC axis order MAPC/MAPR/MAPS = %d/%d/%d is not a permutation of 1, 2, 3",
		    h->mapc, h->mapr, h->maps);
	if (h->nsymbt < 0)
		return em_fail("MRC extended header size NSYMBT = %d is negative", h->nsymbt);
	return 0;
}

/* The volume kinds the store refuses, named. */
static int
mode_refused(int32_t mode)
{
	switch (mode) {
	case 3:
		return em_fail("complex int16 map (MRC mode 3): not a real-valued volume");
	case 4:
		return em_fail("complex64 map (MRC mode 4): not a real-valued volume");
	case 16:
		return em_fail("RGB image (MRC mode 16): not a single-channel volume");
	}
	return 0;
}

static int
grow_raw(struct mrc *m, unsigned char **p, size_t *cap, size_t n)
{
	unsigned char *q;

	(void)m;
	if (n <= *cap)
		return 0;
	if ((q = realloc(*p, n)) == NULL)
		return em_fail_errno("out of memory for %zu bytes", n);
	*p = q;
	*cap = n;
	return 0;
}

/* Read count elements starting at element index first (file order) into dst, converted. */
static int
read_elems(struct mrc *m, uint64_t first, size_t count, unsigned char *dst)
{
	uint64_t off = m->data_off + first * m->fsize;

	if (em_pread_full(m->fd, dst, count * m->fsize, off) < 0)
		return -1;
	if (m->swap && m->fsize > 1)
		em_swap_bytes(dst, count, m->fsize);
	return 0;
}

/* Mode 101: two 4-bit values a byte, low nibble first, each row padded to a whole byte. */
static int
read_nibble_section(struct mrc *m, uint64_t z, unsigned char *dst)
{
	size_t rowb = ((size_t)m->n[0] + 1) / 2, secb = rowb * (size_t)m->n[1];
	size_t r, x;

	if (grow_raw(m, &m->raw, &m->raw_cap, secb) < 0 ||
	    em_pread_full(m->fd, m->raw, secb, m->data_off + z * secb) < 0)
		return -1;
	for (r = 0; r < (size_t)m->n[1]; r++) {
		const unsigned char *src = m->raw + r * rowb;
		unsigned char *d = dst + r * (size_t)m->n[0];

		for (x = 0; x < (size_t)m->n[0]; x++)
			d[x] = (x & 1) ? src[x / 2] >> 4 : src[x / 2] & 0x0f;
	}
	return 0;
}

static int
mrc_read_plane(struct em_img *img, uint64_t k, void *buf)
{
	struct mrc *m = img->priv;
	size_t nc = (size_t)m->n[0], nr = (size_t)m->n[1], ns = (size_t)m->n[2];
	size_t np, nq, p, q, s, r, es = m->osize;
	unsigned char *t = m->tmp, *out = buf;
	int pax;

	if (m->mode == 101)
		return read_nibble_section(m, k, buf);
	if (m->ax[2] == 2) {
		/* Sections are Z planes: one contiguous read. */
		if (m->ax[0] == 0)
			return read_elems(m, k * nc * nr, nc * nr, buf);
		if (read_elems(m, k * nc * nr, nc * nr, t) < 0)
			return -1;
		np = nc, nq = nr, pax = m->ax[0];
	} else if (m->ax[1] == 2) {
		/* Rows are Z: row k of every section. */
		for (s = 0; s < ns; s++)
			if (read_elems(m, ((uint64_t)s * nr + k) * nc, nc, t + s * nc * es) < 0)
				return -1;
		np = nc, nq = ns, pax = m->ax[0];
	} else {
		/* Columns are Z: column k of every row of every section. */
		for (s = 0; s < ns; s++) {
			if (read_elems(m, (uint64_t)s * nr * nc, nc * nr, m->sec) < 0)
				return -1;
			for (r = 0; r < nr; r++)
				memcpy(t + (s * nr + r) * es, m->sec + (r * nc + k) * es, es);
		}
		np = nr, nq = ns, pax = m->ax[1];
	}
	if (pax == 0) {
		/* The faster file axis is X already. */
		memcpy(out, t, np * nq * es);
		return 0;
	}
	for (q = 0; q < nq; q++)
		for (p = 0; p < np; p++)
			memcpy(out + (p * nq + q) * es, t + (q * np + p) * es, es);
	return 0;
}

static void
mrc_close(void *priv)
{
	struct mrc *m = priv;

	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	free(m->raw);
	free(m->tmp);
	free(m->sec);
	free(m);
}

static const struct em_img_ops mrc_ops = { mrc_read_plane, mrc_close };

/*
 * A header float as JSON: the decimal it stands for (80.0, not
 * 80.00000762939453), null when it is not a finite number (JSON has no NaN).
 */
static json_t *
fnum(float f)
{
	return isfinite(f) ? json_real(em_decimal_f32(f)) : json_null();
}

static json_t *
header_json(const struct em_mrc_header *h, int mode0_signed)
{
	json_t *o, *labels;
	char machst[9];
	int i;

	snprintf(machst, sizeof(machst), "%02x%02x%02x%02x", h->machst[0], h->machst[1],
	    h->machst[2], h->machst[3]);
	o = json_pack("{s:s, s:i, s:[i,i,i], s:[i,i,i], s:[o,o,o], s:[o,o,o], s:[i,i,i],"
	    " s:[o,o,o], s:i, s:i, s:s, s:i, s:s, s:b, s:{s:o, s:o, s:o, s:o}}",
	    "format", "MRC", "mode", h->mode,
	    "nxyz", h->nx, h->ny, h->nz,
	    "mxyz", h->mx, h->my, h->mz,
	    "cell_a_angstrom", fnum(h->cella[0]), fnum(h->cella[1]), fnum(h->cella[2]),
	    "cell_b_degrees", fnum(h->cellb[0]), fnum(h->cellb[1]), fnum(h->cellb[2]),
	    "mapcrs", h->mapc, h->mapr, h->maps,
	    "origin_angstrom", fnum(h->origin[0]), fnum(h->origin[1]), fnum(h->origin[2]),
	    "ispg", h->ispg, "nsymbt", h->nsymbt, "exttyp", h->exttyp,
	    "nversion", h->nversion, "machst", machst, "map_stamp", h->has_map_stamp,
	    "stats", "min", fnum(h->dmin), "max", fnum(h->dmax), "mean", fnum(h->dmean),
	    "rms", fnum(h->rms));
	if (o == NULL)
		return NULL;
	if (h->mode == 0)
		json_object_set_new(o, "mode0_signed", json_boolean(mode0_signed));
	if (h->mode == 101)
		json_object_set_new(o, "converted", json_string("4-bit to uint8"));
	if ((labels = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	for (i = 0; i < 10 && i < h->nlabl; i++)
		if (h->labels[i][0] != '\0')
			json_array_append_new(labels, json_string(h->labels[i]));
	json_object_set_new(o, "labels", labels);
	return o;
}

static const char *
fmt_size(char *b, size_t n, uint64_t v)
{
	snprintf(b, n, "%llu", (unsigned long long)v);
	return b;
}

int
em_mrc_open_img(const char *path, int fd, const struct em_img_opts *opts, struct em_img **out)
{
	unsigned char hdr[EM_MRC_HEADER_BYTES];
	struct em_img *img = NULL;
	struct mrc *m = NULL;
	struct em_img_info *info;
	struct stat st;
	uint64_t data_bytes, secb;
	int32_t mwords[3];
	int f, mode0_signed = 1, file_order = opts != NULL && opts->mrc_file_order;
	char b1[32], b2[32];
	json_t *meta;

	(void)path;
	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		em_fail_errno("out of memory");
		close(fd);
		return -1;
	}
	m->fd = fd;
	if (fstat(fd, &st) < 0) {
		em_fail_errno("cannot stat");
		goto bad;
	}
	if ((uint64_t)st.st_size < EM_MRC_HEADER_BYTES) {
		em_fail("truncated MRC file: %llu bytes, the header alone is %d",
		    (unsigned long long)st.st_size, EM_MRC_HEADER_BYTES);
		goto bad;
	}
	if (em_pread_full(fd, hdr, sizeof(hdr), 0) < 0 || em_mrc_parse_header(hdr, &m->h) < 0)
		goto bad;
	if (mode_refused(m->h.mode) < 0)
		goto bad;
	/* Space groups 401-630 are stacks of volumes of MZ sections each (MRC2014). */
	if (m->h.ispg >= 401 && m->h.ispg <= 630 && m->h.mz > 0 && m->h.nz > m->h.mz) {
		em_fail("MRC volume stack (space group %d) of %d volumes of %d sections: not a"
		    " single volume", m->h.ispg, m->h.nz / m->h.mz, m->h.mz);
		goto bad;
	}
	m->mode = m->h.mode;
	m->swap = m->h.little_endian != em_host_is_le();
	m->n[0] = m->h.nx;
	m->n[1] = m->h.ny;
	m->n[2] = m->h.nz;
	m->ax[0] = m->h.mapc - 1;
	m->ax[1] = m->h.mapr - 1;
	m->ax[2] = m->h.maps - 1;
	if (file_order) {
		m->ax[0] = 0;
		m->ax[1] = 1;
		m->ax[2] = 2;
	}
	if ((img = em_img_new(EM_IMG_MRC)) == NULL)
		goto bad;
	info = &img->info;
	switch (m->mode) {
	case 0:
		if (get32(hdr + 152, m->h.little_endian) == IMOD_STAMP &&
		    !(get32(hdr + 156, m->h.little_endian) & 1))
			mode0_signed = 0;
		info->dtype = mode0_signed ? EM_DT_I1 : EM_DT_U1;
		m->fsize = 1;
		break;
	case 1: info->dtype = EM_DT_I2; m->fsize = 2; break;
	case 2: info->dtype = EM_DT_F4; m->fsize = 4; break;
	case 6: info->dtype = EM_DT_U2; m->fsize = 2; break;
	case 12: info->dtype = EM_DT_F2; m->fsize = 2; break;
	case 101: info->dtype = EM_DT_U1; m->fsize = 0; break;
	}
	m->osize = em_dtype_size(info->dtype);
	for (f = 0; f < 3; f++)
		info->shape[2 - m->ax[f]] = (uint64_t)m->n[f];
	if (em_img_check_shape(info) < 0)
		goto bad;
	if (m->mode == 101 && (m->ax[0] != 0 || m->ax[1] != 1)) {
		em_fail("4-bit MRC (mode 101) with axis order %d/%d/%d: only 1/2/3 is read",
		    m->h.mapc, m->h.mapr, m->h.maps);
		goto bad;
	}
	/* Each size is below 2^31, so a section is below 2^64 only with the check. */
	secb = m->mode == 101 ? (((uint64_t)m->n[0] + 1) / 2) * (uint64_t)m->n[1] :
	    (uint64_t)m->n[0] * (uint64_t)m->n[1];
	if (secb > UINT64_MAX / 4 / (uint64_t)m->n[2]) {
		em_fail("MRC header gives %d x %d x %d: more than 2^62 bytes", m->h.nx, m->h.ny,
		    m->h.nz);
		goto bad;
	}
	if (m->mode != 101)
		secb *= m->fsize;
	data_bytes = secb * (uint64_t)m->n[2];
	m->data_off = EM_MRC_HEADER_BYTES + (uint64_t)m->h.nsymbt;
	if (m->data_off > (uint64_t)st.st_size || data_bytes > (uint64_t)st.st_size - m->data_off) {
		em_fail("truncated MRC file: %d x %d x %d mode %d needs %s data bytes from offset %llu,"
		    " the file has %llu bytes", m->h.nx, m->h.ny, m->h.nz, m->mode,
		    fmt_size(b1, sizeof(b1), data_bytes), (unsigned long long)m->data_off,
		    (unsigned long long)st.st_size);
		goto bad;
	}
	if ((uint64_t)st.st_size > m->data_off + data_bytes)
		em_debug("MRC file has %llu bytes after the data",
		    (unsigned long long)((uint64_t)st.st_size - m->data_off - data_bytes));
	if (m->ax[0] == 2 && data_bytes > EM_MRC_PERMUTE_MAX_BYTES) {
		em_fail("MRC axis order MAPC/MAPR/MAPS = %d/%d/%d runs Z along the columns: each Z"
		    " plane would re-read the whole %s-byte map (limit %s); rewrite it in"
		    " order 1/2/3 first", m->h.mapc, m->h.mapr, m->h.maps,
		    fmt_size(b1, sizeof(b1), data_bytes),
		    fmt_size(b2, sizeof(b2), EM_MRC_PERMUTE_MAX_BYTES));
		goto bad;
	}
	if (m->ax[0] != 0 || m->ax[2] != 2) {
		if ((m->tmp = malloc(em_img_plane_bytes(img))) == NULL) {
			em_fail_errno("out of memory");
			goto bad;
		}
		if (m->ax[0] == 2 && (m->sec = malloc((size_t)(m->n[0] * m->n[1]) * m->osize)) == NULL) {
			em_fail_errno("out of memory");
			goto bad;
		}
	}

	/* A single section in an image/stack space group (0) is a 2-D image, as mrcfile reads it. */
	info->ndim = (info->shape[EM_Z] == 1 && m->h.ispg == 0) ? 2 : 3;
	mwords[0] = m->h.mx;
	mwords[1] = m->h.my;
	mwords[2] = m->h.mz;
	for (f = 0; f < 3; f++) {
		/* The cell and sampling belong to the true axis of file axis f. */
		int a = f == 0 ? m->h.mapc - 1 : f == 1 ? m->h.mapr - 1 : m->h.maps - 1;
		int outax = 2 - m->ax[f];

		if (outax == EM_Z && info->ndim == 2)
			continue;
		/* The cell's decimal, not its float32: 8.0 nm, not 8.00000037997961. */
		if (mwords[a] > 0)
			em_img_set_voxel(info, outax, em_decimal_f32(m->h.cella[a]) / mwords[a],
			    "\xc3\x85");
		else
			em_img_set_voxel(info, outax, 0, "\xc3\x85");
	}
	if ((meta = header_json(&m->h, mode0_signed)) == NULL) {
		em_fail("out of memory");
		goto bad;
	}
	json_object_set_new(meta, "axis_order_applied", json_boolean(!file_order));
	json_decref(info->source_metadata);
	info->source_metadata = meta;
	img->ops = &mrc_ops;
	img->priv = m;
	*out = img;
	return 0;
bad:
	em_img_free(img);
	mrc_close(m);
	return -1;
}

int
em_mrc_open(const char *path, const struct em_img_opts *opts, struct em_img **out)
{
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return em_fail_errno("cannot open");
	return em_mrc_open_img(path, fd, opts, out);
}
