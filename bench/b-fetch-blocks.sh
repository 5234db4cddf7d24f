#!/bin/sh
# b-fetch-blocks.sh - the block fetchers against em-origin on loopback with 20 ms added to every
# request (a remote archive's latency): fetch-zarr of a 1 GiB Zarr v2 store (64^3 zstd chunks)
# and fetch-dvid of a 512^3 box (64^3 subvolumes), each with --jobs 8 against --jobs 1 and
# against a plain Python loop (urllib + numcodecs + zarr, one request at a time: Debian has no
# fsspec HTTP filesystem for zarr 2.13) reading the same data into the same kind of store.
# Targets: --jobs 8 >= 5x --jobs 1 and >= 3x the Python loop; peak RSS <= 256 MB.
# BENCH_BLOCKS_MB (default 1024) makes the Zarr store and the DVID box smaller for quick runs
# (the DVID box is the cube of about that many MiB, at most 512^3).
. "$(dirname "$0")/lib.sh"

MB=${BENCH_BLOCKS_MB:-1024}
DELAY=${BENCH_BLOCKS_DELAY_MS:-20}
www=$BENCH_DIR/blocks-www
mkdir -p "$www"
trap 'kill $opid 2>/dev/null; discard "$BENCH_DIR"/blocks-out-*' EXIT

# The Zarr store: MB planes of 1024 x 1024 EM-like uint8, 64^3 chunks, zstd level 1.
nz=$MB
zarr=$(em_zarr_store "$nz" "$www") || exit 1
zbytes=$((nz * 1024 * 1024))

# The DVID volume: the largest cube up to 512 that fits MB MiB.
side=512
while [ $((side * side * side)) -gt $((MB * 1048576)) ] && [ $side -gt 64 ]; do side=$((side / 2)); done
uuid=0123456789abcdef0123456789abcdef
dv=$www/api/node/$uuid/grayscale
mkdir -p "$dv"
if [ "$(stat -c %s "$dv/volume.u8" 2>/dev/null)" != $((side * side * side)) ]; then
	vol=$(em_volume $side $side $side) || exit 1
	cp "$vol" "$dv/volume.u8"
	m=$((side - 1))
	printf '{"Base":{"TypeName":"uint8blk","Name":"grayscale"},"Extended":{"BlockSize":[64,64,64],"VoxelSize":[8,8,8],"VoxelUnits":["nanometers","nanometers","nanometers"],"MinPoint":[0,0,0],"MaxPoint":[%d,%d,%d]}}\n' \
		$m $m $m >"$dv/info.json"
fi
dbytes=$((side * side * side))

