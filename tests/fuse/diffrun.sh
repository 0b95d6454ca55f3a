#!/bin/bash
# diffrun.sh WORK SCRIPT MODE - one differential run, as root of a user ns
#
# SCRIPT is a file of fsops.py ops, or fuzz:SEED:COUNT for random ops
# chosen while running on the kernel's side (and replayed on ours).
#
# Builds the fixture layers once, copies them twice, mounts the kernel's
# overlayfs (userxattr) on one copy and hutch-overlay on the other, runs
# SCRIPT (fsops.py ops) on both, and compares, line by line: every op's
# result, the visible trees afterwards, and the upper directories' entries
# and markers once unmounted. Prints the differences; exits 1 on any.
#
# KERNEL picks the kernel's side:
#   userns (the default) as above; the kernel refuses to rename merged
#       directories there (userxattr forces redirect_dir=nofollow), so
#       hutch-overlay runs with redirect_dir=off (its default) to compare;
#   ref:DIR compares hutch-overlay (redirect_dir=on) with the kernel's
#       results recorded in DIR/MODE/ (k.ops, k.tree, k.markers, and
#       script.ops for a recorded fuzz run: SCRIPT "recorded" runs it);
#   record:DIR records those, as real root (record-kernel.sh): the
#       fixture's user.overlay.* markers become trusted.overlay.*, the
#       kernel mounts with redirect_dir=on, and nothing is compared.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$1 script=$2 mode=$3
PY=/usr/bin/python3
KERNEL=${KERNEL:-userns}
case $KERNEL in
userns) OVL=${OVL:?} hopts=,redirect_dir=off ;;
ref:*)
	OVL=${OVL:?} hopts=,redirect_dir=on ref=${KERNEL#ref:}/$mode
	[ "$script" != recorded ] || script=$ref/script.ops
	;;
record:*) rec=${KERNEL#record:}/$mode ;;
*) echo "KERNEL=$KERNEL: not userns, ref:DIR or record:DIR"; exit 2 ;;
esac

"$here/mkfixture.sh" "$work/base" "$mode" || exit 2
cp -a "$work/base" "$work/k" && cp -a "$work/base" "$work/h" || exit 2
# Lower content beyond PATH_MAX from the root (deep.ops works there): 22
# levels of 200-byte names under abyss, merged from l1, l2 and l3, the top
# two levels already in the upper. Made after the copies (cp -a resolves
# whole paths), by entering one level at a time.
deep_fixture() (
	set -e
	L=$(printf 'L%.0s' {1..200})
	dive() { # dive LAYER LEVELS: enter LAYER/abyss/L/L/..., making them
		cd "$1/abyss"
		for ((i = 0; i < $2; i++)); do mkdir -p "$L" && cd "$L"; done
	}
	cd "$1"
	mkdir l1/abyss l2/abyss l3/abyss u/abyss
	(dive u 2)
	(dive l3 11 && echo "mid l3" >mid)
	(dive l3 22 && echo "leaf l3" >leaf && echo "gone l3" >gone &&
		echo "wh l3" >wh && ln -s leaf sl && mkdir sub &&
		echo "sub/a l3" >sub/a && setfattr -n user.k -v deep leaf)
	(dive l2 22 && mknod wh c 0 0 && echo "sub/b l2" >b)
	(dive l1 22 && echo "top l1" >top && mkdir sub && echo "sub/c l1" >sub/c)
)
deep_fixture "$work/k" && deep_fixture "$work/h" || exit 2
# A script that starts with "# fixture: chasm" (deeper.ops) also gets chasm:
# 400 levels of 200-byte names (80,400 bytes from the root, beyond the 64
# KiB that once bounded hutch-overlay's paths; fsops.py chasm). Only there:
# the trees it adds are long to walk.
if [ -f "$script" ] && [ "$(head -n 1 "$script")" = "# fixture: chasm" ]; then
	$PY "$here/fsops.py" chasm "$work/k" &&
		$PY "$here/fsops.py" chasm "$work/h" || exit 2
