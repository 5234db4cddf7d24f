/* test_image.c - the image readers against EXPECTED.md, hand-made DM/MRC files, and corrupt copies */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>

#include "core/diag.h"
#include "formats/dm.h"
#include "formats/image.h"
#include "core/units.h"
#include "formats/image_internal.h"
#include "formats/mrc.h"
#include "formats/tiff.h"

static char tmpdir[256];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/em-test-image-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* $TESTDATA, or ../shared/testdata as t/run.sh runs from the project top; NULL when absent. */
static const char *
testdata(void)
{
	static char dir[1024];
	const char *e = getenv("TESTDATA");
	struct stat st;

	if (e == NULL || *e == '\0')
		e = getenv("EM_TESTDATA");
	snprintf(dir, sizeof(dir), "%s", e != NULL && *e != '\0' ? e : "../shared/testdata");
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return dir;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(p, 1, n, fp), n);
	ck_assert_int_eq(fclose(fp), 0);
}

static unsigned char *
read_all(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *p;
	long len;

	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	*n = (size_t)len;
	return p;
}

/* SHA-256 (hex) of every plane of img in order, continuing ctx when given. */
static int
stream_planes(struct em_img *img, EVP_MD_CTX *ctx)
{
	size_t pb = em_img_plane_bytes(img);
	unsigned char *buf = malloc(pb ? pb : 1);
	uint64_t z;
	int rc = 0;

	ck_assert_ptr_nonnull(buf);
	for (z = 0; z < em_img_info(img)->shape[EM_Z] && rc == 0; z++) {
		rc = em_img_read_plane(img, z, buf);
		if (rc == 0 && ctx != NULL)
			EVP_DigestUpdate(ctx, buf, pb);
	}
	free(buf);
	return rc;
}

