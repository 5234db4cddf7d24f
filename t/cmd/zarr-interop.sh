#!/bin/sh
# zarr-interop.sh - stores the engine writes are read by zarr-python; stores others wrote are
# read by the engine (sha256 from testdata/EXPECTED.md); a killed writer resumes to the same bytes.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy' 2>/dev/null || skip "no python3-zarr/python3-numpy at $PY"
cd "$SCRATCH" || exit 1

# --- 1. every dtype, codec, separator and edge-chunk shape the engine writes, read by zarr-python
$PY - <<'PY' || fail "making source arrays"
import numpy as np
rng = np.random.default_rng(7)
for t in ['u1', 'i1', 'u2', 'i2', 'u4', 'i4', 'u8', 'i8', 'f4', 'f8']:
    dt = np.dtype('<' + t)
    if dt.kind == 'f':
        a = rng.normal(0, 1000, size=(19, 23, 17)).astype(dt)
        a[0, 0, :3] = [np.nan, np.inf, -np.inf]
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=(19, 23, 17), dtype=dt, endpoint=True)
    a.tofile(t + '.raw')
# EM-like 8-bit: smooth plus noise, so every codec really compresses something
z, y, x = np.mgrid[0:40, 0:33, 0:70]
em = (128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + rng.normal(0, 8, size=x.shape)).clip(0, 255)
em.astype('u1').tofile('em.raw')
np.arange(50 * 70, dtype='<u2').reshape(50, 70).tofile('plane.raw')
PY

LIST=stores.txt
: >"$LIST"
wr() { # name dtype shape raw [zarrtool write options...]
	n=$1 t=$2 s=$3 r=$4
	shift 4
	if zarrtool write --dtype "$t" --shape "$s" "$@" "$r" "$n" 2>"$n.err"; then
		echo "$n $r $t $s" >>"$LIST"
	else
		fail "zarrtool write $n: $(cat "$n.err")"
	fi
}
for t in u1 i1 u2 i2 u4 i4 u8 i8 f4 f8; do
	wr "dt_$t.zarr" "$t" 19,23,17 "$t.raw" --chunks 8,8,8 --jobs 2
	wr "dtdot_$t.zarr" "$t" 19,23,17 "$t.raw" --chunks 7,23,5 --sep . --codec zlib
done
for c in raw zlib gzip zstd blosc-lz4 blosc-zstd blosc-zlib blosc-blosclz lz4 \
	blosc-lz4-bitshuffle blosc-zstd-noshuffle; do
	wr "c_$c.zarr" u1 40,33,70 em.raw --chunks 16,16,32 --codec "$c" --jobs 2
	wr "c16_$c.zarr" u2 19,23,17 u2.raw --chunks 5,9,17 --codec "$c" --sep .
done
wr "level9.zarr" u1 40,33,70 em.raw --chunks 64,64,64 --codec zlib --level 9
wr "zstd19.zarr" u1 40,33,70 em.raw --chunks 40,1,70 --codec zstd --level 19
wr "boxes.zarr" u1 40,33,70 em.raw --chunks 16,16,32 --boxes 7,10,13 --jobs 2
wr "plane2d.zarr" u2 50,70 plane.raw --chunks 16,32 --planes 7
wr "bare.zarr" i2 19,23,17 i2.raw --chunks 8,8,8 --bare --sep .
wr "fillnan.zarr" f4 19,23,17 f4.raw --chunks 8,8,8 --fill nan --skip-fill

$PY - "$LIST" <<'PY' >py.out 2>&1 || { fail "zarr-python disagrees with stores we wrote"; sed 's/^/#   /' py.out; }
import sys, json, os, numpy as np, zarr
bad = 0
for line in open(sys.argv[1]):
    name, raw, t, shape = line.split()
    shape = tuple(int(v) for v in shape.split(','))
    want = np.fromfile(raw, dtype='<' + t).reshape(shape)
    g = zarr.open(name, mode='r')
    arr = g if isinstance(g, zarr.Array) else g[g.attrs['multiscales'][0]['datasets'][0]['path']]
    got = arr[...]
    if got.dtype != want.dtype or got.shape != want.shape or \
            not np.array_equal(got, want, equal_nan=(want.dtype.kind == 'f')):
        print('MISMATCH', name, got.dtype, got.shape); bad += 1
    if isinstance(g, zarr.hierarchy.Group):
        ms = g.attrs['multiscales'][0]
        assert ms['version'] == '0.4', name
        assert [a['name'] for a in ms['axes']] == ['z', 'y', 'x'][-len(shape):], name
