# ingest-mirror.sh - em-ingest end to end with the real fetchers against the demo
# mirror (scripts/demo-mirror.sh -s small) on em-origin: five complete records that
# em-validate and python3-jsonschema accept, a catalog listing them, the same stores
# and records in every execution mode, and SIGTERM in the heavy stage then a re-run
# that resumes and ends identical.  Run under dash, from the build tree.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/double/procs.sh"

PY=/usr/bin/python3
command -v dash >/dev/null || skip "no dash (deps/debian.txt lists it)"
$PY -c 'import numpy, tifffile, zarr, numcodecs, jsonschema' 2>/dev/null ||
	skip "python3-numpy, -tifffile, -zarr, -numcodecs or -jsonschema missing (make deps)"
[ -x "$TOP/t/prog/mkdm3" ] || skip "no t/prog/mkdm3 (the DM3 writer of the file fetchers' tests)"
ALL="empiar epfl dvid idr openorganelle"
# AddressSanitizer reserves terabytes of address space: no ulimit -v for such a build.
if [ "$ASAN" -eq 1 ]; then
	EM_NO_ADDRESS_LIMIT=1
	export EM_NO_ADDRESS_LIMIT
else
	unset EM_NO_ADDRESS_LIMIT
fi
# A source whose fetcher is not built is left out, and said so.
SRC=""
for s in $ALL; do
	t=fetch-$s
	[ "$s" = openorganelle ] && t=fetch-zarr
	if [ -x "$TOP/$t/$t" ]; then SRC="$SRC $s"; else echo "# $s left out: $t is not built"; fi
done
[ -n "$SRC" ] || skip "no fetcher is built yet"
NSRC=$(echo $SRC | wc -w)

sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH" >"$SCRATCH/mirror.out" 2>&1 ||
	{ cat "$SCRATCH/mirror.out"; fail "demo-mirror.sh"; done_testing; }
# OpenOrganelle's chunks come slowly, so that the heavy stage can be interrupted.
start_origin o --root "$SCRATCH/www" --fault 'path=*/fibsem-int16/s0/*,delay=120'
# Paths relative to each run's directory, so that records of two runs compare; small
# chunks so that a volume is many chunks.
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" \
	-e 's|^global:$|global:\n  chunks: [8, 16, 16]\n  jobs: 2|' \
	"$SCRATCH/overlay.yaml.in" >"$SCRATCH/overlay.yaml"
EM_CONFIG=$TOP/config/config.yaml
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
EM_SCHEMA=$TOP/schemas/metadata_schema.json
export EM_CONFIG EM_CONFIG_OVERLAY EM_SCHEMA
unset EM_EXECUTION_MODE EM_MEMORY_BUDGET EM_DATA_ROOT EM_LOGS_DIR EM_CATALOG_DIR EM_CACHE_DIR

# ingest DIR: em-ingest (the build tree's, under dash) in DIR, made afresh.
ingest() {
	rm -rf "$1"
	mkdir -p "$1"
	# shellcheck disable=SC2086 # the sources are words
	(cd "$1" && exec dash "$TOP/em-ingest" $SRC) >"$SCRATCH/out" 2>"$SCRATCH/err"
	RC=$?
}

