/* fetch-precomputed - copy a box of a Neuroglancer precomputed volume into a local OME-Zarr store */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "sources/precomputed.h"
#include "tool/fetch.h"
#include "tool/pcfetch.h"
#include "tool/tool.h"
#include "core/banned.h"

enum { OPT_SCALE = EM_OPT_TOOL, OPT_BOX, OPT_OFFSET, OPT_SIZE };

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: fetch-precomputed [URL] [--scale KEY|N] [--box Z0:Z1,Y0:Y1,X0:X1]\n"
	    "       [--offset X,Y,Z] [--size X,Y,Z]\n"
	    "%s", em_fetch_usage);
	exit(status);
}

/*
 * One safe path component: the volume's last two path segments, the scale
 * and the box when one was asked for.
 */
static void
make_id(const char *url, const char *scale, int boxed, const uint64_t *b0, const uint64_t *b1,
    char *id, size_t n)
{
	const char *segs[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 }, len = strlen(url), i, o;

	while (len > 0 && url[len - 1] == '/')
		len--;
	for (i = 0; i < 2 && len > 0; i++) {
		size_t e = len;
		while (len > 0 && url[len - 1] != '/')
			len--;
		segs[1 - i] = url + len;
		lens[1 - i] = e - len;
		while (len > 0 && url[len - 1] == '/')
			len--;
		/* Stop at the host: "https://host/vol" names the volume by "vol" alone. */
		if (len > 0 && url[len - 1] == ':')
			break;
		if (len >= 2 && strncmp(url + len - 2, ":/", 2) == 0)
			break;
	}
	o = (size_t)snprintf(id, n, "%.*s%s%.*s_%s", segs[0] ? (int)lens[0] : 0,
	    segs[0] ? segs[0] : "", segs[0] && segs[1] ? "_" : "", segs[1] ? (int)lens[1] : 0,
	    segs[1] ? segs[1] : "", scale);
	if (boxed && o < n)
		snprintf(id + o, n - o, "_z%" PRIu64 "-%" PRIu64 "_y%" PRIu64 "-%" PRIu64 "_x%" PRIu64
		    "-%" PRIu64, b0[0], b1[0], b0[1], b1[1], b0[2], b1[2]);
	for (i = 0; id[i] != '\0'; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			id[i] = '_';
	}
	if (id[0] == '.' || id[0] == '-' || id[0] == '\0')
		id[0] = '_';
}

int
main(int argc, char **argv)
{
	static const struct option ownopts[] = {
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "box", required_argument, NULL, OPT_BOX },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "size", required_argument, NULL, OPT_SIZE },
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct em_pc_source *src = NULL;
	struct em_http_opts ho;
	struct em_http *h = NULL;
	const char *url = NULL, *scale = NULL, *box = NULL;
	char id[256], what[4400];
	uint64_t off[3], size[3], b0[3], b1[3];
	int c, status = EM_EXIT_FAIL, have_off = 0, have_size = 0, from_config = 0;

	em_tool_begin(argv[0]);
	em_fetch_opts_init(&o);
	while ((c = em_fetch_getopt(argc, argv, ownopts, sizeof(ownopts) / sizeof(ownopts[0]), &o,
	    usage)) != -1) {
		switch (c) {
		case OPT_SCALE:
			scale = optarg;
			continue;
		case OPT_BOX:
			box = optarg;
			if (em_parse_range_list(optarg, b0, b1, 3, UINT64_MAX / 4) < 0) {
				em_err("bad --box: %s (Z0:Z1,Y0:Y1,X0:X1, each start below its end)",
				    em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			continue;
		case OPT_OFFSET:
			if (em_parse_u64_list(optarg, off, 3, 0, UINT64_MAX / 4) < 0) {
				em_err("bad --offset '%s': %s (X,Y,Z)", optarg, em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			have_off = 1;
			continue;
		case OPT_SIZE:
			if (em_parse_u64_list(optarg, size, 3, 1, UINT64_MAX / 4) < 0) {
				em_err("bad --size '%s': %s (X,Y,Z, each at least 1)", optarg,
				    em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			have_size = 1;
			continue;
		default:
			break;
		}
	}
	url = o.url;
	if (optind < argc) {
		if (url != NULL || optind + 1 < argc)
			usage(stderr, EM_EXIT_USAGE);
		url = argv[optind];
	}
	if (box != NULL && (have_off || have_size)) {
		em_err("--box and --offset/--size both given: one or the other");
		usage(stderr, EM_EXIT_USAGE);
	}
	em_interrupt_install();
	if (em_fetch_begin(&f, "fetch-precomputed", "precomputed", 8, &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		em_fetch_end(&f);
		return em_tool_end(EM_EXIT_FAIL);
	}
	if (url == NULL) {
		if ((url = em_fetch_conf_str(&f, "url", NULL)) == NULL) {
			em_err("no URL given and no sources.precomputed.url in '%s'",
			    em_config_name(f.cfg));
			goto end;
		}
		from_config = 1;
		if (scale == NULL)
			scale = em_fetch_conf_str(&f, "scale", NULL);
		if (box == NULL && !have_off && !have_size)
			box = em_fetch_conf_str(&f, "box", NULL);
	}
	ho = f.http_opts;
	ho.progress = NULL;
	if ((h = em_http_new(&ho)) == NULL) {
		em_err("cannot start: %s", em_errmsg());
		goto end;
	}
	if ((src = em_pc_open(h, url, scale)) == NULL) {
		em_err("cannot open '%s': %s", url, em_errmsg());
		goto end;
	}
	if (em_pcfetch_box(em_pc_source_scale(src), box, have_off ? off : NULL,
	    have_size ? size : NULL, b0, b1) < 0) {
		em_err("cannot fetch '%s': %s", url, em_errmsg());
		goto end;
	}
	make_id(em_pc_source_url(src), em_pc_source_scale(src)->key,
	    box != NULL || have_off || have_size, b0, b1, id, sizeof(id));
	if (em_fetch_set_id(&f, id) < 0) {
		em_err("cannot start '%s': %s", id, em_errmsg());
		goto end;
	}
	/* The config's description and licence are of the configured volume, not any URL's. */
	if (from_config && em_fetch_describe(&f) < 0) {
		snprintf(what, sizeof(what), "record of '%s'", url);
		status = em_fetch_fail(&f, what);
		goto end;
	}
	status = em_pcfetch_run(&f, src, b0, b1, box != NULL || have_off || have_size);
end:
	if (em_interrupted() && status == EM_EXIT_FAIL && f.rec == NULL)
		status = em_interrupt_status();
	em_pc_close(src);
	em_http_free(h);
	em_fetch_end(&f);
	return em_tool_end(status);
}
