# precomputed-real.sh - fetch-precomputed on the precomputed volumes of other software that
# stored public copies keep (t/data/precomputed/PROVENANCE.md): cloud-volume's test
# volumes.  Their compresso volumes (unsharded, and sharded with the identity hash) are
# refused naming the info's URL and the encoding, and nothing is left behind; the
# compressed_segmentation uint64 info of its graphene test volume (a voxel_offset that
# is not 0, six scales) names its chunks where that geometry puts them, and a chunk laid
# there decodes exactly as a numpy reading of the same bytes (t/precomputed.py, written
# from the specification independently of lib/).  No public test suite keeps
# raw, JPEG or compressed_segmentation chunks as files (PROVENANCE.md), so chunks are
# laid beside the real info files: written by t/precomputed.py, and (when make deps-js
# has installed it) by Neuroglancer's own compressed_segmentation encoder (the npm
# neuroglancer package t/js/neuroglancer locks), software we did not write.
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
# same_as_npy STORE NPY: level 0 of STORE (python3-zarr's reading) is NPY's array: dtype,
# shape and bytes; what differs is in chk.out.
same_as_npy() {
	[ -n "$1" ] && $PY - "$1" "$2" >chk.out 2>&1 <<'EOF'
import sys
import numpy as np
import zarr
a = zarr.open(sys.argv[1], mode="r")["0"][...]
r = np.load(sys.argv[2])
sys.exit(0 if a.dtype == r.dtype and a.shape == r.shape and a.tobytes() == r.tobytes() else
         print(a.dtype, a.shape, r.dtype, r.shape) or 1)
EOF
}
run fetch-precomputed -q -o st --scale $K --box 0:16,0:8,508:516 "file://$SCRATCH/cv/test_cv"
expect_rc 0 "the graphene info's box across two chunks: fetched"
st=$(ls -d st/*.zarr 2>/dev/null)
if same_as_npy "$st" ref.npy; then
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

# 4. compressed_segmentation written by Neuroglancer's encoder (encodeChannels, as its
# precomputed writer calls it), into the geometry of cloud-volume's uint32 info (128x128x64
# chunks) and of the graphene uint64 info: fetch-precomputed's store is byte-exact against
# numpy's reading of the same chunk bytes (t/precomputed.py), which is the encoded array.
NG=$TOP/t/js/neuroglancer/node_modules/neuroglancer/lib/sliceview/compressed_segmentation
if ! command -v node >/dev/null 2>&1 || [ ! -f "$NG/encode_uint64.js" ]; then
	echo "# part 4 not run: no node, or no neuroglancer in t/js/neuroglancer (make deps-js)"
else
	cat >ngenc.mjs <<EOF
// ngenc.mjs IN OUT BITS X Y Z: Neuroglancer's compressed_segmentation of the little-endian
// labels in IN (x fastest), one channel, 8x8x8 blocks, written to OUT.
import { readFileSync, writeFileSync } from "node:fs";
const [inp, out, bits, x, y, z] = process.argv.slice(2);
const mod = await import("file://$NG/encode_uint" + bits + ".js");
const { TypedArrayBuilder } = await import("file://$NG/../../util/array.js");
const buf = readFileSync(inp);
const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
const raw = bits === "64" ? new BigUint64Array(ab) : new Uint32Array(ab);
const o = new TypedArrayBuilder(Uint32Array, 1 << 16);
mod.encodeChannels(o, [8, 8, 8], raw, [+x, +y, +z, 1]);
const v = o.view;
writeFileSync(out, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
EOF
	cp -r "$CV/test_cv-uint32" ng32
	cp -r "$CV/test_cv" ng64
	mkdir -p ng32/8_8_40 ng64/$K
	# uint32 8_8_40: chunk 128-256_0-128_64-128; the graphene scale 256_256_40: its first chunk.
	for v in "32 ng32/8_8_40/128-256_0-128_64-128 128 128 64 3" \
		"64 ng64/$K/560-1072_464-976_0-16 512 512 16 9"; do
		set -- $v
		$PY - "$TOP/t" "$1" lab.bin "$3" "$4" "$5" "$6" <<'EOF' &&
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import precomputed as pc
bits, x, y, z, seed = sys.argv[2], *map(int, sys.argv[4:])
v = pc.labels((z, y, x), "uint" + bits, seed)
v.astype(v.dtype.newbyteorder("<")).tofile(sys.argv[3])
np.save("lab.npy", v)
EOF
		node ngenc.mjs lab.bin "$2" "$1" "$3" "$4" "$5" 2>node.err &&
		$PY - "$TOP/t" "$2" "$1" "$3" "$4" "$5" <<'EOF' ||
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import precomputed as pc
bits, x, y, z = sys.argv[3], *map(int, sys.argv[4:])
d = pc.cseg_decode(open(sys.argv[2], "rb").read(), (z, y, x), [8, 8, 8], "uint" + bits)
v = np.load("lab.npy")
assert np.array_equal(d, v), "numpy's reading of neuroglancer's chunk is not the array encoded"
np.save("ref%s.npy" % bits, d)
EOF
			{ fail "uint$1: neuroglancer's encoder: $(cat node.err)"; continue; }
		ok "uint$1: neuroglancer's chunk read by numpy is the array it encoded"
	done
	run fetch-precomputed -q -o ngst32 --scale 8_8_40 --box 64:128,0:128,128:256 \
		"file://$SCRATCH/ng32"
	expect_rc 0 "uint32 (neuroglancer's encoder): fetched"
	run fetch-precomputed -q -o ngst64 --scale $K --box 0:16,0:512,0:512 "file://$SCRATCH/ng64"
	expect_rc 0 "uint64 (neuroglancer's encoder): fetched"
	for b in 32 64; do
		st=$(ls -d ngst$b/*.zarr 2>/dev/null)
		if same_as_npy "$st" "ref$b.npy"; then
			ok "uint$b (neuroglancer's encoder): the store is byte-exact against numpy's reading"
		else
			fail "uint$b: the store differs: $(cat chk.out)"
		fi
	done
fi

done_testing
