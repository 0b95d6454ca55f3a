#!/usr/bin/env bats
# lifetime.bats - hutch-net ends with the container, its exit-fd, a signal
# or its parent; standalone use on namespace paths; its processes stay
# where they belong.

load ../lib/common
load lib

setup() {
	ctr_start
	HP=$(free_port)
	NET_PORTS=$HP
}

teardown() {
	net_teardown
}

@test "it exits 0 when the container exits, and its listeners go" {
	net_start -p "$HP:80"
	listening "$HP"
	ctr_stop
	net_exits_with 0
	pid_gone "$NET_FWD"
	no_listener "$HP"
}

@test "it exits 0 when the container exits, with no published ports too" {
	net_start
	ctr_stop
	net_exits_with 0
}

@test "the main process stays in the host's namespaces, the forwarder joins the container's" {
	net_start -p "$HP:80"
	[ "$(readlink "/proc/$NET_PID/ns/net")" = "$(readlink /proc/self/ns/net)" ]
	[ "$(readlink "/proc/$NET_PID/ns/user")" = "$(readlink /proc/self/ns/user)" ]
	[ "$(readlink "/proc/$NET_FWD/ns/net")" = "$(readlink "/proc/$CTR_INIT/ns/net")" ]
	[ "$(readlink "/proc/$NET_FWD/ns/user")" = "$(readlink "/proc/$CTR_INIT/ns/user")" ]
}

@test "without published ports the helper child does not linger" {
	net_start
	[ -z "$NET_FWD" ]
	run pgrep -P "$NET_PID"
	[ "$status" -ne 0 ]
}

@test "--exit-fd: it exits when the descriptor hangs up" {
	mkfifo "$BATS_TEST_TMPDIR/exit"
	exec 5<>"$BATS_TEST_TMPDIR/exit"
	"$HUTCH_NET" --ready-fd=3 --exit-fd=4 -p "$HP:80" "$CTR_INIT" \
		3>"$BATS_TEST_TMPDIR/ready" 4<"$BATS_TEST_TMPDIR/exit" 5>&- &
	NET_PID=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/ready"
	NET_FWD=$(pgrep -P "$NET_PID")
	kill -0 "$NET_PID"
	exec 5>&-
	net_exits_with 0
	no_listener "$HP"
}

@test "SIGTERM stops it cleanly, forwarder included" {
	net_start -p "$HP:80"
	kill -TERM "$NET_PID"
	net_exits_with 0
	wait_for 10 pid_gone "$NET_FWD"
	no_listener "$HP"
	# The container lives on, without its tap.
	kill -0 "$CTR_INIT"
	wait_for 10 tap_gone
}

tap_gone() {
	! ctr_exec ip -o link show dev eth0 >/dev/null 2>&1
}

@test "it dies with the process that started it (a killed job)" {
	bash -c '"$1" --ready-fd=3 -p "$2:80" "$3" 3>"$4" & echo $! >"$5"; wait' \
		starter "$HUTCH_NET" "$HP" "$CTR_INIT" "$BATS_TEST_TMPDIR/ready" \
		"$BATS_TEST_TMPDIR/pid" 3>&- &
	local starter=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/ready"
	NET_PID=$(cat "$BATS_TEST_TMPDIR/pid")
	NET_FWD=$(pgrep -P "$NET_PID")
	kill -KILL "$starter"
	wait_for 10 pid_gone "$NET_PID"
	wait_for 10 pid_gone "$NET_FWD"
	no_listener "$HP"
	kill -0 "$CTR_INIT"
}

@test "a dead forwarder is reported and ends hutch-net" {
	net_start -p "$HP:80"
	kill -KILL "$NET_FWD"
	net_exits_with 1
	grep -q "the port forwarder died" "$BATS_TEST_TMPDIR/hutch-net.err"
	no_listener "$HP"
}

@test "standalone on namespace paths (--netns-type=path --userns-path)" {
	"$HUTCH_NET" --ready-fd=3 --netns-type=path \
		--userns-path="/proc/$CTR_INIT/ns/user" "/proc/$CTR_INIT/ns/net" tap0 \
		3>"$BATS_TEST_TMPDIR/ready" 2>"$BATS_TEST_TMPDIR/err" &
	NET_PID=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/ready"
	run -0 ctr_exec ip -o addr show dev tap0
	[[ $output == *"10.0.2.100/24"* ]]
	# Without a pid to watch, a signal or --exit-fd ends it.
	kill -TERM "$NET_PID"
	net_exits_with 0
}

@test "usage errors: exit 2 and one line" {
	run "$HUTCH_NET"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == "hutch-net: expected PID|PATH [TAPNAME]"* ]]
	run "$HUTCH_NET" --mtu=100 1
	[ "$status" -eq 2 ]
	[[ $output == *"--mtu '100' must be from 1280"* ]]
	run "$HUTCH_NET" notapid
	[ "$status" -eq 2 ]
	[[ $output == *"'notapid' is not a process id"* ]]
	run "$HUTCH_NET" --bogus 1
	[ "$status" -eq 2 ]
	[[ $output == *"unknown option"*"--bogus"* ]]
	run -0 "$HUTCH_NET" --help
	[[ $output == *"--allow-host-loopback"* ]]
	[[ $output == *"0.0.0.0"* ]]
}

@test "bad options: one line on stderr naming the option, exit 2, no errno text" {
	expect_plain_error 2 "$HUTCH_NET" --bogus 1
	[ "$stderr" = "hutch-net: unknown option '--bogus'; see hutch-net --help for the options it accepts" ]
	expect_plain_error 2 "$HUTCH_NET" -x 1
	[[ $stderr == "hutch-net: unknown option '-x'"* ]]
	expect_plain_error 2 "$HUTCH_NET" --mtu
	[ "$stderr" = "hutch-net: option --mtu needs a value: write --mtu=N; see hutch-net --help" ]
	expect_plain_error 2 "$HUTCH_NET" -p
	[[ $stderr == "hutch-net: option --publish needs a value"* ]]
	expect_plain_error 2 "$HUTCH_NET" --disable-ipv6=1 1
	[[ $stderr == "hutch-net: option --disable-ipv6 takes no value"* ]]
	# A descriptor that is not open is the starter's mistake, not EBADF.
	expect_plain_error 2 "$HUTCH_NET" --ready-fd=777 1
	[ "$stderr" = "hutch-net: --ready-fd 777: no such open descriptor; start hutch-net with descriptor 777 open (as in 777>FILE)" ]
	expect_plain_error 2 "$HUTCH_NET" --exit-fd=x 1
	[[ $stderr == *"--exit-fd 'x' is not a number"* ]]
	expect_plain_error 2 "$HUTCH_NET" --mtu=100 1
	expect_plain_error 2 "$HUTCH_NET" --netns-type=pod 1
	expect_plain_error 2 "$HUTCH_NET" --udp-timeout=0 1
	expect_plain_error 2 "$HUTCH_NET" -p 8080:http 1
	expect_plain_error 2 "$HUTCH_NET" 1 bad/tap
	expect_plain_error 2 "$HUTCH_NET" 1 eth0 extra
}

@test "a container that is gone: one line, exit 1" {
	local pid=$CTR_INIT
	ctr_stop
	wait_for 10 pid_gone "$pid"
	run "$HUTCH_NET" --ready-fd=3 "$pid" 3>"$BATS_TEST_TMPDIR/ready"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"cannot open the container's network namespace /proc/$pid/ns/net"* ]]
	[ "$(cat "$BATS_TEST_TMPDIR/ready")" = "${lines[0]}" ]
}
