# slurm.sh - sourced by tests that need a Slurm cluster, after t/lib.sh (and after t/origin.sh
# or t/catalog.sh when a test uses them too: source this one last, its exit trap runs theirs).
# The cluster is scripts/slurm-local's: one node, partition debug, on loopback, its own munged.
#
#   slurm_start          starts a cluster in $SCRATCH/slurm; exports SLURM_CONF (all the
#                        clients need), sets SLURM_DIR and SLURM_NODE; skips the test with the
#                        reason (and the daemons' log tails) when it cannot: not root, no
#                        slurm-wlm or munge, EM_SKIP_SLURM=1, a daemon that does not start.
#                        EM_REQUIRE_SLURM=1 (CI's plain pass) makes that last case a failure.
#                        SLURM_LOCAL_* variables size the node (scripts/slurm-local says how).
#   slurm_stop           cancels every job, stops every daemon by its pid file; runs by itself
#                        when the test exits, whatever happens; $SLURM_STOP_RC its status
#   slurm_wait SECS ID...  polls squeue until none of the jobs (ids, or JOB_TASK for an array
#                        task) is pending, running or completing, a job pending on a dependency
#                        that can never be met counting as settled; returns 1 after SECS
#   slurm_state ID       the job's state (COMPLETED, FAILED, CANCELLED, PENDING, ...); for an
#                        array job, one line per task "TASK STATE"
#   slurm_field ID NAME  a field of `scontrol show job ID` (ExitCode, Reason, StartTime, ...)
SLURM_DIR=""
SLURM_STOP_RC=0

slurm_cleanup() {
	slurm_stop
	if command -v origin_cleanup >/dev/null 2>&1; then
		origin_cleanup
	elif command -v catalog_cleanup >/dev/null 2>&1; then
		catalog_cleanup
	else
		t_cleanup
	fi
}
trap slurm_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

slurm_start() {
	[ "${EM_SKIP_SLURM:-0}" = 1 ] && skip "EM_SKIP_SLURM=1 (the Slurm tests run in the plain build)"
	[ "$(id -u)" -eq 0 ] || skip "not root: slurmd and munged need root"
	for _c in slurmctld slurmd sbatch squeue munged mungekey; do
		command -v "$_c" >/dev/null 2>&1 ||
			skip "no $_c: install the Debian packages slurm-wlm and munge (deps/debian.txt)"
	done
	SLURM_DIR=$SCRATCH/slurm
	if ! sh "$TOP/scripts/slurm-local" start "$SLURM_DIR" >"$SCRATCH/slurm-start.log" 2>&1; then
		sed 's/^/#   /' "$SCRATCH/slurm-start.log"
		# The reason is slurm-local's last line; the two before it end the failing daemon's log.
		_why="the Slurm cluster did not start: $(tail -n 1 "$SCRATCH/slurm-start.log" |
			sed 's/^slurm-local: //') [log: $(sed '$d' "$SCRATCH/slurm-start.log" |
			grep -v '^slurm-local: ' | tail -n 2 | sed 's/^ *//' | tr '\n' ' ' | sed 's/ *$//')]"
		if [ "${EM_REQUIRE_SLURM:-0}" = 1 ]; then
			fail "$_why (EM_REQUIRE_SLURM=1)"
			done_testing
		fi
		skip "$_why"
	fi
	eval "$(sh "$TOP/scripts/slurm-local" env "$SLURM_DIR")"
	SLURM_NODE=$(hostname -s)
	export SLURM_DIR SLURM_NODE
}

slurm_stop() {
	[ -n "$SLURM_DIR" ] || return 0
	if [ -f "$SLURM_DIR/etc/slurm.conf" ]; then
		sh "$TOP/scripts/slurm-local" stop "$SLURM_DIR" >"$SCRATCH/slurm-stop.log" 2>&1
		SLURM_STOP_RC=$?
		[ "$SLURM_STOP_RC" -eq 0 ] || sed 's/^/#   slurm-local stop: /' "$SCRATCH/slurm-stop.log"
	fi
	SLURM_DIR=""
	return "$SLURM_STOP_RC"
}

slurm_wait() {
	_secs=$1
	shift
	_ids=$(echo "$*" | tr ' ' ',')
	_n=$((_secs * 5))
	while :; do
		_live=$(squeue -h -j "$_ids" -t PD,R,CG,CF,S,RQ,RS,RF,SO,ST -o '%T %r' 2>/dev/null |
			grep -v -x 'PENDING DependencyNeverSatisfied')
		[ -z "$_live" ] && return 0
		_n=$((_n - 1))
		[ "$_n" -le 0 ] && return 1
		sleep 0.2
	done
}

slurm_state() {
	case $1 in
	*_*) squeue -h -t all -j "$1" -o %T ;;
	*) squeue -h -t all -j "$1" -o '%K %T' | sed 's/^N\/A //' | sort -n ;;
	esac
}

slurm_field() {
	scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
