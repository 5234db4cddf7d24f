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
# chunks finished).
same_store() {
	diff -r -x '*.json' -x '*.chunks' -x '*.chunks.*' "$1" "$2" >/dev/null 2>&1
}

# Call last: exit status of the test.
done_testing() {
	echo "$NOK passed, $NFAIL failed"
	[ "$NFAIL" -eq 0 ]
	exit $?
}
