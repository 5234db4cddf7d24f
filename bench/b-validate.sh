# b-validate.sh - em-validate against python3-jsonschema (Draft202012Validator) on JSON Lines records.
. "$(dirname "$0")/lib.sh"

n=${B_VALIDATE_RECORDS:-20000}
schema=$BENCH_DIR/validate_schema.json
records=$BENCH_DIR/validate_$n.jsonl
cat >"$schema" <<'JSON'
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id", "source", "volume_shape", "voxel_size_nm", "data_type", "status", "statistics"],
  "properties": {
    "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"},
    "source": {"enum": ["empiar", "epfl", "dvid", "idr", "zarr"]},
    "volume_shape": {"$ref": "#/$defs/zyx_count"},
    "chunk_size": {"$ref": "#/$defs/zyx_count"},
    "voxel_size_nm": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0},
      "minItems": 3, "maxItems": 3},
    "data_type": {"enum": ["uint8", "uint16", "int16", "float32"]},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "download_url": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9+.-]*://[^\\s]+$"},
    "status": {"enum": ["pending", "processing", "saving-data", "complete", "failed", "cancelled"]},
    "status_history": {"type": "array", "items": {"type": "object",
      "required": ["status", "time"], "properties": {"status": {"type": "string"},
      "time": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"}},
      "additionalProperties": false}},
    "statistics": {"type": "object", "required": ["min", "max", "mean", "std", "histogram"],
      "properties": {"min": {"type": "number"}, "max": {"type": "number"},
        "mean": {"type": "number"}, "std": {"type": "number", "minimum": 0},
        "histogram": {"type": "array", "items": {"type": "integer", "minimum": 0},
          "minItems": 256, "maxItems": 256}}}
  },
  "additionalProperties": false,
  "$defs": {"zyx_count": {"type": "array", "items": {"type": "integer", "minimum": 1},
    "minItems": 3, "maxItems": 3}}
}
JSON
if [ ! -s "$records" ]; then
	$PY - "$n" >"$records.tmp" <<'PY' && mv "$records.tmp" "$records"
import json, random, sys
r = random.Random(1)
for i in range(int(sys.argv[1])):
    print(json.dumps({
        "id": "vol-%06d" % i, "source": r.choice(["empiar", "epfl", "dvid", "idr", "zarr"]),
        "volume_shape": [r.randint(1, 4096) for _ in range(3)], "chunk_size": [64, 64, 64],
        "voxel_size_nm": [r.uniform(1, 40) for _ in range(3)], "data_type": "uint8",
        "sha256": "%064x" % r.getrandbits(256),
        "download_url": "https://example.org/data/%d.tif" % i, "status": "complete",
        "status_history": [{"status": s, "time": "2026-11-24T03:%02d:00Z" % k}
                           for k, s in enumerate(["pending", "processing", "complete"])],
        "statistics": {"min": 0, "max": 255, "mean": r.uniform(0, 255), "std": r.uniform(0, 80),
                       "histogram": [r.randint(0, 100000) for _ in range(256)]}}))
PY
fi
bytes=$(wc -c <"$records")
timed validate-ours em-validate -q -s "$schema" "$records" || exit 1
ours=$(mbps "$bytes" "$SECS")
rss=$RSS_MB
timed validate-peer $PY -c '
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
bad = sum(1 for line in open(sys.argv[2]) if not v.is_valid(json.loads(line)))
sys.exit(1 if bad else 0)' "$schema" "$records" || exit 1
row "validate $n records (JSON Lines)" "$ours" "python3-jsonschema" "$(mbps "$bytes" "$SECS")" \
	"$rss" 10 64
