/* http.h - the one transport every fetcher downloads through: HTTP(S), FTP and file:// on libcurl */
#ifndef EM_HTTP_H
#define EM_HTTP_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include "core/progress.h"

/*
 * Every call returns 0 on success, EM_HTTP_MISSING when the resource is not
 * there (HTTP 404, 403 or 410, a missing file:// path, FTP 550), which for
 * a Zarr chunk means the fill value and is never retried, or -1 with the
 * error text set ("GET 'URL': HTTP 503 Service Unavailable after 5
 * attempts", "GET 'URL': Couldn't connect to server: ...").
 *
 * Retried, with exponential backoff and jitter: connection failures, time
 * outs, stalled transfers (slower than low_speed_bytes for low_speed_secs),
 * bodies cut short (fewer bytes than Content-Length, or a whole-body GET
 * whose JSON object or array ends before it closes: on the last attempt
 * such a text is returned for the caller's parser to judge), HTTP 408,
 * 429 and 5xx.
 * Retry-After (seconds or an HTTP date) is honoured up to
 * retry_after_max_s.  attempts bounds the requests of one call, whatever
 * each brought: a download that breaks after some bytes keeps them in its
 * .part (the next call resumes there) but the attempt counts, and so does
 * a 200 answer to a range request.  Only a 429/503 that makes a multi run
 * halve its requests at once is not held against the request.  The wait
 * before a retry is never below EM_HTTP_MIN_BACKOFF_MS.
 *
 * TLS peers are always verified (cacert adds a private CA bundle); proxies
 * come from the usual environment variables (http_proxy, https_proxy,
 * no_proxy), as libcurl reads them.
 */
#define EM_HTTP_MISSING 1

struct em_http_opts {
	int jobs;			/* transfers in flight in a multi run (default 4) */
	int attempts;			/* tries without progress before failing (default 5) */
	long connect_timeout_ms;	/* default 15000 */
	long timeout_ms;		/* whole-transfer limit, 0 = none (default) */
	long low_speed_bytes;		/* stalled below this many bytes a second ... (1) */
	long low_speed_secs;		/* ... for this many seconds (default 60) */
	long backoff_ms;		/* wait before the first retry (default 500) */
	long backoff_max_ms;		/* longest wait between retries (default 30000) */
	long retry_after_max_s;		/* longest Retry-After obeyed; longer fails (300) */
	uint64_t max_download;		/* largest download without an expected size
					   (EM_HTTP_MAX_DOWNLOAD) */
	const char *cacert;		/* PEM CA bundle to trust, NULL: the system's (borrowed) */
	const char *user_agent;		/* NULL: "<prog>/<version> (electron-microscopy-ingest)" */
	struct em_progress *progress;	/* body bytes received are added here (borrowed) */
};

/* Fill in the defaults above. */
void em_http_opts_init(struct em_http_opts *o);

/*
 * A transport: options, the connection cache of the single-request calls
 * and the random state of the jitter.  One thread uses an em_http at a
 * time; threads that download in parallel each make their own (or use a
 * multi run).  opts is copied (the strings and progress stay borrowed);
 * NULL means the defaults.  Returns NULL with the error text set.
 */
struct em_http *em_http_new(const struct em_http_opts *opts);
void em_http_free(struct em_http *h);
/* The User-Agent sent (borrowed). */
const char *em_http_user_agent(const struct em_http *h);

/* A response held in memory. */
struct em_http_resp {
	long status;		/* HTTP status; 200 for a successful file:// or ftp:// */
	char *body;		/* owned, NUL-terminated (not counted in len); NULL when empty */
	size_t len;
	uint64_t total;		/* size of the whole resource, UINT64_MAX when unknown */
	char *etag;		/* owned or NULL */
	char *content_type;	/* owned or NULL */
};
#define EM_HTTP_RESP_INIT { 0, NULL, 0, UINT64_MAX, NULL, NULL }
void em_http_resp_release(struct em_http_resp *r);

/*
 * GET url into memory; a body over max bytes fails (not retried).  On
 * EM_HTTP_MISSING r->status says which status it was.  r is released first.
 */
int em_http_get(struct em_http *h, const char *url, size_t max, struct em_http_resp *r);
/*
 * GET bytes [off, off+len) of url into memory (Range: bytes=off-(off+len-1)).
 * A server that ignores the range (200) is handled by keeping just those
 * bytes; a range past the end fails.  r->len may be less than len only at
 * the end of the resource.  r->total is the resource's size when told.
 */
int em_http_get_range(struct em_http *h, const char *url, uint64_t off, uint64_t len,
    struct em_http_resp *r);
/* HEAD: status, total (Content-Length), etag and content type, no body. */
int em_http_head(struct em_http *h, const char *url, struct em_http_resp *r);

