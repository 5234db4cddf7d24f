# origin.sh - em-origin itself: ranges, index pages, the EMPIAR/IDR/DVID emulations,
# S3-style missing keys, faults by header, path safety, usage and signals.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

command -v curl >/dev/null || skip "no curl"
W=$SCRATCH/www
UUID=a89eb3af216a46cdba81204d8f954786
D=$W/api/node/$UUID/grayscale
mkdir -p "$W/empiar/api/entry" "$W/empiar/world_availability/11759/data/trakem2" \
	"$W/webgateway/imgData" "$D" "$W/bucket/x.zarr/s0"
printf '{"EMPIAR-11759": {"title": "Developing retina", "experiment_type": "SBF-SEM"}}\n' \
	>"$W/empiar/api/entry/EMPIAR-11759.json"
genfile 30000 "$W/empiar/world_availability/11759/data/F57-8_test1_3VBSED_slice_0000.dm3" 1
genfile 1500 "$W/empiar/world_availability/11759/data/F57-8_test1_3VBSED_slice_0001.dm3" 2
printf '{"size": {"width": 1121, "height": 775, "z": 184, "t": 1, "c": 1}}\n' \
	>"$W/webgateway/imgData/9846137.json"
# A 50x40x30 (X,Y,Z) volume placed at 100,200,300, as DVID's uint8blk info reports it.
genfile 60000 "$D/volume.u8" 4
cat >"$D/info.json" <<'JSON'
{"Base": {"TypeName": "uint8blk", "TypeURL": "github.com/janelia-flyem/dvid/datatype/imageblk/uint8.go",
  "TypeVersion": "0.2", "DataUUID": "1a2b3c", "Name": "grayscale", "RepoUUID": "a89eb3af216a46cdba81204d8f954786",
  "Compression": "LZ4 compression, level -1", "Checksum": "No checksum", "Syncs": [], "Versioned": true},
 "Extended": {"Values": [{"DataType": "uint8", "Label": "uint8"}], "Interpolable": true,
  "BlockSize": [64, 64, 64], "VoxelSize": [8, 8, 8], "VoxelUnits": ["nanometers", "nanometers", "nanometers"],
  "MinPoint": [100, 200, 300], "MaxPoint": [149, 239, 329], "MinIndex": [1, 3, 4], "MaxIndex": [2, 3, 5],
  "Background": 0}}
JSON
printf '{"zarr_format": 2, "shape": [4, 4, 4], "chunks": [2, 2, 2], "dtype": "|u1", "compressor": null, "fill_value": 0, "order": "C", "filters": null}\n' \
	>"$W/bucket/x.zarr/s0/.zarray"
genfile 8 "$W/bucket/x.zarr/s0/0.0.0" 5

start_origin o --root "$W"
U=$ORIGIN_URL
F=empiar/world_availability/11759/data/F57-8_test1_3VBSED_slice_0000.dm3

# get URL [curl options]: body in $SCRATCH/body, headers in $SCRATCH/hdr, status in $CODE.
get() {
	url=$1
	shift
	CODE=$(curl -s -D "$SCRATCH/hdr" -o "$SCRATCH/body" -w '%{http_code}' "$@" "$url")
}

# Static files and ranges.
get "$U$F"
[ "$CODE" = 200 ] && ok "GET a file" || fail "GET: $CODE"
expect_same "$W/$F" "$SCRATCH/body" "the file is served byte for byte"
expect_grep '^Content-Length: 30000' "$SCRATCH/hdr" "Content-Length"
expect_grep '^ETag: "' "$SCRATCH/hdr" "ETag"
expect_grep '^Last-Modified: ' "$SCRATCH/hdr" "Last-Modified"
expect_grep '^Accept-Ranges: bytes' "$SCRATCH/hdr" "Accept-Ranges"
get "$U$F" -H 'Range: bytes=100-199'
[ "$CODE" = 206 ] && ok "a range is 206" || fail "range: $CODE"
expect_grep '^Content-Range: bytes 100-199/30000' "$SCRATCH/hdr" "Content-Range"
dd if="$W/$F" bs=1 skip=100 count=100 of="$SCRATCH/want" 2>/dev/null
expect_same "$SCRATCH/want" "$SCRATCH/body" "the range's bytes"
get "$U$F" -H 'Range: bytes=-10'
expect_grep '^Content-Range: bytes 29990-29999/30000' "$SCRATCH/hdr" "a suffix range"
get "$U$F" -H 'Range: bytes=29000-'
expect_grep '^Content-Range: bytes 29000-29999/30000' "$SCRATCH/hdr" "an open range"
get "$U$F" -H 'Range: bytes=30000-'
[ "$CODE" = 416 ] && ok "a range past the end is 416" || fail "416 expected: $CODE"
expect_grep '^Content-Range: bytes \*/30000' "$SCRATCH/hdr" "416 gives the size"
get "$U$F" -H 'Range: bytes=0-1,5-6'
[ "$CODE" = 200 ] && ok "several ranges: the whole file" || fail "multi-range: $CODE"
CODE=$(curl -s -I -o "$SCRATCH/hdr" -w '%{http_code}' "$U$F")
[ "$CODE" = 200 ] && ok "HEAD" || fail "HEAD: $CODE"
expect_grep '^Content-Length: 30000' "$SCRATCH/hdr" "HEAD gives Content-Length"

