#!/bin/sh
# slurm-cluster.sh - the single-node Slurm cluster that em-ingest --engine slurm is tested on
# (scripts/slurm-local through t/slurm.sh): it starts, runs a job array with an afterok job
# after it, holds a dependent job back when a task fails, cancels one task, enforces --mem
# (and shows that without OverMemoryKill nothing does), and stops leaving no daemon and no
# job process behind.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/slurm.sh"

sl() { sh "$TOP/scripts/slurm-local" "$@"; }

# The script itself: POSIX, clean for shellcheck, and dash reads it.
if command -v shellcheck >/dev/null 2>&1; then
	run shellcheck -s sh "$TOP/scripts/slurm-local" "$TOP/t/slurm.sh"
	expect_rc 0 "shellcheck is clean on scripts/slurm-local and t/slurm.sh"
fi
if command -v dash >/dev/null 2>&1; then
	run dash -n "$TOP/scripts/slurm-local"
	expect_rc 0 "dash parses scripts/slurm-local"
fi

# Usage errors say so before anything starts.
run sl
expect_rc 2 "slurm-local with no arguments: usage"
expect_grep '^usage: slurm-local start|stop|env DIR$' "$SCRATCH/err" "the usage line on stderr"
run sl --help
expect_rc 0 "slurm-local --help"
expect_grep '^usage: slurm-local start|stop|env DIR$' "$SCRATCH/out" "the usage line on stdout"
run sl restart "$SCRATCH/x"
expect_rc 2 "an unknown verb: usage"
run sl stop "$SCRATCH/none"
expect_rc 1 "stop of a directory that does not exist fails"
expect_grep "^slurm-local: no cluster directory '$SCRATCH/none'\$" "$SCRATCH/err" "naming it"
mkdir -p "$SCRATCH/empty"
run sl env "$SCRATCH/empty"
expect_rc 1 "env of a directory with no cluster fails"
expect_grep "'$SCRATCH/empty' holds no cluster" "$SCRATCH/err" "naming it"

slurm_start
ok "the cluster started in $SLURM_DIR"
run env SLURM_LOCAL_MEMKILL=2 sh "$TOP/scripts/slurm-local" start "$SCRATCH/bad"
expect_rc 1 "a bad SLURM_LOCAL_MEMKILL is refused"
expect_grep "SLURM_LOCAL_MEMKILL '2' is not 0 or 1" "$SCRATCH/err" "naming the value"
[ ! -e "$SCRATCH/bad" ] && ok "and nothing is made" || fail "$SCRATCH/bad was made"
run sl env "$SLURM_DIR"
echo "SLURM_CONF='$SLURM_DIR/etc/slurm.conf'; export SLURM_CONF" >"$SCRATCH/env.want"
expect_same "$SCRATCH/env.want" "$SCRATCH/out" "slurm-local env prints SLURM_CONF for eval"
run sl start "$SLURM_DIR"
expect_rc 1 "a second start in the same directory is refused"
expect_grep "a cluster is running in '$SLURM_DIR'" "$SCRATCH/err" "naming the directory"

run sinfo -h -o '%P %T %c %D %N'
echo "debug* idle 2 1 $SLURM_NODE" >"$SCRATCH/sinfo.want"
expect_same "$SCRATCH/sinfo.want" "$SCRATCH/out" "sinfo: partition debug (default), one idle node with 2 CPUs"
realmem=$(scontrol -o show node "$SLURM_NODE" | tr ' ' '\n' | sed -n 's/^RealMemory=//p')
total=$(awk '$1 == "MemTotal:" { print int($2 / 1024) }' /proc/meminfo)
if [ -n "$realmem" ] && [ "$realmem" -gt 0 ] && [ "$realmem" -lt "$total" ]; then
	ok "the node's RealMemory ($realmem MB) is below the machine's ($total MB)"
else
	fail "the node's RealMemory '$realmem' is not below the machine's $total MB"
fi
for port in $(sed -n 's/^Slurm\(ctld\|d\)Port=//p' "$SLURM_CONF"); do
	if [ "$(ss -H -ltn "sport = :$port" | awk '{ print $4 }' | sort -u)" = "127.0.0.1:$port" ]; then
		ok "port $port listens on 127.0.0.1 only"
	else
		fail "port $port does not listen on 127.0.0.1"; ss -ltn | sed 's/^/#   /'
	fi
