#!/bin/sh
# fetch.sh - a stand-in fetcher for the pipeline tests: installed as fetch-<source> in
# a test's PATH, it keeps the fetchers' contract (DESIGN.md section 3) on a small
# deterministic volume: -o DIR, --max-memory, a resumable store written chunk by chunk
# with zarrtool, the record beside it, the stub on stdout, a failed record and exit 1
# on failure, a cancelled record and exit 143/130 on SIGTERM/SIGINT.
#
# Knobs (environment): EM_DOUBLE_SHAPE (z,y,x; default 16,32,32), EM_DOUBLE_THROTTLE_MS
# (a pause per chunk, for the sources in EM_DOUBLE_SLOW, default all), EM_DOUBLE_HOG
# (seconds to hold 90% of --max-memory first), EM_DOUBLE_HOG_BYTES (hold this much
# instead), EM_DOUBLE_FAIL (sources that fail), EM_DOUBLE_BAD (sources whose record
# breaks the schema: an empty description), EM_DOUBLE_SETS (sources that make two
# volumes), EM_DOUBLE_LOG (a file each run appends
# "source max-memory" to).
set -u
name=${0##*/}
source=${name#fetch-}
[ "$source" = zarr ] && source=openorganelle
outdir=data/$source maxmem=0
while [ $# -gt 0 ]; do
	case $1 in
	-o) outdir=$2; shift ;;
	--max-memory) maxmem=$2; shift ;;
	--config | --chunks | --compressor | --level | --jobs) shift ;;
	-q | -v | --progress) ;;
	*) echo "$name: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
case $source in
empiar) id=11759 seed=1 ;;
epfl) id=hippocampus-ca1 seed=2 ;;
dvid) id=a89eb3af-grayscale seed=3 ;;
idr) id=9846137 seed=4 ;;
openorganelle) id=jrc_mus-nacc-2-s0 seed=5 ;;
*) echo "$name: no such source '$source'" >&2; exit 2 ;;
esac
shape=${EM_DOUBLE_SHAPE:-16,32,32}
[ -z "${EM_DOUBLE_LOG:-}" ] || echo "$source $maxmem" >>"$EM_DOUBLE_LOG"
mkdir -p "$outdir" || exit 1
store=$outdir/$id.zarr rec=$outdir/$id.json
t0="2026-11-24T10:00:00Z"

# record STATUS [ERROR]: the record as the fetchers write it (keys in the record's order).
record() {
	hist="{\"status\":\"processing\",\"time\":\"$t0\"}"
	[ "$1" = processing ] || hist="$hist,{\"status\":\"$1\",\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
	err=""
	[ $# -lt 2 ] || err=",\"error\":\"$2\""
	desc="stand-in volume of $source"
	case " ${EM_DOUBLE_BAD:-} " in *" $source "*) desc="" ;; esac
	printf '{"schema_version":1,"id":"%s","source":"%s","status":"%s","status_history":[%s]%s,"description":"%s","modality":"FIB-SEM","voxel_size_nm":[8,8,8],"voxel_size_source":["config","config","config"],"download_url":"http://127.0.0.1:1/%s","processing_pipeline":[{"tool":"%s","version":"0"}],"internal_zarr_path":"%s"}\n' \
		"$id" "$source" "$1" "$hist" "$err" "$desc" "$source" "$name" "$store"
}
save() { record "$@" >"$rec.tmp" && mv "$rec.tmp" "$rec"; }

child=""
stop() { # SIG status
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
	[ -z "$child" ] || wait "$child"
	echo "$name: cancelled by SIG$1" >&2
	save cancelled "cancelled by SIG$1"
	record cancelled "cancelled by SIG$1"
	exit "$2"
}
trap 'stop TERM 143' TERM
trap 'stop INT 130' INT

save processing
case " ${EM_DOUBLE_FAIL:-} " in
*" $source "*)
	echo "$name: cannot fetch 'http://127.0.0.1:1/$source': stand-in failure" >&2
	save failed "stand-in failure"
	record failed "stand-in failure"
	exit 1 ;;
esac
if [ -n "${EM_DOUBLE_HOG:-}" ]; then
	memhog "${EM_DOUBLE_HOG_BYTES:-$((maxmem * 9 / 10))}" "$EM_DOUBLE_HOG" &
	child=$!
	wait "$child"
	rc=$?
	child=""
	if [ "$rc" -ne 0 ]; then
		save failed "out of memory"
		record failed "out of memory"
		exit 1
	fi
fi
IFS=, read -r sz sy sx <<EOF
$shape
EOF
throttle=${EM_DOUBLE_THROTTLE_MS:-0}
case " ${EM_DOUBLE_SLOW:-$source} " in *" $source "*) ;; *) throttle=0 ;; esac

# volume: writes the store of $id from the seed $seed, its record, and prints the stub.
volume() {
	genfile $((sz * sy * sx)) "$outdir/.$id.raw" "$seed" || exit 1
	save saving-data
	zarrtool write --shape "$shape" --chunks 4,8,8 --codec zstd --voxel 8,8,8 \
		--throttle-ms "$throttle" "$outdir/.$id.raw" "$store" &
	child=$!
	wait "$child"
	rc=$?
	child=""
	rm -f "$outdir/.$id.raw"
	if [ "$rc" -ne 0 ]; then
		save failed "cannot write '$store'"
		record failed "cannot write '$store'"
		exit 1
	fi
	save saving-data
	record saving-data
}
volume
# A second volume, as an EMPIAR entry with two image sets makes.
case " ${EM_DOUBLE_SETS:-} " in
*" $source "*)
	id=$id-set2 seed=$((seed + 10))
	store=$outdir/$id.zarr rec=$outdir/$id.json
	save processing
	volume ;;
esac
