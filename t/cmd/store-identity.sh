# store-identity.sh - a store belongs to one source: a run from another source, version or
# parameters is refused (or, with --overwrite, builds the new store beside the old and swaps
# it in); one writer per store (the lock names its holder, --wait queues); resume trusts only
# the chunks the store's journal names, so a chunk cut short or put there by another program
# is written again; ids are never cut.  Each case failed before stores had a manifest, a lock
# and a journal.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

PY=/usr/bin/python3
$PY -c 'import numpy, tifffile, zarr' 2>/dev/null || skip "python3-numpy, -tifffile or -zarr missing (make deps)"
cd "$SCRATCH" || exit 1
mkdir www
$PY - <<'EOF'
import numpy as np, tifffile
for name, seed in (("a", 1), ("b", 2), ("c", 3)):
    v = np.random.default_rng(seed).integers(0, 255, (24, 48, 40), dtype=np.uint8)
    tifffile.imwrite("www/%s.tif" % name, v)
EOF
cp www/a.tif a.tif
cp www/b.tif b.tif
A=file://$SCRATCH/a.tif
B=file://$SCRATCH/b.tif
FE="fetch-epfl --chunks 8,16,16 -q"

# equal STORE TIFF: the store's array is exactly the file's volume.
equal() {
	$PY -c 'import sys, zarr, tifffile, numpy as np
a = zarr.open(sys.argv[1] + "/0", mode="r")[:]
sys.exit(0 if np.array_equal(a, tifffile.imread(sys.argv[2])) else 1)' "$1" "$2"
}
field() { $PY -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2"; }
complete() { # RECORD: em-meta completes it from the record on disk
	em-meta <"$1" >/dev/null 2>>"$SCRATCH/meta.err"
}

# 1. The same id from another file of the same shape: refused, the store and its record stay.
run $FE --url "$A" --id vol -o d1
expect_rc 0 "first run from a.tif"
complete d1/vol.json
run $FE --url "$B" --id vol -o d1
expect_rc 1 "the same id from b.tif is refused"
expect_grep "another source" err "the refusal says why"
expect_grep "a.tif" err "it names the store's source"
expect_grep "b.tif" err "and this run's"
expect_grep "overwrite" err "and how to replace it"
equal d1/vol.zarr a.tif && ok "the store still holds a.tif" || fail "the store changed"
[ "$(field d1/vol.json status)" = complete ] && ok "the record stays complete" ||
	fail "record is $(field d1/vol.json status)"
field d1/vol.json download_url | grep -q 'a.tif$' && ok "the record still names a.tif" ||
	fail "record names $(field d1/vol.json download_url)"
field d1/vol.json last_attempt | grep -q "another source" &&
	ok "the refused attempt is in last_attempt" || fail "no last_attempt"

# 2. --overwrite: the new store is built beside the old one and swapped in.
run $FE --url "$B" --id vol -o d1 --overwrite
expect_rc 0 "--overwrite from b.tif"
equal d1/vol.zarr b.tif && ok "the store now holds b.tif" || fail "the store is not b.tif"
[ ! -e d1/vol.zarr.new ] && ok "nothing is left beside it" || fail "d1/vol.zarr.new stays"
field d1/vol.json download_url | grep -q 'b.tif$' && ok "the record names b.tif" ||
	fail "record names $(field d1/vol.json download_url)"
complete d1/vol.json
[ "$(field d1/vol.json status)" = complete ] && ok "em-meta completes it" || fail "not complete"

# 3. An --overwrite that fails part-way leaves the old store and its complete record.
head -c 20000 www/c.tif >c-cut.tif
run $FE --url "file://$SCRATCH/c-cut.tif" --id vol -o d1 --overwrite
[ "$RC" -ne 0 ] && ok "a failing --overwrite exits $RC" || fail "a cut TIFF was accepted"
equal d1/vol.zarr b.tif && ok "the old store is untouched" || fail "the old store changed"
[ "$(field d1/vol.json status)" = complete ] && ok "its record stays complete" ||
	fail "record is $(field d1/vol.json status)"

# 4. The same path with other bytes (a new version of the file): refused.
run $FE --url "$A" --id ver -o d2
expect_rc 0 "first run from a.tif"
cp www/c.tif a.tif
run $FE --url "$A" --id ver -o d2
expect_rc 1 "the same URL with new content is refused"
expect_grep "version.mtimes" err "the refusal names the version evidence"
cp www/a.tif a.tif

# 5. Other write parameters: refused, naming them.
run fetch-epfl --chunks 8,8,8 -q --url "$B" --id vol -o d1
expect_rc 1 "other chunks are refused"
expect_grep "write.chunks" err "naming the chunks"

# 6. A chunk cut short and a foreign file at a chunk's path: a re-run writes them again.
run fetch-epfl --chunks 8,16,16 --url "$B" --id rep -o d3
complete d3/vol.json 2>/dev/null
complete d3/rep.json
k1=$(find d3/rep.zarr/0 -type f -name '0' -path '*/0/0/0' | head -n 1)
k2=d3/rep.zarr/0/1/1/1
truncate -s 10 "$k1"
cp "$k1" "$k2.tmp" && head -c 300 /dev/urandom >"$k2" && rm -f "$k2.tmp"
run fetch-epfl --chunks 8,16,16 --url "$B" --id rep -o d3
expect_rc 0 "a re-run over a damaged complete store"
expect_grep "not whole" err "it says the store is not whole"
equal d3/rep.zarr b.tif && ok "the store is repaired" || fail "the store is still damaged"

# 7. A chunk of the right size with other bytes: only --verify finds it.
k=d3/rep.zarr/0/2/0/1
sz=$(stat -c %s "$k")
head -c "$sz" /dev/urandom >"$k"
run $FE --url "$B" --id rep -o d3 --verify
expect_rc 0 "--verify"
equal d3/rep.zarr b.tif && ok "--verify rewrites a garbled chunk" || fail "garbled chunk stays"

# 8. Ids are never cut: 129 characters are refused, 128 work.
long=$(printf 'x%.0s' $(seq 1 129))
run $FE --url "$A" --id "$long" -o d4
expect_rc 1 "an id of 129 characters is refused"
expect_grep "at most 128" err "saying the limit"
run $FE --url "$A" --id "${long#x}" -o d4
expect_rc 0 "an id of 128 characters works"
[ -d "d4/${long#x}.zarr" ] && ok "its store has the whole id" || fail "no store named by the id"

# 9. One writer per store: a second run fails naming the holder; --wait queues behind it.
start_origin o --root "$SCRATCH/www" --fault 'delay=1500'
U=${ORIGIN_URL}a.tif
$FE --url "$U" --id busy -o d5 >first.out 2>first.err &
first=$!
i=0
while [ ! -e d5/busy.zarr.lock ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
run $FE --url "$U" --id busy -o d5
expect_rc 1 "a second writer of the same store fails"
expect_grep "being written by pid $first" err "naming the holder's pid"
run $FE --url "$U" --id busy -o d5 --wait
expect_rc 0 "--wait queues behind the first"
wait "$first"
RC=$?
expect_rc 0 "the first run finishes"
equal d5/busy.zarr www/a.tif && ok "the store holds the file" || fail "the store is wrong"
if grep -q 'did not finish' d5/busy.json; then fail "a false 'did not finish' entry in the record"; else
	ok "no false 'did not finish' entry in the record's history"; fi

# 10. Eight writers of one id at once, four from each file: one store, of one file, whole.
pids=""
for i in 1 2 3 4 5 6 7 8; do
	f=$A
	[ $((i % 2)) -eq 0 ] && f=$B
	$FE --url "$f" --id race -o d6 --wait=60 >"race$i.out" 2>"race$i.err" &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
if equal d6/race.zarr a.tif; then won=a.tif; elif equal d6/race.zarr b.tif; then won=b.tif;
else won=""; fi
[ -n "$won" ] && ok "the store is exactly one of the files ($won)" || fail "the store is a mix"
field d6/race.json download_url | grep -q "$won\$" && ok "the record names that file" ||
	fail "the record names $(field d6/race.json download_url)"
complete d6/race.json
$PY -c 'import sys, json, hashlib, tifffile
r = json.load(open(sys.argv[1]))
sys.exit(0 if r["status"] == "complete" and
    r["sha256"] == hashlib.sha256(tifffile.imread(sys.argv[2]).tobytes()).hexdigest() else 1)' \
	d6/race.json "$won" && ok "complete, with the sha256 of that file's volume" ||
	fail "the record's sha256 is not the store's volume"
if grep -q 'did not finish' d6/race.json; then fail "a false 'did not finish' entry"; else
	ok "no false 'did not finish' entry (refused runs are noted as refused)"; fi
done_testing
