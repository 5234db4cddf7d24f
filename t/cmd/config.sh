# config.sh - the shipped config/config.yaml loads, holds the archives' facts, takes overrides
# from the environment and overlays, and errors name file:line:col.
. "$(dirname "$0")/../lib.sh"
CFG=$TOP/config/config.yaml
for v in EM_DATA_ROOT EM_JOBS EM_MEMORY_BUDGET EM_EMPIAR_API EM_EMPIAR_Z_NM EM_DVID_SERVER \
	EM_OPENORGANELLE_BASE EM_OPENORGANELLE_LEVEL EM_COMPRESSOR EM_LEVEL EM_EXECUTION_MODE \
	EM_LOGS_DIR EM_CONTACT EM_EMPIAR_DATA EM_EPFL_BASE EM_DVID_UUID EM_IDR_BASE EM_IDR_FILES \
	EM_CATALOG_DIR EM_ORIGIN_PORT; do
	unset "$v"
done

run yaml2json "$CFG"
expect_rc 0 "config/config.yaml loads"
cp "$SCRATCH/out" "$SCRATCH/cfg.json"

command -v python3 >/dev/null || skip "python3 is not installed"
# get PATH EXPECTED-JSON: the value at the dotted path is exactly the JSON given.  The
# expectations are collected and checked in one run of check_gets.
: >"$SCRATCH/gets"
get() { printf '%s\t%s\n' "$1" "$2" >>"$SCRATCH/gets"; }
check_gets() {
	python3 -c '
import json, sys
cfg = json.load(open(sys.argv[1]))
for line in open(sys.argv[2]):
    path, want = line.rstrip("\n").split("\t")
    v = cfg
    try:
        for k in path.split("."):
            v = v[k]
    except (KeyError, TypeError):
        print("not ok - %s is missing" % path)
        continue
    w = json.loads(want)
    if v == w and type(v) == type(w):
        print("ok - %s = %s" % (path, want))
    else:
        print("not ok - %s = %r, expected %s" % (path, v, want))
' "$SCRATCH/cfg.json" "$SCRATCH/gets" >"$SCRATCH/got" 2>&1
	NOK=$((NOK + $(grep -c '^ok' "$SCRATCH/got")))
	NFAIL=$((NFAIL + $(grep -c '^not ok' "$SCRATCH/got")))
	cat "$SCRATCH/got"
	[ -s "$SCRATCH/got" ] || fail "no output from the check"
	: >"$SCRATCH/gets"
}
get global.data_root '"data"'
get global.chunks '[64, 64, 64]'
get global.jobs 4
get global.memory_budget '"8G"'
get global.execution_mode '"staged"'
get sources.empiar.entry 11759
get sources.empiar.expected_shape '[16, 5500, 5496]'
get sources.empiar.z_spacing_nm 50
get sources.empiar.pixel_size_xy_nm 8
get sources.empiar.modality '"SBF-SEM"'
get sources.empiar.api_url '"https://www.ebi.ac.uk/empiar/api/entry/EMPIAR-11759/"'
get sources.empiar.data_url '"https://ftp.ebi.ac.uk/empiar/world_availability/11759/data/"'
get sources.empiar.data_url_ftp '"ftp://ftp.ebi.ac.uk/empiar/world_availability/11759/data/"'
get sources.empiar.license '"CC0-1.0"'
get sources.empiar.doi '"10.6019/EMPIAR-11759"'
get sources.epfl.base_url '"https://documents.epfl.ch/groups/c/cv/cvlab-unit/www/data/%20ElectronMicroscopy_Hippocampus/"'
get sources.epfl.expected_bytes 3353674357
get sources.epfl.expected_shape '[1065, 1536, 2048]'
get sources.epfl.voxel_size_nm '[5, 5, 5]'
get sources.dvid.uuid '"a89eb3af216a46cdba81204d8f954786"'
get sources.dvid.instance '"grayscale"'
get sources.dvid.voxel_size_nm '[8, 8, 8]'
get sources.dvid.doi '"10.7554/eLife.57443"'
get sources.idr.image_id 9846137
get sources.idr.study '"idr0086-miron-micrographs"'
get sources.idr.webgateway_url '"https://idr.openmicroscopy.org/webgateway/imgData/9846137/"'
get sources.idr.file_url '"https://ftp.ebi.ac.uk/pub/databases/IDR/idr0086-miron-micrographs/20200610-ftp/experimentD/Miron_FIB-SEM/Miron_FIB-SEM_processed/Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif"'
get sources.idr.expected_shape '[184, 775, 1121]'
get sources.idr.doi '"10.1126/sciadv.aba8811"'
get sources.openorganelle.zarr_url '"https://janelia-cosem-datasets.s3.amazonaws.com/jrc_mus-nacc-2/jrc_mus-nacc-2.zarr"'
get sources.openorganelle.array '"recon-2/em/fibsem-int16"'
get sources.openorganelle.level '"s0"'
get sources.openorganelle.data_type '"int16"'
get sources.openorganelle.expected_shape '[564, 2520, 2596]'
get sources.openorganelle.voxel_size_nm '[2.96, 4.0, 4.0]'
get consolidation.output_dir '"catalog"'
get docker.memory_limits.epfl '"8G"'
get development.testing.origin_host '"127.0.0.1"'
check_gets

