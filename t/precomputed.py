#!/usr/bin/python3
# precomputed.py - Neuroglancer precomputed volumes for the tests, written and read by an
# implementation of the format independent of lib/ (numpy, zlib, PIL; written from the
# specification in neuroglancer's src/datasource/precomputed/{volume,sharded}.md).
#
#   precomputed.py make ROOT          the test volumes under ROOT/<name>/ and, beside each,
#                                     ROOT/<name>.npy: the reference reading of its chunks
#   precomputed.py read VOLUME SCALE  print the reference reading's sha256 and shape
#   precomputed.py ranges VOLUME SCALE PREFIX
#                                     'PREFIX/SCALE/NAME.shard bytes=A-B' of every chunk's data
#   precomputed.py check STORE NPY [Z0:Z1,Y0:Y1,X0:X1]
#                                     the store (python3-zarr) equals the reference (or its box)
import gzip
import hashlib
import io
import json
import os
import struct
import sys

import numpy as np

# ---------------------------------------------------------------------------- MurmurHash3


def _fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def _rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def murmur3_x86_128(key, seed=0):
    """MurmurHash3_x86_128 of bytes; the 128-bit result as four 32-bit words h1..h4."""
    c1, c2, c3, c4 = 0x239B961B, 0xAB0E9789, 0x38B34AE5, 0xA1E38B93
    h1 = h2 = h3 = h4 = seed
    n = len(key)
    nblocks = n // 16
    M = 0xFFFFFFFF
    for i in range(nblocks):
        k1, k2, k3, k4 = struct.unpack_from("<4I", key, 16 * i)
        k1 = (_rotl((k1 * c1) & M, 15) * c2) & M
        h1 ^= k1
        h1 = (_rotl(h1, 19) + h2) & M
        h1 = (h1 * 5 + 0x561CCD1B) & M
        k2 = (_rotl((k2 * c2) & M, 16) * c3) & M
        h2 ^= k2
        h2 = (_rotl(h2, 17) + h3) & M
        h2 = (h2 * 5 + 0x0BCAA747) & M
        k3 = (_rotl((k3 * c3) & M, 17) * c4) & M
        h3 ^= k3
        h3 = (_rotl(h3, 15) + h4) & M
        h3 = (h3 * 5 + 0x96CD1C35) & M
        k4 = (_rotl((k4 * c4) & M, 18) * c1) & M
        h4 ^= k4
        h4 = (_rotl(h4, 13) + h1) & M
        h4 = (h4 * 5 + 0x32AC3B17) & M
    tail = key[16 * nblocks:]
    k = [0, 0, 0, 0]
    for i, b in enumerate(tail):
        k[i // 4] |= b << (8 * (i % 4))
    consts = [(c1, 15, c2), (c2, 16, c3), (c3, 17, c4), (c4, 18, c1)]
    hs = [h1, h2, h3, h4]
    for j in range(3, -1, -1):
        if len(tail) > 4 * j:
            a, r, b = consts[j]
            kk = (_rotl((k[j] * a) & M, r) * b) & M
            hs[j] ^= kk
    h1, h2, h3, h4 = [h ^ n for h in hs]
    h1 = (h1 + h2 + h3 + h4) & M
    h2 = (h2 + h1) & M
    h3 = (h3 + h1) & M
    h4 = (h4 + h1) & M
    h1, h2, h3, h4 = _fmix32(h1), _fmix32(h2), _fmix32(h3), _fmix32(h4)
    h1 = (h1 + h2 + h3 + h4) & M
    h2 = (h2 + h1) & M
    h3 = (h3 + h1) & M
    h4 = (h4 + h1) & M
    return h1, h2, h3, h4


# ---------------------------------------------------------------------------- sharding


def grid_of(size, chunk):
    return [-(-s // c) for s, c in zip(size, chunk)]


def morton(g, grid):
    bits = [max(0, (n - 1).bit_length()) for n in grid]
    code, j = 0, 0
    for i in range(max(bits)):
        for d in range(3):
            if i < bits[d]:
                code |= ((g[d] >> i) & 1) << j
                j += 1
    return code


def shard_of(sh, cid):
    h = cid >> sh["preshift_bits"]
    if sh["hash"] == "murmurhash3_x86_128":
        w = murmur3_x86_128(struct.pack("<Q", h))
        h = w[0] | (w[1] << 32)
    mb, sb = sh["minishard_bits"], sh["shard_bits"]
    return (h >> mb) & ((1 << sb) - 1), h & ((1 << mb) - 1)


def shard_name(sh, n):
    d = (sh["shard_bits"] + 3) // 4
    return "%0*x.shard" % (d, n)


def write_shards(dirpath, sh, chunks):
    """chunks: {chunk id: encoded bytes}.  Writes <dir>/<hex>.shard files."""
    nmini = 1 << sh["minishard_bits"]
    shards = {}
    for cid, data in chunks.items():
        s, m = shard_of(sh, cid)
        shards.setdefault(s, {}).setdefault(m, []).append((cid, data))
    for s, minis in shards.items():
        index = [(0, 0)] * nmini
        body = bytearray()
        for m in sorted(minis):
            entries = sorted(minis[m])
            starts, sizes = [], []
            for cid, data in entries:
                if sh.get("data_encoding", "raw") == "gzip":
                    data = gzip.compress(data, mtime=0)
                starts.append(len(body))
                sizes.append(len(data))
                body += data
            ids = [e[0] for e in entries]
            n = len(ids)
            arr = np.zeros((3, n), dtype="<u8")
            prev_id, prev_end = 0, 0
            for i in range(n):
                arr[0, i] = ids[i] - prev_id
                arr[1, i] = starts[i] - prev_end
                arr[2, i] = sizes[i]
                prev_id, prev_end = ids[i], starts[i] + sizes[i]
            mi = arr.tobytes()
            if sh.get("minishard_index_encoding", "raw") == "gzip":
                mi = gzip.compress(mi, mtime=0)
            index[m] = (len(body), len(body) + len(mi))
            body += mi
        with open(os.path.join(dirpath, shard_name(sh, s)), "wb") as f:
            f.write(b"".join(struct.pack("<QQ", a, b) for a, b in index))
            f.write(body)


def read_sharded(dirpath, sh, cid):
    """The stored bytes of chunk cid, or None."""
    s, m = shard_of(sh, cid)
    p = os.path.join(dirpath, shard_name(sh, s))
    if not os.path.exists(p):
        return None
    with open(p, "rb") as f:
        raw = f.read()
    ib = 16 << sh["minishard_bits"]
    a, b = struct.unpack_from("<QQ", raw, 16 * m)
    mi = raw[ib + a:ib + b]
    if sh.get("minishard_index_encoding", "raw") == "gzip":
        mi = gzip.decompress(mi)
    arr = np.frombuffer(mi, dtype="<u8").reshape(3, -1)
    ids = np.cumsum(arr[0])
    pos = 0
    for i in range(arr.shape[1]):
        start = pos + int(arr[1, i])
        size = int(arr[2, i])
        pos = start + size
        if int(ids[i]) == cid:
            data = raw[ib + start:ib + start + size]
            if sh.get("data_encoding", "raw") == "gzip":
                data = gzip.decompress(data)
            return data
    return None


# ---------------------------------------------------------------------------- encodings


def cseg_encode(block_vol, bs):
    """compressed_segmentation of one channel, block_vol z,y,x; bs x,y,z."""
    nz, ny, nx = block_vol.shape
    gx, gy, gz = -(-nx // bs[0]), -(-ny // bs[1]), -(-nz // bs[2])
    vw = 2 if block_vol.dtype.itemsize == 8 else 1
    headers = []
    data = []  # 32-bit words after the headers
    hdr_words = 2 * gx * gy * gz
    tables = {}
    for bz in range(gz):
        for by in range(gy):
            for bx in range(gx):
                blk = np.zeros((bs[2], bs[1], bs[0]), dtype=block_vol.dtype)
                part = block_vol[bz * bs[2]:(bz + 1) * bs[2], by * bs[1]:(by + 1) * bs[1],
                                 bx * bs[0]:(bx + 1) * bs[0]]
                blk[:part.shape[0], :part.shape[1], :part.shape[2]] = part
                # Padding takes a value of the block, as encoders do.
                if part.size < blk.size:
                    pad = np.ones(blk.shape, bool)
                    pad[:part.shape[0], :part.shape[1], :part.shape[2]] = False
                    blk[pad] = part.flat[0]
                uniq = np.unique(blk)
                bits = 0
                while (1 << bits) < len(uniq):
                    bits = {0: 1, 1: 2, 2: 4, 4: 8, 8: 16, 16: 32}[bits]
                idx = np.searchsorted(uniq, blk.ravel()).astype(np.uint64)
                nwords = -(-(blk.size * bits) // 32)
                words = np.zeros(nwords, dtype=np.uint64)
                for k in range(blk.size if bits else 0):
                    bit = k * bits
                    words[bit // 32] |= idx[k] << np.uint64(bit % 32)
                vals_off = hdr_words + len(data)
                data.extend(int(w) for w in words)
                key = uniq.tobytes()
                if key in tables:
                    tab_off = tables[key]
                else:
                    tab_off = hdr_words + len(data)
                    tables[key] = tab_off
                    data.extend(np.frombuffer(uniq.astype(uniq.dtype.newbyteorder("<")).tobytes(),
                                              dtype="<u4").tolist())
                headers.append((tab_off | (bits << 24), vals_off))
    out = struct.pack("<I", 1)  # one channel: its data starts after this word
    for a, b in headers:
        out += struct.pack("<II", a, b)
    out += np.array(data, dtype="<u4").tobytes()
    return out


def cseg_decode(buf, shape_zyx, bs, dtype):
    words = np.frombuffer(buf, dtype="<u4")
    nz, ny, nx = shape_zyx
    gx, gy, gz = -(-nx // bs[0]), -(-ny // bs[1]), -(-nz // bs[2])
    vw = 2 if np.dtype(dtype).itemsize == 8 else 1
    base = int(words[0])
    out = np.zeros(shape_zyx, dtype=dtype)
    for bz in range(gz):
        for by in range(gy):
            for bx in range(gx):
                h = base + 2 * (bx + gx * (by + gy * bz))
                tab = base + (int(words[h]) & 0xFFFFFF)
                bits = int(words[h]) >> 24
                vals = base + int(words[h + 1])
                for z in range(bz * bs[2], min((bz + 1) * bs[2], nz)):
                    for y in range(by * bs[1], min((by + 1) * bs[1], ny)):
                        for x in range(bx * bs[0], min((bx + 1) * bs[0], nx)):
                            k = (x - bx * bs[0]) + bs[0] * ((y - by * bs[1]) + bs[1] * (z - bz * bs[2]))
                            i = 0
                            if bits:
                                bit = k * bits
                                i = (int(words[vals + bit // 32]) >> (bit % 32)) & ((1 << bits) - 1)
                            w = words[tab + i * vw:tab + i * vw + vw]
                            out[z, y, x] = np.frombuffer(w.tobytes(), dtype=np.dtype(dtype).newbyteorder("<"))[0]
    return out


def jpeg_encode(chunk):
    from PIL import Image
    nz, ny, nx = chunk.shape
    b = io.BytesIO()
    Image.fromarray(chunk.reshape(nz * ny, nx), mode="L").save(b, format="JPEG", quality=85)
    return b.getvalue()


def jpeg_decode(buf, shape_zyx):
    from PIL import Image
    im = Image.open(io.BytesIO(buf))
    a = np.asarray(im.convert("L"), dtype=np.uint8)
    return a.reshape(shape_zyx)


# ---------------------------------------------------------------------------- volumes


def chunk_boxes(size, chunk):
    g = grid_of(size, chunk)
    for gz in range(g[2]):
        for gy in range(g[1]):
            for gx in range(g[0]):
                lo = [gx * chunk[0], gy * chunk[1], gz * chunk[2]]
                hi = [min(lo[i] + chunk[i], size[i]) for i in range(3)]
                yield (gx, gy, gz), lo, hi


def encode(scale, dtype, part):
    enc = scale["encoding"]
    if enc == "raw":
        return part.astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    if enc == "jpeg":
        return jpeg_encode(part)
    return cseg_encode(part, scale["compressed_segmentation_block_size"])


def decode(scale, dtype, buf, shape):
    enc = scale["encoding"]
    if enc == "raw":
        return np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    if enc == "jpeg":
        return jpeg_decode(buf, shape)
    return cseg_decode(buf, shape, scale["compressed_segmentation_block_size"], dtype)


def write_volume(root, vol, dtype, scales, skip=()):
    """vol: z,y,x for scale 0; scales: list of scale dicts (key, chunk_sizes, encoding, ...,
    sharding, downsample factor 'f'); skip: chunk grid indexes (x,y,z) of scale 0 left out."""
    os.makedirs(root, exist_ok=True)
    info = {"@type": "neuroglancer_multiscale_volume", "type": "image" if dtype == "uint8" else "segmentation",
            "data_type": dtype, "num_channels": 1, "scales": []}
    for s in scales:
        f = s.pop("f", 1)
        v = vol[::f, ::f, ::f]
        s["size"] = [v.shape[2], v.shape[1], v.shape[0]]
        info["scales"].append(s)
        d = os.path.join(root, s["key"])
        os.makedirs(d, exist_ok=True)
        chunk = s["chunk_sizes"][0]
        off = s.get("voxel_offset", [0, 0, 0])
        grid = grid_of(s["size"], chunk)
        stored = {}
        for g, lo, hi in chunk_boxes(s["size"], chunk):
            if f == 1 and g in skip:
                continue
            part = np.ascontiguousarray(v[lo[2]:hi[2], lo[1]:hi[1], lo[0]:hi[0]])
            data = encode(s, dtype, part)
            if "sharding" in s:
                stored[morton(g, grid)] = data
            else:
                name = "%d-%d_%d-%d_%d-%d" % (off[0] + lo[0], off[0] + hi[0], off[1] + lo[1],
                                              off[1] + hi[1], off[2] + lo[2], off[2] + hi[2])
                with open(os.path.join(d, name), "wb") as fp:
                    fp.write(data)
        if "sharding" in s:
            write_shards(d, s["sharding"], stored)
    with open(os.path.join(root, "info"), "w") as fp:
        json.dump(info, fp)


def read_volume(root, scale_key):
    """The reference reading: every chunk of the scale decoded into a z,y,x array (0 where
    a chunk is missing)."""
    with open(os.path.join(root, "info")) as fp:
        info = json.load(fp)
    dtype = info["data_type"]
    s = [x for x in info["scales"] if x["key"] == scale_key][0]
    size, chunk = s["size"], s["chunk_sizes"][0]
    off = s.get("voxel_offset", [0, 0, 0])
    grid = grid_of(size, chunk)
    out = np.zeros((size[2], size[1], size[0]), dtype=dtype)
    d = os.path.join(root, s["key"])
    for g, lo, hi in chunk_boxes(size, chunk):
        shape = (hi[2] - lo[2], hi[1] - lo[1], hi[0] - lo[0])
        if "sharding" in s:
            buf = read_sharded(d, s["sharding"], morton(g, grid))
        else:
            name = "%d-%d_%d-%d_%d-%d" % (off[0] + lo[0], off[0] + hi[0], off[1] + lo[1],
                                          off[1] + hi[1], off[2] + lo[2], off[2] + hi[2])
            p = os.path.join(d, name)
            buf = open(p, "rb").read() if os.path.exists(p) else None
        if buf is not None:
            out[lo[2]:hi[2], lo[1]:hi[1], lo[0]:hi[0]] = decode(s, dtype, buf, shape)
    return out


def image(shape, seed):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    v = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + 20 * np.sin(z / 3.0)
    v = v + rng.normal(0, 6, shape)
    return np.clip(v, 0, 255).astype(np.uint8)


def labels(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    base = (z // 5) * 1000 + (y // 7) * 10 + (x // 9)
    v = base.astype(np.uint64) + rng.integers(0, 3, shape).astype(np.uint64)
    if dtype == "uint64":
        v = v + np.uint64(1 << 40)
    return v.astype(dtype)


def make(root):
    vols = {}
    # Unsharded raw uint8, two scales, a voxel_offset, clipped edge chunks, one chunk missing.
    vols["u8raw"] = (image((30, 40, 50), 1), "uint8", [
        {"key": "8_8_8", "resolution": [8, 8, 8], "voxel_offset": [3, 5, 7],
         "chunk_sizes": [[16, 16, 16]], "encoding": "raw"},
        {"key": "16_16_16", "resolution": [16, 16, 16], "voxel_offset": [1, 2, 3],
         "chunk_sizes": [[16, 16, 16]], "encoding": "raw", "f": 2}], {(1, 0, 1)})
    # Sharded raw uint16: identity hash, preshift, gzip data, a raw minishard index.
    vols["u16shard"] = ((image((20, 33, 40), 2).astype(np.uint16) * 251), "uint16", [
        {"key": "4_4_40", "resolution": [4, 4, 40], "chunk_sizes": [[8, 8, 8]], "encoding": "raw",
         "sharding": {"@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 1,
                      "hash": "identity", "minishard_bits": 2, "shard_bits": 2,
                      "minishard_index_encoding": "raw", "data_encoding": "gzip"}}], {(0, 1, 0)})
    # compressed_segmentation uint64, unsharded, blocks that do not divide the chunks.
    vols["u64cseg"] = (labels((19, 29, 37), "uint64", 3), "uint64", [
        {"key": "8_8_8", "resolution": [8, 8, 8], "chunk_sizes": [[16, 16, 8]],
         "encoding": "compressed_segmentation", "compressed_segmentation_block_size": [8, 8, 4]}], ())
    # compressed_segmentation uint32, sharded with murmurhash3 and gzip minishard indexes.
    vols["u32cseg"] = (labels((16, 24, 30), "uint32", 4), "uint32", [
        {"key": "8_8_8", "resolution": [8, 8, 8], "chunk_sizes": [[8, 8, 8]],
         "encoding": "compressed_segmentation", "compressed_segmentation_block_size": [4, 4, 4],
         "sharding": {"@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 0,
                      "hash": "murmurhash3_x86_128", "minishard_bits": 1, "shard_bits": 3,
                      "minishard_index_encoding": "gzip", "data_encoding": "raw"}}], ())
    # JPEG uint8, unsharded, edge chunks.
    vols["u8jpeg"] = (image((20, 48, 64), 5), "uint8", [
        {"key": "8_8_8", "resolution": [8, 8, 8], "chunk_sizes": [[32, 32, 8]],
         "encoding": "jpeg"}], ())
    # JPEG uint8 sharded as the hemibrain release is (murmurhash3, gzip index).
    vols["u8jpegshard"] = (image((32, 64, 64), 6), "uint8", [
        {"key": "8.0x8.0x8.0", "resolution": [8, 8, 8], "chunk_sizes": [[16, 16, 16]],
         "encoding": "jpeg",
         "sharding": {"@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 3,
                      "hash": "murmurhash3_x86_128", "minishard_bits": 2, "shard_bits": 1,
                      "minishard_index_encoding": "gzip", "data_encoding": "raw"}}], ())
    for name, (vol, dtype, scales, skip) in vols.items():
        key = scales[0]["key"]
        write_volume(os.path.join(root, name), vol, dtype, scales, skip)
        ref = read_volume(os.path.join(root, name), key)
        if dtype != "uint8" or scales[0]["encoding"] == "raw":
            # Lossless: the reading is the volume, but for the chunks left out.
            exp = vol.copy()
            chunk = scales[0]["chunk_sizes"][0]
            for g in skip:
                exp[g[2] * chunk[2]:(g[2] + 1) * chunk[2], g[1] * chunk[1]:(g[1] + 1) * chunk[1],
                    g[0] * chunk[0]:(g[0] + 1) * chunk[0]] = 0
            assert np.array_equal(ref, exp), name
        np.save(os.path.join(root, name + ".npy"), ref)


def data_ranges(root, scale_key, prefix):
    """'PATH bytes=A-B' of every chunk's bytes in the scale's shard files, as em-origin logs them."""
    with open(os.path.join(root, "info")) as fp:
        info = json.load(fp)
    s = [x for x in info["scales"] if x["key"] == scale_key][0]
    sh = s["sharding"]
    d = os.path.join(root, s["key"])
    ib = 16 << sh["minishard_bits"]
    for name in sorted(os.listdir(d)):
        raw = open(os.path.join(d, name), "rb").read()
        for m in range(1 << sh["minishard_bits"]):
            a, b = struct.unpack_from("<QQ", raw, 16 * m)
            mi = raw[ib + a:ib + b]
            if not mi:
                continue
            if sh.get("minishard_index_encoding", "raw") == "gzip":
                mi = gzip.decompress(mi)
            arr = np.frombuffer(mi, dtype="<u8").reshape(3, -1)
            pos = 0
            for i in range(arr.shape[1]):
                start = pos + int(arr[1, i])
                pos = start + int(arr[2, i])
                print("%s/%s/%s bytes=%d-%d" % (prefix, s["key"], name, ib + start, ib + pos - 1))


def check(store, npy, box=None):
    import zarr
    ref = np.load(npy)
    if box:
        sl = tuple(slice(int(a), int(b)) for a, b in (r.split(":") for r in box.split(",")))
        ref = ref[sl]
    arr = zarr.open(store, mode="r")["0"][...]
    if arr.dtype != ref.dtype or arr.shape != ref.shape:
        print("store %s %s, reference %s %s" % (arr.dtype, arr.shape, ref.dtype, ref.shape))
        return 1
    if not np.array_equal(arr, ref):
        bad = np.argwhere(arr != ref)
        print("%d voxels differ, first at %s" % (len(bad), bad[0].tolist()))
        return 1
    return 0


def main(argv):
    if argv[1] == "make":
        make(argv[2])
        return 0
    if argv[1] == "read":
        a = read_volume(argv[2], argv[3])
        print(hashlib.sha256(a.tobytes()).hexdigest(), a.shape)
        return 0
    if argv[1] == "ranges":
        data_ranges(argv[2], argv[3], argv[4])
        return 0
    if argv[1] == "check":
        return check(argv[2], argv[3], argv[4] if len(argv) > 4 else None)
    print("usage: precomputed.py make ROOT | read VOL SCALE | check STORE NPY [BOX]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
