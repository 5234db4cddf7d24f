# ingest-progress.sh - live progress.  A fetcher's and em-meta's --progress-file: whole
# lines only (never an empty or partial read), counters that never go back, a last line
# with the totals and how the run ended (done, failed, cancelled), a file that cannot be
# written only warned about.  em-ingest on a pseudo-terminal against the demo mirror: one
# line per source redrawn in place (clear-line, cursor-up), the states from waiting to
# complete, the last frame left above the table, an interrupt said after it and nothing
# left running; with -q or without a terminal, exactly the plain lines.  Run under dash,
# from the build tree.
# shellcheck shell=sh disable=SC1091,SC2034 # t/lib.sh is sourced, and reads RC
. "$(dirname "$0")/../lib.sh"
. "$TOP/t/origin.sh"
. "$TOP/t/double/procs.sh"

PY=/usr/bin/python3
command -v dash >/dev/null || skip "no dash (deps/debian.txt lists it)"
$PY -c 'import numpy, tifffile, zarr, numcodecs, pty' 2>/dev/null ||
	skip "python3-numpy, -tifffile, -zarr or -numcodecs missing (make deps)"
[ -x "$TOP/t/prog/mkdm3" ] || skip "no t/prog/mkdm3 (the DM3 writer of the file fetchers' tests)"
for t in fetch-empiar fetch-epfl fetch-dvid fetch-idr fetch-zarr em-meta em-validate; do
	[ -x "$TOP/$t/$t" ] || skip "$t is not built"
done
if [ "$ASAN" -eq 1 ]; then
	EM_NO_ADDRESS_LIMIT=1
	export EM_NO_ADDRESS_LIMIT
else
	unset EM_NO_ADDRESS_LIMIT
fi
# The order em-ingest runs (and draws) them in: the light stage, then the heavy ones.
SRC="idr dvid empiar openorganelle epfl"

sh "$TOP/scripts/demo-mirror.sh" -s small "$SCRATCH" >"$SCRATCH/mirror.out" 2>&1 ||
	{ cat "$SCRATCH/mirror.out"; fail "demo-mirror.sh"; done_testing; }
# OpenOrganelle's chunks come slowly, so that it is seen fetching.
start_origin o --root "$SCRATCH/www" --fault 'path=*/fibsem-int16/s0/*/*,delay=200'
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" \
	-e 's|^global:$|global:\n  chunks: [8, 16, 16]\n  jobs: 2|' \
	"$SCRATCH/overlay.yaml.in" >"$SCRATCH/overlay.yaml"
EM_CONFIG=$TOP/config/config.yaml
EM_CONFIG_OVERLAY=$SCRATCH/overlay.yaml
EM_SCHEMA=$TOP/schemas/metadata_schema.json
EM_MEMORY_BUDGET=3G
export EM_CONFIG EM_CONFIG_OVERLAY EM_SCHEMA EM_MEMORY_BUDGET
unset EM_EXECUTION_MODE EM_DATA_ROOT EM_LOGS_DIR EM_CATALOG_DIR EM_CACHE_DIR


# A copy of em-ingest beside wrappers of em-meta and em-validate (a built tree's tools
# come first): each notes its arguments, and with SLOW set reads all its input (the
# tool before it has ended) and waits a second before the tool starts, so that a source
# is seen hashing and validating.  The other tools are the build tree's (PATH).
B=$SCRATCH/bin
mkdir -p "$B/em-meta" "$B/em-validate"
cp "$TOP/em-ingest" "$B/em-ingest"
for t in em-meta em-validate; do
	cat >"$B/$t/$t" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$SCRATCH/$t.args"
if [ -n "\${SLOW:-}" ]; then
	cat >"$SCRATCH/$t.\$\$.in"
	sleep 1
	exec "$TOP/$t/$t" "\$@" <"$SCRATCH/$t.\$\$.in"
fi
exec "$TOP/$t/$t" "\$@"
EOF
	chmod +x "$B/$t/$t"
done

