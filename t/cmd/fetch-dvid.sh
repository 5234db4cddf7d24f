# fetch-dvid.sh - fetch-dvid against the origin's DVID emulation over a generated volume: boxes
# (aligned, unaligned, touching the far edge, one voxel) equal numpy's cut of the volume, a
# box outside the extents is refused with the extents, lower scales are separate instances,
# throttling 503s, dropped connections and wrong lengths change nothing, and a killed run
# resumes without asking again for what it has.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/records.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy' 2>/dev/null || skip "python3-zarr and python3-numpy are needed (make deps)"
cd "$SCRATCH" || exit 1

UUID=5a7e0c1d2b3a4f5e6d7c8b9a0f1e2d3c
N=api/node/$UUID
cat >overlay.yaml <<'EOF'
global:
  http:
    backoff_initial_ms: 5
    backoff_max_ms: 40
    retries: 8
sources:
  dvid:
    request_xyz: [32, 32, 32]
EOF
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
export EM_CONFIG_OVERLAY
CONF="--config $TOP/config/config.yaml"

# A 100 x 90 x 80 (X,Y,Z) volume at MinPoint 1000,2000,3000; its half-scale as grayscale_1;
# an instance of another type.
$PY - "www/$N" <<'PYEOF'
import json, os, sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(11)
def inst(name, v, lo, vox, units="nanometers", tn="uint8blk"):
    os.makedirs(os.path.join(d, name), exist_ok=True)
    v.tofile(os.path.join(d, name, "volume.u8"))
    z, y, x = v.shape
    json.dump({"Base": {"TypeName": tn, "Name": name, "DataUUID": "x"},
               "Extended": {"BlockSize": [32, 32, 32], "VoxelSize": vox,
                            "VoxelUnits": [units] * 3, "MinPoint": lo,
                            "MaxPoint": [lo[0] + x - 1, lo[1] + y - 1, lo[2] + z - 1]}},
              open(os.path.join(d, name, "info.json"), "w"))
v = rng.integers(0, 256, size=(80, 90, 100), dtype=np.uint8)
inst("grayscale", v, [1000, 2000, 3000], [8.0, 8.0, 8.0])
inst("grayscale_1", v[::2, ::2, ::2].copy(), [500, 1000, 1500], [16.0, 16.0, 16.0])
inst("labels", v, [1000, 2000, 3000], [8.0, 8.0, 8.0], tn="labelmap")
# A server's answer no int32 coordinate can have (converting 1e300 to an integer is undefined).
os.makedirs(os.path.join(d, "hostile"), exist_ok=True)
with open(os.path.join(d, "hostile", "info.json"), "w") as f:
    f.write('{"Base": {"TypeName": "uint8blk"}, "Extended": {"MinPoint": [0, 0, 0], '
            '"MaxPoint": [1e300, 9, 9], "VoxelSize": [8, 8, 8]}}')
PYEOF
start_origin dvid --root "$SCRATCH/www" --dvid-throttle 2
S=$ORIGIN_URL

# numpy_sha INSTANCE X,Y,Z SX,SY,SZ: sha256 of that box cut from the instance's volume.
numpy_sha() {
	$PY - "www/$N/$1" "$2" "$3" <<'PYEOF'
import hashlib, json, sys, numpy as np
d, off, size = sys.argv[1], list(map(int, sys.argv[2].split(","))), list(map(int, sys.argv[3].split(",")))
ext = json.load(open(d + "/info.json"))["Extended"]
lo, hi = ext["MinPoint"], ext["MaxPoint"]
v = np.fromfile(d + "/volume.u8", dtype=np.uint8).reshape(hi[2] - lo[2] + 1, hi[1] - lo[1] + 1, hi[0] - lo[0] + 1)
x, y, z = (off[i] - lo[i] for i in range(3))
print(hashlib.sha256(v[z:z + size[2], y:y + size[1], x:x + size[0]].tobytes()).hexdigest())
PYEOF
}

