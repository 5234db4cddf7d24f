#!/bin/sh
# limits.sh - arrays past the element and chunk-count limits (lib/core/limits.h) are refused
# before anything is fetched or written: Zarr v2, Zarr v3 and N5 metadata and DVID extents,
# with a message that gives the numbers and the URL.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
cd "$SCRATCH" || exit 1
CONF="--config $TOP/config/config.yaml"

# 2^60 elements in each format; the box asked for is one voxel, so a fetcher that believed
# the metadata would finish at once rather than fill the disk.
mkdir -p www/v2.zarr www/v3.zarr www/c.n5/big www/chunky.zarr
printf '%s' '{"zarr_format": 2, "shape": [1073741824, 1073741824, 1], "chunks": [64, 64, 64],
 "dtype": "|u1", "order": "C", "compressor": null, "fill_value": 0, "filters": null}' \
	>www/v2.zarr/.zarray
printf '%s' '{"zarr_format": 3, "node_type": "array", "shape": [1073741824, 1073741824, 1],
 "data_type": "uint8", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape":
 [64, 64, 64]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
 "codecs": [{"name": "bytes"}]}' >www/v3.zarr/zarr.json
printf '%s' '{"n5": "2.0.0"}' >www/c.n5/attributes.json
printf '%s' '{"dimensions": [1, 1073741824, 1073741824], "blockSize": [64, 64, 64],
 "dataType": "uint8", "compression": {"type": "raw"}}' >www/c.n5/big/attributes.json
# 2^34 elements (a 16 GiB array, fine) in chunks of one voxel: 2^34 chunks.
printf '%s' '{"zarr_format": 2, "shape": [1073741824, 16, 1], "chunks": [1, 1, 1],
 "dtype": "|u1", "order": "C", "compressor": null, "fill_value": 0, "filters": null}' \
	>www/chunky.zarr/.zarray
start_origin main --root "$SCRATCH/www"
B=$ORIGIN_URL

for a in v2.zarr v3.zarr c.n5/big; do
	run fetch-zarr $CONF -q -o "st/$a" --box 0:1,0:1,0:1 "$B$a"
	expect_rc 1 "$a: an array of 2^60 elements is refused"
	expect_grep "shape 1073741824,1073741824,1 has more than 1125899906842624 (2^50) elements" \
		"$SCRATCH/err" "$a: the message gives the shape and the limit"
	expect_grep "$B$a" "$SCRATCH/err" "$a: the message names the URL"
	[ -z "$(find "st/$a" -name '*.zarr' -o -name '*.json' 2>/dev/null)" ] &&
		ok "$a: no store and no record written" || fail "$a: wrote $(find "st/$a")"
done
run fetch-zarr $CONF -q -o st/chunky --box 0:1,0:1,0:1 "${B}chunky.zarr"
expect_rc 1 "an array of 2^34 chunks is refused"
expect_grep "shape 1073741824,16,1 in chunks of 1,1,1 is more than 4294967296 (2^32) chunks" \
	"$SCRATCH/err" "the message gives the chunks and the limit"
[ -z "$(find st/chunky -name '*.zarr' 2>/dev/null)" ] && ok "no store written" ||
	fail "wrote $(find st/chunky)"
# DVID: extents each within int32, but 2^93 voxels together.
U=0123456789abcdef0123456789abcdef
mkdir -p "www/api/node/$U/grayscale"
printf '%s' '{"Base": {"TypeName": "uint8blk", "Name": "grayscale"}, "Extended": {"BlockSize":
 [64, 64, 64], "VoxelSize": [8, 8, 8], "VoxelUnits": ["nanometers"], "MinPoint": [0, 0, 0],
 "MaxPoint": [2000000000, 2000000000, 2000000000]}}' >"www/api/node/$U/grayscale/info.json"
run fetch-dvid $CONF -q -o st/dvid --server "$B" --uuid $U --offset 0,0,0 --size 1,1,1
expect_rc 1 "a DVID instance of 2^93 voxels is refused"
expect_grep "has extents of 2000000001 x 2000000001 x 2000000001 voxels (X,Y,Z), more than the 1125899906842624 (2^50)" \
	"$SCRATCH/err" "the message gives the extents and the limit"
expect_grep "api/node/$U/grayscale/info" "$SCRATCH/err" "the message names the URL"
[ -z "$(find st/dvid -name '*.zarr' 2>/dev/null)" ] && ok "no DVID store written" ||
	fail "wrote $(find st/dvid)"

done_testing
