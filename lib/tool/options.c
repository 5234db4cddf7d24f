/* options.c - the options every fetcher shares (DESIGN.md section 3) */
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/options.h"
#include "core/parse.h"
#include "tool/levels.h"
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
	{ "progress-file", required_argument, NULL, EM_OPT_PROGRESS_FILE },
	{ "config", required_argument, NULL, EM_OPT_CONFIG },
	{ "url", required_argument, NULL, EM_OPT_URL },
	{ "cacert", required_argument, NULL, EM_OPT_CACERT },
	{ "max-download", required_argument, NULL, EM_OPT_MAX_DOWNLOAD },
	{ "zarr-format", required_argument, NULL, EM_OPT_ZARR_FORMAT },
	{ "shard", required_argument, NULL, EM_OPT_SHARD },
	{ "overwrite", no_argument, NULL, EM_OPT_OVERWRITE },
	{ "wait", optional_argument, NULL, EM_OPT_WAIT },
	{ "verify", no_argument, NULL, EM_OPT_VERIFY },
	{ "levels", required_argument, NULL, EM_OPT_LEVELS },
	{ "downsample", required_argument, NULL, EM_OPT_DOWNSAMPLE },
	{ "part", required_argument, NULL, EM_OPT_PART },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, EM_OPT_HELP },
	{ "version", no_argument, NULL, EM_OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

const char em_fetch_usage[] =
	"       [-o DIR] [--chunks Z,Y,X] [--compressor NAME] [--level N]\n"
	"       [--zarr-format 2|3] [--shard Z,Y,X] [--max-memory SIZE] [-j N]\n"
	"       [--config FILE] [--cacert FILE] [--max-download SIZE] [--overwrite]\n"
	"       [--wait[=SECONDS]] [--verify] [--levels auto|N]\n"
	"       [--downsample mean|mode|nearest] [--part I/N] [--progress]\n"
	"       [--progress-file FILE] [-q] [-v]\n";

void
em_fetch_opts_init(struct em_fetch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->level = -1;
	o->levels = -1;
}

int
em_part_parse(const char *arg, int *index, int *count)
{
	const char *slash = strchr(arg, '/');
	char num[16];
	size_t n;

	*index = *count = 0;
	if (slash == NULL || (n = (size_t)(slash - arg)) == 0 || n >= sizeof(num))
		return em_fail("--part: '%s' is not I/N (part I of N, 1 <= I <= N <= %d)", arg,
		    EM_PART_MAX);
	memcpy(num, arg, n);
	num[n] = '\0';
	if (em_parse_int(num, 1, EM_PART_MAX, index) < 0 ||
	    em_parse_int(slash + 1, 1, EM_PART_MAX, count) < 0) {
		*index = *count = 0;
		return em_fail("--part: '%s' is not I/N (part I of N, 1 <= I <= N <= %d)", arg,
		    EM_PART_MAX);
	}
	if (*index > *count) {
		em_fail("--part: '%s' names part %d of %d (1 <= I <= N)", arg, *index, *count);
		*index = *count = 0;
		return -1;
	}
	return 0;
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
	case EM_OPT_PROGRESS_FILE:
		if (*arg == '\0')
			return em_fail("--progress-file wants a file name");
		o->progress_file = arg;
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
	case EM_OPT_ZARR_FORMAT:
		if (strcmp(arg, "2") != 0 && strcmp(arg, "3") != 0)
			return em_fail("--zarr-format wants 2 or 3, not '%s'", arg);
		o->zarr_format = arg[0] - '0';
		return 1;
	case EM_OPT_SHARD:
		/* A shard is written whole from memory-bounded parts; 65536 keeps its index in range. */
		if (em_parse_u64_list(arg, o->shard, 3, 1, 65536) < 0)
			return em_fail_ctx("--shard wants Z,Y,X");
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
	case EM_OPT_PART:
		if (em_part_parse(arg, &o->part_index, &o->part_count) < 0)
			return -1;
		return 1;
	case EM_OPT_LEVELS:
		if (em_levels_parse(arg, &o->levels) < 0)
			return em_fail_ctx("--levels");
		return 1;
	case EM_OPT_DOWNSAMPLE:
		if (em_ds_method_from_name(arg) < 0)
			return em_fail("--downsample: '%s' is not mean, mode or nearest", arg);
		o->downsample = arg;
		return 1;
	default:
		return 0;
	}
}

int
em_fetch_check_shard(const uint64_t shard[3], const uint64_t chunks[3])
{
	int i;

	for (i = 0; i < 3; i++)
		if (shard[i] % chunks[i] != 0)
			return em_fail("shard shape %llu,%llu,%llu is not a multiple of the chunk "
			    "shape %llu,%llu,%llu", (unsigned long long)shard[0],
			    (unsigned long long)shard[1], (unsigned long long)shard[2],
			    (unsigned long long)chunks[0], (unsigned long long)chunks[1],
			    (unsigned long long)chunks[2]);
	return 0;
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
		if (c == -1 && o->part_count > 0 && o->overwrite) {
			em_err("--part: --overwrite replaces the whole store; run it without --part");
			usage(stderr, EM_EXIT_USAGE);
			exit(EM_EXIT_USAGE);
		}
		if (c == -1 && o->shard[0] != 0) {
			/* Both on the command line: a usage error (else the settings' check says). */
			if (o->zarr_format == 2) {
				em_err("--shard needs --zarr-format 3 (Zarr v2 has no shards)");
				usage(stderr, EM_EXIT_USAGE);
				exit(EM_EXIT_USAGE);
			}
			if (o->chunks[0] != 0 && em_fetch_check_shard(o->shard, o->chunks) < 0) {
				em_err("%s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
				exit(EM_EXIT_USAGE);
			}
		}
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
