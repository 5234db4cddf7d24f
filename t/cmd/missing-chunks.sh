#!/bin/sh
# missing-chunks.sh - chunks a server does not give: counted in the record's missing_chunks,
# --strict fails on them, a 403 is warned of, a box with none of its chunks fails with a hint
# (after trying the other key separator of a .zarray that names none), and fetch-zarr's ids
# keep two datasets' arrays of the same name apart.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/records.sh"
PY=/usr/bin/python3
cd "$SCRATCH" || exit 1
CONF="--config $TOP/config/config.yaml"
cat >overlay.yaml <<'YAML'
global:
  http:
    backoff_initial_ms: 5
    backoff_max_ms: 40
YAML
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
export EM_CONFIG_OVERLAY

# mkarray DIR SEP [NAMED]: a 4x4x4 uint8 array in 2x2x2 raw chunks, voxel v = 16z+4y+x+1,
# keys joined with SEP; NAMED: .zarray names the separator (else it says nothing).
mkarray() {
	$PY - "$@" <<'PYEOF'
import json, os, sys
d, sep = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
m = {"zarr_format": 2, "shape": [4, 4, 4], "chunks": [2, 2, 2], "dtype": "|u1", "order": "C",
     "compressor": None, "fill_value": 0, "filters": None}
if len(sys.argv) > 3:
    m["dimension_separator"] = sep
json.dump(m, open(os.path.join(d, ".zarray"), "w"))
for cz in range(2):
    for cy in range(2):
        for cx in range(2):
            b = bytes(16 * (2 * cz + z) + 4 * (2 * cy + y) + 2 * cx + x + 1
                      for z in range(2) for y in range(2) for x in range(2))
            p = os.path.join(d, sep.join(map(str, (cz, cy, cx))))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            open(p, "wb").write(b)
PYEOF
}
# The sha256 of the whole array, and of it with chunks 0.0.1 and 1.1.0 the fill value.
SHA_ALL=$($PY -c 'import hashlib; print(hashlib.sha256(bytes(v + 1 for v in range(64))).hexdigest())')
SHA_HOLES=$($PY -c '
import hashlib
print(hashlib.sha256(bytes(0 if (z // 2, y // 2, x // 2) in ((0, 0, 1), (1, 1, 0)) else 16 * z + 4 * y + x + 1
    for z in range(4) for y in range(4) for x in range(4))).hexdigest())')

mkarray www/holes.zarr . named
rm www/holes.zarr/0.0.1 www/holes.zarr/1.1.0
mkarray www/nested.zarr /
mkarray www/empty.zarr . named
rm www/empty.zarr/[0-9]*
start_origin main --root "$SCRATCH/www"
B=$ORIGIN_URL

# 1. Missing chunks are the fill value, and counted in the stub and the record.
run fetch-zarr $CONF -q -o st/holes "${B}holes.zarr"
expect_rc 0 "an array with two chunks missing is fetched"
[ "$(field "$SCRATCH/out" missing_chunks)" = 2 ] && ok "the stub says missing_chunks 2" ||
	fail "stub missing_chunks: $(field "$SCRATCH/out" missing_chunks)"
valid "$SCRATCH/out" "the stub is valid against the schema"
em-meta -q <"$SCRATCH/out" >rec.json 2>meta.err || fail "em-meta: $(cat meta.err)"
[ "$(field rec.json missing_chunks)" = 2 ] && [ "$(field rec.json sha256)" = "$SHA_HOLES" ] &&
	ok "the complete record keeps missing_chunks 2; the holes are the fill value" ||
	fail "record: missing_chunks $(field rec.json missing_chunks), sha256 $(field rec.json sha256)"
valid rec.json "the record is valid against the schema"

# 2. --strict fails on them, naming how many and the first.
run fetch-zarr $CONF -q -o st/strict --strict "${B}holes.zarr"
expect_rc 1 "--strict fails when chunks are missing"
expect_grep "2 chunks of the box are missing (HTTP 404 or 403), the first '${B}holes.zarr/0.0.1'" \
	"$SCRATCH/err" "the message gives the count and the first key"
[ "$(field "$SCRATCH/out" status)" = failed ] && [ "$(field "$SCRATCH/out" missing_chunks)" = 2 ] &&
	ok "the stub is failed, with missing_chunks 2" ||
	fail "stub: $(field "$SCRATCH/out" status) $(field "$SCRATCH/out" missing_chunks)"
st=$($PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["status"], r["missing_chunks"])' st/strict/holes.json)
[ "$st" = "failed 2" ] && ok "the record is failed, with missing_chunks 2" || fail "record: $st"
run fetch-zarr $CONF -q -o st/strict2 --strict "${B}nested.zarr"
expect_rc 0 "--strict with every chunk there succeeds (after the separator switch)"

# 3. A 403 is not silent: warned of once, and counted at the end.
start_origin deny --root "$SCRATCH/www" --missing-status 403
run fetch-zarr $CONF -o st/deny "${ORIGIN_URL}holes.zarr"
expect_rc 0 "chunks refused with 403 are the fill value"
[ "$(grep -c 'HTTP 403 Forbidden: read as the fill value' "$SCRATCH/err")" = 1 ] &&
	ok "the first 403 is warned of, once" || fail "403 warnings: $(cat "$SCRATCH/err")"
expect_grep "2 chunks refused with HTTP 403 were read as the fill value" "$SCRATCH/err" \
	"the end of the run gives their count"
[ "$(field "$SCRATCH/out" missing_chunks)" = 2 ] && ok "and the record counts them" ||
	fail "missing_chunks $(field "$SCRATCH/out" missing_chunks)"

# 4. '/' keys under a .zarray that names no separator: found after one switch, and said.
run fetch-zarr $CONF -o st/nested "${B}nested.zarr"
expect_rc 0 "nested keys under a .zarray without dimension_separator"
expect_grep "names no dimension_separator and none of the box's chunks is at '.' keys (the default): trying '/' keys" \
	"$SCRATCH/err" "the switch is said"
expect_grep "the chunks are at '/' keys: read so" "$SCRATCH/err" "and that it found them"
em-meta -q <"$SCRATCH/out" >rec.json 2>meta.err
[ "$(field rec.json sha256)" = "$SHA_ALL" ] && [ "$(field rec.json missing_chunks)" = 0 ] &&
	[ "$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["source_metadata"].get("key_separator"))' rec.json)" = / ] &&
	ok "the array is whole, nothing missing, the separator recorded" ||
	fail "nested: sha256 $(field rec.json sha256) missing $(field rec.json missing_chunks)"

# 5. A box where nothing is there fails, with a hint, and writes no chunk.
run fetch-zarr $CONF -q -o st/empty "${B}empty.zarr"
expect_rc 1 "a box with none of its chunks fails"
expect_grep "none of the box's 8 chunks is there (the first: '${B}empty.zarr/0.0.0', HTTP 404): check the URL, the level, the chunk key separator" \
	"$SCRATCH/err" "the message says so and hints at the separator"
expect_nogrep "trying '/' keys" "$SCRATCH/err" "a .zarray that names its separator is not second-guessed"
[ "$(field "$SCRATCH/out" status)" = failed ] && ok "the stub is failed" || fail "stub $(field "$SCRATCH/out" status)"
[ -z "$(find st/empty -path '*.zarr/0/*' -type f -name '[0-9]*')" ] && ok "no chunk written" ||
	fail "chunks written: $(find st/empty -path '*.zarr/0/*' -type f | head -3)"
# An origin that refuses every chunk (403): the hint is access.
start_origin denyall --root "$SCRATCH/www" --fault 'path=/holes.zarr/[0-9]*,status=403'
run fetch-zarr $CONF -q -o st/denyall "${ORIGIN_URL}holes.zarr"
expect_rc 1 "a box whose every chunk is refused fails"
expect_grep "none of the box's 8 chunks is there (the first: '${ORIGIN_URL}holes.zarr/0.0.0', HTTP 403): the server refuses access" \
	"$SCRATCH/err" "the message says access is refused"

# 6. Two datasets' arrays of the same name (OpenOrganelle's em/fibsem-int16) get two ids.
mkarray www/jrc_hela-2/jrc_hela-2.zarr/recon-1/em/fibsem-int16/s0 . named
mkarray www/jrc_cos7-11/jrc_cos7-11.zarr/recon-1/em/fibsem-int16/s0 / named
for d in jrc_hela-2 jrc_cos7-11; do
	run fetch-zarr $CONF -q -o st/oo --level s0 "${B}$d/$d.zarr/recon-1/em/fibsem-int16"
	expect_rc 0 "$d fetched"
done
[ -f st/oo/jrc_hela-2_fibsem-int16_s0.json ] && [ -f st/oo/jrc_cos7-11_fibsem-int16_s0.json ] &&
	[ -d st/oo/jrc_hela-2_fibsem-int16_s0.zarr ] && [ -d st/oo/jrc_cos7-11_fibsem-int16_s0.zarr ] &&
	ok "ids jrc_hela-2_fibsem-int16_s0 and jrc_cos7-11_fibsem-int16_s0: two stores" ||
	fail "ids: $(ls st/oo)"
run fetch-zarr $CONF -q -o st/oo --id mine --level s0 "${B}jrc_hela-2/jrc_hela-2.zarr/recon-1/em/fibsem-int16"
expect_rc 0 "--id"
[ "$(field "$SCRATCH/out" id)" = mine ] && [ -d st/oo/mine.zarr ] && ok "--id names the volume" ||
	fail "--id: $(field "$SCRATCH/out" id)"

done_testing
