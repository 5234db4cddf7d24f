#!/bin/sh
# fetch-empiar.sh - fetch-empiar against em-origin: the entry API, the data listing (glob,
# skipped directories, natural order), DM3 slices stacked with the configured z spacing,
# the record (em-meta, schema); faults and kills leave the same store; re-runs skip.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/filefetch.sh"

$PY -c 'import zarr, numpy, jsonschema' 2>/dev/null ||
	skip "python3-zarr, python3-numpy or python3-jsonschema missing"
W=$SCRATCH/www
D=$W/empiar/world_availability/11759/data
mkdir -p "$W/empiar/api/entry" "$D/trakem2"
# 12 slices of 150 x 200 (y, x) from one raw file; named so that a plain sort would put 10
# before 2.  A file the glob does not match and an XML-only directory are skipped.
W_=200
H_=150
genfile $((12 * W_ * H_)) "$SCRATCH/raw" 7
for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
	mkdm3 $W_ $H_ 0.008 "$D/F57-8_test1_3VBSED_slice_$i.dm3" "$SCRATCH/raw" $((i * W_ * H_)) ||
		fail "mkdm3"
done
echo '<trakem2/>' >"$D/trakem2/project.xml"
mkdm3 8 8 0.008 "$D/trakem2/F57-8_test1_3VBSED_slice_99.dm3"
echo notes >"$D/README.txt"
cat >"$W/empiar/api/entry/EMPIAR-11759.json" <<'EOF'
{"EMPIAR-11759": {"title": "Developing retina in zebrafish 55 hpf larval eye",
 "experiment_type": "SBF-SEM", "entry_doi": "10.6019/EMPIAR-11759", "release_date": "2023-10-05",
 "dataset_size": "470.3 MB",
 "citation": [{"title": "Retinal development in zebrafish", "journal": "Test Journal",
   "year": "2023", "authors": [{"name": "Doe J"}, {"name": "Roe R"}]}],
 "imagesets": [{"name": "Zebrafish retina", "directory": "/data", "category": "SBF-SEM",
   "pixel_width": "80.0", "pixel_height": 80, "image_width": 200, "image_height": 150,
   "num_images_or_tilt_series": 12, "voxel_type": "UNSIGNED BYTE", "data_format": "DM3"}]}}
EOF

start_origin clean --root "$W"
CLEAN=$ORIGIN_URL
CLEAN_LOG=$ORIGIN_LOG
# Fault-ridden: the API answers 503 with Retry-After once, every slice's first GET breaks
# off after 2000 bytes, some later ones once more, the listing is slow.
start_origin faulty --root "$W" --index-style nginx \
	--fault 'path=/empiar/api/*,first=1,status=503,retry-after=1' \
	--fault 'path=*.dm3,first=1,drop=2000' \
	--fault 'path=*.dm3,share=0.3,drop=9000' \
	--fault 'path=*/data/,first=1,delay=300'
FAULTY=$ORIGIN_URL
FAULTY_LOG=$ORIGIN_LOG

overlay() { # NAME BASEURL: a config overlay pointing the fetcher at that origin
	cat >"$SCRATCH/$1.yaml" <<EOF
global:
  cache_dir: $SCRATCH/cache-$1
  http:
    backoff_initial_ms: 20
    backoff_max_ms: 200
sources:
  empiar:
    api_base: ${2}empiar/api
    world_url: ${2}empiar/world_availability
    api_url: ${2}empiar/api/entry/EMPIAR-11759/
    data_url: ${2}empiar/world_availability/11759/data/
    file_glob: "F57-8_test1_3VBSED_slice_*.dm3"
    expected_files: 12
EOF
}
overlay clean "$CLEAN"
overlay faulty "$FAULTY"
OPTS="--chunks 4,32,32 --compressor zlib --level 1 --jobs 2 -q"

# ---- a clean run, then em-meta and the schema ----
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-empiar -o "$SCRATCH/a" $OPTS
expect_rc 0 "fetch-empiar from the local origin"
cp "$SCRATCH/out" "$SCRATCH/stub"
expect_grep '"status":"saving-data"' "$SCRATCH/stub" "the stub is saving-data"
em-meta -q <"$SCRATCH/stub" >"$SCRATCH/meta" || fail "em-meta"
expect_grep '"status":"complete"' "$SCRATCH/meta" "em-meta completes the record"
if validate "$SCRATCH/meta" "$SCRATCH/a/EMPIAR-11759.json"; then ok "the record is valid"; else
	fail "the record is not valid against the schema"; fi
