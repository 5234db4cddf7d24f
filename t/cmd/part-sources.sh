#!/bin/sh
# part-sources.sh - --part I/N on the sources served by em-origin: fetch-empiar (a DM3
# series), fetch-idr (one TIFF), fetch-precomputed (sharded and unsharded chunks) and
# fetch-epfl over FTP, parts 1..N started at once, then em-downsample and em-meta --merge,
# give one whole run's store bytes and record (sha256 equal to hashlib's, statistics); the
# parts of a file source share each download (the server sends every file once, the parts
# that did not download it say they waited, and SIGTERM ends a wait), the part that
# finishes last removes the downloads, and a part killed while downloading leaves its .part
# for the next holder to resume by range.
# shellcheck disable=SC1091,SC2015,SC2086 # helpers sourced by path; "test && ok || fail"
# (ok cannot fail); the option strings are split into words on purpose
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/parts.sh"
. "$TOP/t/filefetch.sh"
FTP_PIDS=""
trap 'for p in $FTP_PIDS; do kill "$p" 2>/dev/null; done; origin_cleanup' EXIT
$PY -c 'import zarr, numpy, tifffile' 2>/dev/null ||
	skip "python3-zarr, python3-numpy and python3-tifffile are needed (make deps)"
command -v mkdm3 >/dev/null 2>&1 || skip "t/prog/mkdm3 is not built (make check builds it)"
cd "$SCRATCH" || exit 1
CONF="--config $TOP/config/config.yaml"

