/* jsonschema-suite.c - runs files of the JSON Schema Test Suite against lib/jschema */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/diag.h"
#include "tool/tool.h"
#include "meta/jschema.h"
#include "core/jsonio.h"
#include "core/banned.h"

/*
 * usage: jsonschema-suite FILE...
 * Each FILE is an array of {description, schema, tests: [{description,
 * data, valid}]}.  Prints "FAIL file | group | test" and "#   why" for every
 * test whose outcome differs, then "N passed, N failed"; exit 0 when all pass,
 * 1 when some fail, 2 when a file cannot be read.
 */
int
main(int argc, char **argv)
{
	unsigned long pass = 0, failn = 0;
	int i, status = 0;

	em_set_progname(argv[0]);
	for (i = 1; i < argc; i++) {
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		json_t *groups = em_json_load_file(argv[i], 16 << 20), *g, *t;
		size_t gi, ti;

		if (groups == NULL || !json_is_array(groups)) {
			em_err("cannot read '%s': %s", argv[i], groups ? "not an array" : em_errmsg());
			json_decref(groups);
			status = 2;
			continue;
		}
		json_array_foreach(groups, gi, g) {
			const char *gd = json_string_value(json_object_get(g, "description"));
			struct em_jschema *s = em_jschema_compile(json_object_get(g, "schema"), gd);
			char why[512] = "";

			if (s == NULL)
				snprintf(why, sizeof(why), "schema did not compile: %s", em_errmsg());
			json_array_foreach(json_object_get(g, "tests"), ti, t) {
				const char *td = json_string_value(json_object_get(t, "description"));
				int want = json_is_true(json_object_get(t, "valid")), got = -1;
				struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(4);

				if (s != NULL) {
					got = em_jschema_validate(s, json_object_get(t, "data"), &errs);
					if (got < 0)
						snprintf(why, sizeof(why), "error: %s", em_errmsg());
					else if (got == 1 && errs.n > 0)
						snprintf(why, sizeof(why), "valid with errors");
					else if (got == 0 && errs.n == 0)
						snprintf(why, sizeof(why), "invalid without errors");
					else if (got != want)
						snprintf(why, sizeof(why), "%s%s%s", got ? "valid" :
						    "invalid: ", got ? "" : errs.v[0].message,
						    got ? "" : "");
				}
				if (got == want && (got == 1) == (errs.n == 0)) {
					pass++;
				} else {
					failn++;
					printf("FAIL %s | %s | %s\n#   %s\n", base, gd, td, why);
				}
				em_jschema_errors_reset(&errs);
			}
			em_jschema_free(s);
		}
		json_decref(groups);
	}
	printf("%lu passed, %lu failed\n", pass, failn);
	if (status == 0 && failn > 0)
		status = 1;
	return status;
}
