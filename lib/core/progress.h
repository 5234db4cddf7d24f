/* progress.h - progress counters the transport updates, and their one-line summary for people */
#ifndef EM_PROGRESS_H
#define EM_PROGRESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Counters shared between the threads doing the work (which add to them)
 * and the display (which reads them); every field is atomic, so no lock is
 * needed.  A total of 0 means unknown.
 */
struct em_progress {
	atomic_uint_least64_t bytes_done;
	atomic_uint_least64_t bytes_total;
	atomic_uint_least64_t items_done;
	atomic_uint_least64_t items_total;
	double t0;		/* monotonic seconds at em_progress_init() */
};

/* A consistent-enough copy of the counters, with the derived figures. */
struct em_progress_snap {
	uint64_t bytes_done, bytes_total, items_done, items_total;
	double secs;		/* since em_progress_init() */
	double rate;		/* bytes a second since the start */
	double eta;		/* seconds left, -1 when unknown */
};

void em_progress_init(struct em_progress *p);
void em_progress_add_bytes(struct em_progress *p, uint64_t n);
void em_progress_add_bytes_total(struct em_progress *p, uint64_t n);
void em_progress_add_items(struct em_progress *p, uint64_t n);
void em_progress_add_items_total(struct em_progress *p, uint64_t n);
void em_progress_snapshot(const struct em_progress *p, struct em_progress_snap *s);
/*
 * One line for people: "1.5 GiB / 3.0 GiB  12/40 chunks  85.3 MB/s  ETA 0:17";
 * parts with nothing to say are left out.  unit names the items ("chunks",
 * "files"), NULL leaves them out.  Returns buf.
 */
const char *em_progress_format(const struct em_progress_snap *s, const char *unit, char *buf,
    size_t n);
/*
 * One line for programs (a tool's --progress-file, which em-ingest(1)
 * reads), the fields always in this order:
 *
 *	state=running bytes=DONE/TOTAL items=DONE/TOTAL unit=chunks seconds=1.250 rate=838861 eta=3.7
 *
 * state is the caller's word (no spaces); a total of 0 is unknown; rate is
 * bytes a second since the start; eta is seconds, -1 when unknown; unit is
 * "-" when NULL.  Ends in a newline.  Returns buf.
 */
const char *em_progress_line(const struct em_progress_snap *s, const char *state,
    const char *unit, char *buf, size_t n);

#endif
