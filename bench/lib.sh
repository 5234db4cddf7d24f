# lib.sh - sourced by bench/b-*.sh: paths, the shared EM-like volume, timing, one table row per case.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${EM_SHARED_BENCH:-$TOP/../shared/bench}
BENCH_DIR=${BENCH_DIR:-$TOP/bench/scratch}
PY=/usr/bin/python3
mkdir -p "$BENCH_DIR"
for d in "$TOP"/fetch-* "$TOP"/em-*; do [ -d "$d" ] && PATH=$d:$PATH; done
PATH=$TOP/t/prog:$TOP/bench:$PATH
export PATH

# em_volume SIZE_Z SIZE_Y SIZE_X: path of the synthetic EM-like uint8 volume
# (made once with the shared gen_em.c and kept in $BENCH_DIR).
em_volume() {
	v=$BENCH_DIR/em_$1x$2x$3.raw
	if [ ! -s "$v" ]; then
		if [ ! -x "$BENCH_DIR/gen_em" ]; then
			cc -O2 -fopenmp "$SHARED_BENCH/gen_em.c" -lm -o "$BENCH_DIR/gen_em" ||
				{ echo "bench: cannot build gen_em" >&2; return 1; }
		fi
		"$BENCH_DIR/gen_em" "$3" "$2" "$1" "$v.tmp" >/dev/null && mv "$v.tmp" "$v" ||
			{ echo "bench: cannot make $v" >&2; return 1; }
	fi
	echo "$v"
}

# em_zarr_store MB DIR: DIR/vol_MB.zarr, made once: MB planes of 1024 x 1024 EM-like uint8
# (em_volume), 64^3 chunks, zstd level 1, '/' keys (zarr-python); prints its path.
em_zarr_store() {
	_zs=$2/vol_$1.zarr
	if [ ! -f "$_zs/.zarray" ]; then
		_zv=$(em_volume "$1" 1024 1024) || return 1
		$PY - "$_zv" "$_zs" "$1" <<'PYEOF' || { echo "bench: cannot make the Zarr store" >&2; return 1; }
import sys, numpy as np, zarr, numcodecs
v = np.memmap(sys.argv[1], dtype=np.uint8, mode="r", shape=(int(sys.argv[3]), 1024, 1024))
a = zarr.open_array(sys.argv[2] + ".tmp", mode="w", shape=v.shape, chunks=(64, 64, 64),
                    dtype="u1", compressor=numcodecs.Zstd(level=1), dimension_separator="/")
for z in range(0, v.shape[0], 64):
    a[z:z + 64] = v[z:z + 64]
PYEOF
		mv "$_zs.tmp" "$_zs" || return 1
	fi
	echo "$_zs"
}

# discard PATH...: what a case wrote, out of the way until the run ends (bench/run.sh removes
# $BENCH_DIR/trash then), its pages dropped from the page cache as deleting it would.  On
# ext4 without a journal a new file's inode is found by walking the free inodes of its
# directory's block group, and each one freed in the last minute (six while its inode table
# block is unwritten) is passed over one by one: a store of 16,384 chunk files written just
# after another was deleted spent 40% of its CPU there (perf).  Deleting stores between the
# cases would judge the next case by that, and keeping them cached would leave the next case
# a page cache to reclaim.  With less than 24 GiB free, paths are removed at once.
discard() {
	mkdir -p "$BENCH_DIR/trash" || return 1
	_free=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
	_to=$(mktemp -d "$BENCH_DIR/trash/d.XXXXXX") || return 1
	for _p in "$@"; do
		[ -e "$_p" ] || continue
		if [ "${_free:-0}" -lt 25165824 ] || ! mv "$_p" "$_to/"; then
			rm -rf "$_p"
		fi
	done
	sync
	$PY - "$_to" <<'PYEOF'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        try:
            fd = os.open(os.path.join(d, f), os.O_RDONLY)
        except OSError:
            continue
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PYEOF
}

# warm: memory made resident just before a run, for ours and the references alike.  A
# virtual machine whose guest reports the pages it frees (virtio-balloon free page reporting,
# Linux's page_reporting: free blocks of 2 MiB and more; see its parameters in /sys/module)
# has its host take them back and back them again only when they are touched; a run then
# pays that for every page it takes that was reported.  Seen here: 1 GiB written into the
# page cache at 342 to 698 MB/s after five idle seconds, 2.1 to 5.0 GB/s just after this
# (though at other times mostly 360 to 750: it helps only with pages not reported yet);
# buffers in huge pages touched at 300 MB/s against 12.5 GB/s.  Which of those a run met
# depended on what ran before it, and that doubled or halved rows.  So each
# timed run comes just after EM_BENCH_WARM bytes (default 4G, at most half the available
# memory; 0 for none) were touched and freed, and the ceilings' line prints both speeds.
warm() {
	_kb=$(warm_kb) || return 1
	[ "$_kb" -gt 0 ] && memhog "${_kb}K" 0 >/dev/null 2>&1
	return 0
}

