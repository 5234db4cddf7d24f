#!/bin/sh
# fetch-testdata.sh - every 2-D and 3-D image file of the shared test data ingested with
# fetch-idr --url file://... and em-meta: the store's sha256, shape, type and voxel size
# match EXPECTED.md (parsed here); the files the readers refuse fail with exit 1, a failed
# record and a message naming what they are.
. "$(dirname "$0")/../lib.sh"

need_testdata dm3
PY=/usr/bin/python3
$PY -c 'import numpy, mrcfile' 2>/dev/null || skip "python3-numpy or python3-mrcfile missing"
export SCRATCH TESTDATA

$PY - <<'EOF'
import hashlib, json, os, re, subprocess, sys
import warnings
import numpy as np, mrcfile
warnings.simplefilter("ignore")

S, TD = os.environ["SCRATCH"], os.environ["TESTDATA"]
nfail = nok = 0

def say(ok, what, detail=""):
    global nfail, nok
    if ok:
        nok += 1
    else:
        nfail += 1
        print("not ok - " + what + (": " + detail if detail else ""))

# ---- EXPECTED.md: | `path` | reader | shape | dtype | sha256… | first | extra | ----
rows = {}
for line in open(os.path.join(TD, "EXPECTED.md"), encoding="utf-8"):
    m = re.match(r"\| `([^`]+)` \| [^|]+ \| \(([0-9, ]*)\) \| `([^`]+)` \| `([0-9a-f]+)", line)
    if not m:
        continue
    path = m.group(1)
    if " [signal " in path:
        if not path.endswith("[signal 0]"):
            continue
        path = path.split(" [")[0]
    extra = line.rstrip().rstrip("|").split("|")[-1].strip()
    shape = tuple(int(x) for x in m.group(2).replace(" ", "").split(",") if x)
    rows[path] = dict(shape=shape, dtype=m.group(3), sha=m.group(4), extra=extra)
say(len(rows) > 100, "EXPECTED.md parsed", "%d rows" % len(rows))

NP2NAME = {"|u1": "uint8", "|i1": "int8", "<u2": "uint16", "<i2": "int16", "<u4": "uint32",
           "<i4": "int32", "<u8": "uint64", "<i8": "int64", "<f4": "float32", "<f8": "float64"}
UNIT = {"nm": 1.0, "um": 1e3, "\u00b5m": 1e3, "A": 0.1, "\u00c5": 0.1, "pm": 1e-3, "mm": 1e6}

def voxels(rel, row):
    """z, y, x nm the peer saw (None = not a length), or None when the row says nothing."""
    ex, nd = row["extra"], len(row["shape"])
    if rel.startswith("dm") and "axes " in ex:
        toks = ex.split("axes ", 1)[1].split(" ")[0].split(";")
        v = [None, None, None]
        for i, t in enumerate(reversed(toks[-3:])):
            m = re.match(r".*\u00d7([0-9.eE+-]+)(.*)$", t)
            if m and m.group(2) in UNIT:
                v[2 - i] = float(m.group(1)) * UNIT[m.group(2)]
        return v
    m = re.search(r"voxel \[([-0-9.e]+), ([-0-9.e]+), ([-0-9.e]+)\]", ex)
    if m:
        vx = [float(m.group(i)) for i in (1, 2, 3)]   # x, y, z in Å
        v = [vx[2] / 10 if vx[2] > 0 else None, vx[1] / 10 if vx[1] > 0 else None,
             vx[0] / 10 if vx[0] > 0 else None]
        if nd == 2:
            v[0] = None
        return v
    return None

