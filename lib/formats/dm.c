/* dm.c - Gatan DigitalMicrograph DM3/DM4 tag files: the limits and the plane reader behind image.h */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/decimal.h"
#include "core/diag.h"
#include "formats/dm.h"
#include "formats/image_internal.h"
#include "core/banned.h"

/* The tag tree is read through this much buffer; data arrays are skipped, never read. */
#define RD_BUF 65536
/* Type descriptions nest (array of structs, array of arrays) only a few levels. */

enum {
	TAG_GROUP = 20, TAG_DATA = 21,
	T_I2 = 2, T_I4 = 3, T_U2 = 4, T_U4 = 5, T_F4 = 6, T_F8 = 7, T_BOOL = 8,
	T_I1 = 9, T_U1 = 10, T_I8 = 11, T_U8 = 12, T_STRUCT = 15, T_STRING = 18,
	T_ARRAY = 20,
};

struct dm_cal {
	double scale, origin;
	int has_scale, has_origin;
	char units[32];
};

struct dm_image {
	int datatype, has_datatype;
	uint64_t dims[EM_DM_MAX_DIMS];
	int ndims;			/* highest Dimensions index + 1 */
	int has_data;
	uint64_t data_elt;		/* bytes of one element of the Data array */
	uint64_t data_off, data_bytes, data_n;
	struct dm_cal cal[EM_DM_MAX_DIMS];
	char name[256];
	json_t *tags;			/* flat ImageTags, "Microscope Info.Voltage" -> value */
	int is_thumb;
};

struct rd {
	int fd;
	uint64_t size, pos;
	unsigned char buf[RD_BUF];
	uint64_t buf_off;
	size_t buf_len;
	int version, le;
	uint64_t ntags;
	char label[EM_DM_MAX_DEPTH][EM_DM_MAX_LABEL];
	uint64_t index[EM_DM_MAX_DEPTH];
	struct dm_image *img;		/* EM_DM_MAX_IMAGES of them */
	int nimg;
	uint64_t info[EM_DM_MAX_INFO];
};

struct dm {
	int fd;
	uint64_t data_off;
	size_t plane_bytes;
	int swap;
};

static const struct {
	int code;
	const char *name;
	enum em_dtype dtype;
} dm_types[] = {
	{ 1, "int16", EM_DT_I2 }, { 2, "float32", EM_DT_F4 }, { 3, "complex64", EM_DT_NONE },
	{ 4, "obsolete", EM_DT_NONE }, { 5, "packed complex64", EM_DT_NONE },
	{ 6, "uint8", EM_DT_U1 }, { 7, "int32", EM_DT_I4 }, { 8, "RGB", EM_DT_NONE },
	{ 9, "int8", EM_DT_I1 }, { 10, "uint16", EM_DT_U2 }, { 11, "uint32", EM_DT_U4 },
	{ 12, "float64", EM_DT_F8 }, { 13, "complex128", EM_DT_NONE },
	{ 14, "bool", EM_DT_NONE }, { 23, "RGBA", EM_DT_NONE },
	{ 27, "packed complex64", EM_DT_NONE }, { 28, "packed complex128", EM_DT_NONE },
};

enum em_dtype
em_dm_dtype(int datatype)
{
	size_t i;

	for (i = 0; i < sizeof(dm_types) / sizeof(dm_types[0]); i++)
		if (dm_types[i].code == datatype)
			return dm_types[i].dtype;
	return EM_DT_NONE;
}

const char *
em_dm_type_name(int datatype)
{
	size_t i;

	for (i = 0; i < sizeof(dm_types) / sizeof(dm_types[0]); i++)
		if (dm_types[i].code == datatype)
			return dm_types[i].name;
	return "unknown";
}

/* ---- reading the tag stream ---- */

