# http-trust.sh - the transport does not trust the server: a resumed download of a changed
# file starts over (If-Range), every attempt counts, bodies are bounded, JSON replies cut
# short are fetched again.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

command -v curl >/dev/null || skip "no curl"
W=$SCRATCH/www
UUID=5a7e0c1d2b3a4f5e6d7c8b9a0f1e2d3c
mkdir -p "$W"
genfile 2M "$W/v.bin" 1
genfile 2M "$W/new.bin" 2
cp "$W/v.bin" "$W/lm.bin"
touch -d '2026-01-01 00:00:00' "$W/v.bin" "$W/lm.bin"
start_origin o --root "$W" \
	--fault 'path=/v.bin,first=1,drop=700K' \
	--fault 'path=/lm.bin,first=1,drop=700K' \
	--fault 'path=/lm.bin,noetag=1'
U=$ORIGIN_URL

# em-origin itself: If-Range by ETag and by date (RFC 9110 13.1.5).
etag=$(curl -s -I "${U}new.bin" | tr -d '\r' | sed -n 's/^ETag: //p')
lm=$(curl -s -I "${U}new.bin" | tr -d '\r' | sed -n 's/^Last-Modified: //p')
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=10-' -H "If-Range: $etag" "${U}new.bin")
[ "$code" = 206 ] && ok "em-origin: If-Range with the current ETag gives the range" || fail "got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=10-' -H 'If-Range: "other"' "${U}new.bin")
[ "$code" = 200 ] && ok "em-origin: another ETag gives the whole file" || fail "got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=10-' -H "If-Range: W/$etag" "${U}new.bin")
[ "$code" = 200 ] && ok "em-origin: a weak ETag never matches" || fail "got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=10-' -H "If-Range: $lm" "${U}new.bin")
[ "$code" = 206 ] && ok "em-origin: If-Range with the Last-Modified date gives the range" || fail "got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=10-' \
	-H 'If-Range: Thu, 01 Jan 2004 00:00:00 GMT' "${U}new.bin")
[ "$code" = 200 ] && ok "em-origin: another date gives the whole file" || fail "got $code"

# 1. The download breaks at 700K (as a killed one would) and leaves a .part with the
# validator it came with; the file then changes on the server (same size, new time).
# The resume sends If-Range, gets 200 with the new file, and starts over from byte 0.
for f in v lm; do
	run httpget --attempts 1 download "${U}$f.bin" "$SCRATCH/$f.bin"
	expect_rc 1 "$f: the first download breaks"
	have=$(stat -c %s "$SCRATCH/$f.bin.part" 2>/dev/null || echo 0)
	[ "$have" -gt 0 ] && ok "$f: $have bytes kept in the .part" || fail "$f: no .part"
	[ -e "$SCRATCH/$f.bin.part.validator" ] && ok "$f: the validator is kept beside it" ||
		fail "$f: no validator file"
done
expect_grep '^"' "$SCRATCH/v.bin.part.validator" "v: the validator is the ETag"
expect_grep 'GMT$' "$SCRATCH/lm.bin.part.validator" "lm: without an ETag it is the Last-Modified date"
cp "$W/new.bin" "$W/v.bin"
cp "$W/new.bin" "$W/lm.bin"
touch -d '2026-02-01 00:00:00' "$W/v.bin" "$W/lm.bin"
for f in v lm; do
	run httpget download "${U}$f.bin" "$SCRATCH/$f.bin"
	expect_rc 0 "$f: the resumed download of the changed file succeeds"
	expect_grep "resumed_from=[1-9][0-9]* requests=1 restarted=1" "$SCRATCH/out" \
		"$f: it asked for the rest and got the whole new file"
	expect_same "$W/new.bin" "$SCRATCH/$f.bin" "$f: the file is the new one, byte for byte"
	[ ! -e "$SCRATCH/$f.bin.part.validator" ] && ok "$f: no validator left" || fail "$f: validator left"
	log_settle
	n=$(awk -v p="/$f.bin" '$4 == p && $5 ~ /^bytes=/ && $6 == 200' "$ORIGIN_LOG" | wc -l)
	[ "$n" -eq 1 ] && ok "$f: the range request was answered 200 (If-Range did not hold)" ||
		fail "$f: $n range requests answered 200"