print('checked', sum(1 for _ in open(sys.argv[1])), 'stores')
sys.exit(1 if bad else 0)
PY
[ "$NFAIL" -eq 0 ] && ok "zarr-python reads all $(wc -l <"$LIST") stores we wrote (10 dtypes, 11 codecs, both separators, edge chunks)"

# Our own reader gives back the source bytes, by chunk rows and by boxes.
before=$NFAIL
while read -r n r t s; do
	if ! zarrtool read --threads 2 "$n" "$n.back" 2>"$n.rerr" || ! cmp -s "$n.back" "$r"; then
		fail "reading back $n: $(cat "$n.rerr")"
	fi
done <"$LIST"
[ "$NFAIL" -eq "$before" ] && ok "the engine reads back every store it wrote"
zarrtool read --threads 0 c_zstd.zarr serial.back && cmp -s serial.back em.raw && ok "serial slab read" ||
	fail "serial slab read"
$PY -c "
import numpy as np
a = np.fromfile('em.raw', dtype='u1').reshape(40, 33, 70)
a[3:30, 5:33, 11:70].tofile('box.want')"
run zarrtool box c_blosc-lz4.zarr 3,5,11 27,28,59 box.got
expect_rc 0 "box read"
expect_same box.want box.got "an unaligned box equals numpy's slice"

# Voxel size: given -> nanometres; unknown -> no unit, scale 1, and the reader says unknown.
run zarrtool info dt_u1.zarr
expect_grep '^voxel_nm unknown' "$SCRATCH/out" "unknown voxel size stays unknown"
$PY -c "
import json; m = json.load(open('dt_u1.zarr/.zattrs'))['multiscales'][0]
assert all('unit' not in a for a in m['axes'])
assert m['datasets'][0]['coordinateTransformations'][0]['scale'] == [1.0, 1.0, 1.0]" &&
	ok "unknown voxel size: axes without unit, scale 1" || fail "unknown voxel size metadata"
wr vox.zarr u1 40,33,70 em.raw --voxel 30,4.5,4.5
run zarrtool info vox.zarr
expect_grep '^voxel_nm 30 4.5 4.5' "$SCRATCH/out" "voxel size read back in nm"

# --- 2. stores written by zarr-python with what the engine does not write itself
$PY - <<'PY' || fail "python writes"
import numpy as np, zarr, numcodecs
rng = np.random.default_rng(3)
a = rng.integers(0, 2**16, size=(13, 11, 9), dtype='<u2')
a.tofile('py_u2.raw')
for name, kw in [('py_F', dict(order='F', compressor=numcodecs.Zstd(level=3))),
                 ('py_BE', dict(dtype='>u2', compressor=numcodecs.Zlib(level=5))),
                 ('py_BE_F', dict(dtype='>u2', order='F', compressor=None)),
                 ('py_gzip', dict(compressor=numcodecs.GZip(level=6), dimension_separator='/')),
                 ('py_bitshuffle', dict(compressor=numcodecs.Blosc('lz4', 5, numcodecs.Blosc.BITSHUFFLE))),
                 ('py_lz4', dict(compressor=numcodecs.LZ4()))]:
    kw.setdefault('dtype', '<u2')
    z = zarr.open(name + '.zarr', mode='w', shape=a.shape, chunks=(4, 5, 9), **kw)
    z[...] = a
# missing chunks read as fill_value; NaN fill for floats
f = zarr.open('py_fill.zarr', mode='w', shape=(10, 10), chunks=(4, 4), dtype='<f8', fill_value=np.nan)
f[0:4, 0:4] = 1.5
f[...].astype('<f8').tofile('py_fill.raw')
i = zarr.open('py_fill_i.zarr', mode='w', shape=(10, 10), chunks=(4, 4), dtype='<i2', fill_value=-7)
i[5:6, 5:6] = 3
i[...].tofile('py_fill_i.raw')
PY
for s in py_F py_BE py_BE_F py_gzip py_bitshuffle py_lz4; do
	zarrtool read "$s.zarr" "$s.back" 2>"$s.err" && cmp -s "$s.back" py_u2.raw &&
		ok "reads zarr-python's $s" || fail "reading zarr-python's $s: $(cat "$s.err")"