rm -f "$BENCH_DIR/blocks.port"
em-origin --root "$www" --port-file "$BENCH_DIR/blocks.port" --fault "delay=$DELAY" >/dev/null 2>&1 &
opid=$!
i=0
while [ ! -s "$BENCH_DIR/blocks.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
base=$(head -n 1 "$BENCH_DIR/blocks.port")

# DVID's max_parallel (4 in config.yaml) is the fair use of the real server, which answers
# 503 beyond its throttled operations; the local origin sets no such limit, so the row
# lifts it to 8 as OpenOrganelle's is: --jobs 8 then means 8 requests in flight for both
# fetchers, and the row measures the engine, not the politeness setting.
cat >"$BENCH_DIR/blocks-overlay.yaml" <<EOF
global:
  compressor: zstd
  level: 1
sources:
  dvid:
    request_xyz: [64, 64, 64]
    max_parallel: 8
EOF
EM_CONFIG_OVERLAY=$BENCH_DIR/blocks-overlay.yaml
export EM_CONFIG_OVERLAY
conf="--config $TOP/config/config.yaml"

# The Python loop: every chunk (or subvolume) in turn with urllib, into a local zarr array.
cat >"$BENCH_DIR/blocks-peer.py" <<'PYEOF'
import json, sys, time, urllib.request, numpy as np, zarr, numcodecs
mode, base, out = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.time()
if mode == "zarr":
    meta = json.load(urllib.request.urlopen(base + "/.zarray"))
    shape, ch = meta["shape"], meta["chunks"]
    dec = numcodecs.get_codec(meta["compressor"])
    dst = zarr.open_array(out, mode="w", shape=shape, chunks=ch, dtype=meta["dtype"],
                          compressor=numcodecs.Zstd(level=1), dimension_separator="/")
    for z in range(0, shape[0], ch[0]):
        for y in range(0, shape[1], ch[1]):
            for x in range(0, shape[2], ch[2]):
                key = "%d/%d/%d" % (z // ch[0], y // ch[1], x // ch[2])
                buf = urllib.request.urlopen(base + "/" + key).read()
                c = np.frombuffer(dec.decode(buf), dtype=meta["dtype"]).reshape(ch)
                dst[z:z + ch[0], y:y + ch[1], x:x + ch[2]] = c[:shape[0] - z, :shape[1] - y, :shape[2] - x]
    n = int(np.prod(shape))
else:
    side, step = int(sys.argv[4]), 64
    dst = zarr.open_array(out, mode="w", shape=(side,) * 3, chunks=(64,) * 3, dtype="u1",
                          compressor=numcodecs.Zstd(level=1), dimension_separator="/")
    for z in range(0, side, step):
        for y in range(0, side, step):
            for x in range(0, side, step):
                u = "%s/raw/0_1_2/%d_%d_%d/%d_%d_%d?throttle=true" % (base, step, step, step, x, y, z)
                buf = urllib.request.urlopen(u).read()
                assert len(buf) == step ** 3
                dst[z:z + step, y:y + step, x:x + step] = np.frombuffer(buf, dtype=np.uint8).reshape((step,) * 3)
    n = side ** 3
print("PEER mode=%s seconds=%.3f MBps=%.1f" % (mode, time.time() - t0, n / (time.time() - t0) / 1e6))
PYEOF

# case NAME BYTES: fetch-zarr / fetch-dvid with --jobs 8 and 1, and the Python loop.
zurl=${base}vol_$nz.zarr
discard "$BENCH_DIR"/blocks-out-*
timed blocks-zarr8 fetch-zarr $conf -q --jobs 8 -o "$BENCH_DIR/blocks-out-z8" "$zurl" || exit 1
z8=$(mbps $zbytes "$SECS") z8rss=$RSS_MB
timed blocks-zarr1 fetch-zarr $conf -q --jobs 1 -o "$BENCH_DIR/blocks-out-z1" "$zurl" || exit 1
z1=$(mbps $zbytes "$SECS")
timed blocks-zarrpy $PY "$BENCH_DIR/blocks-peer.py" zarr "$zurl" "$BENCH_DIR/blocks-out-zpy" || exit 1
zpy=$(mbps $zbytes "$SECS")
# The same store chunk for chunk: the records and manifests name their runs, and the writers'
# journals (*.chunks) list the chunks in the order they were finished.
diff -r "$BENCH_DIR/blocks-out-z8" "$BENCH_DIR/blocks-out-z1" -x '*.json' -x '*.chunks' \
	-x '*.chunks.*' >/dev/null ||
	{ echo "bench: --jobs 8 and --jobs 1 stores differ" >&2; exit 1; }
row "fetch-zarr $MB MiB, ${DELAY} ms, jobs 8" "$z8" "fetch-zarr --jobs 1" "$z1" "$z8rss" 5 256
row "fetch-zarr $MB MiB, ${DELAY} ms, jobs 8" "$z8" "python urllib loop" "$zpy" "$z8rss" 3 256

durl=${base}api/node/$uuid/grayscale
dargs="--server $base --uuid $uuid --offset 0,0,0 --size $side,$side,$side"
timed blocks-dvid8 fetch-dvid $conf -q --jobs 8 $dargs -o "$BENCH_DIR/blocks-out-d8" || exit 1
d8=$(mbps $dbytes "$SECS") d8rss=$RSS_MB
timed blocks-dvid1 fetch-dvid $conf -q --jobs 1 $dargs -o "$BENCH_DIR/blocks-out-d1" || exit 1
d1=$(mbps $dbytes "$SECS")
timed blocks-dvidpy $PY "$BENCH_DIR/blocks-peer.py" dvid "$durl" "$BENCH_DIR/blocks-out-dpy" $side || exit 1
dpy=$(mbps $dbytes "$SECS")
row "fetch-dvid ${side}^3, ${DELAY} ms, jobs 8" "$d8" "fetch-dvid --jobs 1" "$d1" "$d8rss" 5 256
row "fetch-dvid ${side}^3, ${DELAY} ms, jobs 8" "$d8" "python urllib loop" "$dpy" "$d8rss" 3 256
