#!/bin/sh
# downsample-part.sh - em-downsample --level K --part I/N: the parts of each level, all started
# at once, level after level, give the store a plain em-downsample run gives (and the fetcher's
# same-pass pyramid), byte for byte: Zarr v2 chunks and v3 shards, uint8 and uint16; the level
# is listed only when its last part is done, each part leaves a part record, and the units of
# the parts' records partition the level; a level whose source level is not whole is refused;
# bad --part and --level values, a method that differs from the level's other parts and a
# --max-memory too small are refused, nothing written; a killed part is finished by a re-run
# and the same part twice at once is refused; em-meta --merge gives the same record over
# either pyramid.
# The harness is sourced by its path at run time; in "test && ok || fail", ok never fails.
# shellcheck disable=SC1091,SC2015
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
$PY -c 'import zarr, numpy, tifffile' 2>/dev/null ||
	skip "python3-zarr, python3-numpy and python3-tifffile are needed (make deps)"
cd "$SCRATCH" || exit 1
CFG=$TOP/config/config.yaml

$PY - <<'EOF' || fail "test data"
import numpy as np, tifffile
rng = np.random.default_rng(21)
# Odd sizes: the levels' edges are cut, z halves only while y and x do.
tifffile.imwrite("u16.tif", rng.integers(0, 4000, (37, 150, 170), dtype=np.uint16),
                 photometric="minisblack")
a = rng.integers(0, 256, (37, 150, 170), dtype=np.uint8)
a[:, :60] %= 3      # few values: modes and their ties are real
tifffile.imwrite("u8.tif", a, photometric="minisblack")
EOF

# snapshot DIR: every file under DIR with its checksum, and every directory (the stores'
# lock files beside them included: a run that takes a lock writes its pid there).
snapshot() { (cd "$1" && find . -exec cksum {} + 2>/dev/null | sort; find . -type d | sort); }
# same_bytes A B DESC: the stores hold the same files, byte for byte (metadata included),
# but for level 0's chunk journals (one a whole run, one a part, as the fetchers keep them).
# A listed level keeps no part record and no journal of its parts.
same_bytes() {
	if diff -r -x '0.chunks' -x '0.chunks.*' "$1" "$2" >diff.out 2>&1
	then ok "$3"; else fail "$3"; head -n 10 diff.out | sed 's/^/#   /'; fi
}
# nlevels STORE: how many levels the group lists.
nlevels() {
	$PY - "$1" <<'EOF'
import json, os, sys
p = os.path.join(sys.argv[1], ".zattrs")
if os.path.exists(p):
    ms = json.load(open(p))["multiscales"]
else:
    ms = json.load(open(os.path.join(sys.argv[1], "zarr.json")))["attributes"]["ome"]["multiscales"]
print(len(ms[0]["datasets"]))
EOF
}
# parts N STORE K [ARGS...]: parts 1..N of level K at once; part I's stderr in STORE.K.I.err,
# its exit status in STORE.K.I.rc.  Then: did all exit 0, silently?
parts() {
	_n=$1 _s=$2 _k=$3
	shift 3
	_i=1 _pids=""
	while [ "$_i" -le "$_n" ]; do
		(em-downsample --config "$CFG" -q -j 2 "$@" --level "$_k" --part "$_i/$_n" "$_s" \
			2>"$_s.$_k.$_i.err"; echo $? >"$_s.$_k.$_i.rc") &
		_pids="$_pids $!"
		_i=$((_i + 1))
	done
	for _p in $_pids; do wait "$_p"; done
	_i=1 _bad=""
	while [ "$_i" -le "$_n" ]; do
		{ [ "$(cat "$_s.$_k.$_i.rc")" = 0 ] && [ ! -s "$_s.$_k.$_i.err" ]; } || _bad="$_bad $_i"
		_i=$((_i + 1))
	done
	[ -z "$_bad" ] || { cat "$_s.$_k".*.err | head -n 5 | sed 's/^/#   /'; return 1; }
}
# units_partition STORE PATH N [M]: the part records of level PATH's parts 1..M of N (M
# default N): complete, their units [first, end) one after the other from 0 (to the level's
# count when M is N), their chunks adding up to the level's chunk count when M is N (read
# with zarr-python, v2; v3 from zarr.json).
units_partition() {
	$PY - "$@" <<'EOF'
import json, math, os, sys
s, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
upto = int(sys.argv[4]) if len(sys.argv) > 4 else n
p = os.path.join(s, path)
if os.path.exists(os.path.join(p, ".zarray")):
    m = json.load(open(os.path.join(p, ".zarray")))
    shape, chunks = m["shape"], m["chunks"]
else:
    m = json.load(open(os.path.join(p, "zarr.json")))
    shape = m["shape"]
    chunks = m["codecs"][0]["configuration"]["chunk_shape"]
nchunks = math.prod(math.ceil(a / c) for a, c in zip(shape, chunks))
end, total = 0, 0
for i in range(1, upto + 1):
    r = json.load(open(os.path.join(s, "%s.part-%d-of-%d.json" % (path, i, n))))
    assert r["tool"] == "em-downsample" and r["status"] == "complete", r
    assert r["part"] == {"index": i, "count": n} and r["path"] == path, r
    assert r["units"][0] == end and r["units"][1] >= end, (i, r["units"], end)
    end = r["units"][1]
    total += r["chunks"]
    units = r["units"][2]
if upto == n:
    assert end == units, (end, units)
    assert total == nchunks, (total, nchunks)
print(upto, "parts", units, "units", nchunks, "chunks")
EOF
}

