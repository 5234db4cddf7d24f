/* http.c - the one transport every fetcher downloads through: HTTP(S), FTP and file:// on libcurl */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "net/http.h"
#include "core/interrupt.h"
#include "core/version.h"
#include "core/banned.h"

#define BUFFER_SIZE (512 * 1024)	/* libcurl's receive buffer: fewer, larger writes */
#define ERRTEXT_MAX 1024

enum xkind { X_MEM, X_RANGE, X_FILE, X_HEAD };

/* Why the body writer stopped a transfer. */
enum { W_NONE, W_TOOBIG, W_IO, W_BADRANGE, W_DONE, W_TOOLONG, W_CHANGED };

struct engine;

/* One request, across its attempts. */
struct xfer {
	struct xfer *next;	/* in the queue, or in the list of those in flight */
	struct engine *g;
	char *url;
	void *user;
	enum xkind kind;
	uint64_t off, len;	/* X_RANGE */
	size_t max;		/* X_MEM */
	int fd;			/* X_FILE: the .part file, written at have */
	uint64_t have;
	uint64_t cap;		/* X_FILE: more bytes than this stop the download */
	const char *cap_what;	/* ... and what the cap is ("the expected size") */
	int capped_by_check;	/* the cap is the caller's expected size */
	char *vpath;		/* X_FILE over HTTP: the .part's validator file */
	char *validator;	/* the ETag or Last-Modified the .part's bytes came with */
	int json;		/* X_MEM: a JSON text cut short is retried */
	int is_http;
	int tries;		/* attempts since the last one that made progress */
	int requests;
	unsigned epoch;		/* the engine's epoch when this attempt started */
	size_t limit_at_start;	/* the engine's limit then */
	int restarted;
	double not_before;	/* monotonic time of the next attempt */
	CURL *e;

	/* This attempt. */
	struct em_buf body;
	int started;
	int discard;		/* a body we do not keep (an error page) */
	uint64_t got;
	uint64_t skip;		/* a 200 answer to a range: bytes to pass over */
	int why;
	int has_cr, cr_total_known;
	uint64_t cr_start, cr_total;
	char *etag, *ctype, *lastmod;
	uint64_t announced;	/* bytes the response said it would hold in all */
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char range[64];

	/* The outcome. */
	int result;
	long status;
	uint64_t total;
	char *error;
};

/* Runs transfers on one multi handle: the single-request calls' and each em_http_multi's. */
struct engine {
	struct em_http *h;
	CURLM *m;
	struct xfer *qhead, *qtail;
	struct xfer *inflight;
	size_t nqueued, ninflight;
	size_t jobs;
	/*
	 * Requests started at once, at most: jobs, halved when the server
	 * answers 429 or 503 to a request started since the last cut (one cut
	 * per round of requests), and raised by one after that many
	 * successes.  epoch counts the cuts.
	 */
	size_t limit, ok_run;
	unsigned epoch;
	CURL **idle;
	size_t nidle;
	int (*finish)(struct engine *g, struct xfer *x);
	int owns;		/* frees the transfers it drops (not the single calls' own) */
	em_http_done_fn done;
	void *ctx;
	void (*release)(void *user);	/* for the user data of requests dropped unfinished */
};

struct em_http {
	struct em_http_opts o;
	char ua[192];
	struct engine sync;
	uint64_t rng;
};

struct em_http_multi {
	struct engine g;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
em_http_reason(long status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

void
em_http_opts_init(struct em_http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = 4;
	o->attempts = 5;
	o->connect_timeout_ms = 15000;
	o->low_speed_bytes = 1;
	o->low_speed_secs = 60;
	o->backoff_ms = 500;
	o->backoff_max_ms = 30000;
	o->retry_after_max_s = 300;
	o->max_download = EM_HTTP_MAX_DOWNLOAD;
}

static int
engine_init(struct engine *g, struct em_http *h, size_t jobs)
{
	memset(g, 0, sizeof(*g));
	g->h = h;
	g->jobs = jobs;
	g->limit = jobs;
	g->ok_run = 0;
	g->epoch = 0;
	if ((g->m = curl_multi_init()) == NULL)
		return em_fail("cannot start libcurl");
	if ((g->idle = calloc(jobs, sizeof(*g->idle))) == NULL) {
		curl_multi_cleanup(g->m);
		g->m = NULL;
		return em_fail_errno("out of memory");
	}
	/* Keep as many connections as transfers, so each can be reused. */
	curl_multi_setopt(g->m, CURLMOPT_MAXCONNECTS, (long)jobs + 1);
	return 0;
}

static void xfer_free(struct xfer *x);

static void
engine_cleanup(struct engine *g)
{
	struct xfer *x, *next;
	size_t i;

	for (x = g->qhead; x != NULL; x = next) {
		next = x->next;
		if (g->owns)
			xfer_free(x);
	}
	g->qhead = g->qtail = NULL;
	for (i = 0; i < g->nidle; i++)
		curl_easy_cleanup(g->idle[i]);
	free(g->idle);
	g->idle = NULL;
	g->nidle = 0;
	if (g->m != NULL)
		curl_multi_cleanup(g->m);
	g->m = NULL;
}

struct em_http *
em_http_new(const struct em_http_opts *opts)
{
	struct em_http *h;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		em_fail("cannot start libcurl: %s", curl_easy_strerror(global_rc));
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		em_fail_errno("out of memory");
		return NULL;
	}
	if (opts != NULL)
		h->o = *opts;
	else
		em_http_opts_init(&h->o);
	if (h->o.jobs < 1)
		h->o.jobs = 1;
	if (h->o.attempts < 1)
		h->o.attempts = 1;
	/* A retry at once is what made a failing server be asked thousands of times a minute. */
	if (h->o.backoff_ms < EM_HTTP_MIN_BACKOFF_MS)
		h->o.backoff_ms = EM_HTTP_MIN_BACKOFF_MS;
	if (h->o.backoff_max_ms < h->o.backoff_ms)
		h->o.backoff_max_ms = h->o.backoff_ms;
	if (h->o.max_download == 0)
		h->o.max_download = EM_HTTP_MAX_DOWNLOAD;
	if (h->o.user_agent != NULL)
		snprintf(h->ua, sizeof(h->ua), "%s", h->o.user_agent);
	else
		snprintf(h->ua, sizeof(h->ua), "%s/%s (%s)", em_progname(), EM_VERSION, EM_PACKAGE);
	h->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)h;
	if (engine_init(&h->sync, h, 1) == -1) {
		free(h);
		return NULL;
	}
	return h;
}

