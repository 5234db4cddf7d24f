/* main.c - em-config: print configuration values as the tools see them, for scripts and people */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/config.h"
#include "core/diag.h"
#include "core/jsonio.h"
#include "core/parse.h"
#include "tool/tool.h"
#include "core/banned.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: em-config [--config FILE] [--overlay FILE] [--default VALUE] [--size]\n"
	    "       [--json] [-q] [KEY ...]\n");
	exit(status);
}

/* Scalars as plain text for shell scripts; objects and arrays as one line of JSON. */
static int
print_value(const json_t *v, int as_json, int as_size, const char *key)
{
	uint64_t bytes;

	if (as_size) {
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			bytes = (uint64_t)json_integer_value(v);
		} else if (!json_is_string(v) || em_parse_size(json_string_value(v), &bytes) < 0) {
			em_err("cannot read '%s' as a size: %s", key,
			    json_is_string(v) ? em_errmsg() : "not a size");
			return -1;
		}
		printf("%llu\n", (unsigned long long)bytes);
		return 0;
	}
	if (!as_json && json_is_string(v)) {
		printf("%s\n", json_string_value(v));
		return 0;
	}
	return em_json_write_line(stdout, v);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "overlay", required_argument, NULL, 'O' },
		{ "default", required_argument, NULL, 'd' },
		{ "size", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *overlay = NULL, *def = NULL;
	struct em_config *cfg;
	int c, i, as_json = 0, as_size = 0, status = 0;
	json_t *v;

	em_tool_begin(argv[0]);
	while ((c = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'O': overlay = optarg; break;
		case 'd': def = optarg; break;
		case 's': as_size = 1; break;
		case 'j': as_json = 1; break;
		case 'q': em_tool_quiet(); break;
		case 'h': usage(stdout, EM_EXIT_OK); break;
		case 'V':
			em_tool_version();
			return em_tool_end(EM_EXIT_OK);
		default: usage(stderr, EM_EXIT_USAGE);
		}
	}
	cfg = em_config_open(path, overlay);
	if (cfg == NULL) {
		em_err("cannot read configuration: %s", em_errmsg());
		return em_tool_end(EM_EXIT_FAIL);
	}
	if (optind == argc) {
		/* No key: the whole merged tree, and where it came from on stderr with -v. */
		em_log(EM_LOG_INFO, "configuration from %s", em_config_name(cfg));
		if (em_json_write_line(stdout, em_config_root(cfg)) < 0)
			status = EM_EXIT_FAIL;
	}
	for (i = optind; i < argc; i++) {
		if (em_config_get(cfg, argv[i], &v) < 0) {
			em_err("cannot look up '%s' in %s: %s", argv[i], em_config_name(cfg),
			    em_errmsg());
			status = EM_EXIT_FAIL;
			continue;
		}
		if (v == NULL) {
			if (def != NULL) {
				json_t *d = json_string(def);
				if (print_value(d, 0, as_size, argv[i]) < 0)
					status = EM_EXIT_FAIL;
				json_decref(d);
				continue;
			}
			em_err("no '%s' in %s", argv[i], em_config_name(cfg));
			status = EM_EXIT_FAIL;
			continue;
		}
		if (print_value(v, as_json, as_size, argv[i]) < 0)
			status = EM_EXIT_FAIL;
	}
	em_config_free(cfg);
	return em_tool_end(status);
}
