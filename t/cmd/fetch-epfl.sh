#!/bin/sh
# fetch-epfl.sh - fetch-epfl against em-origin: multi-page TIFFs written by tifffile, the
# volume and a sub-volume, size and shape checks, voxel size from the configuration, faults;
# a conversion stopped mid-volume (SIGTERM, kill -9) finishes with the same store.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/filefetch.sh"

$PY -c 'import zarr, numpy, tifffile, jsonschema' 2>/dev/null ||
	skip "python3-zarr, python3-numpy, python3-tifffile or python3-jsonschema missing"
W=$SCRATCH/www
# The real folder's name starts with a space.
E="$W/epfl/ ElectronMicroscopy_Hippocampus"
mkdir -p "$E"
$PY - "$E" "$SCRATCH" <<'EOF' || fail "tifffile"
import sys, hashlib, numpy as np, tifffile
d, s = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(3)
def put(name, a, **kw):
    tifffile.imwrite(name, a, photometric="minisblack", **kw)
    open(name + ".sha", "w").write(hashlib.sha256(a.tobytes()).hexdigest())
put(d + "/volumedata.tif", rng.integers(0, 256, (40, 96, 128), dtype=np.uint8))
put(d + "/training.tif", rng.integers(0, 256, (12, 48, 64), dtype=np.uint8))
put(d + "/training_groundtruth.tif",
    (rng.integers(0, 2, (12, 48, 64), dtype=np.uint8) * 255).astype(np.uint8))
# A bigger stack for stopping a conversion half way (read in place through file://).
put(s + "/big.tif", rng.integers(0, 256, (96, 384, 512), dtype=np.uint8))
EOF
VOLSIZE=$(wc -c <"$E/volumedata.tif")
start_origin clean --root "$W"
CLEAN=$ORIGIN_URL
start_origin faulty --root "$W" \
	--fault 'path=*.tif,first=1,status=503,retry-after=1' \
	--fault 'path=*.tif,first=3,drop=50000' \
	--fault 'path=*volumedata.tif,share=0.5,drop=200000'
FAULTY=$ORIGIN_URL
FAULTY_LOG=$ORIGIN_LOG

overlay() { # NAME BASEURL [EXPECTED_BYTES] [EXPECTED_SHAPE]
	cat >"$SCRATCH/$1.yaml" <<EOF
global:
  cache_dir: $SCRATCH/cache-$1
  http:
    backoff_initial_ms: 20
    backoff_max_ms: 200
sources:
  epfl:
    base_url: ${2}epfl/%20ElectronMicroscopy_Hippocampus/
    expected_bytes: ${3:-$VOLSIZE}
    expected_shape: ${4:-[40, 96, 128]}
    other_files_bytes: ~
    other_files_shape: [12, 48, 64]
EOF
}
overlay clean "$CLEAN"
overlay faulty "$FAULTY"
OPTS="--chunks 16,32,32 --compressor zlib --level 1 --jobs 2 -q"

EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-epfl -o "$SCRATCH/a" $OPTS
expect_rc 0 "fetch-epfl from the local origin"
em-meta -q <"$SCRATCH/out" >"$SCRATCH/meta" || fail "em-meta"
R=$SCRATCH/a/hippocampus-ca1.json
if validate "$SCRATCH/meta" "$R"; then ok "the record is valid"; else fail "record not valid"; fi
[ "$(zsum "$SCRATCH/a/hippocampus-ca1.zarr")" = "40,96,128 uint8 $(cat "$E/volumedata.tif.sha")" ] &&
	ok "the array is tifffile's, byte for byte" || fail "array differs"
[ "$(jget "$R" 'r["voxel_size_nm"], r["voxel_size_source"]')" = \
	"([5.0, 5.0, 5.0], ['config', 'config', 'config'])" ] &&
	ok "voxel 5 nm from the configuration, not the TIFF's resolution" ||
	fail "voxel $(jget "$R" 'r.get("voxel_size_nm"), r.get("voxel_size_source")')"
[ "$(jget "$R" 'r["modality"], r["archive"]["file"], r["source_files"][0]["size_bytes"], r["status"]')" = \
	"('FIB-SEM', 'volumedata', $VOLSIZE, 'complete')" ] && ok "modality, file, size" ||
	fail "fields $(jget "$R" 'r.get("modality"), r.get("archive"), r.get("source_files")')"
jget "$R" 'r["download_url"]' | grep -q '%20ElectronMicroscopy_Hippocampus/volumedata.tif$' &&
	ok "download_url keeps the %20" || fail "download_url $(jget "$R" 'r["download_url"]')"

