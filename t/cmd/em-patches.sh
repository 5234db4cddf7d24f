#!/bin/sh
# em-patches.sh - training patches as a reader sees them: every sample read with python3
# tarfile + numpy.load equals the store's region (zarr-python) normalized in numpy from the
# record's statistics; splits disjoint in voxels; levels by index and by voxel size; the same
# seed gives the same bytes; a kill -9 and a re-run give the same shards, skipping finished
# ones; a PyTorch DataLoader (num_workers=2) reads the shards; bad input is refused clearly.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy' 2>/dev/null || skip "python3-zarr and python3-numpy are needed (make deps)"
command -v zarrtool >/dev/null || skip "t/prog/zarrtool is not built"
CHECK=$TOP/t/patches_check.py
cd "$SCRATCH" || exit 1
mkdir -p data/idr data/epfl

# stub SOURCE ID STORE: a fetcher's stub; em-meta turns it into the complete record.
stub() {
	printf '{"schema_version":1,"id":"%s","source":"%s","status":"saving-data","status_history":[{"status":"processing","time":"2026-11-24T03:00:00.000Z"},{"status":"saving-data","time":"2026-11-24T03:00:01.000Z"}],"internal_zarr_path":"%s"}\n' \
		"$2" "$1" "$3"
}
# check OUT DESC: patches_check.py holds for OUT; its summary in $SCRATCH/check.
check() {
	if $PY "$CHECK" "$1" >"$SCRATCH/check" 2>&1; then
		ok "$2 ($(cat "$SCRATCH/check"))"
	else
		fail "$2"; sed 's/^/#   /' "$SCRATCH/check" | head -n 20
	fi
}

# Volumes: an EM-like uint8 one with an empty (fill) corner, a uint16 one, a 2-D float32
# plane, and a two-level pyramid written by zarr-python by hand (levels 8 nm and 16 nm).
$PY - <<'PY' || fail "making the volumes"
import numpy as np, zarr, json
rng = np.random.default_rng(5)
z, y, x = np.mgrid[0:40, 0:100, 0:120]
em = (128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + rng.normal(0, 20, size=x.shape)).clip(0, 255)
em = em.astype('u1')
em[:, :40, :48] = 0          # fill: patches there are skipped
em[:8, 64:80, 64:80] = 77    # flat: skipped by --min-std
em.tofile('em.raw')
(rng.integers(0, 4000, size=(24, 48, 64)) + 1000).astype('<u2').tofile('u16.raw')
rng.normal(50, 9, size=(70, 90)).astype('<f4').tofile('plane.raw')
g = zarr.open_group('data/epfl/pyr.zarr', mode='w')
l0 = (rng.integers(0, 256, size=(32, 64, 64))).astype('u1')
l1 = l0.reshape(16, 2, 32, 2, 32, 2).mean(axis=(1, 3, 5)).astype('u1')
g.create_dataset('0', data=l0, chunks=(16, 16, 16), fill_value=0)
g.create_dataset('1', data=l1, chunks=(8, 8, 8), fill_value=0)
ax = [{"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"]
g.attrs['multiscales'] = [{"version": "0.4", "axes": ax, "datasets": [
    {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [8, 8, 8]}]},
    {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [16, 16, 16]},
                                                {"type": "translation", "translation": [4, 4, 4]}]}]}]
PY
zarrtool write --dtype uint8 --shape 40,100,120 --chunks 16,32,32 --codec zstd --voxel 30,4,4 \
	em.raw data/idr/em.zarr >/dev/null || fail "zarrtool write em"
zarrtool write --dtype uint16 --shape 24,48,64 --chunks 8,16,16 --codec zlib --voxel 10,5,5 \
	u16.raw data/idr/u16.zarr >/dev/null || fail "zarrtool write u16"
zarrtool write --dtype float32 --shape 70,90 --chunks 32,32 --codec raw \
	plane.raw data/idr/plane.zarr >/dev/null || fail "zarrtool write plane"
{ stub idr em data/idr/em.zarr; stub idr u16 data/idr/u16.zarr; stub idr plane data/idr/plane.zarr
  stub epfl pyr data/epfl/pyr.zarr; } >stubs
em-meta stubs >records 2>meta.err || { fail "em-meta"; cat meta.err; }
grep '"id":"em"' records >rec-em
grep '"id":"u16"' records >rec-u16
grep '"id":"plane"' records >rec-plane
grep '"id":"pyr"' records >rec-pyr

