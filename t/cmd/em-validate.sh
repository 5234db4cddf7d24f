# em-validate.sh - em-validate as a user drives it: reports, exit statuses, --filter bytes, bad inputs and schemas.
. "$(dirname "$0")/../lib.sh"

S=$SCRATCH
cat >"$S/schema.json" <<'EOF'
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id", "volume_shape"],
  "properties": {
    "id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
    "volume_shape": {"$ref": "#/$defs/zyx"},
    "voxel_size_nm": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}},
    "status": {"enum": ["pending", "complete", "failed"]}
  },
  "additionalProperties": false,
  "$defs": {
    "zyx": {"type": "array", "prefixItems": [{"type": "integer", "minimum": 1},
      {"type": "integer", "minimum": 1}, {"type": "integer", "minimum": 1}],
      "items": false, "minItems": 3}
  }
}
EOF

# Valid JSON Lines: nothing on stdout, exit 0.
printf '%s\n' '{"id":"a-1","volume_shape":[1,2,3]}' \
	'{"id":"b","volume_shape":[4,5,6],"voxel_size_nm":[8,8.5,8],"status":"complete"}' \
	>"$S/valid.jsonl"
run em-validate -s "$S/schema.json" "$S/valid.jsonl"
expect_rc 0 "valid JSON Lines exit 0"
[ -s "$S/out" ] && fail "valid documents print nothing" || ok "valid documents print nothing"
[ -s "$S/err" ] && fail "valid documents write nothing to stderr" || ok "nothing on stderr"

# Invalid documents: one line per failed keyword, numbered per input.
cd "$S" || exit 1
printf '%s\n' '{"id":"ok","volume_shape":[1,2,3]}' \
	'{"id":"Bad Id","volume_shape":[1,0,3,4],"voxel_size_nm":[0],"x":1}' \
	'{"volume_shape":[1,2,3],"status":"done"}' >bad.jsonl
run em-validate -s schema.json bad.jsonl
expect_rc 1 "invalid documents exit 1"
cat >want <<'EOF'
bad.jsonl:2: /id: pattern: expected a string matching '^[a-z0-9-]+$', got "Bad Id"
bad.jsonl:2: /volume_shape/1: minimum: expected a number >= 1, got 0
bad.jsonl:2: /volume_shape: items: expected at most 3 items, got 4
bad.jsonl:2: /voxel_size_nm/0: exclusiveMinimum: expected a number > 0, got 0
bad.jsonl:2: /x: additionalProperties: property 'x' is not allowed
bad.jsonl:3: (root): required: required property 'id' is missing
bad.jsonl:3: /status: enum: expected one of ["pending","complete","failed"], got "done"
EOF
expect_same want out "report lines: input:N: pointer: keyword: message"

# -v adds the schema location of each keyword and a summary on stderr.
run em-validate -v -s schema.json bad.jsonl
expect_rc 1 "-v exit 1"
expect_grep "^bad.jsonl:2: /volume_shape/1: minimum: expected a number >= 1, got 0 (schema #/\$defs/zyx/prefixItems/1/minimum)$" out "-v names the schema location through \$ref"
expect_grep "^em-validate: 3 documents, 1 valid, 2 invalid$" err "-v summary on stderr"

# -q: nothing at all, the status tells.
run em-validate -q -s schema.json bad.jsonl
expect_rc 1 "-q exit 1 on invalid"
[ -s out ] || [ -s err ] && fail "-q prints nothing" || ok "-q prints nothing"
run em-validate -q -s schema.json valid.jsonl
expect_rc 0 "-q exit 0 on valid"

# A pretty multi-line document, several texts on one line, stdin.
cat >pretty.json <<'EOF'
{
  "id": "pretty",
  "volume_shape": [
    10,
    20,
    0
  ]
}
EOF
run em-validate -s schema.json pretty.json
expect_rc 1 "pretty document checked"
echo 'pretty.json:1: /volume_shape/2: minimum: expected a number >= 1, got 0' >want
expect_same want out "pretty document is document 1"
printf '{"id":"a","volume_shape":[1,1,1]} {"id":"b"} {"id":"c","volume_shape":[1,1,1]}\n' >oneline
run sh -c 'em-validate -s schema.json <oneline'
expect_rc 1 "several texts on one line"
echo "<stdin>:2: (root): required: required property 'volume_shape' is missing" >want
expect_same want out "second text of the line is document 2, stdin named <stdin>"
run sh -c 'em-validate -s schema.json - <oneline'
expect_same want out "- is stdin"

# Scalar documents: every JSON value is a document.
printf '3 "abc" null [1] {"id":"s","volume_shape":[1,1,1]}\n' >scalars
run em-validate -s schema.json scalars
expect_rc 1 "scalar documents exit 1"
cat >want <<'EOF'
scalars:1: (root): type: expected object, got integer 3
scalars:2: (root): type: expected object, got string "abc"
scalars:3: (root): type: expected object, got null null
scalars:4: (root): type: expected object, got array [1]
EOF
expect_same want out "scalars reported, the object is valid"
echo '{"type":"integer","minimum":2}' >int.json
printf '2 2.0 1.5 3e0\n' >nums
run em-validate -s int.json nums
expect_rc 1 "integer schema"
printf '%s\n' 'nums:3: (root): type: expected integer, got number 1.5' \
	'nums:3: (root): minimum: expected a number >= 2, got 1.5' >want
