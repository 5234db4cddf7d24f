#!/bin/sh
# ingest-slurm.sh - em-ingest --engine slurm on a real single-node Slurm cluster (t/slurm.sh)
# against the demo mirror (scripts/demo-mirror.sh -s small) on em-origin:
#   - bad input (an unknown engine, bad part counts, options of the other engine, Slurm not
#     installed, not answering, an unknown partition): a clear message, exit 2 or 1, nothing
#     submitted or written;
#   - a dry run prints the sbatch commands and submits nothing;
#   - 4 parts per source give the stores and records (sha256, statistics, levels) of the
#     local engine's run; --status says complete; a second run submits nothing;
#   - one part cancelled mid-run (scancel): --status names it, a re-run submits that part
#     alone, and the result is the same;
#   - one part whose chunks the origin answers with 500s: the source is failed naming the
#     part, the other parts' chunks stay whole; the origin fixed, a re-run completes it.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/slurm.sh"

PY=/usr/bin/python3
$PY -c 'import numpy, tifffile, zarr, numcodecs' 2>/dev/null ||
	skip "python3-numpy, -tifffile, -zarr or -numcodecs missing (make deps)"
[ -x "$TOP/t/prog/mkdm3" ] || skip "no t/prog/mkdm3 (the DM3 writer of the file fetchers' tests)"
ALL="empiar epfl dvid idr openorganelle"
unset EM_EXECUTION_MODE EM_MEMORY_BUDGET EM_DATA_ROOT EM_LOGS_DIR EM_CATALOG_DIR EM_CACHE_DIR \
	EM_ENGINE SLURM_CONF
EM_CONFIG=$TOP/config/config.yaml
EM_MEMORY_BUDGET=2G
export EM_CONFIG EM_MEMORY_BUDGET

if command -v shellcheck >/dev/null 2>&1; then
	run shellcheck -s sh "$TOP/em-ingest"
	expect_rc 0 "shellcheck is clean on em-ingest"
fi

# ingest DIR ARGS...: em-ingest (the build tree's, under dash) in DIR, made if need be,
# with the environment's assignments in $ENV_OF (words such as SLURM_CONF=FILE) if any.
ENV_OF=""
ingest() {
	_d=$1
	shift
	mkdir -p "$_d"
	# shellcheck disable=SC2086 # the assignments are words
	(cd "$_d" && exec env $ENV_OF dash "$TOP/em-ingest" "$@") >"$SCRATCH/out" 2>"$SCRATCH/err"
	RC=$?
	ENV_OF=""
}
# nothing_in DIR DESC: DIR is empty (nothing was written).
nothing_in() {
	if [ -z "$(ls -A "$1")" ]; then ok "$2"; else fail "$2: $(ls -A "$1" | tr '\n' ' ')"; fi
}

# --- Bad input, before any cluster ---
mkdir -p "$SCRATCH/bad"
ingest "$SCRATCH/bad" --engine foo
expect_rc 2 "an unknown engine: exit 2"
expect_grep "unknown engine 'foo' (--engine, EM_ENGINE or global.engine: local or slurm)" "$SCRATCH/err" "naming it"
for p in 0 100001 5x -1; do
	ingest "$SCRATCH/bad" --engine slurm --parts "$p" -n
	expect_rc 2 "--parts $p: exit 2"
	expect_grep "bad number of parts (--parts or slurm.parts) '$p'" "$SCRATCH/err" "--parts $p is named"
done
ingest "$SCRATCH/bad" --status
expect_rc 2 "--status with the local engine: exit 2"
expect_grep "option '--status' is for --engine slurm" "$SCRATCH/err" "saying which engine it is for"
ingest "$SCRATCH/bad" --engine slurm --status --wait
expect_rc 2 "--status with --wait: exit 2"
ingest "$SCRATCH/bad" --engine slurm --parts 64 -n
expect_rc 2 "64 parts of a 2 GiB budget: exit 2"
expect_grep "memory per task 32 MiB is too small: at least 224 MiB" "$SCRATCH/err" "the task's memory is said"
# Slurm not installed: a PATH with everything but its clients.
mkdir -p "$SCRATCH/noslurm"
for f in /usr/bin/* /bin/*; do
	case ${f##*/} in sbatch | squeue | sinfo | scancel | srun | scontrol) continue ;; esac
	[ -e "$SCRATCH/noslurm/${f##*/}" ] || ln -s "$f" "$SCRATCH/noslurm/${f##*/}"