# 1. v2 and v3 (shards), uint8 (mode) and uint16 (mean): the parts of each level at once.
for dt in u16 u8; do
	for fmt in v2 v3; do
		t=$dt-$fmt
		opts="--config $CFG -q -j 2 --chunks 8,32,32 --compressor zlib --level 1"
		[ $fmt = v3 ] && opts="$opts --zarr-format 3 --shard 16,64,64"
		mkdir -p "$t" && cd "$t" || exit 1
		# Each store made in a directory of the same name, so their manifests agree.
		for d in same base; do
			# shellcheck disable=SC2086 # options, as words
			fetch-epfl $opts -o $d --url "file://$SCRATCH/$dt.tif" \
				"$([ $d = base ] && echo --levels=1 || echo --levels=auto)" >/dev/null ||
				fail "$t: fetch-epfl into $d"
		done
		cp -R base plain && cp -R base split
		em-downsample --config "$CFG" -q -j 2 plain/$dt.zarr || fail "$t: plain em-downsample"
		L=$(nlevels plain/$dt.zarr)
		[ "$L" -ge 3 ] && ok "$t: a plain run lists $L levels" || fail "$t: $L levels"
		k=1 bad=""
		while [ "$k" -lt "$L" ]; do
			parts 4 split/$dt.zarr $k || bad="$bad $k"
			[ "$(nlevels split/$dt.zarr)" = $((k + 1)) ] || bad="$bad listed-$k"
			k=$((k + 1))
		done
		[ -z "$bad" ] && ok "$t: 4 parts of each level at once, level after level, exit 0 silently and list it" ||
			fail "$t: levels$bad"
		same_bytes plain/$dt.zarr split/$dt.zarr "$t: the parts' store is the plain run's, byte for byte"
		same_bytes same/$dt.zarr split/$dt.zarr "$t: and the fetcher's same-pass pyramid"
		# Parts 1 to 3 of level 1 again, on a fresh copy: their records partition the level's
		# first units; the fourth part lists the level, and the records and journals go.
		cp -R base rec
		for i in 1 2 3; do
			em-downsample --config "$CFG" -q -j 2 --level 1 --part "$i/4" rec/$dt.zarr ||
				fail "$t: part $i of level 1"
		done
		if units_partition rec/$dt.zarr 1 4 3 >units.out 2>&1 && [ -e rec/$dt.zarr/1.chunks.2 ]; then
			ok "$t: parts 1-3 of level 1: records that partition its first units, and journals ($(cat units.out))"
		else fail "$t: part records: $(tail -n 1 units.out)"; fi
		em-downsample --config "$CFG" -q -j 2 --level 1 --part 4/4 rec/$dt.zarr || fail "$t: part 4 of level 1"
		left=$(cd rec/$dt.zarr && ls -d 1.part-* 1.chunks* 2>/dev/null)
		[ -z "$left" ] && ok "$t: the last part lists the level; its parts' records and journals are gone" ||
			fail "$t: left after the level was listed: $left"
		cd "$SCRATCH" || exit 1
	done