static int
rd_bytes(struct rd *r, void *dst, size_t n)
{
	unsigned char *d = dst;

	if (n > r->size || r->pos > r->size - n)
		return em_fail("truncated DM file: %zu bytes needed at offset %llu, the file has %llu",
		    n, (unsigned long long)r->pos, (unsigned long long)r->size);
	while (n > 0) {
		size_t k;
		ssize_t got;

		if (r->pos >= r->buf_off && r->pos < r->buf_off + r->buf_len) {
			k = (size_t)(r->buf_off + r->buf_len - r->pos);
			if (k > n)
				k = n;
			memcpy(d, r->buf + (r->pos - r->buf_off), k);
			d += k;
			n -= k;
			r->pos += k;
			continue;
		}
		do
			got = pread(r->fd, r->buf, sizeof(r->buf), (off_t)r->pos);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return em_fail_errno("read at offset %llu", (unsigned long long)r->pos);
		if (got == 0)
			return em_fail("truncated DM file at offset %llu", (unsigned long long)r->pos);
		r->buf_off = r->pos;
		r->buf_len = (size_t)got;
	}
	return 0;
}

static int
rd_skip(struct rd *r, uint64_t n)
{
	if (n > r->size || r->pos > r->size - n)
		return em_fail("truncated DM file: a %llu-byte value at offset %llu runs past the end"
		    " (%llu bytes)", (unsigned long long)n, (unsigned long long)r->pos,
		    (unsigned long long)r->size);
	r->pos += n;
	return 0;
}

/* A big-endian unsigned of n bytes (the tree's structure is always big-endian). */
static int
rd_be(struct rd *r, size_t n, uint64_t *v)
{
	unsigned char b[8];
	size_t i;

	if (rd_bytes(r, b, n) < 0)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | b[i];
	return 0;
}

/* Words are 4 bytes in DM3, 8 in DM4. */
static int
rd_word(struct rd *r, uint64_t *v)
{
	return rd_be(r, r->version == 4 ? 8 : 4, v);
}

static size_t
simple_size(uint64_t t)
{
	switch (t) {
	case T_I2: case T_U2: return 2;
	case T_I4: case T_U4: case T_F4: return 4;
	case T_F8: case T_I8: case T_U8: return 8;
	case T_BOOL: case T_I1: case T_U1: return 1;
	}
	return 0;
}

/* Bytes of one value of the type at info[*pos], moving *pos past its description. */
static int
type_size(const uint64_t *info, size_t n, size_t *pos, int depth, uint64_t *size)
{
	uint64_t t, count, sz, f, nfields;

	if (depth > EM_DM_MAX_TYPE_DEPTH)
		return em_fail("DM type description nests more than %d levels", EM_DM_MAX_TYPE_DEPTH);
	if (*pos >= n)
		return em_fail("DM type description ends early");
	t = info[(*pos)++];
	if (simple_size(t)) {
		*size = simple_size(t);
		return 0;
	}
	switch (t) {
	case T_STRING:
		if (*pos >= n)
			return em_fail("DM string type without a length");
		count = info[(*pos)++];
		if (count > UINT64_MAX / 2)
			return em_fail("DM string of %llu characters", (unsigned long long)count);
		*size = count * 2;
		return 0;
	case T_STRUCT:
		if (*pos + 2 > n)
			return em_fail("DM struct type ends early");
		nfields = info[*pos + 1];
		*pos += 2;
		*size = 0;
		for (f = 0; f < nfields; f++) {
			if (*pos >= n)
				return em_fail("DM struct type ends early");
			(*pos)++;	/* the field's name length, always 0 */
			if (type_size(info, n, pos, depth + 1, &sz) < 0)
				return -1;
			if (sz > UINT64_MAX - *size)
				return em_fail("DM struct size overflows");
			*size += sz;
		}
		return 0;
	case T_ARRAY:
		if (type_size(info, n, pos, depth + 1, &sz) < 0)
			return -1;
		if (*pos >= n)
			return em_fail("DM array type without a length");
		count = info[(*pos)++];
		if (sz != 0 && count > UINT64_MAX / sz)
			return em_fail("DM array of %llu elements overflows", (unsigned long long)count);
		*size = sz * count;
		return 0;
	}
	return em_fail("unknown DM type code %llu", (unsigned long long)t);
}