# Environment overrides: typed after interpolation.
EM_DATA_ROOT=/srv/em EM_JOBS=2 EM_EMPIAR_Z_NM=45.5 EM_EMPIAR_API=http://127.0.0.1:8080/empiar/api \
	run yaml2json "$CFG"
expect_rc 0 "loads with overrides"
cp "$SCRATCH/out" "$SCRATCH/cfg.json"
get global.data_root '"/srv/em"'
get global.jobs 2
get sources.empiar.z_spacing_nm 45.5
get sources.empiar.api_url '"http://127.0.0.1:8080/empiar/api/entry/EMPIAR-11759/"'
check_gets

# An overlay points a source at a local mirror and keeps everything else.
cat >"$SCRATCH/local.yaml" <<'YAML'
sources:
  idr:
    webgateway_url: http://127.0.0.1:${PORT:9999}/webgateway/imgData/9846137/
global:
  chunks: [16, 16, 16]
YAML
PORT=4321 run yaml2json "$CFG" "$SCRATCH/local.yaml"
expect_rc 0 "loads with an overlay"
cp "$SCRATCH/out" "$SCRATCH/cfg.json"
get sources.idr.webgateway_url '"http://127.0.0.1:4321/webgateway/imgData/9846137/"'
get sources.idr.image_id 9846137
get global.chunks '[16, 16, 16]'
get global.jobs 4
check_gets

# Errors name file:line:col.
printf 'global:\n  jobs: 4\n  data_root: ${EM_T_NOT_SET}/x\n' >"$SCRATCH/bad.yaml"
run yaml2json "$SCRATCH/bad.yaml"
expect_rc 1 "an unset variable without a default fails"
expect_grep "$SCRATCH/bad.yaml:3:14: environment variable 'EM_T_NOT_SET' is not set" "$SCRATCH/err" \
	"the message names the variable, file, line and column"
printf 'a: 1\nb:\n  c: *ref\n' >"$SCRATCH/alias.yaml"
run yaml2json "$SCRATCH/alias.yaml"
expect_rc 1 "an alias is refused"
expect_grep "alias.yaml:3:6: anchors and aliases are not supported" "$SCRATCH/err" "with its position"

