# jschema-differential.sh - lib/jschema agrees with python3-jsonschema on random schemas and documents.
#
# A fixed-seed generator draws schemas from the keyword families (no
# pattern: Python's re is not ECMA-262) and documents near their edges;
# python3-jsonschema's Draft202012Validator decides the expected verdict and
# jsonschema-suite checks ours against it.
. "$(dirname "$0")/../lib.sh"

python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed (make deps)"

python3 - >"$SCRATCH/random.json" <<'PY'
import json, random
from jsonschema import Draft202012Validator

r = random.Random(20201212)
KEYS = ["a", "b", "c", "d"]

def value(depth=0):
    k = r.randrange(9 if depth < 2 else 6)
    if k == 0: return None
    if k == 1: return r.choice([True, False])
    if k == 2: return r.randint(-3, 3)
    if k == 3: return r.choice([0.5, 1.0, -1.5, 2.0, 3.25])
    if k == 4: return r.choice(["", "a", "ab", "abc", "\u00e9t\u00e9"])
    if k == 5: return r.choice([0, 1, 2])
    if k in (6, 7): return [value(depth + 1) for _ in range(r.randrange(4))]
    return {x: value(depth + 1) for x in r.sample(KEYS, r.randrange(4))}

def schema(depth=0):
    if depth > 2 or r.random() < 0.15:
        return r.choice([True, False, {}])
    s = {}
    for _ in range(r.randrange(1, 4)):
        k = r.randrange(24)
        if k == 0: s["type"] = r.choice(["integer", "number", "string", "array", "object",
                                         "null", "boolean", ["integer", "string"]])
        elif k == 1: s["enum"] = [value(1) for _ in range(r.randrange(1, 4))]
        elif k == 2: s["const"] = value(1)
        elif k == 3: s[r.choice(["minimum", "maximum", "exclusiveMinimum",
                                 "exclusiveMaximum"])] = r.choice([-1, 0, 1, 1.5, 2])
        elif k == 4: s["multipleOf"] = r.choice([1, 2, 0.5, 1.5])
        elif k == 5: s[r.choice(["minLength", "maxLength"])] = r.randrange(4)
        elif k == 6: s[r.choice(["minItems", "maxItems", "minProperties",
                                 "maxProperties"])] = r.randrange(4)
        elif k == 7: s["uniqueItems"] = r.choice([True, False])
        elif k == 8: s["items"] = schema(depth + 1)
        elif k == 9: s["prefixItems"] = [schema(depth + 1) for _ in range(r.randrange(1, 3))]
        elif k == 10:
            s["contains"] = schema(depth + 1)
            if r.random() < 0.5: s["minContains"] = r.randrange(3)
            if r.random() < 0.5: s["maxContains"] = r.randrange(3)
        elif k == 11: s["properties"] = {x: schema(depth + 1) for x in r.sample(KEYS, 2)}
        elif k == 12: s["required"] = r.sample(KEYS, r.randrange(1, 3))
        elif k == 13: s["additionalProperties"] = schema(depth + 1)
        elif k == 14: s["propertyNames"] = {"enum": r.sample(KEYS, 2)}
        elif k == 15: s["dependentRequired"] = {r.choice(KEYS): r.sample(KEYS, 1)}
        elif k == 16: s["dependentSchemas"] = {r.choice(KEYS): schema(depth + 1)}
        elif k == 17: s[r.choice(["allOf", "anyOf", "oneOf"])] = [schema(depth + 1)
                                                              for _ in range(r.randrange(1, 4))]
        elif k == 18: s["not"] = schema(depth + 1)
        elif k == 19:
            s["if"] = schema(depth + 1)
            s[r.choice(["then", "else"])] = schema(depth + 1)
        elif k == 20: s["unevaluatedProperties"] = schema(depth + 1)
        elif k == 21: s["unevaluatedItems"] = schema(depth + 1)
        elif k == 22:
            name = "d%d" % len(defs)
            defs[name] = None
            defs[name] = schema(depth + 1)
            s["$ref"] = "#/$defs/" + name
        else: s["patternProperties"] = {"^[ab]$": schema(depth + 1)}
    return s

groups = []
for g in range(400):
    defs = {}
    sc = schema()
    if defs:
        sc = {"$defs": defs, "allOf": [sc]}
    v = Draft202012Validator(sc)
    tests = []
    for t in range(6):
        d = value()
        tests.append({"description": "document %d: %s" % (t, json.dumps(d)), "data": d,
                      "valid": v.is_valid(d)})
    groups.append({"description": "random %d: %s" % (g, json.dumps(sc)), "schema": sc,
                   "tests": tests})
print(json.dumps(groups))
PY
[ -s "$SCRATCH/random.json" ] || { fail "generator failed"; done_testing; }
run jsonschema-suite "$SCRATCH/random.json"
expect_rc 0 "same verdicts as python3-jsonschema on 2400 random cases"
[ "$RC" -eq 0 ] || grep -A1 '^FAIL' "$SCRATCH/out" | head -n 20
tail -n 1 "$SCRATCH/out"

