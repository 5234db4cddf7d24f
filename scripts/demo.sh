#!/bin/sh
# demo.sh - make demo: the whole pipeline offline.  Builds a small mirror of the five
# archives (scripts/demo-mirror.sh), serves it with em-origin on 127.0.0.1, runs
# em-ingest against it with a configuration overlay (and, before it, fetch-precomputed
# on the mirror's copy of the hemibrain's precomputed release), and shows what was made
# (each store's pyramid levels with their shapes).
#
#   scripts/demo.sh [-s small|demo] [DIR]      (default DIR: demo/ in the tree)
#
# ENGINE=slurm (make demo ENGINE=slurm) runs em-ingest --engine slurm --wait on a
# single-node Slurm cluster that it starts in DIR/slurm (scripts/slurm-local: needs root,
# slurm-wlm and munge) and stops at the end, whatever happens.
#
# Every run starts afresh in DIR: www/ (the mirror), data/, logs/, catalog/, cache/; it ends
# with a few training patches from one volume in patches/ (em-patches).
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
engine=${ENGINE:-local}
case $engine in
local | slurm) ;;
*) echo "demo: unknown ENGINE '$engine' (local or slurm)" >&2; exit 2 ;;
esac
if [ "$engine" = slurm ]; then
	[ "$(id -u)" -eq 0 ] || { echo "demo: ENGINE=slurm starts slurmd and munged: run it as root" >&2; exit 1; }
	for t in slurmctld slurmd sbatch munged; do
		command -v "$t" >/dev/null 2>&1 ||
			{ echo "demo: ENGINE=slurm needs $t: install slurm-wlm and munge (make deps)" >&2; exit 1; }
	done
fi
rm -rf "$dir/data" "$dir/logs" "$dir/catalog" "$dir/cache" "$dir/patches" "$dir/origin.log" "$dir/origin.port"

start=$(date +%s)
echo "demo: building the mirror in $dir/www"
sh "$top/scripts/demo-mirror.sh" -s "$size" "$dir" || exit 1

"$top/em-origin/em-origin" -q --root "$dir/www" --port-file "$dir/origin.port" \
	--log "$dir/origin.log" >/dev/null &
origin=$!
slurm=""
# shellcheck disable=SC2317 # called by the trap
stop_all() {
	kill "$origin" 2>/dev/null
	wait "$origin" 2>/dev/null
	[ -z "$slurm" ] || sh "$top/scripts/slurm-local" stop "$slurm" >/dev/null ||
		echo "demo: the Slurm cluster in $slurm did not stop cleanly" >&2
}
trap stop_all EXIT
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
if [ "$engine" = slurm ]; then
	rm -rf "$dir/slurm"
	echo "demo: starting a single-node Slurm cluster in $dir/slurm"
	if ! sh "$top/scripts/slurm-local" start "$dir/slurm"; then
		echo "demo: the Slurm cluster did not start (see above)" >&2
		exit 1
	fi
	slurm=$dir/slurm
	eval "$(sh "$top/scripts/slurm-local" env "$slurm")"
	echo "demo: EM_CONFIG_OVERLAY=$dir/overlay.yaml em-ingest --engine slurm --wait"
	(cd "$dir" && EM_CONFIG=$top/config/config.yaml EM_CONFIG_OVERLAY=$dir/overlay.yaml \
		sh "$top/em-ingest" --engine slurm --wait)
	rc=$?
else
	EM_CONFIG=$top/config/config.yaml EM_CONFIG_OVERLAY=$dir/overlay.yaml \
		sh "$top/em-ingest"
	rc=$?
fi
[ "$pcrc" -eq 0 ] || { echo "demo: the precomputed volume failed" >&2; rc=1; }
echo
# show WHAT PATTERN: the files of the run, relative to its directory.
show() {
	printf 'demo: %-8s' "$1"
	(cd "$dir" && for f in $2; do [ -e "$f" ] && printf ' %s' "$f"; done)
	echo
}
show stores 'data/*/*.zarr'
# The pyramid of each store: its levels (OME-NGFF datasets 0, 1, ...), each with its shape.
for s in "$dir"/data/*/*.zarr; do
	[ -d "$s" ] || continue
	line='' l=0
	while :; do
		m=$s/$l/.zarray
		[ -f "$m" ] || m=$s/$l/zarr.json
		[ -f "$m" ] || break
		shape=$(tr -d ' \n' <"$m" | sed -n 's/.*"shape":\[\([0-9,]*\)\].*/\1/p' | tr , x)
		line="$line $l:$shape"
		l=$((l + 1))
	done
	printf 'demo: levels   %s%s\n' "${s#"$dir"/}" "$line"
done
show records 'data/*/*.json'
show catalog 'catalog/*'
show logs 'logs/*'
# Training patches from the first volume they fit (records' store paths are relative to DIR).
if [ -x "$top/em-patches/em-patches" ]; then
	for rec in "$dir"/data/*/*.json; do
		[ -f "$rec" ] || continue
		rm -rf "$dir/patches"
		if (cd "$dir" && "$top/em-patches/em-patches" -q -o patches --patch 8,32,32 \
		    --block 8,32,32 --random 16 --seed 3 --max-fill 0.9 --split train=0.75,val=0.25 \
		    --normalize zscore "$rec" >/dev/null 2>&1); then
			echo "demo: patches  from ${rec#"$dir"/}:" $(cd "$dir" && echo patches/*.tar) \
			    "and patches/manifest.json (em-patches(1) shows how to read them)"
			break
		fi
	done
	[ -d "$dir/patches" ] || echo "demo: patches  none: no volume of 8 x 32 x 32 voxels or more"
fi
echo "demo: the mirror stays in $dir/www (em-origin --root $dir/www serves it); em-ingest(1) tells the rest"
echo "demo: (all under $dir) in $(($(date +%s) - start)) s"
exit "$rc"
