/* serve.c - em-catalog serve: the catalog as a read-only JSON API over HTTP (libmicrohttpd) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/parse.h"
#include "core/version.h"
#include "meta/catdb.h"
#include "tool/tool.h"
#include "catalog.h"
#include "core/banned.h"

/* Rows of a page when the request does not say. */
#define DEFAULT_PAGE 100
/* A page's body at most: EM_CATDB_MAX_PAGE records of a few kB each, with room to spare. */
#define MAX_BODY ((size_t)256 << 20)
/* Request line and headers together (libmicrohttpd answers 414/431 past it). */
#define MAX_REQUEST (32 * 1024)
#define MAX_CONNECTIONS 64
#define TIMEOUT_S 30

struct server {
	struct em_catdb *db;
	const char *url;
	json_t *openapi;
};

/* ---- responses ---- */

static enum MHD_Result
send_body(struct MHD_Connection *c, unsigned status, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
	MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, OPTIONS");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	size_t n;
	char *t;

	json_decref(v);
	if (s == NULL)
		return MHD_NO;
	n = strlen(s);
	if ((t = realloc(s, n + 2)) == NULL) {
		free(s);
		return MHD_NO;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return send_body(c, status, t, n + 1);
}

static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg));
}

/* A database failure is logged; the client learns only that the server failed. */
static enum MHD_Result
send_db_error(struct MHD_Connection *c, struct server *s)
{
	em_err("cannot query '%s': %s", s->url, em_errmsg());
	return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the catalog database failed");
}

/* ---- GET /records ---- */

struct param_scan {
	struct em_catdb_query *q;
	const char *cursor;
	size_t cursor_len;
	const char *limit;
	char err[512];
};

static enum MHD_Result
on_param(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value,
    size_t value_size)
{
	struct param_scan *p = cls;
	int rc;

	(void)kind;
	if (p->err[0] != '\0')
		return MHD_NO;
	if (!em_utf8_valid(key, key_size) || key_size > 64) {
		snprintf(p->err, sizeof(p->err), "a parameter name is not UTF-8 text");
		return MHD_NO;
	}
	if (value == NULL) {
		value = "";
		value_size = 0;
	}
	/* The cursor depends on the sort; limit is bounded here. Both wait for the rest. */
	if (strcmp(key, "cursor") == 0) {
		p->cursor = value;
		p->cursor_len = value_size;
		return MHD_YES;
	}
	if (strcmp(key, "limit") == 0) {
		p->limit = value;
		if (!em_utf8_valid(value, value_size))
			snprintf(p->err, sizeof(p->err), "limit: not UTF-8 text (or a NUL in it)");
		return p->err[0] ? MHD_NO : MHD_YES;
	}
	rc = em_catdb_query_set(p->q, key, value, value_size);
	if (rc == 1)
		snprintf(p->err, sizeof(p->err), "unknown parameter '%s'", key);
	else if (rc < 0)
		snprintf(p->err, sizeof(p->err), "%s", em_errmsg());
	return p->err[0] ? MHD_NO : MHD_YES;
}

struct page {
	struct em_catdb_query *q;
	struct em_buf body;
	uint64_t n, max;
	char *next;
	int more;
};

static int
on_record(const struct em_catdb_row *r, void *ctx)
{
	struct page *pg = ctx;

	if (pg->n == pg->max) {
		pg->more = 1;
		return 0;
	}
	if ((pg->n > 0 && em_buf_addch(&pg->body, ',') < 0) ||
	    em_buf_add(&pg->body, r->doc, r->doclen) < 0)
		return -1;
	pg->n++;
	free(pg->next);
	if ((pg->next = em_catdb_cursor(pg->q, r)) == NULL)
		return -1;
	return 0;
}