R=$SCRATCH/a/EMPIAR-11759.json
[ "$(jget "$R" 'r["volume_shape"]')" = "[12, 150, 200]" ] && ok "shape 12,150,200" ||
	fail "shape $(jget "$R" 'r["volume_shape"]')"
[ "$(jget "$R" '[round(v, 4) for v in r["voxel_size_nm"]], r["voxel_size_source"]')" = \
	"([50.0, 8.0, 8.0], ['config', 'file', 'file'])" ] &&
	ok "voxel 50 nm (config) x 8 nm (file)" ||
	fail "voxel $(jget "$R" 'r["voxel_size_nm"], r["voxel_size_source"]')"
[ "$(jget "$R" 'r["modality"], r["archive"]["accession"], r["archive"]["doi"], r["license"]')" = \
	"('SBF-SEM', 'EMPIAR-11759', '10.6019/EMPIAR-11759', 'CC0-1.0')" ] &&
	ok "modality, accession, DOI, licence" || fail "fields: $(jget "$R" 'r.get("archive")')"
[ "$(jget "$R" 'r["citation"]["text"]')" = \
	"Doe J; Roe R, Retinal development in zebrafish, Test Journal (2023)" ] &&
	ok "citation from the entry" || fail "citation $(jget "$R" 'r["citation"]')"
jget "$R" 'r["description"]' | grep -q 'zebrafish' && ok "description from the configuration" ||
	fail "description $(jget "$R" 'r.get("description")')"
[ "$(jget "$R" '[f["url"].rsplit("/",1)[1] for f in r["source_files"]][:3], len(r["source_files"]), r["source_files"][0]["size_bytes"]')" = \
	"(['F57-8_test1_3VBSED_slice_0.dm3', 'F57-8_test1_3VBSED_slice_1.dm3', 'F57-8_test1_3VBSED_slice_2.dm3'], 12, $(wc -c <"$D/F57-8_test1_3VBSED_slice_0.dm3"))" ] &&
	ok "source_files in natural order with sizes" ||
	fail "source_files $(jget "$R" '[f["url"] for f in r["source_files"]]')"
[ "$(jget "$R" 'r["source_metadata"]["imageset"]["pixel_width"]')" = "80.0" ] &&
	ok "the image set is kept in source_metadata" || fail "source_metadata"
