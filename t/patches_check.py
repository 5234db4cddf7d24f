#!/usr/bin/python3
# patches_check.py - em-patches' output checked independently, as a user's reader sees it:
# python3 tarfile and numpy.load for every sample, the store's region read with
# zarr-python, the normalization recomputed in numpy from the record's statistics, the
# split blocks recomputed from the manifest's rule, and no voxel in two splits.
#   patches_check.py OUT        prints "samples=N train=N val=N test=N" and exits 0 when all hold
import hashlib, io, json, os, sys, tarfile

import numpy as np
import zarr

M64 = (1 << 64) - 1


def mix(z):
    z = (z + 0x9e3779b97f4a7c15) & M64
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def block_split(fracs, seed, b):
    h = mix(mix(mix(mix(seed) ^ b[0]) ^ b[1]) ^ b[2])
    u = (h >> 11) / float(1 << 53)
    cum = 0.0
    for i, f in enumerate(fracs):
        cum += f
        if u < cum and f > 0:
            return i
    return max(i for i, f in enumerate(fracs) if f > 0)


def hist_pct(h, q):
    c = np.array(h["counts"], dtype=np.float64)
    t = q * c.sum()
    cum = np.cumsum(c)
    k = int(np.nonzero((cum >= t) & (c > 0))[0][0])
    return h["start"] + h["width"] * (k + (t - (cum[k] - c[k])) / c[k])


def expected(region, st, method, dtype, pct):
    if method == "none" and dtype == "same":
        return region
    v = region.astype(np.float64)
    if method == "zscore":
        x = (v - st["mean"]) / st["std"]
    elif method == "minmax":
        x = (v - st["min"]) / (st["max"] - st["min"])
    elif method == "percentile":
        lo = min(max(hist_pct(st["histogram"], pct[0] / 100), st["min"]), st["max"])
        hi = min(max(hist_pct(st["histogram"], pct[1] / 100), st["min"]), st["max"])
        x = (np.clip(v, lo, hi) - lo) / (hi - lo)
    else:
        x = v
    if dtype == "float32":
        return x.astype(np.float32)
    if method == "none":
        return np.rint(np.clip(x, 0, 255)).astype(np.uint8)
    return np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)


def fail(msg):
    print("patches_check: " + msg)
    sys.exit(1)


