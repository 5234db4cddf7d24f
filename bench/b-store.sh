#!/bin/sh
# b-store.sh - the Zarr store engine: write speed against zarr-python and against its ceiling
# (bench/lib.sh: the codec on the cores used, or the disk), the writer's peak memory (1 GiB and
# twice that), and read + sha256 (plain and em-meta's) against SHA-256 and zstd decoding.
# EM_BENCH_Z=N uses an N x 1024 x 1024 volume instead of 1024^3 (e.g. 256 for a quick run).
. "$(dirname "$0")/lib.sh"
Z=${EM_BENCH_Z:-1024}
Z2=$((Z * 2))
VOL=$(em_volume "$Z" 1024 1024) || exit 1
BYTES=$((Z * 1024 * 1024))
# Every write goes to a new store; none is deleted while the bench runs (discard in lib.sh:
# ext4 without a journal is slow to allocate inodes near ones freed a minute before).
OUT=$BENCH_DIR/store
discard "$OUT"
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

write_one() { # name codec level store vol z I
	timed "$1" zarrtool write --codec "$2" --level "$3" --shape "$6,1024,1024" \
		--chunks 64,64,64 --jobs 2 --stats "$5" "$4.r$7"
}
write() { best write_one "$1" "$2" "$3" "$4" "${5:-$VOL}" "${6:-$Z}"; }
py_one() { timed py_zlib "$PY" "$OUT/py_write.py" "$VOL" "$Z" "$OUT/py_zlib.zarr.r$1" zlib1; }
read_one() { timed read_sha zarrtool sha256 --threads 2 "$OUT/ours_zstd.zarr.r1"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2" | head -n 1; }

ceilings || exit 1

# 1. zlib-1 against zarr-python's zlib-1 (numcodecs, slab by slab), same array and chunks, and
#    against two ceilings, each the lesser of the codec on both cores and the disk with
#    fdatasync: libdeflate level 1, the target's yardstick, and igzip level 1 (ISA-L), what
#    the store compresses zlib level 1 with.  Against igzip the figure has no target: the
#    chunk files' page-cache copy and the codec share the two cores, which min() leaves out.
write ours_zlib zlib 1 "$OUT/ours_zlib.zarr" || exit 1
ours=$(mbps "$BYTES" "$SECS")
rss=$RSS_MB
best py_one || exit 1
row "zarr write zlib-1 (jobs 2)" "$ours" "zarr-python zlib-1" "$(mbps "$BYTES" "$SECS")" "$rss" 3
ref=$(lesser "$(awk -v a="$C_LIBDEFLATE_ENC" 'BEGIN { print 2 * a }')" "$C_DISK")
row "zarr write zlib-1 (jobs 2)" "$ours" "min(2x libdeflate-1, disk)" "$ref" "$rss" 0.8
ref=$(lesser "$(awk -v a="$C_ZLIB_ENC" 'BEGIN { print 2 * a }')" "$C_DISK")
row "zarr write zlib-1 (jobs 2)" "$ours" "min(2x igzip-1, disk)" "$ref" "$rss" -

# 2. zstd-1 against min(2 x zstd-1 on one core, disk write with fdatasync).
ref=$(lesser "$(awk -v a="$C_ZSTD_ENC" 'BEGIN { print 2 * a }')" "$C_DISK")
write ours_zstd zstd 1 "$OUT/ours_zstd.zarr" || exit 1
row "zarr write zstd-1 (jobs 2)" "$(mbps "$BYTES" "$SECS")" "min(2x zstd-1 enc, disk)" \
	"$ref" "$RSS_MB" 0.8 160
rss1=$RSS_MB
peak1=$(field peak "$BENCH_DIR/ours_zstd.err")

# 3. Read the whole store back in C order with SHA-256 (what em-meta does, through the same
#    lib/meta/digestarray.c, without the statistics).  One thread must hash every byte in
#    order while the other decodes and gathers: min(SHA-256, zstd-1 decode), one thread
#    each, bounds it.
ref=$(lesser "$C_SHA256" "$C_ZSTD_DEC")
best read_one || exit 1
rsecs=$SECS
row "zarr read + sha256 (2 threads)" "$(mbps "$BYTES" "$SECS")" "min(sha256, zstd-1 dec)" \
	"$ref" "$RSS_MB" 0.8

# 3b. em-meta itself on the same store: SHA-256 and the statistics in one pass, and the
#     record written, against the same ceiling; the statistics (counting every value) are
#     work on top of it, so the target is 0.6; their cost is the time em-meta takes beyond
#     the same read and hash without them.
printf '{"schema_version":1,"id":"bench","source":"epfl","status":"saving-data","status_history":[{"status":"saving-data","time":"2026-01-01T00:00:00Z"}],"internal_zarr_path":"%s"}\n' \
	"$OUT/ours_zstd.zarr.r1" >"$OUT/stub.json"
meta_one() { timed em_meta em-meta --jobs 2 "$OUT/stub.json"; }
best meta_one || exit 1
awk -v m="$SECS" -v r="$rsecs" -v b="$BYTES" 'BEGIN {
	printf "# em-meta: %.2f s for %.0f MB; the same read + SHA-256 without statistics %.2f s:" \
	    " statistics and record %.2f s (%.0f%%)\n", m, b / 1e6, r, m - r, (m > 0 ? 100 * (m - r) / m : 0) }'
row "em-meta sha256 + stats (jobs 2)" "$(mbps "$BYTES" "$SECS")" "min(sha256, zstd-1 dec)" \
	"$ref" "$RSS_MB" 0.6

# 4. Peak memory does not grow with the volume: the same writer on twice the planes.
VOL2=$(em_volume "$Z2" 1024 1024) || exit 1
write ours_zstd2 zstd 1 "$OUT/ours_zstd2.zarr" "$VOL2" "$Z2" || exit 1
peak2=$(field peak "$BENCH_DIR/ours_zstd2.err")
echo "# writer buffers (its own count): $((peak1 / 1048576)) MiB for $Z planes," \
	"$((peak2 / 1048576)) MiB for $Z2; peak RSS $rss1 MB and $RSS_MB MB"
row "zarr writer RSS x1 / x2 volume" "$rss1" "RSS with 2x planes (MB)" "$RSS_MB" "$RSS_MB" 0.9 160
discard "$OUT"