static void
hex_final(EVP_MD_CTX *ctx, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(ctx, md, &n);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- EXPECTED.md ---- */

struct expect {
	char path[256];		/* relative to TESTDATA, with " [signal 0]" cut off */
	int signal;		/* -1, or the [signal N] of the row */
	int ndim;
	uint64_t shape[4];
	char dtype[96];
	char sha[65];		/* a prefix */
	char extra[1024];
};

static struct expect *expects;
static size_t nexpects;

/* Rows "| `path` | reader | (shape) | `dtype` | `sha…` | first | extra |": cells split on " | ". */
static int
load_expected(const char *dir)
{
	char path[1100], line[8192];
	FILE *fp;

	if (expects != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/EXPECTED.md", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *cell[8], *p = line, *q, *s;
		struct expect *e;
		int n = 0;

		if (strncmp(line, "| `", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		while (n < 8 && (q = strstr(p, " | ")) != NULL) {
			*q = '\0';
			cell[n++] = p;
			p = q + 3;
		}
		if (n < 6)
			continue;
		cell[n < 8 ? n : 7] = p;
		expects = realloc(expects, (nexpects + 1) * sizeof(*expects));
		ck_assert_ptr_nonnull(expects);
		e = &expects[nexpects++];
		memset(e, 0, sizeof(*e));
		s = cell[0] + 3;
		s[strcspn(s, "`")] = '\0';
		e->signal = -1;
		if ((q = strstr(s, " [signal ")) != NULL) {
			e->signal = (int)strtol(q + 9, NULL, 10);
			*q = '\0';
		}
		snprintf(e->path, sizeof(e->path), "%s", s);
		for (s = cell[2]; *s != '\0' && e->ndim < 4; ) {
			while (*s == '(' || *s == ' ' || *s == ',')
				s++;
			if (*s < '0' || *s > '9')
				break;
			e->shape[e->ndim++] = strtoull(s, &s, 10);
		}
		s = cell[3];
		if (*s == '`')
			s++;
		snprintf(e->dtype, sizeof(e->dtype), "%s", s);
		e->dtype[strcspn(e->dtype, "`")] = '\0';
		s = cell[4];
		if (*s == '`')
			s++;
		snprintf(e->sha, sizeof(e->sha), "%.*s", (int)strspn(s, "0123456789abcdef"), s);
		snprintf(e->extra, sizeof(e->extra), "%s", cell[6]);
	}
	fclose(fp);
	return nexpects > 0 ? 0 : -1;
}

static const struct expect *
find_expect(const char *rel)
{
	size_t i;

	for (i = 0; i < nexpects; i++)
		if (strcmp(expects[i].path, rel) == 0 && expects[i].signal <= 0)
			return &expects[i];
	return NULL;
}

static const char *
dtype_of_numpy(const char *s)
{
	static const struct { const char *np, *name; } map[] = {
		{ "|u1", "uint8" }, { "|i1", "int8" }, { "<u2", "uint16" }, { "<i2", "int16" },
		{ "<u4", "uint32" }, { "<i4", "int32" }, { "<u8", "uint64" }, { "<i8", "int64" },
		{ "<f4", "float32" }, { "<f8", "float64" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].np, s) == 0)
			return map[i].name;
	return NULL;
}

/*
 * Voxel sizes (z, y, x; nm; NAN = not a length) the peer saw.  DM rows:
 * "axes y:512×0.01775nm;x:512×0.01775nm".  MRC rows: "mapcrs [c, r, s]
 * voxel [x, y, z]" in Å for the true axes; opened in file order, output
 * axis x is the column axis.  -1 when the row says nothing of voxels.
 */
static int
expected_voxels(const struct expect *e, int ndim, double v[3])
{
	const char *s;
	int a;

	for (a = 0; a < 3; a++)
		v[a] = NAN;
	if ((s = strstr(e->extra, "axes ")) != NULL && strncmp(e->path, "dm", 2) == 0) {
		char list[512], *tok[8], *save = NULL;
		int n = 0, i;

		snprintf(list, sizeof(list), "%s", s + 5);
		list[strcspn(list, " ")] = '\0';
		for (tok[n] = strtok_r(list, ";", &save); tok[n] != NULL && n < 7;
		    tok[++n] = strtok_r(NULL, ";", &save))
			;
		for (i = 0; i < n && i < 3; i++) {
			/* The last axis is x, the one before y, then z. */
			char *x = strstr(tok[n - 1 - i], "\xc3\x97"), *end;
			double val;

			if (x == NULL)
				continue;
			val = strtod(x + 2, &end);
			(void)em_length_nm(val, end, &v[2 - i]);
		}
		return 0;
	}
	if ((s = strstr(e->extra, "voxel [")) != NULL) {
		const char *m = strstr(e->extra, "mapcrs [");
		double vx[3];
		int map[3];

		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(sscanf(s, "voxel [%lf, %lf, %lf]", &vx[0], &vx[1], &vx[2]), 3);
		ck_assert_int_eq(sscanf(m, "mapcrs [%d, %d, %d]", &map[0], &map[1], &map[2]), 3);
		for (a = 0; a < 3; a++) {
			double w = vx[map[a] - 1];

			if (a == 2 && ndim == 2)
				continue;
			v[2 - a] = w > 0 ? w / 10 : NAN;
		}
		return 0;
	}
	return -1;
}

/*
 * Files the readers refuse, with the words the reason must have.  A name
 * ending in '*' is a prefix.
 */
static const struct {
	const char *name, *reason;
} refused[] = {
	{ "dm3/rsciio_1D_test-*", "1-D spectrum of 2 " },
	{ "dm4/rsciio_1D_test-*", "1-D spectrum of 2 " },
	{ "dm3/ncempy_08_carbon.dm3", "1-D spectrum of 2048 float32 values: not an image volume" },
	{ "dm3/test-EELS_spectrum.dm3", "1-D spectrum of 2048 float32 values" },
	{ "dm4/EELS_SI.dm4", "spectrum image of 2 x 2 pixels x 2048 channels in eV" },
	{ "dm3/rsciio_2D_test-3.dm3", "complex64 image" },
	{ "dm3/rsciio_2D_test-5.dm3", "not a real-valued volume" },
	{ "dm3/rsciio_2D_test-13.dm3", "complex128 image" },
	{ "dm3/rsciio_3D_test-3.dm3", "complex64 image" },
	{ "dm3/rsciio_3D_test-5.dm3", "not a real-valued volume" },
	{ "dm3/rsciio_3D_test-13.dm3", "complex128 image" },
	{ "dm4/rsciio_2D_test-3.dm4", "complex64 image" },
	{ "dm4/rsciio_2D_test-5.dm4", "not a real-valued volume" },
	{ "dm4/rsciio_2D_test-13.dm4", "complex128 image" },
	{ "dm4/rsciio_2D_test-27.dm4", "not a real-valued volume" },
	{ "dm4/rsciio_2D_test-28.dm4", "not a real-valued volume" },
	{ "dm4/rsciio_3D_test-3.dm4", "complex64 image" },
	{ "dm4/rsciio_3D_test-5.dm4", "not a real-valued volume" },
	{ "dm4/rsciio_3D_test-13.dm4", "complex128 image" },
	{ "dm4/rsciio_3D_test-27.dm4", "not a real-valued volume" },
	{ "dm4/rsciio_3D_test-28.dm4", "not a real-valued volume" },
	{ "dm4/test_fft_packed_complex8.dm4", "packed complex64 image" },
	{ "dm3/rsciio_2D_test-14.dm3", "bool image" },
	{ "dm3/rsciio_3D_test-14.dm3", "bool image" },
	{ "dm4/rsciio_2D_test-14.dm4", "bool image" },
	{ "dm4/rsciio_3D_test-14.dm4", "bool image" },
	{ "dm3/rsciio_2D_test-8.dm3", "image: not a single-channel volume" },
	{ "dm3/rsciio_2D_test-23.dm3", "RGBA image: not a single-channel volume" },
	{ "dm3/rsciio_3D_test-8.dm3", "image: not a single-channel volume" },
	{ "dm3/rsciio_3D_test-23.dm3", "RGBA image: not a single-channel volume" },
	{ "dm4/rsciio_2D_test-8.dm4", "image: not a single-channel volume" },
	{ "dm4/rsciio_2D_test-23.dm4", "RGBA image: not a single-channel volume" },
	{ "dm4/rsciio_3D_test-8.dm4", "image: not a single-channel volume" },
	{ "dm4/rsciio_3D_test-23.dm4", "RGBA image: not a single-channel volume" },
	{ "tiff/image-tiff_BigTIFF*", "RGB image: not a single-channel volume" },
	{ "tiff/image-tiff_planar-rgb-u8.tif", "RGB image: not a single-channel volume" },
	{ "tiff/rsciio_olympus_SIS.tif", "RGB image: not a single-channel volume" },
	{ "tiff/image-tiff_seq/seq-3c-16b-bigtiff-1b40ca6e.tiff", "RGB image" },
};

/* Read by us, with no peer value: a peer could not decode them (EXPECTED.md's last list). */
static const char *const no_reference[] = {
	"tiff/image-tiff_predictor-3-gray-f32.tif",
	"tiff/image-tiff_tiled-oversize-gray-i8.tif",
};

static const char *
refusal_of(const char *rel)
{
	size_t i, n;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		n = strlen(refused[i].name);
		if (refused[i].name[n - 1] == '*' ? strncmp(rel, refused[i].name, n - 1) == 0 :
		    strcmp(rel, refused[i].name) == 0)
			return refused[i].reason;
	}
	return NULL;
}

/*
 * The peer row to compare a file without one of its own with: the
 * image-tiff seq files carry a content tag ("-20f3db0c.tiff") shared by
 * every encoding of the same pixels; "_zstd" is the plain file compressed.
 */
static const struct expect *
sibling_of(const char *rel)
{
	const char *dash = strrchr(rel, '-'), *z;
	char alt[256];
	size_t i, n;

	if (dash != NULL && strstr(rel, "image-tiff_seq/") != NULL) {
		for (i = 0; i < nexpects; i++) {
			n = strlen(expects[i].path);
			if (n >= strlen(dash) && strcmp(expects[i].path + n - strlen(dash), dash) == 0 &&
			    strncmp(expects[i].path, rel, (size_t)(strrchr(rel, '/') - rel)) == 0)
				return &expects[i];
		}
	}
	if ((z = strstr(rel, "_zstd")) != NULL) {
		snprintf(alt, sizeof(alt), "%.*s%s", (int)(z - rel), rel, z + 5);
		return find_expect(alt);
	}
	return NULL;
}

static int
is_no_reference(const char *rel)
{
	size_t i;

	for (i = 0; i < sizeof(no_reference) / sizeof(no_reference[0]); i++)
		if (strcmp(rel, no_reference[i]) == 0)
			return 1;
	return 0;
}

static int nmatched, nrefused, nsibling, nnoref;

/* Open rel, compare with e (shape, dtype, sha256 prefix, voxel size). */
static void
check_against(const char *dir, const char *rel, const struct expect *e, int own_row)
{
	struct em_img_opts opts = EM_IMG_OPTS_INIT;
	const struct em_img_info *in;
	struct em_img *img = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char path[1400], hex[65];
	const char *want_dt = dtype_of_numpy(e->dtype);
	uint64_t c, nchan = 1;
	double v[3];
	int a, off;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_msg(want_dt != NULL, "%s: EXPECTED dtype %s is not storable but the file is read",
	    rel, e->dtype);
	/* mrcfile gives the sections as stored: compare in file order. */
	opts.mrc_file_order = 1;
	/* A 4-D OME-TIFF row is C,Z,Y,X: every channel in turn makes the same bytes. */
	if (e->ndim == 4)
		nchan = e->shape[0];
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (c = 0; c < nchan; c++) {
		if (e->ndim == 4)
			opts.channel = (int)c;
		ck_assert_msg(em_img_open(path, &opts, &img) == 0, "%s: %s", rel, em_errmsg());
		in = em_img_info(img);
		off = e->ndim - 2;
		ck_assert_msg(in->shape[EM_Y] == e->shape[off] && in->shape[EM_X] == e->shape[off + 1],
		    "%s: shape y,x %llu,%llu, expected %llu,%llu", rel,
		    (unsigned long long)in->shape[EM_Y], (unsigned long long)in->shape[EM_X],
		    (unsigned long long)e->shape[off], (unsigned long long)e->shape[off + 1]);
		if (e->ndim >= 3)
			ck_assert_msg(in->ndim == 3 && in->shape[EM_Z] == e->shape[e->ndim - 3],
			    "%s: ndim %d z %llu", rel, in->ndim, (unsigned long long)in->shape[EM_Z]);
		else
			ck_assert_msg(in->ndim == 2 && in->shape[EM_Z] == 1, "%s: ndim %d", rel, in->ndim);
		ck_assert_msg(strcmp(em_dtype_name(in->dtype), want_dt) == 0, "%s: dtype %s, expected %s",
		    rel, em_dtype_name(in->dtype), want_dt);
		ck_assert_msg(stream_planes(img, ctx) == 0, "%s: %s", rel, em_errmsg());
		if (own_row && c == 0 && expected_voxels(e, in->ndim, v) == 0)
			for (a = 0; a < 3; a++) {
				if (isnan(v[a]))
					ck_assert_msg(!in->voxel_known[a], "%s: voxel %c %g, expected none",
					    rel, "zyx"[a], in->voxel_nm[a]);
				else
					ck_assert_msg(in->voxel_known[a] &&
					    fabs(in->voxel_nm[a] - v[a]) <= 1e-3 * v[a],
					    "%s: voxel %c %g nm, expected %g", rel, "zyx"[a],
					    in->voxel_nm[a], v[a]);
			}
		if (own_row && strncmp(rel, "tiff/", 5) == 0 && strstr(rel, "imageJ") == NULL)
			for (a = 0; a < 3; a++)
				ck_assert_msg(!in->voxel_known[a], "%s: a plain TIFF's voxel size is"
				    " not known", rel);
		em_img_free(img);
		img = NULL;
	}
	hex_final(ctx, hex);
	EVP_MD_CTX_free(ctx);
	ck_assert_msg(strlen(e->sha) >= 8 && strncmp(hex, e->sha, strlen(e->sha)) == 0,
	    "%s: sha256 %s, expected %s…", rel, hex, e->sha);
}

static void
check_file(const char *dir, const char *rel)
{
	const struct expect *e = find_expect(rel);
	const char *why = refusal_of(rel);
	struct em_img *img = NULL;
	char path[1400];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (why != NULL) {
		ck_assert_msg(em_img_open(path, NULL, &img) == -1, "%s: read, expected refused", rel);
		ck_assert_ptr_null(img);
		ck_assert_msg(strstr(em_errmsg(), why) != NULL, "%s: '%s', expected '%s'", rel,
		    em_errmsg(), why);
		/* The peer agrees it is no single-channel numeric volume. */
		if (e != NULL)
			ck_assert_msg(dtype_of_numpy(e->dtype) == NULL || e->ndim == 1 ||
			    e->shape[e->ndim - 1] == 3 || strstr(why, "spectrum") != NULL,
			    "%s: refused, but the peer read a plain %s volume", rel, e->dtype);
		nrefused++;
		return;
	}
	if (e != NULL) {
		check_against(dir, rel, e, 1);
		nmatched++;
		return;
	}
	if ((e = sibling_of(rel)) != NULL) {
		check_against(dir, rel, e, 0);
		nsibling++;
		return;
	}
	ck_assert_msg(is_no_reference(rel), "%s: not in EXPECTED.md nor in this test's lists", rel);
	ck_assert_msg(em_img_open(path, NULL, &img) == 0, "%s: %s", rel, em_errmsg());
	ck_assert_msg(stream_planes(img, NULL) == 0, "%s: %s", rel, em_errmsg());
	em_img_free(img);
	nnoref++;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(testdata_files)
{
	static const char *const dirs[] = {
		"dm3", "dm4", "mrc", "tiff", "tiff/image-tiff_seq", "ometiff",
	};
	const char *dir = testdata();
	size_t i, j, n;
	char path[1400], rel[512], *names[512];

	if (dir == NULL) {
		printf("skipped: no test data at ../shared/testdata (set TESTDATA)\n");
		return;
	}
	ck_assert_msg(load_expected(dir) == 0, "cannot read %s/EXPECTED.md", dir);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d;
		struct dirent *de;
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, dirs[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		n = 0;
		while ((de = readdir(d)) != NULL && n < 512) {
			snprintf(rel, sizeof(rel), "%s/%s", dirs[i], de->d_name);
			snprintf(path, sizeof(path), "%s/%s", dir, rel);
			if (de->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			names[n++] = strdup(rel);
		}
		closedir(d);
		qsort(names, n, sizeof(names[0]), cmp_str);
		for (j = 0; j < n; j++) {
			check_file(dir, names[j]);
			free(names[j]);
		}
	}
	/* multi_signal.dm3: signal 0 (the 512x512 image) is the one read. */
	ck_assert_ptr_nonnull(find_expect("dm3/multi_signal.dm3"));
	printf("testdata: %d files match EXPECTED.md, %d match a sibling's row, %d read without a"
	    " peer value, %d refused as listed\n", nmatched, nsibling, nnoref, nrefused);
	ck_assert_int_gt(nmatched, 60);
	ck_assert_int_gt(nrefused, 40);
}
END_TEST

/* ---- hand-made DM files: both versions, both byte orders ---- */

struct dmw {
	unsigned char *p;
	size_t len, cap;
	int v4, le;
};

static void
w_put(struct dmw *w, const void *b, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2;
		w->p = realloc(w->p, w->cap);
		ck_assert_ptr_nonnull(w->p);
	}
	memcpy(w->p + w->len, b, n);
	w->len += n;
}

static void
w_be(struct dmw *w, uint64_t v, int n)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	w_put(w, b, (size_t)n);
}

/* A value in the file's value byte order. */
static void
w_val(struct dmw *w, uint64_t v, int n)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * (w->le ? i : n - 1 - i)));
	w_put(w, b, (size_t)n);
}

