# em-catalog.sh - em-catalog load and query on SQLite: upserts, validation, history, a failed
# re-run, idempotence, concurrent loads, filters against a reference, hostile input, errors.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/catalog.sh"
export EM_SCHEMA="$TOP/schemas/metadata_schema.json"
cd "$SCRATCH" || exit 1
DB=sqlite:$SCRATCH/c.db

# --- usage ---
run em-catalog
expect_rc 2 "no command: usage error"
run em-catalog frob
expect_rc 2 "unknown command: usage error"
expect_grep "unknown command 'frob'" err "unknown command named"
run em-catalog query --listen 127.0.0.1:1
expect_rc 2 "an option of another command: usage error"
run em-catalog query --db mysql://h/db
expect_rc 2 "a database URL of another kind: usage error"
run em-catalog query --db 'postgresql://em:s3cret@127.0.0.1:1/postgres'
expect_rc 2 "a password in the URL is refused"
expect_grep "PGPASSWORD" err "the refusal says where a password goes"
expect_nogrep "s3cret" err "the password is not repeated"
run em-catalog query --voxel-z 5
expect_rc 2 "a range without a colon: usage error"
expect_grep "voxel-z '5'" err "the bad filter is named"
run em-catalog query --sort nosuch
expect_rc 2 "an unknown sort field: usage error"
run em-catalog query --db "$DB"
expect_rc 1 "query of a catalog that does not exist: exit 1"
expect_grep "cannot open the catalog '$DB'" err "the missing catalog is named"
expect_grep "em-catalog load makes one" err "the message says how a catalog is made"
[ -e c.db ] && fail "a query created the database file"

# --- load: records of a data root, then the same again ---
mkrecord data empiar e1 processing saving-data complete >/dev/null
mkrecord data dvid d1 processing saving-data complete >/dev/null
mkrecord data idr i1 processing failed:'HTTP 500' >/dev/null
mkdir -p data/dvid/d1.zarr && echo '{"zarr_format": 2}' >data/dvid/d1.zarr/.zarray.json
echo '{"not": "a record"}' >data/notes.json
run em-catalog load --db "$DB" data
expect_rc 0 "load of a data root"
expect_grep "3 records read, 3 loaded, 0 unchanged, 0 not loaded" err "three records loaded"
run em-catalog query --db "$DB"
expect_rc 0 "query everything"
cp out q1
[ "$(wc -l <q1)" -eq 3 ] && ok "three JSON lines" || fail "$(wc -l <q1) lines, expected 3"
$PY -c 'import json,sys; [json.loads(l) for l in open("q1")]' && ok "each line is a JSON record" ||
	fail "query output is not JSON Lines"
sed -n 's/.*"source":"\([a-z]*\)".*/\1/p' q1 | tr '\n' ' ' >order
[ "$(cat order)" = "dvid empiar idr " ] && ok "ordered by source" || fail "order: $(cat order)"
$PY -c 'import json; a=json.load(open("data/empiar/e1.json")); b=[json.loads(l) for l in open("q1") if "\"empiar\"" in l][0]; exit(a!=b)' &&
	ok "the record comes back as loaded" || fail "the record changed on the way"
sqlite3 c.db 'PRAGMA journal_mode' >jm 2>&1
expect_grep '^wal$' jm "the SQLite catalog is in WAL mode"
run em-catalog load --db "$DB" data
expect_rc 0 "the same records again"
expect_grep "3 records read, 0 loaded, 3 unchanged" err "loading twice changes nothing"
em-catalog query --db "$DB" >q2
expect_same q1 q2 "the catalog is the same after a second load"

# --- a failed re-run never hides the last complete version; its history is kept ---
cp data/dvid/d1.json d1-complete.json
mkrecord data dvid d1 start failed:'disk full' >/dev/null
run em-catalog load --db "$DB" data/dvid/d1.json
expect_rc 0 "load of a failed re-run"
run em-catalog query --db "$DB" --source dvid --id d1
expect_grep '"status":"complete"' out "the complete version is still the one shown"
start_serve "$DB"
curl -s "$SERVE_URL/records/dvid/d1/history" >hist
$PY -c '
import json; h = json.load(open("hist"))
s = [r["status"] for r in h["runs"]]
assert s == ["complete", "failed"], s
assert h["runs"][1]["error"] == "disk full", h' 2>hist.err && ok "history: the complete run, then the failed one" ||
	{ fail "history"; cat hist hist.err; }
