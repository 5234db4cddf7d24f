"""zarr3read.py - a Zarr v3 array read back in numpy, for tests, independently of the tools'
own reader (Debian's python3-zarr is 2.x and reads only v2).

Covers what the Zarr v3 core spec and its sharding extension define and the tools write or
read: a regular chunk grid, the default and v2 chunk key encodings, the codecs transpose-free
`bytes` (either endian), `zstd`, `gzip`, `blosc` (numcodecs), `crc32c` (checked) and
`sharding_indexed` (index at the start or the end, empty chunks at 2^64-1).
"""
import itertools
import json
import os
import struct
import zlib

import numcodecs
import numpy as np

EMPTY = 2 ** 64 - 1
DTYPES = {"bool": "?", "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
          "int32": "i4", "uint32": "u4", "int64": "i8", "uint64": "u8",
          "float32": "f4", "float64": "f8"}


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _decode(codecs, raw, shape, dtype):
    """Bytes of one chunk through codecs (the array-to-bytes one and its bytes-to-bytes
    ones) back to an array of shape."""
    endian = "<"
    for c in reversed(codecs):
        name, conf = c["name"], c.get("configuration", {})
        if name == "bytes":
            endian = "<" if conf.get("endian", "little") == "little" else ">"
        elif name == "crc32c":
            body, want = raw[:-4], struct.unpack("<I", raw[-4:])[0]
            if _crc32c(body) != want:
                raise ValueError("crc32c does not match")
            raw = body
        elif name == "zstd":
            raw = numcodecs.Zstd().decode(raw)
        elif name == "gzip":
            raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        elif name == "blosc":
            raw = numcodecs.Blosc().decode(raw)
        else:
            raise ValueError("codec %s is not read here" % name)
    dt = np.dtype(DTYPES[dtype]).newbyteorder(endian)
    return np.frombuffer(bytes(raw), dtype=dt).reshape(shape).astype(dt.newbyteorder("="))


def _key(meta, idx):
    enc = meta["chunk_key_encoding"]
    sep = enc.get("configuration", {}).get("separator", "/" if enc["name"] == "default" else ".")
    parts = [str(i) for i in idx] or ["0"]
    return ("c" + sep + sep.join(parts)) if enc["name"] == "default" else sep.join(parts)


def _shard(conf, raw, shape, dtype, fill):
    inner = conf["chunk_shape"]
    n = [-(-s // c) for s, c in zip(shape, inner)]
    count = int(np.prod(n))
    ilen = 16 * count + (4 if any(c["name"] == "crc32c" for c in conf.get("index_codecs", [])) else 0)
    at_end = conf.get("index_location", "end") == "end"
    ibytes = raw[len(raw) - ilen:] if at_end else raw[:ilen]
    idx = np.frombuffer(bytes(_decode_index(conf.get("index_codecs", []), ibytes)), "<u8").reshape(count, 2)
    out = np.full(shape, fill, dtype=DTYPES[dtype])
    for k, pos in enumerate(itertools.product(*[range(x) for x in n])):
        off, nb = int(idx[k, 0]), int(idx[k, 1])
        if off == EMPTY and nb == EMPTY:
            continue
        c = _decode(conf["codecs"], raw[off:off + nb], inner, dtype)
        sl = tuple(slice(p * s, (p + 1) * s) for p, s in zip(pos, inner))
        out[sl] = c
    return out


def _decode_index(codecs, raw):
    for c in reversed(codecs):
        if c["name"] == "crc32c":
            body, want = raw[:-4], struct.unpack("<I", raw[-4:])[0]
            if _crc32c(body) != want:
                raise ValueError("shard index crc32c does not match")
            raw = body
        elif c["name"] != "bytes":
            raise ValueError("index codec %s is not read here" % c["name"])
    return raw


def read(path):
    """The whole array at path (a directory with zarr.json) as a numpy array."""
    with open(os.path.join(path, "zarr.json"), encoding="utf-8") as fp:
        meta = json.load(fp)
    if meta.get("zarr_format") != 3 or meta.get("node_type") != "array":
        raise ValueError("%s is not a Zarr v3 array" % path)
    shape, dtype = meta["shape"], meta["data_type"]
    chunk = meta["chunk_grid"]["configuration"]["chunk_shape"]
    fill = meta.get("fill_value", 0)
    codecs = meta["codecs"]
    grid = [-(-s // c) for s, c in zip(shape, chunk)]
    padded = [g * c for g, c in zip(grid, chunk)]
    out = np.full(padded, fill, dtype=DTYPES[dtype])
    for pos in itertools.product(*[range(g) for g in grid]):
        f = os.path.join(path, *_key(meta, pos).split("/"))
        if not os.path.exists(f):
            continue
        with open(f, "rb") as fp:
            raw = fp.read()
        if codecs[0]["name"] == "sharding_indexed":
            c = _shard(codecs[0]["configuration"], raw, chunk, dtype, fill)
        else:
            c = _decode(codecs, raw, chunk, dtype)
        out[tuple(slice(p * s, (p + 1) * s) for p, s in zip(pos, chunk))] = c
    return out[tuple(slice(0, s) for s in shape)]
