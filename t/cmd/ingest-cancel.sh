# ingest-cancel.sh - SIGTERM or Ctrl-C (SIGINT) to em-ingest at any moment leaves every
# record it had started `cancelled` (or `complete`, when that volume had finished): never
# `processing` or `saving-data` (a tool that died of SIGPIPE before writing its record),
# nor a false `failed`, and no process of the run left behind.  Fourteen trials under dash:
# each signal before any data, twice while the fetchers write, while em-meta works, and
# three times while the pipelines' stages are being forked.
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

# tools PATTERN DIR: the pids of the processes whose name matches the grep PATTERN (whole
# name) working in DIR; one grep over /proc first, so that a poll is quick.
tools() {
	for _f in $(grep -lx -e "$1" /proc/[0-9]*/comm 2>/dev/null); do
		_p=${_f%/comm}
		[ "$(readlink "$_p/cwd" 2>/dev/null)" = "$2" ] && echo "${_p#/proc/}"
	done
}

# catches PID: whether PID has its SIGTERM handler installed.
catches() {
	_m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$_m" ] && [ $((0x$_m & 0x4000)) -ne 0 ]
}

# A trial: em-ingest in its own process group with SIGINT at its default (as a shell
# started from a terminal runs it), stopped by SIG at a moment:
#   start  as soon as its pipelines start, before any data;
#   data   once a store holds chunks, while the fetchers write;
#   meta   while em-meta works: every em-meta is held (SIGSTOP) until the fetchers have
#          ended and their stubs wait in em-meta's pipe, the signal is sent, and em-meta
#          goes on (SIGCONT) to meet it with a stub in hand.
#   early  a few milliseconds after its pipelines start (0 to 50, a different delay each
#          trial), while it forks their stages: a stage forked just as the signal came
#          must not be left waiting for a partner that is gone.
# SIGTERM goes to em-ingest, SIGINT to the whole group as Ctrl-C does.
trial=0
for run in TERM:start TERM:data TERM:data TERM:meta INT:start INT:data INT:data INT:meta \
	TERM:early INT:early TERM:early INT:early TERM:early INT:early; do
	sig=${run%:*} moment=${run#*:}
	trial=$((trial + 1))
	d=$SCRATCH/t$trial
	mkdir -p "$d/tmp"
	# shellcheck disable=SC2086 # the sources are words
	(cd "$d" && TMPDIR=$d/tmp exec /usr/bin/python3 -c '
import os, signal, sys
os.setpgrp()
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp("dash", ["dash"] + sys.argv[1:])' "$TOP/em-ingest" $SRC) >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	i=0 held=""
	case $moment in
	start)
		while [ -z "$(find "$d/tmp" -name pid 2>/dev/null)" ] && [ "$i" -lt 400 ]; do
			i=$((i + 1)); sleep 0.01
		done ;;
	early)
		while [ -z "$(find "$d/tmp" -name pid 2>/dev/null)" ] && [ "$i" -lt 400 ]; do
			i=$((i + 1)); sleep 0.01
		done
		sleep "0.0$((trial * 7 % 6))" ;;
	data)
		while [ -z "$(find "$d/data" -path '*.zarr/*' -name '[0-9]*' -type f 2>/dev/null | head -n 1)" ] &&
			[ "$i" -lt 400 ]; do
			i=$((i + 1)); sleep 0.05
		done
		[ "$trial" -eq 2 ] || [ "$trial" -eq 6 ] || sleep 0.3 ;;
	meta)
		while [ "$i" -lt 400 ]; do
			i=$((i + 1))
			for p in $(tools em-meta "$d"); do
				# Only once it catches SIGTERM (SigCgt bit 15): a tool stopped
				# before it set up its handlers would die of the signal as
				# any program does in its first instant, which no run meets.
				catches $p || continue
				case " $held " in *" $p "*) ;; *) kill -STOP "$p" 2>/dev/null && held="$held $p" ;; esac
			done
			[ -n "$held" ] && [ -z "$(tools 'fetch-.*' "$d")" ] && break
			sleep 0.05
		done
		echo "# trial $trial: held em-meta$held until the fetchers ended" ;;
	esac
	if [ "$sig" = INT ]; then kill -INT "-$pid"; else kill -TERM "$pid"; fi
	[ -z "$held" ] || kill -CONT $held
	wait "$pid"
	RC=$?
	want=143
	[ "$sig" = INT ] && want=130
	expect_rc "$want" "trial $trial (SIG$sig, $moment): em-ingest exits $want"
	# Nothing of the run outlives it (its processes are in its process group; a zombie
	# is only an entry waiting for this machine's init to reap it).
	i=0
	while left=$(ps -eo pgid=,stat=,pid=,wchan:24=,args= | awk -v g="$pid" '$1 == g && $2 !~ /^Z/') &&
		[ -n "$left" ] && [ "$i" -lt 20 ]; do
		i=$((i + 1)); sleep 0.1
	done
	if [ -z "$left" ]; then ok "trial $trial: no process of the run is left"
	else
		fail "trial $trial: processes of the run are left: $(echo "$left" | tr -s ' \n' ' ')"
		kill -KILL "-$pid" 2>/dev/null
	fi
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
	if [ -z "$bad" ] && { [ "$n" -gt 0 ] || [ "$moment" = start ] || [ "$moment" = early ]; }; then
		ok "trial $trial (SIG$sig, $moment): all $n records cancelled or complete"
	else
		fail "trial $trial (SIG$sig, $moment): records left behind:$bad ($n records)"
	fi
	if grep -l '"status": "failed"' "$d"/data/*/*.json >/dev/null 2>&1; then
		fail "trial $trial: a record's history says failed"
	fi
	# No tool died of SIGPIPE (exit 141) before it could write its record.
	if grep -h ': .* (exit [0-9 -]*141[0-9 -]*)' "$d"/logs/*.log >"$SCRATCH/pipe"; then
		fail "trial $trial: a tool died of SIGPIPE: $(cat "$SCRATCH/pipe")"
	else ok "trial $trial: no tool died of SIGPIPE"; fi
	# The table says what the records say: cancelled, complete, or not run.
	if awk 'NR > 1 && $1 ~ /^(empiar|epfl|dvid|idr|openorganelle)$/ &&
		$2 !~ /^(cancelled|complete|not-run)$/ { bad = 1 } END { exit bad }' "$SCRATCH/out"; then
		ok "trial $trial: the table says cancelled, complete or not-run"
	else fail "trial $trial: table: $(cat "$SCRATCH/out")"; fi
	[ -z "$(ls "$d/tmp")" ] && ok "trial $trial: the working directory is removed" ||
		fail "trial $trial: left $(ls "$d/tmp")"
done

# --- kill -9 leaves em-ingest's working directory; the next run removes it ---
# A slower origin (half a second an answer), so that the run is surely going when it is killed.
start_origin k9 --root "$SCRATCH/www" --fault 'delay=500'
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" \
	-e 's|^global:$|global:\n  chunks: [8, 16, 16]\n  jobs: 2|' \
	"$SCRATCH/overlay.yaml.in" >"$SCRATCH/k9.yaml"
EM_CONFIG_OVERLAY=$SCRATCH/k9.yaml
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