# 1. zscore float32 over a grid, three splits, skips by fill and std: every sample checked.
P="--patch 8,16,16 --split train=0.6,val=0.2,test=0.2 --block 16,32,32 --seed 11"
run em-patches -q -o out1 $P --normalize zscore --min-std 1 rec-em
expect_rc 0 "zscore float32 patches are written"
check out1 "zscore float32: each sample is the store's region normalized as numpy does"
$PY -c "
import json, sys
m = json.load(open('out1/manifest.json'))
c = m['counts']
sys.exit(not (c['train']['skipped_fill'] + c['val']['skipped_fill'] + c['test']['skipped_fill'] > 0
          and sum(c[s]['skipped_std'] for s in ('train', 'val', 'test')) > 0 and c['straddling'] == 0
          and all(c[s]['samples'] > 0 for s in ('train', 'val', 'test'))))" &&
	ok "fill and flat patches were skipped and counted; every split has samples" ||
	fail "the counts do not show the skips: $(cat out1/manifest.json | head -c 600)"
expect_grep '^out1/train-000000.tar$' "$SCRATCH/out" "the shards are printed on stdout"
expect_grep '^out1/manifest.json$' "$SCRATCH/out" "the manifest is printed last"

# 2. The same parameters give the same bytes, whatever the number of readers.
run em-patches -q -j 3 -o out1b $P --normalize zscore --min-std 1 rec-em
expect_rc 0 "a second run with -j 3"
if diff -r out1 out1b >/dev/null; then ok "the same seed gives byte-identical shards and manifest"
else fail "a second run differs"; diff -r out1 out1b | head -n 5; fi
run em-patches -q -o out1c --patch 8,16,16 --split train=0.6,val=0.2,test=0.2 --block 16,32,32 \
	--seed 12 --normalize zscore --min-std 1 rec-em
cmp -s out1/manifest.json out1c/manifest.json && fail "another seed gives the same manifest" ||
	ok "another seed assigns other blocks"

# 3. Straddling: a grid that crosses block edges draws only patches inside one split.
run em-patches -q -o out3 --patch 8,16,16 --grid 4,8,8 --split train=0.5,val=0.25,test=0.25 \
	--block 8,16,16 --normalize minmax --max-fill 1 rec-em
expect_rc 0 "an overlapping grid"
check out3 "overlapping grid, minmax: no voxel in two splits, straddling positions not drawn"

# 4. Percentile to uint8 of a uint16 volume, from the histogram; random positions.
run em-patches -q -o out4 --patch 4,8,8 --random 60 --seed 3 --normalize percentile \
	--percentiles 2,98 --dtype uint8 --split train=0.5,val=0.5 --block 8,16,16 rec-u16
expect_rc 0 "percentile uint8 from a uint16 volume"
check out4 "percentile uint8: values from the histogram's percentiles as numpy computes them"
$PY -c "
import json, sys
c = json.load(open('out4/manifest.json'))['counts']
n = sum(c[s]['samples'] + c[s]['skipped_fill'] + c[s]['skipped_std'] for s in ('train', 'val'))
sys.exit(n + c['straddling'] != 60)" && ok "--random 60 draws 60 positions" ||
	fail "--random 60 does not account for 60 positions"