void
em_http_free(struct em_http *h)
{
	if (h == NULL)
		return;
	engine_cleanup(&h->sync);
	free(h);
}

const char *
em_http_user_agent(const struct em_http *h)
{
	return h->ua;
}

void
em_http_resp_release(struct em_http_resp *r)
{
	free(r->body);
	free(r->etag);
	free(r->content_type);
	r->body = r->etag = r->content_type = NULL;
	r->len = 0;
	r->status = 0;
	r->total = UINT64_MAX;
}

static double
jitter01(struct em_http *h)
{
	uint64_t x = h->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	h->rng = x;
	return (double)(x >> 11) / 9007199254740992.0;
}

/* ---- one request ---- */

static struct xfer *
xfer_new(struct engine *g, const char *url, enum xkind kind)
{
	struct xfer *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		em_fail_errno("out of memory");
		return NULL;
	}
	if ((x->url = strdup(url)) == NULL) {
		free(x);
		em_fail_errno("out of memory");
		return NULL;
	}
	x->g = g;
	x->kind = kind;
	x->fd = -1;
	x->total = UINT64_MAX;
	x->cap = UINT64_MAX;
	x->announced = UINT64_MAX;
	x->is_http = strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
	em_buf_init(&x->body, 0);
	return x;
}

static void
xfer_reset_attempt(struct xfer *x)
{
	em_buf_release(&x->body);
	free(x->etag);
	free(x->ctype);
	free(x->lastmod);
	x->etag = x->ctype = x->lastmod = NULL;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	x->announced = UINT64_MAX;
	x->started = x->discard = 0;
	x->got = x->skip = 0;
	x->why = W_NONE;
	x->has_cr = x->cr_total_known = 0;
	x->cr_start = x->cr_total = 0;
	x->errbuf[0] = '\0';
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	em_buf_release(&x->body);
	free(x->etag);
	free(x->ctype);
	free(x->lastmod);
	curl_slist_free_all(x->hdrs);
	free(x->vpath);
	free(x->validator);
	free(x->error);
	free(x->url);
	free(x);
}