done

# 2. More parts than units: level 2 of u16-v3 is one shard; 7 parts, 6 own nothing.
cp -R u16-v3/base many
parts 3 many/u16.zarr 1 && parts 7 many/u16.zarr 2 && ok "7 parts of a one-shard level: each exits 0" ||
	fail "7 parts of a one-shard level"
[ -z "$(cd many/u16.zarr && ls -d 2.part-* 2.chunks* 2>/dev/null)" ] &&
	ok "the seven parts' records and journals are gone once the level is listed" ||
	fail "records of 7 parts left: $(cd many/u16.zarr && ls -d 2.part-* 2.chunks* 2>/dev/null)"
same_bytes u16-v3/plain/u16.zarr many/u16.zarr "any N per level: the plain run's store"

# 3. A level is listed once every part is done; the next level waits for it.
cp -R u16-v2/base wait
S=wait/u16.zarr
for i in 1 3 2; do
	em-downsample --config "$CFG" -q --level 1 --part "$i/4" "$S" || fail "part $i/4 of level 1"
done
[ "$(nlevels "$S")" = 1 ] && ok "3 parts of 4 done: level 1 is not listed" || fail "level 1 listed early"
snapshot wait >before
run em-downsample --config "$CFG" --level 2 --part 1/2 "$S"
expect_rc 1 "level 2 before level 1 is whole"
expect_grep "^em-downsample: '$S': level 2 is built from level 1, which is not complete (the group lists levels 0 to 0): build level 1 first" \
	err "the message names the store, both levels and what to do"
snapshot wait >after
expect_same before after "nothing written"
run em-downsample --config "$CFG" -v --level 1 --part 4/4 "$S"
expect_rc 0 "the last part of level 1"
expect_grep "level 1 part 4/4 done (units \[20, 27) of 27: 7 chunks written, 0 there already); 4 of its 4 parts done: the level is listed" \
	err "the last part says it listed the level"
[ "$(nlevels "$S")" = 2 ] && ok "level 1 is listed" || fail "level 1 is not listed"
snapshot wait >before
run em-downsample --config "$CFG" -v --level 1 --part 2/4 "$S"
expect_rc 0 "a part of a listed level again"
expect_grep "level 1 is complete already (the group lists it)" err "says so"
snapshot wait >after
expect_same before after "and writes nothing"
run em-downsample --config "$CFG" -q --level 2 "$S"
expect_rc 0 "--level 2 without --part: the whole level"
[ "$(nlevels "$S")" = 3 ] && ok "lists it" || fail "level 2 not listed"
em-downsample --config "$CFG" -q "$S" || fail "plain run over the rest"
same_bytes u16-v2/plain/u16.zarr "$S" "parts, then one level whole, then the rest: the plain run's store"

# 4. A source level with a chunk missing: the part that reads it is refused, nothing written.
cp -R u8-v2/base hole
rm hole/u8.zarr/0/2/1/1
snapshot hole >before
run em-downsample --config "$CFG" --level 1 --part 2/4 hole/u8.zarr
expect_rc 1 "a part over a missing chunk of level 0"
expect_grep "^em-downsample: 'hole/u8.zarr': level 0 ('0') is not complete: chunk '0/2/1/1' and 0 more this part reads are missing" \
	err "the message names the level and the chunk"
