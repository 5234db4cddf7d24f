# layers.sh - lib/ keeps its layers: only lib/tool prints or exits, and no layer includes one above it.
. "$(dirname "$0")/../lib.sh"
command -v nm >/dev/null || skip "nm is not installed (binutils)"
[ -f "$TOP/lib/core/buf.o" ] || skip "lib/ is not built (make)"

run sh "$TOP/t/layers.sh" "$TOP"
expect_rc 0 "the built library keeps its layers"
[ -s "$SCRATCH/out" ] && sed 's/^/#   /' "$SCRATCH/out"

# The check itself fails on each kind of breach, in a scratch tree of the layers' folders.
mk() {
	rm -rf "$SCRATCH/tree"
	for l in core formats store net sources meta tool; do mkdir -p "$SCRATCH/tree/lib/$l"; done
}
for layer in core formats store net sources meta; do
	for call in 'printf("x\n")' 'exit(1)' 'puts("x")' 'perror("x")' 'fputs("x", stderr)'; do
		mk
		printf '#include <stdio.h>\n#include <stdlib.h>\nvoid breach(void) { %s; }\n' \
			"$call" >"$SCRATCH/tree/lib/$layer/breach.c"
		${CC:-cc} -O0 -c -o "$SCRATCH/tree/lib/$layer/breach.o" "$SCRATCH/tree/lib/$layer/breach.c"
		run sh "$TOP/t/layers.sh" "$SCRATCH/tree"
		if [ "$RC" -eq 1 ] && grep -q "lib/$layer/breach.o: references" "$SCRATCH/out"; then
			ok "$call in lib/$layer is found"
		else
			fail "$call in lib/$layer is not found (exit $RC)"
		fi
	done
done
mk
printf '#include <stdio.h>\nvoid ok(FILE *fp) { fprintf(fp, "x"); }\n' >"$SCRATCH/tree/lib/core/fine.c"
${CC:-cc} -O0 -c -o "$SCRATCH/tree/lib/core/fine.o" "$SCRATCH/tree/lib/core/fine.c"
run sh "$TOP/t/layers.sh" "$SCRATCH/tree"
expect_rc 0 "writing to a FILE the caller gives is allowed below the tool layer"

mk
printf '#include "tool/tool.h"\n' >"$SCRATCH/tree/lib/store/up.h"
printf '#include "sources/remote.h"\n' >"$SCRATCH/tree/lib/net/side.c"
printf '#include "store/zarr.h"\n' >"$SCRATCH/tree/lib/formats/peer.c"
run sh "$TOP/t/layers.sh" "$SCRATCH/tree"
expect_rc 1 "including a layer above fails"
expect_grep 'lib/store/up.h: includes lib/tool/' "$SCRATCH/out" "store including tool is named"
expect_grep 'lib/net/side.c: includes lib/sources/' "$SCRATCH/out" "net including sources is named"
expect_grep 'lib/formats/peer.c: includes lib/store/' "$SCRATCH/out" "a layer including its peer is named"
done_testing
