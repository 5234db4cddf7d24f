/* display.c - the progress line on stderr: on a terminal, with --progress, never with -q */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool/display.h"
#include "core/banned.h"

/* At most 4 redraws a second (DESIGN.md section 2). */
#define REDRAW_NS 250000000L

struct em_progress_display {
	const struct em_progress *p;
	const char *unit;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int tty;
	size_t lastlen;
};

static void
draw(struct em_progress_display *d, int final)
{
	struct em_progress_snap s;
	char line[256];
	size_t len;

	em_progress_snapshot(d->p, &s);
	em_progress_format(&s, d->unit, line, sizeof(line));
	len = strlen(line);
	/* Pad over the rest of a longer previous line (no escape codes in logs). */
	fprintf(stderr, "\r%s%*s%s", line, d->lastlen > len ? (int)(d->lastlen - len) : 0, "",
	    final ? "\n" : "");
	fflush(stderr);
	d->lastlen = len;
}

static void *
display_main(void *arg)
{
	struct em_progress_display *d = arg;
	struct timespec until;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		draw(d, 0);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REDRAW_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!d->stop && pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct em_progress_display *
em_progress_display_start(const struct em_progress *p, enum em_progress_mode mode,
    const char *unit)
{
	struct em_progress_display *d;

	if (mode == EM_PROGRESS_OFF || (mode == EM_PROGRESS_AUTO && !isatty(STDERR_FILENO)))
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->p = p;
	d->unit = unit;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (pthread_create(&d->thread, NULL, display_main, d) != 0) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		free(d);
		return NULL;
	}
	return d;
}

void
em_progress_display_stop(struct em_progress_display *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	draw(d, 1);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}