static char *
header_value(const char *p, size_t n)
{
	char *v;

	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	if ((v = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(v, p, n);
	v[n] = '\0';
	return v;
}

/* "bytes a-b/total", "bytes a-b/ *" or "bytes * /total" (without the spaces). */
static void
parse_content_range(struct xfer *x, const char *v)
{
	unsigned long long a, b, t;
	char star;

	if (sscanf(v, "bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
		x->has_cr = 1;
		x->cr_start = a;
		x->cr_total = t;
		x->cr_total_known = 1;
	} else if (sscanf(v, "bytes %llu-%llu/%c", &a, &b, &star) == 3 && star == '*') {
		x->has_cr = 1;
		x->cr_start = a;
	} else if (sscanf(v, "bytes */%llu", &t) == 1) {
		x->cr_total = t;
		x->cr_total_known = 1;
	}
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	char *v;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or a 100): forget the last one's headers. */
		free(x->etag);
		free(x->ctype);
		free(x->lastmod);
		x->etag = x->ctype = x->lastmod = NULL;
		x->has_cr = x->cr_total_known = 0;
		return n;
	}
	if (n > 14 && strncasecmp(p, "Content-Range:", 14) == 0) {
		if ((v = header_value(p + 14, n - 14)) != NULL)
			parse_content_range(x, v);
		free(v);
	} else if (n > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		free(x->etag);
		x->etag = header_value(p + 5, n - 5);
	} else if (n > 14 && strncasecmp(p, "Last-Modified:", 14) == 0) {
		free(x->lastmod);
		x->lastmod = header_value(p + 14, n - 14);
	} else if (n > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
		free(x->ctype);
		x->ctype = header_value(p + 13, n - 13);
	}
	return n;
}

/*
 * The validator of a response, for If-Range when the download resumes: a
 * strong ETag, else Last-Modified (RFC 9110 13.1.5: a weak ETag cannot be
 * used), else "" when the server gives neither.
 */
static const char *
response_validator(const struct xfer *x)
{
	if (x->etag != NULL && x->etag[0] == '"')
		return x->etag;
	if (x->lastmod != NULL)
		return x->lastmod;
	return "";
}

/* Keep the validator of the bytes in the .part beside it ("<dest>.part.validator"). */
static int
save_validator(struct xfer *x)
{
	const char *v = response_validator(x);
	char *copy;

	if (em_write_atomic(x->vpath, v, strlen(v), 0) == -1)
		return -1;
	if ((copy = strdup(v)) == NULL)
		return -1;
	free(x->validator);
	x->validator = copy;
	return 0;
}

/* The validator kept beside a .part: 1 with *out (owned), 0 when there is none, -1 on error. */
static int
load_validator(const char *vpath, char **out)
{
	char buf[1024];
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = open(vpath, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : em_fail_errno("cannot open '%s'", vpath);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return em_fail_errno("cannot read '%s'", vpath);
	buf[n] = '\0';
	/* A header value holds no control characters; anything else is not ours. */
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20)
			return 0;
	if ((*out = strdup(buf)) == NULL)
		return em_fail_errno("out of memory");
	return 1;
}

/* The validator a whole download keeps beside it ("<dest>.validator"), into info. */
static void
kept_validator(const char *dest, struct em_http_dl *info)
{
	char path[4200], *v = NULL;

	if ((size_t)snprintf(path, sizeof(path), "%s.validator", dest) >= sizeof(path))
		return;
	if (load_validator(path, &v) == 1)
		snprintf(info->validator, sizeof(info->validator), "%s", v);
	free(v);
}

/* The first body bytes of an attempt: decide where they go from the status. */
static int
begin_body(struct xfer *x)
{
	long status = 0;

	x->started = 1;
	curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
	if (!x->is_http)
		return 0;	/* file:// and ftp:// deliver what was asked */
	if (status < 200 || status > 299) {
		x->discard = 1;
		return 0;
	}
	if (x->kind == X_FILE) {
		curl_off_t cl = -1;

		curl_easy_getinfo(x->e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (status == 206) {
			if (!x->has_cr || x->cr_start != x->have) {
				x->why = W_BADRANGE;
				return -1;
			}
			/*
			 * If-Range makes a server that knows it send 200 for a
			 * changed file; one that ignores If-Range but names a
			 * new ETag is caught here.
			 */
			if (x->validator != NULL && x->validator[0] == '"' && x->etag != NULL &&
			    strcmp(x->etag, x->validator) != 0) {
				x->why = W_CHANGED;
				return -1;
			}
			if (x->cr_total_known)
				x->announced = x->cr_total;
			else if (cl >= 0)
				x->announced = x->have + (uint64_t)cl;
		} else {
			if (x->have > 0) {
				/* The whole file (ignored range, or If-Range saw a change): start over. */
				if (ftruncate(x->fd, 0) == -1) {
					x->why = W_IO;
					return -1;
				}
				x->have = 0;
				x->restarted = 1;
			}
			if (cl >= 0)
				x->announced = (uint64_t)cl;
			/* What the bytes about to be written are a version of. */
			if (x->vpath != NULL && save_validator(x) == -1) {
				x->why = W_IO;
				return -1;
			}
		}
		if (x->announced != UINT64_MAX && x->announced > x->cap) {
			x->why = W_TOOLONG;
			return -1;
		}
	} else if (x->kind == X_RANGE) {
		if (status == 206) {
			if (!x->has_cr || x->cr_start != x->off) {
				x->why = W_BADRANGE;
				return -1;
			}
		} else {
			x->skip = x->off;
		}
	}
	return 0;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (!x->started && begin_body(x) == -1)
		return 0;
	if (x->discard) {
		/* An error page is read to keep the connection; an endless one is not. */
		x->skip += n;
		return x->skip > EM_HTTP_MAX_ERROR_BODY ? 0 : n;
	}
	x->got += n;
	em_progress_add_bytes(x->g->h->o.progress, n);
	switch (x->kind) {
	case X_FILE: {
		const char *c = p;
		size_t left = n;

		if (n > x->cap - x->have) {
			/* An endless or overlong body: stop before the disk fills. */
			x->why = W_TOOLONG;
			return 0;
		}
		while (left > 0) {
			ssize_t w = pwrite(x->fd, c, left, (off_t)x->have);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				x->why = W_IO;
				x->result = errno;
				return 0;
			}
			c += w;
			left -= (size_t)w;
			x->have += (uint64_t)w;
		}
		return n;
	}
	case X_MEM:
		if (x->body.len + n > x->max) {
			x->why = W_TOOBIG;
			return 0;
		}
		if (em_buf_add(&x->body, p, n) == -1) {
			x->why = W_TOOBIG;
			return 0;
		}
		return n;
	case X_RANGE: {
		size_t take = n;
		if (x->skip > 0) {
			size_t s = x->skip < n ? (size_t)x->skip : n;
			p += s;
			take -= s;
			x->skip -= s;
		}
		if (take > x->len - x->body.len)
			take = (size_t)(x->len - x->body.len);
		if (take > 0 && em_buf_add(&x->body, p, take) == -1) {
			x->why = W_TOOBIG;
			return 0;
		}
		if (x->body.len == x->len && x->skip == 0 && take < n) {
			x->why = W_DONE;	/* a 200 answer: we have our bytes, stop it */
			return 0;
		}
		return n;
	}
	case X_HEAD:
		break;
	}
	return n;
}

static CURL *
engine_easy(struct engine *g)
{
	CURL *e;

	if (g->nidle > 0) {
		e = g->idle[--g->nidle];
		curl_easy_reset(e);
		return e;
	}
	return curl_easy_init();
}

static void
engine_release_easy(struct engine *g, CURL *e)
{
	if (e == NULL)
		return;
	if (g->nidle < g->jobs)
		g->idle[g->nidle++] = e;
	else
		curl_easy_cleanup(e);
}

static int
xfer_start(struct engine *g, struct xfer *x)
{
	const struct em_http_opts *o = &g->h->o;
	CURL *e;

	xfer_reset_attempt(x);
	/* The cap is checked by on_write; the buffer's own limit leaves room for its NUL. */
	em_buf_init(&x->body, x->kind == X_RANGE ? (size_t)x->len + 1 :
	    x->max == SIZE_MAX ? SIZE_MAX : x->max + 1);
	if ((e = engine_easy(g)) == NULL)
		return em_fail("cannot start a libcurl transfer");
	x->e = e;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, g->h->ua);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)EM_HTTP_MAX_REDIRS);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,ftp,ftps,file");
	/* A redirect must not turn a download into a read of a local file. */
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp,ftps");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->cacert != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	if (o->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	if (o->low_speed_secs > 0) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_secs);
	}
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)BUFFER_SIZE);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	x->range[0] = '\0';
	if (x->kind == X_FILE && x->have > 0)
		snprintf(x->range, sizeof(x->range), "%" PRIu64 "-", x->have);
	else if (x->kind == X_RANGE)
		snprintf(x->range, sizeof(x->range), "%" PRIu64 "-%" PRIu64, x->off,
		    x->off + x->len - 1);
	if (x->range[0])
		curl_easy_setopt(e, CURLOPT_RANGE, x->range);
	if (x->kind == X_FILE && x->have > 0 && x->is_http && x->validator != NULL &&
	    x->validator[0] != '\0') {
		/* RFC 9110 13.1.5: the rest if the file is still this version, else all of it. */
		char *hv = malloc(strlen(x->validator) + 11);
		struct curl_slist *l;

		if (hv == NULL) {
			engine_release_easy(g, e);
			x->e = NULL;
			return em_fail_errno("out of memory");
		}
		snprintf(hv, strlen(x->validator) + 11, "If-Range: %s", x->validator);
		l = curl_slist_append(NULL, hv);
		free(hv);
		if (l == NULL) {
			engine_release_easy(g, e);
			x->e = NULL;
			return em_fail("out of memory");
		}
		x->hdrs = l;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	}
	if (x->kind == X_HEAD)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	x->requests++;
	x->epoch = g->epoch;
	x->limit_at_start = g->limit;
	if (curl_multi_add_handle(g->m, e) != CURLM_OK) {
		engine_release_easy(g, e);
		x->e = NULL;
		return em_fail("cannot start a libcurl transfer");
	}
	x->next = g->inflight;
	g->inflight = x;
	g->ninflight++;
	return 0;
}

