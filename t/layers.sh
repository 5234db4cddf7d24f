#!/bin/sh
# layers.sh ROOT - checks lib/'s layers under ROOT (a source tree with its objects built):
#   1. only the tool layer prints or exits: no object of another layer references
#      exit, printf, puts, perror, stderr or stdout (or their variants);
#   2. a layer includes only its own headers and those of the layers below it
#      (core < formats, store, net < sources, meta < tool; see lib/README).
# Prints one line per violation and exits 1 when there is any, 0 when there is none.
root=${1:-.}
status=0
rank() {
	case $1 in
	core) echo 0 ;;
	formats|store|net) echo 1 ;;
	sources|meta) echo 2 ;;
	tool) echo 3 ;;
	*) echo 9 ;;
	esac
}
banned='^(exit|_exit|_Exit|abort|printf|vprintf|__printf_chk|__vprintf_chk|puts|putchar|perror|stderr|stdout|err|errx|warn|warnx)$'
for o in "$root"/lib/*/*.o; do
	[ -f "$o" ] || continue
	layer=${o%/*}
	layer=${layer##*/}
	[ "$layer" = tool ] && continue
	for sym in $(nm -u "$o" | awk '{print $NF}' | sed 's/@.*//' | grep -E "$banned"); do
		echo "lib/$layer/${o##*/}: references '$sym' (only lib/tool prints or exits)"
		status=1
	done
done
for f in "$root"/lib/*/*.c "$root"/lib/*/*.h; do
	[ -f "$f" ] || continue
	layer=${f%/*}
	layer=${layer##*/}
	r=$(rank "$layer")
	for inc in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([a-z]*\)\/.*/\1/p' "$f" | sort -u); do
		ri=$(rank "$inc")
		if [ "$inc" != "$layer" ] && [ "$ri" -ge "$r" ]; then
			echo "lib/$layer/${f##*/}: includes lib/$inc/ (a layer uses only the layers below it)"
			status=1
		fi
	done
done
exit $status
