# fetch-zarr.sh - fetch-zarr over HTTP from the local origin: every Zarr v2, Zarr v3 and N5
# store of the shared test data gives the array EXPECTED.md gives, unsupported codecs are
# refused by name, stores python3-zarr writes (any dtype, codec, separator, order, missing
# chunks, chunk shape) and boxes of them come back exactly, faults change nothing, and a
# killed run resumes to the same store without fetching again what it already has.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/records.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy' 2>/dev/null || skip "python3-zarr and python3-numpy are needed (make deps)"
need_testdata zarr2
need_testdata zarr3
need_testdata n5
cd "$SCRATCH" || exit 1

# Retries quick enough for a test.
cat >overlay.yaml <<'EOF'
global:
  http:
    backoff_initial_ms: 5
    backoff_max_ms: 40
    retries: 6
EOF
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
export EM_CONFIG_OVERLAY
CONF="--config $TOP/config/config.yaml"

mkdir -p www
for d in zarr2 zarr3 n5; do ln -s "$TESTDATA/$d" "www/$d"; done
start_origin main --root "$SCRATCH/www"
BASE=$ORIGIN_URL


# 1. The shared test data.  Stores whose codec this build does not decode, and why:
unsupported='
zarr2/zarrs_v2_array_bz2_C.zarr|unsupported compressor '"'"'bz2'"'"'|bzip2 is not among the decoders (no libbz2 in the suite)
zarr2/zarrs_v2_array_pcodec_C.zarr|unsupported compressor '"'"'pcodec'"'"'|pcodec has no Debian library
zarr2/zarrs_v2_array_zfpy_C.zarr|unsupported compressor '"'"'zfpy'"'"'|zfp (lossy) has no decoder here
zarr3/zarrs_v3_array_bz2.zarr|unsupported codec '"'"'numcodecs.bz2'"'"'|bzip2, as above
zarr3/zarrs_v3_array_pcodec.zarr|unsupported codec '"'"'numcodecs.pcodec'"'"'|pcodec, as above
zarr3/zarrs_v3_array_zfpy.zarr|unsupported codec '"'"'numcodecs.zfpy'"'"'|zfp, as above
zarr3/zarrs_v3_zarr_python_array_bz2.zarr|unsupported codec '"'"'numcodecs.bz2'"'"'|bzip2, as above
zarr3/zarrs_v3_zarr_python_array_pcodec.zarr|unsupported codec '"'"'numcodecs.pcodec'"'"'|pcodec, as above
zarr3/zarrs_v3_zarr_python_array_zfpy.zarr|unsupported codec '"'"'numcodecs.zfpy'"'"'|zfp, as above
zarr3/zarrs_v3_zarr_python_array_fletcher32.zarr|unsupported codec '"'"'numcodecs.fletcher32'"'"'|numcodecs checksum codec, not a Zarr v3 core codec
'
# path and sha256 prefix of every zarr2/zarr3/n5 row of EXPECTED.md, both tables.
$PY - "$TESTDATA/EXPECTED.md" >expected.txt <<'PYEOF'
import re, sys
seen = {}
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.startswith("| `"):
        continue
    cols = [c.strip() for c in re.split(r"(?<!')\|(?!')", line.strip().strip("|"))]
    path = cols[0].strip("`")
    if not re.match(r"(zarr2|zarr3|n5)/", path):
        continue
    m = re.search(r"`([0-9a-f]{16,64})", line)
    if m:
        seen[path] = m.group(1)
for p, s in sorted(seen.items()):
    print(p, s)
PYEOF
nexp=$(wc -l <expected.txt)
[ "$nexp" -ge 30 ] && ok "EXPECTED.md lists $nexp Zarr/N5 arrays" || fail "EXPECTED.md lists only $nexp Zarr/N5 arrays"

# The unsupported stores are listed in EXPECTED.md's failures or rows; every one is refused.
echo "$unsupported" | while IFS='|' read -r store msg why; do
	[ -n "$store" ] || continue
	[ -d "www/$store" ] || { echo "not ok - $store is not in the test data"; continue; }
	fetch-zarr $CONF -q -o "st/$store" "$BASE$store" >"un.out" 2>"un.err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -qF "$msg" un.err && [ "$(field un.out status)" = failed ] &&
		field un.out error | grep -qF "$msg"; then
		echo "ok - $store refused: $msg ($why)"
	else
		echo "not ok - $store: exit $rc, stderr: $(head -c 300 un.err)"
	fi
done >unsupported.txt
cat unsupported.txt
NOK=$((NOK + $(grep -c '^ok' unsupported.txt)))
NFAIL=$((NFAIL + $(grep -c '^not ok' unsupported.txt)))