static void
w_word(struct dmw *w, uint64_t v)
{
	w_be(w, v, w->v4 ? 8 : 4);
}

static void
w_label(struct dmw *w, int kind, const char *label)
{
	unsigned char k = (unsigned char)kind;

	w_put(w, &k, 1);
	w_be(w, strlen(label), 2);
	w_put(w, label, strlen(label));
	if (w->v4)
		w_be(w, 0, 8);		/* entry size: not needed to read */
}

static void
w_group(struct dmw *w, const char *label, uint64_t ntags)
{
	w_label(w, 20, label);
	w_be(w, 0, 1);
	w_be(w, 0, 1);
	w_word(w, ntags);
}

static void
w_simple(struct dmw *w, const char *label, int type, uint64_t bits, int n)
{
	w_label(w, 21, label);
	w_put(w, "%%%%", 4);
	w_word(w, 1);
	w_word(w, (uint64_t)type);
	w_val(w, bits, n);
}

static void
w_text(struct dmw *w, const char *label, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	uint16_t cu[64];
	size_t i, n = 0;

	/* UTF-8 (up to 3-byte sequences) to the UTF-16 DM keeps text in. */
	for (i = 0; u[i] != '\0' && n < 64; n++) {
		if (u[i] < 0x80)
			cu[n] = u[i], i += 1;
		else if (u[i] < 0xe0)
			cu[n] = (uint16_t)((u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f)), i += 2;
		else
			cu[n] = (uint16_t)((u[i] & 0x0f) << 12 | (u[i + 1] & 0x3f) << 6 |
			    (u[i + 2] & 0x3f)), i += 3;
	}
	w_label(w, 21, label);
	w_put(w, "%%%%", 4);
	w_word(w, 3);
	w_word(w, 20);
	w_word(w, 4);
	w_word(w, n);
	for (i = 0; i < n; i++)
		w_val(w, cu[i], 2);
}

static uint64_t
f32bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

struct dm_spec {
	int v4, le, datatype, elt, esize, ndims;
	uint64_t dims[5];
	const char *units[5];
	float scale[5];
	uint64_t data_n;	/* elements in the Data array (normally the product of dims) */
	int thumb_first;	/* an RGBA thumbnail as image 0, named in Thumbnails */
};