snapshot hole >after
expect_same before after "nothing written"
run em-downsample --config "$CFG" -q --level 1 --part 4/4 hole/u8.zarr
expect_rc 0 "a part that reads only whole chunk rows goes on"
cp -R u16-v3/base hole3
rm hole3/u16.zarr/0/c/0/1/0
run em-downsample --config "$CFG" --level 1 --part 1/4 hole3/u16.zarr
expect_rc 1 "v3: a part over a missing shard"
expect_grep "level 0 ('0') is not complete: shard '0/c/0/1/0'" err "names the shard"

# 5. Bad input: a usage error or a refusal naming it, nothing written.
cp -R u16-v2/base bad
snapshot bad >before
for v in 5/4 0/0 1/ x; do
	run em-downsample --config "$CFG" --level 1 --part "$v" bad/u16.zarr
	expect_rc 2 "--part $v is a usage error"
	expect_grep "^em-downsample: --part: '$v'" err "--part $v: the message names the option"
done
run em-downsample --config "$CFG" --part 1/2 bad/u16.zarr
expect_rc 2 "--part without --level is a usage error"
expect_grep "^em-downsample: --part needs --level K" err "saying so"
for v in 0 24 x; do
	run em-downsample --config "$CFG" --level "$v" --part 1/2 bad/u16.zarr
	expect_rc 2 "--level $v is a usage error"
	expect_grep "^em-downsample: bad --level" err "--level $v: the message names the option"
done
run em-downsample --config "$CFG" --level 3 --part 1/2 bad/u16.zarr
expect_rc 1 "--level past the pyramid"
expect_grep "'bad/u16.zarr': --level 3 is past its pyramid: it has levels 1 to 2 to build" err \
	"names the levels there are"
run em-downsample --config "$CFG" --levels 1 --level 1 --part 1/2 bad/u16.zarr
expect_rc 1 "--level with --levels 1"
expect_grep "level 0 alone (--levels), no level to build" err "says there is none"
run em-downsample --config "$CFG" --max-memory 10K --level 1 --part 1/2 bad/u16.zarr
expect_rc 1 "a part whose slabs do not fit --max-memory"
expect_grep "'bad/u16.zarr': part 1 of 2 of level 1 needs at least .* of memory, more than --max-memory 10" \
	err "names the memory it needs"
snapshot bad >after
expect_same before after "nothing written by any of them"
# Parts of one level made by two methods: the second is refused before it writes.
cp -R u16-v2/base mix
em-downsample --config "$CFG" -q --downsample mode --level 1 --part 1/2 mix/u16.zarr ||
	fail "part 1/2 by mode"
snapshot mix >before
run em-downsample --config "$CFG" --level 1 --part 2/2 mix/u16.zarr
expect_rc 1 "part 2/2 by mean beside part 1/2 by mode"
expect_grep "'mix/u16.zarr': part 1 of 2 of level 1 was made by mode, this one by mean: one level never mixes two methods" \
	err "is refused, naming both methods"
snapshot mix >after
expect_same before after "nothing written"
em-downsample --help | grep -q -e '--level K \[--part I/N\]' && ok "--help names --level and --part" ||
	fail "--help does not name --part"

# 6. A part killed midway is finished by a re-run; the same part twice at once is refused.
cp -R u16-v2/base killed
S=killed/u16.zarr
printf 'development:\n  testing:\n    chunk_delay_ms: 300\n' >slow.yaml
em-downsample --config slow.yaml -q -j 1 --level 1 --part 1/2 "$S" &
pid=$!
n=0 tries=0
while [ "$n" -lt 3 ] && [ "$tries" -lt 400 ]; do
	sleep 0.05
	tries=$((tries + 1))
	n=$(find "$S"/1 -type f ! -name '*.tmp.*' ! -name .zarray 2>/dev/null | wc -l)