done
[ "$(sed -n 's/^MaxArraySize=//p' "$SLURM_CONF")" -ge 100000 ] && ok "MaxArraySize is at least 100000" ||
	fail "MaxArraySize is below 100000"
expect_grep "^AuthInfo=socket=.*munge.socket.2$" "$SLURM_CONF" "munge: a socket of the cluster's own"

# A job array of four tasks, each writing its file, and an afterok job after it.
J=$SCRATCH/jobs
mkdir -p "$J"
cat >"$J/task.sh" <<'EOF'
#!/bin/sh
echo "task=$SLURM_ARRAY_TASK_ID of=$SLURM_ARRAY_TASK_COUNT array=$SLURM_ARRAY_JOB_ID alloc_cpus=$SLURM_CPUS_ON_NODE" \
	>"$SLURM_SUBMIT_DIR/out.$SLURM_ARRAY_TASK_ID"
EOF
cat >"$J/after.sh" <<'EOF'
#!/bin/sh
ls "$SLURM_SUBMIT_DIR" | grep '^out\.' | tr '\n' ' ' >"$SLURM_SUBMIT_DIR/after.txt"
EOF
cd "$J" || exit 1
run sbatch --parsable --array=1-4 -o 'log.%A_%a' task.sh
expect_rc 0 "sbatch --array=1-4"
arr=$(cat "$SCRATCH/out")
case $arr in '' | *[!0-9]*) fail "sbatch --parsable printed '$arr', not a job id" ;; *) ok "array job $arr" ;; esac
run sbatch --parsable --dependency="afterok:$arr" -o after.log after.sh
expect_rc 0 "sbatch --dependency=afterok on the array"
after=$(cat "$SCRATCH/out")
if slurm_wait 120 "$arr" "$after"; then ok "the array and its afterok job finished"; else
	fail "the array and its afterok job are not done after 120s"; squeue -t all | sed 's/^/#   /'
fi
printf '1 COMPLETED\n2 COMPLETED\n3 COMPLETED\n4 COMPLETED\n' >"$SCRATCH/want"
slurm_state "$arr" >"$SCRATCH/got"
expect_same "$SCRATCH/want" "$SCRATCH/got" "every task COMPLETED"
for i in 1 2 3 4; do
	echo "task=$i of=4 array=$arr alloc_cpus=1" >"$SCRATCH/want"
	expect_same "$SCRATCH/want" "$J/out.$i" "task $i wrote its file with SLURM_ARRAY_TASK_ID=$i, on one CPU"
	[ -f "$J/log.${arr}_$i" ] && ok "task $i's log is log.${arr}_$i" || fail "no log.${arr}_$i"
	expect_grep "^JobId=[0-9]* .*JobState=COMPLETED .* ArrayJobId=$arr ArrayTaskId=$i .*ExitCode=0:0" \
		"$SLURM_DIR/log/jobcomp.log" "task $i in the job completion log"
done
[ "$(slurm_state "$after")" = COMPLETED ] && ok "the afterok job COMPLETED" ||
	fail "the afterok job is $(slurm_state "$after")"
printf 'out.1 out.2 out.3 out.4 ' >"$SCRATCH/want"
expect_same "$SCRATCH/want" "$J/after.txt" "the afterok job saw every task's file"
# It started after the last task ended (scontrol's times are ISO 8601, so they sort as text).
last=$(for i in 1 2 3 4; do slurm_field "${arr}_$i" EndTime; done | sort | tail -n 1)
start=$(slurm_field "$after" StartTime)
if [ -n "$last" ] && [ "$(printf '%s\n%s\n' "$last" "$start" | sort | tail -n 1)" = "$start" ]; then
	ok "the afterok job started ($start) after the last task ended ($last)"
else
	fail "the afterok job started at '$start', the last task ended at '$last'"
fi

# A task that fails: an afterok job on the array never runs.  What Slurm does with it: it
# stays PENDING with Reason=DependencyNeverSatisfied (the default), or is CANCELLED at once
# with --kill-on-invalid-dep=yes (what a pipeline wants, so that nothing waits forever).
cat >"$J/fail.sh" <<'EOF'
#!/bin/sh
echo "$SLURM_ARRAY_TASK_ID" >"$SLURM_SUBMIT_DIR/fail.$SLURM_ARRAY_TASK_ID"
[ "$SLURM_ARRAY_TASK_ID" = 2 ] && exit 3
exit 0
EOF
run sbatch --parsable --array=1-3 -o 'flog.%a' fail.sh
farr=$(cat "$SCRATCH/out")
run sbatch --parsable --dependency="afterok:$farr" -o never.log --wrap 'touch never.ran'
never=$(cat "$SCRATCH/out")
run sbatch --parsable --kill-on-invalid-dep=yes --dependency="afterok:$farr" -o never2.log \
	--wrap 'touch never2.ran'
