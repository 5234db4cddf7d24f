/* fetch-idr - an IDR image (webgateway imgData + its TIFF/OME-TIFF file) into an OME-Zarr store */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/fetch.h"
#include "sources/idr.h"
#include "tool/filefetch.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "meta/record.h"
#include "tool/tool.h"
#include "core/banned.h"

enum { OPT_ID = EM_OPT_TOOL };

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: fetch-idr [IMAGE] [--url URL] [--id ID]\n%s"
	    "       fetch-idr --help | --version\n", em_fetch_usage);
	exit(status);
}

/*
 * The archive's side: imgData's sizes and pixel size, and the record's
 * description, modality, archive identifiers, citation and licence.
 */
static int
ask_idr(struct em_fetch *f, const char *image, int configured, uint64_t shape[3],
    double voxel[3], int *have_voxel)
{
	struct em_http_resp r = EM_HTTP_RESP_INIT;
	struct em_idr_image im;
	char url[2048];
	const char *base, *s;
	json_t *arch;
	int rc = -1, i;

	memset(&im, 0, sizeof(im));
	base = em_fetch_conf_str(f, "base_url", "https://idr.openmicroscopy.org");
	if (configured)
		snprintf(url, sizeof(url), "%s", em_fetch_conf_str(f, "webgateway_url", ""));
	else if (em_idr_url(base, "imgData", image, url, sizeof(url)) < 0)
		goto out;
	i = em_http_get(f->http, url, EM_IDR_MAX_IMGDATA_BYTES, &r);
	if (i == EM_HTTP_MISSING) {
		em_fail("GET '%s': HTTP %ld: IDR has no image %s", url, r.status, image);
		goto out;
	}
	if (i < 0 || em_idr_parse(r.body, r.len, url, &im) < 0)
		goto out;
	memcpy(shape, im.shape, sizeof(im.shape));
	memcpy(voxel, im.voxel_nm, sizeof(im.voxel_nm));
	*have_voxel = im.have_voxel;
	if (configured && (s = em_fetch_conf_str(f, "description", NULL)) != NULL) {
		if (em_record_set_str(f->rec, "description", s) < 0)
			goto out;
	} else if (im.name != NULL) {
		if (em_record_set_str(f->rec, "description", im.name) < 0)
			goto out;
	}
	if (configured && (s = em_fetch_conf_str(f, "modality", NULL)) != NULL &&
	    em_record_set_str(f->rec, "modality", s) < 0)
		goto out;
	if (em_idr_url(base, "entry", image, url, sizeof(url)) < 0)
		goto out;
	arch = json_pack("{s:s, s:s}", "image_id", image, "entry_url", url);
	if (configured) {
		if ((s = em_fetch_conf_str(f, "study", NULL)) != NULL) {
			char acc[64];

			json_object_set_new(arch, "study", json_string(s));
			snprintf(acc, sizeof(acc), "%.*s", (int)strcspn(s, "-"), s);
			json_object_set_new(arch, "accession", json_string(acc));
		}
		if ((s = em_fetch_conf_str(f, "dataset_id", NULL)) != NULL)
			json_object_set_new(arch, "dataset_id", json_string(s));
		if ((s = em_fetch_conf_str(f, "doi", NULL)) != NULL)
			json_object_set_new(arch, "doi", json_string(s));
	}
	if (im.dataset != NULL)
		json_object_set_new(arch, "dataset", json_string(im.dataset));
	if (im.project != NULL)
		json_object_set_new(arch, "project", json_string(im.project));
	if (im.name != NULL)
		json_object_set_new(arch, "title", json_string(im.name));
	if (em_record_set(f->rec, "archive", arch) < 0)
		goto out;
	if (configured) {
		const char *doi = em_fetch_conf_str(f, "doi", NULL);
		const char *text = em_fetch_conf_str(f, "citation", NULL);

		if (text != NULL || doi != NULL) {
			json_t *c = json_object();

			if (text != NULL)
				json_object_set_new(c, "text", json_string(text));
			if (doi != NULL)
				json_object_set_new(c, "doi", json_string(doi));
			if (em_record_set(f->rec, "citation", c) < 0)
				goto out;
		}
		if ((s = em_fetch_conf_str(f, "license", NULL)) != NULL &&
		    em_record_set_str(f->rec, "license", s) < 0)
			goto out;
	}
	if (em_record_set(f->rec, "source_metadata", json_pack("{s:O}", "imgData", im.json)) < 0)
		goto out;
	rc = 0;
out:
	em_idr_release(&im);
	em_http_resp_release(&r);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option ownopts[] = {
		{ "id", required_argument, NULL, OPT_ID },
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct em_filelist files;
	struct em_fetch_image_opts io;
	const char *image = NULL, *idopt = NULL, *conf_image, *url;
	const char *prov[3] = { "archive-api", "archive-api", "archive-api" };
	char id[129];
	uint64_t shape[3];
	double voxel[3];
	int c, status = 1, have_voxel = 0, configured, began = 0;

	em_tool_begin(argv[0]);
	em_fetch_opts_init(&o);
	while ((c = em_fetch_getopt(argc, argv, ownopts, 1, &o, usage)) != -1)
		if (c == OPT_ID)
			idopt = optarg;
	if (argc - optind > 1)
		usage(stderr, EM_EXIT_USAGE);
	if (optind < argc) {
		uint64_t n;

		image = argv[optind];
		if (em_parse_u64(image, &n) < 0 || n == 0) {
			em_err("bad image id '%s': IDR image ids are positive numbers", image);
			usage(stderr, EM_EXIT_USAGE);
		}
	}
	em_interrupt_install();
	em_filelist_init(&files);
	memset(&io, 0, sizeof(io));
	began = 1;
	if (em_fetch_begin(&f, "fetch-idr", "idr", 4, &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		goto out;
	}
	/* --url alone ingests just that file; with IMAGE, the file is that image's. */
	if (image == NULL && o.url != NULL) {
		status = em_filelist_url(&f, o.url, idopt);
		goto out;
	}
	conf_image = em_fetch_conf_str(&f, "image_id", "9846137");
	if (image == NULL)
		image = conf_image;
	configured = strcmp(image, conf_image) == 0;
	if (o.url == NULL && !configured) {
		em_err("no file URL is known for IDR image %s: give it with --url", image);
		goto out;
	}
	url = o.url != NULL ? o.url : em_fetch_conf_str(&f, "file_url", NULL);
	if (url == NULL || *url == '\0') {
		em_err("no file URL: set sources.idr.file_url or give --url");
		goto out;
	}
	snprintf(id, sizeof(id), "%s", idopt != NULL ? idopt : image);
	if (em_filelist_add(&files, url, -1) < 0) {
		em_err("%s", em_errmsg());
		goto out;
	}
	if ((status = em_filelist_start(&f, id, &files)) != EM_FETCH_GO)
		goto out;
	if (ask_idr(&f, image, configured, shape, voxel, &have_voxel) < 0) {
		status = em_fetch_fail(&f, "cannot read the image metadata");
		goto out;
	}
	io.expect_shape = shape;
	io.expect_from = "IDR imgData";
	if (have_voxel) {
		io.fallback_nm = voxel;
		io.fallback_prov = prov;
	}
	status = em_filelist_ingest(&f, &files, &io);
out:
	em_filelist_release(&files);
	if (began)
		em_fetch_end(&f);
	if (em_interrupted() && status != 0)
		status = em_interrupt_status();
	return em_tool_end(status);
}
