#!/bin/sh
# part-race.sh - --part I/N on the writers: bad values refused (exit 2, nothing written);
# N parts started at once on one store never fail and leave the metadata a whole run
# writes, level 0 byte for byte the whole run's (file source by planes, block source by
# boxes, Zarr v2 chunks and v3 shards), and em-downsample over the parts' store gives the
# whole run's pyramid; a part run again writes nothing; each part's stub names its part.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy, tifffile' 2>/dev/null ||
	skip "python3-zarr, python3-numpy and python3-tifffile are needed (make deps)"
cd "$SCRATCH" || exit 1
CONF="--config $TOP/config/config.yaml"

$PY - <<'EOF' || fail "test data"
import numpy as np, tifffile, zarr
rng = np.random.default_rng(15)
# 40 planes: 5 chunk rows of 8, 3x4 chunks a row = 60 chunks, so 8 parts get 7 or 8 each.
tifffile.imwrite("v.tif", rng.integers(0, 256, (40, 96, 128), dtype=np.uint8),
                 photometric="minisblack")
# A remote array whose chunks (10,20,30) do not line up with the store's (8,32,32).
z = zarr.open("www/arr.zarr", mode="w", shape=(37, 70, 90), chunks=(10, 20, 30),
              dtype="<u2", compressor=zarr.Zlib(level=1))
z[:] = rng.integers(0, 4000, (37, 70, 90), dtype=np.uint16)
EOF
URL=file://$SCRATCH/v.tif
OPTS="$CONF --chunks 8,32,32 --compressor zlib --level 1 -j 2 -q"

# 1. Bad values: a usage error naming --part, and nothing made.
for bad in 5/4 0/0 x/y 1/100001 3 /4 1/ 2/-3; do
	run fetch-epfl $OPTS -o bad --url "$URL" --part "$bad"
	expect_rc 2 "--part $bad is a usage error"
	expect_grep "^fetch-epfl: --part: " "$SCRATCH/err" "--part $bad: the message names the option"
done
run fetch-zarr $CONF -q -o bad --part 5/4 http://127.0.0.1:9/arr.zarr
expect_rc 2 "fetch-zarr --part 5/4 is a usage error"
run fetch-epfl $OPTS -o bad --url "$URL" --part 1/2 --overwrite
expect_rc 2 "--part with --overwrite is a usage error"
expect_grep "overwrite" "$SCRATCH/err" "--overwrite with --part: said why"
if [ -e bad ]; then fail "a refused --part made '$SCRATCH/bad'"; else ok "a refused --part wrote nothing"; fi
fetch-epfl --help | grep -q -e '--part I/N' && ok "fetch-epfl --help names --part" ||
	fail "fetch-epfl --help does not name --part"

# starts N TOOL OUTDIR ARGS...: parts 1..N of the same run, all started at once;
# every part's stdout in OUTDIR.pI.out, stderr in OUTDIR.pI.err, exit status in OUTDIR.pI.rc.
starts() {
	_n=$1 _tool=$2 _out=$3
	shift 3
	_i=1 _pids=""
	while [ "$_i" -le "$_n" ]; do
		("$_tool" -o "$_out" "$@" --part "$_i/$_n" >"$_out.p$_i.out" 2>"$_out.p$_i.err"
		 echo $? >"$_out.p$_i.rc") &
		_pids="$_pids $!"
		_i=$((_i + 1))
	done
	for _p in $_pids; do wait "$_p"; done
}
# parts_ok N OUTDIR DESC: every part exited 0 with nothing on stderr, and its stub names it.
parts_ok() {
	_i=1 _bad=""
	while [ "$_i" -le "$1" ]; do
		[ "$(cat "$2.p$_i.rc")" = 0 ] && [ ! -s "$2.p$_i.err" ] &&
			$PY -c 'import json, sys
r = json.loads(open(sys.argv[1]).readline())
sys.exit(r.get("part") != {"index": int(sys.argv[2]), "count": int(sys.argv[3])})' \
				"$2.p$_i.out" "$_i" "$1" || _bad="$_bad $_i"
		_i=$((_i + 1))
	done
	if [ -z "$_bad" ]; then ok "$3"; else
		fail "$3: parts$_bad"; cat "$2".p*.err | head -n 10 | sed 's/^/#   /'
	fi
}
# level0_same A B DESC: the stores' level 0 and metadata are the same bytes.
level0_same() {
	if diff -r -x '*.chunks*' -x '*.json' -x '.zattrs' -x 1 -x 2 -x 3 "$1" "$2" >/dev/null &&
	    cmp -s "$1/0/.zarray" "$2/0/.zarray" 2>/dev/null ||
	    cmp -s "$1/0/zarr.json" "$2/0/zarr.json" 2>/dev/null; then ok "$3"; else
		fail "$3"; diff -r -x '*.chunks*' "$1" "$2" 2>&1 | head -n 10 | sed 's/^/#   /'
	fi
}

