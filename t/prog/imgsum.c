/* imgsum.c - test driver: open image files with lib/formats/image.h, print their info and SHA-256 as JSON */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/diag.h"
#include "formats/image.h"
#include "core/parse.h"
#include "tool/tool.h"
#include "core/banned.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: imgsum [-mr] [-c channel] [-t timepoint] [-f] FILE...\n"
	    "       imgsum -s z_nm [-mr] FILE...\n");
	exit(status);
}

/*
 * Peak resident memory of this process image in KiB (VmHWM: unlike
 * getrusage, it does not count the memory of the process that exec'd us).
 */
static long
peak_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(fp);
	return kb;
}

/*
 * One JSON line: file, format, ndim, shape (z,y,x), dtype, voxel_nm
 * (null where unknown), voxel_unit, sha256 of every plane in order,
 * with -m source_metadata, with -r peak_rss_kb after the read.
 */
static int
summarise(struct em_img *img, const char *name, int meta, int rss)
{
	const struct em_img_info *in = em_img_info(img);
	size_t pb = em_img_plane_bytes(img);
	unsigned char *buf = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MD_CTX *ctx = NULL;
	json_t *o = NULL, *vox;
	uint64_t z;
	int a, rc = -1;
	char *s;

	if ((buf = malloc(pb)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		em_err("out of memory");
		goto out;
	}
	for (z = 0; z < in->shape[EM_Z]; z++) {
		if (em_img_read_plane(img, z, buf) < 0) {
			em_err("cannot read plane %llu of '%s': %s", (unsigned long long)z, name,
			    em_errmsg());
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, pb);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	vox = json_array();
	for (a = 0; a < 3; a++)
		json_array_append_new(vox, in->voxel_known[a] ? json_real(in->voxel_nm[a]) : json_null());
	o = json_pack("{s:s, s:s, s:i, s:[I,I,I], s:s, s:o, s:[s,s,s], s:s}",
	    "file", name, "format", em_img_format_name(in->format), "ndim", in->ndim,
	    "shape", (json_int_t)in->shape[0], (json_int_t)in->shape[1], (json_int_t)in->shape[2],
	    "dtype", em_dtype_name(in->dtype), "voxel_nm", vox,
	    "voxel_unit", in->voxel_unit[0], in->voxel_unit[1], in->voxel_unit[2],
	    "sha256", hex);
	if (o == NULL) {
		em_err("cannot make the JSON of '%s'", name);
		goto out;
	}
	if (meta)
		json_object_set(o, "source_metadata", in->source_metadata);
	if (rss)
		json_object_set_new(o, "peak_rss_kb", json_integer(peak_rss_kb()));
	if ((s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10))) == NULL)
		goto out;
	printf("%s\n", s);
	free(s);
	rc = 0;
out:
	json_decref(o);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "channel", required_argument, NULL, 'c' },
		{ "file-order", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "meta", no_argument, NULL, 'm' },
		{ "rss", no_argument, NULL, 'r' },
		{ "series", required_argument, NULL, 's' },
		{ "timepoint", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct em_img_opts opts = EM_IMG_OPTS_INIT;
	struct em_img *img;
	double zsp = -1;
	int c, i, meta = 0, rss = 0, status = EM_EXIT_OK;
	char *end;

	em_tool_begin(argv[0]);
	while ((c = getopt_long(argc, argv, "c:fhmrs:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.channel = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || opts.channel < 0)
				usage(stderr, EM_EXIT_USAGE);
			break;
		case 't':
			opts.timepoint = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || opts.timepoint < 0)
				usage(stderr, EM_EXIT_USAGE);
			break;
		case 'f':
			opts.mrc_file_order = 1;
			break;
		case 'm':
			meta = 1;
			break;
		case 'r':
			rss = 1;
			break;
		case 's':
			zsp = strtod(optarg, &end);
			if (*end != '\0' || !(zsp >= 0))
				usage(stderr, EM_EXIT_USAGE);
			break;
		case 'h':
			usage(stdout, EM_EXIT_OK);
			break;
		default:
			usage(stderr, EM_EXIT_USAGE);
		}
	}
	if (optind >= argc)
		usage(stderr, EM_EXIT_USAGE);
	if (zsp >= 0) {
		if (em_img_open_series((const char *const *)(argv + optind), (size_t)(argc - optind),
		    zsp, &img) < 0) {
			em_err("cannot open series '%s': %s", argv[optind], em_errmsg());
			return em_tool_end(EM_EXIT_FAIL);
		}
		if (summarise(img, argv[optind], meta, rss) < 0)
			status = EM_EXIT_FAIL;
		em_img_free(img);
		return em_tool_end(status);
	}
	for (i = optind; i < argc; i++) {
		if (em_img_open(argv[i], &opts, &img) < 0) {
			em_err("cannot open '%s': %s", argv[i], em_errmsg());
			status = EM_EXIT_FAIL;
			continue;
		}
		if (summarise(img, argv[i], meta, rss) < 0)
			status = EM_EXIT_FAIL;
		em_img_free(img);
	}
	return em_tool_end(status);
}
