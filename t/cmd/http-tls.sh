# http-tls.sh - TLS peers are verified: a self-signed certificate is refused unless given as cacert.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

command -v openssl >/dev/null || skip "no openssl"
W=$SCRATCH/www
mkdir -p "$W"
printf 'secret\n' >"$W/s.txt"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$SCRATCH/key.pem" -out "$SCRATCH/cert.pem" \
	>/dev/null 2>&1 || skip "openssl cannot make a certificate"
start_origin tls --root "$W" --tls-cert "$SCRATCH/cert.pem" --tls-key "$SCRATCH/key.pem"
case $ORIGIN_URL in https://*) ok "the origin serves HTTPS" ;; *) fail "not https: $ORIGIN_URL" ;; esac

run httpget --attempts 3 --backoff-ms 10 get "${ORIGIN_URL}s.txt"
expect_rc 1 "a self-signed certificate is refused by default"
expect_grep "GET '${ORIGIN_URL}s.txt': SSL peer certificate or SSH remote key was not OK" "$SCRATCH/err" \
	"the error says the certificate was not OK"
[ ! -s "$ORIGIN_LOG" ] && ok "no request got through" ||
	fail "a request was served"

run httpget --cacert "$SCRATCH/cert.pem" get "${ORIGIN_URL}s.txt"
expect_rc 0 "accepted with the certificate as cacert"
expect_grep "^secret\$" "$SCRATCH/out" "the body came over TLS"

run httpget --cacert "$SCRATCH/cert.pem" download "${ORIGIN_URL}s.txt" "$SCRATCH/s.txt"
expect_same "$W/s.txt" "$SCRATCH/s.txt" "a download over TLS"
done_testing
