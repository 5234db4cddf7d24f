# procs.sh - sourced by the pipeline tests: what runs under a process, read from /proc.

# sample_rss PID OUT: until PID exits, appends to OUT every 50 ms the summed resident
# set (KiB) of PID's descendants that are not shells.  /proc/N/stat gives the pid,
# (comm), the parent's pid (4th field) and the resident set in pages (24th).
sample_rss() {
	_page=$(getconf PAGESIZE)
	: >"$2"
	while kill -0 "$1" 2>/dev/null; do
		cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v page="$_page" '
			{ par[$1] = $4; name[$1] = $2; rss[$1] = $24 * page / 1024 }
			END {
				for (p in par) {
					q = p
					while (q in par && q != root && q > 1) q = par[q]
					if (q == root && p != root && name[p] != "(dash)" && name[p] != "(sh)")
						sum += rss[p]
				}
				print sum + 0
			}' >>"$2"
		sleep 0.05
	done
}

# running_in DIR: whether a process works in DIR (a run's tools do, and nothing else).
running_in() {
	for _c in /proc/[0-9]*/cwd; do
		[ "$(readlink "$_c" 2>/dev/null)" = "$1" ] && return 0
	done
	return 1
}
