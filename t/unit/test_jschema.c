/* test_jschema.c - the JSON Schema 2020-12 validator: keywords, refs, annotations, errors, limits */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "meta/jschema.h"

static json_t *
parse(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY, &e);

	ck_assert_msg(v != NULL, "bad test JSON '%s': %s", s, e.text);
	return v;
}

/* 1 valid, 0 invalid, -1 error; -2 when the schema does not compile. */
static int
check(const char *schema, const char *doc, struct em_jschema_errors *errs)
{
	json_t *js = parse(schema), *d = parse(doc);
	struct em_jschema *s = em_jschema_compile(js, "test");
	int r = -2;

	if (s != NULL)
		r = em_jschema_validate(s, d, errs);
	em_jschema_free(s);
	json_decref(js);
	json_decref(d);
	return r;
}

static const struct vcase {
	const char *schema, *doc;
	int valid;
} cases[] = {
	/* type */
	{ "{\"type\":\"integer\"}", "1", 1 },
	{ "{\"type\":\"integer\"}", "1.0", 1 },
	{ "{\"type\":\"integer\"}", "1.5", 0 },
	{ "{\"type\":\"integer\"}", "\"1\"", 0 },
	{ "{\"type\":\"number\"}", "1", 1 },
	{ "{\"type\":\"number\"}", "-1e-3", 1 },
	{ "{\"type\":\"string\"}", "\"\"", 1 },
	{ "{\"type\":\"null\"}", "null", 1 },
	{ "{\"type\":\"null\"}", "false", 0 },
	{ "{\"type\":\"boolean\"}", "false", 1 },
	{ "{\"type\":\"boolean\"}", "0", 0 },
	{ "{\"type\":[\"array\",\"object\"]}", "[]", 1 },
	{ "{\"type\":[\"array\",\"object\"]}", "{}", 1 },
	{ "{\"type\":[\"array\",\"object\"]}", "null", 0 },
	/* boolean schemas */
	{ "true", "{\"a\":1}", 1 },
	{ "false", "null", 0 },
	{ "{}", "[1,2]", 1 },
	/* enum, const: 1 == 1.0, key order does not count */
	{ "{\"enum\":[1,\"a\",null]}", "1.0", 1 },
	{ "{\"enum\":[1,\"a\",null]}", "\"b\"", 0 },
	{ "{\"enum\":[false]}", "0", 0 },
	{ "{\"enum\":[[1,2]]}", "[1.0,2]", 1 },
	{ "{\"enum\":[[1,2]]}", "[2,1]", 0 },
	{ "{\"const\":{\"a\":1,\"b\":[2]}}", "{\"b\":[2.0],\"a\":1}", 1 },
	{ "{\"const\":{\"a\":1}}", "{\"a\":1,\"b\":2}", 0 },
	{ "{\"const\":null}", "null", 1 },
	{ "{\"const\":0}", "false", 0 },
	/* numbers */
	{ "{\"minimum\":2}", "2", 1 },
	{ "{\"minimum\":2}", "1.999", 0 },
	{ "{\"minimum\":2.5}", "3", 1 },
	{ "{\"maximum\":3}", "3.0", 1 },
	{ "{\"maximum\":3}", "4", 0 },
	{ "{\"exclusiveMinimum\":0}", "0", 0 },
	{ "{\"exclusiveMinimum\":0}", "1e-300", 1 },
	{ "{\"exclusiveMaximum\":10}", "10", 0 },
	{ "{\"exclusiveMaximum\":10}", "9.99", 1 },
	{ "{\"minimum\":9007199254740993}", "9007199254740992", 0 },
	{ "{\"multipleOf\":3}", "9", 1 },
	{ "{\"multipleOf\":3}", "10", 0 },
	{ "{\"multipleOf\":0.01}", "19.99", 1 },
	{ "{\"multipleOf\":0.01}", "19.995", 0 },
	{ "{\"multipleOf\":1.5}", "4.5", 1 },
	{ "{\"multipleOf\":0.123456789}", "1e308", 0 },
	{ "{\"minimum\":5}", "\"abc\"", 1 },
	/* strings: lengths in code points */
	{ "{\"minLength\":2}", "\"a\"", 0 },
	{ "{\"maxLength\":2}", "\"\\u00e9\\u00e9\"", 1 },
	{ "{\"maxLength\":1}", "\"\\ud83d\\udca9\"", 1 },
	{ "{\"maxLength\":2}", "\"abc\"", 0 },
	{ "{\"minLength\":1.0}", "\"a\"", 1 },
	/* pattern: ECMA-262, unanchored */
	{ "{\"pattern\":\"b\"}", "\"abc\"", 1 },
	{ "{\"pattern\":\"^b\"}", "\"abc\"", 0 },
	{ "{\"pattern\":\"^\\\\d+$\"}", "\"123\"", 1 },
	{ "{\"pattern\":\"^\\\\d+$\"}", "\"12\\n\"", 0 },
	{ "{\"pattern\":\"^\\\\d$\"}", "\"\\u0661\"", 0 },
	{ "{\"pattern\":\"^\\\\w$\"}", "\"\\u00e9\"", 0 },
	{ "{\"pattern\":\"^\\\\s$\"}", "\"\\u00a0\"", 1 },
	{ "{\"pattern\":\"^\\\\S$\"}", "\"\\u2028\"", 0 },
	{ "{\"pattern\":\"^[\\\\s]$\"}", "\"\\ufeff\"", 1 },
	{ "{\"pattern\":\"^\\\\u00e9$\"}", "\"\\u00e9\"", 1 },
	{ "{\"pattern\":\"^.$\"}", "\"\\u00e9\"", 1 },
	{ "{\"pattern\":\"^\\\\p{Letter}+$\"}", "\"\\u00e9t\\u00e9\"", 1 },
	{ "{\"pattern\":\"^\\\\p{Lu}$\"}", "\"a\"", 0 },
	{ "{\"pattern\":\"^a\"}", "12", 1 },
	/* objects */
	{ "{\"required\":[\"a\"]}", "{\"a\":null}", 1 },
	{ "{\"required\":[\"a\"]}", "{\"b\":1}", 0 },
	{ "{\"required\":[\"a\"]}", "[]", 1 },
	{ "{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":1}", 0 },
	{ "{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"b\":1}", 1 },
	{ "{\"properties\":{\"a/b\":{\"type\":\"string\"}}}", "{\"a/b\":\"x\"}", 1 },
	{ "{\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}}}", "{\"x-a\":1,\"y\":\"s\"}", 1 },
	{ "{\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}}}", "{\"x-a\":\"s\"}", 0 },
	{ "{\"properties\":{\"a\":true},\"additionalProperties\":false}", "{\"a\":1}", 1 },
	{ "{\"properties\":{\"a\":true},\"additionalProperties\":false}", "{\"a\":1,\"b\":2}", 0 },
	{ "{\"properties\":{\"a\":true},\"patternProperties\":{\"^b\":true},"
	  "\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a\":\"s\",\"bb\":\"s\",\"c\":1}", 1 },
	{ "{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"c\":\"s\"}", 0 },
	{ "{\"propertyNames\":{\"maxLength\":2}}", "{\"ab\":1}", 1 },
	{ "{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}", 0 },
	{ "{\"propertyNames\":false}", "{}", 1 },
	{ "{\"minProperties\":1}", "{}", 0 },
	{ "{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", 0 },
	{ "{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1}", 0 },
	{ "{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1,\"b\":1}", 1 },
	{ "{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"b\":1}", 1 },
	{ "{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"a\":1}", 0 },
	{ "{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"c\":1}", 1 },
	/* arrays */
	{ "{\"items\":{\"type\":\"integer\"}}", "[1,2,3]", 1 },
	{ "{\"items\":{\"type\":\"integer\"}}", "[1,\"2\"]", 0 },
	{ "{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"integer\"}}",
	  "[\"a\",1,2]", 1 },
	{ "{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"integer\"}}",
	  "[1]", 0 },
	{ "{\"prefixItems\":[true,true],\"items\":false}", "[1,2]", 1 },
	{ "{\"prefixItems\":[true,true],\"items\":false}", "[1,2,3]", 0 },
	{ "{\"prefixItems\":[true,true]}", "[1]", 1 },
	{ "{\"contains\":{\"const\":2}}", "[1,2]", 1 },
	{ "{\"contains\":{\"const\":2}}", "[1,3]", 0 },
	{ "{\"contains\":{\"const\":2}}", "[]", 0 },
	{ "{\"contains\":{\"const\":2},\"minContains\":0}", "[]", 1 },
	{ "{\"contains\":{\"const\":2},\"minContains\":2}", "[2,1,2]", 1 },
	{ "{\"contains\":{\"const\":2},\"maxContains\":1}", "[2,1,2]", 0 },
	{ "{\"minContains\":2}", "[1]", 1 },
	{ "{\"minItems\":2}", "[1]", 0 },
	{ "{\"maxItems\":2}", "[1,2,3]", 0 },
	{ "{\"uniqueItems\":true}", "[1,\"1\",[1],{\"a\":1}]", 1 },
	{ "{\"uniqueItems\":true}", "[1,2,1.0]", 0 },
	{ "{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]", 0 },
	{ "{\"uniqueItems\":true}", "[[1,2],[2,1]]", 1 },
	{ "{\"uniqueItems\":true}", "[0,false,null,\"\"]", 1 },
	{ "{\"uniqueItems\":false}", "[1,1]", 1 },
	/* combinators */
	{ "{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "2", 1 },
	{ "{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "4", 0 },
	{ "{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":3}]}", "\"a\"", 1 },
	{ "{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":3}]}", "1", 0 },
	{ "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "1", 1 },
	{ "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "4", 0 },
	{ "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "1.5", 0 },
	{ "{\"not\":{\"type\":\"null\"}}", "null", 0 },
	{ "{\"not\":{\"type\":\"null\"}}", "1", 1 },
	{ "{\"if\":{\"minimum\":10},\"then\":{\"multipleOf\":10},\"else\":{\"maximum\":5}}", "20", 1 },
	{ "{\"if\":{\"minimum\":10},\"then\":{\"multipleOf\":10},\"else\":{\"maximum\":5}}", "25", 0 },
	{ "{\"if\":{\"minimum\":10},\"then\":{\"multipleOf\":10},\"else\":{\"maximum\":5}}", "6", 0 },
	{ "{\"if\":{\"minimum\":10},\"then\":{\"multipleOf\":10}}", "6", 1 },
	{ "{\"then\":false}", "1", 1 },
	/* refs */
	{ "{\"$defs\":{\"p\":{\"minimum\":0}},\"$ref\":\"#/$defs/p\"}", "-1", 0 },
	{ "{\"$defs\":{\"a~b\":{\"minimum\":0}},\"$ref\":\"#/$defs/a~0b\"}", "-1", 0 },
	{ "{\"$defs\":{\"a/b\":{\"minimum\":0}},\"$ref\":\"#/$defs/a~1b\"}", "-1", 0 },
	{ "{\"$defs\":{\"a%b\":{\"minimum\":0}},\"$ref\":\"#/$defs/a%25b\"}", "-1", 0 },
	{ "{\"$defs\":{\"a b\":{\"minimum\":0}},\"$ref\":\"#/$defs/a%20b\"}", "1", 1 },
	{ "{\"prefixItems\":[{\"type\":\"integer\"},{\"$ref\":\"#/prefixItems/0\"}]}", "[1,\"x\"]", 0 },
	{ "{\"$defs\":{\"a\":{\"$anchor\":\"pos\",\"minimum\":0}},\"$ref\":\"#pos\"}", "-1", 0 },
	{ "{\"$id\":\"https://e.org/root.json\",\"$defs\":{\"a\":{\"$id\":\"item.json\","
	  "\"type\":\"string\"}},\"items\":{\"$ref\":\"item.json\"}}", "[\"a\",1]", 0 },
	{ "{\"$id\":\"https://e.org/root.json\",\"$defs\":{\"a\":{\"$id\":\"sub/x.json\","
	  "\"$defs\":{\"b\":{\"$id\":\"y.json\",\"type\":\"null\"}}}},"
	  "\"$ref\":\"https://e.org/sub/y.json\"}", "null", 1 },
	{ "{\"$id\":\"https://e.org/r\",\"$defs\":{\"a\":{\"$id\":\"https://e.org/r2\","
	  "\"$defs\":{\"b\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/b\"}},"
	  "\"$ref\":\"r2\"}", "\"s\"", 0 },
	{ "{\"properties\":{\"next\":{\"$ref\":\"#\"},\"v\":{\"type\":\"integer\"}}}",
	  "{\"v\":1,\"next\":{\"v\":2,\"next\":{\"v\":\"x\"}}}", 0 },
	{ "{\"$ref\":\"#/$defs/t\",\"$defs\":{\"t\":true}}", "1", 1 },
	/* unevaluated */
	{ "{\"properties\":{\"a\":true},\"unevaluatedProperties\":false}", "{\"a\":1,\"b\":1}", 0 },
	{ "{\"allOf\":[{\"properties\":{\"b\":true}}],\"properties\":{\"a\":true},"
	  "\"unevaluatedProperties\":false}", "{\"a\":1,\"b\":1}", 1 },
	{ "{\"anyOf\":[{\"properties\":{\"b\":true},\"required\":[\"b\"]},"
	  "{\"properties\":{\"c\":true},\"required\":[\"c\"]}],\"unevaluatedProperties\":false}",
	  "{\"b\":1,\"c\":1}", 1 },
	{ "{\"oneOf\":[{\"properties\":{\"b\":true},\"required\":[\"b\"]},"
	  "{\"properties\":{\"c\":true},\"required\":[\"c\"]}],\"unevaluatedProperties\":false}",
	  "{\"b\":1,\"c\":1}", 0 },
	{ "{\"if\":{\"properties\":{\"a\":{\"const\":1}}},\"then\":{\"properties\":{\"b\":true}},"
	  "\"unevaluatedProperties\":false}", "{\"a\":1,\"b\":1}", 1 },
	{ "{\"if\":{\"properties\":{\"a\":{\"const\":1}}},\"then\":{\"properties\":{\"b\":true}},"
	  "\"unevaluatedProperties\":false}", "{\"a\":2}", 0 },
	{ "{\"not\":{\"not\":{\"properties\":{\"a\":true}}},\"unevaluatedProperties\":false}",
	  "{\"a\":1}", 0 },
	{ "{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"properties\":{\"a\":true}}},"
	  "\"unevaluatedProperties\":false}", "{\"a\":1}", 1 },
	{ "{\"dependentSchemas\":{\"a\":{\"properties\":{\"b\":true}}},"
	  "\"properties\":{\"a\":true},\"unevaluatedProperties\":false}", "{\"a\":1,\"b\":1}", 1 },
	{ "{\"unevaluatedProperties\":{\"type\":\"integer\"}}", "{\"a\":1,\"b\":\"x\"}", 0 },
	{ "{\"properties\":{\"o\":{\"properties\":{\"x\":true}}},\"unevaluatedProperties\":false}",
	  "{\"o\":{\"y\":1}}", 1 },
	{ "{\"prefixItems\":[true],\"unevaluatedItems\":false}", "[1,2]", 0 },
	{ "{\"allOf\":[{\"prefixItems\":[true,true]}],\"unevaluatedItems\":false}", "[1,2]", 1 },
	{ "{\"contains\":{\"type\":\"string\"},\"unevaluatedItems\":false}", "[\"a\",\"b\"]", 1 },
	{ "{\"contains\":{\"type\":\"string\"},\"unevaluatedItems\":false}", "[\"a\",1]", 0 },
	{ "{\"items\":true,\"unevaluatedItems\":false}", "[1,2]", 1 },
	{ "{\"unevaluatedItems\":{\"type\":\"integer\"}}", "[1,\"a\"]", 0 },
	/* $dynamicRef: the outermost resource with the anchor wins */
	{ "{\"$id\":\"https://e.org/list\",\"$ref\":\"generic\",\"$defs\":{"
	  "\"g\":{\"$id\":\"generic\",\"items\":{\"$dynamicRef\":\"#item\"},"
	  "\"$defs\":{\"i\":{\"$dynamicAnchor\":\"item\"}}},"
	  "\"i\":{\"$dynamicAnchor\":\"item\",\"type\":\"integer\"}}}", "[1,\"x\"]", 0 },
	{ "{\"$id\":\"https://e.org/list\",\"$ref\":\"generic\",\"$defs\":{"
	  "\"g\":{\"$id\":\"generic\",\"items\":{\"$dynamicRef\":\"#item\"},"
	  "\"$defs\":{\"i\":{\"$dynamicAnchor\":\"item\"}}},"
	  "\"i\":{\"$dynamicAnchor\":\"item\",\"type\":\"integer\"}}}", "[1,2]", 1 },
	/* unknown keywords and format are annotations */
	{ "{\"format\":\"email\"}", "\"not an email\"", 1 },
	{ "{\"x-unknown\":{\"type\":\"string\"}}", "1", 1 },
	{ "{\"$comment\":\"c\",\"title\":\"t\",\"description\":\"d\",\"default\":1,"
	  "\"examples\":[2],\"deprecated\":true,\"readOnly\":true}", "3", 1 },
};

START_TEST(keywords)
{
	const struct vcase *k = &cases[_i];
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(8);
	int r = check(k->schema, k->doc, &errs);

	ck_assert_msg(r == k->valid, "schema %s, document %s: got %d, expected %d (%s)",
	    k->schema, k->doc, r, k->valid, r == -2 || r == -1 ? em_errmsg()
	    : errs.n > 0 ? errs.v[0].message : "");
	/* An invalid document always says why, a valid one never complains. */
	ck_assert_msg((r == 0) == (errs.n > 0), "schema %s, document %s: %zu errors for %d",
	    k->schema, k->doc, errs.n, r);
	em_jschema_errors_reset(&errs);
	/* The same verdict without an error list (the fail-fast path). */
	ck_assert_int_eq(check(k->schema, k->doc, NULL), k->valid);
}
END_TEST

static const struct ecase {
	const char *schema, *doc;
	const char *pointer, *keyword, *schema_path, *message;
} ecases[] = {
	{ "{\"type\":\"string\"}", "3", "", "type", "#/type", "expected string, got integer 3" },
	{ "{\"type\":[\"string\",\"null\"]}", "3.5", "", "type", "#/type",
	  "expected null or string, got number 3.5" },
	{ "{\"properties\":{\"a\":{\"items\":{\"minimum\":0}}}}", "{\"a\":[1,-2]}", "/a/1",
	  "minimum", "#/properties/a/items/minimum", "expected a number >= 0, got -2" },
	{ "{\"properties\":{\"a/b~c\":{\"type\":\"null\"}}}", "{\"a/b~c\":1}", "/a~1b~0c",
	  "type", "#/properties/a~1b~0c/type", "expected null, got integer 1" },
	{ "{\"required\":[\"id\"]}", "{}", "", "required", "#/required",
	  "required property 'id' is missing" },
	{ "{\"additionalProperties\":false}", "{\"x\":1}", "/x", "additionalProperties",
	  "#/additionalProperties", "property 'x' is not allowed" },
	{ "{\"$defs\":{\"d\":{\"maxLength\":2}},\"properties\":{\"s\":{\"$ref\":\"#/$defs/d\"}}}",
	  "{\"s\":\"abc\"}", "/s", "maxLength", "#/$defs/d/maxLength",
	  "expected at most 2 characters, got 3" },
	{ "{\"enum\":[\"a\",\"b\"]}", "\"c\"", "", "enum", "#/enum",
	  "expected one of [\"a\",\"b\"], got \"c\"" },
	{ "{\"const\":1}", "2", "", "const", "#/const", "expected the value 1, got 2" },
	{ "{\"pattern\":\"^a\"}", "\"b\"", "", "pattern", "#/pattern",
	  "expected a string matching '^a', got \"b\"" },
	{ "{\"uniqueItems\":true}", "[1,2,1]", "", "uniqueItems", "#/uniqueItems",
	  "expected unique items, items 0 and 2 are equal" },
	{ "{\"oneOf\":[true,true]}", "1", "", "oneOf", "#/oneOf",
	  "expected the value to match exactly one of the 2 oneOf subschemas, it matches "
	  "oneOf/0 and oneOf/1" },
	{ "{\"anyOf\":[false,{\"type\":\"null\"}]}", "1", "", "anyOf", "#/anyOf",
	  "expected the value to match at least one of the 2 anyOf subschemas, it matches none "
	  "(anyOf/0: false schema; anyOf/1: type: expected null, got integer 1)" },
	{ "{\"oneOf\":[{\"required\":[\"a\"]},{\"properties\":{\"b\":{\"type\":\"string\"}}}]}",
	  "{\"b\":1}", "", "oneOf", "#/oneOf", "expected the value to match exactly one of the 2 "
	  "oneOf subschemas, it matches none (oneOf/0: required: required property 'a' is "
	  "missing; oneOf/1 at /b: type: expected string, got integer 1)" },
	{ "{\"not\":true}", "1", "", "not", "#/not",
	  "expected the value not to match the 'not' subschema" },
	{ "{\"contains\":{\"const\":1},\"minContains\":2}", "[1]", "", "minContains",
	  "#/minContains", "expected at least 2 items matching the contains schema, found 1" },
	{ "{\"properties\":{\"a\":false}}", "{\"a\":1}", "/a", "false", "#/properties/a/false",
	  "no value is allowed here (the schema is false)" },
	{ "{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1}", "", "dependentRequired",
	  "#/dependentRequired", "property 'b' is required when 'a' is present" },
	{ "{\"unevaluatedProperties\":false}", "{\"z\":1}", "/z", "unevaluatedProperties",
	  "#/unevaluatedProperties", "property 'z' is not allowed (no subschema evaluates it)" },
	{ "{\"prefixItems\":[true],\"unevaluatedItems\":false}", "[1,2]", "/1",
	  "unevaluatedItems", "#/unevaluatedItems",
	  "item 1 is not allowed (no subschema evaluates it)" },
	{ "{\"if\":true,\"then\":{\"multipleOf\":2}}", "3", "", "multipleOf",
	  "#/then/multipleOf", "expected a multiple of 2, got 3" },
	{ "{\"propertyNames\":{\"pattern\":\"^[a-z]+$\"}}", "{\"A\":1}", "", "propertyNames",
	  "#/propertyNames", "property name 'A' does not match the propertyNames schema" },
	{ "{\"maxLength\":3}", "\"" "\\u00e9\\u00e9\\u00e9\\u00e9" "\"", "", "maxLength",
	  "#/maxLength", "expected at most 3 characters, got 4" },
};

START_TEST(errors)
{
	const struct ecase *k = &ecases[_i];
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(8);

	ck_assert_int_eq(check(k->schema, k->doc, &errs), 0);
	ck_assert_msg(errs.n == 1, "schema %s: %zu errors, expected 1", k->schema, errs.n);
	ck_assert_str_eq(errs.v[0].pointer, k->pointer);
	ck_assert_str_eq(errs.v[0].keyword, k->keyword);
	ck_assert_str_eq(errs.v[0].schema_path, k->schema_path);
	ck_assert_str_eq(errs.v[0].message, k->message);
	em_jschema_errors_reset(&errs);
}
END_TEST

/* Every failed keyword is kept, in document order, up to the bound. */
START_TEST(error_list)
{
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(3);
	const char *schema = "{\"required\":[\"a\",\"b\"],\"items\":{\"type\":\"integer\"},"
	    "\"properties\":{\"c\":{\"type\":\"string\"},\"d\":{\"items\":{\"type\":\"null\"}}}}";

	ck_assert_int_eq(check(schema, "{\"c\":1}", &errs), 0);
	ck_assert_int_eq(errs.n, 3);
	ck_assert_str_eq(errs.v[0].message, "required property 'a' is missing");
	ck_assert_str_eq(errs.v[1].message, "required property 'b' is missing");
	ck_assert_str_eq(errs.v[2].pointer, "/c");
	ck_assert_int_eq(errs.dropped, 0);
	em_jschema_errors_reset(&errs);
	ck_assert_int_eq(check(schema, "{\"a\":1,\"b\":1,\"d\":[1,2,3,4,5]}", &errs), 0);
	ck_assert_int_eq(errs.n, 3);
	ck_assert_int_eq(errs.dropped, 2);
	ck_assert_str_eq(errs.v[0].pointer, "/d/0");
	ck_assert_str_eq(errs.v[2].pointer, "/d/2");
	em_jschema_errors_reset(&errs);
	ck_assert_ptr_null(errs.v);
	ck_assert_int_eq(errs.n, 0);
	ck_assert_int_eq(errs.max, 3);
}
END_TEST

/*
 * Values in messages are cut at 120 bytes with "..."; a value of 121 to 123
 * bytes is shown whole (cutting it would not shorten it, and the cut wrote
 * past the end of its text).
 */
START_TEST(message_values_cut)
{
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(1);
	char doc[256], want[300];
	size_t len;

	for (len = 119; len <= 126; len++) {
		/* A JSON string of len bytes with its quotes. */
		doc[0] = '"';
		memset(doc + 1, 'x', len - 2);
		doc[len - 1] = '"';
		doc[len] = '\0';
		ck_assert_int_eq(check("{\"type\":\"integer\"}", doc, &errs), 0);
		if (len <= 123)
			snprintf(want, sizeof(want), "expected integer, got string %s", doc);
		else
			snprintf(want, sizeof(want), "expected integer, got string %.120s...", doc);
		ck_assert_str_eq(errs.v[0].message, want);
		em_jschema_errors_reset(&errs);
	}
}
END_TEST

/* A generous bound costs nothing until errors come; the list grows as they do. */
START_TEST(error_growth)
{
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT((size_t)1 << 40);
	char doc[400];
	size_t i, off = 0;

	off += (size_t)snprintf(doc + off, sizeof(doc) - off, "[");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off, "%s1", i ? "," : "");
	snprintf(doc + off, sizeof(doc) - off, "]");
	ck_assert_int_eq(check("{\"items\":{\"type\":\"string\"}}", doc, &errs), 0);
	ck_assert_int_eq(errs.n, 100);
	ck_assert_int_eq(errs.dropped, 0);
	ck_assert_str_eq(errs.v[99].pointer, "/99");
	/* Appended to by a second validation. */
	ck_assert_int_eq(check("{\"type\":\"string\"}", "1", &errs), 0);
	ck_assert_int_eq(errs.n, 101);
	ck_assert_str_eq(errs.v[100].keyword, "type");
	em_jschema_errors_reset(&errs);
}
END_TEST

static const struct ccase {
	const char *schema, *msg;
} bad_schemas[] = {
	{ "3", "at '#': a schema must be an object or a boolean" },
	{ "{\"properties\":{\"a\":[]}}", "at '#/properties/a': a schema must be an object" },
	{ "{\"type\":\"strng\"}", "at '#': unknown type 'strng'" },
	{ "{\"type\":[]}", "type must not be an empty array" },
	{ "{\"minLength\":-1}", "minLength must be a non-negative integer" },
	{ "{\"maxItems\":1.5}", "maxItems must be a non-negative integer" },
	{ "{\"minimum\":\"1\"}", "minimum must be a number" },
	{ "{\"multipleOf\":0}", "multipleOf must be greater than 0" },
	{ "{\"required\":[1]}", "required must be an array of strings" },
	{ "{\"enum\":1}", "enum must be an array" },
	{ "{\"allOf\":[]}", "allOf must be a non-empty array of schemas" },
	{ "{\"items\":[true]}", "a list of schemas is prefixItems in draft 2020-12" },
	{ "{\"pattern\":\"a(\"}", "at '#/pattern': invalid regular expression 'a('" },
	{ "{\"patternProperties\":{\"[\":true}}", "invalid regular expression '['" },
	{ "{\"$ref\":\"#/$defs/missing\"}",
	  "at '#': unresolvable $ref '#/$defs/missing': the document has nothing at "
	  "'/$defs/missing'" },
	{ "{\"$ref\":\"#nope\"}", "unresolvable $ref '#nope': no $anchor 'nope'" },
	{ "{\"items\":{\"$ref\":\"other.json\"}}",
	  "at '#/items': unresolvable $ref 'other.json': no schema with that URI" },
	{ "{\"$ref\":\"https://json-schema.org/draft/2020-12/schema\"}",
	  "unresolvable $ref 'https://json-schema.org/draft/2020-12/schema'" },
	{ "{\"$id\":\"http://e.org/a#frag\"}", "$id 'http://e.org/a#frag' must not have a fragment" },
	{ "{\"$defs\":{\"a\":{\"$id\":\"x\"},\"b\":{\"$id\":\"x\"}}}", "is used twice" },
	{ "{\"$ref\":\"#\"}", "$ref loop" },
	{ "{\"$defs\":{\"a\":{\"anyOf\":[true,{\"$ref\":\"#/$defs/b\"}]},"
	  "\"b\":{\"not\":{\"$ref\":\"#/$defs/a\"}}}}", "$ref loop" },
};

START_TEST(compile_errors)
{
	json_t *js = parse(bad_schemas[_i].schema);
	struct em_jschema *s = em_jschema_compile(js, "test");

	ck_assert_msg(s == NULL, "schema %s compiled", bad_schemas[_i].schema);
	ck_assert_msg(strstr(em_errmsg(), bad_schemas[_i].msg) != NULL, "schema %s: '%s', "
	    "expected '%s'", bad_schemas[_i].schema, em_errmsg(), bad_schemas[_i].msg);
	json_decref(js);
}
END_TEST

/* A schema recursing through items stops with an error on a deep document, not the stack. */
START_TEST(depth_limit)
{
	json_t *js = parse("{\"items\":{\"$ref\":\"#\"}}"), *doc = json_array(), *cur = doc;
	struct em_jschema *s = em_jschema_compile(js, "test");
	int i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 1000; i++) {
		json_t *next = json_array();

		json_array_append_new(cur, next);
		cur = next;
	}
	ck_assert_int_eq(em_jschema_validate(s, doc, NULL), -1);
	ck_assert_msg(strstr(em_errmsg(), "levels deep") != NULL, "%s", em_errmsg());
	json_decref(doc);
	/* A document of ordinary depth is fine. */
	doc = parse("[[[[[[[[[[]]]]]]]]]]");
	ck_assert_int_eq(em_jschema_validate(s, doc, NULL), 1);
	json_decref(doc);
	em_jschema_free(s);
	json_decref(js);
}
END_TEST

