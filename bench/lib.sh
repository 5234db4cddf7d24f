# lib.sh - sourced by bench/b-*.sh: paths, the shared EM-like volume, timing, one table row per case.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${EM_SHARED_BENCH:-$TOP/../shared/bench}
BENCH_DIR=${BENCH_DIR:-$TOP/bench/scratch}
PY=/usr/bin/python3
mkdir -p "$BENCH_DIR"
for d in "$TOP"/fetch-* "$TOP"/em-*; do [ -d "$d" ] && PATH=$d:$PATH; done
PATH=$TOP/t/prog:$TOP/bench:$PATH
export PATH

# em_volume SIZE_Z SIZE_Y SIZE_X: path of the synthetic EM-like uint8 volume
# (made once with the shared gen_em.c and kept in $BENCH_DIR).
em_volume() {
	v=$BENCH_DIR/em_$1x$2x$3.raw
	if [ ! -s "$v" ]; then
		if [ ! -x "$BENCH_DIR/gen_em" ]; then
			cc -O2 -fopenmp "$SHARED_BENCH/gen_em.c" -lm -o "$BENCH_DIR/gen_em" ||
				{ echo "bench: cannot build gen_em" >&2; return 1; }
		fi
		"$BENCH_DIR/gen_em" "$3" "$2" "$1" "$v.tmp" >/dev/null && mv "$v.tmp" "$v" ||
			{ echo "bench: cannot make $v" >&2; return 1; }
	fi
	echo "$v"
}

# timed NAME command...: runs it under peakrss; sets SECS and RSS_MB.
timed() {
	name=$1
	shift
	sync
	if ! peakrss "$BENCH_DIR/$name.rss" "$@" >"$BENCH_DIR/$name.out" 2>"$BENCH_DIR/$name.err"; then
		echo "bench: '$name' failed:" >&2
		tail -n 5 "$BENCH_DIR/$name.err" >&2
		return 1
	fi
	SECS=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' "$BENCH_DIR/$name.rss")
	RSS_MB=$(sed 's/.*rss_kb=\([0-9]*\).*/\1/' "$BENCH_DIR/$name.rss" | awk '{printf "%.0f", $1/1024}')
}

# mbps BYTES SECONDS
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }'; }

# row CASE OURS_MBPS REF_NAME REF_MBPS RSS_MB TARGET_RATIO [RSS_LIMIT_MB]
# One line of the table; the verdict compares the ratio (and RSS) with the target.
row() {
	awk -v c="$1" -v o="$2" -v rn="$3" -v r="$4" -v m="$5" -v t="$6" -v lim="${7:-0}" 'BEGIN {
		ratio = (r > 0 ? o / r : 0)
		v = (ratio >= t && (lim == 0 || m <= lim)) ? "met" : "MISSED"
		printf "%-34s %9.1f %-24s %9.1f %6.2f %7s %6d %6s  %s\n", c, o, rn, r, ratio, ">=" t, m,
			(lim ? "<=" lim : "-"), v
	}'
}
