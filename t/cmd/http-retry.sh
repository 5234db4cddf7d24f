# http-retry.sh - retries, Retry-After, bounded attempts, missing resources, checks and
# the other single-request calls of lib/net/http.h against em-origin's faults.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

W=$SCRATCH/www
mkdir -p "$W/sub"
genfile 100000 "$W/data.bin" 5
for f in r d bad s429 stall m; do cp "$W/data.bin" "$W/$f.bin"; done
start_origin o --root "$W" \
	--fault 'path=/r.bin,first=1,status=503,retry-after=2' \
	--fault 'path=/d.bin,first=1,status=503,retry-after=date:2' \
	--fault 'path=/bad.bin,status=500' \
	--fault 'path=/s429.bin,first=2,status=429' \
	--fault 'path=/stall.bin,first=1,rate=200' \
	--fault 'path=/m.bin,first=1,drop=5000' \
	--fault 'path=/short.bin,short=100'
U=$ORIGIN_URL
cp "$W/data.bin" "$W/short.bin"

# gap PATH: seconds between the end of the first request to PATH and the start of the second.
gap() { log_settle; awk -v p="$1" '$4 == p { n++; if (n == 1) e = $2; if (n == 2) s = $1 } END { printf "%.3f", s - e }' "$ORIGIN_LOG"; }

run httpget --backoff-ms 10 get "${U}r.bin"
expect_rc 0 "503 then 200: success"
cmp -s "$SCRATCH/out" "$W/data.bin" && ok "body after the retry is right" || fail "body differs"
g=$(gap /r.bin)
awk -v g="$g" 'BEGIN { exit !(g >= 1.95) }' && ok "Retry-After: 2 honoured (waited $g s)" ||
	fail "retried after $g s, Retry-After said 2"

run httpget --backoff-ms 10 get "${U}d.bin"
expect_rc 0 "503 with an HTTP-date Retry-After: success"
g=$(gap /d.bin)
awk -v g="$g" 'BEGIN { exit !(g >= 0.95) }' && ok "Retry-After date honoured (waited $g s)" ||
	fail "retried after $g s, Retry-After date was 2 s ahead"

run httpget --backoff-ms 10 --attempts 3 get "${U}bad.bin"
expect_rc 1 "a server that always fails: failure"
expect_grep "GET '${U}bad.bin': HTTP 500 Internal Server Error after 3 attempts" "$SCRATCH/err" \
	"the error names the URL, the status and the attempts"
[ "$(log_count ' /bad.bin - 500 ')" -eq 3 ] && ok "exactly 3 requests" ||
	fail "$(log_count ' /bad.bin ') requests, expected 3"

run httpget --backoff-ms 10 get "${U}s429.bin"
expect_rc 0 "429 twice, then success"
[ "$(log_count ' /s429.bin ')" -eq 3 ] && ok "3 requests for 429,429,200" || fail "wrong request count"

run httpget --backoff-ms 10 get "${U}nothere.bin"
expect_rc 4 "404 is reported as missing"
expect_grep "HTTP 404 Not Found" "$SCRATCH/err" "with its status"
[ "$(log_count ' /nothere.bin ')" -eq 1 ] && ok "404 is not retried" || fail "404 was retried"

run httpget --backoff-ms 10 --low-speed 1000,1 get "${U}stall.bin"
expect_rc 0 "a stalled transfer is abandoned and retried"
cmp -s "$SCRATCH/out" "$W/data.bin" && ok "body after the stall is right" || fail "body differs"
sleep 0.3	# the origin notices the abandoned request when it next sends
[ "$(log_count ' /stall.bin ')" -eq 2 ] && ok "2 requests for the stalled file" || fail "wrong count"

run httpget --backoff-ms 10 get "${U}m.bin"
expect_rc 0 "a body cut short in memory is fetched again"
cmp -s "$SCRATCH/out" "$W/data.bin" && ok "body after the drop is right" || fail "body differs"

run httpget --max 1000 get "${U}data.bin"
expect_rc 1 "a body over the cap fails"
expect_grep "response larger than 1000 bytes" "$SCRATCH/err" "and says so"