# 5. A 2-D plane: --patch 1,Y,X gives (Y, X) arrays; none keeps the float32 values.
run em-patches -v -o out5 --patch 1,16,16 --max-fill 1 data/idr/plane.zarr
expect_rc 0 "2-D patches of a plane named as a store"
want=$($PY -c "
import json
m = json.load(open('out5/manifest.json'))
c, n = m['counts']['train'], len(m['shards'])
print('em-patches: train: %d sample%s in %d shard%s; skipped %d (fill), %d (std)' % (c['samples'],
      '' if c['samples'] == 1 else 's', n, '' if n == 1 else 's', c['skipped_fill'], c['skipped_std']))")
expect_grep "^$want\$" "$SCRATCH/err" "-v: the counts of the split, as the manifest has them ('1 shard')"
expect_grep "^em-patches: 0 positions not drawn: their patch would straddle" "$SCRATCH/err" \
	"-v: the positions not drawn"
check out5 "2-D patches equal the plane's regions"
$PY -c "
import tarfile, numpy as np, io, sys
t = tarfile.open('out5/train-000000.tar')
a = np.load(io.BytesIO(t.extractfile([m for m in t if m.name.endswith('.npy')][0]).read()))
sys.exit(not (a.shape == (16, 16) and a.dtype == np.float32))" &&
	ok "a 2-D patch is a (16, 16) float32 array" || fail "a 2-D patch has the wrong shape"

# 6. Levels: by index, by voxel size (the nearest), and one the store does not have.
run em-patches -q -o out6 --patch 4,8,8 --level 1 --max-fill 1 rec-pyr
expect_rc 0 "--level 1"
check out6 "--level 1 reads the second dataset"
grep -q '"level_path": "1"' out6/manifest.json && ok "level 1 is dataset '1'" || fail "level 1 is not dataset '1'"
run em-patches -q -o out6b --patch 4,8,8 --voxel-size 13 --max-fill 1 rec-pyr
expect_rc 0 "--voxel-size 13"
grep -q '"level_path": "1"' out6b/manifest.json && ok "13 nm is nearest level 1 (16 nm)" ||
	fail "--voxel-size 13 did not choose level 1"
$PY -c "
import json, tarfile, sys
t = tarfile.open('out6b/train-000000.tar')
j = json.load(t.extractfile(t.getmembers()[0]))
sys.exit(not (j['voxel_size_nm'] == [16.0, 16.0, 16.0] and j['offset_nm'] == [
    4 + 16.0 * j['offset_voxels'][0], 4 + 16.0 * j['offset_voxels'][1], 4 + 16.0 * j['offset_voxels'][2]]))" &&
	ok "offset_nm is the level's translation plus offset times voxel size" ||
	fail "offset_nm or voxel_size_nm is wrong at level 1"
run em-patches -q -o out6c --patch 4,8,8 --voxel-size 9 --max-fill 1 rec-pyr
grep -q '"level_path": "0"' out6c/manifest.json && ok "9 nm is nearest level 0 (8 nm)" ||
	fail "--voxel-size 9 did not choose level 0"
run em-patches -o out6d --patch 4,8,8 --level 5 rec-pyr
expect_rc 1 "a level the store does not have"
expect_grep "level 5 is not in the store: its multiscales have 2 levels" "$SCRATCH/err" "the message says which levels there are"

# 7. A PyTorch DataLoader with two workers reads the shards (a WebDataset-style dataset over tarfile).
if $PY -c 'import torch' 2>/dev/null; then
	cat >loader.py <<'PY'
import glob, io, json, sys, tarfile
import numpy as np, torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

class Shards(IterableDataset):
    def __init__(self, urls):
        self.urls = urls
    def __iter__(self):
        w = get_worker_info()
        urls = self.urls if w is None else self.urls[w.id::w.num_workers]
        for u in urls:
            with tarfile.open(u) as tf:
                sample = {}
                for m in tf:
                    key, ext = m.name.split('.', 1)
                    if sample and sample['__key__'] != key:
                        yield sample
                        sample = {}
                    sample['__key__'] = key
                    data = tf.extractfile(m).read()
                    sample[ext] = np.load(io.BytesIO(data)) if ext == 'npy' else json.loads(data)
                if sample:
                    yield sample

def collate(batch):
    return torch.stack([torch.from_numpy(s['npy']) for s in batch]), [s['json'] for s in batch]

out, split = sys.argv[1], sys.argv[2]
urls = sorted(glob.glob('%s/%s-*.tar' % (out, split)))
n, shapes, dtypes, keys = 0, set(), set(), set()
for x, meta in DataLoader(Shards(urls), batch_size=8, num_workers=2, collate_fn=collate):
    n += x.shape[0]
    shapes.add(tuple(x.shape[1:]))
    dtypes.add(str(x.dtype))
    keys.update(m['key'] for m in meta)
    assert x.shape[0] <= 8
print(n, len(keys), sorted(shapes), sorted(dtypes))
PY
	# Small shards, so that both workers get some.
	run em-patches -q -o out7 $P --normalize zscore --shard-size 300K rec-em
	expect_rc 0 "patches in 300 KiB shards"
	nsh=$(ls out7/train-*.tar | wc -l)
	[ "$nsh" -ge 2 ] && ok "train has $nsh shards" || fail "train has $nsh shards, expected several"
	want=$($PY -c "import json; print(json.load(open('out7/manifest.json'))['counts']['train']['samples'])")
	run $PY loader.py out7 train
	expect_rc 0 "the DataLoader runs"
	echo "$want $want [(8, 16, 16)] ['torch.float32']" >want7
	expect_same want7 "$SCRATCH/out" "DataLoader(num_workers=2): every sample once, (8,16,16) float32"
else
	fail "python3-torch is not installed (deps/debian.txt lists it; make deps)"
fi

# 8. kill -9 mid-way, then a re-run: the same shards, and the finished ones are kept as they are.
$PY -c "
import numpy as np
rng = np.random.default_rng(9)
rng.integers(1, 255, size=(64, 256, 256), dtype=np.uint8).tofile('big.raw')"
zarrtool write --dtype uint8 --shape 64,256,256 --chunks 32,64,64 --codec zlib --voxel 8,8,8 \
	big.raw data/idr/big.zarr >/dev/null || fail "zarrtool write big"
K="--patch 4,16,16 --grid 4,8,8 --split train=0.7,val=0.3 --block 16,64,64 --shard-size 512K -j 1"
run em-patches -q -o ref8 $K data/idr/big.zarr
expect_rc 0 "the uninterrupted run"
em-patches -q -o out8 $K data/idr/big.zarr >/dev/null 2>&1 &
pid=$!
i=0
while [ "$i" -lt 3000 ] && ! grep -q '"name": "train-000002.tar"' out8/manifest.json 2>/dev/null; do
	i=$((i + 1))
	sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if grep -q '"complete": true' out8/manifest.json; then
	fail "the run finished before it was killed: the kill test did not test anything"
else
	ok "killed with $(grep -c '"name"' out8/manifest.json) shards finished"
fi
for f in out8/*.tar; do
	$PY -c "import tarfile, sys; tarfile.open(sys.argv[1]).getmembers()" "$f" 2>/dev/null ||
		fail "a partial shard is left under its final name: $f"
done
# Finished shards keep their inode: the re-run does not write them again.
$PY -c "
import json, os
for s in json.load(open('out8/manifest.json'))['shards']:
    print(s['name'], os.stat('out8/' + s['name']).st_ino)" >inodes.before
run em-patches -q -o out8 $K data/idr/big.zarr
expect_rc 0 "the re-run after kill -9"
if diff -r ref8 out8 >/dev/null; then ok "the re-run's shards and manifest equal the uninterrupted run's"
else fail "the re-run differs"; diff -r ref8 out8 | head -n 5; fi
while read -r name ino; do
	[ "$(stat -c %i "out8/$name")" = "$ino" ] || fail "$name was written again"
done <inodes.before
ok "the shards finished before the kill were kept ($(wc -l <inodes.before))"
ls out8 | grep -q '\.tmp\.' && fail "temporary files are left in out8" || ok "no temporary file is left"
# A shard damaged since is found by its sha256 and written again.
printf 'x' | dd of=out8/train-000001.tar bs=1 seek=700 conv=notrunc 2>/dev/null
run em-patches -q -o out8 $K data/idr/big.zarr
expect_rc 0 "a re-run over a damaged shard"
cmp -s ref8/train-000001.tar out8/train-000001.tar && ok "the damaged shard is written again" ||
	fail "the damaged shard was kept"
# Other parameters into the same directory are refused, nothing touched.
run em-patches -o out8 --patch 4,16,16 --split train=0.5,val=0.5 --block 16,64,64 data/idr/big.zarr
expect_rc 1 "other parameters into a finished directory"
expect_grep "manifest of a run with other parameters" "$SCRATCH/err" "the refusal says why"
diff -r ref8 out8 >/dev/null && ok "the directory is untouched" || fail "the refused run changed out8"

# 8b. Readers take patches in batches and hash them together; samples from 64 KiB on go into
# the shard from where they were converted, hashed on the shard's own thread.  One reader or
# four, skipped patches inside a batch, shards ending inside one: the same bytes, and every
# sample's and shard's sha256 is the one hashlib computes (patches_check.py).
# batch_f32 JOBS OUT / batch_u8 JOBS OUT: 64 KiB float32 samples of rec-em, uint8 ones of big.
batch_f32() {
	run em-patches -q -j "$1" -o "$2" --patch 16,32,32 --grid 8,16,16 --split train=0.5,val=0.5 \
		--block 16,64,64 --seed 3 --normalize zscore --min-std 1 --shard-size 300K rec-em
}
batch_u8() {
	run em-patches -q -j "$1" -o "$2" --patch 16,64,64 --grid 16,32,32 --shard-size 1M \
		data/idr/big.zarr
}
batch_f32 1 outb1
expect_rc 0 "64 KiB float32 samples with one reader"
batch_f32 4 outb4
expect_rc 0 "64 KiB float32 samples with four readers"
if diff -r outb1 outb4 >/dev/null; then ok "one reader and four give byte-identical shards and manifest"
else fail "-j 1 and -j 4 differ"; diff -r outb1 outb4 | head -n 5; fi
check outb4 "batched digests, direct writes: each sample and shard is what numpy and hashlib give"
if $PY -c "
import json, sys
m = json.load(open('outb4/manifest.json'))
c = m['counts']
n = sum(c[s]['samples'] for s in ('train', 'val'))
sys.exit(not (n > 32 and c['train']['skipped_fill'] + c['val']['skipped_fill'] > 0
              and len(m['shards']) > 4))"; then
	ok "more samples than two batches, skips among them, several shards"
else fail "the run does not exercise batches: $(head -c 600 outb4/manifest.json)"; fi
batch_u8 1 outu1
expect_rc 0 "64 KiB uint8 samples with one reader"
batch_u8 4 outu4
expect_rc 0 "64 KiB uint8 samples with four readers"
if diff -r outu1 outu4 >/dev/null; then ok "uint8 samples: one reader and four give the same bytes"
else fail "uint8: -j 1 and -j 4 differ"; diff -r outu1 outu4 | head -n 5; fi
check outu4 "uint8 samples as stored, batched digests: each sample and shard checked"

# 9. Bad input: a clear message, exit 2 (usage) or 1, nothing written.
run em-patches -o bad1 --patch 8,16,16 data/idr/nope.zarr
expect_rc 1 "a missing store"
expect_grep "^em-patches: cannot use 'data/idr/nope.zarr': no such store or record file" "$SCRATCH/err" \
	"the message names the missing store"
stub idr gone data/idr/gone.zarr >rec-gone
run em-patches -o bad1 --patch 8,16,16 rec-gone
expect_rc 1 "a record whose store is missing"
expect_grep "cannot use idr/gone (store 'data/idr/gone.zarr'): the store does not exist" "$SCRATCH/err" \
	"the message names the record and its store"
run em-patches -o bad1 --patch 8,128,16 rec-em
expect_rc 1 "a patch larger than the volume"
expect_grep "the patch 8,128,16 is larger than the volume (40,100,120 at level 0)" "$SCRATCH/err" \
	"the message gives both sizes"
run em-patches -o bad1 --patch 8,16,16 --split train=0.8,val=0.3 rec-em
expect_rc 2 "fractions that do not sum to 1"
expect_grep "bad --split 'train=0.8,val=0.3': the fractions sum to 1.1, not 1" "$SCRATCH/err" "the sum is named"
run em-patches -o bad1 --patch 8,16,16 --split train=0.8,holdout=0.2 rec-em
expect_rc 2 "an unknown split name"
expect_grep "unknown split 'holdout'" "$SCRATCH/err" "the unknown name is named"
run em-patches -o bad1 --patch 8,16,16 --normalize zscore stubs
expect_rc 1 "records without statistics"
expect_grep "cannot use idr/em (store 'data/idr/em.zarr'): cannot normalize from the record: the record has no statistics" \
	"$SCRATCH/err" "the record without statistics is refused with the reason"
run em-patches -o bad1 --patch 8,16,16 --block 4,16,16 rec-em
expect_rc 2 "a block smaller than the patch"
run em-patches -o bad1 --patch 8,16,16 --dtype uint8 --normalize zscore rec-em
expect_rc 2 "zscore into uint8"
[ -e bad1 ] && fail "a refused run created its output directory" || ok "refused runs write nothing"
echo file >notadir
run em-patches -o notadir/out --patch 8,16,16 rec-em
expect_rc 1 "an output directory that cannot be made"
expect_grep "^em-patches: cannot create directory 'notadir/out': Not a directory$" "$SCRATCH/err" \
	"the message names it once, with the reason"
# One run at a time in a directory: a second is refused while the first holds it.
mkdir -p busy
if command -v flock >/dev/null; then
	# One process holds the lock (flock(1) would leave its command running once killed).
	$PY -c "import fcntl, os, time
fcntl.flock(os.open('busy', os.O_RDONLY), fcntl.LOCK_EX)
time.sleep(30)" &
	holder=$!
	i=0	# until the holder has the lock
	while flock -n busy true 2>/dev/null && [ "$i" -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
	run em-patches -o busy --patch 8,16,16 rec-em
	expect_rc 1 "a directory another run is writing into"
	expect_grep "^em-patches: another em-patches is writing into 'busy'$" "$SCRATCH/err" "the refusal says why"
	[ -z "$(ls busy)" ] && ok "and the refused run wrote nothing there" || fail "busy holds $(ls busy)"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
else
	echo "# no flock(1): the second-run case is not run"
fi

# 10. A full disk: exit 1 naming the shard, no partial shard under a final name.
MNT=$SCRATCH/mnt
mkdir -p "$MNT"
if [ "$(id -u)" -eq 0 ] && [ -z "${EM_TEST_NO_MOUNT:-}" ] && mount -t tmpfs -o size=1m,mode=0755 emtest "$MNT" 2>/dev/null; then
	trap 'umount "$MNT" 2>/dev/null; t_cleanup' EXIT
	run em-patches -q -o "$MNT/out" $K --shard-size 300K data/idr/big.zarr
	expect_rc 1 "a full disk fails the run"
	expect_grep "^em-patches: cannot write patches into '$MNT/out': .*No space left on device" "$SCRATCH/err" \
		"the message names the output and says the disk is full"
	ls "$MNT/out" | grep -q '\.tmp\.' && fail "a temporary file is left on the full disk" ||
		ok "no temporary file is left on the full disk"
	bad=0
	for f in "$MNT"/out/*.tar; do
		[ -e "$f" ] || continue
		n=${f##*/}
		$PY -c "
