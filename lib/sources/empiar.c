/* empiar.c - an EMPIAR entry as the archive's API describes it, read from the API's JSON */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "sources/empiar.h"
#include "core/jsonio.h"
#include "core/safepath.h"
#include "core/units.h"
#include "core/banned.h"

/* A citation's text at most: a paper's authors, title and journal fit many times over. */
#define CITATION_TEXT_MAX 2048

static const char *
str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A non-empty string, or NULL. */
static const char *
text_of(const json_t *o, const char *key)
{
	const char *s = str_of(o, key);

	return s != NULL && *s != '\0' ? s : NULL;
}

static const char *
doi_of(const json_t *o, const char *key)
{
	const char *s = str_of(o, key);

	return s != NULL && strncmp(s, "10.", 3) == 0 ? s : NULL;
}

/* The set's directory as the listing names files below data/ ("", "a/b/"), or NULL. */
static char *
set_dir(const json_t *set)
{
	const char *d = str_of(set, "directory");
	size_t l;
	char *s;

	if (d == NULL)
		return NULL;
	while (*d == '/')
		d++;
	if (strncmp(d, "data/", 5) == 0)
		d += 5;
	else if (strcmp(d, "data") == 0)
		d += 4;
	while (*d == '/')
		d++;
	l = strlen(d);
	while (l > 0 && d[l - 1] == '/')
		l--;
	if (l > EM_RELPATH_MAX)
		return NULL;
	if ((s = malloc(l + 2)) == NULL)
		return NULL;
	memcpy(s, d, l);
	s[l] = '\0';
	if (l > 0 && !em_relpath_ok(s)) {
		free(s);
		return NULL;
	}
	if (l > 0)
		s[l] = '/', s[l + 1] = '\0';
	return s;
}

static int
parse_citation(const json_t *c0, struct em_empiar_citation *c)
{
	const json_t *au = json_object_get(c0, "authors");
	double y;
	size_t i, n;

	c->title = text_of(c0, "title");
	c->journal = text_of(c0, "journal");
	c->doi = doi_of(c0, "doi");
	if (em_json_num(json_object_get(c0, "year"), &y) && y >= 1800 && y <= 2999)
		c->year = (int)y;
	n = json_is_array(au) ? json_array_size(au) : 0;
	if (n > EM_EMPIAR_MAX_AUTHORS)
		n = EM_EMPIAR_MAX_AUTHORS;
	if (n > 0 && (c->authors = calloc(n, sizeof(*c->authors))) == NULL)
		return em_fail("out of memory");
	for (i = 0; i < n; i++) {
		const json_t *a = json_array_get(au, i);
		const char *nm;

		/* The API wraps each one: {"author": {"name": ..., "order_id": ...}}. */
		if (json_is_object(json_object_get(a, "author")))
			a = json_object_get(a, "author");
		nm = json_is_string(a) ? json_string_value(a) : str_of(a, "name");

		if (nm != NULL && *nm != '\0')
			c->authors[c->nauthors++] = nm;
	}
	return 0;
}

int
em_empiar_parse(const char *text, size_t len, const char *acc, const char *where,
    struct em_empiar_entry *e)
{
	const json_t *sets, *c0;
	json_t *j, *obj;
	double w, h;
	size_t i;

	memset(e, 0, sizeof(*e));
	if ((j = em_json_load_object(text, len, where)) == NULL)
		return -1;
	obj = json_object_get(j, acc);
	if (!json_is_object(obj)) {
		json_decref(j);
		return em_fail("'%s': the answer has no object for '%s'", where, acc);
	}
	e->json = json_incref(obj);
	json_decref(j);
	e->title = str_of(e->json, "title");
	e->experiment_type = text_of(e->json, "experiment_type");
	e->release_date = text_of(e->json, "release_date");
	e->doi = doi_of(e->json, "entry_doi");
	sets = json_object_get(e->json, "imagesets");
	e->sets_given = json_is_array(sets) ? json_array_size(sets) : 0;
	e->nsets = e->sets_given < EM_EMPIAR_MAX_SETS ? e->sets_given : EM_EMPIAR_MAX_SETS;
	if (e->nsets > 0 && (e->sets = calloc(e->nsets, sizeof(*e->sets))) == NULL)
		goto oom;
	for (i = 0; i < e->nsets; i++) {
		struct em_empiar_set *s = &e->sets[i];

		s->json = json_array_get(sets, i);
		s->name = text_of(s->json, "name");
		s->dir = set_dir(s->json);
		if (em_json_num(json_object_get(s->json, "num_images_or_tilt_series"), &w) &&
		    w >= 1 && w <= EM_FILELIST_MAX && w == (double)(size_t)w)
			s->num_images = (size_t)w;
		/* Å in the API; both or neither. */
		if (em_json_num(json_object_get(s->json, "pixel_width"), &w) && w > 0 &&
		    em_json_num(json_object_get(s->json, "pixel_height"), &h) && h > 0 &&
		    (!em_length_nm(w, "\xc3\x85", &s->pixel_w_nm) ||
		    !em_length_nm(h, "\xc3\x85", &s->pixel_h_nm)))
			s->pixel_w_nm = s->pixel_h_nm = 0;
	}
	c0 = json_array_get(json_object_get(e->json, "citation"), 0);
	if (json_is_object(c0)) {
		if (parse_citation(c0, &e->cit) < 0) {
			em_empiar_release(e);
			return -1;
		}
		e->have_citation = e->cit.title != NULL;
	}
	return 0;
oom:
	em_empiar_release(e);
	return em_fail("out of memory");
}

