/* fetch-epfl - the EPFL CVLab hippocampus stacks (multi-page TIFF) into OME-Zarr stores */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/fetch.h"
#include "tool/filefetch.h"
#include "core/interrupt.h"
#include "meta/record.h"
#include "tool/tool.h"
#include "core/banned.h"

enum { OPT_ID = EM_OPT_TOOL, OPT_VOLUME };

/* The stacks of the dataset: the volume, and the training/testing crops with their labels. */
static const struct volume {
	const char *name;	/* --volume NAME; the file is NAME.tif */
	const char *what;	/* for the description */
	int labels;
} volumes[] = {
	{ "volumedata", NULL, 0 },
	{ "training", "training sub-volume", 0 },
	{ "training_groundtruth", "training sub-volume, mitochondria labels", 1 },
	{ "testing", "testing sub-volume", 0 },
	{ "testing_groundtruth", "testing sub-volume, mitochondria labels", 1 },
	{ NULL, NULL, 0 },
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: fetch-epfl [--volume NAME] [--url URL] [--id ID]\n%s"
	    "       fetch-epfl --help | --version\n"
	    "NAME: volumedata (default), training, training_groundtruth, testing,\n"
	    "      testing_groundtruth\n", em_fetch_usage);
	exit(status);
}

/* An integer setting that may be null (~) for "not checked": -1 then. */
static int64_t
conf_int_or_null(struct em_fetch *f, const char *key)
{
	char path[128];
	json_t *v = NULL;

	snprintf(path, sizeof(path), "sources.epfl.%s", key);
	if (em_config_get(f->cfg, path, &v) < 0 || !json_is_integer(v) ||
	    json_integer_value(v) <= 0)
		return -1;
	return (int64_t)json_integer_value(v);
}

static int
conf_shape(struct em_fetch *f, const char *key, uint64_t shape[3])
{
	char path[128];
	json_t *v = NULL;

	snprintf(path, sizeof(path), "sources.epfl.%s", key);
	if (em_config_get(f->cfg, path, &v) < 0 || !json_is_array(v))
		return 0;
	return em_config_get_u64_list(f->cfg, path, shape, 3, 1, (uint64_t)1 << 31, NULL) == 0;
}

static int
describe(struct em_fetch *f, const struct volume *v, const char *dataset)
{
	const char *s, *page;
	char desc[1024];
	json_t *arch;

	s = em_fetch_conf_str(f, "description", "CA1 hippocampus, electron microscopy");
	if (v->what != NULL)
		snprintf(desc, sizeof(desc), "%s (%s)", s, v->what);
	else
		snprintf(desc, sizeof(desc), "%s", s);
	if (em_record_set_str(f->rec, "description", desc) < 0)
		return -1;
	if ((s = em_fetch_conf_str(f, "modality", NULL)) != NULL &&
	    em_record_set_str(f->rec, "modality", s) < 0)
		return -1;
	arch = json_pack("{s:s, s:s}", "dataset", dataset, "file", v->name);
	page = em_fetch_conf_str(f, "landing_page", NULL);
	if (page != NULL)
		json_object_set_new(arch, "entry_url", json_string(page));
	json_object_set_new(arch, "title", json_string("EPFL CVLab Electron Microscopy Dataset"));
	if (em_record_set(f->rec, "archive", arch) < 0)
		return -1;
	if ((s = em_fetch_conf_str(f, "citation", NULL)) != NULL &&
	    em_record_set(f->rec, "citation", json_pack("{s:s}", "text", s)) < 0)
		return -1;
	if ((s = em_fetch_conf_str(f, "license", NULL)) != NULL &&
	    em_record_set_str(f->rec, "license", s) < 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option ownopts[] = {
		{ "id", required_argument, NULL, OPT_ID },
		{ "volume", required_argument, NULL, OPT_VOLUME },
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct em_filelist files;
	struct em_fetch_image_opts io;
	const struct volume *v = &volumes[0];
	const char *idopt = NULL, *dataset, *base, *file;
	const char *prov[3] = { "config", "config", "config" };
	char id[129], url[4096], fname[64];
	uint64_t shape[3];
	double voxel[3];
	int64_t size;
	size_t bl;
	int c, r, status = 1, began = 0;

	em_tool_begin(argv[0]);
	em_fetch_opts_init(&o);
	while ((c = em_fetch_getopt(argc, argv, ownopts, 2, &o, usage)) != -1) {
		if (c == OPT_ID) {
			idopt = optarg;
			continue;
		}
		/* OPT_VOLUME */
		for (v = volumes; v->name != NULL; v++)
			if (strcmp(v->name, optarg) == 0)
				break;
		if (v->name == NULL) {
			em_err("unknown --volume '%s'", optarg);
			usage(stderr, EM_EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EM_EXIT_USAGE);
	em_interrupt_install();
	em_filelist_init(&files);
	memset(&io, 0, sizeof(io));
	began = 1;
	if (em_fetch_begin(&f, "fetch-epfl", "epfl", 4, &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		goto out;
	}
	if (o.url != NULL) {
		status = em_filelist_url(&f, o.url, idopt);
		goto out;
	}
	dataset = em_fetch_conf_str(&f, "dataset", "hippocampus-ca1");
	file = v == &volumes[0] ? em_fetch_conf_str(&f, "file", "volumedata.tif") : NULL;
	if (file == NULL) {
		snprintf(fname, sizeof(fname), "%s.tif", v->name);
		file = fname;
	}
	base = em_fetch_conf_str(&f, "base_url", "");
	bl = strlen(base);
	if ((size_t)snprintf(url, sizeof(url), "%s%s%s", base,
	    bl > 0 && base[bl - 1] != '/' ? "/" : "", file) >= sizeof(url)) {
		em_err("sources.epfl.base_url is too long");
		goto out;
	}
	if (idopt != NULL)
		snprintf(id, sizeof(id), "%s", idopt);
	else if (v == &volumes[0])
		snprintf(id, sizeof(id), "%s", dataset);
	else
		snprintf(id, sizeof(id), "%s-%s", dataset, v->name);
	size = conf_int_or_null(&f, v == &volumes[0] ? "expected_bytes" :
	    "other_files_bytes");
	if (em_filelist_add(&files, url, size) < 0) {
		em_err("%s", em_errmsg());
		goto out;
	}
	if (conf_shape(&f, v == &volumes[0] ? "expected_shape" : "other_files_shape",
	    shape)) {
		io.expect_shape = shape;
		io.expect_from = "the configuration (sources.epfl)";
	}
	/* The TIFF's resolution tag is a print setting: the voxel size is the page's. */
	r = em_fetch_conf_nm3(&f, "voxel_size_nm", voxel);
	if (r < 0) {
		em_err("%s", em_errmsg());
		goto out;
	}
	if (r == 1) {
		io.fallback_nm = voxel;
		io.fallback_prov = prov;
	}
	if ((status = em_filelist_start(&f, id, &files)) != EM_FETCH_GO)
		goto out;
	if (describe(&f, v, dataset) < 0) {
		status = em_fetch_fail(&f, "cannot describe the volume");
		goto out;
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
