#!/bin/sh
# demo-mirror.sh - builds a small local mirror of the five archives, each in its real
# protocol and format, for em-origin(1) to serve on loopback (make demo, the tests):
#
#   scripts/demo-mirror.sh [-s small|demo] DIR
#
# writes DIR/www (em-origin's --root; the paths are the archives' URL paths) and
# DIR/overlay.yaml.in, a configuration overlay whose @ORIGIN@ (the origin's base URL,
# ending in /) and @DIR@ the caller replaces.  Samples (z,y,x; "demo" size, then "small"):
#
#   EMPIAR-11759  API JSON, an Apache index and 8 (4) DM3 slices of 256x320 (64x80), 8 nm
#   EPFL          one multi-page uncompressed TIFF, 48 (12) pages of 192x256 (48x64)
#   DVID          a uint8blk instance (info + raw/0_1_2 boxes), crop 64x128x128 (16x32x32)
#   IDR 9846137   imgData JSON and an OME-TIFF, 24 (6) pages of 155x224 (39x56), 20 nm
#   OpenOrganelle a COSEM-style Zarr v2 multiscale (s0, s1), int16, 64x160x160 (16x40x40),
#                 blosc-lz4 chunks of 32x64x64, one chunk missing (fill value)
#   hemibrain     the DVID instance's voxels as the precomputed release has them: sharded
#                 JPEG (murmurhash3, gzip minishard indexes), 64^3 chunks, 8 and 16 nm,
#                 under neuroglancer-janelia-flyem-hemibrain/emdata/clahe_yz/jpeg
#
# Needs python3 with numpy, tifffile, zarr and PIL (Debian's python3-* packages) and the
# test helpers t/prog/mkdm3 and t/prog/genfile of a built tree.
set -eu
size=demo
if [ "${1:-}" = -s ]; then
	size=$2
	shift 2
fi
case $size in demo | small) ;; *) echo "demo-mirror.sh: size '$size': demo or small" >&2; exit 2 ;; esac
[ $# -eq 1 ] || { echo "usage: demo-mirror.sh [-s small|demo] DIR" >&2; exit 2; }
dir=$1
top=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/usr/bin/python3}
[ -x "$top/t/prog/mkdm3" ] || { echo "demo-mirror.sh: no $top/t/prog/mkdm3: run make demo" >&2; exit 1; }
w=$dir/www
rm -rf "$w"
mkdir -p "$w"

uuid=a89eb3af216a46cdba81204d8f954786
# DVID crop (X,Y,Z, DVID's order) inside a volume whose MinPoint is the offset of the
# real crop in config/config.yaml.
if [ "$size" = demo ]; then
	nslice=8 dh=256 dw=320 dvid_size="128, 128, 64"
else
	nslice=4 dh=64 dw=80 dvid_size="32, 32, 16"
fi

# Volumes with some structure (smooth blobs, membranes, noise) so that the statistics
# in the records mean something; fixed seeds make every build of the mirror identical.
"$PY" - "$w" "$size" "$uuid" "$nslice" "$dh" "$dw" <<'EOF'
import json, os, sys
import numpy as np
import tifffile, zarr, numcodecs

w, size, uuid = sys.argv[1], sys.argv[2], sys.argv[3]
nslice, dh, dw = map(int, sys.argv[4:7])
small = size == "small"

def em_like(shape, seed, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*(np.linspace(0, 1, n, dtype=np.float32) for n in shape), indexing="ij")
    v = np.zeros(shape, np.float32)
    for _ in range(6):
        c = rng.random(3)
        f = 4 + 10 * rng.random()
        v += np.cos(f * np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) * np.pi)
    v = (v - v.min()) / (np.ptp(v) + 1e-6)
    v = 0.75 * v + 0.25 * rng.random(shape, dtype=np.float32)
    if dtype == np.uint8:
        return (v * 255).astype(np.uint8)
    return (v * 6000 - 1000).astype(dtype)