expect_same want out "2.0 and 3e0 are integers, 1.5 is not"

# Malformed JSON mid-stream: documents before it are checked, the message
# names the input and the line, the next input is still read.
printf '%s\n' '{"id":"ok","volume_shape":[1,2,3]}' '{"id":"X","volume_shape":[1,2,3]}' \
	'{"id": "broken", ' '"volume_shape": [1,2' >broken.jsonl
run em-validate -s schema.json broken.jsonl bad.jsonl
expect_rc 1 "malformed input exit 1"
expect_grep "^broken.jsonl:2: /id: pattern: " out "document before the malformed text reported"
expect_grep "^em-validate: cannot read 'broken.jsonl': invalid JSON at line 5" err "malformed text: input and line named"
expect_grep "^bad.jsonl:3: (root): required:" out "next input still checked"
printf '{"id":"ok","volume_shape":[1,2,3]}\n{"id":"ok" "x"}\n' >garbage.jsonl
run em-validate -s schema.json garbage.jsonl
expect_rc 1 "malformed second text exit 1"
expect_grep "^em-validate: cannot read 'garbage.jsonl': invalid JSON at line 2, column" err "line and column of a bad text"
[ -s out ] && fail "no report for the valid first text" || ok "valid first text not reported"

# Unreadable files are reported and skipped; the status remembers them.
run em-validate -s schema.json no-such-file valid.jsonl
expect_rc 1 "missing file exit 1"
expect_grep "^em-validate: cannot read 'no-such-file': No such file or directory$" err "missing file named"
mkdir -p adir
run em-validate -s schema.json adir
expect_rc 1 "directory exit 1"
expect_grep "^em-validate: cannot read 'adir': " err "directory named"

# --filter: valid documents to stdout byte for byte, compacted to one line
# each; numbers and escapes keep their spelling; reports go to stderr.
printf '%s\n' '{"id":"f1","volume_shape":[1,2,3],"voxel_size_nm":[0.10,1e1,8.000]}' \
	'{"id":"Bad","volume_shape":[1,2,3]}' >f.jsonl
cat >>f.jsonl <<'EOF'
{
  "status" : "complete",
  "id": "f2",
  "volume_shape": [ 4, 5,	6 ]
}
{"id":"f3","volume_shape":[1,1,1],"status":"pend\u0069ng"}
EOF
run em-validate --filter -s schema.json f.jsonl
expect_rc 1 "--filter with an invalid document exit 1"
cat >want <<'EOF'
{"id":"f1","volume_shape":[1,2,3],"voxel_size_nm":[0.10,1e1,8.000]}
{"status":"complete","id":"f2","volume_shape":[4,5,6]}
{"id":"f3","volume_shape":[1,1,1],"status":"pend\u0069ng"}
EOF
expect_same want out "--filter output bytes"
echo "em-validate: f.jsonl:2: /id: pattern: expected a string matching '^[a-z0-9-]+\$', got \"Bad\"" >want
expect_same want err "--filter reports on stderr"
run sh -c 'cat valid.jsonl | em-validate --filter -s schema.json | em-validate -s schema.json'
expect_rc 0 "--filter in a pipeline"
echo '{"type":"string"}' >str.json
printf '"a  b" "c\\" d" "e\\\\"\n' >strs
run em-validate --filter -s str.json strs
printf '"a  b"\n"c\\" d"\n"e\\\\"\n' >want
expect_same want out "--filter keeps spaces and escaped quotes inside strings"
run em-validate -q --filter -s schema.json f.jsonl
expect_rc 1 "-q --filter exit 1"
[ -s err ] && fail "-q --filter reports nothing" || ok "-q --filter reports nothing"
[ "$(wc -l <out)" -eq 3 ] && ok "-q --filter still copies valid documents" || fail "-q --filter copies"

# Bounded errors per document.
python3 -c 'import json; print(json.dumps({"id": "m", "volume_shape": [1, 1, 1], "voxel_size_nm": [-1] * 25}))' >many.json
run em-validate -s schema.json many.json
expect_rc 1 "many errors exit 1"
[ "$(grep -c 'exclusiveMinimum' out)" -eq 20 ] && ok "20 errors shown" || fail "20 errors shown: $(grep -c exclusiveMinimum out)"
expect_grep "^many.json:1: (5 more errors not shown)$" out "the rest counted"