/* A DM file with one image whose element k is k+1 (in the value byte order). */
static size_t
make_dm(const char *path, const struct dm_spec *s)
{
	struct dmw w = { NULL, 0, 0, s->v4, s->le };
	uint64_t k;
	int d;
	char dl[2] = "";

	w_be(&w, s->v4 ? 4 : 3, 4);
	w_be(&w, 0, s->v4 ? 8 : 4);
	w_be(&w, (uint64_t)s->le, 4);
	w_be(&w, 1, 1);
	w_be(&w, 0, 1);
	w_word(&w, s->thumb_first ? 2 : 1);
	w_group(&w, "ImageList", s->thumb_first ? 2 : 1);
	if (s->thumb_first) {
		/* A 16x16 RGBA thumbnail: bigger than the 2x2 image, skipped by name. */
		w_group(&w, "", 1);
		w_group(&w, "ImageData", 3);
		w_label(&w, 21, "Data");
		w_put(&w, "%%%%", 4);
		w_word(&w, 3);
		w_word(&w, 20);
		w_word(&w, 5);
		w_word(&w, 256);
		for (k = 0; k < 256; k++)
			w_val(&w, 0, 4);
		w_simple(&w, "DataType", 3, 23, 4);
		w_group(&w, "Dimensions", 2);
		w_simple(&w, "", 5, 16, 4);
		w_simple(&w, "", 5, 16, 4);
	}
	w_group(&w, "", 1);
	w_group(&w, "ImageData", 4);
	w_group(&w, "Calibrations", 1);
	w_group(&w, "Dimension", (uint64_t)s->ndims);
	for (d = 0; d < s->ndims; d++) {
		w_group(&w, "", 2);
		w_simple(&w, "Scale", 6, f32bits(s->scale[d]), 4);
		w_text(&w, "Units", s->units[d] != NULL ? s->units[d] : "");
	}
	w_label(&w, 21, "Data");
	w_put(&w, "%%%%", 4);
	w_word(&w, 3);
	w_word(&w, 20);
	w_word(&w, (uint64_t)s->elt);
	w_word(&w, s->data_n);
	for (k = 0; k < s->data_n && k < 4096; k++)
		w_val(&w, k + 1, s->esize);
	w_simple(&w, "DataType", 3, (uint64_t)s->datatype, 4);
	w_group(&w, "Dimensions", (uint64_t)s->ndims);
	for (d = 0; d < s->ndims; d++)
		w_simple(&w, dl, s->v4 ? 12 : 5, s->dims[d], s->v4 ? 8 : 4);
	if (s->thumb_first) {
		w_group(&w, "Thumbnails", 1);
		w_group(&w, "", 1);
		w_simple(&w, "ImageIndex", 5, 0, 4);
	}
	w_put(&w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", s->v4 ? 16 : 8);
	write_file(path, w.p, w.len);
	free(w.p);
	return w.len;
}

static void
expect_counting(struct em_img *img, size_t esize)
{
	size_t pb = em_img_plane_bytes(img), i;
	uint64_t z, k = 1;
	unsigned char *buf = malloc(pb);

	ck_assert_ptr_nonnull(buf);
	for (z = 0; z < em_img_info(img)->shape[EM_Z]; z++) {
		ck_assert_int_eq(em_img_read_plane(img, z, buf), 0);
		for (i = 0; i < pb / esize; i++, k++) {
			uint64_t v = 0;
			size_t b;

			for (b = 0; b < esize; b++)	/* little-endian out */
				v |= (uint64_t)buf[i * esize + b] << (8 * b);
			ck_assert_uint_eq(v, k);
		}
	}
	free(buf);
}

START_TEST(dm_orders_and_versions)
{
	int v4, le;
	char path[512];
	struct em_img *img;
	const struct em_img_info *in;

	for (v4 = 0; v4 < 2; v4++)
		for (le = 0; le < 2; le++) {
			struct dm_spec s = { v4, le, 10, 4, 2, 3, { 4, 3, 2 }, { "nm", "\xc2\xb5m", "A" },
			    { 0.5f, 2, 10 }, 24, 0 };

			snprintf(path, sizeof(path), "%s/t%d%d.dm", tmpdir, v4, le);
			make_dm(path, &s);
			ck_assert_msg(em_img_open(path, NULL, &img) == 0, "v4=%d le=%d: %s", v4, le,
			    em_errmsg());
			in = em_img_info(img);
			ck_assert_int_eq(in->format, v4 ? EM_IMG_DM4 : EM_IMG_DM3);
			ck_assert_int_eq(in->dtype, EM_DT_U2);
			ck_assert_int_eq(in->ndim, 3);
			ck_assert_uint_eq(in->shape[EM_Z], 2);
			ck_assert_uint_eq(in->shape[EM_Y], 3);
			ck_assert_uint_eq(in->shape[EM_X], 4);
			ck_assert(in->voxel_known[EM_X] && fabs(in->voxel_nm[EM_X] - 0.5) < 1e-9);
			ck_assert(in->voxel_known[EM_Y] && fabs(in->voxel_nm[EM_Y] - 2000) < 1e-6);
			ck_assert(in->voxel_known[EM_Z] && fabs(in->voxel_nm[EM_Z] - 1) < 1e-6);
			ck_assert_str_eq(in->voxel_unit[EM_Y], "\xc2\xb5m");
			ck_assert_str_eq(in->voxel_unit[EM_Z], "A");
			expect_counting(img, 2);
			em_img_free(img);
		}
}
END_TEST

START_TEST(dm_shapes_and_limits)
{
	char path[512];
	struct em_img *img = NULL;
	const struct em_img_info *in;
	struct dm_spec s4 = { 0, 1, 7, 3, 4, 4, { 2, 2, 1, 3 }, { "nm", "nm", "", "nm" },
	    { 1, 1, 1, 5 }, 12, 0 };
	struct dm_spec s4d = { 1, 1, 7, 3, 4, 4, { 2, 2, 3, 3 }, { "nm", "nm", "", "" },
	    { 1, 1, 1, 1 }, 36, 0 };
	struct dm_spec huge = { 0, 1, 6, 10, 1, 3, { 1u << 20, 1u << 20, 1u << 10 }, { 0 },
	    { 1, 1, 1 }, 4, 0 };
	struct dm_spec hugearr = { 1, 1, 6, 10, 1, 2, { 1u << 20, 1u << 20 }, { 0 }, { 1, 1 },
	    (uint64_t)1 << 40, 0 };
	struct dm_spec thumb = { 0, 0, 11, 5, 4, 2, { 2, 2 }, { "pm", "pm" }, { 3, 3 }, 4, 1 };
	struct dm_spec energy = { 0, 1, 2, 6, 4, 2, { 8, 2 }, { "eV", "nm" }, { 1, 1 }, 16, 0 };
	struct dm_spec recip = { 0, 1, 2, 6, 4, 2, { 2, 2 }, { "1/nm", "1/nm" }, { 1, 1 }, 4, 0 };
	struct dm_spec unknown = { 0, 1, 99, 6, 4, 2, { 2, 2 }, { 0 }, { 1, 1 }, 4, 0 };

	/* 4-D with a dimension of one is a stack. */
	snprintf(path, sizeof(path), "%s/a.dm3", tmpdir);
	make_dm(path, &s4);
	ck_assert_msg(em_img_open(path, NULL, &img) == 0, "%s", em_errmsg());
	in = em_img_info(img);
	ck_assert_int_eq(in->ndim, 3);
	ck_assert_uint_eq(in->shape[EM_Z], 3);
	ck_assert(in->voxel_known[EM_Z] && fabs(in->voxel_nm[EM_Z] - 5) < 1e-9);
	expect_counting(img, 4);
	em_img_free(img);

	/* 4-D proper (4D-STEM) is refused with its sizes. */
	snprintf(path, sizeof(path), "%s/b.dm4", tmpdir);
	make_dm(path, &s4d);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_ptr_null(img);
	ck_assert_str_eq(em_errmsg(), "4-D data of 3 x 3 x 2 x 2 (e.g. 4D-STEM): not a single volume");

	/* 2^50 voxels in the header over a 4-element array: an error, nothing allocated. */
	snprintf(path, sizeof(path), "%s/c.dm3", tmpdir);
	make_dm(path, &huge);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_msg(strstr(em_errmsg(), "does not match") != NULL, "%s", em_errmsg());

	/* An array claiming 2^40 bytes in a small file. */
	snprintf(path, sizeof(path), "%s/d.dm4", tmpdir);
	make_dm(path, &hugearr);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_msg(strstr(em_errmsg(), "truncated DM file: tag 'Data'") != NULL, "%s",
	    em_errmsg());

	/* The thumbnail named in Thumbnails is skipped although larger; big-endian values. */
	snprintf(path, sizeof(path), "%s/e.dm3", tmpdir);
	make_dm(path, &thumb);
	ck_assert_msg(em_img_open(path, NULL, &img) == 0, "%s", em_errmsg());
	in = em_img_info(img);
	ck_assert_int_eq(in->dtype, EM_DT_U4);
	ck_assert_int_eq(in->ndim, 2);
	ck_assert(in->voxel_known[EM_X] && fabs(in->voxel_nm[EM_X] - 0.003) < 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(in->source_metadata, "image_index")), 1);
	expect_counting(img, 4);
	em_img_free(img);

	snprintf(path, sizeof(path), "%s/f.dm3", tmpdir);
	make_dm(path, &energy);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(),
	    "spectrum line of 2 pixels x 8 channels in eV: not an image volume");

	/* A diffraction pattern: an image whose axes are not lengths. */
	snprintf(path, sizeof(path), "%s/g.dm3", tmpdir);
	make_dm(path, &recip);
	ck_assert_int_eq(em_img_open(path, NULL, &img), 0);
	in = em_img_info(img);
	ck_assert(!in->voxel_known[EM_X] && !in->voxel_known[EM_Y]);
	ck_assert_str_eq(in->voxel_unit[EM_X], "1/nm");
	em_img_free(img);

	snprintf(path, sizeof(path), "%s/h.dm3", tmpdir);
	make_dm(path, &unknown);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(), "DM data type 99 is not a known image type");
}
END_TEST

