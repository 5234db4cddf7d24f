#!/bin/sh
# b-parts.sh - a split run against one whole run: fetch-zarr of a 1 GiB Zarr v2 store (64^3
# zstd chunks) from em-origin on loopback with 20 ms added to every request (a remote
# archive's latency), as 4 parts started at once (--part I/4, what a Slurm job array of 4
# runs on one node) against one whole run, both writing level 0 alone (a part writes no
# pyramid; em-downsample makes it afterwards for either).  The whole run is given the memory
# share --max-memory SHARE, each part SHARE/4, as em-ingest shares a budget out; every run
# has --jobs 4 (the configuration's default).
# Targets: 4 parts >= 1.8x the whole run's throughput; every part's peak RSS <= SHARE/4.
# A third side, one whole run with --jobs 16 (as many requests in flight as the 4 parts),
# shows what the split gains beyond the concurrency: the parts at least as fast.
# The two sides take turns (EM_BENCH_REPEAT rounds, default 3) so that load on a shared
# machine falls on both alike; the fastest of each and the largest RSS are kept.
#
#   BENCH_PARTS_MB=1024        planes of 1024 x 1024 in the store (256 for a quick run)
#   BENCH_PARTS_DELAY_MS=20    latency added to every request
#   BENCH_PARTS_SHARE_MB=1024  the whole run's memory share
# shellcheck disable=SC1091 # sourced by path
. "$(dirname "$0")/lib.sh"

MB=${BENCH_PARTS_MB:-1024}
DELAY=${BENCH_PARTS_DELAY_MS:-20}
SHARE=${BENCH_PARTS_SHARE_MB:-1024}
N=4
JOBS=4
PART_MB=$((SHARE / N))
www=$BENCH_DIR/parts-www
OUT=$BENCH_DIR/parts
mkdir -p "$www"
opid=""
trap '[ -n "$opid" ] && kill "$opid" 2>/dev/null; discard "$OUT"' EXIT

# The store: MB planes of 1024 x 1024 EM-like uint8, 64^3 chunks, zstd level 1.
zarr=$(em_zarr_store "$MB" "$www") || exit 1
bytes=$((MB * 1024 * 1024))

rm -f "$BENCH_DIR/parts.port"
em-origin --root "$www" --port-file "$BENCH_DIR/parts.port" --fault "delay=$DELAY" >/dev/null 2>&1 &
opid=$!
i=0
while [ ! -s "$BENCH_DIR/parts.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
url=$(head -n 1 "$BENCH_DIR/parts.port")vol_$MB.zarr

cat >"$BENCH_DIR/parts-overlay.yaml" <<EOF
global:
  compressor: zstd
  level: 1
EOF
EM_CONFIG_OVERLAY=$BENCH_DIR/parts-overlay.yaml
export EM_CONFIG_OVERLAY
ARGS="--config $TOP/config/config.yaml -q --id v --levels 1"

# Every run writes a new store; none is deleted while the bench runs (discard in lib.sh).
discard "$OUT"
mkdir -p "$OUT"

# whole I JOBS: one run into $OUT/whole-JOBS.rI; SECS and RSS_MB.
whole() {
	# shellcheck disable=SC2086 # the options are words
	timed parts-whole fetch-zarr $ARGS --jobs "$2" --max-memory "${SHARE}M" \
		-o "$OUT/whole-$2.r$1" "$url"
}
# split I: parts 1..N at once into $OUT/split.rI, each under peakrss; SECS is the time from
# the start of the first to the end of the last, RSS_MB the largest part's peak RSS.
split() {
	s_i=1 s_pids=""
	t0=$(date +%s.%N)
	while [ "$s_i" -le "$N" ]; do
		# shellcheck disable=SC2086 # the options are words
		peakrss "$BENCH_DIR/parts-$s_i.rss" fetch-zarr $ARGS --jobs $JOBS --max-memory "${PART_MB}M" \
			-o "$OUT/split.r$1" --part "$s_i/$N" "$url" \
			>"$BENCH_DIR/parts-$s_i.out" 2>"$BENCH_DIR/parts-$s_i.err" &
		s_pids="$s_pids $!"
		s_i=$((s_i + 1))
	done
	s_bad=0
	for s_p in $s_pids; do wait "$s_p" || s_bad=1; done
	t1=$(date +%s.%N)
	s_i=1
	while [ "$s_i" -le "$N" ]; do
		if [ "$s_bad" = 1 ] && [ -s "$BENCH_DIR/parts-$s_i.err" ]; then
			echo "bench: part $s_i of $N failed:" >&2
			tail -n 5 "$BENCH_DIR/parts-$s_i.err" >&2
		fi
		s_i=$((s_i + 1))
	done
	[ "$s_bad" = 0 ] || return 1
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	RSS_MB=$(cat "$BENCH_DIR"/parts-[0-9]*.rss | sed 's/.*rss_kb=\([0-9]*\).*/\1/' | sort -n |
		tail -n 1 | awk '{ printf "%.0f", $1 / 1024 }')
}

# least A B: the smaller, A empty being none yet
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
W_SECS='' S_SECS='' C_SECS='' W_RSS=0 S_RSS=0
r=0
while [ "$r" -lt "${EM_BENCH_REPEAT:-3}" ]; do
	r=$((r + 1))
	whole "$r" $JOBS || exit 1
	W_SECS=$(least "$W_SECS" "$SECS")
	[ "$RSS_MB" -gt "$W_RSS" ] && W_RSS=$RSS_MB
	whole "$r" $((N * JOBS)) || exit 1
	C_SECS=$(least "$C_SECS" "$SECS")
	split "$r" || exit 1
	S_SECS=$(least "$S_SECS" "$SECS")
	[ "$RSS_MB" -gt "$S_RSS" ] && S_RSS=$RSS_MB
done

# The parts' store is the whole run's, chunk for chunk (the records, manifests and journals
# name their own runs).
if ! diff -r -x '*.json' -x '*.chunks' -x '*.chunks.*' "$OUT/whole-$JOBS.r1/v.zarr" "$OUT/split.r1/v.zarr" \
	>/dev/null 2>&1; then
	echo "bench: the $N parts' store differs from the whole run's" >&2
	exit 1
fi
row "fetch-zarr $MB MiB, ${DELAY} ms, $N parts" "$(mbps "$bytes" "$S_SECS")" "one whole run" \
	"$(mbps "$bytes" "$W_SECS")" "$S_RSS" 1.8 "$PART_MB"
row "fetch-zarr $MB MiB, ${DELAY} ms, $N parts" "$(mbps "$bytes" "$S_SECS")" \
	"one run --jobs $((N * JOBS))" "$(mbps "$bytes" "$C_SECS")" "$S_RSS" 1.0 "$PART_MB"
awk -v a="$S_RSS" -v s="$PART_MB" -v w="$W_RSS" -v ws="$SHARE" 'BEGIN {
	r = (s > 0 ? a / s : 0)
	printf "%-34s %9s %-26s %9s %6.2f %7s %6d %6s  %s\n", "part RSS vs its share (SHARE/" 4 ")", "-",
		"whole " w " MB of " ws " MB", "-", r, "<=1.00", a, "<=" s, (r <= 1.0 ? "met" : "MISSED") }'