# Schemas: unreadable, malformed, invalid, unresolvable \$ref, a \$ref loop: exit 2.
run em-validate -s no-such-schema.json valid.jsonl
expect_rc 2 "missing schema exit 2"
expect_grep "^em-validate: cannot read schema 'no-such-schema.json': " err "missing schema named"
echo '{"type": ' >broken-schema.json
run em-validate -s broken-schema.json valid.jsonl
expect_rc 2 "malformed schema exit 2"
expect_grep "^em-validate: cannot read schema 'broken-schema.json': .*invalid JSON" err "malformed schema named"
echo '{"properties": {"a": {"minLength": -1}}}' >bad-kw.json
run em-validate -s bad-kw.json valid.jsonl
expect_rc 2 "invalid keyword exit 2"
expect_grep "^em-validate: invalid schema 'bad-kw.json': at '#/properties/a': minLength must be a non-negative integer$" err "invalid keyword located"
echo '{"type": "strin"}' >bad-type.json
run em-validate -s bad-type.json valid.jsonl
expect_rc 2 "unknown type exit 2"
echo '{"pattern": "(unclosed"}' >bad-re.json
run em-validate -s bad-re.json valid.jsonl
expect_rc 2 "bad regular expression exit 2"
expect_grep "invalid regular expression '(unclosed'" err "bad regular expression named"
echo '{"properties": {"a": {"$ref": "#/$defs/nothing"}}}' >bad-ref.json
run em-validate -s bad-ref.json valid.jsonl
expect_rc 2 "missing \$ref target exit 2"
expect_grep "^em-validate: invalid schema 'bad-ref.json': at '#/properties/a': unresolvable \$ref '#/\$defs/nothing'" err "missing \$ref named"
[ -s out ] && fail "no report when the schema is bad" || ok "no input read with a bad schema"
echo '{"$ref": "other.json#/x"}' >ext-ref.json
run em-validate -s ext-ref.json valid.jsonl
expect_rc 2 "\$ref to another document exit 2"
expect_grep "unresolvable \$ref 'other.json#/x'" err "external \$ref named"
echo '{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}' >loop.json
run em-validate -s loop.json valid.jsonl
expect_rc 2 "\$ref loop exit 2"
expect_grep "\$ref loop" err "\$ref loop explained"

# A schema recursing through items on a document nested too deeply.
echo '{"type": ["array", "integer"], "items": {"$ref": "#"}}' >tree.json
python3 -c 'print("[" * 600 + "]" * 600)' >deep.json
run em-validate -s tree.json deep.json
expect_rc 1 "too deep document exit 1"
expect_grep "^em-validate: cannot validate 'deep.json:1': schema applied more than" err "too deep document named"
python3 -c 'print("[" * 50 + "1" + "]" * 50)' >shallow.json
run em-validate -s tree.json shallow.json
expect_rc 0 "recursive schema on a nested document"

# The same verdicts as python3-jsonschema's Draft202012Validator on every document above.
if python3 -c 'import jsonschema' 2>/dev/null; then
	cat valid.jsonl bad.jsonl oneline scalars f.jsonl pretty.json >all
	python3 - schema.json all >want <<'PY'
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
text, dec, pos, n = open(sys.argv[2]).read(), json.JSONDecoder(), 0, 0
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos == len(text):
        break
    doc, pos = dec.raw_decode(text, pos)
    n += 1
    if not v.is_valid(doc):
        print(n)
PY
	run em-validate -s schema.json all
	cut -d: -f2 out | uniq >got
	expect_same want got "same invalid documents as python3-jsonschema"
fi

# A pattern that backtracks without end: stopped, reported, the next document still checked.
echo '{"pattern": "^(a|aa)+$"}' >re.json
printf '"%s"\n"aaaa"\n"%sb"\n' "$(printf 'a%.0s' $(seq 1 60))b" "$(printf 'a%.0s' $(seq 1 3))" >re.jsonl
run em-validate -s re.json re.jsonl
expect_rc 1 "runaway pattern exit 1"
expect_grep "^em-validate: cannot validate 're.jsonl:1': cannot match pattern '^(a|aa)+\$': match limit exceeded$" err "runaway pattern named"
expect_grep "^re.jsonl:3: (root): pattern: " out "next documents still checked"

# Default schema: $EM_SCHEMA, then the data path.
run env EM_SCHEMA="$S/schema.json" em-validate bad.jsonl
expect_rc 1 "EM_SCHEMA used"
expect_grep "^bad.jsonl:3: (root): required:" out "EM_SCHEMA schema applied"
mkdir -p bin data/schemas
cp "$TOP/em-validate/em-validate" bin/
cp schema.json data/schemas/metadata_schema.json
run env EM_DATADIR="$S/data" EM_SCHEMA= bin/em-validate bad.jsonl
expect_rc 1 "EM_DATADIR default schema used"
expect_grep "^bad.jsonl:3: (root): required:" out "default schema from EM_DATADIR applied"
if [ ! -e /usr/local/share/electron-microscopy-ingest/schemas/metadata_schema.json ]; then
	run env EM_DATADIR="$S/nowhere" EM_SCHEMA= bin/em-validate bad.jsonl
	expect_rc 2 "no default schema exit 2"
	expect_grep "^em-validate: cannot find schema 'schemas/metadata_schema.json'" err "missing default schema named"
fi

# Usage errors.
run em-validate -s
expect_rc 2 "-s without argument exit 2"
expect_grep "^usage: em-validate" err "usage on stderr"
done_testing
