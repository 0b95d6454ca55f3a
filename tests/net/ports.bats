#!/usr/bin/env bats
# ports.bats - published ports: TCP and UDP, ranges, the container's
# loopback and its tap address, many connections, taken ports, exits.

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

# ctr_server LOG nettool-args...: a nettool server inside the container.
ctr_server() {
	local log=$BATS_TEST_TMPDIR/$1
	shift
	bg "$log" ctr_exec python3 "$NETTOOL" "$@"
	wait_listening "$log"
}

@test "TCP to a server on the container's 127.0.0.1" {
	ctr_server http.log http 127.0.0.1 8000
	net_start -p "$HP:8000"
	run -0 curl -sS --max-time 5 "http://127.0.0.1:$HP/"
	[ "$output" = ok ]
	# The default host address is 127.0.0.1, not every interface.
	run -0 ss -Htln "sport = :$HP"
	[[ $output == *"127.0.0.1:$HP "* ]]
}

@test "TCP to servers bound to 0.0.0.0 and to the tap's address only" {
	local hp2
	hp2=$(free_port)
	NET_PORTS="$HP $hp2"
	ctr_server any.log http 0.0.0.0 8000
	ctr_server tap.log http 10.0.2.100 8001
	net_start -p "$HP:8000" -p "$hp2:8001/tcp"
	run -0 curl -sS --max-time 5 "http://127.0.0.1:$HP/"
	[ "$output" = ok ]
	run -0 curl -sS --max-time 5 "http://127.0.0.1:$hp2/"
	[ "$output" = ok ]
}

@test "a port range maps one to one" {
	local a b
	a=$(free_port)
	for b in 1 2 3 4 5 6 7 8 9 10; do
		ss -Htln "sport >= :$a and sport <= :$((a + 2))" | grep -q . ||
			break
		a=$(free_port)
	done
	NET_PORTS="$a $((a + 1)) $((a + 2))"
	for b in 0 1 2; do
		ctr_server "echo$b.log" echo 127.0.0.1 $((7000 + b))
	done
	net_start -p "$a-$((a + 2)):7000-7002"
	for b in 0 1 2; do
		run -0 sh -c "echo port$b | socat -t2 - TCP:127.0.0.1:$((a + b))"
		[ "$output" = "port$b" ]
	done
}

@test "IPv6 host address [::1]" {
	ctr_server http.log http 127.0.0.1 8000
	net_start -p "[::1]:$HP:8000"
	run -0 ss -Htln "sport = :$HP"
	[[ $output == *"[::1]:$HP "* ]]
	run -0 curl -gsS --max-time 5 "http://[::1]:$HP/"
	[ "$output" = ok ]
}

@test "0.0.0.0 opts in to every interface" {
	ctr_server http.log http 127.0.0.1 8000
	net_start -p "0.0.0.0:$HP:8000"
	run -0 ss -Htln "sport = :$HP"
	[[ $output == *"0.0.0.0:$HP "* ]]
	run -0 curl -sS --max-time 5 "http://127.0.0.1:$HP/"
	[ "$output" = ok ]
}

@test "UDP: replies go back to each peer; idle flows expire" {
	local up fwd base
	up=$(free_port udp)
	NET_PORTS=$up
	bg "$BATS_TEST_TMPDIR/udp.log" ctr_exec socat \
		UDP-RECVFROM:5353,bind=127.0.0.1,fork SYSTEM:'read x; echo pong-$x'
	bg "$BATS_TEST_TMPDIR/udp2.log" ctr_exec socat \
		UDP-RECVFROM:5354,bind=10.0.2.100,fork SYSTEM:'read x; echo tap-$x'
	wait_for 10 ctr_exec sh -c 'ss -Hlun | grep -q :5354'
	net_start --udp-timeout=3 -p "$up-$((up + 1)):5353-5354/udp"
	fwd=$NET_FWD
	base=$(net_fd_count "$fwd")
	run -0 python3 "$NETTOOL" udp 127.0.0.1 "$up" a
	[ "$output" = pong-a ]
	run -0 python3 "$NETTOOL" udp 127.0.0.1 "$up" b
	[ "$output" = pong-b ]
	run -0 python3 "$NETTOOL" udp 127.0.0.1 $((up + 1)) c
	[ "$output" = tap-c ]
	# Three peers (three source ports): three flows, then none.
	[ "$(net_fd_count "$fwd")" -ge $((base + 3)) ]
	wait_for 10 fd_count_is "$fwd" "$base"
}

@test "bytes and half-close pass through unchanged both ways" {
	local data=$BATS_TEST_TMPDIR/data want
	head -c 256M /dev/urandom >"$data"
	want=$(sha256sum <"$data" | cut -d' ' -f1)
	# The server answers after reading to EOF: the client's shutdown
	# must arrive as EOF while the reply still flows back.
	bg "$BATS_TEST_TMPDIR/sum.log" ctr_exec socat \
		TCP-LISTEN:8000,reuseaddr,fork SYSTEM:'sha256sum'
	bg "$BATS_TEST_TMPDIR/send.log" ctr_exec socat -u OPEN:"$data" \
		TCP-LISTEN:8001,reuseaddr
	wait_for 10 ctr_exec sh -c 'ss -Hltn | grep -q :8001'
	local hp2
	hp2=$(free_port)
	NET_PORTS="$HP $hp2"
	net_start -p "$HP:8000" -p "$hp2:8001"
	run -0 sh -c "socat -t30 - TCP:127.0.0.1:$HP <'$data'"
	[ "${output%% *}" = "$want" ]
	run -0 sh -c "socat -u TCP:127.0.0.1:$hp2 - | sha256sum"
	[ "${output%% *}" = "$want" ]
}

