#!/bin/bash
# tests/bench/overlay.sh - hutch-overlay against a native directory, the
# kernel's overlayfs and fuse-overlayfs, in one run, on the same layers.
#
# usage: tests/bench/overlay.sh [--runs N] [--build DIR] [--dir DIR]
#                               [--tools "native kernel fuse-overlayfs hutch"]
#                               [--memory-only]
#
# Run it as an ordinary user (or root): everything happens in a user and
# mount namespace (unshare -Urm), where the kernel's overlayfs mounts with
# userxattr and both FUSE overlays mount without fusermount3. Needs
# fuse-overlayfs, python3-numpy/scipy/pandas (tests/deps.sh --bench) and ~4 GB
# in DIR (default /var/tmp/hutch-bench-$UID; the layers are built once and
# kept there).
#
# The layers: three lowers, like an image's: Python's dist-packages (with
# numpy, scipy, pandas), the standard library and /usr/include, and
# /usr/share with a 200 MB and a 1 GiB file. Each run mounts afresh (cold
# overlay caches; the page cache of the disk below is warm for all tools),
# then times:
#   python   importing numpy, scipy, pandas and ~30 stdlib packages; then
#            again on the same mount (a FUSE overlay's caches now warm: its
#            cost is then the round trips the kernel makes per file opened)
#   ls -lR   over the copies of /usr/share and /usr/include (~76k entries)
#   find     the same tree on another fresh mount
#   create   20,000 files of 100 bytes, then  delete  them
#   write    1 GiB streamed (dd, fsync at the end)     read  1 GiB lower file
#            (the upper is a tmpfs: see mount_tool)
#   copy-up  appending a byte to the 200 MB lower file
#   rss      the FUSE daemon's resident memory, idle after mounting, and
#            after the ls -lR (its node table then holds the tree)
#   memory   the FUSE daemons only, on a fourth layer of 200,000 entries
#            (400 directories of 499 empty files): RSS after a walk (find,
#            then ls -lR), after drop_caches (the kernel forgets the
#            inodes), and after three more walks each followed by
#            drop_caches: memory must come back and not grow. drop_caches
#            needs the bench to run as root; otherwise those rows show "-".
#            --memory-only runs just this (no numpy/scipy/pandas needed).
# The table shows the median of the runs and each overlay's time as a
# ratio to the kernel's overlayfs.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
runs=5 build=build dir=/var/tmp/hutch-bench-$(id -u)
tools="native kernel fuse-overlayfs hutch"
inner=0 memory_only=0
while (($#)); do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--inner) inner=1; shift ;;
	--memory-only) memory_only=1; shift ;;
	-h|--help) sed -n '2,41p' "$0"; exit 0 ;;
	*) echo "overlay.sh: unknown argument $1; see --help" >&2; exit 2 ;;
	esac
done
OVL=${HUTCH_OVERLAY:-$here/$build/hutch-overlay}
# Extra arguments and -o options for hutch-overlay (for experiments).
HUTCH_ARGS=${HUTCH_ARGS:-}
hopts=${HUTCH_OPTS:+,$HUTCH_OPTS}
PY=/usr/bin/python3
IMPORTS="import numpy, scipy, scipy.linalg, scipy.stats, scipy.optimize, scipy.signal, scipy.sparse, scipy.integrate, scipy.interpolate, pandas, json, email, http.client, xml.etree.ElementTree, asyncio, unittest, multiprocessing, decimal, sqlite3, ssl, urllib.request, logging, argparse, csv, zipfile, tarfile, concurrent.futures, ctypes, difflib, pydoc, pickle, inspect, dataclasses, typing, statistics"
WORKLOADS="python lsR find create delete write read copyup"

build_layers() {
	[ -f "$dir/layers.done" ] && return
	echo "building the layers in $dir (once)..." >&2
	rm -rf "$dir/l1" "$dir/l2" "$dir/l3" "$dir/native"
	mkdir -p "$dir"/l1/usr/lib/python3 "$dir"/l2/usr/lib "$dir"/l3/usr "$dir"/l3/big
	cp -a /usr/lib/python3/dist-packages "$dir/l1/usr/lib/python3/"
	cp -a /usr/lib/python3.11 "$dir/l2/usr/lib/"
	cp -a /usr/include "$dir/l2/usr/" 2>/dev/null || true
	cp -a /usr/share "$dir/l3/usr/" 2>/dev/null || true # a few are root's only
	head -c 200M /dev/urandom >"$dir/l3/big/f200m"
	dd if=/dev/zero of="$dir/l3/big/f1g" bs=1M count=1024 status=none
	mkdir -p "$dir/native"
	for l in l3 l2 l1; do cp -a "$dir/$l/." "$dir/native/"; done
	sync
	touch "$dir/layers.done"
}

