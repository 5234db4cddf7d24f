# jsonschema-suite.sh - lib/jschema against the official JSON Schema Test Suite (draft 2020-12).
#
# Every file of tests/draft2020-12 except refRemote.json and dynamicRef.json
# (which fetch schemas from http://localhost:1234; the in-document
# $dynamicRef cases pass, and unevaluated*.json use $dynamicRef too),
# vocabulary.json (custom metaschemas) and optional/ (format assertions,
# bignums, ECMA regex corner cases).  The test fails when less than 98%
# pass or when a test fails that is not listed below; a listed test that
# passes fails the test too, so that the list stays honest.
. "$(dirname "$0")/../lib.sh"

SUITE=$TESTDATA/json-schema-test-suite/tests/draft2020-12
need_testdata json-schema-test-suite/tests/draft2020-12

# Known failures: "file | group | test" then the reason after " # ".
cat >"$SCRATCH/known" <<'KNOWN'
defs.json | validate definition against metaschema | valid definition schema # $ref to the 2020-12 metaschema, a remote document (no network, not bundled)
defs.json | validate definition against metaschema | invalid definition schema # $ref to the 2020-12 metaschema, a remote document (no network, not bundled)
ref.json | remote ref, containing refs itself | remote ref valid # $ref to the 2020-12 metaschema, a remote document (no network, not bundled)
ref.json | remote ref, containing refs itself | remote ref invalid # $ref to the 2020-12 metaschema, a remote document (no network, not bundled)
KNOWN
sed 's/ # .*//' "$SCRATCH/known" | sort >"$SCRATCH/known.keys"

files=
for f in "$SUITE"/*.json; do
	case ${f##*/} in
	refRemote.json | dynamicRef.json | vocabulary.json) ;;
	*) files="$files $f" ;;
	esac
done
# shellcheck disable=SC2086
jsonschema-suite $files >"$SCRATCH/out" 2>"$SCRATCH/err"
RC=$?
[ "$RC" -le 1 ] || { fail "jsonschema-suite exit $RC"; cat "$SCRATCH/err"; }
summary=$(tail -n 1 "$SCRATCH/out")
echo "suite: $summary"
case $summary in
*" passed, "*" failed") ;;
*) fail "no summary line (the program died?)"; sed 's/^/#   /' "$SCRATCH/err"; done_testing ;;
esac
npass=${summary%% passed*}
nfail=${summary#*passed, }
nfail=${nfail%% failed*}
total=$((npass + nfail))
if [ "$total" -gt 1000 ] && [ $((npass * 100)) -ge $((total * 98)) ]; then
	ok "at least 98% of $total tests pass ($npass)"
else
	fail "$npass of $total tests pass, expected at least 98%"
fi

sed -n 's/^FAIL //p' "$SCRATCH/out" | sort >"$SCRATCH/failed"
unexpected=$(comm -23 "$SCRATCH/failed" "$SCRATCH/known.keys")
fixed=$(comm -13 "$SCRATCH/failed" "$SCRATCH/known.keys")
if [ -z "$unexpected" ]; then
	ok "every failure is a known one"
else
	fail "unexpected failures:"
	grep -A1 -F "$unexpected" "$SCRATCH/out" | sed 's/^/#   /'
fi
if [ -n "$fixed" ]; then
	fail "listed as known failures but now pass (remove them from the list):"
	printf '%s\n' "$fixed" | sed 's/^/#   /'
fi
done_testing