done
for s in py_fill py_fill_i; do
	zarrtool read "$s.zarr" "$s.back" 2>"$s.err" && cmp -s "$s.back" "$s.raw" &&
		ok "missing chunks of $s read as fill value" || fail "$s: $(cat "$s.err")"
done

# --- 3. every Zarr v2 store in the shared test data: sha256 as EXPECTED.md says
need_testdata zarr2
grep -E '^\| `(zarr2|ngff/ome-zarr-py_v[0-9])/' "$TESTDATA/EXPECTED.md" |
	sed -E 's/^\| `([^`]*)` .*`([0-9a-f]{16,64})[^`0-9a-f]*`.*$/\1 \2/' >expected.txt
[ "$(wc -l <expected.txt)" -ge 12 ] || fail "parsed only $(wc -l <expected.txt) rows from EXPECTED.md"
while read -r rel sha; do
	p=$TESTDATA/$rel
	case "$rel" in
	*/0) p=${p%/0} ;;	# the OME-Zarr group, opened through its multiscales
	esac
	case "$rel" in
	*_bz2_*|*_zfpy_*|*_pcodec_*)
		# Codecs this engine does not decode: the error must name the codec.
		codec=$(echo "$rel" | sed -E 's/.*_(bz2|zfpy|pcodec)_.*/\1/')
		run zarrtool sha256 "$p"
		if [ "$RC" -ne 0 ] && grep -q "unsupported compressor '$codec'" "$SCRATCH/err"; then
			ok "$rel: clear error naming '$codec'"
		else
			fail "$rel: expected an error naming '$codec', got exit $RC: $(cat "$SCRATCH/err")"
		fi
		continue ;;
	esac
	got=$(zarrtool sha256 "$p" 2>"$SCRATCH/err")
	case "$got" in
	"$sha"*) ok "$rel sha256 $sha" ;;
	*) fail "$rel: sha256 '$got', EXPECTED.md says $sha...: $(cat "$SCRATCH/err")" ;;
	esac
done <expected.txt
# pcodec is listed among the stores zarr-python could not read; it must fail clearly too.
run zarrtool sha256 "$TESTDATA/zarr2/zarrs_v2_array_pcodec_C.zarr"
expect_rc 1 "pcodec store refused"
expect_grep "unsupported compressor 'pcodec'" "$SCRATCH/err" "pcodec error names the codec"

# --- 4. damaged and foreign stores: clear errors naming the file
cp -r c_zstd.zarr trunc.zarr
f=$(find trunc.zarr/0 -type f -name 1 | head -n 1)
head -c 100 "$f" >"$f.x" && mv "$f.x" "$f"
run zarrtool sha256 trunc.zarr
expect_rc 1 "a truncated chunk is an error"
expect_grep "chunk '.*trunc.zarr/0/[0-9/]*'" "$SCRATCH/err" "the error names the chunk file"
cp -r c_zlib.zarr corrupt.zarr
f=$(find corrupt.zarr/0 -type f -name 0 | head -n 1)
printf 'garbage' >"$f"
run zarrtool sha256 corrupt.zarr
expect_rc 1 "a corrupt chunk is an error"
expect_grep "corrupt zlib stream" "$SCRATCH/err" "the error says what is wrong"
run zarrtool sha256 "$SCRATCH/nothing-here"
expect_rc 1 "no store"
expect_grep "'$SCRATCH/nothing-here' does not exist$" "$SCRATCH/err" "missing store named, and said not to exist"
mkdir "$SCRATCH/empty-dir"
run zarrtool sha256 "$SCRATCH/empty-dir"
expect_rc 1 "a directory that is not a store"
expect_grep "'$SCRATCH/empty-dir' is not a Zarr array or group (no .zarray, .zgroup or zarr.json)$" \
	"$SCRATCH/err" "says what a store would have"
# Zarr v3 written by others is read (t/cmd/zarr3.sh has the rest).
if [ -d "$TESTDATA/zarr3/zarrs_v3_zarr_python_array_none.zarr" ]; then
	run zarrtool sha256 "$TESTDATA/zarr3/zarrs_v3_zarr_python_array_none.zarr"
	expect_rc 0 "a Zarr v3 array of zarr-python is read"
