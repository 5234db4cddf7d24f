/* tiff.c - TIFF, BigTIFF, OME-TIFF and ImageJ stacks as volumes (through libtiff) behind image.h */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <tiffio.h>

#include "core/decimal.h"
#include "core/diag.h"
#include "formats/image_internal.h"
#include "formats/tiff.h"
#include "core/banned.h"

/*
 * The file under libtiff, read through one buffer: libtiff asks for every
 * strip and directory with its own lseek and read (a plane of 8-row strips is
 * over a hundred of each, most of the run's kernel time), which this serves
 * from one large pread at a time.  No memory map: its pages would count as
 * ours for the whole file.
 */
#define TFILE_BUF ((size_t)1 << 20)

struct tfile {
	int fd;
	uint64_t pos;		/* where libtiff's next read starts */
	uint64_t boff;		/* the file offset of buf[0] */
	size_t blen;		/* bytes valid in buf */
	unsigned char *buf;
};

struct tv {
	TIFF *tif;
	struct tfile *file;	/* closed by TIFFClose */
	char err[512];		/* libtiff's first error on this handle */
	uint64_t *off;		/* IFD offset of each plane */
	uint64_t nplanes;
	uint32_t w, h;
	enum em_dtype dt;
	int half;		/* 16-bit float pages, handed out as float32 */
	unsigned char *chunk;	/* one decoded strip or tile */
	size_t chunk_cap;
	/*
	 * ImageJ stacks past 4 GiB have one IFD and the planes stored one
	 * after another, uncompressed: read straight from the file.
	 */
	int raw_fd;
	uint64_t raw_off;
	int raw_swap;
};

/* What one IFD holds, as far as the checks need. */
struct page {
	uint32_t w, h;
	uint16_t spp, bps, sf, photometric, planar;
	uint32_t subfile;
	enum em_dtype dt;
	int half;
};

/* ---- the file under libtiff ---- */

static tmsize_t
tf_read(thandle_t h, void *p, tmsize_t size)
{
	struct tfile *f = (struct tfile *)h;
	unsigned char *out = p;
	size_t n = size > 0 ? (size_t)size : 0, done = 0, k;
	ssize_t r;

	while (done < n) {
		if (f->pos >= f->boff && f->pos < f->boff + f->blen) {
			k = (size_t)(f->boff + f->blen - f->pos);
			if (k > n - done)
				k = n - done;
			memcpy(out + done, f->buf + (f->pos - f->boff), k);
			f->pos += k;
			done += k;
			continue;
		}
		/* A request as large as the buffer goes straight to the caller's memory. */
		if (n - done >= TFILE_BUF)
			r = pread(f->fd, out + done, n - done, (off_t)f->pos);
		else
			r = pread(f->fd, f->buf, TFILE_BUF, (off_t)f->pos);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n - done >= TFILE_BUF) {
			f->pos += (uint64_t)r;
			done += (size_t)r;
		} else {
			f->boff = f->pos;
			f->blen = (size_t)r;
		}
	}
	return done > 0 || n == 0 ? (tmsize_t)done : -1;
}

static tmsize_t
tf_write(thandle_t h, void *p, tmsize_t size)
{
	(void)h;
	(void)p;
	(void)size;
	return -1;
}

static uint64_t
tf_size(thandle_t h)
{
	struct tfile *f = (struct tfile *)h;
	struct stat st;

	return fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static toff_t
tf_seek(thandle_t h, toff_t off, int whence)
{
	struct tfile *f = (struct tfile *)h;

	if (whence == SEEK_CUR)
		off += f->pos;
	else if (whence == SEEK_END)
		off += tf_size(h);
	f->pos = off;
	return off;
}

static int
tf_close(thandle_t h)
{
	struct tfile *f = (struct tfile *)h;
	int rc;

	if (f == NULL)
		return 0;
	rc = f->fd >= 0 ? close(f->fd) : 0;
	free(f->buf);
	free(f);
	return rc;
}

static int
tf_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;
}

static void
tf_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

static struct tfile *
tf_open(const char *path)
{
	struct tfile *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->buf = malloc(TFILE_BUF)) == NULL) {
		em_fail_errno("out of memory");
		free(f);
		return NULL;
	}
	if ((f->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		em_fail_errno("cannot open");
		free(f->buf);
		free(f);
		return NULL;
	}
	return f;
}

/* ---- libtiff's messages go to em_fail/em_log, never to stderr ---- */

static int
tv_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	struct tv *t = ud;
	char msg[512];

	(void)tif;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (t != NULL && t->err[0] == '\0')
		snprintf(t->err, sizeof(t->err), "%s", msg);
	em_debug("libtiff: %s: %s", module != NULL ? module : "error", msg);
	return 1;
}

static int
tv_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	char msg[512];

	(void)tif;
	(void)ud;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	em_log(EM_LOG_INFO, "libtiff: %s: %s", module != NULL ? module : "warning", msg);
	return 1;
}

/* Process-wide handlers, for messages libtiff gives before or without a handle's own. */
static void
global_error(thandle_t h, const char *module, const char *fmt, va_list ap)
{
	char msg[512];

	(void)h;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	em_debug("libtiff: %s: %s", module != NULL ? module : "error", msg);
}

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void
install_handlers(void)
{
	TIFFSetErrorHandler(NULL);
	TIFFSetWarningHandler(NULL);
	TIFFSetErrorHandlerExt(global_error);
	TIFFSetWarningHandlerExt(global_error);
}

/* The reason of a failed libtiff call: its own message when it gave one. */
static int
tv_fail(struct tv *t, const char *what)
{
	if (t->err[0] != '\0')
		em_fail("%s: %s", what, t->err);
	else
		em_fail("%s", what);
	t->err[0] = '\0';
	return -1;
}

/* ---- pages ---- */

