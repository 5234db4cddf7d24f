/* fuzz_yaml.c - fuzz target: a YAML configuration parsed to JSON with ${VAR} interpolation */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "meta/config.h"
#include "fuzz.h"
#include "core/banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	json_t *j;

	if (!once) {
		/* Variables the input can name: one set, one empty, one unset. */
		setenv("FUZZ_SET", "value ${NOT_EXPANDED} $$", 1);
		setenv("FUZZ_EMPTY", "", 1);
		unsetenv("FUZZ_UNSET");
		fuzz_quiet();
		once = 1;
	}
	if (size > EM_CONFIG_MAX_BYTES)
		return 0;
	j = em_yaml_parse((const char *)data, size, "fuzz.yaml");
	json_decref(j);
	return 0;
}