done
run em-downsample --config "$CFG" --level 1 --part 1/2 "$S"
expect_rc 1 "the same part while it runs"
expect_grep "is being written by pid $pid" err "is refused, naming the holder"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# What the killed part journaled (a chunk renamed but not yet journaled is written again).
n=$(wc -l <"$S"/1.chunks.0)
[ "$n" -ge 2 ] && [ "$n" -lt 13 ] && ok "killed midway ($n of 13 chunks)" || fail "not midway: $n chunks"
[ ! -e "$S"/1.part-1-of-2.json ] && ok "a killed part leaves no part record" || fail "a record of a killed part"
run em-downsample --config "$CFG" -v --level 1 --part 1/2 "$S"
expect_rc 0 "the part again"
expect_grep "level 1 part 1/2 done (units \[0, 13) of 27: $((13 - n)) chunks written, $n there already); 1 of its 2 parts done" \
	err "writes only the chunks the killed run did not"
em-downsample --config "$CFG" -q --level 1 --part 2/2 "$S" && em-downsample --config "$CFG" -q --level 2 --part 1/1 "$S" ||
	fail "the rest"
same_bytes u16-v2/plain/u16.zarr "$S" "the store is the plain run's"
left=$(find killed -name '*.tmp.*' | wc -l)
[ "$left" -eq 0 ] && ok "no temporary files left" || fail "$left temporary files left"

# 6b. Parts on two machines (here: two pid namespaces): a part that starts while another
# holds a temporary chunk file does not take it for a dead run's leftover, though the other's
# pid means nothing where it runs (the temporary names say where they were made).
if unshare -p -f true 2>/dev/null; then
	cp -R u16-v2/base twohost
	S=twohost/u16.zarr
	printf 'development:\n  testing:\n    chunk_delay_ms: 500\n' >slower.yaml
	em-downsample --config slower.yaml -q -j 1 --level 1 --part 1/2 "$S" 2>twohost.1.err &
	pid=$!
	tries=0
	while [ -z "$(find "$S"/1 -name '*.tmp.*' 2>/dev/null)" ] && [ "$tries" -lt 400 ]; do
		sleep 0.02
		tries=$((tries + 1))
	done
	held=$(find "$S"/1 -name '*.tmp.*' | head -n 1)
	unshare -p -f em-downsample --config "$CFG" -q --level 1 --part 2/2 "$S" 2>twohost.2.err
	rc2=$?
	# Kept, or renamed into place by its writer since (a slow machine): not removed.
	[ -n "$held" ] && { [ -e "$held" ] || [ -e "${held%%.tmp.*}" ]; } &&
		ok "the other part's temporary file is kept" ||
		fail "the other part's temporary file '${held:-none}' was removed"
	wait "$pid"
	rc1=$?
	[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ ! -s twohost.1.err ] && [ ! -s twohost.2.err ] &&
		ok "both parts finish, silently" ||
		fail "parts exited $rc1 and $rc2: $(cat twohost.1.err twohost.2.err | head -n 2)"
	em-downsample --config "$CFG" -q --level 2 --part 1/1 "$S" || fail "level 2 over the two hosts' level 1"
	same_bytes u16-v2/plain/u16.zarr "$S" "two hosts' parts: the store is the plain run's"
else
	echo "# skipped: parts on two machines (unshare -p, a pid namespace of its own, is not permitted here)"
fi

# 7. em-meta --merge over fetcher parts: the same record (levels, their sha256, statistics)
# whether the pyramid was built by one em-downsample run or by parts.
for d in m1 m2; do
	(mkdir "$d" && cd "$d" && i=1 && while [ "$i" -le 3 ]; do
		fetch-epfl --config "$CFG" -q -j 2 --chunks 8,32,32 -o d --url "file://$SCRATCH/u16.tif" \
			--part "$i/3" | em-meta -q >"p$i.json" || exit 1
		i=$((i + 1))
	done) || fail "fetch-epfl parts into $d"
