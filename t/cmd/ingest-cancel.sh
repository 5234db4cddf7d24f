# ingest-cancel.sh - SIGTERM to em-ingest at any moment leaves every record it had started
# `cancelled` (or `complete`, when that volume had finished): never `processing` or
# `saving-data` (a tool that died of SIGPIPE before writing its record), nor a false
# `failed`.  Five trials, each stopped at a later moment, under dash.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

command -v dash >/dev/null || skip "no dash (deps/debian.txt lists it)"
/usr/bin/python3 -c 'import numpy, tifffile' 2>/dev/null || skip "python3-numpy or -tifffile missing (make deps)"
[ -x "$TOP/t/prog/mkdm3" ] || skip "no t/prog/mkdm3"
SRC=""
for s in empiar epfl dvid idr openorganelle; do
	t=fetch-$s
	[ "$s" = openorganelle ] && t=fetch-zarr
	[ -x "$TOP/$t/$t" ] && SRC="$SRC $s"
done
[ -n "$SRC" ] || skip "no fetcher is built yet"
if grep -q -e '-fsanitize=[a-z,]*address' "$TOP/.build-flags" 2>/dev/null; then
	EM_NO_ADDRESS_LIMIT=1
	export EM_NO_ADDRESS_LIMIT
fi

sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH" >"$SCRATCH/mirror.out" 2>&1 ||
	{ cat "$SCRATCH/mirror.out"; fail "demo-mirror.sh"; done_testing; }
# Every answer a little slow, so that each trial stops the pipelines in the middle.
start_origin o --root "$SCRATCH/www" --fault 'delay=30'
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" \
	-e 's|^global:$|global:\n  chunks: [8, 16, 16]\n  jobs: 2|' \
	"$SCRATCH/overlay.yaml.in" >"$SCRATCH/overlay.yaml"
EM_CONFIG=$TOP/config/config.yaml
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
EM_SCHEMA=$TOP/schemas/metadata_schema.json
EM_EXECUTION_MODE=parallel
export EM_CONFIG EM_CONFIG_OVERLAY EM_SCHEMA EM_EXECUTION_MODE
unset EM_MEMORY_BUDGET EM_DATA_ROOT EM_LOGS_DIR EM_CATALOG_DIR EM_CACHE_DIR

for trial in 1 2 3 4 5 6 7 8; do
	d=$SCRATCH/t$trial
	mkdir -p "$d"
	# shellcheck disable=SC2086 # the sources are words
	(cd "$d" && exec dash "$TOP/em-ingest" $SRC) >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	# Until the first record exists, then a little longer each trial.
	i=0
	while [ -z "$(find "$d/data" -name '*.json' 2>/dev/null | head -n 1)" ]; do
		i=$((i + 1))
		[ "$i" -lt 400 ] || break
		sleep 0.05
	done
	sleep "0.$((trial - 1))"
	kill -TERM "$pid"
	wait "$pid"
	RC=$?
	expect_rc 143 "trial $trial: em-ingest exits 143"
	n=0 bad=""
	for r in "$d"/data/*/*.json; do
		[ -f "$r" ] || continue
		n=$((n + 1))
		st=$(sed -n 's/^  "status": "\(.*\)",*$/\1/p' "$r")
		echo "# trial $trial: ${r#"$d"/data/}: ${st:-no status}"
		case $st in
		cancelled | complete) ;;
		*) bad="$bad ${r#"$d"/data/}:$st" ;;
		esac
	done
	if [ -z "$bad" ] && [ "$n" -gt 0 ]; then
		ok "trial $trial: all $n records cancelled or complete"
	else
		fail "trial $trial: records left behind:$bad ($n records)"
	fi
	if grep -l '"status": "failed"' "$d"/data/*/*.json >/dev/null 2>&1; then
		fail "trial $trial: a record's history says failed"
	fi
done

# --- kill -9 leaves em-ingest's working directory; the next run removes it ---
mkdir -p "$SCRATCH/tmp" "$SCRATCH/k9"
set -- $SRC
(cd "$SCRATCH/k9" && TMPDIR=$SCRATCH/tmp exec dash "$TOP/em-ingest" "$1") >/dev/null 2>&1 &
pid=$!
i=0
# Until its working directory holds its pid (then it has started its pipelines).
while [ -z "$(find "$SCRATCH/tmp" -name pid 2>/dev/null)" ] && [ "$i" -lt 200 ]; do
	i=$((i + 1))
	sleep 0.05
done
sleep 0.2
kill -KILL "$pid"
wait "$pid" 2>/dev/null
# Its tools run on as orphans until their pipeline ends.
sleep 3
[ -n "$(ls "$SCRATCH/tmp")" ] && ok "kill -9 left $(ls "$SCRATCH/tmp")" || fail "kill -9 left nothing to clean"
mkdir "$SCRATCH/tmp/em-ingest.other"
echo "1 another-host" >"$SCRATCH/tmp/em-ingest.other/pid"
(cd "$SCRATCH/k9" && TMPDIR=$SCRATCH/tmp exec dash "$TOP/em-ingest" "$1") >"$SCRATCH/out" 2>"$SCRATCH/err"
RC=$?
expect_rc 0 "the next run completes"
ls "$SCRATCH/tmp" >"$SCRATCH/k9.left"
expect_same /dev/stdin "$SCRATCH/k9.left" "only another host's directory is left" <<EOT
em-ingest.other
EOT
done_testing
