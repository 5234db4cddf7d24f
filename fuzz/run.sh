#!/bin/sh
# run.sh - run libFuzzer targets one after another (make fuzz): nice 19, one process,
# FUZZ_SECONDS each (or FUZZ_RUNS executions, when that comes first).  New inputs go to fuzz/work/NAME (not kept in git; copy the
# interesting ones into fuzz/corpus/NAME), crashes to fuzz/crashes/NAME/, and one line
# per target to fuzz/work/log.
set -u
cd "$(dirname "$0")/.." || exit 2
secs=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:--1}
status=0
mkdir -p fuzz/work
for name in "$@"; do
	bin=fuzz/build/fuzz_$name
	[ -x "$bin" ] || { echo "run.sh: no $bin (make fuzz-build)" >&2; status=1; continue; }
	mkdir -p "fuzz/work/$name" "fuzz/crashes/$name" "fuzz/corpus/$name"
	log=fuzz/work/$name.log
	# fuzz/NAME.dict: the format's tokens, so the fuzzer finds its keys sooner.
	dict=
	[ -f "fuzz/$name.dict" ] && dict=-dict=fuzz/$name.dict
	t0=$(date +%s)
	# -rss_limit_mb/-malloc_limit_mb: an input that makes a reader take more
	# than 2 GiB is a finding too.  -timeout: 10 s on one input is a hang.
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	nice -n 19 "$bin" -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
	    -malloc_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="fuzz/crashes/$name/" ${dict:+"$dict"} "fuzz/work/$name" "fuzz/corpus/$name" \
	    >"$log" 2>&1
	rc=$?
	t1=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	printf '%s %s seconds=%s execs=%s rc=%s\n' "$(date -u +%FT%TZ)" "$name" \
	    "$((t1 - t0))" "${execs:-?}" "$rc" | tee -a fuzz/work/log
	[ "$rc" -eq 0 ] || { status=1; grep -m 3 'ERROR\|SUMMARY' "$log"; }
done
exit $status
