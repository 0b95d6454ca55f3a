#!/usr/bin/env bats
# signals.bats - forwarding to the command, exit statuses, zombies, and
# nothing outliving a killed hutch

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	S=$BATS_TEST_TMPDIR/sync
	mkdir -p "$S"
}

# start_sleeper [CMD [SETUP]]: run a container in the background that runs
# SETUP (a trap, say), marks readiness in a bind-mounted directory, then
# runs CMD (default: sleep). Ready means SETUP is done: a signal sent then
# finds the command's handlers in place.
start_sleeper() {
	local cmd=${1:-exec sleep 1000} setup=${2:-:}
	${PREFIX:-} "$HUTCH" run --rootfs "$R" -v "$S:/sync" -- sh -c "$setup; touch /sync/ready; $cmd" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	PID=$!
	wait_for 20 test -e "$S/ready"
}

# wait_status PID: WAITED is set to the exit status of a background job
# of this shell (`run` or $(...) would wait from a subshell, which has no
# such child).
wait_status() {
	WAITED=0
	wait "$1" || WAITED=$?
}

@test "SIGTERM to hutch stops a sleep container with 143" {
	start_sleeper
	kill -TERM "$PID"
	wait_status "$PID"
	[ "$WAITED" -eq 143 ]
}

@test "SIGINT and SIGHUP give 130 and 129" {
	# A shell starts background jobs with SIGINT ignored; hutch honours
	# that (see the nohup test), so give it the default back.
	PREFIX="env --default-signal=INT" start_sleeper
	kill -INT "$PID"
	wait_status "$PID"
	[ "$WAITED" -eq 130 ]
	rm -f "$S/ready"
	start_sleeper
	kill -HUP "$PID"
	wait_status "$PID"
	[ "$WAITED" -eq 129 ]
}

@test "an ignored signal stays ignored: nohup keeps the container alive" {
	PREFIX=nohup start_sleeper
	kill -HUP "$PID"
	# Prove the container survived: it still answers a forwarded signal.
	kill -TERM "$PID"
	wait_status "$PID"
	[ "$WAITED" -eq 143 ]
	run cat "$BATS_TEST_TMPDIR/out"
	[[ $output != *Hangup* ]]
}

@test "a handled signal reaches the command" {
	start_sleeper 'while :; do usleep 10000; done' 'trap "echo got-usr1; exit 3" USR1'
	kill -USR1 "$PID"
	wait_status "$PID"
	[ "$WAITED" -eq 3 ]
	grep -q got-usr1 "$BATS_TEST_TMPDIR/out"
}

@test "a command killed by a signal inside reports 128+N" {
	run "$HUTCH" run --rootfs "$R" -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "orphaned children are reaped by pid 1" {
	# Orphans that exit become zombies until pid 1 reaps them; count every
	# process with shell built-ins only, until just pid 1 and this shell
	# remain.
	run "$HUTCH" run --rootfs "$R" -- sh -c '
		for i in 1 2 3 4 5 6 7 8; do (sh -c "exit 0" &); done
		i=0
		while :; do
			n=0; for p in /proc/[0-9]*; do n=$((n+1)); done
			[ "$n" -eq 2 ] && break
			i=$((i+1)); [ $i -gt 1000 ] && { echo "still $n processes"; exit 1; }
			usleep 10000
		done
		echo reaped'
	[ "$status" -eq 0 ]
	[ "$output" = reaped ]
}

@test "killing hutch with SIGKILL takes the whole container down" {
	start_sleeper 'exec sleep 4242'
	# "424[2]" matches the sleep but not this shell's own command line.
	pgrep -u "$(id -u)" -f 'sleep 424[2]' >/dev/null
	kill -KILL "$PID"
	wait "$PID" || true
	wait_for 20 bash -c '! pgrep -u "$(id -u)" -f "sleep 424[2]" >/dev/null'
	wait_for 20 bash -c '! pgrep -u "$(id -u)" -x hutch-init >/dev/null' 
}
