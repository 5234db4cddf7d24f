# lib.sh - sourced by the command-level tests in t/cmd: paths, a scratch
# directory, and assertions that say what was expected and what came.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TESTDATA=${EM_TESTDATA:-$TOP/../shared/testdata}
for d in "$TOP"/fetch-* "$TOP"/em-*; do
	[ -d "$d" ] && PATH=$d:$PATH
done
PATH=$TOP/t/prog:$PATH
export PATH TOP TESTDATA
# ASAN=1 in an AddressSanitizer build: it reserves terabytes of address space (so em-ingest
# sets no ulimit -v for it) and its shadow memory and quarantine make RSS no measure of ours.
ASAN=0
grep -q -e '-fsanitize=[a-z,]*address' "$TOP/.build-flags" 2>/dev/null && ASAN=1
TNAME=$(basename "$0" .sh)
SCRATCH=$TOP/t/scratch/$TNAME
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
NFAIL=0
NOK=0

# Remove the scratch directory when the test passes; keep it to look at when not.
t_cleanup() {
	if [ "$NFAIL" -eq 0 ]; then rm -rf "$SCRATCH"; fi
}
trap t_cleanup EXIT

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "not ok - $*"; NFAIL=$((NFAIL + 1)); }
ok() { NOK=$((NOK + 1)); echo "ok - $*"; }

# The shared test data is beside the project in development and CI; a
# user's clone has none, and such tests skip with this line.
need_testdata() {
	[ -d "$TESTDATA/$1" ] || skip "no test data at $TESTDATA/$1 (../shared is not beside this clone)"
}

# run CMD...: runs it, keeping stdout, stderr and the exit status in
# $SCRATCH/out, $SCRATCH/err and $RC.
run() {
	"$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	RC=$?
}

# expect_rc N DESC: the last run exited with N.
expect_rc() {
	if [ "$RC" -eq "$1" ]; then ok "$2"; else
		fail "$2: exit $RC, expected $1"; sed 's/^/#   stderr: /' "$SCRATCH/err" | head -n 20
	fi
}

# expect_out FILE|- DESC: stdout of the last run equals the text (stdin when -).
expect_same() { # file1 file2 desc
	if cmp -s "$1" "$2"; then ok "$3"; else
		fail "$3"; diff -u "$1" "$2" | head -n 40 | sed 's/^/#   /'
	fi
}

# expect_grep PATTERN FILE DESC
expect_grep() {
	if grep -q -e "$1" "$2"; then ok "$3"; else
		fail "$3: no '$1' in $2"; head -n 20 "$2" | sed 's/^/#   /'
	fi
}

expect_nogrep() {
	if grep -q -e "$1" "$2"; then fail "$3: unexpected '$1' in $2"; else ok "$3"; fi
}

# same_store A B: the two stores hold the same arrays and metadata, byte for byte.  What a
# store keeps of its own history is left out: its manifest and records (*.json: the URLs
# and times of the run that wrote it) and its chunk journals (*.chunks*: in the order the
# chunks finished) and its logs of missing source blocks (*.missing*, in the order they were
# met); and of a group's .zattrs, the omero block (the display window) em-meta
# adds after measuring.
same_store() {
	diff -r -x '*.json' -x '*.chunks' -x '*.chunks.*' -x '*.missing' -x '*.missing.*' -x .zattrs "$1" "$2" >/dev/null 2>&1 ||
		return 1
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import json, os, sys
a, b = sys.argv[1:3]
for d, _, files in os.walk(a):
    for f in files:
        if f == ".zattrs":
            p = os.path.join(d, f)
            x, y = (json.load(open(q)) for q in (p, os.path.join(b, os.path.relpath(p, a))))
            x.pop("omero", None)
            y.pop("omero", None)
            if x != y:
                sys.exit(1)
EOF
}

# The invariant every test's records keep, whatever it did to the tools (t/invariant.py):
# a complete record has its store's sha256, and a store's manifest names the record's
# sources.  Checked over the test's scratch directory when it ends.
check_invariant() {
	/usr/bin/python3 -c 'import zarr' 2>/dev/null || return 0
	if /usr/bin/python3 "$TOP/t/invariant.py" "$SCRATCH" >"$SCRATCH/.invariant" 2>&1; then
		ok "every record left here keeps the invariant (t/invariant.py)"
	else
		fail "records break the invariant"; sed 's/^/#   /' "$SCRATCH/.invariant" | head -n 20
	fi
}

# Call last: exit status of the test.
done_testing() {
	check_invariant
	echo "$NOK passed, $NFAIL failed"
	[ "$NFAIL" -eq 0 ]
	exit $?
}
