#!/bin/sh
# fetch-levels.sh - pyramids made by the fetchers: fetch-epfl over TIFFs written by
# tifffile (uint8, uint16, int16, float32, odd sizes; mean, mode, nearest) writes levels
# equal to numpy's reduction of the level below, read with zarr-python; an EMPIAR-like MRC
# (50 nm z, 8 nm y/x) halves y and x first, scales exact; fetch-zarr builds the levels of a
# --box crop at the end, its origin a translation in nm; --levels 0 is refused.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy, tifffile, mrcfile' 2>/dev/null ||
	skip "python3-zarr, python3-numpy, python3-tifffile or python3-mrcfile missing (make deps)"
cd "$SCRATCH" || exit 1
export PYTHONPATH=$TOP/t

# check DIR METHOD VZ,VY,VX NPY [LEVELS]: the levels against numpy, read with zarr-python.
check() {
	$PY - "$@" <<'EOF'
import sys, numpy as np, pyramid_ref
d, m, vox, npy = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else None
print("levels", pyramid_ref.check_levels(d, np.load(npy), [float(x) for x in vox.split(",")], m, n))
EOF
}

# ---- 1. fetch-epfl --url file://: every type and method, odd sizes, same pass as level 0 ----
for dt in uint8 uint16 int16 float32; do
	$PY - $dt <<'EOF' || fail "tifffile $dt"
import sys, numpy as np, tifffile
dt = sys.argv[1]
rng = np.random.default_rng(4)
shape = (11, 37, 45)
if dt == "float32":
    a = (rng.standard_normal(shape) * 1000).astype(np.float32)
elif dt == "int16":
    a = rng.integers(-32768, 32768, shape, dtype=np.int16)
else:
    a = rng.integers(0, np.iinfo(dt).max + 1, shape, dtype=dt)
    a[:, :18] %= 3
tifffile.imwrite(dt + ".tif", a, photometric="minisblack")
np.save(dt + ".npy", a)
EOF
	for m in mean mode nearest; do
		run fetch-epfl -q -o "$m" --url "file://$SCRATCH/$dt.tif" --chunks 4,8,8 \
			--downsample $m --compressor zlib --jobs 2
		expect_rc 0 "fetch-epfl $dt --downsample $m"
		# No voxel size in the file: the store's scale is in voxels (1, no unit).
		if check "$m/$dt.zarr" $m 1,1,1 $dt.npy 3 >check.out 2>&1; then
			ok "$dt $m: 3 levels, each numpy's reduction of the one below, exact scales"
		else fail "$dt $m: $(tail -n 2 check.out)"; fi
	done
done
$PY - mean/uint8.json <<'EOF' >rec.out
import json, sys
r = json.load(open(sys.argv[1]))
print([(l["path"], l["shape"]) for l in r["levels"]])
EOF
expect_same /dev/stdin rec.out "the fetcher's record lists its levels" <<'EOT'
[('0', [11, 37, 45]), ('1', [6, 19, 23]), ('2', [3, 10, 12])]
EOT
run fetch-epfl -q -o one --url "file://$SCRATCH/uint8.tif" --chunks 4,8,8 --compressor zlib --levels 1
expect_rc 0 "--levels 1"
[ -d one/uint8.zarr/0 ] && [ ! -e one/uint8.zarr/1 ] && ok "--levels 1 writes level 0 alone" ||
	fail "$(ls one/uint8.zarr)"
run fetch-epfl -q -o zero --url "file://$SCRATCH/uint8.tif" --levels 0
expect_rc 2 "--levels 0 is a usage error"
expect_grep "levels must be 'auto' or 1 to 24" err "saying what --levels takes"
[ ! -e zero ] && ok "and nothing is written" || fail "$(ls -R zero | head)"
run fetch-epfl -q -o bad --url "file://$SCRATCH/uint8.tif" --downsample median
expect_rc 2 "an unknown --downsample is a usage error"
# A resumed run (level 0 and the levels partly written, as a kill leaves them) ends with the
# same bytes.
mkdir res && cp -r mean/uint16.zarr res/uint16.zarr
find res/uint16.zarr -type f ! -name '.z*' | sed -n '1~2p' | xargs rm -f
fetch-epfl -q -o res --url "file://$SCRATCH/uint16.tif" --chunks 4,8,8 --compressor zlib \
	--jobs 2 >/dev/null || fail "resumed fetch"
if same_store mean/uint16.zarr res/uint16.zarr; then ok "a resumed run writes the missing chunks of every level, byte for byte"
else fail "resumed store differs"; diff -r mean/uint16.zarr res/uint16.zarr | head -n 5; fi

