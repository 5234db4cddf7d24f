/* listing.c - directory listings of remote archives: Apache/nginx index pages, FTP LIST, file:// */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "core/buf.h"
#include "core/diag.h"
#include "net/listing.h"
#include "core/safepath.h"
#include "core/banned.h"


int
em_listing_name_ok(const char *name)
{
	return em_name_ok(name);
}

static struct em_listing *
listing_new(void)
{
	struct em_listing *l = calloc(1, sizeof(*l));

	if (l == NULL)
		em_fail_errno("out of memory");
	return l;
}

void
em_listing_free(struct em_listing *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	free(l);
}

/* Add an entry (name copied) if its name is safe; else count it as rejected. */
static int
listing_add(struct em_listing *l, const char *name, size_t namelen, enum em_entry_kind kind,
    int64_t size, int exact)
{
	struct em_listing_entry *e;
	char *copy;

	if ((copy = malloc(namelen + 1)) == NULL)
		return em_fail_errno("out of memory");
	memcpy(copy, name, namelen);
	copy[namelen] = '\0';
	if (strlen(copy) != namelen || !em_listing_name_ok(copy)) {
		em_debug("listing: left out the unsafe name '%s'", copy);
		free(copy);
		l->rejected++;
		return 0;
	}
	if (l->n >= EM_LISTING_MAX) {
		free(copy);
		return em_fail("listing has more than %d entries", EM_LISTING_MAX);
	}
	if ((l->n & (l->n - 1)) == 0) {
		size_t cap = l->n ? l->n * 2 : 16;
		struct em_listing_entry *nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL) {
			free(copy);
			return em_fail_errno("out of memory");
		}
		l->v = nv;
	}
	e = &l->v[l->n++];
	e->name = copy;
	e->kind = kind;
	e->size = size;
	e->size_exact = size >= 0 ? exact : 0;
	return 0;
}

/*
 * A size as index pages show it: "30228123" (exact), "29M", "1.2K", "3.1 GB"
 * (rounded, binary multiples as Apache means them).  -1 when s is not one.
 */
static int64_t
parse_size(const char *s, size_t n, int *exact)
{
	static const char units[] = "KMGTP";
	char tmp[40], *e;
	const char *u;
	double v;
	size_t i;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(tmp) || !isdigit((unsigned char)*s))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	for (i = 0; i < n && isdigit((unsigned char)tmp[i]); i++)
		;
	if (i == n) {
		errno = 0;
		unsigned long long b = strtoull(tmp, &e, 10);
		if (errno || b > INT64_MAX)
			return -1;
		*exact = 1;
		return (int64_t)b;
	}
	errno = 0;
	v = strtod(tmp, &e);
	if (errno || e == tmp)
		return -1;
	while (*e == ' ')
		e++;
	if (*e == '\0' || (u = strchr(units, toupper((unsigned char)*e))) == NULL)
		return -1;
	e++;
	if (*e == 'i')
		e++;
	if (*e == 'B' || *e == 'b')
		e++;
	if (*e != '\0')
		return -1;
	for (i = 0; i <= (size_t)(u - units); i++)
		v *= 1024;
	if (v < 0 || v > 9.2e18)
		return -1;
	*exact = 0;
	return (int64_t)v;
}

/* %XX decoding; -1 on a bad escape or an encoded NUL. */
static int
percent_decode(const char *s, size_t n, struct em_buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			char hex[3];
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return -1;
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			hex[2] = '\0';
			c = (int)strtol(hex, NULL, 16);
			if (c == 0)
				return -1;
			i += 2;
		}
		if (em_buf_addch(out, c) == -1)
			return -1;
	}
	return 0;
}

static char *
node_text(xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	char *s;

	if (t == NULL)
		return NULL;
	s = strdup((const char *)t);
	xmlFree(t);
	return s;
}