# The memory workload's layer: 200,000 entries, names like a source tree's.
build_many() {
	[ -f "$dir/many.done" ] && return
	echo "building the 200,000-entry layer in $dir/many (once)..." >&2
	rm -rf "$dir/many"
	$PY -c '
import os, sys
for d in range(400):
    p = "%s/d%03d" % (sys.argv[1], d)
    os.makedirs(p)
    for f in range(499):
        open("%s/file-with-a-longish-name-%04d" % (p, f), "w").close()' "$dir/many"
	touch "$dir/many.done"
}

now() { echo "$EPOCHREALTIME"; }

# timed NAME CMD...: run CMD, record its wall time under NAME.
timed() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	echo "$tool $name $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >>"$dir/raw"
}

rss() { # NAME PID
	[ -n "${2:-}" ] || return 0
	echo "$tool $1 $(awk '/^VmRSS/ {print $2 / 1024}' "/proc/$2/status")" >>"$dir/raw"
}

run_dir="" daemon=""

# The upper and work directories live on a fresh tmpfs for every mount:
# on a disk, each run's creations and deletions slow the next run's inode
# allocations (ext4's recently-deleted scan), which would favour whichever
# tool runs first. Writes then measure the overlay, not the disk.
mount_tool() {
	run_dir=$dir/run
	umount "$run_dir" 2>/dev/null || true
	rm -rf "$run_dir"
	mkdir -p "$run_dir"
	mount -t tmpfs -o size=3g tmpfs "$run_dir"
	mkdir -p "$run_dir"/{u,w,m}
	local lowers=${LOWERS:-$dir/l1:$dir/l2:$dir/l3} m=$run_dir/m
	daemon=""
	case $tool in
	native) # reads from the merged copy, writes to the tmpfs
		M=$dir/native
		ln -sfn "$run_dir/u" "$M/scratch"
		return ;;
	kernel)
		mount -t overlay overlay -o "lowerdir=$lowers,upperdir=$run_dir/u,workdir=$run_dir/w,userxattr" "$m" ;;
	fuse-overlayfs)
		fuse-overlayfs -o "lowerdir=$lowers,upperdir=$run_dir/u,workdir=$run_dir/w" "$m"
		daemon=$(pgrep -n -f "fuse-overlayfs -o lowerdir=$lowers") ;;
	hutch)
		"$OVL" $HUTCH_ARGS -o "lowerdir=$lowers,upperdir=$run_dir/u,workdir=$run_dir/w$hopts" "$m"
		daemon=$(pgrep -n -f "hutch-overlay.* -o lowerdir=$lowers") ;;
	esac
	M=$m
	mkdir -p "$M/scratch"
}

unmount_tool() {
	if [ "$tool" = native ]; then
		rm -f "$M/scratch" "$M/big/f200m.copy"
		umount "$run_dir"
		return
	fi
	umount "$M"
	if [ -n "$daemon" ]; then
		for _ in $(seq 200); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.05; done
	fi
	umount "$run_dir"
}

create_files() {
	$PY -c '
import os, sys
d = sys.argv[1]
for i in range(20000):
    with open("%s/f%d" % (d, i), "w") as f:
        f.write("x" * 100)' "$M/scratch"
}

delete_files() {
	$PY -c '
import os, sys
d = sys.argv[1]
for i in range(20000):
    os.unlink("%s/f%d" % (d, i))' "$M/scratch"
}

copy_up() {
	if [ "$tool" = native ]; then # no overlay: the nearest is a copy
		cp "$M/big/f200m" "$M/big/f200m.copy"
	else
		echo x >>"$M/big/f200m"
	fi
}

