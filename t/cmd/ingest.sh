# ingest.sh - em-ingest with stand-in fetchers (t/double/fetch.sh): usage and
# configuration errors, stages and memory shares, logs, failures, identical results in
# every execution mode, SIGTERM and resume, and the memory budget measured from /proc.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/double/procs.sh"

command -v dash >/dev/null || skip "no dash (deps/debian.txt lists it)"
# The stand-ins and a copy of em-ingest come first in PATH: a copy outside the build
# tree finds the other tools (em-meta, em-validate, em-consolidate, em-config) on PATH.
B=$SCRATCH/bin
mkdir -p "$B"
for f in fetch-empiar fetch-epfl fetch-dvid fetch-idr fetch-zarr; do
	cp "$TOP/t/double/fetch.sh" "$B/$f" && chmod +x "$B/$f"
done
cp "$TOP/em-ingest" "$B/em-ingest"
# Without the build tree's real fetchers (t/lib.sh puts them in PATH): a stand-in that
# is taken away must not be replaced by a real one that would go to the internet.
P=$B
IFS=:
for d in $PATH; do
	case $d in "$TOP"/fetch-*) ;; *) P=$P:$d ;; esac
done
unset IFS
PATH=$P
EM_CONFIG=$TOP/config/config.yaml
EM_SCHEMA=$TOP/schemas/metadata_schema.json
export EM_CONFIG EM_SCHEMA
unset EM_CONFIG_OVERLAY EM_EXECUTION_MODE EM_MEMORY_BUDGET EM_DATA_ROOT EM_LOGS_DIR \
	EM_CATALOG_DIR EM_DOUBLE_FAIL EM_DOUBLE_HOG EM_DOUBLE_THROTTLE_MS EM_DOUBLE_LOG
ALL="empiar epfl dvid idr openorganelle"
# AddressSanitizer reserves terabytes of address space: no ulimit -v for such a build.
if [ "$ASAN" -eq 1 ]; then
	EM_NO_ADDRESS_LIMIT=1
	export EM_NO_ADDRESS_LIMIT
else
	unset EM_NO_ADDRESS_LIMIT
fi

# ingest DIR [em-ingest arguments]: runs em-ingest under dash in DIR (made afresh).
ingest() {
	_d=$1
	shift
	rm -rf "$_d"
	mkdir -p "$_d"
	(cd "$_d" && exec dash "$B/em-ingest" "$@") >"$SCRATCH/out" 2>"$SCRATCH/err"
	RC=$?
}

# same_results DIR1 DIR2 DESC [normrec options]: stores byte for byte, records apart
# from what normrec.py takes out.
same_results() {
	_ok=1
	for st in "$1"/data/*/*.zarr; do
		_r=${st#"$1"/}
		diff -r "$st" "$2/$_r" >/dev/null || { _ok=0; echo "# $_r differs"; }
	done
	[ "$(ls -d "$1"/data/*/*.zarr | wc -l)" -eq 5 ] || { _ok=0; echo "# not five stores in $1"; }
	# shellcheck disable=SC2086 # options
	/usr/bin/python3 "$TOP/t/double/normrec.py" $4 "$1"/data/*/*.json >"$SCRATCH/n1"
	# shellcheck disable=SC2086
	/usr/bin/python3 "$TOP/t/double/normrec.py" $4 "$2"/data/*/*.json >"$SCRATCH/n2"
	cmp -s "$SCRATCH/n1" "$SCRATCH/n2" || { _ok=0; diff "$SCRATCH/n1" "$SCRATCH/n2" | head -c 800; }
	[ "$_ok" -eq 1 ] && ok "$3" || fail "$3"
}

# --- usage and configuration errors ---
run dash "$B/em-ingest" --help
expect_rc 0 "--help exits 0"
expect_grep '^usage: em-ingest' "$SCRATCH/out" "--help prints usage on stdout"
run dash "$B/em-ingest" --version
expect_rc 0 "--version exits 0"
expect_grep '^em-ingest (electron-microscopy-ingest) [0-9]' "$SCRATCH/out" "--version"
run dash "$B/em-ingest" --bogus
expect_rc 2 "a bad option exits 2"
expect_grep "unknown option '--bogus'" "$SCRATCH/err" "naming the option"
expect_grep '^usage: em-ingest' "$SCRATCH/err" "with usage on stderr"
run dash "$B/em-ingest" idr hippocampus
expect_rc 2 "an unknown source exits 2"
expect_grep "em-ingest: unknown source 'hippocampus' (one of: $ALL)" "$SCRATCH/err" "naming it and the sources"
EM_EXECUTION_MODE=fast run dash "$B/em-ingest" idr
expect_rc 2 "an unknown mode exits 2"
expect_grep "em-ingest: unknown execution mode 'fast'" "$SCRATCH/err" "naming the mode"
for bad in 12X 0 -5 G 8GG 99999999999999999T; do
	EM_MEMORY_BUDGET=$bad run dash "$B/em-ingest" idr
	expect_rc 2 "budget '$bad' exits 2"
	expect_grep "em-ingest: bad memory budget '$bad' in EM_MEMORY_BUDGET" "$SCRATCH/err" "naming '$bad'"