# 1. Boxes: aligned, unaligned, touching MaxPoint, one voxel, the whole volume.
for b in "1000,2000,3000 64,64,32 aligned" "1013,2007,3021 45,39,28 unaligned" \
	"1050,2041,3030 50,49,50 touching-MaxPoint" "1099,2089,3079 1,1,1 last-voxel" \
	"1000,2000,3000 100,90,80 whole"; do
	set -- $b
	fetch-dvid $CONF -q --server "$S" --uuid $UUID --offset "$1" --size "$2" --chunks 16,16,16 \
		-o st/$3 >stub.json 2>err.txt
	rc=$?
	em-meta -q <stub.json >rec.json 2>meta.err
	want=$(numpy_sha grayscale "$1" "$2")
	got=$(field rec.json sha256)
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok "$3 box $1 size $2 equals numpy's cut"; else
		fail "$3 box $1 size $2: exit $rc, sha256 $got, want $want: $(head -c 300 err.txt)"
	fi
done
$PY -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["id"] == "5a7e0c1d_grayscale_1000_2000_3000_100x90x80", r["id"]
assert r["volume_shape"] == [80, 90, 100], r["volume_shape"]
assert r["voxel_size_nm"] == [8.0, 8.0, 8.0] and r["voxel_size_source"] == ["archive-api"] * 3
assert r["data_type"] == "uint8"
a = r["archive"]
assert a["uuid"] == sys.argv[2] and a["instance"] == "grayscale" and a["server"] == sys.argv[3], a
sm = r["source_metadata"]
assert sm["offset_xyz"] == [1000, 2000, 3000] and sm["size_xyz"] == [100, 90, 80], sm
assert sm["info"]["Base"]["TypeName"] == "uint8blk"
assert r["citation"]["doi"] == "10.7554/eLife.57443", r["citation"]
assert r["download_url"].endswith("/api/node/" + sys.argv[2] + "/grayscale")
' rec.json $UUID "$S" 2>py.err && ok "record: id, shape z,y,x, voxel size from /info, server/UUID/instance/box, citation" ||
	fail "record: $(tail -n 1 py.err)"
valid rec.json "the record validates against the record schema"
# Requests: one per 32^3 piece (chunks of 16 tile them); throttle=true is what makes the
# origin's --dvid-throttle answer 503 below.
: >"$ORIGIN_LOG"
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --offset 1000,2000,3000 --size 64,64,64 \
	--chunks 16,16,16 -o st/req
expect_rc 0 "a 64^3 box"
n=$(log_count "GET /$N/grayscale/raw/0_1_2/32_32_32/[0-9_]+ - 200 ")
[ "$n" -eq 8 ] && ok "fetched as 8 requests of 32^3" || fail "$n requests of 32^3 (want 8)"

# 2. Outside the extents: refused, with the extents in the message.
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --offset 1090,2000,3000 --size 20,10,10 -o st/out
expect_rc 1 "a box past MaxPoint is refused"
expect_grep 'outside the extents.*1000,2000,3000 to 1099,2089,3079' "$SCRATCH/err" "the message gives the extents"
[ "$(field "$SCRATCH/out" status)" = failed ] && ok "its record is failed" || fail "record: $(field "$SCRATCH/out" status)"
valid "$SCRATCH/out" "the failed record validates against the schema"
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --offset 999,2000,3000 --size 2,2,2 -o st/out
expect_rc 1 "a box before MinPoint is refused"
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --instance labels --offset 1000,2000,3000 --size 2,2,2 -o st/out
expect_rc 1 "an instance that is not uint8blk is refused"
expect_grep "type 'labelmap', not uint8blk" "$SCRATCH/err" "the message names the type"
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --instance hostile --offset 0,0,0 --size 2,2,2 -o st/out
expect_rc 1 "an /info with a MaxPoint past int32 is refused"
expect_grep "cannot read '[^']*/hostile/info': Extended.MaxPoint is not three integer coordinates" "$SCRATCH/err" \
	"the message names the field and the URL"
[ "$(field "$SCRATCH/out" status)" = failed ] && ok "its record is failed" || fail "record: $(field "$SCRATCH/out" status)"
run fetch-dvid $CONF -q --server "$S" --uuid 0000 --offset 1000,2000,3000 --size 2,2,2 -o st/out
expect_rc 1 "an unknown node fails"
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --offset 1,2 --size 2,2,2
expect_rc 2 "--offset with two numbers is a usage error"
n0=$(log_count ' GET .*/raw/')
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --offset 1000,2000,3000 --size 64,64,64 \
	--chunks 16,16,16 --max-memory 100K -o st/mem