void
em_empiar_release(struct em_empiar_entry *e)
{
	size_t i;

	for (i = 0; i < e->nsets; i++)
		free(e->sets[i].dir);
	free(e->sets);
	free(e->cit.authors);
	json_decref(e->json);
	memset(e, 0, sizeof(*e));
}

/* Append s to the text, cut at a character boundary when the text is full. */
static void
add(char *buf, size_t *len, const char *s)
{
	size_t n = strlen(s), room = CITATION_TEXT_MAX - 1 - *len;

	if (n > room) {
		n = room;
		/* Not inside a UTF-8 sequence: back up over continuation bytes. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

json_t *
em_empiar_citation(const struct em_empiar_entry *e, const char *acc, const char *doi)
{
	const struct em_empiar_citation *c = &e->cit;
	char buf[CITATION_TEXT_MAX];
	size_t len = 0, i;
	json_t *cit, *names;

	buf[0] = '\0';
	if ((cit = json_object()) == NULL)
		return NULL;
	if (!e->have_citation) {
		/* No paper: the entry itself. */
		if (doi != NULL)
			json_object_set_new(cit, "doi", json_string(doi));
		add(buf, &len, acc);
		if (e->title != NULL) {
			add(buf, &len, ": ");
			add(buf, &len, e->title);
		}
		json_object_set_new(cit, "text", json_string(buf));
		return cit;
	}
	json_object_set_new(cit, "title", json_string(c->title));
	if (c->journal != NULL)
		json_object_set_new(cit, "journal", json_string(c->journal));
	if (c->year != 0)
		json_object_set_new(cit, "year", json_integer(c->year));
	if (c->doi != NULL)
		json_object_set_new(cit, "doi", json_string(c->doi));
	if (c->nauthors > 0) {
		names = json_array();
		for (i = 0; i < c->nauthors; i++)
			json_array_append_new(names, json_string(c->authors[i]));
		json_object_set_new(cit, "authors", names);
	}
	/* The paper: "A; B; C et al., title, journal (year)". */
	for (i = 0; i < c->nauthors && i < 3; i++) {
		if (i > 0)
			add(buf, &len, "; ");
		add(buf, &len, c->authors[i]);
	}
	if (c->nauthors > 3)
		add(buf, &len, " et al.");
	if (len > 0)
		add(buf, &len, ", ");
	add(buf, &len, c->title);
	if (c->journal != NULL) {
		add(buf, &len, ", ");
		add(buf, &len, c->journal);
	}
	if (c->year != 0) {
		char y[16];

		snprintf(y, sizeof(y), " (%d)", c->year);
		add(buf, &len, y);
	}
	json_object_set_new(cit, "text", json_string(buf));
	return cit;
}

/*
 * The last run of digits of name before its extension ("7" of
 * "slice_7.dm3", not the "3" of ".dm3"): its start and length, 0 when
 * there is none.
 */
static size_t
last_digits(const char *name, size_t *at)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	size_t i = dot != NULL && (slash == NULL || dot > slash) ? (size_t)(dot - name) :
	    strlen(name), e;

	while (i > 0 && !(name[i - 1] >= '0' && name[i - 1] <= '9'))
		i--;
	e = i;
	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	*at = i;
	return e - i;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
em_empiar_missing_names(const char *const *names, size_t n, size_t want, char **out,
    size_t max)
{
	size_t at0, len0, at, len, i, k = 0, padw = 0, sl;
	uint64_t *num = NULL, v, next;
	const char *suffix;

	if (n == 0 || want <= n || max == 0 || (len0 = last_digits(names[0], &at0)) == 0 ||
	    len0 > 18)
		return 0;
	suffix = names[0] + at0 + len0;
	sl = strlen(suffix);
	if ((num = calloc(n, sizeof(*num))) == NULL)
		return em_fail("out of memory");
	for (i = 0; i < n; i++) {
		len = last_digits(names[i], &at);
		/* The same text around the digits, else it is no series. */
		if (len == 0 || len > 18 || at != at0 || strncmp(names[i], names[0], at0) != 0 ||
		    strcmp(names[i] + at + len, suffix) != 0)
			goto none;
		if (names[i][at] == '0' && len > 1)
			padw = len;
		for (v = 0; len > 0; len--, at++)
			v = v * 10 + (uint64_t)(names[i][at] - '0');
		num[i] = v;
	}
	qsort(num, n, sizeof(*num), cmp_u64);
	/* A name listed twice is one file. */
	for (i = 1, k = 1; i < n; i++)
		if (num[i] != num[k - 1])
			num[k++] = num[i];
	n = k;
	k = 0;
	for (i = 0, next = num[0]; k < want - n && k < max; next++) {
		char *s;
		int w;

		if (i < n && num[i] == next) {
			i++;
			continue;
		}
		if ((s = malloc(at0 + 24 + sl + 1)) == NULL) {
			free(num);
			return em_fail("out of memory");
		}
		w = snprintf(s, at0 + 24 + sl + 1, "%.*s%0*llu%s", (int)at0, names[0], (int)padw,
		    (unsigned long long)next, suffix);
		(void)w;
		out[k++] = s;
	}
	free(num);
	return (int)k;
none:
	free(num);
	return 0;
}
