#!/bin/sh
# ftp.sh - ftp:// (and file://) as the archives' other route: an anonymous FTP server on
# loopback (pyftpdlib) lists and serves files; downloads are byte-exact, a killed one resumes
# with REST, a .part left whole or longer than the file is handled, a missing file is missing;
# fetch-empiar lists an entry's data over FTP and makes the same store as over file://.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/filefetch.sh"
PY=/usr/bin/python3
$PY -c 'import pyftpdlib, zarr, numpy' 2>/dev/null ||
	skip "python3-pyftpdlib, python3-zarr and python3-numpy are needed (make deps)"

FTP_PIDS=""
ftp_cleanup() {
	for p in $FTP_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	t_cleanup
}
trap ftp_cleanup EXIT

# start_ftp NAME [RATE]: an FTP server on $SCRATCH/ftp; sets FTP_URL (ending in '/'), FTP_PID
# and FTP_LOG (every command it was sent).
start_ftp() {
	rm -f "$SCRATCH/$1.port"
	$PY "$TOP/t/ftpserver.py" "$SCRATCH/ftp" "$SCRATCH/$1.port" "$SCRATCH/$1.log" ${2:+"$2"} \
		2>"$SCRATCH/$1.err" &
	FTP_PID=$!
	FTP_PIDS="$FTP_PIDS $FTP_PID"
	FTP_LOG=$SCRATCH/$1.log
	wait_for "[ -s '$SCRATCH/$1.port' ]" || { cat "$SCRATCH/$1.err" >&2; fail "no FTP server"; exit 1; }
	FTP_URL=ftp://127.0.0.1:$(cat "$SCRATCH/$1.port")/
}

F=$SCRATCH/ftp
D=$F/empiar/world_availability/11759/data
mkdir -p "$D/trakem2" "$SCRATCH/api"
genfile 24M "$F/big.bin" 5 || fail "genfile"
start_ftp plain
PLAIN=$FTP_URL
PLAIN_LOG=$FTP_LOG

# 1. A listing and a whole download.
run httpget list "${PLAIN}"
expect_rc 0 "an FTP LIST of the top directory"
expect_grep "^file 25165824 exact big.bin$" "$SCRATCH/out" "the file with its exact size"
expect_grep "^dir -1 none empiar$" "$SCRATCH/out" "and the directory"
run httpget download "${PLAIN}big.bin" "$SCRATCH/a.bin"
expect_rc 0 "an FTP download"
expect_same "$F/big.bin" "$SCRATCH/a.bin" "byte-exact"
run httpget download "${PLAIN}nope.bin" "$SCRATCH/n.bin"
expect_rc 4 "a file the server does not have is missing (exit 4), not an error"
[ ! -e "$SCRATCH/n.bin" ] && [ ! -e "$SCRATCH/n.bin.part" ] && ok "and leaves nothing" ||
	fail "files left for a missing download"

# 2. Killed mid-way on a slow server; a new process resumes with REST.
start_ftp slow 4000000
httpget download "${FTP_URL}big.bin" "$SCRATCH/b.bin" >/dev/null 2>&1 &
pid=$!
wait_for "[ \$(stat -c %s '$SCRATCH/b.bin.part' 2>/dev/null || echo 0) -ge 4000000 ]" ||
	fail "the slow download did not start"
kill -9 $pid
wait $pid 2>/dev/null
have=$(stat -c %s "$SCRATCH/b.bin.part" 2>/dev/null || echo 0)
[ "$have" -gt 0 ] && [ "$have" -lt 25165824 ] && ok "killed with $have bytes in the .part" ||
	fail "the download was not killed mid-way ($have bytes)"
run httpget download "${PLAIN}big.bin" "$SCRATCH/b.bin"
expect_rc 0 "a new process finishes it"
expect_grep "resumed_from=$have requests=1 restarted=0" "$SCRATCH/out" "from where the .part ended"
expect_grep "<- REST $have\$" "$PLAIN_LOG" "asking the server to restart there"
expect_same "$F/big.bin" "$SCRATCH/b.bin" "the resumed file is byte-exact"

