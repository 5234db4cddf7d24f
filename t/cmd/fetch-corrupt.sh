#!/bin/sh
# fetch-corrupt.sh - truncated and corrupted copies of sample files (DM3, DM4, MRC, TIFF,
# OME-TIFF, and a series of DM3 slices with one cut short) through the file fetchers:
# never a crash; a failure is exit 1 with a failed record and a message naming the file.
. "$(dirname "$0")/../lib.sh"

need_testdata dm3
PY=/usr/bin/python3
export SCRATCH TESTDATA

$PY - <<'EOF'
import json, os, random, subprocess, sys

S, TD = os.environ["SCRATCH"], os.environ["TESTDATA"]
nfail = nok = 0
def say(ok, what, detail=""):
    global nfail, nok
    if ok:
        nok += 1
    else:
        nfail += 1
        print("not ok - " + what + (": " + detail if detail else ""))

samples = ["dm3/ncempy_dmTest_3D_int16_64_65_66.dm3", "dm3/test_STEM_image.dm3",
           "dm4/ncempy_dmTest_3D_int16_64_65_66.dm4", "dm3/multi_signal.dm3",
           "mrc/EMD-3001.map", "mrc/rsciio_Custom_movie.mrc",
           "tiff/image-tiff_minisblack-1c-16b.tiff",
           "tiff/rsciio_test_loading_image_saved_with_imageJ_stack.tif",
           "tiff/image-tiff_seq/seq-1c-8b-multipage-adeefdcc.tiff",
           "tiff/image-tiff_seq/seq-1c-16b-deflate-68f373a0.tiff",
           "tiff/image-tiff_seq/seq-1c-8b-tiled-bigtiff-20f3db0c.tiff"]
rnd = random.Random(1234)
os.makedirs(os.path.join(S, "f"), exist_ok=True)
cases = []
for rel in samples:
    data = open(os.path.join(TD, rel), "rb").read()
    base = rel.replace("/", "_")
    n = len(data)
    for frac in (0, 0.3, 0.6, 0.95):
        cases.append(("trunc%g-%s" % (frac, base), data[:int(n * frac)], True))
    # Bytes flipped in the header and tag region (the first KiB), then anywhere.
    for k in range(4):
        b = bytearray(data)
        lim = min(n, 1024) if k < 3 else n
        for _ in range(1 + k):
            i = rnd.randrange(lim)
            b[i] ^= 1 << rnd.randrange(8)
        cases.append(("flip%d-%s" % (k, base), bytes(b), False))
    # A 32-bit word in the header set to a huge value.
    for k in range(3):
        b = bytearray(data)
        i = rnd.randrange(0, max(1, min(n, 512) - 4)) & ~3
        b[i:i + 4] = b"\xff\xff\xff\x7f"
        cases.append(("huge%d-%s" % (k, base), bytes(b), False))

tools = ["fetch-idr", "fetch-empiar", "fetch-epfl"]
crashed = 0
for j, (name, data, must_fail) in enumerate(cases):
    path = os.path.join(S, "f", name)
    open(path, "wb").write(data)
    tool = tools[j % 3]
    out = os.path.join(S, "out-" + tool)
    p = subprocess.run([tool, "-o", out, "--chunks", "8,32,32", "--url", "file://" + path,
                        "--id", "v%d" % j], capture_output=True, text=True)
    what = "%s %s" % (tool, name)
    if p.returncode < 0 or p.returncode >= 128 or "runtime error" in p.stderr or \
            "Sanitizer" in p.stderr:
        crashed += 1
        say(False, what, "crashed: exit %d: %s" % (p.returncode, p.stderr[-400:]))
        continue
    if p.returncode == 0:
        say(not must_fail, what, "read a truncated file")
        continue
    rec = json.load(open(os.path.join(out, "v%d.json" % j)))
    probs = []
    if p.returncode != 1:
        probs.append("exit %d" % p.returncode)
    if rec.get("status") != "failed" or not rec.get("error"):
        probs.append("record %s" % rec.get("status"))
    line = p.stderr.strip().split("\n")[-1]
    if not line.startswith(tool + ": ") or name not in line:
        probs.append("message '%s' does not name the file" % line)
    say(not probs, what, "; ".join(probs))

print("# %d corrupt or truncated files, %d crashes" % (len(cases), crashed))
print("%d passed, %d failed" % (nok, nfail))
sys.exit(1 if nfail else 0)
EOF
rc=$?
[ $rc -eq 0 ] || NFAIL=1

# A series of DM3 slices (fetch-empiar from a file:// listing) with one slice cut short.
D=$SCRATCH/series/empiar/world_availability/11759/data
mkdir -p "$D" "$SCRATCH/series/empiar/api/entry"
for i in 0 1 2 3; do mkdm3 40 30 0.01 "$D/s_$i.dm3" || fail mkdm3; done
head -c 1500 "$D/s_2.dm3" >"$D/s_2.tmp" && mv "$D/s_2.tmp" "$D/s_2.dm3"
printf '{"EMPIAR-11759": {"title": "t", "imagesets": []}}' >"$SCRATCH/series/empiar/api/entry/EMPIAR-11759.json"
cat >"$SCRATCH/series.yaml" <<EOF
sources:
  empiar:
    api_url: file://$SCRATCH/series/empiar/api/entry/EMPIAR-11759.json
    data_url: file://$D/
    file_glob: "s_*.dm3"
    expected_files: 4
EOF
EM_CONFIG_OVERLAY=$SCRATCH/series.yaml run fetch-empiar -o "$SCRATCH/sd" -q
expect_rc 1 "a series with a truncated slice fails"
expect_grep "s_2.dm3" "$SCRATCH/err" "the message names the slice"
expect_grep '"status":"failed"' "$SCRATCH/out" "the failed record is printed"
done_testing
