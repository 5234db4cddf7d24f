/* tool.h - what every tool's main() shares: start-up, --version, -q/-v, closing stdout */
#ifndef EM_TOOL_H
#define EM_TOOL_H

#include <stdio.h>

/* Exit statuses of every tool (DESIGN.md section 2). */
#define EM_EXIT_OK 0
#define EM_EXIT_FAIL 1
#define EM_EXIT_USAGE 2
#define EM_EXIT_SIGINT 130
#define EM_EXIT_SIGTERM 143

/* Set the program name for messages from argv[0]. */
void em_tool_begin(const char *argv0);
/* "prog (electron-microscopy-ingest) 0.1.0" on stdout. */
void em_tool_version(void);
/* -q: errors only; each -v: one level more (info, then debug). */
void em_tool_quiet(void);
void em_tool_verbose(void);
/*
 * Flush and close stdout; a failure (a full disk, a closed pipe) is
 * reported and turns status into EM_EXIT_FAIL.  Returns the status to exit
 * with.
 */
int em_tool_end(int status);

#endif