# em-config(5) documents every key of the shipped file.
run python3 -c '
import json, re, sys
cfg = json.load(open(sys.argv[1]))
man = open(sys.argv[2]).read()
def keys(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            yield path + [k]
            if path[:1] != ["docker"] or len(path) < 2:
                yield from keys(x, path + [k])
missing = sorted(set(p[-1] for p in keys(cfg, []) if not re.search(r"^(\.It(.* ,)? Cm |\.Ss ([a-z_.]*\.)?)" + re.escape(p[-1]) + r"\b", man, re.M)))
assert not missing, "undocumented keys: %s" % missing
' "$SCRATCH/cfg.json" "$TOP/man/em-config.5"
expect_rc 0 "em-config(5) has an entry for every key of config/config.yaml"
# Numbers that cannot be meant are refused where they are written (file:line:col).
bad() { # KEY-PATH-YAML LINE COL MESSAGE
	printf '%b' "$1" >"$SCRATCH/bad.yaml"
	run em-config --config "$SCRATCH/bad.yaml" global
	expect_rc 1 "refused: $4"
	expect_grep "bad.yaml:$2:$3: $4" "$SCRATCH/err" "at its place: $4"
}
bad 'global:\n  http:\n    retries: -3\n' 3 14 "'global.http.retries' is -3, expected 1 to 1000"
bad 'global:\n  http:\n    retries: 0\n' 3 14 "'global.http.retries' is 0, expected 1 to 1000"
bad 'global:\n  http:\n    backoff_initial_ms: -500\n' 3 25 "'global.http.backoff_initial_ms' is -500"
bad 'global:\n  http:\n    backoff_max_ms: 0\n' 3 21 "'global.http.backoff_max_ms' is 0"
bad 'global:\n  http:\n    connect_timeout_s: -1\n' 3 24 "'global.http.connect_timeout_s' is -1"
bad 'global:\n  http:\n    low_speed_time_s: -60\n' 3 23 "'global.http.low_speed_time_s' is -60"
bad 'global:\n  jobs: 0\n' 2 9 "'global.jobs' is 0, expected 1 to 256"
bad 'global:\n  jobs: 100000\n' 2 9 "'global.jobs' is 100000, expected 1 to 256"
bad 'docker:\n  memory_limits:\n    epfl: -8\n' 3 11 "'docker.memory_limits.epfl' is -8, expected at least 1 bytes"
bad 'docker:\n  memory_limits:\n    epfl: 0G\n' 3 11 "'docker.memory_limits.epfl' is 0G, expected at least 1 bytes"
bad 'docker:\n  memory_limits:\n    epfl: lots\n' 3 11 "'docker.memory_limits.epfl' is 'lots', not a memory size"
bad 'sources:\n  epfl:\n    expected_bytes: -1\n' 3 21 "'sources.epfl.expected_bytes' is -1, expected at least 1 bytes"
bad 'sources:\n  dvid:\n    max_parallel: -4\n' 3 19 "'sources.dvid.max_parallel' is -4"
bad 'global:\n  http:\n    retries: 2.5\n' 3 14 "'global.http.retries' is 2.5, expected a whole number"
bad 'global:\n  http:\n    low_speed_bytes: -1\n' 3 22 "'global.http.low_speed_bytes' is -1, expected 0 to"
bad 'global:\n  level: 30\n' 2 10 "'global.level' is 30, expected 0 to 22"
bad 'global:\n  chunks: [0, 64, 64]\n' 2 11 "'global.chunks' item 1 is not a whole number from 1 to 4096"
bad 'global:\n  chunks: [64, -1, 64]\n' 2 11 "'global.chunks' item 2 is not a whole number from 1 to 4096"
bad 'global:\n  chunks: [64, 64, 99999]\n' 2 11 "'global.chunks' item 3 is not a whole number"
bad 'global:\n  chunks: [64, 64]\n' 2 11 "'global.chunks' has 2 items, expected 3"
bad 'development:\n  testing:\n    chunks: [16, 16, 1.5]\n' 3 13 "'development.testing.chunks' item 3"
printf 'global:\n  http:\n    retries: 3\n' >"$SCRATCH/ok.yaml"
run em-config --config "$SCRATCH/ok.yaml" global.http.retries
expect_rc 0 "a sane value is taken"
done_testing
