# em-consolidate.sh - em-consolidate as a user drives it: a data tree with stores, stdin,
# invalid records, duplicates, deterministic output, exit codes, unwritable output, bad schemas.
. "$(dirname "$0")/../lib.sh"

S=$SCRATCH
R=$TOP/t/data/records
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
"$PY" -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed (make deps)"
cd "$S" || exit 1
# The configuration of the current directory must not steer the tests.
export EM_CONFIG="$S/config.yaml"
printf 'consolidation:\n  output_dir: from-config\n' >"$EM_CONFIG"
unset EM_SCHEMA EM_CONFIG_OVERLAY

# A data root as the fetchers leave it: records beside their stores; a
# store holds a zarr.json and, to prove it is not searched, a bad record.
mkdir -p data/empiar/11759.zarr/0 data/openorganelle/jrc_mus-nacc-2.zarr data/epfl data/idr \
	data/dvid old
cp "$R/valid-complete-empiar.json" data/empiar/11759.json
printf '{"zarr_format": 3, "node_type": "group", "attributes": {}}\n' \
	>data/empiar/11759.zarr/zarr.json
printf '{"schema_version": 1, "source": "nowhere"}\n' >data/empiar/11759.zarr/0/bad.json
cp "$R/valid-complete-openorganelle.json" data/openorganelle/jrc_mus-nacc-2.json
printf '{"zarr_format": 2}\n' >data/openorganelle/jrc_mus-nacc-2.zarr/.zgroup
cp "$R/valid-failed.json" data/epfl/volumedata.json
cp "$R/valid-complete-unknown-voxel-size.json" data/epfl/local-stack.json
cp "$R/valid-cancelled.json" data/dvid/hemibrain.json
cp "$R/valid-rerun.json" data/idr/9846137.json
# A zarr.json outside a store, and a file that is JSON but not a record.
printf '{"zarr_format": 3, "node_type": "array"}\n' >data/zarr.json
printf '["not", "a", "record"]\n' >data/listing.json
# An older copy of EMPIAR-11759 (the stub) and of IDR (an earlier run): duplicates that lose.
cp "$R/valid-saving-data-stub.json" old/11759-stub.json
cp "$R/valid-processing.json" old/9846137.json
# Invalid records.
cp "$R/invalid-sha256-uppercase.json" data/empiar/bad-sha.json
cp "$R/invalid-source.json" old/bad-source.json

NOW=2026-11-24T03:15:00Z
T=20261124T031500Z

run env EM_NOW=$NOW em-consolidate -o cat1 data old
expect_rc 1 "invalid records: exit 1"
printf '%s\n' cat1/metadata_catalog_$T.json cat1/validation_report_$T.json \
	cat1/processing_log_$T.log >want
expect_same want "$S/out" "stdout: the three files, one per line"
for f in $(cat want); do
	[ -f "$f" ] && ok "$f written" || fail "$f not written"
done
expect_grep "^em-consolidate: invalid record 'data/empiar/bad-sha.json' (text 1, empiar/11759): /sha256: expected a string matching" \
	"$S/err" "an invalid record is said on stderr"
expect_grep "^em-consolidate: invalid record 'old/bad-source.json' (text 1, EMPIAR/11759): /source: " \
	"$S/err" "the other invalid record is said on stderr"
[ "$(wc -l <"$S/err")" -eq 2 ] && ok "two lines on stderr" || fail "stderr: $(cat "$S/err")"

# The catalog: valid records only, one per (source, id), sorted; summary (total_voxels is
# 16*5500*5496 + 165*768*1024 + 564*2520*2596); rejected.
cat >check.py <<'EOF'
import json, sys
cat = json.load(open(sys.argv[1]))
print(sorted(cat))
print(cat["catalog_version"], cat["generated"], cat["generator"]["tool"], cat["schema"])
for r in cat["records"]:
    print("record", r["source"], r["id"], r["status"])
s = cat["summary"]
print("summary", s["records"], s["rejected"], s["by_source"], s["by_status"],
      s["total_voxels"], s["total_bytes"])
print("fields epfl", s["fields_by_source"]["epfl"])
for r in cat["rejected"]:
    print("rejected", r["source"], r["id"], r["path"], r["text"], r["reason"][:60])
