#!/bin/sh
# zarr3.sh - Zarr v3 stores with shards (--zarr-format 3 --shard) from the fetchers, read by
# zarrita (a reader we did not write, t/js/zarrita) and compared voxel for voxel with the v2
# store of the same input; em-meta gives both the same sha256 and statistics; shard files
# are the same bytes run after run and after a resumed run; bad shard shapes are usage
# errors; v3 arrays written by zarr-python 3 and zarrs (shared test data) are read.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/filefetch.sh"

need_testdata zarr3
$PY -c 'import numpy, tifffile' 2>/dev/null || skip "python3-numpy or python3-tifffile missing"
command -v node >/dev/null || skip "no node (nodejs, make deps)"
ZJS=$TOP/t/js/zarrita
[ -d "$ZJS/node_modules/zarrita" ] || skip "zarrita is not installed in $ZJS (make deps-js)"
cd "$SCRATCH" || exit 1

# A 150 x 200 x 260 uint16 volume: with 64^3 chunks and 128^3 shards, 2 x 2 x 3 shards, the
# last of each axis cut by the volume's edge (and holding chunks past it).
$PY - <<'EOF' || fail "tifffile"
import numpy as np, tifffile
rng = np.random.default_rng(5)
z, y, x = np.mgrid[0:150, 0:200, 0:260]
v = (3000 + 900 * np.sin(x / 9.0) * np.cos(y / 13.0) + z * 7 + rng.normal(0, 40, x.shape))
tifffile.imwrite("vol.tif", v.astype(np.uint16), photometric="minisblack")
EOF
OPTS="-q --compressor zstd --jobs 2"
V3="--zarr-format 3 --shard 128,128,128 --chunks 64,64,64"

# compare V3STORE V2STORE DESC: zarrita reads the first as v3 and it equals the second.
compare() {
	if node "$ZJS/compare.mjs" "$1" "$2" >cmp.out 2>&1; then ok "$3 ($(cat cmp.out))"; else
		fail "$3: $(cat cmp.out)"
	fi
}

# ---- 1. a file fetcher (planes): v2 and v3 of the same file ----
run fetch-idr $OPTS -o v2 --chunks 64,64,64 --url "$SCRATCH/vol.tif"
expect_rc 0 "fetch-idr --url, Zarr v2"
cp out v2.stub
run fetch-idr $OPTS -o v3 $V3 --url "$SCRATCH/vol.tif"
expect_rc 0 "fetch-idr --url $V3"
cp out v3.stub
S2=v2/vol.zarr S3=v3/vol.zarr
[ -f $S3/zarr.json ] && [ -f $S3/0/zarr.json ] && [ ! -e $S3/.zgroup ] && [ ! -e $S3/0/.zarray ] &&
	ok "the v3 store has zarr.json metadata only" || fail "v3 metadata files: $(ls -a $S3 $S3/0)"
n=$(find $S3/0/c -type f | wc -l)
[ "$n" -eq 12 ] && ok "12 shard files for 2 x 2 x 3 shards" || fail "$n shard files"
compare $S3 $S2 "zarrita reads the sharded v3 store as the v2 one"
grep -q " levels 3 " cmp.out && ok "zarrita compared all 3 levels" || fail "levels compared: $(cat cmp.out)"
$PY - $S3 <<'EOF' >meta.out 2>&1 || fail "v3 metadata: $(cat meta.out)"
import json, sys
g = json.load(open(sys.argv[1] + "/zarr.json"))
a = json.load(open(sys.argv[1] + "/0/zarr.json"))
assert g["node_type"] == "group" and g["attributes"]["ome"]["version"] == "0.5", g
ms = g["attributes"]["ome"]["multiscales"][0]
assert [x["name"] for x in ms["axes"]] == ["z", "y", "x"] and "version" not in ms, ms
assert a["chunk_grid"]["configuration"]["chunk_shape"] == [128, 128, 128], a
sh = a["codecs"][0]
assert sh["name"] == "sharding_indexed" and len(a["codecs"]) == 1, a["codecs"]
c = sh["configuration"]
assert c["chunk_shape"] == [64, 64, 64] and c["index_location"] == "end", c
assert [x["name"] for x in c["codecs"]] == ["bytes", "zstd"], c
assert [x["name"] for x in c["index_codecs"]] == ["bytes", "crc32c"], c
assert a["dimension_names"] == ["z", "y", "x"], a
EOF
[ -s meta.out ] || ok "zarr.json: NGFF 0.5 group, sharding_indexed (bytes, zstd; index bytes, crc32c at the end)"

