#!/usr/bin/python3
"""invariant.py DIR... - what every record left by any test must hold, whatever faults, kills
and concurrent runs the test threw at the tools:

- a record that says `complete` has the sha256 of its store's array (C order, as numpy's
  tobytes()), read back here with zarr-python (v2) or t/zarr3read.py (v3);
- a store's manifest (em-manifest.json) names the sources its record names: the record's
  download_url and source_files are the ones the store was written from.

Records are the *.json files with schema_version, id, source and status; the store is
<id>.zarr beside the record.  Prints one line per violation and exits 1 if there is any.
"""
import hashlib
import json
import os
import sys


def records(top):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.endswith(".zarr") and not d.endswith(".new")]
        for f in files:
            if not f.endswith(".json"):
                continue
            path = os.path.join(root, f)
            try:
                with open(path, encoding="utf-8") as fp:
                    r = json.load(fp)
            except (OSError, ValueError):
                continue
            if isinstance(r, dict) and all(k in r for k in ("schema_version", "id", "source", "status")):
                yield path, r


def array_path(store):
    """Level 0 of an OME-Zarr group, or the store itself when it is a bare array; None when
    it is no Zarr store (a test's hand-written record names a store that was never made)."""
    for p in (os.path.join(store, "0"), store):
        if os.path.exists(os.path.join(p, ".zarray")):
            return p
        try:
            with open(os.path.join(p, "zarr.json"), encoding="utf-8") as fp:
                if json.load(fp).get("node_type") == "array":
                    return p
        except (OSError, ValueError, AttributeError):
            pass
    return None


def array_sha256(path):
    if os.path.exists(os.path.join(path, "zarr.json")):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import zarr3read

        return hashlib.sha256(zarr3read.read(path).tobytes()).hexdigest()
    import zarr

    a = zarr.open(path, mode="r")
    return hashlib.sha256(a[...].tobytes()).hexdigest()


def check(path, r):
    bad = []
    store = os.path.join(os.path.dirname(path), r["id"] + ".zarr")
    arr = array_path(store)
    if arr is None:
        return bad
    mpath = os.path.join(store, "em-manifest.json")
    if os.path.exists(mpath) and r["status"] in ("saving-data", "complete"):
        with open(mpath, encoding="utf-8") as fp:
            src = json.load(fp).get("source", {})
        if "download_url" in r and "download_url" in src and r["download_url"] != src["download_url"]:
            bad.append("names %s, its store was written from %s" % (r["download_url"], src["download_url"]))
        files = [f.get("url") for f in r.get("source_files", [])]
        if files and "files" in src and files != src["files"]:
            bad.append("names the files %s, its store was written from %s" % (files, src["files"]))
    if r["status"] == "complete" and "sha256" in r:
        try:
            got = array_sha256(arr)
        except Exception as e:  # a store that cannot be read back is a violation too
            bad.append("complete, but its store cannot be read: %s" % e)
        else:
            if got != r["sha256"]:
                bad.append("complete with sha256 %s, its store's array has %s" % (r["sha256"], got))
    return bad


def main():
    n = 0
    for top in sys.argv[1:]:
        for path, r in records(top):
            for b in check(path, r):
                print("invariant: %s: %s" % (path, b))
                n += 1
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
