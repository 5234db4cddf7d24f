# http-multi.sh - many GETs on one multi handle: real overlap, at most --jobs in flight,
# missing keys reported, failed requests retried while the others go on.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

W=$SCRATCH/www
mkdir -p "$W"
i=0
while [ $i -lt 200 ]; do
	printf 'chunk %d\n' $i >"$W/c$i"
	i=$((i + 1))
done
total=$(cat "$W"/c* | wc -c)

# maxflight: the most requests the origin had open at once, from its log.
maxflight() {
	log_settle
	awk '{ print $1, 1; print $2, -1 }' "$ORIGIN_LOG" | sort -k1,1n -k2,2n |
		awk '{ n += $2; if (n > m) m = n } END { print m + 0 }'
}

start_origin delay --root "$W" --fault delay=20
run httpget --jobs 8 multi "${ORIGIN_URL}c" 200
expect_rc 0 "200 GETs with 8 jobs"
expect_grep "^ok=200 missing=0 failed=0 bytes=$total maxpending=[1-8]\$" "$SCRATCH/out" \
	"every body came, and the feeder never queued more than the jobs"
[ "$(log_count ' GET /c[0-9]+ - 200 ')" -eq 200 ] && ok "200 requests" || fail "wrong request count"
m=$(maxflight)
[ "$m" -ge 6 ] && ok "requests overlapped ($m in flight at most)" || fail "only $m in flight at once"
[ "$m" -le 8 ] && ok "never more than 8 in flight ($m)" || fail "$m in flight, jobs was 8"
nconn=$(awk '{ print $9 }' "$ORIGIN_LOG" | sort -u | wc -l)
[ "$nconn" -le 16 ] && ok "connections are reused ($nconn for 200 requests)" ||
	fail "$nconn connections for 200 requests"
# Each reply line is "index result status length"; chunk 42's is right.
expect_grep "^42 0 200 9\$" "$SCRATCH/out" "the reply carries the caller's tag and length"
stop_origin "$ORIGIN_PID"

# Missing keys (Zarr fill value) and 503s for a share of the requests.
start_origin faults --root "$W" --missing-status 403 --seed 3 \
	--fault 'share=0.2,first=1,status=503,retry-after=0'
run httpget --jobs 4 --backoff-ms 10 multi "${ORIGIN_URL}c" 210
expect_rc 0 "a run with missing keys and retried 503s"
expect_grep "^ok=200 missing=10 failed=0 bytes=$total " "$SCRATCH/out" "200 bodies, 10 missing"
expect_grep "^205 1 403 0\$" "$SCRATCH/out" "a missing key is reported with its 403"
n503=$(log_count ' 503 [0-9]+ fault')
[ "$n503" -gt 10 ] && ok "$n503 requests were answered 503" || fail "only $n503 503s"
log_settle
[ "$(wc -l <"$ORIGIN_LOG")" -eq $((210 + n503)) ] && ok "each 503 retried once, 403s never" ||
	fail "$(wc -l <"$ORIGIN_LOG") requests, expected $((210 + n503))"
m=$(maxflight)
[ "$m" -le 4 ] && ok "never more than 4 in flight ($m)" || fail "$m in flight, jobs was 4"
stop_origin "$ORIGIN_PID"

# Range requests in a multi run: the 5 bytes "chunk" of each.
start_origin ranges --root "$W"
run httpget --jobs 8 --range 0,5 multi "${ORIGIN_URL}c" 50
expect_grep "^ok=50 missing=0 failed=0 bytes=250 " "$SCRATCH/out" "range GETs in a multi run"
expect_grep "^49 0 206 5\$" "$SCRATCH/out" "answered 206 with the 5 bytes"
stop_origin "$ORIGIN_PID"

# A request that fails for good is handed to the callback with its error; the rest go on.
start_origin fail --root "$W" --fault 'path=/c7,status=500'
run httpget --jobs 4 --backoff-ms 10 --attempts 2 multi "${ORIGIN_URL}c" 20
expect_rc 1 "a run with a failing request fails"
expect_grep "^ok=19 missing=0 failed=1 " "$SCRATCH/out" "the other 19 came"
expect_grep "GET '${ORIGIN_URL}c7': HTTP 500 Internal Server Error after 2 attempts" "$SCRATCH/err" \
	"the failure names the URL"
done_testing