done
mkdir -p "$SCRATCH/bad"
(cd "$SCRATCH/bad" && PATH=$SCRATCH/noslurm exec dash "$TOP/em-ingest" --engine slurm) \
	>"$SCRATCH/out" 2>"$SCRATCH/err"
expect_rc 2 "Slurm not installed: exit 2"
expect_grep "cannot run 'sbatch': Slurm's clients are not installed" "$SCRATCH/err" "saying so"
nothing_in "$SCRATCH/bad" "nothing written when the usage is bad or Slurm is missing"

sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH" >"$SCRATCH/mirror.out" 2>&1 ||
	{ cat "$SCRATCH/mirror.out"; fail "demo-mirror.sh"; done_testing; }
# overlay URL FILE: the mirror's overlay for an origin at URL; paths relative to the run.
overlay() {
	sed -e "s|@ORIGIN@|$1|g" -e "s|@DIR@|.|g" \
		-e 's|^global:$|global:\n  chunks: [8, 16, 16]\n  jobs: 2|' \
		"$SCRATCH/overlay.yaml.in" >"$2"
}
start_origin a --root "$SCRATCH/www"
overlay "$ORIGIN_URL" "$SCRATCH/a.yaml"
EM_CONFIG_OVERLAY=$SCRATCH/a.yaml
export EM_CONFIG_OVERLAY

# The local engine's run: what the cluster's must equal.
ingest "$SCRATCH/local"
expect_rc 0 "the local engine's run completes"

slurm_start

# Not answering: a configuration whose controller port nobody listens on.
mkdir -p "$SCRATCH/dead"
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "s/^SlurmctldPort=.*/SlurmctldPort=$port/" "$SLURM_CONF" >"$SCRATCH/dead/slurm.conf"
mkdir -p "$SCRATCH/bad"
ENV_OF=SLURM_CONF=$SCRATCH/dead/slurm.conf
ingest "$SCRATCH/bad" --engine slurm
expect_rc 1 "Slurm not answering: exit 1"
expect_grep "Slurm is not answering: .*Unable to contact slurm controller" "$SCRATCH/err" "saying so, with Slurm's reason"
printf 'slurm:\n  partition: nosuch\n' >"$SCRATCH/part.yaml"
cat "$SCRATCH/a.yaml" "$SCRATCH/part.yaml" >"$SCRATCH/b.yaml"
ENV_OF=EM_CONFIG_OVERLAY=$SCRATCH/b.yaml
ingest "$SCRATCH/bad" --engine slurm
expect_rc 2 "an unknown partition: exit 2"
expect_grep "no Slurm partition 'nosuch' (slurm.partition); sinfo lists: debug" "$SCRATCH/err" "naming it and the partitions there are"
nothing_in "$SCRATCH/bad" "nothing written when Slurm does not answer or the partition is unknown"
[ -z "$(squeue -h -t all -o %i)" ] && ok "and nothing submitted" || fail "jobs were submitted: $(squeue -h -t all)"

# --- A dry run ---
ingest "$SCRATCH/dry" --engine slurm -n dvid
expect_rc 0 "a dry run exits 0"
expect_grep "^engine slurm, 4 parts per source, 512 MiB and 1 CPUs per task$" "$SCRATCH/out" "it says the parts and each task's memory"
expect_grep "^sbatch --job-name=em-dvid-part .*--mem=512M .*--array=1-4 '--wrap=exec .*em-ingest --engine slurm --parts 4 --slurm-task part --part-base 0 dvid'$" "$SCRATCH/out" "the job array's sbatch command"
expect_grep "^sbatch --job-name=em-dvid-pyramid .*--hold --dependency=afterok:JOB1 --kill-on-invalid-dep=yes " "$SCRATCH/out" "the pyramid job after the array, held"
expect_grep "^sbatch --job-name=em-dvid-finish .*--dependency=afterok:JOB2 --kill-on-invalid-dep=yes " "$SCRATCH/out" "the finish job after the pyramid"
expect_grep "^sbatch --job-name=em-consolidate .*--dependency=afterany:JOB3 " "$SCRATCH/out" "em-consolidate after every source"
nothing_in "$SCRATCH/dry" "a dry run writes nothing"
[ -z "$(squeue -h -t all -o %i)" ] && ok "and submits nothing" || fail "jobs were submitted: $(squeue -h -t all)"

