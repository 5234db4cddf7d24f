# em-validate-default.sh - em-validate with no -s uses schemas/metadata_schema.json of the build tree.
. "$(dirname "$0")/../lib.sh"

[ -f "$TOP/schemas/metadata_schema.json" ] || skip "no schemas/metadata_schema.json in this tree yet"
unset EM_SCHEMA EM_DATADIR
cd "$SCRATCH" || exit 1

# The suite's own schema compiles: every $ref resolves, every pattern compiles.
echo '{}' >empty.json
run em-validate empty.json
expect_rc 1 "an empty object is not a metadata record"
expect_grep "^empty.json:1: (root): required: required property '[a-z_]*' is missing" out "missing fields reported at the root"
[ -s err ] && { fail "nothing on stderr"; sed 's/^/#   /' err; } || ok "nothing on stderr"

echo '"not a record"' >scalar.json
run em-validate scalar.json
expect_rc 1 "a string is not a metadata record"
expect_grep "^scalar.json:1: (root): type: expected object" out "type reported"

# The example records of t/data/records: each valid one passes, each invalid
# one fails with exactly the one error invalid-reasons.tsv names (a JSON
# path there, a JSON pointer here; the lists come from python3-jsonschema).
RECS=$TOP/t/data/records
if [ -f "$RECS/invalid-reasons.tsv" ]; then
	run em-validate "$RECS"/valid-*.json
	expect_rc 0 "$(ls "$RECS"/valid-*.json | wc -l) valid example records pass"
	[ -s out ] && sed 's/^/#   /' out
	n=0
	grep -v '^#' "$RECS/invalid-reasons.tsv" >reasons
	while IFS='	' read -r f path kw; do
		ptr=$(printf '%s\n' "$path" | sed 's/^\$//; s/\[\([0-9]*\)\]/.\1/g; s|\.|/|g')
		[ -n "$ptr" ] || ptr="(root)"
		# python3-jsonschema places a property that is not allowed at its
		# object; em-validate at the property itself.
		if [ "$kw" = additionalProperties ]; then
			[ "$ptr" = "(root)" ] && ptr=
			ptr="$ptr/[^/:]*"
		fi
		em-validate "$RECS/$f" >one 2>&1
		rc=$?
		if [ "$rc" -eq 1 ] && [ "$(wc -l <one)" -eq 1 ] &&
			grep -q "^$RECS/$f:1: $ptr: $kw: " one; then
			n=$((n + 1))
		else
			fail "$f: expected exit 1 and one error '$ptr: $kw'"; sed 's/^/#   /' one
		fi
	done <reasons
	[ "$n" -gt 0 ] && ok "$n invalid example records each fail for their one reason"
fi

# The same verdicts as python3-jsonschema's Draft202012Validator.
if python3 -c 'import jsonschema' 2>/dev/null; then
	printf '%s\n' '{}' '[]' '"x"' '{"id": 3}' '{"schema_version": "1", "id": "a", "source": "epfl"}' >docs.jsonl
	python3 - "$TOP/schemas/metadata_schema.json" docs.jsonl >want <<'PY'
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
for n, line in enumerate(open(sys.argv[2]), 1):
    if not v.is_valid(json.loads(line)):
        print(n)
PY
	run em-validate docs.jsonl
	cut -d: -f2 out | uniq >got
	expect_same want got "same invalid documents as python3-jsonschema"
fi
done_testing
