# precomputed-real.sh - fetch-precomputed on the precomputed volumes of other software that
# stored public copies keep (t/data/precomputed/PROVENANCE.md): cloud-volume's test
# volumes.  Their compresso volumes (unsharded, and sharded with the identity hash) are
# refused naming the info's URL and the encoding, and nothing is left behind; the
# compressed_segmentation uint64 info of its graphene test volume (a voxel_offset that
# is not 0, six scales) names its chunks where that geometry puts them, and a chunk laid
# there decodes exactly as a numpy reading of the same bytes (t/precomputed.py, written
# from the specification independently of lib/).  No public test suite keeps
# raw, JPEG or compressed_segmentation chunks as files (PROVENANCE.md), so the
# chunk bytes here are the tests' own.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy' 2>/dev/null ||
	skip "python3-zarr and python3-numpy are needed (make deps)"
cd "$SCRATCH" || exit 1
CV=$TOP/t/data/precomputed/cloud-volume
cp -r "$CV" cv

# 1. compresso: refused, the message naming the info's URL and the encoding; no store.
for v in test_seg_unsharded test_cv_sharded; do
	mkdir "out-$v"
	run fetch-precomputed -q -o "out-$v" "file://$SCRATCH/cv/$v"
	expect_rc 1 "$v (compresso): refused"
	grep -q "info 'file://$SCRATCH/cv/$v/info': scale '8_8_40': unknown encoding 'compresso'" err &&
		ok "$v: the message names the info's URL, the scale and the encoding" ||
		fail "$v: message: $(cat err)"
	[ -z "$(ls -A "out-$v")" ] && ok "$v: nothing is left in the output directory" ||
		fail "$v: left behind: $(ls -A "out-$v")"
done

# 2. The graphene info (uint64 compressed_segmentation, voxel_offset 560,464,0 at
# 256_256_40, chunks 512x512x16): one chunk laid where the info's geometry puts it;
# the box's other chunk is absent (zeros, counted missing).
K=256_256_40
mkdir -p "cv/test_cv/$K"
$PY - "$TOP/t" "cv/test_cv/$K/560-1072_464-976_0-16" ref.npy <<'EOF' ||
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import precomputed as pc
v = pc.labels((16, 512, 512), "uint64", 7)
buf = pc.cseg_encode(v, [8, 8, 8])
open(sys.argv[2], "wb").write(buf)
# the reference: a numpy reading of the chunk's bytes, and the absent chunk's zeros
d = pc.cseg_decode(buf, (16, 512, 512), [8, 8, 8], "uint64")
assert np.array_equal(d, v)
ref = np.zeros((16, 8, 8), np.uint64)
ref[:, :, :4] = d[:, 0:8, 508:512]
np.save(sys.argv[3], ref)
EOF
	{ fail "the chunk could not be written"; done_testing; }
run fetch-precomputed -q -o st --scale $K --box 0:16,0:8,508:516 "file://$SCRATCH/cv/test_cv"
expect_rc 0 "the graphene info's box across two chunks: fetched"
st=$(ls -d st/*.zarr 2>/dev/null)
if [ -n "$st" ] && $PY - "$st" ref.npy >chk.out 2>&1 <<'EOF'
import sys
import numpy as np
import zarr
a = zarr.open(sys.argv[1], mode="r")["0"][...]
r = np.load(sys.argv[2])
sys.exit(0 if a.dtype == r.dtype and a.shape == r.shape and a.tobytes() == r.tobytes() else
         print(a.dtype, a.shape, r.dtype, r.shape) or 1)
EOF
then
	ok "uint64 compressed_segmentation: the store is byte-exact against numpy's reading"
else
	fail "the store differs: $(cat chk.out)"
fi
jq -e '.missing_chunks == 1 and .source_metadata.voxel_offset_xyz == [560,464,0] and
	.source_metadata.chunk_xyz == [512,512,16] and .voxel_size_nm == [40,256,256]' out \
	>/dev/null && ok "the record: one chunk missing, the info's offset, chunk and resolution" ||
	fail "record: $(cat out)"

# 3. Without the chunk, the box's first chunk is named where the geometry puts it.
rm "cv/test_cv/$K/560-1072_464-976_0-16"
run fetch-precomputed -q -o st2 --scale $K --box 0:16,0:8,0:8 "file://$SCRATCH/cv/test_cv"
expect_rc 1 "no chunk of the box there: refused"
grep -q "test_cv/$K/560-1072_464-976_0-16', HTTP 404" err &&
	ok "the missing chunk is named by the info's voxel_offset and chunk size" ||
	fail "message: $(cat err)"

done_testing