run httpget range "${U}data.bin" 1000 500
dd if="$W/data.bin" of="$SCRATCH/want" bs=1 skip=1000 count=500 2>/dev/null
expect_same "$SCRATCH/want" "$SCRATCH/out" "range GET returns the bytes asked for"
run httpget range "${U}data.bin" 99990 100
expect_rc 0 "a range over the end is cut at the end"
[ "$(wc -c <"$SCRATCH/out")" -eq 10 ] && ok "10 bytes at the end" || fail "wrong length"
run httpget range "${U}data.bin" 200000 10
expect_rc 1 "a range past the end fails"
expect_grep "HTTP 416" "$SCRATCH/err" "with 416"

run httpget head "${U}data.bin"
expect_grep "status=200 total=100000 etag=\"" "$SCRATCH/out" "HEAD gives the size and ETag"

# A well-formed response of the wrong length is caught by the expected size.
run httpget --size 100000 download "${U}short.bin" "$SCRATCH/short.bin"
expect_rc 1 "a short file fails the size check"
expect_grep "size 99900, expected 100000" "$SCRATCH/err" "the error gives both sizes"
[ ! -e "$SCRATCH/short.bin" ] && [ ! -e "$SCRATCH/short.bin.part" ] && ok "nothing is left" ||
	fail "a wrong file was kept"
run httpget --sha256 0000000000000000000000000000000000000000000000000000000000000000 \
	download "${U}data.bin" "$SCRATCH/x.bin"
expect_rc 1 "a checksum mismatch fails"
expect_grep "sha256 [0-9a-f]*, expected 0000" "$SCRATCH/err" "the error gives both checksums"
run httpget download "${U}nothere.bin" "$SCRATCH/y.bin"
expect_rc 4 "downloading a missing file is reported as missing"
[ ! -e "$SCRATCH/y.bin.part" ] && ok "no empty .part left" || fail "empty .part left"

# Two processes on one destination: the second is refused while the first holds the .part.
genfile 64M "$W/big.bin" 9
stop_origin "$ORIGIN_PID"
start_origin slow --root "$W" --fault rate=64M
httpget download "${ORIGIN_URL}big.bin" "$SCRATCH/big.bin" >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -s "$SCRATCH/big.bin.part" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
run httpget download "${ORIGIN_URL}big.bin" "$SCRATCH/big.bin"
expect_rc 1 "a second download of the same file is refused"
expect_grep "being downloaded by another process" "$SCRATCH/err" "and says why"
wait $pid
cmp -s "$W/big.bin" "$SCRATCH/big.bin" && ok "the first one finishes intact" || fail "first one broke"
rm -f "$W/big.bin" "$SCRATCH/big.bin"
U=$ORIGIN_URL

# Nothing listening: the libcurl reason after the attempts.
stop_origin "$ORIGIN_PID"
run httpget --backoff-ms 10 --attempts 2 get "${U}data.bin"
expect_rc 1 "a refused connection fails"
expect_grep "GET '${U}data.bin': Couldn't connect to server.* after 2 attempts" "$SCRATCH/err" \
	"with libcurl's reason"

# file:// goes through the same calls.
run httpget get "file://$W/data.bin"
expect_same "$W/data.bin" "$SCRATCH/out" "file:// GET"
run httpget range "file://$W/data.bin" 1000 500
expect_same "$SCRATCH/want" "$SCRATCH/out" "file:// range"
head -c 777 "$W/data.bin" >"$SCRATCH/f.bin.part"
run httpget download "file://$W/data.bin" "$SCRATCH/f.bin"
expect_grep "resumed_from=777" "$SCRATCH/out" "file:// download resumes"
expect_same "$W/data.bin" "$SCRATCH/f.bin" "file:// download is byte-exact"
run httpget get "file://$W/none.bin"
expect_rc 4 "a missing file:// path is missing"
run httpget list "file://$W/"
expect_grep "^file 100000 exact data.bin$" "$SCRATCH/out" "file:// listing"
expect_grep "^dir -1 none sub$" "$SCRATCH/out" "file:// listing shows directories"

# Progress on stderr when asked for, even when it is not a terminal; -q silences it.
run httpget --progress download "file://$W/data.bin" "$SCRATCH/p.bin"
expect_grep "97.7 KiB .*MB/s" "$SCRATCH/err" "--progress draws bytes and rate"
run httpget -q download "file://$W/data.bin" "$SCRATCH/q.bin"
[ ! -s "$SCRATCH/err" ] && ok "no progress by default off a terminal, none with -q" || fail "stderr not empty"

run httpget ua
expect_grep "^httpget/[0-9.]* (electron-microscopy-ingest)$" "$SCRATCH/out" "User-Agent names the tool"
done_testing