fi
lowers() { echo "$1/l1:$1/l2:$1/l3"; }
if [ -n "${rec:-}" ]; then
	for l in l1 l2 l3 u; do
		$PY "$here/fsops.py" xlate "$work/k/$l" trusted || exit 2
	done
	mount -t overlay overlay \
		-o "lowerdir=$(lowers "$work/k"),upperdir=$work/k/u,workdir=$work/k/w,redirect_dir=on" \
		"$work/k/m" || { echo "cannot mount the kernel's overlayfs"; exit 2; }
	mkdir -p "$rec" || exit 2
	if [[ $script == fuzz:* ]]; then
		IFS=: read -r _ seed count <<<"$script"
		$PY "$here/fsops.py" fuzz "$seed" "$count" "$work/k/m" \
			"$rec/script.ops" >"$work/k.ops" 2>&1
	else
		$PY "$here/fsops.py" run "$work/k/m" <"$script" >"$work/k.ops" 2>&1
	fi
	$PY "$here/fsops.py" tree "$work/k/m" >"$work/k.tree" 2>&1
	umount "$work/k/m"
	$PY "$here/fsops.py" markers "$work/k/u" >"$work/k.markers" 2>&1
	cp "$work"/k.{ops,tree,markers} "$rec/" || exit 2
	echo "recorded $(grep -c . "$work/k.ops") ops in $rec"
	exit 0
fi
if [ -n "${ref:-}" ]; then
	cp "$ref"/k.{ops,tree,markers} "$work/" || exit 2
else
	mount -t overlay overlay \
		-o "lowerdir=$(lowers "$work/k"),upperdir=$work/k/u,workdir=$work/k/w,userxattr" \
		"$work/k/m" || { echo "cannot mount the kernel's overlayfs"; exit 2; }
fi
mkfifo "$work/ready"
"$OVL" -f --ready-fd=3 \
	-o "lowerdir=$(lowers "$work/h"),upperdir=$work/h/u,workdir=$work/h/w$hopts" \
	"$work/h/m" 3>"$work/ready" 2>"$work/hutch.log" &
ovl_pid=$!
# The daemon holds this namespace alive: never leave it behind.
trap 'kill $ovl_pid 2>/dev/null' EXIT
if ! read -r -n 1 -t 30 _ <"$work/ready"; then
	echo "hutch-overlay did not come up:"
	cat "$work/hutch.log"
	exit 2
fi
if [ -n "${ref:-}" ]; then
	: # the kernel's side was recorded
elif [[ $script == fuzz:* ]]; then
	IFS=: read -r _ seed count <<<"$script"
	script=$work/fuzz.ops
	$PY "$here/fsops.py" fuzz "$seed" "$count" "$work/k/m" "$script" \
		>"$work/k.ops" 2>&1
else
	$PY "$here/fsops.py" run "$work/k/m" <"$script" >"$work/k.ops" 2>&1
fi
$PY "$here/fsops.py" run "$work/h/m" <"$script" >"$work/h.ops" 2>&1
sides="k h"
[ -z "${ref:-}" ] || sides=h
for side in $sides; do
	$PY "$here/fsops.py" tree "$work/$side/m" >"$work/$side.tree" 2>&1
done
[ -n "${ref:-}" ] || umount "$work/k/m"
umount "$work/h/m"
wait "$ovl_pid"
rc=$?
for side in $sides; do
	$PY "$here/fsops.py" markers "$work/$side/u" >"$work/$side.markers" 2>&1
done
fail=0
for what in ops tree markers; do
	if ! diff -u --label "kernel.$what" --label "hutch.$what" \
		"$work/k.$what" "$work/h.$what"; then
		fail=1
	fi
done
if [ "$rc" -ne 0 ] || [ -s "$work/hutch.log" ]; then
	echo "hutch-overlay exited $rc:"
	cat "$work/hutch.log"
	fail=1
fi
echo "$(grep -c . "$work/k.ops") ops compared, $(grep -c . "$work/k.tree") tree entries"
exit $fail