import json, hashlib, sys
m = {s['name']: s['sha256'] for s in json.load(open(sys.argv[1]))['shards']}
sys.exit(m.get(sys.argv[3]) != hashlib.sha256(open(sys.argv[2], 'rb').read()).hexdigest())" \
			"$MNT/out/manifest.json" "$f" "$n" || { fail "$n is not a finished shard"; bad=1; }
	done
	[ "$bad" -eq 0 ] && ok "every shard under a final name is finished and listed with its sha256"
	umount "$MNT"
	trap t_cleanup EXIT
else
	echo "# no tmpfs mount (not root): the full-disk case is not run"
fi

# 11. --help and the man page agree on the options.
run em-patches --help
for o in --patch --level --voxel-size --grid --random --seed --max-fill --min-std --split --block \
	--normalize --percentiles --dtype --shard-size --jobs; do
	grep -q -e "$o" "$SCRATCH/out" || fail "--help does not mention $o"
	grep -q -e "${o#--}" "$TOP/man/em-patches.1" || fail "the man page does not mention $o"
done
ok "--help and em-patches(1) list every option"

# 12. Memory follows the chunks patches share: side by side on chunk borders (no chunk read
#     twice) a reader's chunk cache holds only what one patch touches; overlapping patches fill
#     it (32 MiB a reader).  256 chunks of 64^3, two readers, peak RSS as the kernel counts it.
if [ "$ASAN" -eq 1 ]; then
	echo "# chunk cache memory: not measured in an AddressSanitizer build"
