/* manifest.h - what a store was written from: its source, the source's version and the write parameters */
#ifndef EM_MANIFEST_H
#define EM_MANIFEST_H

#include <stddef.h>

#include <jansson.h>

/*
 * A store carries "em-manifest.json" in its top directory (readers of
 * Zarr ignore files they do not know), written atomically when the store
 * is made and compared by every later run before it writes a chunk:
 *
 *   {"manifest": 1,
 *    "source":  {"url": ..., "archive_id": ..., "metadata_sha256": ...},
 *    "version": {"etag": ..., "last_modified": ..., "size": ..., "sha256": ...},
 *    "write":   {"shape": [...], "dtype": "|u1", "chunks": [...], "codec": {...}}}
 *
 * Each section holds what the writer knows; a run that knows less (a
 * version not asked yet) is compared on what both know.
 */
#define EM_MANIFEST_NAME "em-manifest.json"

/* The sections, in the order the file lists them. */
enum em_manifest_section {
	EM_MANIFEST_SOURCE,
	EM_MANIFEST_VERSION,
	EM_MANIFEST_WRITE,
};

/* An empty manifest (new reference), NULL when out of memory. */
json_t *em_manifest_new(void);
/* Set section.key to value (the reference is stolen, as json_object_set_new does). */
int em_manifest_set(json_t *m, enum em_manifest_section s, const char *key, json_t *value);
/* The same for a string (NULL leaves the key out). */
int em_manifest_set_str(json_t *m, enum em_manifest_section s, const char *key, const char *v);

/* Section s of m (borrowed), NULL if m has none. */
json_t *em_manifest_section(json_t *m, enum em_manifest_section s);
/* Add to into every key of from's sections that into does not have: 0, or -1 when out of memory. */
int em_manifest_merge(json_t *into, const json_t *from);

/*
 * The manifest of the store at path: 1 with *out a new reference, 0 when
 * the store has none (*out NULL), -1 when it is unreadable or not a
 * manifest (the error names the file).
 */
int em_manifest_load(const char *store, json_t **out);
/* Write it into the store atomically (the store's directory must exist). */
int em_manifest_save(const char *store, const json_t *m);
/*
 * Write it only where the store has none (writers starting together: the
 * first one's stays): 0 when written, or when the one there agrees with m
 * (what it knows more is merged into m, as after em_manifest_compare and
 * em_manifest_merge); 1 when it differs, the error naming the key as
 * em_manifest_compare does; -1 on an error.
 */
int em_manifest_create(const char *store, json_t *m);

/*
 * Whether a run described by now may write into a store described by was:
 * 0 when every key both know agrees, 1 when one differs (the error text
 * names it with both values: "source.url: the store has 'A', this run 'B'"),
 * -1 on an error.
 */
int em_manifest_compare(const json_t *was, const json_t *now);

#endif
