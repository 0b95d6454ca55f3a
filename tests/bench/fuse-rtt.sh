#!/bin/bash
# tests/bench/fuse-rtt.sh - the cost of one FUSE round trip, per overlay
#
# usage: tests/bench/fuse-rtt.sh [--build DIR] [--calls N] [--rounds N]
#
# overlay.sh times whole workloads; this one explains them. On a fresh
# mount of a one-file lower (kernel overlayfs, fuse-overlayfs,
# hutch-overlay), Python times N calls of:
#   open+close  open(2) and close(2) of the lower file: one OPEN and one
#               RELEASE round trip on a FUSE overlay (the entry and its
#               attributes stay cached in the kernel)
#   ioctl       ioctl(TCGETS) on it, which Python's open() does to every
#               file it opens (isatty): one IOCTL round trip, answered
#               ENOTTY/ENOSYS
#   stat        stat(2) of it: no round trip while attributes are cached
# and prints microseconds per call, the median over the rounds, tools
# interleaved. What the kernel overlay needs for the same call is the
# floor; the difference is the price of going to user space and back.
# Runs in a user and mount namespace (unshare -Urm); as root, as the
# unprivileged user hutch-sub or hutch-bench.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=out calls=20000 rounds=3 inner=0
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--calls) calls=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--inner) inner=1; shift ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "fuse-rtt.sh: unknown argument $1; see --help" >&2; exit 2 ;;
	esac
done
OVL=${HUTCH_OVERLAY:-$here/$build/hutch-overlay}
# shellcheck source=tests/bench/unpriv.bash
. "$(dirname "$0")/unpriv.bash"

if [ "$inner" = 0 ]; then
	[ -x "$OVL" ] || { echo "fuse-rtt.sh: no $OVL: build it with make" >&2; exit 1; }
	command -v fuse-overlayfs >/dev/null || { echo "fuse-rtt.sh: fuse-overlayfs is missing (tests/deps.sh --bench)" >&2; exit 1; }
	bench_as_user "$0" --calls "$calls" --rounds "$rounds"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/lower"
	head -c 4096 /dev/urandom >"$work/lower/file"
	WORK=$work HUTCH_OVERLAY=$OVL unshare -Urm --propagation private \
		bash "$0" --inner --calls "$calls" --rounds "$rounds" >"$work/raw"
	python3 - "$work/raw" <<'PY'
import statistics, sys
data = {}
for line in open(sys.argv[1]):
    tool, op, us = line.split()
    data.setdefault((tool, op), []).append(float(us))
tools = ["kernel", "fuse-overlayfs", "hutch"]
ops = ["open+close", "ioctl", "stat"]
print("%-12s" % "us per call" + "".join("%16s" % t for t in tools) +
      "%14s%14s" % ("fuse-ovl-kern", "hutch-kern"))
for op in ops:
    m = {t: statistics.median(data[(t, op)]) for t in tools if (t, op) in data}
    line = "%-12s" % op + "".join("%16.1f" % m[t] if t in m else "%16s" % "-" for t in tools)
    for t in ("fuse-overlayfs", "hutch"):
        line += "%14.1f" % (m[t] - m["kernel"]) if t in m and "kernel" in m else "%14s" % "-"
    print(line)
print("(median of %d rounds; the last two columns: microseconds a call costs over the kernel's)"
      % max(len(v) for v in data.values()))
PY
	exit 0
fi

# Inside the namespaces: one mount per tool and round.
r=$WORK/run
for ((i = 1; i <= rounds; i++)); do
	for tool in kernel fuse-overlayfs hutch; do
		mkdir -p "$r"
		mount -t tmpfs tmpfs "$r"
		mkdir -p "$r/u" "$r/w" "$r/m"
		o="lowerdir=$WORK/lower,upperdir=$r/u,workdir=$r/w"
		case $tool in
		kernel) mount -t overlay overlay -o "$o,userxattr" "$r/m" ;;
		fuse-overlayfs) fuse-overlayfs -o "$o" "$r/m" 2>/dev/null ;;
		hutch) "$HUTCH_OVERLAY" -o "$o" "$r/m" ;;
		esac
		python3 - "$r/m/file" "$tool" "$calls" <<'PY'
import fcntl, os, sys, termios, time
path, tool, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.stat(path)
fd = os.open(path, os.O_RDONLY)
def open_close():
    os.close(os.open(path, os.O_RDONLY))
def ioctl():
    try:
        fcntl.ioctl(fd, termios.TCGETS, bytes(64))
    except OSError:
        pass
def stat():
    os.stat(path)
for name, f in (("open+close", open_close), ("ioctl", ioctl), ("stat", stat)):
    f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    print(tool, name, "%.2f" % ((time.perf_counter() - t) / n * 1e6))
os.close(fd)
PY
		umount "$r/m"
		umount "$r"
	done
done