# Robustness: keywords with values of every type, valid or not, nested and
# referring to each other.  Nothing is expected of the verdicts; the
# program must not crash (under make SANITIZE=address,undefined this also
# checks memory).
python3 - >"$SCRATCH/chaos.json" <<'PY'
import json, random
r = random.Random(77)
KW = ["type", "enum", "const", "properties", "required", "additionalProperties",
      "patternProperties", "propertyNames", "minProperties", "maxProperties", "items",
      "prefixItems", "contains", "minContains", "maxContains", "minItems", "maxItems",
      "uniqueItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
      "minLength", "maxLength", "pattern", "allOf", "anyOf", "oneOf", "not", "if", "then",
      "else", "dependentRequired", "dependentSchemas", "$ref", "$defs", "$id", "$anchor",
      "$dynamicRef", "$dynamicAnchor", "unevaluatedProperties", "unevaluatedItems", "format"]
REFS = ["#", "#/$defs/a", "#/$defs/b", "#a", "#/properties/x", "a.json", "#/items", "#/%24defs/a",
        "#/$defs/a~1b", "urn:x#/$defs/a", "#/prefixItems/0", "#/allOf/0/not"]

def junk(d):
    k = r.randrange(10)
    if k == 0: return None
    if k == 1: return r.choice([True, False])
    if k == 2: return r.choice([-1, 0, 1, 2, 1.5, 1e300, -0.0])
    if k == 3: return r.choice(["", "a", "[", "(a|b)*c", "^\\d+$", "string", "integer",
                                "\\p{Letter}", "[^]", "\\u00e9"])
    if k == 4: return r.choice(REFS)
    if k in (5, 6) and d < 4: return [junk(d + 1) for _ in range(r.randrange(3))]
    if d < 4:
        return {r.choice(KW + ["x", "a", "b"]): junk(d + 1) for _ in range(r.randrange(4))}
    return {}

SUB = ["additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
       "unevaluatedProperties", "unevaluatedItems"]
LIST = ["prefixItems", "allOf", "anyOf", "oneOf"]
MAP = ["properties", "patternProperties", "dependentSchemas", "$defs"]
COUNT = ["minProperties", "maxProperties", "minContains", "maxContains", "minItems", "maxItems",
         "minLength", "maxLength"]

def sane(d):
    """A schema whose keyword values have the right types, odd as they may be."""
    if d > 3 or r.random() < 0.2:
        return r.choice([True, False, {}])
    s = {}
    for _ in range(r.randrange(1, 4)):
        k = r.choice(KW)
        if k in SUB: s[k] = sane(d + 1)
        elif k in LIST: s[k] = [sane(d + 1) for _ in range(r.randrange(1, 3))]
        elif k in MAP: s[k] = {r.choice(["a", "b", "^a", "a~1b", "a/b"]): sane(d + 1)
                               for _ in range(r.randrange(1, 3))}
        elif k in COUNT: s[k] = r.randrange(3)
        elif k in ("$ref", "$dynamicRef"): s[k] = r.choice(REFS)
        elif k in ("$anchor", "$dynamicAnchor"): s[k] = r.choice(["a", "b"])
        elif k == "$id": s[k] = r.choice(["a.json", "http://e.org/x", "urn:x", "sub/b.json"])
        elif k == "pattern": s[k] = r.choice(["a", "^\\d+$", "[^]", "\\p{Letter}", "(a|aa)+$"])
        elif k == "required": s[k] = r.sample(["a", "b", "x"], 2)
        elif k == "dependentRequired": s[k] = {"a": ["b"]}
        elif k == "type": s[k] = r.choice(["object", "array", "integer", ["string", "null"]])
        elif k == "multipleOf": s[k] = r.choice([1, 0.5, 3])
        elif k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            s[k] = r.choice([-1, 0, 1.5, 2])
        elif k == "uniqueItems": s[k] = r.choice([True, False])
        elif k == "enum": s[k] = [junk(2) for _ in range(2)]
        else: s[k] = junk(2)
    return s

groups = []
for g in range(1500):
    sc = r.choice([junk(0), {r.choice(KW): junk(1) for _ in range(r.randrange(1, 5))},
                   sane(0), sane(0), sane(0)])
    if isinstance(sc, dict) and r.random() < 0.5:
        sc["$defs"] = {"a": junk(1), "b": {"$ref": r.choice(REFS)}}
    groups.append({"description": "chaos %d" % g, "schema": sc,
                   "tests": [{"description": "d%d" % t, "data": junk(1), "valid": True}
                             for t in range(3)]})
print(json.dumps(groups))
PY
jsonschema-suite "$SCRATCH/chaos.json" >"$SCRATCH/chaos.out" 2>"$SCRATCH/err"
RC=$?
if [ "$RC" -le 1 ] && tail -n 1 "$SCRATCH/chaos.out" | grep -q ' passed, '; then
	ok "1500 malformed and odd schemas compile or fail cleanly ($(tail -n 1 "$SCRATCH/chaos.out"))"
else
	fail "chaos schemas: exit $RC"; tail -n 20 "$SCRATCH/err" | sed 's/^/#   /'
fi
done_testing