static void
enqueue(struct engine *g, struct xfer *x)
{
	x->next = NULL;
	if (g->qtail != NULL)
		g->qtail->next = x;
	else
		g->qhead = x;
	g->qtail = x;
	g->nqueued++;
}

static int
xfer_fail(struct xfer *x, int result, const char *fmt, ...) EM_PRINTF(3, 4);

static int
xfer_fail(struct xfer *x, int result, const char *fmt, ...)
{
	char reason[ERRTEXT_MAX], *msg;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	n = snprintf(NULL, 0, "%s '%s': %s", x->kind == X_HEAD ? "HEAD" : "GET", x->url, reason);
	if ((msg = malloc((size_t)n + 1)) != NULL)
		snprintf(msg, (size_t)n + 1, "%s '%s': %s", x->kind == X_HEAD ? "HEAD" : "GET",
		    x->url, reason);
	free(x->error);
	x->error = msg;
	x->result = result;
	return result;
}

static void
curl_reason(struct xfer *x, CURLcode rc, char *buf, size_t n)
{
	if (x->errbuf[0])
		snprintf(buf, n, "%s: %s", curl_easy_strerror(rc), x->errbuf);
	else
		snprintf(buf, n, "%s", curl_easy_strerror(rc));
}

static int
retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_FTP_ACCEPT_TIMEOUT:
	case CURLE_FTP_CANT_GET_HOST:
	case CURLE_FTP_WEIRD_PASV_REPLY:
	case CURLE_FTP_WEIRD_227_FORMAT:
	case CURLE_QUOTE_ERROR:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

enum outcome { O_DONE, O_RETRY };

/*
 * 1 if body starts like a JSON object or array (after white space) and
 * ends before it closes: a reply cut short that the server sent as whole
 * (its Content-Length matching the short body).  Control characters other
 * than white space, or closing more than was opened, mean it is not JSON
 * text at all, and that is for the caller to judge.
 */
static int
json_cut_short(const char *p, size_t n)
{
	size_t i = 0, depth = 0;
	int in_str = 0, esc = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	if (i == n || (p[i] != '{' && p[i] != '['))
		return 0;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return 0;
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return 0;	/* closed: whole, whatever follows */
		}
	}
	return 1;
}

/* Start the .part over: its bytes are not the start of the file the server has now. */
static int
restart_part(struct xfer *x)
{
	if (ftruncate(x->fd, 0) == -1)
		return -1;
	x->have = 0;
	x->restarted = 1;
	return 0;
}

/*
 * Decide what a finished attempt means: done (with x->result 0, MISSING or
 * -1 and the error text), or another attempt (after *wait seconds).  Every
 * attempt that fails counts against the attempts allowed, whatever bytes
 * it brought (a server that drops each reply at the same place, or answers
 * each range with the whole file, would otherwise be asked forever); the
 * .part keeps them for the next run.
 */
