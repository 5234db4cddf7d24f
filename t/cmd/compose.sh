# compose.sh - compose.yml is valid for Debian's docker-compose, its memory limits are
# those of config/config.yaml (docker.memory_limits), and in the stages its depends_on
# makes (the light sources together, then each heavy one, then consolidate) no stage
# sums to more than global.memory_budget; each container's em-ingest gets a budget
# within its limit.  The Dockerfile installs with the prefix it builds for.
. "$(dirname "$0")/../lib.sh"

command -v docker-compose >/dev/null || skip "no docker-compose (deps/debian.txt lists it)"
cd "$SCRATCH" || exit 1
run docker-compose -f "$TOP/compose.yml" config
expect_rc 0 "docker-compose config accepts compose.yml"
cp "$SCRATCH/out" resolved.yaml
run yaml2json resolved.yaml
expect_rc 0 "the resolved file reads as YAML"
cp "$SCRATCH/out" compose.json
EM_CONFIG=$TOP/config/config.yaml
unset EM_CONFIG_OVERLAY EM_MEMORY_BUDGET
budget=$(em-config --config "$TOP/config/config.yaml" --size global.memory_budget) ||
	fail "no global.memory_budget"
em-config --config "$TOP/config/config.yaml" --json docker.memory_limits >limits.json ||
	fail "no docker.memory_limits"

/usr/bin/python3 - compose.json limits.json "$budget" >check.out 2>&1 <<'PY'
import json, re, sys
compose = json.load(open(sys.argv[1]))
limits = json.load(open(sys.argv[2]))
budget = int(sys.argv[3])
UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
def size(s):
    m = re.fullmatch(r"(\d+)([kmgtb]?)", str(s).strip().lower())
    if not m:
        raise SystemExit("not a size: %r" % s)
    return int(m.group(1)) * UNITS[m.group(2)]
svc = compose["services"]
# Stage of a service: one more than the latest of what it depends on.
stage = {}
def depth(n, seen=()):
    if n in seen:
        raise SystemExit("depends_on cycle at " + n)
    if n not in stage:
        deps = svc[n].get("depends_on") or {}
        stage[n] = 1 + max([depth(d, seen + (n,)) for d in deps] or [0])
    return stage[n]
for n in svc:
    depth(n)
sums = {}
for n, s in sorted(svc.items()):
    lim = size(s.get("mem_limit", "0"))
    if lim == 0:
        print("no mem_limit:", n)
    if n not in limits or size(limits[n]) != lim:
        print("mem_limit of %s is %d, docker.memory_limits says %r" % (n, lim, limits.get(n)))
    b = (s.get("environment") or {}).get("EM_MEMORY_BUDGET")
    if b is not None and size(b) > lim:
        print("EM_MEMORY_BUDGET of %s (%s) is over its mem_limit" % (n, b))
    if "em-ingest" in s.get("command", []) and b is None:
        print("%s runs em-ingest without EM_MEMORY_BUDGET" % n)
    sums[stage[n]] = sums.get(stage[n], 0) + lim
for k in sorted(sums):
    names = " ".join(sorted(n for n in svc if stage[n] == k))
    print("stage %d: %s: %d%s" % (k, names, sums[k], " OVER" if sums[k] > budget else ""))
for n in ("empiar", "epfl", "dvid", "idr", "openorganelle", "consolidate"):
    if n not in svc:
        print("no service", n)
PY
cat check.out
expect_grep '^stage 1: dvid empiar idr: ' check.out "the light sources run together"
expect_grep '^stage 2: openorganelle: ' check.out "then openorganelle alone"
expect_grep '^stage 3: epfl: ' check.out "then epfl alone"
expect_grep '^stage 4: consolidate: ' check.out "then the catalog"
expect_nogrep 'OVER' check.out "no stage's limits sum to more than the budget ($budget bytes)"
expect_nogrep 'mem_limit of\|EM_MEMORY_BUDGET of\|without\|no service\|no mem_limit\|not a size\|cycle' \
	check.out "limits agree with docker.memory_limits, budgets within limits"
expect_grep 'make -j"$(nproc)" PREFIX=/usr ' "$TOP/Dockerfile" "the Dockerfile builds for the prefix it installs to"
expect_grep 'make install PREFIX=/usr ' "$TOP/Dockerfile" "and installs there"
done_testing