nmatch=0
nun=0
while read -r path sha; do
	store=${path%% *}
	if echo "$unsupported" | grep -q "^$store|"; then nun=$((nun + 1)); continue; fi
	# An array with no chunk written at all (all fill value) is refused, not stored as fill.
	if [ -f "www/$store/zarr.json" ] && [ -z "$(find -L "www/$store/" -mindepth 1 ! -name zarr.json | head -n 1)" ]; then
		nun=$((nun + 1))
		fetch-zarr $CONF -q -o "st/$store" "$BASE$store" >fz.out 2>fz.err </dev/null
		rc=$?
		[ "$rc" -eq 1 ] && grep -q "none of the box's [0-9]* chunks is there" fz.err &&
			[ "$(field fz.out status)" = failed ] &&
			ok "$store has no chunk at all: refused with a hint, not stored as fill" ||
			fail "$store (no chunks): exit $rc, $(head -c 300 fz.err)"
		continue
	fi
	fetch-zarr $CONF -q -o "st/$store" "$BASE$store" 2>fz.err | em-meta -q >rec.json 2>meta.err
	got=$(field rec.json sha256)
	case $got in
	"$sha"*)
		nmatch=$((nmatch + 1)) ;;
	*)
		# zarrs' NaN-filled arrays: EXPECTED.md's checker read missing chunks as 0, not
		# as the fill value NaN that the Zarr v3 spec says; all else must match.
		alt=$($PY -c '
import glob, hashlib, sys, zarr, numpy as np
a = zarr.open(glob.glob(sys.argv[1] + "/*.zarr")[0], mode="r")["0"][...]
print(int(np.isnan(a).sum()), hashlib.sha256(np.nan_to_num(a, nan=0.0).tobytes()).hexdigest())' "st/$store" 2>/dev/null)
		case $alt in
		[1-9]*" $sha"*)
			grep -q '"fill_value": *"NaN"' "www/$store/zarr.json" &&
				nmatch=$((nmatch + 1)) &&
				ok "$store equals EXPECTED.md but for ${alt%% *} fill-value NaNs of missing chunks" ||
				fail "$store: NaNs but no NaN fill value" ;;
		*) fail "$store: sha256 $got, expected $sha...; $(head -c 300 fz.err)" ;;
		esac ;;
	esac
done <expected.txt
[ "$nmatch" -eq $((nexp - nun)) ] && ok "all $nmatch decodable Zarr v2, v3 and N5 arrays of EXPECTED.md with chunks match" ||
	fail "$nmatch of $((nexp - nun)) arrays match EXPECTED.md"

# The sharded Zarr v3 array: one index read per shard, then each inner chunk by range.
: >"$ORIGIN_LOG"
store=zarr3/zarrs_sharded_array_write_read.zarr/group/array
run fetch-zarr $CONF -q -o st/shard2 "$BASE$store"
expect_rc 0 "sharded array fetched again"
n=$(log_count ' GET /zarr3/zarrs_sharded_array_write_read.zarr/group/array/c/[0-9/]+ bytes=')
[ "$n" -gt 0 ] && ok "inner chunks of shards read with range requests ($n)" || fail "no range requests on shards"

# 2. Stores python3-zarr writes, read back by python3-zarr from what fetch-zarr made.
mkdir -p www/py
$PY - www/py >py.list <<'PYEOF'
import os, sys, json, numpy as np, zarr, numcodecs
from numcodecs import Zlib, GZip, Zstd, Blosc, LZ4
root = sys.argv[1]
rng = np.random.default_rng(7)
codecs = [None, Zlib(level=3), GZip(level=1), Zstd(level=2), Blosc("lz4", 5, Blosc.SHUFFLE),
          Blosc("zstd", 3, Blosc.BITSHUFFLE), LZ4(), Blosc("zlib", 1, Blosc.NOSHUFFLE)]
dtypes = ["|u1", "<i2", ">u2", "<f4", "<i4", ">f8", "<u8", "|i1", ">i2"]
for i in range(12):
    nd = 3 if i % 4 else 2
    shape = tuple(int(rng.integers(1, 40)) for _ in range(nd))
    chunks = tuple(int(rng.integers(1, 12)) for _ in range(nd))
    dt = np.dtype(dtypes[i % len(dtypes)])
    comp = codecs[i % len(codecs)]
    sep = "/" if i % 2 else "."
    order = "F" if i % 3 == 0 else "C"
    fill = 0 if i % 5 == 0 else 7
    path = os.path.join(root, "a%02d.zarr" % i)
    store = zarr.DirectoryStore(path, dimension_separator=sep)
    a = zarr.open_array(store, mode="w", shape=shape, chunks=chunks, dtype=dt,
                        compressor=comp, order=order, fill_value=fill)
    if dt.kind == "f":
        v = rng.normal(0, 1000, size=shape).astype(dt)
    else:
        info = np.iinfo(dt)
        v = rng.integers(max(info.min, -30000), min(info.max, 60000), size=shape, endpoint=True).astype(dt)
    a[...] = v
    # Drop some chunks: they read as the fill value.
    keys = sorted(k for k in os.listdir(path) if not k.startswith("."))
    if sep == ".":
        files = keys
    else:
        files = []
        for dp, dn, fn in os.walk(path):
            files += [os.path.relpath(os.path.join(dp, f), path) for f in fn if not f.startswith(".")]
    for k in sorted(files)[::3]:
        os.remove(os.path.join(path, k))
    print("py/a%02d.zarr" % i, dt.str, comp.codec_id if comp else "raw", sep, order)
