# records.sh - sourced after t/lib.sh by tests that read the records fetchers print ($PY set):
# one field of a record, and a record checked against the schema by python3-jsonschema.

# field FILE NAME: a top-level field of the first JSON line of FILE (JSON unless a string).
field() {
	$PY -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); v=r.get(sys.argv[2]); print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"
}

# valid FILE DESC: the first JSON line of FILE validates against the record schema.
valid() {
	if $PY -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
r = json.loads(open(sys.argv[2]).readline())
errs = [e.json_path + ": " + e.message[:120] for e in jsonschema.Draft202012Validator(s).iter_errors(r)]
print("\n".join(errs)); sys.exit(1 if errs else 0)' "$TOP/schemas/metadata_schema.json" "$1" \
	    >"$SCRATCH/schema.err" 2>&1; then
		ok "$2"
	else
		fail "$2"; sed 's/^/#   /' "$SCRATCH/schema.err" | head -n 5
	fi
}