# drop_caches: make the kernel forget the overlay's inodes (FORGETs to a
# FUSE daemon), then wait until the daemon's RSS stops falling (the
# FORGETs arrive asynchronously), 10 s at most. 1 when we may not.
drop_caches() {
	local prev=-1 cur deadline=$((SECONDS + 10))
	sync
	echo 2 2>/dev/null >/proc/sys/vm/drop_caches || return 1
	while ((SECONDS < deadline)); do
		cur=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon/status")
		[ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 0.2
	done
}

walk() { find "$M" >/dev/null && ls -lR "$M" >/dev/null; }

mem_run() {
	[ "$tool" = fuse-overlayfs ] || [ "$tool" = hutch ] || return 0
	LOWERS=$dir/many mount_tool
	walk
	rss mem_walk "$daemon"
	if drop_caches; then
		rss mem_drop "$daemon"
		for _ in 1 2 3; do walk && drop_caches; done
		walk
		rss mem_walk4 "$daemon"
		drop_caches && rss mem_drop4 "$daemon"
	fi
	unmount_tool
}

one_run() {
	if [ "$memory_only" = 1 ]; then
		mem_run
		return
	fi
	mem_run
	mount_tool
	rss rss_idle "$daemon"
	# Check once that Python really imports from the mount.
	PYTHONHOME=$M/usr $PY -c "import numpy, sys; assert numpy.__file__.startswith('$M'), numpy.__file__"
	unmount_tool
	mount_tool
	timed python env PYTHONHOME="$M/usr" $PY -c "$IMPORTS"
	timed python_warm env PYTHONHOME="$M/usr" $PY -c "$IMPORTS"
	timed lsR ls -lR "$M/usr/share" "$M/usr/include"
	rss rss_tree "$daemon"
	timed create create_files
	timed delete delete_files
	timed write dd if=/dev/zero of="$M/scratch/stream" bs=1M count=1024 conv=fsync status=none
	# Warm the file under the read (the lower, or the native copy): every
	# tool then reads from the page cache, whatever earlier runs evicted,
	# and the time is the filesystem's, not the disk's.
	if [ "$tool" = native ]; then cat "$M/big/f1g"; else cat "$dir/l3/big/f1g"; fi >/dev/null
	timed read dd if="$M/big/f1g" of=/dev/null bs=1M status=none
	timed copyup copy_up
	unmount_tool
	mount_tool
	timed find find "$M/usr/share" "$M/usr/include"
	unmount_tool
}

report() {
	$PY - "$dir/raw" "$tools" <<'PY'
import statistics, sys
raw, tools = sys.argv[1], sys.argv[2].split()
data = {}
for line in open(raw):
    t, w, v = line.split()
    data.setdefault((t, w), []).append(float(v))
rows = ["python", "python_warm", "lsR", "find", "create", "delete", "write", "read", "copyup"]
names = {"python": "python imports", "python_warm": "  again, warm", "lsR": "ls -lR /usr copy", "find": "find /usr copy",
         "create": "create 20k files", "delete": "delete 20k files",
         "write": "write 1 GiB", "read": "read 1 GiB", "copyup": "copy-up 200 MB"}
med = lambda t, w: statistics.median(data[(t, w)]) if (t, w) in data else None
hdr = "%-18s" % "seconds (median)" + "".join("%16s" % t for t in tools)
if "kernel" in tools:
    hdr += "".join("%12s" % (t[:7] + "/kern") for t in tools if t not in ("kernel", "native"))
print(hdr)
for w in rows:
    if not any((t, w) in data for t in tools):
        continue
    line = "%-18s" % names[w]
    for t in tools:
        v = med(t, w)
        line += "%16s" % ("-" if v is None else "%.3f" % v)
    k = med("kernel", w)
    for t in tools:
        if t in ("kernel", "native") or "kernel" not in tools:
            continue
        v = med(t, w)
        line += "%12s" % ("-" if not (v and k) else "%.2fx" % (v / k))
    print(line)
for w, label in (("rss_idle", "daemon RSS idle MB"), ("rss_tree", "RSS after ls -lR MB"),
                 ("mem_walk", "RSS 200k walk MB"), ("mem_drop", "  drop_caches"),
                 ("mem_walk4", "  4th walk"), ("mem_drop4", "  drop_caches")):
    if not any((t, w) in data for t in tools):
        continue
    line = "%-18s" % label[:18]
    for t in tools:
        v = med(t, w)
        line += "%16s" % ("-" if v is None else "%.1f" % v)
    print(line)
n = max(len(v) for v in data.values())
print("(%d runs each; layers in %s)" % (n, raw.rsplit("/", 1)[0]))
PY
}

if [ "$inner" = 0 ]; then
	for t in $tools; do
		case $t in
		fuse-overlayfs) command -v fuse-overlayfs >/dev/null || { echo "fuse-overlayfs is missing: apt-get install fuse-overlayfs" >&2; exit 1; } ;;
		hutch) [ -x "$OVL" ] || { echo "no $OVL: build it with make" >&2; exit 1; } ;;
		esac
	done
	[ "$memory_only" = 1 ] || $PY -c "import numpy, scipy, pandas" 2>/dev/null ||
		{ echo "python3-numpy, python3-scipy and python3-pandas are needed (tests/deps.sh --bench)" >&2; exit 1; }
	mkdir -p "$dir"
	[ "$memory_only" = 1 ] || build_layers
	build_many
	rm -f "$dir/raw"
	extra=()
	[ "$memory_only" = 0 ] || extra=(--memory-only)
	unshare -Urm --propagation private bash "$0" --inner --runs "$runs" \
		--build "$build" --dir "$dir" --tools "$tools" "${extra[@]}"
	report | tee "$dir/results.txt"
	exit 0
fi

for ((i = 1; i <= runs; i++)); do
	for tool in $tools; do
		echo "run $i/$runs: $tool" >&2
		one_run
	done
done