/* The size shown beside the link a: in a later cell of its table row, or after it in a <pre>. */
static int64_t
size_near(xmlNode *a, int *exact)
{
	xmlNode *n;
	int64_t size = -1;

	if (a->parent != NULL && a->parent->type == XML_ELEMENT_NODE &&
	    xmlStrcasecmp(a->parent->name, BAD_CAST "td") == 0) {
		for (n = a->parent->next; n != NULL && size < 0; n = n->next) {
			char *t;
			if (n->type != XML_ELEMENT_NODE || xmlStrcasecmp(n->name, BAD_CAST "td") != 0)
				continue;
			if ((t = node_text(n)) == NULL)
				continue;
			size = parse_size(t, strlen(t), exact);
			free(t);
		}
		return size;
	}
	/* "<a href=...>name</a>   18-Jul-2023 10:22   30228123\n": the last word of the line. */
	for (n = a->next; n != NULL && n->type != XML_TEXT_NODE; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return -1;
	if (n != NULL && n->content != NULL) {
		const char *t = (const char *)n->content;
		size_t len = strcspn(t, "\r\n"), end, start;
		end = len;
		while (end > 0 && isspace((unsigned char)t[end - 1]))
			end--;
		start = end;
		while (start > 0 && !isspace((unsigned char)t[start - 1]))
			start--;
		if (start < end)
			size = parse_size(t + start, end - start, exact);
	}
	return size;
}

static int
html_link(struct em_listing *l, xmlNode *a)
{
	xmlChar *href = xmlGetProp(a, BAD_CAST "href");
	struct em_buf name = EM_BUF_INIT(4096);
	const char *h;
	size_t n;
	int dir = 0, exact = 0, rc = 0;
	int64_t size;

	if (href == NULL)
		return 0;
	h = (const char *)href;
	n = strlen(h);
	/* Navigation, not entries: sort links, fragments, the parent, absolute links. */
	if (n == 0 || h[0] == '?' || h[0] == '#' || h[0] == '/' || strcmp(h, "../") == 0 ||
	    strcmp(h, "..") == 0 || strcmp(h, "./") == 0 || strcmp(h, ".") == 0 ||
	    (strcspn(h, ":/") < n && h[strcspn(h, ":/")] == ':'))
		goto out;
	if (memchr(h, '?', n) != NULL || memchr(h, '#', n) != NULL)
		goto out;
	if (h[n - 1] == '/') {
		dir = 1;
		n--;
	}
	if (percent_decode(h, n, &name) == -1 || name.len == 0) {
		l->rejected++;
		goto out;
	}
	size = size_near(a, &exact);
	if (dir)
		size = -1;
	rc = listing_add(l, em_buf_cstr(&name), name.len, dir ? EM_ENTRY_DIR : EM_ENTRY_FILE,
	    size, size >= 0 ? exact : 0);
out:
	em_buf_release(&name);
	xmlFree(href);
	return rc;
}

static int
html_walk(struct em_listing *l, xmlNode *n)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcasecmp(n->name, BAD_CAST "a") == 0) {
			if (html_link(l, n) == -1)
				return -1;
		} else if (html_walk(l, n->children) == -1) {
			return -1;
		}
	}
	return 0;
}

struct em_listing *
em_listing_parse_html(const char *html, size_t len)
{
	struct em_listing *l = NULL;
	htmlDocPtr doc;

	if (len > INT32_MAX) {
		em_fail("index page too large");
		return NULL;
	}
	doc = htmlReadMemory(html, (int)len, NULL, NULL, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
	    HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
	if (doc == NULL) {
		em_fail("not an HTML page");
		return NULL;
	}
	if ((l = listing_new()) != NULL && html_walk(l, xmlDocGetRootElement(doc)) == -1) {
		em_listing_free(l);
		l = NULL;
	}
	xmlFreeDoc(doc);
	return l;
}

static int
is_month(const char *s, size_t n)
{
	static const char *months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
		"sep", "oct", "nov", "dec" };
	size_t i;

	if (n != 3)
		return 0;
	for (i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return 1;
	return 0;
}

/*
 * One LIST line: "drwxr-xr-x 2 ftp ftp 4096 Jul 18 10:22 name" (the group may
 * be missing).  The size is the number before the month; the name is what
 * follows the time or year.  0 added, 1 not an entry line, -1 error.
 */
static int
ftp_line(struct em_listing *l, const char *line, size_t len)
{
	const char *tok[16], *p = line, *end = line + len, *name;
	size_t tlen[16], nt = 0, i, namelen;
	enum em_entry_kind kind;
	int64_t size;
	int exact;

	if (len < 10 || strchr("-dl", line[0]) == NULL)
		return 1;
	while (p < end && nt < 16) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		tok[nt] = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		tlen[nt] = (size_t)(p - tok[nt]);
		nt++;
		/* The name may hold spaces: stop once the date is past. */
		if (nt >= 4 && is_month(tok[nt - 3], tlen[nt - 3]))
			break;
	}
	if (nt < 6 || !is_month(tok[nt - 3], tlen[nt - 3]))
		return 1;
	i = nt - 3;	/* month */
	size = parse_size(tok[i - 1], tlen[i - 1], &exact);
	if (size < 0 || !exact)
		return 1;
	name = p;
	if (name < end && (*name == ' ' || *name == '\t'))
		name++;
	namelen = (size_t)(end - name);
	while (namelen > 0 && (name[namelen - 1] == '\r' || name[namelen - 1] == '\n'))
		namelen--;
	kind = line[0] == 'd' ? EM_ENTRY_DIR : line[0] == 'l' ? EM_ENTRY_LINK : EM_ENTRY_FILE;
	if (kind == EM_ENTRY_LINK) {
		const char *arrow;
		for (arrow = name; arrow + 4 <= name + namelen; arrow++)
			if (memcmp(arrow, " -> ", 4) == 0)
				break;
		if (arrow + 4 <= name + namelen)
			namelen = (size_t)(arrow - name);
	}
	if (namelen == 0)
		return 1;
	if ((namelen == 1 && name[0] == '.') || (namelen == 2 && name[0] == '.' && name[1] == '.'))
		return 0;	/* some servers list the directory and its parent */
	return listing_add(l, name, namelen, kind, kind == EM_ENTRY_DIR ? -1 : size,
	    kind == EM_ENTRY_FILE);
}

