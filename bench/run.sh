#!/bin/sh
# run.sh - `make bench`: every bench/b-*.sh case, one table; each row is measured against
# its reference in the same run and reported as a ratio (the machines are shared and noisy).
# The ceilings the rows are bound by are measured first and checked against the libraries'
# own tools; when they disagree nothing can be judged by them, and the run stops.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 2
rm -f "$BENCH_DIR/ceilings.env"
# What the cases discard is removed when the run ends (see discard in lib.sh); a run cut short
# leaves it for the next to remove here, before anything is measured.
trap 'rm -rf "$BENCH_DIR/trash"' EXIT
rm -rf "$BENCH_DIR/trash"
ceilings || { echo "bench: the ceilings disagree with the libraries' own tools" >&2; exit 1; }
printf '%-34s %9s %-26s %9s %6s %7s %6s %6s  %s\n' case "MB/s" reference "ref MB/s" ratio target \
	"RSS MB" limit verdict
status=0
for b in bench/b-*.sh; do
	[ -f "$b" ] || continue
	case "$b" in *${B_ONLY:-}*) ;; *) continue ;; esac
	sh "$b" || { echo "bench: $b failed" >&2; status=1; }
done
exit $status