# --- the fetcher's --progress-file, read as fast as it can be while fetch-zarr runs ---
# watch FILE DONEFILE: reads FILE over and over until DONEFILE appears, then once more;
# prints each distinct line read, and "EMPTY" or "PARTIAL: ..." for a read that is not
# one whole line.
cat >"$SCRATCH/watch.py" <<'EOF'
import os, sys
f, done = sys.argv[1], sys.argv[2]
last = None
reads = 0
def one():
    global last, reads
    try:
        with open(f, "rb") as h:
            b = h.read()
    except FileNotFoundError:
        return
    reads += 1
    if b == b"":
        print("EMPTY")
    elif not b.endswith(b"\n") or b.count(b"\n") != 1:
        print("PARTIAL:", b)
    elif b != last:
        print(b.decode().rstrip("\n"))
        last = b
while not os.path.exists(done):
    one()
one()
print("READS", reads)
EOF
# check_lines FILE UNIT: the watched lines in FILE are well formed and never go back;
# prints the faults, nothing when there are none.
cat >"$SCRATCH/check.py" <<'EOF'
import re, sys
pat = re.compile(r"state=(running|done|failed|cancelled) bytes=(\d+)/(\d+) items=(\d+)/(\d+) "
                 r"unit=chunks seconds=(\d+\.\d{3}) rate=(\d+) eta=(-1\.0|\d+\.\d)$")
prev = None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("READS"):
        continue
    m = pat.match(line)
    if not m:
        print("malformed:", line)
        continue
    v = [int(x) for x in m.group(2, 3, 4, 5)] + [float(m.group(6))]
    if prev is not None:
        pv, pstate = prev
        if pstate != "running":
            print("a line after the last:", line)
        for k, name in ((0, "bytes done"), (2, "items done"), (4, "seconds")):
            if v[k] < pv[k]:
                print(name, "went back:", line)
        for k, name in ((1, "bytes total"), (3, "items total")):
            if pv[k] and v[k] != pv[k]:
                print(name, "changed:", line)
    prev = (v, m.group(1))
EOF
F=$SCRATCH/fz
mkdir -p "$F"
(cd "$F" && fetch-zarr --progress-file "$F/fetch.progress" >"$F/stub" 2>"$F/err"; echo $? >"$F/rc") &
fz=$!
$PY "$SCRATCH/watch.py" "$F/fetch.progress" "$F/rc" >"$F/lines"
wait "$fz"
read -r RC <"$F/rc"
expect_rc 0 "fetch-zarr --progress-file exits 0"
if grep -q -e '^EMPTY' -e '^PARTIAL' "$F/lines"; then
	fail "a read of the progress file saw an empty or partial file"; grep -e EMPTY -e PARTIAL "$F/lines" | head -n 5
else
	ok "every read of the progress file saw one whole line ($(sed -n 's/^READS //p' "$F/lines") reads)"
fi
$PY "$SCRATCH/check.py" "$F/lines" >"$F/faults"
if [ -s "$F/faults" ]; then fail "the progress lines"; head -n 5 "$F/faults"; else
	ok "every line has the fields in order; the counters never go back, the totals never change"
fi
n=$(grep -c '^state=running ' "$F/lines")
if [ "$n" -ge 3 ]; then ok "the file was rewritten during the run ($n distinct running lines)"; else fail "only $n distinct running lines"; fi
if grep -q '^state=running bytes=[1-9][0-9]*/51200 items=[1-9][0-9]*/18 ' "$F/lines"; then
	ok "a running line shows part of the work done"
else fail "no running line with work half done"; fi
# 16x40x40 int16 in chunks of 8x16x16: 51200 bytes, 2x3x3 chunks.
# shellcheck disable=SC2046 # the fields are words
set -- $(tail -n 2 "$F/lines" | head -n 1)
if [ "$1 $2 $3 $4" = "state=done bytes=51200/51200 items=18/18 unit=chunks" ]; then
	ok "the last line is done with the totals: $2 $3"
else fail "last line: $*"; fi
tail -n 2 "$F/lines" | head -n 1 >"$F/last"
expect_same "$F/last" "$F/fetch.progress" "the file holds that last line"
if [ ! -e "$F/fetch.progress.tmp" ]; then ok "no FILE.tmp is left"; else fail "fetch.progress.tmp left"; fi
expect_nogrep . "$F/err" "nothing on stderr (it is not a terminal)"

# em-meta's: the checksum pass over level 0.
(cd "$F" && exec em-meta --progress-file "$F/meta.progress" <"$F/stub" >"$F/rec" 2>"$F/merr")
RC=$?
expect_rc 0 "em-meta --progress-file exits 0"
# shellcheck disable=SC2046
set -- $(cat "$F/meta.progress")
if [ "$1 $2 $3 $4" = "state=done bytes=51200/51200 items=18/18 unit=chunks" ]; then
	ok "em-meta's last line is done with the totals"
