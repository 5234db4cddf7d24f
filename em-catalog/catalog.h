/* catalog.h - what em-catalog's main.c calls in serve.c */
#ifndef EM_CATALOG_TOOL_H
#define EM_CATALOG_TOOL_H

/*
 * Serve the catalog at url read-only over HTTP on listen ("ADDR:PORT",
 * "[ADDR6]:PORT"; port 0 picks a free one) until SIGINT or SIGTERM.  Says
 * "serving 'url' on http://ADDR:PORT/" on stderr once listening (unless
 * quiet).  The exit status: 0 after a signal, 1 when it cannot start.
 */
int catalog_serve(const char *url, const char *listen, int quiet);

/* The OpenAPI 3 document of the API (a new object). */
struct json_t;
struct json_t *catalog_openapi(void);

#endif
