/* config.h - the YAML configuration: loading into a JSON tree, ${VAR} interpolation, typed look-ups */
#ifndef EM_CONFIG_H
#define EM_CONFIG_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * YAML to JSON.  One document; mappings become objects, sequences arrays.
 * Plain scalars are typed by the YAML 1.2 core schema (null, ~ and empty ->
 * null; true/false; decimal, 0x and 0o integers; decimal floats) after
 * ${VAR} / ${VAR:default} interpolation; quoted, block and "!!str"-tagged
 * scalars are always strings.  $$ is a literal $.  A ${VAR:default} uses
 * the default when VAR is unset or empty; an unset ${VAR} with no default
 * is an error.  Refused, with "name:line:col: reason": anchors and aliases
 * (no billion-laughs expansion possible), duplicate keys, keys that are not
 * scalars, tags other than !!str/!!map/!!seq, .inf and .nan (JSON has no
 * such numbers), integers outside int64, more than one document, and
 * anything past the limits above.  name is used in messages only.
 * Returns a new reference, or NULL with the error text set.
 */
json_t *em_yaml_parse(const char *text, size_t len, const char *name);
/* The same for a file of at most EM_CONFIG_MAX_BYTES. */
json_t *em_yaml_load_file(const char *path);

/*
 * Deep merge: each key of overlay replaces the same key of base, except
 * that two objects are merged key by key, recursively.  Arrays and scalars
 * are replaced whole.  overlay is borrowed (its values are copied).
 */
int em_json_merge(json_t *base, const json_t *overlay);

/* A loaded configuration: the merged tree and where it came from. */
struct em_config;

/* An empty configuration (every look-up gives its default). */
struct em_config *em_config_new(void);
/* One YAML file; its top level must be a mapping (an empty file is {}). */
struct em_config *em_config_load(const char *path);
/* Merge another file over cfg (em_json_merge). */
int em_config_overlay(struct em_config *cfg, const char *path);
/*
 * The lookup every tool uses.  The first of: path (--config FILE);
 * $EM_CONFIG; config/config.yaml in the current directory;
 * em_data_path("config/config.yaml").  An explicit path or $EM_CONFIG that
 * cannot be read is an error; when the implicit places hold no file the
 * configuration is empty and built-in defaults apply.  Then overlay, or
 * else $EM_CONFIG_OVERLAY when set, is merged over it.
 */
struct em_config *em_config_open(const char *path, const char *overlay);
void em_config_free(struct em_config *cfg);

/* The files it was read from ("a.yaml + b.yaml", or "built-in defaults"); borrowed. */
const char *em_config_name(const struct em_config *cfg);
/* The whole tree (an object); borrowed. */
json_t *em_config_root(const struct em_config *cfg);

/*
 * Typed look-ups by dotted path ("sources.empiar.entry").  A key that is
 * absent or null gives def and returns 0; a value of the wrong type
 * returns -1 with an error naming the file and the key.  Results are
 * borrowed from cfg and live as long as it.
 */
/* The value itself (any type), NULL when absent or null; -1 only when a path step is not a mapping. */
int em_config_get(const struct em_config *cfg, const char *key, json_t **out);
/* A string; an integer is accepted and given as its decimal text (entry: 11759). */
int em_config_get_str(struct em_config *cfg, const char *key, const char *def, const char **out);
int em_config_get_int(const struct em_config *cfg, const char *key, long long def, long long *out);
/* A number (integer or float). */
int em_config_get_double(const struct em_config *cfg, const char *key, double def, double *out);
/* true or false (0 or 1 in *out). */
int em_config_get_bool(const struct em_config *cfg, const char *key, int def, int *out);
/* A byte count: a non-negative integer or a size text such as "8G" (em_parse_size). */
int em_config_get_size(const struct em_config *cfg, const char *key, uint64_t def, uint64_t *out);
/*
 * n unsigned integers in [min, max]: a sequence ([64, 64, 64]) or a comma
 * list ("64,64,64").  def (n values) is copied when absent; it may be NULL
 * only if the caller has filled out itself.
 */
int em_config_get_u64_list(const struct em_config *cfg, const char *key, uint64_t *out, size_t n,
    uint64_t min, uint64_t max, const uint64_t *def);

#endif
