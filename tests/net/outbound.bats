#!/usr/bin/env bats
# outbound.bats - from the container out: the host's loopback (only when
# allowed), DNS through libslirp, and bulk data both ways.

load ../lib/common
load lib

setup() {
	ctr_start
}

teardown() {
	net_teardown
}

# host_servers: a TCP and a UDP server on the host's 127.0.0.1 that answer
# "pong"; sets TPORT and UPORT.
host_servers() {
	TPORT=$(free_port)
	UPORT=$(free_port udp)
	bg "$BATS_TEST_TMPDIR/tcp.log" socat \
		TCP-LISTEN:"$TPORT",bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo pong'
	bg "$BATS_TEST_TMPDIR/udp.log" socat \
		UDP-RECVFROM:"$UPORT",bind=127.0.0.1,fork SYSTEM:'read x; echo pong-$x'
	wait_for 10 listening "$TPORT"
}

@test "the host's loopback is unreachable from the container by default" {
	host_servers
	net_start
	# The servers work: the same requests from the host succeed.
	run -0 socat -T3 - TCP:127.0.0.1:"$TPORT" </dev/null
	[ "$output" = pong ]
	run ctr_exec socat -T3 - TCP:10.0.2.2:"$TPORT" </dev/null
	[ "$status" -ne 0 ]
	[[ $output != *pong* ]]
	run ctr_exec sh -c "echo hi | socat -T2 - UDP:10.0.2.2:$UPORT"
	[[ $output != *pong* ]]
}

@test "allow_host_loopback makes 10.0.2.2 the host's 127.0.0.1 (TCP and UDP)" {
	host_servers
	net_start --allow-host-loopback
	run -0 ctr_exec socat -T3 - TCP:10.0.2.2:"$TPORT" </dev/null
	[ "$output" = pong ]
	run -0 ctr_exec sh -c "echo hi | socat -T3 - UDP:10.0.2.2:$UPORT"
	[ "$output" = pong-hi ]
}

@test "the tap is configured: addresses, routes, MTU, loopback up" {
	net_start
	run -0 ctr_exec ip -o addr show dev eth0
	[[ $output == *"inet 10.0.2.100/24"* ]]
	[[ $output == *"inet6 fd00::100/64"* ]]
	run -0 ctr_exec ip -o link show dev eth0
	[[ $output == *"mtu 65520"* ]]
	[[ $output == *"UP"* ]]
	run -0 ctr_exec ip route show default
	[[ $output == "default via 10.0.2.2 dev eth0"* ]]
	run -0 ctr_exec ip -6 route show default
	[[ $output == "default via fd00::2 dev eth0"* ]]
	run -0 ctr_exec ip -o link show dev lo
	[[ $output == *"LOOPBACK,UP"* ]]
}

@test "MTU and tap name are options" {
	"$HUTCH_NET" --ready-fd=3 --mtu=1500 "$CTR_INIT" tap7 \
		3>"$BATS_TEST_TMPDIR/ready" 2>"$BATS_TEST_TMPDIR/err" &
	NET_PID=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/ready"
	run -0 ctr_exec ip -o link show dev tap7
	[[ $output == *"mtu 1500"* ]]
}

# dns_check: runs inside a user+mount+net namespace that plays the host:
# its /etc/resolv.conf (bind-mounted) names a DNS server on 127.0.0.1:53,
# which root of that namespace may bind. hutch-net reads the host resolver
# from /etc/resolv.conf as libslirp does, so this is the host's view.
other_netns() {
	[ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

dns_check() {
	local dir=$BATS_TEST_TMPDIR c hn status=0
	ip link set lo up
	echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
	mount --bind "$dir/resolv.conf" /etc/resolv.conf
	python3 "$NETTOOL" dns 53 hutch-test.example 192.0.2.77 \
		>"$dir/dns.log" 2>&1 3>&- &
	local dns=$!
	wait_for 10 grep -q listening "$dir/dns.log"
	unshare --user --map-root-user --net sleep infinity 3>&- &
	c=$!
	wait_for 10 other_netns "$c"
	"$HUTCH_NET" --ready-fd=3 "$c" 3>"$dir/ready2" 2>"$dir/net2.err" &
	hn=$!
	wait_for 10 test -s "$dir/ready2"
	nsenter -t "$c" -U -n --preserve-credentials \
		busybox nslookup hutch-test.example 10.0.2.3 || status=1
	nsenter -t "$c" -U -n --preserve-credentials \
		busybox nslookup nosuch.example 10.0.2.3 && status=1
	kill "$c" "$dns"
	wait_for 10 pid_gone "$hn" || status=2
	return "$status"
}

@test "names resolve through 10.0.2.3 with the host's resolver" {
	export -f dns_check wait_for pid_gone other_netns
	export NETTOOL HUTCH_NET BATS_TEST_TMPDIR
	run unshare --user --map-root-user --mount --net bash -c dns_check
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"Address: 192.0.2.77"* ]]
	[[ $output == *"NXDOMAIN"* ]]
}

@test "1 GiB arrives with the same sha256 both ways" {
	local data=$BATS_TEST_TMPDIR/data port want
	head -c 1G /dev/urandom >"$data"
	want=$(sha256sum <"$data" | cut -d' ' -f1)
	net_start --allow-host-loopback
	# container -> host
	port=$(free_port)
	bg "$BATS_TEST_TMPDIR/up.sum" sh -c \
		"socat -u TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr - | sha256sum"
	wait_for 10 listening "$port"
	ctr_exec socat -u OPEN:"$data" TCP:10.0.2.2:"$port"
	wait_for 60 grep -q . "$BATS_TEST_TMPDIR/up.sum"
	[ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/up.sum")" = "$want" ]
	# host -> container
	port=$(free_port)
	bg "$BATS_TEST_TMPDIR/down.log" socat -u OPEN:"$data" \
		TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr
	wait_for 10 listening "$port"
	run -0 ctr_exec sh -c "socat -u TCP:10.0.2.2:$port - | sha256sum"
	[ "${output%% *}" = "$want" ]
	rm -f "$data"
}
