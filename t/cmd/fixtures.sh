# fixtures.sh - em-origin's emulated archive answers (the demo mirror, served as the tests
# and make demo serve it) have the shapes of real answers other software wrote: the same
# field names, nesting and JSON types (numbers as numbers, strings as strings), the same
# units (IDR's micrometres), for the fields our parsers read (t/data/fixtures/PROVENANCE.md,
# t/data/precomputed/PROVENANCE.md).
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
PY=/usr/bin/python3
$PY -c 'import numpy, tifffile, zarr, PIL' 2>/dev/null ||
	skip "python3-numpy, -tifffile, -zarr and -pil are needed (make deps)"
cd "$SCRATCH" || exit 1
F=$TOP/t/data/fixtures

sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH/dm" >dm.out 2>&1 ||
	{ fail "the demo mirror could not be built: $(tail -n 3 dm.out)"; done_testing; }
start_origin demo --root "$SCRATCH/dm/www"

# shape REAL GOT PATH...: each PATH (dotted; [] for every list item) has the same JSON type
# in GOT as in REAL.  Prints one "ok"/"not ok" line per path.
shape() {
	$PY - "$@" <<'EOF'
import json, sys
real, got = (json.load(open(p)) for p in sys.argv[1:3])
def kind(v):
    return "null" if v is None else "bool" if isinstance(v, bool) else \
        "number" if isinstance(v, (int, float)) else type(v).__name__
def walk(v, parts):
    if not parts:
        return [v]
    p, rest = parts[0], parts[1:]
    if p == "[]":
        return [x for item in (v if isinstance(v, list) else []) for x in walk(item, rest)]
    return walk(v[p], rest) if isinstance(v, dict) and p in v else [KeyError(p)]
for path in sys.argv[3:]:
    r, g = walk(real, path.split(".")), walk(got, path.split("."))
    rk = {kind(x) for x in r if not isinstance(x, KeyError)}
    gk = {kind(x) for x in g if not isinstance(x, KeyError)}
    if not rk:
        print("not ok - the real answer has no %s" % path)
    elif gk == rk:
        print("ok - %s: %s in both" % (path, "/".join(sorted(rk))))
    else:
        print("not ok - %s: %s in the real answer, %s from em-origin" % (path, "/".join(sorted(rk)),
              "/".join(sorted(gk)) or "missing"))
EOF
}
count() { # the ok/not ok lines of a check, added to the totals
	cat "$1"
	NOK=$((NOK + $(grep -c '^ok' "$1")))
	NFAIL=$((NFAIL + $(grep -c '^not ok' "$1")))
}

# IDR: OMERO's webgateway imgData, documented by OMERO, against em-origin's.
curl -s -o idr.json "${ORIGIN_URL}webgateway/imgData/9846137/"
shape "$F/idr/imgData-omero-docs.json" idr.json id size.width size.height size.z size.c size.t \
	pixel_size.x pixel_size.y pixel_size.z meta.imageName meta.datasetName meta.projectName \
	meta.datasetId >idr.out
count idr.out
# OMERO gives pixel sizes in micrometres: EM voxels are well below 1.
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if all(0 < d["pixel_size"][a] < 1 for a in "xyz") else 1)' \
	idr.json && ok "em-origin's imgData gives pixel sizes in micrometres, as OMERO does" ||
	fail "imgData pixel sizes are not micrometres: $(cat idr.json)"

