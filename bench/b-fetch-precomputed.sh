#!/bin/sh
# b-fetch-precomputed.sh - fetch-precomputed against em-origin on loopback with 20 ms added to
# every request: a Neuroglancer precomputed JPEG volume (64^3 chunks, as the hemibrain release
# has them) of BENCH_PC_SIDE^3 voxels (default 512), unsharded and sharded (murmurhash3,
# gzip minishard indexes), each with --jobs 8 against --jobs 1.
# Targets: --jobs 8 >= 5x --jobs 1; peak RSS <= 256 MB.
. "$(dirname "$0")/lib.sh"

SIDE=${BENCH_PC_SIDE:-512}
DELAY=${BENCH_PC_DELAY_MS:-20}
www=$BENCH_DIR/pc-www
trap 'kill $opid 2>/dev/null; discard "$BENCH_DIR"/pc-out-*' EXIT

if [ ! -f "$www/jpeg_$SIDE/info" ] || [ ! -f "$www/jpegshard_$SIDE/info" ]; then
	vol=$(em_volume "$SIDE" "$SIDE" "$SIDE") || exit 1
	rm -rf "$www"
	mkdir -p "$www"
	$PY - "$vol" "$www" "$SIDE" "$TOP/t" <<'PYEOF' || { echo "bench: cannot make the volumes" >&2; exit 1; }
import os, sys, numpy as np
sys.path.insert(0, sys.argv[4])
import precomputed
n = int(sys.argv[3])
v = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(n, n, n)
scale = {"key": "8.0x8.0x8.0", "resolution": [8, 8, 8], "chunk_sizes": [[64, 64, 64]], "encoding": "jpeg"}
precomputed.write_volume(os.path.join(sys.argv[2], "jpeg_%d" % n), v, "uint8", [dict(scale)])
scale["sharding"] = {"@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 3,
                     "hash": "murmurhash3_x86_128", "minishard_bits": 3, "shard_bits": 3,
                     "minishard_index_encoding": "gzip", "data_encoding": "raw"}
precomputed.write_volume(os.path.join(sys.argv[2], "jpegshard_%d" % n), v, "uint8", [dict(scale)])
PYEOF
fi
bytes=$((SIDE * SIDE * SIDE))

rm -f "$BENCH_DIR/pc.port"
em-origin --root "$www" --port-file "$BENCH_DIR/pc.port" --fault "delay=$DELAY" >/dev/null 2>&1 &
opid=$!
i=0
while [ ! -s "$BENCH_DIR/pc.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
base=$(head -n 1 "$BENCH_DIR/pc.port")
conf="--config $TOP/config/config.yaml"

for v in jpeg jpegshard; do
	url=${base}${v}_$SIDE
	discard "$BENCH_DIR"/pc-out-*
	timed pc-${v}8 fetch-precomputed $conf -q --jobs 8 -o "$BENCH_DIR/pc-out-8" "$url" || exit 1
	j8=$(mbps $bytes "$SECS") rss=$RSS_MB
	timed pc-${v}1 fetch-precomputed $conf -q --jobs 1 -o "$BENCH_DIR/pc-out-1" "$url" || exit 1
	j1=$(mbps $bytes "$SECS")
	# Chunk for chunk: the writers' journals (*.chunks) list chunks in the order they finished.
	diff -r "$BENCH_DIR/pc-out-8" "$BENCH_DIR/pc-out-1" -x '*.json' -x '*.chunks' \
		-x '*.chunks.*' >/dev/null ||
		{ echo "bench: --jobs 8 and --jobs 1 stores differ ($v)" >&2; exit 1; }
	row "precomputed $v ${SIDE}^3, ${DELAY} ms, j8" "$j8" "fetch-precomputed --jobs 1" \
		"$j1" "$rss" 5 256
done