# Index pages, read back with the listing parser.
get "${U}empiar/world_availability/11759/data"
[ "$CODE" = 301 ] && ok "a directory without its slash is redirected" || fail "redirect: $CODE"
expect_grep '^Location: /empiar/world_availability/11759/data/' "$SCRATCH/hdr" "to the URL with the slash"
get "${U}empiar/world_availability/11759/data/"
expect_grep '<title>Index of /empiar/world_availability/11759/data/</title>' "$SCRATCH/body" "Apache-style index"
run httpget list "${U}empiar/world_availability/11759/data/"
expect_grep '^file 29696 approx F57-8_test1_3VBSED_slice_0000.dm3$' "$SCRATCH/out" "Apache sizes (29K)"
expect_grep '^file 1536 approx F57-8_test1_3VBSED_slice_0001.dm3$' "$SCRATCH/out" "Apache sizes (1.5K)"
expect_grep '^dir -1 none trakem2$' "$SCRATCH/out" "directories"
expect_grep '^rejected=0$' "$SCRATCH/out" "nothing rejected"
[ "$(grep -c '^[fd]' "$SCRATCH/out")" -eq 3 ] && ok "three entries, no parent or sort links" || fail "entries"

# The EMPIAR API in its spellings, and a missing entry.
for p in EMPIAR-11759/ EMPIAR-11759 11759/; do
	get "${U}empiar/api/entry/$p"
	expect_same "$W/empiar/api/entry/EMPIAR-11759.json" "$SCRATCH/body" "EMPIAR API /entry/$p"
done
expect_grep '^Content-Type: application/json' "$SCRATCH/hdr" "as JSON"
get "${U}empiar/api/entry/EMPIAR-1/"
[ "$CODE" = 404 ] && ok "a missing entry is 404" || fail "missing entry: $CODE"
expect_grep '"detail":"Not found."' "$SCRATCH/body" "with DRF's body"

# IDR imgData.
get "${U}webgateway/imgData/9846137/"
expect_same "$W/webgateway/imgData/9846137.json" "$SCRATCH/body" "IDR imgData"
get "${U}webgateway/imgData/1/"
[ "$CODE" = 404 ] && ok "a missing image is 404" || fail "missing image: $CODE"

# DVID: info, boxes equal to the same box cut from the volume, errors.
get "${U}api/node/$UUID/grayscale/info"
expect_same "$D/info.json" "$SCRATCH/body" "DVID info"
for box in 50_40_30/100_200_300 7_5_3/113_221_317 1_1_1/149_239_329 13_40_1/137_200_329; do
	get "${U}api/node/$UUID/grayscale/raw/0_1_2/$box?throttle=true"
	python3 - "$D/volume.u8" "$box" "$SCRATCH/want" <<'PY'
import sys
vol = open(sys.argv[1], "rb").read()
size, off = sys.argv[2].split("/")
sx, sy, sz = map(int, size.split("_"))
ox, oy, oz = (a - b for a, b in zip(map(int, off.split("_")), (100, 200, 300)))
out = bytearray()
for z in range(oz, oz + sz):
    for y in range(oy, oy + sy):
        i = (z * 40 + y) * 50 + ox
        out += vol[i:i + sx]
open(sys.argv[3], "wb").write(out)
PY
	[ "$CODE" = 200 ] && expect_same "$SCRATCH/want" "$SCRATCH/body" "DVID box $box" ||
		fail "DVID box $box: $CODE"
done
expect_grep '^Content-Type: application/octet-stream' "$SCRATCH/hdr" "boxes are octet-stream"
for bad in 10_10_10/99_200_300 10_10_10/141_200_300 1_1_1/100_240_300 0_1_1/100_200_300 \
	10_10/100_200_300; do
	get "${U}api/node/$UUID/grayscale/raw/0_1_2/$bad"
	[ "$CODE" = 400 ] && ok "DVID box $bad is 400" || fail "DVID box $bad: $CODE"
done
get "${U}api/node/$UUID/grayscale/raw/0_1_2/10_10_10/99_200_300"
expect_grep "outside the extents" "$SCRATCH/body" "the 400 says why"
get "${U}api/node/$UUID/grayscale/raw/0_1/10_10/100_200_300"
[ "$CODE" = 400 ] && ok "only 0_1_2 boxes" || fail "0_1: $CODE"
get "${U}api/node/$UUID/nosuch/raw/0_1_2/1_1_1/0_0_0"
[ "$CODE" = 400 ] && ok "an unknown instance is 400" || fail "unknown instance: $CODE"

