#!/bin/bash
# interop-redirect.sh [SCRIPT] - an upper with renamed directories reads
# the same through hutch-overlay and the kernel's overlayfs; real root only
#
# The kernel writes and follows directory redirects only as real root,
# with trusted.overlay.* markers (it refuses redirect_dir=on together with
# userxattr); hutch-overlay writes user.overlay.* (userxattr's form), as
# root or not. The markers are the same otherwise, so an upper passes
# from one to the other by moving overlay.{opaque,redirect,whiteout}
# between the two namespaces (fsops.py xlate), which is what this does:
#   hutch -> kernel: hutch-overlay runs SCRIPT (default dirrename.ops) on
#     mkfixture.sh's layers; the markers become trusted.*; the kernel
#     (redirect_dir=on) must show the same tree as hutch-overlay did;
#   kernel -> hutch: the reverse, from a fresh fixture.
# Not part of the bats suites (they run unprivileged); run it by hand or
# in CI as root:  sudo OVL=out/hutch-overlay tests/fuse/interop-redirect.sh
set -u
[ "$(id -u)" = 0 ] || { echo "interop-redirect.sh: needs real root (trusted.overlay.* xattrs); run it with sudo"; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
OVL=$(realpath "${OVL:-$here/../../out/hutch-overlay}")
script=$(realpath "${1:-$here/scripts/dirrename.ops}")
PY=/usr/bin/python3
[ -x "$OVL" ] || { echo "interop-redirect.sh: no hutch-overlay at $OVL; build it (make) or set OVL"; exit 2; }
if [ -z "${INTEROP_NS:-}" ]; then # a private mount namespace: no leftovers
	exec unshare -m --propagation private env INTEROP_NS=1 OVL="$OVL" "$0" "$script"
fi
work=$(mktemp -d /var/tmp/hutch-interop.XXXXXX)
trap 'umount -l "$work"/*/m 2>/dev/null; rm -rf "$work"' EXIT
lowers() { echo "$1/l1:$1/l2:$1/l3"; }
kernel_mount() {
	mount -t overlay overlay -o "lowerdir=$(lowers "$1"),upperdir=$1/u,workdir=$1/w,redirect_dir=on" "$1/m"
}
hutch_mount() {
	mkfifo "$1/ready"
	"$OVL" --ready-fd=3 -o "lowerdir=$(lowers "$1"),upperdir=$1/u,workdir=$1/w,redirect_dir=on" \
		"$1/m" 3>"$1/ready" 2>>"$work/hutch.log" &
	read -r -n 1 -t 30 _ <"$1/ready" || { echo "hutch-overlay did not come up:"; cat "$work/hutch.log"; return 1; }
	rm -f "$1/ready"
}
xlate() { for l in l1 l2 l3 u; do $PY "$here/fsops.py" xlate "$1/$l" "$2" || return 1; done; }
fail=0
compare() { # compare WHAT A B
	if diff -u --label "$2" --label "$3" "$work/$2" "$work/$3"; then
		echo "$1: the same $(grep -c . "$work/$2") entries"
	else
		echo "$1: the trees differ"
		fail=1
	fi
}

"$here/mkfixture.sh" "$work/h" single >/dev/null || exit 2
hutch_mount "$work/h" || exit 2
$PY "$here/fsops.py" run "$work/h/m" <"$script" >"$work/h.ops" 2>&1
$PY "$here/fsops.py" tree "$work/h/m" >"$work/h.tree" 2>&1
umount "$work/h/m"
$PY "$here/fsops.py" markers "$work/h/u" >"$work/h.markers" 2>&1
grep -q REDIRECT= "$work/h.markers" ||
	{ echo "hutch-overlay wrote no redirect: nothing was checked"; exit 1; }
xlate "$work/h" trusted && rm -rf "$work/h/w" && mkdir "$work/h/w" || exit 2
kernel_mount "$work/h" || exit 2
$PY "$here/fsops.py" tree "$work/h/m" >"$work/h-by-kernel.tree" 2>&1
umount "$work/h/m"
compare "hutch-overlay's upper through the kernel" h.tree h-by-kernel.tree

"$here/mkfixture.sh" "$work/k" single >/dev/null || exit 2
xlate "$work/k" trusted || exit 2
kernel_mount "$work/k" || exit 2
$PY "$here/fsops.py" run "$work/k/m" <"$script" >"$work/k.ops" 2>&1
$PY "$here/fsops.py" tree "$work/k/m" >"$work/k.tree" 2>&1
umount "$work/k/m"
xlate "$work/k" user && rm -rf "$work/k/w" && mkdir "$work/k/w" || exit 2
hutch_mount "$work/k" || exit 2
$PY "$here/fsops.py" tree "$work/k/m" >"$work/k-by-hutch.tree" 2>&1
umount "$work/k/m"
compare "the kernel's upper through hutch-overlay" k.tree k-by-hutch.tree
compare "the same operations on either" k.tree h.tree
if [ -s "$work/hutch.log" ]; then
	echo "hutch-overlay complained:"
	cat "$work/hutch.log"
	fail=1
fi
exit $fail
