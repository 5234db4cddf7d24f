/* serve.c - em-origin's static files (GET/HEAD, single Range, ETag, If-Range) and directory index pages */
#include <sys/stat.h>

#include <dirent.h>
#include <fnmatch.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/timefmt.h"
#include "origin.h"
#include "core/banned.h"

#define INDEX_MAX (64u << 20)

char *
path_join(const char *root, const char *rel)
{
	size_t a = strlen(root), b = strlen(rel);
	char *p = malloc(a + b + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, root, a);
	p[a] = '/';
	memcpy(p + a + 1, rel, b + 1);
	return p;
}

/* A URL path is served only if no segment is "." or ".." and it has no NUL or backslash. */
static int
path_safe(const char *url)
{
	const char *p = url;

	if (*p != '/')
		return 0;
	while (*p) {
		size_t n;
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (memchr(p, '\\', n) != NULL)
			return 0;
		p += n;
	}
	return 1;
}

static const char *
ctype_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".json") == 0 || strcmp(dot, ".zarray") == 0 ||
	    strcmp(dot, ".zattrs") == 0 || strcmp(dot, ".zgroup") == 0)
		return "application/json";
	if (strcmp(dot, ".html") == 0)
		return "text/html";
	if (strcmp(dot, ".xml") == 0)
		return "application/xml";
	if (strcmp(dot, ".txt") == 0)
		return "text/plain";
	if (strcmp(dot, ".tif") == 0 || strcmp(dot, ".tiff") == 0)
		return "image/tiff";
	/* A web viewer served from a directory: browsers run scripts and WebAssembly only
	 * with their own types. */
	if (strcmp(dot, ".js") == 0 || strcmp(dot, ".mjs") == 0)
		return "text/javascript";
	if (strcmp(dot, ".css") == 0)
		return "text/css";
	if (strcmp(dot, ".wasm") == 0)
		return "application/wasm";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	if (strcmp(dot, ".png") == 0)
		return "image/png";
	return "application/octet-stream";
}

/*
 * "bytes=a-b", "bytes=a-" or "bytes=-n" against a resource of len bytes.
 * Returns 1 with [*start, *end] (inclusive) set, 0 when the header is to be
 * ignored (absent, malformed or several ranges: the whole body is sent, as
 * RFC 9110 allows), -1 when the range cannot be satisfied (416).
 */
static int
parse_range(const char *h, uint64_t len, uint64_t *start, uint64_t *end)
{
	const char *p;
	char *e;
	unsigned long long a, b;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 0;
	p = h + 6;
	while (*p == ' ')
		p++;
	if (*p == '-') {
		errno = 0;
		b = strtoull(p + 1, &e, 10);
		if (e == p + 1 || *e != '\0' || errno)
			return 0;
		if (b == 0 || len == 0)
			return -1;
		*start = b >= len ? 0 : len - b;
		*end = len - 1;
		return 1;
	}
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	a = strtoull(p, &e, 10);
	if (errno || *e != '-')
		return 0;
	p = e + 1;
	if (*p == '\0') {
		b = len ? len - 1 : 0;
	} else {
		b = strtoull(p, &e, 10);
		if (errno || *e != '\0' || *p < '0' || *p > '9' || b < a)
			return 0;
		if (b >= len)
			b = len - 1;
	}
	if (a >= len)
		return -1;
	*start = a;
	*end = b;
	return 1;
}

/*
 * Whether a request's If-Range (if any) lets its Range apply: an entity tag
 * must match the current one by strong comparison (a weak one never does),
 * a date must equal the Last-Modified sent (RFC 9110 13.1.5).  etag is NULL
 * when the response names none.
 */
static int
if_range_holds(struct MHD_Connection *c, const char *etag, const char *lastmod)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Range");

	if (v == NULL)
		return 1;
	if (v[0] == '"' || strncmp(v, "W/", 2) == 0)
		return etag != NULL && v[0] == '"' && strcmp(v, etag) == 0;
	return strcmp(v, lastmod) == 0;
}