else fail "em-meta's last line: $*"; fi
# A store that is not there: failed, with what was known.
sed 's|"internal_zarr_path": *"[^"]*"|"internal_zarr_path": "'"$F"'/none.zarr"|' "$F/stub" >"$F/stub2"
run em-meta --progress-file "$F/meta2.progress" "$F/stub2"
expect_rc 1 "em-meta on a missing store exits 1"
expect_grep '^state=failed bytes=0/0 items=0/0 unit=chunks ' "$F/meta2.progress" "its file ends failed"

# Failures: every chunk answered 500 until the retries run out; SIGTERM mid-run.
# (the chunks only: s0/Z/Y/X; the array's metadata comes, so the totals are known)
start_origin bad --root "$SCRATCH/www" --fault 'path=*/fibsem-int16/s0/*/*,status=500'
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" -e 's|^  http:$|  http:\n    retries: 1|' \
	-e 's|^global:$|global:\n  chunks: [8, 16, 16]|' "$SCRATCH/overlay.yaml.in" >"$SCRATCH/bad.yaml"
rm -rf "$F/data"
(cd "$F" && EM_CONFIG_OVERLAY=$SCRATCH/bad.yaml exec fetch-zarr --progress-file "$F/bad.progress" \
	>/dev/null 2>"$F/err")
RC=$?
expect_rc 1 "fetch-zarr against an origin that answers 500 exits 1"
expect_grep '^state=failed bytes=0/51200 items=0/18 unit=chunks ' "$F/bad.progress" "its file ends failed"
start_origin slow --root "$SCRATCH/www" --fault 'path=*/fibsem-int16/s0/*/*,delay=400'
sed -e "s|@ORIGIN@|$ORIGIN_URL|g" -e "s|@DIR@|.|g" -e 's|^global:$|global:\n  chunks: [8, 16, 16]|' \
	"$SCRATCH/overlay.yaml.in" >"$SCRATCH/slow.yaml"
rm -rf "$F/data" "$F/slow.progress"
(cd "$F" && EM_CONFIG_OVERLAY=$SCRATCH/slow.yaml exec fetch-zarr -j 1 \
	--progress-file "$F/slow.progress" >/dev/null 2>"$F/err") &
fz=$!
i=0
until grep -q 'items=[1-9]' "$F/slow.progress" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || break
	sleep 0.05
done
kill -TERM "$fz"
wait "$fz"
RC=$?
expect_rc 143 "fetch-zarr stopped by SIGTERM exits 143"
expect_grep '^state=cancelled bytes=[0-9]*/[1-9][0-9]* items=[1-9][0-9]*/[1-9][0-9]* ' \
	"$F/slow.progress" "its file ends cancelled, with the work done so far"
# A file that cannot be written: said once, and the fetch goes on.
rm -rf "$F/data"
(cd "$F" && exec fetch-dvid --progress-file "$F/no/such/dir/p" >"$F/out" 2>"$F/err")
RC=$?
expect_rc 0 "an unwritable progress file does not stop the fetch"
expect_grep "^fetch-dvid: cannot write progress file '$F/no/such/dir/p': No such file or directory" \
	"$F/err" "a warning names the file"
if [ "$(grep -c 'progress file' "$F/err")" -eq 1 ]; then ok "said once"; else fail "said more than once"; fi
expect_grep '"status": *"saving-data"' "$F/out" "the stub is printed"
run fetch-idr --progress-file ''
expect_rc 2 "an empty --progress-file is a usage error"
expect_grep "fetch-idr: --progress-file wants a file name" "$SCRATCH/err" "naming the option"

# --- em-ingest on a terminal ---
# ingest_pty DIR COLS [ptyrun options] [em-ingest options]
ingest_pty() {
	_d=$1 _c=$2
	shift 2
	rm -rf "$_d"
	mkdir -p "$_d"
	_o=""
	if [ "${1:-}" = --term-on ]; then _o="$1 $2"; shift 2; fi
	# shellcheck disable=SC2086 # the options are words
	(cd "$_d" && exec $PY "$TOP/t/ptyrun.py" "$_d.tty" "$_d.out" "$_c" $_o -- \
		dash "$B/em-ingest" "$@")
	RC=$?
}
rm -f "$SCRATCH"/em-*.args
SLOW=1
export SLOW
ingest_pty "$SCRATCH/live" 100
unset SLOW
expect_rc 0 "em-ingest on a terminal exits 0"
for s in $SRC; do
	expect_grep "^$s  *complete " "$SCRATCH/live.out" "the table: $s complete"