stop_serve
# The other order: the failed re-run first, the complete version after.
run em-catalog load --db "sqlite:rev.db" data/dvid/d1.json
run em-catalog load --db "sqlite:rev.db" d1-complete.json
run em-catalog query --db "sqlite:rev.db" --id d1
expect_grep '"status":"complete"' out "a complete version loaded after a failed one wins"

# --- invalid records: reported with their errors, not loaded; the valid ones are ---
cat "$TOP/t/data/records/invalid-voxel-negative.json" "$TOP/t/data/records/valid-pending.json" \
    "$TOP/t/data/records/invalid-failed-no-error.json" >mixed.json
run em-catalog load --db "sqlite:mixed.db" mixed.json
expect_rc 1 "a load with invalid records exits 1"
expect_grep "not loaded 'mixed.json:1': /voxel_size_nm/0: exclusiveMinimum" err \
	"the invalid record is named with its error"
expect_grep "not loaded 'mixed.json:3': (root): required" err "the second invalid one too"
expect_grep "3 records read, 1 loaded" err "the valid record is loaded"
run em-catalog query --db "sqlite:mixed.db" --count
[ "$(cat out)" = 1 ] && ok "one record in the catalog" || fail "count $(cat out), expected 1"
printf '{"schema_version": 1, "id": "x", ' >broken.json
run em-catalog load --db "sqlite:mixed.db" broken.json
expect_rc 1 "a malformed file exits 1"
expect_grep "not loaded 'broken.json:1'" err "the malformed file is named"

# --- records on stdin; the catalog named by the configuration ---
printf 'catalog:\n  db: sqlite:%s/fromconfig.db\n' "$SCRATCH" >cfg.yaml
run sh -c 'cat data/idr/i1.json | em-catalog load --config cfg.yaml'
expect_rc 0 "records on stdin"
[ -f fromconfig.db ] && ok "catalog.db of the configuration is used" || fail "no fromconfig.db"

# --- a read-only SQLite file ---
cp c.db ro.db
chmod 444 ro.db
run em-catalog load --db sqlite:ro.db d1-complete.json
expect_rc 1 "load into a read-only file exits 1"
expect_grep "cannot open the catalog 'sqlite:ro.db': the file is read-only" err "it says the file is read-only"
run em-catalog query --db sqlite:ro.db --count
expect_rc 0 "a read-only catalog can still be queried"
[ "$(cat out)" = 3 ] && ok "with its three records" || fail "count $(cat out)"

# --- generated records: every filter against a reference in Python ---
gen_records 2000 7 >gen.jsonl
run em-catalog load --db sqlite:gen.db gen.jsonl
expect_rc 0 "2000 generated records (and some second versions) load"
while IFS='|' read -r args; do
	# shellcheck disable=SC2086
	eval "set -- $args"
	em-catalog query --db sqlite:gen.db "$@" >got 2>got.err
	pyref gen.jsonl "$@" >want
	if cmp -s got want; then ok "query $args ($(wc -l <want) records)"; else
		fail "query $args: $(wc -l <got) records, reference $(wc -l <want)"; head -c 300 got.err; fi
done <<'EOF'
--sort source
--modality FIB-SEM --voxel-z 4:10
--modality SBF-SEM --voxel-z :8 --voxel-y 5:
--status complete --sort -voxel_z
--organism 'Mus musculus' --dtype uint8 --sort bytes
--license CC0-1.0 --shape-z 100:500 --shape-x :1000
--min-bytes 100000000000 --max-bytes 500000000000 --sort -bytes
--text 'Retina mitochondria'
--text '100%' --sort ingested
--text 'under_score' --source idr
--id 'v0001*'
--id '*.a_b' --sort -ingested --limit 50
--id '?0000?'
--since 2026-03-01 --until 2026-06-01T12:00:00Z --sort -ingested
--status failed --sort modality
--sort -organism --limit 100
--sort license --limit 30
--voxel-x 4:4 --voxel-y 20:20 --sort shape_y
--modality 'serial-section TEM' --sort -shape_x
EOF
run em-catalog query --db sqlite:gen.db --count --status complete
pyref gen.jsonl --status complete | wc -l | tr -d ' ' >want
[ "$(cat out)" = "$(cat want)" ] && ok "--count agrees" || fail "--count $(cat out), reference $(cat want)"