else
	$PY -c "
import numpy as np
rng = np.random.default_rng(12)
rng.normal(128, 30, size=(256, 512, 512)).clip(0, 255).astype('u1').tofile('cache.raw')" ||
		fail "making the cache volume"
	zarrtool write --dtype uint8 --shape 256,512,512 --chunks 64,64,64 --codec zstd --level 1 \
		cache.raw data/idr/cache.zarr >/dev/null || fail "zarrtool write cache"
	rm -f cache.raw
	stub idr cache data/idr/cache.zarr | em-meta >rec-cache 2>meta.err || fail "em-meta cache"
	# rss STRIDE: "EXIT PEAK_KIB" of em-patches over a grid of that stride.
	rss() {
		rm -rf "cache$1"
		$PY -c "
import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" \
			em-patches -q -o "cache$1" --patch 64,64,64 --grid "$1,$1,$1" --normalize none \
			--dtype same -j 2 rec-cache
	}
	set -- $(rss 64)
	rc64=$1 rss64=$2
	set -- $(rss 32)
	rc32=$1 rss32=$2
	echo "# peak RSS: $rss64 KiB side by side, $rss32 KiB overlapping"
	[ "$rc64" -eq 0 ] && [ "$rc32" -eq 0 ] || fail "the cache runs exit $rc64 and $rc32"
	[ "$rss64" -lt 49152 ] && ok "patches side by side: peak RSS under 48 MiB" ||
		fail "patches side by side: peak RSS $rss64 KiB, not under 48 MiB"
	[ $((rss32 - rss64)) -ge 32768 ] && ok "overlapping patches use the chunk cache (32 MiB more)" ||
		fail "overlapping patches: $rss32 KiB, not 32 MiB more than side by side ($rss64 KiB)"
	rm -rf cache64 cache32 data/idr/cache.zarr
fi
done_testing
