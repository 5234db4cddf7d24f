# synopsis.sh - the SYNOPSIS of each tool's man page is the text its --help
# prints as usage (STYLE.md), the same options and operands in the same order;
# only line breaks and indentation may differ.  Every tool is checked: each
# fetch-*/ and em-*/ directory with a main.c and each fetch-* or em-* script at
# the top, so a new tool without a man page fails here.
#
# The usage text is the line starting "usage: " and the lines after it that are
# indented by at least seven spaces (as wide as "usage: "); a line starting with
# the tool's name begins another form, as each .Nm does in the SYNOPSIS.
. "$(dirname "$0")/../lib.sh"
command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"

# forms NAME: stdin's lines as one line per synopsis form, whitespace collapsed.
forms() {
	awk -v name="$1" '
	{ gsub(/[ \t]+/, " "); sub(/^ /, ""); sub(/ $/, "") }
	$0 == "" { next }
	$1 == name { if (f != "") print f; f = $0; next }
	{ f = (f == "") ? $0 : f " " $0 }
	END { if (f != "") print f }'
}

# usage_forms NAME: the usage text of the --help output in $SCRATCH/out.
usage_forms() {
	awk '
	/^usage: / { p = 1; sub(/^usage: /, ""); print; next }
	p && /^(       |\t)/ { print; next }
	{ p = 0 }' "$SCRATCH/out" | forms "$1"
}

# man_forms PAGE NAME: the page's SYNOPSIS as mandoc renders it, wide enough
# that it does not break lines inside a form.
man_forms() {
	mandoc -Tascii -Owidth=1000 "$1" | sed 's/.\x08//g' | awk '
	/^SYNOPSIS$/ { p = 1; next }
	/^[^ \t]/ { p = 0 }
	p' | forms "$2"
}

n=0
tools=""
for d in "$TOP"/fetch-* "$TOP"/em-*; do
	if [ -d "$d" ]; then
		[ -f "$d/main.c" ] && tools="$tools $d/${d##*/}"
	elif [ -f "$d" ] && [ -x "$d" ]; then
		tools="$tools $d"
	fi
done
for t in $tools; do
	n=$((n + 1))
	name=${t##*/}
	page=$TOP/man/$name.1
	if [ ! -f "$page" ]; then
		fail "$name has no man page man/$name.1"
		continue
	fi
	if [ ! -x "$t" ]; then
		fail "$name is not built ($t)"
		continue
	fi
	man_forms "$page" "$name" >"$SCRATCH/$name.man"
	run "$t" --help
	usage_forms "$name" >"$SCRATCH/$name.usage"
	if [ ! -s "$SCRATCH/$name.man" ]; then
		fail "$name: man/$name.1 has no SYNOPSIS naming $name"
	elif [ ! -s "$SCRATCH/$name.usage" ]; then
		fail "$name: --help prints no usage text"
	else
		# diff's - lines are the man page, + lines the usage text.
		expect_same "$SCRATCH/$name.man" "$SCRATCH/$name.usage" \
		    "$name: SYNOPSIS of man/$name.1 is the usage text of --help"
	fi
	# A tool with --jobs has -j too, in the usage text and in the page.
	if "$t" --jobs 2 --help >/dev/null 2>&1; then
		expect_grep '\[-j N\]' "$SCRATCH/$name.usage" "$name: usage shows -j N"
		mandoc -Tascii -Owidth=1000 "$page" | sed 's/.\x08//g' >"$SCRATCH/$name.txt"
		if grep -q '^ *-j N, --jobs N$' "$SCRATCH/$name.txt"; then
			ok "$name: man/$name.1 describes -j N, --jobs N"
		else
			fail "$name: man/$name.1 has no item '-j N, --jobs N'; its lines on jobs:"
			grep -e '-j\>' -e '--jobs' "$SCRATCH/$name.txt" | head -n 5 | sed 's/^/#   /'
		fi
	fi
done
[ "$n" -gt 0 ] || fail "no tools found in $TOP"
done_testing
