# em-meta.sh - em-meta checksums and measures stores exactly as numpy does, writes the
# complete record beside the store, and turns a missing, incomplete or corrupt store into
# a failed record while going on with the other stubs.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy' 2>/dev/null || skip "python3-zarr and python3-numpy are needed (make deps)"
cd "$SCRATCH" || exit 1

# stub SOURCE ID STORE [STATUS]: a fetcher's stub for a store.
stub() {
	printf '{"schema_version":1,"id":"%s","source":"%s","status":"%s","status_history":[{"status":"processing","time":"2026-11-24T03:00:00.000Z"},{"status":"saving-data","time":"2026-11-24T03:00:01.000Z"}],"internal_zarr_path":"%s"}\n' \
		"$2" "$1" "${4:-saving-data}" "$3"
}

# What numpy says of a store: sha256, min, max, mean, std, fill fraction, shape.
numpy_facts() {
	$PY - "$1" <<'PYEOF'
import hashlib, sys, zarr, numpy as np
a = zarr.open(sys.argv[1], mode="r")
if isinstance(a, zarr.hierarchy.Group):
    a = a["0"]
v = a[...]
le = v.astype(v.dtype.newbyteorder("<"), copy=False)
fill = a.fill_value if a.fill_value is not None else 0
shape = list(v.shape) if v.ndim == 3 else [1] + list(v.shape)
print(hashlib.sha256(np.ascontiguousarray(le).tobytes()).hexdigest(), repr(float(v.min())),
      repr(float(v.max())), "%.12g" % float(v.astype(np.float64).mean()),
      "%.12g" % float(v.astype(np.float64).std()), "%.12g" % float((v == fill).mean()),
      ",".join(map(str, shape)))
PYEOF
}

# The same facts from em-meta's record (first line of $1).
record_facts() {
	$PY - "$1" <<'PYEOF'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
s = r["statistics"]
print(r["sha256"], repr(float(s["min"])), repr(float(s["max"])), "%.12g" % s["mean"],
      "%.12g" % s["std"], "%.12g" % s["fill_fraction"], ",".join(map(str, r["volume_shape"])))
PYEOF
}

# 1. Stores of every dtype and codec, with edge chunks, checked against numpy.
i=0
for spec in uint8:zstd:30,41,52:16,16,16 int8:zlib:9,9,9:4,4,4 uint16:gzip:17,20,23:8,8,8 \
	int16:blosc-lz4:12,12,12:5,7,9 uint32:raw:5,6,7:2,3,4 int32:blosc-zstd:8,8,8:8,8,8 \
	uint64:zstd:3,4,5:2,2,2 int64:zlib:4,4,4:3,3,3 float32:zstd:10,11,12:4,4,4 \
	float64:gzip:6,7,8:4,4,4; do
	IFS=: read -r dt codec shape chunks <<EOF2
$spec
EOF2
	i=$((i + 1))
	$PY -c "
import numpy as np, sys
shape = tuple(map(int, '$shape'.split(',')))
rng = np.random.default_rng($i)
dt = np.dtype('$dt')
if dt.kind == 'f':
    v = (rng.standard_normal(shape) * 1000 + 5e5).astype(dt)
else:
    info = np.iinfo(dt)
    v = rng.integers(max(info.min, -2**40), min(info.max, 2**40), size=shape, dtype=dt, endpoint=True)
    v.flat[::7] = 0
v.tofile('v$i.raw')
"
	zarrtool write --dtype "$dt" --shape "$shape" --chunks "$chunks" --codec "$codec" \
		"v$i.raw" "data/idr/v$i.zarr" >/dev/null 2>&1 || fail "zarrtool cannot write v$i ($spec)"
	stub idr "v$i" "data/idr/v$i.zarr" >"stub$i"
	run em-meta "stub$i"
	expect_rc 0 "em-meta $spec exits 0"
	numpy_facts "data/idr/v$i.zarr" >want
	record_facts "$SCRATCH/out" >got
	expect_same want got "em-meta $spec: sha256, min, max, mean, std, fill share, shape as numpy"
	# The record beside the store is the one printed.
	$PY -c "import json,sys; a=json.load(open('data/idr/v$i.json')); b=json.loads(open('$SCRATCH/out').readline()); sys.exit(a != b)" ||
		fail "data/idr/v$i.json differs from the record on stdout"
	grep -q '"status":"complete"' "$SCRATCH/out" || fail "$spec: status is not complete"
	grep -q "\"compression\":{\"codec\":\"$codec\"" "$SCRATCH/out" ||
		fail "$spec: compression is not $codec"