static int
page_read(TIFF *tif, struct page *p)
{
	uint16_t v16;
	uint32_t v32;

	memset(p, 0, sizeof(*p));
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &p->w) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &p->h))
		return em_fail("no image width or length");
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &v16);
	p->spp = v16;
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &v16);
	p->bps = v16;
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &v16);
	p->sf = v16;
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &v16);
	p->planar = v16;
	p->photometric = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &v16) ? v16 : PHOTOMETRIC_MINISBLACK;
	p->subfile = TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &v32) ? v32 : 0;
	return 0;
}

/* The numeric type of a page, or the reason it is refused. */
static int
page_type(struct page *p)
{
	static const enum em_dtype types[3][4] = {
		/* 8, 16, 32, 64 bits */
		{ EM_DT_U1, EM_DT_U2, EM_DT_U4, EM_DT_U8 },
		{ EM_DT_I1, EM_DT_I2, EM_DT_I4, EM_DT_I8 },
		{ EM_DT_NONE, EM_DT_NONE, EM_DT_F4, EM_DT_F8 },
	};
	int b;

	if (p->spp > 1 || p->photometric == PHOTOMETRIC_RGB ||
	    p->photometric == PHOTOMETRIC_YCBCR) {
		if (p->photometric == PHOTOMETRIC_RGB || p->photometric == PHOTOMETRIC_YCBCR)
			return em_fail("RGB image: not a single-channel volume");
		return em_fail("image of %u samples per pixel: not a single-channel volume",
		    p->spp);
	}
	if (p->photometric == PHOTOMETRIC_PALETTE)
		return em_fail("palette-colour image: not a grey-level volume");
	if (p->photometric == PHOTOMETRIC_SEPARATED || p->photometric == PHOTOMETRIC_CIELAB ||
	    p->photometric == PHOTOMETRIC_ICCLAB || p->photometric == PHOTOMETRIC_ITULAB)
		return em_fail("colour image (photometric %u): not a single-channel volume",
		    p->photometric);
	if (p->sf == SAMPLEFORMAT_COMPLEXINT || p->sf == SAMPLEFORMAT_COMPLEXIEEEFP)
		return em_fail("complex image: not a real-valued volume");
	b = p->bps == 8 ? 0 : p->bps == 16 ? 1 : p->bps == 32 ? 2 : p->bps == 64 ? 3 : -1;
	if (b < 0)
		return em_fail("%u-bit samples: only 8, 16, 32 and 64 bits are read", p->bps);
	if (p->sf == SAMPLEFORMAT_IEEEFP && p->bps == 16) {
		p->dt = EM_DT_F4;
		p->half = 1;
		return 0;
	}
	p->dt = types[p->sf == SAMPLEFORMAT_INT ? 1 : p->sf == SAMPLEFORMAT_IEEEFP ? 2 : 0][b];
	if (p->dt == EM_DT_NONE)
		return em_fail("%u-bit float samples are not read", p->bps);
	return 0;
}

/* ---- reading a plane ---- */

static int
grow_chunk(struct tv *t, uint64_t n)
{
	unsigned char *p;

	if (n > EM_TIFF_MAX_TILE_BYTES)
		return em_fail("a strip or tile of %llu bytes is more than the %llu read at once",
		    (unsigned long long)n, (unsigned long long)EM_TIFF_MAX_TILE_BYTES);
	if (n <= t->chunk_cap)
		return 0;
	if ((p = realloc(t->chunk, (size_t)n)) == NULL)
		return em_fail_errno("out of memory");
	t->chunk = p;
	t->chunk_cap = (size_t)n;
	return 0;
}

static void
half_to_float_inplace(unsigned char *buf, size_t n)
{
	size_t i = n;

	/* Backwards: each 2-byte value widens into 4 bytes at the same index. */
	while (i-- > 0) {
		uint16_t h;
		float f;

		memcpy(&h, buf + 2 * i, 2);
		f = em_half_to_float(h);
		memcpy(buf + 4 * i, &f, 4);
	}
}

/*
 * Whether the page's strips are uncompressed and lie one after another in
 * the file (as most writers lay them out): then the plane is one read
 * straight into place, where libtiff would read and copy each strip (a
 * plane of 8-row strips is over a hundred), and *start is where it begins.
 */
static int
plain_strips(struct tv *t, uint32_t nstrips, uint32_t rps, size_t rowb, uint64_t *start)
{
	uint16_t comp = 0;
	uint64_t *off = NULL, *cnt = NULL, want, end;
	uint32_t s, row, n;

	if (!TIFFGetFieldDefaulted(t->tif, TIFFTAG_COMPRESSION, &comp) || comp != COMPRESSION_NONE ||
	    !TIFFGetField(t->tif, TIFFTAG_STRIPOFFSETS, &off) ||
	    !TIFFGetField(t->tif, TIFFTAG_STRIPBYTECOUNTS, &cnt) || off == NULL || cnt == NULL)
		return 0;
	for (s = 0, row = 0; s < nstrips && row < t->h; s++, row += n) {
		n = t->h - row < rps ? t->h - row : rps;
		want = (uint64_t)n * rowb;
		if (cnt[s] < want || off[s] != off[0] + (uint64_t)row * rowb ||
		    __builtin_add_overflow(off[s], want, &end))
			return 0;
	}
	if (row < t->h)
		return 0;
	*start = off[0];
	return 1;
}

