# consolidate-stream.sh - em-consolidate streams: its outputs for a fixed set of inputs are
# byte for byte those of the in-memory version it replaced, and 20,000 records with
# histograms are consolidated in bounded memory into what a reference merge predicts.
. "$(dirname "$0")/../lib.sh"

S=$SCRATCH
R=$TOP/t/data/records
D=$TOP/t/data/consolidate
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
cd "$S" || exit 1
export EM_CONFIG="$S/config.yaml"
: >"$EM_CONFIG"
unset EM_SCHEMA EM_CONFIG_OVERLAY
NOW=2026-11-24T03:15:00Z
T=20261124T031500Z
VERSION=$(em-consolidate --version | sed 's/.* //')

# 1. The fixed inputs: a tree, a JSON Lines file and the same lines on stdin.
mkdir fixed && cd fixed || exit 1
. "$D/make-inputs.sh"
run env EM_NOW=$NOW em-consolidate -o out data old records.jsonl - <records.jsonl
expect_rc 1 "fixed inputs: exit 1 (some invalid)"
expect_same "$D/stderr" "$S/err" "fixed inputs: stderr as before"
for f in metadata_catalog.json validation_report.json processing_log.log; do
	case $f in
	*.log) got=out/processing_log_$T.log ;;
	*) got=out/${f%.json}_$T.json ;;
	esac
	# The log names the configuration and the schema file by where they are.
	sed -e "s/@VERSION@/$VERSION/" "$D/$f" >"want-$f"
	sed -i -e 's/^configuration .*/configuration @CONFIG@/' \
		-e 's/^schema file .*/schema file @SCHEMA@/' "$got"
	expect_same "want-$f" "$got" "fixed inputs: $f byte for byte as the in-memory version wrote it"
done
cd "$S" || exit 1

# The temporary file cannot be made: a clear message naming where, and no outputs.
run env EM_NOW=$NOW TMPDIR="$S/no-such-dir" em-consolidate -o tmpfail "$R/valid-failed.json"
expect_rc 1 "TMPDIR missing: exit 1"
expect_grep "^em-consolidate: cannot gather the records of '$R/valid-failed.json': cannot create a temporary file in '$S/no-such-dir': No such file or directory\$" \
	"$S/err" "TMPDIR missing: the message names the directory"
[ ! -e tmpfail ] && ok "TMPDIR missing: no outputs" || fail "TMPDIR missing: tmpfail/ was made"

# 2. 20,000 records (each with a 256-bin histogram, about 9 KB): 18,000 complete ones
# in a tree, 1,600 older copies of some of them (processing, superseded), 200 invalid,
# and 200 more complete ones as JSON Lines on stdin.
cat >big.py <<'PYEOF'
import copy, json, os, random, resource, subprocess, sys

mode, top = sys.argv[1], sys.argv[2]
tmpl = json.load(open(os.path.join(top, "t/data/records/valid-complete-empiar.json")))
SOURCES = ["dvid", "empiar", "epfl", "idr", "openorganelle"]

def record(n, status="complete"):
    r = copy.deepcopy(tmpl)
    src = SOURCES[n % len(SOURCES)]
    r["id"] = "g%05d" % n
    r["source"] = src
    r["internal_zarr_path"] = "data/%s/g%05d.zarr" % (src, n)
    r["description"] = "generated volume %d" % n
    r["volume_shape"] = [16 + n % 7, 512 + n % 100, 512]
    r["file_size_bytes"] = 1000 + n
    r["sha256"] = "%064x" % (n * 2654435761 % (1 << 256))
    st = r["statistics"]
    rng = random.Random(n)
    st["histogram"]["counts"] = [rng.randrange(0, 10**9) for _ in range(256)]
    st["mean"] = round(rng.uniform(50, 200), 3)
    if status != "complete":
        r["status"] = status
        r["status_history"] = r["status_history"][:2]
        for k in ("statistics", "sha256", "quality"):
            r.pop(k, None)
    return r

if mode == "make":
    recs = []   # (path, text, record, valid)
    for n in range(18000):
        src = SOURCES[n % len(SOURCES)]
        p = "data/%s/g%05d.json" % (src, n)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        r = record(n)
        with open(p, "w") as f:
            json.dump(r, f, indent=2)
        recs.append((p, 1, r, True))
    os.makedirs("old", exist_ok=True)
    for k in range(1600):
        n = k * 11
        p = "old/g%05d.json" % n
        r = record(n, "processing")
        with open(p, "w") as f:
            json.dump(r, f)
        recs.append((p, 1, r, True))
    for k in range(200):
        n = k * 13
        p = "old/bad-%05d.json" % n
        r = record(n)
        r["sha256"] = "F" + r["sha256"][1:]
        with open(p, "w") as f:
            json.dump(r, f)
        recs.append((p, 1, r, False))
    with open("more.jsonl", "w") as f:
        for k in range(200):
            r = record(18000 + k)
            f.write(json.dumps(r) + "\n")
            recs.append(("-", k + 1, r, True))
    # The reference merge, kept compact: per (source, id) the winner's path and text, chosen
    # as em-consolidate(1) says (complete first, then the newest, then path and text).
    best = {}
    for p, t, r, ok in recs:
        if not ok:
            continue
        key = (r["source"], r["id"])
        rank = (r["status"] == "complete", r["status_history"][-1]["time"])
        old = best.get(key)
        if old is None or rank > old[0] or (rank == old[0] and (p, t) < (old[1], old[2])):
            best[key] = (rank, p, t)
    want = {"winners": {"%s/%s" % k: [v[1], v[2]] for k, v in best.items()},
            "texts": len(recs), "invalid": sum(1 for x in recs if not x[3])}
    json.dump(want, open("want.json", "w"))

