#!/bin/bash
# tests/bench/squashfs.sh - a container's image as one .sqsh file against
# unpacked layers, with the store on a slow-metadata filesystem (issue 19).
#
# usage: tests/bench/squashfs.sh [--rounds N] [--delay-us N] [--user U]
#                                [--dir DIR] [--image py|sci] [--build DIR]
#
# Run as root (it drops the page cache, mounts tests/bench/slowfs and
# builds it with cc); hutch runs as the unprivileged --user (default
# hutch-h4-sub, which needs subordinate ids). Once, in DIR (default
# /var/tmp/hutch-bench-sqsh, kept): the Debian base tarball
# /var/cache/hutch-demo/debian-bookworm.tar imported, an image built on it
# with apt-get (py: python3; sci: python3 and python3-numpy/pandas/scipy;
# the Debian mirror must be reachable), saved as IMG.sqsh (kept: remove
# it to measure a changed `save`, e.g. another compressor). Each run:
# slowfs (a FUSE passthrough that sleeps --delay-us, default 200, before
# every metadata request) mounted on DIR/slow over DIR/slow.back, holding
# a copy of the store and of IMG.sqsh. Configurations:
#   a      hutch run IMAGE, the store (HUTCH_ROOT) on slowfs: unpacked layers
#   b      hutch run DIR/slow/IMG.sqsh, the store on slowfs
#          (in both, HUTCH_TEST_FSTYPE=lustre tells hutch what slowfs stands
#          for, which it would find by itself on a real Lustre: the
#          containers' upper dirs then go to node-local disk, their records
#          stay in the store)
#   c      hutch run IMAGE, the store on local disk
#   ch     Charliecloud's ch-run on DIR/slow/IMG.sqsh (it mounts it with
#          squashfuse itself)
# Workloads, each the wall time of the whole command (container start
# included), after `echo 3 >/proc/sys/vm/drop_caches` (cold):
#   find   find /usr | wc -l
#   import python3 -c "import ..." (py: json, email, http.client, sqlite3,
#          xml.dom.minidom; sci: numpy, pandas, scipy too)
#   8x     8 containers started at once, each the import (a and b only)
# and once, before the rounds: b's first start (its digest read in full
# through slowfs, then remembered; squashfs/verified.c). Prints the
# medians of --rounds (default 3) and the ratios the issue asks for.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
rounds=3 delay=200 user=hutch-h4-sub dir=/var/tmp/hutch-bench-sqsh image=py
build=out
while (($#)); do
	case $1 in
	--rounds) rounds=$2; shift 2 ;;
	--delay-us) delay=$2; shift 2 ;;
	--user) user=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--image) image=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	-h|--help) sed -n '2,36p' "$0"; exit 0 ;;
	*) echo "squashfs.sh: unknown argument $1; see --help" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "squashfs.sh: run it as root (see --help)" >&2; exit 2; }
case $image in
py) pkgs=python3
    imports="import json, email, http.client, sqlite3, xml.dom.minidom" ;;
sci) pkgs="python3 python3-numpy python3-pandas python3-scipy"
     imports="import json, email, http.client, sqlite3, xml.dom.minidom, numpy, pandas, scipy, scipy.linalg, scipy.stats" ;;
*) echo "squashfs.sh: --image py or sci" >&2; exit 2 ;;
esac
export USER=root # ch-run wants it; runuser sets the user's own
bin=$dir/bin local=$dir/local slow=$dir/slow back=$dir/slow.back
sqsh=$dir/$image.sqsh

mkdir -p "$bin"
chown "$user" "$dir"
# hutch and its helpers, where the user can run them.
for p in hutch hutch-overlay hutch-squashfs hutch-net; do
	install -m 0755 "$here/$build/$p" "$bin/$p"
done
cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE $(pkg-config --cflags fuse3) \
	-o "$bin/slowfs" "$here/tests/bench/slowfs.c" $(pkg-config --libs fuse3)

# as_user [VAR=VALUE...] CMD...: CMD as $user with hutch from $bin.
as_user() {
	runuser -u "$user" -- env HUTCH_OVERLAY="$bin/hutch-overlay" \
		HUTCH_SQUASHFS="$bin/hutch-squashfs" HUTCH_NET="$bin/hutch-net" \
		HUTCH_RUNTIME="/tmp/hutch-bench-sqsh-$(id -u "$user")" "$@"
}