# 2. A TIFF stack by planes, 8 parts at once, three times over (a race shows now and then).
run fetch-epfl $OPTS -o whole1 --url "$URL" --levels 1
expect_rc 0 "the whole volume in one run (level 0 alone)"
run fetch-epfl $OPTS -o whole --url "$URL"
expect_rc 0 "the whole volume in one run (with its pyramid)"
for round in 1 2 3; do
	starts 8 fetch-epfl "r$round" $OPTS --url "$URL"
	parts_ok 8 "r$round" "round $round: 8 parts at once, every one exits 0 silently, its stub names its part"
	level0_same whole1/v.zarr "r$round/v.zarr" "round $round: level 0 and metadata are the whole run's"
	for f in .zgroup .zattrs em-manifest.json; do
		expect_same whole1/v.zarr/$f "r$round/v.zarr/$f" "round $round: $f is the whole run's"
	done
	n=$(ls "r$round"/v.part-*-of-8.json 2>/dev/null | wc -l)
	[ "$n" -eq 8 ] && ok "round $round: eight part records" || fail "round $round: $n part records"
	[ ! -e "r$round/v.json" ] && ok "round $round: no volume record from the parts" ||
		fail "round $round: a part wrote the volume record"
done
run em-validate r1.p1.out r1.p2.out r1.p3.out r1.p4.out r1.p5.out r1.p6.out r1.p7.out r1.p8.out
expect_rc 0 "the parts' stubs are valid records (schemas/metadata_schema.json)"
em-downsample $CONF -q r1/v.zarr
if same_store whole/v.zarr r1/v.zarr; then ok "em-downsample over the parts' store gives the whole run's pyramid"
else fail "em-downsample over the parts' store differs from the whole run"; fi

# A part run again finds its chunks (units 15..21 of 60) and writes none.
run fetch-epfl $CONF --chunks 8,32,32 --compressor zlib --level 1 -j 2 -o r2 --url "$URL" \
	--part 3/8 -v
expect_rc 0 "part 3/8 again"
expect_grep ": 0 chunks written, 7 already present" "$SCRATCH/err" "part 3/8 again writes nothing"
# More parts than chunk rows: some parts own no plane at all.
starts 12 fetch-epfl many $OPTS --url "$URL" --chunks 8,96,128
parts_ok 12 many "12 parts of 5 units: the parts without one finish too"
run fetch-epfl $OPTS -o whole5 --url "$URL" --chunks 8,96,128 --levels 1
level0_same whole5/v.zarr many/v.zarr "12 parts of 5 units: level 0 as one run writes it"

# 3. Zarr v3 shards: the unit is a shard, never split between parts.
V3="--zarr-format 3 --shard 16,64,64"
run fetch-epfl $OPTS $V3 -o w3 --url "$URL" --levels 1
expect_rc 0 "the whole volume as Zarr v3 shards"
starts 5 fetch-epfl p3 $OPTS $V3 --url "$URL"
parts_ok 5 p3 "5 parts of a sharded store at once"
level0_same w3/v.zarr p3/v.zarr "sharded: level 0 and metadata are the whole run's"
expect_same w3/v.zarr/zarr.json p3/v.zarr/zarr.json "sharded: the group's zarr.json is the whole run's"

# 4. A block source: fetch-zarr over HTTP, 4 parts at once.
start_origin main --root "$SCRATCH/www"
ZOPTS="$CONF --chunks 8,32,32 --compressor zstd -j 2 -q --id arr"
run fetch-zarr $ZOPTS -o zw --levels 1 "${ORIGIN_URL}arr.zarr"
expect_rc 0 "fetch-zarr: the whole array in one run"
n1=$(grep -c 'arr.zarr/[0-9]' "$ORIGIN_LOG")
starts 4 fetch-zarr zp $ZOPTS "${ORIGIN_URL}arr.zarr"
parts_ok 4 zp "fetch-zarr: 4 parts at once"
level0_same zw/arr.zarr zp/arr.zarr "fetch-zarr: level 0 and metadata are the whole run's"
expect_same zw/arr.zarr/em-manifest.json zp/arr.zarr/em-manifest.json "fetch-zarr: the manifest is the whole run's"
# Each part fetches just the source chunks that touch one of its own chunks (the
# store's units, C order, split floor((I-1)U/N) .. floor(IU/N)): counted here.
n2=$(($(grep -c 'arr.zarr/[0-9]' "$ORIGIN_LOG") - n1))
want=$($PY - <<'PYEOF'
import itertools, math
shape, src, ch, n = (37, 70, 90), (10, 20, 30), (8, 32, 32), 4
g = [math.ceil(s / c) for s, c in zip(shape, ch)]
units = list(itertools.product(*map(range, g)))
total = 0
for i in range(1, n + 1):
    lo, hi = len(units) * (i - 1) // n, len(units) * i // n
    need = set()
    for u in units[lo:hi]:
        rng = [range(u[d] * ch[d] // src[d], (min(shape[d], (u[d] + 1) * ch[d]) - 1) // src[d] + 1)
               for d in range(3)]
        need.update(itertools.product(*rng))
    total += len(need)
print(total)
PYEOF
)
if [ "$n1" -eq 48 ] && [ "$n2" -eq "$want" ]; then
	ok "the parts fetched $n2 source chunks, those touching their own ($want; one run $n1)"
else
	fail "the parts fetched $n2 source chunks, expected $want (one run $n1, expected 48)"
fi

done_testing