static int
tv_read_plane(struct em_img *img, uint64_t z, void *buf)
{
	struct tv *t = img->priv;
	unsigned char *out = buf;
	size_t es = t->half ? 2 : em_dtype_size(t->dt);	/* bytes per sample as decoded */
	size_t rowb = (size_t)t->w * es;
	struct page p;

	if (t->raw_fd >= 0) {
		size_t pb = em_img_plane_bytes(img);

		/* off[] holds the image number here, not an IFD offset. */
		if (em_pread_full(t->raw_fd, out, pb, t->raw_off + t->off[z] * pb) < 0)
			return em_fail_ctx("ImageJ stack plane %llu", (unsigned long long)z + 1);
		if (t->raw_swap)
			em_swap_bytes(out, pb / es, es);
		return 0;
	}
	t->err[0] = '\0';
	if (!TIFFSetSubDirectory(t->tif, t->off[z]))
		return tv_fail(t, "cannot read the TIFF directory of this page");
	if (page_read(t->tif, &p) < 0 || page_type(&p) < 0)
		return -1;
	if (p.w != t->w || p.h != t->h || p.dt != t->dt || p.half != t->half)
		return em_fail("page %llu changed while reading", (unsigned long long)z + 1);
	if (TIFFIsTiled(t->tif)) {
		uint32_t tw = 0, th = 0, x, y, r;
		tmsize_t ts = TIFFTileSize(t->tif);

		TIFFGetField(t->tif, TIFFTAG_TILEWIDTH, &tw);
		TIFFGetField(t->tif, TIFFTAG_TILELENGTH, &th);
		if (tw == 0 || th == 0 || ts <= 0 || (uint64_t)tw * th * es > (uint64_t)ts)
			return tv_fail(t, "bad TIFF tile size");
		if (grow_chunk(t, (uint64_t)ts) < 0)
			return -1;
		for (y = 0; y < t->h; y += th)
			for (x = 0; x < t->w; x += tw) {
				uint32_t cw = t->w - x < tw ? t->w - x : tw;
				uint32_t ch = t->h - y < th ? t->h - y : th;

				if (TIFFReadEncodedTile(t->tif, TIFFComputeTile(t->tif, x, y, 0, 0),
				    t->chunk, ts) < 0)
					return tv_fail(t, "cannot decode a TIFF tile");
				for (r = 0; r < ch; r++)
					memcpy(out + ((size_t)(y + r) * t->w + x) * es,
					    t->chunk + (size_t)r * tw * es, (size_t)cw * es);
			}
	} else {
		uint32_t rps = 0, s, nstrips = TIFFNumberOfStrips(t->tif), row = 0;
		tmsize_t ss = TIFFStripSize(t->tif);
		uint64_t start;

		TIFFGetFieldDefaulted(t->tif, TIFFTAG_ROWSPERSTRIP, &rps);
		if (rps == 0 || rps > t->h)
			rps = t->h;
		if (ss <= 0 || (uint64_t)ss < (uint64_t)rps * rowb)
			return tv_fail(t, "bad TIFF strip size");
		if (plain_strips(t, nstrips, rps, rowb, &start)) {
			if (em_pread_full(t->file->fd, out, (size_t)t->h * rowb, start) < 0)
				return em_fail_ctx("TIFF page %llu", (unsigned long long)z + 1);
			/* What libtiff does for uncompressed samples: this machine's order. */
			if (TIFFIsByteSwapped(t->tif) && es > 1)
				em_swap_bytes(out, (size_t)t->w * t->h, es);
			goto decoded;
		}
		/* libtiff decodes no more than the size it is given: straight into the plane. */
		for (s = 0; s < nstrips && row < t->h; s++) {
			uint32_t n = t->h - row < rps ? t->h - row : rps;

			if (TIFFReadEncodedStrip(t->tif, s, out + (size_t)row * rowb,
			    (tmsize_t)n * (tmsize_t)rowb) < 0)
				return tv_fail(t, "cannot decode a TIFF strip");
			row += n;
		}
		if (row < t->h)
			return em_fail("TIFF page %llu has strips for %u of %u rows",
			    (unsigned long long)z + 1, row, t->h);
	}
decoded:
	/* libtiff hands samples out in this machine's order. */
	if (t->half)
		half_to_float_inplace(out, (size_t)t->w * t->h);
	if (!em_host_is_le() && em_dtype_size(t->dt) > 1)
		em_swap_bytes(out, (size_t)t->w * t->h, em_dtype_size(t->dt));
	return 0;
}

static void
tv_close(void *priv)
{
	struct tv *t = priv;

	if (t == NULL)
		return;
	if (t->tif != NULL)
		TIFFClose(t->tif);
	if (t->raw_fd >= 0)
		close(t->raw_fd);
	free(t->off);
	free(t->chunk);
	free(t);
}

static const struct em_img_ops tv_ops = { tv_read_plane, tv_close };

/* ---- OME-XML and ImageJ descriptions: which page is which plane ---- */

/* The stack the description lays out: sizes, plane order, and a page for each plane. */
struct layout {
	uint64_t z, c, t;
	char order[4];		/* the three plane letters of DimensionOrder, fastest first */
	uint32_t *map;		/* page of each plane in that order; UINT32_MAX = none */
	uint64_t nmap;
	int have_voxel[3];
	double voxel[3];
	char unit[3][16];
	int contiguous;		/* ImageJ: more images than pages, stored after the first */
	char type[32];		/* OME Pixels Type */
};

static uint64_t
plane_index(const struct layout *l, uint64_t z, uint64_t c, uint64_t t)
{
	uint64_t idx = 0, mul = 1;
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t v = l->order[i] == 'Z' ? z : l->order[i] == 'C' ? c : t;
		uint64_t n = l->order[i] == 'Z' ? l->z : l->order[i] == 'C' ? l->c : l->t;

		idx += v * mul;
		mul *= n;
	}
	return idx;
}

