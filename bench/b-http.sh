#!/bin/sh
# b-http.sh - the transport: a 1 GiB download from em-origin on loopback to disk, against
# `curl -o` of the same URL in the same run.  Target: >= 90% of curl's rate, peak RSS <= 32 MB.
. "$(dirname "$0")/lib.sh"

SIZE=1073741824
src=$BENCH_DIR/http-www
mkdir -p "$src"
if [ "$(stat -c %s "$src/1g.bin" 2>/dev/null)" != "$SIZE" ]; then
	genfile 1G "$src/1g.bin" 11 || { echo "bench: cannot make the 1 GiB file" >&2; exit 1; }
fi
rm -f "$BENCH_DIR/http.port"
em-origin --root "$src" --port-file "$BENCH_DIR/http.port" >/dev/null 2>&1 &
opid=$!
trap 'kill $opid 2>/dev/null; rm -f "$BENCH_DIR/http-ours.bin" "$BENCH_DIR/http-curl.bin"' EXIT
i=0
while [ ! -s "$BENCH_DIR/http.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
url=$(head -n 1 "$BENCH_DIR/http.port")1g.bin

# Warm the page cache once, then alternate the two, best of three each.
curl -s -o /dev/null "$url"
best_ours=0 best_curl=0 rss_ours=0
for round in 1 2 3; do
	rm -f "$BENCH_DIR/http-ours.bin" "$BENCH_DIR/http-ours.bin.part"
	timed http-ours httpget -q download "$url" "$BENCH_DIR/http-ours.bin" || exit 1
	r=$(mbps $SIZE "$SECS")
	best_ours=$(awk -v a="$r" -v b="$best_ours" 'BEGIN { print (a > b ? a : b) }')
	[ "$RSS_MB" -gt "$rss_ours" ] && rss_ours=$RSS_MB
	cmp -s "$src/1g.bin" "$BENCH_DIR/http-ours.bin" || { echo "bench: download differs" >&2; exit 1; }
	rm -f "$BENCH_DIR/http-curl.bin"
	timed http-curl curl -s -o "$BENCH_DIR/http-curl.bin" "$url" || exit 1
	r=$(mbps $SIZE "$SECS")
	best_curl=$(awk -v a="$r" -v b="$best_curl" 'BEGIN { print (a > b ? a : b) }')
done
row "http download 1 GiB (loopback)" "$best_ours" "curl -o" "$best_curl" "$rss_ours" 0.9 32
