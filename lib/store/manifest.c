/* manifest.c - what a store was written from: its source, the source's version and the write parameters */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "core/jsonio.h"
#include "core/limits.h"
#include "store/manifest.h"
#include "core/banned.h"

#define MANIFEST_VERSION 1
/* A manifest is a few hundred bytes; anything near this is not ours. */
#define MANIFEST_MAX_BYTES ((size_t)1 << 20)
/* How much of a differing value a message quotes. */
#define QUOTE_MAX 160

static const char *const section_name[] = { "source", "version", "write" };

json_t *
em_manifest_new(void)
{
	json_t *m = json_object();

	if (m == NULL)
		return NULL;
	if (json_object_set_new(m, "manifest", json_integer(MANIFEST_VERSION)) != 0) {
		json_decref(m);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(section_name) / sizeof(section_name[0]); i++) {
		if (json_object_set_new(m, section_name[i], json_object()) != 0) {
			json_decref(m);
			return NULL;
		}
	}
	return m;
}

int
em_manifest_set(json_t *m, enum em_manifest_section s, const char *key, json_t *value)
{
	json_t *sec = json_object_get(m, section_name[s]);

	if (value == NULL)
		return em_fail("out of memory");
	if (!json_is_object(sec) || json_object_set_new(sec, key, value) != 0)
		return em_fail("cannot set manifest %s.%s", section_name[s], key);
	return 0;
}

json_t *
em_manifest_section(json_t *m, enum em_manifest_section s)
{
	json_t *sec = json_object_get(m, section_name[s]);

	return json_is_object(sec) ? sec : NULL;
}

int
em_manifest_merge(json_t *into, const json_t *from)
{
	for (size_t i = 0; i < sizeof(section_name) / sizeof(section_name[0]); i++) {
		json_t *si = json_object_get(into, section_name[i]);
		const json_t *sf = json_object_get(from, section_name[i]);
		const char *key;
		json_t *v;

		if (!json_is_object(si) || !json_is_object(sf))
			continue;
		json_object_foreach((json_t *)sf, key, v)
			if (json_object_get(si, key) == NULL &&
			    json_object_set(si, key, v) != 0)
				return em_fail("out of memory");
	}
	return 0;
}

int
em_manifest_set_str(json_t *m, enum em_manifest_section s, const char *key, const char *v)
{
	if (v == NULL)
		return 0;
	return em_manifest_set(m, s, key, json_string(v));
}

static int
manifest_path(const char *store, char *buf, size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/%s", store, EM_MANIFEST_NAME) >= n)
		return em_fail("path too long: '%s'", store);
	return 0;
}

int
em_manifest_load(const char *store, json_t **out)
{
	char path[EM_FETCH_PATH_MAX];
	json_t *m;
	int e;

	*out = NULL;
	if (manifest_path(store, path, sizeof(path)) < 0)
		return -1;
	if ((e = em_exists(path)) <= 0)
		return e;
	if ((m = em_json_load_file(path, MANIFEST_MAX_BYTES)) == NULL)
		return em_fail_ctx("'%s'", path);
	if (!json_is_object(m) || json_integer_value(json_object_get(m, "manifest")) != MANIFEST_VERSION) {
		json_decref(m);
		return em_fail("'%s' is not a manifest of version %d", path, MANIFEST_VERSION);
	}
	for (size_t i = 0; i < sizeof(section_name) / sizeof(section_name[0]); i++) {
		if (!json_is_object(json_object_get(m, section_name[i]))) {
			json_decref(m);
			return em_fail("'%s' has no object '%s'", path, section_name[i]);
		}
	}
	*out = m;
	return 1;
}

int
em_manifest_save(const char *store, const json_t *m)
{
	char path[EM_FETCH_PATH_MAX];
	char *text;
	int r;

	if (manifest_path(store, path, sizeof(path)) < 0)
		return -1;
	if ((text = em_json_dump_pretty(m)) == NULL)
		return em_fail("cannot encode the manifest of '%s'", store);
	r = em_write_atomic(path, text, strlen(text), EM_ATOMIC_SYNC);
	free(text);
	return r < 0 ? em_fail_ctx("'%s'", path) : 0;
}

int
em_manifest_create(const char *store, json_t *m)
{
	char path[EM_FETCH_PATH_MAX];
	char *text;
	json_t *was = NULL;
	int r;

	if (manifest_path(store, path, sizeof(path)) < 0)
		return -1;
	if ((text = em_json_dump_pretty(m)) == NULL)
		return em_fail("cannot encode the manifest of '%s'", store);
	r = em_write_atomic(path, text, strlen(text), EM_ATOMIC_SYNC | EM_ATOMIC_EXCL);
	free(text);
	if (r < 0)
		return em_fail_ctx("'%s'", path);
	/*
	 * Another writer's, there first: it stays, and this run may join only
	 * if it agrees.  Made here, it is read back all the same: where the
	 * filesystem has no hard links, the check and the rename are two steps
	 * and another writer's may have landed on it.
	 */
	if ((r = em_manifest_load(store, &was)) == 0)
		return em_fail("'%s' was removed as this run made it", path);
	if (r < 0)
		return -1;
	r = em_manifest_compare(was, m);
	if (r == 0 && em_manifest_merge(m, was) < 0)
		r = -1;
	/* What this run knows more (a version the first writer did not ask) is kept too. */
	if (r == 0 && !json_equal(was, m) && em_manifest_save(store, m) < 0)
		r = -1;
	json_decref(was);
	return r;
}

/* v as compact JSON text, cut to QUOTE_MAX with "..." (into buf). */
static const char *
quote(const json_t *v, char *buf, size_t n)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len;

	if (t == NULL) {
		snprintf(buf, n, "?");
		return buf;
	}
	len = strlen(t);
	if (len > QUOTE_MAX)
		snprintf(buf, n, "%.*s...", QUOTE_MAX, t);
	else
		snprintf(buf, n, "%s", t);
	free(t);
	return buf;
}

int
em_manifest_compare(const json_t *was, const json_t *now)
{
	char a[QUOTE_MAX + 8], b[QUOTE_MAX + 8];

	for (size_t i = 0; i < sizeof(section_name) / sizeof(section_name[0]); i++) {
		const json_t *sw = json_object_get(was, section_name[i]);
		const json_t *sn = json_object_get(now, section_name[i]);
		const char *key;
		json_t *vn;

		if (!json_is_object(sw) || !json_is_object(sn))
			return em_fail("manifest without '%s'", section_name[i]);
		json_object_foreach((json_t *)sn, key, vn) {
			const json_t *vw = json_object_get(sw, key);

			if (vw == NULL || json_is_null(vw) || json_is_null(vn))
				continue;
			/* Numbers compare by value: 8 and 8.0 are one shape. */
			if (json_is_number(vw) && json_is_number(vn)
			    && json_number_value(vw) == json_number_value(vn))
				continue;
			if (!json_equal((json_t *)vw, vn)) {
				em_fail("%s.%s: the store has %s, this run %s", section_name[i], key,
				    quote(vw, a, sizeof(a)), quote(vn, b, sizeof(b)));
				return 1;
			}
		}
	}
	return 0;
}