never2=$(cat "$SCRATCH/out")
slurm_wait 120 "$farr" "$never" "$never2" || fail "the failing array is not done after 120s"
printf '1 COMPLETED\n2 FAILED\n3 COMPLETED\n' >"$SCRATCH/want"
slurm_state "$farr" >"$SCRATCH/got"
expect_same "$SCRATCH/want" "$SCRATCH/got" "task 2 FAILED, the others COMPLETED"
[ "$(slurm_field "${farr}_2" ExitCode)" = 3:0 ] && ok "task 2's ExitCode is 3:0" ||
	fail "task 2's ExitCode is '$(slurm_field "${farr}_2" ExitCode)'"
[ "$(slurm_state "$never") $(slurm_field "$never" Reason)" = "PENDING DependencyNeverSatisfied" ] &&
	ok "the afterok job stays PENDING with Reason=DependencyNeverSatisfied" ||
	fail "the afterok job is $(slurm_state "$never") ($(slurm_field "$never" Reason))"
[ "$(slurm_state "$never2")" = CANCELLED ] && ok "with --kill-on-invalid-dep=yes it is CANCELLED" ||
	fail "with --kill-on-invalid-dep=yes it is $(slurm_state "$never2")"
[ ! -e "$J/never.ran" ] && [ ! -e "$J/never2.ran" ] && ok "neither ran" || fail "a dependent job ran"
run scancel "$never"
expect_rc 0 "scancel of the pending job"
slurm_wait 30 "$never"
[ "$(slurm_state "$never")" = CANCELLED ] && ok "it is CANCELLED" ||
	fail "after scancel it is $(slurm_state "$never")"

# scancel of one running task: it ends CANCELLED, the others run to the end.
cat >"$J/long.sh" <<'EOF'
#!/bin/sh
echo $$ >"$SLURM_SUBMIT_DIR/running.$SLURM_ARRAY_TASK_ID"
[ "$SLURM_ARRAY_TASK_ID" = 1 ] && sleep 300
sleep 1
echo done >"$SLURM_SUBMIT_DIR/done.$SLURM_ARRAY_TASK_ID"
EOF
run sbatch --parsable --array=1-3 -o 'llog.%a' long.sh
larr=$(cat "$SCRATCH/out")
i=0
while [ ! -s "$J/running.1" ] && [ "$i" -lt 300 ]; do i=$((i + 1)); sleep 0.2; done
[ "$(slurm_state "${larr}_1")" = RUNNING ] && ok "task 1 is RUNNING" ||
	fail "task 1 is $(slurm_state "${larr}_1")"
run scancel "${larr}_1"
expect_rc 0 "scancel ${larr}_1"
slurm_wait 60 "$larr" || fail "the array is not done 60s after the scancel"
printf '1 CANCELLED\n2 COMPLETED\n3 COMPLETED\n' >"$SCRATCH/want"
slurm_state "$larr" >"$SCRATCH/got"
expect_same "$SCRATCH/want" "$SCRATCH/got" "task 1 CANCELLED, tasks 2 and 3 COMPLETED"
[ ! -e "$J/done.1" ] && [ -e "$J/done.2" ] && [ -e "$J/done.3" ] &&
	ok "the cancelled task stopped; the others finished" || fail "done files: $(ls "$J" | grep done)"
p=$(cat "$J/running.1")
kill -0 "$p" 2>/dev/null && fail "the cancelled task's shell (pid $p) still runs" ||
	ok "the cancelled task's processes are gone"

