#!/bin/sh
# neuroglancer.sh - a real viewer opens our stores: em-origin serves a store that fetch-epfl made
# from an EM-like volume, with CORS, to Neuroglancer (bundled offline from its npm package,
# t/js/neuroglancer) in headless chromium on another origin.  Zoomed in, the screenshot shows
# the store's voxels; zoomed far out, it shows a coarser level's and no level-0 chunk is asked
# for.  EM_SKIP_BROWSER=1 skips the browser part.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"

PY=/usr/bin/python3
NG=$TOP/t/js/neuroglancer
BENCH=$TOP/../shared/bench
$PY -c 'import zarr, numpy, tifffile' 2>/dev/null ||
	skip "python3-zarr, python3-numpy or python3-tifffile missing"
[ -f "$BENCH/gen_em.c" ] || skip "no $BENCH/gen_em.c (../shared is not beside this clone)"

# An EM-like volume (smooth cells, dark membranes, pixel noise) as an ImageJ TIFF with 4 nm
# pixels and 6 nm slices, and the store fetch-epfl makes of it: data/epfl/em.zarr in
# nanometres, with the pyramid it writes in the same pass (--levels auto, mean).
cc -O2 -o "$SCRATCH/gen_em" "$BENCH/gen_em.c" -lm || fail "build gen_em"
"$SCRATCH/gen_em" 512 512 64 "$SCRATCH/em.raw" || fail "gen_em"
$PY - "$SCRATCH/em.raw" "$SCRATCH/em.tif" <<'EOF' || fail "write the TIFF"
import sys, numpy as np, tifffile
a = np.fromfile(sys.argv[1], np.uint8).reshape(64, 512, 512)
tifffile.imwrite(sys.argv[2], a, imagej=True, resolution=(1 / 4, 1 / 4),
                 metadata={"spacing": 6, "unit": "nm", "axes": "ZYX"})
EOF
DATA=$SCRATCH/data
STORE=$DATA/epfl/em.zarr
run fetch-epfl --url "file://$SCRATCH/em.tif" -o "$DATA/epfl" --chunks 32,64,64 -q
expect_rc 0 "fetch-epfl makes the store"

# em-origin lets a page on another origin read the store (CORS), and serves a web app's files
# with the types browsers insist on.
start_origin cors --root "$DATA"
curl -s -D "$SCRATCH/h" -o /dev/null -H 'Origin: http://viewer.test' \
	"${ORIGIN_URL}epfl/em.zarr/.zattrs"
tr -d '\r' <"$SCRATCH/h" >"$SCRATCH/h1"
expect_grep '^Access-Control-Allow-Origin: \*$' "$SCRATCH/h1" "a GET is answered with CORS"
expect_grep '^Access-Control-Expose-Headers: .*Content-Range' "$SCRATCH/h1" \
	"Content-Range is exposed to scripts"
curl -s -D "$SCRATCH/h" -o /dev/null -X OPTIONS -H 'Origin: http://viewer.test' \
	-H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: range' \
	-H 'Access-Control-Request-Private-Network: true' "${ORIGIN_URL}epfl/em.zarr/0/0/0/0"
tr -d '\r' <"$SCRATCH/h" >"$SCRATCH/h2"
expect_grep '^HTTP/1.1 204' "$SCRATCH/h2" "a preflight is answered 204"
expect_grep '^Access-Control-Allow-Methods: GET, HEAD' "$SCRATCH/h2" "... allowing GET and HEAD"
expect_grep '^Access-Control-Allow-Headers: range$' "$SCRATCH/h2" "... and the header asked for"
expect_grep '^Access-Control-Allow-Private-Network: true$' "$SCRATCH/h2" \
	"... and a public page's read of loopback"
expect_grep ' OPTIONS /epfl/em.zarr/0/0/0/0 - 204 ' "$ORIGIN_LOG" "the preflight is logged"
mkdir -p "$SCRATCH/types"
for f in a.js a.css a.wasm; do : >"$SCRATCH/types/$f"; done
start_origin types --root "$SCRATCH/types"
for t in 'a.js text/javascript' 'a.css text/css' 'a.wasm application/wasm'; do
	curl -s -o /dev/null -w '%{content_type}\n' "$ORIGIN_URL${t% *}" >"$SCRATCH/ct"
	expect_grep "^${t#* }\$" "$SCRATCH/ct" "${t% *} is served as ${t#* }"
done

[ "${EM_SKIP_BROWSER:-0}" = 1 ] && skip "EM_SKIP_BROWSER=1 (the browser tests run in the plain build)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (Debian package chromium, deps/debian.txt)"
command -v node >/dev/null 2>&1 || skip "no node (Debian package nodejs)"
for m in neuroglancer esbuild playwright-core pngjs; do
	[ -d "$NG/node_modules/$m" ] || skip "no node_modules/$m in t/js/neuroglancer (make deps-js)"
done

