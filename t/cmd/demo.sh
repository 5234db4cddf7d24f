# demo.sh - make demo (scripts/demo.sh -s small DIR) as a user runs it, from a directory of
# their own: it exits 0, every archive's record is complete, the catalog database holds the
# five records and the precomputed one, patches are written, and everything it makes is
# under DIR: nothing in the directory it was started from, no em-origin left running.
. "$(dirname "$0")/../lib.sh"

/usr/bin/python3 -c 'import numpy, tifffile' 2>/dev/null || skip "python3-numpy or -tifffile missing (make deps)"
[ -x "$TOP/t/prog/mkdm3" ] || skip "no t/prog/mkdm3"
for t in em-origin em-catalog em-patches fetch-precomputed; do
	[ -x "$TOP/$t/$t" ] || skip "$t is not built"
done
# AddressSanitizer reserves terabytes of address space: no ulimit -v for such a build.
if [ "$ASAN" -eq 1 ]; then
	EM_NO_ADDRESS_LIMIT=1
	export EM_NO_ADDRESS_LIMIT
else
	unset EM_NO_ADDRESS_LIMIT
fi
mkdir -p "$SCRATCH/cwd"
cd "$SCRATCH/cwd" || exit 1
D=$SCRATCH/demo

run sh "$TOP/scripts/demo.sh" -s small "$D"
expect_rc 0 "scripts/demo.sh -s small exits 0"
for s in idr dvid empiar openorganelle epfl; do
	expect_grep "^$s  *complete  " "$SCRATCH/out" "the table: $s complete"
done
left=$(ls -A "$SCRATCH/cwd")
[ -z "$left" ] && ok "nothing is written in the directory the demo was started from" ||
	fail "the demo wrote into its caller's directory: $left"
expect_grep "^demo: catalog  catalog/catalog.db catalog/metadata_catalog_" "$SCRATCH/out" \
	"the catalog line names the database and the JSON catalog under DIR"
run em-catalog query --db "$D/catalog/catalog.db" --count
expect_rc 0 "em-catalog query on the demo's database"
echo 6 >"$SCRATCH/want"
expect_same "$SCRATCH/want" "$SCRATCH/out" "it holds the five archives' records and the precomputed one"
run em-catalog query --db "$D/catalog/catalog.db" --status complete --count
expect_same "$SCRATCH/want" "$SCRATCH/out" "all six complete"
expect_grep '"complete": *true' "$D/patches/manifest.json" "the demo's patches are a finished run"
pgrep -f "em-origin .*--root $D/www" >/dev/null && fail "em-origin still runs after the demo" ||
	ok "em-origin is stopped"

done_testing