@test "nothing listening in the container: the client gets a reset" {
	net_start -p "$HP:8000"
	run curl -sS --max-time 5 "http://127.0.0.1:$HP/"
	echo "$output"
	[ "$status" -ne 0 ]
	# A reset, seen during or after the handshake depending on timing.
	[[ $output == *"reset"* || $output == *"Empty reply"* ||
		$output == *"Couldn't connect"* ]]
	[[ $output != *"timed out"* ]]
}

# hold_start N: N concurrent echo connections to $HP held open until
# hold_stop; waits until all of them answered.
hold_start() {
	mkfifo "$BATS_TEST_TMPDIR/hold.in"
	python3 "$NETTOOL" hold 127.0.0.1 "$HP" "$1" \
		<"$BATS_TEST_TMPDIR/hold.in" >"$BATS_TEST_TMPDIR/hold.log" 2>&1 3>&- &
	HOLD_PID=$!
	BG_PIDS+=("$HOLD_PID")
	exec 4>"$BATS_TEST_TMPDIR/hold.in"
	wait_for 60 grep -q "^held=$1" "$BATS_TEST_TMPDIR/hold.log" || {
		cat "$BATS_TEST_TMPDIR/hold.log"
		return 1
	}
}

hold_stop() {
	exec 4>&-
	wait "$HOLD_PID"
}

@test "1,000 concurrent connections through one port, no descriptor leaked" {
	local base
	ctr_server echo.log echo 127.0.0.1 8000
	net_start -p "$HP:8000"
	base=$(net_fd_count "$NET_FWD")
	hold_start 1000
	# Two sockets per connection while they are open.
	[ "$(net_fd_count "$NET_FWD")" -ge $((base + 2000)) ]
	hold_stop
	wait_for 20 fd_count_is "$NET_FWD" "$base"
	# And it still serves.
	run -0 sh -c "echo again | socat -t2 - TCP:127.0.0.1:$HP"
	[ "$output" = again ]
}

@test "a taken host port: one line, exit 1, nothing left listening" {
	local free
	free=$(free_port)
	NET_PORTS="$HP $free"
	bg "$BATS_TEST_TMPDIR/squat.log" socat TCP-LISTEN:"$HP",bind=127.0.0.1,fork EXEC:cat
	wait_for 10 listening "$HP"
	run "$HUTCH_NET" --ready-fd=3 -p "$free:80" -p "$HP:81" "$CTR_INIT" \
		3>"$BATS_TEST_TMPDIR/ready"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "hutch-net: cannot publish 127.0.0.1:$HP->81/tcp: 127.0.0.1:$HP/tcp: Address already in use; choose another host port"* ]]
	# The starter gets the same line on the ready descriptor.
	[ "$(cat "$BATS_TEST_TMPDIR/ready")" = "${lines[0]}" ]
	no_listener "$free"
	# Its own listener was the squatter's: still there, untouched.
	run -0 sh -c "echo x | socat -t2 - TCP:127.0.0.1:$HP"
	[ "$output" = x ]
	# No tap was created either: the ports are checked first.
	run -0 ctr_exec ip -o link
	[[ $output != *eth0* ]]
	NET_PORTS=$free
}

@test "a taken UDP port fails the same way" {
	local up
	up=$(free_port udp)
	bg "$BATS_TEST_TMPDIR/squat.log" socat UDP-RECVFROM:"$up",bind=127.0.0.1,fork EXEC:cat
	wait_for 10 sh -c "ss -Hlun 'sport = :$up' | grep -q ."
	run "$HUTCH_NET" -p "$up:53/udp" "$CTR_INIT"
	[ "$status" -eq 1 ]
	[[ $output == *"127.0.0.1:$up/udp: Address already in use"* ]]
}

@test "a bad -p is a usage error naming the spec" {
	run "$HUTCH_NET" -p "8080:http" "$CTR_INIT"
	[ "$status" -eq 2 ]
	[ "$output" = "hutch-net: invalid -p '8080:http': container port 'http' is not a port (1-65535) or a range (A-B with A <= B); write [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]" ]
}

@test "the container exits while connections are open" {
	ctr_server echo.log echo 127.0.0.1 8000
	net_start -p "$HP:8000"
	hold_start 50
	ctr_stop
	wait_for 10 pid_gone "$NET_PID"
	wait_for 10 pid_gone "$NET_FWD"
	no_listener "$HP"
	# The clients' connections were closed, not left hanging.
	wait_for 10 sh -c "! ss -Htn state established '( dport = :$HP )' | grep -q ."
	hold_stop
}

@test "without a host port the kernel picks one; --ports-fd tells which" {
	ctr_server http.log http 127.0.0.1 8000
	net_start --ports-fd=4 -p 8000 -p "[::1]::8000" -p "$HP:53/udp" \
		4>"$BATS_TEST_TMPDIR/ports"
	run -0 cat "$BATS_TEST_TMPDIR/ports"
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[0]} =~ ^tcp\ 127\.0\.0\.1:([0-9]+)\ 8000$ ]]
	local p4=${BASH_REMATCH[1]}
	[[ ${lines[1]} =~ ^tcp\ \[::1\]:([0-9]+)\ 8000$ ]]
	local p6=${BASH_REMATCH[1]}
	[ "${lines[2]}" = "udp 127.0.0.1:$HP 53" ]
	NET_PORTS="$HP $p4 $p6"
	run -0 curl -sS --max-time 5 "http://127.0.0.1:$p4/"
	[ "$output" = ok ]
	run -0 curl -gsS --max-time 5 "http://[::1]:$p6/"
	[ "$output" = ok ]
}