# An OME-Zarr 0.4 group: micrometres, a level chosen by path, translation.
g = zarr.open_group(os.path.join(root, "ome.zarr"), mode="w")
v = rng.integers(0, 255, size=(20, 30, 40)).astype("u1")
g.create_dataset("s0", data=v, chunks=(8, 8, 8), compressor=Zstd(level=1), dimension_separator="/")
g.create_dataset("s1", data=v[::2, ::2, ::2], chunks=(8, 8, 8), compressor=Zstd(level=1), dimension_separator="/")
g.attrs["multiscales"] = [{"version": "0.4", "name": "em",
    "axes": [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"],
    "datasets": [{"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [0.00296, 0.004, 0.004]},
                                                           {"type": "translation", "translation": [1.0, 2.0, 3.0]}]},
                 {"path": "s1", "coordinateTransformations": [{"type": "scale", "scale": [0.00592, 0.008, 0.008]}]}]}]
# N5 datasets (zarr's N5 store): gzip, zlib, zstd, raw, blosc; COSEM pixelResolution.
import warnings
warnings.simplefilter("ignore")
for name, comp in [("gz", GZip(level=2)), ("zl", Zlib(level=2)), ("zs", Zstd(level=1)),
                   ("raw", None), ("bl", Blosc("lz4", 5, Blosc.SHUFFLE)), ("l4", LZ4())]:
    st = zarr.N5FSStore(os.path.join(root, "c.n5"))
    shape = (13, 17, 19)
    v = rng.integers(0, 65535, size=shape).astype("u2")
    a = zarr.open_array(st, path=name, mode="w", shape=shape, chunks=(5, 6, 7), dtype="u2", compressor=comp)
    a[...] = v
    a.attrs["pixelResolution"] = {"dimensions": [4.0, 4.0, 2.96], "unit": "nm"}
PYEOF
# same SRC STORE_DIR [SRC STORE_DIR ...]: one line per pair, "ok" when the store fetch-zarr
# made under STORE_DIR holds SRC's array exactly (little-endian, same values, our chunks).
cat >same.py <<'PYEOF'
import glob, sys, zarr, numpy as np
args = sys.argv[1:]
for src, out in zip(args[0::2], args[1::2]):
    try:
        s = zarr.open(zarr.N5FSStore(src.rsplit("/", 1)[0]), mode="r")[src.rsplit("/", 1)[1]] \
            if ".n5/" in src else zarr.open(src, mode="r")
        a = zarr.open(glob.glob(out + "/*.zarr")[0], mode="r")["0"]
        got = a[...]
        want = s[...].reshape(got.shape)
        assert got.dtype == want.dtype.newbyteorder("<"), (got.dtype, want.dtype)
        assert np.array_equal(got, want), "values differ"
        print("ok", src)
    except Exception as e:
        print("bad", src, repr(e)[:200])
PYEOF
pairs=""
while read -r p dt codec sep order; do
	run fetch-zarr $CONF -q --chunks 8,8,8 --compressor blosc-lz4 -o "st/$p" "$BASE$p"
	if [ "$RC" -ne 0 ]; then fail "$p ($dt $codec sep $sep order $order): exit $RC: $(head -c 300 "$SCRATCH/err")"; continue; fi
	pairs="$pairs www/$p st/$p"
done <py.list
$PY same.py $pairs >same.out 2>&1
npy=$(grep -c '^ok' same.out)
[ "$npy" -eq 12 ] && ok "12 python3-zarr stores (dtypes, codecs, separators, C/F order, missing chunks, chunks unlike ours) come back exactly" ||
	{ fail "only $npy of 12 python3-zarr stores came back exactly"; grep -v '^ok' same.out | sed 's/^/#   /'; }

