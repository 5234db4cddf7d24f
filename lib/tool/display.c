/* display.c - the progress line on stderr (on a terminal, with --progress, never with -q) and --progress-file */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool/display.h"
#include "tool/tool.h"
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
	int tty;		/* draw the line on stderr */
	size_t lastlen;
	char *file;		/* --progress-file, NULL: none (or given up on) */
	char *tmp;		/* file.tmp */
};

static void
draw(struct em_progress_display *d, const struct em_progress_snap *s, int final)
{
	char line[256];
	size_t len;

	em_progress_format(s, d->unit, line, sizeof(line));
	len = strlen(line);
	/* Pad over the rest of a longer previous line (no escape codes in logs). */
	fprintf(stderr, "\r%s%*s%s", line, d->lastlen > len ? (int)(d->lastlen - len) : 0, "",
	    final ? "\n" : "");
	fflush(stderr);
	d->lastlen = len;
}

/*
 * Replace the file by one line.  No fsync: the file says how far a running
 * tool is, which a crash makes moot, and four fsyncs a second would cost
 * more than the line is worth; the rename alone keeps readers from ever
 * seeing an empty or partial file.
 */
static void
write_file(struct em_progress_display *d, const struct em_progress_snap *s, const char *state)
{
	char line[256];
	size_t len, off = 0;
	ssize_t w;
	int fd, e = 0;

	if (d->file == NULL)
		return;
	em_progress_line(s, state, d->unit, line, sizeof(line));
	len = strlen(line);
	fd = open(d->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
	} else {
		while (off < len) {
			w = write(fd, line + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				e = w < 0 ? errno : EIO;
				break;
			}
			off += (size_t)w;
		}
		if (close(fd) < 0 && e == 0)
			e = errno;
		if (e == 0 && rename(d->tmp, d->file) < 0)
			e = errno;
	}
	if (e != 0) {
		em_warn("cannot write progress file '%s': %s; no more progress there", d->file,
		    strerror(e));
		if (fd >= 0)
			unlink(d->tmp);
		free(d->file);
		free(d->tmp);
		d->file = d->tmp = NULL;
	}
}

static void
update(struct em_progress_display *d, const char *state, int final)
{
	struct em_progress_snap s;

	em_progress_snapshot(d->p, &s);
	if (d->tty)
		draw(d, &s, final);
	write_file(d, &s, state);
}

static void *
display_main(void *arg)
{
	struct em_progress_display *d = arg;
	struct timespec until;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		update(d, "running", 0);
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

static void
display_free(struct em_progress_display *d)
{
	free(d->file);
	free(d->tmp);
	free(d);
}

struct em_progress_display *
em_progress_display_open(const struct em_progress *p, enum em_progress_mode mode,
    const char *unit, const char *file)
{
	struct em_progress_display *d;
	int tty = mode == EM_PROGRESS_ON || (mode == EM_PROGRESS_AUTO && isatty(STDERR_FILENO));
	size_t n;

	if (!tty && file == NULL)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->p = p;
	d->unit = unit;
	d->tty = tty;
	if (file != NULL) {
		n = strlen(file) + sizeof(".tmp");
		if ((d->file = strdup(file)) == NULL || (d->tmp = malloc(n)) == NULL) {
			display_free(d);
			return NULL;
		}
		snprintf(d->tmp, n, "%s.tmp", file);
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (pthread_create(&d->thread, NULL, display_main, d) != 0) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		display_free(d);
		return NULL;
	}
	return d;
}

struct em_progress_display *
em_progress_display_start(const struct em_progress *p, enum em_progress_mode mode,
    const char *unit)
{
	return em_progress_display_open(p, mode, unit, NULL);
}

void
em_progress_display_end(struct em_progress_display *d, const char *state)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	update(d, state, 1);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	display_free(d);
}

void
em_progress_display_stop(struct em_progress_display *d)
{
	em_progress_display_end(d, "done");
}
