#!/bin/sh
# tests/deps.sh - install the Debian packages hutch builds and tests with,
# only those missing (apt-get update runs only when something is missing).
# The list: the build's own below, plus one package per line from each
# suite's tests/SUITE/deps file (what that suite's tests and benchmarks use).
# tests/bench/deps (the rival tools and the benchmarks' workloads, which no
# test needs) only with --bench:   tests/deps.sh --bench
# As root it installs; otherwise through sudo when that works without a
# password, else it names the packages and stops.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs="build-essential pkg-config git ca-certificates
libseccomp-dev libcap-dev libjansson-dev libyaml-dev libfuse3-dev fuse3
libnl-3-dev libnl-route-3-dev libslirp-dev libglib2.0-dev
libcurl4-openssl-dev libarchive-dev libssl-dev libsquashfs-dev libsquashfuse-dev
uidmap bats libcmocka-dev busybox-static tmux bsdutils util-linux
iproute2 procps clang-format cppcheck"
bench=
[ "${1:-}" = --bench ] && bench=1
for f in "$here"/*/deps; do
	[ "$f" = "$here/bench/deps" ] && [ -z "$bench" ] && continue
	[ -f "$f" ] && pkgs="$pkgs $(sed 's/#.*//' "$f" | tr '\n' ' ')"
done
missing=
for p in $pkgs; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "tests/deps.sh: installing:$missing"
if [ "$(id -u)" = 0 ]; then
	sudo=
elif sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "tests/deps.sh: missing packages:$missing; install them as root: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
