#!/bin/bash
# tests/bench/fuse-ops.sh - how many FUSE round trips each workload costs
#
# usage: tests/bench/fuse-ops.sh [--build DIR] [--files N]
#
# fuse-rtt.sh prices one round trip; this one counts them. It mounts a
# FUSE overlay (hutch-overlay, then fuse-overlayfs) with -d over a
# generated lower (N small files in 50 directories, and a package of N/4
# modules with their .pyc files compiled), runs each workload on a fresh
# mount, and counts the requests the kernel sent, per file the workload
# touched:
#   ls -lR    over the tree           (stat, and ls's ACL and SELinux probes)
#   find      over the tree           (directory reads only)
#   cat       every file              (open, read, close)
#   import    every module            (Python's import system)
#   create    N files from Python     (open "w", write 100 bytes, close)
#   delete    the N files             (unlink)
# Kernel overlayfs makes no round trip at all, so (round trips per file) x
# (fuse-rtt.sh's price) is the least a FUSE overlay can add to the kernel's
# time on this machine, whatever the daemon does. The two daemons should
# show about the same counts: the kernel's FUSE client decides them.
# Runs in a user and mount namespace (unshare -Urm); as root, as the
# unprivileged user hutch-sub or hutch-bench.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=out files=2000 inner=0
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--files) files=$2; shift 2 ;;
	--inner) inner=1; shift ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "fuse-ops.sh: unknown argument $1; see --help" >&2; exit 2 ;;
	esac
done
OVL=${HUTCH_OVERLAY:-$here/$build/hutch-overlay}
# shellcheck source=tests/bench/unpriv.bash
. "$(dirname "$0")/unpriv.bash"

if [ "$inner" = 0 ]; then
	[ -x "$OVL" ] || { echo "fuse-ops.sh: no $OVL: build it with make" >&2; exit 1; }
	bench_as_user "$0" --files "$files"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	python3 - "$work/lower" "$files" <<'PY'
import os, sys, compileall
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "tree", "d%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%d" % i), "w") as f:
        f.write("x" * 100)
pkg = os.path.join(root, "py", "benchpkg")
os.makedirs(pkg)
open(os.path.join(pkg, "__init__.py"), "w").close()
for i in range(n // 4):
    with open(os.path.join(pkg, "m%d.py" % i), "w") as f:
        f.write("X = %d\n" % i)
compileall.compile_dir(os.path.join(root, "py"), quiet=1)
PY
	tools="hutch"
	command -v fuse-overlayfs >/dev/null && tools="hutch fuse-overlayfs"
	WORK=$work HUTCH_OVERLAY=$OVL TOOLS=$tools unshare -Urm --propagation private \
		bash "$0" --inner --files "$files" >"$work/raw"
	python3 - "$work/raw" "$files" <<'PY'
import collections, sys
counts = collections.defaultdict(collections.Counter)
per = {}
for line in open(sys.argv[1]):
    tool, work, items, op, n = line.split()
    counts[(tool, work)][op] += int(n)
    per[(tool, work)] = int(items)
tools = sorted({t for t, _ in counts}, key=lambda t: t != "hutch")
works = ["ls-lR", "find", "cat", "import", "create", "delete"]
print("FUSE requests per file (%s files); kernel overlayfs: 0" % sys.argv[2])
for tool in tools:
    print("\n%s" % tool)
    for w in works:
        c = counts.get((tool, w))
        if not c:
            continue
        items = per[(tool, w)]
        top = ", ".join("%s %.2f" % (op, v / items)
                        for op, v in c.most_common() if v / items >= 0.05)
        print("  %-7s %6.2f  (%s)" % (w, sum(c.values()) / items, top))
PY
	exit 0
fi

# Inside the namespaces: a fresh mount per tool and workload, -d to stderr.
r=$WORK/run
count() { # TOOL WORK ITEMS <LOG: the requests in LOG, one line per opcode
	grep -o 'opcode: [A-Z_]*' | sort | uniq -c |
		while read -r n _ op; do
			# No reply is awaited for FORGET: not a round trip.
			case $op in INIT | DESTROY | FORGET | BATCH_FORGET) continue ;; esac
			echo "$1 $2 $3 $op $n"
		done
}
mount_one() { # TOOL LOG
	mkdir -p "$r"
	mount -t tmpfs tmpfs "$r"
	mkdir -p "$r/u" "$r/w" "$r/m"
	local o="lowerdir=$WORK/lower,upperdir=$r/u,workdir=$r/w"
	case $1 in
	fuse-overlayfs) fuse-overlayfs -d -o "$o" "$r/m" 2>"$2" & ;;
	hutch) "$HUTCH_OVERLAY" -f -d -o "$o" "$r/m" 2>"$2" & ;;
	esac
	pid=$!
	for _ in $(seq 200); do
		mountpoint -q "$r/m" && return 0
		sleep 0.05
	done
	echo "fuse-ops.sh: $1 did not mount" >&2
	exit 1
}
umount_one() {
	umount "$r/m"
	wait "$pid" || true
	umount "$r"
}
mods=$((files / 4))
for tool in $TOOLS; do
	for work in ls-lR find cat import create; do
		log=$WORK/$tool-$work.log
		mount_one "$tool" "$log"
		m=$r/m
		case $work in
		ls-lR) ls -lR "$m/tree" >/dev/null ;;
		find) find "$m/tree" >/dev/null ;;
		cat) find "$m/tree" -type f -exec cat {} + >/dev/null ;;
		import)
			PYTHONPATH=$m/py python3 -c "
import importlib
for i in range($mods):
    importlib.import_module('benchpkg.m%d' % i)" ;;
		create)
			# The deletes get their own count: the log is split where
			# the creates ended (a late RELEASE may fall on either side).
			mkdir "$m/new"
			python3 - "$m/new" "$files" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open("%s/f%d" % (d, i), "w") as f:
        f.write("x" * 100)
PY
			created=$(wc -l <"$log")
			python3 - "$m/new" "$files" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.unlink("%s/f%d" % (d, i))
PY
			;;
		esac
		umount_one
		items=$files
		[ "$work" = import ] && items=$mods
		if [ "$work" = create ]; then
			head -n "$created" "$log" | count "$tool" create "$files"
			tail -n +"$((created + 1))" "$log" | count "$tool" delete "$files"
		else
			count "$tool" "$work" "$items" <"$log"
		fi
	done
done