/* A pattern that backtracks without end stops at its limit with an error. */
START_TEST(regex_limit)
{
	char doc[80];

	memset(doc, 'a', sizeof(doc));
	doc[0] = '"';
	doc[sizeof(doc) - 3] = 'b';
	doc[sizeof(doc) - 2] = '"';
	doc[sizeof(doc) - 1] = '\0';
	ck_assert_int_eq(check("{\"pattern\":\"^(a|aa)+$\"}", doc, NULL), -1);
	ck_assert_msg(strstr(em_errmsg(), "cannot match pattern '^(a|aa)+$': match limit") !=
	    NULL, "%s", em_errmsg());
	ck_assert_int_eq(check("{\"pattern\":\"^(a|aa)+$\"}", "\"aaaa\"", NULL), 1);
}
END_TEST

/* One compiled schema, many documents, and the caller's schema is not kept. */
START_TEST(reuse)
{
	json_t *js = parse("{\"properties\":{\"a\":{\"pattern\":\"^x\"}}}");
	struct em_jschema *s = em_jschema_compile(js, "test");
	json_t *good = parse("{\"a\":\"xy\"}"), *bad = parse("{\"a\":\"yx\"}");
	int i;

	json_decref(js);
	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(em_jschema_validate(s, good, NULL), 1);
		ck_assert_int_eq(em_jschema_validate(s, bad, NULL), 0);
	}
	json_decref(good);
	json_decref(bad);
	em_jschema_free(s);
	em_jschema_free(NULL);
}
END_TEST

