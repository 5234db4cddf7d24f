/* options.c - the options every fetcher shares (DESIGN.md section 3) */
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/options.h"
#include "core/parse.h"
#include "tool/tool.h"
#include "core/banned.h"

const char *const em_compressor_names[] = {
	"zlib", "gzip", "zstd", "blosc-lz4", "blosc-zstd", "raw", NULL
};

const struct option em_fetch_longopts[EM_FETCH_NLONGOPTS + 1] = {
	{ "chunks", required_argument, NULL, EM_OPT_CHUNKS },
	{ "compressor", required_argument, NULL, EM_OPT_COMPRESSOR },
	{ "level", required_argument, NULL, EM_OPT_LEVEL },
	{ "max-memory", required_argument, NULL, EM_OPT_MAX_MEMORY },
	{ "jobs", required_argument, NULL, EM_OPT_JOBS },
	{ "progress", no_argument, NULL, EM_OPT_PROGRESS },
	{ "config", required_argument, NULL, EM_OPT_CONFIG },
	{ "url", required_argument, NULL, EM_OPT_URL },
	{ "cacert", required_argument, NULL, EM_OPT_CACERT },
	{ "max-download", required_argument, NULL, EM_OPT_MAX_DOWNLOAD },
	{ "overwrite", no_argument, NULL, EM_OPT_OVERWRITE },
	{ "wait", optional_argument, NULL, EM_OPT_WAIT },
	{ "verify", no_argument, NULL, EM_OPT_VERIFY },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, EM_OPT_HELP },
	{ "version", no_argument, NULL, EM_OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

const char em_fetch_usage[] =
	"       [-o DIR] [--chunks Z,Y,X] [--compressor NAME] [--level N]\n"
	"       [--max-memory SIZE] [-j N] [--config FILE] [--cacert FILE]\n"
	"       [--max-download SIZE] [--overwrite] [--wait[=SECONDS]] [--verify]\n"
	"       [--progress] [-q] [-v]\n";

void
em_fetch_opts_init(struct em_fetch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->level = -1;
}

int
em_fetch_opt(struct em_fetch_opts *o, int c, const char *arg)
{
	size_t i;

	switch (c) {
	case 'o':
		if (*arg == '\0')
			return em_fail("empty output directory");
		o->outdir = arg;
		return 1;
	case 'q':
		o->quiet = 1;
		em_tool_quiet();
		return 1;
	case 'v':
		o->verbose++;
		em_tool_verbose();
		return 1;
	case EM_OPT_CHUNKS:
		/* 4096 per axis keeps one uint64 chunk under 512 GiB; the writer checks memory. */
		if (em_parse_u64_list(arg, o->chunks, 3, 1, 4096) < 0)
			return em_fail_ctx("--chunks wants Z,Y,X");
		return 1;
	case EM_OPT_COMPRESSOR:
		for (i = 0; em_compressor_names[i] != NULL; i++)
			if (strcmp(arg, em_compressor_names[i]) == 0) {
				o->compressor = em_compressor_names[i];
				return 1;
			}
		return em_fail("unknown compressor '%s' (zlib, gzip, zstd, blosc-lz4, "
		    "blosc-zstd or raw)", arg);
	case EM_OPT_LEVEL:
		if (em_parse_int(arg, 0, 22, &o->level) < 0)
			return em_fail_ctx("--level");
		return 1;
	case EM_OPT_MAX_MEMORY:
		if (em_parse_size(arg, &o->max_memory) < 0)
			return em_fail_ctx("--max-memory");
		if (o->max_memory == 0)
			return em_fail("--max-memory must be more than 0");
		return 1;
	case 'j':
	case EM_OPT_JOBS:
		if (em_parse_int(arg, 1, 256, &o->jobs) < 0)
			return em_fail_ctx("--jobs");
		return 1;
	case EM_OPT_PROGRESS:
		o->progress = 1;
		return 1;
	case EM_OPT_CONFIG:
		o->config = arg;
		return 1;
	case EM_OPT_URL:
		o->url = arg;
		return 1;
	case EM_OPT_CACERT:
		o->cacert = arg;
		return 1;
	case EM_OPT_MAX_DOWNLOAD:
		if (em_parse_size(arg, &o->max_download) < 0)
			return em_fail_ctx("--max-download");
		if (o->max_download == 0)
			return em_fail("--max-download must be more than 0");
		return 1;
	case EM_OPT_STRICT:
		o->strict = 1;
		return 1;
	case EM_OPT_PARTIAL:
		o->partial = 1;
		return 1;
	case EM_OPT_OVERWRITE:
		o->overwrite = 1;
		return 1;
	case EM_OPT_WAIT: {
		int secs;

		if (arg == NULL) {
			o->wait_s = -1;
			return 1;
		}
		/* A day is longer than any run should queue behind another. */
		if (em_parse_int(arg, 1, 86400, &secs) < 0)
			return em_fail_ctx("--wait wants seconds");
		o->wait_s = secs;
		return 1;
	}
	case EM_OPT_VERIFY:
		o->verify = 1;
		return 1;
	default:
		return 0;
	}
}

int
em_fetch_getopt(int argc, char **argv, const struct option *extra, size_t nextra,
    struct em_fetch_opts *o, void (*usage)(FILE *fp, int status))
{
	struct option all[EM_FETCH_NLONGOPTS + EM_FETCH_MAX_TOOLOPTS + 1];
	size_t n = 0, i, k;
	int c, r;

	if (nextra > EM_FETCH_MAX_TOOLOPTS)
		nextra = EM_FETCH_MAX_TOOLOPTS;
	for (i = 0; i < EM_FETCH_NLONGOPTS; i++) {
		for (k = 0; k < nextra; k++)
			if (strcmp(extra[k].name, em_fetch_longopts[i].name) == 0)
				break;
		if (k == nextra)
			all[n++] = em_fetch_longopts[i];
	}
	for (k = 0; k < nextra; k++)
		all[n++] = extra[k];
	memset(&all[n], 0, sizeof(all[n]));
	for (;;) {
		c = getopt_long(argc, argv, EM_FETCH_SHORTOPTS, all, NULL);
		if (c == -1 || c >= EM_OPT_TOOL)
			return c;
		if (c == EM_OPT_HELP) {
			usage(stdout, EM_EXIT_OK);
			exit(EM_EXIT_OK);
		}
		if (c == EM_OPT_VERSION) {
			em_tool_version();
			exit(em_tool_end(EM_EXIT_OK));
		}
		r = em_fetch_opt(o, c, optarg);
		if (r < 0)
			em_err("%s", em_errmsg());
		if (r <= 0) {
			usage(stderr, EM_EXIT_USAGE);
			exit(EM_EXIT_USAGE);
		}
	}
}