/* The value of a simple type from bytes in the values' byte order. */
static json_t *
simple_json(const struct rd *r, uint64_t t, const unsigned char *p)
{
	unsigned char b[8];
	size_t n = simple_size(t), i;
	uint64_t u = 0;
	double d;
	float f;

	for (i = 0; i < n; i++)
		b[i] = r->le ? p[n - 1 - i] : p[i];	/* b is big-endian now */
	for (i = 0; i < n; i++)
		u = u << 8 | b[i];
	switch (t) {
	case T_I1: return json_integer((int8_t)u);
	case T_U1: return json_integer((json_int_t)u);
	case T_I2: return json_integer((int16_t)u);
	case T_U2: return json_integer((json_int_t)u);
	case T_I4: return json_integer((int32_t)u);
	case T_U4: return json_integer((json_int_t)u);
	case T_I8: return json_integer((json_int_t)(int64_t)u);
	case T_U8: return u > INT64_MAX ? json_real((double)u) : json_integer((json_int_t)u);
	case T_BOOL: return json_boolean(u != 0);
	case T_F4: {
		uint32_t v = (uint32_t)u;

		memcpy(&f, &v, 4);
		/* The decimal the float32 stands for: a 0.008 um scale is 8 nm, not 8.00000038. */
		return isfinite(f) ? json_real(em_decimal_f32(f)) : json_null();
	}
	case T_F8:
		memcpy(&d, &u, 8);
		return isfinite(d) ? json_real(d) : json_null();
	}
	return NULL;
}

static int
put_utf8(char *dst, size_t cap, size_t *len, uint32_t c)
{
	unsigned char b[4];
	size_t n, i;

	if (c < 0x80)
		b[0] = (unsigned char)c, n = 1;
	else if (c < 0x800)
		b[0] = (unsigned char)(0xc0 | c >> 6), b[1] = (unsigned char)(0x80 | (c & 0x3f)), n = 2;
	else if (c < 0x10000)
		b[0] = (unsigned char)(0xe0 | c >> 12), b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)),
		    b[2] = (unsigned char)(0x80 | (c & 0x3f)), n = 3;
	else
		b[0] = (unsigned char)(0xf0 | c >> 18), b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f)),
		    b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)),
		    b[3] = (unsigned char)(0x80 | (c & 0x3f)), n = 4;
	if (*len + n >= cap)
		return -1;
	for (i = 0; i < n; i++)
		dst[(*len)++] = (char)b[i];
	dst[*len] = '\0';
	return 0;
}