/* A compiled schema is read-only: threads validate with it at once. */
struct thread_arg {
	const struct em_jschema *s;
	json_t *good, *bad;
	int wrong;
};

static void *
validate_many(void *p)
{
	struct thread_arg *a = p;
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(4);
	int i;

	for (i = 0; i < 2000; i++) {
		if (em_jschema_validate(a->s, a->good, &errs) != 1)
			a->wrong++;
		if (em_jschema_validate(a->s, a->bad, &errs) != 0 || errs.n != 1 ||
		    strcmp(errs.v[0].pointer, "/a/1") != 0)
			a->wrong++;
		em_jschema_errors_reset(&errs);
	}
	return NULL;
}

START_TEST(threads)
{
	json_t *js = parse("{\"properties\":{\"a\":{\"items\":{\"pattern\":\"^x\"}}},"
	    "\"unevaluatedProperties\":false,\"$defs\":{\"u\":true}}");
	struct em_jschema *s = em_jschema_compile(js, "test");
	struct thread_arg a[4];
	pthread_t t[4];
	int i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 4; i++) {
		a[i].s = s;
		a[i].good = parse("{\"a\":[\"x\",\"xy\"]}");
		a[i].bad = parse("{\"a\":[\"x\",\"y\"]}");
		a[i].wrong = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, validate_many, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(a[i].wrong, 0);
		json_decref(a[i].good);
		json_decref(a[i].bad);
	}
	em_jschema_free(s);
	json_decref(js);
}
END_TEST