done
expect_nogrep "$(printf '\033')" "$SCRATCH/live.out" "no escape sequences on stdout (the table)"
n=$(grep -c -e '--progress-file .*/meta.progress' "$SCRATCH/em-meta.args")
if [ "$n" -eq 5 ]; then ok "em-meta is given its --progress-file for each source"; else fail "em-meta had --progress-file $n times, not 5"; fi
# The frames, as the terminal got them (the pseudo-terminal ends lines in \r\n).
# shellcheck disable=SC2086 # the sources are words
$PY - "$SCRATCH/live.tty" $SRC >"$SCRATCH/live.check" <<'EOF'
import re, sys
raw = open(sys.argv[1], "rb").read().decode().replace("\r\n", "\n")
srcs = sys.argv[2:]
n = len(srcs)
up = "\033[%dA" % n
res = []
def check(cond, what):
    res.append(("PASS " if cond else "FAIL ") + what)
check(raw.startswith("\033[2K"), "the first frame starts at once, with clear-line")
body, _, tail = raw.rpartition("\033[2K")
tail = tail.split("\n", 1)
last_line, after = "\033[2K" + tail[0], tail[1] if len(tail) > 1 else ""
frames_text = (body + last_line + "\n").split(up)
check(len(frames_text) >= 4, "several frames (%d), each after cursor-up %d" % (len(frames_text), n))
states = {s: [] for s in srcs}
figs = {s: [] for s in srcs}
ok_lines = True
line_re = re.compile(r"\033\[2K(\S+) +(\S+) *(.*)$")
for k, ft in enumerate(frames_text):
    lines = ft.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) != n:
        ok_lines = False
        res.append("FAIL frame %d has %d lines: %r" % (k, len(lines), lines[:8]))
        continue
    for s, l in zip(srcs, lines):
        m = line_re.match(l)
        if not m or m.group(1) != s or len(l) - 4 > 99 or not l.startswith("\033[2K%-14s %-10s" % (s, m.group(2))):
            ok_lines = False
            res.append("FAIL bad line for %s: %r" % (s, l))
            continue
        states[s].append(m.group(2))
        figs[s].append(m.group(3))
check(ok_lines, "every frame is one line per source, in order, '%-14s %-10s figures', cleared first")
allowed = {"waiting", "fetching", "hashing", "validating", "complete"}
check(all(set(v) <= allowed for v in states.values()),
      "states only from waiting, fetching, hashing, validating, complete: %s" % sorted(set().union(*states.values())))
o = states["openorganelle"]
for st in ("waiting", "fetching", "hashing", "validating", "complete"):
    check(st in o, "openorganelle is seen %s" % st)
order = ["waiting", "fetching", "hashing", "validating", "complete"]
idx = [order.index(x) for x in o if x in order]
check(idx == sorted(idx), "openorganelle's states come in order")
check(any(i in ("fetching", "hashing", "validating") and e == "waiting"
          for i, e in zip(states["idr"], states["epfl"])),
      "the heavy stage waits while the light one runs")
fetching = [f for st, f in zip(o, figs["openorganelle"]) if st == "fetching" and f]
check(any(re.fullmatch(r"([1-9]|1[0-7])/18 chunks  \d+\.\d\d MB/s  ETA \d+:\d\d", f) for f in fetching),
      "fetching shows 'N/18 chunks  X.XX MB/s  ETA M:SS': %r" % fetching[-3:])
done = [int(re.match(r"\d+", f).group(0)) for f in fetching]
check(done == sorted(done), "the chunks done never go back")
final = [l for l in frames_text[-1].split("\n") if l]
check(all(st == "complete" for st in [line_re.match(l).group(2) for l in final if line_re.match(l)]) and len(final) == n,
      "the last frame shows every source complete")
check(re.search(r"openorganelle +complete +18/18 chunks  \d+s$", final[3]) is not None,
      "the final line has the chunks and the time: " + final[3][4:])
