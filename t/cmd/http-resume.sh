# http-resume.sh - whole-file downloads survive dropped connections and a killed process,
# resuming with ranges and ending byte-exact.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

mkdir -p "$SCRATCH/www"
genfile 256M "$SCRATCH/www/big.bin" 7 || { fail "cannot make the test file"; done_testing; }
SUM=$(sha256sum "$SCRATCH/www/big.bin" | cut -c1-64)

# 1. Every connection is dropped after 40 MiB: seven requests, each resuming the last.
start_origin drop --root "$SCRATCH/www" --fault drop=40M
run httpget --backoff-ms 20 --attempts 7 download "${ORIGIN_URL}big.bin" "$SCRATCH/a.bin"
expect_rc 0 "download through dropped connections succeeds"
expect_same "$SCRATCH/www/big.bin" "$SCRATCH/a.bin" "the file is byte-exact"
expect_grep "requests=7 " "$SCRATCH/out" "one request per 40 MiB"
n=$(log_count ' GET /big.bin bytes=[0-9]+- 206 ')
[ "$n" -eq 6 ] && ok "six requests resumed with Range" || fail "resumed requests: $n, expected 6"
log_settle
n=$(awk '$5 != "-" { split($5, a, "[=-]"); if (a[2] != prev) bad++ } { prev += $7 } END { print bad + 0 }' "$ORIGIN_LOG")
[ "$n" -eq 0 ] && ok "each range starts where the last body ended" || fail "$n ranges out of place"
[ ! -e "$SCRATCH/a.bin.part" ] && ok "no .part left" || fail ".part left behind"
stop_origin "$ORIGIN_PID"

# 2. The same with a checksum: it matches, and a second run fetches nothing.
start_origin plain --root "$SCRATCH/www" --fault drop=100M
run httpget --backoff-ms 20 --sha256 "$SUM" --size 268435456 download "${ORIGIN_URL}big.bin" "$SCRATCH/b.bin"
expect_rc 0 "download with size and sha256 checks"
log_settle
before=$(wc -l <"$ORIGIN_LOG")
run httpget --sha256 "$SUM" download "${ORIGIN_URL}big.bin" "$SCRATCH/b.bin"
expect_grep "was_complete=1" "$SCRATCH/out" "a finished file that matches is not fetched again"
[ "$(wc -l <"$ORIGIN_LOG")" -eq "$before" ] && ok "no request for it" || fail "requests were made"
rm -f "$SCRATCH/b.bin"
stop_origin "$ORIGIN_PID"

# 3. kill -9 mid-way; a new process resumes the .part.
start_origin slow --root "$SCRATCH/www" --fault rate=160M
httpget download "${ORIGIN_URL}big.bin" "$SCRATCH/c.bin" >"$SCRATCH/c.out" 2>&1 &
pid=$!
i=0
while [ "$(stat -c %s "$SCRATCH/c.bin.part" 2>/dev/null || echo 0)" -lt 50000000 ] && [ $i -lt 400 ]; do
	sleep 0.02
	i=$((i + 1))
done
kill -9 $pid
wait $pid 2>/dev/null
have=$(stat -c %s "$SCRATCH/c.bin.part" 2>/dev/null || echo 0)
[ "$have" -gt 0 ] && [ "$have" -lt 268435456 ] && ok "killed with $have bytes in the .part" ||
	fail "the download was not killed mid-way ($have bytes)"
run httpget download "${ORIGIN_URL}big.bin" "$SCRATCH/c.bin"
expect_rc 0 "a new process finishes the download"
expect_grep "resumed_from=[1-9]" "$SCRATCH/out" "it resumed from the .part"
expect_grep "requests=1 " "$SCRATCH/out" "with one request"
expect_same "$SCRATCH/www/big.bin" "$SCRATCH/c.bin" "the resumed file is byte-exact"
log_settle
tail -n 1 "$ORIGIN_LOG" | grep -q ' bytes=[1-9][0-9]*- 206 ' && ok "the resume asked for the rest" ||
	fail "last request was not a range: $(tail -n 1 "$ORIGIN_LOG")"
stop_origin "$ORIGIN_PID"

# 4. A server that ignores ranges: the .part is read over from the start.
genfile 1M "$SCRATCH/www/small.bin" 3
head -c 1000 "$SCRATCH/www/small.bin" >"$SCRATCH/d.bin.part"
printf 'XXXX' | dd of="$SCRATCH/d.bin.part" bs=1 seek=10 conv=notrunc 2>/dev/null
start_origin norange --root "$SCRATCH/www" --fault 'path=/small.bin,norange=1'
# The .part came with the file's current ETag, so it is resumed (If-Range holds).
curl -s -I "${ORIGIN_URL}small.bin" | tr -d '\r' | sed -n 's/^ETag: //p' | tr -d '\n' \
	>"$SCRATCH/d.bin.part.validator"
run httpget download "${ORIGIN_URL}small.bin" "$SCRATCH/d.bin"
expect_rc 0 "download from a server that ignores ranges"
expect_grep "resumed_from=1000 requests=1 restarted=1" "$SCRATCH/out" "it asked for a range and started over"
expect_same "$SCRATCH/www/small.bin" "$SCRATCH/d.bin" "the file is byte-exact"
stop_origin "$ORIGIN_PID"
[ "$RC" -eq 0 ] && ok "em-origin exits 0 on SIGTERM" || fail "em-origin exit $RC on SIGTERM"

rm -f "$SCRATCH"/*.bin "$SCRATCH"/*.part
rm -rf "$SCRATCH/www"
done_testing
