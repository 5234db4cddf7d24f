/* main.c - em-consolidate: gather records into a catalog, a validation report and a processing log */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "meta/catalog.h"
#include "meta/config.h"
#include "core/diag.h"
#include "meta/jschema.h"
#include "core/jsonio.h"
#include "meta/record.h"
#include "tool/tool.h"
#include "core/banned.h"

/* A schema file may be at most this long. */
#define DEFAULT_SCHEMA "schemas/metadata_schema.json"
#define DEFAULT_OUTPUT "catalog"

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: em-consolidate [-qv] [-o dir] [-s schema] [--config file] [path ...]\n"
	    "       em-consolidate --help | --version\n");
	if (fp == stdout)
		fprintf(fp,
		    "Gather metadata records (files, directories searched for *.json, or stdin) into\n"
		    "a catalog, a validation report and a processing log, named with the UTC time.\n"
		    "  -o, --output DIR   where the three files go (default: the configuration's\n"
		    "                     consolidation.output_dir, else %s)\n"
		    "  -s, --schema FILE  the record schema (default $EM_SCHEMA, else %s)\n"
		    "      --config FILE  the configuration (default $EM_CONFIG, else config/config.yaml)\n"
		    "  -q, --quiet        errors only on stderr\n"
		    "  -v, --verbose      also say what was read and skipped\n"
		    "      --help, --version\n"
		    "$EM_NOW (an RFC 3339 time) stands in for the current time.\n"
		    "Exit 0 all valid, 1 some invalid or unreadable or the files not written,\n"
		    "2 usage, configuration or schema error.\n",
		    DEFAULT_OUTPUT, DEFAULT_SCHEMA);
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "schema", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'C' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *outdir = NULL, *schema_path = NULL, *config_path = NULL, *env;
	char found[PATH_MAX], *schema_id = NULL;
	struct em_config *cfg = NULL;
	struct em_jschema *schema = NULL;
	struct em_catalog *cat = NULL;
	struct em_catalog_files files;
	struct em_catalog_counts k;
	int64_t now;
	long nsec;
	int ch, i, status = EM_EXIT_USAGE;

	em_tool_begin(argv[0]);
	while ((ch = getopt_long(argc, argv, "o:s:qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			outdir = optarg;
			break;
		case 's':
			schema_path = optarg;
			break;
		case 'C':
			config_path = optarg;
			break;
		case 'q':
			em_tool_quiet();
			break;
		case 'v':
			em_tool_verbose();
			break;
		case 'h':
			usage(stdout, EM_EXIT_OK);
			break;
		case 'V':
			em_tool_version();
			return em_tool_end(EM_EXIT_OK);
		default:
			usage(stderr, EM_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (outdir != NULL && *outdir == '\0') {
		em_err("bad output directory '': empty");
		return em_tool_end(EM_EXIT_USAGE);
	}

	/* Tests and reproducible runs fix the time; it names the files and fills "generated". */
	if ((env = getenv("EM_NOW")) != NULL && *env != '\0') {
		if (em_time_parse(env, &now, &nsec) < 0) {
			em_err("bad EM_NOW '%s': %s", env, em_errmsg());
			return em_tool_end(EM_EXIT_USAGE);
		}
	} else {
		now = (int64_t)time(NULL);
	}

	if ((cfg = em_config_open(config_path, NULL)) == NULL) {
		em_err("cannot read configuration '%s': %s", config_path ? config_path : "(default)",
		    em_errmsg());
		goto out;
	}
	if (outdir == NULL && em_config_get_str(cfg, "consolidation.output_dir", DEFAULT_OUTPUT,
	    &outdir) < 0) {
		em_err("bad configuration '%s': %s", em_config_name(cfg), em_errmsg());
		goto out;
	}
	if (*outdir == '\0')
		outdir = DEFAULT_OUTPUT;

	if ((schema = em_record_schema_load(schema_path, found, sizeof(found), &schema_id)) == NULL) {
		em_err("%s", em_errmsg());
		goto out;
	}
	schema_path = found;

	status = EM_EXIT_FAIL;
	if ((cat = em_catalog_new(schema, schema_id)) == NULL) {
		em_err("cannot start the catalog: %s", em_errmsg());
		goto out;
	}
	em_catalog_logf(cat, "configuration %s", em_config_name(cfg));
	em_catalog_logf(cat, "schema file %s", schema_path);
	for (i = 0; i < (argc > 0 ? argc : 1); i++) {
		const char *path = argc > 0 ? argv[i] : "-";

		if (em_catalog_add_path(cat, path) < 0) {
			em_err("cannot gather the records of '%s': %s", path, em_errmsg());
			goto out;
		}
	}
	if (em_catalog_write(cat, outdir, now, &files) < 0) {
		em_err("cannot write the catalog into '%s': %s", outdir, em_errmsg());
		goto out;
	}
	em_catalog_counts(cat, &k);
	printf("%s\n%s\n%s\n", files.catalog, files.report, files.log);
	em_log(EM_LOG_INFO, "%zu read, %zu valid, %zu invalid, %zu unreadable, %zu superseded, "
	    "%zu in the catalog", k.read, k.valid, k.invalid, k.unreadable, k.superseded,
	    k.cataloged);
	status = k.invalid + k.unreadable > 0 ? EM_EXIT_FAIL : EM_EXIT_OK;
out:
	em_catalog_free(cat);
	em_jschema_free(schema);
	free(schema_id);
	em_config_free(cfg);
	return em_tool_end(status);
}
