#!/bin/bash
# enter-tree.sh - run a command inside an unpacked root filesystem the way
# a machine would boot into it, without root: for tests/packaging.
#
# usage: unshare -Urm tests/packaging/enter-tree.sh TREE root|user CMD...
#
# Started as root of a new user and mount namespace (unshare -Urm: uid 0
# there is the calling user). A plain chroot would not do: the kernel
# refuses to create a user namespace in a chrooted process, and hutch makes
# one for every container. So TREE becomes the root of this mount namespace
# with pivot_root(2): TREE is bind-mounted onto itself (pivot_root wants a
# mount point), the host's /proc, /sys and /dev are bind-mounted in whole
# (recursively: a fresh procfs or sysfs mount inside hutch's namespaces is
# allowed only where one is already fully visible), /tmp is a fresh tmpfs
# (a private /tmp, as on a booted machine), and the old root is detached.
# From there on only TREE's own files exist; TREE/usr/local/bin/busybox
# (static, put there by the caller) detaches the old root, since the tree's
# own tools may lack the libraries a test removed.
#
# "root": CMD runs as root of that namespace (dpkg and apt-get work; they
# see one user, root). "user": CMD runs as uid and gid 1000 in a further
# user namespace nested in the first (the tree's util-linux unshare, which
# needs only libc), with no capabilities: an ordinary user as far as hutch
# can tell, for whom hutch then makes its own user namespace, nested once
# more. Kernels allow 32 levels. Every uid of these namespaces is the
# calling user on the host; no subordinate ids are involved, so hutch in
# the tree runs in single mapping (the tree has no /etc/subuid).
set -euo pipefail

t=$1 as=$2
shift 2
[ "$(id -u)" = 0 ] || { echo "enter-tree.sh: run it under unshare -Urm" >&2; exit 1; }
[ -x "$t/usr/local/bin/busybox" ] || { echo "enter-tree.sh: $t/usr/local/bin/busybox is missing: copy busybox-static's there" >&2; exit 1; }
mount --rbind "$t" "$t"
cd "$t"
mount --rbind /proc proc
mount --rbind /sys sys
mount --rbind /dev dev
mount -t tmpfs -o mode=1777 tmpfs tmp
mkdir -p .oldroot
pivot_root . .oldroot
cd /
case $as in
root) ;;
user) set -- /usr/bin/unshare --user --map-user=1000 --map-group=1000 -- "$@" ;;
*) echo "enter-tree.sh: root or user, not $as" >&2; exit 1 ;;
esac
exec /usr/local/bin/busybox sh -c 'busybox umount -l /.oldroot && busybox rmdir /.oldroot && exec "$@"' sh "$@"
