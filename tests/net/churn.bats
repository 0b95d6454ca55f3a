#!/usr/bin/env bats
# churn.bats - many short connections from the container through libslirp:
# none fails, and hutch-net's memory and descriptors return to idle.
#
# libslirp keeps each connection it closed first in TIME_WAIT for 10 s,
# with its host socket and buffers (net/README.md, "Connection churn"), so
# the checks wait for that to pass, with a deadline.

load ../lib/common
load lib

setup() {
	ctr_start
	HTTP_PORT=$(free_port)
	bg "$BATS_TEST_TMPDIR/http.log" python3 "$NETTOOL" http 127.0.0.1 "$HTTP_PORT"
	wait_listening "$BATS_TEST_TMPDIR/http.log"
}

teardown() {
	net_teardown
}

churn() {
	ctr_exec python3 "$NETTOOL" churn 10.0.2.2 "$HTTP_PORT" "$@"
}

@test "10,000 short connections, then 1,000 at once: no errors; RSS and fds back to idle" {
	local idle_rss idle_fds
	net_start --allow-host-loopback
	idle_fds=$(net_fd_count "$NET_PID")
	# Warm up, so that idle includes what libslirp allocates once.
	run -0 churn 10 1
	wait_for 30 fd_count_is "$NET_PID" "$idle_fds"
	idle_rss=$(rss_kb "$NET_PID")
	run -0 churn 10000 1
	[ "${lines[0]}" = "ok=10000 errors=0" ]
	run -0 churn 1000 1000
	[ "${lines[0]}" = "ok=1000 errors=0" ]
	echo "RSS idle ${idle_rss} KiB, after the churn $(rss_kb "$NET_PID") KiB"
	# Within 3 MiB of idle once TIME_WAIT has passed. (AddressSanitizer
	# keeps freed memory in quarantine: there only the descriptors.)
	wait_for 60 fd_count_is "$NET_PID" "$idle_fds"
	if ldd "$HUTCH_NET" | grep -q libasan; then
		return 0
	fi
	wait_for 30 rss_within "$NET_PID" "$idle_rss" 3072
}

@test "connections refused by the host are refused in the container too" {
	local closed
	closed=$(free_port)
	net_start --allow-host-loopback
	run ctr_exec socat -T3 - TCP:10.0.2.2:"$closed" </dev/null
	[ "$status" -ne 0 ]
	[[ $output == *"Connection refused"* ]]
	# And the good server still answers after that.
	run -0 churn 20 5
	[ "${lines[0]}" = "ok=20 errors=0" ]
}
