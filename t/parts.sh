# parts.sh - sourced after t/lib.sh by the tests of split runs (--part I/N): running the
# parts, reading their records, comparing a merged record with one run's.  Needs $PY.

# same_record A B DESC [SKIP]: the fields a run computes are the same in both records
# (but SKIP, a field name).
same_record() {
	if $PY - "$1" "$2" "${4:-}" >"$SCRATCH/diff" <<'EOF'; then ok "$3"; else fail "$3"; sed 's/^/#   /' "$SCRATCH/diff"; fi
import json, sys
a, b = (json.loads(open(p).readline()) for p in sys.argv[1:3])
bad = [k for k in ("status", "sha256", "statistics", "levels", "volume_shape", "chunk_size",
                   "data_type", "file_size_bytes", "compression", "zarr_format", "progress")
       if a.get(k) != b.get(k) and k != sys.argv[3]]
for k in bad:
    print(k, json.dumps(a.get(k))[:200], json.dumps(b.get(k))[:200])
sys.exit(1 if bad else 0)
EOF
}
# field FILE EXPR: a value of the record on FILE's first line (a Python expression over r).
field() {
	$PY -c 'import json, sys
r = json.loads(open(sys.argv[1]).readline())
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, tuple) else v)' "$1" "$2"
}
# parts N NAME TOOL ARGS...: parts 1..N at once, each "TOOL --part I/N | em-meta" into
# NAME.I.rec, the tool's stderr in NAME.I.ferr; exit statuses of em-meta in NAME.I.rc.
parts() {
	_n=$1 _name=$2 _tool=$3
	shift 3
	_i=1 _pids=""
	while [ "$_i" -le "$_n" ]; do
		("$_tool" "$@" --part "$_i/$_n" 2>"$_name.$_i.ferr" | em-meta -q >"$_name.$_i.rec" \
			2>"$_name.$_i.err"; echo $? >"$_name.$_i.rc") &
		_pids="$_pids $!"
		_i=$((_i + 1))
	done
	for _p in $_pids; do wait "$_p"; done
}
