#!/bin/bash
# record-kernel.sh - record the kernel's overlayfs results for the scripts
# that need redirect_dir=on (directory renames), as real root
#
# The kernel refuses userxattr with redirect_dir=on (userxattr forces
# nofollow, in any namespace), so in a user namespace it answers EXDEV to
# these renames; only real root with trusted.overlay.* markers writes and
# follows redirects. This runs diffrun.sh's fixture and SCRIPT on the
# kernel's overlayfs that way, in both id modes (the ids in the fixture
# are the same numbers inside and outside the namespace), and stores the
# results under tests/fuse/scripts/NAME.expected/MODE/, which
# differential.bats compares hutch-overlay with, unprivileged. The
# markers are printed namespace-neutral (OPAQUE=, REDIRECT=), so the
# kernel's trusted.overlay.redirect and hutch's user.overlay.redirect
# compare equal. A random run (fuzz:SEED:COUNT NAME) is recorded with
# the operations the kernel's side chose (NAME.expected/MODE/script.ops).
# Rerun after changing a script, fsops.py's choices or mkfixture.sh:
#   sudo tests/fuse/record-kernel.sh tests/fuse/scripts/dirrename.ops
#   sudo tests/fuse/record-kernel.sh fuzz:11:300 fuzz11-redirect
set -eu
[ "$(id -u)" = 0 ] || { echo "record-kernel.sh: needs real root (trusted.overlay.* xattrs); run it with sudo"; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: record-kernel.sh SCRIPT.ops | fuzz:SEED:COUNT NAME"
case ${1:?$usage} in
fuzz:*) script=$1 out=$here/scripts/${2:?$usage}.expected ;;
*) script=$(realpath "$1") out=${script%.ops}.expected ;;
esac
for mode in single full; do
	work=$(mktemp -d /var/tmp/hutch-record.XXXXXX)
	# a private mount namespace: nothing stays mounted if this fails
	unshare -m --propagation private env KERNEL="record:$out" \
		FSOPS_ROOT_RECORD=1 \
		"$here/diffrun.sh" "$work" "$script" "$mode"
	rm -rf "$work"
done