EOF
"$PY" check.py cat1/metadata_catalog_$T.json >got
cat >want <<'EOF'
['catalog_version', 'generated', 'generator', 'records', 'rejected', 'schema', 'summary']
1 2026-11-24T03:15:00Z em-consolidate https://electron-microscopy-ingest.invalid/schemas/metadata_schema.json
record dvid hemibrain_17000_19500_20500_512 cancelled
record empiar 11759 complete
record epfl local-stack complete
record epfl volumedata failed
record idr 9846137 processing
record openorganelle jrc_mus-nacc-2 complete
summary 6 4 {'dvid': 1, 'empiar': 1, 'epfl': 2, 'idr': 1, 'openorganelle': 1} {'cancelled': 1, 'complete': 3, 'failed': 1, 'processing': 1} 4303052160 4443953179
fields epfl ['axes', 'chunk_size', 'compression', 'data_type', 'download_url', 'error', 'file_size_bytes', 'id', 'internal_zarr_path', 'processing_pipeline', 'progress', 'schema_version', 'sha256', 'source', 'statistics', 'status', 'status_history', 'volume_shape']
rejected EMPIAR 11759 old/bad-source.json 1 invalid: /source: expected one of ["empiar","epfl","dvid","i
rejected empiar 11759 data/empiar/bad-sha.json 1 invalid: /sha256: expected a string matching '^[0-9a-f]{64}$
rejected empiar 11759 old/11759-stub.json 1 superseded: another record of the same source and id is kept
rejected idr 9846137 old/9846137.json 1 superseded: another record of the same source and id is kept
EOF
expect_same want got "catalog: records, summary and rejected"

# Every record of the catalog is valid for python3-jsonschema too.
cat >pyvalid.py <<'EOF'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema)
cat = json.load(open(sys.argv[2]))
bad = [(r.get("source"), r.get("id"), e.message) for r in cat["records"] for e in v.iter_errors(r)]
print(len(cat["records"]), "records", len(bad), "invalid", bad)
EOF
"$PY" pyvalid.py "$TOP/schemas/metadata_schema.json" cat1/metadata_catalog_$T.json >got 2>&1
echo "6 records 0 invalid []" >want
expect_same want got "python3-jsonschema accepts every catalog record"

# The report: every text read, the outcome, errors, completeness and warnings.
cat >report.py <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))
print(sorted(rep))
print(rep["summary"])
for r in rep["records"]:
    print(r["path"], r["text"], r["source"], r["id"], r["status"], r["outcome"], r["valid"],
          [(e["pointer"], e["keyword"]) for e in r["errors"]], r["completeness"],
          [w["code"] for w in r["warnings"]])
EOF
"$PY" report.py cat1/validation_report_$T.json >got
cat >want <<'EOF'
['generated', 'generator', 'records', 'report_version', 'schema', 'summary']
{'read': 10, 'valid': 8, 'invalid': 2, 'unreadable': 0, 'superseded': 2, 'cataloged': 6, 'skipped': 2, 'with_warnings': 9}
old/bad-source.json 1 EMPIAR 11759 pending invalid False [('/source', 'enum')] 0.0 ['no-voxel-size', 'not-complete']
data/dvid/hemibrain.json 1 dvid hemibrain_17000_19500_20500_512 cancelled catalog True [] 0.0 ['no-voxel-size', 'not-complete']
data/empiar/11759.json 1 empiar 11759 complete catalog True [] 1.0 ['voxel-size-from-config']
data/empiar/bad-sha.json 1 empiar 11759 complete invalid False [('/sha256', 'pattern')] 1.0 ['voxel-size-from-config']
old/11759-stub.json 1 empiar 11759 saving-data superseded True [] 0.7778 ['voxel-size-from-config', 'not-complete', 'duplicate-superseded']
data/epfl/local-stack.json 1 epfl local-stack complete catalog True [] 0.6111 ['no-voxel-size']
data/epfl/volumedata.json 1 epfl volumedata failed catalog True [] 0.0556 ['no-voxel-size', 'not-complete']
data/idr/9846137.json 1 idr 9846137 processing catalog True [] 0.0 ['no-voxel-size', 'not-complete']
old/9846137.json 1 idr 9846137 processing superseded True [] 0.1111 ['no-voxel-size', 'not-complete', 'duplicate-superseded']
data/openorganelle/jrc_mus-nacc-2.json 1 openorganelle jrc_mus-nacc-2 complete catalog True [] 0.9444 []
EOF
expect_same want got "report: one entry per text with errors, score and warnings"

# The log: what was read and skipped, and why.
L=cat1/processing_log_$T.log
expect_grep "^skipped 'data/empiar/11759.zarr': a Zarr store, not searched$" $L "log: a store is not searched"
expect_grep "^skipped 'data/zarr.json' (text 1): not a record" $L "log: a zarr.json is skipped"
expect_grep "^skipped 'data/listing.json' (text 1): not a record" $L "log: a JSON array is skipped"
expect_grep "^read 'data/empiar/11759.json' (text 1, empiar/11759): valid, status complete$" $L \
	"log: a record read"