struct em_listing *
em_listing_parse_ftp(const char *text, size_t len)
{
	struct em_listing *l = listing_new();
	const char *p = text, *end = text + len;

	if (l == NULL)
		return NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int rc;

		while (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && !(n >= 6 && strncmp(p, "total ", 6) == 0)) {
			if ((rc = ftp_line(l, p, n)) == -1) {
				em_listing_free(l);
				return NULL;
			}
			if (rc == 1)
				l->unparsed++;
		}
		p = nl ? nl + 1 : end;
	}
	return l;
}

static int
list_local(const char *url, struct em_listing **out)
{
	struct em_buf path = EM_BUF_INIT(1 << 16);
	struct em_listing *l = NULL;
	const char *p = url + 7;
	struct dirent *d;
	DIR *dir = NULL;
	int ret = -1;

	if (strncasecmp(p, "localhost/", 10) == 0)
		p += 9;
	if (*p != '/' || percent_decode(p, strlen(p), &path) == -1) {
		em_fail("bad file URL '%s'", url);
		goto out;
	}
	if ((dir = opendir(em_buf_cstr(&path))) == NULL) {
		if (errno == ENOENT) {
			em_fail("'%s': no such directory", url);
			ret = EM_HTTP_MISSING;
		} else {
			em_fail_errno("cannot list '%s'", url);
		}
		goto out;
	}
	if ((l = listing_new()) == NULL)
		goto out;
	while ((d = readdir(dir)) != NULL) {
		struct stat st;
		struct em_buf full = EM_BUF_INIT(1 << 16);
		int rc;

		if (d->d_name[0] == '.')
			continue;
		if (em_buf_addf(&full, "%s/%s", em_buf_cstr(&path), d->d_name) == -1 ||
		    stat(em_buf_cstr(&full), &st) == -1) {
			em_buf_release(&full);
			continue;
		}
		em_buf_release(&full);
		rc = listing_add(l, d->d_name, strlen(d->d_name),
		    S_ISDIR(st.st_mode) ? EM_ENTRY_DIR : EM_ENTRY_FILE,
		    S_ISDIR(st.st_mode) ? -1 : (int64_t)st.st_size, 1);
		if (rc == -1)
			goto out;
	}
	*out = l;
	l = NULL;
	ret = 0;
out:
	if (dir != NULL)
		closedir(dir);
	em_listing_free(l);
	em_buf_release(&path);
	return ret;
}

int
em_listing_fetch(struct em_http *h, const char *url, struct em_listing **out)
{
	struct em_http_resp r = EM_HTTP_RESP_INIT;
	struct em_buf u = EM_BUF_INIT(1 << 16);
	int ftp = strncasecmp(url, "ftp://", 6) == 0 || strncasecmp(url, "ftps://", 7) == 0;
	int rc;

	*out = NULL;
	if (strncasecmp(url, "file://", 7) == 0)
		return list_local(url, out);
	/* libcurl lists an FTP directory only when the URL ends with a slash. */
	if (em_buf_addstr(&u, url) == -1 ||
	    (ftp && url[strlen(url) - 1] != '/' && em_buf_addch(&u, '/') == -1))
		return -1;
	rc = em_http_get(h, em_buf_cstr(&u), EM_LISTING_MAX_BODY, &r);
	if (rc == 0) {
		if (ftp)
			*out = em_listing_parse_ftp(r.body ? r.body : "", r.len);
		else
			*out = em_listing_parse_html(r.body ? r.body : "", r.len);
		if (*out == NULL) {
			em_fail_ctx("listing '%s'", url);
			rc = -1;
		}
	}
	em_http_resp_release(&r);
	em_buf_release(&u);
	return rc;
}
