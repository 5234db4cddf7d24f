#!/bin/sh
# run.sh - runs every test of `make check` and prints "N passed, N failed, N skipped".
#
# A test is the check unit runner, a command-level script t/cmd/*.sh, or the
# man page lint.  Scripts exit 0 (pass), 77 (skipped, with a line saying why)
# or anything else (fail).  Output of each test goes to t/scratch/log/NAME.log
# and is shown when the test fails: its failed checks first, then its last
# lines.  T_ONLY=pattern runs the matching tests only.
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
logdir=t/scratch/log
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=""

run_one() { # name command...
	name=$1
	shift
	case "$name" in *${T_ONLY:-}*) ;; *) return 0 ;; esac
	log=$logdir/$name.log
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); printf 'ok      %-34s %3ss\n' "$name" "$secs" ;;
	77) skip=$((skip + 1))
	    printf 'skipped %-34s %s\n' "$name" "$(grep -m1 '^skipped' "$log" | cut -c9-)" ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   printf 'FAIL    %-34s (exit %s)\n' "$name" "$rc"
	   # The failed checks and what they printed first, whatever the log's length; then its end.
	   awk '/^ok / { n = 0 } /^not ok/ { n = 8 } n > 0 { print; n-- }' "$log" | head -n 40 | sed 's/^/    ! /'
	   sed 's/^/    | /' "$log" | tail -n 40 ;;
	esac
}

if [ -x t/unit/run-unit ]; then
	run_one unit t/unit/run-unit
fi
for t in t/cmd/*.sh; do
	[ -f "$t" ] || continue
	n=${t##*/}
	run_one "${n%.sh}" sh "$t"
done

echo
[ -z "$failed" ] || echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