done

# 2. Stores written by other software: their sha256 is the one in EXPECTED.md.
if [ -d "$TESTDATA/zarr2" ]; then
	n=0
	for s in "$TESTDATA"/zarr2/*.zarr "$TESTDATA"/zarr2/*.zr/*; do
		[ -f "$s/.zarray" ] || continue
		rel=${s#"$TESTDATA"/}
		# The row's sha256 column: 16 or more hex digits between backquotes.
		want=$(grep -F "| \`$rel\` |" "$TESTDATA/EXPECTED.md" | head -n 1 |
			grep -o '`[0-9a-f]\{16,64\}' | head -n 1 | tr -d '`')
		[ -n "$want" ] || { echo "# no expectation for $rel (a store the reference reader refuses)"; }
		n=$((n + 1))
		rm -rf data/openorganelle && mkdir -p data/openorganelle
		cp -r "$s" "data/openorganelle/t$n.zarr"
		stub openorganelle "t$n" "data/openorganelle/t$n.zarr" >stub
		run em-meta --allow-missing stub
		case $rel in
		*bz2*|*zfpy*|*pcodec*)
			codec=$(echo "$rel" | sed 's/.*array_\([a-z0-9]*\)_.*/\1/')
			expect_rc 1 "$rel: unsupported codec refused"
			expect_grep "unsupported compressor '$codec'" "$SCRATCH/err" "$rel: the message names '$codec'"
			grep -q '"status":"failed"' "$SCRATCH/out" || fail "$rel: record is not failed"
			continue ;;
		esac
		expect_rc 0 "$rel read"
		got=$(sed 's/.*"sha256":"\([0-9a-f]*\)".*/\1/' "$SCRATCH/out")
		case $got in
		"$want"*) ok "$rel sha256 matches EXPECTED.md" ;;
		*) fail "$rel sha256 $got, EXPECTED.md says $want" ;;
		esac
	done
	[ "$n" -ge 10 ] || fail "only $n shared Zarr v2 stores found"
else
	echo "# skipped: no shared test data at $TESTDATA/zarr2"
fi

# 3. Failures: each gives a failed record naming the reason; the other stubs still run.
cp -r data/idr/v1.zarr data/idr/trunc.zarr
chunk=$(find data/idr/trunc.zarr/0 -type f -name '0' | head -n 1)
head -c 20 "$chunk" >"$chunk.cut" && mv "$chunk.cut" "$chunk"
cp -r data/idr/v1.zarr data/idr/corrupt.zarr
chunk=$(find data/idr/corrupt.zarr/0 -type f -name '1' | head -n 1)
printf 'garbage garbage garbage garbage' >"$chunk"
cp -r data/idr/v1.zarr data/idr/holes.zarr
rm -f "$(find data/idr/holes.zarr/0 -type f -name '1' | head -n 1)"
{
	stub idr missing data/idr/missing.zarr
	stub idr trunc data/idr/trunc.zarr
	stub idr corrupt data/idr/corrupt.zarr
	stub idr holes data/idr/holes.zarr
	stub idr v2 data/idr/v2.zarr
	stub idr early data/idr/v2.zarr processing
} >stubs
run em-meta stubs
expect_rc 1 "failures make the exit status 1"
[ "$(wc -l <"$SCRATCH/out")" -eq 6 ] || fail "not one record per stub: $(wc -l <"$SCRATCH/out")"
for id in missing trunc corrupt holes early; do
	grep "\"id\":\"$id\"" "$SCRATCH/out" | grep -q '"status":"failed"' ||
		fail "stub '$id' did not give a failed record"
	grep -q "\"status\": \"failed\"" "data/idr/$id.json" ||
		fail "data/idr/$id.json does not say failed"
