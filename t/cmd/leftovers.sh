# leftovers.sh - what a run killed with SIGKILL leaves is removed by the next run: a record's
# temporary file (<id>.json.tmp.<pid>.<n>) when the record is next saved, a store's chunk
# temporaries also when the fetcher finds nothing to do (no writer starts then), and
# em-ingest's working directory.  Files of a process still running are kept.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/double/procs.sh"

command -v dash >/dev/null || skip "no dash (deps/debian.txt lists it)"
/usr/bin/python3 -c 'import numpy, tifffile' 2>/dev/null || skip "python3-numpy or -tifffile missing (make deps)"
[ -x "$TOP/t/prog/mkdm3" ] || skip "no t/prog/mkdm3"
[ -x "$TOP/fetch-epfl/fetch-epfl" ] || skip "fetch-epfl is not built"
sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH" >"$SCRATCH/mirror.out" 2>&1 ||
	{ cat "$SCRATCH/mirror.out"; fail "demo-mirror.sh"; done_testing; }
# Slow answers, so that a run can be killed in the middle.
start_origin o --root "$SCRATCH/www" --fault 'delay=300'
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" \
	-e 's|^global:$|global:\n  chunks: [4, 16, 16]\n  jobs: 1|' \
	"$SCRATCH/overlay.yaml.in" >"$SCRATCH/overlay.yaml"
EM_CONFIG=$TOP/config/config.yaml
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
EM_SCHEMA=$TOP/schemas/metadata_schema.json
export EM_CONFIG EM_CONFIG_OVERLAY EM_SCHEMA
unset EM_EXECUTION_MODE EM_MEMORY_BUDGET EM_DATA_ROOT EM_LOGS_DIR EM_CATALOG_DIR EM_CACHE_DIR
cd "$SCRATCH" || exit 1
R=data/epfl/hippocampus-ca1

# A process that stays alive through the test: its temporary files must be kept.
sleep 600 &
live=$!

# --- a fetcher killed with SIGKILL in the middle of its run ---
fetch-epfl -q -o data/epfl >/dev/null 2>"$SCRATCH/err1" &
pid=$!
i=0
while [ ! -f "$R.json" ] && [ "$i" -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
[ -f "$R.json" ] && ok "the killed run had saved its record" || fail "no record before the kill"
# The killed run's pid is dead now.  A kill between writing a temporary file and renaming
# it leaves one under that pid; the window is a few microseconds, so such files are made
# here as the kill would have left them, beside whatever it really left.
printf '{"cut' >"$R.json.tmp.$pid.0"
printf '{"live' >"$R.json.tmp.$live.0"
fetch-epfl -q -o data/epfl >/dev/null 2>"$SCRATCH/err2"
RC=$?
expect_rc 0 "the next run completes"
[ ! -e "$R.json.tmp.$pid.0" ] && ok "the killed run's record temporary is removed" ||
	fail "$R.json.tmp.$pid.0 is left"
[ -e "$R.json.tmp.$live.0" ] && ok "a live process's record temporary is kept" ||
	fail "$R.json.tmp.$live.0 was removed"
left=$(find data -name '*.tmp.*' ! -name "*.tmp.$live.*")
[ -z "$left" ] && ok "no temporary file of the killed run is left" || fail "left: $left"

# --- nothing to do: the store is complete, the writer does not start ---
c=$(find "$R.zarr/0" -type f ! -name '.*' | sort | head -n 1)
printf 'cut' >"$c.tmp.$pid.7"
printf 'live' >"$c.tmp.$live.7"
fetch-epfl -o data/epfl >/dev/null 2>"$SCRATCH/err3"
RC=$?
expect_rc 0 "a run with nothing to do exits 0"
expect_grep 'nothing to do' "$SCRATCH/err3" "it finds nothing to do"
[ ! -e "$c.tmp.$pid.7" ] && ok "nothing to do: the killed run's chunk temporary is removed" ||
	fail "$c.tmp.$pid.7 is left"
[ -e "$c.tmp.$live.7" ] && ok "nothing to do: a live process's chunk temporary is kept" ||
	fail "$c.tmp.$live.7 was removed"
kill "$live"
wait "$live" 2>/dev/null
rm -f "$R.json.tmp.$live.0" "$c.tmp.$live.7"

if [ "$ASAN" -eq 1 ]; then
	EM_NO_ADDRESS_LIMIT=1
	export EM_NO_ADDRESS_LIMIT
fi
# --- em-ingest killed with SIGKILL: its working directory goes with the next run ---
mkdir -p tmp k9
(cd k9 && TMPDIR=$SCRATCH/tmp exec dash "$TOP/em-ingest" epfl) >/dev/null 2>&1 &
pid=$!
i=0
while [ -z "$(find tmp -name pid 2>/dev/null)" ] && [ "$i" -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
# Its tools run on as orphans until their pipeline ends.
i=0
while running_in "$SCRATCH/k9" && [ "$i" -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
left=$(ls tmp)
[ -n "$left" ] && ok "kill -9 left $left" || fail "kill -9 left nothing to clean"
(cd k9 && TMPDIR=$SCRATCH/tmp exec dash "$TOP/em-ingest" epfl) >"$SCRATCH/out" 2>"$SCRATCH/err"
RC=$?
expect_rc 0 "the next em-ingest completes"
[ -z "$(ls tmp)" ] && ok "the killed em-ingest's working directory is removed" ||
	fail "left in \$TMPDIR: $(ls tmp)"
left=$(find k9/data -name '*.tmp.*')
[ -z "$left" ] && ok "no temporary file left in the data" || fail "left: $left"
done_testing