check(after.startswith("em-ingest: consolidating the records under ./data\n"),
      "the consolidation line follows the last frame")
check("started" not in raw, "no 'started' lines under the live display")
# (the shell's echo reads backslashes: none goes out)
print("\n".join(r.replace("\\", "/").replace("\033", "ESC") for r in res))
EOF
while IFS= read -r l; do
	case $l in PASS*) ok "${l#PASS }" ;; *) fail "${l#FAIL }" ;; esac
done <"$SCRATCH/live.check"
[ -s "$SCRATCH/live.check" ] || fail "no checks of the frames ran"

# A narrow terminal: no line is wider than it (so none wraps).
ingest_pty "$SCRATCH/narrow" 30 idr dvid
expect_rc 0 "em-ingest on a 30-column terminal exits 0"
w=$(tr -d '\r' <"$SCRATCH/narrow.tty" | sed "s/$(printf '\033')\[[0-9]*[AK]//g" |
	grep -v '^em-ingest: ' | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
if [ "$w" -le 29 ] && [ "$w" -gt 20 ]; then ok "the lines are cut to the width ($w of 30 columns)"; else fail "lines of $w columns on a 30-column terminal"; fi

# A fetcher that is not there: its message waits for the last frame, which says failed.
NOEPFL=$(printf '%s\n' "$PATH" | tr : '\n' | grep -v '/fetch-epfl$' | paste -s -d : -)
OLDPATH=$PATH
PATH=$NOEPFL
ingest_pty "$SCRATCH/missing" 100 idr epfl
PATH=$OLDPATH
expect_rc 1 "em-ingest on a terminal without fetch-epfl exits 1"
tr -d '\r' <"$SCRATCH/missing.tty" | sed "s/$(printf '\033')\[[0-9]*[AK]//g" >"$SCRATCH/missing.txt"
grep -n '' "$SCRATCH/missing.txt" | grep -e '^[0-9]*:epfl ' | tail -n 1 | cut -d : -f 1 >"$SCRATCH/missing.n"
n=$(cat "$SCRATCH/missing.n")
if [ -n "$n" ] && sed -n "${n}p" "$SCRATCH/missing.txt" | grep -q '^epfl           failed     0s$' &&
	sed -n "$((n + 1))p" "$SCRATCH/missing.txt" | grep -q "^em-ingest: epfl: cannot run 'fetch-epfl': not found$"; then
	ok "the last frame says epfl failed, and the reason comes right after it"
else
	fail "the missing fetcher under the live display"; sed 's/^/#   /' "$SCRATCH/missing.txt" | tail -n 8
fi
n=$(grep -c "cannot run 'fetch-epfl'" "$SCRATCH/missing.txt")
if [ "$n" -eq 1 ]; then ok "said once"; else fail "said $n times"; fi

# -q on a terminal: nothing at all.
ingest_pty "$SCRATCH/quiet" 100 -q
expect_rc 0 "em-ingest -q on a terminal exits 0"
if [ ! -s "$SCRATCH/quiet.tty" ]; then ok "-q: nothing on the terminal"; else fail "-q wrote on the terminal"; head -c 300 "$SCRATCH/quiet.tty" | od -c | head -n 5; fi
if [ ! -s "$SCRATCH/quiet.out" ]; then ok "-q: no table"; else fail "-q printed a table"; fi

# SIGTERM while OpenOrganelle is fetching: the last frame shows it cancelled and EPFL
# not run, the message comes after it, and nothing is left running.
( i=0
	until [ "$(find "$SCRATCH/term/data/openorganelle" -path '*/0/*' -type f 2>/dev/null | wc -l)" -ge 3 ]; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || break
		sleep 0.05
	done
	: >"$SCRATCH/term.go" ) &
ingest_pty "$SCRATCH/term" 100 --term-on "$SCRATCH/term.go"
expect_rc 143 "em-ingest on a terminal stopped by SIGTERM exits 143"
tr -d '\r' <"$SCRATCH/term.tty" | sed "s/$(printf '\033')\[[0-9]*[AK]//g" >"$SCRATCH/term.txt"
# The seconds each took are the clock's business, and how far openorganelle came.
tail -n 8 "$SCRATCH/term.txt" | sed -e 's/  [0-9][0-9]*s$/  Ns/' \
	-e 's|^\(openorganelle  cancelled  \)[0-9]*/|\1N/|' >"$SCRATCH/term.end"
cat >"$SCRATCH/term.want" <<'EOF'
idr            complete   12/12 chunks  Ns
dvid           complete   8/8 chunks  Ns
empiar         complete   20/20 chunks  Ns
openorganelle  cancelled  N/18 chunks  Ns
epfl           not-run    
em-ingest: interrupted by SIGTERM: stopping every tool
em-ingest: openorganelle: cancelled (see ./logs/openorganelle.log)
em-ingest: epfl: not-run (see ./logs/epfl.log)
EOF
expect_same "$SCRATCH/term.want" "$SCRATCH/term.end" \
	"the last frame (cancelled, not-run), then the message, then the table's"
expect_grep '^openorganelle  *cancelled ' "$SCRATCH/term.out" "the table says cancelled"
i=0
while running_in "$SCRATCH/term"; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || break
	sleep 0.1
done
if running_in "$SCRATCH/term"; then fail "a process still runs in the interrupted run's directory"
else ok "nothing is left running (the drawing loop ended with the run)"; fi

# --- without a terminal: today's lines, byte for byte ---
rm -f "$SCRATCH"/em-*.args
rm -rf "$SCRATCH/plain"
mkdir -p "$SCRATCH/plain"
(cd "$SCRATCH/plain" && EM_NOW=2026-12-01T00:00:00Z exec dash "$B/em-ingest") \
	>"$SCRATCH/plain.out" 2>"$SCRATCH/plain.err"
RC=$?
expect_rc 0 "em-ingest without a terminal exits 0"
cat >"$SCRATCH/plain.want" <<'EOF'
em-ingest: idr: started (fetch-idr, memory share 1.0 GiB)
em-ingest: dvid: started (fetch-dvid, memory share 1.0 GiB)
em-ingest: empiar: started (fetch-empiar, memory share 1.0 GiB)
em-ingest: openorganelle: started (fetch-zarr, memory share 3.0 GiB)
em-ingest: epfl: started (fetch-epfl, memory share 3.0 GiB)
em-ingest: consolidating the records under ./data
em-ingest: loading the records into the catalog database
EOF
expect_same "$SCRATCH/plain.want" "$SCRATCH/plain.err" \
	"stderr: the started lines and the two after, nothing else"
# The table: its header, a row per source in the columns of printf '%-14s %-10s %-18s %10s
# %8s', then where things are; the figures in it are other tests' business.
awk -v srcs="$SRC" '
BEGIN { n = split(srcs, s, " ") }
NR == 1 { if ($0 != sprintf("%-14s %-10s %-18s %10s %8s", "SOURCE", "STATUS", "SHAPE", "SIZE", "TIME")) print "header: " $0; next }
NR <= n + 1 {
	src = substr($0, 1, 14); sub(/ +$/, "", src)
	if (src != s[NR - 1] || substr($0, 15, 1) != " " || substr($0, 16, 10) != sprintf("%-10s", "complete") ||
	    length($0) != 14 + 1 + 10 + 1 + 18 + 1 + 10 + 1 + 8 || $0 !~ /^[a-z]+ +complete +[0-9x]+ +[0-9.]+ [KMG]?i?B +[0-9ms]+$/)
		print "row: " $0
	next
}
NR == n + 2 { if ($0 != "records: ./data/<source>/<id>.json  stores: ./data/<source>/<id>.zarr") print "records line: " $0; next }
NR == n + 3 { if ($0 != "catalog: ./catalog/metadata_catalog_20261201T000000Z.json  logs: ./logs/") print "catalog line: " $0; next }
{ print "extra: " $0 }
END { if (NR != n + 3) print "lines: " NR }' "$SCRATCH/plain.out" >"$SCRATCH/plain.bad"
if [ ! -s "$SCRATCH/plain.bad" ]; then ok "stdout: the table in today's columns, then the two lines"; else fail "the table"; head -n 5 "$SCRATCH/plain.bad"; cat "$SCRATCH/plain.out"; fi
expect_nogrep '--progress-file' "$SCRATCH/em-meta.args" "no --progress-file is given without a terminal"
if [ "$(wc -l <"$SCRATCH/em-meta.args")" -eq 5 ]; then ok "(em-meta ran for each source)"
else fail "em-meta ran $(wc -l <"$SCRATCH/em-meta.args") times"; fi

done_testing
