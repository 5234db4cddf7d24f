# make-inputs.sh - sourced by t/cmd/consolidate-stream.sh: the fixed inputs whose
# em-consolidate outputs are kept beside this file (made by the in-memory em-consolidate
# before it streamed, and compared byte for byte since).  $R is t/data/records.
mkdir -p data/empiar/11759.zarr data/epfl data/idr data/dvid data/openorganelle old
for f in "$R"/valid-*.json; do
	b=$(basename "$f" .json)
	case $b in
	*empiar*) cp "$f" "data/empiar/$b.json" ;;
	*openorganelle*) cp "$f" "data/openorganelle/$b.json" ;;
	*cancelled*) cp "$f" "data/dvid/$b.json" ;;
	*rerun* | *processing*) cp "$f" "data/idr/$b.json" ;;
	*) cp "$f" "data/epfl/$b.json" ;;
	esac
done
for f in "$R"/invalid-*.json; do
	cp "$f" "old/$(basename "$f")"
done
printf '{"zarr_format": 3, "node_type": "group", "attributes": {}}\n' >data/empiar/11759.zarr/zarr.json
printf '["not", "a", "record"]\n' >data/listing.json
: >data/epfl/empty.json
printf '{"schema_version": 1,\n' >data/epfl/cut.json
# JSON Lines: every valid record again, compact, so each (source, id) has a duplicate.
for f in "$R"/valid-*.json; do
	python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$f"
done >records.jsonl
