/* jschema_uri.c - RFC 3986 reference resolution for $id and $ref */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/jschema.h"
#include "core/banned.h"

/* The five components; a NULL component is undefined, which differs from empty. */
struct uparts {
	char *scheme, *auth, *path, *query, *frag;
};

static char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void
uparts_free(struct uparts *p)
{
	free(p->scheme);
	free(p->auth);
	free(p->path);
	free(p->query);
	free(p->frag);
}

/* Split as the regular expression of RFC 3986 appendix B does. */
static int
uparse(const char *u, struct uparts *p)
{
	size_t i = strcspn(u, ":/?#");

	memset(p, 0, sizeof(*p));
	if (u[i] == ':' && i > 0) {
		if ((p->scheme = dupn(u, i)) == NULL)
			goto nomem;
		u += i + 1;
	}
	if (u[0] == '/' && u[1] == '/') {
		u += 2;
		i = strcspn(u, "/?#");
		if ((p->auth = dupn(u, i)) == NULL)
			goto nomem;
		u += i;
	}
	i = strcspn(u, "?#");
	if ((p->path = dupn(u, i)) == NULL)
		goto nomem;
	u += i;
	if (*u == '?') {
		u++;
		i = strcspn(u, "#");
		if ((p->query = dupn(u, i)) == NULL)
			goto nomem;
		u += i;
	}
	if (*u == '#' && (p->frag = strdup(u + 1)) == NULL)
		goto nomem;
	return 0;
nomem:
	uparts_free(p);
	return -1;
}

/* RFC 3986 section 5.2.4; the result is never longer than the input. */
static char *
remove_dots(const char *path)
{
	size_t n = strlen(path), olen = 0;
	char *in = strdup(path), *out = malloc(n + 1), *p = in, *slash;

	if (in == NULL || out == NULL) {
		free(in);
		free(out);
		return NULL;
	}
	while (*p != '\0') {
		if (strncmp(p, "../", 3) == 0) {
			p += 3;
		} else if (strncmp(p, "./", 2) == 0) {
			p += 2;
		} else if (strncmp(p, "/./", 3) == 0) {
			p += 2;
		} else if (strcmp(p, "/.") == 0) {
			p[1] = '/';
			p += 1;
		} else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
			if (p[3] == '\0')
				p[2] = '/';
			p += p[3] == '\0' ? 2 : 3;
			out[olen] = '\0';
			slash = strrchr(out, '/');
			olen = slash != NULL ? (size_t)(slash - out) : 0;
		} else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
			p += strlen(p);
		} else {
			size_t k = *p == '/' ? 1 : 0;

			k += strcspn(p + k, "/");
			memcpy(out + olen, p, k);
			olen += k;
			p += k;
		}
	}
	out[olen] = '\0';
	free(in);
	return out;
}

static char *
compose(const struct uparts *t)
{
	size_t n = strlen(t->path) + 8;
	char *s;

	n += t->scheme ? strlen(t->scheme) : 0;
	n += t->auth ? strlen(t->auth) : 0;
	n += t->query ? strlen(t->query) : 0;
	n += t->frag ? strlen(t->frag) : 0;
	if ((s = malloc(n)) == NULL)
		return NULL;
	s[0] = '\0';
	snprintf(s, n, "%s%s%s%s%s%s%s%s%s",
	    t->scheme ? t->scheme : "", t->scheme ? ":" : "",
	    t->auth ? "//" : "", t->auth ? t->auth : "",
	    t->path,
	    t->query ? "?" : "", t->query ? t->query : "",
	    t->frag ? "#" : "", t->frag ? t->frag : "");
	return s;
}

static int
take(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

char *
em_uri_resolve(const char *base, const char *ref)
{
	struct uparts b, r, t;
	char *res = NULL, *merged = NULL;
	int bad = 0;

	memset(&t, 0, sizeof(t));
	if (uparse(base, &b) < 0)
		return NULL;
	if (uparse(ref, &r) < 0) {
		uparts_free(&b);
		return NULL;
	}
	if (r.scheme != NULL) {
		bad |= take(&t.scheme, r.scheme) | take(&t.auth, r.auth) | take(&t.query, r.query);
		bad |= (t.path = remove_dots(r.path)) == NULL;
	} else {
		if (r.auth != NULL) {
			bad |= take(&t.auth, r.auth) | take(&t.query, r.query);
			bad |= (t.path = remove_dots(r.path)) == NULL;
		} else {
			if (r.path[0] == '\0') {
				bad |= take(&t.path, b.path);
				bad |= take(&t.query, r.query != NULL ? r.query : b.query);
			} else {
				if (r.path[0] == '/') {
					bad |= (t.path = remove_dots(r.path)) == NULL;
				} else {
					/* Merge (section 5.2.3). */
					const char *slash = strrchr(b.path, '/');
					size_t keep = slash != NULL ? (size_t)(slash - b.path) + 1 : 0;
					size_t n = keep + strlen(r.path) + 2;

					if ((merged = malloc(n)) == NULL) {
						bad = 1;
					} else if (b.auth != NULL && b.path[0] == '\0') {
						snprintf(merged, n, "/%s", r.path);
					} else {
						memcpy(merged, b.path, keep);
						snprintf(merged + keep, n - keep, "%s", r.path);
					}
					if (merged != NULL)
						bad |= (t.path = remove_dots(merged)) == NULL;
				}
				bad |= take(&t.query, r.query);
			}
			bad |= take(&t.auth, b.auth);
		}
		bad |= take(&t.scheme, b.scheme);
	}
	bad |= take(&t.frag, r.frag);
	if (!bad && t.path != NULL)
		res = compose(&t);
	free(merged);
	uparts_free(&b);
	uparts_free(&r);
	uparts_free(&t);
	return res;
}
