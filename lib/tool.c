/* tool.c - what every tool's main() shares: start-up, --version, -q/-v, closing stdout */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "tool.h"
#include "version.h"
#include "banned.h"

void
em_tool_begin(const char *argv0)
{
	em_set_progname(argv0);
	em_log_set_level(EM_LOG_WARN);
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