# 3. A .part left whole (killed before its rename), and one longer than the file (another
#    file's), over ftp:// and file://: the first is taken as it is, the second made again.
for scheme in ftp file; do
	[ $scheme = ftp ] && url=${PLAIN}big.bin || url=file://$F/big.bin
	cp "$F/big.bin" "$SCRATCH/c.bin.part"
	run httpget download "$url" "$SCRATCH/c.bin"
	expect_rc 0 "$scheme://: a whole .part"
	expect_grep "size=25165824 resumed_from=25165824 requests=1" "$SCRATCH/out" \
		"$scheme://: nothing more is fetched"
	expect_same "$F/big.bin" "$SCRATCH/c.bin" "$scheme://: the file is byte-exact"
	genfile 30M "$SCRATCH/d.bin.part" 9
	run httpget download "$url" "$SCRATCH/d.bin"
	expect_rc 0 "$scheme://: a .part longer than the file"
	expect_grep "resumed_from=31457280 requests=2 restarted=1" "$SCRATCH/out" \
		"$scheme://: it is fetched again from the start"
	expect_same "$F/big.bin" "$SCRATCH/d.bin" "$scheme://: the file is byte-exact"
	rm -f "$SCRATCH/c.bin" "$SCRATCH/d.bin"
done

# 4. fetch-empiar with the entry's data over FTP: the listing (a directory skipped, a file the
#    glob does not match) and the slices, into the same store as from the same tree by file://.
W_=64
H_=48
genfile $((5 * W_ * H_)) "$SCRATCH/raw" 3
for i in 0 1 2 3 4 10; do
	mkdm3 $W_ $H_ 0.008 "$D/slice_$i.dm3" "$SCRATCH/raw" $(((i % 5) * W_ * H_)) || fail "mkdm3"
done
mkdm3 8 8 0.008 "$D/trakem2/slice_99.dm3"
echo notes >"$D/README.txt"
cat >"$SCRATCH/api/entry.json" <<'EOF'
{"EMPIAR-11759": {"title": "Zebrafish retina", "experiment_type": "SBF-SEM",
 "imagesets": [{"name": "retina", "directory": "/data", "pixel_width": 80, "pixel_height": 80}]}}
EOF
overlay() { # NAME DATA-URL
	cat >"$SCRATCH/$1.yaml" <<EOF
global:
  cache_dir: $SCRATCH/cache-$1
  http:
    backoff_initial_ms: 20
sources:
  empiar:
    api_url: file://$SCRATCH/api/entry.json
    data_url: $2
    file_glob: "slice_*.dm3"
    expected_files: 6
EOF
}
overlay viaftp "${PLAIN}empiar/world_availability/11759/data/"
overlay viafile "file://$D/"
OPTS="--chunks 2,16,16 --compressor zlib --level 1 --jobs 2 -q"
EM_CONFIG_OVERLAY=$SCRATCH/viaftp.yaml run fetch-empiar -o "$SCRATCH/s-ftp" $OPTS
expect_rc 0 "fetch-empiar over ftp://"
R=$SCRATCH/s-ftp/EMPIAR-11759.json
[ "$(jget "$R" '[f["url"].rsplit("/",1)[1] for f in r["source_files"]]')" = \
	"['slice_0.dm3', 'slice_1.dm3', 'slice_2.dm3', 'slice_3.dm3', 'slice_4.dm3', 'slice_10.dm3']" ] &&
	ok "the FTP listing in natural order, the glob and skipped directory applied" ||
	fail "source_files $(jget "$R" '[f["url"] for f in r["source_files"]]')"
grep -q 'RETR .*trakem2\|RETR .*README' "$PLAIN_LOG" && fail "fetched what it should skip" ||
	ok "nothing else was fetched"
EM_CONFIG_OVERLAY=$SCRATCH/viafile.yaml run fetch-empiar -o "$SCRATCH/s-file" $OPTS
expect_rc 0 "the same entry over file://"
[ "$(zsum "$SCRATCH/s-ftp/EMPIAR-11759.zarr")" = "$(zsum "$SCRATCH/s-file/EMPIAR-11759.zarr")" ] &&
	ok "the same array both ways" || fail "the FTP store differs"
[ "$(zsum "$SCRATCH/s-ftp/EMPIAR-11759.zarr")" = "6,48,64 uint8 $($PY -c '
import hashlib, sys
r = open(sys.argv[1], "rb").read()
n = 64 * 48
print(hashlib.sha256(r + r[:n]).hexdigest())' "$SCRATCH/raw")" ] &&
	ok "slice 10 last, byte for byte" || fail "array $(zsum "$SCRATCH/s-ftp/EMPIAR-11759.zarr")"

rm -rf "$SCRATCH/ftp" "$SCRATCH"/*.bin "$SCRATCH"/*.part
done_testing
