/* main.c - em-patches: training patches from stores, as WebDataset tar shards with a manifest */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "tool/parallel.h"
#include "tool/patches.h"
#include "tool/tool.h"
#include "core/banned.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: em-patches [-qv] [--progress] -o DIR --patch Z,Y,X [--level N | --voxel-size NM]\n"
	    "       [--grid Z,Y,X | --random COUNT] [--seed S] [--max-fill F] [--min-std S]\n"
	    "       [--split NAME=F,...] [--block Z,Y,X]\n"
	    "       [--normalize none|zscore|minmax|percentile] [--percentiles LO,HI]\n"
	    "       [--dtype float32|uint8|same] [--shard-size SIZE] [-j N] [FILE | STORE ...]\n");
	if (fp == stdout)
		fprintf(fp,
		    "Cut the volumes of records (files of JSON lines as em-meta prints them, or stdin)\n"
		    "or stores into patches, and write them as WebDataset tar shards\n"
		    "DIR/{split}-NNNNNN.tar (KEY.npy and KEY.json per sample) and DIR/manifest.json.\n"
		    "  -o, --output DIR       where the shards go (a killed run's DIR is resumed)\n"
		    "      --patch Z,Y,X      patch shape in voxels (Z = 1: 2-D patches)\n"
		    "      --level N          the multiscales level (default 0)\n"
		    "      --voxel-size NM    the level whose x voxel size is nearest NM\n"
		    "      --grid Z,Y,X       patches every Z,Y,X voxels (default: the patch shape)\n"
		    "      --random COUNT     COUNT positions drawn per volume with --seed\n"
		    "      --seed S           seed of the split blocks and the positions (default 0)\n"
		    "      --max-fill F       skip patches whose share of fill voxels is above F (0.5)\n"
		    "      --min-std S        skip patches whose standard deviation is below S (0)\n"
		    "      --split LIST       train, val, test fractions (default train=1)\n"
		    "      --block Z,Y,X      split block edge (default: 4 patches)\n"
		    "      --normalize M      none, zscore, minmax or percentile, from the record's\n"
		    "                         statistics (default none)\n"
		    "      --percentiles LO,HI  the percentile range (default 1,99)\n"
		    "      --dtype T          float32, uint8 or same (default: same for none, else float32)\n"
		    "      --shard-size SIZE  bytes a shard may take (default 256M)\n"
		    "  -j, --jobs N           reader threads (default 2)\n"
		    "      --progress         progress on stderr even when it is not a terminal\n"
		    "  -q, --quiet            errors only; -v, --verbose  also the counts\n"
		    "Exit 0 done, 1 failed (nothing partial under a final name), 2 usage.\n");
	exit(status);
}

