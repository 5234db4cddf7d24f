#!/bin/sh
# b-readers.sh - the image readers (lib/formats/image.h via t/prog/imgsum: every plane read and
# SHA-256'd) against tifffile/mrcfile doing the same, page by page, on the shared EM volume,
# and against copying each plane and hashing it on one thread (bench/lib.sh's ceilings).
# 1 GiB (BENCH_READERS_N=1024), each side's faster of two runs: a 128 MiB file is read in a
# tenth of a second, where starting the process and the page cache's first read weigh as
# much as the reading (0.61 to 0.71 of the ceiling on one machine, 0.90 and 0.96 at 1 GiB).
. "$(dirname "$0")/lib.sh"

N=${BENCH_READERS_N:-1024}
raw=$(em_volume "$N" "$N" "$N") || exit 1
tif=$BENCH_DIR/readers_$N.tif
mrc=$BENCH_DIR/readers_$N.mrc
[ -s "$tif" ] || $PY "$SHARED_BENCH/peers.py" make_tiff "$raw" "$N" "$tif" >/dev/null || exit 1
[ -s "$mrc" ] || $PY "$SHARED_BENCH/peers.py" make_mrc "$raw" "$N" "$mrc" >/dev/null || exit 1
bytes=$((N * N * N))
ceilings || exit 1
rc_ceil=$(awk -v s="$C_SHA256" -v c="$C_MEMCPY" 'BEGIN { printf "%.1f", 1 / (1 / s + 1 / c) }')

cat >"$BENCH_DIR/readers_peer.py" <<'PY'
import hashlib, sys
kind, path = sys.argv[1], sys.argv[2]
h = hashlib.sha256()
if kind == "tiff":
    import tifffile
    with tifffile.TiffFile(path) as t:
        for p in t.pages:
            h.update(p.asarray().tobytes())
else:
    import mrcfile
    with mrcfile.mmap(path, permissive=True) as m:
        for z in range(m.data.shape[0]):
            h.update(m.data[z].tobytes())
print(h.hexdigest())
PY

# ref_one / ours_one: one timed run of the peer / of imgsum on $f ($kind).
ref_one() { timed "readers_ref_$kind" "$PY" "$BENCH_DIR/readers_peer.py" "$kind" "$f"; }
ours_one() { timed "readers_ours_$kind" imgsum "$f"; }
for kind in tiff mrc; do
	f=$tif
	[ "$kind" = mrc ] && f=$mrc
	best ref_one || exit 1
	ref=$(mbps "$bytes" "$SECS")
	refsum=$(cat "$BENCH_DIR/readers_ref_$kind.out")
	best ours_one || exit 1
	ours=$(mbps "$bytes" "$SECS")
	case $(cat "$BENCH_DIR/readers_ours_$kind.out") in
	*"\"sha256\":\"$refsum\""*) ;;
	*) echo "bench: imgsum and the peer disagree on $f" >&2; exit 1 ;;
	esac
	row "read $kind ${N}^3 u8 + sha256" "$ours" "${kind}file pages+hashlib" "$ref" "$RSS_MB" 1.0 32
	# One thread reads and hashes in turn: each plane is copied out of the page cache (at
	# memcpy's speed at best) and hashed (at SHA-256's, the plane being in cache), so the
	# ceiling is the two one after the other on one thread.
	row "read $kind ${N}^3 u8 + sha256" "$ours" "copy + sha256 (1 thread)" "$rc_ceil" "$RSS_MB" 0.8 32
done