# Neuroglancer's page, built offline from the npm package, on an origin of its own.
run node "$NG/bundle.mjs" "$SCRATCH/ng"
expect_rc 0 "neuroglancer bundles offline with esbuild"
start_origin page --root "$SCRATCH/ng"
PAGE=${ORIGIN_URL}index.html

# view NAME ZOOM: opens the store at ZOOM level-0 voxels a pixel through an origin of its own
# (its log is $SCRATCH/NAME.log, this view's requests alone); the shot in $SCRATCH/NAME.*.
view() {
	start_origin "$1" --root "$DATA"
	$PY "$TOP/t/ngshot.py" state "$STORE" "${ORIGIN_URL}epfl/em.zarr/" "$2" \
		>"$SCRATCH/$1.state.json" || fail "$1: the viewer state"
	run node "$NG/view.mjs" "$PAGE" "$SCRATCH/$1.state.json" "$SCRATCH/$1" 300
	expect_rc 0 "$1: neuroglancer draws the store"
}
# chunks LEVEL: how many chunk requests of that level the last view's origin logged.
chunks() { log_count " GET /epfl/em.zarr/$1/[0-9]+/[0-9]+/[0-9]+ "; }

# Zoomed in: one screen pixel a voxel, the middle slice of level 0.
view zoomin 1
n=$(chunks 0)
if [ "$n" -gt 0 ]; then ok "zoomed in, level-0 chunks are read ($n)"; else
	fail "zoomed in, no level-0 chunk was read"; fi
expect_nogrep ' GET /epfl/em.zarr/[0-9][0-9/]* - [^2]' "$ORIGIN_LOG" "every chunk read is answered"
run $PY "$TOP/t/ngshot.py" check "$SCRATCH/zoomin" "$STORE" 0
expect_rc 0 "the panel shows level 0's voxels: $(head -n 1 "$SCRATCH/out")"

# The comparison can say no: a grey panel, and the right panel held against another slice.
$PY -c 'import sys; open(sys.argv[2], "wb").write(bytes([128]) * len(open(sys.argv[1], "rb").read()))' \
	"$SCRATCH/zoomin.gray" "$SCRATCH/grey.gray"
cp "$SCRATCH/zoomin.json" "$SCRATCH/grey.json"
run $PY "$TOP/t/ngshot.py" check "$SCRATCH/grey" "$STORE" 0
expect_rc 1 "a grey panel is not the data"
expect_grep 'blank' "$SCRATCH/out" "... and is called blank"
cp "$SCRATCH/zoomin.gray" "$SCRATCH/other.gray"
$PY -c 'import json, sys; m = json.load(open(sys.argv[1])); m["state"]["position"][2] += 9
json.dump(m, open(sys.argv[2], "w"))' "$SCRATCH/zoomin.json" "$SCRATCH/other.json"
run $PY "$TOP/t/ngshot.py" check "$SCRATCH/other" "$STORE" 0
expect_rc 1 "the panel is not another slice of the data"

# The levels, finest first, and how many level-0 voxels one voxel of the coarsest spans in x.
$PY -c 'import sys, zarr
ds = zarr.open(sys.argv[1], mode="r").attrs["multiscales"][0]["datasets"]
sc = lambda d: d["coordinateTransformations"][0]["scale"][-1]
print(sc(ds[-1]) / sc(ds[0]), *(d["path"] for d in ds))' "$STORE" >"$SCRATCH/levels"
read -r ZOOM LEVEL0 LEVELS <"$SCRATCH/levels"
[ "$LEVEL0" = 0 ] || fail "level 0 is at '$LEVEL0'"
# shellcheck disable=SC2086 # the level paths, one word each
set -- $LEVELS
[ $# -ge 2 ] && ok "fetch-epfl wrote levels $LEVELS above level 0" ||
	fail "fetch-epfl wrote the levels '$LEVELS' above level 0, expected at least 2"

# Zoomed far out: one screen pixel a voxel of the coarsest level (in x and y; neuroglancer may
# draw a finer one where the voxels are not cubes).  The panel shows one of the coarser levels
# and no level-0 chunk is asked for.
view zoomout "$ZOOM"
n=$(chunks 0)
if [ "$n" -eq 0 ]; then ok "zoomed out, no level-0 chunk is asked for"; else
	fail "zoomed out, $n level-0 chunks were asked for"; fi
shown=
for lv in $LEVELS; do
	$PY "$TOP/t/ngshot.py" check "$SCRATCH/zoomout" "$STORE" "$lv" >"$SCRATCH/zoomout.$lv" &&
		shown=$lv
done
if [ -n "$shown" ]; then
	ok "zoomed out, the panel shows level $shown's voxels: $(head -n 1 "$SCRATCH/zoomout.$shown")"
	n=$(chunks "$shown")
	if [ "$n" -gt 0 ]; then ok "... read from its chunks ($n)"; else
		fail "no chunk of level $shown was read"; fi
else
	fail "zoomed out, the panel shows none of the levels $LEVELS"
	cat "$SCRATCH"/zoomout.[0-9]* | sed 's/^/#   /'
fi

done_testing