# --- hostile filter values: an empty answer or a clear usage error, never a database error ---
for v in "'" '"' "%" "_" "';--" "'; DROP TABLE records;--" '\' '*' "a'b" "%%%_"; do
	for f in --source --status --modality --organism --license --dtype --text --id; do
		em-catalog query --db sqlite:gen.db "$f" "$v" >got 2>got.err
		rc=$?
		if [ "$rc" -ne 0 ] || [ -s got.err ]; then
			fail "$f '$v': exit $rc: $(head -c 200 got.err)"
		fi
	done
done
run em-catalog query --db sqlite:gen.db --id '%'
[ "$RC" -eq 0 ] && [ ! -s out ] && ok "--id '%' matches nothing (% is not a wildcard)" || fail "--id '%'"
run em-catalog query --db sqlite:gen.db --id 'v0000_'
[ "$RC" -eq 0 ] && [ ! -s out ] && ok "--id with _ matches only _" || fail "--id 'v0000_'"
run em-catalog query --db sqlite:gen.db --count
[ "$(cat out)" = "$(pyref gen.jsonl | wc -l | tr -d ' ')" ] && ok "the catalog is whole after the hostile queries" ||
	fail "records lost: $(cat out)"
bad=$(printf 'a\377b')
for f in --source --id --text --modality; do
	run em-catalog query --db sqlite:gen.db "$f" "$bad"
	expect_rc 2 "$f with a non-UTF-8 byte: usage error"
	expect_grep "not UTF-8" err "$f non-UTF-8 said so"
done
# (One argument may be at most 128 kB on Linux; the server test sends 1 MB.)
big=$(head -c 100000 /dev/zero | tr '\0' a)
run em-catalog query --db sqlite:gen.db --text "$big"
expect_rc 2 "a 100 kB value: usage error"
expect_grep "longer than 4096 bytes" err "the limit is named"

# --- table output ---
run em-catalog query --db "$DB" --table
expect_grep '^SOURCE  *ID  *STATUS  *MODALITY' out "--table has a header"
expect_grep '^empiar  *e1  *complete  *SBF-SEM  *uint8  *16,5500,5496  *50,8,8  *123456$' out \
	"--table aligns a row"

# --- two loads of overlapping records at once ---
gen_records 1500 11 >a.jsonl
gen_records 1500 12 >b.jsonl
head -n 700 a.jsonl >>b.jsonl
em-catalog load --db sqlite:conc.db a.jsonl 2>a.err &
pa=$!
em-catalog load --db sqlite:conc.db b.jsonl 2>b.err &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
[ $ra -eq 0 ] && [ $rb -eq 0 ] && ok "two loads at once both succeed" || { fail "loads: $ra $rb"; cat a.err b.err; }
# Two loads that create the same new file at once: one of them used to be told "database is
# locked" while the other switched it to WAL (about two tries in five).
head -n 200 a.jsonl >a200.jsonl
head -n 200 b.jsonl >b200.jsonl
bad=0
for i in 1 2 3 4 5 6 7 8; do
	em-catalog load --db "sqlite:new$i.db" a200.jsonl 2>>new.err &
	pa=$!
	em-catalog load --db "sqlite:new$i.db" b200.jsonl 2>>new.err &
	pb=$!
	wait $pa || bad=$((bad + 1))
	wait $pb || bad=$((bad + 1))
done
[ $bad -eq 0 ] && ok "eight pairs of loads creating a file at once all succeed" ||
	{ fail "$bad of 16 loads creating a file at once failed"; cat new.err; }
cat a200.jsonl b200.jsonl >ab200.jsonl
pyref ab200.jsonl >want200
bad=0
for i in 1 2 3 4 5 6 7 8; do
	em-catalog query --db "sqlite:new$i.db" >got200 2>>new.err && cmp -s want200 got200 ||
		bad=$((bad + 1))
done
[ $bad -eq 0 ] && ok "each file both loads created holds all $(wc -l <want200) records of both" ||
	fail "$bad of 8 files created by two loads at once miss records"
cat a.jsonl b.jsonl >ab.jsonl
em-catalog query --db sqlite:conc.db >got
pyref ab.jsonl >want
expect_same want got "after two loads at once: every record once, the right version"
sqlite3 conc.db 'SELECT count(*) FROM runs' >runs.got
$PY -c '
import json, sys
runs = set()
for l in open("ab.jsonl"):
    r = json.loads(l); runs.add((r["source"], r["id"], r["status_history"][0]["time"]))
print(len(runs))' >runs.want
expect_same runs.want runs.got "after two loads at once: every run in the history"

done_testing