# Sharded Zarr v3 stores made here byte by byte (no Zarr v3 writer in Debian): index at the
# start with crc32c, inner chunks transposed, big-endian and gzipped, empty inner chunks, a
# missing shard; and index at the end, v2 chunk keys, crc32c on every inner chunk.
$PY - www/py <<'PYEOF'
import gzip, json, os, sys, numpy as np
root = sys.argv[1]
T = []
for k in range(256):
    c = k
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return (c ^ 0xFFFFFFFF).to_bytes(4, "little")
rng = np.random.default_rng(5)
shape, shard, inner, fill = (9, 10, 13), (4, 8, 8), (2, 4, 4), 5
def make(name, start, v2keys):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    data = rng.integers(0, 60000, size=shape).astype(np.uint16)
    want = np.full(shape, fill, dtype=np.uint16)
    if start:
        icodecs = [{"name": "transpose", "configuration": {"order": [2, 0, 1]}},
                   {"name": "bytes", "configuration": {"endian": "big"}},
                   {"name": "gzip", "configuration": {"level": 1}}]
        ixc = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]
    else:
        icodecs = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]
        ixc = [{"name": "bytes", "configuration": {"endian": "little"}}]
    meta = {"zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": "uint16",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(shard)}},
            "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "."}} if v2keys else
                                  {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill,
            "codecs": [{"name": "sharding_indexed", "configuration": {
                "chunk_shape": list(inner), "codecs": icodecs, "index_codecs": ixc,
                "index_location": "start" if start else "end"}}],
            "attributes": {}}
    json.dump(meta, open(os.path.join(d, "zarr.json"), "w"))
    g = [-(-shape[i] // shard[i]) for i in range(3)]
    per = [shard[i] // inner[i] for i in range(3)]
    n = per[0] * per[1] * per[2]
    for s in np.ndindex(*g):
        if start and s == (1, 1, 0):
            continue                            # a missing shard: all fill
        body, index = b"", []
        for c in np.ndindex(*per):
            o = [s[i] * shard[i] + c[i] * inner[i] for i in range(3)]
            if any(o[i] >= shape[i] for i in range(3)) or rng.random() < 0.15:
                index.append((2**64 - 1, 2**64 - 1))
                continue
            sl = tuple(slice(o[i], min(o[i] + inner[i], shape[i])) for i in range(3))
            ch = np.full(inner, fill, dtype=np.uint16)
            ch[tuple(slice(0, sl[i].stop - sl[i].start) for i in range(3))] = data[sl]
            want[sl] = data[sl]
            if start:
                b = gzip.compress(np.ascontiguousarray(np.transpose(ch, (2, 0, 1))).astype(">u2").tobytes(), 1, mtime=0)
            else:
                b = ch.astype("<u2").tobytes()
                b += crc32c(b)
            index.append((len(body), len(b)))
            body += b
        ixlen = 16 * n + (4 if start else 0)
        base = ixlen if start else 0
        ix = b"".join(((o + base if o != 2**64 - 1 else o).to_bytes(8, "little") + l.to_bytes(8, "little"))
                      for o, l in index)
        if start:
            ix += crc32c(ix)
        key = ".".join(map(str, s)) if v2keys else "c/" + "/".join(map(str, s))
        p = os.path.join(d, key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "wb").write(ix + body if start else body + ix)
    np.save(os.path.join(root, name + ".npy"), want)
make("shard_start.zarr", True, False)
make("shard_end.zarr", False, True)
PYEOF
for p in shard_start shard_end; do
	run fetch-zarr $CONF -q --chunks 5,5,5 -o "st/$p" "${BASE}py/$p.zarr"
	if [ "$RC" -eq 0 ] && $PY -c '
import glob, sys, zarr, numpy as np
want = np.load(sys.argv[1])
got = zarr.open(glob.glob(sys.argv[2] + "/*.zarr")[0], mode="r")["0"][...]
assert got.dtype == np.dtype("<u2") and np.array_equal(got, want), "values differ"
' "www/py/$p.zarr.npy" "st/$p" 2>py.err; then ok "sharded v3 store $p comes back exactly"; else
		fail "sharded v3 store $p: exit $RC $(head -c 300 "$SCRATCH/err") $(tail -n 1 py.err)"
	fi
done
# A shard whose index checksum is wrong is refused, naming the shard.
$PY -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[3]^=1; open(p,"wb").write(b)' "www/py/shard_start.zarr/c/0/0/0"
run fetch-zarr $CONF -q -o st/badshard "${BASE}py/shard_start.zarr"
expect_rc 1 "a shard index with a bad crc32c fails"
expect_grep "shard_start.zarr/c/0/0/0.*index checksum mismatch" "$SCRATCH/err" "the message names the shard"

# Boxes of one of them, cut as numpy cuts them.
$PY -c '
import sys, numpy as np, zarr, numcodecs
a = zarr.open_array(sys.argv[1], mode="w", shape=(21, 30, 37), chunks=(6, 7, 8), dtype="<i2",
                    compressor=numcodecs.Zlib(level=1), fill_value=-1)
a[...] = np.random.default_rng(9).integers(-500, 500, size=a.shape)
' www/py/box.zarr
: >boxes.py
for box in 0:1,0:1,0:1 2:19,3:29,1:36 15:21,0:30,30:37 0:21,0:30,0:37; do
	run fetch-zarr $CONF -q --chunks 4,4,4 -o "st/box$box" --box "$box" "${BASE}py/box.zarr"
	expect_rc 0 "box $box of a 21,30,37 array"
	echo "check('$box', 'st/box$box')" >>boxes.py
done
$PY -c '
import glob, sys, zarr, numpy as np
src = zarr.open(sys.argv[1], mode="r")
def check(box, out):
    b = [tuple(map(int, r.split(":"))) for r in box.split(",")]
    want = src[b[0][0]:b[0][1], b[1][0]:b[1][1], b[2][0]:b[2][1]]
    got = zarr.open(glob.glob(out + "/*.zarr")[0], mode="r")["0"][...]
    print("ok" if np.array_equal(got, want) else "bad", box)
exec(open(sys.argv[2]).read())
' www/py/box.zarr boxes.py >boxes.out 2>&1
n=$(grep -c '^ok' boxes.out)
[ "$n" -eq 4 ] && ok "4 boxes (one voxel, inside, touching the far edges, all) equal numpy's slices" ||
	{ fail "only $n of 4 boxes equal numpy's slices"; sed 's/^/#   /' boxes.out; }
run fetch-zarr $CONF -q -o st/box --box 0:2,0:2,0:38 "${BASE}py/box.zarr"
expect_rc 1 "a box past the array's end fails"
expect_grep 'outside the array.*of shape 21,30,37' "$SCRATCH/err" "the message says the box is outside the array and gives its shape"
run fetch-zarr $CONF -q -o st/box --box 3:1,0:2,0:2 "${BASE}py/box.zarr"
expect_rc 2 "a malformed box is a usage error"
expect_grep "bad --box: '3:1,0:2,0:2': range 1 (3:1) does not start below its end" "$SCRATCH/err" \
	"the message names the range that is backwards"
# Numbers past 64 bits or junk after one are refused, never wrapped or cut short (strtoull did).
run fetch-zarr $CONF -q -o st/box --box 0:18446744073709551617,0:2,0:2 "${BASE}py/box.zarr"
expect_rc 2 "a box end past 64 bits is a usage error"
expect_grep "bad --box: .*'18446744073709551617' is too large" "$SCRATCH/err" "the message names the number"
run fetch-zarr $CONF -q -o st/box --box 0:4611686018427387904,0:2,0:2 "${BASE}py/box.zarr"
expect_rc 2 "a box end too large to add to is a usage error"
expect_grep "4611686018427387904 is out of range" "$SCRATCH/err" "the message says it is out of range"
for b in 0:2x,0:2,0:2 0:2,0:2 0:2,0:2,0:2,0:2 ' 0:2,0:2,0:2' 0:2,-1:2,0:2 0:2,0:2,0:; do
	run fetch-zarr $CONF -q -o st/box --box "$b" "${BASE}py/box.zarr"
	expect_rc 2 "--box '$b' is a usage error"
	expect_grep "bad --box: .*is not 3 ranges START:END" "$SCRATCH/err" "the message says what a box is"
done
[ ! -e st/box ] && ok "no refused box made a store or record" || fail "a refused box left $(ls st/box)"
run fetch-zarr $CONF -q -o st/mem --max-memory 64K "${BASE}py/box.zarr"
expect_rc 1 "a --max-memory too small for one job is refused"
expect_grep 'needs at least [0-9.]* [KM]iB of memory' "$SCRATCH/err" "the message gives the memory needed"

# OME-Zarr group: the level by path, voxel size and offset from multiscales, in nm.
run fetch-zarr $CONF -q -o st/ome --level s1 "${BASE}py/ome.zarr"
expect_rc 0 "OME-Zarr group, level s1"
r=$(field "$SCRATCH/out" voxel_size_nm)
[ "$r" = "[5.92, 8.0, 8.0]" ] && ok "voxel size of s1 from multiscales in nm: $r" || fail "voxel size of s1: $r"
run fetch-zarr $CONF -q -o st/ome "${BASE}py/ome.zarr"
expect_rc 0 "OME-Zarr group, first level by default"
$PY -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["voxel_size_nm"] == [2.96, 4.0, 4.0], r["voxel_size_nm"]
assert r["voxel_size_source"] == ["archive-api"] * 3
sm = r["source_metadata"]
assert sm["level"] == "s0" and sm["format"] == "zarr2", sm
assert [round(v, 6) for v in sm["offset_nm"]] == [1000.0, 2000.0, 3000.0], sm["offset_nm"]
assert r["volume_shape"] == [20, 30, 40]
' "$SCRATCH/out" 2>py.err && ok "s0: voxel size 2.96,4,4 nm, translation in nm, level and format recorded" || fail "s0 record: $(tail -n 1 py.err)"
valid "$SCRATCH/out" "the stub validates against the record schema"
em-meta -q <"$SCRATCH/out" >rec.json 2>meta.err
valid rec.json "so does the record em-meta completes"
run fetch-zarr $CONF -q -o st/ome --level s9 "${BASE}py/ome.zarr"
expect_rc 1 "a level that is not there fails"
expect_grep "s9" "$SCRATCH/err" "the message names the missing level"
run fetch-zarr $CONF -q -o st/ome --level ../x "${BASE}py/ome.zarr"
expect_rc 1 "a level with '..' is refused"

# N5 written by zarr's N5 store: big-endian blocks, truncated edge blocks, compressions.
pairs=""
for ds in gz zl zs raw bl; do
	run fetch-zarr $CONF -q -o st/n5$ds --level $ds "${BASE}py/c.n5"
	expect_rc 0 "N5 dataset '$ds' fetched"
	pairs="$pairs www/py/c.n5/$ds st/n5$ds"
done
$PY same.py $pairs >same.out 2>&1
n=$(grep -c '^ok' same.out)
[ "$n" -eq 5 ] && ok "N5 datasets (gzip, zlib, zstd, raw, blosc; truncated edge blocks) come back exactly" ||
	{ fail "only $n of 5 N5 datasets came back exactly"; grep -v '^ok' same.out | sed 's/^/#   /'; }
r=$(field "$SCRATCH/out" voxel_size_nm)
[ "$r" = "[2.96, 4.0, 4.0]" ] && ok "N5 pixelResolution (x,y,z) gives z,y,x voxel size $r" || fail "N5 voxel size: $r"
# N5 "lz4" is lz4-java's block stream (decoded; unit-tested in t/unit/test_remote.c);
# zarr-python's N5 store writes numcodecs' LZ4 framing under that name instead, which no
# Java N5 reader reads either: refused by chunk, with the reason.
run fetch-zarr $CONF -q -o st/n5 --level l4 "${BASE}py/c.n5"
expect_rc 1 "zarr-python's N5 'lz4' blocks (numcodecs framing) are refused"
expect_grep "c.n5/l4/[0-9/]*'.*not an LZ4Block stream" "$SCRATCH/err" "the message names the block and the framing"

# The configured OpenOrganelle array, from a mirror: an OME-Zarr 0.4 group of int16 levels
# whose .zattrs gives scale and translation; the URL, level and box come from the
# configuration, the description and licence too.
$PY - www/jrc_mus-nacc-2/jrc_mus-nacc-2.zarr <<'PYEOF'
import sys, numpy as np, zarr, numcodecs
g = zarr.open_group(sys.argv[1], mode="w")
em = g.create_group("recon-2").create_group("em").create_group("fibsem-int16")
v = np.random.default_rng(2).integers(-32768, 32767, size=(12, 20, 22), endpoint=True).astype("<i2")
em.create_dataset("s0", data=v, chunks=(8, 8, 8), compressor=numcodecs.Blosc("zstd", 3, 1), dimension_separator="/")
em.create_dataset("s1", data=v[::2, ::2, ::2], chunks=(8, 8, 8), compressor=numcodecs.GZip(1), dimension_separator="/")
em.attrs["multiscales"] = [{"version": "0.4", "name": "fibsem-int16",
    "axes": [{"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"],
    "datasets": [{"path": "s%d" % i, "coordinateTransformations": [
        {"type": "scale", "scale": [2.96 * 2**i, 4.0 * 2**i, 4.0 * 2**i]},
        {"type": "translation", "translation": [0.0, 0.0, 0.0]}]} for i in range(2)]}]
PYEOF
cat >oo.yaml <<YAML
global:
  http:
    backoff_initial_ms: 5
    backoff_max_ms: 40
sources:
  openorganelle:
    zarr_url: ${BASE}jrc_mus-nacc-2/jrc_mus-nacc-2.zarr
    box: "2:10,0:20,5:22"
YAML
EM_CONFIG_OVERLAY=$SCRATCH/oo.yaml run fetch-zarr $CONF -q -o st/oo
expect_rc 0 "fetch-zarr with no URL fetches the configured OpenOrganelle array"
$PY -c '
import glob, json, sys, zarr, numpy as np
r = json.loads(open(sys.argv[1]).readline())
assert r["id"] == "jrc_mus-nacc-2_fibsem-int16_s0_z2-10_y0-20_x5-22", r["id"]
assert r["source"] == "openorganelle" and r["data_type"] == "int16", r
assert r["volume_shape"] == [8, 20, 17], r["volume_shape"]
assert r["voxel_size_nm"] == [2.96, 4.0, 4.0], r["voxel_size_nm"]
assert r["license"] == "CC-BY-4.0" and r["modality"] == "FIB-SEM", r
assert r["download_url"].endswith("/jrc_mus-nacc-2.zarr/recon-2/em/fibsem-int16/s0"), r["download_url"]
sm = r["source_metadata"]
assert sm["box"] == [[2, 10], [0, 20], [5, 22]] and sm["box_given"] is True, sm["box"]
assert [round(x, 6) for x in sm["offset_nm"]] == [5.92, 0.0, 20.0], sm["offset_nm"]
want = zarr.open(sys.argv[2], mode="r")["recon-2/em/fibsem-int16/s0"][2:10, 0:20, 5:22]
got = zarr.open(r["internal_zarr_path"], mode="r")["0"][...]
assert got.dtype == np.dtype("<i2") and np.array_equal(got, want), "values differ"
' "$SCRATCH/out" www/jrc_mus-nacc-2/jrc_mus-nacc-2.zarr 2>py.err &&
	ok "its record: id, int16, the box and its offset in nm, voxel size, licence; the values" ||
	fail "configured OpenOrganelle array: $(tail -n 1 py.err)"

# file:// URLs: the same reader for local stores.
run fetch-zarr $CONF -q -o st/file --level s1 "file://$SCRATCH/www/jrc_mus-nacc-2/jrc_mus-nacc-2.zarr/recon-2/em/fibsem-int16"
expect_rc 0 "a file:// multiscale group"
[ "$(field "$SCRATCH/out" voxel_size_nm)" = "[5.92, 8.0, 8.0]" ] && ok "its level s1 has the voxel size of s1" ||
	fail "file:// s1 voxel size $(field "$SCRATCH/out" voxel_size_nm)"
run fetch-zarr $CONF -q -o st/file2 "file://$SCRATCH/www/py/shard_end.zarr"
expect_rc 0 "a file:// sharded Zarr v3 array (index at the end, read by range)"

# OME-Zarr 0.5: a Zarr v3 group whose zarr.json has attributes.ome.multiscales; and COSEM's
# N5 "transform" (axes named, units per axis).
$PY - www/py <<'PYEOF'
import json, os, sys, numpy as np, numcodecs
root = sys.argv[1]
g = os.path.join(root, "ome05.zarr")
os.makedirs(os.path.join(g, "0", "c", "0"), exist_ok=True)
json.dump({"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.5",
    "multiscales": [{"axes": [{"name": "y", "type": "space", "unit": "micrometer"},
                              {"name": "x", "type": "space", "unit": "micrometer"}],
                     "datasets": [{"path": "0", "coordinateTransformations": [
                         {"type": "scale", "scale": [0.5, 0.25]}]}]}]}}},
          open(os.path.join(g, "zarr.json"), "w"))
json.dump({"zarr_format": 3, "node_type": "array", "shape": [3, 5], "data_type": "float32",
           "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 8]}},
           "chunk_key_encoding": {"name": "default"}, "fill_value": "NaN",
           "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                      {"name": "zstd", "configuration": {"level": 1, "checksum": False}}],
           "attributes": {}}, open(os.path.join(g, "0", "zarr.json"), "w"))
c = np.arange(32, dtype="<f4").reshape(4, 8)
open(os.path.join(g, "0", "c", "0", "0"), "wb").write(numcodecs.Zstd(1).encode(c.tobytes()))
np.save(os.path.join(root, "ome05.npy"), c[:3, :5])
PYEOF
run fetch-zarr $CONF -q -o st/ome05 "${BASE}py/ome05.zarr"
expect_rc 0 "an OME-Zarr 0.5 group (Zarr v3)"
$PY -c '
import json, sys, zarr, numpy as np
r = json.loads(open(sys.argv[1]).readline())
assert r["source_metadata"]["format"] == "zarr3" and r["source_metadata"]["level"] == "0"
assert r["volume_shape"] == [1, 3, 5], r["volume_shape"]
assert "voxel_size_nm" not in r, "a 2-D image has no z spacing to give"
got = zarr.open(r["internal_zarr_path"], mode="r")["0"][...]
assert np.array_equal(got[0], np.load(sys.argv[2]))
' "$SCRATCH/out" www/py/ome05.npy 2>py.err && ok "its level, shape and values; no voxel size made up for z" ||
	fail "OME-Zarr 0.5: $(tail -n 1 py.err)"
$PY -c '
import json, sys
p = sys.argv[1] + "/attributes.json"
a = json.load(open(p))
a.pop("pixelResolution", None)
a["transform"] = {"axes": ["z", "y", "x"], "scale": [2.96, 0.004, 4.0], "translate": [10, 0.1, 20],
                  "units": ["nm", "um", "nm"]}
json.dump(a, open(p, "w"))
' www/py/c.n5/gz
run fetch-zarr $CONF -q -o st/n5t --level gz "${BASE}py/c.n5"
expect_rc 0 "an N5 dataset with a COSEM transform"
$PY -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["voxel_size_nm"] == [2.96, 4.0, 4.0], r["voxel_size_nm"]
assert [round(x, 6) for x in r["source_metadata"]["offset_nm"]] == [10.0, 100.0, 20.0], r["source_metadata"]
' "$SCRATCH/out" 2>py.err && ok "its voxel size and offset come from transform, units per axis" ||
	fail "COSEM transform: $(tail -n 1 py.err)"

# Not an array at all; a server that is not there.
run fetch-zarr $CONF -q -o st/none "${BASE}nothing-here"
expect_rc 1 "a URL with no array fails"
expect_grep 'not a Zarr v2, Zarr v3 or N5 array' "$SCRATCH/err" "the message says what was looked for"
[ "$(field "$SCRATCH/out" status)" = failed ] && ok "its record is failed" || fail "record status $(field "$SCRATCH/out" status)"
valid "$SCRATCH/out" "the failed record validates against the schema"

# 3. Faults: dropped connections, 503 with Retry-After, bodies of the wrong length.
p=py/a07.zarr
run fetch-zarr $CONF -q --chunks 8,8,8 -o st/clean "$BASE$p"
expect_rc 0 "clean fetch of $p"
start_origin faulty --root "$SCRATCH/www" \
	--fault 'path=/py/a07.zarr/*,share=0.3,drop=20' \
	--fault 'path=/py/a07.zarr/*,first=1,share=0.3,status=503,retry-after=0' \
	--fault 'path=/py/a07.zarr/[0-9]*,first=1,share=0.3,short=3'
run fetch-zarr $CONF -q --chunks 8,8,8 -o st/faulty "$ORIGIN_URL$p"
expect_rc 0 "fetch through dropped connections, 503s and short bodies"
nf=$(log_count ' fault')
[ "$nf" -gt 3 ] && ok "$nf requests met a fault" || fail "only $nf faults injected"
if same_store st/clean st/faulty; then ok "the store is the same as the clean one"; else
	fail "faults changed the store"; diff -r st/clean st/faulty -x '*.json' | head -n 5
fi

# 4. Kill and re-run: the same store, and chunks already written are not fetched again.
$PY - www/py/big.zarr <<'PYEOF'
import sys, numpy as np, zarr, numcodecs
a = zarr.open_array(sys.argv[1], mode="w", shape=(32, 48, 48), chunks=(8, 8, 8), dtype="<i2",
                    compressor=numcodecs.Zstd(level=1), dimension_separator="/")
a[...] = np.random.default_rng(3).integers(-3000, 3000, size=a.shape).astype("<i2")
PYEOF
nchunks=$((4 * 6 * 6))
run fetch-zarr $CONF -q --chunks 8,8,8 -o st/ref "${BASE}py/big.zarr"
expect_rc 0 "reference fetch of a 144-chunk array"
start_origin slow --root "$SCRATCH/www" --fault 'path=/py/big.zarr/[0-9]*,delay=50'
fetch-zarr $CONF -q --chunks 8,8,8 --jobs 2 -o st/killed "${ORIGIN_URL}py/big.zarr" >kill.out 2>kill.err &
fp=$!
i=0
while [ "$(find st/killed -path '*/0/*' -type f ! -name '*.tmp.*' ! -name '.*' 2>/dev/null | wc -l)" -lt 20 ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -TERM $fp
wait $fp
RC=$?
expect_rc 143 "SIGTERM ends the fetch with 143"
[ "$(field kill.out status)" = cancelled ] && ok "the record says cancelled" || fail "record status after SIGTERM: $(field kill.out status)"
have=$(find st/killed -path '*/0/*' -type f ! -name '*.tmp.*' ! -name '.*' | wc -l)
[ "$have" -gt 0 ] && [ "$have" -lt $nchunks ] && ok "$have of $nchunks chunks were written before the kill" ||
	fail "$have chunks written before the kill"
restart_origin resume --root "$SCRATCH/www"
run fetch-zarr $CONF -q --chunks 8,8,8 --jobs 2 -o st/killed "${ORIGIN_URL}py/big.zarr"
expect_rc 0 "the re-run finishes"
n=$(log_count ' GET /py/big.zarr/[0-9]+/[0-9]+/[0-9]+ - 200 ')
[ "$n" -eq $((nchunks - have)) ] && ok "the re-run fetched only the $n missing chunks" ||
	fail "the re-run fetched $n chunks, $((nchunks - have)) were missing"
if same_store st/ref st/killed; then ok "the resumed store equals an uninterrupted one"; else
	fail "the resumed store differs"; diff -r st/ref st/killed -x '*.json' | head -n 5
fi
[ "$(field "$SCRATCH/out" status)" = saving-data ] && ok "the re-run's stub is saving-data, for em-meta" || fail "stub status $(field "$SCRATCH/out" status)"
: >"$ORIGIN_LOG"
run fetch-zarr $CONF -q --chunks 8,8,8 -o st/killed "${ORIGIN_URL}py/big.zarr"
expect_rc 0 "a run over a complete store"
n=$(log_count ' GET /py/big.zarr/[0-9]+/[0-9]+/[0-9]+ ')
[ "$n" -eq 0 ] && ok "a complete store fetches no chunk" || fail "a complete store fetched $n chunks"

# SIGINT: 130 and cancelled.
start_origin slow2 --root "$SCRATCH/www" --fault 'path=/py/big.zarr/[0-9]*,delay=200'
fetch-zarr $CONF -q --chunks 8,8,8 -o st/int "${ORIGIN_URL}py/big.zarr" >int.out 2>int.err &
fp=$!
# Once its record is written, it is fetching (and handles signals).
i=0
while ! ls st/int/*.json >/dev/null 2>&1 && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.2
kill -INT $fp
wait $fp
RC=$?
expect_rc 130 "SIGINT ends the fetch with 130"
[ "$(field int.out status)" = cancelled ] && ok "and the record says cancelled" || fail "record after SIGINT: $(field int.out status)"

done_testing
