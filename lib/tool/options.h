/* options.h - the options every fetcher shares (DESIGN.md section 3) */
#ifndef EM_OPTIONS_H
#define EM_OPTIONS_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Values from the command line; fields left unset (0, NULL, -1) are filled
 * from the config file and then the built-in defaults by the caller, in
 * that order, so the command line always wins.
 */
struct em_fetch_opts {
	const char *outdir;	/* -o DIR: data root for this source (borrowed) */
	const char *config;	/* --config FILE (borrowed) */
	const char *url;	/* --url URL: one file from anywhere (file fetchers) */
	uint64_t chunks[3];	/* --chunks Z,Y,X; 0 = unset */
	const char *compressor;	/* --compressor NAME (borrowed), NULL = unset */
	int level;		/* --level N; -1 = the compressor's default */
	uint64_t max_memory;	/* --max-memory SIZE; 0 = unset */
	int jobs;		/* -j, --jobs N; 0 = unset */
	int progress;		/* --progress: show progress even when stderr is not a tty */
	const char *progress_file;	/* --progress-file FILE (borrowed), NULL = none */
	int quiet;		/* -q */
	int verbose;		/* each -v */
	const char *cacert;	/* --cacert FILE: trust this CA too (borrowed) */
	uint64_t max_download;	/* --max-download SIZE: largest file without an expected size; 0 = unset */
	int zarr_format;	/* --zarr-format 2|3; 0 = unset */
	uint64_t shard[3];	/* --shard Z,Y,X (Zarr v3 shards); 0 = unset */
	int strict;		/* --strict (block fetchers): a chunk the server does not have fails */
	int partial;		/* --partial (fetch-empiar): files missing from the listing do not */
	int overwrite;		/* --overwrite: replace a store written from another source */
	double wait_s;		/* --wait[=SECONDS]: for the store's lock; 0 no, < 0 for ever */
	int verify;		/* --verify: decode every chunk already in the store */
	int levels;		/* --levels auto|N: 0 = auto, -1 = unset */
	const char *downsample;	/* --downsample mean|mode|nearest (borrowed), NULL = unset */
	int part_index;		/* --part I/N: I (1-based); 0 = the whole volume */
	int part_count;		/* N; 0 = the whole volume */
};

/* Codes of the long-only options, above any short option character. */
enum {
	EM_OPT_CHUNKS = 0x100,
	EM_OPT_COMPRESSOR,
	EM_OPT_LEVEL,
	EM_OPT_MAX_MEMORY,
	EM_OPT_JOBS,
	EM_OPT_PROGRESS,
	EM_OPT_CONFIG,
	EM_OPT_URL,
	EM_OPT_CACERT,
	EM_OPT_MAX_DOWNLOAD,
	EM_OPT_ZARR_FORMAT,
	EM_OPT_SHARD,
	EM_OPT_OVERWRITE,
	EM_OPT_WAIT,
	EM_OPT_VERIFY,
	EM_OPT_LEVELS,
	EM_OPT_DOWNSAMPLE,
	EM_OPT_HELP,
	EM_OPT_VERSION,
	EM_OPT_STRICT,
	EM_OPT_PARTIAL,
	EM_OPT_PART,
	EM_OPT_PROGRESS_FILE,
	EM_OPT_TOOL = 0x200	/* a tool's own long options start here */
};

/*
 * Options only some fetchers take: such a tool puts the entry among its
 * own (em_fetch_getopt applies it to the em_fetch_opts like a common one)
 * and names it in its usage.  --strict: the block fetchers; --partial:
 * fetch-empiar.
 */
#define EM_FETCH_OPT_STRICT { "strict", no_argument, NULL, EM_OPT_STRICT }
#define EM_FETCH_OPT_PARTIAL { "partial", no_argument, NULL, EM_OPT_PARTIAL }

/* The compressors a fetcher accepts, as named on the command line. */
extern const char *const em_compressor_names[];

/* Short options shared by the fetchers, for getopt_long's optstring. */
#define EM_FETCH_SHORTOPTS "j:o:qv"

/*
 * Long options shared by the fetchers; a tool copies them into its own
 * table before its own entries (the list ends with a zero entry).
 */
extern const struct option em_fetch_longopts[];
#define EM_FETCH_NLONGOPTS 24

void em_fetch_opts_init(struct em_fetch_opts *o);
/*
 * Handle one option returned by getopt_long.  1 if it was a common option
 * (handled), 0 if it is the tool's own, -1 on a bad value (error text set;
 * the tool prints it with usage and exits 2).  --help and --version are the
 * tool's to handle (they need its usage text).
 */
int em_fetch_opt(struct em_fetch_opts *o, int c, const char *arg);

/*
 * The most parts a run is split in: a job array of 100000 tasks is beyond
 * what a Slurm cluster allows (MaxArraySize is 1001 by default).
 */
#define EM_PART_MAX 100000
/*
 * "--part I/N": 1 <= I <= N <= EM_PART_MAX.  0, or -1 with the reason
 * ("--part: ...").  em-downsample takes it too.
 */
int em_part_parse(const char *arg, int *index, int *count);

/* A tool's own long options, at most. */
#define EM_FETCH_MAX_TOOLOPTS 16

/*
 * The shard shape is whole chunks along every axis: 0, or -1 with a
 * message naming both shapes.
 */
int em_fetch_check_shard(const uint64_t shard[3], const uint64_t chunks[3]);

/*
 * getopt_long over the common options and the tool's own (extra, nextra
 * entries with codes from EM_OPT_TOOL up; one named as a common option
 * replaces it).  Common options are applied to o; --help calls
 * usage(stdout, 0) and --version prints the version and exits 0; a bad
 * value or an unknown option prints the reason and calls usage(stderr,
 * EM_EXIT_USAGE) (usage exits), and so does --shard with --chunks that do
 * not divide it.  Returns the code of the next of the tool's
 * own options (optarg set), or -1 when there are no more.
 */
int em_fetch_getopt(int argc, char **argv, const struct option *extra, size_t nextra,
    struct em_fetch_opts *o, void (*usage)(FILE *fp, int status));

/* The usage lines for the common options, for each tool's usage(). */
extern const char em_fetch_usage[];

#endif