# ---- another stack: the labels ----
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-epfl -o "$SCRATCH/a" $OPTS --volume training_groundtruth
expect_rc 0 "--volume training_groundtruth"
R2=$SCRATCH/a/hippocampus-ca1-training_groundtruth.json
[ "$(zsum "$SCRATCH/a/hippocampus-ca1-training_groundtruth.zarr")" = \
	"12,48,64 uint8 $(cat "$E/training_groundtruth.tif.sha")" ] && ok "its own store" || fail "labels store"
jget "$R2" 'r["description"]' | grep -q 'mitochondria labels' && ok "described as labels" ||
	fail "description $(jget "$R2" 'r["description"]')"
run fetch-epfl --volume nonsense
expect_rc 2 "an unknown --volume is a usage error"

# ---- --url with a plain path: the record names the file by its file:// URL ----
# The path is relative, through a symbolic link, with a space in a folder's name: the URL is
# the realpath's, %-escaped, and the record is valid (download_url and source_files[].url).
ln -s "$E" "$SCRATCH/link"
cd "$SCRATCH" || exit 1
run fetch-epfl -o "$SCRATCH/p" $OPTS --url "link/training.tif"
cd "$OLDPWD" || exit 1
expect_rc 0 "--url with a relative plain path"
RP=$SCRATCH/p/training.json
WANT="file://$(cd "$E" && pwd -P | sed 's/ /%20/g')/training.tif"
[ "$(jget "$RP" 'r["download_url"], r["source_files"][0]["url"]')" = "('$WANT', '$WANT')" ] &&
	ok "download_url and source_files[].url are the file:// URL of the realpath" ||
	fail "URLs $(jget "$RP" 'r.get("download_url"), r.get("source_files")') (want $WANT)"
em-meta -q <"$SCRATCH/out" >"$SCRATCH/pmeta" || fail "em-meta after --url"
if validate "$SCRATCH/pmeta" "$RP"; then ok "the --url record is valid"; else fail "--url record not valid"; fi
[ "$(zsum "$SCRATCH/p/training.zarr")" = "12,48,64 uint8 $(cat "$E/training.tif.sha")" ] &&
	ok "--url plain path: the array is tifffile's" || fail "--url plain path store differs"
# The same file again, from another directory by its absolute path: already there.
run fetch-epfl -o "$SCRATCH/p" $OPTS --url "$E/training.tif"
expect_rc 0 "the same file by its absolute path"
[ "$(jget "$SCRATCH/out" 'r["download_url"], r["id"]')" = "('$WANT', 'training')" ] &&
	ok "is the same volume" || fail "another volume: $(head -c 300 "$SCRATCH/out")"
run fetch-epfl -o "$SCRATCH/p" $OPTS --url "$SCRATCH/nothing-here.tif"
expect_rc 1 "--url naming no file"
expect_grep "cannot read '$SCRATCH/nothing-here.tif'" "$SCRATCH/err" "names the path as given"

# ---- the configured size and shape are checked ----
overlay badsize "$CLEAN" 12345
EM_CONFIG_OVERLAY=$SCRATCH/badsize.yaml run fetch-epfl -o "$SCRATCH/s" $OPTS
expect_rc 1 "a file of another size"
expect_grep "size $VOLSIZE, expected 12345" "$SCRATCH/err" "names both sizes"
[ "$(jget "$SCRATCH/out" "r['status']")" = failed ] && [ ! -e "$SCRATCH/s/hippocampus-ca1.json" ] &&
	ok "a failed stub; no record, nothing of the volume was fetched" ||
	fail "status after a size mismatch"
overlay badshape "$CLEAN" "$VOLSIZE" "[40, 96, 64]"
EM_CONFIG_OVERLAY=$SCRATCH/badshape.yaml run fetch-epfl -o "$SCRATCH/s2" $OPTS
expect_rc 1 "a file of another shape"
expect_grep "holds 40 x 96 x 128 (z,y,x) voxels but the configuration (sources.epfl) says 40 x 96 x 64" \
	"$SCRATCH/err" "names both shapes"

# ---- faults: the same store ----
EM_CONFIG_OVERLAY=$SCRATCH/faulty.yaml run fetch-epfl -o "$SCRATCH/b" $OPTS
expect_rc 0 "through 503, dropped connections"
same_store "$SCRATCH/a/hippocampus-ca1.zarr" "$SCRATCH/b/hippocampus-ca1.zarr" &&
	ok "the store is byte-identical to the fault-free run" || fail "stores differ"
