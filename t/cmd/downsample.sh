# downsample.sh - store/downsample.h against a numpy reference: mean (with its rounding),
# mode and nearest for uint8, uint16, int16 and float32 volumes of odd sizes and every
# factor a pyramid uses; and the level plans of anisotropic and 2-D volumes.
. "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "python3-numpy missing (make deps)"
[ -x "$TOP/t/prog/dstool" ] || skip "no t/prog/dstool (make)"

/usr/bin/python3 - "$SCRATCH" >"$SCRATCH/py.out" 2>&1 <<'PY'
import collections, itertools, subprocess, sys
import numpy as np

tmp = sys.argv[1]
rng = np.random.default_rng(7)
bad = 0

def ref(a, method, f):
    out = tuple((n + k - 1) // k for n, k in zip(a.shape, f))
    if method == "nearest":
        return a[::f[0], ::f[1], ::f[2]].copy()
    if method == "mean":
        acc = np.zeros(out, np.float64 if a.dtype.kind == "f" else np.int64)
        cnt = np.zeros(out, np.int64)
        for dz, dy, dx in itertools.product(range(f[0]), range(f[1]), range(f[2])):
            s = a[dz::f[0], dy::f[1], dx::f[2]]
            acc[:s.shape[0], :s.shape[1], :s.shape[2]] += s
            cnt[:s.shape[0], :s.shape[1], :s.shape[2]] += 1
        if a.dtype.kind == "f":
            return (acc / cnt).astype(a.dtype)
        # floor(s / k + 1/2), exactly: half up, also for negative sums
        return ((2 * acc + cnt) // (2 * cnt)).astype(a.dtype)
    r = np.empty(out, a.dtype)
    for z, y, x in itertools.product(*(range(n) for n in out)):
        v = a[z*f[0]:(z+1)*f[0], y*f[1]:(y+1)*f[1], x*f[2]:(x+1)*f[2]].ravel()
        c = collections.Counter(v.tolist())
        top = max(c.values())
        r[z, y, x] = min(k for k, n in c.items() if n == top)
    return r

cases = 0
for dt in ("uint8", "uint16", "int16", "float32"):
    for shape in ((7, 9, 11), (1, 5, 6), (4, 3, 1), (6, 8, 10), (5, 3, 77), (2, 2, 64)):
        if dt == "float32":
            a = (rng.standard_normal(shape) * 1000).astype(np.float32)
        elif dt == "int16":
            a = rng.integers(-32768, 32768, shape, dtype=np.int16)
        else:
            a = rng.integers(0, np.iinfo(dt).max + 1, shape, dtype=dt)
        # Few distinct values too, so modes are real and ties happen.
        for vals in (a, (a % 3).astype(dt)):
            for f in ((2, 2, 2), (1, 2, 2), (2, 1, 2), (1, 1, 2), (2, 2, 1)):
                for method in ("mean", "mode", "nearest"):
                    p = subprocess.run([tmp + "/../../prog/dstool", "reduce", method, dt,
                                        "%d,%d,%d" % shape, "%d,%d,%d" % f],
                                       input=vals.tobytes(), capture_output=True)
                    cases += 1
                    want = ref(vals, method, f)
                    got = np.frombuffer(p.stdout, dtype=dt)
                    if p.returncode != 0 or got.size != want.size or \
                            not np.array_equal(got.reshape(want.shape), want):
                        bad += 1
                        print("bad", dt, shape, f, method, p.stderr.decode()[:200])
# The rounding of integer means, spelled out: half up, also below zero.
for vals, want in (((1, 2), 2), ((-1, -2), -1), ((2, 3), 3), ((-2, -3), -2), ((7, 8), 8)):
    a = np.array(vals, np.int16).reshape(1, 1, 2)
    p = subprocess.run([tmp + "/../../prog/dstool", "reduce", "mean", "int16", "1,1,2", "1,1,2"],
                       input=a.tobytes(), capture_output=True)
    got = np.frombuffer(p.stdout, np.int16)
    cases += 1
    if got.size != 1 or got[0] != want:
        bad += 1
        print("bad rounding", vals, "->", got, "want", want)
print("cases", cases, "bad", bad)
PY
cat "$SCRATCH/py.out" | tail -n 5
grep -q '^cases [0-9]* bad 0$' "$SCRATCH/py.out" && ok "mean, mode and nearest equal numpy's: $(tail -n 1 "$SCRATCH/py.out")" ||
	fail "downsampling differs from numpy: $(grep -c '^bad' "$SCRATCH/py.out") cases"

# Plans: anisotropic EM halves y and x until they pass z, then all three.
run dstool plan 100,2000,2000 50,8,8 64,64,64 auto
expect_rc 0 "a plan for 50 x 8 x 8 nm"
expect_same /dev/stdin "$SCRATCH/out" "y and x halve three times, then all three; auto stops under one chunk" <<EOT
0 shape 100,2000,2000 factor 1,1,1 scale 1,1,1 voxel 50,8,8
1 shape 100,1000,1000 factor 1,2,2 scale 1,2,2 voxel 50,16,16
2 shape 100,500,500 factor 1,2,2 scale 1,4,4 voxel 50,32,32
3 shape 100,250,250 factor 1,2,2 scale 1,8,8 voxel 50,64,64
4 shape 50,125,125 factor 2,2,2 scale 2,16,16 voxel 100,128,128
EOT
run dstool plan 1,1000,1000 0,5,5 1,64,64 2
expect_same /dev/stdin "$SCRATCH/out" "a 2-D image never halves z; --levels 2 gives two" <<EOT
0 shape 1,1000,1000 factor 1,1,1 scale 1,1,1 voxel 0,5,5
1 shape 1,500,500 factor 1,2,2 scale 1,2,2 voxel 0,10,10
EOT
run dstool plan 30,30,30 0,0,0 64,64,64 auto
expect_same /dev/stdin "$SCRATCH/out" "a volume under one chunk has level 0 only" <<EOT
0 shape 30,30,30 factor 1,1,1 scale 1,1,1 voxel 0,0,0
EOT
run dstool plan 3,3,3 4,4,4 1,1,1 24
expect_grep '^2 shape 1,1,1 ' "$SCRATCH/out" "levels end when every axis is 1"
[ "$(wc -l <"$SCRATCH/out")" -eq 3 ] && ok "and no level after that" || fail "$(cat "$SCRATCH/out")"
run dstool plan 3,3,3 4,4,4 1,1,1 25
expect_rc 1 "more levels than a pyramid holds are refused"
expect_grep 'levels must be from 1 to 24' "$SCRATCH/err" "saying the range"
printf "0123456789abcdef" >"$SCRATCH/u64"
run dstool reduce mean uint64 1,1,2 1,1,2 <"$SCRATCH/u64"
expect_rc 1 "mean of uint64 is refused"
expect_grep 'use mode or nearest' "$SCRATCH/err" "with the methods that work"

# Pyramid levels written in the same pass as level 0, planes fed a few at a time:
# every level equals numpy's reduction of the level below (read with zarr-python).
if /usr/bin/python3 -c 'import zarr' 2>/dev/null; then
	for m in mean mode nearest; do
		rm -rf "$SCRATCH/pyr"
		/usr/bin/python3 -c 'import numpy as np, sys; np.random.default_rng(3).integers(0, 60000, (23, 37, 45), dtype=np.uint16).tofile(sys.argv[1])' "$SCRATCH/vol.raw"
		run dstool pyramid "$SCRATCH/pyr" $m uint16 23,37,45 30,8,8 4,8,8 auto 3 <"$SCRATCH/vol.raw"
		expect_rc 0 "$m: levels written with level 0"
		/usr/bin/python3 - "$SCRATCH/pyr" "$SCRATCH/vol.raw" $m >"$SCRATCH/pyr.out" 2>&1 <<'PY'
import sys, os, itertools, collections
import numpy as np, zarr
d, raw, m = sys.argv[1:]
a = np.fromfile(raw, np.uint16).reshape(23, 37, 45)
assert np.array_equal(zarr.open(d + "/0", mode="r")[:], a), "level 0"
levels = sorted(int(x) for x in os.listdir(d))
vox = [30.0, 8.0, 8.0]
prev = a
for l in levels[1:]:
    got = zarr.open(d + "/%d" % l, mode="r")[:]
    coarsest = max(v for v, n in zip(vox, prev.shape) if n > 1)
    f = [2 if n > 1 and v < 0.75 * coarsest else 1 for v, n in zip(vox, prev.shape)]
    if f == [1, 1, 1]:
        f = [2 if n > 1 else 1 for n in prev.shape]
    vox = [v * k for v, k in zip(vox, f)]
    out = tuple((n + k - 1) // k for n, k in zip(prev.shape, f))
    if m == "nearest":
        want = prev[::f[0], ::f[1], ::f[2]]
    else:
        want = np.empty(out, prev.dtype)
        for z, y, x in itertools.product(*(range(n) for n in out)):
            v = prev[z*f[0]:(z+1)*f[0], y*f[1]:(y+1)*f[1], x*f[2]:(x+1)*f[2]].ravel().astype(np.int64)
            if m == "mean":
                want[z, y, x] = (2 * v.sum() + v.size) // (2 * v.size)
            else:
                c = collections.Counter(v.tolist()); top = max(c.values())
                want[z, y, x] = min(k for k, n in c.items() if n == top)
    assert got.shape == out and np.array_equal(got, want), "level %d %s" % (l, f)
    prev = want
print("levels", len(levels))
PY
		if grep -q '^levels [3-9]$' "$SCRATCH/pyr.out"; then ok "$m: $(cat "$SCRATCH/pyr.out"), each equal to numpy's reduction of the one below"
		else fail "$m: $(tail -n 3 "$SCRATCH/pyr.out")"; fi
	done
else
	echo "# pyramid levels: not read back, python3-zarr missing"
fi
done_testing