fi
run zarrtool write --shape 40,33,70 --chunks 8,8,8 em.raw c_zstd.zarr
expect_rc 1 "re-creating a store with other chunks is refused"
expect_grep "exists with a different chunks" "$SCRATCH/err" "the error says what differs"
# A chunk that cannot be written (a file where its directory should be) fails the run with
# the path, from whichever writer thread met it.
zarrtool write --shape 40,33,70 --chunks 8,16,16 --codec zlib --bare em.raw blocked.zarr 2>/dev/null
rm -rf blocked.zarr/1
echo x >blocked.zarr/1
run zarrtool write --shape 40,33,70 --chunks 8,16,16 --jobs 2 --codec zlib --bare em.raw blocked.zarr
expect_rc 1 "an unwritable chunk fails the run"
expect_grep "cannot create directory 'blocked.zarr/1/[0-2]': Not a directory" "$SCRATCH/err" "the error names the path"

# --- 5. kill -9 mid-volume, then resume: byte-identical to an uninterrupted run, no tmp files
zarrtool write --shape 40,33,70 --chunks 8,16,16 --jobs 2 --codec zlib em.raw whole.zarr ||
	fail "uninterrupted write"
zarrtool write --shape 40,33,70 --chunks 8,16,16 --jobs 2 --codec zlib --throttle-ms 40 \
	em.raw killed.zarr &
pid=$!
n=0 tries=0
while [ "$n" -lt 20 ] && [ "$tries" -lt 300 ]; do
	sleep 0.05
	tries=$((tries + 1))
	n=$(find killed.zarr/0 -type f ! -name '*.tmp.*' ! -name '.zarray' 2>/dev/null | wc -l)
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
total=$(find whole.zarr/0 -type f ! -name .zarray | wc -l)
n=$(find killed.zarr/0 -type f ! -name '*.tmp.*' ! -name '.zarray' | wc -l)
if [ "$n" -ge 20 ] && [ "$n" -lt "$total" ]; then ok "killed mid-volume ($n of $total chunks)"; else
	fail "kill was not mid-volume ($n of $total chunks)"; fi
echo "# tmp files after the kill: $(find killed.zarr -name '*.tmp.*' | wc -l)"
run zarrtool write --shape 40,33,70 --chunks 8,16,16 --jobs 2 --codec zlib --stats em.raw killed.zarr
expect_rc 0 "resumed run"
expect_grep "present=$n " "$SCRATCH/err" "the resumed run skipped the $n chunks already there"
if diff -r whole.zarr killed.zarr >diff.out; then ok "resumed store is byte-identical"; else
	fail "resumed store differs"; head diff.out; fi
left=$(find killed.zarr -name '*.tmp.*' | wc -l)
[ "$left" -eq 0 ] && ok "no temporary files left" || fail "$left temporary files left"
# A resumed box-fed run skips the boxes already stored and gives the same bytes too.
rm -f "$(find killed.zarr/0 -type f -name 2 | head -n 1)"
run zarrtool write --shape 40,33,70 --chunks 8,16,16 --codec zlib --boxes 8,16,16 --stats em.raw killed.zarr
expect_grep "written=1 " "$SCRATCH/err" "box resume rewrites only the missing chunk"
diff -r whole.zarr killed.zarr >/dev/null && ok "box resume is byte-identical" || fail "box resume differs"

# --- 6. several writers racing on one store (as --part runs will): metadata creation is
#        idempotent, chunks are renamed whole, the result is the same store.
pids=""
for i in 1 2 3; do
	zarrtool write --shape 40,33,70 --chunks 8,16,16 --jobs 2 --codec zlib em.raw race.zarr \
		2>"race$i.err" &
	pids="$pids $!"
done
rcs=0
for p in $pids; do wait "$p" || rcs=$((rcs + 1)); done
[ "$rcs" -eq 0 ] && ok "three racing writers all succeed" || fail "$rcs racing writers failed: $(cat race*.err)"
diff -r whole.zarr race.zarr >/dev/null && ok "the raced store is byte-identical" || fail "raced store differs"
[ "$(find race.zarr -name '*.tmp.*' | wc -l)" -eq 0 ] && ok "no temporary files after the race" ||
	fail "temporary files left by the race"

done_testing
