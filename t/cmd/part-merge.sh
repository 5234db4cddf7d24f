#!/bin/sh
# part-merge.sh - part records and em-meta --merge: N parts (fetcher | em-meta each), the
# pyramid by em-downsample, then em-meta --merge give the record one run gives (sha256,
# statistics, levels, sizes) for 8-bit, 16-bit and float data, v2 chunks and v3 shards,
# from fetch-epfl (planes), fetch-zarr and fetch-dvid (boxes);
# a missing, failed or foreign part leaves the volume failed, naming the part.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/parts.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy, tifffile' 2>/dev/null ||
	skip "python3-zarr, python3-numpy and python3-tifffile are needed (make deps)"
cd "$SCRATCH" || exit 1
CONF="--config $TOP/config/config.yaml"

$PY - <<'EOF' || fail "test data"
import hashlib, numpy as np, tifffile, zarr
rng = np.random.default_rng(151)
a = rng.integers(0, 256, (40, 96, 128), dtype=np.uint8)
a[:8] = 0   # fill voxels, counted apart
tifffile.imwrite("v.tif", a, photometric="minisblack")
open("v.sha", "w").write(hashlib.sha256(a.tobytes()).hexdigest())
b = rng.integers(100, 3000, (37, 70, 90), dtype=np.uint16)
z = zarr.open("www/u16.zarr", mode="w", shape=b.shape, chunks=(10, 20, 30), dtype="<u2",
              compressor=zarr.Zlib(level=1))
z[:] = b
open("u16.sha", "w").write(hashlib.sha256(b.tobytes()).hexdigest())
c = (rng.standard_normal((21, 50, 60)) * 1e3 + 5e4).astype(np.float32)
z = zarr.open("www/f32.zarr", mode="w", shape=c.shape, chunks=(7, 25, 30), dtype="<f4",
              compressor=None)
z[:] = c
open("f32.sha", "w").write(hashlib.sha256(c.tobytes()).hexdigest())
EOF


# 1. A TIFF stack, 4 parts.
OPTS="$CONF --chunks 8,32,32 --compressor zlib --level 1 -j 2 -q --url file://$SCRATCH/v.tif"
fetch-epfl -o whole $OPTS 2>/dev/null | em-meta -q >whole.rec
[ "$(field whole.rec 'r["status"]')" = complete ] && ok "one run: complete" || fail "one run: not complete"
parts 4 e fetch-epfl -o split $OPTS
for i in 1 2 3 4; do
	[ "$(cat e.$i.rc)" = 0 ] && [ "$(field e.$i.rec 'r["status"], r["part"]["index"], r["part"]["chunks_written"] == r["part"]["chunks_total"] > 0')" = "complete $i True" ] ||
		fail "part $i: not a complete part record: $(head -c 300 e.$i.rec) $(cat e.$i.err)"
	cmp -s e.$i.rec split/v.part-$i-of-4.json 2>/dev/null || $PY -c '
import json, sys
sys.exit(json.loads(open(sys.argv[1]).readline()) != json.load(open(sys.argv[2])))' e.$i.rec split/v.part-$i-of-4.json ||
		fail "part $i: em-meta did not save its part record as split/v.part-$i-of-4.json"
done
ok "4 parts: complete part records, saved as v.part-I-of-4.json"
# The parts' units: [floor((I-1)*60/4), floor(I*60/4)) of 60 chunks.
[ "$(field e.1.rec 'r["part"]["units"]') $(field e.4.rec 'r["part"]["units"]')" = "[0, 15] [45, 60]" ] &&
	ok "the part records name their units" || fail "units: $(field e.1.rec 'r["part"]["units"]')"
run em-validate e.1.rec e.2.rec e.3.rec e.4.rec
expect_rc 0 "the part records are valid (schemas/metadata_schema.json)"
[ ! -e split/v.json ] && ok "no volume record before the merge" || fail "a volume record before the merge"
em-downsample $CONF -q split/v.zarr
run em-meta --merge -q e.1.rec e.2.rec e.3.rec e.4.rec
expect_rc 0 "em-meta --merge of the 4 part records"
cp "$SCRATCH/out" merged.rec
same_record whole.rec merged.rec "the merged record computes what one run does (sha256, statistics, levels, sizes)"
[ "$(field merged.rec 'r["sha256"]')" = "$(cat v.sha)" ] && ok "sha256 is hashlib.sha256(array.tobytes())" ||
	fail "sha256 $(field merged.rec 'r["sha256"]') is not $(cat v.sha)"