# same_results DIR1 DIR2 DESC [normrec options]
same_results() {
	_ok=1
	for st in "$1"/data/*/*.zarr; do
		_r=${st#"$1"/}
		same_store "$st" "$2/$_r" || { _ok=0; echo "# $_r differs"; }
	done
	# shellcheck disable=SC2086 # options
	$PY "$TOP/t/double/normrec.py" $4 "$1"/data/*/*.json >"$SCRATCH/n1"
	# shellcheck disable=SC2086
	$PY "$TOP/t/double/normrec.py" $4 "$2"/data/*/*.json >"$SCRATCH/n2"
	[ "$(wc -l <"$SCRATCH/n1")" -eq "$NSRC" ] || { _ok=0; echo "# not $NSRC records in $1"; }
	cmp -s "$SCRATCH/n1" "$SCRATCH/n2" || { _ok=0; diff "$SCRATCH/n1" "$SCRATCH/n2" | head -c 1500; }
	if [ "$_ok" -eq 1 ]; then ok "$3"; else fail "$3"; fi
}

# --- staged (the default) ---
ingest "$SCRATCH/staged"
expect_rc 0 "em-ingest against the mirror exits 0"
for s in $SRC; do
	expect_grep "^$s  *complete " "$SCRATCH/out" "summary: $s complete"
done
n=0
for r in "$SCRATCH"/staged/data/*/*.json; do
	grep -q '^  "status": "complete"' "$r" && n=$((n + 1))
done
[ "$n" -eq "$NSRC" ] && ok "$n complete records" || fail "$n complete records, expected $NSRC"
run em-validate "$SCRATCH"/staged/data/*/*.json
expect_rc 0 "em-validate accepts every record"
if $PY - "$EM_SCHEMA" "$SCRATCH"/staged/data/*/*.json >"$SCRATCH/py.out" 2>&1 <<'EOF'; then
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
bad = 0
for p in sys.argv[2:]:
    for e in v.iter_errors(json.load(open(p))):
        bad += 1
        print(p, list(e.absolute_path), e.message[:200])
sys.exit(1 if bad else 0)
EOF
	ok "python3-jsonschema accepts every record"
else
	fail "python3-jsonschema rejects records"; head -n 10 "$SCRATCH/py.out"
fi
# The mirror's EMPIAR API speaks the real API's units and types: pixel sizes in Å
# that agree with the DM3 files' own calibration, image sizes as strings.
E=$SCRATCH/staged/data/empiar/EMPIAR-11759.json
if [ -f "$E" ]; then
	$PY - "$E" >"$SCRATCH/py.out" 2>&1 <<'PYEOF' && ok "the mirror's EMPIAR pixel sizes are in Å and agree with the files" ||
import json, sys
r = json.load(open(sys.argv[1]))
s = r["source_metadata"]["imageset"]
assert r["voxel_size_source"][1:] == ["file", "file"], r["voxel_size_source"]
for k, a in (("pixel_height", 1), ("pixel_width", 2)):
    assert abs(s[k] / 10 - r["voxel_size_nm"][a]) < 1e-6, (k, s[k], r["voxel_size_nm"])
assert isinstance(s["image_width"], str) and isinstance(s["image_height"], str), s
PYEOF
		{ fail "the mirror's EMPIAR API"; tail -n 3 "$SCRATCH/py.out"; }
fi
set -- "$SCRATCH"/staged/catalog/metadata_catalog_*.json
if [ -f "$1" ]; then
	$PY - "$1" $SRC >"$SCRATCH/cat.out" 2>&1 <<'EOF'
import json, sys
cat = json.load(open(sys.argv[1]))
text = json.dumps(cat)
recs = []
def walk(v):
    if isinstance(v, dict):
        if "source" in v and "status" in v and "id" in v:
            recs.append(v)
        else:
            for x in v.values():
                walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(cat)
for s in sys.argv[2:]:
    got = [r for r in recs if r["source"] == s and r["status"] == "complete"]
    print(s, len(got))
EOF
	for s in $SRC; do
		expect_grep "^$s 1$" "$SCRATCH/cat.out" "the catalog lists the complete $s record"
	done
else
	fail "no catalog in $SCRATCH/staged/catalog"
fi
for s in $SRC; do
	expect_grep "em-ingest: $s: complete (exit 0 0 0)" "$SCRATCH/staged/logs/$s.log" "logs/$s.log ends complete"
done

# --- parallel and sequential: the same stores and records ---
EM_EXECUTION_MODE=parallel ingest "$SCRATCH/parallel"
expect_rc 0 "parallel mode exits 0"
EM_EXECUTION_MODE=sequential ingest "$SCRATCH/sequential"
expect_rc 0 "sequential mode exits 0"
same_results "$SCRATCH/staged" "$SCRATCH/parallel" "staged and parallel: identical stores, records apart from times and shares" --shares
same_results "$SCRATCH/staged" "$SCRATCH/sequential" "staged and sequential: identical stores, records apart from times and shares" --shares

# --- SIGTERM in the heavy stage, then a re-run ---
case " $SRC " in
*" openorganelle "*)
	rm -rf "$SCRATCH/killed"
	mkdir -p "$SCRATCH/killed"
	# shellcheck disable=SC2086
	(cd "$SCRATCH/killed" && exec dash "$TOP/em-ingest" $SRC) >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	i=0
	# Until openorganelle has written a few chunks (its source chunks come slowly).
	while [ "$(find "$SCRATCH/killed/data/openorganelle" -path '*.zarr/0/*' -type f 2>/dev/null | wc -l)" -lt 2 ]; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || break
		sleep 0.05
	done
	kill -TERM "$pid"
	wait "$pid"
	RC=$?
	expect_rc 143 "SIGTERM in the heavy stage: em-ingest exits 143"
	expect_grep '^openorganelle  *cancelled ' "$SCRATCH/out" "summary: openorganelle cancelled"
	set -- "$SCRATCH"/killed/data/openorganelle/*.json
	expect_grep '^  "status": "cancelled"' "$1" "its record says cancelled"
	sleep 0.2
	if running_in "$SCRATCH/killed"; then
		fail "a tool still runs after em-ingest exited"
	else ok "every tool stopped"; fi
	done_before=$(find "$SCRATCH/killed/data/openorganelle" -path '*.zarr/0/*' -type f | wc -l)
	(cd "$SCRATCH/killed" && exec dash "$TOP/em-ingest" $SRC) >"$SCRATCH/out" 2>"$SCRATCH/err"
	RC=$?
	expect_rc 0 "the re-run completes"
	expect_grep '^openorganelle  *complete ' "$SCRATCH/out" "openorganelle complete after the re-run"
	[ "$done_before" -gt 0 ] && ok "$done_before chunks were kept from the killed run" ||
		fail "no chunk written before the kill"
	same_results "$SCRATCH/staged" "$SCRATCH/killed" "killed and resumed: identical stores, records apart from times and the earlier run" "--shares --resumed"
	;;
*) echo "# SIGTERM in the heavy stage: not tested, fetch-zarr is not built" ;;
esac

# --- the memory budget with the real tools: a small one, sampled from /proc ---
if [ "$ASAN" -eq 1 ]; then
	echo "# memory budget: not measured in an AddressSanitizer build"
else
	rm -rf "$SCRATCH/mem"
	mkdir -p "$SCRATCH/mem"
	# shellcheck disable=SC2086
	(cd "$SCRATCH/mem" && EM_MEMORY_BUDGET=96M exec dash "$TOP/em-ingest" $SRC) \
		>"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	sample_rss "$pid" "$SCRATCH/rss"
	wait "$pid"
	RC=$?
	expect_rc 0 "every source completes within a 96 MiB budget"
	max=$(sort -n "$SCRATCH/rss" | tail -n 1)
	[ "$max" -le $((96 * 1024)) ] && ok "peak summed RSS of the tools $max KiB, within 96 MiB" ||
		fail "peak summed RSS $max KiB over the 96 MiB budget"
	# The shares each pipeline was given, from the logs: the light stage's sum and
	# each heavy one within the budget.
	cat "$SCRATCH"/mem/logs/*.log | sed -n 's/.*em-ingest: \([a-z]*\): fetch-.* share \([0-9]*\) bytes)$/\1 \2/p' |
		awk -v B=$((96 * 1048576)) '$1 ~ /^(idr|dvid|empiar)$/ { light += $2; next }
			$2 > B { over = 1 } END { print (light <= B && !over ? "fits" : "over") }' >"$SCRATCH/fits"
	expect_grep '^fits$' "$SCRATCH/fits" "the shares of every stage sum to no more than the budget"
fi
done_testing