# The records: em-meta reads both stores; the same sha256 and statistics.
em-meta -q <v2.stub >m2 || fail "em-meta on the v2 store"
em-meta -q <v3.stub >m3 || fail "em-meta on the v3 store"
[ "$(jget m3 'r["sha256"], r["statistics"]')" = "$(jget m2 'r["sha256"], r["statistics"]')" ] &&
	ok "em-meta: the same sha256 and statistics from v2 and v3" ||
	fail "em-meta differs: $(jget m2 'r["sha256"]') vs $(jget m3 'r["sha256"]')"
[ "$(jget m3 'r["zarr_format"], r["shard_size"], r["chunk_size"]')" = "(3, [128, 128, 128], [64, 64, 64])" ] &&
	ok "record: zarr_format 3, shard_size, chunk_size" ||
	fail "record $(jget m3 'r.get("zarr_format"), r.get("shard_size"), r.get("chunk_size")')"
[ "$(jget m2 'r["zarr_format"], "shard_size" in r')" = "(2, False)" ] &&
	ok "record of the v2 store: zarr_format 2, no shard_size" ||
	fail "v2 record $(jget m2 'r.get("zarr_format"), r.get("shard_size")')"
if validate m3 v3/vol.json; then ok "the v3 records are valid"; else fail "v3 record not valid"; fi
[ "$(jget m2 'r["sha256"]')" = "$($PY -c 'import tifffile,hashlib; print(hashlib.sha256(tifffile.imread("vol.tif").astype("<u2").tobytes()).hexdigest())')" ] &&
	ok "the sha256 is tifffile's" || fail "sha256 is not the file's"

# Byte for byte the same shards: another run with one job, and a resumed run.
run fetch-idr -q --compressor zstd --jobs 1 -o v3b $V3 --url "$SCRATCH/vol.tif"
expect_rc 0 "again with --jobs 1"
if diff -r v3/vol.zarr/0/c v3b/vol.zarr/0/c >/dev/null; then ok "every shard file the same bytes"
else fail "shard files differ between runs"; fi
rm v3b/vol.zarr/0/c/1/0/2
head -c 1000 v3/vol.zarr/0/c/0/1/1 >v3b/vol.zarr/0/c/0/1/1
run fetch-idr -q --compressor zstd --jobs 2 -o v3b $V3 --url "$SCRATCH/vol.tif"
expect_rc 0 "resumed with a shard missing and one cut short"
if diff -r v3/vol.zarr/0/c v3b/vol.zarr/0/c >/dev/null; then ok "the resumed store has the same shards"
else fail "resumed shards differ"; fi
[ -z "$(find v3b -name '*.tmp.*')" ] && ok "no temporary files left" || fail "temporary files left"

# Killed while shards are being written (each held back before its rename): what is left
# under a shard's name is whole, and the re-run ends with the same bytes.
$PY -c 'import tifffile; tifffile.imread("vol.tif").tofile("vol.raw")'
zarrtool write --dtype u2 --shape 150,200,260 --chunks 64,64,64 --shard 128,128,128 --jobs 2 \
	vol.raw ref.zarr || fail "zarrtool write ref.zarr"
zarrtool write --dtype u2 --shape 150,200,260 --chunks 64,64,64 --shard 128,128,128 --jobs 2 \
	--throttle-ms 400 vol.raw kill.zarr 2>/dev/null &
kp=$!
wait_for '[ -n "$(find kill.zarr/0/c -type f -name "*" ! -name "*.tmp.*" 2>/dev/null)" ]' ||
	fail "no shard appeared"
kill -9 $kp 2>/dev/null
wait $kp 2>/dev/null
nt=$(find kill.zarr -name '*.tmp.*' | wc -l)
for f in $(find kill.zarr/0/c -type f ! -name '*.tmp.*'); do
	cmp -s "$f" "ref.zarr/${f#kill.zarr/}" || fail "shard $f is not whole after kill -9"
done
zarrtool write --dtype u2 --shape 150,200,260 --chunks 64,64,64 --shard 128,128,128 --jobs 2 \
	vol.raw kill.zarr || fail "re-run after kill -9"
if diff -r ref.zarr/0 kill.zarr/0 >/dev/null && [ -z "$(find kill.zarr -name '*.tmp.*')" ]; then
	ok "kill -9 left whole shards only ($nt temporary files, removed); the re-run is byte-identical"
else fail "after kill -9 and a re-run the store differs"; fi

