# manlint.sh - every man page is clean under mandoc -Tlint.
. "$(dirname "$0")/../lib.sh"
command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"
for m in "$TOP"/man/*.[157]; do
	[ -f "$m" ] || continue
	# -W warning: style notes (such as a .Dd in the future) are not failures.
	if mandoc -Tlint -W warning "$m" >"$SCRATCH/lint" 2>&1; then
		ok "${m##*/} lints clean"
	else
		fail "${m##*/}:"; sed 's/^/#   /' "$SCRATCH/lint"
	fi
done
done_testing