# Files the readers refuse: the words the message must have (a name ending in * is a prefix).
REFUSED = [
    ("dm3/rsciio_1D_test-*", "1-D spectrum of 2 "),
    ("dm4/rsciio_1D_test-*", "1-D spectrum of 2 "),
    ("dm3/ncempy_08_carbon.dm3", "1-D spectrum of 2048 float32 values: not an image volume"),
    ("dm3/test-EELS_spectrum.dm3", "1-D spectrum of 2048 float32 values"),
    ("dm4/EELS_SI.dm4", "spectrum image of 2 x 2 pixels x 2048 channels in eV"),
    ("dm3/rsciio_2D_test-3.dm3", "complex64 image"),
    ("dm3/rsciio_2D_test-5.dm3", "not a real-valued volume"),
    ("dm3/rsciio_2D_test-13.dm3", "complex128 image"),
    ("dm3/rsciio_3D_test-3.dm3", "complex64 image"),
    ("dm3/rsciio_3D_test-5.dm3", "not a real-valued volume"),
    ("dm3/rsciio_3D_test-13.dm3", "complex128 image"),
    ("dm4/rsciio_2D_test-3.dm4", "complex64 image"),
    ("dm4/rsciio_2D_test-5.dm4", "not a real-valued volume"),
    ("dm4/rsciio_2D_test-13.dm4", "complex128 image"),
    ("dm4/rsciio_2D_test-27.dm4", "not a real-valued volume"),
    ("dm4/rsciio_2D_test-28.dm4", "not a real-valued volume"),
    ("dm4/rsciio_3D_test-3.dm4", "complex64 image"),
    ("dm4/rsciio_3D_test-5.dm4", "not a real-valued volume"),
    ("dm4/rsciio_3D_test-13.dm4", "complex128 image"),
    ("dm4/rsciio_3D_test-27.dm4", "not a real-valued volume"),
    ("dm4/rsciio_3D_test-28.dm4", "not a real-valued volume"),
    ("dm4/test_fft_packed_complex8.dm4", "packed complex64 image"),
    ("dm3/rsciio_2D_test-14.dm3", "bool image"),
    ("dm3/rsciio_3D_test-14.dm3", "bool image"),
    ("dm4/rsciio_2D_test-14.dm4", "bool image"),
    ("dm4/rsciio_3D_test-14.dm4", "bool image"),
    ("dm3/rsciio_2D_test-8.dm3", "image: not a single-channel volume"),
    ("dm3/rsciio_2D_test-23.dm3", "RGBA image: not a single-channel volume"),
    ("dm3/rsciio_3D_test-8.dm3", "image: not a single-channel volume"),
    ("dm3/rsciio_3D_test-23.dm3", "RGBA image: not a single-channel volume"),
    ("dm4/rsciio_2D_test-8.dm4", "image: not a single-channel volume"),
    ("dm4/rsciio_2D_test-23.dm4", "RGBA image: not a single-channel volume"),
    ("dm4/rsciio_3D_test-8.dm4", "image: not a single-channel volume"),
    ("dm4/rsciio_3D_test-23.dm4", "RGBA image: not a single-channel volume"),
    ("tiff/image-tiff_BigTIFF*", "RGB image: not a single-channel volume"),
    ("tiff/image-tiff_planar-rgb-u8.tif", "RGB image: not a single-channel volume"),
    ("tiff/rsciio_olympus_SIS.tif", "RGB image: not a single-channel volume"),
    ("tiff/image-tiff_seq/seq-3c-*", "RGB image"),
    ("ometiff/libvips_multi-channel-z-series.ome.tif",
     "OME-TIFF with 3 channels (C=3, Z=5, T=1): not a single-channel volume"),
]
# Read by us with no peer value (EXPECTED.md lists them as unreadable by the peer).
NOREF = ["tiff/image-tiff_predictor-3-gray-f32.tif", "tiff/image-tiff_tiled-oversize-gray-i8.tif"]

def refusal(rel):
    for name, why in REFUSED:
        if (name.endswith("*") and rel.startswith(name[:-1])) or rel == name:
            return why
    return None

def sibling(rel):
    """A row with the same pixels: seq files share a content tag; _zstd is the plain file."""
    if "image-tiff_seq/" in rel:
        tag = rel[rel.rfind("-"):]
        for p in rows:
            if p.startswith("tiff/image-tiff_seq/") and p.endswith(tag):
                return rows[p]
    if "_zstd" in rel:
        return rows.get(rel.replace("_zstd", ""))
    return None

files = []
for d in ("dm3", "dm4", "mrc", "tiff", "tiff/image-tiff_seq", "ometiff"):
    p = os.path.join(TD, d)
    for n in sorted(os.listdir(p)):
        if not n.startswith(".") and os.path.isfile(os.path.join(p, n)):
            files.append(d + "/" + n)

def fetch(rel):
    out = os.path.join(S, "data", rel.split("/")[0] + ("-seq" if "seq/" in rel else ""))
    url = "file://" + os.path.join(TD, rel).replace(" ", "%20")
    p = subprocess.run(["fetch-idr", "-q", "-o", out, "--chunks", "8,16,16", "--compressor",
                        "zlib", "--level", "1", "--jobs", "2", "--url", url],
                       capture_output=True, text=True)
    return p

stubs, plan = [], {}
nref = nsib = nnoref = naxes = 0
for rel in files:
    why = refusal(rel)
    p = fetch(rel)
    if why is not None:
        rec = json.loads(p.stdout) if p.stdout.strip() else {}
        probs = []
        if p.returncode != 1:
            probs.append("exit %d" % p.returncode)
        if why not in p.stderr or rel.split("/")[-1] not in p.stderr:
            probs.append("message '%s' lacks '%s' or the file name" % (p.stderr.strip(), why))
        if rec.get("status") != "failed" or why not in rec.get("error", ""):
            probs.append("record %s / %s" % (rec.get("status"), rec.get("error")))
        say(not probs, "refused: " + rel, "; ".join(probs))
        nref += 1
        continue
    if p.returncode != 0:
        say(False, "ingested: " + rel, "exit %d: %s" % (p.returncode, p.stderr.strip()))
        continue
    row, own = rows.get(rel), True
    if row is None:
        row, own = sibling(rel), False
    if row is None:
        say(rel in NOREF, "ingested: " + rel, "not in EXPECTED.md nor in this test's lists")
        nnoref += 1
        continue
    nsib += 0 if own else 1
    stubs.append(p.stdout)
    plan[json.loads(p.stdout)["internal_zarr_path"]] = (rel, row, own)

