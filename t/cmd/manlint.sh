# manlint.sh - every man page is clean under mandoc -Tlint, and reads on an
# 80-column terminal: groff (what man(1) runs on Debian) formats it with no
# warning at all, such as "can't break line", and no line of it is wider than
# 80 columns, in groff's rendering or mandoc's.
. "$(dirname "$0")/../lib.sh"
command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"
have_groff=0
if command -v groff >/dev/null; then
	have_groff=1
else
	echo "# groff is not installed (Debian: groff-base): the pages are not checked with it"
fi

# wide NAME: the lines of stdin wider than 80 characters (UTF-8 counted by
# characters: continuation bytes are dropped first), as test output.
wide() {
	LC_ALL=C tr -d '\200-\277' | awk -v name="$1" '
	length($0) > 80 { print "#   " name ": " length($0) " columns: " $0; n++ }
	END { exit n > 0 }'
}

for m in "$TOP"/man/*.[157]; do
	[ -f "$m" ] || continue
	p=${m##*/}
	# -W warning: style notes (such as a .Dd in the future) are not failures.
	if mandoc -Tlint -W warning "$m" >"$SCRATCH/lint" 2>&1; then
		ok "$p lints clean"
	else
		fail "$p:"; sed 's/^/#   /' "$SCRATCH/lint"
	fi
	mandoc -Tutf8 -Owidth=80 "$m" | sed 's/.\x08//g' >"$SCRATCH/mandoc.txt"
	if wide mandoc <"$SCRATCH/mandoc.txt" >"$SCRATCH/wide"; then
		ok "$p fits 80 columns (mandoc)"
	else
		fail "$p has lines wider than 80 columns (mandoc -Tutf8 -Owidth=80)"
		cat "$SCRATCH/wide"
	fi
	[ "$have_groff" -eq 1 ] || continue
	# As MANWIDTH=80 man -l PAGE formats it; -ww turns on every warning.
	groff -ww -mandoc -Tutf8 -rLL=80n -rLT=80n -P-cbou "$m" \
	    >"$SCRATCH/groff.txt" 2>"$SCRATCH/groff.err"
	if [ -s "$SCRATCH/groff.err" ]; then
		fail "$p: groff -ww warns at 80 columns:"; sed 's/^/#   /' "$SCRATCH/groff.err"
	else
		ok "$p: no groff warnings at 80 columns"
	fi
	if wide groff <"$SCRATCH/groff.txt" >"$SCRATCH/wide"; then
		ok "$p fits 80 columns (groff)"
	else
		fail "$p has lines wider than 80 columns (groff -rLL=80n)"
		cat "$SCRATCH/wide"
	fi
done
done_testing
