#!/usr/bin/python3
# normrec.py - prints a record (or every record of a catalog) with what legitimately
# differs between two runs of the same ingest taken out: time stamps, and with
# --resumed the trace of earlier runs; with --shares also the memory share each tool
# was given (it depends on the execution mode).  Keys are sorted, one record per line.
import json
import sys

TIMES = {"time", "started", "ended", "finished", "updated", "generated"}


def strip(v, drop):
    if isinstance(v, dict):
        return {k: strip(x, drop) for k, x in v.items() if k not in drop}
    if isinstance(v, list):
        return [strip(x, drop) for x in v]
    return v


def main():
    drop = set(TIMES)
    args = []
    for a in sys.argv[1:]:
        if a == "--resumed":
            drop |= {"previous_runs"}
        elif a == "--shares":
            drop |= {"max_memory"}
        else:
            args.append(a)
    for path in args:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        print(json.dumps(strip(doc, drop), sort_keys=True))


main()
