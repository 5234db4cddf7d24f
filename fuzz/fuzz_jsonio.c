/* fuzz_jsonio.c - fuzz target: a stream of JSON texts (documents, JSON Lines) read as em-validate reads stdin */
#include <stdint.h>
#include <unistd.h>

#include <jansson.h>

#include "core/jsonio.h"
#include "fuzz.h"
#include "core/banned.h"

/* Small enough that the input can pass it, so the over-long path is fuzzed too. */
#define FUZZ_MAX_TEXT 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_json_reader *r;
	json_t *v;
	char path[64];
	size_t len;
	int fd, rc;

	fuzz_quiet();
	if ((fd = fuzz_memfile(data, size, path, sizeof(path))) < 0)
		return 0;
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    (r = em_json_reader_new(fd, "fuzz.jsonl", FUZZ_MAX_TEXT)) == NULL) {
		close(fd);
		return 0;
	}
	em_json_reader_keep_text(r, size > 0 && (data[0] & 1));
	while ((rc = em_json_reader_next(r, &v)) == 1) {
		(void)em_json_reader_text(r, &len);
		json_decref(v);
	}
	em_json_reader_free(r);
	close(fd);
	return 0;
}
