# filefetch.sh - sourced after t/lib.sh and t/origin.sh by the file fetchers' tests
# (fetch-empiar, fetch-epfl, fetch-idr): schema checks, array digests, waiting on files.
PY=/usr/bin/python3

# validate FILE...: every JSON record (one per line or one per file) is valid against
# schemas/metadata_schema.json: em-validate when it is built, else python3-jsonschema.
validate() {
	if command -v em-validate >/dev/null 2>&1; then
		em-validate -q "$@" >/dev/null
		return $?
	fi
	$PY - "$TOP/schemas/metadata_schema.json" "$@" <<'EOF'
import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
bad = 0
for f in sys.argv[2:]:
    text = open(f).read()
    recs = [json.loads(l) for l in text.split("\n") if l.strip()] if text.lstrip().startswith("{") and "\n{" in text else [json.loads(text)]
    for r in recs:
        for e in v.iter_errors(r):
            bad += 1
            print("%s: %s at %s" % (f, e.message[:200], "/".join(map(str, e.path))), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

# zsum STORE: "shape dtype sha256" of the store's full-resolution array, read by zarr-python.
zsum() {
	$PY - "$1" <<'EOF'
import hashlib, sys, zarr, numpy as np
a = zarr.open(sys.argv[1], mode="r")["0"][...]
print(",".join(map(str, a.shape)), a.dtype.name,
      hashlib.sha256(a.astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest())
EOF
}

# wait_for CMD...: until the shell command succeeds (at most about 20 s); 1 if it never does.
wait_for() {
	_i=0
	while ! eval "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt 2000 ] && return 1
		sleep 0.01
	done
	return 0
}

# jget FILE EXPR: a Python expression on the record r (FILE: one record, or the last line's).
jget() {
	$PY - "$1" "$2" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
try:
    r = json.loads(t)
except ValueError:
    r = json.loads([l for l in t.split("\n") if l.strip()][-1])
print(eval(sys.argv[2]))
EOF
}