/* Groups nested past EM_DM_MAX_DEPTH: refused by the limit, not by the stack. */
START_TEST(dm_depth_limit)
{
	struct dmw w = { NULL, 0, 0, 0, 1 };
	struct em_img *img = NULL;
	char path[512];
	int d;

	w_be(&w, 3, 4);
	w_be(&w, 0, 4);
	w_be(&w, 1, 4);
	w_be(&w, 0, 2);
	w_word(&w, 1);
	for (d = 0; d < EM_DM_MAX_DEPTH + 5; d++)
		w_group(&w, "g", 1);
	w_simple(&w, "v", 3, 1, 4);
	snprintf(path, sizeof(path), "%s/deep.dm3", tmpdir);
	write_file(path, w.p, w.len);
	free(w.p);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(), "DM tag groups nest deeper than 64 levels");
}
END_TEST

START_TEST(dm_type_table)
{
	ck_assert_int_eq(em_dm_dtype(1), EM_DT_I2);
	ck_assert_int_eq(em_dm_dtype(2), EM_DT_F4);
	ck_assert_int_eq(em_dm_dtype(6), EM_DT_U1);
	ck_assert_int_eq(em_dm_dtype(7), EM_DT_I4);
	ck_assert_int_eq(em_dm_dtype(9), EM_DT_I1);
	ck_assert_int_eq(em_dm_dtype(10), EM_DT_U2);
	ck_assert_int_eq(em_dm_dtype(11), EM_DT_U4);
	ck_assert_int_eq(em_dm_dtype(12), EM_DT_F8);
	ck_assert_int_eq(em_dm_dtype(3), EM_DT_NONE);
	ck_assert_int_eq(em_dm_dtype(14), EM_DT_NONE);
	ck_assert_int_eq(em_dm_dtype(23), EM_DT_NONE);
	ck_assert_str_eq(em_dm_type_name(28), "packed complex128");
	ck_assert_str_eq(em_dm_type_name(8), "RGB");
	ck_assert_str_eq(em_dm_type_name(77), "unknown");
}
END_TEST

/* ---- hand-made MRC files ---- */

static void
put32(unsigned char *p, uint32_t v, int le)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * (le ? i : 3 - i)));
}

static void
mrc_header(unsigned char *h, int le, int nx, int ny, int nz, int mode, int nsymbt)
{
	memset(h, 0, EM_MRC_HEADER_BYTES);
	put32(h, (uint32_t)nx, le);
	put32(h + 4, (uint32_t)ny, le);
	put32(h + 8, (uint32_t)nz, le);
	put32(h + 12, (uint32_t)mode, le);
	put32(h + 28, (uint32_t)nx, le);
	put32(h + 32, (uint32_t)ny, le);
	put32(h + 36, (uint32_t)nz, le);
	put32(h + 40, (uint32_t)f32bits(1.5f * (float)nx), le);	/* 1.5 Å voxels */
	put32(h + 44, (uint32_t)f32bits(1.5f * (float)ny), le);
	put32(h + 48, (uint32_t)f32bits(3.0f * (float)nz), le);
	put32(h + 64, 1, le);
	put32(h + 68, 2, le);
	put32(h + 72, 3, le);
	put32(h + 88, 1, le);
	put32(h + 92, (uint32_t)nsymbt, le);
	memcpy(h + 208, "MAP ", 4);
	h[212] = le ? 0x44 : 0x11;
	h[213] = le ? 0x44 : 0x11;
}

