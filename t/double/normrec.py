#!/usr/bin/python3
# normrec.py - prints records with what legitimately differs between two runs of the
# same ingest taken out, keys sorted, one record per line:
#   always      time stamps;
#   --shares    the memory share each tool was given (it depends on the execution mode);
#   --resumed   the run history of a record that was made by more than one run: earlier
#               runs, the status history, and steps of processing_pipeline repeated by
#               the later run (each step is kept once, in order of first appearance).
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
    resumed = False
    args = []
    for a in sys.argv[1:]:
        if a == "--resumed":
            resumed = True
            drop |= {"previous_runs", "status_history"}
        elif a == "--shares":
            drop |= {"max_memory"}
        else:
            args.append(a)
    for path in args:
        with open(path, encoding="utf-8") as f:
            doc = strip(json.load(f), drop)
        if resumed and isinstance(doc.get("processing_pipeline"), list):
            seen, steps = set(), []
            for s in doc["processing_pipeline"]:
                k = json.dumps(s, sort_keys=True)
                if k not in seen:
                    seen.add(k)
                    steps.append(s)
            doc["processing_pipeline"] = steps
        print(json.dumps(doc, sort_keys=True))


main()
