/* tool.h - what every tool's main() shares: start-up, --version, -q/-v, closing stdout */
#ifndef EM_TOOL_H
#define EM_TOOL_H

#include <stdio.h>

#include "core/diag.h"

/* Exit statuses of every tool (DESIGN.md section 2). */
#define EM_EXIT_OK 0
#define EM_EXIT_FAIL 1
#define EM_EXIT_USAGE 2
#define EM_EXIT_SIGINT 130
#define EM_EXIT_SIGTERM 143

/*
 * Set the program name for messages from argv[0], hook the library's log
 * to stderr (the library itself never prints), and ignore SIGPIPE: a write
 * to a reader that went away fails with EPIPE, so a tool stopped with its
 * pipeline still saves its record.
 */
void em_tool_begin(const char *argv0);

/*
 * The tools' messages: "prog: message\n" on stderr, one write each.  They
 * follow the form "what failed 'subject': reason", lower case, no full stop.
 */
void em_warn(const char *fmt, ...) EM_PRINTF(1, 2);
void em_err(const char *fmt, ...) EM_PRINTF(1, 2);
EM_NORETURN void em_die(int status, const char *fmt, ...) EM_PRINTF(2, 3);

/* The exit status after a signal (core/interrupt.h): 130 for SIGINT, 143 for SIGTERM, else 1. */
int em_interrupt_status(void);
/* "prog (electron-microscopy-ingest) 0.1.0" on stdout. */
void em_tool_version(void);
/* -q: errors only; each -v: one level more (info, then debug). */
void em_tool_quiet(void);
void em_tool_verbose(void);
/*
 * The options every tool takes, for the end of its getopt_long switch:
 *
 *	default:
 *		em_tool_option(c, usage);
 *
 * -q/--quiet and -v/--verbose set the log level and return; --help calls
 * usage(stdout, EM_EXIT_OK), --version prints the version and exits 0,
 * anything else calls usage(stderr, EM_EXIT_USAGE).  usage must exit.
 * EM_TOOL_LONGOPTS ends the tool's option table with the four long names
 * (include <getopt.h>).
 */
#define EM_TOOL_LONGOPTS \
	{ "quiet", no_argument, NULL, 'q' }, { "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, \
	{ NULL, 0, NULL, 0 }
void em_tool_option(int c, void (*usage)(FILE *fp, int status));

/*
 * Flush and close stdout; a failure (a full disk, a closed pipe) is
 * reported and turns status into EM_EXIT_FAIL.  Returns the status to exit
 * with.
 */
int em_tool_end(int status);

#endif
