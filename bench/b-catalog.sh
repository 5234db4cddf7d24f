# b-catalog.sh - em-catalog on 100,000 records: a query by modality and voxel size against jq
# over em-consolidate's JSON catalog of the same records, and load into SQLite (records/s).
. "$(dirname "$0")/lib.sh"

n=${B_CATALOG_RECORDS:-100000}
records=$BENCH_DIR/catalog_$n.jsonl
db=$BENCH_DIR/catalog_$n.db
export EM_SCHEMA="$TOP/schemas/metadata_schema.json"
if [ ! -s "$records" ]; then
	$PY - "$n" "$TOP/t/data/records/valid-complete-empiar.json" >"$records.tmp" <<'PY' &&
import copy, json, random, sys
n, t = int(sys.argv[1]), json.load(open(sys.argv[2]))
r = random.Random(5)
for i in range(n):
    x = copy.deepcopy(t)
    x["source"] = r.choice(["empiar", "epfl", "dvid", "idr", "openorganelle"])
    x["id"] = "v%06d" % i
    x["modality"] = r.choice(["FIB-SEM", "SBF-SEM", "ssTEM", "cryo-ET"])
    x["voxel_size_nm"] = [r.choice([2.96, 4, 5, 8, 10, 20, 50]), 8, 8]
    x["volume_shape"] = [r.randint(1, 4096) for _ in range(3)]
    x["file_size_bytes"] = r.randint(0, 10**12)
    h = x["statistics"]["histogram"]
    h["bins"], h["width"], h["counts"] = 16, 16, [r.randint(0, 10**6) for _ in range(16)]
    x["status_history"][-1]["time"] = "2026-%02d-%02dT03:11:21.111Z" % (r.randint(1, 12), r.randint(1, 28))
    print(json.dumps(x, separators=(",", ":")))
PY
	mv "$records.tmp" "$records" || exit 1
fi
nrec=$(wc -l <"$records")

# (The records are the schema's complete example with a 16-bin histogram, about 1.7 kB each:
# with em-meta's 256 bins 100,000 records are 500 MB, and em-consolidate's catalog of them
# would not fit in memory beside the other benchmarks.)
# load: a fresh SQLite catalog, one transaction, every record validated first.
rm -f "$db" "$db-wal" "$db-shm"
timed catalog-load em-catalog load -q --db "sqlite:$db" "$records" || exit 1
rate=$(awk -v n="$nrec" -v s="$SECS" 'BEGIN { printf "%.1f", n / s }')
row "catalog load $n (records/s)" "$rate" "target 5000 records/s" 5000 "$RSS_MB" 1

# The JSON catalog of the same records, as em-consolidate writes it (made once).
catalog=$(ls "$BENCH_DIR"/catalog_json_"$n"/metadata_catalog_*.json 2>/dev/null | head -n 1)
if [ -z "$catalog" ]; then
	rm -rf "$BENCH_DIR/catalog_json_$n"
	em-consolidate -q -o "$BENCH_DIR/catalog_json_$n" "$records" >/dev/null 2>&1
	catalog=$(ls "$BENCH_DIR"/catalog_json_"$n"/metadata_catalog_*.json 2>/dev/null | head -n 1)
	[ -n "$catalog" ] || { echo "bench: em-consolidate made no catalog" >&2; exit 1; }
fi
bytes=$(wc -c <"$catalog")
timed catalog-query em-catalog query --db "sqlite:$db" --json --modality FIB-SEM --voxel-z 4:10 ||
	exit 1
ours=$(mbps "$bytes" "$SECS")
rss=$RSS_MB
ours_n=$(wc -l <"$BENCH_DIR/catalog-query.out")
timed catalog-jq jq -c '.records[] | select(.modality == "FIB-SEM" and .voxel_size_nm[0] >= 4
    and .voxel_size_nm[0] <= 10)' "$catalog" || exit 1
jq_n=$(wc -l <"$BENCH_DIR/catalog-jq.out")
[ "$ours_n" -eq "$jq_n" ] || { echo "bench: query found $ours_n records, jq $jq_n" >&2; exit 1; }
row "catalog query modality+voxel ($ours_n)" "$ours" "jq over the JSON catalog" \
	"$(mbps "$bytes" "$SECS")" "$rss" 50
