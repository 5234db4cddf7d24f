/* dstool.c - test driver for store/downsample.h: reduce a raw volume, or print a pyramid plan */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/dtype.h"
#include "core/parse.h"
#include "store/codec.h"
#include "store/downsample.h"
#include "store/pyramid.h"
#include "store/zarr.h"
#include "tool/tool.h"

static void
usage(void)
{
	fputs("usage: dstool reduce METHOD DTYPE Z,Y,X FZ,FY,FX <in.raw >out.raw\n"
	    "       dstool plan Z,Y,X VZ,VY,VX CZ,CY,CX LEVELS\n"
	    "       dstool pyramid DIR METHOD DTYPE Z,Y,X VZ,VY,VX CZ,CY,CX LEVELS STEP <in.raw\n", stderr);
	exit(EM_EXIT_USAGE);
}

static void
list3(const char *s, uint64_t v[3])
{
	char *end;

	for (int i = 0; i < 3; i++) {
		v[i] = strtoull(s, &end, 10);
		if (end == s || (i < 2 && *end != ',') || (i == 2 && *end != '\0'))
			usage();
		s = end + 1;
	}
}

static int
reduce(int argc, char **argv)
{
	uint64_t ss[3], fv[3], n = 1, dn = 1;
	int m, f[3];
	enum em_dtype dt;
	size_t isz;
	void *in, *out;

	if (argc != 6)
		usage();
	if ((m = em_ds_method_from_name(argv[2])) < 0 || (dt = em_dtype_from_name(argv[3])) == EM_DT_NONE)
		usage();
	list3(argv[4], ss);
	list3(argv[5], fv);
	isz = em_dtype_size(dt);
	for (int i = 0; i < 3; i++) {
		f[i] = (int)fv[i];
		n *= ss[i];
		dn *= (ss[i] + fv[i] - 1) / fv[i];
	}
	if ((in = malloc(n * isz)) == NULL || (out = malloc(dn * isz)) == NULL)
		em_die(1, "out of memory");
	if (fread(in, isz, n, stdin) != n)
		em_die(1, "short input");
	if (em_downsample(dt, (enum em_ds_method)m, in, ss, f, out) < 0)
		em_die(1, "%s", em_errmsg());
	if (fwrite(out, isz, dn, stdout) != dn)
		em_die(1, "cannot write");
	free(in);
	free(out);
	return 0;
}

static int
plan(int argc, char **argv)
{
	struct em_pyramid_plan p;
	uint64_t s[3], c[3];
	double v[3];
	char *end;
	const char *q;
	int levels;

	if (argc != 6)
		usage();
	list3(argv[2], s);
	q = argv[3];
	for (int i = 0; i < 3; i++) {
		v[i] = strtod(q, &end);
		if (end == q)
			usage();
		q = end + 1;
	}
	list3(argv[4], c);
	levels = strcmp(argv[5], "auto") == 0 ? 0 : atoi(argv[5]);
	if (em_pyramid_plan(s, v, c, levels, &p) < 0)
		em_die(1, "%s", em_errmsg());
	for (int l = 0; l < p.levels; l++)
		printf("%d shape %" PRIu64 ",%" PRIu64 ",%" PRIu64 " factor %d,%d,%d scale %" PRIu64
		    ",%" PRIu64 ",%" PRIu64 " voxel %g,%g,%g\n", l, p.shape[l][0], p.shape[l][1],
		    p.shape[l][2], p.factor[l][0], p.factor[l][1], p.factor[l][2], p.scale[l][0],
		    p.scale[l][1], p.scale[l][2], p.voxel[l][0], p.voxel[l][1], p.voxel[l][2]);
	return 0;
}

/* Level 0 and the levels above it into DIR/0, DIR/1, ... (Zarr v2, zlib), planes STEP at a time. */
static int
pyramid(int argc, char **argv)
{
	struct em_zarr *arr[EM_PYRAMID_MAX_LEVELS] = { 0 };
	struct em_zwriter_opts o = { .jobs = 2 };
	struct em_pyramid_plan p;
	struct em_zwriter_stats st = { 0 };
	struct em_pyramid *py;
	struct em_zwriter *w0;
	struct em_codec c;
	uint64_t s[3], cs[3], step;
	double v[3];
	enum em_dtype dt;
	int m, levels;
	unsigned char *buf;
	size_t plane;
	char path[4096];
	const char *q;
	char *end;

	if (argc != 10)
		usage();
	if ((m = em_ds_method_from_name(argv[3])) < 0 || (dt = em_dtype_from_name(argv[4])) == EM_DT_NONE)
		usage();
	list3(argv[5], s);
	q = argv[6];
	for (int i = 0; i < 3; i++) {
		v[i] = strtod(q, &end);
		q = end + 1;
	}
	list3(argv[7], cs);
	levels = strcmp(argv[8], "auto") == 0 ? 0 : atoi(argv[8]);
	step = strtoull(argv[9], NULL, 10);
	if (step == 0 || em_pyramid_plan(s, v, cs, levels, &p) < 0 || em_codec_from_name("zlib", 1, &c) < 0)
		em_die(1, "%s", em_errmsg());
	for (int l = 0; l < p.levels; l++) {
		struct em_zarr_meta meta;

		snprintf(path, sizeof(path), "%s/%d", argv[2], l);
		if (em_zarr_meta_init(&meta, 3, p.shape[l], cs, dt, &c) < 0 || em_zarr_create_array(path, &meta) < 0
		    || (arr[l] = em_zarr_open(path)) == NULL)
			em_die(1, "level %d: %s", l, em_errmsg());
	}
	if ((w0 = em_zwriter_new(arr[0], &o)) == NULL
	    || (py = em_pyramid_new(&p, 0, arr, dt, (enum em_ds_method)m, &o, NULL)) == NULL)
		em_die(1, "%s", em_errmsg());
	plane = (size_t)(s[1] * s[2]) * em_dtype_size(dt);
	if ((buf = malloc(plane * step)) == NULL)
		em_die(1, "out of memory");
	for (uint64_t z = 0; z < s[0]; z += step) {
		uint64_t nz = s[0] - z < step ? s[0] - z : step;
		if (fread(buf, plane, nz, stdin) != nz)
			em_die(1, "short input");
		if (em_zwriter_put_planes(w0, z, nz, buf) < 0 || em_pyramid_put_planes(py, z, nz, buf) < 0)
			em_die(1, "%s", em_errmsg());
	}
	if (em_zwriter_finish(w0, NULL) < 0 || em_pyramid_finish(py, &st) < 0)
		em_die(1, "%s", em_errmsg());
	printf("levels %d chunks above level 0 %llu\n", p.levels, (unsigned long long)st.chunks_written);
	em_pyramid_free(py);
	em_zwriter_free(w0);
	for (int l = 0; l < p.levels; l++)
		em_zarr_close(arr[l]);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	em_tool_begin(argv[0]);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "reduce") == 0)
		return reduce(argc, argv);
	if (strcmp(argv[1], "plan") == 0)
		return plan(argc, argv);
	if (strcmp(argv[1], "pyramid") == 0)
		return pyramid(argc, argv);
	usage();
	return 2;
}