# Memory per task (--mem).  proctrack/linuxproc has no cgroups, so the kernel does not hold a
# job to its --mem; Slurm's jobacct_gather/linux samples the step's RSS every second and, with
# JobAcctGatherParams=OverMemoryKill (scripts/slurm-local sets it), kills the step that passed
# its --mem: the job ends FAILED (signal 9) with "exceeded memory limit" in its output.  Being
# sampled, the limit is passed for up to a second before it acts.  Below, the same job with
# OverMemoryKill off runs to the end: --mem then only reserves memory on the node.
memjob() { # MEM HOLD NAME: memhog holding HOLD for 4 s in a job with --mem=MEM
	sbatch --parsable --mem="$1" -o "$3.log" \
		--wrap "memhog $2 4 && echo survived >$3.survived" 2>"$SCRATCH/err"
}
big=$(memjob 40M 300M big)
small=$(memjob 400M 50M small)
slurm_wait 120 "$big" "$small" || fail "the memory jobs are not done after 120s"
[ "$(slurm_state "$big")" = FAILED ] && ok "a task over its --mem (300M held, 40M asked) FAILED" ||
	fail "a task over its --mem is $(slurm_state "$big")"
expect_grep "exceeded memory limit" "$J/big.log" "its output says it exceeded its memory limit"
[ ! -e "$J/big.survived" ] && ok "it was killed before the end" || fail "it ran to the end"
[ "$(slurm_field "$big" ExitCode)" = 0:9 ] && ok "killed by signal 9 (ExitCode 0:9)" ||
	fail "its ExitCode is $(slurm_field "$big" ExitCode)"
[ "$(slurm_state "$small")" = COMPLETED ] && [ -e "$J/small.survived" ] &&
	ok "a task within its --mem (50M held, 400M asked) COMPLETED" ||
	fail "a task within its --mem is $(slurm_state "$small")"
run sbatch --parsable --mem="$((realmem + 1))M" --wrap true
expect_rc 1 "a job asking more memory than the node has is refused at submission"
expect_grep "Requested node configuration is not available" "$SCRATCH/err" "saying why"

# Stop with a job still running: no daemon, no job process, no pid file left.
run sbatch --parsable -o stay.log --wrap "echo \$\$ >$J/stay.pid; sleep 300"
stay=$(cat "$SCRATCH/out")
i=0
while [ ! -s "$J/stay.pid" ] && [ "$i" -lt 300 ]; do i=$((i + 1)); sleep 0.2; done
staypid=$(cat "$J/stay.pid" 2>/dev/null)
[ -n "$staypid" ] && kill -0 "$staypid" 2>/dev/null && ok "job $stay runs (pid $staypid)" ||
	fail "job $stay did not start"
pids=$(cat "$SLURM_DIR"/pid/*.pid | tr "\n" " " | sed "s/ $//")
[ "$(echo "$pids" | wc -w)" -eq 3 ] && ok "three pid files (munged, slurmctld, slurmd)" ||
	fail "pid files: $(ls "$SLURM_DIR/pid")"
for p in $pids; do
	kill -0 "$p" 2>/dev/null || fail "daemon $p is not running before the stop"
done
dir=$SLURM_DIR
slurm_stop
[ "$SLURM_STOP_RC" -eq 0 ] && ok "slurm_stop succeeded" || fail "slurm_stop exited $SLURM_STOP_RC"
left=""
for p in $pids $staypid; do
	ps -p "$p" >/dev/null 2>&1 && left="$left $p"
done
[ -z "$left" ] && ok "no daemon and no job process left (pids $pids $staypid)" ||
	fail "still running after the stop:$left"
[ -z "$(ls "$dir/pid")" ] && ok "no pid file left" || fail "pid files left: $(ls "$dir/pid")"
run sl stop "$dir"
expect_rc 0 "a second stop is harmless"

# Without OverMemoryKill nothing holds a task to its --mem.
SLURM_LOCAL_MEMKILL=0
export SLURM_LOCAL_MEMKILL
slurm_start
unset SLURM_LOCAL_MEMKILL
free=$(memjob 40M 300M free)
slurm_wait 120 "$free" || fail "the job is not done after 120s"
[ "$(slurm_state "$free")" = COMPLETED ] && [ -e "$J/free.survived" ] &&
	ok "without OverMemoryKill a task over its --mem runs to the end" ||
	fail "without OverMemoryKill a task over its --mem is $(slurm_state "$free")"
expect_nogrep "exceeded memory limit" "$J/free.log" "and nothing says it exceeded its limit"
dir=$SLURM_DIR
pids=$(cat "$SLURM_DIR"/pid/*.pid | tr "\n" " " | sed "s/ $//")
slurm_stop
left=""
for p in $pids; do
	ps -p "$p" >/dev/null 2>&1 && left="$left $p"
done
[ -z "$left" ] && ok "stopped again, no daemon left" || fail "still running:$left"
cd "$TOP" || exit 1
done_testing
