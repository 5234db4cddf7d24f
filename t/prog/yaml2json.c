/* yaml2json.c - prints a configuration file as JSON (the tests check what the loader made of it) */
#include <stdio.h>
#include <stdlib.h>

#include "meta/config.h"
#include "core/diag.h"
#include "tool/tool.h"
#include "core/jsonio.h"
#include "core/banned.h"

int
main(int argc, char **argv)
{
	struct em_config *cfg;
	char *s;
	int i;

	em_set_progname(argv[0]);
	if (argc < 2) {
		fprintf(stderr, "usage: yaml2json FILE [OVERLAY...]\n");
		return 2;
	}
	cfg = em_config_load(argv[1]);
	if (cfg == NULL)
		em_die(1, "cannot load configuration: %s", em_errmsg());
	for (i = 2; i < argc; i++)
		if (em_config_overlay(cfg, argv[i]) < 0)
			em_die(1, "cannot merge overlay: %s", em_errmsg());
	s = em_json_dump_pretty(em_config_root(cfg));
	if (s == NULL)
		em_die(1, "cannot encode: %s", em_errmsg());
	fputs(s, stdout);
	free(s);
	em_config_free(cfg);
	return fclose(stdout) == 0 ? 0 : 1;
}