# warm_kb: how much warm touches, in KiB: EM_BENCH_WARM (a number of bytes, or with a K, M or
# G suffix; default 4G), at most half of MemAvailable; 0 when it is 0.
warm_kb() {
	awk -v w="${EM_BENCH_WARM:-4G}" '
		$1 == "MemAvailable:" { half = int($2 / 2) }
		END {
			if (w !~ /^[0-9]+[KMG]?$/) {
				printf "bench: EM_BENCH_WARM=%s is not a size (a number, K, M or G)\n", w > "/dev/stderr"
				exit 1
			}
			n = w + 0; u = substr(w, length(w))
			kb = (u == "K") ? n : (u == "M") ? n * 1024 : (u == "G") ? n * 1048576 : int(n / 1024)
			printf "%d\n", (kb > half ? half : kb)
		}' /proc/meminfo
}

# timed NAME command...: runs it under peakrss; sets SECS and RSS_MB.
timed() {
	name=$1
	shift
	sync
	warm || return 1
	if ! peakrss "$BENCH_DIR/$name.rss" "$@" >"$BENCH_DIR/$name.out" 2>"$BENCH_DIR/$name.err"; then
		echo "bench: '$name' failed:" >&2
		tail -n 5 "$BENCH_DIR/$name.err" >&2
		return 1
	fi
	SECS=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' "$BENCH_DIR/$name.rss")
	RSS_MB=$(sed 's/.*rss_kb=\([0-9]*\).*/\1/' "$BENCH_DIR/$name.rss" | awk '{printf "%.0f", $1/1024}')
}

# best FUNC ARGS...: runs "FUNC ARGS... I" (which calls timed) for I = 1 .. EM_BENCH_REPEAT
# (default 2) and keeps the fastest run: the machine is shared, and every figure, ours and
# the references alike, gets the same treatment.  I lets each run write somewhere new.
best() {
	b_secs='' b_rss=0 b_i=0
	while [ "$b_i" -lt "${EM_BENCH_REPEAT:-2}" ]; do
		b_i=$((b_i + 1))
		"$@" "$b_i" || return 1
		b_secs=$(awk -v a="$b_secs" -v b="$SECS" 'BEGIN { print (a == "" || b < a) ? b : a }')
		[ "$RSS_MB" -gt "$b_rss" ] && b_rss=$RSS_MB
	done
	SECS=$b_secs RSS_MB=$b_rss
}

# mbps BYTES SECONDS
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }'; }

# row CASE OURS_MBPS REF_NAME REF_MBPS RSS_MB TARGET_RATIO [RSS_LIMIT_MB]
# One line of the table; the verdict compares the ratio (and RSS) with the target.
row() {
	awk -v c="$1" -v o="$2" -v rn="$3" -v r="$4" -v m="$5" -v t="$6" -v lim="${7:-0}" 'BEGIN {
		ratio = (r > 0 ? o / r : 0)
		v = (ratio >= t && (lim == 0 || m <= lim)) ? "met" : "MISSED"
		if (t == "-")	# a figure to read, with no target of its own
			v = "-"
		printf "%-34s %9.1f %-26s %9.1f %6.2f %7s %6d %6s  %s\n", c, o, rn, r, ratio,
			(t == "-" ? "-" : ">=" t), m, (lim ? "<=" lim : "-"), v
	}'
}

# maxfield KEY N command...: the largest KEY=value the command prints over N runs.
maxfield() {
	mf_key=$1 mf_n=$2
	shift 2
	mf=0
	while [ "$mf_n" -gt 0 ]; do
		mf_n=$((mf_n - 1))
		v=$("$@" | sed -n "s/.*$mf_key=\([0-9.]*\).*/\1/p" | sort -g | tail -n 1)
		mf=$(awk -v a="$mf" -v b="${v:-0}" 'BEGIN { print (b > a) ? b : a }')
	done
	echo "$mf"
}