[ "$(field merged.rec 'r["parts"]["count"], "part" in r')" = "4 False" ] && ok "the volume record says it was merged from 4 parts" ||
	fail "parts: $(field merged.rec 'r.get("parts"), "part" in r')"
cmp -s "$SCRATCH/out" /dev/null && fail "nothing printed" || true
$PY -c 'import json, sys; sys.exit(json.loads(open("merged.rec").readline()) != json.load(open("split/v.json")))' &&
	ok "the volume record is saved as split/v.json" || fail "split/v.json is not the printed record"
run em-validate merged.rec
expect_rc 0 "the merged record is valid"
if same_store whole/v.zarr split/v.zarr; then ok "the stores are the same bytes"; else fail "the stores differ"; fi
# From stdin, in any order.
cat e.3.rec e.1.rec e.4.rec e.2.rec | em-meta --merge -q >stdin.rec
same_record whole.rec stdin.rec "the part records on stdin, in any order, merge the same"

# 2. A missing part, a failed part, a stale part record, a foreign record.
run em-meta --merge -q e.1.rec e.2.rec e.4.rec
expect_rc 1 "a missing part: exit 1"
expect_grep "missing part 3 of 4" "$SCRATCH/err" "a missing part is named"
[ "$(field "$SCRATCH/out" 'r["status"], "part 3 of 4" in r["error"], "sha256" in r')" = "failed True False" ] &&
	ok "the volume record is failed, naming part 3, with no checksum" || fail "record: $(head -c 400 "$SCRATCH/out")"
run em-validate "$SCRATCH/out"
expect_rc 0 "the failed volume record is valid"
$PY - <<'EOF'
import json
r = json.loads(open("e.2.rec").readline())
r["part"]["statistics"]["mean"] += 0.5
open("stale.rec", "w").write(json.dumps(r) + "\n")
EOF
run em-meta --merge -q e.1.rec stale.rec e.3.rec e.4.rec
expect_rc 1 "a part record whose statistics are not the store's: exit 1"
expect_grep "do not add up" "$SCRATCH/err" "statistics that do not add up are said"
run em-meta --merge -q e.1.rec e.1.rec e.3.rec e.4.rec
expect_rc 1 "a part given twice: exit 1"
expect_grep "part 1 of 4 is given twice" "$SCRATCH/err" "a part given twice is named"
run em-meta --merge -q whole.rec
expect_rc 1 "a volume record is not a part record: exit 1"
expect_grep "is not a part record" "$SCRATCH/err" "the foreign record is named"
# A chunk of part 2's lost (chunk 1/1/0 is unit 15, part 2's first): its part record fails, and so does the merge, naming it.
rm split/v.zarr/0/1/1/0
em-meta -q split/v.part-2-of-4.json >bad2.rec 2>bad2.err
[ "$(field bad2.rec 'r["status"], r["part"]["chunks_written"], r["part"]["chunks_total"]')" = "failed 14 15" ] &&
	ok "part 2 with a chunk lost: failed, 14 of 15 chunks" || fail "part 2: $(head -c 300 bad2.rec)"
expect_grep "part 2 of 4 is incomplete: 1 of its 15 chunks are missing" bad2.err "the lost chunk is said"
run em-meta --merge -q e.1.rec bad2.rec e.3.rec e.4.rec
expect_rc 1 "a failed part: exit 1"
expect_grep "failed part 2 of 4 (part 2: part 2 of 4 is incomplete" "$SCRATCH/err" "the failed part is named with its reason"
# The part run again writes the chunk back; its record and the merge complete.
fetch-epfl -o split $OPTS --part 2/4 2>/dev/null | em-meta -q >e.2.rec
run em-meta --merge -q e.1.rec e.2.rec e.3.rec e.4.rec
expect_rc 0 "part 2 run again: the merge completes"
# (Its journal gained a line: the store's size on disk is a few bytes more.)
same_record whole.rec "$SCRATCH/out" "and gives the record of one run" file_size_bytes

