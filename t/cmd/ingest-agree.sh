# ingest-agree.sh - em-ingest's table and its catalog come from the same records, so they
# agree whatever happened: a fresh run, and a re-run over a complete store whose chunk was
# cut short (em-meta fails on it; the record stays complete; the run says it failed).
# Against the demo mirror, under dash.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

PY=/usr/bin/python3
command -v dash >/dev/null || skip "no dash (deps/debian.txt lists it)"
$PY -c 'import numpy, tifffile' 2>/dev/null || skip "python3-numpy or -tifffile missing (make deps)"
[ -x "$TOP/t/prog/mkdm3" ] || skip "no t/prog/mkdm3"
for t in fetch-dvid fetch-epfl; do
	[ -x "$TOP/$t/$t" ] || skip "$t is not built"
done
if grep -q -e '-fsanitize=[a-z,]*address' "$TOP/.build-flags" 2>/dev/null; then
	EM_NO_ADDRESS_LIMIT=1
	export EM_NO_ADDRESS_LIMIT
fi
sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH" >"$SCRATCH/mirror.out" 2>&1 ||
	{ cat "$SCRATCH/mirror.out"; fail "demo-mirror.sh"; done_testing; }
start_origin o --root "$SCRATCH/www"
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" \
	-e 's|^global:$|global:\n  chunks: [8, 16, 16]\n  jobs: 2|' \
	"$SCRATCH/overlay.yaml.in" >"$SCRATCH/overlay.yaml"
EM_CONFIG=$TOP/config/config.yaml
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
EM_SCHEMA=$TOP/schemas/metadata_schema.json
export EM_CONFIG EM_CONFIG_OVERLAY EM_SCHEMA
unset EM_EXECUTION_MODE EM_MEMORY_BUDGET EM_DATA_ROOT EM_LOGS_DIR EM_CATALOG_DIR EM_CACHE_DIR

# agree DESC: the table on stdout names, per source, the status the newest catalog gives
# that source's records; prints the table's lines for the log.
cat >"$SCRATCH/agree.py" <<'PYEOF'
import glob, json, sys
table = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 2 and f[0] in ("dvid", "epfl"):
        table[f[0]] = f[1]
cat = json.load(open(sorted(glob.glob(sys.argv[2] + "/metadata_catalog_*.json"))[-1]))
want = {}
for r in cat["records"]:
    want.setdefault(r["source"], r["status"])
    if r["status"] != "complete":
        want[r["source"]] = r["status"]
print("table %s catalog %s" % (sorted(table.items()), sorted(want.items())))
sys.exit(0 if table == want and table else 1)
PYEOF
agree() {
	if got=$($PY "$SCRATCH/agree.py" "$SCRATCH/out" "$D/catalog"); then ok "$1: $got"
	else fail "$1: $got"; fi
}

D=$SCRATCH/run
mkdir -p "$D"
(cd "$D" && exec dash "$TOP/em-ingest" dvid epfl) >"$SCRATCH/out" 2>"$SCRATCH/err"
RC=$?
expect_rc 0 "first run: complete"
agree "first run: the table is the catalog"

# A chunk of the complete EPFL store cut short, as a crash of the disk would leave it.
set -- $(find "$D/data/epfl" -path '*.zarr/0/*' -type f ! -name '.*' | sort)
[ $# -gt 1 ] && ok "the EPFL store has $# chunks" || fail "no chunks in the EPFL store"
head -c 10 "$1" >"$SCRATCH/cut" && cat "$SCRATCH/cut" >"$1"
(cd "$D" && exec dash "$TOP/em-ingest" dvid epfl) >"$SCRATCH/out" 2>"$SCRATCH/err"
RC=$?
agree "re-run over a cut chunk: the table is the catalog"
sed 's/^/# /' "$SCRATCH/out"
if [ "$RC" -eq 0 ]; then
	# The fetcher found the cut chunk and wrote it again.
	expect_grep '^epfl  *complete ' "$SCRATCH/out" "re-run: epfl repaired and complete"
else
	expect_rc 1 "re-run: em-meta failed on the cut chunk, exit 1"
	expect_grep "^em-ingest: epfl: complete, but this run failed (exit 0 1 0; see ./logs/epfl.log)$" \
		"$SCRATCH/err" "re-run: stderr says the run failed though the record stays complete"
	expect_grep "em-meta: .*cannot read store" "$D/logs/epfl.log" "re-run: em-meta's reason is in the log"
fi
expect_grep '^dvid  *complete  *16x32x32 ' "$SCRATCH/out" "re-run: dvid complete, with its shape"
done_testing
