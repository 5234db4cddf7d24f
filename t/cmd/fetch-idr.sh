#!/bin/sh
# fetch-idr.sh - fetch-idr against em-origin: imgData JSON and the image's TIFF/OME-TIFF,
# sizes that must agree, voxel size from the file or from imgData (um -> nm), the study's
# record fields, faults, SIGTERM while downloading.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/filefetch.sh"

$PY -c 'import zarr, numpy, tifffile, jsonschema' 2>/dev/null ||
	skip "python3-zarr, python3-numpy, python3-tifffile or python3-jsonschema missing"
W=$SCRATCH/www
F=$W/pub/databases/IDR/idr0086-miron-micrographs/Miron_FIB-SEM_processed
mkdir -p "$W/webgateway/imgData" "$F"
$PY - "$F" <<'EOF' || fail "tifffile"
import sys, hashlib, numpy as np, tifffile
d = sys.argv[1]
rng = np.random.default_rng(5)
a = rng.integers(0, 256, (23, 31, 45), dtype=np.uint8)
# The real file is a plain multi-page TIFF; an OME-TIFF copy states its physical sizes.
tifffile.imwrite(d + "/Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif", a, photometric="minisblack")
tifffile.imwrite(d + "/copy.ome.tif", a, ome=True, photometric="minisblack",
                 metadata={"axes": "ZYX", "PhysicalSizeX": 0.02, "PhysicalSizeY": 0.02,
                           "PhysicalSizeZ": 0.025})
tifffile.imwrite(d + "/other.ome.tif", a[:, :, :40], ome=True, photometric="minisblack",
                 metadata={"axes": "ZYX"})
big = rng.integers(0, 256, (64, 512, 512), dtype=np.uint8)
tifffile.imwrite(d + "/big.tif", big, photometric="minisblack")
open(d + "/a.sha", "w").write(hashlib.sha256(a.tobytes()).hexdigest())
EOF
cat >"$W/webgateway/imgData/9846137.json" <<'EOF'
{"id": 9846137, "meta": {"imageName": "Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif",
  "imageDescription": "", "datasetName": "Miron_FIB-SEM_processed",
  "projectName": "idr0086-miron-micrographs/experimentD", "pixelsType": "uint8", "imageId": 9846137},
 "size": {"width": 45, "height": 31, "z": 23, "t": 1, "c": 1},
 "pixel_size": {"x": 0.02, "y": 0.02, "z": 0.02}, "channels": [{"label": "0"}]}
EOF
sed 's/"width": 45/"width": 46/; s/9846137/1234/g' "$W/webgateway/imgData/9846137.json" \
	>"$W/webgateway/imgData/1234.json"
printf '{"size": ' >"$W/webgateway/imgData/555.json"
start_origin clean --root "$W"
CLEAN=$ORIGIN_URL
start_origin faulty --root "$W" \
	--fault 'path=/webgateway/*,first=1,status=503,retry-after=1' \
	--fault 'path=*.tif,first=2,drop=7000' --fault 'path=*.tif,first=1,status=500'
FAULTY=$ORIGIN_URL
FDIR=pub/databases/IDR/idr0086-miron-micrographs/Miron_FIB-SEM_processed

overlay() { # NAME BASEURL [FILE]
	cat >"$SCRATCH/$1.yaml" <<EOF
global:
  cache_dir: $SCRATCH/cache-$1
  http:
    backoff_initial_ms: 20
    backoff_max_ms: 200
sources:
  idr:
    base_url: $2
    webgateway_url: ${2}webgateway/imgData/9846137/
    file_url: ${2}$FDIR/${3:-Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif}
EOF
}
overlay clean "$CLEAN"
overlay faulty "$FAULTY"
OPTS="--chunks 8,16,16 --compressor zstd --level 1 --jobs 2 -q"
SHA=$(cat "$F/a.sha")

EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-idr -o "$SCRATCH/a" $OPTS
expect_rc 0 "fetch-idr from the local origin"
em-meta -q <"$SCRATCH/out" >"$SCRATCH/meta" || fail "em-meta"
R=$SCRATCH/a/9846137.json
if validate "$SCRATCH/meta" "$R"; then ok "the record is valid"; else fail "record not valid"; fi
[ "$(zsum "$SCRATCH/a/9846137.zarr")" = "23,31,45 uint8 $SHA" ] && ok "the array, byte for byte" ||
	fail "array $(zsum "$SCRATCH/a/9846137.zarr")"