# agree NAME OURS REF...: fails loudly unless OURS is within 15% of the fastest REF: below,
# the ceiling is understated and every row it judges looks better than it is; above, it
# measures something the libraries' own tools do not reach.  A slower tool is said with
# its ratio, not failed: Debian's zstd program is such a tool for zstd-1 encode (see
# ceiling_measure).
agree() {
	ag_name=$1 ag_ours=$2
	shift 2
	awk -v n="$ag_name" -v o="$ag_ours" -v refs="$*" 'BEGIN {
		k = split(refs, r, " "); m = 0
		for (i = 1; i <= k; i++) if (r[i] + 0 > m) m = r[i] + 0
		d = (m > 0 ? o / m : 0)
		if (d < 0.85 || d > 1.15) {
			printf "bench: the %s ceiling %.1f MB/s is %.2f of the fastest of the libraries'\'' own" \
			    " tools (%s): not a ceiling to judge by\n", n, o, d, refs > "/dev/stderr"
			exit 1
		}
		for (i = 1; i <= k; i++)
			if (r[i] + 0 > 0 && o / r[i] > 1.15)
				printf "# the %s ceiling %.1f MB/s is %.2f of %.1f (a slower tool)\n", n, o, o / r[i], r[i]
	}'
}

# ceiling_measure: one measurement of every ceiling and of the tools it is checked against
# (each tool run twice, its best kept, as ours are); prints them.
ceiling_measure() {
	cv=$(em_volume 256 1024 1024) || return 1
	zarrtool codecbench --codec zstd --level 1 --threads 1 "$cv" >"$BENCH_DIR/cb1" &&
		zarrtool codecbench --codec zstd --level 1 --threads 1 "$cv" >>"$BENCH_DIR/cb1" ||
		return 1
	zenc=$(maxfield encode_MBps 1 cat "$BENCH_DIR/cb1")
	zdec=$(maxfield decode_MBps 1 cat "$BENCH_DIR/cb1")
	# zlib level 1 as the store writes it (ISA-L's igzip), and through libdeflate at level 1
	# (what the store used before igzip, and the yardstick the zlib-1 targets are set against).
	zlib=$(maxfield encode_MBps 1 zarrtool codecbench --codec zlib --level 1 --threads 1 "$cv")
	ldfl=$(maxfield encode_MBps 1 zarrtool codecbench --codec zlib --level 1 --threads 1 \
		--libdeflate "$cv")
	zarrtool hashbench "$cv" >"$BENCH_DIR/hb" && zarrtool hashbench "$cv" >>"$BENCH_DIR/hb" ||
		return 1
	sha=$(maxfield sha256_MBps 1 cat "$BENCH_DIR/hb")
	sha_mem=$(maxfield sha256_mem_MBps 1 cat "$BENCH_DIR/hb")
	cpy=$(maxfield memcpy_MBps 2 zarrtool copybench "$cv")
	# The disk: two dd with fdatasync at once (the rows write from both cores) into new
	# files, all kept until the last is written, as the rows keep their stores, each round
	# just after warm as every row is (without it, on this kind of virtual machine, the
	# figure was the host's page backing: one dd 1,036 MB/s reusing pages, 290 to 350
	# writing new data).
	disk=0
	for i in 1 2 3; do
		timed ceiling_disk sh -c 'dd if="$1" of="$2" bs=4M conv=fdatasync 2>/dev/null &
			dd if="$1" of="$3" bs=4M conv=fdatasync 2>/dev/null || exit 1; wait $!' \
			sh "$cv" "$BENCH_DIR/disk$i.a" "$BENCH_DIR/disk$i.b" ||
			{ rm -f "$BENCH_DIR"/disk?.?; return 1; }
		disk=$(awk -v a="$disk" -v b="$(mbps $((512 << 20)) "$SECS")" \
			'BEGIN { print (b > a) ? b : a }')
	done
	rm -f "$BENCH_DIR"/disk?.?
	# New pages, as a run meets them after five idle seconds and after warm: 1 GiB written
	# into the page cache, not synced (a figure to read; no row is judged by it).
	_w=${EM_BENCH_WARM-}
	sleep 5
	EM_BENCH_WARM=0
	timed fresh_cold dd if=/dev/zero of="$BENCH_DIR/fresh" bs=4M count=256 || return 1
	fresh_cold=$(mbps $((1024 << 20)) "$SECS")
	rm -f "$BENCH_DIR/fresh"
	EM_BENCH_WARM=$_w
	timed fresh_warm dd if=/dev/zero of="$BENCH_DIR/fresh" bs=4M count=256 || return 1
	fresh_warm=$(mbps $((1024 << 20)) "$SECS")
	rm -f "$BENCH_DIR/fresh"
	command -v zstd >/dev/null || { echo "bench: no zstd program (make deps)" >&2; return 1; }
	command -v openssl >/dev/null || { echo "bench: no openssl program (make deps)" >&2; return 1; }
	# zstd -b prints "... enc MB/s, dec MB/s"; the best of two runs of each column.
	for _ in 1 2; do
		zstd -b1 -B262144 -i3 "$cv" 2>&1 | tr '\r' '\n' |
			sed -n 's/.*, *\([0-9.]*\) MB\/s, *\([0-9.]*\) MB\/s.*/enc=\1 dec=\2/p' | tail -n 1
	done >"$BENCH_DIR/zb"
	zb_enc=$(maxfield enc 1 cat "$BENCH_DIR/zb")
	zb_dec=$(maxfield dec 1 cat "$BENCH_DIR/zb")
	# Debian's zstd program compiles the library's sources in again with their assertions
	# live, which costs its encoder about half its speed; say so where it does.  python3-
	# zstandard, zstd's Python binding, links the shared libzstd our tools link; it allocates
	# each decoded block, so only its encode figure is a reference.  Each block it returns is
	# a new object: glibc's fixed thresholds keep those on the heap, where they are warm,
	# instead of mapping and faulting in every one (the kernel's page clearing, not the codec).
	zb_asserts=$(objdump -d "$(command -v zstd)" 2>/dev/null | grep -c 'call.*<__assert_fail')
	cat >"$BENCH_DIR/py_zstd.py" <<'PY'
import sys, time, numpy as np, zstandard
a = np.fromfile(sys.argv[1], dtype=np.uint8)
z, blk = zstandard.ZstdCompressor(level=1), 262144
blocks = [a[i:i + blk] for i in range(0, len(a), blk)]
[z.compress(x) for x in blocks]
b = 1e9
for _ in range(3):
    t = time.perf_counter(); [z.compress(x) for x in blocks]; b = min(b, time.perf_counter() - t)
print("enc=%.1f" % (len(a) / b / 1e6))
PY
	pz_enc=$(export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824
		maxfield enc 3 "$PY" "$BENCH_DIR/py_zstd.py" "$cv")
	os=0
	for _ in 1 2; do
		o=$(openssl speed -evp sha256 -seconds 2 -bytes 16384 2>/dev/null |
			awk '$1 == "sha256" { sub(/k$/, "", $NF); printf "%.1f", $NF / 1000 }')
		os=$(awk -v a="$os" -v b="${o:-0}" 'BEGIN { print (b > a) ? b : a }')
	done
	zb_note=
	[ "${zb_asserts:-0}" -gt 100 ] &&
		zb_note=", a build calling assert in $zb_asserts places"
	echo "# ceilings, one thread each (MB/s): zstd-1 encode $zenc (zstd -b1 $zb_enc$zb_note;" \
		"python3-zstandard $pz_enc), decode $zdec (zstd -b1 $zb_dec); zlib-1 encode" \
		"(igzip, the store's) $zlib, libdeflate-1 $ldfl;" \
		"SHA-256 $sha (openssl speed $os; $sha_mem reading from memory); memcpy $cpy;" \
		"disk with fdatasync (new data, two writers) $disk;" \
		"new pages into the page cache $fresh_cold after 5 s idle, $fresh_warm after warm"
}