# Zarr chunks as S3 serves them.
get "${U}bucket/x.zarr/s0/0.0.0"
expect_same "$W/bucket/x.zarr/s0/0.0.0" "$SCRATCH/body" "a Zarr chunk"
get "${U}bucket/x.zarr/s0/1.1.1"
[ "$CODE" = 404 ] && ok "a missing chunk is 404" || fail "missing chunk: $CODE"
expect_grep '<Code>NoSuchKey</Code>' "$SCRATCH/body" "with S3's error"

# Faults by request header and parameter; a bad one is 400.
get "$U$F" -H 'X-Em-Fault: status=503,retry-after=7'
[ "$CODE" = 503 ] && ok "a fault by header" || fail "fault header: $CODE"
expect_grep '^Retry-After: 7' "$SCRATCH/hdr" "with Retry-After"
get "$U$F?em-fault=drop=1000"
[ "$(wc -c <"$SCRATCH/body")" -eq 1000 ] && ok "drop=1000 cuts the body at 1000 bytes" ||
	fail "dropped body is $(wc -c <"$SCRATCH/body") bytes"
get "$U$F?em-fault=short=30"
[ "$(wc -c <"$SCRATCH/body")" -eq 29970 ] && ok "short=30 serves 30 bytes less" || fail "short"
get "$U$F?em-fault=bogus=1"
[ "$CODE" = 400 ] && ok "a bad fault spec is 400" || fail "bad fault: $CODE"
expect_grep "unknown key 'bogus'" "$SCRATCH/body" "naming the bad key"
get "$U$F?em-fault=delay=300"
log_settle
n=$(awk -v p="/$F" '$4 == p { d = $2 - $1 } END { printf "%d", d * 1000 }' "$ORIGIN_LOG")
[ "$n" -ge 290 ] && ok "delay=300 delays ($n ms)" || fail "delay: $n ms"

# Paths out of the tree.
CODE=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "${U}../../etc/passwd")
[ "$CODE" = 400 ] && ok "a .. path is refused" || fail "..: $CODE"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "${U}empiar/%2e%2e/%2e%2e/etc/passwd")
[ "$CODE" = 400 ] && ok "an encoded .. path is refused" || fail "encoded ..: $CODE"

# 403 for missing keys; nginx-style pages with exact sizes.
start_origin o2 --root "$W" --missing-status 403 --index-style nginx
get "${ORIGIN_URL}bucket/x.zarr/s0/1.1.1"
[ "$CODE" = 403 ] && ok "--missing-status 403" || fail "403: $CODE"
run httpget list "${ORIGIN_URL}empiar/world_availability/11759/data/"
expect_grep '^file 30000 exact F57-8_test1_3VBSED_slice_0000.dm3$' "$SCRATCH/out" "nginx sizes are exact"
expect_grep '^dir -1 none trakem2$' "$SCRATCH/out" "nginx directories"
kill -INT "$ORIGIN_PID"
wait "$ORIGIN_PID"
[ $? -eq 0 ] && ok "SIGINT stops it with status 0" || fail "SIGINT status"
ORIGIN_PIDS=$(echo "$ORIGIN_PIDS" | sed "s/ $ORIGIN_PID//")

# DVID's throttle: a second throttled request while one runs is 503.
start_origin o3 --root "$W" --dvid-throttle 1
curl -s -o /dev/null "${ORIGIN_URL}api/node/$UUID/grayscale/raw/0_1_2/50_40_30/100_200_300?throttle=true&em-fault=rate=60K" &
cpid=$!
sleep 0.3
get "${ORIGIN_URL}api/node/$UUID/grayscale/raw/0_1_2/1_1_1/100_200_300?throttle=true"
[ "$CODE" = 503 ] && ok "a throttled request is 503 while another runs" || fail "throttle: $CODE"
get "${ORIGIN_URL}api/node/$UUID/grayscale/raw/0_1_2/1_1_1/100_200_300"
[ "$CODE" = 200 ] && ok "an unthrottled one is served" || fail "unthrottled: $CODE"
wait $cpid

# Usage and start-up errors.
run em-origin --fault 'drop=x'
expect_rc 2 "a bad --fault is a usage error"
expect_grep "bad --fault 'drop=x'" "$SCRATCH/err" "naming it"
run em-origin --root "$SCRATCH/nonexistent"
expect_rc 1 "a missing root fails"
expect_grep "cannot serve '$SCRATCH/nonexistent'" "$SCRATCH/err" "naming it"
run em-origin --tls-cert x
expect_rc 2 "--tls-cert without --tls-key"
done_testing