START_TEST(mrc_modes)
{
	unsigned char file[EM_MRC_HEADER_BYTES + 64 + 256], out[64 * 4];
	struct em_img *img;
	const struct em_img_info *in;
	char path[512];
	float f;
	int i;

	snprintf(path, sizeof(path), "%s/m.mrc", tmpdir);

	/* Big-endian int16 with an extended header of 64 bytes. */
	mrc_header(file, 0, 4, 2, 2, 1, 64);
	memset(file + EM_MRC_HEADER_BYTES, 0xee, 64);
	for (i = 0; i < 16; i++) {
		file[EM_MRC_HEADER_BYTES + 64 + 2 * i] = (unsigned char)((-i) >> 8);
		file[EM_MRC_HEADER_BYTES + 64 + 2 * i + 1] = (unsigned char)(-i);
	}
	write_file(path, file, EM_MRC_HEADER_BYTES + 64 + 32);
	ck_assert_msg(em_img_open(path, NULL, &img) == 0, "%s", em_errmsg());
	in = em_img_info(img);
	ck_assert_int_eq(in->dtype, EM_DT_I2);
	ck_assert(in->voxel_known[EM_X] && fabs(in->voxel_nm[EM_X] - 0.15) < 1e-6);
	ck_assert(in->voxel_known[EM_Z] && fabs(in->voxel_nm[EM_Z] - 0.3) < 1e-6);
	ck_assert_int_eq(em_img_read_plane(img, 1, out), 0);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq((int16_t)(out[2 * i] | out[2 * i + 1] << 8), -(i + 8));
	ck_assert_int_eq(em_img_read_plane(img, 2, out), -1);
	em_img_free(img);

	/* float16: 1.0, -2.0, 0.5, 65504, a subnormal, inf. */
	{
		static const uint16_t h[6] = { 0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00 };
		static const float want[6] = { 1.0f, -2.0f, 0.5f, 65504.0f, 5.9604645e-8f, INFINITY };

		mrc_header(file, 1, 6, 1, 1, 12, 0);
		for (i = 0; i < 6; i++) {
			file[EM_MRC_HEADER_BYTES + 2 * i] = (unsigned char)h[i];
			file[EM_MRC_HEADER_BYTES + 2 * i + 1] = (unsigned char)(h[i] >> 8);
		}
		write_file(path, file, EM_MRC_HEADER_BYTES + 12);
		ck_assert_int_eq(em_img_open(path, NULL, &img), 0);
		/* Kept as float16 (mrcfile reads it so), not widened to float32. */
		ck_assert_int_eq(em_img_info(img)->dtype, EM_DT_F2);
		ck_assert_uint_eq(em_img_plane_bytes(img), 12);
		ck_assert_int_eq(em_img_read_plane(img, 0, out), 0);
		ck_assert_mem_eq(out, file + EM_MRC_HEADER_BYTES, 12);
		for (i = 0; i < 6; i++) {
			f = em_half_to_float((uint16_t)(out[2 * i] | out[2 * i + 1] << 8));
			ck_assert_msg(f == want[i], "half %04x -> %g", h[i], f);
		}
		ck_assert_ptr_null(json_object_get(em_img_info(img)->source_metadata, "converted"));
		em_img_free(img);
	}

	/* 4-bit packed, 3 columns (rows padded to 2 bytes), low nibble first. */
	mrc_header(file, 1, 3, 2, 1, 101, 0);
	file[EM_MRC_HEADER_BYTES] = 0x21;
	file[EM_MRC_HEADER_BYTES + 1] = 0xf3;
	file[EM_MRC_HEADER_BYTES + 2] = 0x54;
	file[EM_MRC_HEADER_BYTES + 3] = 0x06;
	write_file(path, file, EM_MRC_HEADER_BYTES + 4);
	ck_assert_int_eq(em_img_open(path, NULL, &img), 0);
	ck_assert_int_eq(em_img_info(img)->dtype, EM_DT_U1);
	ck_assert_int_eq(em_img_read_plane(img, 0, out), 0);
	ck_assert_mem_eq(out, "\x01\x02\x03\x04\x05\x06", 6);
	em_img_free(img);

	/* Mode 0 is int8; IMOD's stamp without the signed flag makes it uint8. */
	mrc_header(file, 1, 2, 1, 1, 0, 0);
	file[EM_MRC_HEADER_BYTES] = 0xff;
	file[EM_MRC_HEADER_BYTES + 1] = 0x01;
	write_file(path, file, EM_MRC_HEADER_BYTES + 2);
	ck_assert_int_eq(em_img_open(path, NULL, &img), 0);
	ck_assert_int_eq(em_img_info(img)->dtype, EM_DT_I1);
	em_img_free(img);
	put32(file + 152, 1146047817, 1);
	write_file(path, file, EM_MRC_HEADER_BYTES + 2);
	ck_assert_int_eq(em_img_open(path, NULL, &img), 0);
	ck_assert_int_eq(em_img_info(img)->dtype, EM_DT_U1);
	em_img_free(img);

	/* Refused and broken headers. */
	mrc_header(file, 1, 2, 2, 1, 4, 0);
	write_file(path, file, EM_MRC_HEADER_BYTES + 32);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(), "complex64 map (MRC mode 4): not a real-valued volume");
	mrc_header(file, 1, 2, 2, 1, 16, 0);
	write_file(path, file, EM_MRC_HEADER_BYTES + 12);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(), "RGB image (MRC mode 16): not a single-channel volume");
	mrc_header(file, 1, 2, 2, 1, 2, 0);
	put32(file + 68, 1, 1);
	write_file(path, file, EM_MRC_HEADER_BYTES + 16);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(),
	    "MRC axis order MAPC/MAPR/MAPS = 1/1/3 is not a permutation of 1, 2, 3");
	/* 2^40 voxels in the header, 16 bytes of data. */
	mrc_header(file, 1, 1 << 14, 1 << 13, 1 << 13, 0, 0);
	write_file(path, file, EM_MRC_HEADER_BYTES + 16);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_msg(strstr(em_errmsg(), "truncated MRC file: 16384 x 8192 x 8192 mode 0 needs"
	    " 1099511627776 data bytes from offset 1024") != NULL, "%s", em_errmsg());
	/* A plane past the plane limit is refused before the size check. */
	mrc_header(file, 1, 1 << 30, 1 << 30, 1, 2, 0);
	write_file(path, file, EM_MRC_HEADER_BYTES + 16);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_msg(strstr(em_errmsg(), "more than the") != NULL, "%s", em_errmsg());
	mrc_header(file, 1, 2, 2, 4, 2, 0);
	put32(file + 88, 401, 1);
	put32(file + 36, 2, 1);
	write_file(path, file, EM_MRC_HEADER_BYTES + 64);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(),
	    "MRC volume stack (space group 401) of 2 volumes of 2 sections: not a single volume");
	mrc_header(file, 1, 2, 2, 1, 2, -5);
	write_file(path, file, EM_MRC_HEADER_BYTES + 16);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(), "MRC extended header size NSYMBT = -5 is negative");
}
END_TEST

/* Every axis order: the plane read equals the file's values put where MAPC/MAPR/MAPS say. */
START_TEST(mrc_axis_orders)
{
	static const int perms[6][3] = {
		{ 1, 2, 3 }, { 2, 1, 3 }, { 3, 1, 2 }, { 1, 3, 2 }, { 2, 3, 1 }, { 3, 2, 1 },
	};
	unsigned char file[EM_MRC_HEADER_BYTES + 4 * 60];
	int n[3] = { 5, 4, 3 }, p, c, r, s;
	char path[512];

	snprintf(path, sizeof(path), "%s/p.mrc", tmpdir);
	for (p = 0; p < 6; p++) {
		struct em_img *img;
		const struct em_img_info *in;
		uint64_t sh[3];
		float v[60];
		int ax[3];

		mrc_header(file, 1, n[0], n[1], n[2], 2, 0);
		for (c = 0; c < 3; c++) {
			ax[c] = perms[p][c] - 1;
			put32(file + 64 + 4 * c, (uint32_t)perms[p][c], 1);
		}
		for (c = 0; c < 60; c++)
			put32(file + EM_MRC_HEADER_BYTES + 4 * c, (uint32_t)f32bits((float)c), 1);
		write_file(path, file, sizeof(file));
		ck_assert_msg(em_img_open(path, NULL, &img) == 0, "%s", em_errmsg());
		in = em_img_info(img);
		for (c = 0; c < 3; c++)
			sh[2 - ax[c]] = (uint64_t)n[c];
		ck_assert_uint_eq(in->shape[0], sh[0]);
		ck_assert_uint_eq(in->shape[1], sh[1]);
		ck_assert_uint_eq(in->shape[2], sh[2]);
		for (s = 0; s < n[2]; s++)
			for (r = 0; r < n[1]; r++)
				for (c = 0; c < n[0]; c++) {
					int idx[3] = { c, r, s }, xyz[3], k;
					float got;

					for (k = 0; k < 3; k++)
						xyz[ax[k]] = idx[k];
					ck_assert_int_eq(em_img_read_plane(img, (uint64_t)xyz[2], v), 0);
					memcpy(&got, (unsigned char *)v + 4 * ((size_t)xyz[1] * sh[2] +
					    (size_t)xyz[0]), 4);
					ck_assert_msg(got == (float)(c + n[0] * (r + n[1] * s)),
					    "order %d/%d/%d at c=%d r=%d s=%d: %g", perms[p][0],
					    perms[p][1], perms[p][2], c, r, s, got);
				}
		em_img_free(img);
	}
}
END_TEST

