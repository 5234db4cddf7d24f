#!/bin/sh
# b-pyramid.sh - pyramids and Zarr v3: what the levels built in the same pass cost against the
# level-0 ingest alone (time and peak memory), sharded v3 writes against v2 writes, and how
# many files a sharded store is.  fetch-epfl on a multi-page TIFF of the shared EM-like volume,
# 64^3 chunks, zstd level 1, 2 jobs.
#
#   BENCH_PYRAMID_Z=1024   planes of 1024 x 1024 (1024: 1 GiB; 256 for a quick run)
. "$(dirname "$0")/lib.sh"

Z=${BENCH_PYRAMID_Z:-1024}
raw=$(em_volume "$Z" 1024 1024) || exit 1
tif=$BENCH_DIR/pyramid_$Z.tif
if [ ! -s "$tif" ]; then
	$PY - "$raw" "$Z" "$tif.tmp" <<'PY' || exit 1
import sys, numpy as np, tifffile
n = int(sys.argv[2])
v = np.memmap(sys.argv[1], dtype=np.uint8, mode="r", shape=(n, 1024, 1024))
tifffile.imwrite(sys.argv[3], v, photometric="minisblack")
PY
	mv "$tif.tmp" "$tif"
fi
bytes=$((Z * 1024 * 1024))
# Every write goes to a new store; none is deleted while the bench runs (discard in lib.sh).
OUT=$BENCH_DIR/pyramid
discard "$OUT"
mkdir -p "$OUT"
ARGS="--chunks 64,64,64 --compressor zstd --level 1 --jobs 2 -q --id v --url file://$tif"

# run NAME I OPTIONS...: fetch-epfl into $OUT/NAME.rI
run() {
	r_name=$1 r_i=$2
	shift 2
	# shellcheck disable=SC2086 # the options are words
	timed "pyr_$r_name" fetch-epfl -o "$OUT/$r_name.r$r_i" $ARGS "$@"
}
# pair A_NAME "A_OPTS" B_NAME "B_OPTS": both measured EM_BENCH_REPEAT times (default 3), taking
# turns so that load on the machine falls on both alike; the fastest of each and the largest
# RSS go to A_SECS A_RSS B_SECS B_RSS.
pair() {
	A_SECS='' B_SECS='' A_RSS=0 B_RSS=0
	p_i=0
	while [ "$p_i" -lt "${EM_BENCH_REPEAT:-3}" ]; do
		p_i=$((p_i + 1))
		# shellcheck disable=SC2086 # the options are words
		run "$1" "$p_i" $2 || return 1
		A_SECS=$(awk -v a="$A_SECS" -v b="$SECS" 'BEGIN { print (a == "" || b < a) ? b : a }')
		[ "$RSS_MB" -gt "$A_RSS" ] && A_RSS=$RSS_MB
		# shellcheck disable=SC2086
		run "$3" "$p_i" $4 || return 1
		B_SECS=$(awk -v a="$B_SECS" -v b="$SECS" 'BEGIN { print (a == "" || b < a) ? b : a }')
		[ "$RSS_MB" -gt "$B_RSS" ] && B_RSS=$RSS_MB
	done
	return 0
}
# 1. The pyramid in the pass against level 0 alone: at most 20% more time, 1.3x the memory.
pair auto "--levels auto" single "--levels 1" || exit 1
cp "$BENCH_DIR/pyr_auto.out" "$OUT/auto.r1.stub"
nl=$(em-meta -q --jobs 2 "$OUT/auto.r1.stub" | jq '.levels | length')
row "tiff ${Z}x1024^2 pyramid ($nl levels)" "$(mbps "$bytes" "$A_SECS")" "levels 1" \
	"$(mbps "$bytes" "$B_SECS")" "$A_RSS" 0.833
awk -v a="$A_RSS" -v b="$B_RSS" 'BEGIN {
	r = (b > 0 ? a / b : 0)
	printf "%-34s %9s %-24s %9s %6.2f %7s %6d %6s  %s\n", "pyramid RSS vs levels 1", "-",
		"RSS " b " MB", "-", r, "<=1.30", a, "-", (r <= 1.30 ? "met" : "MISSED") }'

# 2. Zarr v3 with 512^3 shards against v2, level 0 alone: at least 0.9 of the throughput, the
#    same array (em-meta's sha256 of both), and at most 64 files for 1 GiB (4096 chunks in v2).
pair v3 "--levels 1 --zarr-format 3 --shard 512,512,512" v2 "--levels 1" || exit 1
row "tiff -> v3 shards 512^3" "$(mbps "$bytes" "$A_SECS")" "v2 64^3 chunks" \
	"$(mbps "$bytes" "$B_SECS")" "$A_RSS" 0.9
cp "$BENCH_DIR/pyr_v3.out" "$OUT/v3.r1.stub"
cp "$BENCH_DIR/pyr_v2.out" "$OUT/v2.r1.stub"
s3=$(em-meta -q --jobs 2 "$OUT/v3.r1.stub" | jq -r .sha256)
s2=$(em-meta -q --jobs 2 "$OUT/v2.r1.stub" | jq -r .sha256)
if [ -z "$s3" ] || [ "$s3" != "$s2" ]; then
	echo "bench: the v3 store's array ($s3) is not the v2 store's ($s2)" >&2
	exit 1
fi
f3=$(find "$OUT/v3.r1" -type f | wc -l)
f2=$(find "$OUT/v2.r1" -type f | wc -l)
awk -v a="$f3" -v b="$f2" -v z="$Z" 'BEGIN {
	lim = 64 * z / 1024
	printf "%-34s %9s %-24s %9s %6s %7s %6s %6s  %s\n", "files in the store (v3 vs v2)", a,
		"v2 files", b, "-", "<=" lim, "-", "-", (a <= lim ? "met" : "MISSED") }'
discard "$OUT"
