#!/bin/sh
# bench-verdicts.sh - the verdicts `make bench` gives: a ceiling is judged against the
# libraries' own tools (agree) and a row against its reference and target (row).
. "$(dirname "$0")/../lib.sh"

# blib FUNCTION ARGS...: one function of bench/lib.sh in a shell of its own (it sets TOP,
# PATH and BENCH_DIR for the bench), its output in $SCRATCH/out and err, status in RC.
blib() {
	BENCH_DIR=$SCRATCH/bench run sh -c '. "$0"; "$@"' "$TOP/bench/lib.sh" "$@"
}

blib agree "zstd-1 encode" 1000 950 500
expect_rc 0 "a ceiling within 15% of the fastest tool agrees"
expect_grep "zstd-1 encode ceiling 1000.0 MB/s is 2.00 of 500.0 (a slower tool)" "$SCRATCH/out" \
	"a slower tool is said with its ratio"
expect_nogrep "0.95\|950" "$SCRATCH/out" "a tool that agrees is not said"

blib agree "SHA-256" 800 1000
expect_rc 1 "a ceiling 20% under the tool is refused"
expect_grep "the SHA-256 ceiling 800.0 MB/s is 0.80 of the fastest" "$SCRATCH/err" \
	"the refusal names the ceiling and the ratio"

blib agree "zstd-1 decode" 1200 1000 400
expect_rc 1 "a ceiling 20% over the fastest tool is refused"

blib agree "zstd-1 decode" 1000 0
expect_rc 1 "a tool that measured nothing is no agreement"

blib row "case a" 90 "ref" 100 50 0.8
expect_rc 0 "a row prints"
expect_grep "0.90 *>=0.8 .* met$" "$SCRATCH/out" "ratio 0.90 meets 0.8"
blib row "case b" 70 "ref" 100 50 0.8
expect_grep "0.70 *>=0.8 .* MISSED$" "$SCRATCH/out" "ratio 0.70 misses 0.8"
blib row "case c" 90 "ref" 100 300 0.8 256
expect_grep "300 *<=256  MISSED$" "$SCRATCH/out" "an RSS over its limit misses, whatever the ratio"
blib row "case d" 40 "ref" 100 50 -
expect_grep "case d .* 0.40 *- *50 *-  -$" "$SCRATCH/out" \
	"a row without a target prints its ratio and no verdict"

# best: each side's fastest of EM_BENCH_REPEAT runs counts, with the largest RSS of them; a
# run that fails stops it.  f I sets run I's figures (1: 2.5 s, 2: 1.5 s, 3: 1.2 s).
BESTF='f() { case $1 in 1) SECS=2.5 RSS_MB=10 ;; 2) SECS=1.5 RSS_MB=30 ;; 3) SECS=1.2 RSS_MB=20 ;; *) return 1 ;; esac; }'
BENCH_DIR=$SCRATCH/bench run sh -c '. "$0"; eval "$1"; best f || exit 1; echo "$SECS $RSS_MB"' \
	"$TOP/bench/lib.sh" "$BESTF"
expect_rc 0 "best of two runs"
expect_grep "^1.5 30$" "$SCRATCH/out" "best keeps the faster run's time and the larger RSS"
EM_BENCH_REPEAT=3 BENCH_DIR=$SCRATCH/bench run sh -c '. "$0"; eval "$1"; best f; echo "$SECS $RSS_MB"' \
	"$TOP/bench/lib.sh" "$BESTF"
expect_grep "^1.2 30$" "$SCRATCH/out" "best of three runs: the third, 1.2 s"
EM_BENCH_REPEAT=4 BENCH_DIR=$SCRATCH/bench run sh -c '. "$0"; eval "$1"; best f || echo failed' \
	"$TOP/bench/lib.sh" "$BESTF"
expect_grep "^failed$" "$SCRATCH/out" "a failing run makes best fail"

# warm_kb: what warm touches before each timed run, in KiB, at most half of MemAvailable.
for w in "0 0" "512M 524288" "4K 4" "1048576 1024"; do
	EM_BENCH_WARM=${w% *} blib warm_kb
	expect_grep "^${w#* }$" "$SCRATCH/out" "EM_BENCH_WARM=${w% *} touches ${w#* } KiB"
done
EM_BENCH_WARM=100000G blib warm_kb
half=$(awk '$1 == "MemAvailable:" { printf "%d", $2 / 2 }' /proc/meminfo)
if awk -v h="$half" '{ exit !($1 > 0 && $1 <= h * 1.1 && $1 >= h * 0.9) }' "$SCRATCH/out"; then
	ok "EM_BENCH_WARM larger than the machine: about half of MemAvailable ($half KiB)"
else
	fail "EM_BENCH_WARM=100000G touched $(cat "$SCRATCH/out") KiB, not about $half"
fi
EM_BENCH_WARM=12x blib warm
expect_rc 1 "a size that is not one stops warm"
expect_grep "EM_BENCH_WARM=12x is not a size" "$SCRATCH/err" "and says which value"
EM_BENCH_WARM=12x BENCH_DIR=$SCRATCH/bench run sh -c '. "$0"; timed t true && echo ran' \
	"$TOP/bench/lib.sh"
expect_rc 1 "timed with a bad EM_BENCH_WARM fails"
expect_nogrep "^ran$" "$SCRATCH/out" "without running the command"
EM_BENCH_WARM=64M BENCH_DIR=$SCRATCH/bench run sh -c '. "$0"; timed t true && echo "ran $SECS"' \
	"$TOP/bench/lib.sh"
expect_grep "^ran [0-9.]*$" "$SCRATCH/out" "timed runs the command after warming 64 MiB"

done_testing
