# record-schema.sh - the record schema is valid 2020-12; the example records and the records the
# record API writes validate (python3-jsonschema), each invalid example fails for its one reason.
. "$(dirname "$0")/../lib.sh"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed (make deps)"
SCHEMA=$TOP/schemas/metadata_schema.json
RECS=$TOP/t/data/records

# check.py SCHEMA FILE...: one line per file, "valid" or "invalid<TAB>path<TAB>keyword" per error.
cat >"$SCRATCH/check.py" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    errs = sorted(v.iter_errors(json.load(open(f))), key=lambda e: e.json_path)
    if not errs:
        print(f"{f}\tvalid")
    for e in errs:
        print(f"{f}\tinvalid\t{e.json_path}\t{e.validator}\t{e.message[:200]}")
PY

run python3 -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(s)
assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema", s["$schema"]
assert s["$id"].startswith("https://"), s["$id"]
assert s["additionalProperties"] is False
assert set(s["properties"]["source"]["enum"]) == {"empiar", "epfl", "dvid", "idr", "openorganelle", "precomputed"}
assert s["$defs"]["status"]["enum"] == ["pending", "processing", "saving-data", "complete", "failed", "cancelled"]
' "$SCHEMA"
expect_rc 0 "the schema is a valid JSON Schema 2020-12 with \$schema, \$id and closed top level"

# Every valid example validates.
run python3 "$SCRATCH/check.py" "$SCHEMA" "$RECS"/valid-*.json
nv=$(ls "$RECS"/valid-*.json | wc -l)
n=$(awk -F '\t' '$2 == "valid"' "$SCRATCH/out" | wc -l)
if [ "$RC" -eq 0 ] && [ "$n" -eq "$nv" ] && [ "$n" -ge 8 ]; then
	ok "$n valid example records validate"
else
	fail "$n of $nv valid examples validate"; grep -v '	valid$' "$SCRATCH/out" | sed 's/^/#   /'
	sed 's/^/#   /' "$SCRATCH/err"
fi

# Every invalid example fails with exactly the one error its line in invalid-reasons.tsv names.
run python3 "$SCRATCH/check.py" "$SCHEMA" "$RECS"/invalid-*.json
cp "$SCRATCH/out" "$SCRATCH/invalid.out"
n=0
for f in "$RECS"/invalid-*.json; do
	b=${f##*/}
	want=$(awk -F '\t' -v f="$b" '$1 == f { print $2 "\t" $3 }' "$RECS/invalid-reasons.tsv")
	[ -n "$want" ] || { fail "$b has no line in invalid-reasons.tsv"; continue; }
	awk -F '\t' -v f="$f" '$1 == f' "$SCRATCH/invalid.out" >"$SCRATCH/one"
	got=$(cut -f3,4 "$SCRATCH/one")
	if [ "$(wc -l <"$SCRATCH/one")" -eq 1 ] && [ "$got" = "$want" ]; then n=$((n + 1)); else
		fail "$b: expected one error '$want'"; sed 's/^/#   /' "$SCRATCH/one"
	fi
done
[ "$n" -ge 30 ] && ok "$n invalid example records each fail for their one reason" ||
	fail "only $n invalid examples passed"
nt=$(grep -vc '^#' "$RECS/invalid-reasons.tsv")
nf=$(ls "$RECS"/invalid-*.json | wc -l)
[ "$nt" -eq "$nf" ] && ok "invalid-reasons.tsv lists every invalid example" ||
	fail "invalid-reasons.tsv has $nt lines for $nf files"

# Records written by the record API validate in every status it can reach.
D=$SCRATCH/data
i=0
for seq in "" "processing" "processing,saving-data" "processing,saving-data,complete" \
	"processing,failed:HTTP 500" "cancelled" "processing,saving-data,cancelled:interrupted by SIGINT" \
	"processing,saving-data,complete,processing" \
	"failed:bad DM3,pending,processing,saving-data,complete" "start,saving-data,start" \
	"processing,saving-data,complete,start" "start,start"; do
	i=$((i + 1))
	oldifs=$IFS
	IFS=,
	# shellcheck disable=SC2086
	set -- $seq
	IFS=$oldifs
	run mkrecord "$D" idr "vol$i" "$@"
	expect_rc 0 "record API: pending${seq:+,}$seq"
done
run python3 "$SCRATCH/check.py" "$SCHEMA" "$D"/idr/vol*.json
n=$(awk -F '\t' '$2 == "valid"' "$SCRATCH/out" | wc -l)
if [ "$n" -eq "$i" ]; then ok "the $i records the record API wrote validate"; else
	fail "$n of $i records the record API wrote validate"; sed 's/^/#   /' "$SCRATCH/out"
fi
ls -a "$D/idr" >"$SCRATCH/ls"
expect_nogrep '\.tmp' "$SCRATCH/ls" "no temporary files are left beside the records"

# The status of a saved record moves on from the file, and illegal moves fail without a change.
run mkrecord "$D" dvid crop processing saving-data
cp "$D/dvid/crop.json" "$SCRATCH/before.json"
run mkrecord "$D" dvid crop pending
expect_rc 1 "saving-data -> pending is refused"
expect_grep "cannot move the record from 'saving-data' to 'pending'" "$SCRATCH/err" \
	"the refusal names both statuses"
expect_same "$SCRATCH/before.json" "$D/dvid/crop.json" "a refused transition leaves the file as it was"
run mkrecord "$D" dvid crop failed
expect_rc 1 "failed without a message is refused"
run mkrecord "$D" dvid crop complete
expect_rc 0 "saving-data -> complete from the saved record"
run mkrecord "$D" dvid crop processing
expect_rc 0 "a new run of a complete volume"
run python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "processing", r["status"]
assert [h["status"] for h in r["status_history"]] == ["processing"], r["status_history"]
assert [p["status"] for p in r["previous_runs"]] == ["complete"], r["previous_runs"]
assert "sha256" not in r and "statistics" not in r
' "$D/dvid/crop.json"
expect_rc 0 "the new run starts a fresh history and keeps the old outcome in previous_runs"

# A run that died while processing is closed as failed when the next one starts; one whose
# fetch finished (saving-data, every chunk done) is carried on by the next, not failed.
run python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "processing", r["status"]
p = r["previous_runs"]
assert [x["status"] for x in p] == ["failed"], p
assert p[0]["error"] == "the run did not finish (it stopped in status '"'processing'"')", p
r = json.load(open(sys.argv[2]))
assert r["status"] == "processing" and not r.get("previous_runs"), r
assert [h["status"] for h in r["status_history"]] == ["pending", "processing", "saving-data", "processing"]
' "$D/idr/vol12.json" "$D/idr/vol10.json"
expect_rc 0 "a new run closes a dead one as failed, with the reason"

# The man page documents every field of the schema.
MAN=$TOP/man/em-record.5
run python3 -c '
import json, re, sys
s = json.load(open(sys.argv[1]))
man = open(sys.argv[2]).read()
missing = [k for k in s["properties"] if not re.search(r"^\.It Cm " + re.escape(k) + r"\b", man, re.M)]
assert not missing, "undocumented fields: %s" % missing
' "$SCHEMA" "$MAN"
expect_rc 0 "em-record(5) has an entry for every field of the schema"
done_testing
