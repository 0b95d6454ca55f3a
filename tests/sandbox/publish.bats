#!/usr/bin/env bats
# publish.bats - ports published without a host port (-p 8080) and every
# EXPOSEd port (-P): the host port the kernel chose, as ps, port and
# inspect report it, and a server answering there (issue 16)

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

teardown() {
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
}

# answers HOSTPORT: the container's httpd serves its host name there.
answers() {
	[ "$(busybox wget -qO- "http://$1/hostname" 2>/dev/null)" != "" ]
}

@test "-p CONTAINERPORT: the host port the kernel chose is in ps, port and inspect, and answers" {
	"$HUTCH" run -d --rootfs "$R" --name any -p 8080 -p 127.0.0.1::53/udp -- httpd -f -p 8080 -h /etc >/dev/null
	run "$HUTCH" port any
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^8080/tcp\ -\>\ 127\.0\.0\.1:([0-9]+)$ ]]
	tcp=${BASH_REMATCH[1]}
	[[ ${lines[1]} =~ ^53/udp\ -\>\ 127\.0\.0\.1:([0-9]+)$ ]]
	udp=${BASH_REMATCH[1]}
	[ "$tcp" -gt 0 ] && [ "$udp" -gt 0 ]
	run "$HUTCH" port any 8080
	[ "$output" = "127.0.0.1:$tcp" ]
	run "$HUTCH" port any 8080/tcp
	[ "$output" = "127.0.0.1:$tcp" ]
	run "$HUTCH" port any 9999
	[ "$status" -eq 1 ]
	[[ $output == *"No public port '9999/tcp' published for any"* ]]
	run "$HUTCH" ps --format '{{.Ports}}'
	[ "$output" = "127.0.0.1:$tcp->8080/tcp, 127.0.0.1:$udp->53/udp" ]
	run "$HUTCH" inspect -f '{{json .NetworkSettings.Ports}}' any
	[ "$output" = "{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$tcp\"}],\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$udp\"}]}" ]
	run ss -ltnH "sport = :$tcp"
	[[ $output == *"127.0.0.1:$tcp"* ]]
	wait_for 10 answers "127.0.0.1:$tcp"
	# Stopped, it has no ports; started again, it gets new ones.
	"$HUTCH" stop -t 1 any >/dev/null
	run "$HUTCH" port any
	[ "$output" = "" ]
	run "$HUTCH" ps -a --format '{{.Names}}:{{.Ports}}'
	[ "$output" = "any:" ]
	"$HUTCH" start any
	run "$HUTCH" port any 8080
	[[ $output =~ ^127\.0\.0\.1:[0-9]+$ ]]
	wait_for 10 answers "$output"
}

@test "-P publishes every port the image EXPOSEs on a free port of 127.0.0.1" {
	"$HUTCH" import --config-json '{"ExposedPorts":{"8080/tcp":{},"9053/udp":{}},"Cmd":["httpd","-f","-p","8080","-h","/etc"]}' "$R" exposing:1 >/dev/null
	"$HUTCH" run -d -P --name all exposing:1 >/dev/null
	run "$HUTCH" port all
	[ "${#lines[@]}" -eq 2 ]
	[[ $output == *"9053/udp -> 127.0.0.1:"* ]]
	run "$HUTCH" port all 8080
	[[ $output =~ ^127\.0\.0\.1:[0-9]+$ ]]
	wait_for 10 answers "$output"
	run "$HUTCH" inspect -f '{{.HostConfig.PublishAllPorts}} {{.HostConfig.NetworkMode}}' all
	[ "$output" = "true slirp" ]
	# -P with the host's network is refused, as -p is.
	run "$HUTCH" run --rm -P --network host exposing:1 true
	[ "$status" -eq 125 ]
	[[ $output == *"user-mode networking"* ]]
}
