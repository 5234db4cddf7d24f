/* diag.c - diagnostics below the tool layer: the log hook, its level and the error text */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "core/banned.h"

#define EM_ERRMAX 1024

static const char *progname = "em";
static int log_level = EM_LOG_WARN;
static em_log_fn log_hook;
static void *log_ctx;
static _Thread_local char errbuf[EM_ERRMAX];

void
em_set_progname(const char *argv0)
{
	const char *p;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	p = strrchr(argv0, '/');
	progname = p ? p + 1 : argv0;
}

const char *
em_progname(void)
{
	return progname;
}

void
em_log_set_hook(em_log_fn fn, void *ctx)
{
	log_hook = fn;
	log_ctx = ctx;
}

void
em_log_set_level(int level)
{
	if (level < EM_LOG_ERROR)
		level = EM_LOG_ERROR;
	if (level > EM_LOG_DEBUG)
		level = EM_LOG_DEBUG;
	log_level = level;
}

int
em_log_get_level(void)
{
	return log_level;
}

void
em_log(enum em_log_level level, const char *fmt, ...)
{
	char msg[EM_ERRMAX];
	va_list ap;

	if ((int)level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The library never prints: without a hook (set by the tool layer) the message is dropped. */
	if (log_hook != NULL)
		log_hook(level, msg, log_ctx);
}

int
em_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return -1;
}

int
em_fail_errno(const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	snprintf(errbuf + n, sizeof(errbuf) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int
em_fail_ctx(const char *fmt, ...)
{
	char old[EM_ERRMAX];
	size_t n;
	va_list ap;

	memcpy(old, errbuf, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	if (old[0] != '\0')
		snprintf(errbuf + n, sizeof(errbuf) - n, ": %s", old);
	return -1;
}

const char *
em_errmsg(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

void
em_clear_error(void)
{
	errbuf[0] = '\0';
}
