#!/bin/sh
# b-store.sh - the Zarr store engine: write speed against zarr-python and against the codec's
# own speed and the disk, the writer's peak memory (1 GiB and twice that), and read + sha256.
# EM_BENCH_Z=N uses an N x 1024 x 1024 volume instead of 1024^3 (e.g. 256 for a quick run).
. "$(dirname "$0")/lib.sh"
Z=${EM_BENCH_Z:-1024}
Z2=$((Z * 2))
VOL=$(em_volume "$Z" 1024 1024) || exit 1
BYTES=$((Z * 1024 * 1024))
OUT=$BENCH_DIR/store
rm -rf "$OUT"
mkdir -p "$OUT"

cat >"$OUT/py_write.py" <<'PY'
import sys, numpy as np, zarr, numcodecs
raw, n, out, comp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mm = np.memmap(raw, dtype='u1', mode='r', shape=(n, 1024, 1024))
c = numcodecs.Zlib(level=1) if comp == 'zlib1' else numcodecs.Zstd(level=1)
z = zarr.open(out, mode='w', shape=mm.shape, chunks=(64, 64, 64), dtype='u1', compressor=c)
for z0 in range(0, n, 64):    # bounded memory: one chunk row at a time
    z[z0:z0 + 64] = np.ascontiguousarray(mm[z0:z0 + 64])
PY

write() { # name codec level store [vol z]
	timed "$1" zarrtool write --codec "$2" --level "$3" --shape "${6:-$Z},1024,1024" \
		--chunks 64,64,64 --jobs 2 --stats "${5:-$VOL}" "$4"
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2" | head -n 1; }

# 1. zlib-1 against zarr-python's zlib-1 (numcodecs, slab by slab), same array and chunks.
write ours_zlib zlib 1 "$OUT/ours_zlib.zarr" || exit 1
ours=$(mbps "$BYTES" "$SECS")
rss=$RSS_MB
rm -rf "$OUT/ours_zlib.zarr"
timed py_zlib "$PY" "$OUT/py_write.py" "$VOL" "$Z" "$OUT/py_zlib.zarr" zlib1 || exit 1
rm -rf "$OUT/py_zlib.zarr"
row "zarr write zlib-1 (jobs 2)" "$ours" "zarr-python zlib-1" "$(mbps "$BYTES" "$SECS")" "$rss" 3

# 2. zstd-1 against min(2 x zstd-1 on one core, disk write with fdatasync), both measured now.
zarrtool codecbench --codec zstd --level 1 --threads 1 "$VOL" >"$OUT/codec.out" || exit 1
zstd1=$(field encode_MBps "$OUT/codec.out")
timed disk dd if="$VOL" of="$OUT/disk.bin" bs=4M conv=fdatasync || exit 1
disk=$(mbps "$BYTES" "$SECS")
rm -f "$OUT/disk.bin"
ref=$(awk -v a="$zstd1" -v d="$disk" 'BEGIN { r = 2 * a; if (d < r) r = d; printf "%.1f", r }')
write ours_zstd zstd 1 "$OUT/ours_zstd.zarr" || exit 1
row "zarr write zstd-1 (jobs 2)" "$(mbps "$BYTES" "$SECS")" "min(2x zstd1 $zstd1, disk $disk)" \
	"$ref" "$RSS_MB" 0.8 160
rss1=$RSS_MB
peak1=$(field peak "$BENCH_DIR/ours_zstd.err")

# 3. Read the whole store back in C order with SHA-256 (what em-meta does) against
#    min(SHA-256 speed, 2-thread zstd-1 decode speed).
zarrtool hashbench "$VOL" >"$OUT/hash.out" || exit 1
zarrtool codecbench --codec zstd --level 1 --threads 2 "$VOL" >"$OUT/codec2.out" || exit 1
ref=$(awk -v h="$(field sha256_MBps "$OUT/hash.out")" -v d="$(field decode_MBps "$OUT/codec2.out")" \
	'BEGIN { r = h; if (d < r) r = d; printf "%.1f", r }')
timed read_sha zarrtool sha256 --threads 2 "$OUT/ours_zstd.zarr" || exit 1
row "zarr read + sha256 (2 threads)" "$(mbps "$BYTES" "$SECS")" "min(sha256, 2t zstd dec)" \
	"$ref" "$RSS_MB" 0.8
rm -rf "$OUT/ours_zstd.zarr"

# 4. Peak memory does not grow with the volume: the same writer on twice the planes.
VOL2=$(em_volume "$Z2" 1024 1024) || exit 1
write ours_zstd2 zstd 1 "$OUT/ours_zstd2.zarr" "$VOL2" "$Z2" || exit 1
rm -rf "$OUT/ours_zstd2.zarr"
peak2=$(field peak "$BENCH_DIR/ours_zstd2.err")
echo "# writer buffers (its own count): $((peak1 / 1048576)) MiB for $Z planes," \
	"$((peak2 / 1048576)) MiB for $Z2; peak RSS $rss1 MB and $RSS_MB MB"
row "zarr writer RSS x1 / x2 volume" "$rss1" "RSS with 2x planes (MB)" "$RSS_MB" "$RSS_MB" 0.9 160
rm -rf "$OUT"