static const struct {
	const char *a, *b;
	int eq;
} eq_cases[] = {
	{ "1", "1.0", 1 }, { "0", "-0.0", 1 }, { "1", "true", 0 }, { "0", "false", 0 },
	{ "\"a\"", "\"a\"", 1 }, { "\"a\\u0000b\"", "\"a\"", 0 }, { "null", "null", 1 },
	{ "[1,[2]]", "[1.0,[2.0]]", 1 }, { "[1,2]", "[2,1]", 0 }, { "[]", "{}", 0 },
	{ "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", 1 }, { "{\"a\":1}", "{\"a\":1,\"b\":1}", 0 },
	{ "{\"a\":null}", "{\"b\":null}", 0 },
};

START_TEST(equality)
{
	json_error_t e;
	json_t *a = json_loads(eq_cases[_i].a, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	json_t *b = json_loads(eq_cases[_i].b, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);

	ck_assert_int_eq(em_jschema_equal(a, b), eq_cases[_i].eq);
	ck_assert_int_eq(em_jschema_equal(b, a), eq_cases[_i].eq);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* RFC 3986 section 5.4: the normal and abnormal examples against http://a/b/c/d;p?q. */
static const struct {
	const char *ref, *want;
} uri_cases[] = {
	{ "g:h", "g:h" }, { "g", "http://a/b/c/g" }, { "./g", "http://a/b/c/g" },
	{ "g/", "http://a/b/c/g/" }, { "/g", "http://a/g" }, { "//g", "http://g" },
	{ "?y", "http://a/b/c/d;p?y" }, { "g?y", "http://a/b/c/g?y" },
	{ "#s", "http://a/b/c/d;p?q#s" }, { "g#s", "http://a/b/c/g#s" },
	{ ";x", "http://a/b/c/;x" }, { "", "http://a/b/c/d;p?q" }, { ".", "http://a/b/c/" },
	{ "./", "http://a/b/c/" }, { "..", "http://a/b/" }, { "../", "http://a/b/" },
	{ "../g", "http://a/b/g" }, { "../..", "http://a/" }, { "../../g", "http://a/g" },
	{ "../../../g", "http://a/g" }, { "/./g", "http://a/g" }, { "/../g", "http://a/g" },
	{ "g.", "http://a/b/c/g." }, { ".g", "http://a/b/c/.g" }, { "g..", "http://a/b/c/g.." },
	{ "./../g", "http://a/b/g" }, { "./g/.", "http://a/b/c/g/" },
	{ "g/./h", "http://a/b/c/g/h" }, { "g/../h", "http://a/b/c/h" },
	{ "g;x=1/../y", "http://a/b/c/y" }, { "g?y/./x", "http://a/b/c/g?y/./x" },
	{ "g#s/../x", "http://a/b/c/g#s/../x" },
};

START_TEST(uri)
{
	char *r = em_uri_resolve("http://a/b/c/d;p?q", uri_cases[_i].ref);

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strcmp(r, uri_cases[_i].want) == 0, "'%s': '%s', expected '%s'",
	    uri_cases[_i].ref, r, uri_cases[_i].want);
	free(r);
}
END_TEST

START_TEST(uri_urn)
{
	char *r = em_uri_resolve("urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed", "#/$defs/a");

	ck_assert_str_eq(r, "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#/$defs/a");
	free(r);
	r = em_uri_resolve("http://e.org", "a.json");
	ck_assert_str_eq(r, "http://e.org/a.json");
	free(r);
}
END_TEST

Suite *
jschema_suite(void)
{
	Suite *s = suite_create("jschema");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, keywords, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, errors, 0, sizeof(ecases) / sizeof(ecases[0]));
	tcase_add_test(tc, error_list);
	tcase_add_test(tc, error_growth);
	tcase_add_loop_test(tc, compile_errors, 0, sizeof(bad_schemas) / sizeof(bad_schemas[0]));
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, message_values_cut);
	tcase_add_test(tc, reuse);
	tcase_add_test(tc, regex_limit);
	tcase_add_test(tc, threads);
	tcase_add_loop_test(tc, equality, 0, sizeof(eq_cases) / sizeof(eq_cases[0]));
	tcase_add_loop_test(tc, uri, 0, sizeof(uri_cases) / sizeof(uri_cases[0]));
	tcase_add_test(tc, uri_urn);
	suite_add_tcase(s, tc);
	return s;
}
