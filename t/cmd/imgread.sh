#!/bin/sh
# imgread.sh - files written by the reference writers (tifffile, mrcfile) read back exactly by
# lib/formats/image.h through t/prog/imgsum: shape, dtype, sha256 of the array, voxel size, refusals.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
$PY -c 'import numpy, tifffile, mrcfile' 2>/dev/null ||
	skip "python3-numpy, python3-tifffile or python3-mrcfile missing"
command -v imgsum >/dev/null || skip "t/prog/imgsum is not built"
# An ASan build keeps freed memory in quarantine, so its RSS says nothing of the readers.
SANITIZED=0
grep -q __asan_init "$(command -v imgsum)" && SANITIZED=1
export SANITIZED SCRATCH TESTDATA

$PY - <<'EOF'
import hashlib, json, os, resource, subprocess, sys
import numpy as np, tifffile, mrcfile

S = os.environ["SCRATCH"]
nfail = 0

def say(ok, what, detail=""):
    global nfail
    if ok:
        print("ok - " + what)
    else:
        nfail += 1
        print("not ok - " + what + (": " + detail if detail else ""))

def sha(a):
    a = np.ascontiguousarray(a)
    return hashlib.sha256(a.astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()

def run(args):
    p = subprocess.run(["imgsum"] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr

def read(path, args=()):
    rc, out, err = run(list(args) + [path])
    if rc != 0:
        return None, err.strip()
    return json.loads(out), None

def check(name, path, arr, dtype=None, voxel=(None, None, None), ndim=None, args=()):
    """arr: the array the reference reader gives (z,y,x or y,x)."""
    got, err = read(path, args)
    if got is None:
        say(False, name, err)
        return
    want_shape = list(arr.shape) if arr.ndim == 3 else [1] + list(arr.shape)
    want_dtype = dtype or str(arr.dtype.newbyteorder("=").name)
    probs = []
    if got["shape"] != want_shape:
        probs.append("shape %s, expected %s" % (got["shape"], want_shape))
    if got["dtype"] != want_dtype:
        probs.append("dtype %s, expected %s" % (got["dtype"], want_dtype))
    if got["ndim"] != (ndim or arr.ndim):
        probs.append("ndim %s, expected %s" % (got["ndim"], ndim or arr.ndim))
    conv = arr.astype(np.dtype(want_dtype).newbyteorder("<"))
    if got["sha256"] != sha(conv):
        probs.append("sha256 differs")
    for a, (g, w) in enumerate(zip(got["voxel_nm"], voxel)):
        if (g is None) != (w is None) or (w is not None and abs(g - w) > 1e-6 * w):
            probs.append("voxel %s %s nm, expected %s" % ("zyx"[a], g, w))
    say(not probs, name, "; ".join(probs))

def refused(name, path, words, args=()):
    got, err = read(path, args)
    say(got is None and words in (err or ""), name,
        "read" if got is not None else "message '%s' lacks '%s'" % (err, words))

rng = np.random.default_rng(7)
def rnd(shape, dt):
    dt = np.dtype(dt)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)

# ---- tifffile ----
t = lambda n: os.path.join(S, n)
# Grey levels always: tifffile takes a leading 3 or 4 for colour samples otherwise.
_imwrite = tifffile.imwrite
def imwrite(path, a, **kw):
    kw.setdefault("photometric", "minisblack")
    _imwrite(path, a, **kw)
tifffile.imwrite = imwrite
a = rnd((5, 32, 48), "u2"); tifffile.imwrite(t("multi.tif"), a)
check("tiff: 5-page uint16 stack", t("multi.tif"), a)
a = rnd((3, 40, 50), "i2"); tifffile.imwrite(t("tiled.tif"), a, tile=(16, 16))
check("tiff: tiles overhanging the edge", t("tiled.tif"), a)
a = rnd((4, 33, 17), "f4"); tifffile.imwrite(t("deflate.tif"), a, compression="zlib")
check("tiff: deflate float32", t("deflate.tif"), a)
a = rnd((4, 33, 17), "u1"); tifffile.imwrite(t("rps.tif"), a, rowsperstrip=5, compression="zlib")
check("tiff: deflate strips of 5 rows", t("rps.tif"), a)
a = rnd((3, 20, 30), "u1"); tifffile.imwrite(t("big.tif"), a, bigtiff=True)
check("tiff: BigTIFF", t("big.tif"), a)
a = rnd((2, 9, 11), "u2"); tifffile.imwrite(t("be.tif"), a, byteorder=">")
check("tiff: big-endian uint16", t("be.tif"), a)
for dt in ("i1", "u1", "i4", "u4", "f8", "i8", "u8"):
    a = rnd((13, 7), dt); tifffile.imwrite(t("p_%s.tif" % dt), a)
    check("tiff: single page %s" % a.dtype.name, t("p_%s.tif" % dt), a)
a = rnd((6, 5), "f2"); tifffile.imwrite(t("half.tif"), a)
check("tiff: float16 read as float32", t("half.tif"), a, dtype="float32")
a = rnd((6, 24, 32), "u2")
tifffile.imwrite(t("phys.ome.tif"), a, ome=True, metadata={
    "axes": "ZYX", "PhysicalSizeX": 0.25, "PhysicalSizeXUnit": "\u00b5m",
    "PhysicalSizeY": 0.25, "PhysicalSizeYUnit": "\u00b5m",
    "PhysicalSizeZ": 40, "PhysicalSizeZUnit": "nm"})
check("ome-tiff: physical sizes with units", t("phys.ome.tif"), a, voxel=(40, 250, 250))
a = rnd((4, 10, 12), "f4")
tifffile.imwrite(t("dflt.ome.tif"), a, ome=True,
    metadata={"axes": "ZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5})
check("ome-tiff: physical sizes in the default unit (um)", t("dflt.ome.tif"), a,
      voxel=(None, 500, 500))
a = rnd((2, 3, 16, 16), "u2")
tifffile.imwrite(t("chan.ome.tif"), a, ome=True, metadata={"axes": "CZYX"})
refused("ome-tiff: two channels refused without a choice", t("chan.ome.tif"),
        "OME-TIFF with 2 channels (C=2, Z=3, T=1): not a single-channel volume")
check("ome-tiff: channel 1 chosen", t("chan.ome.tif"), a[1], args=("-c", "1"))
refused("ome-tiff: channel 2 of 2 is out of range", t("chan.ome.tif"), "choose a channel",
        args=("-c", "2"))
a = rnd((2, 3, 8, 8), "i2")
tifffile.imwrite(t("time.ome.tif"), a, ome=True, metadata={"axes": "TZYX"})
refused("ome-tiff: two time points of 3 slices refused without a choice", t("time.ome.tif"),
        "OME-TIFF with 2 time points of 3 slices: not a single volume; choose a time point")
check("ome-tiff: time point 1 chosen", t("time.ome.tif"), a[1], args=("-t", "1"))
a = rnd((4, 8, 8), "u1")
tifffile.imwrite(t("tser.ome.tif"), a, ome=True, metadata={"axes": "TYX"})
got, err = read(t("tser.ome.tif"), ("-m",))
say(got is not None and got["shape"] == [4, 8, 8] and got["sha256"] == sha(a) and
    got["source_metadata"].get("stack_axis") == "T" and got["voxel_nm"][0] is None,
    "ome-tiff: a time series of planes is the stack, with no z size", err)
a = rnd((3, 20, 22), "u1")
tifffile.imwrite(t("ij.tif"), a, imagej=True, resolution=(1 / 0.2, 1 / 0.2),
                 metadata={"axes": "ZYX", "spacing": 0.5, "unit": "um"})
check("imagej: spacing and resolution give voxel sizes", t("ij.tif"), a, voxel=(500, 200, 200))
a = rnd((2, 3, 8, 9), "u2")
tifffile.imwrite(t("ijc.tif"), a, imagej=True, metadata={"axes": "ZCYX"})
refused("imagej: hyperstack of 3 channels refused", t("ijc.tif"),
        "ImageJ hyperstack with 3 channels")
check("imagej: channel 2 of a hyperstack", t("ijc.tif"), a[:, 2], args=("-c", "2"))
# ImageJ's way past 4 GiB: one IFD, the images stored one after another.
a = rnd((5, 6, 7), "u2").astype(">u2")
tifffile.imwrite(t("ijt.tif"), a, imagej=True, truncate=True, resolution=(2, 2),
                 metadata={"axes": "ZYX", "spacing": 3, "unit": "nm"})
say(len(tifffile.TiffFile(t("ijt.tif")).pages) == 1, "tifffile wrote a one-IFD ImageJ stack")
check("imagej: contiguous big-endian stack in one IFD", t("ijt.tif"), a.astype("<u2"),
      voxel=(3, 0.5, 0.5))
a = rnd((3, 2, 4, 5), "u1")
tifffile.imwrite(t("ijtc.tif"), a, imagej=True, truncate=True, metadata={"axes": "ZCYX"})
check("imagej: channel 1 of a contiguous hyperstack", t("ijtc.tif"), a[:, 1], args=("-c", "1"))
with open(t("ijt.tif"), "rb") as fsrc:
    data = fsrc.read()
with open(t("ijtcut.tif"), "wb") as fdst:
    fdst.write(data[:len(data) - 1])
refused("imagej: truncated contiguous stack", t("ijtcut.tif"),
        "truncated ImageJ stack: 5 images of 84 bytes from offset")
with tifffile.TiffWriter(t("mixed.tif")) as w:
    w.write(rnd((8, 8), "u1")); w.write(rnd((8, 9), "u1"))
refused("tiff: pages of differing size name the page", t("mixed.tif"),
        "page 2 is 8x9 uint8, page 1 is 8x8 uint8")
tifffile.imwrite(t("rgb.tif"), rnd((8, 8, 3), "u1"), photometric="rgb")
refused("tiff: RGB refused", t("rgb.tif"), "RGB image: not a single-channel volume")

# libtiff's messages go through the library: one line from the tool, nothing from libtiff.
a = rnd((6, 6), "u1")
tifffile.imwrite(t("tag.tif"), a, extratags=[(65000, "s", 0, "private", True)])
rc, out, err = run([t("tag.tif")])
say(rc == 0 and err == "", "tiff: libtiff's warning on an unknown tag is not printed", err)
with open(t("tag.tif"), "rb") as fsrc:
    data = bytearray(fsrc.read())
data[4:8] = (len(data) - 2).to_bytes(4, "little")	# first IFD past the end
with open(t("badifd.tif"), "wb") as fdst:
    fdst.write(data)
rc, out, err = run([t("badifd.tif")])
say(rc == 1 and err.count("\n") == 1 and err.startswith("imgsum: cannot open '%s': not a readable"
    " TIFF file" % t("badifd.tif")), "tiff: a broken IFD gives one line naming the file", err)

# A series of single-page files is one volume; a file that differs is named.
planes = [rnd((12, 10), "i2") for _ in range(4)]
names = []
for i, p in enumerate(planes):
    names.append(t("s%d.tif" % i)); tifffile.imwrite(names[-1], p)
rc, out, err = run(["-s", "30"] + names)
got = json.loads(out) if rc == 0 else None
say(got is not None and got["shape"] == [4, 12, 10] and got["sha256"] == sha(np.stack(planes))
    and got["voxel_nm"][0] == 30 and got["ndim"] == 3, "series of 4 TIFFs as one volume", err)
tifffile.imwrite(t("s9.tif"), rnd((12, 11), "i2"))
rc, out, err = run(["-s", "30"] + names + [t("s9.tif")])
say(rc == 1 and "series file 5 '%s' is 12x11 int16, the first is 12x10 int16" % t("s9.tif") in err,
    "series: the file that differs is named", err)

# DM3 slices from the test data as a series.
dm = [os.path.join(os.environ.get("TESTDATA", ""), "dm3", f)
      for f in ("rsciio_2D_test-6.dm3", "rsciio_2D_test-9.dm3")]
if all(os.path.exists(f) for f in dm):
    rc, out, err = run(["-s", "2.5", dm[0], dm[0], dm[0]])
    got = json.loads(out) if rc == 0 else None
    say(got is not None and got["shape"] == [3, 2, 2] and got["dtype"] == "uint8" and
        got["sha256"] == sha(np.array([[[1, 2], [3, 4]]] * 3, dtype="u1")) and
        got["voxel_nm"][0] == 2.5 and got["format"] == "series",
        "series of three DM3 slices", err)
    rc, out, err = run(["-s", "2.5", dm[0], dm[1]])
    say(rc == 1 and "series file 2 '%s' is 2x2 int8, the first is 2x2 uint8" % dm[1] in err,
        "series: a DM3 slice of another type is named", err)
else:
    print("ok - no DM3 test data: series of DM3 slices skipped")

# ---- mrcfile ----
for mode, dt in ((0, "i1"), (1, "i2"), (2, "f4"), (6, "u2"), (12, "f2")):
    a = rnd((4, 8, 6), dt)
    p = t("m%d.mrc" % mode)
    with mrcfile.new(p, overwrite=True) as m:
        m.set_data(a)
        m.voxel_size = (1.5, 2.0, 2.5)
        m.set_extended_header(np.zeros(100, dtype="u1"))
    with mrcfile.open(p) as m:
        ok = m.header.mode == mode and m.header.nsymbt == 100
    say(ok, "mrcfile wrote mode %d with a 100-byte extended header" % mode)
    check("mrc: mode %d" % mode, p, a, dtype=None,
          voxel=(0.25, 0.2, 0.15))
a = rnd((9, 7), "f4")
with mrcfile.new(t("img.mrc"), overwrite=True) as m:
    m.set_data(a); m.voxel_size = 3.0
check("mrc: 2-D image", t("img.mrc"), a, voxel=(None, 0.3, 0.3))
a = rnd((3, 5, 4), "f4").astype(">f4")
with mrcfile.new(t("be.mrc"), overwrite=True) as m:
    m.set_data(a)
check("mrc: big-endian (MACHST 11 11)", t("be.mrc"), a.astype("<f4"))

# MAPC/MAPR/MAPS applied: Z, Y, X in the volume whatever the file order.
td = os.environ.get("TESTDATA", "")
for f in ("mrc/EMD-3001.map", "mrc/gemmi_5i55_tiny.ccp4"):
    p = os.path.join(td, f)
    if not os.path.exists(p):
        print("ok - %s absent: skipped" % f)
        continue
    with mrcfile.open(p, permissive=True) as m:
        crs = [int(m.header.mapc), int(m.header.mapr), int(m.header.maps)]
        d = np.array(m.data)
        vs = m.voxel_size
    # numpy axis 2 - i holds file axis i (columns fastest); output axis S is file axis crs.index(S+1).
    order = [2 - crs.index(s) for s in (3, 2, 1)]
    check("mrc: %s axis order %s applied" % (f, crs), p, d.transpose(order),
          voxel=tuple(float(getattr(vs, c)) / 10 for c in "zyx"))
    check("mrc: %s in file order" % f, p, d, args=("-f",),
          voxel=tuple(float(getattr(vs, "xyz"[crs[i] - 1])) / 10 for i in (2, 1, 0)))

# Truncated: a clear message naming the sizes.
with open(t("m2.mrc"), "rb") as fsrc:
    data = fsrc.read()
with open(t("cut.mrc"), "wb") as fdst:
    fdst.write(data[:len(data) - 10])
refused("mrc: truncated file", t("cut.mrc"),
        "truncated MRC file: 6 x 8 x 4 mode 2 needs 768 data bytes from offset 1124")

# ---- memory: flat when the planes double ----
if os.environ.get("SANITIZED") == "1":
    print("ok - peak RSS not measured in a sanitizer build")
else:
    rss = {}
    for n in (200, 400):
        p = t("rss%d.tif" % n)
        with tifffile.TiffWriter(p) as w:
            plane = rnd((256, 256), "u1")
            for i in range(n):
                w.write(plane, contiguous=True)
        got, err = read(p, ("-r",))
        say(got is not None and got["shape"] == [n, 256, 256] and
            got["sha256"] == sha(np.stack([plane] * n)), "%d-plane stack read" % n, err)
        rss[n] = got["peak_rss_kb"] if got else 0
        os.unlink(p)
    # 200 more planes are 12.5 MiB of data; a reader holding them would grow by that.
    print("# peak RSS reading 200 planes: %d KiB, 400 planes: %d KiB" % (rss[200], rss[400]))
    say(rss[400] - rss[200] < 2048, "memory flat when the number of planes doubles",
        "%d KiB then %d KiB" % (rss[200], rss[400]))

print("%s" % ("" if nfail == 0 else "%d failed" % nfail))
sys.exit(1 if nfail else 0)
EOF
rc=$?
if [ "$rc" -eq 0 ]; then ok "reference writers read back"; else fail "reference writers read back"; fi
done_testing
