# usage.sh - every tool keeps the usage contract of DESIGN.md section 2:
# --help to stdout with exit 0, a bad option to stderr with exit 2, --version exit 0
# (the built tools and the em-ingest script).
. "$(dirname "$0")/../lib.sh"

n=0
# The built tools (<dir>/<dir>) and the scripts at the top (em-ingest).
tools=""
for d in "$TOP"/fetch-* "$TOP"/em-*; do
	if [ -f "$d" ]; then t=$d; else t=$d/${d##*/}; fi
	[ -x "$t" ] && tools="$tools $t"
done
for t in $tools; do
	n=$((n + 1))
	name=${t##*/}
	run "$t" --help
	expect_rc 0 "$name --help exits 0"
	expect_grep '^usage: ' "$SCRATCH/out" "$name --help prints usage on stdout"
	[ -s "$SCRATCH/err" ] && fail "$name --help writes to stderr"
	run "$t" --no-such-option
	expect_rc 2 "$name --no-such-option exits 2"
	expect_grep '^usage: ' "$SCRATCH/err" "$name bad option prints usage on stderr"
	[ -s "$SCRATCH/out" ] && fail "$name bad option writes to stdout"
	run "$t" --version
	expect_rc 0 "$name --version exits 0"
	expect_grep "^$name (electron-microscopy-ingest) [0-9]" "$SCRATCH/out" "$name --version"
	# The man page's SYNOPSIS must be there for every tool.
	[ -f "$TOP/man/$name.1" ] || fail "$name has no man page man/$name.1"
done
[ "$n" -gt 0 ] || skip "no tools are built yet"
done_testing
