#!/bin/sh
# part-lock.sh - the store's lock is per part: while part 1 of 2 runs (from a slow origin),
# a second run of part 1 is refused naming the holder, and part 2 runs beside it; a whole
# run waits for neither but is refused too; both parts finish the store as one run does.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy' 2>/dev/null || skip "python3-zarr and python3-numpy are needed (make deps)"
cd "$SCRATCH" || exit 1
CONF="--config $TOP/config/config.yaml"

$PY - <<'EOF' || fail "test data"
import numpy as np, zarr
z = zarr.open("www/arr.zarr", mode="w", shape=(32, 64, 64), chunks=(8, 64, 64), dtype="u1",
              compressor=None)
z[:] = np.random.default_rng(5).integers(0, 256, (32, 64, 64), dtype=np.uint8)
EOF
# Part 1's chunks (0 and 1 of 4) come slowly: 4 KiB at 2 KiB/s, about four seconds;
# part 2's at full speed.  One origin: the store's manifest names its URL.
start_origin main --root "$SCRATCH/www" --fault 'path=*/arr.zarr/[01].0.0,rate=2K'
FAST=$ORIGIN_URL SLOW=$ORIGIN_URL
ZO="$CONF --chunks 8,64,64 --compressor raw -j 1 -q --id arr"

fetch-zarr $ZO -o w "${FAST}arr.zarr" >/dev/null 2>&1 || fail "one run"
fetch-zarr $ZO -o s --part 1/2 "${SLOW}arr.zarr" >p1.out 2>p1.err &
P1=$!
# Wait until part 1 holds its lock (its slot in the lock file names it).
i=0
until grep -q " $P1" s/arr.zarr.lock 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 200 ] || break
	sleep 0.05
done
kill -0 "$P1" 2>/dev/null && ok "part 1 of 2 is running" || fail "part 1 of 2 ended too soon"
run fetch-zarr $ZO -o s --part 1/2 "${FAST}arr.zarr"
expect_rc 1 "a second run of part 1 of 2 is refused"
expect_grep "is being written by pid $P1" "$SCRATCH/err" "the refusal names the running part"
run fetch-zarr $ZO -o s "${FAST}arr.zarr"
expect_rc 1 "a whole-store run is refused while a part runs"
run fetch-zarr $ZO -o s --part 2/2 "${FAST}arr.zarr"
expect_rc 0 "part 2 of 2 runs beside part 1"
kill -0 "$P1" 2>/dev/null && ok "part 1 was still running when part 2 finished" ||
	fail "part 1 had ended before part 2 finished: the test shows nothing"
wait "$P1"
rc=$?
[ "$rc" -eq 0 ] && ok "part 1 of 2 finishes" || fail "part 1 of 2: exit $rc: $(cat p1.err)"
if diff -r -x '*.json' -x '*.chunks*' -x .zattrs -x 1 w/arr.zarr/0 s/arr.zarr/0 >/dev/null; then
	ok "the two parts wrote level 0 as one run does"
else
	fail "the parts' level 0 differs from one run's"
fi

done_testing