def mkdir(*p):
    d = os.path.join(w, *p)
    os.makedirs(d, exist_ok=True)
    return d

# EMPIAR: the slices' pixels as one raw file; mkdm3 wraps each slice (below).
d = mkdir("empiar", "world_availability", "11759", "data")
em_like((nslice, dh, dw), 1).tofile(os.path.join(w, "..", "empiar.raw"))
mkdir("empiar", "world_availability", "11759", "data", "trakem2")
with open(os.path.join(d, "trakem2", "project.xml"), "w") as f:
    f.write("<trakem2/>\n")
with open(os.path.join(mkdir("empiar", "api", "entry"), "EMPIAR-11759.json"), "w") as f:
    json.dump({"EMPIAR-11759": {
        "title": "Developing retina in zebrafish 55 hpf larval eye (demo sample)",
        "experiment_type": "SBF-SEM", "entry_doi": "10.6019/EMPIAR-11759",
        "release_date": "2023-10-05",
        "imagesets": [{"name": "Zebrafish retina", "directory": "data", "category": "SBF-SEM",
                       # As the real API gives them: pixel sizes in Å (8 nm), image
                       # sizes as strings, the directory relative without a leading
                       # slash ("data", "data/<dir>": t/data/fixtures/PROVENANCE.md).
                       "pixel_width": 80.0, "pixel_height": 80.0, "image_width": str(dw),
                       "image_height": str(dh), "num_images_or_tilt_series": nslice,
                       "voxel_type": "UNSIGNED BYTE", "data_format": "DM3"}]}}, f, indent=1)

# EPFL: one multi-page uncompressed TIFF, as volumedata.tif is.
shape = (12, 48, 64) if small else (48, 192, 256)
d = mkdir("cvlab", "data", "ElectronMicroscopy_Hippocampus")
tifffile.imwrite(os.path.join(d, "volumedata.tif"), em_like(shape, 2), photometric="minisblack")

