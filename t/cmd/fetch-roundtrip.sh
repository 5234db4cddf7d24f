#!/bin/sh
# fetch-roundtrip.sh - files written by the reference writers (tifffile: multi-page, tiled,
# deflate, BigTIFF, OME-TIFF with physical sizes; mrcfile: modes 0, 1, 2, 6, 12 (kept float16) with voxel
# sizes and an extended header) ingested by fetch-empiar --url equal numpy's arrays exactly,
# read back with zarr-python, with the voxel sizes the files state.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
$PY -c 'import numpy, tifffile, mrcfile, zarr' 2>/dev/null ||
	skip "python3-numpy, python3-tifffile, python3-mrcfile or python3-zarr missing"
export SCRATCH

$PY - <<'EOF'
import json, os, subprocess, sys
import numpy as np, tifffile, mrcfile, zarr

S = os.environ["SCRATCH"]
nfail = nok = 0
def say(ok, what, detail=""):
    global nfail, nok
    if ok:
        nok += 1
        print("ok - " + what)
    else:
        nfail += 1
        print("not ok - " + what + (": " + detail if detail else ""))

rng = np.random.default_rng(11)
def rnd(shape, dt):
    dt = np.dtype(dt)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dt)
    i = np.iinfo(dt)
    return rng.integers(i.min, i.max, size=shape, endpoint=True, dtype=dt)

def ingest(name, path, want, voxel=None, chunks="4,16,16"):
    p = subprocess.run(["fetch-empiar", "-q", "-o", os.path.join(S, "data"), "--chunks", chunks,
                        "--compressor", "blosc-zstd", "--jobs", "2", "--url", "file://" + path,
                        "--id", name], capture_output=True, text=True)
    if p.returncode != 0:
        say(False, name, "exit %d: %s" % (p.returncode, p.stderr.strip()))
        return
    rec = json.loads(p.stdout)
    got = zarr.open(rec["internal_zarr_path"], mode="r")["0"][...]
    w = want if want.ndim == 3 else want[np.newaxis]
    probs = []
    if got.shape != w.shape or got.dtype != w.dtype:
        probs.append("%s %s, expected %s %s" % (got.shape, got.dtype, w.shape, w.dtype))
    elif not np.array_equal(got, w, equal_nan=True) or got.tobytes() != w.astype(got.dtype).tobytes():
        probs.append("values differ")
    v = rec.get("voxel_size_nm")
    if voxel is None and v is not None:
        probs.append("voxel size %s, expected none" % v)
    if voxel is not None and (v is None or any((a is None) != (b is None) or
                                               (b is not None and abs(a - b) > 1e-6 * b)
                                               for a, b in zip(v, voxel))):
        probs.append("voxel size %s, expected %s" % (v, voxel))
    say(not probs, name, "; ".join(probs))
    return rec

t = lambda n: os.path.join(S, n)
def imwrite(path, a, **kw):
    kw.setdefault("photometric", "minisblack")
    tifffile.imwrite(path, a, **kw)

a = rnd((7, 40, 50), "u1"); imwrite(t("multi.tif"), a)
ingest("tiff-multipage", t("multi.tif"), a)
a = rnd((5, 70, 45), "u2"); imwrite(t("tiled.tif"), a, tile=(32, 16))
ingest("tiff-tiled", t("tiled.tif"), a)
a = rnd((6, 33, 29), "u2"); imwrite(t("deflate.tif"), a, compression="zlib", predictor=True)
ingest("tiff-deflate-predictor", t("deflate.tif"), a)
a = rnd((6, 33, 29), "i2"); imwrite(t("deflate2.tif"), a, compression="zlib", rowsperstrip=4)
ingest("tiff-deflate-strips", t("deflate2.tif"), a)
a = rnd((9, 20, 30), "u1"); imwrite(t("big.tif"), a, bigtiff=True)
ingest("bigtiff", t("big.tif"), a)
a = rnd((4, 24, 32), "u2"); imwrite(t("be.tif"), a, byteorder=">")
ingest("tiff-big-endian", t("be.tif"), a)
# Uncompressed strips one after another are read a plane at a time, past libtiff: strips of
# 5 rows and a short last one, big-endian samples, 32-bit floats, a strip per page.
a = rnd((5, 37, 23), "u2"); imwrite(t("be-strips.tif"), a, byteorder=">", rowsperstrip=5)
ingest("tiff-big-endian-strips", t("be-strips.tif"), a)
a = rnd((3, 19, 21), "f4"); imwrite(t("f4-strips.tif"), a, rowsperstrip=3)
ingest("tiff-float32-strips", t("f4-strips.tif"), a)
a = rnd((4, 16, 40), "i2"); imwrite(t("one-strip.tif"), a, rowsperstrip=16)
ingest("tiff-one-strip", t("one-strip.tif"), a)
a = rnd((8, 24, 32), "u1")
imwrite(t("phys.ome.tif"), a, ome=True, metadata={
    "axes": "ZYX", "PhysicalSizeX": 4.0, "PhysicalSizeXUnit": "nm",
    "PhysicalSizeY": 0.004, "PhysicalSizeYUnit": "\u00b5m",
    "PhysicalSizeZ": 30, "PhysicalSizeZUnit": "nm"})
