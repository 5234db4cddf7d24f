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

    # Archives' API answers, shaped as the archives give them (and as em-origin serves them).
    import json
    put("empiar", "entry.json", json.dumps({"EMPIAR-11759": {
        "title": "Serial block-face SEM of adult zebrafish retina", "experiment_type": "SBF-SEM",
        "entry_doi": "10.6019/EMPIAR-11759", "release_date": "2023-11-02",
        "dataset_size": "2.9 GB",
        "citation": [{"title": "Cone photoreceptor synapses", "journal": "J Comp Neurol",
                      "year": "2023", "doi": "10.1002/cne.x", "pubmedid": None,
                      "authors": [{"name": "A B", "order_id": 0}, "C D", {"name": "E F"},
                                  {"name": "G H"}]}],
        "imagesets": [{"name": "Zebrafish retina", "directory": "/data", "category": "SBF-SEM",
                       "pixel_width": 80.0, "pixel_height": "80.0", "image_width": "5496",
                       "image_height": 5500, "num_images_or_tilt_series": 16,
                       "voxel_type": "UNSIGNED BYTE", "data_format": "DM3"},
                      {"name": "aligned", "directory": "data/aligned/", "pixel_width": 65}]}},
        indent=1).encode())
    put("empiar", "sparse.json", b'{"EMPIAR-11759": {"title": "", "entry_doi": null, '
        b'"citation": [], "imagesets": [{"directory": "data/../x"}, {"directory": "a\\u0001b"},'
        b' 3, {"directory": "//data//d//"}]}}')
    put("idr", "imgdata.json", json.dumps({
        "id": 9846137, "meta": {"imageName": "Figure_S3B_FIB-SEM_U2OS_20x20x20nm_xy.tif",
                                "datasetName": "experimentD", "projectName": "idr0086-miron",
                                "imageId": 9846137},
        "size": {"width": 2000, "height": 1500, "z": 184, "c": 1, "t": 1},
        "pixel_size": {"x": 0.02, "y": 0.02, "z": 0.02},
        "channels": [{"label": "0", "window": {"min": 0, "max": 255}}],
        "rdefs": {"model": "greyscale"}}, indent=1).encode())
    put("idr", "strings.json", b'{"size": {"width": "56", "height": "39", "z": "6", "c": "2"},'
        b' "pixel_size": {"x": "0.005", "y": null, "z": -1}, "meta": {"imageName": 7}}')
    put("dvid", "info.json", json.dumps({
        "Base": {"TypeName": "uint8blk", "Name": "grayscale", "RepoUUID": "a89eb3af",
                 "Compression": "LZ4 compression, level -1", "Versioned": True},
        "Extended": {"Values": [{"DataType": "uint8", "Label": "uint8"}], "Interpolable": True,
                     "BlockSize": [64, 64, 64], "VoxelSize": [8, 8, 8],
                     "VoxelUnits": ["nanometers"] * 3, "MinPoint": [16960, 19456, 20480],
                     "MaxPoint": [17119, 19615, 20575], "MinIndex": [265, 304, 320],
                     "MaxIndex": [267, 306, 321], "Background": 0}}, indent=1).encode())
    put("dvid", "labels.json", b'{"Base": {"TypeName": "labelmap"}, "Extended": {"MinPoint": '
        b'[-5, 0, 2147483647], "MaxPoint": [5, 0, 2147483647], "VoxelSize": [4, 4, 40], '
        b'"VoxelUnits": ["nm"], "BlockSize": [0, 1e9, -3]}}')
    put("dvid", "huge_extent.json", b'{"Base": {"TypeName": "uint8blk"}, "Extended": '
        b'{"MinPoint": [0, 0, 0], "MaxPoint": [1e300, 9, -0.5], "VoxelSize": [8, 8, 8]}}')

    # Shards: zarr.json NUL shard 0; the real one, and index variants written here.
    sh = "zarr3/zarrs_sharded_array_write_read.zarr/group/array/"
    if os.path.exists(os.path.join(TD, sh, "c/0/0")):
        put("shard", "testdata_zarrs", rd(sh + "zarr.json") + b"\0" + rd(sh + "c/0/0"))
    import zlib

    def crc32c(b):
        c = 0xffffffff
        for x in b:
            c ^= x
            for _ in range(8):
                c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
        return c ^ 0xffffffff

    def shard_seed(fname, at, big, crc, inner, missing=()):
        # A 4x4 uint8 array in one 4x4 shard of four 2x2 inner chunks.
        idx_codecs = [{"name": "bytes", "configuration": {"endian": "big" if big else "little"}}]
        if crc:
            idx_codecs.append({"name": "crc32c"})
        codecs = [{"name": "bytes"}] + ([{"name": "gzip", "configuration": {"level": 1}}]
                                        if inner == "gzip" else [])
        meta = {"zarr_format": 3, "node_type": "array", "shape": [4, 4], "data_type": "uint8",
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 4]}},
                "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
                "codecs": [{"name": "sharding_indexed", "configuration": {
                    "chunk_shape": [2, 2], "codecs": codecs, "index_codecs": idx_codecs,
                    "index_location": at}}]}
        chunks, entries = b"", []
        ilen = 4 * 16 + (4 if crc else 0)
        base = ilen if at == "start" else 0
        for k in range(4):
            if k in missing:
                entries.append((2**64 - 1, 2**64 - 1))
                continue
            raw = bytes([k * 4 + i for i in range(4)])
            enc = zlib.compress(raw, 1, 31) if inner == "gzip" else raw
            entries.append((base + len(chunks), len(enc)))
            chunks += enc
        fmt = ">QQ" if big else "<QQ"
        index = b"".join(struct.pack(fmt, o, l) for o, l in entries)
        if crc:
            index += struct.pack("<I", crc32c(index))
        body = index + chunks if at == "start" else chunks + index
        put("shard", fname, json.dumps(meta).encode() + b"\0" + body)

    shard_seed("gen_end_crc_gzip", "end", False, True, "gzip")
    shard_seed("gen_start_raw_missing", "start", False, False, "raw", missing=(1, 2))
    shard_seed("gen_end_big_crc", "end", True, True, "raw", missing=(3,))

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