done
printf 'global:\n  memory_budget: lots\n' >"$SCRATCH/bad.yaml"
run dash "$B/em-ingest" --config "$SCRATCH/bad.yaml" idr
expect_rc 2 "a bad budget in the configuration exits 2"
expect_grep "bad memory budget 'lots' in global.memory_budget" "$SCRATCH/err" "naming the key"
printf 'global:\n  data_root: [unclosed\n' >"$SCRATCH/broken.yaml"
run dash "$B/em-ingest" --config "$SCRATCH/broken.yaml" idr
expect_rc 2 "a configuration that does not parse exits 2"
expect_grep "broken.yaml:" "$SCRATCH/err" "em-config's message names the file"
expect_grep "em-ingest: cannot read the configuration" "$SCRATCH/err" "em-ingest says why it stops"
[ ! -d "$SCRATCH/data" ] && ok "nothing made" || fail "a data directory was made"
run dash "$B/em-ingest" --config "$SCRATCH/none.yaml" idr
expect_rc 2 "a missing --config file exits 2"
expect_grep "cannot read '$SCRATCH/none.yaml'" "$SCRATCH/err" "naming the file"
# --- stages and shares (dry run): the shares of a stage never sum above the budget ---
for mode in staged parallel sequential; do
	EM_EXECUTION_MODE=$mode EM_MEMORY_BUDGET=300M run dash "$B/em-ingest" -n
	expect_rc 0 "dry run, $mode"
	expect_grep "^mode $mode, budget 314572800 bytes" "$SCRATCH/out" "$mode: mode and budget"
	# Sum the stage shares; each pipeline's fetcher and em-meta shares within its share.
	awk -v B=314572800 '
	/^stage / { if (s > B) over = 1; s = 0; match($0, /share [0-9]+/); share = substr($0, RSTART + 6, RLENGTH - 6) + 0; next }
	/--max-memory/ { s += share; split($0, a, "--max-memory "); f = a[2] + 0; m = a[3] + 0
		if (f + m > share) over = 1; n++ }
	END { if (s > B) over = 1; print (over ? "over" : "fits") " " n }' "$SCRATCH/out" >"$SCRATCH/plan"
	expect_grep "^fits 5$" "$SCRATCH/plan" "$mode: five pipelines, every stage within the budget"
done
EM_EXECUTION_MODE=staged EM_MEMORY_BUDGET=300M run dash "$B/em-ingest" -n
expect_grep '^stage 1: idr dvid empiar (share 104857600 bytes each)$' "$SCRATCH/out" "staged: the light sources together, a third each"
expect_grep '^stage 2: openorganelle (share 314572800 bytes each)$' "$SCRATCH/out" "staged: then openorganelle alone"
expect_grep '^stage 3: epfl (share 314572800 bytes each)$' "$SCRATCH/out" "staged: then epfl alone"
expect_grep '^idr: fetch-idr -o data/idr --max-memory 52428800 | em-meta --max-memory 39321600 | em-validate --filter' \
	"$SCRATCH/out" "a pipeline's share split between the fetcher and em-meta"
expect_grep '^openorganelle: fetch-zarr -o data/openorganelle ' "$SCRATCH/out" "openorganelle is fetch-zarr"
EM_EXECUTION_MODE=parallel EM_MEMORY_BUDGET=1G run dash "$B/em-ingest" -n epfl idr
expect_grep '^stage 1: idr epfl (share 536870912 bytes each)$' "$SCRATCH/out" "parallel: all at once, half each"
[ "$(grep -c '^stage' "$SCRATCH/out")" -eq 1 ] && ok "parallel: one stage" || fail "parallel stages"
EM_EXECUTION_MODE=sequential EM_MEMORY_BUDGET=1G run dash "$B/em-ingest" -n dvid idr
expect_grep '^stage 2: dvid (share 1073741824 bytes each)$' "$SCRATCH/out" "sequential: one at a time, the whole budget"
printf 'global:\n  execution_mode: parallel\n  memory_budget: 64M\n' >"$SCRATCH/par.yaml"
run dash "$B/em-ingest" -n --config "$SCRATCH/par.yaml" idr
expect_grep '^mode parallel, budget 67108864 bytes' "$SCRATCH/out" "mode and budget from the configuration"
EM_EXECUTION_MODE=sequential run dash "$B/em-ingest" -n --config "$SCRATCH/par.yaml" idr
expect_grep '^mode sequential' "$SCRATCH/out" "EM_EXECUTION_MODE wins over the configuration"

