/* memhog.c - test helper: hold BYTES of touched memory for SECONDS, as a tool at its --max-memory would */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/diag.h"
#include "tool/tool.h"
#include "core/parse.h"
#include "core/banned.h"

int
main(int argc, char **argv)
{
	uint64_t bytes, i;
	int secs;
	volatile char *p;
	struct timespec ts;

	em_set_progname("memhog");
	if (argc != 3 || em_parse_size(argv[1], &bytes) < 0 ||
	    em_parse_int(argv[2], 0, 3600, &secs) < 0) {
		fputs("usage: memhog BYTES SECONDS\n", stderr);
		return 2;
	}
	if ((p = malloc(bytes ? bytes : 1)) == NULL) {
		em_err("cannot allocate %llu bytes", (unsigned long long)bytes);
		return 1;
	}
	/*
	 * Touch every page so that it counts in the resident set; through a
	 * volatile pointer, or the compiler drops stores to memory it frees.
	 */
	for (i = 0; i < bytes; i += 4096)
		p[i] = 1;
	ts.tv_sec = secs;
	ts.tv_nsec = 0;
	nanosleep(&ts, NULL);
	free((void *)p);
	return 0;
}