# The catalog gathers the volume's record, not its parts'.
run em-consolidate $CONF -q -o cat split
expect_rc 0 "em-consolidate over the split volume's directory"
n=$($PY -c 'import glob, json; c = json.load(open(glob.glob("cat/metadata_catalog_*.json")[0])); print(len(c["records"]), c["records"][0]["id"], c["records"][0].get("parts"))')
[ "$n" = "1 v {'count': 4}" ] && ok "the catalog holds the volume's record alone" || fail "catalog: $n"

# 3. 16-bit and float data from a block source, v2 chunks and v3 shards.
start_origin main --root "$SCRATCH/www"
for a in u16 f32; do
	for fmt in 2 3; do
		x="--zarr-format 2"
		[ "$fmt" = 3 ] && x="--zarr-format 3 --shard 16,64,64"
		ZO="$CONF --chunks 8,32,32 --compressor zstd -j 2 -q --id $a $x"
		fetch-zarr -o "w$a$fmt" $ZO "${ORIGIN_URL}$a.zarr" 2>/dev/null | em-meta -q >"w$a$fmt.rec"
		parts 3 "$a$fmt" fetch-zarr -o "s$a$fmt" $ZO "${ORIGIN_URL}$a.zarr"
		em-downsample $CONF -q "s$a$fmt/$a.zarr"
		cat "$a$fmt".[123].rec | em-meta --merge -q >"m$a$fmt.rec" 2>"m$a$fmt.err"
		same_record "w$a$fmt.rec" "m$a$fmt.rec" "$a, Zarr v$fmt, 3 parts: the merged record is one run's"
		[ "$(field "m$a$fmt.rec" 'r.get("sha256")')" = "$(cat $a.sha)" ] &&
			ok "$a, Zarr v$fmt: sha256 is hashlib's" || fail "$a, Zarr v$fmt: sha256 $(cat "m$a$fmt.err")"
	done
done

# 4. A DVID box (fetch-dvid), 3 parts, not aligned to the server's blocks.
UUID=5a7e0c1d2b3a4f5e6d7c8b9a0f1e2d3c
$PY - "dv/api/node/$UUID/grayscale" <<'PYEOF' || fail "DVID test data"
import json, os, sys, hashlib, numpy as np
d = sys.argv[1]
os.makedirs(d)
v = np.random.default_rng(7).integers(0, 256, size=(60, 70, 80), dtype=np.uint8)
v.tofile(os.path.join(d, "volume.u8"))
json.dump({"Base": {"TypeName": "uint8blk", "Name": "grayscale"},
           "Extended": {"BlockSize": [32, 32, 32], "VoxelSize": [8.0, 8.0, 8.0],
                        "VoxelUnits": ["nanometers"] * 3, "MinPoint": [0, 0, 0],
                        "MaxPoint": [79, 69, 59]}}, open(os.path.join(d, "info.json"), "w"))
open("dvid.sha", "w").write(hashlib.sha256(v[5:55, 3:68, 7:77].tobytes()).hexdigest())
PYEOF
start_origin dvid --root "$SCRATCH/dv"
DO="$CONF -q --server $ORIGIN_URL --uuid $UUID --offset 7,3,5 --size 70,65,50 --chunks 16,16,16"
fetch-dvid $DO -o dvw 2>/dev/null | em-meta -q >dvw.rec
parts 3 dv fetch-dvid $DO -o dvs
em-downsample $CONF -q dvs/*.zarr
cat dv.3.rec dv.2.rec dv.1.rec | em-meta --merge -q >dvm.rec 2>dvm.err
same_record dvw.rec dvm.rec "fetch-dvid, 3 parts: the merged record is one run's"
[ "$(field dvm.rec 'r.get("sha256")')" = "$(cat dvid.sha)" ] && ok "fetch-dvid, 3 parts: sha256 is numpy's" ||
	fail "fetch-dvid, 3 parts: sha256 $(head -c 300 dvm.rec) $(cat dvm.err)"

done_testing
