#!/usr/bin/env bash
# tests/layering.sh - check every #include of the parts' sources against the
# rules of DESIGN.md's "Layout"; print each one that breaks them as
#
#   FILE:LINE includes HEADER: PART may not depend on OTHER
#
# and exit 1 (0 when there is none). The rules:
#   - hutch's parts depend one way, cli → builder → container → image →
#     sandbox → common: a part may include any part to its right, never one
#     to its left;
#   - fuse-overlay/, net/ and squashfs/ include only common/ (and themselves), and no
#     part includes them, except that cli/ may include net/net.h (run
#     borrows hutch-net's -p parser);
#   - no part includes another folder's *-internal.h;
#   - tests/ and examples/ are exempt (they test the internals).
# A folder of C sources that is none of these may include nothing outside
# itself: DESIGN.md and this script get it first. Only "quoted" includes
# count (<system> ones are the libraries').
#
# usage: tests/layering.sh [ROOT]   (default: the tree this script is in)
# tests/run runs it in the unit suite, as the test "layering".
set -u
shopt -s nullglob

root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
# Each part of the chain and its place in it (0 = cli).
declare -A rank=([cli]=0 [builder]=1 [container]=2 [image]=3 [sandbox]=4 [common]=5)
helpers=" fuse-overlay net squashfs "
exempt=" tests examples "

# why PART HEADER OTHER: set $reason to what PART may not depend on when it
# includes HEADER (of folder OTHER); empty when it may.
why() {
	local part=$1 header=$2 other=$3
	reason=
	[ "$other" = "$part" ] && return
	case ${header##*/} in
	*-internal.h) reason="$other's internals"; return ;;
	esac
	[ "$part" = cli ] && [ "$header" = net/net.h ] && return
	if [[ $helpers == *" $part "* ]]; then
		[ "$other" = common ] || reason=$other
		return
	fi
	if [ -z "${rank[$part]:-}" ]; then
		reason="$other (DESIGN.md's \"Layout\" has no part $part)"
	elif [ -z "${rank[$other]:-}" ] || ((rank[$other] <= rank[$part])); then
		reason=$other
	fi
}

bad=0
dirs=()
for d in "$root"/*/; do
	d=$(basename "$d")
	case $d in out | out-* | build-* | .*) continue ;; esac
	[[ $exempt == *" $d "* ]] && continue
	dirs+=("$d")
done

while IFS= read -r hit; do
	# FILE:LINE:TEXT, FILE relative to the root
	file=${hit%%:*} rest=${hit#*:}
	line=${rest%%:*} text=${rest#*:}
	[[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
	inc=${BASH_REMATCH[1]}
	part=${file%%/*} dir=${file%/*}
	# The compiler looks beside the file first, then in the root (-I.).
	if [ -e "$root/$dir/$inc" ]; then
		header=$dir/$inc
	else
		header=$inc
	fi
	case /$header/ in
	*/./* | */../* | *//*)
		header=$(realpath -m --relative-to="$root" "$root/$header") ;;
	esac
	[[ $header == */* ]] || continue
	other=${header%%/*}
	why "$part" "$header" "$other"
	[ -n "$reason" ] || continue
	echo "$file:$line includes $header: $part may not depend on $reason"
	bad=$((bad + 1))
done < <(cd "$root" && ((${#dirs[@]})) &&
	grep -rnE --include='*.c' --include='*.h' \
		'^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${dirs[@]}" |
	LC_ALL=C sort -t: -k1,1 -k2,2n)

if ((bad)); then
	echo "$bad include(s) break the layering of docs/DESIGN.md (\"Layout\"):" \
		"cli → builder → container → image → sandbox → common;" \
		"fuse-overlay, net and squashfs use common only; no other folder's *-internal.h"
	exit 1
fi
exit 0
