#!/usr/bin/env bash
# tests/bench/slurm.sh - what hutch adds to a Slurm job step
#
# usage: tests/bench/slurm.sh [--build DIR] [--runs N] [--proctrack cgroup|linuxproc]
#
# Times `srun hutch run --rm --rootfs R true` against `srun true`, and the
# same for a 2-task step (`srun -n 2`), on a busybox rootfs, in a
# one-node cluster (tests/slurm/cluster.sh). Each of N rounds runs the four
# commands in turn, so that a change in the machine's load hits them
# alike; the table shows each command's median and the median over rounds
# of its ratio to bare srun, and the overhead in ms (median of per-round
# differences). Run as root, it starts the cluster (default
# proctrack/cgroup), measures as the unprivileged user hutch-sub (created
# by tests/run; HUTCH_BENCH_USER names another) or hutch-bench, and stops
# the cluster; as another user it
# needs SLURM_CONF (or the site's configuration) to name a cluster.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=out runs=30 proctrack=cgroup
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--proctrack) proctrack=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--runs N] [--proctrack cgroup|linuxproc]" >&2; exit 2 ;;
	esac
done
for t in srun sinfo busybox; do
	command -v "$t" >/dev/null || { echo "missing $t: run tests/deps.sh" >&2; exit 1; }
done

if [ "$(id -u)" = 0 ]; then
	user=${HUTCH_BENCH_USER:-hutch-sub}
	id "$user" >/dev/null 2>&1 || { user=hutch-bench; id "$user" >/dev/null 2>&1 || useradd -m "$user"; }
	work=$(mktemp -d /tmp/hutch-bench.XXXXXX)
	cluster=
	trap '[ -z "$cluster" ] || "$here/tests/slurm/cluster.sh" stop "$cluster"; rm -rf "$work"' EXIT
	cp "$here/$build/hutch" "$work/"
	for h in hutch-overlay hutch-net; do
		[ -x "$here/$build/$h" ] && cp "$here/$build/$h" "$work/"
	done
	cp "$0" "$work/slurm.sh"
	chown -R "$user" "$work"
	chmod 0755 "$work"
	cluster=$("$here/tests/slurm/cluster.sh" start "$proctrack")
	runuser -u "$user" -- env -i BENCH_HUTCH="$work/hutch" BENCH_DIR="$work" \
		SLURM_CONF="$cluster/slurm.conf" \
		PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" USER="$user" LOGNAME="$user" \
		HOME="$(getent passwd "$user" | cut -d: -f6)" bash "$work/slurm.sh" --runs "$runs"
	exit
fi

HUTCH=${BENCH_HUTCH:-$here/$build/hutch}
work=${BENCH_DIR:-$(mktemp -d)}
R=$work/rootfs
mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$R/bin/"
for a in true sh; do ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
export HUTCH_ROOT=$work/store HUTCH_RUNTIME=$work/run
timeout 20 sinfo -h -o %t >/dev/null || { echo "no Slurm cluster answers (run as root, or set SLURM_CONF)" >&2; exit 1; }
pt=$(scontrol show config | sed -n 's|^ProctrackType *= *||p')

cmds=(
	"srun true"
	"srun $HUTCH run --rm --rootfs $R true"
	"srun -n 2 true"
	"srun -n 2 $HUTCH run --rm --rootfs $R true"
)
names=("srun true" "srun hutch run --rm" "srun -n 2 true" "srun -n 2 hutch run --rm")
# Each command once, to warm caches and fail early.
for c in "${cmds[@]}"; do
	$c </dev/null >/dev/null || { echo "failed: $c" >&2; exit 1; }
done
# ms CMD...: the wall time of CMD in milliseconds.
ms() {
	local t0=$EPOCHREALTIME
	"$@" </dev/null >/dev/null
	echo "$EPOCHREALTIME $t0" | awk '{ printf "%.3f\n", ($1 - $2) * 1000 }'
}
for _ in $(seq "$runs"); do
	for i in "${!cmds[@]}"; do
		# shellcheck disable=SC2086
		ms ${cmds[i]} >>"$work/t$i"
	done
done
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "hutch in a Slurm job step ($(uname -r), $(nproc) cpus, user $(id -un), $pt, $(srun --version)): $runs rounds"
printf "%-28s %10s %10s %12s\n" command "median ms" "vs srun" "overhead ms"
for i in "${!cmds[@]}"; do
	ref=$((i / 2 * 2))
	med=$(median <"$work/t$i")
	ratio=$(paste "$work/t$i" "$work/t$ref" | awk '{ print $1 / $2 }' | median)
	over=$(paste "$work/t$i" "$work/t$ref" | awk '{ print $1 - $2 }' | median)
	printf "%-28s %10.1f %9.2fx %12.1f\n" "${names[i]}" "$med" "$ratio" "$over"
done
