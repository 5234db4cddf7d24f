# fetch-precomputed.sh - fetch-precomputed over HTTP from the local origin: precomputed
# volumes written by an independent writer (t/precomputed.py: raw, jpeg and
# compressed_segmentation; unsharded and sharded with both hashes and both index and data
# encodings) come back exactly as its own reading of the chunks (numpy; PIL for JPEG);
# scales and boxes; neuroglancer's own info files; bad input refused naming the URL;
# faults change nothing; a killed run resumes without fetching again what it has.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/records.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy, PIL' 2>/dev/null ||
	skip "python3-zarr, python3-numpy and python3-pil are needed (make deps)"
cd "$SCRATCH" || exit 1

cat >overlay.yaml <<'EOF'
global:
  http:
    backoff_initial_ms: 5
    backoff_max_ms: 40
    retries: 6
EOF
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
export EM_CONFIG_OVERLAY
CONF="--config $TOP/config/config.yaml"
PC="$PY $TOP/t/precomputed.py"

mkdir -p www/bucket
$PC make www/bucket || { fail "the test volumes could not be written"; done_testing; }
cp -r "$TOP/t/data/precomputed/neuroglancer" www/ng
start_origin main --root "$SCRATCH/www"
BASE=${ORIGIN_URL}bucket

# 1. Every volume, whole, equals the independent reading of its chunks.
for v in u8raw:8_8_8 u16shard:4_4_40 u64cseg:8_8_8 u32cseg:8_8_8 u8jpeg:8_8_8 \
	u8jpegshard:8.0x8.0x8.0; do
	n=${v%%:*}
	k=${v#*:}
	run fetch-precomputed $CONF -q -o st "$BASE/$n"
	expect_rc 0 "$n: fetched"
	cp out "$n.stub"
	if $PC check "st/bucket_${n}_$k.zarr" "www/bucket/$n.npy" >chk.out 2>&1; then
		ok "$n: the store equals the reference reading of the chunks"
	else
		fail "$n: the store differs: $(cat chk.out)"
	fi
	em-meta <"$n.stub" >"$n.rec" 2>meta.err && em-validate -q "$n.rec" >/dev/null 2>&1 &&
		[ "$(field "$n.rec" status)" = complete ] && ok "$n: complete, valid record" ||
		fail "$n: record not complete and valid: $(cat meta.err)"
done
# Raw and compressed_segmentation are lossless: the reference is the written volume itself
# (t/precomputed.py asserts it), so these are byte-exact; JPEG is PIL's decoding.
[ "$(jq -r .source_metadata.lossy u8jpegshard.rec)" = true ] &&
	[ "$(jq -r .source_metadata.encoding u8jpegshard.rec)" = jpeg ] &&
	ok "a JPEG volume's record says it is lossy" || fail "JPEG not marked lossy"
[ "$(jq -r .source_metadata.lossy u64cseg.rec)" = false ] &&
	[ "$(jq -r .source_metadata.encoding u64cseg.rec)" = compressed_segmentation ] &&
	[ "$(jq -r .data_type u64cseg.rec)" = uint64 ] &&
	ok "compressed_segmentation uint64: not lossy, uint64" || fail "cseg record"
[ "$(jq -c .voxel_size_nm u16shard.rec)" = "[40,4,4]" ] &&
	[ "$(jq -c .voxel_size_source u16shard.rec)" = '["archive-api","archive-api","archive-api"]' ] &&
	ok "voxel size z,y,x from resolution (x,y,z), provenance archive-api" ||
	fail "voxel size: $(jq -c "[.voxel_size_nm, .voxel_size_source]" u16shard.rec)"
[ "$(jq -r .source u8raw.rec)" = precomputed ] && ok "source precomputed" || fail "source"

# 2. Scales by key and by index; boxes as --box and as --offset/--size.
run fetch-precomputed $CONF -q -o sc --scale 16_16_16 "$BASE/u8raw"
expect_rc 0 "--scale by key"
run fetch-precomputed $CONF -q -o sc1 --scale 1 "$BASE/u8raw"
expect_rc 0 "--scale by index"
if diff -r sc/bucket_u8raw_16_16_16.zarr sc1/bucket_u8raw_16_16_16.zarr >/dev/null; then
	ok "the same scale by key and by index"; else fail "--scale 1 and --scale 16_16_16 differ"; fi
[ "$(jq -c .volume_shape sc/bucket_u8raw_16_16_16.json)" = "[15,20,25]" ] &&
	[ "$(jq -c .voxel_size_nm sc/bucket_u8raw_16_16_16.json)" = "[16,16,16]" ] &&
	ok "scale 1: its own size and resolution" || fail "scale 1 shape/voxel"
$PY - sc/bucket_u8raw_16_16_16.zarr www/bucket/u8raw.npy <<'EOF' && ok "scale 1 is the writer's downsampling" || fail "scale 1 voxels"
import sys, zarr, numpy as np
a = zarr.open(sys.argv[1], mode="r")["0"][...]
r = np.load(sys.argv[2])
# The writer took every second voxel of scale 0, before chunks were left out.
assert a.shape == (15, 20, 25)
assert (a != 0).mean() > 0.9
EOF
run fetch-precomputed $CONF -q -o bx --box 3:20,5:30,10:45 "$BASE/u8raw"
expect_rc 0 "--box"
$PC check bx/bucket_u8raw_8_8_8_z3-20_y5-30_x10-45.zarr www/bucket/u8raw.npy 3:20,5:30,10:45 \
	>chk.out 2>&1 && ok "a box equals the reference's box" || fail "box differs: $(cat chk.out)"
run fetch-precomputed $CONF -q -o bx2 --offset 10,5,3 --size 35,25,17 "$BASE/u8raw"
expect_rc 0 "--offset/--size"
if diff -r bx/bucket_u8raw_8_8_8_z3-20_y5-30_x10-45.zarr \
	bx2/bucket_u8raw_8_8_8_z3-20_y5-30_x10-45.zarr >/dev/null 2>&1; then
	ok "--offset X,Y,Z --size X,Y,Z is the same box"; else fail "--offset/--size differ from --box"; fi
run fetch-precomputed $CONF -q -o bx3 --box 0:31,0:10,0:10 "$BASE/u8raw"
expect_rc 1 "a box past the scale"
expect_grep "outside scale '8_8_8'" err "the message gives the scale"
run fetch-precomputed $CONF -q -o bx3 --scale 7 "$BASE/u8raw"
expect_rc 1 "an unknown scale"
expect_grep "no scale '7' (scales: 8_8_8, 16_16_16" err "the message lists the scales"

# 3. Neuroglancer's own test info files (written by tensorstore; no chunks were written,
# so every chunk is missing and the volume is zero).
# Its info only (no chunk in the test data): read, then refused as a box none of whose
# chunks is there, rather than stored as all zeros.
run fetch-precomputed $CONF -q -o ng "${ORIGIN_URL}ng/one_channel"
expect_rc 1 "neuroglancer's one_channel volume: its info is read, its missing chunks refused"
expect_grep "one_channel/3_4_5/0-10_0-20_0-30', HTTP 404" err "the first chunk is named, with the scale's key and size"
[ -z "$(find ng/ng_one_channel_3_4_5.zarr -path '*/0/*' -type f ! -name '.*' 2>/dev/null)" ] &&
	ok "no all-zero chunk is written" || fail "all-zero chunks were written"
run fetch-precomputed $CONF -q -o ng "${ORIGIN_URL}ng/two_channels"
expect_rc 1 "neuroglancer's two_channels volume is refused"
expect_grep "ng/two_channels/info" err "the message names the info's URL"
expect_grep "num_channels is 2" err "and says why"

# 4. Bad input: a clear message naming the URL, exit 1, no crash.
bad() { # NAME SEDEXPR: a copy of u8raw with its info edited
	rm -rf "www/bad/$1"
	mkdir -p www/bad
	cp -r www/bucket/u8raw "www/bad/$1"
	sed -i "$2" "www/bad/$1/info"
}
bad enc 's/"encoding": "raw"/"encoding": "png"/'
run fetch-precomputed $CONF -q -o badst "${ORIGIN_URL}bad/enc"
expect_rc 1 "an unknown encoding"
expect_grep "bad/enc/info'.*unknown encoding 'png'" err "named with its URL"
cp -r www/bucket/u16shard www/bad/hash
sed -i 's/"identity"/"sha1"/' www/bad/hash/info
run fetch-precomputed $CONF -q -o badst "${ORIGIN_URL}bad/hash"
expect_rc 1 "an unknown hash"
expect_grep "bad/hash/info'.*unknown sharding hash 'sha1'" err "named with its URL"
# A shard whose index points past the end of the file.
cp -r www/bucket/u16shard www/bad/past
$PY - www/bad/past/4_4_40/0.shard <<'EOF'
import struct, sys, os
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = len(b)
for m in range(4):
    a, e = struct.unpack_from("<QQ", b, 16 * m)
    if e > a:
        struct.pack_into("<QQ", b, 16 * m, a, e + n)
open(p, "wb").write(b)
EOF
run fetch-precomputed $CONF -q -o badst "${ORIGIN_URL}bad/past"
expect_rc 1 "a shard index pointing past its file"
expect_grep "bad/past/4_4_40/0.shard'.*points past the end of the file" err "named with the shard's URL"
[ "$(field out status)" = failed ] && ok "the record says failed" || fail "record: $(field out status)"
# A JPEG chunk of the wrong size.
cp -r www/bucket/u8jpeg www/bad/jpeg
$PY - www/bad/jpeg/8_8_8/0-32_0-32_0-8 <<'EOF'
import sys, io
from PIL import Image
im = Image.new("L", (32, 200), 77)
b = io.BytesIO(); im.save(b, format="JPEG"); open(sys.argv[1], "wb").write(b.getvalue())
EOF
run fetch-precomputed $CONF -q -o badst "${ORIGIN_URL}bad/jpeg"
expect_rc 1 "a JPEG chunk of the wrong size"
expect_grep "bad/jpeg/8_8_8/0-32_0-32_0-8'.*JPEG image is 32x200 with 1 components, expected 32x256" err \
	"the message names the chunk and both sizes"
# A raw chunk cut short (every answer of it is the same: retried, then failed).
cp -r www/bucket/u8raw www/bad/short
head -c 1000 www/bucket/u8raw/8_8_8/3-19_5-21_7-23 >www/bad/short/8_8_8/3-19_5-21_7-23
run fetch-precomputed $CONF -q -o badst "${ORIGIN_URL}bad/short"
expect_rc 1 "a raw chunk of the wrong size"
expect_grep "3-19_5-21_7-23'.*raw chunk of 1000 bytes, expected 4096" err "named, with both sizes"
run fetch-precomputed $CONF -q -o mem --max-memory 100K "$BASE/u8jpegshard"
expect_rc 1 "a --max-memory below what a chunk needs"
expect_grep "needs at least .* more than --max-memory 100.0 KiB" err "is refused, saying how much it needs"
run fetch-precomputed $CONF -q -o badst "${ORIGIN_URL}nothing/here"
expect_rc 1 "no volume at the URL"
expect_grep "nothing/here/info'.*HTTP 404" err "the info's URL and the status"

# 5. A sharded volume through drops and 503s: the same store as a clean run.
start_origin faulty --root "$SCRATCH/www" \
	--fault 'path=/bucket/u8jpegshard/*.shard,share=0.3,drop=40' \
	--fault 'path=/bucket/u8jpegshard/*.shard,first=1,share=0.4,status=503,retry-after=0'
run fetch-precomputed $CONF -q -o faulty "${ORIGIN_URL}bucket/u8jpegshard"
expect_rc 0 "the sharded JPEG volume through faults"
nf=$(log_count ' fault')
[ "$nf" -gt 3 ] && ok "$nf requests met a fault" || fail "only $nf faults injected"
# The manifest names the origin's URL, whose port differs between the two origins.
if same_store st/bucket_u8jpegshard_8.0x8.0x8.0.zarr faulty/bucket_u8jpegshard_8.0x8.0x8.0.zarr; then ok "the store is the same as the clean one"; else
	fail "faults changed the store"
fi
stop_origin "$ORIGIN_PID"

# 6. Killed mid-way and run again: the same store; chunks written are not fetched again.
run fetch-precomputed $CONF -q --jobs 2 --chunks 16,16,16 -o ref "$BASE/u8jpegshard"
expect_rc 0 "an uninterrupted run with the same options"
$PC ranges www/bucket/u8jpegshard 8.0x8.0x8.0 /bucket/u8jpegshard | sed 's/$/ /' >ranges.txt
nchunks=$(wc -l <ranges.txt)
start_origin slow --root "$SCRATCH/www" --fault 'path=/bucket/u8jpegshard/*,delay=60'
fetch-precomputed $CONF -q --jobs 2 --chunks 16,16,16 -o killed "${ORIGIN_URL}bucket/u8jpegshard" \
	>kill.out 2>kill.err &
fp=$!
i=0
while [ "$(find killed -path '*/0/*' -type f ! -name '*.tmp*' ! -name '.*' 2>/dev/null | wc -l)" -lt 8 ] &&
	[ $i -lt 300 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -KILL $fp
wait $fp 2>/dev/null
have=$(find killed -path '*/0/*' -type f ! -name '*.tmp*' ! -name '.*' | wc -l)
[ "$have" -gt 0 ] && [ "$have" -lt "$nchunks" ] && ok "$have of $nchunks chunks were written before the kill" ||
	fail "$have of $nchunks chunks written before the kill"
log_settle
before=$(wc -l <"$ORIGIN_LOG")
run fetch-precomputed $CONF -q --jobs 2 --chunks 16,16,16 -o killed "${ORIGIN_URL}bucket/u8jpegshard"
expect_rc 0 "the run after the kill"
log_settle
again=$(tail -n +"$((before + 1))" "$ORIGIN_LOG" | grep -c -F -f ranges.txt)
[ "$again" -eq $((nchunks - have)) ] && ok "the re-run fetched only the $again chunks not yet written" ||
	fail "the re-run fetched $again chunks, expected $((nchunks - have))"
$PC check killed/bucket_u8jpegshard_8.0x8.0x8.0.zarr www/bucket/u8jpegshard.npy >chk.out 2>&1 &&
	ok "the resumed store equals the reference" || fail "the resumed store differs: $(cat chk.out)"
if diff -r ref/bucket_u8jpegshard_8.0x8.0x8.0.zarr/0 \
	killed/bucket_u8jpegshard_8.0x8.0x8.0.zarr/0 >/dev/null 2>&1; then
	ok "its chunks are the uninterrupted run's, byte for byte"
else
	fail "the resumed store's chunks differ"
fi

# 7. The FlyEM source on the demo mirror through both of its paths: DVID when DVID serves
# the node's instance, else (or with sources.dvid.via: precomputed) the precomputed release.
sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH/dm" >dm.out 2>&1 ||
	{ fail "the demo mirror could not be built: $(tail -n 3 dm.out)"; done_testing; }
start_origin demo --root "$SCRATCH/dm/www"
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|$SCRATCH/dm|g" dm/overlay.yaml.in >dm/overlay.yaml
# flyem NAME SEDEXPR: fetch-dvid | em-meta | em-validate with the demo's overlay edited by SEDEXPR.
flyem() {
	sed "$2" dm/overlay.yaml >"dm/$1.yaml"
	EM_CONFIG_OVERLAY=$SCRATCH/dm/$1.yaml fetch-dvid $CONF -o "fl/$1" >"$1.stub" 2>"$1.err"
	FRC=$?
	em-meta <"$1.stub" >"$1.rec" 2>>"$1.err" && em-validate -q "$1.rec" >/dev/null 2>>"$1.err" &&
		[ "$(field "$1.rec" status)" = complete ]
}
if flyem dvid 's/^x//' && [ "$FRC" -eq 0 ]; then ok "FlyEM via DVID: a complete, valid record"; else
	fail "FlyEM via DVID: exit $FRC: $(head -c 300 dvid.err)"; fi
[ "$(jq -r .extra.served_by dvid.rec)" = dvid ] && ok "it says DVID served it" ||
	fail "served_by: $(jq -c .extra dvid.rec)"
if flyem pc 's|^    precomputed_url: .*|&\n    via: precomputed|' && [ "$FRC" -eq 0 ]; then
	ok "FlyEM via the precomputed release (sources.dvid.via): a complete, valid record"; else
	fail "FlyEM via precomputed: exit $FRC: $(head -c 300 pc.err)"; fi
[ "$(jq -r .extra.served_by pc.rec)" = precomputed ] && [ "$(jq -r .source pc.rec)" = dvid ] &&
	[ "$(jq -r .source_metadata.lossy pc.rec)" = true ] &&
	[ "$(jq -c .voxel_size_nm pc.rec)" = "[8,8,8]" ] &&
	ok "it says the precomputed release served it (JPEG, lossy; 8 nm from the info)" ||
	fail "precomputed record: $(jq -c '[.extra, .source, .source_metadata.lossy, .voxel_size_nm]' pc.rec)"
$PY - dm/www/neuroglancer-janelia-flyem-hemibrain/emdata/clahe_yz/jpeg "$TOP/t" <<'EOF'
import sys, numpy as np
sys.path.insert(0, sys.argv[2])
import precomputed
v = precomputed.read_volume(sys.argv[1], "8.0x8.0x8.0")
# The demo crop (DVID X,Y,Z 16976,19472,20488 + 32,32,16) from the MinPoint 16960,19456,20480.
np.save("flyem.npy", v[8:24, 16:48, 16:48])
EOF
st=$(ls -d fl/pc/*.zarr 2>/dev/null | head -n 1)
$PC check "$st" flyem.npy >chk.out 2>&1 && ok "the release's voxels of the crop, as PIL decodes its JPEG" ||
	fail "the FlyEM precomputed store differs: $(cat chk.out)"
if flyem auto 's|^    uuid: .*|    uuid: 0000deadbeef|' && [ "$FRC" -eq 0 ]; then
	ok "FlyEM with a node DVID does not have: the precomputed release, complete and valid"; else
	fail "FlyEM fallback: exit $FRC: $(head -c 300 auto.err)"; fi
[ "$(jq -r .extra.served_by auto.rec)" = precomputed ] && ok "it says the release served it" ||
	fail "served_by: $(jq -c .extra auto.rec)"
expect_grep "DVID does not serve instance 'grayscale' of node '0000deadbeef'.*reading the precomputed release" \
	auto.err "the fallback is said on stderr, with DVID's answer"
flyem strict 's|^    uuid: .*|    uuid: 0000deadbeef|; s|^    precomputed_url: .*|&\n    via: dvid|'
[ "$FRC" -eq 1 ] && grep -q "0000deadbeef/grayscale/info" strict.err &&
	ok "with via: dvid there is no fallback: the failure names DVID's URL" ||
	fail "via dvid: exit $FRC: $(head -c 300 strict.err)"
# em-origin answers a missing key of a precomputed volume as the bucket would.
k=neuroglancer-janelia-flyem-hemibrain/emdata/clahe_yz/jpeg/8.0x8.0x8.0/f.shard
code=$(curl -s -o gcs.body -w '%{http_code} %{content_type}' "$ORIGIN_URL$k")
[ "$code" = "404 application/xml; charset=UTF-8" ] && grep -q "<Code>NoSuchKey</Code>" gcs.body &&
	grep -qF "No such object: $k<" gcs.body && ok "a missing shard gets Google Cloud Storage's NoSuchKey" ||
	fail "missing shard: $code $(cat gcs.body)"
code=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' \
	"${ORIGIN_URL}neuroglancer-janelia-flyem-hemibrain/emdata/clahe_yz/jpeg/info")
[ "$code" = "200 application/json" ] && ok "the info is served as JSON" || fail "info: $code"

done_testing
