#!/bin/sh
# demo.sh - make demo: the whole pipeline offline.  Builds a small mirror of the five
# archives (scripts/demo-mirror.sh), serves it with em-origin on 127.0.0.1, runs
# em-ingest against it with a configuration overlay (and, before it, fetch-precomputed
# on the mirror's copy of the hemibrain's precomputed release), and shows what was made.
#
#   scripts/demo.sh [-s small|demo] [DIR]      (default DIR: demo/ in the tree)
#
# Every run starts afresh in DIR: www/ (the mirror), data/, logs/, catalog/, cache/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
size=demo
if [ "${1:-}" = -s ]; then
	size=$2
	shift 2
fi
dir=${1:-$top/demo}
mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || exit 1
for t in em-origin em-meta em-validate em-consolidate em-config fetch-precomputed; do
	[ -x "$top/$t/$t" ] || { echo "demo: $t is not built: run make first" >&2; exit 1; }
done
rm -rf "$dir/data" "$dir/logs" "$dir/catalog" "$dir/cache" "$dir/origin.log" "$dir/origin.port"

start=$(date +%s)
echo "demo: building the mirror in $dir/www"
sh "$top/scripts/demo-mirror.sh" -s "$size" "$dir" || exit 1

"$top/em-origin/em-origin" -q --root "$dir/www" --port-file "$dir/origin.port" \
	--log "$dir/origin.log" >/dev/null &
origin=$!
trap 'kill "$origin" 2>/dev/null; wait "$origin" 2>/dev/null' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
i=0
while [ ! -s "$dir/origin.port" ]; do
	i=$((i + 1))
	if [ "$i" -gt 200 ] || ! kill -0 "$origin" 2>/dev/null; then
		echo "demo: em-origin did not start" >&2
		exit 1
	fi
	sleep 0.05
done
url=$(head -n 1 "$dir/origin.port")
sed -e "s|@ORIGIN@|$url|g" -e "s|@DIR@|$dir|g" "$dir/overlay.yaml.in" >"$dir/overlay.yaml"
echo "demo: the archives are served at $url (requests in $dir/origin.log)"
echo "demo: EM_CONFIG_OVERLAY=$dir/overlay.yaml em-ingest"
echo

# A precomputed volume (em-ingest's sources are the five archives): the release's copy of
# the DVID crop through fetch-precomputed | em-meta | em-validate; the catalog takes it in.
echo "demo: precomputed: fetch-precomputed | em-meta | em-validate"
EM_CONFIG=$top/config/config.yaml EM_CONFIG_OVERLAY=$dir/overlay.yaml \
	"$top/fetch-precomputed/fetch-precomputed" -q | "$top/em-meta/em-meta" |
	"$top/em-validate/em-validate" -q >/dev/null
pcrc=$?
EM_CONFIG=$top/config/config.yaml EM_CONFIG_OVERLAY=$dir/overlay.yaml \
	sh "$top/em-ingest"
rc=$?
[ "$pcrc" -eq 0 ] || { echo "demo: the precomputed volume failed" >&2; rc=1; }
echo
# show WHAT PATTERN: the files of the run, relative to its directory.
show() {
	printf 'demo: %-8s' "$1"
	(cd "$dir" && for f in $2; do [ -e "$f" ] && printf ' %s' "$f"; done)
	echo
}
show stores 'data/*/*.zarr'
show records 'data/*/*.json'
show catalog 'catalog/*'
show logs 'logs/*'
echo "demo: the mirror stays in $dir/www (em-origin --root $dir/www serves it); em-ingest(1) tells the rest"
echo "demo: (all under $dir) in $(($(date +%s) - start)) s"
exit "$rc"
