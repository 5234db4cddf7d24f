/* display.h - the progress line on stderr (on a terminal, with --progress, never with -q) and --progress-file */
#ifndef EM_DISPLAY_H
#define EM_DISPLAY_H

#include "core/progress.h"

/* Whether a tool shows progress: --progress forces it, -q silences it, else a tty. */
enum em_progress_mode {
	EM_PROGRESS_AUTO,	/* only when stderr is a terminal */
	EM_PROGRESS_ON,		/* --progress */
	EM_PROGRESS_OFF,	/* -q */
};

/*
 * A thread that redraws the line on stderr at most 4 times a second until
 * stopped.  Returns NULL (not an error) when the mode says no display; the
 * stop function accepts NULL.  p and unit are borrowed until the stop.
 */
struct em_progress_display;
struct em_progress_display *em_progress_display_start(const struct em_progress *p,
    enum em_progress_mode mode, const char *unit);
/*
 * The same, and with file not NULL (--progress-file FILE) a copy for a
 * program watching the run, whatever the mode: at every redraw and once
 * at the end FILE is replaced by one em_progress_line() (state "running",
 * at the end the stop's state), written to FILE.tmp and renamed, so that
 * a reader sees a whole line or the one before it, never part of one.  A
 * file that cannot be written is said once in a warning and then left
 * alone: the run goes on.  file is copied.
 */
struct em_progress_display *em_progress_display_open(const struct em_progress *p,
    enum em_progress_mode mode, const char *unit, const char *file);
/* Draw the last state, end the line, join the thread and free it (the file's state: done). */
void em_progress_display_stop(struct em_progress_display *d);
/* The same, with the file's last state named: "done", "failed", "cancelled". */
void em_progress_display_end(struct em_progress_display *d, const char *state);

#endif
