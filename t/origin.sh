# origin.sh - sourced after t/lib.sh by tests that run against the local origin (em-origin):
# start_origin starts one on a free loopback port; every one started is stopped at exit.
ORIGIN_PIDS=""

origin_cleanup() {
	for p in $ORIGIN_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	t_cleanup
}
trap origin_cleanup EXIT

# start_origin NAME [em-origin options...]: starts em-origin logging to $SCRATCH/NAME.log and
# waits for it to listen; sets ORIGIN_URL (ending in '/'), ORIGIN_PID and ORIGIN_LOG.
start_origin() {
	_name=$1
	shift
	rm -f "$SCRATCH/$_name.port"
	em-origin --port-file "$SCRATCH/$_name.port" --log "$SCRATCH/$_name.log" "$@" \
		>"$SCRATCH/$_name.out" 2>"$SCRATCH/$_name.err" &
	ORIGIN_PID=$!
	ORIGIN_PIDS="$ORIGIN_PIDS $ORIGIN_PID"
	ORIGIN_LOG=$SCRATCH/$_name.log
	_i=0
	while [ ! -s "$SCRATCH/$_name.port" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 200 ] || ! kill -0 "$ORIGIN_PID" 2>/dev/null; then
			echo "em-origin did not start:" >&2
			cat "$SCRATCH/$_name.err" >&2
			exit 1
		fi
		sleep 0.05
	done
	ORIGIN_URL=$(head -n 1 "$SCRATCH/$_name.port")
}

# stop_origin PID: SIGTERM, and the exit status in $RC.
stop_origin() {
	kill "$1"
	wait "$1"
	RC=$?
	ORIGIN_PIDS=$(echo "$ORIGIN_PIDS" | sed "s/ $1\$//; s/ $1 / /")
}

# log_settle: wait until $ORIGIN_LOG stops growing.  The origin logs a request when it has
# sent the response, which can be just after the client has read it and exited.
log_settle() {
	_prev=-1
	_n=$(wc -l <"$ORIGIN_LOG")
	while [ "$_n" != "$_prev" ]; do
		_prev=$_n
		sleep 0.1
		_n=$(wc -l <"$ORIGIN_LOG")
	done
}

# log_count PATTERN: how many lines of $ORIGIN_LOG match the extended regex.
log_count() {
	log_settle
	grep -E -c -e "$1" "$ORIGIN_LOG"
}

# restart_origin NAME [em-origin options...]: stops the origin last started and starts
# another on the same port, so that a re-run asks the same URLs (a store is resumed only
# from the source it names).
restart_origin() {
	_port=${ORIGIN_URL#http://127.0.0.1:}
	_port=${_port%%/*}
	kill "$ORIGIN_PID" 2>/dev/null && wait "$ORIGIN_PID" 2>/dev/null
	_n=$1
	shift
	start_origin "$_n" --port "$_port" "$@"
}