static enum outcome
xfer_judge(struct xfer *x, CURLcode rc, double *wait)
{
	struct engine *g = x->g;
	struct em_http *h = g->h;
	char reason[ERRTEXT_MAX];
	curl_off_t ra = 0;
	long status = 0;
	int busy = 0;
	double d;

	curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->e, CURLINFO_RETRY_AFTER, &ra);
	x->status = status;
	*wait = 0;

	if (x->why == W_TOOBIG)
		return xfer_fail(x, -1, "response larger than %zu bytes", x->max), O_DONE;
	if (x->why == W_IO) {
		errno = x->result;
		return xfer_fail(x, -1, "cannot write: %s", strerror(errno)), O_DONE;
	}
	if (x->why == W_TOOLONG) {
		if (x->announced != UINT64_MAX && x->announced > x->cap && x->capped_by_check)
			return xfer_fail(x, -1, "size %" PRIu64 ", expected %" PRIu64 " (the "
			    "server announces more than the expected size)", x->announced,
			    x->cap), O_DONE;
		if (x->announced != UINT64_MAX && x->announced > x->cap)
			return xfer_fail(x, -1, "the server announces %" PRIu64 " bytes, more than "
			    "%s (%" PRIu64 " bytes)", x->announced, x->cap_what, x->cap), O_DONE;
		return xfer_fail(x, -1, "the body goes on past %s (%" PRIu64 " bytes)",
		    x->cap_what, x->cap), O_DONE;
	}
	if (x->why == W_DONE)
		rc = CURLE_OK;
	if (rc == CURLE_OK && x->is_http) {
		if (status >= 200 && status <= 299) {
			curl_off_t cl = -1;
			curl_easy_getinfo(x->e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
			if (x->kind == X_FILE && status == 200 && x->got == 0 && x->have > 0) {
				/* An empty whole body: the file is now empty. */
				if (restart_part(x) == -1)
					return xfer_fail(x, -1, "cannot truncate: %s",
					    strerror(errno)), O_DONE;
				if (x->vpath != NULL && save_validator(x) == -1)
					return xfer_fail(x, -1, "cannot keep the validator: %s",
					    em_errmsg()), O_DONE;
			}
			if (x->cr_total_known)
				x->total = x->cr_total;
			else if (cl >= 0)
				x->total = (uint64_t)cl + (status == 206 && x->kind == X_FILE ?
				    x->have - x->got : 0);
			if (x->kind == X_MEM && x->json && x->tries + 1 < h->o.attempts &&
			    json_cut_short(x->body.data, x->body.len)) {
				/*
				 * Retried like a dropped reply; a server that sends the
				 * same short text on the last attempt too means it, and
				 * the caller's parser names what is wrong with it.
				 */
				snprintf(reason, sizeof(reason), "the JSON text ends early (%zu bytes)",
				    x->body.len);
				goto retry;
			}
			x->result = 0;
			return O_DONE;
		}
		if (status == 404 || status == 403 || status == 410) {
			xfer_fail(x, EM_HTTP_MISSING, "HTTP %ld %s", status, em_http_reason(status));
			return O_DONE;
		}
		if (status == 416 && x->kind == X_FILE && x->have > 0) {
			if (x->cr_total_known && x->cr_total == x->have) {
				x->total = x->have;	/* it was whole already */
				x->result = 0;
				return O_DONE;
			}
			/* The .part is longer than the file: it is not this file's start. */
			if (restart_part(x) == -1)
				return xfer_fail(x, -1, "cannot truncate: %s", strerror(errno)),
				    O_DONE;
			snprintf(reason, sizeof(reason), "HTTP 416: the partial file is longer "
			    "than the file");
			goto retry;
		}
		if (!(status == 408 || status == 429 || (status >= 500 && status <= 599))) {
			xfer_fail(x, -1, "HTTP %ld %s", status, em_http_reason(status));
			return O_DONE;
		}
		snprintf(reason, sizeof(reason), "HTTP %ld %s", status, em_http_reason(status));
		busy = status == 429 || status == 503;
	} else if (rc == CURLE_OK) {
		x->status = 200;
		x->result = 0;
		if (x->kind == X_FILE && x->have > 0 && x->got == 0) {
			/*
			 * A resume from the file's very end: nothing came, and
			 * libcurl gives the whole size, not the rest (a .part left
			 * whole by a run killed before its rename).
			 */
			x->total = x->have;
		} else if (x->kind == X_FILE || x->kind == X_HEAD || x->kind == X_MEM) {
			/* file:// and ftp:// tell the size of what they send. */
			curl_off_t cl = -1;
			curl_easy_getinfo(x->e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
			if (cl >= 0)
				x->total = x->kind == X_FILE ? x->have - x->got + (uint64_t)cl :
				    (uint64_t)cl;
		}
		return O_DONE;
	} else if (rc == CURLE_BAD_DOWNLOAD_RESUME && x->kind == X_FILE && x->have > 0) {
		/* file:// or ftp://: the .part is longer than the file, so not its start. */
		if (restart_part(x) == -1)
			return xfer_fail(x, -1, "cannot truncate: %s", strerror(errno)), O_DONE;
		snprintf(reason, sizeof(reason), "the partial file is longer than the file");
	} else if (rc == CURLE_FILE_COULDNT_READ_FILE || rc == CURLE_REMOTE_FILE_NOT_FOUND ||
	    rc == CURLE_FTP_COULDNT_RETR_FILE) {
		curl_reason(x, rc, reason, sizeof(reason));
		xfer_fail(x, EM_HTTP_MISSING, "%s", reason);
		return O_DONE;
	} else if (x->why == W_BADRANGE) {
		snprintf(reason, sizeof(reason), "the server answered another range than asked");
		if (x->kind == X_FILE)
			(void)restart_part(x);
	} else if (x->why == W_CHANGED) {
		snprintf(reason, sizeof(reason), "the file changed on the server (ETag %s, the "
		    "partial file's %s)", x->etag, x->validator);
		if (restart_part(x) == -1)
			return xfer_fail(x, -1, "cannot truncate: %s", strerror(errno)), O_DONE;
		/* The next attempt asks without a validator, for the whole new file. */
		free(x->validator);
		x->validator = NULL;
	} else if (rc == CURLE_WRITE_ERROR && x->discard) {
		snprintf(reason, sizeof(reason), "HTTP %ld %s", status, em_http_reason(status));
		busy = status == 429 || status == 503;
	} else {
		curl_reason(x, rc, reason, sizeof(reason));
		if (!retryable_curl(rc)) {
			xfer_fail(x, -1, "%s", reason);
			return O_DONE;
		}
		if (status >= 300)
			snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
			    " (HTTP %ld)", status);
	}

retry:
	/*
	 * Worth another attempt.  "Too many requests" or "busy" while several
	 * ran at once asks for fewer at once: the limit is halved (once per
	 * round) and the attempt is not held against this request.  Once one
	 * runs at a time, such answers count like any other.
	 */
	if (busy && g->jobs > 1 && x->epoch == g->epoch && g->limit > 1) {
		g->limit /= 2;
		g->ok_run = 0;
		g->epoch++;
		em_log(EM_LOG_INFO, "'%s': %s: %zu request%s at once from now on", x->url, reason,
		    g->limit, g->limit == 1 ? "" : "s");
	}
	if (!(busy && x->limit_at_start > 1))
		x->tries++;
	if (x->tries >= h->o.attempts) {
		xfer_fail(x, -1, "%s after %d attempt%s", reason, x->tries, x->tries == 1 ? "" : "s");
		return O_DONE;
	}
	if (ra > 0) {
		if (ra > h->o.retry_after_max_s) {
			xfer_fail(x, -1, "%s, and the server asks to retry after %lld s (more than "
			    "%ld s)", reason, (long long)ra, h->o.retry_after_max_s);
			return O_DONE;
		}
		d = (double)ra * (1.0 + 0.1 * jitter01(h));
	} else {
		d = (double)h->o.backoff_ms / 1000.0;
		for (int i = 1; i < x->tries && d < (double)h->o.backoff_max_ms / 1000.0; i++)
			d *= 2;
		if (d > (double)h->o.backoff_max_ms / 1000.0)
			d = (double)h->o.backoff_max_ms / 1000.0;
		d *= 0.5 + 0.5 * jitter01(h);	/* "equal jitter": never below half the backoff */
		if (d < EM_HTTP_MIN_BACKOFF_MS / 1000.0)
			d = EM_HTTP_MIN_BACKOFF_MS / 1000.0;
	}
	em_log(EM_LOG_INFO, "%s '%s': %s; attempt %d of %d failed, retrying in %.3f s",
	    x->kind == X_HEAD ? "HEAD" : "GET", x->url, reason, x->tries, h->o.attempts, d);
	*wait = d;
	return O_RETRY;
}

