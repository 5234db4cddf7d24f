# catalog.sh - sourced by the em-catalog tests after t/lib.sh: a throw-away
# PostgreSQL server, generated records, a reference query in Python, and the
# em-catalog HTTP server.
#
#   start_pg            initdb + pg_ctl start on a free loopback port (as the
#                       postgres user when run as root); sets PG_URL, PG_DIR,
#                       PG_PORT; skips the test with the reason when it cannot.
#                       The server is stopped when the test exits, whatever happens.
#   gen_records N SEED  N records as JSON Lines on stdout (valid, varied, some
#                       (source, id) given twice with another outcome)
#   start_serve DB      em-catalog serve --db DB on a free port: SERVE_URL, SERVE_PID
#   pyref FILE ARGS...  the records of FILE (JSON Lines) an em-catalog query with
#                       ARGS should give, in order, computed independently in Python

PY=/usr/bin/python3
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_DIR=""
SERVE_PID=""

catalog_cleanup() {
	if [ -n "$SERVE_PID" ]; then
		kill "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
	fi
	if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
		rm -rf "$PG_DIR"
	fi
	t_cleanup
}
trap catalog_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_pg() {
	[ "${EM_SKIP_PG:-0}" = 1 ] && skip "EM_SKIP_PG=1 (the PostgreSQL tests run in the plain build)"
	[ -x "$PG_BIN/initdb" ] || skip "no PostgreSQL server programs (initdb) in ${PG_BIN:-/usr/lib/postgresql/*/bin}: install the postgresql package"
	if [ "$(id -u)" -eq 0 ]; then
		command -v runuser >/dev/null || skip "running as root without runuser"
		id postgres >/dev/null 2>&1 || skip "running as root and there is no postgres user"
	fi
	PG_DIR=$(mktemp -d /tmp/em-catalog-pg.XXXXXX) || skip "cannot make a temporary directory"
	[ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
	PG_PORT=$(free_port)
	if ! as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U em >"$SCRATCH/initdb.log" 2>&1; then
		sed 's/^/#   /' "$SCRATCH/initdb.log" | tail -n 5
		skip "initdb failed (see above)"
	fi
	if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
	    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" \
	    start >"$SCRATCH/pg_ctl.log" 2>&1; then
		sed 's/^/#   /' "$PG_DIR/log" 2>/dev/null | tail -n 5
		skip "PostgreSQL did not start (see above)"
	fi
	PG_URL="postgresql://em@127.0.0.1:$PG_PORT/postgres"
	export PG_URL PG_PORT
}

# psql as the superuser em, for setting up roles in the tests.
pg_sql() {
	PGPASSWORD='' "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"
}

start_serve() {
	"$TOP/em-catalog/em-catalog" serve --db "$1" --listen 127.0.0.1:0 2>"$SCRATCH/serve.err" &
	SERVE_PID=$!
	SERVE_URL=""
	for _ in $(seq 1 100); do
		SERVE_URL=$(sed -n "s/^em-catalog: serving .* on \(http:[^ ]*\)\/$/\1/p" "$SCRATCH/serve.err")
		[ -n "$SERVE_URL" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$SERVE_URL" ] || { cat "$SCRATCH/serve.err"; fail "em-catalog serve did not start"; done_testing; }
}

stop_serve() {
	kill "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID"
	RC=$?
	SERVE_PID=""
}

gen_records() {
	$PY - "$1" "$2" "$TOP/t/data/records/valid-complete-empiar.json" <<'EOF'
import copy, json, random, sys, datetime
n, seed, tpath = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
tmpl = json.load(open(tpath))
rnd = random.Random(seed)
sources = ["empiar", "epfl", "dvid", "idr", "openorganelle"]
modalities = ["FIB-SEM", "SBF-SEM", "ssTEM", "serial-section TEM", "cryo-ET", None]
organisms = ["Homo sapiens", "Mus musculus", "Danio rerio", "Drosophila melanogaster", None]
licenses = ["CC0-1.0", "CC-BY-4.0", None]
dtypes = ["uint8", "uint16", "int16", "float32"]
vz = [0.5, 2.96, 4, 5, 8, 8.0, 10, 20, 50]
vxy = [4, 5, 8, 20]
words = ["mitochondria", "Retina", "hippocampus", "Zebrafish", "nucleus", "synapse",
         "cortex", "µm-scale", "100%", "under_score", "it's", "crop", "Larval", "eye"]
base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)

def one(i, source, rid):
    r = copy.deepcopy(tmpl)
    r["source"], r["id"] = source, rid
    status = rnd.choice(["complete"] * 3 + ["failed", "processing", "cancelled"])
    m = rnd.choice(modalities)
    if m is None: del r["modality"]
    else: r["modality"] = m
    o = rnd.choice(organisms)
    if o is not None: r["extra"] = {"organism": o}
    lic = rnd.choice(licenses)
    if lic is None: del r["license"]
    else: r["license"] = lic
    r["data_type"] = rnd.choice(dtypes)
    if rnd.random() < 0.1:
        del r["voxel_size_nm"]; del r["voxel_size_source"]
    else:
        r["voxel_size_nm"] = [rnd.choice(vz), rnd.choice(vxy), rnd.choice(vxy)]
    r["volume_shape"] = [rnd.randint(1, 2000) for _ in range(3)]
    r["file_size_bytes"] = rnd.randint(0, 10**12)
    r["description"] = " ".join(rnd.sample(words, 3))
    r["archive"]["title"] = " ".join(rnd.sample(words, 2))
    t0 = base + datetime.timedelta(seconds=rnd.randint(0, 300 * 86400), milliseconds=rnd.randint(0, 999))
    steps = {"complete": ["pending", "processing", "saving-data", "complete"],
             "failed": ["pending", "processing", "failed"],
             "cancelled": ["pending", "processing", "cancelled"],
             "processing": ["pending", "processing"]}[status]
    hist = []
    for s in steps:
        hist.append({"status": s, "time": ts(t0)})
        t0 += datetime.timedelta(seconds=rnd.randint(1, 600))
    r["status_history"] = hist
    r["status"] = status
    if status == "failed":
        r["error"] = "fetch: cannot read 'x': HTTP 500 ; DROP TABLE records;--"
    if status != "complete":
        for k in ("sha256", "statistics", "quality"):
            r.pop(k, None)
        if rnd.random() < 0.5: r.pop("file_size_bytes", None)
    return r

out = []
for i in range(n):
    source = rnd.choice(sources)
    rid = rnd.choice(["v%05d" % i, "v%05d.a_b" % i, "V%05d-x" % i])
    out.append(one(i, source, rid))
    if rnd.random() < 0.05:
        out.append(one(i, source, rid))
for r in out:
    print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
EOF
}

pyref() {
	$PY - "$@" <<'EOF'
import hashlib, json, sys, datetime, fnmatch, re
path, args = sys.argv[1], sys.argv[2:]
best = {}
def tms(s):
    d = datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    frac = s[20:23] if s[19] == "." else ""
    return int(d.timestamp()) * 1000 + int((frac + "000")[:3])
for line in open(path, encoding="utf-8"):
    line = line.rstrip("\n")
    r = json.loads(line)
    key = (r["source"], r["id"])
    rank = (1 if r["status"] == "complete" else 0, tms(r["status_history"][-1]["time"]),
            hashlib.sha256(line.encode()).hexdigest())
    if key not in best or rank > best[key][0]:
        best[key] = (rank, r, line)
def col(r, c):
    v = {"source": r["source"], "id": r["id"], "status": r["status"],
         "modality": r.get("modality"), "organism": (r.get("extra") or {}).get("organism"),
         "license": r.get("license"), "dtype": r.get("data_type"),
         "bytes": r.get("file_size_bytes"), "ingested": tms(r["status_history"][-1]["time"])}
    for i, a in enumerate("zyx"):
        v["voxel_" + a] = float(r["voxel_size_nm"][i]) if "voxel_size_nm" in r else None
        v["shape_" + a] = r["volume_shape"][i] if "volume_shape" in r else None
    return v[c]
def rng(s, conv):
    lo, hi = s.split(":")
    return (conv(lo) if lo else None, conv(hi) if hi else None)
filters, sort, desc, limit = [], "source", False, None
i = 0
while i < len(args):
    name, val = args[i][2:], args[i + 1]
    i += 2
    if name in ("source", "status", "modality", "organism", "license", "dtype"):
        filters.append(lambda r, n=name, v=val: col(r, n) == v)
    elif name == "id":
        rx = re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in val) + r"\Z", re.S)
        filters.append(lambda r, rx=rx: rx.match(r["id"]) is not None)
    elif name[:6] in ("voxel-", "shape-"):
        c = name.replace("-", "_")
        lo, hi = rng(val, float if name[0] == "v" else int)
        filters.append(lambda r, c=c, lo=lo, hi=hi: col(r, c) is not None and
                       (lo is None or col(r, c) >= lo) and (hi is None or col(r, c) <= hi))
    elif name in ("min-bytes", "max-bytes"):
        b = int(val)
        filters.append(lambda r, b=b, mn=name[1] == "i": col(r, "bytes") is not None and
                       (col(r, "bytes") >= b if mn else col(r, "bytes") <= b))
    elif name == "text":
        ws = [w.encode().lower() for w in val.split()]
        def tf(r, ws=ws):
            t = (r.get("description", "") + "\n" + ((r.get("archive") or {}).get("title") or "")).encode()
            t = bytes(c + 32 if 65 <= c <= 90 else c for c in t)
            return all(w in t for w in ws)
        filters.append(tf)
    elif name in ("since", "until"):
        t = tms(val if "T" in val else val + "T00:00:00.000Z")
        filters.append(lambda r, t=t, s=name == "since": col(r, "ingested") >= t if s else col(r, "ingested") < t)
    elif name == "sort":
        desc = val.startswith("-"); sort = val.lstrip("-")
    elif name == "limit":
        limit = int(val)
    else:
        sys.exit("pyref: unknown filter " + name)
rows = [b for b in best.values() if all(f(b[1]) for f in filters)]
rows.sort(key=lambda b: (b[1]["source"].encode(), b[1]["id"].encode()))
# Stable sorts: ties keep (source, id) order; nulls last either way.
present = [b for b in rows if col(b[1], sort) is not None]
absent = [b for b in rows if col(b[1], sort) is None]
def sk(b):
    v = col(b[1], sort)
    return v.encode() if isinstance(v, str) else v
present.sort(key=sk, reverse=desc)
if desc:
    # reverse=True keeps ties stable in Python; (source, id) stays ascending.
    pass
rows = present + absent
if limit: rows = rows[:limit]
for b in rows:
    print(b[2])
EOF
}