m = subprocess.run(["em-meta", "-q", "--jobs", "2"], input="".join(stubs), capture_output=True,
                   text=True)
say(m.returncode == 0, "em-meta completes every record", m.stderr.strip()[:500])

def mrc_sha_in_map_order(path):
    """mrcfile's array (as stored) with MAPC/MAPR/MAPS applied: z, y, x of the map."""
    with mrcfile.open(path, permissive=True) as mf:
        a = np.asarray(mf.data)
        h = mf.header
        crs = [int(h.mapc), int(h.mapr), int(h.maps)]
    if a.ndim == 2:
        a = a[np.newaxis]
    # Data dim d (0 = sections) holds axis crs[2 - d] (1 = X, 2 = Y, 3 = Z).
    perm = [[d for d in range(3) if crs[2 - d] == 3 - k][0] for k in range(3)]
    a = np.ascontiguousarray(np.transpose(a, perm))
    file_sha = hashlib.sha256(np.ascontiguousarray(np.asarray(mrcfile.open(path,
        permissive=True).data)).astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()
    return hashlib.sha256(a.astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest(), file_sha

for line in m.stdout.split("\n"):
    if not line.strip():
        continue
    rec = json.loads(line)
    rel, row, own = plan[rec["internal_zarr_path"]]
    probs = []
    shape = tuple(row["shape"]) if len(row["shape"]) == 3 else (1,) + tuple(row["shape"])
    want_sha = row["sha"]
    if rel.startswith("mrc/"):
        mapsha, filesha = mrc_sha_in_map_order(os.path.join(TD, rel))
        if not filesha.startswith(row["sha"]):
            probs.append("mrcfile's own sha256 is not EXPECTED.md's")
        want_sha = mapsha
        with mrcfile.open(os.path.join(TD, rel), permissive=True) as mf:
            if mf.data.ndim == 3:
                crs = [int(mf.header.mapc), int(mf.header.mapr), int(mf.header.maps)]
                shape = tuple(mf.data.shape[[d for d in range(3) if crs[2 - d] == 3 - k][0]]
                              for k in range(3))
    if rec.get("status") != "complete":
        probs.append("status %s" % rec.get("status"))
    if not rec.get("sha256", "").startswith(want_sha):
        probs.append("sha256 %s, expected %s..." % (rec.get("sha256"), want_sha[:16]))
    if tuple(rec.get("volume_shape", ())) != shape:
        probs.append("shape %s, expected %s" % (rec.get("volume_shape"), shape))
    if rec.get("data_type") != NP2NAME.get(row["dtype"]):
        probs.append("dtype %s, expected %s" % (rec.get("data_type"), row["dtype"]))
    v = voxels(rel, row) if own else None
    got = rec.get("voxel_size_nm")
    src = rec.get("voxel_size_source")
    if v is not None:
        # Every axis the peer calibrated, with provenance file; the others null, "unknown".
        if v == [None, None, None]:
            if got is not None:
                probs.append("voxel size %s, expected none (no axis is known)" % got)
        elif got is None or src is None:
            probs.append("no voxel size, expected %s" % v)
        else:
            for a in range(3):
                if v[a] is None:
                    if got[a] is not None or src[a] != "unknown":
                        probs.append("axis %s: %s (%s), expected null (unknown)" %
                                     ("zyx"[a], got[a], src[a]))
                elif got[a] is None or abs(got[a] - v[a]) > 1e-3 * v[a] or src[a] != "file":
                    probs.append("axis %s: %s (%s), expected %s (file)" %
                                 ("zyx"[a], got[a], src[a], v[a]))
                else:
                    naxes += 1
            # The store's NGFF scale: the known sizes, and ngff_scale_nm's number elsewhere.
            za = json.load(open(os.path.join(rec["internal_zarr_path"], ".zattrs")))
            sc = za["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]
            want = rec.get("ngff_scale_nm") if None in got else got
            if None in got and (want is None or
                                want != [max(g for g in got if g is not None) if g is None
                                         else g for g in got]):
                probs.append("ngff_scale_nm %s for %s" % (want, got))
            elif want is None or any(abs(a - b) > 1e-9 * b for a, b in zip(sc, want)):
                probs.append("store scale %s, expected %s" % (sc, want))
    if rel.startswith("tiff/") and "imageJ" not in rel and got is not None:
        probs.append("a plain TIFF's resolution became a voxel size %s" % got)
    say(not probs, "ingested: " + rel, "; ".join(probs))

print("# %d files: %d refused, %d matched by sibling rows, %d without a peer value" %
      (len(files), nref, nsib, nnoref))
say(nref > 40 and len(plan) > 60, "enough files checked")
# Every calibrated axis of the real files is in the records (2-D images and stacks
# without a z calibration included).
print("# %d calibrated axes in the records" % naxes)
say(naxes >= 30, "calibrated axes kept", "%d" % naxes)
print("%d passed, %d failed" % (nok, nfail))
sys.exit(1 if nfail else 0)
EOF