def main():
    out = sys.argv[1]
    man = json.load(open(os.path.join(out, "manifest.json")))
    par = man["parameters"]
    if not man["complete"]:
        fail("the manifest is not complete")
    names = list(par["splits"])
    fracs = [par["splits"][n] for n in names]
    P = par["patch"]
    block = par["block"]
    method, dtype = par["normalize"], par["dtype"]
    pct = par["percentiles"]
    vols = {}
    for v in man["volumes"]:
        rec = None
        recpath = os.path.join(os.path.dirname(v["store"].rstrip("/")), v["id"] + ".json")
        if os.path.exists(recpath):
            rec = json.load(open(recpath))
        g = zarr.open(v["store"], mode="r")
        arr = g[v["level_path"]] if v["level_path"] else g
        grid = v["block_grid"]
        blocks = np.frombuffer(v["blocks"].encode(), dtype=np.uint8).astype(int) - 48
        blocks = blocks.reshape(grid)
        # The manifest's assignment is the rule's.
        for bz in range(grid[0]):
            for by in range(grid[1]):
                for bx in range(grid[2]):
                    if blocks[bz, by, bx] != block_split(fracs, par["seed"], (bz, by, bx)):
                        fail("block %d,%d,%d of %s is not the rule's split" % (bz, by, bx, v["id"]))
        owner = np.full(v["shape"], -1, dtype=np.int8)
        vols[(v["source"], v["id"])] = (v, rec, arr, blocks, owner)
    counts = {n: 0 for n in names}
    kept = set()
    nshards = {n: 0 for n in names}
    for sh in man["shards"]:
        path = os.path.join(out, sh["name"])
        data = open(path, "rb").read()
        if hashlib.sha256(data).hexdigest() != sh["sha256"] or len(data) != sh["bytes"]:
            fail("%s: sha256 or size differs from the manifest" % path)
        if len(data) > par["shard_size"]:
            fail("%s is larger than the shard size" % path)
        if sh["name"] != "%s-%06d.tar" % (sh["split"], nshards[sh["split"]]):
            fail("%s is out of order" % sh["name"])
        nshards[sh["split"]] += 1
        tf = tarfile.open(path)
        members = tf.getmembers()
        mnames = [m.name for m in members]
        if mnames != sorted(mnames):
            fail("%s: members are not in sorted order" % path)
        for m in members:
            if m.mtime != 0 or m.uid != 0 or m.gid != 0 or m.uname or m.gname or m.mode != 0o644:
                fail("%s: member %s has a varying header field" % (path, m.name))
        if len(members) != 2 * sh["samples"]:
            fail("%s: %d members for %d samples" % (path, len(members), sh["samples"]))
        for i in range(0, len(members), 2):
            mj, mn = members[i], members[i + 1]
            key = mj.name[:-5]
            if mj.name != key + ".json" or mn.name != key + ".npy" or "." in key:
                fail("%s: members %s, %s are not KEY.json, KEY.npy" % (path, mj.name, mn.name))
            meta = json.load(tf.extractfile(mj))
            raw = tf.extractfile(mn).read()
            a = np.load(io.BytesIO(raw))
            buf = io.BytesIO()
            np.save(buf, a)
            if buf.getvalue() != raw:
                fail("%s: %s is not byte for byte what numpy.save writes" % (path, mn.name))
            if meta["split"] != sh["split"] or meta["key"] != key:
                fail("%s: %s has split %s" % (path, key, meta["split"]))
            if hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() != meta["sha256"]:
                fail("%s: sha256 of %s differs" % (path, key))
            v, rec, arr, blocks, owner = vols[(meta["source"], meta["id"])]
            z, y, x = meta["offset_voxels"]
            if arr.ndim == 3:
                region = arr[z:z + P[0], y:y + P[1], x:x + P[2]]
            else:
                region = arr[y:y + P[1], x:x + P[2]][None]
            if P[0] == 1:
                region = region[0]
            if meta["level"] != v["level"]:
                fail("%s: level %s, expected %s" % (key, meta["level"], v["level"]))
            if v["voxel_size_nm"] is not None:
                want = [o + p * s for o, p, s in zip(v["origin_nm"], meta["offset_voxels"],
                                                     v["voxel_size_nm"])]
                if meta["offset_nm"] != want or meta["voxel_size_nm"] != v["voxel_size_nm"]:
                    fail("%s: offset_nm %s, expected %s" % (key, meta["offset_nm"], want))
            st = rec["statistics"] if rec and "statistics" in rec else None
            exp = expected(region, st, method, dtype, pct)
            if a.dtype != exp.dtype or a.shape != exp.shape or not np.array_equal(a, exp):
                fail("%s: values differ from the store's region (dtype %s %s, shape %s %s)" %
                     (key, a.dtype, exp.dtype, a.shape, exp.shape))
            # The patch lies in blocks of its own split only, and no voxel is in two splits.
            s = names.index(sh["split"])
            b0 = [z // block[0], y // block[1], x // block[2]]
            b1 = [(z + P[0] - 1) // block[0], (y + P[1] - 1) // block[1],
                  (x + P[2] - 1) // block[2]]
            sub = blocks[b0[0]:b1[0] + 1, b0[1]:b1[1] + 1, b0[2]:b1[2] + 1]
            if not (sub == s).all():
                fail("%s straddles blocks of another split" % key)
            o = owner[z:z + P[0], y:y + P[1], x:x + P[2]]
            if ((o >= 0) & (o != s)).any():
                fail("%s shares voxels with another split" % key)
            o[...] = s
            # The skip rules held for what was kept.
            fill = v["fill_value"]
            if (region == fill).mean() > par["max_fill"]:
                fail("%s has more fill than --max-fill" % key)
            if region.astype(np.float64).std() < par["min_std"]:
                fail("%s has a std below --min-std" % key)
            counts[sh["split"]] += 1
            kept.add((meta["source"], meta["id"], z, y, x))
    for n in names:
        if counts[n] != man["counts"][n]["samples"]:
            fail("split %s: %d samples in the shards, the manifest counts %d" %
                 (n, counts[n], man["counts"][n]["samples"]))
    if par["sampling"]["mode"] == "grid":
        # Every grid position: drawn or straddling, kept or skipped by the rules, as counted.
        S = par["sampling"]["stride"]
        want = set()
        skip = {n: [0, 0] for n in names}
        strad = 0
        for (src, vid), (v, rec, arr, blocks, owner) in vols.items():
            sh3 = v["shape"]
            for z in range(0, sh3[0] - P[0] + 1, S[0]):
                for y in range(0, sh3[1] - P[1] + 1, S[1]):
                    for x in range(0, sh3[2] - P[2] + 1, S[2]):
                        sub = blocks[z // block[0]:(z + P[0] - 1) // block[0] + 1,
                                     y // block[1]:(y + P[1] - 1) // block[1] + 1,
                                     x // block[2]:(x + P[2] - 1) // block[2] + 1]
                        if (sub != sub.flat[0]).any():
                            strad += 1
                            continue
                        n = names[int(sub.flat[0])]
                        if arr.ndim == 3:
                            r = arr[z:z + P[0], y:y + P[1], x:x + P[2]]
                        else:
                            r = arr[y:y + P[1], x:x + P[2]]
                        if (r == v["fill_value"]).mean() > par["max_fill"]:
                            skip[n][0] += 1
                        elif par["min_std"] > 0 and r.astype(np.float64).std() < par["min_std"]:
                            skip[n][1] += 1
                        else:
                            want.add((src, vid, z, y, x))
        if want != kept:
            fail("kept %d grid positions, numpy keeps %d (%d differ)" %
                 (len(kept), len(want), len(want ^ kept)))
        for n in names:
            c = man["counts"][n]
            if [c["skipped_fill"], c["skipped_std"]] != skip[n]:
                fail("split %s: skipped %s, numpy says %s" %
                     (n, [c["skipped_fill"], c["skipped_std"]], skip[n]))
        if man["counts"]["straddling"] != strad:
            fail("straddling %d, numpy says %d" % (man["counts"]["straddling"], strad))
    extra = sorted(f for f in os.listdir(out) if f != "manifest.json" and
                   f not in [s["name"] for s in man["shards"]])
    if extra:
        fail("files not in the manifest: %s" % extra)
    print("samples=%d %s" % (sum(counts.values()),
                             " ".join("%s=%d" % (n, counts[n]) for n in names)))


main()