static int
is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* An attribute as a non-negative integer; *v unchanged when absent. */
static int
attr_u64(xmlNode *n, const char *name, uint64_t *v, int *present)
{
	xmlChar *s = xmlGetProp(n, (const xmlChar *)name);
	char *end;
	unsigned long long u;
	int rc = 0;

	if (present != NULL)
		*present = s != NULL;
	if (s == NULL)
		return 0;
	u = strtoull((const char *)s, &end, 10);
	if (end == (char *)s || *end != '\0' || ((const char *)s)[0] == '-')
		rc = em_fail("OME-XML %s=\"%s\" is not a count", name, (const char *)s);
	else
		*v = u;
	xmlFree(s);
	return rc;
}

static void
attr_text(xmlNode *n, const char *name, char *dst, size_t cap, const char *dflt)
{
	xmlChar *s = xmlGetProp(n, (const xmlChar *)name);

	em_utf8_clean(dst, cap, s != NULL ? (const char *)s : dflt);
	xmlFree(s);
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

static int
ome_layout(const char *path, const char *xml, size_t len, struct layout *l, json_t *meta)
{
	xmlDoc *doc = NULL;
	xmlNode *root, *n, *image = NULL, *pixels = NULL, *td;
	xmlChar *self_uuid = NULL;
	uint64_t sx = 0, sy = 0, i, nimages = 0;
	char order[16], type[32], buf[64], name[256];
	int rc = -1, a, any_td = 0;
	static const char *const axes[3] = { "Z", "Y", "X" };

	doc = xmlReadMemory(xml, (int)len, "ome.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL || !is_elem(root, "OME")) {
		em_fail("OME-XML in ImageDescription does not parse");
		goto out;
	}
	self_uuid = xmlGetProp(root, (const xmlChar *)"UUID");
	for (n = root->children; n != NULL; n = n->next) {
		if (is_elem(n, "BinaryOnly")) {
			em_fail("OME-TIFF keeps its metadata in a companion file (BinaryOnly):"
			    " not read");
			goto out;
		}
		if (is_elem(n, "Image") && nimages++ == 0)
			image = n;
	}
	if (image != NULL)
		for (n = image->children; n != NULL; n = n->next)
			if (is_elem(n, "Pixels"))
				pixels = n;
	if (pixels == NULL) {
		em_fail("OME-XML has no Image/Pixels");
		goto out;
	}
	l->z = l->c = l->t = 1;
	if (attr_u64(pixels, "SizeX", &sx, NULL) < 0 || attr_u64(pixels, "SizeY", &sy, NULL) < 0 ||
	    attr_u64(pixels, "SizeZ", &l->z, NULL) < 0 || attr_u64(pixels, "SizeC", &l->c, NULL) < 0 ||
	    attr_u64(pixels, "SizeT", &l->t, NULL) < 0)
		goto out;
	attr_text(pixels, "DimensionOrder", order, sizeof(order), "XYZCT");
	attr_text(pixels, "Type", type, sizeof(type), "");
	snprintf(l->type, sizeof(l->type), "%s", type);
	if (strlen(order) != 5 || order[0] != 'X' || order[1] != 'Y' || !strchr(order + 2, 'Z') ||
	    !strchr(order + 2, 'C') || !strchr(order + 2, 'T')) {
		em_fail("OME-XML DimensionOrder \"%s\" is not one of XYZCT, XYZTC, XYCZT, XYCTZ,"
		    " XYTZC, XYTCZ", order);
		goto out;
	}
	memcpy(l->order, order + 2, 3);
	l->order[3] = '\0';
	if (l->z < 1 || l->c < 1 || l->t < 1 || l->z > EM_TIFF_MAX_PAGES ||
	    l->c > EM_TIFF_MAX_PAGES || l->t > EM_TIFF_MAX_PAGES ||
	    l->z * l->c * l->t > EM_TIFF_MAX_PAGES) {
		em_fail("OME-XML sizes Z=%llu C=%llu T=%llu are out of range",
		    (unsigned long long)l->z, (unsigned long long)l->c, (unsigned long long)l->t);
		goto out;
	}
	l->nmap = l->z * l->c * l->t;
	if ((l->map = malloc(l->nmap * sizeof(*l->map))) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	for (i = 0; i < l->nmap; i++)
		l->map[i] = UINT32_MAX;
	for (td = pixels->children; td != NULL; td = td->next) {
		uint64_t ifd = 0, fz = 0, fc = 0, ft = 0, count = 0, first, k;
		int has_ifd, has_count;
		xmlNode *u;

		if (!is_elem(td, "TiffData"))
			continue;
		any_td = 1;
		for (u = td->children; u != NULL; u = u->next) {
			xmlChar *fn, *id;
			int same;

			if (!is_elem(u, "UUID"))
				continue;
			/*
			 * This file's planes carry the UUID of its OME element; a
			 * renamed copy still matches by it, a plane of another
			 * file of a set does not.
			 */
			fn = xmlGetProp(u, (const xmlChar *)"FileName");
			id = xmlNodeGetContent(u);
			same = (id != NULL && self_uuid != NULL &&
			    strcmp((const char *)id, (const char *)self_uuid) == 0) ||
			    (fn != NULL && strcmp(base_name((const char *)fn), base_name(path)) == 0) ||
			    (fn == NULL && id == NULL);
			if (!same)
				em_fail("OME-TIFF has planes in another file '%s': multi-file sets"
				    " are not read", fn != NULL ? (const char *)fn : "?");
			xmlFree(fn);
			xmlFree(id);
			if (!same)
				goto out;
		}
		if (attr_u64(td, "IFD", &ifd, &has_ifd) < 0 || attr_u64(td, "FirstZ", &fz, NULL) < 0 ||
		    attr_u64(td, "FirstC", &fc, NULL) < 0 || attr_u64(td, "FirstT", &ft, NULL) < 0 ||
		    attr_u64(td, "PlaneCount", &count, &has_count) < 0)
			goto out;
		if (fz >= l->z || fc >= l->c || ft >= l->t) {
			em_fail("OME-XML TiffData FirstZ/C/T = %llu/%llu/%llu is outside the image",
			    (unsigned long long)fz, (unsigned long long)fc, (unsigned long long)ft);
			goto out;
		}
		first = plane_index(l, fz, fc, ft);
		if (!has_count)
			count = has_ifd ? 1 : l->nmap - first;
		if (count > l->nmap - first || ifd + count > EM_TIFF_MAX_PAGES) {
			em_fail("OME-XML TiffData maps %llu planes from plane %llu: the image has %llu",
			    (unsigned long long)count, (unsigned long long)first,
			    (unsigned long long)l->nmap);
			goto out;
		}
		for (k = 0; k < count; k++)
			l->map[first + k] = (uint32_t)(ifd + k);
	}
	if (!any_td)
		for (i = 0; i < l->nmap; i++)
			l->map[i] = (uint32_t)i;

	for (a = 0; a < 3; a++) {
		char an[32], au[40];
		xmlChar *s;

		snprintf(an, sizeof(an), "PhysicalSize%s", axes[a]);
		snprintf(au, sizeof(au), "PhysicalSize%sUnit", axes[a]);
		attr_text(pixels, au, l->unit[a], sizeof(l->unit[a]), "\xc2\xb5m");
		if ((s = xmlGetProp(pixels, (const xmlChar *)an)) != NULL) {
			char *end;
			double v = strtod((const char *)s, &end);

			if (end != (char *)s && *end == '\0') {
				l->have_voxel[a] = 1;
				l->voxel[a] = v;
			}
			xmlFree(s);
		} else {
			l->unit[a][0] = '\0';
		}
	}
	attr_text(image, "Name", name, sizeof(name), "");
	json_object_set_new(meta, "ome", json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:I}",
	    "SizeX", (json_int_t)sx, "SizeY", (json_int_t)sy, "SizeZ", (json_int_t)l->z,
	    "SizeC", (json_int_t)l->c, "SizeT", (json_int_t)l->t, "DimensionOrder", order,
	    "Type", type, "images", (json_int_t)nimages));
	if (name[0] != '\0')
		json_object_set_new(meta, "title", json_string(name));
	for (n = image->children; n != NULL; n = n->next)
		if (is_elem(n, "AcquisitionDate")) {
			xmlChar *s = xmlNodeGetContent(n);

			if (s != NULL) {
				em_utf8_clean(buf, sizeof(buf), (const char *)s);
				json_object_set_new(meta, "acquisition_date", json_string(buf));
				xmlFree(s);
			}
		}
	if (nimages > 1)
		em_log(EM_LOG_INFO, "OME-XML describes %llu images; the first is read",
		    (unsigned long long)nimages);
	rc = 0;
out:
	xmlFree(self_uuid);
	xmlFreeDoc(doc);
	return rc;
}