if [ ! -f "$sqsh" ]; then
	echo "building the $image image and $sqsh (once)..." >&2
	mkdir -p "$dir/ctx-$image"
	printf 'FROM deb:12\nRUN apt-get update && apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n' \
		"$pkgs" >"$dir/ctx-$image/Dockerfile"
	chown -R "$user" "$dir/ctx-$image"
	as_user HUTCH_ROOT="$local" "$bin/hutch" import /var/cache/hutch-demo/debian-bookworm.tar deb:12 >/dev/null
	as_user HUTCH_ROOT="$local" "$bin/hutch" build -q -t "$image:1" "$dir/ctx-$image" >/dev/null
	as_user HUTCH_ROOT="$local" "$bin/hutch" save --format squashfs -o "$sqsh.tmp" "$image:1"
	mv "$sqsh.tmp" "$sqsh"
fi

cleanup() {
	mountpoint -q "$slow" && umount "$slow"
	rm -rf "$back"
}
trap cleanup EXIT
cleanup
mkdir -p "$slow" "$back"
# The slow store: a copy of the local one (its images and layers), and
# the .sqsh, made beside slowfs, then served through it.
cp -a "$local" "$back/store"
rm -rf "$back/store/containers" "$back/store/squashfs-verified"
cp -a "$sqsh" "$back/img.sqsh"
chown "$user" "$back" "$back/img.sqsh"
"$bin/slowfs" --delay-us="$delay" "$back" "$slow" -o allow_other,default_permissions,fsname=slowfs

cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { echo "$EPOCHREALTIME"; }

declare -A t
# timed KEY CMD...: CMD, cold, its wall time appended to t[KEY]; its
# output checked by the caller through $out.
timed() {
	local key=$1 t0 t1
	shift
	cold
	t0=$(now)
	out=$("$@" 2>&1) || { echo "squashfs.sh: $key failed: $out" >&2; exit 1; }
	t1=$(now)
	t[$key]+="$(echo "$t1 - $t0" | bc) "
}

# run_cfg CFG CMD...: CMD in a container of configuration CFG.
run_cfg() {
	local cfg=$1
	shift
	case $cfg in
	a) as_user HUTCH_ROOT="$slow/store" HUTCH_TEST_FSTYPE=lustre "$bin/hutch" run --rm --network none "$image:1" "$@" ;;
	b) as_user HUTCH_ROOT="$slow/store" HUTCH_TEST_FSTYPE=lustre "$bin/hutch" run --rm --network none "$slow/img.sqsh" "$@" ;;
	c) as_user HUTCH_ROOT="$local" "$bin/hutch" run --rm --network none "$image:1" "$@" ;;
	ch) as_user ch-run "$slow/img.sqsh" -- "$@" ;;
	esac
}

# eight CFG: 8 containers of CFG at once, each the import.
eight() {
	local pids=() st=0
	for _ in 1 2 3 4 5 6 7 8; do
		run_cfg "$1" python3 -c "$imports" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || st=1; done
	return $st
}

# b's first start: the whole file read for its digest, through slowfs,
# after the settle time of squashfs/verified.c.
while (($(date +%s) - $(stat -c %Z "$back/img.sqsh") < 3)); do sleep 0.5; done
timed b-first run_cfg b true
for ((r = 1; r <= rounds; r++)); do
	for cfg in a b c ch; do
		timed "$cfg-find" run_cfg "$cfg" sh -c 'find /usr | wc -l'
		n=$out
		timed "$cfg-import" run_cfg "$cfg" python3 -c "$imports"
		echo "round $r $cfg: find ($n entries), import: ${t[$cfg-find]} / ${t[$cfg-import]}" >&2
	done
	for cfg in a b; do timed "$cfg-8x" eight "$cfg"; done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A m
for k in "${!t[@]}"; do m[$k]=$(echo "${t[$k]}" | median); done
ratio() { echo "scale=2; ${m[$1]} / ${m[$2]}" | bc; }

echo "image $image ($(stat -c %s "$sqsh") bytes .sqsh), slowfs delay ${delay} us, $rounds rounds, medians in s (whole command, cold):"
printf '%-8s %10s %10s %10s\n' config find import 8x-import
for cfg in a b c ch; do
	printf '%-8s %10s %10s %10s\n' "$cfg" "${m[$cfg-find]}" "${m[$cfg-import]}" "${m[$cfg-8x]:--}"
done
echo "b first start (digest read through slowfs): ${m[b-first]} s"
echo "a/b import $(ratio a-import b-import)x (goal >= 5); b/c import $(ratio b-import c-import) (goal <= 1.3); b/ch import $(ratio b-import ch-import) (goal <= 1)"
echo "a/b find $(ratio a-find b-find)x; b/c find $(ratio b-find c-find); b/ch find $(ratio b-find ch-find); a/b 8x $(ratio a-8x b-8x)x"
