# em-config.sh - em-config prints what the tools read: the file, the overlay, the environment.
. "$(dirname "$0")/../lib.sh"
cd "$SCRATCH" || exit 1
cat >base.yaml <<'Y'
global:
  memory_budget: ${T_BUDGET:8G}
  chunks: [64, 64, 64]
  name: "plain text"
sources:
  dvid:
    uuid: a89eb3af216a46cdba81204d8f954786
Y
cat >over.yaml <<'Y'
sources:
  dvid:
    uuid: 0123
Y
run em-config --config base.yaml global.memory_budget global.name
expect_rc 0 "two keys"
printf '8G\nplain text\n' >want
expect_same want "$SCRATCH/out" "strings are printed as they are, one per line"
T_BUDGET=2G run em-config --config base.yaml --size global.memory_budget
printf '2147483648\n' >want
expect_same want "$SCRATCH/out" "--size gives bytes after interpolation"
run em-config --config base.yaml --json global.chunks global.name
printf '[64,64,64]\n"plain text"\n' >want
expect_same want "$SCRATCH/out" "--json prints JSON"
run em-config --config base.yaml --overlay over.yaml sources.dvid.uuid
printf '123\n' >want
expect_same want "$SCRATCH/out" "the overlay wins (a plain 0123 is the integer 123)"
EM_CONFIG_OVERLAY=over.yaml run em-config --config base.yaml --json sources.dvid
printf '{"uuid":123}\n' >want
expect_same want "$SCRATCH/out" "EM_CONFIG_OVERLAY is merged too"
run em-config --config base.yaml global.nothing
expect_rc 1 "an absent key exits 1"
expect_grep "no 'global.nothing' in base.yaml" "$SCRATCH/err" "the absent key is named"
run em-config --config base.yaml --default 4 global.nothing
expect_rc 0 "--default for an absent key"
printf '4\n' >want
expect_same want "$SCRATCH/out" "--default value printed"
run em-config --config base.yaml --size global.name
expect_rc 1 "--size on text exits 1"
expect_grep "cannot read 'global.name' as a size" "$SCRATCH/err" "the key is named"
run em-config --config missing.yaml global.chunks
expect_rc 1 "a missing file exits 1"
expect_grep "cannot read configuration: .*missing.yaml" "$SCRATCH/err" "the file is named"
printf 'global: [1, 2\n' >bad.yaml
run em-config --config bad.yaml
expect_rc 1 "a malformed file exits 1"
expect_grep "bad.yaml:" "$SCRATCH/err" "the message gives the file and position"
# The shipped configuration has what em-ingest reads.
run em-config --config "$TOP/config/config.yaml" --size global.memory_budget
expect_rc 0 "the shipped config has a memory budget"
run em-config --config "$TOP/config/config.yaml" global.execution_mode global.data_root global.logs_dir
expect_rc 0 "the shipped config has the orchestrator's keys"
done_testing
