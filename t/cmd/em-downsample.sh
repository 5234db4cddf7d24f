#!/bin/sh
# em-downsample.sh - em-downsample over OME-Zarr groups written by zarr-python: every level
# equals numpy's reduction of the level below (uint8, uint16, int16, float32; mean, mode,
# nearest; odd sizes), scales exact and translations per the method in .zattrs, anisotropic
# voxels halve y and x first; a run killed with kill -9 is finished by the next one, store
# and record byte for byte; bad input is refused with nothing written.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy, tifffile' 2>/dev/null ||
	skip "python3-zarr, python3-numpy or python3-tifffile missing (make deps)"
cd "$SCRATCH" || exit 1
export PYTHONPATH=$TOP/t

# mkgroup DIR DTYPE Z,Y,X CZ,CY,CX VZ,VY,VX SEED: an OME-Zarr group as zarr-python writes it
# (blosc, '.' keys), level 0 only; the array also goes to DIR.npy.
mkgroup() {
	$PY - "$@" <<'EOF'
import sys, numpy as np, zarr
d, dt, shape, chunks, vox, seed = sys.argv[1:]
shape = tuple(int(x) for x in shape.split(","))
rng = np.random.default_rng(int(seed))
if dt == "float32":
    a = (rng.standard_normal(shape) * 1000).astype(np.float32)
elif dt == "int16":
    a = rng.integers(-32768, 32768, shape, dtype=np.int16)
else:
    # Few distinct values in half the volume, so that modes and ties are real.
    a = rng.integers(0, np.iinfo(dt).max + 1, shape, dtype=dt)
    a[:, : shape[1] // 2] %= 3
g = zarr.open_group(d, mode="w")
g.create_dataset("0", data=a, chunks=tuple(int(x) for x in chunks.split(",")))
g.attrs["multiscales"] = [{
    "version": "0.4", "name": "test",
    "axes": [{"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"],
    "datasets": [{"path": "0", "coordinateTransformations": [
        {"type": "scale", "scale": [float(x) for x in vox.split(",")]}]}]}]
np.save(d + ".npy", a)
EOF
}

# check DIR METHOD VZ,VY,VX [LEVELS]: the levels against numpy, read with zarr-python.
check() {
	$PY - "$@" <<'EOF'
import sys, numpy as np, pyramid_ref
d, m, vox = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else None
print("levels", pyramid_ref.check_levels(d, np.load(d + ".npy"), [float(x) for x in vox.split(",")], m, n))
EOF
}

# ---- 1. every type and method, odd sizes ----
for dt in uint8 uint16 int16 float32; do
	for m in mean mode nearest; do
		mkgroup "$dt-$m.zarr" $dt 9,37,41 4,8,8 8,8,8 5 || fail "zarr-python $dt"
		run em-downsample --downsample $m -j 2 "$dt-$m.zarr"
		expect_rc 0 "$dt $m: em-downsample"
		if check "$dt-$m.zarr" $m 8,8,8 3 >check.out 2>&1; then
			ok "$dt $m: 3 levels, each numpy's reduction of the one below, scales and translations exact"
		else fail "$dt $m: $(tail -n 2 check.out)"; fi
	done
done
# A level made by mode keeps labels: no value that is not in the block below.
$PY -c '
import zarr, numpy as np
a = np.load("uint16-mode.zarr.npy"); b = zarr.open("uint16-mode.zarr/1", mode="r")[:]
assert set(np.unique(b)) <= set(np.unique(a))' && ok "mode levels hold only values of level 0" ||
	fail "mode invented values"

# ---- 2. anisotropic EM: 50 nm z, 8 nm y/x ----
mkgroup aniso.zarr uint8 20,200,200 4,16,16 50,8,8 9 || fail "zarr-python aniso"
run em-downsample aniso.zarr
expect_rc 0 "anisotropic volume"
check aniso.zarr mean 50,8,8 6 >check.out 2>&1 && ok "anisotropic: $(cat check.out), equal to numpy" ||
	fail "anisotropic: $(tail -n 2 check.out)"
$PY - <<'EOF' >aniso.out
import json
ms = json.load(open("aniso.zarr/.zattrs"))["multiscales"][0]
for d in ms["datasets"]:
    t = {x["type"]: x[x["type"]] for x in d["coordinateTransformations"]}
    print(d["path"], t["scale"], t.get("translation"))
print(ms["type"], ms["version"], ms["name"], sorted(ms["metadata"]))
EOF
expect_same /dev/stdin aniso.out "y and x halve until they pass z, then all three: scales exact, translations half a voxel's growth" <<'EOT'
0 [50.0, 8.0, 8.0] None
1 [50.0, 16.0, 16.0] [0.0, 4.0, 4.0]
2 [50.0, 32.0, 32.0] [0.0, 12.0, 12.0]
3 [50.0, 64.0, 64.0] [0.0, 28.0, 28.0]
4 [100.0, 128.0, 128.0] [25.0, 60.0, 60.0]
5 [200.0, 256.0, 256.0] [75.0, 124.0, 124.0]
mean 0.4 test ['description', 'method', 'version']
EOT

# ---- 3. a store with its levels is left alone; --levels asks for fewer or more ----
find aniso.zarr -type f -exec cksum {} + | sort >before
run em-downsample aniso.zarr
expect_rc 0 "a second run"
find aniso.zarr -type f -exec cksum {} + | sort >after
expect_same before after "a second run changes nothing"
mkgroup two.zarr uint16 9,37,41 4,8,8 8,8,8 2
run em-downsample --levels 2 two.zarr
expect_rc 0 "--levels 2"
check two.zarr mean 8,8,8 2 >check.out 2>&1 && ok "--levels 2 builds one level" || fail "$(tail -n 2 check.out)"
run em-downsample --levels 3 two.zarr
expect_rc 0 "--levels 3 on a store of 2"
check two.zarr mean 8,8,8 3 >check.out 2>&1 && ok "the third level is built from the second" ||
	fail "$(tail -n 2 check.out)"

# ---- 4. bad input: a message naming it, nothing written ----
mkdir plain && echo hi >plain/file
run em-downsample plain
expect_rc 1 "a directory that is not Zarr"
expect_grep "'plain' is not a Zarr store" err "the message names it"
[ "$(ls plain)" = file ] && ok "nothing written into it" || fail "$(ls plain)"
run em-downsample nope.zarr
expect_rc 1 "a store that is not there"
expect_grep "^em-downsample: 'nope.zarr' does not exist$" err "the message says it is not there"
[ -e nope.zarr ] && fail "nope.zarr was created" || ok "and nothing is created in its place"
run em-downsample uint8-mean.zarr/0
expect_rc 1 "a bare array"
expect_grep "'uint8-mean.zarr/0' is a Zarr array, not a group" err "says why"
run em-downsample --levels 0 two.zarr
expect_rc 2 "--levels 0 is a usage error"
expect_grep "levels must be 'auto' or 1 to 24" err "saying what --levels takes"
run em-downsample --downsample median two.zarr
expect_rc 2 "an unknown method is a usage error"
run em-downsample
expect_rc 2 "no store is a usage error"
# Level 1 listed, but not what halving level 0 gives.
mkgroup bad.zarr uint8 9,37,41 4,8,8 8,8,8 1
$PY - <<'EOF'
import zarr, json
g = zarr.open_group("bad.zarr")
g.create_dataset("1", shape=(5, 19, 20), chunks=(4, 8, 8), dtype="u1")
a = json.load(open("bad.zarr/.zattrs"))
a["multiscales"][0]["datasets"].append({"path": "1", "coordinateTransformations": [
    {"type": "scale", "scale": [16.0, 16.0, 16.0]}]})
json.dump(a, open("bad.zarr/.zattrs", "w"))
EOF
find bad.zarr -type f -exec cksum {} + | sort >before
run em-downsample --levels 4 bad.zarr
expect_rc 1 "levels that disagree with the metadata"
expect_grep "'bad.zarr': level 1 ('1') is 5x19x20 .* halving the level below gives 5x19x21" err \
	"the message names the store, the level and both shapes"
find bad.zarr -type f -exec cksum {} + | sort >after
expect_same before after "nothing written"
# An unlisted array where a new level would go is in the way, and left alone.
mkgroup way.zarr uint8 9,37,41 4,8,8 8,8,8 1
$PY -c 'import zarr; zarr.open_group("way.zarr").create_dataset("2", shape=(3, 3, 3), dtype="u1")'
find way.zarr -type f -exec cksum {} + | sort >before
run em-downsample way.zarr
expect_rc 1 "an unlisted array in the way"
expect_grep "'way.zarr': '2' is an array the group does not list, and not level 2" err "names it"
find way.zarr -type f -exec cksum {} + | sort >after
expect_same before after "nothing written"
mkgroup mix.zarr uint8 9,37,41 4,8,8 8,8,8 1
em-downsample --levels 2 mix.zarr 2>/dev/null
run em-downsample --levels 3 --downsample mode mix.zarr
expect_rc 1 "another method over mean levels"
expect_grep "'mix.zarr' has mean levels: --downsample mode would mix" err "is refused, saying so"
mkgroup mem.zarr uint8 9,370,410 4,64,64 8,8,8 1
find mem.zarr -type f -exec cksum {} + | sort >before
run em-downsample --max-memory 100K mem.zarr
expect_rc 1 "--max-memory below what one plane needs"
expect_grep "needs at least .* of memory, more than --max-memory 100" err "names the memory needed"
find mem.zarr -type f -exec cksum {} + | sort >after
expect_same before after "nothing written"
run em-downsample --max-memory 64M mem.zarr
expect_rc 0 "with enough memory"

# ---- 5. kill -9 midway, then a re-run: the store and its record as an uninterrupted run's ----
$PY -c '
import numpy as np, tifffile
rng = np.random.default_rng(11)
tifffile.imwrite("vol.tif", rng.integers(0, 256, (24, 256, 256), dtype=np.uint8), photometric="minisblack")'
# Each in a directory of its own, so that the records' paths (d/<id>.zarr) are the same.
for d in whole killed; do
	mkdir $d
	(cd $d && fetch-epfl -q -o d --url "file://$SCRATCH/vol.tif" --chunks 8,32,32 --levels 1 \
		--compressor zlib >/dev/null) || fail "fetch-epfl into $d"
done
ID=$(cd whole/d && ls *.json | sed 's/\.json$//')
[ -n "$ID" ] && [ -d "whole/d/$ID.zarr" ] && ok "fetch-epfl wrote store and record '$ID'" || fail "no store"
[ ! -e "whole/d/$ID.zarr/1" ] && ok "--levels 1: level 0 alone" || fail "a level 1 with --levels 1"
printf 'development:\n  testing:\n    chunk_delay_ms: 40\n' >slow.yaml
(cd whole && em-downsample -j 1 "d/$ID.zarr") || fail "uninterrupted em-downsample"
(cd killed && exec em-downsample -j 1 --config ../slow.yaml "d/$ID.zarr") &
pid=$!
n=0 tries=0
while [ "$n" -lt 6 ] && [ "$tries" -lt 400 ]; do
	sleep 0.05
	tries=$((tries + 1))
	n=$(find "killed/d/$ID.zarr/1" -type f ! -name '*.tmp.*' ! -name .zarray 2>/dev/null | wc -l)
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
total=$(find "whole/d/$ID.zarr/1" -type f ! -name .zarray | wc -l)
n=$(find "killed/d/$ID.zarr/1" -type f ! -name '*.tmp.*' ! -name .zarray | wc -l)
if [ "$n" -ge 6 ] && [ "$n" -lt "$total" ]; then ok "killed midway ($n of $total chunks of level 1)"
else fail "kill was not midway ($n of $total chunks)"; fi
grep -q '"path": "1"' "killed/d/$ID.zarr/.zattrs" && fail "the killed run listed its levels" ||
	ok "the killed run left the multiscales as they were"
cd killed || exit 1
run em-downsample -j 1 "d/$ID.zarr"
cd .. || exit 1
expect_rc 0 "the re-run"
# (Level 0's chunk journal, fetch-epfl's, lists its chunks in the order they finished.)
if diff -r -x '*.chunks' -x '*.chunks.*' "whole/d/$ID.zarr" "killed/d/$ID.zarr" >diff.out; then
	ok "the store is byte-identical"
else fail "the stores differ"; head -n 5 diff.out; fi
left=$(find killed -name '*.tmp.*' | wc -l)
[ "$left" -eq 0 ] && ok "no temporary files left" || fail "$left temporary files left"
# The records differ only in when each step ran.
untime() { sed -E 's/"(time|started|updated)": "[^"]*"/"\1": "-"/g' "$1"; }
untime "whole/d/$ID.json" >whole.rec
untime "killed/d/$ID.json" >killed.rec
expect_same whole.rec killed.rec "the record is the same, but for the times of its steps"
$PY - "whole/d/$ID.json" <<'EOF' >rec.out
import json, sys
r = json.load(open(sys.argv[1]))
for l in r["levels"]:
    print(l["path"], l["shape"], l["chunks"], l.get("voxel_size_nm"))
print(r["processing_pipeline"][-1]["tool"])
EOF
expect_same /dev/stdin rec.out "the record lists every level and the em-downsample step" <<'EOT'
0 [24, 256, 256] [8, 32, 32] None
1 [12, 128, 128] [8, 32, 32] None
2 [6, 64, 64] [6, 32, 32] None
3 [3, 32, 32] [3, 32, 32] None
em-downsample
EOT

# ---- 6. em-meta: a sha256 per level, and the display window in the group's omero block ----
(cd whole && em-meta -q "d/$ID.json" >/dev/null) || fail "em-meta"
$PY - "whole/d/$ID.json" "whole/d/$ID.zarr" <<'EOF' >meta.out 2>&1
import hashlib, json, math, sys
import numpy as np, zarr
r = json.load(open(sys.argv[1]))
g = zarr.open_group(sys.argv[2], mode="r")
for l in r["levels"]:
    want = hashlib.sha256(np.ascontiguousarray(g[l["path"]][:]).tobytes()).hexdigest()
    assert l["sha256"] == want, "level %s sha256" % l["path"]
assert r["levels"][0]["sha256"] == r["sha256"]
a = np.sort(g["0"][:].ravel())
w = g.attrs["omero"]["channels"][0]["window"]
lo = a[max(math.ceil(0.005 * a.size), 1) - 1]
hi = a[max(math.ceil(0.995 * a.size), 1) - 1]
assert (w["min"], w["max"], w["start"], w["end"]) == (a[0], a[-1], lo, hi), (w, lo, hi)
assert g.attrs["multiscales"][0]["datasets"][3]["path"] == "3"
print("ok", len(r["levels"]), w["start"], w["end"])
EOF
grep -q '^ok 4 ' meta.out && ok "em-meta: each level's sha256 is hashlib's of the array; omero window = 0.5/99.5 percentiles ($(cat meta.out))" ||
	fail "em-meta levels: $(tail -n 3 meta.out)"
done_testing
