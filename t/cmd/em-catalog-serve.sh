# em-catalog-serve.sh - em-catalog serve on SQLite: every endpoint by curl and python3 urllib,
# pagination, the OpenAPI document, CORS, no writes, hostile parameters and paths.
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/catalog.sh"
export EM_SCHEMA="$TOP/schemas/metadata_schema.json"
cd "$SCRATCH" || exit 1
DB=sqlite:$SCRATCH/c.db

run em-catalog serve --db "$DB" --listen 127.0.0.1:0
expect_rc 1 "serve of a catalog that does not exist: exit 1"
run em-catalog serve --db "$DB" --listen nowhere
expect_rc 2 "a bad --listen: usage error"

gen_records 1200 3 >gen.jsonl
em-catalog load -q --db "$DB" gen.jsonl "$TOP"/t/data/records/valid-*.json || fail "load"
em-catalog query --db "$DB" >all.jsonl
start_serve "$DB"
expect_grep "serving '$DB' on http://127.0.0.1:" "$SCRATCH/serve.err" "serve says where it listens"

# --- every endpoint, by curl ---
for p in /health /stats /records /records/empiar/11759 /records/empiar/11759/history \
    /openapi.json; do
	code=$(curl -s -o body -w '%{http_code} %{content_type}' "$SERVE_URL$p")
	[ "$code" = "200 application/json" ] && ok "GET $p: 200 JSON" || fail "GET $p: $code"
	$PY -c 'import json; json.load(open("body"))' || fail "GET $p: not JSON"
done
curl -s "$SERVE_URL/records/empiar/11759" >body
$PY -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open("body"))
assert a == b' "$TOP/t/data/records/valid-complete-empiar.json" && ok "GET /records/S/I gives the record" ||
	fail "the record differs"
code=$(curl -s -o body -w '%{http_code}' "$SERVE_URL/records/empiar/nosuch")
[ "$code" = 404 ] && ok "an unknown record: 404" || fail "unknown record: $code"
expect_grep '"error":"no record' body "the 404 says which"
code=$(curl -s -o body -w '%{http_code}' "$SERVE_URL/nosuch")
[ "$code" = 404 ] && ok "an unknown path: 404" || fail "unknown path: $code"
curl -s "$SERVE_URL/stats" >stats
$PY -c '
import json
s = json.load(open("stats")); rs = [json.loads(l) for l in open("all.jsonl")]
assert s["records"] == len(rs), (s["records"], len(rs))
assert s["bytes"] == sum(r.get("file_size_bytes", 0) for r in rs)
for k, f in (("source", "source"), ("status", "status"), ("modality", "modality")):
    want = {}
    for r in rs:
        v = r.get(f); w = want.setdefault(v, [0, 0]); w[0] += 1; w[1] += r.get("file_size_bytes", 0)
    got = {e[k]: [e["records"], e["bytes"]] for e in s["by_" + k]}
    assert got == want, (k, got, want)' && ok "/stats: counts and bytes by source, status, modality" ||
	fail "/stats disagrees with the records"

# --- CORS and no writes ---
curl -s -D hdr -o /dev/null "$SERVE_URL/records?limit=1"
expect_grep '^Access-Control-Allow-Origin: \*' hdr "CORS header on answers"
code=$(curl -s -o /dev/null -D hdr -w '%{http_code}' -X OPTIONS -H 'Origin: http://x' \
    -H 'Access-Control-Request-Method: GET' "$SERVE_URL/records")
[ "$code" = 204 ] && ok "CORS preflight: 204" || fail "preflight: $code"
expect_grep '^Access-Control-Allow-Methods: GET' hdr "preflight allows GET"
for m in POST PUT DELETE PATCH; do
	code=$(curl -s -o body -w '%{http_code}' -X $m --data-binary @gen.jsonl "$SERVE_URL/records")
	[ "$code" = 405 ] && ok "$m: 405" || fail "$m: $code"
done
em-catalog query --db "$DB" >after.jsonl
expect_same all.jsonl after.jsonl "nothing was written"