static enum MHD_Result
respond_missing(struct MHD_Connection *c, struct req *r, int status, const char *body)
{
	char text[1024];

	if (body != NULL)
		return respond_text(c, r, status, "application/json", body);
	/* The answer S3 gives for a key that is not there. */
	if (status == 403)
		snprintf(text, sizeof(text), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>\n");
	else
		snprintf(text, sizeof(text), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
		    "exist.</Message></Error>\n");
	return respond_text(c, r, status, "application/xml", text);
}

enum MHD_Result
serve_file(struct MHD_Connection *c, struct req *r, const char *fspath, const char *ctype,
    int missing_status, const char *missing_body)
{
	struct MHD_Response *resp;
	struct stat st;
	const char *rh;
	uint64_t len, start = 0, end = 0;
	char etag[64], date[64], cr[96];
	enum MHD_Result ret;
	int fd, rr, status = 200;

	fd = open(fspath, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (fd != -1)
			close(fd);
		return respond_missing(c, r, missing_status, missing_body);
	}
	len = (uint64_t)st.st_size;
	if (r->fx.short_by >= 0)	/* the injected lie: the file served short */
		len = (uint64_t)r->fx.short_by >= len ? 0 : len - (uint64_t)r->fx.short_by;
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtime);
	http_date(st.st_mtime, date, sizeof(date));
	rh = r->fx.norange ? NULL :
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	if (rh != NULL && !if_range_holds(c, r->fx.noetag ? NULL : etag, date))
		rh = NULL;	/* RFC 9110 13.1.5: the file changed, so all of it */
	rr = parse_range(rh, len, &start, &end);
	if (rr == -1) {
		close(fd);
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64, len);
		free(r->body.mem);
		r->body.mem = strdup("range not satisfiable\n");
		r->body.len = r->body.mem ? strlen(r->body.mem) : 0;
		if (respond_body(c, r, 416, "text/plain", &resp) == MHD_NO)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		ret = MHD_queue_response(c, 416, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	r->body.fd = fd;
	if (rr == 1) {
		status = 206;
		r->body.off = start;
		r->body.len = end - start + 1;
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, len);
	} else {
		r->body.off = 0;
		r->body.len = len;
	}
	/* The lies of a broken server, told about files only (error pages stay small). */
	r->body.endless = r->fx.endless;
	r->body.announce = r->fx.length;
	if (respond_body(c, r, status, ctype ? ctype : ctype_of(fspath), &resp) == MHD_NO)
		return MHD_NO;
	if (!r->fx.noetag)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	if (!r->fx.norange)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (status == 206)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Apache's apr_strfsize() style: "512", "1.2K", " 29M". */
static void
human_size(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)n;
	int u = -1;

	if (n < 973) {
		snprintf(buf, len, "%3u ", (unsigned)n);
		return;
	}
	do {
		v /= 1024;
		u++;
	} while (v >= 973 && u < 5);
	if (v < 9.95)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%3.0f%c", v, units[u]);
}

static int
add_href(struct em_buf *b, const char *name, int dir)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			if (em_buf_addch(b, *p) == -1)
				return -1;
		} else if (em_buf_addf(b, "%%%02X", *p) == -1) {
			return -1;
		}
	}
	return dir ? em_buf_addch(b, '/') : 0;
}

