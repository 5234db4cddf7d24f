# em-catalog-pg.sh - em-catalog on a real PostgreSQL (started here on loopback): the same
# results as SQLite, JSONB, concurrent loads, passwords, unreachable servers, hostile input, serve.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/catalog.sh"
export EM_SCHEMA="$TOP/schemas/metadata_schema.json"
cd "$SCRATCH" || exit 1
start_pg
ok "PostgreSQL started on 127.0.0.1:$PG_PORT"

# --- unreachable server, bad URL: clear messages, exit 1 or 2 ---
run em-catalog query --db "postgresql://em@127.0.0.1:1/postgres"
expect_rc 1 "an unreachable server: exit 1"
expect_grep "cannot open the catalog 'postgresql://em@127.0.0.1:1/postgres': .*refused" err \
	"the unreachable server is named with the reason"
run em-catalog query --db "postgresql://em@127.0.0.1:$PG_PORT/postgres?nosuchoption=1"
expect_rc 2 "a bad URL: usage error"
expect_grep "nosuchoption" err "the bad URL option is named"
run em-catalog query --db "$PG_URL"
expect_rc 1 "a query before any load: exit 1"
expect_grep "not a catalog database" err "it says there is no catalog yet"

# --- the demo-like records and 10,000 generated ones on both backends ---
cat "$TOP"/t/data/records/valid-*.json >demo.json
mkrecord data empiar e1 processing saving-data complete >/dev/null
mkrecord data empiar e1 start failed:'HTTP 503' >/dev/null
cp data/empiar/e1.json e1-failed.json
gen_records 10000 42 >gen.jsonl
for db in "$PG_URL" "sqlite:$SCRATCH/s.db"; do
	run em-catalog load --db "$db" demo.json gen.jsonl e1-failed.json
	expect_rc 0 "load of demo and 10,000 generated records into ${db%%:*}"
done
run em-catalog load --db "$PG_URL" gen.jsonl
expect_grep "0 loaded, .* unchanged" err "a second load into PostgreSQL changes nothing"
"$PG_BIN/psql" -X -At "$PG_URL" -c "SELECT value FROM meta WHERE key = 'schema_version'" >ver
[ "$(cat ver)" = 1 ] && ok "the schema version is recorded" || fail "schema version '$(cat ver)'"
"$PG_BIN/psql" -X -At "$PG_URL" -c "SELECT count(*) FROM records WHERE record @> '{\"modality\": \"FIB-SEM\"}'" >n.jsonb
em-catalog query --db "$PG_URL" --modality FIB-SEM --count >n.col
expect_same n.col n.jsonb "the JSONB column holds the records (containment query agrees)"
"$PG_BIN/psql" -X -At "$PG_URL" -c "SELECT indexdef FROM pg_indexes WHERE indexname = 'records_record'" >gin
expect_grep "USING gin" gin "a GIN index on the JSONB"

while IFS='|' read -r args; do
	eval "set -- $args"
	em-catalog query --db "$PG_URL" "$@" >pg.out 2>pg.err
	em-catalog query --db "sqlite:$SCRATCH/s.db" "$@" >sq.out 2>sq.err
	if cmp -s pg.out sq.out && [ ! -s pg.err ]; then ok "same on both: $args ($(wc -l <pg.out))"; else
		fail "PostgreSQL and SQLite differ: $args"; head -c 300 pg.err; diff pg.out sq.out | head -c 600; fi
done <<'EOF'
--sort source
--sort -source
--sort id
--modality FIB-SEM --voxel-z 4:10
--modality SBF-SEM --voxel-z :8 --voxel-y 5:
--status complete --sort -voxel_z
--status failed --sort modality
--organism 'Mus musculus' --dtype uint8 --sort bytes
--license CC0-1.0 --shape-z 100:500 --shape-x :1000
--min-bytes 100000000000 --max-bytes 500000000000 --sort -bytes
--text 'Retina mitochondria'
--text '100%' --sort ingested
--text 'µm-scale larval'
--text "it's" --sort -shape_z
--text under_score --source idr
--id 'v0001*'
--id '*.a_b' --sort -ingested --limit 50
--id '?0000?'
--id '11759'
--since 2026-03-01 --until 2026-06-01T12:00:00Z --sort -ingested
--sort -organism --limit 100
--sort license
--sort dtype --limit 500
--voxel-x 4:4 --voxel-y 20:20 --sort shape_y
--modality 'serial-section TEM' --sort -shape_x
--voxel-z 2.96:2.96 --sort voxel_y
--source empiar --status complete --sort -ingested
--source empiar --id e1
EOF
em-catalog query --db "$PG_URL" --id e1 >e1.out
expect_grep '"status":"failed"' e1.out "a failed re-run with no complete version loaded is shown"
expect_grep '"error":"HTTP 503"' e1.out "with its error"
em-catalog query --db "$PG_URL" --count >n.pg
pyref gen.jsonl --sort source >/dev/null
for q in "--modality FIB-SEM --voxel-z 4:10" "--text mitochondria --sort -bytes" "--id v00*"; do
	# shellcheck disable=SC2086
	em-catalog query --db "$PG_URL" $q >got
	# shellcheck disable=SC2086
	pyref gen.jsonl $q >want
	expect_same want got "PostgreSQL agrees with the reference: $q"
done