expect_grep "^duplicate empiar/11759: kept 'data/empiar/11759.json' (text 1), superseded 'old/11759-stub.json' (text 1)$" \
	$L "log: the duplicate and the winner"
expect_grep "^summary: 10 read, 8 valid, 2 invalid, 0 unreadable, 2 superseded, 2 skipped, 6 in the catalog" \
	$L "log: the totals"
expect_nogrep "bad.json" $L "log: nothing inside a store was read"

# Determinism: the same records in another order, at another time, give the
# same catalog and report apart from the "generated" time.
mkdir -p flat
for f in old/bad-source.json data/openorganelle/jrc_mus-nacc-2.json old/9846137.json \
	data/idr/9846137.json data/empiar/bad-sha.json data/dvid/hemibrain.json \
	old/11759-stub.json data/epfl/volumedata.json data/epfl/local-stack.json \
	data/empiar/11759.json; do
	echo "$f"
done >order1
sort -r order1 >order2
run env EM_NOW=2026-11-24T03:15:00Z em-consolidate -o det1 $(cat order1)
expect_rc 1 "determinism run 1"
run env EM_NOW=2027-01-02T10:20:30+01:00 em-consolidate -o det2 $(cat order2)
expect_rc 1 "determinism run 2"
[ -f det2/metadata_catalog_20270102T092030Z.json ] && ok "EM_NOW with an offset names the files in UTC" ||
	fail "EM_NOW offset: $(ls det2)"
for k in metadata_catalog validation_report; do
	grep -v '^  "generated": ' det1/${k}_$T.json >a
	grep -v '^  "generated": ' det2/${k}_20270102T092030Z.json >b
	expect_same a b "$k: the same bytes whatever the input order and time"
	[ "$(grep -c '"generated"' det1/${k}_$T.json)" -eq 1 ] && ok "$k: one time field" ||
		fail "$k: time fields"
done
# The records of the catalog are the same whether found by the search or named.
"$PY" -c 'import json,sys; a,b=(json.load(open(f))["records"] for f in sys.argv[1:]); print(a==b)' \
	det1/metadata_catalog_$T.json cat1/metadata_catalog_$T.json >got
echo True >want
expect_same want got "catalog records: named files and the tree search agree"

# stdin: a stream of records (JSON Lines, as em-validate --filter writes).
for f in $(cat order1); do tr -d '\n' <"$f"; echo; done >stream.jsonl
run sh -c "EM_NOW=$NOW em-consolidate -o stdin <stream.jsonl"
expect_rc 1 "stdin: exit 1 (two invalid records)"
"$PY" -c 'import json,sys; a,b=(json.load(open(f))["records"] for f in sys.argv[1:]); print(a==b)' \
	stdin/metadata_catalog_$T.json cat1/metadata_catalog_$T.json >got
expect_same want got "stdin: the same catalog records"
"$PY" -c 'import json,sys; print(sorted({(r["path"], r["text"]) for r in json.load(open(sys.argv[1]))["rejected"]}))' \
	stdin/metadata_catalog_$T.json >got
echo "[('-', 1), ('-', 5), ('-', 7), ('-', 3)]" | "$PY" -c 'import sys,ast; print(sorted(ast.literal_eval(sys.stdin.read())))' >want
expect_same want got "stdin: rejected texts named '-' and numbered"
run sh -c "grep -v bad stream.jsonl | EM_NOW=$NOW em-validate --filter | em-consolidate -o piped -"
expect_rc 0 "em-validate --filter | em-consolidate -: exit 0"
expect_grep "^piped/metadata_catalog_" "$S/out" "a pipeline prints the names"

# All valid: exit 0, nothing on stderr.
run env EM_NOW=$NOW em-consolidate -o good data/empiar/11759.json data/epfl
expect_rc 0 "only valid records: exit 0"
[ -s "$S/err" ] && fail "valid records: stderr: $(cat "$S/err")" || ok "valid records: nothing on stderr"
# An empty standard input: an empty catalog, not an error.
run sh -c "EM_NOW=$NOW em-consolidate -o empty </dev/null"
expect_rc 0 "empty stdin: exit 0"
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["records"], c["summary"]["records"], c["summary"]["total_voxels"])' \
	empty/metadata_catalog_$T.json >got
echo "[] 0 0" >want
expect_same want got "empty stdin: an empty catalog"