done
em-downsample --config "$CFG" -q m1/d/u16.zarr || fail "plain em-downsample over the parts' store"
parts 2 m2/d/u16.zarr 1 && parts 2 m2/d/u16.zarr 2 || fail "em-downsample parts over the parts' store"
(cd m1 && em-meta -q --merge p1.json p2.json p3.json >merged.json) || fail "em-meta --merge m1"
(cd m2 && em-meta -q --merge p1.json p2.json p3.json >merged.json) || fail "em-meta --merge m2"
$PY - m1/merged.json m2/merged.json <<'EOF' >merge.out 2>&1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for k in ("status", "levels", "sha256", "statistics", "volume_shape", "chunk_size"):
    assert a.get(k) == b.get(k), k
assert a["status"] == "complete" and len(a["levels"]) == 3, (a["status"], len(a["levels"]))
assert all(len(l["sha256"]) == 64 for l in a["levels"])
print("ok")
EOF
grep -q '^ok' merge.out && ok "em-meta --merge: the same complete record, levels and their sha256 over either pyramid" ||
	fail "em-meta --merge: $(tail -n 2 merge.out)"

# 8. A group zarr-python wrote ("s0", '.' keys, blosc), anisotropic (40 nm z, 8 nm y/x: z is
# not halved at first): 3 parts a level give the plain run's levels s1.. byte for byte.
$PY - <<'EOF' || fail "zarr-python groups"
import numpy as np, zarr
a = np.random.default_rng(5).integers(0, 65535, (33, 70, 90), dtype=np.uint16)
for d in ("zp1.zarr", "zp2.zarr"):
    g = zarr.open_group(d, mode="w")
    g.create_dataset("s0", data=a, chunks=(8, 16, 16))
    g.attrs["multiscales"] = [{"version": "0.4", "name": "t",
        "axes": [{"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"],
        "datasets": [{"path": "s0", "coordinateTransformations": [
            {"type": "scale", "scale": [40.0, 8.0, 8.0]}]}]}]
EOF
# --plan: the levels the plan gives and those listed, before and after; nothing built.
run em-downsample --config "$CFG" --plan zp1.zarr zp2.zarr
expect_rc 0 "--plan exits 0"
printf '5 1 zp1.zarr\n5 1 zp2.zarr\n' >plan.want
expect_same plan.want "$SCRATCH/out" "--plan prints 'LEVELS LISTED STORE': 5 levels, 1 listed"
[ ! -e zp1.zarr/s1 ] && ok "--plan builds nothing" || fail "--plan built zp1.zarr/s1"
run em-downsample --config "$CFG" --plan --level 1 zp1.zarr
expect_rc 2 "--plan with --level: exit 2"
expect_grep "plan builds nothing: it takes no --level or --part" "$SCRATCH/err" "saying why"
em-downsample --config "$CFG" -q zp1.zarr || fail "plain run over a zarr-python group"
run em-downsample --config "$CFG" --plan zp1.zarr
echo "5 5 zp1.zarr" >plan.want
expect_same plan.want "$SCRATCH/out" "--plan after the run: 5 levels, 5 listed"
L=$(nlevels zp1.zarr) k=1 bad=""
while [ "$k" -lt "$L" ]; do
	parts 3 zp2.zarr $k || bad="$bad $k"
	k=$((k + 1))
done
[ "$L" -eq 5 ] && [ -z "$bad" ] && ok "zarr-python group: 3 parts of each of its 4 levels" ||
	fail "zarr-python group: $L levels, failed$bad"
same_bytes zp1.zarr zp2.zarr "zarr-python group, anisotropic: the plain run's levels s1 to s4, byte for byte"

done_testing
