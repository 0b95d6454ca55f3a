#!/usr/bin/env bash
# tests/bench/unpack.sh - layer unpack speed: img_unpack() vs GNU tar
#
# usage: [TMPDIR=DIR] tests/bench/unpack.sh [--build DIR] [--rounds N] [--src DIRS]
#
# Packs a tree of about 200 MB (/usr/include and Python's library: many
# small files, as image layers have) into a plain and a gzip tar, then, in
# interleaved rounds, unpacks each with hutch's img_unpack() (which also
# computes the diff_id) and with `tar -xf` / `tar -xzf` into a fresh
# directory on the same filesystem. Prints the median seconds, MB/s of
# uncompressed tar, and the ratio hutch/tar (below 1: hutch is faster).
# Also times the reading designs alone (tests/bench/bench_unpack.c). No
# fsync on either side; `sync` runs between timings. tar runs with
# --no-same-owner, as img_unpack() without keep_owner: no chown. The work
# happens under $TMPDIR: a disk measures the filesystem as much as the
# unpacker, TMPDIR=/dev/shm (tmpfs) measures the CPU cost.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=out rounds=5 src="/usr/include /usr/lib/python3.11 /usr/lib/python3"
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--src) src=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--rounds N] [--src DIRS]" >&2; exit 2 ;;
	esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hutch-bench-unpack.XXXXXX")
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
bin=$work/bench_unpack
# The bench links only what it uses, so a half-built part elsewhere does
# not stop it.
objs=("$build/image/unpack.o" "$build/image/unpack-entry.o" "$build/image/digest.o" "$build/libcommon.a")
make --no-print-directory -C "$here" BUILD="$build" "${objs[@]}" >/dev/null
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$here" -o "$bin" "$here/tests/bench/bench_unpack.c" \
	"${objs[@]/#/$here/}" $(pkg-config --cflags --libs libarchive libcrypto)

# shellcheck disable=SC2086
tar -cf "$work/layer.tar" --numeric-owner $src 2>/dev/null || true
gzip -6 -c "$work/layer.tar" > "$work/layer.tar.gz"
size=$(stat -c %s "$work/layer.tar")
files=$(tar -tf "$work/layer.tar" | wc -l)
echo "layer: $((size / 1000000)) MB uncompressed, $files entries, gzip $(( $(stat -c %s "$work/layer.tar.gz") / 1000000)) MB"

declare -A times
# timed NAME CMD...: run CMD once into a fresh $work/out, record seconds.
timed() {
	local name=$1 t0 t1
	shift
	chmod -R u+rwx "$work/out" 2>/dev/null || true
	rm -rf "$work/out"
	mkdir "$work/out"
	sync
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	times[$name]+="$(( (t1 - t0) / 1000000 )) "
}
median() {
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

for ((r = 0; r < rounds; r++)); do
	timed hutch-plain "$bin" unpack "$work/layer.tar" "$work/out"
	timed tar-plain tar --no-same-owner -xf "$work/layer.tar" -C "$work/out"
	timed hutch-gzip "$bin" unpack "$work/layer.tar.gz" "$work/out"
	timed tar-gzip tar --no-same-owner -xzf "$work/layer.tar.gz" -C "$work/out"
	timed read-chain "$bin" chain "$work/layer.tar.gz"
	timed read-single "$bin" single "$work/layer.tar.gz"
	timed read-twopass "$bin" twopass "$work/layer.tar.gz"
done

printf '%-13s %8s %8s %s\n' what ms MB/s ratio
for k in hutch-plain tar-plain hutch-gzip tar-gzip read-chain read-single read-twopass; do
	m=$(median "${times[$k]}")
	ratio=""
	case $k in
	hutch-plain) ratio=$(awk -v a="$m" -v b="$(median "${times[tar-plain]}")" 'BEGIN{printf "%.2fx tar", a/b}') ;;
	hutch-gzip) ratio=$(awk -v a="$m" -v b="$(median "${times[tar-gzip]}")" 'BEGIN{printf "%.2fx tar", a/b}') ;;
	read-chain|read-twopass) ratio=$(awk -v a="$m" -v b="$(median "${times[read-single]}")" 'BEGIN{printf "%.2fx single (no hash)", a/b}') ;;
	esac
	printf '%-13s %8s %8s %s\n' "$k" "$m" "$(awk -v s="$size" -v m="$m" 'BEGIN{printf "%.0f", s/m/1000}')" "$ratio"
done