# --- a whole run: records, catalog, logs, summary ---
EM_MEMORY_BUDGET=256M ingest "$SCRATCH/staged"
expect_rc 0 "staged run exits 0"
# The size counts the group's .zattrs with the omero display window em-meta writes there.
for s in $ALL; do
	expect_grep "^$s  *complete  *16x32x32  *18.8 KiB " "$SCRATCH/out" "summary: $s complete with shape and size"
done
expect_grep "^catalog: catalog/metadata_catalog_.*\.json  logs: logs/" "$SCRATCH/out" "the summary says where the catalog is"
n=$(cat "$SCRATCH"/staged/data/*/*.json | grep -c '^  "status": "complete"')
[ "$n" -eq 5 ] && ok "five complete records beside the stores" || fail "complete records: $n"
run em-validate "$SCRATCH"/staged/data/*/*.json
expect_rc 0 "the records validate"
set -- "$SCRATCH"/staged/catalog/metadata_catalog_*.json
[ -f "$1" ] && ok "a catalog" || fail "no catalog"
for s in $ALL; do
	expect_grep "\"source\": \"$s\"" "$1" "the catalog lists $s"
done
for s in $ALL consolidate; do
	[ -s "$SCRATCH/staged/logs/$s.log" ] && ok "logs/$s.log" || fail "no logs/$s.log"
done
if grep -v '^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z ' "$SCRATCH"/staged/logs/*.log >"$SCRATCH/unstamped"; then
	fail "log lines without a time stamp"; head -n 5 "$SCRATCH/unstamped"
else ok "every log line starts with a UTC time stamp"; fi
expect_grep 'em-ingest: idr: complete (exit 0 0 0)' "$SCRATCH/staged/logs/idr.log" "the log ends with the outcome"

# --- identical results in every mode ---
EM_EXECUTION_MODE=parallel ingest "$SCRATCH/parallel"
expect_rc 0 "parallel run exits 0"
EM_EXECUTION_MODE=sequential ingest "$SCRATCH/sequential"
expect_rc 0 "sequential run exits 0"
same_results "$SCRATCH/staged" "$SCRATCH/parallel" "staged and parallel: identical stores and records" --shares
same_results "$SCRATCH/staged" "$SCRATCH/sequential" "staged and sequential: identical stores and records" --shares

# --- one source fails: the others finish, exit 1 ---
EM_DOUBLE_FAIL=dvid ingest "$SCRATCH/fail"
expect_rc 1 "a failed source makes the exit status 1"
expect_grep '^dvid  *failed ' "$SCRATCH/out" "summary: dvid failed"
expect_grep '^epfl  *complete ' "$SCRATCH/out" "the heavy sources still ran"
expect_grep '^idr  *complete ' "$SCRATCH/out" "the other light sources finished"
expect_grep "em-ingest: dvid: failed (see logs/dvid.log)" "$SCRATCH/err" "the failure is named on stderr"
expect_grep 'fetch-dvid: cannot fetch .*stand-in failure' "$SCRATCH/fail/logs/dvid.log" "the fetcher's message is in the log"
expect_grep '"status": *"failed"' "$SCRATCH/fail/data/dvid/a89eb3af-grayscale.json" "the record says failed"
set -- "$SCRATCH"/fail/catalog/metadata_catalog_*.json
expect_grep '"status": "failed"' "$1" "the catalog lists the failure"

# --- a fetcher that is not there: that source fails, the others run ---
mv "$B/fetch-epfl" "$B/fetch-epfl.off"
ingest "$SCRATCH/nofetcher" epfl idr
mv "$B/fetch-epfl.off" "$B/fetch-epfl"
expect_rc 1 "a missing fetcher makes the exit status 1"
expect_grep "em-ingest: epfl: cannot run 'fetch-epfl': not found" "$SCRATCH/err" "naming it"
expect_grep '^epfl  *failed ' "$SCRATCH/out" "summary: epfl failed"
expect_grep '^idr  *complete ' "$SCRATCH/out" "idr still complete"
expect_grep "cannot run 'fetch-epfl'" "$SCRATCH/nofetcher/logs/epfl.log" "in the log too"

# --- a source that makes two volumes: both counted ---
EM_DOUBLE_SETS=empiar ingest "$SCRATCH/sets" empiar
expect_rc 0 "two volumes of one source"
expect_grep '^empiar  *complete  *2 volumes  *37.5 KiB ' "$SCRATCH/out" "summary: two volumes, their size together"
[ -f "$SCRATCH/sets/data/empiar/11759-set2.json" ] && ok "the second record" || fail "no second record"
EM_DOUBLE_SETS=empiar EM_DOUBLE_BAD=empiar ingest "$SCRATCH/sets" empiar
expect_rc 1 "two volumes, invalid records"
expect_grep '^empiar  *invalid ' "$SCRATCH/out" "summary: invalid"

# --- a record that breaks the schema: em-validate keeps it out, the source is invalid ---
EM_DOUBLE_BAD=idr ingest "$SCRATCH/bad"
expect_rc 1 "an invalid record makes the exit status 1"
expect_grep '^idr  *invalid ' "$SCRATCH/out" "summary: idr invalid"
expect_grep '^dvid  *complete ' "$SCRATCH/out" "the others complete"
expect_grep 'em-validate: .*description' "$SCRATCH/bad/logs/idr.log" "em-validate's reason is in the log"
expect_grep 'em-ingest: idr: invalid (exit 0 0 1)' "$SCRATCH/bad/logs/idr.log" "the log ends with the outcome"

# --- SIGTERM during the heavy stage, then a re-run resumes ---
(cd "$SCRATCH" && rm -rf killed && mkdir killed && cd killed &&
	EM_DOUBLE_THROTTLE_MS=40 EM_DOUBLE_SLOW="openorganelle epfl" exec dash "$B/em-ingest") >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
i=0
# Wait until openorganelle (the first heavy source) has written some chunks.
while [ "$(find "$SCRATCH/killed/data/openorganelle" -path '*/0/*' -type f 2>/dev/null | wc -l)" -lt 3 ]; do
	i=$((i + 1))
	[ "$i" -lt 400 ] || break
	sleep 0.05
done
kill -TERM "$pid"
wait "$pid"
RC=$?
expect_rc 143 "SIGTERM: em-ingest exits 143"
expect_grep '^openorganelle  *cancelled ' "$SCRATCH/out" "summary: openorganelle cancelled"
expect_grep '^epfl  *not-run ' "$SCRATCH/out" "summary: epfl never started"
expect_grep '^idr  *complete ' "$SCRATCH/out" "the light stage had finished"
expect_grep '"status":"cancelled"' "$SCRATCH/killed/data/openorganelle/jrc_mus-nacc-2-s0.json" "the record says cancelled"
sleep 0.2
if running_in "$SCRATCH/killed"; then
	fail "a tool is still running after em-ingest exited"
else ok "no tool left running"; fi
[ ! -d "$SCRATCH/killed/catalog" ] && ok "no catalog from an interrupted run" || fail "catalog after SIGTERM"
n=$(find "$SCRATCH/killed/data/openorganelle" -path '*/0/*' -type f | wc -l)
(cd "$SCRATCH/killed" && exec dash "$B/em-ingest") >"$SCRATCH/out" 2>"$SCRATCH/err"
RC=$?
expect_rc 0 "the re-run completes"
expect_grep '^openorganelle  *complete ' "$SCRATCH/out" "openorganelle complete after the re-run"
[ "$n" -gt 0 ] && ok "the store had $n chunks when killed" || fail "nothing written before the kill"
same_results "$SCRATCH/staged" "$SCRATCH/killed" "killed and resumed: identical to an uninterrupted run" "--shares --resumed"

# --- Ctrl-C: SIGINT to the whole process group, as a terminal sends it ---
# A background job of a script starts with SIGINT ignored; python3 gives em-ingest its
# own process group with SIGINT at its default, as in an interactive shell.
rm -rf "$SCRATCH/ctrlc"
mkdir -p "$SCRATCH/ctrlc"
(cd "$SCRATCH/ctrlc" && EM_DOUBLE_THROTTLE_MS=40 EM_DOUBLE_SLOW=openorganelle exec /usr/bin/python3 -c '
import os, signal, sys
os.setpgrp()
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp("dash", ["dash"] + sys.argv[1:])' "$B/em-ingest") >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
i=0
while [ "$(find "$SCRATCH/ctrlc/data/openorganelle" -path '*/0/*' -type f 2>/dev/null | wc -l)" -lt 2 ]; do
	i=$((i + 1))
	[ "$i" -lt 400 ] || break
	sleep 0.05
done
kill -INT "-$pid"
wait "$pid"
RC=$?
expect_rc 130 "Ctrl-C: em-ingest exits 130"
expect_grep 'interrupted by SIGINT' "$SCRATCH/err" "it says so"
expect_grep '^openorganelle  *cancelled ' "$SCRATCH/out" "summary: openorganelle cancelled"
expect_grep '"status":"cancelled"' "$SCRATCH/ctrlc/data/openorganelle/jrc_mus-nacc-2-s0.json" "the record says cancelled"
sleep 0.2
if running_in "$SCRATCH/ctrlc"; then
	fail "a tool still runs after Ctrl-C"
else ok "no tool left running after Ctrl-C"; fi

if [ "$ASAN" -eq 1 ]; then
	echo "# memory budget and address-space limit: not measured in an AddressSanitizer build"
else
	# --- the memory budget holds: RSS of every child, sampled from /proc ---
	# The stand-ins hold 90% of their --max-memory for 1 s (memhog), so a wrong split
	# would show; every sample of the tools' summed RSS must stay within the budget.
	rm -rf "$SCRATCH/mem"
	mkdir -p "$SCRATCH/mem"
	(cd "$SCRATCH/mem" && EM_MEMORY_BUDGET=240M EM_DOUBLE_HOG=1 EM_DOUBLE_LOG=$SCRATCH/mem/shares \
		exec dash "$B/em-ingest") >"$SCRATCH/out" 2>"$SCRATCH/err" &
	pid=$!
	sample_rss "$pid" "$SCRATCH/rss"
	wait "$pid"
	RC=$?
	expect_rc 0 "the budget run completes"
	max=$(sort -n "$SCRATCH/rss" | tail -n 1)
	budget_kib=$((240 * 1024))
	[ "$max" -le "$budget_kib" ] && ok "peak summed RSS $max KiB within the 240 MiB budget" ||
		fail "peak summed RSS $max KiB over the budget of $budget_kib KiB"
	[ "$max" -ge $((budget_kib * 4 / 10)) ] && ok "the samples saw the stand-ins' memory ($max KiB)" ||
		fail "peak RSS $max KiB: the sampling missed the tools"
	# The shares given: the light stage's three sum with em-meta's to no more than the budget.
	awk -v B=$((240 * 1048576)) '
		$1 ~ /^(idr|dvid|empiar)$/ { light += $2 } $1 ~ /^(epfl|openorganelle)$/ && $2 > heavy { heavy = $2 }
		END { print (light * 2 <= B && heavy * 2 <= B && light > 0 ? "fits" : "over") }' \
		"$SCRATCH/mem/shares" >"$SCRATCH/fits"
	expect_grep '^fits$' "$SCRATCH/fits" "the fetchers' --max-memory shares fit the budget"

	# --- the resource limit stops a tool that runs away from its share ---
	rm -rf "$SCRATCH/runaway"
	mkdir -p "$SCRATCH/runaway"
	(cd "$SCRATCH/runaway" && EM_MEMORY_BUDGET=256M EM_DOUBLE_HOG=1 EM_DOUBLE_HOG_BYTES=4G \
		exec dash "$B/em-ingest" idr) >"$SCRATCH/out" 2>"$SCRATCH/err"
	RC=$?
	expect_rc 1 "a fetcher that takes 4 GiB of a 256 MiB budget fails"
	expect_grep 'memhog: cannot allocate 4294967296 bytes' "$SCRATCH/runaway/logs/idr.log" "stopped by the address-space limit"
	expect_grep '^idr  *failed ' "$SCRATCH/out" "summary: failed"
fi

# --- the script itself: POSIX sh, shellcheck clean ---
if command -v shellcheck >/dev/null; then
	run shellcheck -s sh "$TOP/em-ingest" "$TOP/t/double/fetch.sh"
	expect_rc 0 "shellcheck em-ingest and the stand-in"
else
	echo "# no shellcheck: not checked"
fi
[ -x "$TOP/em-ingest" ] && ok "em-ingest is executable" || fail "em-ingest is not executable"
done_testing