# parts_complete N NAME DESC: every part's em-meta exited 0 with a complete part record.
parts_complete() {
	_i=1 _bad=""
	while [ "$_i" -le "$1" ]; do
		[ "$(cat "$2.$_i.rc")" = 0 ] && [ "$(field "$2.$_i.rec" 'r["status"], r["part"]["index"]')" = "complete $_i" ] ||
			_bad="$_bad $_i"
		_i=$((_i + 1))
	done
	if [ -z "$_bad" ]; then ok "$3"; else
		fail "$3: parts$_bad"
		for _j in $_bad; do sed "s/^/#   part $_j: /" "$2.$_j.ferr" "$2.$_j.err" | head -n 8; done
	fi
}
# merged NAME N WHOLE STORE DESC [SKIP]: em-downsample over the parts' store, em-meta --merge
# of the N part records; the record (but SKIP) and the store are the whole run's, the sha256
# hashlib's.
merged() {
	em-downsample $CONF -q "$4" || fail "$5: em-downsample"
	_i=1 _recs=""
	while [ "$_i" -le "$2" ]; do _recs="$_recs $1.$_i.rec"; _i=$((_i + 1)); done
	run em-meta --merge -q $_recs
	expect_rc 0 "$5: em-meta --merge of the $2 part records"
	cp "$SCRATCH/out" "$1.merged"
	same_record "$3" "$1.merged" "$5: the merged record is the whole run's (sha256, statistics, levels, sizes)" "${6:-}"
	_want=$($PY -c 'import hashlib, sys, zarr
a = zarr.open(sys.argv[1], mode="r")["0"][...]
print(hashlib.sha256(a.astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest())' "$4")
	[ -n "$_want" ] && [ "$(field "$1.merged" 'r.get("sha256")')" = "$_want" ] && ok "$5: sha256 is hashlib.sha256(array.tobytes())" ||
		fail "$5: sha256 $(field "$1.merged" 'r.get("sha256")') is not $_want"
	_whole=$(field "$3" 'r["internal_zarr_path"]')
	if same_store "$_whole" "$4"; then ok "$5: the store is the whole run's, byte for byte"; else
		fail "$5: the stores '$_whole' and '$4' differ"; fi
}
# gets PATTERN: the GET requests in $ORIGIN_LOG whose path matches the extended regex.
gets() {
	log_settle
	awk -v p="$1" '$3 == "GET" && $4 ~ p' "$ORIGIN_LOG"
}

# ---- test data: an EMPIAR entry of 12 DM3 slices, an IDR image, precomputed volumes ----
W=$SCRATCH/www
D=$W/empiar/world_availability/11759/data
F=$W/pub/idr0086/processed
mkdir -p "$W/empiar/api/entry" "$D" "$W/webgateway/imgData" "$F" "$W/bucket"
genfile $((12 * 200 * 150)) raw 7
for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
	mkdm3 200 150 0.008 "$D/slice_$i.dm3" raw $((i * 200 * 150)) || fail "mkdm3"
done
cat >"$W/empiar/api/entry/EMPIAR-11759.json" <<'EOF'
{"EMPIAR-11759": {"title": "Developing retina in zebrafish 55 hpf larval eye",
 "experiment_type": "SBF-SEM", "entry_doi": "10.6019/EMPIAR-11759",
 "imagesets": [{"name": "Zebrafish retina", "directory": "/data", "category": "SBF-SEM",
   "image_width": 200, "image_height": 150, "num_images_or_tilt_series": 12,
   "voxel_type": "UNSIGNED BYTE", "data_format": "DM3"}]}}
EOF
$PY - "$F/img.tif" <<'EOF' || fail "tifffile"
import sys, numpy as np, tifffile
a = np.random.default_rng(42).integers(0, 256, (24, 256, 256), dtype=np.uint8)
a[:3] = 0
tifffile.imwrite(sys.argv[1], a, photometric="minisblack")
EOF
cat >"$W/webgateway/imgData/9846137.json" <<'EOF'
{"id": 9846137, "meta": {"imageName": "img.tif", "datasetName": "processed",
  "projectName": "idr0086-miron-micrographs/experimentD", "pixelsType": "uint8", "imageId": 9846137},
 "size": {"width": 256, "height": 256, "z": 24, "t": 1, "c": 1},
 "pixel_size": {"x": 0.02, "y": 0.02, "z": 0.02}, "channels": [{"label": "0"}]}
EOF
$PY "$TOP/t/precomputed.py" make "$W/bucket" || fail "precomputed test volumes"
TIFSIZE=$(wc -c <"$F/img.tif")

# overlay NAME BASEURL: a configuration overlay for both archives at that origin, with its
# own cache directory cache-NAME.
overlay() {
	cat >"$1.yaml" <<EOF
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
    file_glob: "slice_*.dm3"
    expected_files: 12
  idr:
    base_url: $2
    webgateway_url: ${2}webgateway/imgData/9846137/
    file_url: ${2}pub/idr0086/processed/img.tif
EOF
}

# Whole runs, against an origin of their own.
start_origin whole --root "$W"
overlay whole "$ORIGIN_URL"
EOPTS="--chunks 4,32,32 --compressor zlib --level 1 -j 2"
IOPTS="--chunks 8,64,64 --compressor zstd --level 1 -j 2"
EM_CONFIG_OVERLAY=$SCRATCH/whole.yaml fetch-empiar $CONF -q -o we $EOPTS | em-meta -q >we.rec
EM_CONFIG_OVERLAY=$SCRATCH/whole.yaml fetch-idr $CONF -q -o wi $IOPTS | em-meta -q >wi.rec
[ "$(field we.rec 'r["status"], r["volume_shape"]') $(field wi.rec 'r["status"], r["volume_shape"]')" = \
	"complete [12, 150, 200] complete [24, 256, 256]" ] && ok "whole runs of fetch-empiar and fetch-idr" ||
	fail "whole runs: $(head -c 300 we.rec) $(head -c 300 wi.rec)"

# 1. fetch-empiar, 4 parts at once: the 12 slices (served slowly, so that the parts overlap)
# are each downloaded once, shared out among the parts.
start_origin empiar --root "$W" --fault 'path=*.dm3,rate=100K'
overlay empiar "$ORIGIN_URL"
EM_CONFIG_OVERLAY=$SCRATCH/empiar.yaml parts 4 e fetch-empiar $CONF -v -o se $EOPTS
parts_complete 4 e "fetch-empiar, 4 parts at once: complete part records"
n=$(gets '\.dm3$' | wc -l)
d=$(gets '\.dm3$' | awk '{print $4}' | sort -u | wc -l)
[ "$n $d" = "12 12" ] && ok "fetch-empiar, 4 parts: each of the 12 slices served once" ||
	fail "fetch-empiar, 4 parts: $n GETs of $d slices: $(gets '\.dm3$' | awk '{print $4}' | sort | uniq -c | sort -rn | head -n 3)"
# Every slice was downloaded by one part; the parts found the others' in the cache.
dl=$(cat e.[1-4].ferr | grep -c "^fetch-empiar: downloading '.*slice_[0-9]*\.dm3'")
[ "$dl" = 12 ] && ok "fetch-empiar, 4 parts: 12 downloads in all (-v says which part made each)" ||
	fail "fetch-empiar, 4 parts: $dl downloads said"
merged e 4 we.rec se/EMPIAR-11759.zarr "fetch-empiar, 4 parts"
[ ! -e cache-empiar/empiar/EMPIAR-11759 ] && [ ! -e cache-empiar/empiar/EMPIAR-11759.lock ] &&
	ok "fetch-empiar, 4 parts: the last part to finish removed the downloads and their locks" ||
	fail "fetch-empiar, 4 parts: left in the cache: $(find cache-empiar | head -n 5)"

# 2. fetch-idr, 3 parts at once: one file, downloaded by one part while the others wait.
start_origin idr --root "$W" --fault 'path=*.tif,rate=1M'
overlay idr "$ORIGIN_URL"
EM_CONFIG_OVERLAY=$SCRATCH/idr.yaml parts 3 i fetch-idr $CONF -v -o si $IOPTS
parts_complete 3 i "fetch-idr, 3 parts at once: complete part records"
[ "$(gets 'img\.tif$' | wc -l)" = 1 ] && ok "fetch-idr, 3 parts: the file was served once, not 3 times" ||
	fail "fetch-idr, 3 parts: $(gets 'img\.tif$' | wc -l) GETs of the file"
dl=$(cat i.[1-3].ferr | grep -c "^fetch-idr: downloading ")
waited=$(cat i.[1-3].ferr | grep -c "img\.tif' is being written by another process (.*); waiting")
cached=$(cat i.[1-3].ferr | grep -c "img\.tif' is in the cache whole: not downloaded again")
# A part started after the download ended finds it whole without waiting.
[ "$dl" = 1 ] && [ "$waited" -ge 1 ] && [ "$cached" = 2 ] &&
	ok "fetch-idr, 3 parts: one downloaded; the others said (at -v) they waited and read the cached file" ||
	fail "fetch-idr, 3 parts: $dl downloads, $waited waits, $cached read from the cache"
merged i 3 wi.rec si/9846137.zarr "fetch-idr, 3 parts"
[ ! -e cache-idr/idr/9846137 ] && ok "fetch-idr, 3 parts: the downloads are removed" ||
	fail "fetch-idr, 3 parts: left in the cache: $(find cache-idr | head -n 5)"

# 3. fetch-idr, 3 parts at once, the downloading part killed mid-file: a waiting part takes
# the download over and resumes the .part by range; the killed part's re-run reads the
# cached file, and the result is the whole run's.
start_origin slow --root "$W" --fault 'path=*.tif,rate=400K'
overlay slow "$ORIGIN_URL"
for i in 1 2 3; do
	EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml fetch-idr $CONF -v -o sk $IOPTS --part "$i/3" \
		>"k.$i.stub" 2>"k.$i.ferr" &
	echo $! >"k.$i.pid"
done
C=cache-slow/idr/9846137
wait_for "[ \"\$(wc -c <'$C/img.tif.part')\" -ge 150000 ]" || fail "no download under way"
holder=$(head -c 128 "$C/img.tif.lock" | awk '{print $2}')
killed=""
for i in 1 2 3; do [ "$(cat "k.$i.pid")" = "$holder" ] && killed=$i; done
if [ -z "$killed" ]; then
	fail "the lock names pid '$holder', none of the parts"
	killed=1
fi
kill -KILL "$holder"
[ -s "$C/img.tif.part" ] && ok "the part killed while downloading (part $killed) leaves its .part" ||
	fail "no .part after the kill"
for i in 1 2 3; do
	wait "$(cat "k.$i.pid")"
	echo $? >"k.$i.frc"
done
others=""
for i in 1 2 3; do [ "$i" != "$killed" ] && others="$others $i"; done
bad=""
for i in $others; do [ "$(cat "k.$i.frc")" = 0 ] || bad="$bad $i"; done
[ -z "$bad" ] && ok "the other parts finish" || fail "parts$bad failed: $(head -n 5 "k.${bad# }.ferr")"
ORIGIN_LOG=$SCRATCH/slow.log
[ "$(gets 'img\.tif$' | wc -l)" = 2 ] && ok "two requests for the file: the killed one and the resumed one" ||
	fail "requests for the file: $(gets 'img\.tif$')"
r=$(gets 'img\.tif$' | awk '$5 ~ /^bytes=[1-9][0-9]*-$/ && $6 == 206 {sub(/^bytes=/, "", $5); sub(/-$/, "", $5); print $5 + $7}')
[ "$r" = "$TIFSIZE" ] && ok "the download resumed where the killed part stopped (the range and its bytes make the file)" ||
	fail "no resumed range request adding up to $TIFSIZE bytes: $(gets 'img\.tif$')"
grep -q "resuming '.*img\.tif' at byte [1-9]" k.*.ferr && ok "a waiting part says it resumes the download (-v)" ||
	fail "no part said it resumed: $(cat k.*.ferr | head -n 10)"
[ -s "$C/img.tif" ] && ok "the download stays while the killed part has not finished" ||
	fail "the download was removed before every part finished"
EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml run fetch-idr $CONF -v -o sk $IOPTS --part "$killed/3"
expect_rc 0 "the killed part run again"
cp "$SCRATCH/out" "k.$killed.stub"
expect_grep "img\.tif' is in the cache whole: not downloaded again" "$SCRATCH/err" "it reads the cached download"
[ "$(gets 'img\.tif$' | wc -l)" = 2 ] && ok "and fetches nothing more" ||
	fail "the re-run fetched the file again: $(gets 'img\.tif$' | wc -l) requests"
[ ! -e "$C" ] && ok "the last part to finish removed the downloads" || fail "left: $(ls "$C")"
for i in 1 2 3; do
	em-meta -q <"k.$i.stub" >"k.$i.rec" 2>"k.$i.err"
	echo $? >"k.$i.rc"
done
parts_complete 3 k "after the kill: complete part records"
merged k 3 wi.rec sk/9846137.zarr "fetch-idr, a part killed mid-download"

# 4. A part waiting for another's download is stopped by SIGTERM: it ends the wait, exit 143,
# its record cancelled; the download goes on.
start_origin slow2 --root "$W" --fault 'path=*.tif,rate=300K'
overlay slow2 "$ORIGIN_URL"
EM_CONFIG_OVERLAY=$SCRATCH/slow2.yaml fetch-idr $CONF -q -o sw $IOPTS --part 1/2 >w.1.stub 2>w.1.ferr &
p1=$!
wait_for "[ -s cache-slow2/idr/9846137/img.tif.part ]" || fail "part 1 did not start downloading"
EM_CONFIG_OVERLAY=$SCRATCH/slow2.yaml fetch-idr $CONF -v -o sw $IOPTS --part 2/2 >w.2.stub 2>w.2.ferr &
p2=$!
wait_for "grep -q 'img.tif. is being written by another process.*waiting' w.2.ferr" ||
	fail "part 2 did not say it waits: $(cat w.2.ferr)"
kill -TERM "$p2"
wait "$p2"
RC=$?
[ "$RC" = 143 ] && ok "SIGTERM ends a part's wait: exit 143" || fail "SIGTERM while waiting: exit $RC"
[ "$(jget sw/9846137.part-2-of-2.json 'r["status"], r["part"]["index"]')" = "('cancelled', 2)" ] &&
	[ "$(field w.2.stub 'r["status"]')" = cancelled ] && ok "its part record says cancelled, and so does its stub" ||
	fail "part 2's record: $(jget sw/9846137.part-2-of-2.json 'r["status"], r.get("error")')"
kill -0 "$p1" 2>/dev/null && [ -s cache-slow2/idr/9846137/img.tif.part ] &&
	ok "the download goes on in the other part" || fail "part 1's download stopped"
kill -TERM "$p1"
wait "$p1"

# 5. fetch-epfl over FTP (pyftpdlib on loopback, served slowly), 3 parts at once: the file is
# retrieved once, and the merge is the whole run's.
# start_ftp NAME [RATE]: an FTP server on $W; FTP_URL, and every command it was sent in NAME.log.
start_ftp() {
	$PY "$TOP/t/ftpserver.py" "$W" "$1.port" "$1.log" ${2:+"$2"} 2>"$1.err" &
	FTP_PIDS="$FTP_PIDS $!"
	wait_for "[ -s '$1.port' ]" || { fail "no FTP server: $(cat "$1.err")"; return 1; }
	FTP_URL=ftp://127.0.0.1:$(cat "$1.port")/
}
if $PY -c 'import pyftpdlib' 2>/dev/null; then
	start_ftp ftpwhole
	T=pub/idr0086/processed/img.tif
	printf 'global:\n  cache_dir: %s/cache-ftpwhole\n' "$SCRATCH" >ftpwhole.yaml
	EM_CONFIG_OVERLAY=$SCRATCH/ftpwhole.yaml fetch-epfl $CONF -q -o fw $IOPTS --url "$FTP_URL$T" |
		em-meta -q >fw.rec
	start_ftp ftp 500000
	printf 'global:\n  cache_dir: %s/cache-ftp\n' "$SCRATCH" >ftp.yaml
	EM_CONFIG_OVERLAY=$SCRATCH/ftp.yaml parts 3 f fetch-epfl $CONF -v -o fs $IOPTS --url "$FTP_URL$T"
	parts_complete 3 f "fetch-epfl over FTP, 3 parts at once: complete part records"
	n=$(grep -c '<- RETR .*img\.tif' ftp.log)
	[ "$n" = 1 ] && ok "fetch-epfl over FTP, 3 parts: the file was retrieved once" ||
		fail "fetch-epfl over FTP, 3 parts: $n RETR of the file"
	merged f 3 fw.rec fs/img.zarr "fetch-epfl over FTP, 3 parts"
	for p in $FTP_PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	FTP_PIDS=""
else
	echo "# fetch-epfl over FTP: skipped (python3-pyftpdlib is not installed)"
fi

# 6. fetch-precomputed, 3 parts at once: a sharded uint16 volume (shards read by range) and
# an unsharded uint8 one with a missing chunk.
start_origin pc --root "$W"
for v in u16shard u8raw; do
	POPTS="$CONF -q --chunks 4,16,16 --compressor zstd -j 2"
	fetch-precomputed $POPTS -o "w$v" "${ORIGIN_URL}bucket/$v" | em-meta -q >"w$v.rec"
	[ "$(field "w$v.rec" 'r["status"]')" = complete ] && ok "fetch-precomputed $v: a whole run" ||
		fail "fetch-precomputed $v: whole run $(head -c 300 "w$v.rec")"
	parts 3 "$v" fetch-precomputed $POPTS -o "s$v" "${ORIGIN_URL}bucket/$v"
	parts_complete 3 "$v" "fetch-precomputed $v, 3 parts at once: complete part records"
	# u8raw lacks a chunk: a part whose chunks it touches notes it in the store's log of
	# missing source blocks (0.missing) unless the log already had it when the part started,
	# so the size on disk may be a line longer than one run's.
	skip=""
	[ "$v" = u8raw ] && skip=file_size_bytes
	merged "$v" 3 "w$v.rec" "$(ls -d "s$v"/*.zarr)" "fetch-precomputed $v, 3 parts" "$skip"
done
[ "$(cat su8raw/*.zarr/0.missing.* | sort -u)" = "m 1 0 1" ] &&
	ok "fetch-precomputed u8raw: the missing chunk (1,0,1) is in the parts' logs" ||
	fail "the logs of missing blocks: $(cat su8raw/*.zarr/0.missing.*)"
# Each part appends to a log of its own (appends of two nodes to one file on NFS may
# overwrite each other); a whole run keeps 0.missing.
[ ! -e "$(ls -d su8raw/*.zarr)/0.missing" ] && [ -e "$(ls -d wu8raw/*.zarr)/0.missing" ] &&
	ok "parts write 0.missing.K, a whole run 0.missing" ||
	fail "logs: $(ls su8raw/*.zarr wu8raw/*.zarr | grep missing | tr '\n' ' ')"
# A whole run over the parts' store finds every chunk there and still counts the missing
# one from the parts' logs.
fetch-precomputed $CONF -q --chunks 4,16,16 --compressor zstd -j 2 -o su8raw \
	"${ORIGIN_URL}bucket/u8raw" >again.rec 2>again.err
[ "$(field again.rec 'r["missing_chunks"]')" = 1 ] &&
	ok "a whole run over the parts' store counts the missing chunk from their logs" ||
	fail "whole run over the parts: $(head -c 300 again.rec) $(head -n 2 again.err)"

done_testing