# EMPIAR: no recorded entry is stored anywhere we could find (PROVENANCE.md, "Not found");
# public scripts that check live entries (EMPIAR-13192, EMPIAR-10511) expect these JSON
# types and forms of the imageset fields, and em-origin's entry must have the same.
curl -s -o empiar.json "${ORIGIN_URL}empiar/api/entry/EMPIAR-11759/"
$PY - empiar.json >empiar.out 2>&1 <<'EOF' ||
import json, sys
e = json.load(open(sys.argv[1]))["EMPIAR-11759"]
s = e["imagesets"][0]
num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
checks = [
    ("image_width and image_height are strings of digits",
     all(isinstance(s[k], str) and s[k].isdigit() for k in ("image_width", "image_height"))),
    ("pixel_width and pixel_height are numbers in angstrom (EM: 1 to 1000)",
     all(num(s[k]) and 1 <= s[k] <= 1000 for k in ("pixel_width", "pixel_height"))),
    ("num_images_or_tilt_series is an integer", isinstance(s["num_images_or_tilt_series"], int)),
    ("voxel_type is the archive's words", s["voxel_type"] == "UNSIGNED BYTE"),
    ("directory is relative, below data, without a leading slash",
     s["directory"] == "data" or s["directory"].startswith("data/")),
    ("experiment_type, entry_doi and title are strings",
     all(isinstance(e[k], str) for k in ("experiment_type", "entry_doi", "title"))),
]
for what, good in checks:
    print("%s - EMPIAR imageset: %s" % ("ok" if good else "not ok", what))
EOF
	echo "not ok - em-origin's EMPIAR entry could not be read: $(tail -n 1 empiar.out)" >>empiar.out
count empiar.out

# OpenOrganelle: a Zarr v2 array's .zarray and an OME-Zarr 0.4 group's .zattrs as zarr-python
# and ome-zarr-py write them, against em-origin's COSEM-style mirror.
B=${ORIGIN_URL}janelia-cosem-datasets/jrc_mus-nacc-2/jrc_mus-nacc-2.zarr/recon-2/em/fibsem-int16
curl -s -o oo.zarray "$B/s0/.zarray"
curl -s -o oo.zattrs "$B/.zattrs"
shape "$F/openorganelle/ngff04-scale0.zarray" oo.zarray zarr_format shape chunks dtype order \
	compressor compressor.id compressor.cname compressor.clevel compressor.shuffle \
	compressor.blocksize filters dimension_separator >oo.out
count oo.out
$PY - "$F/openorganelle/ngff04-scale0.zarray" oo.zarray <<'EOF' && ok "the .zarray has zarr-python's keys, no more, no fewer" || fail "the .zarray's keys differ from zarr-python's"
import json, sys
a, b = (set(json.load(open(p))) for p in sys.argv[1:])
sys.exit(0 if a == b else print(sorted(a ^ b)) or 1)
EOF
shape "$F/openorganelle/ngff04.zattrs" oo.zattrs multiscales.[].axes.[].name \
	multiscales.[].axes.[].type multiscales.[].axes.[].unit multiscales.[].datasets.[].path \
	multiscales.[].datasets.[].coordinateTransformations.[].type \
	multiscales.[].datasets.[].coordinateTransformations.[].scale multiscales.[].version >oozattrs.out
count oozattrs.out

# Precomputed: neuroglancer's info files (tensorstore's) against the mirror's release.
curl -s -o pc.info "${ORIGIN_URL}neuroglancer-janelia-flyem-hemibrain/emdata/clahe_yz/jpeg/info"
shape "$TOP/t/data/precomputed/neuroglancer/one_channel/info" pc.info @type data_type num_channels \
	type scales.[].key scales.[].size scales.[].resolution scales.[].chunk_sizes \
	scales.[].encoding scales.[].voxel_offset >pc.out
count pc.out
# Its sharding against a sharded volume's info as cloud-volume keeps it (igneous's shape).
shape "$TOP/t/data/precomputed/cloud-volume/test_cv_sharded/info" pc.info type \
	scales.[].sharding.@type scales.[].sharding.hash scales.[].sharding.preshift_bits \
	scales.[].sharding.minishard_bits scales.[].sharding.shard_bits \
	scales.[].sharding.minishard_index_encoding scales.[].sharding.data_encoding >pcsh.out
count pcsh.out
$PY - "$TOP/t/data/precomputed/cloud-volume/test_cv_sharded/info" pc.info <<'EOF' &&
import json, sys
real, got = (json.load(open(p)) for p in sys.argv[1:])
keys = lambda d: {frozenset(s["sharding"]) for s in d["scales"] if "sharding" in s}
sys.exit(0 if keys(real) == keys(got) else print(keys(real), keys(got)) or 1)
EOF
	ok "each sharding object has the keys cloud-volume's has, no more, no fewer" ||
	fail "the sharding objects' keys differ from cloud-volume's"

done_testing
