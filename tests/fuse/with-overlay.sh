#!/bin/bash
# with-overlay.sh DIR OPTS CMD... - mount hutch-overlay, run CMD, unmount
#
# Mounts $OVL with -o OPTS on DIR/m (in the foreground, waiting on
# --ready-fd), runs CMD with M=DIR/m in its environment, unmounts, and
# checks that the daemon exited 0 and said nothing (an AddressSanitizer
# build reports leaks and errors there). Exits with CMD's status, or 2-5
# when the overlay misbehaved. Meant to run as root of a user namespace.
set -u
d=$1 opts=$2
shift 2
rm -f "$d/ready"
mkfifo "$d/ready"
"${OVL:?}" -f --ready-fd=3 -o "$opts" "$d/m" 3>"$d/ready" 2>"$d/ovl.log" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
if ! read -r -n 1 -t 30 _ <"$d/ready"; then
	echo "hutch-overlay did not come up:"
	cat "$d/ovl.log"
	exit 2
fi
M=$d/m OVL_PID=$pid "$@"
rc=$?
umount "$d/m" || rc=3
wait "$pid"
orc=$?
trap - EXIT
if [ "$orc" -ne 0 ]; then
	echo "hutch-overlay exited $orc"
	rc=4
fi
if [ -s "$d/ovl.log" ]; then
	echo "hutch-overlay said:"
	cat "$d/ovl.log"
	rc=5
fi
exit $rc