/* What a whole-file download must match; zero/NULL fields are not checked. */
struct em_http_check {
	uint64_t size;			/* exact size in bytes, 0 = unknown */
	const char *sha256;		/* 64 hex digits, NULL = none */
};

/* What a download did. */
struct em_http_dl {
	uint64_t size;			/* bytes of the finished file */
	uint64_t resumed_from;		/* bytes already in <dest>.part at the start */
	int requests;			/* HTTP requests made */
	int restarted;			/* the server ignored the range: started over */
	int was_complete;		/* dest was already there and matched the check */
	/*
	 * The ETag (strong) or Last-Modified the file's bytes came with, kept
	 * beside it as "<dest>.validator" for later runs; "" when the server
	 * gave neither or the file is not from HTTP.
	 */
	char validator[256];
};

/*
 * Download url to dest.  The bytes go to "<dest>.part", locked against a
 * second process; a download that breaks (or a process that is killed)
 * leaves it, and the next call, in this process or another, resumes it
 * with "Range: bytes=N-".  Over HTTP the resume also sends "If-Range:" with
 * the ETag (or else the Last-Modified) the .part's bytes came with, kept in
 * "<dest>.part.validator": a server whose file changed answers 200 with the
 * whole new file, which is read from byte 0 (as is any 200; a 206 naming
 * another ETag restarts too).  An HTTP .part without that file is started
 * over.  The body may not grow past check's size, else the server's
 * Content-Length, else opts.max_download: more (an endless body, or an
 * announced length past the bound) stops with an error naming the sizes
 * and removes the .part.  When whole, the size is checked against
 * Content-Length/Content-Range and check, the SHA-256 against check, and
 * the file renamed to dest.  A file failing the size or checksum check is
 * removed.  When dest exists and a check with a size or checksum is given
 * that it passes, nothing is fetched.  The validator of a whole file stays
 * beside it ("<dest>.validator"; the caller removes it with the file).
 * info may be NULL.
 */
int em_http_download(struct em_http *h, const char *url, const char *dest,
    const struct em_http_check *check, struct em_http_dl *info);

/*
 * Many GETs at once on one connection pool, at most opts.jobs in flight.
 * Each finished request is handed to done() while the others go on; the
 * body is valid during the call only.  A request that failed for good
 * (result -1) is handed over too, with the error text in error; done()
 * decides whether that ends the run by returning -1 (after setting the
 * error text), else 0.
 *
 * feed() is called whenever fewer than jobs requests are queued or in
 * flight; it adds some with em_http_multi_add() and returns 1, or 0 when it
 * has no more (it is not called again), or -1 to stop the run.  done() may
 * add requests too.  Only the requests in flight hold a body, so memory is
 * bounded by jobs times the largest max, however many requests there are.
 */
struct em_http_reply {
	const char *url;		/* borrowed for the call */
	void *user;			/* as given to em_http_multi_add() */
	int result;			/* 0, EM_HTTP_MISSING or -1 */
	long status;			/* the last HTTP status, 0 if none came */
	const char *body;		/* the body (result 0), borrowed for the call */
	size_t len;
	uint64_t total;			/* size of the whole resource, UINT64_MAX unknown */
	const char *error;		/* the reason (result -1 or EM_HTTP_MISSING) */
};
struct em_http_multi;
typedef int (*em_http_done_fn)(void *ctx, const struct em_http_reply *r);
typedef int (*em_http_feed_fn)(void *ctx, struct em_http_multi *m);

/* h is borrowed for the multi's life (its options and progress are used). */
struct em_http_multi *em_http_multi_new(struct em_http *h, em_http_done_fn done, void *ctx);
void em_http_multi_free(struct em_http_multi *m);
/*
 * When a run stops early (done() or feed() returned -1, a signal) or the
 * multi is freed, requests still queued or in flight are dropped without a
 * done() call; release (free, say) is then called with each one's user
 * pointer so that it is not lost.  NULL (the default): nothing is called.
 */
void em_http_multi_set_release(struct em_http_multi *m, void (*release)(void *user));
/*
 * Queue a GET of url (copied): the whole body when len is 0 (off must be 0
 * then), else bytes [off, off+len) as em_http_get_range does.  max caps a
 * whole body.
 */
int em_http_multi_add(struct em_http_multi *m, const char *url, uint64_t off, uint64_t len,
    size_t max, void *user);
/* Requests queued or in flight. */
size_t em_http_multi_pending(const struct em_http_multi *m);
/* Run until feed() has no more and every request is handed to done(); feed may be NULL. */
int em_http_multi_run(struct em_http_multi *m, em_http_feed_fn feed, void *feed_ctx);

/* "Not Found" for 404 and so on; "" for a status it does not know. */
const char *em_http_reason(long status);

#endif