elif mode == "run":
    # Peak resident memory of em-consolidate, as bench/peakrss measures it.
    with open("more.jsonl") as stdin:
        rc = subprocess.call(sys.argv[3:], stdin=stdin, stdout=open("big.out", "w"),
                             stderr=open("big.err", "w"))
    print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

elif mode == "check":
    want = json.load(open("want.json"))
    cat, rep = sys.argv[3], sys.argv[4]
    bad = []
    def elements(path, name):
        # The elements of a top-level array, one at a time, as the file lays them out.
        with open(path) as f:
            head = []
            for line in f:
                if line == '  "%s": [\n' % name:
                    break
                if line.startswith('  "%s": []' % name):
                    return
                head.append(line)
            buf = []
            for line in f:
                if line.startswith("    }") or line.startswith("    ]"):
                    buf.append(line.rstrip(",\n"))
                    yield json.loads("".join(buf))
                    buf = []
                elif line.startswith("  ]"):
                    return
                else:
                    buf.append(line)
    def head(path):
        text = []
        for line in open(path):
            if line.startswith('  "records": '):
                break
            text.append(line)
        return json.loads("".join(text).rstrip(",\n") + "\n}")
    keys = []
    n = 0
    for r in elements(cat, "records"):
        key = "%s/%s" % (r["source"], r["id"])
        keys.append((r["source"], r["id"]))
        if key not in want["winners"] or r != record(int(r["id"][1:])):
            bad.append("record %s is not the winner's text" % key)
        n += 1
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        bad.append("records not sorted by source and id, one each")
    if n != len(want["winners"]):
        bad.append("%d records, want %d" % (n, len(want["winners"])))
    h = head(cat)["summary"]
    nsup = want["texts"] - want["invalid"] - len(want["winners"])
    if h["records"] != len(want["winners"]) or h["rejected"] != want["invalid"] + nsup:
        bad.append("summary counts %s %s" % (h["records"], h["rejected"]))
    if h["by_status"] != {"complete": len(want["winners"])}:
        bad.append("by_status %s" % h["by_status"])
    ids = range(18200)
    vox = sum((16 + i % 7) * (512 + i % 100) * 512 for i in ids)
    if h["total_voxels"] != vox or h["total_bytes"] != sum(1000 + i for i in ids):
        bad.append("totals %s %s" % (h["total_voxels"], h["total_bytes"]))
    rej = list(elements(cat, "rejected"))
    sup = [x for x in rej if x["reason"].startswith("superseded")]
    inv = [x for x in rej if x["reason"].startswith("invalid: /sha256")]
    if len(sup) != nsup or len(inv) != want["invalid"] or len(rej) != len(sup) + len(inv):
        bad.append("rejected: %d superseded, %d invalid of %d" % (len(sup), len(inv), len(rej)))
    for x in sup:
        if not x["path"].startswith("old/"):
            bad.append("superseded the wrong copy: %s" % x["path"])
            break
    outcomes = {}
    for e in elements(rep, "records"):
        outcomes[e["outcome"]] = outcomes.get(e["outcome"], 0) + 1
        w = want["winners"].get("%s/%s" % (e["source"], e["id"]))
        if e["outcome"] == "catalog" and [e["path"], e["text"]] != w:
            bad.append("report: %s text %d in the catalog, want %s" % (e["path"], e["text"], w))
            break
    wantout = {"catalog": len(want["winners"]), "superseded": nsup, "invalid": want["invalid"]}
    if outcomes != wantout:
        bad.append("report outcomes %s, want %s" % (outcomes, wantout))
    print("\n".join(bad) if bad else "ok")
PYEOF
mkdir big && cd big || exit 1
"$PY" ../big.py make "$TOP"
set -- $("$PY" ../big.py run "$TOP" env EM_NOW=$NOW em-consolidate -q -o out data old -)
RC=$1 RSS=$2
[ "$RC" -eq 1 ] && ok "20,000 records: exit 1 (200 invalid)" || fail "20,000 records: exit $RC: $(head -c 400 big.err)"
echo "# peak RSS consolidating 20,000 records: $RSS KiB"
if [ "$ASAN" -eq 1 ]; then
	echo "# peak RSS: not measured in an AddressSanitizer build"
elif [ "$RSS" -lt 65536 ]; then
	ok "20,000 records consolidated in less than 64 MB"
else
	fail "20,000 records: peak RSS $RSS KiB, not under 64 MB"
fi
got=$("$PY" ../big.py check "$TOP" out/metadata_catalog_$T.json out/validation_report_$T.json)
[ "$got" = ok ] && ok "20,000 records: the catalog and the report are the reference merge's" ||
	fail "20,000 records: $got"
cd "$S" || exit 1

done_testing