done
grep '"id":"v2"' "$SCRATCH/out" | grep -q '"status":"complete"' ||
	fail "the good stub after the bad ones did not complete"
expect_grep "idr/missing: cannot read store 'data/idr/missing.zarr': 'data/idr/missing.zarr' does not exist$" \
	"$SCRATCH/err" "a missing store is named, and said not to exist"
expect_grep "idr/trunc: cannot read store 'data/idr/trunc.zarr'" "$SCRATCH/err" "a truncated chunk is named"
expect_grep "idr/holes: .*incomplete: 1 of [0-9]* chunks are missing" "$SCRATCH/err" "missing chunks are counted"
expect_grep "idr/early: record is 'processing'" "$SCRATCH/err" "an unfinished fetch is refused"
grep '"id":"holes"' "$SCRATCH/out" | grep -q '"error":"cannot read store' ||
	fail "the failed record carries the error"

# --allow-missing reads missing chunks as the fill value.
stub idr holes data/idr/holes.zarr >stub
run em-meta --allow-missing stub
expect_rc 0 "--allow-missing accepts missing chunks"

# 4. Bad input: malformed JSON and stubs that are not records.
printf '%s\n{"id": nope}\n' "$(stub idr v3 data/idr/v3.zarr)" >bad
run em-meta bad
expect_rc 1 "malformed JSON exits 1"
expect_grep "cannot read 'bad': bad: invalid JSON at line 2" "$SCRATCH/err" "the message names the input and line"
grep -q '"id":"v3"' "$SCRATCH/out" || fail "the stub before the malformed text was not enriched"
printf '[1,2]\n{"id":"x"}\n' | em-meta >/dev/null 2>err
[ $? -eq 1 ] || fail "non-records exit 1"
expect_grep "cannot enrich '<stdin>:1': not a record stub" err "a non-record is named by input and number"
run em-meta no-such-file
expect_rc 1 "an unreadable file exits 1"
expect_grep "cannot open 'no-such-file'" "$SCRATCH/err" "the unreadable file is named"

# 5. A failed stub from a fetcher passes through unchanged.
printf '{"schema_version":1,"id":"f","source":"dvid","status":"failed","error":"HTTP 503","status_history":[{"status":"processing","time":"2026-11-24T03:00:00.000Z"},{"status":"failed","time":"2026-11-24T03:00:01.000Z"}]}\n' >failed
run em-meta failed
expect_rc 0 "a failed stub is passed on"
$PY -c "import json,sys; sys.exit(json.load(open('failed')) != json.loads(open('$SCRATCH/out').read()))" ||
	fail "the failed stub was changed"

# 6. --max-memory too small for one row of chunks is refused with the size needed.
stub idr v1 data/idr/v1.zarr complete >stub
run em-meta --max-memory 1K stub
expect_rc 1 "a budget below one chunk row fails"
expect_grep "needs .* of memory for one row of chunks" "$SCRATCH/err" "the message gives the memory needed"

# 7. A complete record whose store was damaged since (a chunk cut short) does not stay
# complete: its complete run goes to previous_runs and the volume is failed until the
# fetcher repairs it.
cp -r data/idr/v1.zarr data/idr/hurt.zarr
stub idr hurt data/idr/hurt.zarr >stub
run em-meta stub
expect_rc 0 "em-meta completes the store"
c=$(find data/idr/hurt.zarr/0 -type f ! -name '.*' | sort | head -n 1)
head -c 7 "$c" >cut && cat cut >"$c"
stub idr hurt data/idr/hurt.zarr complete >stub
run em-meta stub
expect_rc 1 "em-meta over the damaged complete store fails"
expect_grep "re-run the fetcher" "$SCRATCH/err" "it says how to repair it"
$PY -c 'import json, sys
r = json.load(open("data/idr/hurt.json"))
assert r["status"] == "failed", r["status"]
assert "no longer holds the complete volume" in r["error"], r["error"]
assert [p["status"] for p in r["previous_runs"]] == ["complete"], r["previous_runs"]' &&
	ok "its record says failed, the complete run in previous_runs" || fail "the record still says complete"
done_testing
