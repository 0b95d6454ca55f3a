#!/usr/bin/env bash
# tests/bench/startup.sh - container start-up: hutch vs bubblewrap vs unshare
#
# usage: tests/bench/startup.sh [--build DIR] [--runs N] [--image-runs N]
#
# Times `hutch run --rootfs R true` against bwrap doing comparable work on
# the same busybox rootfs (new user, mount, pid, uts, ipc, cgroup
# namespaces; /proc, /dev, read-only /sys, host name) and against the
# bare minimum, `unshare -Urmpf --mount-proc true`. hyperfine runs each
# command many times; the table shows medians and the ratio to bwrap. The
# goal: hutch within 1.5x of bubblewrap.
#
# Then the same rootfs as an image (hutch import, podman import): `hutch
# run --rm IMAGE true` against rootless `podman run --rm IMAGE true`, with
# podman's default network (slirp4netns) and with --network host (hutch's
# default), both on the kernel's overlayfs (podman: driver overlay,
# mountopt nodev, as Debian's containers-storage sets it; runc where the
# host has hybrid cgroups, which crun refuses). The goal: hutch at least
# 10x faster than podman. Run as root, it runs as the
# unprivileged user hutch-sub (created by tests/run) or hutch-bench.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=out runs=300 image_runs=30
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--image-runs) image_runs=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--runs N] [--image-runs N]" >&2; exit 2 ;;
	esac
done
for t in hyperfine jq bwrap unshare; do
	command -v "$t" >/dev/null || { echo "missing $t: run tests/deps.sh --bench" >&2; exit 1; }
done

if [ "$(id -u)" = 0 ]; then
	user=hutch-sub
	id "$user" >/dev/null 2>&1 || { user=hutch-bench; id "$user" >/dev/null 2>&1 || useradd -m "$user"; }
	work=$(mktemp -d /tmp/hutch-bench.XXXXXX)
	cp "$here/$build/hutch" "$work/"
	for h in hutch-overlay hutch-net; do
		[ -x "$here/$build/$h" ] && cp "$here/$build/$h" "$work/"
	done
	cp "$0" "$work/startup.sh"
	chown -R "$user" "$work"
	chmod 0755 "$work"
	exec runuser -u "$user" -- env -i BENCH_HUTCH="$work/hutch" BENCH_DIR="$work" \
		PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" USER="$user" LOGNAME="$user" \
		HOME="$(getent passwd "$user" | cut -d: -f6)" bash "$work/startup.sh" --runs "$runs" \
		--image-runs "$image_runs"
fi

HUTCH=${BENCH_HUTCH:-$here/$build/hutch}
work=${BENCH_DIR:-$(mktemp -d)}
R=$work/rootfs
mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$R/bin/"
for a in true sh; do ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
export HUTCH_ROOT=$work/store HUTCH_RUNTIME=$work/run

bwrap_cmd="bwrap --unshare-user --unshare-pid --unshare-uts --unshare-ipc --unshare-cgroup-try --die-with-parent --bind $R / --proc /proc --dev /dev --ro-bind /sys /sys --hostname bench true"
cmds=(
	"$HUTCH run --rootfs $R true"
	"$HUTCH run --rootfs $R --userns=single true"
	"$bwrap_cmd"
	"unshare -Urmpf --mount-proc true"
)
names=("hutch (auto mapping)" "hutch --userns=single" "bwrap" "unshare -Urmpf")
# Rounds of all commands in turn, so that a change in the machine's load
# (CI neighbours) hits every command alike; ratios are per round, then the
# median over rounds.
rounds=5
per=$(((runs + rounds - 1) / rounds))
for r in $(seq "$rounds"); do
	hyperfine -N --warmup 10 --runs "$per" --export-json "$work/round$r.json" "${cmds[@]}" >/dev/null
done
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# table PREFIX REF WIDTH LABEL NAME...: per command, the median over the
# rounds' $work/PREFIX<round>.json medians, and the median ratio to command REF.
table() {
	local prefix=$1 ref=$2 w=$3 label=$4 i=0 med ratio name
	shift 4
	printf "%-${w}s %12s %12s\n" command "median ms" "vs $label"
	for name in "$@"; do
		med=$(for r in $(seq "$rounds"); do jq ".results[$i].median * 1000" "$work/$prefix$r.json"; done | median)
		ratio=$(for r in $(seq "$rounds"); do jq ".results[$i].median / .results[$ref].median" "$work/$prefix$r.json"; done | median)
		printf "%-${w}s %12.2f %11.2fx\n" "$name" "$med" "$ratio"
		i=$((i + 1))
	done
}

echo "container start-up ($(uname -r), $(nproc) cpus, user $(id -un)): $rounds rounds of $per runs"
table round 2 24 bwrap "${names[@]}"

# ---- run IMAGE true: hutch against rootless podman ---------------------------
command -v podman >/dev/null || { echo "podman is missing: run IMAGE not measured"; exit 0; }
tar -C "$R" -cf "$work/rootfs.tar" .
"$HUTCH" import "$work/rootfs.tar" bench:1 >/dev/null
mkdir -p "$work/xdg/data" "$work/xdg/run" "$work/xdg/config"
chmod 0700 "$work/xdg/run"
podman_opts="--events-backend file --cgroup-manager cgroupfs --storage-driver overlay --storage-opt overlay.mountopt=nodev"
if grep -qs ' /sys/fs/cgroup/unified cgroup2' /proc/mounts || ! grep -qs ' /sys/fs/cgroup cgroup2' /proc/mounts; then
	command -v runc >/dev/null && podman_opts+=" --runtime runc"
fi
pod="env XDG_DATA_HOME=$work/xdg/data XDG_RUNTIME_DIR=$work/xdg/run XDG_CONFIG_HOME=$work/xdg/config podman $podman_opts"
if ! $pod import "$work/rootfs.tar" localhost/bench:1 >/dev/null 2>"$work/podman.err" ||
	! $pod run --rm localhost/bench:1 true 2>>"$work/podman.err"; then
	echo "podman cannot run the image here: $(tail -n 1 "$work/podman.err"); run IMAGE not measured"
	exit 0
fi
icmds=(
	"$HUTCH run --rm bench:1 true"
	"$pod run --rm localhost/bench:1 true"
	"$pod run --rm --network host localhost/bench:1 true"
)
inames=("hutch run --rm IMAGE" "podman run --rm IMAGE" "podman ... --network host")
iper=$(((image_runs + rounds - 1) / rounds))
for r in $(seq "$rounds"); do
	hyperfine -N --warmup 2 --runs "$iper" --export-json "$work/image$r.json" "${icmds[@]}" >/dev/null
done
$pod system reset -f >/dev/null 2>&1 || true
echo
echo "run IMAGE true ($(HUTCH_ROOT=$work/store "$HUTCH" info 2>/dev/null | grep -i 'kernel overlay' | head -n 1 | tr -s ' ')): $rounds rounds of $iper runs"
table image 0 28 hutch "${inames[@]}"
