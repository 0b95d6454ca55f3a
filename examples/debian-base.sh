#!/usr/bin/env bash
# examples/debian-base.sh - a minimal Debian root filesystem as a tarball,
# for `hutch import` where Docker Hub is out of reach.
#
# usage: examples/debian-base.sh OUTPUT.tar [SUITE]
#
# As root: mmdebstrap in its root mode. As a user with /etc/subuid ranges:
# mmdebstrap --mode=unshare, in a user namespace like hutch's own. Otherwise
# through sudo when it needs no password. Packages come from the mirror in
# /etc/apt/sources.list* (deb.debian.org by default).
set -euo pipefail
out=${1:?usage: $0 OUTPUT.tar [SUITE]}
suite=${2:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
command -v mmdebstrap >/dev/null || { echo "debian-base.sh: mmdebstrap is missing: apt-get install mmdebstrap" >&2; exit 1; }
# --format=tar: mmdebstrap otherwise picks the format from the output's
# extension, and "$out.part" has none it knows: it would write a directory.
args=(--variant=minbase --format=tar --include=ca-certificates --aptopt='Acquire::Retries "3"' "$suite" "$out.part" "$mirror")
# A killed or failed run leaves no half-written base behind.
trap 'rm -rf "$out.part"' EXIT
if [ "$(id -u)" = 0 ]; then
	mmdebstrap --mode=root "${args[@]}"
elif grep -qE "^($(id -un)|$(id -u)):" /etc/subuid 2>/dev/null; then
	mmdebstrap --mode=unshare "${args[@]}"
elif sudo -n true 2>/dev/null; then
	sudo -n mmdebstrap --mode=root "${args[@]}"
	sudo -n chown "$(id -u):$(id -g)" "$out.part"
else
	echo "debian-base.sh: need root, /etc/subuid ranges, or password-less sudo to build a Debian base; or run 'hutch pull debian:bookworm-slim' where Docker Hub is reachable" >&2
	exit 1
fi
mv "$out.part" "$out"