# same_results DIR1 DIR2 DESC [SOURCE...]: the same stores, and records that compute the same.
same_results() {
	_a=$1 _b=$2 _d=$3
	shift 3
	[ $# -gt 0 ] || set -- $ALL
	_ok=1 _n=0
	for _s; do
		for st in "$_a/data/$_s"/*.zarr; do
			_r=${st#"$_a"/}
			_n=$((_n + 1))
			same_store "$st" "$_b/$_r" || { _ok=0; echo "# $_r differs"; }
		done
	done
	if $PY - "$_a" "$_b" "$@" >"$SCRATCH/diff" <<'EOF'; then :; else _ok=0; sed 's/^/#   /' "$SCRATCH/diff"; fi
import glob, json, sys
a, b = sys.argv[1:3]
bad = 0
for s in sys.argv[3:]:
    ra = sorted(p for p in glob.glob(f"{a}/data/{s}/*.json") if ".part-" not in p)
    if not ra:
        print("no record of", s); bad += 1
    for p in ra:
        x = json.load(open(p))
        y = json.load(open(b + p[len(a):]))
        for k in ("status", "sha256", "statistics", "levels", "volume_shape", "chunk_size",
                  "data_type", "file_size_bytes", "compression", "zarr_format", "voxel_size_nm"):
            if x.get(k) != y.get(k):
                print(p, k, json.dumps(x.get(k))[:150], json.dumps(y.get(k))[:150]); bad += 1
        if y.get("parts") != {"count": 4}:
            print(p, "parts", y.get("parts")); bad += 1
sys.exit(1 if bad else 0)
EOF
	[ "$_n" -gt 0 ] || _ok=0
	if [ "$_ok" -eq 1 ]; then ok "$_d"; else fail "$_d"; fi
}
# tasks ID: how many tasks Slurm ran or runs for the array job ID.
tasks() {
	squeue -h -r -t all -j "$1" -o %i | wc -l | tr -d ' '
}

# --- 4 parts per source, followed to the end ---
ingest "$SCRATCH/s1" --engine slurm --wait
expect_rc 0 "em-ingest --engine slurm --wait: every source complete, exit 0"
for s in $ALL; do
	expect_grep "^em-ingest: $s: submitted job array [0-9]*: 4 of 4 parts (1-4)$" "$SCRATCH/err" "$s: a job array of 4 parts"
	expect_grep "^$s  *complete  *4/4 " "$SCRATCH/out" "$s: complete, 4 of 4 parts"
done
expect_grep "^em-ingest: submitted job [0-9]*: em-consolidate and the catalog, after every source$" "$SCRATCH/err" "em-consolidate after them"
ids=$(head -n 1 "$SCRATCH/out")
[ "$(echo "$ids" | wc -w)" -eq 16 ] && ok "the 16 job ids on stdout ($ids)" || fail "job ids: '$ids'"
# The pyramid: a job array per level, each after the one below (EPFL's 12x48x64 in 8x16x16
# chunks: levels 1 and 2, of 4 parts and 1).
if grep -q "^level [0-9]* 1 4 \./data/epfl/hippocampus-ca1.zarr$" "$SCRATCH/s1/logs/slurm/epfl.jobs" &&
    grep -q "^level [0-9]* 2 1 \./data/epfl/hippocampus-ca1.zarr$" "$SCRATCH/s1/logs/slurm/epfl.jobs"; then
	ok "the pyramid job submitted level 1 in 4 parts, then level 2 in 1"
else
	fail "levels: $(cat "$SCRATCH/s1/logs/slurm/epfl.jobs")"
fi
l2=$(awk '$1 == "level" && $3 == 2 { print $2 }' "$SCRATCH/s1/logs/slurm/epfl.jobs")
l1=$(awk '$1 == "level" && $3 == 1 { print $2 }' "$SCRATCH/s1/logs/slurm/epfl.jobs")
end1=$(squeue -h -t all -r -j "$l1" -o %e | sort | tail -n 1)
start2=$(squeue -h -t all -r -j "$l2" -o %S | sort | head -n 1)
if [ -n "$end1" ] && [ -n "$start2" ] && ! expr "$start2" \< "$end1" >/dev/null; then
	ok "level 2's array started after level 1's ended ($start2, $end1)"
else
	fail "level 2 started at '$start2', level 1 ended at '$end1'"
fi
expect_grep "hippocampus-ca1.zarr: the pyramid is whole (3 levels)$" "$SCRATCH/s1/logs/epfl.finish.log" "the finish job found the levels built"
same_results "$SCRATCH/local" "$SCRATCH/s1" "4 parts per source: the local engine's stores, byte for byte, and its records (sha256, statistics, levels)"
set -- "$SCRATCH"/s1/catalog/metadata_catalog_*.json
if [ -f "$1" ] && [ "$($PY -c 'import json, sys
print(sorted(r["source"] for r in json.load(open(sys.argv[1]))["records"] if r["status"] == "complete"))' "$1")" = \
    "['dvid', 'empiar', 'epfl', 'idr', 'openorganelle']" ]; then
	ok "the catalog lists the 5 complete volumes"
else
	fail "the catalog: $(ls "$SCRATCH/s1/catalog")"
fi
for i in 1 2 3 4; do
	[ -s "$SCRATCH/s1/logs/idr.part-$i-of-4.log" ] || fail "no log of idr's part $i"
done
expect_grep "em-meta --merge of 4 part records of 9846137" "$SCRATCH/s1/logs/idr.finish.log" "logs per task: parts and the finish job"
ingest "$SCRATCH/s1" --engine slurm --status
expect_rc 0 "--status: exit 0 when every source is complete"
expect_grep "^dvid  *complete  *4/4  *-$" "$SCRATCH/out" "--status: a line per source"
n=$(squeue -h -t all -o %i | wc -l)
ingest "$SCRATCH/s1" --engine slurm
expect_rc 0 "a second run exits 0"
expect_grep "^em-ingest: every source is complete: nothing submitted$" "$SCRATCH/err" "and submits nothing"
[ "$(squeue -h -t all -o %i | wc -l)" -eq "$n" ] && ok "no job was added" || fail "jobs were added"

# --- --wait on a terminal: one line per source, redrawn in place ---
mkdir -p "$SCRATCH/s4"
(cd "$SCRATCH/s4" && exec $PY "$TOP/t/ptyrun.py" "$SCRATCH/s4.tty" "$SCRATCH/s4.out" 100 -- \
	dash "$TOP/em-ingest" --engine slurm --wait dvid idr)
expect_rc 0 "--wait on a terminal: exit 0"
if $PY - "$SCRATCH/s4.tty" >"$SCRATCH/s4.check" 2>&1 <<'EOF'; then
import re, sys
t = open(sys.argv[1], "rb").read().decode().replace("\r\n", "\n")
frames = t.split("\033[2A")
assert len(frames) >= 2, "one frame only"
last = frames[-1]
for s in ("dvid", "idr"):
    assert re.search("\033\\[2K%s +complete +4/4 parts" % s, last), (s, last[-300:])
print(len(frames), "frames")
EOF
	ok "the live lines are redrawn in place ($(cat "$SCRATCH/s4.check")), ending complete"
else
	fail "the live display: $(tail -n 2 "$SCRATCH/s4.check")"
fi
expect_grep "^dvid  *complete  *4/4 " "$SCRATCH/s4.out" "and the table follows on stdout"

# --- One part cancelled mid-run ---
# OpenOrganelle's chunks come slowly from this origin, so that a part can be caught running.
start_origin slow --root "$SCRATCH/www" --fault 'path=*/fibsem-int16/s0/*,delay=700'
overlay "$ORIGIN_URL" "$SCRATCH/slow.yaml"
ENV_OF=EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml
ingest "$SCRATCH/s2" --engine slurm openorganelle
expect_rc 0 "submitted (no --wait): exit 0 at once"
arr=$(sed -n 's/^em-ingest: openorganelle: submitted job array \([0-9]*\):.*/\1/p' "$SCRATCH/err")
ids=$(head -n 1 "$SCRATCH/out")
i=0
until [ "$(slurm_state "${arr}_2")" = RUNNING ] && [ -s "$SCRATCH/s2/logs/openorganelle.part-2-of-4.log" ]; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || { fail "part 2 never ran: $(slurm_state "$arr")"; break; }
	sleep 0.1
done
sleep 0.5
scancel "${arr}_2"
# shellcheck disable=SC2086 # ids are words
slurm_wait 120 $ids || fail "the jobs did not end"
[ "$(slurm_state "${arr}_2")" = CANCELLED ] && ok "part 2 cancelled while it ran" || fail "part 2: $(slurm_state "${arr}_2")"
ENV_OF=EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml
ingest "$SCRATCH/s2" --engine slurm --status openorganelle
expect_rc 1 "--status after the cancel: exit 1"
expect_grep "^openorganelle  *failed  *3/4  *part 2 of 4: its task ended CANCELLED (see \(\./\)\{0,1\}logs/openorganelle.part-2-of-4.log)$" "$SCRATCH/out" "--status names the cancelled part"
ENV_OF=EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml
ingest "$SCRATCH/s2" --engine slurm --wait openorganelle
expect_rc 0 "the re-run completes"
expect_grep "^em-ingest: openorganelle: submitted job array [0-9]*: 1 of 4 parts (2)$" "$SCRATCH/err" "it submits part 2 alone"
arr2=$(sed -n 's/^em-ingest: openorganelle: submitted job array \([0-9]*\):.*/\1/p' "$SCRATCH/err")
[ "$(tasks "$arr2")" = 1 ] && ok "Slurm ran one task for it" || fail "tasks of $arr2: $(tasks "$arr2")"
same_results "$SCRATCH/local" "$SCRATCH/s2" "after the cancel and the re-run: the local engine's store and record" openorganelle

# --- One part failing: 500s on chunks only part 4 reads (z 8-15, y 32-39 of 16x40x40) ---
start_origin bad --root "$SCRATCH/www" --fault 'path=*/fibsem-int16/s0/1/2/*,status=500'
badport=${ORIGIN_URL##*:}
badport=${badport%/}
badpid=$ORIGIN_PID
overlay "$ORIGIN_URL" "$SCRATCH/bad.yaml"
ENV_OF=EM_CONFIG_OVERLAY=$SCRATCH/bad.yaml
ingest "$SCRATCH/s3" --engine slurm --wait openorganelle
expect_rc 1 "a part that fails: exit 1"
expect_grep "^openorganelle  *failed  *3/4  *part 4 of 4: .*500" "$SCRATCH/out" "the source is failed, naming part 4 and the 500s"
expect_grep "openorganelle: failed" "$SCRATCH/err" "and the error says so"
v=$SCRATCH/s3/data/openorganelle/jrc_mus-nacc-2_fibsem-int16_s0.json
if [ -f "$v" ] && grep -q '"status": "complete"' "$v"; then
	fail "a complete volume record with a failed part"
else
	ok "no complete volume record"
fi
# Every chunk there is whole: the other parts' are the local run's bytes.
$PY - "$SCRATCH/local/data/openorganelle" "$SCRATCH/s3/data/openorganelle" >"$SCRATCH/py.out" 2>&1 <<'EOF' &&
import os, sys
a, b = sys.argv[1:3]
n = 0
for d, _, files in os.walk(os.path.join(b, "jrc_mus-nacc-2_fibsem-int16_s0.zarr", "0")):
    for f in files:
        if f.startswith("."):
            continue
        p = os.path.join(d, f)
        q = os.path.join(a, os.path.relpath(p, b))
        assert open(p, "rb").read() == open(q, "rb").read(), p
        n += 1
assert 10 <= n < 18, n
print(n)
EOF
	ok "the $(cat "$SCRATCH/py.out") chunks written are whole (the local run's bytes)" || fail "chunks: $(tail -n 2 "$SCRATCH/py.out")"
# The origin fixed (the same address, no fault): the re-run completes part 4 alone.
kill "$badpid" && wait "$badpid" 2>/dev/null
start_origin fixed --root "$SCRATCH/www" --port "$badport"
ENV_OF=EM_CONFIG_OVERLAY=$SCRATCH/bad.yaml
ingest "$SCRATCH/s3" --engine slurm --wait openorganelle
expect_rc 0 "the origin fixed, the re-run completes"
expect_grep "^em-ingest: openorganelle: submitted job array [0-9]*: 1 of 4 parts (4)$" "$SCRATCH/err" "it submits part 4 alone"
same_results "$SCRATCH/local" "$SCRATCH/s3" "and gives the local engine's store and record" openorganelle

# --- make demo ENGINE=slurm: its own cluster, started and stopped ---
slurm_stop || fail "the test's cluster did not stop"
run env ENGINE=slurm sh "$TOP/scripts/demo.sh" -s small "$SCRATCH/demo"
expect_rc 0 "scripts/demo.sh with ENGINE=slurm (make demo ENGINE=slurm) exits 0"
expect_grep "^demo: starting a single-node Slurm cluster in $SCRATCH/demo/slurm$" "$SCRATCH/out" "it starts a cluster of its own"
for s in $ALL; do
	expect_grep "^$s  *complete  *4/4 " "$SCRATCH/out" "demo: $s complete in 4 parts"
done
left=""
for f in "$SCRATCH"/demo/slurm/pid/*; do
	[ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && left="$left $f"
done
[ -z "$left" ] && ! pgrep -f "$SCRATCH/demo/slurm" >/dev/null && ok "and stops it: no daemon left" ||
	fail "daemons left:$left $(pgrep -af "$SCRATCH/demo/slurm")"

done_testing
