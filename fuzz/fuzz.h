/* fuzz.h - what the fuzz targets share: bytes as a file the path-based readers can open */
#ifndef EM_FUZZ_H
#define EM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * The entry point libFuzzer calls (and fuzz/replay.c, for the saved
 * inputs).  Each target returns 0 whatever the input: a crash, a leak or
 * a sanitizer report is the only failure.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Put data in an anonymous in-memory file and give a path that opens it
 * ("/proc/self/fd/N"), so the readers run exactly as the tools run them,
 * without touching the disk.  Returns the descriptor (close it when done)
 * or -1.
 */
int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t n);

/*
 * Open an image file with em_img_open-style function open_fn and read a
 * few of its planes, skipping planes larger than the harness's memory
 * budget (the library's own limit, EM_IMG_MAX_PLANE_BYTES, is above what a
 * fuzzer may allocate).
 */
struct em_img;
void fuzz_read_planes(struct em_img *img);

/*
 * A directory of this process for targets that read files through file://
 * URLs: <base>/em-fuzz-<name>-<pid> with base /dev/shm when writable (no
 * disk), else $TMPDIR or /tmp.  0, or -1 when it cannot be made.  The
 * caller removes what it put there (atexit).
 */
int fuzz_scratch_dir(const char *name, char *dir, size_t n);

/* Send the library's log lines nowhere (they are formatted still). */
void fuzz_quiet(void);

#endif