# -q: invalid records are not said on stderr, but still give exit 1.
run env EM_NOW=$NOW em-consolidate -q -o quiet data
expect_rc 1 "-q: still exit 1"
[ -s "$S/err" ] && fail "-q: stderr: $(cat "$S/err")" || ok "-q: nothing on stderr"
# -v: what was read and skipped is said too.
run env EM_NOW=$NOW em-consolidate -v -o verbose data
expect_grep "a Zarr store, not searched" "$S/err" "-v: skipped stores are said"
expect_grep "^em-consolidate: 7 read, 6 valid, 1 invalid, 0 unreadable, 0 superseded, 6 in the catalog$" "$S/err" "-v: the totals"

# Unreadable inputs: reported, in the catalog's rejected list, exit 1.
printf '{"schema_version": 1, "source": "epfl",\n' >data/epfl/truncated.json
run env EM_NOW=$NOW em-consolidate -o unread data/epfl no-such-file.json
expect_rc 1 "unreadable inputs: exit 1"
expect_grep "^em-consolidate: cannot read 'no-such-file.json': No such file or directory$" \
	"$S/err" "a missing file is named"
expect_grep "^em-consolidate: cannot read 'data/epfl/truncated.json' (text 1): invalid JSON at line 2" \
	"$S/err" "malformed JSON is named with its line"
"$PY" -c 'import json,sys; print([(r["path"], r["reason"][:22]) for r in json.load(open(sys.argv[1]))["rejected"]])' \
	unread/metadata_catalog_$T.json >got
echo "[('data/epfl/truncated.json', 'unreadable: invalid JS'), ('no-such-file.json', 'unreadable: No such fi')]" >want
expect_same want got "unreadable inputs are in the rejected list"
rm data/epfl/truncated.json

# The output directory from the configuration, and from --config.
run env EM_NOW=$NOW em-consolidate data/empiar/11759.json
expect_rc 0 "default output directory"
expect_grep "^from-config/metadata_catalog_$T.json$" "$S/out" "EM_CONFIG's consolidation.output_dir"
printf 'consolidation:\n  output_dir: ${OUT_HERE:cfgdir}\n' >other.yaml
run env EM_NOW=$NOW em-consolidate --config other.yaml data/empiar/11759.json
expect_grep "^cfgdir/metadata_catalog_$T.json$" "$S/out" "--config's consolidation.output_dir"
run env EM_NOW=$NOW em-consolidate --config other.yaml -o given data/empiar/11759.json
expect_grep "^given/metadata_catalog_$T.json$" "$S/out" "-o wins over the configuration"
printf 'consolidation: [1\n' >broken.yaml
run env EM_NOW=$NOW em-consolidate --config broken.yaml data/empiar/11759.json
expect_rc 2 "a broken configuration: exit 2"
expect_grep "^em-consolidate: cannot read configuration 'broken.yaml': " "$S/err" \
	"a broken configuration is named"

# An output directory that cannot be made: a clear error, exit 1, nothing written.
: >plainfile
run env EM_NOW=$NOW em-consolidate -o plainfile/sub data/empiar/11759.json
expect_rc 1 "output under a plain file: exit 1"
expect_grep "^em-consolidate: cannot write the catalog into 'plainfile/sub': cannot create directory 'plainfile/sub': Not a directory$" \
	"$S/err" "output directory error names it"
[ -s "$S/out" ] && fail "nothing on stdout when not written" || ok "no names printed when not written"
# One of the three names is taken (by a directory): no file of the run is left.
mkdir -p taken/processing_log_$T.log
run env EM_NOW=$NOW em-consolidate -o taken data/empiar/11759.json
expect_rc 1 "a name taken: exit 1"
expect_grep "cannot rename .*processing_log_$T.log" "$S/err" "the failed rename is named"
ls -A taken >got
echo "processing_log_$T.log" >want
expect_same want got "no partial set of files and no temporary files"
# A run of the same second that fails midway puts back the files it replaced: the first
# run's three stay whole (its log is replaced by a directory so that the second fails there).
run env EM_NOW=$NOW em-consolidate -o again data/empiar/11759.json
expect_rc 0 "the same second, first run: exit 0"
cp again/metadata_catalog_$T.json first-catalog.json
cp again/validation_report_$T.json first-report.json
rm again/processing_log_$T.log
mkdir again/processing_log_$T.log
run env EM_NOW=$NOW em-consolidate -o again data/epfl
expect_rc 1 "the same second, second run failing at its last rename: exit 1"
cmp -s first-catalog.json again/metadata_catalog_$T.json &&
	cmp -s first-report.json again/validation_report_$T.json &&
	ok "the first run's catalog and report are back, byte for byte" ||
	fail "the first run's catalog or report was lost: $(ls -A again)"