ORIGIN_LOG=$FAULTY_LOG
[ "$(log_count 'volumedata.tif - 503 ')" -ge 1 ] && [ "$(log_count 'volumedata.tif bytes=')" -ge 2 ] &&
	ok "faults met and ranges resumed" || fail "faults not met"

# ---- a conversion stopped half way ----
BIG="file://$SCRATCH/big.tif"
# BVOPTS: the same without -q, for a run whose information lines are read.
BVOPTS="--chunks 8,64,64 --compressor zlib --level 6 --jobs 1 --id big"
BOPTS="$BVOPTS -q"
run fetch-epfl -o "$SCRATCH/ref" $BOPTS --url "$BIG"
expect_rc 0 "a local file through --url"
[ "$(zsum "$SCRATCH/ref/big.zarr")" = "96,384,512 uint8 $(cat "$SCRATCH/big.tif.sha")" ] &&
	ok "read in place, byte for byte" || fail "big store differs"
jget "$SCRATCH/ref/big.json" '"voxel_size_nm" in r' | grep -q False &&
	ok "--url: no voxel size from the configuration for a file of unknown origin" ||
	fail "voxel size for a --url file"
some_chunks="[ \$(find '$SCRATCH/stop/big.zarr/0' -type f ! -name '.*' | wc -l) -ge 20 ]"
fetch-epfl -o "$SCRATCH/stop" $BOPTS --url "$BIG" >"$SCRATCH/stop.out" 2>"$SCRATCH/stop.err" &
pid=$!
wait_for "$some_chunks" || fail "no chunks written"
kill -TERM $pid
wait $pid
RC=$?
expect_rc 143 "SIGTERM mid-volume: exit 143"
[ "$(jget "$SCRATCH/stop/big.json" 'r["status"]')" = cancelled ] && ok "record cancelled" ||
	fail "status $(jget "$SCRATCH/stop/big.json" 'r["status"]')"
[ -z "$(find "$SCRATCH/stop/big.zarr" -name '*.tmp*')" ] && ok "no temporary files left" ||
	fail "temporary files: $(find "$SCRATCH/stop/big.zarr" -name '*.tmp*' | head -3)"
n1=$(find "$SCRATCH/stop/big.zarr/0" -type f ! -name '.*' | wc -l)
fetch-epfl -o "$SCRATCH/stop" $BOPTS --url "$BIG" >"$SCRATCH/stop.out" 2>"$SCRATCH/stop.err" &
pid=$!
wait_for "[ \$(find '$SCRATCH/stop/big.zarr/0' -type f ! -name '.*' | wc -l) -gt $((n1 + 20)) ]" ||
	fail "the second run wrote nothing"
kill -KILL $pid
wait $pid 2>/dev/null
run fetch-epfl -o "$SCRATCH/stop" $BVOPTS --url "$BIG" -v
expect_rc 0 "after SIGTERM and kill -9 the next run finishes"
expect_grep 'already present' "$SCRATCH/err" "it kept the chunks written before"
same_store "$SCRATCH/ref/big.zarr" "$SCRATCH/stop/big.zarr" &&
	ok "the store is byte-identical to an uninterrupted run" || fail "stores differ after stops"
[ "$(jget "$SCRATCH/stop/big.json" '[p["status"] for p in r["previous_runs"]]')" = \
	"['cancelled', 'failed']" ] && ok "previous runs: cancelled, then failed (killed)" ||
	fail "previous runs $(jget "$SCRATCH/stop/big.json" 'r.get("previous_runs")')"

# ---- the id a file name gives is one the id rule accepts ----
cp "$E/training.tif" "$SCRATCH/_a.tif"
run fetch-epfl -o "$SCRATCH/ids" $OPTS --url "file://$SCRATCH/_a.tif"
expect_rc 0 "--url of '_a.tif': the id is made without the leading '_'"
[ "$(jget "$SCRATCH/ids/a.json" 'r["id"]')" = a ] && [ -d "$SCRATCH/ids/a.zarr/0" ] &&
	ok "'_a.tif' is volume 'a' (a.json, a.zarr)" || fail "no volume 'a' from '_a.tif'"
cp "$E/training.tif" "$SCRATCH/_.tif"
run fetch-epfl -o "$SCRATCH/ids" $OPTS --url "file://$SCRATCH/_.tif"
expect_rc 1 "--url of '_.tif': no id to be made"
expect_grep "no usable volume id in 'file://$SCRATCH/_.tif' (give --id)" "$SCRATCH/err" \
	"the message names the URL and the way out"
done_testing