/* ---- units, half floats, sniffing, series ---- */

/* Float32 calibrations carry the decimal the writer meant (EMPIAR-11759: 8 nm, not 8.00000038). */
START_TEST(float32_calibrations)
{
	struct dm_spec s = { 0, 1, 10, 4, 2, 3, { 4, 3, 2 },
	    { "\xc2\xb5m", "\xc2\xb5m", "nm" }, { 0.008f, 0.008f, 0.3f }, 24, 0 };
	unsigned char file[EM_MRC_HEADER_BYTES + 8];
	const struct em_img_info *in;
	struct em_img *img;
	char path[512];

	snprintf(path, sizeof(path), "%s/f32.dm3", tmpdir);
	make_dm(path, &s);
	ck_assert_msg(em_img_open(path, NULL, &img) == 0, "%s", em_errmsg());
	in = em_img_info(img);
	ck_assert_msg(in->voxel_nm[EM_X] == 8 && in->voxel_nm[EM_Y] == 8, "%.17g %.17g",
	    in->voxel_nm[EM_X], in->voxel_nm[EM_Y]);
	ck_assert_msg(in->voxel_nm[EM_Z] == 0.3, "%.17g", in->voxel_nm[EM_Z]);
	em_img_free(img);

	/* An MRC cell of 10.56 x 10.56 x 3 A over 2 x 2 x 1 voxels: 0.528 nm, 0.3 nm. */
	snprintf(path, sizeof(path), "%s/f32.mrc", tmpdir);
	mrc_header(file, 1, 2, 2, 1, 0, 0);
	put32(file + 40, f32bits(10.56f), 1);
	put32(file + 44, f32bits(10.56f), 1);
	put32(file + 48, f32bits(3.0f), 1);
	memset(file + EM_MRC_HEADER_BYTES, 0, 8);
	write_file(path, file, EM_MRC_HEADER_BYTES + 4);
	ck_assert_msg(em_img_open(path, NULL, &img) == 0, "%s", em_errmsg());
	in = em_img_info(img);
	ck_assert_msg(in->voxel_nm[EM_X] == 0.528 && in->voxel_nm[EM_Y] == 0.528, "%.17g %.17g",
	    in->voxel_nm[EM_X], in->voxel_nm[EM_Y]);
	em_img_free(img);
}
END_TEST

START_TEST(utf8_clean)
{
	static const struct { const char *in; size_t cap; const char *out; } cases[] = {
		{ "nm", 16, "nm" }, { "\xc2\xb5m", 16, "\xc2\xb5m" }, { "\xb5m", 16, "?m" },
		{ "a\tb", 16, "a?b" }, { "\xe2\x84\xab", 16, "\xe2\x84\xab" },
		{ "\xe2\x84\xab", 3, "" }, { "ab\xc2\xb5", 4, "ab" }, { "\xed\xa0\x80", 16, "???" },
		{ "\xc0\xaf", 16, "??" }, { "\xf0\x9f\x98\x80!", 16, "\xf0\x9f\x98\x80!" },
		{ "abcdef", 4, "abc" },
	};
	char buf[16];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		em_utf8_clean(buf, cases[i].cap, cases[i].in);
		ck_assert_msg(strcmp(buf, cases[i].out) == 0, "case %zu: '%s'", i, buf);
	}
}
END_TEST

START_TEST(not_images)
{
	char path[512];
	struct em_img *img = NULL;

	snprintf(path, sizeof(path), "%s/x.txt", tmpdir);
	write_file(path, "hello, world\n", 13);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(), "not a DM3, DM4, MRC/CCP4 or TIFF file (first bytes 68 65 6c 6c)");
	write_file(path, "II", 2);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_str_eq(em_errmsg(), "file of 2 bytes is too short to be an image");
	write_file(path, "II*\0\010\0\0\0", 8);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_msg(strncmp(em_errmsg(), "not a readable TIFF file", 24) == 0, "%s", em_errmsg());
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	ck_assert_int_eq(em_img_open(path, NULL, &img), -1);
	ck_assert_msg(strstr(em_errmsg(), "No such file") != NULL, "%s", em_errmsg());
}
END_TEST

/* The per-format entry points open their own format and say why not another. */
START_TEST(format_entry_points)
{
	struct dm_spec d = { 0, 1, 6, 10, 1, 2, { 2, 2 }, { 0 }, { 1, 1 }, 4, 0 };
	unsigned char file[EM_MRC_HEADER_BYTES + 4];
	char dmp[512], mrcp[512];
	struct em_img *img = NULL;

	snprintf(dmp, sizeof(dmp), "%s/e.dm3", tmpdir);
	snprintf(mrcp, sizeof(mrcp), "%s/e.mrc", tmpdir);
	make_dm(dmp, &d);
	mrc_header(file, 1, 2, 2, 1, 0, 0);
	memset(file + EM_MRC_HEADER_BYTES, 7, 4);
	write_file(mrcp, file, sizeof(file));
	ck_assert_int_eq(em_dm_open(dmp, &img), 0);
	ck_assert_int_eq(em_img_info(img)->format, EM_IMG_DM3);
	em_img_free(img);
	ck_assert_int_eq(em_mrc_open(mrcp, NULL, &img), 0);
	ck_assert_int_eq(em_img_info(img)->format, EM_IMG_MRC);
	em_img_free(img);
	ck_assert_int_eq(em_dm_open(mrcp, &img), -1);
	ck_assert_ptr_null(img);
	ck_assert_str_eq(em_errmsg(), "DM version 33554432 is not 3 or 4");
	ck_assert_int_eq(em_mrc_open(dmp, NULL, &img), -1);
	ck_assert_int_eq(em_tiffvol_open(mrcp, NULL, &img), -1);
	ck_assert_msg(strncmp(em_errmsg(), "not a readable TIFF file", 24) == 0, "%s", em_errmsg());
	ck_assert_int_eq(em_dm_open("/nonexistent/x.dm3", &img), -1);
	ck_assert_int_eq(em_mrc_open("/nonexistent/x.mrc", NULL, &img), -1);
}
END_TEST

