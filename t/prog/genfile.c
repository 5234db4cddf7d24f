/* genfile.c - test helper: writes SIZE deterministic pseudo-random bytes (seeded) to a file, fast */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "tool/tool.h"
#include "core/parse.h"
#include "core/banned.h"

int
main(int argc, char **argv)
{
	static uint64_t buf[1 << 17];
	uint64_t size, seed = 1, x, done = 0;
	FILE *fp;
	size_t i;

	em_set_progname(argv[0]);
	if (argc < 3 || argc > 4 || em_parse_size(argv[1], &size) == -1 ||
	    (argc == 4 && em_parse_u64(argv[3], &seed) == -1)) {
		fprintf(stderr, "usage: genfile SIZE PATH [SEED]\n");
		return 2;
	}
	if ((fp = fopen(argv[2], "wb")) == NULL) {
		em_err("cannot create '%s': %s", argv[2], strerror(errno));
		return 1;
	}
	x = seed * 0x9e3779b97f4a7c15ULL + 1;
	while (done < size) {
		size_t n = sizeof(buf);
		for (i = 0; i < sizeof(buf) / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (n > size - done)
			n = (size_t)(size - done);
		if (fwrite(buf, 1, n, fp) != n)
			break;
		done += n;
	}
	if (fclose(fp) != 0 || done != size) {
		em_err("cannot write '%s': %s", argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
