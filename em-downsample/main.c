/* main.c - em-downsample: build the missing pyramid levels of OME-Zarr stores from the level below */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "core/version.h"
#include "meta/config.h"
#include "meta/record.h"
#include "tool/display.h"
#include "tool/levels.h"
#include "tool/options.h"
#include "tool/tool.h"
#include "core/banned.h"

struct opts {
	int levels;		/* -1: unset */
	const char *method;	/* NULL: unset */
	int jobs;
	uint64_t max_memory;
	const char *config;
	int progress;
	int quiet;
	int level;		/* --level K: that level alone; 0: every missing level */
	int part_index, part_count;	/* --part I/N; 0: the whole level */
	int plan;		/* --plan: print the levels, build nothing */
	unsigned throttle_ms;	/* development.testing.chunk_delay_ms: lets a test kill a run midway */
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: em-downsample [--levels auto|N] [--downsample mean|mode|nearest] [-j N]\n"
	    "       [--level K [--part I/N]] [--max-memory SIZE] [--config FILE] [--progress]\n"
	    "       [-q] [-v] STORE ...\n"
	    "       em-downsample --plan [--levels auto|N] [--config FILE] STORE ...\n");
	exit(status);
}

/* <directory of the store>/<name without .zarr>.json, when the store is named <id>.zarr. */
static int
record_path(const char *store, char *out, size_t n, char *id, size_t idn)
{
	char *a = strdup(store), *b = strdup(store), *base, *dir;
	size_t k;
	int rc = -1;

	if (a == NULL || b == NULL) {
		em_fail("out of memory");
		goto out;
	}
	for (k = strlen(a); k > 1 && a[k - 1] == '/'; k--)
		a[k - 1] = b[k - 1] = '\0';
	base = basename(a);
	dir = dirname(b);
	k = strlen(base);
	if (k <= 5 || strcmp(base + k - 5, ".zarr") != 0 || k - 5 >= idn)
		goto out;
	snprintf(id, idn, "%.*s", (int)(k - 5), base);
	if ((size_t)snprintf(out, n, "%s/%s.json", dir, id) < n)
		rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

/*
 * The record beside the store lists the levels now; a level whose path and
 * shape are unchanged keeps the sha256 em-meta gave it.
 */
static int
update_record(const char *store, const struct opts *o, const struct em_levels_build *b)
{
	char path[4096], id[256];
	json_t *rec = NULL, *levels = NULL, *old;
	size_t i, k;
	int rc = -1;

	if (record_path(store, path, sizeof(path), id, sizeof(id)) < 0 || em_exists(path) != 1)
		return 0;
	if ((rec = em_record_load(path)) == NULL) {
		em_err("cannot read record '%s': %s", path, em_errmsg());
		return -1;
	}
	if (!json_is_string(json_object_get(rec, "id")) ||
	    strcmp(json_string_value(json_object_get(rec, "id")), id) != 0) {
		em_warn("'%s' is not the record of '%s': left as it is", path, store);
		rc = 0;
		goto out;
	}
	if ((levels = em_levels_describe(store)) == NULL)
		goto fail;
	old = json_object_get(rec, "levels");
	for (i = 0; i < json_array_size(levels); i++) {
		json_t *nl = json_array_get(levels, i);

		for (k = 0; k < json_array_size(old); k++) {
			json_t *ol = json_array_get(old, k);

			if (json_equal(json_object_get(ol, "path"), json_object_get(nl, "path")) &&
			    json_equal(json_object_get(ol, "shape"), json_object_get(nl, "shape")) &&
			    json_is_string(json_object_get(ol, "sha256")))
				json_object_set(nl, "sha256", json_object_get(ol, "sha256"));
		}
	}
	if (em_record_set(rec, "levels", levels) < 0) {
		levels = NULL;
		goto fail;
	}
	levels = NULL;
	if (em_record_add_step(rec, "em-downsample", EM_VERSION, json_pack("{s:i, s:s, s:i}",
	    "levels", b->levels, "downsample", em_ds_method_name(b->method),
	    "jobs", o->jobs)) < 0 || em_record_save(rec, path) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	em_err("cannot update record '%s': %s", path, em_errmsg());
out:
	json_decref(levels);
	json_decref(rec);
	return rc;
}

static int
run(const char *store, const struct em_levels_conf *c, const struct opts *o)
{
	struct em_levels_build b;
	struct em_progress prog;
	struct em_progress_display *d;
	int rc;

	memset(&b, 0, sizeof(b));
	b.conf = *c;
	b.jobs = o->jobs;
	b.max_memory = o->max_memory;
	b.progress = &prog;
	b.throttle_ms = o->throttle_ms;
	b.level = o->level;
	b.part_index = o->part_index;
	b.part_count = o->part_count;
	if (o->plan) {
		/* The plan's levels and those the group lists: "LEVELS LISTED STORE". */
		b.plan_only = 1;
		if (em_levels_build(store, &b) < 0) {
			em_err("%s", em_errmsg());
			return 1;
		}
		if (printf("%d %d %s\n", b.levels, b.had, store) < 0 || fflush(stdout) == EOF) {
			em_err("cannot write to stdout");
			return 1;
		}
		return 0;
	}
	em_progress_init(&prog);
	d = em_progress_display_start(&prog, o->quiet ? EM_PROGRESS_OFF : o->progress ?
	    EM_PROGRESS_ON : EM_PROGRESS_AUTO, "planes");
	rc = em_levels_build(store, &b);
	em_progress_display_stop(d);
	if (rc < 0) {
		em_err("%s", em_errmsg());
		return 1;
	}
	if (b.listed_already) {
		em_log(EM_LOG_INFO, "'%s': level %d is complete already (the group lists it)", store,
		    o->level);
		return 0;
	}
	if (o->part_count > 0) {
		/* The parts leave the record to em-meta: N of them would race on it. */
		em_log(EM_LOG_INFO, "'%s': level %d part %d/%d done (units [%llu, %llu) of %llu: "
		    "%llu chunks written, %llu there already); %d of its %d parts done%s", store,
		    o->level, o->part_index, o->part_count, (unsigned long long)b.units[0],
		    (unsigned long long)b.units[1], (unsigned long long)b.units[2],
		    (unsigned long long)b.chunks_written, (unsigned long long)b.chunks_present,
		    b.parts_done, o->part_count, b.listed ? ": the level is listed" : "");
		return 0;
	}
	if (b.levels == b.had) {
		em_log(EM_LOG_INFO, "'%s' has its %d levels already", store, b.levels);
		return 0;
	}
	em_log(EM_LOG_INFO, "'%s': levels %d to %d built (%llu chunks written, %llu bytes of "
	    "buffers)", store, b.had, b.levels - 1, (unsigned long long)b.chunks_written,
	    (unsigned long long)b.memory);
	return update_record(store, o, &b) < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	enum { O_LEVELS = 0x100, O_DOWNSAMPLE, O_MAXMEM, O_CONFIG, O_PROGRESS, O_LEVEL, O_PART, O_PLAN };
	static const struct option longopts[] = {
		{ "levels", required_argument, NULL, O_LEVELS },
		{ "downsample", required_argument, NULL, O_DOWNSAMPLE },
		{ "jobs", required_argument, NULL, 'j' },
		{ "max-memory", required_argument, NULL, O_MAXMEM },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "part", required_argument, NULL, O_PART },
		{ "plan", no_argument, NULL, O_PLAN },
		EM_TOOL_LONGOPTS,
	};
	struct opts o = { -1, NULL, 2, 0, NULL, 0, 0, 0, 0, 0, 0, 0 };
	long long delay = 0;
	struct em_levels_conf conf;
	struct em_config *cfg = NULL;
	int c, i, status = 0;

	em_tool_begin(argv[0]);
	while ((c = getopt_long(argc, argv, "j:qv", longopts, NULL)) != -1) {
		switch (c) {
		case O_LEVELS:
			if (em_levels_parse(optarg, &o.levels) < 0) {
				em_err("bad --levels: %s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case O_DOWNSAMPLE:
			if (em_ds_method_from_name(optarg) < 0) {
				em_err("bad --downsample '%s': mean, mode or nearest", optarg);
				usage(stderr, EM_EXIT_USAGE);
			}
			o.method = optarg;
			break;
		case 'j':
			if (em_parse_int(optarg, 1, 256, &o.jobs) < 0) {
				em_err("bad --jobs: %s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case O_MAXMEM:
			if (em_parse_size(optarg, &o.max_memory) < 0 || o.max_memory == 0) {
				em_err("bad --max-memory '%s'", optarg);
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case O_CONFIG:
			o.config = optarg;
			break;
		case O_PROGRESS:
			o.progress = 1;
			break;
		case O_LEVEL:
			if (em_parse_int(optarg, 1, EM_PYRAMID_MAX_LEVELS - 1, &o.level) < 0) {
				em_err("bad --level: %s (the level to build; level 0 is the data)",
				    em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case O_PLAN:
			o.plan = 1;
			break;
		case O_PART:
			if (em_part_parse(optarg, &o.part_index, &o.part_count) < 0) {
				em_err("%s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		case 'q':
			o.quiet = 1;
			em_tool_option(c, usage);
			break;
		default:
			em_tool_option(c, usage);
		}
	}
	if (optind == argc) {
		em_err("no store given");
		usage(stderr, EM_EXIT_USAGE);
	}
	if (o.plan && (o.part_count > 0 || o.level > 0)) {
		em_err("--plan builds nothing: it takes no --level or --part");
		usage(stderr, EM_EXIT_USAGE);
	}
	if (o.part_count > 0 && o.level == 0) {
		/* A part of level K reads level K-1 whole: the levels go one after the other. */
		em_err("--part needs --level K: the parts of one level run together, level after "
		    "level");
		usage(stderr, EM_EXIT_USAGE);
	}
	if ((cfg = em_config_open(o.config, NULL)) == NULL ||
	    em_levels_conf_resolve(cfg, o.levels, o.method, &conf) < 0 ||
	    em_config_get_int(cfg, "development.testing.chunk_delay_ms", 0, &delay) < 0) {
		em_err("%s", em_errmsg());
		em_config_free(cfg);
		return em_tool_end(EM_EXIT_FAIL);
	}
	o.throttle_ms = delay > 0 && delay < 10000 ? (unsigned)delay : 0;
	em_interrupt_install();
	for (i = optind; i < argc && !em_interrupted(); i++)
		if (run(argv[i], &conf, &o) != 0)
			status = 1;
	em_config_free(cfg);
	if (em_interrupted())
		status = em_interrupt_status();
	return em_tool_end(status);
}