[ "$(jget "$R" '[round(v, 6) for v in r["voxel_size_nm"]], r["voxel_size_source"]')" = \
	"([20.0, 20.0, 20.0], ['archive-api', 'archive-api', 'archive-api'])" ] &&
	ok "voxel 20 nm from imgData (um -> nm), provenance archive-api" ||
	fail "voxel $(jget "$R" 'r.get("voxel_size_nm"), r.get("voxel_size_source")')"
[ "$(jget "$R" 'r["archive"]["accession"], r["archive"]["image_id"], r["archive"]["doi"], r["modality"], r["license"]')" = \
	"('idr0086', '9846137', '10.1126/sciadv.aba8811', 'FIB-SEM', 'CC-BY-4.0')" ] &&
	ok "study, image id, DOI, modality, licence" || fail "fields $(jget "$R" 'r.get("archive")')"
# base_url ends in '/', as the demo's does: the page's URL has no doubled slash.
[ "$(jget "$R" 'r["archive"]["entry_url"]')" = "${CLEAN}webclient/img_detail/9846137/" ] &&
	ok "entry_url without a doubled slash" || fail "entry_url $(jget "$R" 'r["archive"]["entry_url"]')"
jget "$R" 'r["description"]' | grep -q 'FIB-SEM of U2OS cell nuclei' && ok "the true description" ||
	fail "description $(jget "$R" 'r.get("description")')"
[ "$(jget "$R" 'r["source_metadata"]["imgData"]["size"]["z"]')" = 23 ] &&
	ok "imgData kept in source_metadata" || fail "source_metadata"

# ---- a re-run of the complete volume that fails before any data: it stays complete ----
cp "$R" "$SCRATCH/complete.json"
overlay gone "$CLEAN" missing.tif
EM_CONFIG_OVERLAY=$SCRATCH/gone.yaml run fetch-idr -o "$SCRATCH/a" $OPTS
expect_rc 1 "a re-run whose file is gone (404) fails"
expect_grep "idr/9846137 stays complete" "$SCRATCH/err" "and says the volume stays complete"
$PY - "$SCRATCH/complete.json" "$R" <<'PYEOF' 2>"$SCRATCH/py.err" &&
import json, sys
old, new = (json.load(open(p)) for p in sys.argv[1:3])
la = new.pop("last_attempt")
assert la["status"] == "failed" and "404" in la["error"], la
assert la["started"] <= la["finished"], la
assert new == old, "the record changed beyond last_attempt"
PYEOF
	ok "the record is the complete one plus last_attempt (failed, the 404)" ||
	fail "record after the failed re-run: $(tail -n 1 "$SCRATCH/py.err")"
[ "$(jget "$SCRATCH/out" "r['status']")" = complete ] && ok "the stub printed says complete too" ||
	fail "stub $(jget "$SCRATCH/out" "r.get('status')")"
validate "$R" >/dev/null && ok "the record with last_attempt is valid" || fail "record not valid"
[ "$(zsum "$SCRATCH/a/9846137.zarr")" = "23,31,45 uint8 $SHA" ] && ok "the store is intact" ||
	fail "store $(zsum "$SCRATCH/a/9846137.zarr")"
run em-consolidate -q -o "$SCRATCH/cat" "$SCRATCH/a/9846137.json"
$PY - "$SCRATCH"/cat/metadata_catalog_*.json "$SCRATCH"/cat/validation_report_*.json <<'PYEOF' 2>"$SCRATCH/py.err" &&
import json, sys
cat = json.load(open(sys.argv[1]))
assert cat["summary"]["by_status"] == {"complete": 1}, cat["summary"]["by_status"]
assert [r["status"] for r in cat["records"]] == ["complete"], "the catalog says otherwise"
rep = json.load(open(sys.argv[2]))
w = [x["code"] for e in rep["records"] for x in e["warnings"]]
assert "last-attempt-failed" in w and "not-complete" not in w, w
PYEOF
	ok "the catalog keeps it complete and warns of the failed attempt" ||
	fail "catalog: $(tail -n 1 "$SCRATCH/py.err")"
# ---- faults: the same store ----
EM_CONFIG_OVERLAY=$SCRATCH/faulty.yaml run fetch-idr -o "$SCRATCH/b" $OPTS
expect_rc 0 "through 503, 500 and dropped connections"
same_store "$SCRATCH/a/9846137.zarr" "$SCRATCH/b/9846137.zarr" &&
	ok "the store is byte-identical to the fault-free run" || fail "stores differ"