expect_rc 1 "a --max-memory too small for one job is refused"
expect_grep 'needs at least [0-9.]* [KM]iB of memory.*--max-memory 100.0 KiB' "$SCRATCH/err" "the message gives the memory needed"
[ "$(log_count ' GET .*/raw/')" -eq "$n0" ] && ok "and nothing was fetched" || fail "a refused run fetched boxes"

# 3. Lower resolution: grayscale_1 (its own extents and voxel size); a scale not served.
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --scale 1 --offset 510,1003,1500 --size 30,40,25 \
	--chunks 16,16,16 -o st/s1
expect_rc 0 "--scale 1 reads grayscale_1"
em-meta -q <"$SCRATCH/out" >rec.json 2>meta.err
[ "$(field rec.json sha256)" = "$(numpy_sha grayscale_1 510,1003,1500 30,40,25)" ] &&
	ok "its box equals numpy's cut of the half-scale volume" || fail "scale 1 box differs"
[ "$(field rec.json voxel_size_nm)" = "[16.0, 16.0, 16.0]" ] && ok "its voxel size is 16 nm from its /info" ||
	fail "scale 1 voxel size $(field rec.json voxel_size_nm)"
run fetch-dvid $CONF -q --server "$S" --uuid $UUID --scale 2 --offset 0,0,0 --size 2,2,2 -o st/s2
expect_rc 1 "--scale 2 is not served"
expect_grep "grayscale_2.*may not have scale 2" "$SCRATCH/err" "the message names the missing scale"

# 4. Faults: drops, short bodies and 503s, then throttling.  The origin picks a fault by a
#    hash of the path and its request number, so without throttling (whose 503s depend on
#    timing) the same requests meet the same faults in every run.
start_origin faulty --root "$SCRATCH/www" \
	--fault 'path=*/raw/*,share=0.3,drop=2000' \
	--fault 'path=*/raw/*,first=1,share=0.4,short=7' \
	--fault 'path=*/raw/*,first=1,share=0.2,status=503,retry-after=0'
run fetch-dvid $CONF -q --server "$ORIGIN_URL" --uuid $UUID --offset 1000,2000,3000 --size 100,90,80 \
	--chunks 16,16,16 --jobs 4 -o st/faulty
expect_rc 0 "a fetch through drops, short bodies and 503s"
n503=$(log_count ' 503 ')
nshort=$(log_count ' 200 [0-9]+ fault')
[ "$n503" -gt 0 ] && ok "$n503 answers were 503" || fail "no 503 answers"
[ "$nshort" -gt 0 ] && ok "$nshort answers were cut or short" || fail "no faulty answers"
if same_store st/whole st/faulty; then ok "the store equals the clean one"; else
	fail "faults changed the store"
fi
# Throttling: one throttled request at a time against four jobs.  How many answers are
# 503 depends on timing, so only the outcome is asserted.
start_origin throttled --root "$SCRATCH/www" --dvid-throttle 1
run fetch-dvid $CONF -q --server "$ORIGIN_URL" --uuid $UUID --offset 1013,2007,3021 --size 45,39,28 \
	--chunks 16,16,16 --jobs 4 -o st/throttled
expect_rc 0 "a fetch through DVID's throttling"
echo "# $(log_count ' 503 ') answers were throttled with 503"
if same_store st/unaligned st/throttled; then ok "the throttled store equals the clean one"; else
	fail "throttling changed the store"
fi
# Sustained throttling against many jobs and few attempts: the fetcher halves the requests it
# runs at once when DVID says it is busy, rather than spending every request's attempts
# (max_parallel 8, so that all eight jobs ask at once to begin with).
sed -e "s/retries: 8/retries: 2/" -e "s/^    request_xyz:.*/&\n    max_parallel: 8/" overlay.yaml >few-attempts.yaml
start_origin throttled1 --root "$SCRATCH/www" --dvid-throttle 1 --fault 'path=*/raw/*,rate=2M'
EM_CONFIG_OVERLAY=$SCRATCH/few-attempts.yaml run fetch-dvid $CONF -v --server "$ORIGIN_URL" --uuid $UUID \
	--offset 1000,2000,3000 --size 100,90,80 --chunks 16,16,16 --jobs 8 -o st/throttled8
