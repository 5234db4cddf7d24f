/* diag.h - diagnostics below the tool layer: the log hook, its level and the error text */
#ifndef EM_DIAG_H
#define EM_DIAG_H

#include <stdarg.h>

#if defined(__GNUC__)
#define EM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define EM_NORETURN __attribute__((noreturn))
#else
#define EM_PRINTF(f, a)
#define EM_NORETURN
#endif

/*
 * Levels of the log hook.  The tools map -q to EM_LOG_ERROR and each -v one
 * level up from the default EM_LOG_WARN.
 */
enum em_log_level {
	EM_LOG_ERROR = 1,
	EM_LOG_WARN = 2,
	EM_LOG_INFO = 3,
	EM_LOG_DEBUG = 4,
};

typedef void (*em_log_fn)(enum em_log_level level, const char *msg, void *ctx);

/* The program name used as the prefix of every message (borrowed). */
void em_set_progname(const char *argv0);
const char *em_progname(void);

/*
 * Library-side logging.  The library never writes to stderr itself: it
 * calls the hook for levels up to the current one.  The tool layer's hook
 * prints "prog: msg" (em_tool_begin sets it); without a hook nothing is
 * said.  The hook may be called from worker threads.
 */
void em_log_set_hook(em_log_fn fn, void *ctx);
void em_log_set_level(int level);
int em_log_get_level(void);
void em_log(enum em_log_level level, const char *fmt, ...) EM_PRINTF(2, 3);
#define em_debug(...) \
	do { if (em_log_get_level() >= EM_LOG_DEBUG) em_log(EM_LOG_DEBUG, __VA_ARGS__); } while (0)

/*
 * The reason of the last library failure in this thread.  A library
 * function that fails sets it with em_fail() and returns -1, so callers
 * write "return em_fail(...)".  The text is the reason only; the tool adds
 * what failed and the subject.
 */
int em_fail(const char *fmt, ...) EM_PRINTF(1, 2);
/* As em_fail, appending ": strerror(errno)" for the errno at the call. */
int em_fail_errno(const char *fmt, ...) EM_PRINTF(1, 2);
/* Prefix the current reason with more context: "ctx: old reason". */
int em_fail_ctx(const char *fmt, ...) EM_PRINTF(1, 2);
const char *em_errmsg(void);
void em_clear_error(void);

#endif
