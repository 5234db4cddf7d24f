/* display.h - the progress line on stderr: on a terminal, with --progress, never with -q */
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
/* Draw the last state, end the line, join the thread and free it. */
void em_progress_display_stop(struct em_progress_display *d);

#endif