# The same file again with other levels is not "already ingested": the levels are made.
run fetch-epfl -q -o one --url "file://$SCRATCH/uint8.tif" --chunks 4,8,8 --compressor zlib
expect_rc 0 "the same file again, --levels auto"
if same_store mean/uint8.zarr/2 one/uint8.zarr/2; then ok "the levels a --levels 1 store lacked are written"
else fail "$(ls one/uint8.zarr)"; fi

# ---- 2. EMPIAR-like anisotropic voxels: an MRC of 50 nm z, 8 nm y/x ----
$PY -c '
import numpy as np, mrcfile
a = np.random.default_rng(5).integers(0, 30000, (20, 200, 200), dtype=np.int16)
with mrcfile.new("aniso.mrc") as m:
    m.set_data(a)
    m.voxel_size = (80.0, 80.0, 500.0)
np.save("aniso.npy", a)' || fail "mrcfile"
run fetch-empiar -q -o an --url "file://$SCRATCH/aniso.mrc" --chunks 4,16,16 --jobs 2
expect_rc 0 "fetch-empiar of an anisotropic MRC"
ID=$(cd an && ls *.json | sed 's/\.json$//')
check "an/$ID.zarr" mean 50,8,8 aniso.npy 6 >check.out 2>&1 &&
	ok "anisotropic: $(cat check.out), equal to numpy" || fail "anisotropic: $(tail -n 2 check.out)"
$PY - "an/$ID.zarr/.zattrs" <<'EOF' >aniso.out
import json, sys
ms = json.load(open(sys.argv[1]))["multiscales"][0]
for d in ms["datasets"]:
    t = {x["type"]: x[x["type"]] for x in d["coordinateTransformations"]}
    print(d["path"], t["scale"], t.get("translation"))
print(ms["type"], ms["version"])
EOF
expect_same /dev/stdin aniso.out "y and x halve until they pass z, then all three: scales exact in .zattrs" <<'EOT'
0 [50.0, 8.0, 8.0] None
1 [50.0, 16.0, 16.0] [0.0, 4.0, 4.0]
2 [50.0, 32.0, 32.0] [0.0, 12.0, 12.0]
3 [50.0, 64.0, 64.0] [0.0, 28.0, 28.0]
4 [100.0, 128.0, 128.0] [25.0, 60.0, 60.0]
5 [200.0, 256.0, 256.0] [75.0, 124.0, 124.0]
mean 0.4
EOT

# ---- 3. fetch-zarr --box: level 0 fetched, the levels built at the end; the crop's origin ----
$PY - <<'EOF' || fail "zarr-python source"
import numpy as np, zarr
a = np.random.default_rng(6).integers(0, 256, (40, 64, 80), dtype=np.uint8)
g = zarr.open_group("www/src.zarr", mode="w")
g.create_dataset("s0", data=a, chunks=(8, 16, 16), compressor=None)
g.attrs["multiscales"] = [{"version": "0.4", "name": "src",
    "axes": [{"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"],
    "datasets": [{"path": "s0", "coordinateTransformations": [
        {"type": "scale", "scale": [8.0, 4.0, 4.0]}]}]}]
np.save("crop.npy", a[4:29, 10:47, 16:61])
EOF
start_origin zarr --root "$SCRATCH/www"
run fetch-zarr -q -o z --level s0 --box 4:29,10:47,16:61 --chunks 4,8,8 --jobs 2 \
	"${ORIGIN_URL}src.zarr"
expect_rc 0 "fetch-zarr --box"
ID=$(cd z && ls *.json | sed 's/\.json$//')
$PY - "z/$ID.zarr" <<'EOF' >crop.out 2>&1
import sys, numpy as np, zarr, pyramid_ref
d = sys.argv[1]
a = np.load("crop.npy")
g = zarr.open_group(d, mode="r")
ms = g.attrs["multiscales"][0]
prev = a
vox = [8.0, 4.0, 4.0]
for l, ds in enumerate(ms["datasets"]):
    t = {x["type"]: x[x["type"]] for x in ds["coordinateTransformations"]}
    if l:
        f = pyramid_ref.factors(prev.shape, vox)
        prev = pyramid_ref.reduce(prev, "mean", f)
        vox = [v * k for v, k in zip(vox, f)]
    assert np.array_equal(g[ds["path"]][:], prev), "level %d" % l
    want = [o * v0 + (v - v0) / 2 for o, v, v0 in zip((4, 10, 16), vox, (8.0, 4.0, 4.0))]
    assert t["scale"] == vox and t["translation"] == want, (l, t, vox, want)
print("levels", len(ms["datasets"]))
EOF
grep -q '^levels [3-9]$' crop.out &&
	ok "fetch-zarr: $(cat crop.out) built from level 0, equal to numpy; translation = box start x voxel (+ half-voxel growth)" ||
	fail "fetch-zarr levels: $(tail -n 3 crop.out)"
stop_origin "$ORIGIN_PID"
done_testing