# ceilings: the speeds the rows are bound by, measured once per `make bench` (cached in
# $BENCH_DIR/ceilings.env, which bench/run.sh removes first) on the 256 MiB EM-like volume and
# checked against the libraries' own tools in the same session: `zstd -b1` on blocks of one
# 64^3 chunk, python3-zstandard's encoder (the shared libzstd our tools link; Debian's zstd
# program carries its own copy, built with assertions) and `openssl speed -evp sha256`.
# Sets C_ZSTD_ENC, C_ZSTD_DEC, C_ZLIB_ENC (zlib level 1 as the store writes it: ISA-L's igzip),
# C_LIBDEFLATE_ENC (libdeflate level 1), C_SHA256, C_MEMCPY (one
# thread each) and C_DISK (dd with fdatasync), all MB/s.  A disagreement is measured once more (the machine is shared), and
# a second one fails.
ceilings() {
	cf=$BENCH_DIR/ceilings.env
	try=1
	while [ ! -s "$cf" ]; do
		ceiling_measure || return 1
		if agree "zstd-1 encode" "$zenc" "$zb_enc" "$pz_enc" &&
			agree "zstd-1 decode" "$zdec" "$zb_dec" &&
			agree "SHA-256" "$sha" "$os"; then
			printf 'C_ZSTD_ENC=%s C_ZSTD_DEC=%s C_ZLIB_ENC=%s C_LIBDEFLATE_ENC=%s C_SHA256=%s C_MEMCPY=%s C_DISK=%s\n' \
				"$zenc" "$zdec" "$zlib" "$ldfl" "$sha" "$cpy" "$disk" >"$cf"
		elif [ "$try" -lt 2 ]; then
			try=$((try + 1))
			echo "# the ceilings disagree with the tools: measured again" >&2
		else
			return 1
		fi
	done
	. "$cf"
}

# lesser A B: the smaller number
lesser() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a < b ? a : b) }'; }
