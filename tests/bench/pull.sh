#!/usr/bin/env bash
# tests/bench/pull.sh - pull and unpack a multi-layer image of a few hundred
# MB from a local registry: hutch vs rootless podman vs skopeo + umoci
#
# usage: tests/bench/pull.sh [--build DIR] [--rounds N] [--src "DIR..."]
#
# Builds an OCI image with one layer per source directory (plus a busybox
# base), gzip-compressed, pushes it to Debian's docker-registry on
# 127.0.0.1 (a random port), then in interleaved rounds (the order rotates,
# so that load drift and cache warmth hit every tool alike) times, each
# into a fresh store:
#   hutch pull -q                     (download, verify, unpack every layer)
#   podman pull                       (rootless, overlay driver, own --root)
#   skopeo copy docker:// oci: + umoci unpack --rootless
# and prints the median seconds, the throughput in compressed MB/s, and
# each tool's time over hutch's (above 1: hutch is faster). `sync` runs
# before every timing so that one tool's dirty pages are not written back
# on the next one's clock. Run as root, it runs as the unprivileged user
# hutch-sub (created by tests/run). The issue's goal: hutch >= 1.5x podman.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=build rounds=3
src="/usr/include /usr/lib/python3.11 /usr/lib/gcc"
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--src) src=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--rounds N] [--src \"DIR...\"]" >&2; exit 2 ;;
	esac
done
for t in docker-registry skopeo podman umoci jq curl python3; do
	command -v "$t" >/dev/null || { echo "missing $t: run tests/deps.sh --bench" >&2; exit 1; }
done

if [ "$(id -u)" = 0 ]; then
	user=hutch-sub
	id "$user" >/dev/null 2>&1 || { echo "no user $user: run tests/run once as root" >&2; exit 1; }
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/hutch-bench-pull.XXXXXX")
	cp "$here/$build/hutch" "$work/"
	mkdir -p "$work/tests/lib" "$work/tests/bench"
	cp "$here/tests/lib/common.bash" "$here/tests/lib/registry.bash" "$work/tests/lib/"
	cp "$0" "$work/tests/bench/pull.sh"
	chown -R "$user" "$work"
	chmod 0755 "$work"
	exec runuser -u "$user" -- env -i PATH="$PATH" HOME="$(getent passwd "$user" | cut -d: -f6)" \
		USER="$user" LANG=C.UTF-8 BENCH_HUTCH="$work/hutch" BENCH_DIR="$work" TMPDIR="${TMPDIR:-/var/tmp}" \
		bash "$work/tests/bench/pull.sh" --rounds "$rounds" --src "$src"
fi

HUTCH=${BENCH_HUTCH:-$here/$build/hutch}
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/var/tmp}/hutch-bench-pull.XXXXXX")}
lib=$(cd "$(dirname "$0")/../lib" && pwd)
export HUTCH HUTCH_BUILD=$work HUTCH_TESTS=$work/tests BATS_FILE_TMPDIR=$work
bats_require_minimum_version() { :; }
# shellcheck source=../lib/common.bash
source "$lib/common.bash"
# shellcheck source=../lib/registry.bash
source "$lib/registry.bash"

# Remove what a run made: podman's and hutch's stores hold files of
# subordinate ids, which only a user namespace with them can delete.
wipe() {
	[ -e "$1" ] || return 0
	podman unshare rm -rf "$1" 2>/dev/null || rm -rf "$1"
}
# podman's rootless pause process (it keeps the user namespace that
# `podman unshare` made), stopped by the PID it wrote.
podman_pause_stop() {
	local f pid
	f=${XDG_RUNTIME_DIR:-/tmp/podman-run-$(id -u)}/libpod/tmp/pause.pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	# catatonit -P ignores SIGTERM.
	grep -qs -e catatonit -e podman "/proc/$pid/cmdline" && kill -KILL "$pid" 2>/dev/null
	return 0
}
cleanup() {
	registry_stop
	wipe "$work"
	podman_pause_stop
}
trap cleanup EXIT

# ---- the image ---------------------------------------------------------------
lay=$work/oci
oci_init "$lay"
reg_rootfs "$work/base"
specs=("$(oci_layer "$lay" "$work/base" gzip)")
for d in $src; do
	mkdir -p "$work/src"
	# Each source directory at its own path, as a package layer would be.
	tree="$work/src/$(basename "$d")"
	mkdir -p "$tree$(dirname "$d")"
	cp -a "$d" "$tree$(dirname "$d")/" 2>/dev/null || true
	specs+=("$(oci_layer "$lay" "$tree" gzip)")
	rm -rf "$tree"
done
read -r mdigest msize <<<"$(oci_manifest "$lay" amd64 "${specs[@]}")"
oci_tag "$lay" bench "$mdigest" "$msize"
packed=0 unpacked=0
for s in "${specs[@]}"; do
	read -r d sz _ <<<"$s"
	packed=$((packed + sz))
done
unpacked=$(du -sb --apparent-size "$work/base" | cut -f1)
for d in $src; do
	unpacked=$((unpacked + $(du -sb --apparent-size "$d" 2>/dev/null | cut -f1)))
done
registry_start "$work/reg"
reg_push "$lay" bench bench/image:1
image="$REG/bench/image:1"
echo "image: ${#specs[@]} layers, $((packed / 1000000)) MB gzip, $((unpacked / 1000000)) MB unpacked; registry $REG"

# ---- the contenders --------------------------------------------------------
run_hutch() {
	HUTCH_ROOT=$1/store HUTCH_RUNTIME=$1/run "$HUTCH" pull -q "$image" >/dev/null
}
run_podman() {
	podman --root "$1/root" --runroot "$1/run" --storage-driver overlay \
		--events-backend file --cgroup-manager cgroupfs \
		pull --tls-verify=false -q "$image" >/dev/null
}
run_skopeo_umoci() {
	skopeo copy --quiet --src-tls-verify=false "docker://$image" "oci:$1/oci:bench" >/dev/null &&
		umoci unpack --rootless --image "$1/oci:bench" "$1/bundle" >/dev/null
}
names=(hutch podman skopeo+umoci)
funcs=(run_hutch run_podman run_skopeo_umoci)

declare -A secs
for r in $(seq "$rounds"); do
	for k in 0 1 2; do
		i=$(((k + r) % 3))
		dir=$work/run-$r-$i
		mkdir -p "$dir"
		sync
		t0=$(date +%s.%N)
		"${funcs[$i]}" "$dir" || { echo "${names[$i]} failed" >&2; exit 1; }
		t1=$(date +%s.%N)
		secs[$i,$r]=$(awk "BEGIN { print $t1 - $t0 }")
		wipe "$dir"
	done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "pull + unpack ($(uname -r), $(nproc) cpus, $(df -PT "$work" | awk 'NR == 2 { print $2 }') under $work, user $(id -un)): $rounds rounds"
printf '%-14s %10s %12s %12s\n' tool "median s" "MB/s (gzip)" "vs hutch"
for i in 0 1 2; do
	med=$(for r in $(seq "$rounds"); do echo "${secs[$i,$r]}"; done | median)
	ratio=$(for r in $(seq "$rounds"); do awk "BEGIN { print ${secs[$i,$r]} / ${secs[0,$r]} }"; done | median)
	printf '%-14s %10.2f %12.1f %11.2fx\n' "${names[$i]}" "$med" \
		"$(awk "BEGIN { print $packed / 1000000 / $med }")" "$ratio"
done