/* ImageJ's "key=value" lines: stack sizes, unit and z spacing. */
static int
imagej_layout(const char *desc, TIFF *tif, uint64_t npages, struct layout *l, json_t *meta)
{
	char unit[64] = "", line[256];
	const char *p = desc, *e;
	double spacing = 0, xres = 0;
	float fr;
	uint64_t images = npages, i;
	uint16_t ru = RESUNIT_NONE;

	l->z = l->c = l->t = 1;
	memcpy(l->order, "CZT", 4);
	while (*p != '\0') {
		size_t n;
		char *eq, *end;

		e = strchr(p, '\n');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
		p += n + (e != NULL);
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "unit") == 0) {
			/* ImageJ escapes non-ASCII: "\u00B5m" is µm. */
			if (strcmp(eq, "\\u00B5m") == 0)
				snprintf(unit, sizeof(unit), "\xc2\xb5m");
			else
				em_utf8_clean(unit, sizeof(unit), eq);
		} else if (strcmp(line, "spacing") == 0) {
			spacing = strtod(eq, &end);
		} else if (strcmp(line, "images") == 0 || strcmp(line, "slices") == 0 ||
		    strcmp(line, "channels") == 0 || strcmp(line, "frames") == 0) {
			unsigned long long v = strtoull(eq, &end, 10);

			if (*end != '\0' || v < 1 || v > EM_TIFF_MAX_PAGES)
				return em_fail("ImageJ %s=%s is out of range", line, eq);
			if (line[0] == 'i')
				images = v;
			else if (line[0] == 's')
				l->z = v;
			else if (line[0] == 'c')
				l->c = v;
			else
				l->t = v;
		}
	}
	if (l->z * l->c * l->t != images) {
		/* Plain stacks say images=N only: every page a slice. */
		if (l->z == 1 && l->c == 1 && l->t == 1)
			l->z = images;
		else
			return em_fail("ImageJ images=%llu is not slices x channels x frames",
			    (unsigned long long)images);
	}
	if (images != npages && npages != 1)
		return em_fail("ImageJ stack of %llu images in %llu TIFF pages: not read",
		    (unsigned long long)images, (unsigned long long)npages);
	l->contiguous = images != npages;
	l->nmap = images;
	if ((l->map = malloc(l->nmap * sizeof(*l->map))) == NULL)
		return em_fail_errno("out of memory");
	for (i = 0; i < l->nmap; i++)
		l->map[i] = (uint32_t)i;
	/* XResolution is pixels per unit, in ImageJ's unit when ResolutionUnit is none. */
	TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &ru);
	/* libtiff hands the rational out as a float32: take the decimal it stands for. */
	if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &fr) && fr > 0)
		xres = em_decimal_f32(fr);
	if (ru == RESUNIT_NONE && unit[0] != '\0' && xres > 0) {
		l->have_voxel[2] = 1;
		l->voxel[2] = 1 / xres;
		snprintf(l->unit[2], sizeof(l->unit[2]), "%s", unit);
		if (TIFFGetField(tif, TIFFTAG_YRESOLUTION, &fr) && fr > 0) {
			l->have_voxel[1] = 1;
			l->voxel[1] = 1 / em_decimal_f32(fr);
			snprintf(l->unit[1], sizeof(l->unit[1]), "%s", unit);
		}
	}
	if (spacing > 0 && l->z > 1 && unit[0] != '\0') {
		l->have_voxel[0] = 1;
		l->voxel[0] = spacing;
		snprintf(l->unit[0], sizeof(l->unit[0]), "%s", unit);
	}
	json_object_set_new(meta, "imagej", json_pack("{s:I, s:I, s:I, s:I, s:s, s:b}",
	    "images", (json_int_t)images, "slices", (json_int_t)l->z, "channels", (json_int_t)l->c,
	    "frames", (json_int_t)l->t, "unit", unit, "contiguous", l->contiguous));
	return 0;
}

