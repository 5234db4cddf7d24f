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
	# The man page's SYNOPSIS must be there for every tool (synopsis.sh compares it).
	[ -f "$TOP/man/$name.1" ] || fail "$name has no man page man/$name.1"
	# -j is --jobs on every tool that has --jobs.  The options are read in
	# order, so reaching --help (exit 0) means the value before it was taken.
	run "$t" --jobs 2 --help
	[ "$RC" -eq 0 ] || continue
	run "$t" -j 2 --help
	expect_rc 0 "$name -j 2 is taken"
	run "$t" -j2 --help
	expect_rc 0 "$name -j2 is taken"
	# em-meta's 0 is documented: decode in the reading thread.  The fetchers need one job.
	case $name in em-meta) zero=0 ;; *) zero=2 ;; esac
	for v in 0 x 1000000 -1 ''; do
		want=2
		[ "$v" = 0 ] && want=$zero
		run "$t" -j "$v" --help
		expect_rc "$want" "$name -j '$v' exits $want"
		[ "$want" -eq 2 ] || continue
		expect_grep "jobs.*'$v'" "$SCRATCH/err" "$name -j '$v' says what is wrong with the value"
		expect_grep '^usage: ' "$SCRATCH/err" "$name -j '$v' prints usage on stderr"
	done
done
[ "$n" -gt 0 ] || skip "no tools are built yet"
done_testing