# A damaged shard index is named by em-meta (through the same reader).
cp -r v3b v3c
printf 'X' | dd of=v3c/vol.zarr/0/c/1/1/2 bs=1 seek=$(($(wc -c <v3c/vol.zarr/0/c/1/1/2) - 20)) conv=notrunc 2>/dev/null
sed 's|"v3/vol.zarr"|"v3c/vol.zarr"|' v3.stub >v3c.stub
run em-meta -q <v3c.stub
[ "$RC" -ne 0 ] && ok "em-meta fails on a damaged shard index" || fail "em-meta: exit 0"
expect_grep "vol.zarr/0/c/1/1/2': shard index crc32c mismatch" "$SCRATCH/err" "the shard file is named"

# ---- 2. a block fetcher (boxes, out of order): fetch-dvid against the origin ----
UUID=5a7e0c1d2b3a4f5e6d7c8b9a0f1e2d3c
$PY - "www/api/node/$UUID/grayscale" <<'EOF'
import json, os, sys, numpy as np
d = sys.argv[1]
os.makedirs(d)
v = np.random.default_rng(8).integers(0, 256, size=(70, 90, 100), dtype=np.uint8)
v.tofile(os.path.join(d, "volume.u8"))
json.dump({"Base": {"TypeName": "uint8blk", "Name": "grayscale", "DataUUID": "x"},
           "Extended": {"BlockSize": [32, 32, 32], "VoxelSize": [8.0, 8.0, 8.0],
                        "VoxelUnits": ["nanometers"] * 3, "MinPoint": [0, 0, 0],
                        "MaxPoint": [99, 89, 69]}}, open(os.path.join(d, "info.json"), "w"))
EOF
cat >dvid.yaml <<'EOF'
sources:
  dvid:
    request_xyz: [32, 32, 32]
EOF
start_origin dvid --root "$SCRATCH/www"
DV="--server $ORIGIN_URL --uuid $UUID --instance grayscale --offset 0,0,0 --size 100,90,70"
EM_CONFIG_OVERLAY=$SCRATCH/dvid.yaml run fetch-dvid $DV -q --jobs 3 -o d2 --chunks 16,16,16
expect_rc 0 "fetch-dvid, Zarr v2"
EM_CONFIG_OVERLAY=$SCRATCH/dvid.yaml run fetch-dvid $DV -q --jobs 3 -o d3 --chunks 16,16,16 \
	--shard 32,48,64
