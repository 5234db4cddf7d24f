#!/bin/sh
# fuzz-replay.sh - every fuzz target replays its seed corpus and every crash input found so
# far (fuzz/corpus/NAME, fuzz/crashes/NAME) without libFuzzer: none may crash, leak or hang
# (under make SANITIZE=address,undefined the sanitizers judge each input as the fuzzer did).
. "$(dirname "$0")/../lib.sh"

n=0
for src in "$TOP"/fuzz/fuzz_*.c; do
	name=${src##*/fuzz_}
	name=${name%.c}
	bin=$TOP/fuzz/replay-$name
	if [ ! -x "$bin" ]; then
		fail "$name: $bin is not built (make fuzz-replay)"
		continue
	fi
	set --
	for d in "$TOP/fuzz/corpus/$name" "$TOP/fuzz/crashes/$name"; do
		[ -d "$d" ] && set -- "$@" "$d"
	done
	if [ $# -eq 0 ]; then
		fail "$name: no saved inputs in fuzz/corpus/$name"
		continue
	fi
	# A hang is a failure too: no saved input takes more than a few seconds.
	run timeout 120 "$bin" "$@"
	if [ "$RC" -eq 0 ] && grep -q '^[1-9][0-9]* inputs$' "$SCRATCH/out"; then
		ok "$name: $(cat "$SCRATCH/out") replayed"
	else
		fail "$name: replay exited $RC"
		grep -v '^replay: ' "$SCRATCH/err" | head -n 30 | sed 's/^/#   /'
		grep '^replay: ' "$SCRATCH/err" | tail -n 1 | sed 's/^/#   last input: /'
	fi
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no fuzz targets in fuzz/"
[ "$NFAIL" -eq 0 ]