static void
bad(const char *opt, const char *arg)
{
	em_err("bad %s '%s': %s", opt, arg, em_errmsg());
	usage(stderr, EM_EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	enum { O_PATCH = 256, O_LEVEL, O_VOXEL, O_GRID, O_RANDOM, O_SEED, O_MAXFILL, O_MINSTD,
		O_SPLIT, O_BLOCK, O_NORM, O_PCT, O_DTYPE, O_SHARD, O_PROGRESS };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "patch", required_argument, NULL, O_PATCH },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "voxel-size", required_argument, NULL, O_VOXEL },
		{ "grid", required_argument, NULL, O_GRID },
		{ "random", required_argument, NULL, O_RANDOM },
		{ "seed", required_argument, NULL, O_SEED },
		{ "max-fill", required_argument, NULL, O_MAXFILL },
		{ "min-std", required_argument, NULL, O_MINSTD },
		{ "split", required_argument, NULL, O_SPLIT },
		{ "block", required_argument, NULL, O_BLOCK },
		{ "normalize", required_argument, NULL, O_NORM },
		{ "percentiles", required_argument, NULL, O_PCT },
		{ "dtype", required_argument, NULL, O_DTYPE },
		{ "shard-size", required_argument, NULL, O_SHARD },
		{ "jobs", required_argument, NULL, 'j' },
		{ "progress", no_argument, NULL, O_PROGRESS },
		EM_TOOL_LONGOPTS,
	};
	struct em_patches_opts o;
	struct em_patches *p = NULL;
	const char *outdir = NULL, *dtype = NULL;
	int c, i, have_patch = 0, have_grid = 0, have_level = 0, status = EM_EXIT_FAIL;
	int quiet = 0;
	char *comma;

	em_tool_begin(argv[0]);
	em_patches_opts_init(&o);
	while ((c = getopt_long(argc, argv, "o:j:qv", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outdir = optarg;
			break;
		case O_PATCH:
			if (em_parse_u64_list(optarg, o.patch, 3, 1, (uint64_t)1 << 20) < 0)
				bad("--patch", optarg);
			have_patch = 1;
			break;
		case O_LEVEL:
			if (em_parse_int(optarg, 0, 64, &o.level) < 0)
				bad("--level", optarg);
			have_level = 1;
			break;
		case O_VOXEL:
			if (em_parse_double(optarg, &o.voxel_size) < 0 || !(o.voxel_size > 0)) {
				em_fail("not a length in nm above 0");
				bad("--voxel-size", optarg);
			}
			o.level = -1;
			break;
		case O_GRID:
			if (em_parse_u64_list(optarg, o.stride, 3, 1, (uint64_t)1 << 40) < 0)
				bad("--grid", optarg);
			have_grid = 1;
			break;
		case O_RANDOM:
			if (em_parse_u64(optarg, &o.count) < 0 || o.count == 0 ||
			    o.count > ((uint64_t)1 << 40)) {
				em_fail("not a count of 1 or more");
				bad("--random", optarg);
			}
			o.random = 1;
			break;
		case O_SEED:
			if (em_parse_u64(optarg, &o.seed) < 0 || o.seed > INT64_MAX) {
				em_fail("not a number in 0..%lld", (long long)INT64_MAX);
				bad("--seed", optarg);
			}
			break;
		case O_MAXFILL:
			if (em_parse_double(optarg, &o.max_fill) < 0 || o.max_fill < 0 ||
			    o.max_fill > 1) {
				em_fail("not a share in 0..1");
				bad("--max-fill", optarg);
			}
			break;
		case O_MINSTD:
			if (em_parse_double(optarg, &o.min_std) < 0 || o.min_std < 0) {
				em_fail("not a number of 0 or more");
				bad("--min-std", optarg);
			}
			break;
		case O_SPLIT:
			if (em_splits_parse(optarg, &o.splits) < 0)
				bad("--split", optarg);
			break;
		case O_BLOCK:
			if (em_parse_u64_list(optarg, o.block, 3, 1, (uint64_t)1 << 40) < 0)
				bad("--block", optarg);
			break;
		case O_NORM:
			if (em_norm_method_parse(optarg, &o.norm) < 0)
				bad("--normalize", optarg);
			break;
		case O_PCT:
			comma = strchr(optarg, ',');
			if (comma == NULL) {
				em_fail("not LO,HI");
				bad("--percentiles", optarg);
			}
			*comma = '\0';
			if (em_parse_double(optarg, &o.pct[0]) < 0 ||
			    em_parse_double(comma + 1, &o.pct[1]) < 0 || !(o.pct[0] >= 0 &&
			    o.pct[0] < o.pct[1] && o.pct[1] <= 100)) {
				*comma = ',';
				em_fail("not LO,HI with 0 <= LO < HI <= 100");
				bad("--percentiles", optarg);
			}
			*comma = ',';
			break;
		case O_DTYPE:
			dtype = optarg;
			if (strcmp(optarg, "float32") == 0)
				o.dtype = EM_DT_F4;
			else if (strcmp(optarg, "uint8") == 0)
				o.dtype = EM_DT_U1;
			else if (strcmp(optarg, "same") == 0)
				o.dtype = EM_DT_NONE;
			else {
				em_fail("not float32, uint8 or same");
				bad("--dtype", optarg);
			}
			break;
		case O_SHARD:
			if (em_parse_size(optarg, &o.shard_size) < 0 || o.shard_size == 0) {
				em_fail("not a size above 0");
				bad("--shard-size", optarg);
			}
			break;
		case 'j':
			if (em_parse_int(optarg, 1, EM_JOBS_MAX, &o.jobs) < 0) {
				em_err("bad --jobs '%s': %s", optarg, em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case O_PROGRESS:
			o.progress = EM_PROGRESS_ON;
			break;
		case 'q':
			quiet = 1;
			em_tool_option(c, usage);
			break;
		default:
			em_tool_option(c, usage);
		}
	}
	if (quiet)
		o.progress = EM_PROGRESS_OFF;
	if (outdir == NULL || *outdir == '\0') {
		em_err("no output directory: -o DIR is needed");
		usage(stderr, EM_EXIT_USAGE);
	}
	if (!have_patch) {
		em_err("no patch shape: --patch Z,Y,X is needed");
		usage(stderr, EM_EXIT_USAGE);
	}
	if (have_level && o.level < 0) {
		em_err("--level and --voxel-size both choose the level: give one");
		usage(stderr, EM_EXIT_USAGE);
	}
	if (have_grid && o.random) {
		em_err("--grid and --random both choose the positions: give one");
		usage(stderr, EM_EXIT_USAGE);
	}
	if (!have_grid)
		memcpy(o.stride, o.patch, sizeof(o.stride));
	/* The default type follows the normalization: scaled values are fractions. */
	if (dtype == NULL && o.norm != EM_NORM_NONE)
		o.dtype = EM_DT_F4;
	if ((p = em_patches_new(&o, outdir)) == NULL) {
		em_err("bad options: %s", em_errmsg());
		usage(stderr, EM_EXIT_USAGE);
	}
	em_interrupt_install();
	status = EM_EXIT_OK;
	if (optind == argc) {
		if (em_patches_add(p, "-") < 0)
			status = EM_EXIT_FAIL;
	} else {
		for (i = optind; i < argc; i++)
			if (em_patches_add(p, argv[i]) < 0)
				status = EM_EXIT_FAIL;
	}
	/* Every input is checked before anything is written: a bad one stops the run whole. */
	if (status == EM_EXIT_OK && em_patches_run(p) < 0)
		status = EM_EXIT_FAIL;
	if (em_interrupted())
		status = em_interrupt_status();
	em_patches_free(p);
	return em_tool_end(status);
}