done

# 2. An unchanged file resumes with 206.
stop_origin "$ORIGIN_PID"
rm -f "$SCRATCH"/*.bin*
start_origin same --root "$W" --fault 'path=/new.bin,first=1,drop=700K'
U=$ORIGIN_URL
run httpget --attempts 1 download "${U}new.bin" "$SCRATCH/s.bin"
expect_rc 1 "the first download breaks"
run httpget download "${U}new.bin" "$SCRATCH/s.bin"
expect_rc 0 "the resume of an unchanged file succeeds"
expect_grep "resumed_from=[1-9][0-9]* requests=1 restarted=0" "$SCRATCH/out" "with the rest only"
expect_same "$W/new.bin" "$SCRATCH/s.bin" "byte for byte"
[ "$(log_count ' GET /new.bin bytes=[0-9]+- 206 ')" -eq 1 ] && ok "one 206 answer" || fail "no 206"
# A .part without a validator (an older version's) is not trusted: it starts over.
head -c 5000 "$W/v.bin" >"$SCRATCH/t.bin.part"
run httpget download "${U}new.bin" "$SCRATCH/t.bin"
expect_rc 0 "a .part without a validator"
expect_grep "resumed_from=0 " "$SCRATCH/out" "is not resumed"
expect_same "$W/new.bin" "$SCRATCH/t.bin" "and the file is right"
stop_origin "$ORIGIN_PID"

# 3. A server that ignores Range and drops every reply at 300K: each attempt counts, also
# those that brought bytes and those answered 200 to a range; it gives up after --attempts.
genfile 1M "$W/nr.bin" 3
start_origin norange --root "$W" --fault 'path=/nr.bin,norange=1,drop=300K'
U=$ORIGIN_URL
run httpget -v --backoff-ms 10 --attempts 4 download "${U}nr.bin" "$SCRATCH/nr.bin"
expect_rc 1 "a server that never sends the whole file: failure"
expect_grep "GET '${U}nr.bin': .* after 4 attempts" "$SCRATCH/err" "after the attempts, naming the URL"
[ "$(log_count ' GET /nr.bin ')" -eq 4 ] && ok "exactly 4 requests" ||
	fail "$(log_count ' GET /nr.bin ') requests, expected 4"
[ "$(log_count ' GET /nr.bin bytes=[0-9]+- 200 ')" -eq 3 ] && ok "3 of them ranges answered 200" ||
	fail "range requests answered 200: $(log_count ' GET /nr.bin bytes=[0-9]+- 200 ')"
expect_nogrep "retrying in 0.000 s" "$SCRATCH/err" "never a retry without a wait"
expect_grep "attempt 3 of 4 failed, retrying in 0.0[1-9]" "$SCRATCH/err" "the waits grow"
# A backoff of 0 is raised to the least wait.
run httpget -v --backoff-ms 0 --attempts 2 download "${U}nr.bin" "$SCRATCH/nr.bin"
expect_grep "retrying in 0.010 s" "$SCRATCH/err" "backoff 0 still waits the least wait (10 ms)"
expect_nogrep "retrying in 0.000 s" "$SCRATCH/err" "and not 0"
stop_origin "$ORIGIN_PID"

# 4. Bounded downloads: an endless body, and an announced length of 2^40.
start_origin long --root "$W" --fault 'path=/endless.bin,endless=1' \
	--fault 'path=/huge.bin,length=1099511627776'
U=$ORIGIN_URL
genfile 100000 "$W/endless.bin" 4
cp "$W/endless.bin" "$W/huge.bin"
run httpget --max-download 1M download "${U}endless.bin" "$SCRATCH/e.bin"
expect_rc 1 "an endless body stops"
expect_grep "GET '${U}endless.bin': the body goes on past the download limit (--max-download) (1048576 bytes)" \
	"$SCRATCH/err" "the error names the URL, the limit and its size"
[ ! -e "$SCRATCH/e.bin" ] && [ ! -e "$SCRATCH/e.bin.part" ] && ok "nothing is kept" || fail "a file is left"
run httpget --size 100000 download "${U}endless.bin" "$SCRATCH/e.bin"
expect_rc 1 "an endless body with an expected size stops"
expect_grep "the body goes on past the expected size (100000 bytes)" "$SCRATCH/err" "at the expected size"
[ "$(log_count ' GET /endless.bin - 200 ')" -eq 2 ] && ok "neither is retried" || fail "retried"
run httpget download "${U}huge.bin" "$SCRATCH/h.bin"
expect_rc 1 "a Content-Length of 2^40 is refused"
expect_grep "the server announces 1099511627776 bytes, more than the download limit (--max-download) (274877906944 bytes)" \
	"$SCRATCH/err" "with both sizes, against the default limit"
[ ! -e "$SCRATCH/h.bin.part" ] && ok "no .part left" || fail ".part left"
run httpget --size 5000 download "${U}endless.bin" "$SCRATCH/e.bin"
expect_grep "the server announces\|goes on past the expected size (5000 bytes)" "$SCRATCH/err" \
	"a body longer than the expected size stops there"
stop_origin "$ORIGIN_PID"

# 5. A JSON reply cut short (its Content-Length as short as the body) is fetched again,
# as a dropped one is; one that is always short fails after the attempts.
printf '{"zarr_format": 2, "shape": [4, 4, 4], "chunks": [2, 2, 2], "dtype": "|u1"}\n' >"$W/a.json"
cp "$W/a.json" "$W/b.json"
printf '[1, 2, {"a": "}"}]\n' >"$W/c.json"
start_origin short --root "$W" --fault 'path=/a.json,first=1,short=20' \
	--fault 'path=/b.json,short=20' --fault 'path=/c.json,first=1,short=4'
U=$ORIGIN_URL
run httpget --backoff-ms 10 get "${U}a.json"
expect_rc 0 "a JSON reply cut short once: success"
expect_same "$W/a.json" "$SCRATCH/out" "the whole text"
[ "$(log_count ' GET /a.json ')" -eq 2 ] && ok "2 requests" || fail "$(log_count ' GET /a.json ') requests"
run httpget --backoff-ms 10 get "${U}c.json"
expect_same "$W/c.json" "$SCRATCH/out" "brackets inside strings do not count"
run httpget -v --backoff-ms 10 --attempts 3 get "${U}b.json"
expect_rc 0 "a JSON reply always cut short is handed over after the attempts"
[ "$(wc -c <"$SCRATCH/out")" -eq 56 ] && ok "as the server sends it, for the parser to judge" ||
	fail "$(wc -c <"$SCRATCH/out") bytes"
expect_grep "GET '${U}b.json': the JSON text ends early (56 bytes); attempt 2 of 3 failed" \
	"$SCRATCH/err" "the retries name the URL and the length"
[ "$(log_count ' GET /b.json ')" -eq 3 ] && ok "3 requests" || fail "$(log_count ' GET /b.json ') requests"
stop_origin "$ORIGIN_PID"

# 6. A download served short as if whole (its Content-Length as short as the body) cannot
# be decoded: it leaves the cache, and the next run fetches it again and succeeds.
if /usr/bin/python3 -c 'import numpy, tifffile' 2>/dev/null; then
	/usr/bin/python3 -c 'import sys, numpy as np, tifffile
tifffile.imwrite(sys.argv[1], np.random.default_rng(5).integers(0, 256, (8, 64, 64), dtype=np.uint8), photometric="minisblack")' \
		"$W/stack.tif"
	printf 'global:\n  cache_dir: %s/cache\n  http:\n    backoff_initial_ms: 10\n' "$SCRATCH" >"$SCRATCH/c.yaml"
	start_origin trunc --root "$W" --fault 'path=/stack.tif,first=1,short=9000'
	EM_CONFIG_OVERLAY=$SCRATCH/c.yaml run fetch-epfl --url "${ORIGIN_URL}stack.tif" --id t \
		-o "$SCRATCH/d" -q
	expect_rc 1 "a TIFF cut short fails to decode"
	[ ! -e "$SCRATCH/cache/epfl/t/stack.tif" ] && ok "and is not kept in the cache" ||
		fail "the short download stays in the cache"
	EM_CONFIG_OVERLAY=$SCRATCH/c.yaml run fetch-epfl --url "${ORIGIN_URL}stack.tif" --id t \
		-o "$SCRATCH/d" -q
	expect_rc 0 "the next run downloads it again and succeeds"
	[ "$(log_count ' GET /stack.tif ')" -eq 2 ] && ok "one request each" ||
		fail "$(log_count ' GET /stack.tif ') requests"
	stop_origin "$ORIGIN_PID"
fi

# 7. The fetchers' metadata: a .zarray and a DVID /info cut short once are fetched again.
mkdir -p "$W/b/a.zarr" "$W/api/node/$UUID/grayscale"
printf '{"zarr_format": 2, "shape": [2, 2, 2], "chunks": [2, 2, 2], "dtype": "|u1", "compressor": null, "fill_value": 0, "order": "C", "filters": null}\n' \
	>"$W/b/a.zarr/.zarray"
printf 'ABCDEFGH' >"$W/b/a.zarr/0.0.0"
genfile 8000 "$W/api/node/$UUID/grayscale/volume.u8" 6
cat >"$W/api/node/$UUID/grayscale/info.json" <<'JSON'
{"Base": {"TypeName": "uint8blk", "Name": "grayscale", "RepoUUID": "5a7e0c1d2b3a4f5e6d7c8b9a0f1e2d3c"},
 "Extended": {"Values": [{"DataType": "uint8", "Label": "uint8"}], "BlockSize": [32, 32, 32],
  "VoxelSize": [8, 8, 8], "VoxelUnits": ["nanometers", "nanometers", "nanometers"],
  "MinPoint": [0, 0, 0], "MaxPoint": [19, 19, 19]}}
JSON
printf 'global:\n  http:\n    backoff_initial_ms: 10\n' >"$SCRATCH/q.yaml"
start_origin meta --root "$W" --fault 'path=*/.zarray,first=1,short=30' \
	--fault 'path=*/grayscale/info,first=1,short=30'
EM_CONFIG_OVERLAY=$SCRATCH/q.yaml run fetch-zarr -q -o "$SCRATCH/z" "${ORIGIN_URL}b/a.zarr"
expect_rc 0 "fetch-zarr: a .zarray cut short once is fetched again"
[ "$(log_count ' GET /b/a.zarr/.zarray - 200 ')" -eq 2 ] && ok "fetch-zarr: 2 requests for it" ||
	fail "$(log_count ' GET /b/a.zarr/.zarray ') requests for .zarray"
EM_CONFIG_OVERLAY=$SCRATCH/q.yaml run fetch-dvid -q --server "$ORIGIN_URL" --uuid $UUID \
	--offset 0,0,0 --size 20,20,20 -o "$SCRATCH/dv"
expect_rc 0 "fetch-dvid: an /info cut short once is fetched again"
[ "$(log_count ' GET /api/node/[0-9a-f]+/grayscale/info - 200 ')" -eq 2 ] &&
	ok "fetch-dvid: 2 requests for it" || fail "$(log_count '/grayscale/info ') requests for /info"
stop_origin "$ORIGIN_PID"

rm -rf "$W" "$SCRATCH"/*.bin*
done_testing
