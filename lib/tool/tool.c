/* tool.c - what every tool's main() shares: start-up, --version, -q/-v, closing stdout */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/interrupt.h"
#include "tool/tool.h"
#include "core/version.h"
#include "core/banned.h"

static void
vmsg(const char *fmt, va_list ap)
{
	char line[2048];

	/* One write per message so lines from parallel tools do not interleave. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s: %s\n", em_progname(), line);
	fflush(stderr);
}

void
em_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
em_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
em_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(status);
}

/* The library's log, said on stderr like the tools' own messages. */
static void
log_to_stderr(enum em_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	em_warn("%s", msg);
}

void
em_tool_begin(const char *argv0)
{
	em_set_progname(argv0);
	em_log_set_level(EM_LOG_WARN);
	em_log_set_hook(log_to_stderr, NULL);
	/*
	 * A reader that goes away (the next tool of a pipeline stopped by the
	 * same Ctrl-C) must not kill a tool before it has saved its record as
	 * cancelled: writes fail with EPIPE instead, and em_tool_end() says
	 * nothing of it.
	 */
	signal(SIGPIPE, SIG_IGN);
}

int
em_interrupt_status(void)
{
	switch (em_interrupted()) {
	case SIGINT: return EM_EXIT_SIGINT;
	case SIGTERM: return EM_EXIT_SIGTERM;
	default: return EM_EXIT_FAIL;
	}
}

void
em_tool_version(void)
{
	printf("%s (%s) %s\n", em_progname(), EM_PACKAGE, EM_VERSION);
}

void
em_tool_quiet(void)
{
	em_log_set_level(EM_LOG_ERROR);
}

void
em_tool_verbose(void)
{
	em_log_set_level(em_log_get_level() + 1);
}

int
em_tool_end(int status)
{
	int failed = ferror(stdout);

	if (fclose(stdout) != 0)
		failed = 1;
	if (failed) {
		/* A reader that went away (EPIPE) is not worth a message. */
		if (errno != EPIPE)
			em_err("cannot write 'stdout': %s", strerror(errno ? errno : EIO));
		return status ? status : EM_EXIT_FAIL;
	}
	return status;
}

void
em_tool_option(int c, void (*usage)(FILE *fp, int status))
{
	switch (c) {
	case 'q':
		em_tool_quiet();
		return;
	case 'v':
		em_tool_verbose();
		return;
	case 'h':
		usage(stdout, EM_EXIT_OK);
		break;
	case 'V':
		em_tool_version();
		exit(em_tool_end(EM_EXIT_OK));
	default:
		usage(stderr, EM_EXIT_USAGE);
		break;
	}
	/* usage exits; should one not, a bad option still ends here. */
	exit(EM_EXIT_USAGE);
}
