#!/usr/bin/python3
# mkseeds.py - (re)make the seed corpora in fuzz/corpus/NAME: small files copied from
# ../shared/testdata and the project's own test inputs, and a few made here with
# tifffile/numcodecs.  Run from the top of the tree; fuzz/README says where each comes from.
import os, shutil, struct, sys

import numpy as np

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TD = os.environ.get("EM_TESTDATA", os.path.join(TOP, "..", "shared", "testdata"))
C = os.path.join(TOP, "fuzz", "corpus")


def put(name, fname, data):
    d = os.path.join(C, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def copy(name, rel, fname=None):
    src = os.path.join(TD, rel)
    with open(src, "rb") as f:
        put(name, fname or rel.replace("/", "_"), f.read())


def main():
    # Images: the smallest real files of each kind.
    for rel in ["dm3/rsciio_2D_test-1.dm3", "dm3/rsciio_3D_test-8.dm3",
                "dm3/test_stackbuilder_imagestack.dm3", "dm4/rsciio_2D_test-1.dm4",
                "dm4/rsciio_2D_test-14.dm4"]:
        copy("dm", rel)
    for rel in ["mrc/rsciio_20241021_00405_final.mrc", "mrc/rsciio_ROI_Random_Scan_Sum.mrc",
                "mrc/rsciio_20241021_00405_movie.mrc", "mrc/gemmi_5i55_tiny.ccp4",
                "mrc/rsciio_Custom_movie.mrc"]:
        copy("mrc", rel)
    for rel in ["tiff/image-tiff_gradient-1c-32b-float.tiff", "tiff/image-tiff_int16_zstd.tif",
                "tiff/image-tiff_BigTIFF.tif"]:
        copy("tiff", rel)
    # Small TIFF variants the real files lack, written by tifffile.
    import io, tifffile
    a = (np.arange(2 * 6 * 5, dtype=np.uint16) * 7).reshape(2, 6, 5)
    b = io.BytesIO()
    tifffile.imwrite(b, a, ome=True, metadata={"axes": "ZYX", "PhysicalSizeX": 4.0,
                     "PhysicalSizeXUnit": "nm", "PhysicalSizeZ": 30.0})
    put("tiff", "gen_ome_zyx_uint16.ome.tif", b.getvalue())
    b = io.BytesIO()
    tifffile.imwrite(b, np.stack([a, a]), ome=True, metadata={"axes": "CZYX"})
    put("tiff", "gen_ome_czyx.ome.tif", b.getvalue())
    b = io.BytesIO()
    tifffile.imwrite(b, a.astype(np.float32), imagej=True, resolution=(0.25, 0.25),
                     metadata={"spacing": 0.5, "unit": "um"})
    put("tiff", "gen_imagej_float32.tif", b.getvalue())
    b = io.BytesIO()
    tifffile.imwrite(b, np.arange(32 * 48, dtype=np.uint8).reshape(32, 48), tile=(16, 16),
                     compression="zlib")
    put("tiff", "gen_tiled_deflate.tif", b.getvalue())

    # Codecs: byte 0 codec (0 raw 1 zlib 2 gzip 3 zstd 4 blosc 5 lz4), bytes 1-3 size, 4 typesize-1.
    import numcodecs
    data = (np.arange(512, dtype=np.uint16) % 37).tobytes()
    codecs = [(0, None), (1, numcodecs.Zlib(level=1)), (2, numcodecs.GZip(level=1)),
              (3, numcodecs.Zstd(level=1)),
              (4, numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)),
              (4, numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE)),
              (5, numcodecs.LZ4())]
    for i, (cid, codec) in enumerate(codecs):
        enc = data if codec is None else bytes(codec.encode(data))
        hdr = bytes([cid]) + struct.pack("<I", len(data))[:3] + bytes([1])
        put("codec", "gen_%d_%s" % (i, codec.codec_id if codec else "raw"), hdr + enc)

    # Zarr: .zarray NUL .zattrs from the stores in testdata.
    pairs = [("zarr2/zarrs_v2_array_blosc_C.zarr/.zarray", None),
             ("zarr2/zarrs_v2_array_none_F.zarr/.zarray", None),
             ("zarr2/zarr_implementations_zarr.zr/zlib/.zarray", None),
             ("zarr2/zarrs_v2_array_bz2_C.zarr/.zarray", None)]
    for ng in ["ngff/ome-zarr-py_v1", "ngff/ome-zarr-py_v2"]:
        for root, dirs, files in os.walk(os.path.join(TD, ng)):
            if ".zattrs" in files and "multiscales" in open(os.path.join(root, ".zattrs")).read():
                za = os.path.join(root, "0", ".zarray")
                if os.path.exists(za):
                    pairs.append((os.path.relpath(za, TD),
                                  os.path.relpath(os.path.join(root, ".zattrs"), TD)))
                    break
    for i, (za, zt) in enumerate(pairs):
        t = open(os.path.join(TD, za), "rb").read() + b"\0"
        if zt:
            t += open(os.path.join(TD, zt), "rb").read()
        put("zarr", "testdata_%d" % i, t)

    # Remote arrays: byte 0 = 0 zarr.json, 1 .zarray, 2 attributes.json, 3 group; text NUL chunk.
    def rd(rel):
        return open(os.path.join(TD, rel), "rb").read()
    remote = [
        (0, "zarr3/zarrs_v3_zarr_python_array_zstd.zarr/zarr.json",
         "zarr3/zarrs_v3_zarr_python_array_zstd.zarr/c/0/0"),
        (0, "zarr3/zarrs_v3_array_blosc_transpose.zarr/zarr.json",
         "zarr3/zarrs_v3_array_blosc_transpose.zarr/0.0"),
        (0, "zarr3/zarrs_sharded_array_write_read.zarr/group/array/zarr.json",
         "zarr3/zarrs_sharded_array_write_read.zarr/group/array/c/0/0"),
        (1, "zarr2/zarrs_v2_array_blosc_C.zarr/.zarray", "zarr2/zarrs_v2_array_blosc_C.zarr/0.0"),
        (2, "n5/zarr_implementations_z5py.n5/gzip/attributes.json",
         "n5/zarr_implementations_z5py.n5/gzip/0/0/0"),
    ]
    for i, (k, meta, chunk) in enumerate(remote):
        if os.path.exists(os.path.join(TD, chunk)):
            put("remote", "testdata_%d" % i, bytes([k]) + rd(meta) + b"\0" + rd(chunk))
    for root, dirs, files in os.walk(os.path.join(TD, "ngff", "ome-zarr-py_v1")):
        if ".zattrs" in files and os.path.exists(os.path.join(root, "0", ".zarray")):
            put("remote", "testdata_group", b"\3" + open(os.path.join(root, ".zattrs"), "rb").read()
                + b"\0" + open(os.path.join(root, "0", ".zarray"), "rb").read() + b"\0")
            break

    # YAML: the suite's configuration and a few interpolations.
    with open(os.path.join(TOP, "config", "config.yaml"), "rb") as f:
        put("yaml", "config.yaml", f.read())
    put("yaml", "interp.yaml", b"a: ${FUZZ_SET}\nb: ${FUZZ_EMPTY:dflt}\nc: \"${FUZZ_UNSET:x}\"\n"
        b"d: $$literal\ne: [1, 0x1f, 0o17, 2.5, true, ~]\nf: !!str 12\ng: |\n  block\n")
    put("yaml", "nested.yaml", b"s:\n  t:\n    - {u: 1, v: [a, b]}\n    - w: ''\n")

    # JSON Schema: a schema text then a document.
    with open(os.path.join(TOP, "schemas", "metadata_schema.json"), "rb") as f:
        schema = f.read()
    recs = os.path.join(TOP, "t", "data", "records")
    for fn in ["valid-complete.json", "invalid-dtype.json"]:
        p = os.path.join(recs, fn)
        if os.path.exists(p):
            put("jschema", "metadata_" + fn, schema + b"\n" + open(p, "rb").read())
    put("jschema", "refs.json", b'{"$defs":{"n":{"type":"integer","minimum":0}},'
        b'"type":"object","properties":{"a":{"$ref":"#/$defs/n"},"b":{"pattern":"^x+$"}},'
        b'"patternProperties":{"^z":{"enum":[1,"a"]}},"required":["a"],'
        b'"additionalProperties":false}{"a":-1,"b":"xy","z1":2,"q":0}')
    put("jschema", "dynamic.json", b'{"$id":"https://ex.org/t","$dynamicAnchor":"node",'
        b'"anyOf":[{"type":"array","items":{"$dynamicRef":"#node"}},{"const":null}],'
        b'"$anchor":"a","oneOf":[true,{"not":{"$ref":"#a"}}]}[[null],[[null]]]')

    # Listings: the pages and replies of the unit tests' styles.
    put("listing", "apache_table.html", b'<html><head><title>Index of /d</title></head><body>'
        b'<h1>Index of /d</h1><table><tr><th><a href="?C=N;O=D">Name</a></th></tr>'
        b'<tr><td><a href="/">Parent Directory</a></td></tr>'
        b'<tr><td><a href="a.dm3">a.dm3</a></td><td align="right">2023-07-18 10:22  </td>'
        b'<td align="right"> 29M</td></tr><tr><td><a href="sub/">sub/</a></td>'
        b'<td align="right">  - </td></tr><tr><td><a href="..%2f..%2fetc">x</a></td></tr>'
        b'</table></body></html>\n')
    put("listing", "nginx.html", b'<html>\r\n<head><title>Index of /idr/zarr/</title></head>\r\n'
        b'<body>\r\n<h1>Index of /idr/zarr/</h1><hr><pre><a href="../">../</a>\r\n'
        b'<a href="v0.4/">v0.4/</a>                                              '
        b'08-Feb-2023 09:39                   -\r\n<a href="f%20g.tif">f g.tif</a>  '
        b'08-Feb-2023 09:39             1234567\r\n</pre><hr></body>\r\n</html>\r\n')
    put("listing", "ftp.txt", b"-rw-r--r--    1 ftp      ftp      30228123 Jul 18 10:22 a b.dm3\r\n"
        b"drwxr-xr-x    2 ftp      ftp          4096 Jan 01  2020 sub\r\n"
        b"lrwxrwxrwx    1 ftp      ftp             7 Jan 01  2020 l -> ../x\r\n"
        b"total 12\r\n-rw-r--r-- 1 0 0 5 Feb 29 2024 ..\r\n")

    # JSON text streams: records as files and as JSON Lines.
    for fn in sorted(os.listdir(recs))[:3]:
        if fn.endswith(".json"):
            put("jsonio", fn, open(os.path.join(recs, fn), "rb").read())
    put("jsonio", "lines.jsonl", b'{"a":1}\n{"b":[1,2,{"c":"\\u00e9"}]}\n"s" 3 null\n'
        b'  {"d": 1.5e300}\n[]\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