ingest("ome-tiff-physical-sizes", t("phys.ome.tif"), a, voxel=(30, 4, 4))
a = rnd((3, 2, 16, 20), "u1")
imwrite(t("tz.ome.tif"), a, ome=True, metadata={"axes": "TZYX", "PhysicalSizeX": 0.01,
        "PhysicalSizeY": 0.01, "PhysicalSizeZ": 0.05})
p = subprocess.run(["fetch-empiar", "-q", "-o", os.path.join(S, "data"), "--url", t("tz.ome.tif")],
                   capture_output=True, text=True)
say(p.returncode == 1 and "time points" in p.stderr, "ome-tiff with 3 time points refused",
    p.stderr.strip())

for mode, dt in ((0, "i1"), (1, "i2"), (2, "f4"), (6, "u2"), (12, "f2")):
    a = rnd((5, 18, 22), dt)
    path = t("m%d.mrc" % mode)
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(a)
        m.voxel_size = (6.5, 5.0, 30.0)    # x, y, z in Å
        if mode == 2:
            m.set_extended_header(np.zeros(4, dtype=[("a", "<i4"), ("b", "<f4")]))
    with mrcfile.open(path) as m:
        want = np.array(m.data)          # mrcfile's reading: float16 for mode 12
    rec = ingest("mrc-mode-%d%s" % (mode, "-exthdr" if mode == 2 else ""), path, want,
                 voxel=(3.0, 0.5, 0.65))
    if mode == 12 and rec is not None:
        # Kept as float16 (<f2), not widened; em-meta's statistics are the half values'.
        za = json.load(open(os.path.join(rec["internal_zarr_path"], "0", ".zarray")))
        m = subprocess.run(["em-meta", "-q"], input=json.dumps(rec) + "\n",
                           capture_output=True, text=True)
        st = json.loads(m.stdout)["statistics"] if m.returncode == 0 else {}
        w = want.astype(np.float64)
        probs = []
        if za["dtype"] != "<f2" or rec["data_type"] != "float16":
            probs.append("dtype %s / %s" % (za["dtype"], rec["data_type"]))
        if st.get("min") != w.min() or st.get("max") != w.max():
            probs.append("min/max %s %s, expected %s %s" % (st.get("min"), st.get("max"),
                                                             w.min(), w.max()))
        if abs(st.get("mean", 1e300) - w.mean()) > 1e-9 * abs(w).max():
            probs.append("mean %s, expected %s" % (st.get("mean"), w.mean()))
        if abs(st.get("std", 1e300) - w.std()) > 1e-9 * abs(w).max():
            probs.append("std %s, expected %s" % (st.get("std"), w.std()))
        if st.get("count") != w.size or sum(st["histogram"]["counts"]) != w.size:
            probs.append("count %s" % st.get("count"))
        say(not probs, "mrc-mode-12: <f2 store, float16 statistics", "; ".join(probs) or m.stderr)
a = rnd((40, 36), "f4")
with mrcfile.new(t("plane.mrc"), overwrite=True) as m:
    m.set_data(a)
    m.voxel_size = 2.0
# One section has no z spacing: y and x are kept, z is null (unknown).
ingest("mrc-2d", t("plane.mrc"), a, voxel=(None, 0.2, 0.2))

print("%d passed, %d failed" % (nok, nfail))
sys.exit(1 if nfail else 0)
EOF