static enum MHD_Result
get_records(struct MHD_Connection *c, struct server *s)
{
	struct em_catdb_query *q = malloc(sizeof(*q));
	struct param_scan p;
	struct page pg;
	enum MHD_Result ret;
	uint64_t limit = DEFAULT_PAGE;
	char tail[64];

	if (q == NULL)
		return MHD_NO;
	em_catdb_query_init(q);
	memset(&p, 0, sizeof(p));
	p.q = q;
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, on_param, &p);
	if (p.err[0] == '\0' && p.limit != NULL) {
		if (em_catdb_query_set(q, "limit", p.limit, strlen(p.limit)) < 0)
			snprintf(p.err, sizeof(p.err), "%s", em_errmsg());
		else if (q->limit > EM_CATDB_MAX_PAGE)
			snprintf(p.err, sizeof(p.err), "limit: at most %d", EM_CATDB_MAX_PAGE);
		else
			limit = q->limit;
	}
	if (p.err[0] == '\0' && p.cursor != NULL &&
	    em_catdb_query_set(q, "cursor", p.cursor, p.cursor_len) < 0)
		snprintf(p.err, sizeof(p.err), "%s", em_errmsg());
	if (p.err[0] != '\0') {
		free(q);
		return send_error(c, MHD_HTTP_BAD_REQUEST, p.err);
	}
	/* One row more than the page says whether another page follows. */
	q->limit = limit + 1;
	pg.q = q;
	em_buf_init(&pg.body, MAX_BODY);
	pg.n = 0;
	pg.max = limit;
	pg.next = NULL;
	pg.more = 0;
	em_buf_addstr(&pg.body, "{\"records\":[");
	if (em_catdb_query(s->db, q, on_record, &pg) < 0) {
		free(pg.next);
		em_buf_release(&pg.body);
		free(q);
		return send_db_error(c, s);
	}
	snprintf(tail, sizeof(tail), "],\"count\":%llu,\"next\":", (unsigned long long)pg.n);
	em_buf_addstr(&pg.body, tail);
	if (pg.more) {
		em_buf_addch(&pg.body, '"');
		em_buf_addstr(&pg.body, pg.next);
		em_buf_addch(&pg.body, '"');
	} else {
		em_buf_addstr(&pg.body, "null");
	}
	free(pg.next);
	free(q);
	if (em_buf_addstr(&pg.body, "}\n") < 0) {
		em_buf_release(&pg.body);
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the page is too large");
	}
	{
		size_t n;
		char *b = em_buf_detach(&pg.body, &n);

		ret = send_body(c, MHD_HTTP_OK, b, n);
	}
	return ret;
}

/* ---- the other endpoints ---- */

static enum MHD_Result
get_record(struct MHD_Connection *c, struct server *s, const char *source, const char *id,
    int history)
{
	char *doc = NULL;
	size_t len = 0;
	json_t *runs = NULL;
	char msg[256];
	int rc;

	if (history)
		rc = em_catdb_history(s->db, source, id, &runs);
	else
		rc = em_catdb_get(s->db, source, id, &doc, &len);
	if (rc < 0)
		return send_db_error(c, s);
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "no record '%.100s/%.100s'", source, id);
		return send_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	if (history)
		return send_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s,s:o}", "source", source, "id",
		    id, "runs", runs));
	{
		char *t = realloc(doc, len + 2);

		if (t == NULL) {
			free(doc);
			return MHD_NO;
		}
		t[len] = '\n';
		t[len + 1] = '\0';
		return send_body(c, MHD_HTTP_OK, t, len + 1);
	}
}

static enum MHD_Result
get_health(struct MHD_Connection *c, struct server *s)
{
	struct em_catdb_query q;
	uint64_t n;

	em_catdb_query_init(&q);
	if (em_catdb_count(s->db, &q, &n) < 0) {
		em_err("cannot query '%s': %s", s->url, em_errmsg());
		return send_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, json_pack("{s:s,s:s}", "status",
		    "error", "error", "the catalog database failed"));
	}
	return send_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s,s:I,s:s}", "status", "ok",
	    "database", em_catdb_kind(s->db), "records", (json_int_t)n, "version",
	    EM_VERSION));
}