ls -A again >got
printf '%s\n' metadata_catalog_$T.json processing_log_$T.log validation_report_$T.json >want
expect_same want got "no temporary file and no file of the failed run"
# The same second, both runs whole: the second run's files replace the first's, none is left over.
rmdir again/processing_log_$T.log
run env EM_NOW=$NOW em-consolidate -o again data/epfl
expect_rc 0 "the same second, second run: exit 0"
cmp -s first-catalog.json again/metadata_catalog_$T.json &&
	fail "the second run's catalog did not replace the first's" ||
	ok "the second run's catalog replaces the first's"
ls -A again >got
expect_same want got "the same second: three files, nothing left over"
# A directory without write permission (only meaningful when not root).
if [ "$(id -u)" -ne 0 ]; then
	mkdir ro && chmod 555 ro
	run env EM_NOW=$NOW em-consolidate -o ro data/empiar/11759.json
	expect_rc 1 "read-only output directory: exit 1"
	[ -z "$(ls -A ro)" ] && ok "read-only directory: nothing written" || fail "ro: $(ls -A ro)"
	chmod 755 ro
fi

# A catalog written inside the tree it searches is skipped the next time;
# so is a symbolic link to a directory; a name that is not UTF-8 is kept
# with '?' for its bytes past ASCII.
mkdir -p tree/epfl tree/elsewhere
cp "$R/valid-failed.json" tree/epfl/volumedata.json
cp "$R/valid-pending.json" tree/elsewhere/a.json
ln -s ../elsewhere tree/epfl/link
run env EM_NOW=$NOW em-consolidate -o tree/catalog tree/epfl
expect_rc 0 "a catalog inside the tree: first run"
cp "$R/invalid-dtype.json" "tree/epfl/$(printf 'bad\351.json')"
run env EM_NOW=2026-11-24T03:16:00Z em-consolidate -o tree/catalog tree
expect_rc 1 "a catalog inside the tree: second run (an invalid record)"
L=tree/catalog/processing_log_20261124T031600Z.log
expect_grep "^skipped 'tree/catalog/metadata_catalog_$T.json' (text 1): not a record" $L \
	"an earlier catalog is skipped"
expect_grep "^skipped 'tree/catalog/validation_report_$T.json' (text 1): not a record" $L \
	"an earlier report is skipped"
expect_grep "^skipped 'tree/epfl/link': a symbolic link to a directory, not followed$" $L \
	"a symbolic link to a directory is not followed"
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["summary"]["by_source"], [r["path"] for r in c["rejected"]])' \
	tree/catalog/metadata_catalog_20261124T031600Z.json >got
echo "{'empiar': 1, 'epfl': 1} ['tree/epfl/bad?.json']" >want
expect_same want got "records read once; a name that is not UTF-8 is written with '?'"

# Bad schemas and bad usage: exit 2, nothing read or written.
run env EM_NOW=$NOW em-consolidate -o s1 -s no-such-schema.json data
expect_rc 2 "a missing schema: exit 2"
expect_grep "^em-consolidate: cannot read schema 'no-such-schema.json': " "$S/err" "missing schema named"
printf '{"type": "object", "properties": {"id": {"pattern": "(["}}}\n' >badschema.json
run env EM_NOW=$NOW em-consolidate -o s2 -s badschema.json data
expect_rc 2 "an invalid schema: exit 2"
expect_grep "^em-consolidate: invalid schema 'badschema.json': " "$S/err" "invalid schema named"
printf '{"type": ' >truncschema.json
run env EM_SCHEMA=truncschema.json EM_NOW=$NOW em-consolidate -o s3 data
expect_rc 2 "EM_SCHEMA malformed: exit 2"
[ -e s1 ] || [ -e s2 ] || [ -e s3 ] && fail "a schema error wrote files" || ok "schema errors write nothing"
run env EM_NOW=yesterday em-consolidate -o s4 data
expect_rc 2 "a bad EM_NOW: exit 2"
expect_grep "^em-consolidate: bad EM_NOW 'yesterday': " "$S/err" "bad EM_NOW named"
run em-consolidate -o '' data
expect_rc 2 "an empty output directory name: exit 2"

# Another schema by -s judges the records: the schema's $id is written.
printf '{"$id": "urn:loose", "type": "object", "required": ["id"]}\n' >loose.json
run env EM_NOW=$NOW em-consolidate -s loose.json -o loose old/bad-source.json
expect_rc 0 "-s: a looser schema accepts the record"
expect_grep '"schema": "urn:loose"' loose/metadata_catalog_$T.json "-s: the schema's \$id is in the catalog"

done_testing
