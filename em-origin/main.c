/* main.c - em-origin: a local HTTP origin that serves a mirror tree and speaks the archives' APIs */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "tool/tool.h"
#include "origin.h"
#include "core/banned.h"

#define BODY_BLOCK (256 * 1024)

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: em-origin [-qv] [--root DIR] [--port N] [--port-file FILE] [--log FILE]\n"
	    "                 [--fault SPEC]... [--seed N] [--missing-status 404 | 403]\n"
	    "                 [--index-style apache | nginx] [--dvid-throttle N]\n"
	    "                 [--tls-cert FILE --tls-key FILE]\n"
	    "       em-origin --help | --version\n");
	exit(status);
}

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
http_date(time_t t, char *buf, size_t n)
{
	if (em_time_format((int64_t)t, 0, EM_TIME_HTTP, buf, n) < 0)
		snprintf(buf, n, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void
sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The body of every response comes through here, so that dropping the
 * connection, the rate limit and the byte count in the log apply alike to
 * files, listings, API answers and DVID boxes.
 */
static ssize_t
body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	struct body *b = &r->body;
	ssize_t n;

	if (b->drop >= 0 && pos >= (uint64_t)b->drop)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (b->endless && b->len > 0 && pos >= b->len) {
		/* The endless body: the same bytes again, for as long as the client reads. */
		uint64_t at = pos % b->len;
		if (max > b->len - at)
			max = (size_t)(b->len - at);
		n = b->fd >= 0 ? pread(b->fd, buf, max, (off_t)(b->off + at)) : (ssize_t)max;
		if (n <= 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (b->fd < 0)
			memcpy(buf, b->mem + at, max);
		r->bytes += (unsigned long long)n;
		return n;
	}
	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > b->len - pos)
		max = (size_t)(b->len - pos);
	if (b->drop >= 0 && max > (uint64_t)b->drop - pos)
		max = (size_t)((uint64_t)b->drop - pos);
	if (b->rate) {
		size_t slice = (size_t)(b->rate / 20 + 1);
		double due;
		if (max > slice)
			max = slice;
		due = b->t0 + (double)(pos + max) / (double)b->rate;
		sleep_ms((due - now_s()) * 1000);
	}
	if (b->fd >= 0) {
		n = pread(b->fd, buf, max, (off_t)(b->off + pos));
		if (n <= 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	} else {
		memcpy(buf, b->mem + pos, max);
		n = (ssize_t)max;
	}
	r->bytes += (unsigned long long)n;
	return n;
}

enum MHD_Result
respond_body(struct MHD_Connection *c, struct req *r, int status, const char *ctype,
    struct MHD_Response **out)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	r->body.drop = r->fx.drop;
	r->body.rate = r->fx.rate;
	r->body.t0 = now_s();
	resp = MHD_create_response_from_callback(r->body.endless ? MHD_SIZE_UNKNOWN :
	    r->body.announce > 0 ? (uint64_t)r->body.announce : r->body.len, BODY_BLOCK, body_read,
	    r, NULL);
	if (resp == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, "em-origin");
	/*
	 * Anyone may read, as the archives' public buckets let a viewer on another origin
	 * (neuroglancer's page) read their stores; the headers a ranged or cached read needs
	 * are exposed to its scripts.
	 */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_EXPOSE_HEADERS,
	    "Content-Length, Content-Range, Content-Type, ETag, Last-Modified, Accept-Ranges");
	if (out != NULL) {
		/* The caller adds headers and queues it. */
		*out = resp;
		r->status = status;
		return MHD_YES;
	}
	r->status = status;
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result
respond_text(struct MHD_Connection *c, struct req *r, int status, const char *ctype,
    const char *text)
{
	size_t len = strlen(text);

	if (r->body.fd >= 0) {
		close(r->body.fd);
		r->body.fd = -1;
	}
	free(r->body.mem);
	if ((r->body.mem = malloc(len + 1)) == NULL)
		return MHD_NO;
	memcpy(r->body.mem, text, len + 1);
	r->body.off = 0;
	r->body.len = len;
	return respond_body(c, r, status, ctype, NULL);
}

static enum MHD_Result
respond_fault_status(struct MHD_Connection *c, struct req *r)
{
	struct MHD_Response *resp;
	char text[64], ra[64];
	enum MHD_Result ret;

	snprintf(text, sizeof(text), "injected fault: status %d\n", r->fx.status);
	free(r->body.mem);
	if ((r->body.mem = strdup(text)) == NULL)
		return MHD_NO;
	r->body.len = strlen(text);
	if (respond_body(c, r, r->fx.status, "text/plain", &resp) == MHD_NO)
		return MHD_NO;
	if (r->fx.retry_after >= 0) {
		if (r->fx.retry_after_date)
			http_date(time(NULL) + r->fx.retry_after, ra, sizeof(ra));
		else
			snprintf(ra, sizeof(ra), "%ld", r->fx.retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	ret = MHD_queue_response(c, (unsigned)r->fx.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * A CORS preflight: a page on another origin may GET and HEAD with any request header (a
 * Range, say), and, asked by a public page (Private Network Access), read from loopback.
 */
static enum MHD_Result
respond_preflight(struct MHD_Connection *c, struct req *r)
{
	struct MHD_Response *resp;
	const char *hdrs, *pna;
	enum MHD_Result ret;

	free(r->body.mem);
	r->body.mem = NULL;
	r->body.len = 0;
	if (respond_body(c, r, 204, NULL, &resp) == MHD_NO)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS,
	    "GET, HEAD, OPTIONS");
	hdrs = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_HEADERS);
	if (hdrs != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS, hdrs);
	pna = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Access-Control-Request-Private-Network");
	if (pna != NULL && strcmp(pna, "true") == 0)
		MHD_add_response_header(resp, "Access-Control-Allow-Private-Network", "true");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, "86400");
	ret = MHD_queue_response(c, 204, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Number each connection, so that the log shows which requests shared one. */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct origin *o = cls;

	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = (void *)(uintptr_t)(atomic_fetch_add(&o->nconn, 1) + 1);
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *r = calloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci;
	size_t n;

	if (r == NULL)
		return NULL;
	r->o = cls;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL)
		r->conn = (unsigned long)(uintptr_t)ci->socket_context;
	r->t0 = now_s();
	r->body.fd = -1;
	r->body.drop = -1;
	n = strcspn(uri, "?");
	if ((r->rawpath = malloc(n + 1)) != NULL) {
		memcpy(r->rawpath, uri, n);
		r->rawpath[n] = '\0';
	}
	snprintf(r->range, sizeof(r->range), "-");
	snprintf(r->method, sizeof(r->method), "-");
	return r;
}

/* The log line: start end method path range status bytes fault connection (em-origin(1)). */
static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct origin *o = cls;
	struct req *r = *con_cls;

	(void)c;
	if (r == NULL)
		return;
	if (o->log != NULL) {
		struct em_buf path = EM_BUF_INIT(1 << 16);
		const unsigned char *p;

		for (p = (const unsigned char *)(r->rawpath ? r->rawpath : "-"); *p; p++) {
			if (*p <= ' ' || *p >= 0x7f)
				em_buf_addf(&path, "%%%02X", *p);
			else
				em_buf_addch(&path, *p);
		}
		pthread_mutex_lock(&o->lock);
		fprintf(o->log, "%.3f %.3f %s %s %s %d %llu %s%s c%lu\n", r->t0, now_s(),
		    r->method, em_buf_cstr(&path), r->range, r->status,
		    (unsigned long long)r->bytes, r->fx.any ? "fault" : "-",
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",aborted", r->conn);
		fflush(o->log);
		pthread_mutex_unlock(&o->lock);
		em_buf_release(&path);
	}
	if (r->throttled)
		atomic_fetch_sub(&o->dvid_running, 1);
	if (r->body.fd >= 0)
		close(r->body.fd);
	free(r->body.mem);
	free(r->rawpath);
	free(r);
	*con_cls = NULL;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct origin *o = cls;
	struct req *r = *con_cls;
	const char *spec, *range;
	unsigned long n;
	size_t i;

	(void)version;
	(void)upload;
	if (r == NULL)
		return MHD_NO;
	/*
	 * Answer on the second call, once the request is read whole: a response
	 * queued earlier makes libmicrohttpd close the connection after it.
	 */
	if (!r->seen || *upload_size != 0) {
		r->seen = 1;
		*upload_size = 0;	/* a body we ignore */
		return MHD_YES;
	}
	snprintf(r->method, sizeof(r->method), "%s", method);
	if ((range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE)))
		snprintf(r->range, sizeof(r->range), "%s", range);
	atomic_fetch_add(&o->nreq, 1);

	/* Faults from the command line, then the request's own. */
	r->fx.drop = -1;
	r->fx.retry_after = -1;
	r->fx.short_by = -1;
	r->fx.length = -1;
	n = origin_count_path(o, url);
	for (i = 0; i < o->nfaults; i++)
		fault_apply(o, &o->faults[i], url, n, &r->fx);
	spec = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Em-Fault");
	if (spec == NULL)
		spec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "em-fault");
	if (spec != NULL) {
		struct fault f = { 0 };
		if (fault_parse(spec, &f) == -1) {
			char msg[512];
			snprintf(msg, sizeof(msg), "bad fault spec '%s': %s\n", spec, em_errmsg());
			return respond_text(c, r, 400, "text/plain", msg);
		}
		fault_apply(o, &f, url, n, &r->fx);
		fault_clear(&f);
	}
	sleep_ms((double)r->fx.delay_ms);
	if (r->fx.status)
		return respond_fault_status(c, r);

	if (strcmp(method, "OPTIONS") == 0)
		return respond_preflight(c, r);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond_text(c, r, 405, "text/plain", "method not allowed\n");
	if (strncmp(url, "/empiar/api/entry/", 18) == 0)
		return serve_empiar_api(c, r, url + 18);
	if (strncmp(url, "/webgateway/imgData/", 20) == 0)
		return serve_idr(c, r, url + 20);
	if (strncmp(url, "/api/node/", 10) == 0)
		return serve_dvid(c, r, url + 10);
	if (precomputed_claims(o, url))
		return serve_precomputed(c, r, url);
	return serve_path(c, r, url);
}

