# pyramid_ref.py - the numpy reference the pyramid tests check levels against:
# which axes each level halves (the rule of store/downsample.h, spelled out
# again here on purpose) and the 2x reductions, block by block.
import collections
import itertools

import numpy as np


def factors(shape, voxel):
    """The halving factors of the next level above an array of this shape and voxel."""
    coarsest = max((v for v, n in zip(voxel, shape) if n > 1), default=0)
    f = [2 if n > 1 and v < 0.75 * coarsest else 1 for v, n in zip(voxel, shape)]
    if f == [1, 1, 1]:
        f = [2 if n > 1 else 1 for n in shape]
    return f


def reduce(a, method, f):
    """One level from the level below: mean (half up for integers), mode (ties to the smallest), nearest."""
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
        return ((2 * acc + cnt) // (2 * cnt)).astype(a.dtype)
    r = np.empty(out, a.dtype)
    for z, y, x in itertools.product(*(range(n) for n in out)):
        v = a[z*f[0]:(z+1)*f[0], y*f[1]:(y+1)*f[1], x*f[2]:(x+1)*f[2]].ravel()
        c = collections.Counter(v.tolist())
        top = max(c.values())
        r[z, y, x] = min(k for k, n in c.items() if n == top)
    return r


def check_levels(group, a, voxel, method, nlevels=None):
    """Every level of the zarr group equals numpy's reduction of the one below; returns the level count.

    The datasets are the group's multiscales; their scales must be the voxel
    times the factors, exactly, and (mean, mode) their translations the
    half-voxel shift of a block's centre.
    """
    import zarr
    g = zarr.open_group(group, mode="r")
    ms = g.attrs["multiscales"][0]
    dss = ms["datasets"]
    if nlevels is not None:
        assert len(dss) == nlevels, "%d levels, wanted %d" % (len(dss), nlevels)
    prev = a
    vox = list(voxel)
    scale = list(voxel)
    for l, ds in enumerate(dss):
        got = g[ds["path"]][:]
        if l == 0:
            want = a
        else:
            f = factors(prev.shape, vox)
            want = reduce(prev, method, f)
            vox = [v * k for v, k in zip(vox, f)]
            scale = [s * k for s, k in zip(scale, f)]
        assert got.dtype == a.dtype, "level %d is %s" % (l, got.dtype)
        assert got.shape == want.shape, "level %d shape %s, wanted %s" % (l, got.shape, want.shape)
        assert np.array_equal(got, want, equal_nan=a.dtype.kind == "f"), "level %d differs" % l
        ct = {t["type"]: t[t["type"]] for t in ds["coordinateTransformations"]}
        assert ct["scale"] == scale, "level %d scale %s, wanted %s" % (l, ct["scale"], scale)
        tr = [(s - v) / 2 if method != "nearest" else 0 for s, v in zip(scale, voxel)]
        assert ct.get("translation", [0, 0, 0]) == tr, "level %d translation %s, wanted %s" % (
            l, ct.get("translation"), tr)
        prev = want
    return len(dss)
