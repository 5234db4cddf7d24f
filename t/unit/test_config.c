/* test_config.c - YAML typing, interpolation, errors with line:col, overlays and typed look-ups */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>

#include "meta/config.h"
#include "core/diag.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("EM_T_SET", "from-env", 1);
	setenv("EM_T_NUM", "42", 1);
	setenv("EM_T_EMPTY", "", 1);
	setenv("EM_T_LATIN1", "caf\xe9", 1);
	unsetenv("EM_T_UNSET");
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
write_file(const char *name, const char *text, char *path, size_t n)
{
	FILE *fp;

	snprintf(path, n, "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

/* The compact JSON of the value of key v in "v: <yaml>". */
static const struct {
	const char *yaml;
	const char *json;
} typing[] = {
	{ "v: 12", "12" },
	{ "v: -7", "-7" },
	{ "v: +7", "7" },
	{ "v: 0x1F", "31" },
	{ "v: 0o17", "15" },
	{ "v: 9223372036854775807", "9223372036854775807" },
	{ "v: 1.5", "1.5" },
	{ "v: -2.5e3", "-2500.0" },
	{ "v: .5", "0.5" },
	{ "v: 3.", "3.0" },
	{ "v: true", "true" },
	{ "v: False", "false" },
	{ "v: TRUE", "true" },
	{ "v: yes", "\"yes\"" },		/* YAML 1.1 booleans are strings in 1.2 */
	{ "v: on", "\"on\"" },
	{ "v: null", "null" },
	{ "v: ~", "null" },
	{ "v:", "null" },
	{ "v: \"12\"", "\"12\"" },		/* quoted scalars stay strings */
	{ "v: '0x1F'", "\"0x1F\"" },
	{ "v: 'true'", "\"true\"" },
	{ "v: !!str 12", "\"12\"" },
	{ "v: ! 12", "\"12\"" },
	{ "v: 012", "12" },
	{ "v: 0x", "\"0x\"" },
	{ "v: 1e", "\"1e\"" },
	{ "v: 1.2.3", "\"1.2.3\"" },
	{ "v: 64,64,64", "\"64,64,64\"" },
	{ "v: 8G", "\"8G\"" },
	{ "v: abc def", "\"abc def\"" },
	{ "v: [1, two, 3.0]", "[1,\"two\",3.0]" },
	{ "v: {a: 1, b: [x]}", "{\"a\":1,\"b\":[\"x\"]}" },
	{ "v:\n  - a\n  - b\n", "[\"a\",\"b\"]" },
	{ "v: |\n  two\n  lines\n", "\"two\\nlines\\n\"" },
	{ "v: >\n  folded\n  text\n", "\"folded text\\n\"" },
	{ "v: \"tab\\there\"", "\"tab\\there\"" },
	{ "v: ${EM_T_SET}", "\"from-env\"" },
	{ "v: ${EM_T_NUM}", "42" },		/* interpolation comes before typing */
	{ "v: \"${EM_T_NUM}\"", "\"42\"" },
	{ "v: ${EM_T_UNSET:data}", "\"data\"" },
	{ "v: ${EM_T_UNSET:8}", "8" },
	{ "v: ${EM_T_UNSET:}", "null" },
	{ "v: ${EM_T_SET:other}", "\"from-env\"" },
	{ "v: ${EM_T_EMPTY:dflt}", "\"dflt\"" },	/* empty counts as unset with a default */
	{ "v: x${EM_T_EMPTY}y", "\"xy\"" },
	{ "v: ${EM_T_UNSET:http://a:8080/b}", "\"http://a:8080/b\"" },
	{ "v: a/${EM_T_SET}/b/${EM_T_NUM}", "\"a/from-env/b/42\"" },
	{ "v: $$HOME", "\"$HOME\"" },
	{ "v: cost $5", "\"cost $5\"" },
	{ "v: end$", "\"end$\"" },
	{ "v: $${EM_T_SET}", "\"${EM_T_SET}\"" },
	{ "'a.b': 1\nv: 2", "2" },
};

START_TEST(yaml_typing)
{
	json_t *root = em_yaml_parse(typing[_i].yaml, strlen(typing[_i].yaml), "t.yaml");
	char *got;

	ck_assert_msg(root != NULL, "'%s': %s", typing[_i].yaml, em_errmsg());
	got = json_dumps(json_object_get(root, "v"), JSON_COMPACT | JSON_ENCODE_ANY);
	ck_assert_msg(got != NULL && strcmp(got, typing[_i].json) == 0, "'%s': got %s, expected %s",
	    typing[_i].yaml, got ? got : "(nothing)", typing[_i].json);
	free(got);
	json_decref(root);
}
END_TEST

/* Each error names the file and the line:col where the problem is. */
static const struct {
	const char *yaml;
	const char *err;
} errors[] = {
	{ "a: 1\nb: ${EM_T_UNSET}\n",
	  "t.yaml:2:4: environment variable 'EM_T_UNSET' is not set and '${EM_T_UNSET}' has no default" },
	{ "a:\n  b:\n    c: \"x${EM_T_UNSET}\"\n", "t.yaml:3:8: environment variable 'EM_T_UNSET'" },
	{ "a: ${EM_T_SET\n", "t.yaml:1:4: unterminated '${'" },
	{ "a: ${1BAD}\n", "t.yaml:1:4: bad variable name in '${1BAD}'" },
	{ "a: ${}\n", "t.yaml:1:4: bad variable name" },
	{ "a: ${A-B:x}\n", "t.yaml:1:4: bad variable name" },
	{ "a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a'" },
	{ "s:\n  k: 1\n  k: 2\n", "t.yaml:3:3: duplicate key 'k'" },
	{ "a: &x 1\nb: *x\n", "t.yaml:1:4: anchors and aliases are not supported" },
	{ "a: [1, 2]\nb: *x\n", "t.yaml:2:4: anchors and aliases are not supported (alias '*x')" },
	{ "a: &m {x: 1}\n", "t.yaml:1:4: anchors and aliases are not supported" },
	{ "a: .inf\n", "t.yaml:1:4: '.inf' cannot be stored: JSON has no infinity or NaN" },
	{ "a: -.Inf\n", "t.yaml:1:4: '-.Inf' cannot be stored" },
	{ "a: .nan\n", "t.yaml:1:4: '.nan' cannot be stored" },
	{ "a: 1e999\n", "t.yaml:1:4: number '1e999' is out of range" },
	{ "a: 9223372036854775808\n", "t.yaml:1:4: integer '9223372036854775808' is out of range" },
	{ "a: 0xFFFFFFFFFFFFFFFFF\n", "t.yaml:1:4: integer '0xFFFFFFFFFFFFFFFFF' is out of range" },
	{ "a: !!int 3\n", "t.yaml:1:4: tag 'tag:yaml.org,2002:int' is not supported" },
	{ "? [1, 2]\n: x\n", "t.yaml:1:3: a key must be a scalar" },
	{ "a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document" },
	{ "a: [1, 2\n", "t.yaml:2:1: did not find expected ',' or ']'" },
	{ "a: 1\n b: 2\n", "t.yaml:2:3: mapping values are not allowed in this context" },
	{ "a: \"x\\0y\"\n", "t.yaml:1:4: NUL character in a scalar" },
	{ "a:\n\tb: 1\n", "t.yaml:2:1: found character that cannot start any token" },
	{ "a: 1\nb: x${EM_T_LATIN1}\n", "t.yaml:2:4: value is not valid UTF-8 after interpolation" },
	{ "a: 1\nb: \xff\n", "t.yaml:2:4: invalid leading UTF-8 octet (byte 0xff)" },
};

START_TEST(yaml_errors)
{
	json_t *root;

	em_clear_error();
	root = em_yaml_parse(errors[_i].yaml, strlen(errors[_i].yaml), "t.yaml");
	ck_assert_msg(root == NULL, "'%s' was accepted", errors[_i].yaml);
	ck_assert_msg(strncmp(em_errmsg(), errors[_i].err, strlen(errors[_i].err)) == 0,
	    "'%s': got \"%s\", expected \"%s...\"", errors[_i].yaml, em_errmsg(), errors[_i].err);
}
END_TEST

START_TEST(yaml_limits)
{
	char *deep, *wide;
	size_t i, n = 0;
	json_t *v;

	/* 32 levels of flow sequences are fine, 33 are not */
	deep = malloc(200);
	ck_assert_ptr_nonnull(deep);
	for (i = 0; i < 32; i++)
		deep[n++] = '[';
	for (i = 0; i < 32; i++)
		deep[n++] = ']';
	v = em_yaml_parse(deep, n, "deep.yaml");
	ck_assert_msg(v != NULL, "%s", em_errmsg());
	json_decref(v);
	n = 0;
	for (i = 0; i < 33; i++)
		deep[n++] = '[';
	for (i = 0; i < 33; i++)
		deep[n++] = ']';
	ck_assert_ptr_null(em_yaml_parse(deep, n, "deep.yaml"));
	ck_assert_str_eq(em_errmsg(), "deep.yaml:1:33: nested deeper than 32 levels");
	free(deep);

	/* more nodes than the limit */
	wide = malloc(2 * (EM_CONFIG_MAX_NODES + 2) + 2);
	ck_assert_ptr_nonnull(wide);
	n = 0;
	wide[n++] = '[';
	for (i = 0; i < EM_CONFIG_MAX_NODES; i++) {
		wide[n++] = '1';
		wide[n++] = ',';
	}
	wide[n - 1] = ']';
	ck_assert_ptr_null(em_yaml_parse(wide, n, "wide.yaml"));
	ck_assert_msg(strstr(em_errmsg(), "more than 100000 nodes") != NULL, "%s", em_errmsg());
	free(wide);

	/* one scalar may not grow past the limit through interpolation */
	wide = malloc(EM_CONFIG_MAX_SCALAR + 16);
	ck_assert_ptr_nonnull(wide);
	memset(wide, 'x', EM_CONFIG_MAX_SCALAR + 16);
	memcpy(wide, "v: ", 3);
	ck_assert_ptr_null(em_yaml_parse(wide, EM_CONFIG_MAX_SCALAR + 16, "long.yaml"));
	ck_assert_msg(strstr(em_errmsg(), "long.yaml:1:4: scalar longer than") != NULL, "%s",
	    em_errmsg());
	free(wide);
}
END_TEST

START_TEST(yaml_empty)
{
	json_t *v = em_yaml_parse("", 0, "e.yaml");

	ck_assert_ptr_nonnull(v);
	ck_assert(json_is_null(v));
	json_decref(v);
	v = em_yaml_parse("# only a comment\n", 17, "e.yaml");
	ck_assert(v != NULL && json_is_null(v));
	json_decref(v);
}
END_TEST

START_TEST(file_errors)
{
	char path[128];
	struct em_config *cfg;
	FILE *fp;
	size_t i;

	cfg = em_config_load("/nonexistent/em.yaml");
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(em_errmsg(), "/nonexistent/em.yaml: No such file or directory");

	write_file("list.yaml", "- a\n- b\n", path, sizeof(path));
	ck_assert_ptr_null(em_config_load(path));
	ck_assert_msg(strstr(em_errmsg(), "list.yaml: the top level must be a mapping") != NULL,
	    "%s", em_errmsg());

	write_file("bad.yaml", "global:\n  jobs: 4\n  jobs: 5\n", path, sizeof(path));
	ck_assert_ptr_null(em_config_load(path));
	ck_assert_msg(strstr(em_errmsg(), "bad.yaml:3:3: duplicate key 'jobs'") != NULL, "%s",
	    em_errmsg());

	/* a file past the size limit is refused before parsing */
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	for (i = 0; i < EM_CONFIG_MAX_BYTES / 16 + 1; i++)
		fputs("# padding......\n", fp);
	fclose(fp);
	ck_assert_ptr_null(em_config_load(path));
	ck_assert_msg(strstr(em_errmsg(), "big.yaml: larger than 1048576 bytes") != NULL, "%s",
	    em_errmsg());

	/* an empty file is an empty configuration */
	write_file("empty.yaml", "", path, sizeof(path));
	cfg = em_config_load(path);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(json_object_size(em_config_root(cfg)), 0);
	em_config_free(cfg);
}
END_TEST

static const char base_yaml[] =
    "global:\n"
    "  data_root: ${EM_T_UNSET:data}\n"
    "  jobs: 4\n"
    "  chunks: [64, 64, 64]\n"
    "  chunks_text: 32,16,8\n"
    "  memory_budget: 8G\n"
    "  memory_bytes: 1024\n"
    "  verbose: false\n"
    "  ratio: 0.5\n"
    "  level: ~\n"
    "sources:\n"
    "  empiar:\n"
    "    entry: 11759\n"
    "    url: https://ftp.ebi.ac.uk/empiar/\n"
    "    pixel: 8\n"
    "  idr:\n"
    "    image: 9846137\n"
    "    files: [a.tif, b.tif]\n";

START_TEST(getters)
{
	char path[128];
	struct em_config *cfg;
	const char *s;
	long long ll;
	double d;
	int b;
	uint64_t u, list[3], def3[3] = { 1, 2, 3 };
	json_t *v;

	write_file("c.yaml", base_yaml, path, sizeof(path));
	cfg = em_config_load(path);
	ck_assert_msg(cfg != NULL, "%s", em_errmsg());
	ck_assert_str_eq(em_config_name(cfg), path);

	ck_assert_int_eq(em_config_get_str(cfg, "global.data_root", "x", &s), 0);
	ck_assert_str_eq(s, "data");
	ck_assert_int_eq(em_config_get_str(cfg, "sources.empiar.url", NULL, &s), 0);
	ck_assert_str_eq(s, "https://ftp.ebi.ac.uk/empiar/");
	ck_assert_int_eq(em_config_get_str(cfg, "sources.empiar.entry", NULL, &s), 0);
	ck_assert_str_eq(s, "11759");
	{
		const char *again;

		/* asking twice leaves the first answer valid */
		ck_assert_int_eq(em_config_get_str(cfg, "sources.empiar.entry", NULL, &again), 0);
		ck_assert_ptr_eq(s, again);
		ck_assert_str_eq(s, "11759");
	}
	ck_assert_int_eq(em_config_get_str(cfg, "sources.empiar.missing", "dflt", &s), 0);
	ck_assert_str_eq(s, "dflt");
	ck_assert_int_eq(em_config_get_str(cfg, "nosection.key", NULL, &s), 0);
	ck_assert_ptr_null(s);

	ck_assert_int_eq(em_config_get_int(cfg, "global.jobs", 1, &ll), 0);
	ck_assert_int_eq(ll, 4);
	ck_assert_int_eq(em_config_get_int(cfg, "global.level", 3, &ll), 0);	/* null: default */
	ck_assert_int_eq(ll, 3);
	ck_assert_int_eq(em_config_get_int(cfg, "global.absent", -1, &ll), 0);
	ck_assert_int_eq(ll, -1);

	ck_assert_int_eq(em_config_get_double(cfg, "global.ratio", 0, &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(em_config_get_double(cfg, "sources.empiar.pixel", 0, &d), 0);
	ck_assert(d == 8.0);

	ck_assert_int_eq(em_config_get_bool(cfg, "global.verbose", 1, &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(em_config_get_bool(cfg, "global.absent", 1, &b), 0);
	ck_assert_int_eq(b, 1);

	ck_assert_int_eq(em_config_get_size(cfg, "global.memory_budget", 0, &u), 0);
	ck_assert_uint_eq(u, 8ULL << 30);
	ck_assert_int_eq(em_config_get_size(cfg, "global.memory_bytes", 0, &u), 0);
	ck_assert_uint_eq(u, 1024);

	ck_assert_int_eq(em_config_get_u64_list(cfg, "global.chunks", list, 3, 1, 4096, NULL), 0);
	ck_assert(list[0] == 64 && list[1] == 64 && list[2] == 64);
	ck_assert_int_eq(em_config_get_u64_list(cfg, "global.chunks_text", list, 3, 1, 4096,
	    NULL), 0);
	ck_assert(list[0] == 32 && list[1] == 16 && list[2] == 8);
	ck_assert_int_eq(em_config_get_u64_list(cfg, "global.absent", list, 3, 1, 4096, def3), 0);
	ck_assert(list[0] == 1 && list[1] == 2 && list[2] == 3);

	ck_assert_int_eq(em_config_get(cfg, "sources.idr.files", &v), 0);
	ck_assert(json_is_array(v) && json_array_size(v) == 2);
	em_config_free(cfg);
}
END_TEST

/* Type errors name the file and the key; nothing is stored. */
START_TEST(type_errors)
{
	static const struct {
		const char *key;
		char kind;
		const char *err;
	} cases[] = {
		{ "global.verbose", 's', "'global.verbose' is a boolean, expected a string" },
		{ "global.ratio", 's', "'global.ratio' is a float, expected a string" },
		{ "global", 's', "'global' is a mapping, expected a string" },
		{ "global.data_root", 'i', "'global.data_root' is a string, expected an integer" },
		{ "global.ratio", 'i', "'global.ratio' is a float, expected an integer" },
		{ "sources.empiar.url", 'd', "'sources.empiar.url' is a string, expected a number" },
		{ "global.jobs", 'b', "'global.jobs' is an integer, expected true or false" },
		{ "global.verbose", 'z', "'global.verbose' is a boolean, expected a size such as 8G" },
		{ "global.data_root", 'z', "'global.data_root': 'data' is not a size" },
		{ "global.chunks", 'l', "'global.chunks' has 3 values, expected 2" },
		{ "sources.idr.files", 'l', "'sources.idr.files' item 1 is a string, expected an integer" },
		{ "global.jobs", 'L', "'global.jobs' is an integer, expected a sequence of integers" },
		{ "global.jobs.deeper", 'i', "'global.jobs' is an integer, expected a mapping" },
		{ "sources..x", 'i', "bad configuration key 'sources..x'" },
	};
	char path[128], want[256];
	struct em_config *cfg;
	const char *s = "unchanged";
	long long ll = 99;
	uint64_t list[3] = { 7, 7, 7 }, u = 99;
	double d = 99;
	int b = 99, rc = 0;
	size_t i;

	write_file("c.yaml", base_yaml, path, sizeof(path));
	cfg = em_config_load(path);
	ck_assert_ptr_nonnull(cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		switch (cases[i].kind) {
		case 's': rc = em_config_get_str(cfg, cases[i].key, "d", &s); break;
		case 'i': rc = em_config_get_int(cfg, cases[i].key, 0, &ll); break;
		case 'd': rc = em_config_get_double(cfg, cases[i].key, 0, &d); break;
		case 'b': rc = em_config_get_bool(cfg, cases[i].key, 0, &b); break;
		case 'z': rc = em_config_get_size(cfg, cases[i].key, 0, &u); break;
		case 'l': rc = em_config_get_u64_list(cfg, cases[i].key, list, 2, 1, 99, NULL); break;
		case 'L': rc = em_config_get_u64_list(cfg, cases[i].key, list, 3, 1, 99, NULL); break;
		}
		ck_assert_msg(rc == -1, "%s accepted", cases[i].key);
		if (strncmp(cases[i].err, "bad configuration", 17) == 0)
			snprintf(want, sizeof(want), "%s", cases[i].err);
		else
			snprintf(want, sizeof(want), "%s: %s", path, cases[i].err);
		ck_assert_msg(strncmp(em_errmsg(), want, strlen(want)) == 0,
		    "%s: got \"%s\", expected \"%s\"", cases[i].key, em_errmsg(), want);
	}
	ck_assert_str_eq(s, "unchanged");
	ck_assert(ll == 99 && d == 99 && b == 99 && u == 99);
	ck_assert(list[0] == 7 && list[1] == 7 && list[2] == 7);

	/* a value out of the list's range */
	ck_assert_int_eq(em_config_get_u64_list(cfg, "global.chunks", list, 3, 1, 32, NULL), -1);
	ck_assert_msg(strstr(em_errmsg(), "'global.chunks' item 1 is 64, expected 1 to 32") != NULL,
	    "%s", em_errmsg());
	em_config_free(cfg);
}
END_TEST

START_TEST(overlay_merge)
{
	char p1[128], p2[128], want[300];
	struct em_config *cfg;
	const char *s;
	long long ll;
	json_t *v;

	write_file("base.yaml", base_yaml, p1, sizeof(p1));
	write_file("over.yaml",
	    "sources:\n"
	    "  empiar:\n"
	    "    url: http://127.0.0.1:8080/empiar/\n"
	    "  idr:\n"
	    "    files: [c.tif]\n"
	    "  local:\n"
	    "    entry: x\n"
	    "global:\n"
	    "  jobs: 1\n", p2, sizeof(p2));
	cfg = em_config_load(p1);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(em_config_overlay(cfg, p2), 0);
	snprintf(want, sizeof(want), "%s + %s", p1, p2);
	ck_assert_str_eq(em_config_name(cfg), want);
	/* replaced */
	ck_assert_int_eq(em_config_get_str(cfg, "sources.empiar.url", NULL, &s), 0);
	ck_assert_str_eq(s, "http://127.0.0.1:8080/empiar/");
	ck_assert_int_eq(em_config_get_int(cfg, "global.jobs", 0, &ll), 0);
	ck_assert_int_eq(ll, 1);
	/* kept beside the replaced keys */
	ck_assert_int_eq(em_config_get_str(cfg, "sources.empiar.entry", NULL, &s), 0);
	ck_assert_str_eq(s, "11759");
	ck_assert_int_eq(em_config_get_str(cfg, "global.memory_budget", NULL, &s), 0);
	ck_assert_str_eq(s, "8G");
	/* arrays are replaced whole, not appended to */
	ck_assert_int_eq(em_config_get(cfg, "sources.idr.files", &v), 0);
	ck_assert_uint_eq(json_array_size(v), 1);
	ck_assert_str_eq(json_string_value(json_array_get(v, 0)), "c.tif");
	/* added */
	ck_assert_int_eq(em_config_get_str(cfg, "sources.local.entry", NULL, &s), 0);
	ck_assert_str_eq(s, "x");

	/* a failing overlay leaves an error naming it */
	ck_assert_int_eq(em_config_overlay(cfg, "/nonexistent/over.yaml"), -1);
	ck_assert_str_eq(em_errmsg(), "/nonexistent/over.yaml: No such file or directory");
	em_config_free(cfg);
}
END_TEST

START_TEST(merge_replaces_types)
{
	json_t *a = json_pack("{s:{s:i,s:{s:i}},s:[i]}", "x", "y", 1, "z", "w", 2, "l", 1);
	json_t *b = json_pack("{s:{s:s,s:{s:i}},s:{s:i}}", "x", "y", "str", "z", "v", 3, "l",
	    "k", 4);
	char *got;

	ck_assert_int_eq(em_json_merge(a, b), 0);
	got = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(got, "{\"l\":{\"k\":4},\"x\":{\"y\":\"str\",\"z\":{\"v\":3,\"w\":2}}}");
	free(got);
	ck_assert_int_eq(em_json_merge(a, json_array_get(json_object_get(b, "l"), 0)), -1);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* --config, then $EM_CONFIG, then ./config/config.yaml, then the data path; overlay last. */
START_TEST(lookup_order)
{
	char p1[128], p2[128], cwd[4096], sub[128];
	struct em_config *cfg;
	const char *s;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	write_file("one.yaml", "which: one\n", p1, sizeof(p1));
	write_file("two.yaml", "which: two\n", p2, sizeof(p2));
	snprintf(sub, sizeof(sub), "%s/config", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_file("config/config.yaml", "which: cwd\nkeep: yes\n", sub, sizeof(sub));
	ck_assert_int_eq(chdir(dir), 0);
	unsetenv("EM_CONFIG_OVERLAY");

	setenv("EM_CONFIG", p2, 1);
	cfg = em_config_open(p1, NULL);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(em_config_get_str(cfg, "which", NULL, &s), 0);
	ck_assert_str_eq(s, "one");
	em_config_free(cfg);

	cfg = em_config_open(NULL, NULL);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(em_config_get_str(cfg, "which", NULL, &s), 0);
	ck_assert_str_eq(s, "two");
	em_config_free(cfg);

	setenv("EM_CONFIG", "/nonexistent/cfg.yaml", 1);
	ck_assert_ptr_null(em_config_open(NULL, NULL));
	ck_assert_str_eq(em_errmsg(), "/nonexistent/cfg.yaml: No such file or directory");

	unsetenv("EM_CONFIG");
	cfg = em_config_open(NULL, NULL);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(em_config_name(cfg), "config/config.yaml");
	ck_assert_int_eq(em_config_get_str(cfg, "which", NULL, &s), 0);
	ck_assert_str_eq(s, "cwd");
	em_config_free(cfg);

	/* the overlay from the argument, then from $EM_CONFIG_OVERLAY */
	cfg = em_config_open(NULL, p1);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(em_config_get_str(cfg, "which", NULL, &s), 0);
	ck_assert_str_eq(s, "one");
	ck_assert_int_eq(em_config_get_str(cfg, "keep", NULL, &s), 0);
	ck_assert_str_eq(s, "yes");
	em_config_free(cfg);
	setenv("EM_CONFIG_OVERLAY", p2, 1);
	cfg = em_config_open(NULL, NULL);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(em_config_get_str(cfg, "which", NULL, &s), 0);
	ck_assert_str_eq(s, "two");
	em_config_free(cfg);
	setenv("EM_CONFIG_OVERLAY", "/nonexistent/o.yaml", 1);
	ck_assert_ptr_null(em_config_open(NULL, NULL));
	unsetenv("EM_CONFIG_OVERLAY");

	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/*
 * Damaged files: every truncation and many random byte changes of a real
 * configuration give a tree or an error with a position, never a crash
 * (the sanitizer build checks the memory side).
 */
START_TEST(yaml_damaged)
{
	static const char good[] =
	    "global:\n  root: ${EM_T_UNSET:data}\n  chunks: [64, 64, 64]\n"
	    "  name: \"quoted \\u00e9 text\"\n  block: |\n    line\n"
	    "sources:\n  a: {x: 1, y: [true, ~, 0x1f, 1.5e3]}\n  b:\n    - 'single'\n"
	    "    - >\n      folded\n";
	static const char alphabet[] = "\n :-[]{},'\"&*!|>#%@`?$\\\t\xc3\xff" "0aZ";
	char buf[sizeof(good)];
	unsigned long seed = 12345;
	size_t n, i, k;
	json_t *v;

	for (n = 0; n < sizeof(good) - 1; n++) {
		v = em_yaml_parse(good, n, "cut.yaml");
		if (v == NULL)
			ck_assert_msg(strncmp(em_errmsg(), "cut.yaml:", 9) == 0, "%s", em_errmsg());
		json_decref(v);
	}
	for (i = 0; i < 3000; i++) {
		memcpy(buf, good, sizeof(good));
		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			buf[(seed >> 33) % (sizeof(good) - 1)] =
			    alphabet[(seed >> 17) % (sizeof(alphabet) - 1)];
		}
		em_clear_error();
		v = em_yaml_parse(buf, sizeof(good) - 1, "bad.yaml");
		if (v == NULL)
			ck_assert_msg(strncmp(em_errmsg(), "bad.yaml:", 9) == 0, "%s", em_errmsg());
		json_decref(v);
	}
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, yaml_typing, 0, sizeof(typing) / sizeof(typing[0]));
	tcase_add_loop_test(tc, yaml_errors, 0, sizeof(errors) / sizeof(errors[0]));
	tcase_add_test(tc, yaml_limits);
	tcase_add_test(tc, yaml_empty);
	tcase_add_test(tc, yaml_damaged);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, getters);
	tcase_add_test(tc, type_errors);
	tcase_add_test(tc, overlay_merge);
	tcase_add_test(tc, merge_replaces_types);
	tcase_add_test(tc, lookup_order);
	suite_add_tcase(s, tc);
	return s;
}