# --- pagination walks every record exactly once (python3 urllib), with several sorts ---
for args in "" "sort=-voxel_z" "sort=modality" "sort=-ingested" "sort=bytes&status=complete" \
    "sort=-organism&voxel-z=4:20"; do
	$PY - "$SERVE_URL" "$args" <<'EOF' >walk 2>walk.err
import json, sys, urllib.request, urllib.parse
base, args = sys.argv[1], sys.argv[2]
seen, cursor, pages = [], None, 0
while True:
    q = args + ("&" if args else "") + "limit=37" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
    with urllib.request.urlopen(base + "/records?" + q) as r:
        assert r.status == 200
        page = json.load(r)
    pages += 1
    assert page["count"] == len(page["records"]) <= 37
    seen += [(x["source"], x["id"]) for x in page["records"]]
    cursor = page["next"]
    if cursor is None:
        break
for s, i in seen:
    print(s + "/" + i)
EOF
	filt=$(echo "$args" | sed 's/\([a-z-]*\)=\([^&]*\)/--\1 \2/g; s/&/ /g')
	# shellcheck disable=SC2086
	em-catalog query --db "$DB" $filt | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); print(r["source"] + "/" + r["id"])' >want
	if cmp -s want walk; then ok "pages of 37 ($args): all $(wc -l <want) records once, in order"; else
		fail "pagination ($args)"; cat walk.err | tail -n 3; diff want walk | head -n 5; fi
	[ "$(sort walk | uniq -d | wc -l)" -eq 0 ] || fail "pagination ($args) repeats records"
done
code=$(curl -s -o body -w '%{http_code}' "$SERVE_URL/records?limit=1001")
[ "$code" = 400 ] && ok "a page of more than 1000: 400" || fail "limit=1001: $code"
code=$(curl -s -o body -w '%{http_code}' "$SERVE_URL/records?cursor=garbage!")
[ "$code" = 400 ] && ok "a bad cursor: 400" || fail "bad cursor: $code"
curl -s "$SERVE_URL/records" >body
$PY -c 'import json; p=json.load(open("body")); assert p["count"] == 100 and p["next"]' &&
	ok "100 records a page by default" || fail "default page"

# --- the OpenAPI document validates and describes exactly what is answered ---
curl -s "$SERVE_URL/openapi.json" >openapi.json
$PY - openapi.json "$SERVE_URL" <<'EOF' >oa.out 2>&1
import json, sys, urllib.request, urllib.error, jsonschema
doc = json.load(open(sys.argv[1])); base = sys.argv[2]
# A structural check of the OpenAPI 3.0 shape (the parts this document uses).
schema_obj = {"type": "object"}
oa = {
    "type": "object", "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": "^3\\.0\\.\\d+$"},
        "info": {"type": "object", "required": ["title", "version"]},
        "paths": {"type": "object", "propertyNames": {"pattern": "^/"},
            "additionalProperties": {"type": "object", "propertyNames": {"enum": ["get", "parameters", "summary", "description"]},
                "additionalProperties": {"type": "object", "required": ["responses"],
                    "properties": {"parameters": {"type": "array", "items": {"type": "object",
                        "required": ["name", "in", "schema"],
                        "properties": {"in": {"enum": ["query", "path", "header", "cookie"]}}}},
                        "responses": {"type": "object", "minProperties": 1,
                            "propertyNames": {"pattern": "^([1-5][0-9][0-9]|default)$"},
                            "additionalProperties": {"type": "object", "required": ["description"]}}}}}},
        "components": {"type": "object"}}}
jsonschema.Draft7Validator(oa).validate(doc)
try:
    from openapi_spec_validator import validate_spec
    validate_spec(doc); print("openapi-spec-validator: valid")
except ImportError:
    pass
