#!/bin/sh
# check-network.sh - make check-network: an opt-in check against the real archives with
# the default configuration, fetching only a tiny piece of each: the EMPIAR listing and
# its first DM3 slice, a 64^3 DVID crop, the IDR imgData, one OpenOrganelle chunk, and
# the first page of the EPFL TIFF by a range request.  Each volume goes through
# em-meta and em-validate.  Without a network it prints a "skipped" line and exits 0.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
for d in "$top"/fetch-* "$top"/em-*; do
	[ -d "$d" ] && [ -x "$d/${d##*/}" ] && PATH=$d:$PATH
done
PATH=$top/t/prog:$PATH
export PATH
command -v httpget >/dev/null || { echo "check-network: t/prog/httpget is not built: run make check first" >&2; exit 1; }
EM_CONFIG=$top/config/config.yaml
unset EM_CONFIG_OVERLAY
export EM_CONFIG
tmp=$(mktemp -d "${TMPDIR:-/tmp}/em-check-network.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
conf() { em-config "$@"; }
nfail=0
ok() { echo "ok      $*"; }
bad() { echo "FAIL    $*"; nfail=$((nfail + 1)); sed 's/^/    | /' "$tmp/err" | tail -n 5; }

# A network at all?  A name that does not resolve or a host that cannot be reached
# for each archive means none (as on the build machines).
reach=0
for u in "$(conf sources.empiar.api_url)" "$(conf sources.idr.webgateway_url)" \
	"$(conf sources.openorganelle.bucket_url)/"; do
	if httpget -q --attempts 1 head "$u" >/dev/null 2>"$tmp/err"; then reach=1; break; fi
	grep -q -i -e resolve -e 'connect' -e 'timed out' -e 'unreachable' "$tmp/err" || reach=1
done
if [ "$reach" -eq 0 ]; then
	echo "skipped: no network (none of the archives' hosts can be reached: $(tail -n 1 "$tmp/err"))"
	exit 0
fi

# pipe SOURCE FETCHER ARGS...: one fetch through em-meta and em-validate.
pipe() {
	_s=$1
	shift
	"$@" -q -o "$tmp/$_s" 2>"$tmp/err" | em-meta -q 2>>"$tmp/err" |
		em-validate --filter 2>>"$tmp/err" >"$tmp/$_s.json"
	grep -q '"status":"complete"' "$tmp/$_s.json"
}

# EMPIAR: the listing, then its first slice.
data=$(conf sources.empiar.data_url)
if httpget -q list "$data" >"$tmp/list" 2>"$tmp/err"; then
	first=$(awk '$1 == "file" && $4 ~ /\.dm3$/ { print $4; exit }' "$tmp/list")
	ok "empiar: listing of $data ($(grep -c '^file' "$tmp/list") files)"
	if [ -n "$first" ] && pipe empiar fetch-empiar --url "$data$first"; then
		ok "empiar: $first through fetch-empiar, em-meta, em-validate"
	else bad "empiar: the first slice '$first'"; fi
else
	bad "empiar: listing of $data"
fi

# DVID: a 64^3 crop at the configured offset.
off=$(conf --json sources.dvid.offset_xyz | tr -d '[] ')
if pipe dvid fetch-dvid --offset "$off" --size 64,64,64; then
	ok "dvid: 64x64x64 at $off"
else bad "dvid: 64x64x64 at $off"; fi

# IDR: the image's imgData.
u=$(conf sources.idr.webgateway_url)
if httpget -q get "$u" >"$tmp/imgdata" 2>"$tmp/err" && grep -q '"size"' "$tmp/imgdata"; then
	ok "idr: imgData $u"
else bad "idr: imgData $u"; fi

# OpenOrganelle: one chunk of the configured level.
if pipe openorganelle fetch-zarr --box 0:1,0:1,0:1; then
	ok "openorganelle: one chunk of $(conf sources.openorganelle.array)/$(conf sources.openorganelle.level)"
else bad "openorganelle: one chunk"; fi

# EPFL: the first page of the TIFF (header and 2048 x 1536 bytes) by a range request.
u=$(conf sources.epfl.base_url)$(conf sources.epfl.file)
if httpget -q range "$u" 0 3153920 >"$tmp/epfl" 2>"$tmp/err" &&
	[ "$(head -c 4 "$tmp/epfl" | od -An -tx1 | tr -d ' \n')" = 49492a00 ] &&
	[ "$(wc -c <"$tmp/epfl")" -eq 3153920 ]; then
	ok "epfl: the first 3 MiB of $u (a little-endian TIFF)"
else bad "epfl: range request to $u"; fi

[ "$nfail" -eq 0 ] || { echo "check-network: $nfail failed"; exit 1; }
echo "check-network: every archive answered"