/* libmicrohttpd's own messages (a dropped connection, a TLS failure) at -v. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	em_log(EM_LOG_INFO, "%s", msg);
}

static int
read_file(const char *path, char **out)
{
	struct em_buf b = EM_BUF_INIT(1 << 20);
	char chunk[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return em_fail_errno("cannot open");
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (em_buf_add(&b, chunk, n) == -1) {
			fclose(fp);
			em_buf_release(&b);
			return -1;
		}
	fclose(fp);
	if (b.data == NULL && em_buf_addstr(&b, "") == -1)
		return -1;
	*out = em_buf_detach(&b, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "log", required_argument, NULL, 'l' },
		{ "fault", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "missing-status", required_argument, NULL, 'm' },
		{ "index-style", required_argument, NULL, 'i' },
		{ "dvid-throttle", required_argument, NULL, 'T' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		EM_TOOL_LONGOPTS,
	};
	static struct origin o;
	const char *root = ".", *port_file = NULL, *log_path = NULL;
	const char *cert_path = NULL, *key_path = NULL;
	char *cert = NULL, *key = NULL;
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sin;
	unsigned int flags;
	char base[128];
	sigset_t sigs;
	int ch, port = 0, sig = 0, status = EM_EXIT_FAIL;
	uint64_t seed = 1;
	struct stat st;
	size_t i;

	em_tool_begin(argv[0]);
	o.missing_status = 404;
	pthread_mutex_init(&o.lock, NULL);
	while ((ch = getopt_long(argc, argv, "qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 'p':
			if (em_parse_int(optarg, 0, 65535, &port) == -1)
				em_die(EM_EXIT_USAGE, "bad --port '%s': %s", optarg, em_errmsg());
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'f': {
			struct fault *nf = realloc(o.faults, (o.nfaults + 1) * sizeof(*nf));
			if (nf == NULL)
				em_die(EM_EXIT_FAIL, "out of memory");
			o.faults = nf;
			memset(&nf[o.nfaults], 0, sizeof(*nf));
			if (fault_parse(optarg, &nf[o.nfaults]) == -1)
				em_die(EM_EXIT_USAGE, "bad --fault '%s': %s", optarg, em_errmsg());
			o.nfaults++;
			break;
		}
		case 's':
			if (em_parse_u64(optarg, &seed) == -1)
				em_die(EM_EXIT_USAGE, "bad --seed '%s': %s", optarg, em_errmsg());
			break;
		case 'm':
			if (strcmp(optarg, "404") == 0)
				o.missing_status = 404;
			else if (strcmp(optarg, "403") == 0)
				o.missing_status = 403;
			else
				em_die(EM_EXIT_USAGE, "bad --missing-status '%s': 404 or 403", optarg);
			break;
		case 'i':
			if (strcmp(optarg, "apache") == 0)
				o.index_nginx = 0;
			else if (strcmp(optarg, "nginx") == 0)
				o.index_nginx = 1;
			else
				em_die(EM_EXIT_USAGE, "bad --index-style '%s': apache or nginx", optarg);
			break;
		case 'T':
			if (em_parse_int(optarg, 0, 1000000, &o.dvid_throttle) == -1)
				em_die(EM_EXIT_USAGE, "bad --dvid-throttle '%s': %s", optarg,
				    em_errmsg());
			break;
		case 'C':
			cert_path = optarg;
			break;
		case 'K':
			key_path = optarg;
			break;
		default:
			em_tool_option(ch, usage);
		}
	}
	if (optind != argc)
		usage(stderr, EM_EXIT_USAGE);
	if ((cert_path == NULL) != (key_path == NULL))
		em_die(EM_EXIT_USAGE, "--tls-cert and --tls-key go together");
	o.seed = seed;
	if (stat(root, &st) == -1 || !S_ISDIR(st.st_mode)) {
		em_err("cannot serve '%s': %s", root,
		    errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
		goto out;
	}
	if ((o.root = realpath(root, NULL)) == NULL) {
		em_err("cannot serve '%s': %s", root, strerror(errno));
		goto out;
	}
	if (log_path != NULL) {
		if ((o.log = fopen(log_path, "a")) == NULL) {
			em_err("cannot open log '%s': %s", log_path, strerror(errno));
			goto out;
		}
	}
	if (cert_path != NULL) {
		if (read_file(cert_path, &cert) == -1) {
			em_err("cannot read certificate '%s': %s", cert_path, em_errmsg());
			goto out;
		}
		if (read_file(key_path, &key) == -1) {
			em_err("cannot read key '%s': %s", key_path, em_errmsg());
			goto out;
		}
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			em_err("cannot serve TLS: libmicrohttpd was built without it");
			goto out;
		}
	}

	/* Signals are taken by sigwait below; the server's threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG;
	if (cert != NULL)
		flags |= MHD_USE_TLS;
	if (cert != NULL)
		d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &o,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		    MHD_OPTION_URI_LOG_CALLBACK, on_uri, &o,
		    MHD_OPTION_NOTIFY_COMPLETED, on_done, &o,
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, &o,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_HTTPS_MEM_CERT, cert,
		    MHD_OPTION_HTTPS_MEM_KEY, key,
		    MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &o,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		    MHD_OPTION_URI_LOG_CALLBACK, on_uri, &o,
		    MHD_OPTION_NOTIFY_COMPLETED, on_done, &o,
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, &o,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_END);
	if (d == NULL) {
		em_err("cannot listen on '127.0.0.1:%d': %s", port,
		    errno ? strerror(errno) : "libmicrohttpd refused to start");
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		em_err("cannot find the port the server listens on");
		goto out;
	}
	snprintf(base, sizeof(base), "%s://127.0.0.1:%u/", cert ? "https" : "http",
	    (unsigned)info->port);
	if (port_file != NULL) {
		char line[160];
		int len = snprintf(line, sizeof(line), "%s\n", base);
		if (em_write_atomic(port_file, line, (size_t)len, 0) == -1) {
			em_err("cannot write '%s': %s", port_file, em_errmsg());
			goto out;
		}
	}
	printf("%s\n", base);
	fflush(stdout);
	em_log(EM_LOG_INFO, "serving '%s' at %s", o.root, base);

	while (sigwait(&sigs, &sig) != 0)
		;
	em_log(EM_LOG_INFO, "stopping on signal %d after %lu requests", sig,
	    (unsigned long)o.nreq);
	status = EM_EXIT_OK;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	if (o.log != NULL)
		fclose(o.log);
	for (i = 0; i < o.nfaults; i++)
		fault_clear(&o.faults[i]);
	free(o.faults);
	for (i = 0; i < PATHCOUNT_BUCKETS; i++) {
		struct pathcount *pc, *next;
		for (pc = o.counts[i]; pc != NULL; pc = next) {
			next = pc->next;
			free(pc);
		}
	}
	free(o.root);
	free(cert);
	free(key);
	return em_tool_end(status);
}
