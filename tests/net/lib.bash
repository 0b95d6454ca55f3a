# tests/net/lib.bash - helpers of the hutch-net suites: a container made of
# namespaces (unshare), hutch-net started on it, servers on either side, and
# the check that nothing is left behind. Load after ../lib/common.
#
# The "container" is `unshare --user --map-root-user --net --pid --fork
# --kill-child` running sleep: a user, network and pid namespace with the
# host's files, so the host's tools (socat, python3, busybox) run inside.
# Killing the unshare process kills the namespace's init and with it every
# process in the pid namespace.

NETTOOL="$HUTCH_TESTS/net/nettool.py"
HUTCH_NET="$HUTCH_BUILD/hutch-net"
BG_PIDS=()
NET_PID=
NET_FWD=
CTR_PID=
CTR_INIT=

# free_port [udp]: a port nothing uses on 127.0.0.1 right now.
free_port() {
	python3 - "${1:-tcp}" <<'PY'
import socket, sys
t = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, t)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# ctr_start: a fresh container; sets CTR_PID (unshare) and CTR_INIT (its
# pid 1, what hutch passes to hutch-net).
ctr_start() {
	unshare --user --map-root-user --net --pid --fork --kill-child \
		--mount-proc sleep infinity </dev/null 3>&- &
	CTR_PID=$!
	wait_for 10 ctr_has_init || return 1
	CTR_INIT=$(cat "/proc/$CTR_PID/task/$CTR_PID/children")
	CTR_INIT=${CTR_INIT%% *}
}

ctr_has_init() {
	[ -n "$(cat "/proc/$CTR_PID/task/$CTR_PID/children" 2>/dev/null)" ]
}

# ctr_exec CMD...: run CMD in the container's user, net and pid namespaces.
ctr_exec() {
	nsenter -t "$CTR_INIT" -U -n -p --preserve-credentials -- "$@"
}

# bg LOG CMD...: run CMD in the background, output to LOG; remembered for
# teardown. Waits until the line "listening" when the command is nettool.
bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 </dev/null 3>&- &
	BG_PIDS+=($!)
}

# wait_listening LOG: a nettool server said it is bound.
wait_listening() {
	wait_for 10 grep -q '^listening' "$1"
}

# net_start [OPTION...]: hutch-net on the container, waiting for its ready
# byte; sets NET_PID and NET_FWD (the forwarder, when ports are published).
net_start() {
	local ready=$BATS_TEST_TMPDIR/ready
	rm -f "$ready"
	"$HUTCH_NET" --ready-fd=3 "$@" "$CTR_INIT" 3>"$ready" \
		2>>"$BATS_TEST_TMPDIR/hutch-net.err" </dev/null &
	NET_PID=$!
	wait_for 10 test -s "$ready" || {
		echo "hutch-net never reported; stderr:"
		cat "$BATS_TEST_TMPDIR/hutch-net.err"
		return 1
	}
	if [ "$(head -c 1 "$ready" | od -An -tx1 | tr -d ' ')" != 00 ]; then
		echo "hutch-net failed: $(cat "$ready")"
		return 1
	fi
	NET_FWD=$(pgrep -P "$NET_PID" || true)
}

# net_fd_count PID: open descriptors of a process.
net_fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# fd_count_is PID N: PID has exactly N descriptors open (for wait_for).
fd_count_is() {
	[ "$(net_fd_count "$1")" -eq "$2" ]
}

# rss_kb PID: resident set size in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# rss_within PID KB SLACK: PID's RSS is at most KB + SLACK KiB.
rss_within() {
	[ "$(rss_kb "$1")" -le $(($2 + $3)) ]
}

# pid_gone PID: PID has exited (a zombie not yet reaped counts as gone).
pid_gone() {
	! kill -0 "$1" 2>/dev/null ||
		[[ $(ps -o stat= -p "$1" 2>/dev/null) == Z* ]]
}

# net_exits_with STATUS: hutch-net ($NET_PID, started by this shell) ends
# within 10 s, and its exit status is STATUS.
net_exits_with() {
	local st=0
	wait_for 10 pid_gone "$NET_PID"
	wait "$NET_PID" || st=$?
	if [ "$st" -ne "$1" ]; then
		echo "hutch-net exited $st, not $1" >&2
		return 1
	fi
}

# listening PORT: something listens on TCP port PORT.
listening() {
	ss -Htln "sport = :$1" | grep -q .
}

# no_listener PORT: nothing of ours listens on PORT (TCP or UDP).
no_listener() {
	! ss -Htlnu "sport = :$1" | grep -q .
}

# ctr_stop: kill the container (its init and everything in its pid ns).
ctr_stop() {
	if [ -n "$CTR_PID" ]; then
		kill -KILL "$CTR_PID" 2>/dev/null || true
		wait "$CTR_PID" 2>/dev/null || true
	fi
}

# net_teardown: stop what the test started and fail if hutch-net outlived
# its container or left a listener behind. Call from teardown().
net_teardown() {
	local p leftover=0
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	ctr_stop
	for p in $NET_PID $NET_FWD; do
		if ! wait_for 10 pid_gone "$p"; then
			echo "hutch-net process $p outlived its container"
			kill -KILL "$p" 2>/dev/null || true
			leftover=1
		fi
	done
	for p in ${NET_PORTS:-}; do
		if ! no_listener "$p"; then
			echo "port $p still has a listener:"
			ss -tlnup "sport = :$p"
			leftover=1
		fi
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	# Under SANITIZE=1: any report from either process fails the test.
	if grep -qE "Sanitizer|runtime error" "$BATS_TEST_TMPDIR/hutch-net.err" 2>/dev/null; then
		cat "$BATS_TEST_TMPDIR/hutch-net.err"
		leftover=1
	fi
	return "$leftover"
}
