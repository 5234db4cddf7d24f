#!/bin/sh
# diskfull.sh - the store writer on a full disk: zarrtool write fails with a message naming
# the store and the reason, leaves no chunk under its final name that is not whole and no
# temporary file, and a re-run once there is space finishes the store byte-identical to one
# written in one go.  A 2 MiB tmpfs when mount is permitted (root); else ulimit -f, which
# fails a write past the file size limit the same way (EFBIG instead of ENOSPC);
# EM_TEST_NO_MOUNT=1 takes that way as root too.
. "$(dirname "$0")/../lib.sh"

command -v zarrtool >/dev/null || skip "t/prog/zarrtool is not built"
MNT=$SCRATCH/mnt
mkdir -p "$MNT"
MOUNTED=0
trap '[ "$MOUNTED" -eq 1 ] && umount "$MNT"; t_cleanup' EXIT
if [ -z "${EM_TEST_NO_MOUNT:-}" ] && [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=2m,mode=0755 emtest "$MNT" 2>/dev/null; then
	MOUNTED=1
	STORE=$MNT/store.zarr
else
	STORE=$SCRATCH/limited.zarr
fi

# 3 MiB of incompressible uint8 in raw 64 KiB chunks: 48 chunks, more than 2 MiB holds.
genfile 3M "$SCRATCH/data.raw" 7
set -- --dtype uint8 --shape 48,256,256 --chunks 16,64,64 --codec raw
run zarrtool write "$@" "$SCRATCH/data.raw" "$SCRATCH/ref.zarr"
expect_rc 0 "the reference store is written where there is space"

if [ "$MOUNTED" -eq 1 ]; then
	run zarrtool write "$@" "$SCRATCH/data.raw" "$STORE"
	why="No space left on device"
else
	# 64 blocks of 512 bytes: smaller than one 64 KiB chunk, larger than .zarray.
	(trap '' XFSZ; ulimit -f 64; zarrtool write "$@" "$SCRATCH/data.raw" "$STORE") \
	    >"$SCRATCH/out" 2>"$SCRATCH/err"
	export RC=$?
	why="File too large"
fi
expect_rc 1 "a full disk fails the write with exit 1"
expect_grep "^zarrtool: cannot write '$STORE': .*$why" "$SCRATCH/err" \
	"the message names the store and says the disk is full"

# Every chunk under a final name is whole (raw: exactly 65536 bytes); no temporary is left.
find "$STORE" -type f >"$SCRATCH/files"
bad=0 nchunks=0
while read -r f; do
	case ${f##*/} in
	.z*) ;;
	*.tmp.*) fail "temporary file left: $f"; bad=1 ;;
	*) nchunks=$((nchunks + 1))
	   [ "$(wc -c <"$f")" -eq 65536 ] || { fail "partial chunk $f"; bad=1; } ;;
	esac
done <"$SCRATCH/files"
[ "$bad" -eq 0 ] && ok "no partial chunk and no temporary file ($nchunks whole chunks kept)"
if [ "$nchunks" -lt 48 ]; then
	ok "the store is incomplete, not whole ($nchunks of 48 chunks)"
else
	fail "all 48 chunks present after a failed write"
fi

# With space: a re-run resumes and finishes the same bytes.
if [ "$MOUNTED" -eq 1 ]; then
	mount -o remount,size=8m "$MNT" || fail "cannot grow the tmpfs"
fi
run zarrtool write "$@" "$SCRATCH/data.raw" "$STORE"
expect_rc 0 "a re-run with space finishes the store"
if diff -r "$SCRATCH/ref.zarr" "$STORE" >"$SCRATCH/diff" 2>&1; then
	ok "the finished store is byte-identical to one written in one go"
else
	fail "the finished store differs"; head -n 20 "$SCRATCH/diff" | sed 's/^/#   /'
fi
run zarrtool sha256 "$STORE"
cp "$SCRATCH/out" "$SCRATCH/sum.store"
run zarrtool sha256 "$SCRATCH/ref.zarr"
expect_same "$SCRATCH/out" "$SCRATCH/sum.store" "its array hashes the same"
[ "$NFAIL" -eq 0 ]