# The array is the raw bytes, slice after slice (natural order, not 0,1,10,11,2...).
want=$($PY -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$SCRATCH/raw")
[ "$(zsum "$SCRATCH/a/EMPIAR-11759.zarr")" = "12,150,200 uint8 $want" ] &&
	ok "zarr-python reads the slices in natural order, byte for byte" ||
	fail "array $(zsum "$SCRATCH/a/EMPIAR-11759.zarr")"
[ "$(jget "$SCRATCH/meta" 'r["sha256"]')" = "$want" ] && ok "em-meta's sha256" || fail "sha256"
[ "$(log_count 'trakem2|README')" = 0 ] && ok "skip_dirs and the glob: nothing else fetched" ||
	fail "fetched: $(grep -E 'trakem2|README' "$CLEAN_LOG")"
[ ! -e "$SCRATCH/cache-clean/empiar/EMPIAR-11759" ] && ok "downloads removed once the store is whole" ||
	fail "cache left: $(ls "$SCRATCH/cache-clean/empiar/EMPIAR-11759")"

# ---- a re-run of a complete volume does nothing and says so ----
n0=$(log_count '\.dm3 ')
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-empiar -o "$SCRATCH/a" $OPTS -v
expect_rc 0 "a re-run exits 0"
expect_grep 'already ingested from the same 12 files' "$SCRATCH/err" "a re-run says so"
expect_grep '"status":"complete"' "$SCRATCH/out" "a re-run prints the record"
[ "$(log_count '\.dm3 ')" = "$n0" ] && ok "a re-run downloads nothing" || fail "re-run downloaded"
# -v is one level (information), -v -v two (debugging: the skipped directory is named).
VOPTS="--chunks 4,32,32 --compressor zlib --level 1 --jobs 2"
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-empiar -o "$SCRATCH/a" $VOPTS -v
expect_rc 0 "a re-run with -v"
expect_nogrep "skipping directory 'trakem2'" "$SCRATCH/err" "one -v does not show debugging lines"
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-empiar -o "$SCRATCH/a" $VOPTS -v -v
expect_grep "skipping directory 'trakem2'" "$SCRATCH/err" "-v -v shows debugging lines"
# Other chunks are another layout: that is made again (into its own store here).
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-empiar -o "$SCRATCH/a2" $OPTS --chunks 8,64,64
expect_rc 0 "another chunk shape"

# ---- faults: the same store ----
EM_CONFIG_OVERLAY=$SCRATCH/faulty.yaml run fetch-empiar -o "$SCRATCH/b" $OPTS
expect_rc 0 "fetch-empiar through dropped connections, 503 and delays"
same_store "$SCRATCH/a/EMPIAR-11759.zarr" "$SCRATCH/b/EMPIAR-11759.zarr" &&
	ok "the store is byte-identical to the fault-free run" || fail "stores differ"
ORIGIN_LOG=$FAULTY_LOG
[ "$(log_count ' GET /empiar/api/entry/EMPIAR-11759/ - 503 ')" -ge 1 ] &&
	[ "$(log_count 'slice_0.dm3 bytes=2000- 20[06] ')" -ge 1 ] &&
	ok "the faults happened: 503, then ranges resumed the broken downloads" ||
	fail "faults: $(grep -c fault "$FAULTY_LOG")"
ORIGIN_LOG=$CLEAN_LOG

# ---- a short body (right headers, wrong length) is caught by the listing's exact size ----
start_origin short --root "$W" --index-style nginx --fault 'path=*slice_3.dm3,first=1,short=100'
overlay short "$ORIGIN_URL"
EM_CONFIG_OVERLAY=$SCRATCH/short.yaml run fetch-empiar -o "$SCRATCH/c" $OPTS
expect_rc 1 "a short body fails the run"
expect_grep 'slice_3.dm3' "$SCRATCH/err" "the message names the file"
[ "$(jget "$SCRATCH/out" "r['status']")" = failed ] && [ ! -e "$SCRATCH/c/EMPIAR-11759.json" ] &&
	ok "stub failed; no record, the volume's data never began" ||
	fail "record $(jget "$SCRATCH/c/EMPIAR-11759.json" 'r["status"]')"
EM_CONFIG_OVERLAY=$SCRATCH/short.yaml run fetch-empiar -o "$SCRATCH/c" $OPTS
expect_rc 0 "the next run gets the file whole"
same_store "$SCRATCH/a/EMPIAR-11759.zarr" "$SCRATCH/c/EMPIAR-11759.zarr" &&
	ok "and the same store" || fail "stores differ after a short body"
[ "$(jget "$SCRATCH/c/EMPIAR-11759.json" 'r["status"], "previous_runs" in r')" = "('saving-data', False)" ] &&
	ok "a record of this run only" || fail "record $(jget "$SCRATCH/c/EMPIAR-11759.json" 'r.get("previous_runs")')"

# ---- SIGTERM while downloading: cancelled, 143; kill -9: the next run resumes ----
start_origin slow --root "$W" --fault 'path=*.dm3,rate=40K'
overlay slow "$ORIGIN_URL"
EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml fetch-empiar -o "$SCRATCH/d" $OPTS \
	>"$SCRATCH/d.out" 2>"$SCRATCH/d.err" &
pid=$!
wait_for "ls '$SCRATCH/cache-slow/empiar/EMPIAR-11759/'*.part >/dev/null" || fail "no download started"
kill -TERM $pid
wait $pid
RC=$?
expect_rc 143 "SIGTERM: exit 143"
[ "$(jget "$SCRATCH/d/EMPIAR-11759.json" 'r["status"]')" = cancelled ] && ok "record cancelled" ||
	fail "record $(jget "$SCRATCH/d/EMPIAR-11759.json" 'r["status"], r.get("error")')"
expect_grep '"status":"cancelled"' "$SCRATCH/d.out" "the cancelled record is printed"
EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml fetch-empiar -o "$SCRATCH/d" $OPTS \
	>"$SCRATCH/d.out" 2>"$SCRATCH/d.err" &
pid=$!
# Killed with part of a file downloaded, after at least one whole one.
wait_for "[ -n \"\$(find '$SCRATCH/cache-slow/empiar/EMPIAR-11759' -name '*_[1-9].dm3.part' -size +2k)\" ]" ||
	fail "the second run made no progress"
kill -KILL $pid
wait $pid 2>/dev/null
EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml run fetch-empiar -o "$SCRATCH/d" $OPTS
expect_rc 0 "after kill -9 the next run finishes"
same_store "$SCRATCH/a/EMPIAR-11759.zarr" "$SCRATCH/d/EMPIAR-11759.zarr" &&
	ok "with the same store" || fail "stores differ after kills"
ORIGIN_LOG=$SCRATCH/slow.log
[ "$(log_count '\.dm3 bytes=[1-9][0-9]*- 206 ')" -ge 1 ] &&
	ok "downloads resumed with ranges" || fail "no range request after the kills"

# ---- another entry: two image sets in their own directories are two volumes ----
D2=$W/empiar/world_availability/10002/data
mkdir -p "$D2/tomograms" "$D2/stack"
$PY -c '
import sys, numpy as np, mrcfile
with mrcfile.new(sys.argv[1] + "/tomograms/tomo.mrc") as m:
    m.set_data(np.arange(4 * 6 * 8, dtype=np.int16).reshape(4, 6, 8))
    m.voxel_size = 10.0
' "$D2" || fail "mrcfile"
for i in 1 2 3; do mkdm3 16 12 0 "$D2/stack/img_$i.dm3" || fail mkdm3; done
echo x >"$D2/stack/notes.txt"
cat >"$W/empiar/api/entry/EMPIAR-10002.json" <<'JSON'
{"EMPIAR-10002": {"title": "Two sets", "experiment_type": "ET", "entry_doi": "10.6019/EMPIAR-10002",
 "imagesets": [{"name": "Tomogram", "directory": "/data/tomograms"},
               {"name": "Stack", "directory": "data/stack", "pixel_width": 20, "pixel_height": 20}]}}
JSON
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-empiar -o "$SCRATCH/g" $OPTS EMPIAR-10002
expect_rc 0 "an entry with two image sets"
[ "$(grep -c '"status":"saving-data"' "$SCRATCH/out")" = 2 ] && ok "two stubs" || fail "stubs"
[ "$(zsum "$SCRATCH/g/EMPIAR-10002-1.zarr" | cut -d' ' -f1,2)" = "4,6,8 int16" ] &&
	ok "set 1: the tomogram" || fail "set 1 $(zsum "$SCRATCH/g/EMPIAR-10002-1.zarr")"
[ "$(zsum "$SCRATCH/g/EMPIAR-10002-2.zarr" | cut -d' ' -f1,2)" = "3,12,16 uint8" ] &&
	ok "set 2: the three slices stacked" || fail "set 2 $(zsum "$SCRATCH/g/EMPIAR-10002-2.zarr")"
[ "$(jget "$SCRATCH/g/EMPIAR-10002-1.json" 'r["voxel_size_nm"], r["modality"], r["description"]')" = \
	"([1.0, 1.0, 1.0], 'ET', 'Two sets - Tomogram')" ] && ok "set 1's record" ||
	fail "set 1 record $(jget "$SCRATCH/g/EMPIAR-10002-1.json" 'r.get("voxel_size_nm"), r.get("description")')"
# Set 2's slices carry no calibration and the entry no z spacing: no voxel size is made up.
# The image set's pixel size (20 Å) is kept for y and x; z is null, marked unknown.
[ "$(jget "$SCRATCH/g/EMPIAR-10002-2.json" 'r["voxel_size_nm"], r["voxel_size_source"], r["ngff_scale_nm"], r["source_metadata"]["imageset"]["name"]')" = \
	"([None, 2.0, 2.0], ['unknown', 'archive-api', 'archive-api'], [2.0, 2.0, 2.0], 'Stack')" ] &&
	ok "set 2's record: y, x from the API, z unknown (not guessed), the store's scale recorded" ||
	fail "set 2 record $(jget "$SCRATCH/g/EMPIAR-10002-2.json" 'r.get("voxel_size_nm"), r.get("voxel_size_source"), r.get("ngff_scale_nm")')"

# ---- a missing entry, a bad entry argument ----
EM_CONFIG_OVERLAY=$SCRATCH/clean.yaml run fetch-empiar -o "$SCRATCH/e" $OPTS 99999
expect_rc 1 "an entry the API does not have"
expect_grep 'no entry EMPIAR-99999' "$SCRATCH/err" "names the entry"
[ "$(jget "$SCRATCH/out" "r['status']")" = failed ] && [ ! -e "$SCRATCH/e/EMPIAR-99999.json" ] &&
	ok "a failed stub on stdout, no stray record of an entry that is not there" ||
	fail "record of a missing entry"
run fetch-empiar abc
expect_rc 2 "a malformed entry is a usage error"

# ---- a listing with fewer files than the entry has ----
# Left out of the first listing only (one of EBI's backends): listed again, and whole.
start_origin once --root "$W" --index-style nginx --fault 'path=*/11759/data/,first=1,omit=*slice_5.dm3'
overlay once "$ORIGIN_URL"
EM_CONFIG_OVERLAY=$SCRATCH/once.yaml run fetch-empiar -o "$SCRATCH/h" $OPTS
expect_rc 0 "a file left out of one listing: listed again"
[ "$(log_count ' GET /empiar/world_availability/11759/data/ ')" = 2 ] &&
	ok "the data directory was listed twice" || fail "listings: $(log_count ' GET /empiar/world_availability/11759/data/ ')"
same_store "$SCRATCH/a/EMPIAR-11759.zarr" "$SCRATCH/h/EMPIAR-11759.zarr" &&
	ok "the store is the whole one" || fail "stores differ after a short listing"
ORIGIN_LOG=$CLEAN_LOG
# Left out every time: the run fails naming them, and writes nothing.
start_origin short2 --root "$W" --index-style nginx --fault 'path=*/11759/data/,omit=*slice_1[01].dm3'
overlay short2 "$ORIGIN_URL"
EM_CONFIG_OVERLAY=$SCRATCH/short2.yaml run fetch-empiar -o "$SCRATCH/k" $OPTS
expect_rc 1 "files missing from every listing fail the run"
expect_grep "gives 10 of the 12 files EMPIAR-11759 has, even listed again; missing: 'F57-8_test1_3VBSED_slice_10.dm3', 'F57-8_test1_3VBSED_slice_11.dm3'" \
	"$SCRATCH/err" "the message names the missing files"
[ "$(jget "$SCRATCH/out" "r['status']")" = failed ] && [ ! -e "$SCRATCH/k/EMPIAR-11759.json" ] &&
	[ ! -e "$SCRATCH/k/EMPIAR-11759.zarr" ] && ok "a failed stub; no record, no store" ||
	fail "after a short listing: $(ls "$SCRATCH/k" 2>&1)"
# The image set's num_images_or_tilt_series says so too, without expected_files.
sed 's/expected_files: .*/expected_files: null/' "$SCRATCH/short2.yaml" >"$SCRATCH/short3.yaml"
EM_CONFIG_OVERLAY=$SCRATCH/short3.yaml run fetch-empiar -o "$SCRATCH/k" $OPTS
expect_rc 1 "the entry's num_images_or_tilt_series is the count wanted"
expect_grep "gives 10 of the 12 files" "$SCRATCH/err" "the same message"
# --partial: the volume of what is there, and the record says what is not.
EM_CONFIG_OVERLAY=$SCRATCH/short2.yaml run fetch-empiar -o "$SCRATCH/k" $VOPTS --partial
expect_rc 0 "--partial makes the volume of the files there are"
expect_grep "10 of the 12 files are listed; missing: 'F57-8_test1_3VBSED_slice_10.dm3', 'F57-8_test1_3VBSED_slice_11.dm3'" \
	"$SCRATCH/err" "a warning names them"
em-meta -q <"$SCRATCH/out" >"$SCRATCH/kmeta" || fail "em-meta"
R=$SCRATCH/k/EMPIAR-11759.json
[ "$(jget "$R" 'r["volume_shape"], r["missing_files"], r["status"]')" = \
	"([10, 150, 200], ['F57-8_test1_3VBSED_slice_10.dm3', 'F57-8_test1_3VBSED_slice_11.dm3'], 'complete')" ] &&
	ok "the record: 10 slices, missing_files names the two" ||
	fail "partial record $(jget "$R" 'r.get("volume_shape"), r.get("missing_files")')"
if validate "$SCRATCH/kmeta" "$R"; then ok "the partial record is valid"; else fail "the partial record is not valid"; fi
done_testing