# --- hostile filter values: an empty answer or a usage error, never a database error ---
bad=""
for v in "'" '"' "%" "_" "';--" "'; DROP TABLE records;--" '\' '\\%' "a'b" "%%%_" '$1' '?'; do
	for f in --source --status --modality --organism --license --dtype --text --id; do
		em-catalog query --db "$PG_URL" "$f" "$v" >got 2>got.err
		rc=$?
		{ [ "$rc" -eq 0 ] && [ ! -s got.err ]; } || bad="$bad [$f '$v': $rc $(head -c 100 got.err)]"
	done
done
[ -z "$bad" ] && ok "hostile filter values on PostgreSQL: no errors" || fail "hostile values:$bad"
run em-catalog query --db "$PG_URL" --id '%'
[ "$RC" -eq 0 ] && [ ! -s out ] && ok "--id '%' is not a wildcard on PostgreSQL" || fail "--id %"
run em-catalog query --db "$PG_URL" --source "$(printf 'a\377')"
expect_rc 2 "a non-UTF-8 filter: usage error, before the server sees it"
em-catalog query --db "$PG_URL" --count >n.after
expect_same n.pg n.after "the catalog is whole after the hostile queries"

# --- passwords: from PGPASSWORD or ~/.pgpass, never the command line ---
pg_sql "CREATE ROLE pwuser LOGIN PASSWORD 'right-pw'"
pg_sql "CREATE DATABASE pwdb OWNER pwuser"
as_pg sh -c "printf 'host all pwuser 127.0.0.1/32 scram-sha-256\n' | cat - '$PG_DIR/data/pg_hba.conf' >'$PG_DIR/hba' && mv '$PG_DIR/hba' '$PG_DIR/data/pg_hba.conf'"
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" reload >/dev/null
sleep 1
PWURL="postgresql://pwuser@127.0.0.1:$PG_PORT/pwdb"
HOME=$SCRATCH PGPASSWORD=wrong-pw run em-catalog load --db "$PWURL" demo.json
expect_rc 1 "a wrong password: exit 1"
expect_grep "password authentication failed for user \"pwuser\"" err "the refusal is reported"
expect_nogrep "wrong-pw" err "the password is not shown"
HOME=$SCRATCH PGPASSWORD=right-pw run em-catalog load --db "$PWURL" demo.json
expect_rc 0 "the right password in PGPASSWORD"
printf '127.0.0.1:%s:pwdb:pwuser:right-pw\n' "$PG_PORT" >pgpass
chmod 600 pgpass
PGPASSFILE=$SCRATCH/pgpass run env -u PGPASSWORD em-catalog query --db "$PWURL" --count
expect_rc 0 "the password from a pgpass file"
[ "$(cat out)" -gt 0 ] 2>/dev/null && ok "pwuser's catalog has the records" || fail "count $(cat out)"

# --- two loads of overlapping records at once ---
gen_records 1500 21 >a.jsonl
gen_records 1500 22 >b.jsonl
head -n 700 a.jsonl >>b.jsonl
pg_sql "CREATE DATABASE conc"
CURL="postgresql://em@127.0.0.1:$PG_PORT/conc"
em-catalog load --db "$CURL" a.jsonl 2>a.err &
pa=$!
em-catalog load --db "$CURL" b.jsonl 2>b.err &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
[ $ra -eq 0 ] && [ $rb -eq 0 ] && ok "two loads at once both succeed" || { fail "loads: $ra $rb"; cat a.err b.err; }
cat a.jsonl b.jsonl >ab.jsonl
em-catalog query --db "$CURL" >got
pyref ab.jsonl >want
expect_same want got "after two loads at once: every record once, the right version"
"$PG_BIN/psql" -X -At "$CURL" -c "SELECT count(*) FROM runs" >runs.got
$PY -c '
import json
runs = set()
for l in open("ab.jsonl"):
    r = json.loads(l); runs.add((r["source"], r["id"], r["status_history"][0]["time"]))
print(len(runs))' >runs.want
expect_same runs.want runs.got "after two loads at once: every run in the history"

# --- serve on PostgreSQL: pagination walks every record once ---
start_serve "$PG_URL"
$PY - "$SERVE_URL" <<'EOF' >walk 2>walk.err
import json, sys, urllib.request, urllib.parse
base, seen, cursor = sys.argv[1], [], None
while True:
    q = "sort=-voxel_z&limit=1000" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
    with urllib.request.urlopen(base + "/records?" + q) as r:
        page = json.load(r)
    seen += [x["source"] + "/" + x["id"] for x in page["records"]]
    cursor = page["next"]
    if cursor is None: break
print("\n".join(seen))
EOF
em-catalog query --db "$PG_URL" --sort -voxel_z | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); print(r["source"] + "/" + r["id"])' >want
expect_same want walk "serve on PostgreSQL: pages of 1000 walk every record once, in order"
code=$(curl -s -o body -w '%{http_code}' "$SERVE_URL/records?id=%27%3B--&text=%25_")
[ "$code" = 200 ] && expect_grep '"records":\[\],"count":0' body "hostile parameters on PostgreSQL: an empty page" ||
	fail "hostile parameters on PostgreSQL: $code"
curl -s "$SERVE_URL/records/empiar/e1/history" >hist
$PY -c '
import json; h = json.load(open("hist")); s = [r["status"] for r in h["runs"]]
assert s == ["complete", "failed"], s' && ok "history on PostgreSQL: the earlier complete run and the failed re-run" ||
	{ fail "history on PostgreSQL"; cat hist; }
stop_serve

done_testing