/* Split "/records/SOURCE/ID[/history]"; 0 when the path is not of that form. */
static int
split_record_path(char *path, char **source, char **id, int *history)
{
	char *p = path + strlen("/records/"), *slash;

	*source = p;
	if ((slash = strchr(p, '/')) == NULL || slash == p)
		return 0;
	*slash = '\0';
	*id = slash + 1;
	if ((slash = strchr(*id, '/')) != NULL) {
		if (strcmp(slash, "/history") != 0)
			return 0;
		*slash = '\0';
		*history = 1;
	}
	return **id != '\0';
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	static int marker;
	struct server *s = cls;
	char path[2048], *source, *id;
	int history = 0;

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &marker;
		/* A request with a body is refused before the body is read. */
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
		    strcmp(method, "OPTIONS") != 0)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "read-only: GET, HEAD and OPTIONS only");
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "OPTIONS") == 0) {
		char *empty = strdup("");

		return empty ? send_body(c, MHD_HTTP_NO_CONTENT, empty, 0) : MHD_NO;
	}
	if (!em_utf8_valid(url, strlen(url)))
		return send_error(c, MHD_HTTP_BAD_REQUEST, "the path is not UTF-8 text");
	if (strlen(url) >= sizeof(path))
		return send_error(c, MHD_HTTP_BAD_REQUEST, "the path is too long");
	snprintf(path, sizeof(path), "%s", url);
	if (strcmp(path, "/records") == 0 || strcmp(path, "/records/") == 0)
		return get_records(c, s);
	if (strncmp(path, "/records/", 9) == 0) {
		if (!split_record_path(path, &source, &id, &history))
			return send_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
		return get_record(c, s, source, id, history);
	}
	if (strcmp(path, "/stats") == 0) {
		json_t *st = em_catdb_stats(s->db);

		return st ? send_json(c, MHD_HTTP_OK, st) : send_db_error(c, s);
	}
	if (strcmp(path, "/health") == 0)
		return get_health(c, s);
	if (strcmp(path, "/openapi.json") == 0)
		return send_json(c, MHD_HTTP_OK, json_incref(s->openapi));
	return send_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
}

/* ---- listening ---- */

static int
parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	int port;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (end == NULL || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof(host))
			return em_fail("not [ADDR]:PORT");
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = '\0';
		colon = end + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL || (size_t)(colon - spec) >= sizeof(host))
			return em_fail("not ADDR:PORT");
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	if (em_parse_int(colon + 1, 0, 65535, &port) < 0)
		return -1;
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return em_fail("'%s' is not an IPv6 address", host);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host[0] ? host : "127.0.0.1", &a->sin_addr) != 1)
			return em_fail("'%s' is not an IPv4 address", host);
		*len = sizeof(*a);
	}
	return 0;
}

int
catalog_serve(const char *url, const char *listen, int quiet)
{
	struct server s = { NULL, url, NULL };
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	char host[INET6_ADDRSTRLEN];
	int sig, status = EM_EXIT_FAIL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;

	if (parse_listen(listen, &ss, &sslen) < 0) {
		em_err("bad --listen '%s': %s", listen, em_errmsg());
		return EM_EXIT_USAGE;
	}
	if ((s.openapi = catalog_openapi()) == NULL) {
		em_err("cannot make the OpenAPI document: out of memory");
		return EM_EXIT_FAIL;
	}
	if ((s.db = em_catdb_open(url, EM_CATDB_READ)) == NULL) {
		em_err("cannot open the catalog '%s': %s", url, em_errmsg());
		goto out;
	}
	/* The signals are taken by sigwait below, not by the server's thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * One polling thread answers every request in turn: the one database
	 * connection is never used by two threads at once.
	 */
	d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MAX_REQUEST,
	    MHD_OPTION_END);
	if (d == NULL) {
		em_err("cannot listen on '%s': the address is in use or not this host's", listen);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	if (!quiet)
		fprintf(stderr, "%s: serving '%s' on http://%s%s%s:%u/\n", em_progname(), url,
		    ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
		    info ? (unsigned)info->port : 0u);
	fflush(stderr);
	if (sigwait(&set, &sig) == 0)
		status = EM_EXIT_OK;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	em_catdb_close(s.db);
	json_decref(s.openapi);
	return status;
}
