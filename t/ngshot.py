#!/usr/bin/python3
"""ngshot.py - neuroglancer states for a store, and does a screenshot show the store's voxels?

usage: ngshot.py state STORE URL ZOOM
       ngshot.py check SHOT_PREFIX STORE LEVEL

state prints a viewer state for the OME-Zarr store STORE served at URL: an image layer
zarr://URL, the dimensions x, y, z with the store's units and level-0 voxel size, shown as x, y
in a single xy panel (neuroglancer would put the first two axes, z and y, there), cut through
the middle of the volume, ZOOM level-0 voxels a screen pixel, without axis lines, scale bar or
bounding box.

check: SHOT_PREFIX.gray and SHOT_PREFIX.json are view.mjs's output: the data panel's grey values and
the viewer's state (position in level-0 voxels, x, y, z; crossSectionScale in level-0 voxels a
screen pixel; displayDimensions x, y, z and a shader that shows a voxel's value as its grey).
The panel's middle is compared with the slice of STORE/LEVEL (zarr-python, scale factors from
the multiscales in .zattrs) that the position cuts, sampled where each screen pixel falls, for a
few pixels of shift either way.  Prints one line of figures; exit 0 when the panel shows the
data's texture and the data (standard deviation of at least 4 grey levels, mean absolute
difference of at most 2 at the best shift, 95% of the pixels within 2), 1 when not.
"""
import json
import sys

import numpy as np
import zarr


# OME-NGFF unit names neuroglancer knows as SI prefixes of the metre.
METRES = {"angstrom": 1e-10, "nanometer": 1e-9, "micrometer": 1e-6, "millimeter": 1e-3,
          "meter": 1.0}


def state(store, url, zoom):
    group = zarr.open(store, mode="r")
    ms = group.attrs["multiscales"][0]
    scale = ms["datasets"][0]["coordinateTransformations"][0]["scale"]
    shape = group[ms["datasets"][0]["path"]].shape
    dims, centre = {}, {}
    for ax, s, n in zip(ms["axes"], scale, shape):
        unit = ax.get("unit")
        if unit is None:
            dims[ax["name"]] = [s, ""]
        elif unit in METRES:
            dims[ax["name"]] = [s * METRES[unit], "m"]
        else:
            raise SystemExit(f"ngshot.py: unit '{unit}' of axis {ax['name']} is not a length")
        centre[ax["name"]] = n / 2
    # OME-NGFF puts voxel i's centre at i (times the scale), and neuroglancer follows: cut
    # through the middle of one slice, not between two.
    centre["z"] = np.floor(centre["z"])
    print(json.dumps({
        "dimensions": {k: dims[k] for k in "xyz"},
        "displayDimensions": ["x", "y", "z"],
        "position": [centre[k] for k in "xyz"],
        "crossSectionScale": zoom,
        "layers": [{"type": "image", "source": "zarr://" + url, "name": "em"}],
        "layout": "xy",
        "showAxisLines": False,
        "showScaleBar": False,
        "showDefaultAnnotations": False,
    }, indent=1))
    return 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "state":
        return state(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    if len(sys.argv) != 5 or sys.argv[1] != "check":
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    prefix, store, level = sys.argv[2:]
    meta = json.load(open(prefix + ".json"))
    w, h = meta["width"], meta["height"]
    shot = np.fromfile(prefix + ".gray", np.uint8).reshape(h, w).astype(np.float64)
    px, py, pz = meta["state"]["position"]
    css = meta["state"]["crossSectionScale"]

    group = zarr.open(store, mode="r")
    ds = group.attrs["multiscales"][0]["datasets"]

    def transform(path, kind, default):
        for d in ds:
            if d["path"] == path:
                for t in d["coordinateTransformations"]:
                    if t["type"] == kind:
                        return np.array(t[kind], np.float64)
                return np.array(default, np.float64)
        raise SystemExit(f"ngshot.py: no level '{path}' in {store}")
    s0 = transform(ds[0]["path"], "scale", None)
    # Level LEVEL in level-0 voxels (z, y, x): voxel j's centre is at j * f + t.
    f = transform(level, "scale", None) / s0
    t = transform(level, "translation", [0, 0, 0]) / s0
    arr = group[level]
    zi = int(np.floor((pz - t[0]) / f[0] + 0.5))
    if not 0 <= zi < arr.shape[0]:
        print(f"position z {pz} is outside level {level} (depth {arr.shape[0]})")
        return 1
    plane = arr[zi].astype(np.float64)

    # The middle of the panel, clear of its corner widgets, where the data is.
    def voxel(i, centre, pos, ax):
        # The voxel whose centre is nearest to where screen pixel i's centre falls.
        c = pos + (i + 0.5 - centre) * css
        return np.floor((c - t[ax]) / f[ax] + 0.5).astype(np.int64)
    margin = 40
    cols = np.arange(margin, w - margin)
    rows = np.arange(margin, h - margin)
    vx = voxel(cols, w / 2, px, 2)
    vy = voxel(rows, h / 2, py, 1)
    cols = cols[(vx >= 2) & (vx < plane.shape[1] - 2)]
    rows = rows[(vy >= 2) & (vy < plane.shape[0] - 2)]
    if len(cols) < 32 or len(rows) < 32:
        print(f"the data covers too little of the panel ({len(cols)}x{len(rows)} pixels)")
        return 1
    seen = shot[np.ix_(rows, cols)]

    best = None
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            ix = np.clip(voxel(cols + dx, w / 2, px, 2), 0, plane.shape[1] - 1)
            iy = np.clip(voxel(rows + dy, h / 2, py, 1), 0, plane.shape[0] - 1)
            want = plane[np.ix_(iy, ix)]
            diff = np.abs(seen - want)
            mad = diff.mean()
            if best is None or mad < best[0]:
                best = (mad, (diff <= 2).mean(), dx, dy, want)
    mad, close, dx, dy, want = best
    print(f"level {level} z {zi}: panel {len(cols)}x{len(rows)} px mean {seen.mean():.1f} "
          f"std {seen.std():.1f}; data mean {want.mean():.1f} std {want.std():.1f}; "
          f"shift {dx},{dy}: mean |diff| {mad:.2f}, {100 * close:.1f}% within 2")
    if seen.std() < 4:
        print("the panel is blank (no texture)")
        return 1
    if mad > 2 or close < 0.95:
        print("the panel does not show the data")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