static int
add_html(struct em_buf *b, const char *s)
{
	for (; *s; s++) {
		int rc;
		switch (*s) {
		case '<': rc = em_buf_addstr(b, "&lt;"); break;
		case '>': rc = em_buf_addstr(b, "&gt;"); break;
		case '&': rc = em_buf_addstr(b, "&amp;"); break;
		case '"': rc = em_buf_addstr(b, "&quot;"); break;
		default: rc = em_buf_addch(b, *s); break;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
dirent_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/*
 * An index page as Apache 2.4 writes one with FancyIndexing and HTMLTable
 * (what https://ftp.ebi.ac.uk serves), or as nginx's autoindex does (exact
 * byte sizes in a <pre>).  Hidden files are not listed.
 */
static int
index_page(struct origin *o, const char *fspath, const char *url, const char *omit,
    struct em_buf *b)
{
	struct dirent **names = NULL;
	int i, n, rc = -1;

	n = scandir(fspath, &names, dirent_filter, alphasort);
	if (n < 0)
		return em_fail_errno("cannot list");
	if (o->index_nginx) {
		if (em_buf_addstr(b, "<html>\r\n<head><title>Index of ") == -1 ||
		    add_html(b, url) == -1 ||
		    em_buf_addstr(b, "</title></head>\r\n<body>\r\n<h1>Index of ") == -1 ||
		    add_html(b, url) == -1 ||
		    em_buf_addstr(b, "</h1><hr><pre><a href=\"../\">../</a>\r\n") == -1)
			goto out;
	} else {
		if (em_buf_addstr(b, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n"
		    "<html>\n <head>\n  <title>Index of ") == -1 || add_html(b, url) == -1 ||
		    em_buf_addstr(b, "</title>\n </head>\n <body>\n<h1>Index of ") == -1 ||
		    add_html(b, url) == -1 ||
		    em_buf_addstr(b, "</h1>\n  <table>\n   <tr><th valign=\"top\"><img src=\""
		    "/icons/blank.gif\" alt=\"[ICO]\"></th><th><a href=\"?C=N;O=D\">Name</a></th>"
		    "<th><a href=\"?C=M;O=A\">Last modified</a></th><th><a href=\"?C=S;O=A\">Size"
		    "</a></th><th><a href=\"?C=D;O=A\">Description</a></th></tr>\n"
		    "   <tr><th colspan=\"5\"><hr></th></tr>\n") == -1)
			goto out;
		if (strcmp(url, "/") != 0) {
			/* The parent link is absolute, as Apache writes it. */
			size_t plen = strlen(url) - 1;
			while (plen > 0 && url[plen - 1] != '/')
				plen--;
			if (em_buf_addstr(b, "<tr><td valign=\"top\"><img src=\"/icons/back.gif\" "
			    "alt=\"[PARENTDIR]\"></td><td><a href=\"") == -1 ||
			    em_buf_add(b, url, plen) == -1 ||
			    em_buf_addstr(b, "\">Parent Directory</a></td><td>&nbsp;</td><td "
			    "align=\"right\">  - </td><td>&nbsp;</td></tr>\n") == -1)
				goto out;
		}
	}
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *full, date[32], size[32];
		struct stat st;
		int dir;

		/* Fault omit=GLOB: an index that missed some files. */
		if (*omit != '\0' && fnmatch(omit, name, 0) == 0)
			continue;
		full = path_join(fspath, name);
		if (full == NULL || stat(full, &st) == -1) {
			free(full);
			continue;	/* a dangling link is not listed */
		}
		free(full);
		dir = S_ISDIR(st.st_mode);
		if (em_time_format((int64_t)st.st_mtime, 0, o->index_nginx ? EM_TIME_NGINX :
		    EM_TIME_APACHE, date, sizeof(date)) < 0)
			snprintf(date, sizeof(date), "-");
		if (o->index_nginx) {
			size_t w = strlen(name) + (size_t)dir;

			if (dir)
				snprintf(size, sizeof(size), "%20s", "-");
			else
				snprintf(size, sizeof(size), "%20llu", (unsigned long long)st.st_size);
			if (em_buf_addstr(b, "<a href=\"") == -1 || add_href(b, name, dir) == -1 ||
			    em_buf_addstr(b, "\">") == -1 || add_html(b, name) == -1 ||
			    em_buf_addstr(b, dir ? "/</a>" : "</a>") == -1 ||
			    em_buf_addf(b, "%*s%s %s\r\n", w < 50 ? (int)(51 - w) : 1, "", date,
			    size) == -1)
				goto out;
		} else {
			if (dir)
				snprintf(size, sizeof(size), "  - ");
			else
				human_size((uint64_t)st.st_size, size, sizeof(size));
			if (em_buf_addf(b, "<tr><td valign=\"top\"><img src=\"/icons/%s\" alt=\"%s\">"
			    "</td><td><a href=\"", dir ? "folder.gif" : "unknown.gif",
			    dir ? "[DIR]" : "[   ]") == -1 || add_href(b, name, dir) == -1 ||
			    em_buf_addstr(b, "\">") == -1 || add_html(b, name) == -1 ||
			    em_buf_addf(b, "%s</a></td><td align=\"right\">%s  </td><td align=\"right\">"
			    "%s</td><td>&nbsp;</td></tr>\n", dir ? "/" : "", date, size) == -1)
				goto out;
		}
	}
	if (o->index_nginx)
		rc = em_buf_addstr(b, "</pre><hr></body>\r\n</html>\r\n");
	else
		rc = em_buf_addstr(b, "   <tr><th colspan=\"5\"><hr></th></tr>\n</table>\n"
		    "</body></html>\n");
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

enum MHD_Result
serve_path(struct MHD_Connection *c, struct req *r, const char *url)
{
	struct stat st;
	char *fspath = NULL;
	enum MHD_Result ret;

	if (!path_safe(url))
		return respond_text(c, r, 400, "text/plain", "bad path\n");
	if ((fspath = path_join(r->o->root, url + 1)) == NULL)
		return MHD_NO;
	if (stat(fspath, &st) == 0 && S_ISDIR(st.st_mode)) {
		struct em_buf b = EM_BUF_INIT(INDEX_MAX);
		size_t n = strlen(url);

		if (url[n - 1] != '/') {
			/* As Apache does: a directory's URL ends with a slash. */
			struct MHD_Response *resp;
			struct em_buf loc = EM_BUF_INIT(1 << 16);
			if (em_buf_addf(&loc, "%s/", r->rawpath ? r->rawpath : url) == -1 ||
			    (r->body.mem = strdup("moved\n")) == NULL) {
				em_buf_release(&loc);
				free(fspath);
				return MHD_NO;
			}
			r->body.len = 6;
			ret = respond_body(c, r, 301, "text/plain", &resp);
			if (ret == MHD_YES) {
				MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
				    em_buf_cstr(&loc));
				ret = MHD_queue_response(c, 301, resp);
				MHD_destroy_response(resp);
			}
			em_buf_release(&loc);
			free(fspath);
			return ret;
		}
		if (index_page(r->o, fspath, url, r->fx.omit, &b) == -1) {
			char msg[256];
			snprintf(msg, sizeof(msg), "cannot list: %s\n", em_errmsg());
			em_buf_release(&b);
			free(fspath);
			return respond_text(c, r, 500, "text/plain", msg);
		}
		free(r->body.mem);
		r->body.mem = em_buf_detach(&b, NULL);
		r->body.len = r->body.mem ? strlen(r->body.mem) : 0;
		free(fspath);
		return respond_body(c, r, 200, "text/html;charset=UTF-8", NULL);
	}
	ret = serve_file(c, r, fspath, NULL, r->o->missing_status, NULL);
	free(fspath);
	return ret;
}