expect_rc 0 "8 jobs, 2 attempts each, one throttled request at a time: the fetch completes"
expect_grep "HTTP 503 Service Unavailable: [1-4] requests* at once from now on" "$SCRATCH/err" \
	"the busy answers cut the requests at once"
echo "# $(log_count ' 503 ') answers were throttled with 503"
if same_store st/whole st/throttled8; then ok "and the store equals the clean one"; else
	fail "throttling with 8 jobs changed the store"
fi
start_origin liar --root "$SCRATCH/www" --fault 'path=*/raw/*,short=1'
run fetch-dvid $CONF -q --server "$ORIGIN_URL" --uuid $UUID --offset 1000,2000,3000 --size 8,8,8 -o st/liar
expect_rc 1 "a server that always answers one byte short fails"
expect_grep '511 bytes, expected 512 (8x8x8 voxels) after 8 attempts' "$SCRATCH/err" "the message gives both lengths"

# 5. Kill and re-run: the same store; boxes already written are not asked for again.
start_origin slow --root "$SCRATCH/www" --fault 'path=*/raw/*,delay=100'
fetch-dvid $CONF -q --server "$ORIGIN_URL" --uuid $UUID --offset 1000,2000,3000 --size 100,90,80 \
	--chunks 16,16,16 --jobs 2 -o st/killed >kill.out 2>kill.err &
fp=$!
i=0
while [ "$(find st/killed -path '*/0/*' -type f ! -name '.*' ! -name '*.tmp.*' 2>/dev/null | wc -l)" -lt 40 ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -TERM $fp
wait $fp
RC=$?
expect_rc 143 "SIGTERM ends fetch-dvid with 143"
[ "$(field kill.out status)" = cancelled ] && ok "the record says cancelled" || fail "record after SIGTERM: $(field kill.out status)"
log_settle
nfirst=$(grep -c ' GET .*/raw/.* 200 ' "$ORIGIN_LOG")
restart_origin resume --root "$SCRATCH/www"
run fetch-dvid $CONF -q --server "$ORIGIN_URL" --uuid $UUID --offset 1000,2000,3000 --size 100,90,80 \
	--chunks 16,16,16 --jobs 2 -o st/killed
expect_rc 0 "the re-run finishes"
n=$(log_count ' GET .*/raw/')
total=$((4 * 3 * 3))
[ "$n" -lt "$total" ] && [ $((n + nfirst)) -ge "$total" ] && ok "the re-run asked for $n of $total boxes" ||
	fail "the re-run asked for $n of $total boxes ($nfirst before the kill)"
if same_store st/whole st/killed; then ok "the resumed store equals an uninterrupted one"; else
	fail "the resumed store differs"
fi
: >"$ORIGIN_LOG"
run fetch-dvid $CONF -q --server "$ORIGIN_URL" --uuid $UUID --offset 1000,2000,3000 --size 100,90,80 \
	--chunks 16,16,16 -o st/killed
expect_rc 0 "a run over a complete store"
n=$(log_count ' GET .*/raw/')
[ "$n" -eq 0 ] && ok "a complete store asks for no box" || fail "a complete store asked for $n boxes"

start_origin slow2 --root "$SCRATCH/www" --fault 'path=*/raw/*,delay=2000'
fetch-dvid $CONF -q --server "$ORIGIN_URL" --uuid $UUID --offset 1000,2000,3000 --size 64,64,64 \
	--chunks 16,16,16 -o st/int >int.out 2>int.err &
fp=$!
# Once its record is written, it is fetching (and handles signals).
i=0
while ! ls st/int/*.json >/dev/null 2>&1 && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.2
kill -INT $fp
wait $fp
RC=$?
expect_rc 130 "SIGINT ends fetch-dvid with 130"
[ "$(field int.out status)" = cancelled ] && ok "and the record says cancelled" || fail "record after SIGINT: $(field int.out status)"

done_testing