/* ---- open ---- */

/* The first page's free-text tags worth keeping, as printable ASCII. */
static void
text_tags(TIFF *tif, json_t *meta)
{
	static const struct {
		uint32_t tag;
		const char *key;
	} tags[] = {
		{ TIFFTAG_SOFTWARE, "software" }, { TIFFTAG_DATETIME, "datetime" },
		{ TIFFTAG_MAKE, "make" }, { TIFFTAG_MODEL, "model" }, { TIFFTAG_ARTIST, "artist" },
		{ TIFFTAG_DOCUMENTNAME, "document_name" }, { TIFFTAG_PAGENAME, "page_name" },
	};
	const char *v;
	char text[256];
	size_t i, k;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (!TIFFGetField(tif, tags[i].tag, &v) || v == NULL || v[0] == '\0')
			continue;
		for (k = 0; v[k] != '\0' && k < sizeof(text) - 1; k++)
			text[k] = (v[k] >= 0x20 && v[k] < 0x7f) ? v[k] : '?';
		text[k] = '\0';
		json_object_set_new(meta, tags[i].key, json_string(text));
	}
}

/*
 * The first page of a contiguous ImageJ stack: uncompressed strips one after
 * another; the planes follow it the same way, up to the file's end.
 */
static int
imagej_raw(struct tv *t, const char *path, uint64_t ifd0, uint64_t nplanes, uint64_t nimages)
{
	uint64_t *offs = NULL, *counts = NULL, pb, next, i;
	uint16_t comp = COMPRESSION_NONE;
	uint32_t ns;
	struct stat st;

	if (!TIFFSetSubDirectory(t->tif, ifd0))
		return tv_fail(t, "cannot read the first TIFF directory");
	TIFFGetFieldDefaulted(t->tif, TIFFTAG_COMPRESSION, &comp);
	if (comp != COMPRESSION_NONE || TIFFIsTiled(t->tif))
		return em_fail("ImageJ stack of %llu images in one TIFF page is compressed or tiled:"
		    " not read", (unsigned long long)nplanes);
	ns = TIFFNumberOfStrips(t->tif);
	if (!TIFFGetField(t->tif, TIFFTAG_STRIPOFFSETS, &offs) ||
	    !TIFFGetField(t->tif, TIFFTAG_STRIPBYTECOUNTS, &counts) || ns == 0)
		return tv_fail(t, "ImageJ stack without strips");
	pb = (uint64_t)t->w * t->h * em_dtype_size(t->dt);
	next = offs[0];
	for (i = 0; i < ns; i++) {
		if (offs[i] != next)
			return em_fail("ImageJ stack of %llu images whose first plane is not in one"
			    " piece: not read", (unsigned long long)nplanes);
		next += counts[i];
	}
	if (next - offs[0] != pb)
		return em_fail("ImageJ first plane has %llu bytes, not %llu",
		    (unsigned long long)(next - offs[0]), (unsigned long long)pb);
	if ((t->raw_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return em_fail_errno("cannot open");
	if (fstat(t->raw_fd, &st) < 0)
		return em_fail_errno("cannot stat");
	if (nimages > ((uint64_t)st.st_size - (offs[0] < (uint64_t)st.st_size ? offs[0] :
	    (uint64_t)st.st_size)) / pb)
		return em_fail("truncated ImageJ stack: %llu images of %llu bytes from offset %llu,"
		    " the file has %llu bytes", (unsigned long long)nimages, (unsigned long long)pb,
		    (unsigned long long)offs[0], (unsigned long long)st.st_size);
	t->raw_off = offs[0];
	t->raw_swap = em_dtype_size(t->dt) > 1 && (TIFFIsBigEndian(t->tif) != 0) == em_host_is_le();
	return 0;
}

int
em_tiffvol_open_img(const char *path, const struct em_img_opts *opts, struct em_img **out)
{
	TIFFOpenOptions *to = NULL;
	struct tv *t = NULL;
	struct em_img *img = NULL;
	struct page first = { 0 }, p;
	struct layout l;
	uint64_t *ifd = NULL, nifd = 0, cap = 0, i, *pl = NULL, npl = 0;
	char *desc = NULL;
	const char *d0;
	int ome = 0, imagej = 0, rc = -1, a;
	uint64_t ch = 0, tp = 0;
	json_t *meta;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	pthread_once(&handlers_once, install_handlers);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	t->raw_fd = -1;
	if ((to = TIFFOpenOptionsAlloc()) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	TIFFOpenOptionsSetErrorHandlerExtR(to, tv_error, t);
	TIFFOpenOptionsSetWarningHandlerExtR(to, tv_warning, t);
	/* libtiff's own buffers (directories, strip tables) have a ceiling too. */
	TIFFOpenOptionsSetMaxSingleMemAlloc(to, (tmsize_t)EM_TIFF_MAX_TILE_BYTES);
	if ((t->file = tf_open(path)) == NULL)
		goto out;
	/* "m": no memory map (tf_map maps nothing either). */
	if ((t->tif = TIFFClientOpenExt(path, "rm", (thandle_t)t->file, tf_read, tf_write,
	    tf_seek, tf_close, tf_size, tf_map, tf_unmap, to)) == NULL) {
		tf_close((thandle_t)t->file);	/* a failed open does not close it */
		t->file = NULL;
		tv_fail(t, "not a readable TIFF file");
		goto out;
	}
	if ((img = em_img_new(EM_IMG_TIFF)) == NULL)
		goto out;
	meta = img->info.source_metadata;

	/* Walk the IFD chain once: the offset of each page and its description. */
	do {
		if (nifd == cap) {
			uint64_t *q;

			if (nifd >= EM_TIFF_MAX_PAGES) {
				em_fail("TIFF has more than %u pages", EM_TIFF_MAX_PAGES);
				goto out;
			}
			cap = cap ? cap * 2 : 64;
			if ((q = realloc(ifd, cap * sizeof(*ifd))) == NULL) {
				em_fail_errno("out of memory");
				goto out;
			}
			ifd = q;
		}
		ifd[nifd++] = TIFFCurrentDirOffset(t->tif);
		if (nifd == 1 && TIFFGetField(t->tif, TIFFTAG_IMAGEDESCRIPTION, &d0) && d0 != NULL) {
			size_t n = strnlen(d0, EM_TIFF_MAX_DESCRIPTION);

			if ((desc = malloc(n + 1)) == NULL) {
				em_fail_errno("out of memory");
				goto out;
			}
			memcpy(desc, d0, n);
			desc[n] = '\0';
		}
	} while (TIFFReadDirectory(t->tif));
	if (t->err[0] != '\0') {
		/* A broken IFD chain: the pages before it are not a whole stack either. */
		em_fail("TIFF directory %llu cannot be read: %s", (unsigned long long)nifd + 1, t->err);
		goto out;
	}
	json_object_set_new(meta, "format", json_string("TIFF"));
	json_object_set_new(meta, "bigtiff", json_boolean(TIFFIsBigTIFF(t->tif)));
	json_object_set_new(meta, "byte_order", json_string(TIFFIsBigEndian(t->tif) ? "big" : "little"));
	json_object_set_new(meta, "pages", json_integer((json_int_t)nifd));

	if (desc != NULL && (strncmp(desc, "<?xml", 5) == 0 || strncmp(desc, "<OME", 4) == 0) &&
	    strstr(desc, "<OME") != NULL) {
		ome = 1;
		img->info.format = EM_IMG_OMETIFF;
		json_object_set_new(meta, "format", json_string("OME-TIFF"));
		if (ome_layout(path, desc, strlen(desc), &l, meta) < 0)
			goto out;
	} else if (desc != NULL && strncmp(desc, "ImageJ=", 7) == 0) {
		imagej = 1;
		if (!TIFFSetSubDirectory(t->tif, ifd[0])) {
			tv_fail(t, "cannot read the first TIFF directory");
			goto out;
		}
		if (imagej_layout(desc, t->tif, nifd, &l, meta) < 0)
			goto out;
	}

	if ((pl = malloc((l.contiguous ? l.nmap : nifd) * sizeof(*pl))) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	if (ome || imagej) {
		const char *what = ome ? "OME-TIFF" : "ImageJ hyperstack";
		uint64_t npages = l.contiguous ? l.nmap : nifd;

		if (l.c > 1 && (opts->channel < 0 || (uint64_t)opts->channel >= l.c)) {
			em_fail("%s with %llu channels (C=%llu, Z=%llu, T=%llu): not a single-channel"
			    " volume; choose a channel", what, (unsigned long long)l.c,
			    (unsigned long long)l.c, (unsigned long long)l.z, (unsigned long long)l.t);
			goto out;
		}
		if (l.c > 1)
			ch = (uint64_t)opts->channel;
		if (l.t > 1 && l.z > 1 && (opts->timepoint < 0 || (uint64_t)opts->timepoint >= l.t)) {
			em_fail("%s with %llu time points of %llu slices: not a single volume;"
			    " choose a time point", what, (unsigned long long)l.t,
			    (unsigned long long)l.z);
			goto out;
		}
		if (l.t > 1 && l.z > 1)
			tp = (uint64_t)opts->timepoint;
		json_object_set_new(meta, "channel", json_integer((json_int_t)ch));
		if (l.t > 1 && l.z == 1) {
			/* A time series of single planes: the time points are the stack. */
			json_object_set_new(meta, "stack_axis", json_string("T"));
			for (i = 0; i < l.t; i++) {
				uint32_t m = l.map[plane_index(&l, 0, ch, i)];

				if (m == UINT32_MAX || m >= npages) {
					em_fail("%s plane T=%llu has no page in this file", what,
					    (unsigned long long)i);
					goto out;
				}
				pl[npl++] = m;
			}
		} else {
			json_object_set_new(meta, "timepoint", json_integer((json_int_t)tp));
			for (i = 0; i < l.z; i++) {
				uint32_t m = l.map[plane_index(&l, i, ch, tp)];

				if (m == UINT32_MAX || m >= npages) {
					em_fail("%s plane Z=%llu C=%llu T=%llu has %s (the file has %llu"
					    " pages)", what, (unsigned long long)i,
					    (unsigned long long)ch, (unsigned long long)tp,
					    m == UINT32_MAX ? "no page" : "a page past the last",
					    (unsigned long long)npages);
					goto out;
				}
				pl[npl++] = m;
			}
		}
	} else {
		/* Every full-resolution page is a plane; reduced ones (previews) are skipped. */
		for (i = 0; i < nifd; i++) {
			if (!TIFFSetSubDirectory(t->tif, ifd[i])) {
				tv_fail(t, "cannot read a TIFF directory");
				goto out;
			}
			if (page_read(t->tif, &p) < 0)
				goto out;
			if ((p.subfile & FILETYPE_REDUCEDIMAGE) && i > 0) {
				em_debug("TIFF page %llu is a reduced-resolution image: skipped",
				    (unsigned long long)i + 1);
				continue;
			}
			pl[npl++] = i;
		}
	}

	/* Every plane's page must be like the first (a contiguous ImageJ stack has one page). */
	for (i = 0; i < (l.contiguous ? 1 : npl); i++) {
		if (!TIFFSetSubDirectory(t->tif, ifd[l.contiguous ? 0 : pl[i]])) {
			tv_fail(t, "cannot read a TIFF directory");
			em_fail_ctx("page %llu", (unsigned long long)pl[i] + 1);
			goto out;
		}
		if (page_read(t->tif, &p) < 0 || page_type(&p) < 0) {
			if (i > 0)
				em_fail_ctx("page %llu", (unsigned long long)pl[i] + 1);
			goto out;
		}
		if (i == 0) {
			first = p;
			continue;
		}
		if (p.w != first.w || p.h != first.h || p.dt != first.dt || p.half != first.half) {
			em_fail("page %llu is %ux%u %s, page %llu is %ux%u %s: not one stack",
			    (unsigned long long)pl[i] + 1, p.h, p.w, em_dtype_name(p.dt),
			    (unsigned long long)pl[0] + 1, first.h, first.w, em_dtype_name(first.dt));
			goto out;
		}
	}
	if (npl == 0) {
		em_fail("TIFF has no image pages");
		goto out;
	}
	t->w = first.w;
	t->h = first.h;
	t->dt = first.dt;
	t->half = first.half;
	t->nplanes = npl;
	if ((t->off = malloc(npl * sizeof(*t->off))) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	for (i = 0; i < npl; i++)
		t->off[i] = l.contiguous ? pl[i] : ifd[pl[i]];
	if (l.contiguous && imagej_raw(t, path, ifd[0], npl, l.nmap) < 0)
		goto out;
	img->info.dtype = first.dt;
	img->info.shape[EM_Z] = npl;
	img->info.shape[EM_Y] = first.h;
	img->info.shape[EM_X] = first.w;
	img->info.ndim = npl > 1 ? 3 : 2;
	if (ome && l.z > 1)
		img->info.ndim = 3;
	if (em_img_check_shape(&img->info) < 0)
		goto out;
	if (first.half)
		json_object_set_new(meta, "converted", json_string("float16 to float32"));
	if (first.photometric == PHOTOMETRIC_MINISWHITE)
		/* The values are stored as they are: 0 is white in this file. */
		json_object_set_new(meta, "photometric", json_string("min-is-white"));
	if (TIFFSetSubDirectory(t->tif, ifd[0]))
		text_tags(t->tif, meta);
	if (ome && l.type[0] != '\0' && strcmp(l.type, em_dtype_name(first.dt)) != 0 &&
	    !(strcmp(l.type, "float") == 0 && first.dt == EM_DT_F4) &&
	    !(strcmp(l.type, "double") == 0 && first.dt == EM_DT_F8))
		em_log(EM_LOG_WARN, "OME-XML says the pixels are %s, the TIFF pages hold %s: read as %s",
		    l.type, em_dtype_name(first.dt), em_dtype_name(first.dt));
	for (a = 0; a < 3; a++) {
		if (a == EM_Z && img->info.ndim == 2)
			continue;
		if (l.have_voxel[a] || l.unit[a][0] != '\0')
			em_img_set_voxel(&img->info, a, l.have_voxel[a] ? l.voxel[a] : 0, l.unit[a]);
	}
	if (!ome && !imagej) {
		float xr = 0;
		uint16_t ru = RESUNIT_INCH;

		/*
		 * A plain TIFF's resolution is a print setting (72 dpi, 1 pixel/cm
		 * are writers' defaults), not a calibration: kept as metadata only.
		 */
		if (TIFFSetSubDirectory(t->tif, ifd[pl[0]]) &&
		    TIFFGetField(t->tif, TIFFTAG_XRESOLUTION, &xr)) {
			TIFFGetFieldDefaulted(t->tif, TIFFTAG_RESOLUTIONUNIT, &ru);
			if (isfinite(xr))
				json_object_set_new(meta, "resolution", json_pack("{s:f, s:s}",
				    "x", (double)xr, "unit", ru == RESUNIT_INCH ? "inch" :
				    ru == RESUNIT_CENTIMETER ? "centimeter" : "none"));
		}
		if (desc != NULL && desc[0] != '\0') {
			char text[1024];
			size_t k, n = 0;

			/* Only printable ASCII goes into JSON text. */
			for (k = 0; desc[k] != '\0' && n < sizeof(text) - 1; k++)
				text[n++] = (desc[k] >= 0x20 && desc[k] < 0x7f) || desc[k] == '\n' ?
				    desc[k] : '?';
			text[n] = '\0';
			json_object_set_new(meta, "description", json_string(text));
		}
	}
	img->ops = &tv_ops;
	img->priv = t;
	t = NULL;
	*out = img;
	img = NULL;
	rc = 0;
out:
	if (to != NULL)
		TIFFOpenOptionsFree(to);
	free(l.map);
	free(ifd);
	free(pl);
	free(desc);
	em_img_free(img);
	tv_close(t);
	return rc;
}

int
em_tiffvol_open(const char *path, const struct em_img_opts *opts, struct em_img **out)
{
	static const struct em_img_opts defaults = EM_IMG_OPTS_INIT;

	return em_tiffvol_open_img(path, opts != NULL ? opts : &defaults, out);
}
