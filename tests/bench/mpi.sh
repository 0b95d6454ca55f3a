#!/usr/bin/env bash
# tests/bench/mpi.sh - MPI between two ranks on this node: bare metal, hutch
# (joined and not joined) and Charliecloud's ch-run --join
#
# usage: tests/bench/mpi.sh [--build DIR] [--runs N]
#
# Builds tests/mpi's image (Debian's Open MPI and mpiprobe) with hutch,
# copies its tree into a plain directory, and runs `mpiprobe bench` under
# the host's mpirun (-np 2, vader and self only) N times (default 5) in
# turn for each of:
#   bare       the host's mpiprobe (built here with the host's mpicc: the
#              same Debian Open MPI 4.1 as the image's)
#   joined     hutch run --rootfs DIR (the ranks share one container)
#   separate   hutch run --rootfs DIR --join none --ipc host --pid host: a
#              container each. Open MPI's vader needs more than private
#              namespaces give: with --join none alone it crashes (its
#              peers' segments are not there), and cross-memory attach
#              across user namespaces is refused, so this is the host's
#              /dev/shm and pids, and copies in and out (no single copy)
#   ch-run     ch-run --join on the same directory
# mpiprobe prints the medians of 7 rounds of: ping-pong latency (8 B, us),
# bandwidth (1 MiB and 16 MiB, MB/s) and an 8-double allreduce (us); the
# table shows the median over the N runs of each, and the ratio to bare.
# Run it as an unprivileged user (as root it names what to do).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=out runs=5
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--runs N]" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" = 0 ]; then
	echo "run it as an unprivileged user: runuser -u USER -- $0 $*" >&2
	exit 2
fi
for t in mpirun mpicc ch-run; do
	command -v "$t" >/dev/null || { echo "missing $t: tests/deps.sh --bench" >&2; exit 1; }
done
tar=${HUTCH_TEST_DEBIAN_TAR:-/var/cache/hutch-demo/debian-bookworm.tar}
HUTCH=$here/$build/hutch
work=$(mktemp -d /tmp/hutch-bench-mpi.XXXXXX)
export HUTCH_ROOT=$work/store HUTCH_RUNTIME=$work/runtime
cleanup() {
	"$HUTCH" unshare rm -rf "$work" 2>/dev/null || true
	rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

echo "building the image (apt-get in a hutch build) ..." >&2
"$HUTCH" import "$tar" debian:12 >/dev/null
"$HUTCH" build -q -t mpi:1 "$here/tests/mpi" >"$work/build.log" 2>&1 || { tail "$work/build.log"; exit 1; }
img=$work/img
mkdir -p "$img"
"$HUTCH" run --rm -v "$img:/out" mpi:1 sh -c \
	'tar -C / --one-file-system --exclude=./out -cf - . | tar -C /out -xf - 2>/dev/null; true'
mkdir -p "$img/sync" "$work/tmp"
mpicc -O2 -o "$work/mpiprobe" "$here/tests/mpi/mpiprobe.c"

mpi=(mpirun --bind-to core -np 2 --mca btl vader,self)
declare -A cmd=(
	[bare]="$work/mpiprobe bench"
	[joined]="$HUTCH run --rm --rootfs $img mpiprobe bench"
	[separate]="--mca btl_vader_single_copy_mechanism none $HUTCH run --rm --join none --ipc host --pid host --rootfs $img mpiprobe bench"
	[ch-run]="ch-run --join-ct=2 --join-tag=bench$$ $img -- mpiprobe bench"
)
order=(bare joined separate ch-run)
for ((r = 1; r <= runs; r++)); do
	for k in "${order[@]}"; do
		# shellcheck disable=SC2086
		line=$("${mpi[@]}" ${cmd[$k]} 2>"$work/$k.err" | grep '^latency' || true)
		echo "$k ${line:-failed: $(grep -m1 -iE 'error|not available' "$work/$k.err" || true)}" | tee -a "$work/results" >&2
	done
done

echo
printf '%-10s %12s %14s %15s %13s\n' "" "lat 8B (us)" "bw 1MiB (MB/s)" "bw 16MiB (MB/s)" "allreduce (us)"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
declare -A base
for k in "${order[@]}"; do
	vals=()
	for f in 3 5 7 9; do
		vals+=("$(awk -v k="$k" -v f="$f" '$1 == k && $2 == "latency_8B_us" { print $f }' "$work/results" | median)")
	done
	[ "$k" = bare ] && for i in 0 1 2 3; do base[$i]=${vals[$i]}; done
	row=()
	for i in 0 1 2 3; do
		if [ "${vals[$i]}" = - ]; then
			row+=("-")
		else
			row+=("$(awk -v v="${vals[$i]}" -v b="${base[$i]}" 'BEGIN { printf "%s (%.2fx)", v, v / b }')")
		fi
	done
	printf '%-10s %12s %14s %15s %13s\n' "$k" "${row[@]}"
done