/* Start queued requests whose time has come, up to jobs in flight; the soonest wait, or -1. */
static double
engine_start_ready(struct engine *g, int *err)
{
	struct xfer **pp = &g->qhead, *x, *prev = NULL;
	double now = mono_now(), soonest = -1;

	*err = 0;
	while ((x = *pp) != NULL && g->ninflight < g->limit) {
		if (x->not_before > now) {
			if (soonest < 0 || x->not_before - now < soonest)
				soonest = x->not_before - now;
			prev = x;
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		if (g->qtail == x)
			g->qtail = prev;
		g->nqueued--;
		x->next = NULL;
		if (xfer_start(g, x) == -1) {
			xfer_fail(x, -1, "%s", em_errmsg());
			if (g->finish(g, x) == -1) {
				*err = 1;
				return -1;
			}
		}
	}
	for (x = *pp; x != NULL; x = x->next)
		if (x->not_before > now && (soonest < 0 || x->not_before - now < soonest))
			soonest = x->not_before - now;
	return soonest;
}

/* Collect finished transfers, up to and with the first answer handed over: how many, -1 to stop. */
static int
engine_collect(struct engine *g)
{
	CURLMsg *msg;
	int left, n = 0;

	while ((msg = curl_multi_info_read(g->m, &left)) != NULL) {
		struct xfer *x = NULL, **pp;
		enum outcome oc;
		double wait;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		for (pp = &g->inflight; *pp != NULL && *pp != x; pp = &(*pp)->next)
			;
		if (*pp == x)
			*pp = x->next;
		x->next = NULL;
		oc = xfer_judge(x, msg->data.result, &wait);
		curl_multi_remove_handle(g->m, x->e);
		engine_release_easy(g, x->e);
		x->e = NULL;
		g->ninflight--;
		n++;
		if (oc == O_DONE && x->result == 0 && g->limit < g->jobs && ++g->ok_run >= g->limit) {
			/* As many successes as requests at once: one more at once. */
			g->limit++;
			g->ok_run = 0;
		}
		if (oc == O_DONE) {
			/*
			 * One answer handed over, then back to the caller, which starts
			 * the next request before the other answers are handed over:
			 * answers that arrive together would otherwise leave nothing
			 * in flight while each is stored in turn.
			 */
			return g->finish(g, x) == -1 ? -1 : n;
		} else {
			x->not_before = mono_now() + wait;
			enqueue(g, x);
		}
	}
	return n;
}

static void
engine_abort(struct engine *g)
{
	struct xfer *x, *next;

	for (x = g->inflight; x != NULL; x = next) {
		next = x->next;
		curl_multi_remove_handle(g->m, x->e);
		engine_release_easy(g, x->e);
		x->e = NULL;
		if (g->owns && g->release != NULL && x->user != NULL)
			g->release(x->user);
		if (g->owns)
			xfer_free(x);
	}
	g->inflight = NULL;
	g->ninflight = 0;
	for (x = g->qhead; x != NULL; x = next) {
		next = x->next;
		if (g->owns && g->release != NULL && x->user != NULL)
			g->release(x->user);
		if (g->owns)
			xfer_free(x);
	}
	g->qhead = g->qtail = NULL;
	g->nqueued = 0;
}

static int
engine_run(struct engine *g, em_http_feed_fn feed, void *fctx, struct em_http_multi *m)
{
	int feeding = feed != NULL, running, err;

	for (;;) {
		double soonest;
		long t = -1;
		int n;

		/* SIGINT/SIGTERM end transfers and waits within a poll (at most 1 s). */
		if (em_interrupted()) {
			em_fail("interrupted");
			goto fail;
		}
		while (feeding && g->nqueued + g->ninflight < g->jobs) {
			size_t before = g->nqueued;
			int f = feed(fctx, m);
			if (f == -1)
				goto fail;
			if (f == 0)
				feeding = 0;
			else if (g->nqueued == before)
				break;
		}
		soonest = engine_start_ready(g, &err);
		if (err)
			goto fail;
		if (!feeding && g->nqueued == 0 && g->ninflight == 0)
			return 0;
		if (g->ninflight > 0 && curl_multi_perform(g->m, &running) != CURLM_OK) {
			em_fail("libcurl failed");
			goto fail;
		}
		if ((n = engine_collect(g)) == -1)
			goto fail;
		if (n > 0)
			continue;
		if (g->ninflight > 0)
			curl_multi_timeout(g->m, &t);
		if (t < 0 || t > 1000)
			t = 1000;
		if (soonest >= 0 && soonest * 1000 < (double)t)
			t = (long)(soonest * 1000) + 1;
		if (t > 0)
			curl_multi_poll(g->m, NULL, 0, (int)t, NULL);
	}
fail:
	engine_abort(g);
	return -1;
}

/* ---- single requests ---- */

static int
sync_finish(struct engine *g, struct xfer *x)
{
	(void)g;
	(void)x;
	return 0;	/* the caller reads the outcome from x */
}

static int
sync_run(struct em_http *h, struct xfer *x)
{
	struct engine *g = &h->sync;

	g->finish = sync_finish;
	enqueue(g, x);
	if (engine_run(g, NULL, NULL, NULL) == -1)
		return -1;
	if (x->result == -1 || x->result == EM_HTTP_MISSING)
		em_fail("%s", x->error ? x->error : "out of memory");
	return x->result;
}

static int
resp_from(struct xfer *x, struct em_http_resp *r, int ret)
{
	r->status = x->status;
	r->total = x->total;
	if (ret == 0) {
		r->body = em_buf_detach(&x->body, &r->len);
	}
	r->etag = x->etag;
	r->content_type = x->ctype;
	x->etag = x->ctype = NULL;
	xfer_free(x);
	return ret;
}

int
em_http_get(struct em_http *h, const char *url, size_t max, struct em_http_resp *r)
{
	struct xfer *x;

	em_http_resp_release(r);
	if ((x = xfer_new(&h->sync, url, X_MEM)) == NULL)
		return -1;
	x->max = max;
	x->json = 1;
	return resp_from(x, r, sync_run(h, x));
}

int
em_http_get_range(struct em_http *h, const char *url, uint64_t off, uint64_t len,
    struct em_http_resp *r)
{
	struct xfer *x;

	em_http_resp_release(r);
	if (len == 0 || len > SIZE_MAX - 1 || off > UINT64_MAX - len)
		return em_fail("bad range %" PRIu64 "+%" PRIu64 " of '%s'", off, len, url);
	if ((x = xfer_new(&h->sync, url, X_RANGE)) == NULL)
		return -1;
	x->off = off;
	x->len = len;
	return resp_from(x, r, sync_run(h, x));
}

int
em_http_head(struct em_http *h, const char *url, struct em_http_resp *r)
{
	struct xfer *x;
	int ret;

	em_http_resp_release(r);
	if ((x = xfer_new(&h->sync, url, X_HEAD)) == NULL)
		return -1;
	ret = sync_run(h, x);
	return resp_from(x, r, ret);
}

/* ---- whole files ---- */

static int
sha256_file(int fd, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE], *buf = NULL;
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = NULL;
	off_t at = 0;
	int ret = -1;

	if ((buf = malloc(1 << 20)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		em_fail("cannot start SHA-256");
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, 1 << 20, at);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			em_fail_errno("cannot read");
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		at += n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (i = 0; i < mdlen && i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return ret;
}

/* 0 if fd's file passes check, 1 if not (reason in why), -1 on an error. */
static int
check_file(int fd, const struct em_http_check *check, char *why, size_t n)
{
	struct stat st;
	char hex[65];

	if (fstat(fd, &st) == -1)
		return em_fail_errno("cannot stat");
	if (check == NULL)
		return 0;
	if (check->size && (uint64_t)st.st_size != check->size) {
		snprintf(why, n, "size %lld, expected %" PRIu64, (long long)st.st_size, check->size);
		return 1;
	}
	if (check->sha256 != NULL) {
		if (sha256_file(fd, hex) == -1)
			return -1;
		if (strcasecmp(hex, check->sha256) != 0) {
			snprintf(why, n, "sha256 %s, expected %s", hex, check->sha256);
			return 1;
		}
	}
	return 0;
}

/* Remove a .part that cannot be resumed, and its validator. */
static void
drop_part(const char *part, const char *vpath)
{
	unlink(part);
	if (vpath != NULL)
		unlink(vpath);
}

int
em_http_download(struct em_http *h, const char *url, const char *dest,
    const struct em_http_check *check, struct em_http_dl *info)
{
	struct em_http_dl dummy;
	struct xfer *x = NULL;
	char *part = NULL, *vpath = NULL, *validator = NULL, why[256];
	struct stat st;
	int fd = -1, ret = -1, rc, is_http;
	size_t n;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (check != NULL && check->sha256 != NULL && strlen(check->sha256) != 64)
		return em_fail("sha256 '%s' is not 64 hex digits", check->sha256);

	/* Already there and as expected: nothing to do. */
	if (check != NULL && (check->size || check->sha256) &&
	    (fd = open(dest, O_RDONLY | O_CLOEXEC)) != -1) {
		rc = check_file(fd, check, why, sizeof(why));
		close(fd);
		fd = -1;
		if (rc == -1)
			return em_fail_ctx("%s", dest);
		if (rc == 0) {
			if (stat(dest, &st) == 0)
				info->size = (uint64_t)st.st_size;
			info->was_complete = 1;
			kept_validator(dest, info);
			return 0;
		}
	}

	n = strlen(dest) + 16;
	if ((part = malloc(n)) == NULL || (vpath = malloc(n)) == NULL) {
		em_fail_errno("out of memory");
		goto out;
	}
	snprintf(part, n, "%s.part", dest);
	snprintf(vpath, n, "%s.part.validator", dest);
	is_http = strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
	if ((fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) == -1) {
		em_fail_errno("cannot open '%s'", part);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			em_fail("'%s' is being downloaded by another process", part);
		else
			em_fail_errno("cannot lock '%s'", part);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		em_fail_errno("cannot stat '%s'", part);
		goto out;
	}
	if ((x = xfer_new(&h->sync, url, X_FILE)) == NULL)
		goto out;
	x->fd = fd;
	x->have = (uint64_t)st.st_size;
	if (check != NULL && check->size) {
		x->cap = check->size;
		x->cap_what = "the expected size";
		x->capped_by_check = 1;
	} else {
		x->cap = h->o.max_download;
		x->cap_what = "the download limit (--max-download)";
	}
	if (is_http) {
		/*
		 * The bytes of an HTTP .part are resumed only with the ETag or
		 * Last-Modified they came with, sent back in If-Range; a .part
		 * without one (left by an older version) is not known to be this
		 * file's start.  An empty validator file: the server gave none.
		 */
		if ((rc = load_validator(vpath, &validator)) == -1)
			goto out;
		if (rc == 0 && x->have > 0) {
			em_log(EM_LOG_INFO, "'%s' has no validator beside it: starting over", part);
			x->have = 0;
		}
		x->vpath = vpath;
		x->validator = validator;
		vpath = NULL;
		validator = NULL;
	}
	if (x->have > x->cap) {
		x->have = 0;
	}
	if (x->have == 0 && st.st_size > 0 && ftruncate(fd, 0) == -1) {
		em_fail_errno("cannot truncate '%s'", part);
		goto out;
	}
	info->resumed_from = x->have;
	if (x->have > 0)
		em_log(EM_LOG_INFO, "resuming '%s' at byte %" PRIu64 "%s%s", dest, x->have,
		    x->validator && x->validator[0] ? " if still " : "",
		    x->validator && x->validator[0] ? x->validator : "");
	rc = sync_run(h, x);
	info->requests = x->requests;
	info->restarted = x->restarted;
	if (rc != 0) {
		if ((rc == EM_HTTP_MISSING && x->have == 0) || x->why == W_TOOLONG)
			drop_part(part, x->vpath);	/* not the file: nothing worth resuming */
		ret = rc;
		goto out;
	}
	if (x->total != UINT64_MAX && x->have != x->total) {
		em_fail("GET '%s': got %" PRIu64 " bytes of %" PRIu64, url, x->have, x->total);
		goto out;
	}
	rc = check_file(fd, check, why, sizeof(why));
	if (rc == -1) {
		em_fail_ctx("%s", part);
		goto out;
	}
	if (rc == 1) {
		/* Whole but wrong: keeping it would only resume into the same error. */
		drop_part(part, x->vpath);
		em_fail("GET '%s': %s", url, why);
		goto out;
	}
	if (rename(part, dest) == -1) {
		em_fail_errno("cannot rename '%s' to '%s'", part, dest);
		goto out;
	}
	if (x->vpath != NULL) {
		/* What the whole file's bytes came with, for the store's manifest. */
		char kept[4200];

		snprintf(info->validator, sizeof(info->validator), "%s",
		    x->validator != NULL && x->validator[0] ? x->validator : response_validator(x));
		if ((size_t)snprintf(kept, sizeof(kept), "%s.validator", dest) >= sizeof(kept) ||
		    rename(x->vpath, kept) == -1)
			unlink(x->vpath);
	}
	info->size = x->have;
	ret = 0;
out:
	xfer_free(x);
	if (fd != -1)
		close(fd);
	free(part);
	free(vpath);
	free(validator);
	return ret;
}

/* ---- many requests ---- */

static int
multi_finish(struct engine *g, struct xfer *x)
{
	struct em_http_reply r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.url = x->url;
	r.user = x->user;
	r.result = x->result;
	r.status = x->status;
	r.body = x->body.data ? x->body.data : "";
	r.len = x->result == 0 ? x->body.len : 0;
	r.total = x->total;
	r.error = x->error;
	rc = g->done(g->ctx, &r);
	xfer_free(x);
	return rc == -1 ? -1 : 0;
}

struct em_http_multi *
em_http_multi_new(struct em_http *h, em_http_done_fn done, void *ctx)
{
	struct em_http_multi *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		em_fail_errno("out of memory");
		return NULL;
	}
	if (engine_init(&m->g, h, (size_t)h->o.jobs) == -1) {
		free(m);
		return NULL;
	}
	m->g.finish = multi_finish;
	m->g.owns = 1;
	m->g.done = done;
	m->g.ctx = ctx;
	return m;
}

void
em_http_multi_set_release(struct em_http_multi *m, void (*release)(void *user))
{
	m->g.release = release;
}

void
em_http_multi_free(struct em_http_multi *m)
{
	if (m == NULL)
		return;
	engine_abort(&m->g);
	engine_cleanup(&m->g);
	free(m);
}

int
em_http_multi_add(struct em_http_multi *m, const char *url, uint64_t off, uint64_t len,
    size_t max, void *user)
{
	struct xfer *x;

	if (len == 0 && off != 0)
		return em_fail("a range of '%s' needs a length", url);
	if (len > SIZE_MAX - 1 || off > UINT64_MAX - len)
		return em_fail("bad range %" PRIu64 "+%" PRIu64 " of '%s'", off, len, url);
	if ((x = xfer_new(&m->g, url, len ? X_RANGE : X_MEM)) == NULL)
		return -1;
	x->off = off;
	x->len = len;
	x->max = max;
	x->user = user;
	enqueue(&m->g, x);
	return 0;
}

size_t
em_http_multi_pending(const struct em_http_multi *m)
{
	return m->g.nqueued + m->g.ninflight;
}

int
em_http_multi_run(struct em_http_multi *m, em_http_feed_fn feed, void *feed_ctx)
{
	return engine_run(&m->g, feed, feed_ctx, m);
}