START_TEST(series)
{
	struct dm_spec a = { 0, 1, 10, 4, 2, 2, { 3, 2 }, { "nm", "nm" }, { 2, 2 }, 6, 0 };
	struct dm_spec b = { 1, 0, 10, 4, 2, 2, { 3, 2 }, { "nm", "nm" }, { 2, 2 }, 6, 0 };
	struct dm_spec c = { 0, 1, 1, 2, 2, 2, { 3, 2 }, { "nm", "nm" }, { 2, 2 }, 6, 0 };
	char p1[512], p2[512], p3[512];
	const char *paths[3] = { p1, p2, p3 };
	struct em_img *img = NULL;
	const struct em_img_info *in;
	unsigned char buf[12];

	snprintf(p1, sizeof(p1), "%s/s1.dm3", tmpdir);
	snprintf(p2, sizeof(p2), "%s/s2.dm4", tmpdir);
	snprintf(p3, sizeof(p3), "%s/s3.dm3", tmpdir);
	make_dm(p1, &a);
	make_dm(p2, &b);
	make_dm(p3, &c);
	ck_assert_msg(em_img_open_series(paths, 2, 40, &img) == 0, "%s", em_errmsg());
	in = em_img_info(img);
	ck_assert_int_eq(in->format, EM_IMG_SERIES);
	ck_assert_int_eq(in->ndim, 3);
	ck_assert_uint_eq(in->shape[EM_Z], 2);
	ck_assert(in->voxel_known[EM_Z] && in->voxel_nm[EM_Z] == 40);
	ck_assert(in->voxel_known[EM_X] && in->voxel_nm[EM_X] == 2);
	ck_assert_int_eq(em_img_read_plane(img, 1, buf), 0);
	ck_assert_mem_eq(buf, "\1\0\2\0\3\0\4\0\5\0\6\0", 12);
	em_img_free(img);
	ck_assert_int_eq(em_img_open_series(paths, 2, 0, &img), 0);
	ck_assert(!em_img_info(img)->voxel_known[EM_Z]);
	em_img_free(img);

	img = NULL;
	ck_assert_int_eq(em_img_open_series(paths, 3, 40, &img), -1);
	ck_assert_ptr_null(img);
	ck_assert_msg(strstr(em_errmsg(), "series file 3 '") != NULL &&
	    strstr(em_errmsg(), "s3.dm3' is 2x3 int16, the first is 2x3 uint16") != NULL, "%s",
	    em_errmsg());
	ck_assert_int_eq(em_img_open_series(paths, 0, 40, &img), -1);
}
END_TEST

/* ---- corrupt copies: a clear error or a whole read, never a crash or a huge allocation ---- */

static void
try_corrupt(const char *path, const char *what)
{
	struct em_img *img = NULL;
	const struct em_img_info *in;
	uint64_t z;

	if (em_img_open(path, NULL, &img) < 0) {
		ck_assert_msg(em_errmsg()[0] != '\0', "%s: -1 without a reason", what);
		ck_assert_msg(strstr(em_errmsg(), "out of memory") == NULL, "%s: %s", what, em_errmsg());
		return;
	}
	in = em_img_info(img);
	ck_assert_msg(em_img_plane_bytes(img) <= EM_IMG_MAX_PLANE_BYTES, "%s", what);
	ck_assert_msg(json_is_object(in->source_metadata), "%s: no source_metadata", what);
	/* Reading may fail on a damaged plane, with a reason; the first few planes are enough. */
	for (z = 0; z < in->shape[EM_Z] && z < 4; z++) {
		void *buf = malloc(em_img_plane_bytes(img));

		ck_assert_ptr_nonnull(buf);
		if (em_img_read_plane(img, z, buf) < 0)
			ck_assert_msg(em_errmsg()[0] != '\0' &&
			    strstr(em_errmsg(), "out of memory") == NULL, "%s: %s", what, em_errmsg());
		free(buf);
	}
	em_img_free(img);
}

START_TEST(corrupt_copies)
{
	static const char *const samples[] = {
		"dm3/test_STEM_image.dm3", "dm4/ncempy_dmTest_float32_nonSquare_diffPixelSize.dm4",
		"dm3/test_stackbuilder_imagestack.dm3", "mrc/EMD-3001.map", "mrc/rsciio_HAADFscan.mrc",
		"tiff/image-tiff_seq/seq-1c-8b-tiled-bigtiff-20f3db0c.tiff",
		"tiff/image-tiff_seq/seq-1c-16b-deflate-68f373a0.tiff",
		"tiff/image-tiff_seq/seq-1c-8b-multipage-adeefdcc.tiff",
		"tiff/rsciio_test_loading_image_saved_with_imageJ_stack.tif",
		"ometiff/libvips_multi-channel-z-series.ome.tif",
	};
	const char *dir = testdata();
	char src[1400], dst[512], what[1600];
	size_t i, n, k;
	unsigned char *data;
	uint32_t seed = 12345;
	struct rlimit rl;

	if (dir == NULL) {
		printf("skipped: no test data at ../shared/testdata (set TESTDATA)\n");
		return;
	}
#if !defined(__SANITIZE_ADDRESS__)
	/* Without ASan (which needs its address space), a huge allocation would fail here. */
	rl.rlim_cur = rl.rlim_max = (rlim_t)1 << 30;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#else
	(void)rl;
#endif
	snprintf(dst, sizeof(dst), "%s/corrupt", tmpdir);
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		size_t cuts[12];

		snprintf(src, sizeof(src), "%s/%s", dir, samples[i]);
		data = read_all(src, &n);
		cuts[0] = 0, cuts[1] = 1, cuts[2] = 7, cuts[3] = 15, cuts[4] = 27, cuts[5] = 100;
		cuts[6] = 600, cuts[7] = 1030, cuts[8] = n / 3, cuts[9] = n / 2, cuts[10] = n - 100;
		cuts[11] = n - 1;
		for (k = 0; k < 12; k++) {
			if (cuts[k] >= n)
				continue;
			write_file(dst, data, cuts[k]);
			snprintf(what, sizeof(what), "%s cut at %zu", samples[i], cuts[k]);
			try_corrupt(dst, what);
		}
		/* Flipped bytes: each of the first 64, then 64 spread by a fixed generator. */
		for (k = 0; k < 128; k++) {
			size_t at = k < 64 ? k : (seed = seed * 1103515245u + 12345u, seed % n);

			if (at >= n)
				continue;
			data[at] ^= 0xff;
			write_file(dst, data, n);
			data[at] ^= 0xff;
			snprintf(what, sizeof(what), "%s byte %zu flipped", samples[i], at);
			try_corrupt(dst, what);
		}
		/* Words of all ones through the first 256 bytes: -1 counts, NaN floats. */
		for (k = 0; k + 4 <= n && k < 256; k += 4) {
			unsigned char keep[4];

			memcpy(keep, data + k, 4);
			memset(data + k, 0xff, 4);
			write_file(dst, data, n);
			memcpy(data + k, keep, 4);
			snprintf(what, sizeof(what), "%s word at %zu all ones", samples[i], k);
			try_corrupt(dst, what);
		}
		free(data);
	}
}
END_TEST

Suite *
image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("testdata");
	TCase *tm = tcase_create("made");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, testdata_files);
	tcase_add_test(tc, corrupt_copies);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tm, setup, teardown);
	tcase_add_test(tm, dm_orders_and_versions);
	tcase_add_test(tm, dm_shapes_and_limits);
	tcase_add_test(tm, dm_type_table);
	tcase_add_test(tm, dm_depth_limit);
	tcase_add_test(tm, mrc_modes);
	tcase_add_test(tm, mrc_axis_orders);
	tcase_add_test(tm, float32_calibrations);
	tcase_add_test(tm, utf8_clean);
	tcase_add_test(tm, not_images);
	tcase_add_test(tm, format_entry_points);
	tcase_add_test(tm, series);
	suite_add_tcase(s, tm);
	return s;
}
