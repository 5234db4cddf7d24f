#!/bin/sh
# b-patches.sh - em-patches against a python3-zarr + numpy sampler doing the same work in the
# same run: 64^3 patches of the shared EM-like volume (zstd chunks of 64^3), the fill and std
# rules, the normalization, numpy.save, the sample's and the shard's sha256, WebDataset tar
# shards.  Patches per second (in the MB/s columns) on a grid of stride 64 (side by side) and
# 32 (overlapping), zscore to float32 and minmax to uint8, and em-patches' peak RSS (limit
# 256 MB).  Each float32 patch is 1 MiB hashed twice, as a sample and inside its shard: Python
# hashes both through OpenSSL (hashlib, SHA-NI here); em-patches hashes the samples sixteen at
# a time in AVX-512 lanes on its readers (where they beat SHA-NI) and the shard stream through OpenSSL on a thread of
# its own, so the float32 rows need both cores free to pass 5x, the uint8 row does not.  Both
# sides' first sample must have the same sha256: the same values, normalized alike.
# EM_BENCH_PATCHES_N=N uses an N x 512 x 512 volume (default 256).
# shellcheck disable=SC1091 # the bench library, found beside the script
. "$(dirname "$0")/lib.sh"
N=${EM_BENCH_PATCHES_N:-256}
raw=$(em_volume "$N" 512 512) || exit 1
D=$BENCH_DIR/patches
rm -rf "$D"
mkdir -p "$D/data/bench"
zarrtool write --dtype uint8 --shape "$N,512,512" --chunks 64,64,64 --codec zstd --level 1 \
	--voxel 8,8,8 --jobs 2 "$raw" "$D/data/bench/em.zarr" >/dev/null || exit 1
printf '{"schema_version":1,"id":"em","source":"idr","status":"saving-data","status_history":[{"status":"processing","time":"2026-12-05T00:00:00.000Z"},{"status":"saving-data","time":"2026-12-05T00:00:01.000Z"}],"internal_zarr_path":"%s"}\n' \
	"$D/data/bench/em.zarr" | em-meta >"$D/rec.jsonl" || exit 1

cat >"$D/sampler.py" <<'PY'
# The same work in Python: zarr-python reads each patch, numpy measures and scales it,
# numpy.save + hashlib + tarfile write the samples, and the shard's sha256 is taken as it
# is written (the manifest lists it).
import hashlib, io, json, sys, tarfile
import numpy as np, zarr
rec = json.loads(open(sys.argv[1]).readline())
out, stride, mode = sys.argv[2], int(sys.argv[3]), sys.argv[4]
st = rec["statistics"]
a = zarr.open(rec["internal_zarr_path"], mode="r")["0"]
P = 64

class Hashed:
    def __init__(self, f):
        self.f, self.h = f, hashlib.sha256()
    def write(self, b):
        self.h.update(b)
        return self.f.write(b)
    def tell(self):
        return self.f.tell()

raw = open(out, "wb")
hf = Hashed(raw)
tf = tarfile.open(fileobj=hf, mode="w", format=tarfile.USTAR_FORMAT)
n, first = 0, None
for z in range(0, a.shape[0] - P + 1, stride):
    for y in range(0, a.shape[1] - P + 1, stride):
        for x in range(0, a.shape[2] - P + 1, stride):
            v = a[z:z + P, y:y + P, x:x + P]
            if (v == 0).mean() > 0.5 or v.std() < 1:
                continue
            if mode == "zscore":
                f = ((v.astype(np.float64) - st["mean"]) / st["std"]).astype(np.float32)
            else:
                f = (v.astype(np.float64) - st["min"]) / (st["max"] - st["min"])
                f = np.rint(np.clip(f, 0, 1) * 255).astype(np.uint8)
            b = io.BytesIO()
            np.save(b, f)
            digest = hashlib.sha256(f.tobytes()).hexdigest()
            first = first or digest
            meta = json.dumps({"id": rec["id"], "offset_voxels": [z, y, x],
                               "sha256": digest}).encode()
            for name, data in (("%09d.json" % n, meta), ("%09d.npy" % n, b.getvalue())):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            n += 1
tf.close()
raw.close()
hf.h.hexdigest()
print(n, first)
PY

# case STRIDE zscore|minmax LABEL: one row, both sides on the same volume and rules, taking
# turns REPS times (EM_BENCH_PATCHES_REPS, default 2); each side's fastest run counts, so a
# burst of load from others on the shared machine falls on either side alike.
case_row() {
	stride=$1 mode=$2
	if [ "$mode" = zscore ]; then norm="--normalize zscore"; else norm="--normalize minmax --dtype uint8"; fi
	cd "$D" || exit 1
	pysecs=0 oursecs=0 rss=0 rep=0
	while [ "$rep" -lt "${EM_BENCH_PATCHES_REPS:-2}" ]; do
		rep=$((rep + 1))
		rm -rf "$D/out" "$D/py.tar"
		timed "patches_py_$stride$mode" "$PY" "$D/sampler.py" "$D/rec.jsonl" "$D/py.tar" \
			"$stride" "$mode" || exit 1
		pysecs=$(awk -v a="$pysecs" -v b="$SECS" 'BEGIN { print (a == 0 || b < a) ? b : a }')
		read -r npy pysha <"$BENCH_DIR/patches_py_$stride$mode.out"
		rm -f "$D/py.tar"
		# shellcheck disable=SC2086 # $norm is options and their values
		timed "patches_ours_$stride$mode" em-patches -q -o "$D/out" --patch 64,64,64 \
			--grid "$stride,$stride,$stride" --min-std 1 $norm -j 2 "$D/rec.jsonl" || exit 1
		oursecs=$(awk -v a="$oursecs" -v b="$SECS" 'BEGIN { print (a == 0 || b < a) ? b : a }')
		[ "$RSS_MB" -gt "$rss" ] && rss=$RSS_MB
	done
	nours=$($PY -c "import json, sys; print(json.load(open(sys.argv[1]))['counts']['train']['samples'])" \
		"$D/out/manifest.json")
	if [ "$nours" != "$npy" ]; then
		echo "bench: em-patches kept $nours patches, the Python sampler $npy" >&2
		exit 1
	fi
	oursha=$($PY -c "
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = next(m for m in t if m.name.endswith('.json'))
    print(json.load(t.extractfile(m))['sha256'])" "$D/out/train-000000.tar")
	if [ "$oursha" != "$pysha" ]; then
		echo "bench: the first sample's sha256 is $oursha in em-patches, $pysha in Python" >&2
		exit 1
	fi
	ref=$(awk -v n="$npy" -v s="$pysecs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
	ours=$(awk -v n="$nours" -v s="$oursecs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
	row "patches 64^3 $3 (/s)" "$ours" "zarr-python+numpy (/s)" "$ref" "$rss" 5 256
	rm -rf "$D/out" "$D/py.tar"
	cd "$TOP" || exit 1
}
case_row 64 zscore "f32 stride 64"
case_row 32 zscore "f32 stride 32"
case_row 32 minmax "u8 stride 32"
rm -rf "$D"