# Every $ref resolves.
def refs(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "$ref": yield x
            else: yield from refs(x)
    elif isinstance(v, list):
        for x in v: yield from refs(x)
for r in refs(doc):
    node = doc
    for part in r[2:].split("/"): node = node[part]
assert set(doc["paths"]) == {"/records", "/records/{source}/{id}", "/records/{source}/{id}/history",
                             "/stats", "/health", "/openapi.json"}, set(doc["paths"])
# Each path answers GET with the status it documents; each query parameter is accepted.
for p, item in doc["paths"].items():
    url = base + p.replace("{source}", "empiar").replace("{id}", "11759")
    with urllib.request.urlopen(url) as r:
        assert str(r.status) in item["get"]["responses"], (p, r.status)
    for prm in item["get"].get("parameters", []):
        if prm["in"] == "query" and prm["name"] != "cursor":
            v = {"limit": "5", "sort": "id", "since": "2026-01-01", "until": "2027-01-01"}.get(prm["name"], "x")
            if prm["name"].startswith(("voxel", "shape")): v = "1:"
            if prm["name"].endswith("bytes"): v = "1"
            with urllib.request.urlopen(url + "?" + prm["name"] + "=" + v) as r:
                assert r.status == 200, (prm["name"], r.status)
# A parameter the document does not list is refused.
try:
    urllib.request.urlopen(base + "/records?nosuch=1"); raise SystemExit("nosuch accepted")
except urllib.error.HTTPError as e:
    assert e.code == 400 and "400" in doc["paths"]["/records"]["get"]["responses"]
print("ok")
EOF
if tail -n 1 oa.out | grep -q '^ok$'; then ok "the OpenAPI document validates and lists what is served"; else
	fail "OpenAPI"; tail -n 5 oa.out | sed 's/^/#   /'; fi

# --- hostile parameters and paths: an empty answer or a clear 400, never a 500 ---
$PY - "$SERVE_URL" <<'EOF' >hostile.out 2>&1
import json, sys, urllib.request, urllib.error, urllib.parse
base = sys.argv[1]
names = ["source", "id", "status", "modality", "organism", "license", "dtype", "voxel-z", "voxel-y",
         "voxel-x", "shape-z", "shape-y", "shape-x", "min-bytes", "max-bytes", "text", "since",
         "until", "sort", "limit", "cursor"]
values = ["'", '"', "%", "_", ";--", "'; DROP TABLE records;--", "\\", "a%00b", "%00", "%ff%fe",
          "%c3%28", "%ed%a0%80", "1:2;--", "x" * 5000]
bad = []
for n in names:
    for v in values:
        url = base + "/records?" + n + "=" + (v if "%" in v else urllib.parse.quote(v, safe=""))
        try:
            with urllib.request.urlopen(url) as r:
                body = json.load(r); code = r.status
                if not isinstance(body.get("records"), list): bad.append((n, v, "no records"))
        except urllib.error.HTTPError as e:
            code = e.code
            body = e.read()
            if code == 400 and b'"error"' not in body: bad.append((n, v, "400 without an error"))
        if code not in (200, 400): bad.append((n, v, code))
for p in ["/records/%27/%22", "/records/a%00b/c", "/records/%ff/x", "/records/x/%25/history",
          "/records/%3B--/x", "/records/" + "a" * 1500 + "/b", "/%ff", "/records//", "/records/a/b/c"]:
    try:
        with urllib.request.urlopen(base + p) as r: code = r.status
    except urllib.error.HTTPError as e: code = e.code
    if code not in (400, 404): bad.append((p, code))
# A 1 MB parameter: refused by the server's request size bound, not read into a query.
try:
    urllib.request.urlopen(base + "/records?text=" + "a" * (1 << 20)); bad.append("1 MB accepted")
except urllib.error.HTTPError as e:
    if e.code not in (400, 413, 414, 431): bad.append(("1 MB", e.code))
except (ConnectionError, urllib.error.URLError):
    pass
print(bad if bad else "ok")
EOF
if tail -n 1 hostile.out | grep -q '^ok$'; then ok "hostile parameters and paths: 200 or 400 (404 for paths)"; else
	fail "hostile input"; tail -n 3 hostile.out | cut -c1-600; fi
expect_nogrep "cannot query" "$SCRATCH/serve.err" "no database error was logged"
code=$(curl -s -o body -w '%{http_code}' "$SERVE_URL/health")
[ "$code" = 200 ] && ok "the server still answers" || fail "health after hostile input: $code"
em-catalog query --db "$DB" >after.jsonl
expect_same all.jsonl after.jsonl "the catalog is unchanged"
stop_serve
[ "$RC" -eq 0 ] && ok "serve exits 0 on SIGTERM" || fail "serve exit $RC on SIGTERM"

done_testing