# DVID: uint8blk info and the voxels of its extents (Z slowest), as em-origin serves them.
lo = [16960, 19456, 20480]
ext = [48, 48, 24] if small else [160, 160, 96]          # X, Y, Z
d = mkdir("api", "node", uuid, "grayscale")
em_like((ext[2], ext[1], ext[0]), 3).tofile(os.path.join(d, "volume.u8"))
hi = [a + b - 1 for a, b in zip(lo, ext)]
with open(os.path.join(d, "info.json"), "w") as f:
    json.dump({"Base": {"TypeName": "uint8blk", "Name": "grayscale", "RepoUUID": uuid,
                        "DataUUID": "d3m0", "Compression": "LZ4 compression, level -1",
                        "Checksum": "No checksum", "Versioned": True},
               "Extended": {"Values": [{"DataType": "uint8", "Label": "uint8"}],
                            "Interpolable": True, "BlockSize": [64, 64, 64],
                            "VoxelSize": [8, 8, 8], "VoxelUnits": ["nanometers"] * 3,
                            "MinPoint": lo, "MaxPoint": hi,
                            "MinIndex": [a // 64 for a in lo], "MaxIndex": [a // 64 for a in hi],
                            "Background": 0}}, f, indent=1)

# IDR: imgData (sizes, pixel size in micrometres) and the image as OME-TIFF.
shape = (6, 39, 56) if small else (24, 155, 224)
d = mkdir("idr-ftp", "idr0086-miron-micrographs", "20200610-ftp", "experimentD",
          "Miron_FIB-SEM", "Miron_FIB-SEM_processed")
tifffile.imwrite(os.path.join(d, "Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif"), em_like(shape, 4),
                 ome=True, photometric="minisblack",
                 metadata={"axes": "ZYX", "PhysicalSizeX": 0.02, "PhysicalSizeY": 0.02,
                           "PhysicalSizeZ": 0.02, "PhysicalSizeXUnit": "µm",
                           "PhysicalSizeYUnit": "µm", "PhysicalSizeZUnit": "µm"})
with open(os.path.join(mkdir("webgateway", "imgData"), "9846137.json"), "w") as f:
    json.dump({"id": 9846137,
               "meta": {"imageName": "Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif",
                        "datasetName": "Miron_FIB-SEM", "datasetId": 10740,
                        "projectName": "idr0086-miron-micrographs/experimentD",
                        "pixelsType": "uint8"},
               "size": {"width": shape[2], "height": shape[1], "z": shape[0], "t": 1, "c": 1},
               "pixel_size": {"x": 0.02, "y": 0.02, "z": 0.02}}, f, indent=1)

# OpenOrganelle: a COSEM-style multiscale group (OME-NGFF 0.4 multiscales on the group,
# COSEM "transform" on each array), int16, blosc-lz4, one chunk never written.
shape = (16, 40, 40) if small else (64, 160, 160)
chunks = (8, 16, 16) if small else (32, 64, 64)
root = zarr.open_group(os.path.join(mkdir("janelia-cosem-datasets", "jrc_mus-nacc-2"),
                                    "jrc_mus-nacc-2.zarr"), mode="w")
g = root.require_group("recon-2/em/fibsem-int16")
vox = [2.96, 4.0, 4.0]
v = em_like(shape, 5, np.int16)
comp = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
for i, a in enumerate((v, v[::2, ::2, ::2])):
    arr = g.create_dataset("s%d" % i, shape=a.shape, chunks=chunks, dtype="<i2",
                           compressor=comp, fill_value=0, dimension_separator="/")
    arr[...] = a
    sc = [s * 2 ** i for s in vox]
    arr.attrs["transform"] = {"axes": ["z", "y", "x"], "scale": sc,
                              "translate": [0.0, 0.0, 0.0], "units": ["nm", "nm", "nm"]}
# An all-background chunk that the writer of the archive left out: readers use fill_value.
s0 = os.path.join(w, "janelia-cosem-datasets/jrc_mus-nacc-2/jrc_mus-nacc-2.zarr",
                  "recon-2/em/fibsem-int16/s0")
g["s0"][0:chunks[0], 0:chunks[1], 0:chunks[2]] = 0
os.remove(os.path.join(s0, "0", "0", "0"))
g.attrs["multiscales"] = [{
    "version": "0.4", "name": "fibsem-int16",
    "axes": [{"name": a, "type": "space", "unit": "nanometer"} for a in "zyx"],
    "datasets": [{"path": "s%d" % i, "coordinateTransformations": [
        {"type": "scale", "scale": [s * 2 ** i for s in vox]},
        {"type": "translation", "translation": [0.0, 0.0, 0.0]}]} for i in range(2)]}]
EOF

# The hemibrain's precomputed release: the DVID instance's voxels, at the same
# coordinates (voxel_offset is its MinPoint), written by the tests' precomputed writer.
"$PY" - "$w" "$uuid" "$top/t" <<'EOF'
import json, os, sys
import numpy as np
sys.path.insert(0, sys.argv[3])
import precomputed
w, uuid = sys.argv[1], sys.argv[2]
d = os.path.join(w, "api", "node", uuid, "grayscale")
info = json.load(open(os.path.join(d, "info.json")))
lo, hi = info["Extended"]["MinPoint"], info["Extended"]["MaxPoint"]
ext = [b - a + 1 for a, b in zip(lo, hi)]
vol = np.fromfile(os.path.join(d, "volume.u8"), np.uint8).reshape(ext[2], ext[1], ext[0])
sharding = {"@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 6,
            "hash": "murmurhash3_x86_128", "minishard_bits": 3, "shard_bits": 4,
            "minishard_index_encoding": "gzip", "data_encoding": "raw"}
precomputed.write_volume(
    os.path.join(w, "neuroglancer-janelia-flyem-hemibrain", "emdata", "clahe_yz", "jpeg"), vol,
    "uint8", [{"key": "8.0x8.0x8.0", "resolution": [8, 8, 8], "voxel_offset": lo,
               "chunk_sizes": [[64, 64, 64]], "encoding": "jpeg", "sharding": dict(sharding)},
              {"key": "16.0x16.0x16.0", "resolution": [16, 16, 16],
               "voxel_offset": [a // 2 for a in lo], "chunk_sizes": [[64, 64, 64]],
               "encoding": "jpeg", "sharding": dict(sharding), "f": 2}])
EOF

# The EMPIAR slices: DM3 files as DigitalMicrograph writes them, 0.008 µm pixels.
raw=$dir/empiar.raw
d=$w/empiar/world_availability/11759/data
i=0
while [ "$i" -lt "$nslice" ]; do
	f=$(printf '%s/F57-8_test1_3VBSED_slice_%04d.dm3' "$d" "$i")
	"$top/t/prog/mkdm3" "$dw" "$dh" 0.008 "$f" "$raw" $((i * dw * dh))
	i=$((i + 1))
done
rm -f "$raw"

# The overlay: each source's URLs at the origin, the sample's sizes, and the run's
# directories under @DIR@.
if [ "$size" = demo ]; then
	es="[$nslice, $dh, $dw]" ep="[48, 192, 256]" id="[24, 155, 224]" oo="[64, 160, 160]"
	pcbox="8:72,16:144,16:144"
else
	es="[$nslice, $dh, $dw]" ep="[12, 48, 64]" id="[6, 39, 56]" oo="[16, 40, 40]"
	pcbox="8:24,16:48,16:48"
fi
cat >"$dir/overlay.yaml.in" <<EOF
# Overlay of config/config.yaml for the local mirror (scripts/demo-mirror.sh).
global:
  data_root: @DIR@/data
  logs_dir: @DIR@/logs
  cache_dir: @DIR@/cache
  http:
    backoff_initial_ms: 50
    backoff_max_ms: 500
sources:
  empiar:
    api_base: @ORIGIN@empiar/api
    api_url: @ORIGIN@empiar/api/entry/EMPIAR-11759/
    world_url: @ORIGIN@empiar/world_availability
    data_url: @ORIGIN@empiar/world_availability/11759/data/
    entry_dir_url: @ORIGIN@empiar/world_availability/11759/
    expected_files: $nslice
    expected_shape: $es
  epfl:
    base_url: @ORIGIN@cvlab/data/ElectronMicroscopy_Hippocampus/
    expected_bytes: ~
    expected_shape: $ep
  dvid:
    server: @ORIGIN@
    uuid: $uuid
    offset_xyz: [16976, 19472, 20488]
    size_xyz: [$dvid_size]
    request_xyz: [64, 64, 64]
    precomputed_url: @ORIGIN@neuroglancer-janelia-flyem-hemibrain/emdata/clahe_yz/jpeg
  idr:
    base_url: @ORIGIN@
    webgateway_url: @ORIGIN@webgateway/imgData/9846137/
    api_url: @ORIGIN@api/v0/m/images/9846137/
    file_url: @ORIGIN@idr-ftp/idr0086-miron-micrographs/20200610-ftp/experimentD/Miron_FIB-SEM/Miron_FIB-SEM_processed/Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif
    expected_shape: $id
  openorganelle:
    bucket_url: @ORIGIN@janelia-cosem-datasets
    zarr_url: @ORIGIN@janelia-cosem-datasets/jrc_mus-nacc-2/jrc_mus-nacc-2.zarr
    expected_shape: $oo
  precomputed:
    url: @ORIGIN@neuroglancer-janelia-flyem-hemibrain/emdata/clahe_yz/jpeg
    # The DVID crop, counted from the release's voxel_offset (z,y,x).
    box: "$pcbox"
consolidation:
  output_dir: @DIR@/catalog
# The catalog database beside the JSON catalog, not in the caller's directory.
catalog:
  db: @DIR@/catalog/catalog.db
EOF