expect_rc 0 "fetch-dvid --shard 32,48,64 (--zarr-format 3 implied)"
D3=$(ls -d d3/*.zarr) D2=$(ls -d d2/*.zarr)
compare "$D3" "$D2" "zarrita reads fetch-dvid's sharded store as the v2 one"
n=$(find "$D3/0/c" -type f | wc -l)
[ "$n" -eq 12 ] && ok "3 x 2 x 2 shards of 2 x 3 x 4 chunks: 12 files" || fail "$n shard files"
EM_CONFIG_OVERLAY=$SCRATCH/dvid.yaml run fetch-dvid $DV -q --jobs 1 -o d3b --chunks 16,16,16 \
	--shard 32,48,64
if diff -r "$D3/0/c" "d3b/${D3#d3/}/0/c" >/dev/null; then
	ok "boxes arriving in any order give the same shard bytes"
else fail "fetch-dvid's shards differ between runs"; fi

# ---- 3. the shared test data: the brief's shapes, chunks clamped to small volumes ----
for f in dm4/ncempy_dmTest_3D_int16_64_65_66.dm4 mrc/EMD-3001.map mrc/ncempy_temp.mrc \
	mrc/rsciio_Custom_movie.mrc tiff/rsciio_test_loading_image_saved_with_imageJ_stack.tif \
	tiff/image-tiff_int16.tif; do
	id=$(basename "$f" | tr . _)
	fetch-idr $OPTS -o t2 --chunks 64,64,64 --id "$id" --url "$TESTDATA/$f" >t2.stub 2>t2.err ||
		{ fail "$f (v2): $(cat t2.err)"; continue; }
	fetch-idr $OPTS -o t3 $V3 --id "$id" --url "$TESTDATA/$f" >t3.stub 2>t3.err ||
		{ fail "$f (v3): $(cat t3.err)"; continue; }
	compare "t3/$id.zarr" "t2/$id.zarr" "$f"
	em-meta -q <t2.stub >tm2 && em-meta -q <t3.stub >tm3 &&
		[ "$(jget tm3 'r["sha256"], r["statistics"]')" = "$(jget tm2 'r["sha256"], r["statistics"]')" ] &&
		ok "$f: em-meta agrees" || fail "$f: em-meta differs"
done

# ---- 4. shapes that do not fit: usage errors ----
run fetch-idr -o bad --chunks 64,64,64 --shard 100,128,128 --url "$SCRATCH/vol.tif"
expect_rc 2 "--shard not a multiple of --chunks"
expect_grep "shard shape 100,128,128 is not a multiple of the chunk shape 64,64,64" "$SCRATCH/err" \
	"the message names both shapes"
run fetch-idr -o bad --shard 100,128,128 --url "$SCRATCH/vol.tif"
expect_rc 2 "--shard not a multiple of the configured chunks"
expect_grep "not a multiple of the chunk shape 64,64,64" "$SCRATCH/err" "named with the configured chunks"
run fetch-idr -o bad --zarr-format 2 --shard 128,128,128 --url "$SCRATCH/vol.tif"
expect_rc 2 "--shard with --zarr-format 2"
expect_grep "needs --zarr-format 3" "$SCRATCH/err" "sharding needs v3"
run fetch-idr -o bad --zarr-format 4 --url "$SCRATCH/vol.tif"
expect_rc 2 "--zarr-format 4"
expect_grep "wants 2 or 3" "$SCRATCH/err" "the formats are named"
[ ! -e bad ] && ok "nothing written for a usage error" || fail "a usage error left $(ls bad)"

# ---- 4b. em-downsample on a sharded v3 store: the levels are v3 and sharded like level 0,
#          and every one equals the pyramid fetch-idr builds in its pass (read by zarrita) ----
run fetch-idr $OPTS -o v3one $V3 --levels 1 --url "$SCRATCH/vol.tif"
expect_rc 0 "fetch-idr $V3 --levels 1"
[ ! -e v3one/vol.zarr/1 ] && ok "one level written" || fail "--levels 1 wrote $(ls v3one/vol.zarr)"
run em-downsample -q v3one/vol.zarr
expect_rc 0 "em-downsample on the sharded v3 store"
[ -f v3one/vol.zarr/1/zarr.json ] && [ -f v3one/vol.zarr/2/zarr.json ] && [ ! -e v3one/vol.zarr/1/.zarray ] &&
	ok "em-downsample wrote v3 levels" || fail "levels: $(ls v3one/vol.zarr/1 v3one/vol.zarr/2)"
jq -e '.codecs[0].name == "sharding_indexed" and .chunk_grid.configuration.chunk_shape == [128,128,128]' \
	v3one/vol.zarr/1/zarr.json >/dev/null && ok "level 1 (75,100,130) is in shards of 128^3 as level 0" ||
	fail "level 1 metadata: $(jq -c '.chunk_grid, .codecs[0].name' v3one/vol.zarr/1/zarr.json)"
jq -e '.chunk_grid.configuration.chunk_shape == [38,50,128] and
	.codecs[0].configuration.chunk_shape == [38,50,64]' v3one/vol.zarr/2/zarr.json >/dev/null &&
	ok "level 2 (38,50,65): chunks cut to 38,50,64, shards to the chunks that cover it" ||
	fail "level 2 metadata: $(jq -c '.chunk_grid, .codecs[0].configuration.chunk_shape' v3one/vol.zarr/2/zarr.json)"
compare v3one/vol.zarr $S2 "zarrita reads em-downsample's v3 levels as fetch-idr's v2 pyramid"
grep -q " levels 3 " cmp.out && ok "all 3 levels compared" || fail "levels compared: $(cat cmp.out)"

# ---- 5. Zarr v3 written by others (zarr-python 3, zarrs): read, or refused by name ----
want=$($PY -c 'import numpy as np, hashlib; print(hashlib.sha256(np.arange(100, dtype="<f4").tobytes()).hexdigest())')
for d in "$TESTDATA"/zarr3/zarrs_v3_*; do
	n=${d##*/}
	case $n in
	*bz2* | *pcodec* | *zfpy* | *fletcher32*)
		run zarrtool sha256 "$d"
		codec=$(echo "$n" | sed 's/.*_array_//; s/\.zarr$//')
		[ "$RC" -eq 1 ] && grep -q "$n/zarr.json': unsupported codec 'numcodecs.$codec'" err &&
			ok "$n refused, naming the codec and the file" || fail "$n: exit $RC $(cat err)"
		;;
	*)
		[ "$(zarrtool sha256 "$d" 2>&1)" = "$want" ] && ok "$n read" || fail "$n: $(zarrtool sha256 "$d" 2>&1)"
		;;
	esac
done
want=$($PY -c 'import numpy as np, hashlib; print(hashlib.sha256(np.arange(64, dtype="<u2").tobytes()).hexdigest())')
[ "$(zarrtool sha256 "$TESTDATA/zarr3/zarrs_sharded_array_write_read.zarr/group/array" 2>&1)" = "$want" ] &&
	ok "zarrs' sharded array read" || fail "zarrs' sharded array"
done_testing