/* UTF-16 code units (values' byte order) to UTF-8, cut at cap; bad surrogates become U+FFFD. */
static void
utf16_text(const struct rd *r, const unsigned char *p, size_t nchars, char *dst, size_t cap)
{
	size_t i, len = 0;

	dst[0] = '\0';
	for (i = 0; i < nchars; i++) {
		uint32_t c = r->le ? (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) :
		    (uint32_t)(p[2 * i + 1] | p[2 * i] << 8);

		if (c >= 0xd800 && c < 0xdc00 && i + 1 < nchars) {
			uint32_t c2 = r->le ? (uint32_t)(p[2 * i + 2] | p[2 * i + 3] << 8) :
			    (uint32_t)(p[2 * i + 3] | p[2 * i + 2] << 8);

			if (c2 >= 0xdc00 && c2 < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
				i++;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c < 0xe000) {
			c = 0xfffd;
		}
		if (c == 0)
			break;
		if (put_utf8(dst, cap, &len, c) < 0)
			break;
	}
}

/* 8-bit text (labels, char arrays) read as Latin-1, so that it is always valid UTF-8. */
static void
latin1_text(const unsigned char *p, size_t n, char *dst, size_t cap)
{
	size_t i, len = 0;

	dst[0] = '\0';
	for (i = 0; i < n && p[i] != '\0'; i++)
		if (put_utf8(dst, cap, &len, p[i] < 0x20 ? '?' : p[i]) < 0)
			break;
}

/*
 * A small value as JSON: numbers, strings (string type, or uint16/char
 * arrays, which is how DM keeps text), short numeric arrays.  NULL for
 * anything else (kept out of the metadata).
 */
static json_t *
value_json(struct rd *r, const uint64_t *info, size_t ninfo, const unsigned char *p,
    uint64_t bytes)
{
	char text[4 * EM_DM_MAX_VALUE_BYTES / 2 + 1];
	json_t *a;
	uint64_t i, n;
	size_t es;

	if (ninfo == 1)
		return simple_size(info[0]) == bytes ? simple_json(r, info[0], p) : NULL;
	if (ninfo == 2 && info[0] == T_STRING) {
		utf16_text(r, p, (size_t)(bytes / 2), text, sizeof(text));
		return json_string(text);
	}
	if (ninfo == 3 && info[0] == T_ARRAY && (es = simple_size(info[1])) != 0) {
		n = info[2];
		if (info[1] == T_U2) {
			utf16_text(r, p, (size_t)(bytes / 2), text, sizeof(text));
			return json_string(text);
		}
		if (info[1] == T_I1) {
			latin1_text(p, (size_t)bytes, text, sizeof(text));
			return json_string(text);
		}
		if (n > 16)
			return NULL;
		if ((a = json_array()) == NULL)
			return NULL;
		for (i = 0; i < n; i++)
			json_array_append_new(a, simple_json(r, info[1], p + i * es));
		return a;
	}
	return NULL;
}

static double
json_num(const json_t *v, int *ok)
{
	*ok = json_is_number(v);
	return *ok ? json_number_value(v) : 0;
}

/* Where in the tree the walk is: labels[0..depth], unnamed entries by index. */
static int
at(const struct rd *r, int depth, int d, const char *label)
{
	return d <= depth && strcmp(r->label[d], label) == 0;
}

/* Flat metadata key for an ImageTags entry: the labels below ImageTags joined by '.'. */
static void
meta_key(const struct rd *r, int depth, char *key, size_t cap)
{
	size_t len = 0;
	int d;

	key[0] = '\0';
	for (d = 3; d <= depth && len < cap; d++) {
		int n;

		if (r->label[d][0] != '\0')
			n = snprintf(key + len, cap - len, "%s%s", d > 3 ? "." : "", r->label[d]);
		else
			n = snprintf(key + len, cap - len, "%s%llu", d > 3 ? "." : "",
			    (unsigned long long)r->index[d]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* Image i of ImageList, or NULL when past the limit. */
static struct dm_image *
image_at(struct rd *r, uint64_t i)
{
	if (i >= EM_DM_MAX_IMAGES) {
		em_debug("DM image %llu past the first %d ignored", (unsigned long long)i,
		    EM_DM_MAX_IMAGES);
		return NULL;
	}
	while (r->nimg <= (int)i) {
		memset(&r->img[r->nimg], 0, sizeof(r->img[0]));
		r->nimg++;
	}
	return &r->img[i];
}

static int
read_data_tag(struct rd *r, int depth)
{
	unsigned char magic[4], *val = NULL;
	uint64_t ninfo, bytes, k, i;
	size_t pos = 0;
	struct dm_image *im = NULL;
	json_t *v = NULL;
	int want = 0, ok, rc = -1;
	char key[512];

	if (rd_bytes(r, magic, 4) < 0)
		return -1;
	if (memcmp(magic, "%%%%", 4) != 0)
		return em_fail("bad DM data tag at offset %llu (no %%%%%%%% mark)",
		    (unsigned long long)r->pos - 4);
	if (rd_word(r, &ninfo) < 0)
		return -1;
	if (ninfo == 0 || ninfo > EM_DM_MAX_INFO)
		return em_fail("DM tag '%s' at offset %llu has %llu type words (limit %d)",
		    r->label[depth], (unsigned long long)r->pos, (unsigned long long)ninfo,
		    EM_DM_MAX_INFO);
	for (i = 0; i < ninfo; i++)
		if (rd_word(r, &r->info[i]) < 0)
			return -1;
	if (type_size(r->info, (size_t)ninfo, &pos, 0, &bytes) < 0)
		return em_fail_ctx("DM tag '%s' at offset %llu", r->label[depth],
		    (unsigned long long)r->pos);
	if (bytes > r->size || r->pos > r->size - bytes)
		return em_fail("truncated DM file: tag '%s' at offset %llu holds %llu bytes, the file"
		    " has %llu", r->label[depth], (unsigned long long)r->pos,
		    (unsigned long long)bytes, (unsigned long long)r->size);

	if (at(r, depth, 0, "ImageList") && depth >= 2)
		im = image_at(r, r->index[1]);
	if (im != NULL && depth == 3 && at(r, depth, 2, "ImageData") && at(r, depth, 3, "Data")) {
		/* Complex and RGB data are arrays of structs: the element size is what counts. */
		if (ninfo < 3 || r->info[0] != T_ARRAY || r->info[ninfo - 1] == 0)
			return em_fail("DM image data at offset %llu is not an array",
			    (unsigned long long)r->pos);
		im->has_data = 1;
		im->data_n = r->info[ninfo - 1];
		im->data_elt = bytes / im->data_n;
		im->data_off = r->pos;
		im->data_bytes = bytes;
		return rd_skip(r, bytes);
	}
	if (im != NULL && at(r, depth, 2, "ImageData") &&
	    ((depth == 3 && at(r, depth, 3, "DataType")) ||
	    (depth == 4 && at(r, depth, 3, "Dimensions")) ||
	    (depth == 6 && at(r, depth, 3, "Calibrations") && at(r, depth, 4, "Dimension"))))
		want = 1;
	if (im != NULL && depth == 2 && at(r, depth, 2, "Name"))
		want = 1;
	if (im != NULL && depth >= 3 && at(r, depth, 2, "ImageTags"))
		want = 2;
	if (depth == 2 && at(r, depth, 0, "Thumbnails") && at(r, depth, 2, "ImageIndex"))
		want = 3;
	if (!want || bytes > EM_DM_MAX_VALUE_BYTES)
		return rd_skip(r, bytes);

	if ((val = malloc(bytes ? (size_t)bytes : 1)) == NULL)
		return em_fail_errno("out of memory");
	if (rd_bytes(r, val, (size_t)bytes) < 0)
		goto out;
	v = value_json(r, r->info, (size_t)ninfo, val, bytes);
	rc = 0;
	if (v == NULL)
		goto out;
	if (want == 3) {
		double d = json_num(v, &ok);

		if (ok && d >= 0 && d < EM_DM_MAX_IMAGES && (im = image_at(r, (uint64_t)d)) != NULL)
			im->is_thumb = 1;
	} else if (want == 2) {
		meta_key(r, depth, key, sizeof(key));
		em_utf8_clean(key, sizeof(key), key);
		if (im->tags == NULL && (im->tags = json_object()) == NULL)
			goto out;
		if (json_object_size(im->tags) < EM_DM_MAX_META_TAGS)
			json_object_set(im->tags, key, v);
	} else if (depth == 2) {
		if (json_is_string(v))
			em_utf8_clean(im->name, sizeof(im->name), json_string_value(v));
	} else if (at(r, depth, 3, "DataType")) {
		double d = json_num(v, &ok);

		/* Codes are small integers; anything else is an unknown type, not a cast out of range. */
		im->datatype = ok && d >= 0 && d <= 1000 ? (int)d : -1;
		im->has_datatype = ok;
	} else if (at(r, depth, 3, "Dimensions")) {
		double d = json_num(v, &ok);

		k = r->index[4];
		/* NaN and sizes past the limit become one past it: refused as out of range. */
		if (!ok || d < 0)
			d = 0;
		else if (!(d <= (double)EM_IMG_MAX_DIM))
			d = (double)EM_IMG_MAX_DIM + 1;
		if (k < EM_DM_MAX_DIMS)
			im->dims[k] = (uint64_t)d;
		if (k < 64 && (int)k + 1 > im->ndims)
			im->ndims = (int)k + 1;
	} else if (at(r, depth, 3, "Calibrations") && (k = r->index[5]) < EM_DM_MAX_DIMS) {
		struct dm_cal *c = &im->cal[k];

		if (at(r, depth, 6, "Scale"))
			c->scale = json_num(v, &c->has_scale);
		else if (at(r, depth, 6, "Origin"))
			c->origin = json_num(v, &c->has_origin);
		else if (at(r, depth, 6, "Units") && json_is_string(v))
			em_utf8_clean(c->units, sizeof(c->units), json_string_value(v));
	}
out:
	json_decref(v);
	free(val);
	return rc;
}

static int
read_group(struct rd *r, uint64_t ntags, int depth)
{
	unsigned char lab[EM_DM_MAX_LABEL];
	uint64_t i, len, n, entry_size;
	unsigned char kind, so[2];

	if (depth >= EM_DM_MAX_DEPTH)
		return em_fail("DM tag groups nest deeper than %d levels", EM_DM_MAX_DEPTH);
	for (i = 0; i < ntags; i++) {
		if (++r->ntags > EM_DM_MAX_TAGS)
			return em_fail("DM file has more than %d tags", EM_DM_MAX_TAGS);
		if (rd_bytes(r, &kind, 1) < 0 || rd_be(r, 2, &len) < 0)
			return -1;
		n = len < sizeof(lab) - 1 ? len : sizeof(lab) - 1;
		if (rd_bytes(r, lab, (size_t)n) < 0 || rd_skip(r, len - n) < 0)
			return -1;
		latin1_text(lab, (size_t)n, r->label[depth], sizeof(r->label[depth]));
		r->index[depth] = i;
		if (r->version == 4 && rd_be(r, 8, &entry_size) < 0)
			return -1;
		if (kind == TAG_GROUP) {
			if (rd_bytes(r, so, 2) < 0 || rd_word(r, &n) < 0)
				return -1;
			if (read_group(r, n, depth + 1) < 0)
				return -1;
		} else if (kind == TAG_DATA) {
			if (read_data_tag(r, depth) < 0)
				return -1;
		} else {
			return em_fail("bad DM tag kind %d at offset %llu", kind,
			    (unsigned long long)r->pos);
		}
	}
	return 0;
}

/* ---- choosing and checking the data image ---- */

static int
is_energy(const char *u)
{
	return strcmp(u, "eV") == 0 || strcmp(u, "keV") == 0 || strcmp(u, "meV") == 0 ||
	    strcmp(u, "MeV") == 0;
}

static const struct {
	const char *key, *tag;
} summary[] = {
	{ "microscope", "Microscope Info.Microscope" },
	{ "voltage_v", "Microscope Info.Voltage" },
	{ "magnification", "Microscope Info.Indicated Magnification" },
	{ "magnification_actual", "Microscope Info.Actual Magnification" },
	{ "operator", "Microscope Info.Operator" },
	{ "specimen", "Microscope Info.Specimen" },
	{ "illumination_mode", "Microscope Info.Illumination Mode" },
	{ "imaging_mode", "Microscope Info.Imaging Mode" },
	{ "operation_mode", "Microscope Info.Operation Mode" },
	{ "camera_length", "Microscope Info.STEM Camera Length" },
	{ "acquisition_date", "DataBar.Acquisition Date" },
	{ "acquisition_time", "DataBar.Acquisition Time" },
	{ "exposure_s", "DataBar.Exposure Time (s)" },
	{ "device", "DataBar.Device Name" },
	{ "signal", "Meta Data.Signal" },
	{ "format_name", "Meta Data.Format" },
};

static json_t *
dm_metadata(const struct rd *r, int which, const struct dm_image *im)
{
	json_t *o, *cal, *dims, *v;
	size_t i;
	int k;

	o = json_pack("{s:s, s:i, s:i, s:i, s:s}", "format", r->version == 4 ? "DM4" : "DM3",
	    "image_index", which, "images", r->nimg, "data_type", im->datatype,
	    "data_type_name", em_dm_type_name(im->datatype));
	if (o == NULL)
		return NULL;
	if (im->name[0] != '\0')
		json_object_set_new(o, "title", json_string(im->name));
	dims = json_array();
	cal = json_array();
	for (k = 0; k < im->ndims && k < EM_DM_MAX_DIMS; k++) {
		json_array_append_new(dims, json_integer((json_int_t)im->dims[k]));
		json_array_append_new(cal, json_pack("{s:o, s:o, s:s}",
		    "scale", isfinite(im->cal[k].scale) ? json_real(im->cal[k].scale) : json_null(),
		    "origin", isfinite(im->cal[k].origin) ? json_real(im->cal[k].origin) : json_null(),
		    "units", im->cal[k].units));
	}
	json_object_set_new(o, "dimensions", dims);
	json_object_set_new(o, "calibrations", cal);
	if (im->tags != NULL) {
		for (i = 0; i < sizeof(summary) / sizeof(summary[0]); i++)
			if ((v = json_object_get(im->tags, summary[i].tag)) != NULL)
				json_object_set(o, summary[i].key, v);
		json_object_set(o, "tags", im->tags);
	}
	return o;
}

static int
dm_read_plane(struct em_img *img, uint64_t z, void *buf)
{
	struct dm *d = img->priv;

	if (em_pread_full(d->fd, buf, d->plane_bytes, d->data_off + z * d->plane_bytes) < 0)
		return em_fail_ctx("DM image data");
	if (d->swap)
		em_swap_bytes(buf, d->plane_bytes / em_dtype_size(img->info.dtype),
		    em_dtype_size(img->info.dtype));
	return 0;
}

static void
dm_close(void *priv)
{
	struct dm *d = priv;

	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

static const struct em_img_ops dm_ops = { dm_read_plane, dm_close };

/* The image the file is about: the largest that is not a thumbnail. */
static int
pick_image(const struct rd *r)
{
	int i, best = -1;

	for (i = 0; i < r->nimg; i++) {
		const struct dm_image *im = &r->img[i];

		if (!im->has_data || im->is_thumb)
			continue;
		if (best < 0 || im->data_bytes > r->img[best].data_bytes)
			best = i;
	}
	if (best < 0)	/* a file of thumbnails only: take what there is */
		for (i = 0; i < r->nimg; i++)
			if (r->img[i].has_data && (best < 0 ||
			    r->img[i].data_bytes > r->img[best].data_bytes))
				best = i;
	return best;
}

/* Shape, dtype and refusals for the chosen image. */
static int
describe(struct rd *r, const struct dm_image *im, struct em_img_info *info)
{
	uint64_t d[EM_DM_MAX_DIMS], nvox = 1;
	const char *tn = em_dm_type_name(im->datatype);
	size_t es;
	int k, nd = im->ndims;

	if (!im->has_datatype)
		return em_fail("DM image has no ImageData/DataType");
	if (nd == 0)
		return em_fail("DM image has no ImageData/Dimensions");
	if (nd > EM_DM_MAX_DIMS)
		return em_fail("%d-D data: not an image volume (at most %d dimensions are read)",
		    nd, EM_DM_MAX_DIMS);
	for (k = 0; k < nd; k++) {
		d[k] = im->dims[k];
		if (d[k] == 0 || d[k] > EM_IMG_MAX_DIM)
			return em_fail("DM dimension %d of %llu is out of range", k,
			    (unsigned long long)d[k]);
		if (nvox > ((uint64_t)1 << 62) / d[k])
			return em_fail("DM image of more than 2^62 elements");
		nvox *= d[k];
	}
	/* Trailing dimensions of one are dropped, as rosettasciio does (2048 x 1 is a spectrum). */
	while (nd > 1 && d[nd - 1] == 1)
		nd--;
	if (nd == 1)
		return em_fail("1-D spectrum of %llu %s values: not an image volume",
		    (unsigned long long)d[0], tn);
	switch (im->datatype) {
	case 8:
		return em_fail("RGB image: not a single-channel volume");
	case 23:
		return em_fail("RGBA image: not a single-channel volume");
	case 3: case 5: case 13: case 27: case 28:
		return em_fail("%s image (DM data type %d): not a real-valued volume", tn,
		    im->datatype);
	case 14:
		return em_fail("bool image: not a numeric volume");
	}
	if ((info->dtype = em_dm_dtype(im->datatype)) == EM_DT_NONE)
		return em_fail("DM data type %d is not a known image type", im->datatype);
	es = em_dtype_size(info->dtype);
	if (im->data_elt * im->data_n != im->data_bytes || im->data_elt != es ||
	    im->data_bytes / es != nvox || im->data_bytes % es != 0)
		return em_fail("DM image data of %llu bytes does not match %d dimensions of %llu"
		    " %s elements", (unsigned long long)im->data_bytes, nd,
		    (unsigned long long)nvox, em_dtype_name(info->dtype));
	/*
	 * An axis in energy units makes the data spectra (EELS/EDS spectrum
	 * images and line scans), whatever axis it is on.
	 */
	for (k = 0; k < nd; k++)
		if (is_energy(im->cal[k].units)) {
			char sz[96];
			size_t len = 0;
			int j;

			sz[0] = '\0';
			for (j = nd - 1; j >= 0; j--)
				if (j != k)
					len += (size_t)snprintf(sz + len, sizeof(sz) - len, "%s%llu",
					    len ? " x " : "", (unsigned long long)d[j]);
			return em_fail("spectrum %s of %s pixels x %llu channels in %s: not an image"
			    " volume", nd == 2 ? "line" : "image", sz, (unsigned long long)d[k],
			    im->cal[k].units);
		}
	info->ndim = nd;
	info->shape[EM_X] = d[0];
	info->shape[EM_Y] = d[1];
	info->shape[EM_Z] = 1;
	em_img_set_voxel(info, EM_X, im->cal[0].scale, im->cal[0].units);
	em_img_set_voxel(info, EM_Y, im->cal[1].scale, im->cal[1].units);
	if (nd >= 3) {
		int zk = 2;

		if (nd == 4) {
			if (d[2] != 1 && d[3] != 1)
				return em_fail("4-D data of %llu x %llu x %llu x %llu (e.g. 4D-STEM):"
				    " not a single volume", (unsigned long long)d[3],
				    (unsigned long long)d[2], (unsigned long long)d[1],
				    (unsigned long long)d[0]);
			if (d[2] == 1)
				zk = 3;
			info->ndim = 3;
		}
		info->shape[EM_Z] = d[zk];
		em_img_set_voxel(info, EM_Z, im->cal[zk].scale, im->cal[zk].units);
	}
	(void)r;
	return em_img_check_shape(info);
}

int
em_dm_open_img(const char *path, int fd, struct em_img **out)
{
	struct rd *r = NULL;
	struct dm *d = NULL;
	struct em_img *img = NULL;
	struct dm_image *im;
	struct stat st;
	uint64_t v, ntags, flen;
	unsigned char so[2];
	json_t *meta;
	int which, i, rc = -1;

	(void)path;
	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->img = calloc(EM_DM_MAX_IMAGES, sizeof(*r->img))) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	r->fd = fd;
	if (fstat(fd, &st) < 0) {
		em_fail_errno("cannot stat");
		goto out;
	}
	r->size = (uint64_t)st.st_size;
	if (rd_be(r, 4, &v) < 0)
		goto out;
	r->version = (int)v;
	if (r->version != 3 && r->version != 4) {
		em_fail("DM version %llu is not 3 or 4", (unsigned long long)v);
		goto out;
	}
	if (rd_be(r, r->version == 4 ? 8 : 4, &flen) < 0 || rd_be(r, 4, &v) < 0)
		goto out;
	if (v > 1) {
		em_fail("DM byte order word %llu is not 0 or 1", (unsigned long long)v);
		goto out;
	}
	r->le = (int)v;
	if (flen + (r->version == 4 ? 24u : 16u) > r->size)
		em_debug("DM header gives %llu bytes, the file has %llu", (unsigned long long)flen,
		    (unsigned long long)r->size);
	if (rd_bytes(r, so, 2) < 0 || rd_word(r, &ntags) < 0)
		goto out;
	if (read_group(r, ntags, 0) < 0)
		goto out;
	if ((which = pick_image(r)) < 0) {
		em_fail("DM file holds no image data");
		goto out;
	}
	im = &r->img[which];
	if ((img = em_img_new(r->version == 4 ? EM_IMG_DM4 : EM_IMG_DM3)) == NULL)
		goto out;
	if (describe(r, im, &img->info) < 0)
		goto out;
	if ((meta = dm_metadata(r, which, im)) == NULL) {
		em_fail("out of memory");
		goto out;
	}
	json_decref(img->info.source_metadata);
	img->info.source_metadata = meta;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	d->fd = fd;
	fd = -1;
	d->data_off = im->data_off;
	d->plane_bytes = em_img_plane_bytes(img);
	d->swap = em_dtype_size(img->info.dtype) > 1 && r->le != em_host_is_le();
	img->ops = &dm_ops;
	img->priv = d;
	*out = img;
	img = NULL;
	rc = 0;
out:
	if (r != NULL) {
		if (r->img != NULL)
			for (i = 0; i < r->nimg; i++)
				json_decref(r->img[i].tags);
		free(r->img);
		free(r);
	}
	em_img_free(img);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
em_dm_open(const char *path, struct em_img **out)
{
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return em_fail_errno("cannot open");
	return em_dm_open_img(path, fd, out);
}