# ---- an OME-TIFF's own physical sizes win; sizes must agree with imgData ----
overlay ome "$CLEAN" copy.ome.tif
EM_CONFIG_OVERLAY=$SCRATCH/ome.yaml run fetch-idr -o "$SCRATCH/c" $OPTS
expect_rc 0 "the OME-TIFF copy"
[ "$(jget "$SCRATCH/c/9846137.json" '[round(v, 6) for v in r["voxel_size_nm"]], r["voxel_size_source"]')" = \
	"([25.0, 20.0, 20.0], ['file', 'file', 'file'])" ] && ok "OME-XML physical sizes, provenance file" ||
	fail "voxel $(jget "$SCRATCH/c/9846137.json" 'r.get("voxel_size_nm"), r.get("voxel_size_source")')"
overlay other "$CLEAN" other.ome.tif
EM_CONFIG_OVERLAY=$SCRATCH/other.yaml run fetch-idr -o "$SCRATCH/d" $OPTS
expect_rc 1 "an OME-TIFF whose sizes differ from imgData"
expect_grep "holds 23 x 31 x 40 (z,y,x) voxels but IDR imgData says 23 x 31 x 45" "$SCRATCH/err" \
	"the message names both"
[ "$(jget "$SCRATCH/d/9846137.json" 'r["status"]')" = failed ] && ok "failed record" || fail "status"

# ---- another image: its imgData with --url; a malformed or missing imgData ----
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-idr -o "$SCRATCH/e" $OPTS 1234 \
	--url "${CLEAN}$FDIR/Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif"
expect_rc 1 "image 1234 with a file of another width"
expect_grep "but IDR imgData says 23 x 31 x 46" "$SCRATCH/err" "names both widths"
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-idr -o "$SCRATCH/e" $OPTS 555 --url "${CLEAN}$FDIR/copy.ome.tif"
expect_rc 1 "malformed imgData"
expect_grep "not imgData JSON" "$SCRATCH/err" "says it is not imgData"
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-idr -o "$SCRATCH/e" $OPTS 777 --url "${CLEAN}$FDIR/copy.ome.tif"
expect_rc 1 "an image IDR does not have"
expect_grep "HTTP 404: IDR has no image 777" "$SCRATCH/err" "names the image"
[ "$(jget "$SCRATCH/out" "r['status']")" = failed ] && [ ! -e "$SCRATCH/e/777.json" ] &&
	ok "a failed stub on stdout, no record left for an image never fetched" || fail "record for 777"
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-idr -o "$SCRATCH/e" $OPTS 778
expect_rc 1 "another image without --url"
expect_grep "no file URL is known for IDR image 778" "$SCRATCH/err" "asks for --url"
run fetch-idr 12x
expect_rc 2 "a malformed image id"
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-idr -o "$SCRATCH/m" $OPTS --url "${CLEAN}$FDIR/missing.tif"
expect_rc 1 "a file that is not there (a mistyped --url)"
expect_grep "missing.tif.*404" "$SCRATCH/err" "names it with the status"
[ "$(jget "$SCRATCH/out" "r['status']")" = failed ] && ok "the failed stub on stdout" || fail "stub"
[ ! -e "$SCRATCH/m" ] && ok "nothing written: no stray record, store or directory" ||
	fail "left behind: $(find "$SCRATCH/m" | head -3)"

# ---- SIGINT while downloading ----
start_origin slow --root "$W" --fault 'path=*big.tif,rate=2M'
overlay slow "$ORIGIN_URL" big.tif
EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml fetch-idr -o "$SCRATCH/f" $OPTS --chunks 32,256,256 --url "${ORIGIN_URL}$FDIR/big.tif" \
	>"$SCRATCH/f.out" 2>"$SCRATCH/f.err" &
pid=$!
wait_for "[ -n \"\$(find '$SCRATCH/cache-slow' -name '*.part' -size +100k)\" ]" || fail "no download"
kill -INT $pid
wait $pid
RC=$?
expect_rc 130 "SIGINT while downloading: exit 130"
[ "$(jget "$SCRATCH/f/big.json" 'r["status"]')" = cancelled ] && ok "record cancelled" ||
	fail "status $(jget "$SCRATCH/f/big.json" 'r["status"]')"
expect_grep 'interrupted' "$SCRATCH/f.err" "says it was interrupted"
# The same file from the fast origin: the download in the cache is resumed.
EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml run fetch-idr -o "$SCRATCH/f" $OPTS --chunks 32,256,256 --url "${CLEAN}$FDIR/big.tif"
expect_rc 0 "the next run finishes"
ORIGIN_LOG=$SCRATCH/clean.log
[ "$(log_count 'big.tif bytes=[1-9][0-9]*- 206 ')" -ge 1 ] && ok "resuming the download" ||
	fail "no range request"
done_testing
