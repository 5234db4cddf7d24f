#!/bin/sh
# ngff-schemas.sh - the group metadata of the stores we write, checked with python3-jsonschema
# against OME-NGFF's own schemas (t/data/ngff-schemas, see PROVENANCE there): Zarr v2 stores
# against 0.4's strict image schema, Zarr v3 stores (sharded or not) against 0.5's.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import jsonschema' 2>/dev/null || skip "no python3-jsonschema at $PY"
cd "$SCRATCH" || exit 1
head -c $((20 * 30 * 40)) /dev/zero >raw

zarrtool write --shape 20,30,40 --chunks 8,8,8 raw v2.zarr || fail "zarrtool write v2"
zarrtool write --shape 20,30,40 --chunks 8,8,8 --voxel 30,4,4 raw v2nm.zarr ||
	fail "zarrtool write v2 with a voxel size"
zarrtool write --shape 20,30,40 --chunks 8,8,8 --zarr-format 3 raw v3.zarr ||
	fail "zarrtool write v3"
zarrtool write --shape 20,30,40 --chunks 8,8,8 --shard 16,16,16 --voxel 30,4,4 raw v3s.zarr ||
	fail "zarrtool write v3 sharded"

# Stores as the fetchers write them: a pyramid (levels auto) in v2 and in sharded v3, with the
# omero display window em-meta adds, and a crop's translation (fetch-zarr --box).
$PY -c 'import numpy as np, tifffile
z, y, x = np.mgrid[0:40, 0:70, 0:90]
tifffile.imwrite("vol.tif", ((x * 3 + y * 5 + z) % 251).astype(np.uint8), photometric="minisblack")' ||
	fail "tifffile"
fetch-idr -q -o f2 --chunks 16,16,16 --url "$SCRATCH/vol.tif" >f2.stub || fail "fetch-idr v2"
fetch-idr -q -o f3 --chunks 16,16,16 --zarr-format 3 --shard 32,32,32 --url "$SCRATCH/vol.tif" >f3.stub ||
	fail "fetch-idr v3"
em-meta -q f2.stub >f2.json && em-meta -q f3.stub >f3.json || fail "em-meta"
fetch-zarr -q -o c3 --box 4:30,8:50,16:80 --id crop --zarr-format 3 --shard 32,32,32 \
	--chunks 16,16,16 "file://$SCRATCH/f2/vol.zarr/0" >c3.stub || fail "fetch-zarr --box"
nl=$(jq '.levels | length' f3.json)
[ "$nl" -ge 3 ] && ok "fetch-idr wrote $nl levels" || fail "levels: $nl"

$PY - "$TOP/t/data/ngff-schemas" <<'PY' >py.out 2>&1 || fail "$(cat py.out)"
import json, os, sys
import jsonschema

D = sys.argv[1]
store = {}
for v in ("0.4", "0.5"):
    for n in os.listdir(os.path.join(D, v)):
        s = json.load(open(os.path.join(D, v, n)))
        store[s["$id"]] = s

def check(attrs, sid, what):
    schema = store[sid]
    res = jsonschema.RefResolver.from_schema(schema, store=store)
    jsonschema.Draft202012Validator(schema, resolver=res).validate(attrs)
    print("ok", what, sid.rsplit("/", 3)[-3:])

B = "https://ngff.openmicroscopy.org/"
for s in ("v2.zarr", "v2nm.zarr", "f2/vol.zarr"):
    attrs = json.load(open(s + "/.zattrs"))
    assert not os.path.exists(s + "/zarr.json"), s
    check(attrs, B + "0.4/schemas/image.schema", s)
    check(attrs, B + "0.4/schemas/strict_image.schema", s)
for s in ("v3.zarr", "v3s.zarr", "f3/vol.zarr", "c3/crop.zarr"):
    z = json.load(open(s + "/zarr.json"))
    assert z["zarr_format"] == 3 and z["node_type"] == "group", s
    assert not os.path.exists(s + "/.zattrs") and not os.path.exists(s + "/.zgroup"), s
    check(z["attributes"], B + "0.5/schemas/image.schema", s)
    check(z["attributes"], B + "0.5/schemas/strict_image.schema", s)
    # 0.5: the arrays' dimension_names are the axes' names.
    ms = z["attributes"]["ome"]["multiscales"][0]
    for ds in ms["datasets"]:
        a = json.load(open(s + "/" + ds["path"] + "/zarr.json"))
        assert a["dimension_names"] == [x["name"] for x in ms["axes"]], (s, a["dimension_names"])
        assert a["zarr_format"] == 3 and a["node_type"] == "array", (s, ds["path"])
# The fetchers' stores: every level listed, a window after em-meta, a crop's translation.
for s in ("f2/vol.zarr", "f3/vol.zarr"):
    attrs = json.load(open(s + "/.zattrs")) if s.startswith("f2") else \
        json.load(open(s + "/zarr.json"))["attributes"]["ome"]
    assert len(attrs["multiscales"][0]["datasets"]) >= 3, s
    w = attrs["omero"]["channels"][0]["window"]
    assert w["min"] <= w["start"] < w["end"] <= w["max"], (s, w)
c = json.load(open("c3/crop.zarr/zarr.json"))["attributes"]["ome"]["multiscales"][0]
t = [x for x in c["datasets"][0]["coordinateTransformations"] if x["type"] == "translation"]
assert t and t[0]["translation"] == [4.0, 8.0, 16.0], c["datasets"][0]
# The schemas do say no: 0.4 attributes (no "ome") as 0.5, a multiscale without its type.
bad = json.load(open("v2.zarr/.zattrs"))
for attrs, sid in ((bad, "0.5/schemas/image.schema"),
                   ({"multiscales": [dict(bad["multiscales"][0], type=None)]},
                    "0.4/schemas/strict_image.schema")):
    if attrs["multiscales"][0].get("type", 1) is None:
        del attrs["multiscales"][0]["type"]
    try:
        check(attrs, B + sid, "bad")
    except jsonschema.ValidationError:
        continue
    sys.exit("%s took attributes it should refuse" % sid)
PY
expect_grep "ok c3/crop.zarr" py.out "the stores' group metadata meet OME-NGFF 0.4 (v2) and 0.5 (v3)"
done_testing
