#!/usr/bin/env bats
# sharing.bats - what containers share with the host and with each other:
# --ipc, --pid, --uts, the host name on the host's network, --join groups
# (one container for the ranks of a job: SysV and POSIX shared memory and
# cross-memory attach between them) and --preserve-fds

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	SYNC=$BATS_TEST_TMPDIR/sync
	mkdir -p "$SYNC"
	# A key and a name of this test's own: the host's IPC namespace and
	# /dev/shm are shared with whatever else runs on the machine.
	KEY=$((0x4800000 + RANDOM * 32 + BATS_TEST_NUMBER))
	SHM=hutch-test-$$-$BATS_TEST_NUMBER
}

teardown() {
	[ -x "$R/usr/local/bin/shmprobe" ] && "$R/usr/local/bin/shmprobe" sysv-rm "$KEY" >/dev/null || true
	rm -f "/dev/shm/$SHM"
	remove_store "$HUTCH_ROOT"
}

@test "on the host's network the container keeps the node's host name unless -h; its own network gets the short id" {
	run "$HUTCH" run --rm --rootfs "$R" -- hostname
	[ "$status" -eq 0 ]
	[ "$output" = "$(hostname)" ]
	run "$HUTCH" run --rm --rootfs "$R" -- cat /etc/hostname
	[ "$output" = "$(hostname)" ]
	run "$HUTCH" run --rm --rootfs "$R" -h node7 -- hostname
	[ "$output" = node7 ]
	run "$HUTCH" run --rm --rootfs "$R" --network none -- hostname
	[[ $output =~ ^[0-9a-f]{12}$ ]]
}

@test "--uts host: the host's name, which the container cannot change; -h conflicts" {
	run "$HUTCH" run --rm --rootfs "$R" --network none --uts host -- sh -c 'hostname; hostname other || echo refused'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(hostname)" ]
	[ "${lines[-1]}" = refused ]
	[ "$(hostname)" != other ]
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --uts host -h x -- true
}

@test "--ipc host: SysV segments and /dev/shm files are the host's; private containers see neither" {
	run "$HUTCH" run --rm --rootfs "$R" --ipc host -- sh -c "shmprobe sysv-make $KEY && echo hello >/dev/shm/$SHM"
	[ "$status" -eq 0 ]
	[ "$(cat "/dev/shm/$SHM")" = hello ]
	run "$R/usr/local/bin/shmprobe" sysv-see "$KEY"
	[ "$output" = hutch ]
	run "$HUTCH" run --rm --rootfs "$R" --ipc host -- sh -c "shmprobe sysv-see $KEY; cat /dev/shm/$SHM"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hutch ]
	[ "${lines[1]}" = hello ]
	run "$HUTCH" run --rm --rootfs "$R" -- sh -c "shmprobe sysv-see $KEY; cat /dev/shm/$SHM"
	[ "${lines[0]}" = ENOENT ]
	[[ $output != *hello* ]]
	run "$HUTCH" run --rm --rootfs "$R" --ipc shareable -- shmprobe sysv-see "$KEY"
	[ "$output" = ENOENT ]
}

@test "--pid host: the host's processes, with no more power over them than the user has" {
	run "$HUTCH" run --rm --rootfs "$R" --pid host -- sh -c 'echo $$; cat /proc/1/comm; kill -0 1 2>/dev/null && echo killable; read -r p rest </proc/self/stat; echo $p'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != 2 ]
	[ "${lines[1]}" != hutch-init ]
	[[ $output != *killable* ]]
	# /proc is the host's: the shell's pid there is the one it has.
	[ "${lines[2]}" = "${lines[0]}" ]
}

@test "--ipc host: the host's POSIX message queues show in /dev/mqueue; a private IPC namespace has its own" {
	grep -q ' /dev/mqueue mqueue ' /proc/mounts || skip "the host has no /dev/mqueue (tests/run mounts it, as systemd does)"
	local q=/dev/mqueue/hutch-test-$$-$RANDOM
	: >"$q"
	run "$HUTCH" run --rm --rootfs "$R" --ipc host -- ls /dev/mqueue
	rm -f "$q"
	[ "$status" -eq 0 ]
	[[ $output == *"${q##*/}"* ]]
	: >"$q"
	run "$HUTCH" run --rm --rootfs "$R" -- sh -c 'grep " /dev/mqueue mqueue " /proc/mounts >/dev/null && ls /dev/mqueue'
	rm -f "$q"
	[ "$status" -eq 0 ]
	[[ $output != *"${q##*/}"* ]]
}

# the user's processes running sleep with argument $1
sleepers() {
	pgrep -u "$(id -u)" -f "^sleep $1\$"
}

@test "--pid host: a SIGKILLed hutch takes the command with it (no pid 1 does)" {
	local mark=$((RANDOM + 40000)) hutch_pid
	"$HUTCH" run --rm --rootfs "$R" --pid host -- sleep "$mark" </dev/null >/dev/null 2>&1 &
	hutch_pid=$!
	wait_for 20 sleepers "$mark"
	kill -KILL "$hutch_pid"
	wait_for 10 eval '! sleepers '"$mark" || { pgrep -a -u "$(id -u)" -f "sleep $mark"; false; }
}

@test "--ipc/--pid container:NAME are refused with what to use instead" {
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --ipc container:x -- true
	[[ $stderr == *--join* ]]
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --pid container:x -- true
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --pid nonsense -- true
}

# serve NAME [OPTION...]: a container whose shmprobe serves a buffer for
# cross-memory attach (and made SysV segment KEY and /dev/shm/SHM) until
# $SYNC/fifo is opened; waits until it says where the buffer is.
serve() {
	local name=$1
	shift
	mkfifo "$SYNC/fifo"
	"$HUTCH" run --rm --rootfs "$R" -v "$SYNC:/sync" "$@" -- sh -c \
		"shmprobe sysv-make $KEY && echo shared >/dev/shm/$SHM && exec shmprobe cma-serve /sync/info.tmp /sync/fifo" \
		>"$SYNC/$name.out" 2>&1 &
	SERVER=$!
	wait_for 20 test -s "$SYNC/info.tmp"
	read -r PEER ADDR <"$SYNC/info.tmp"
}

# release: let the serving container end, and wait for it.
release() {
	: >"$SYNC/fifo"
	wait "$SERVER"
}

@test "--join: two runs share one container: SysV, /dev/shm and cross-memory attach work between them; nothing is left" {
	serve a --join grp
	run "$HUTCH" run --rm --rootfs "$R" --join grp -v "$SYNC:/sync" -- sh -c "shmprobe sysv-see $KEY; cat /dev/shm/$SHM; shmprobe cma-read $PEER $ADDR"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hutch ]
	[ "${lines[1]}" = shared ]
	[ "${lines[2]}" = hutch ]
	release
	# The group's namespaces went with it: nothing on the host.
	[ ! -e "/dev/shm/$SHM" ]
	run "$R/usr/local/bin/shmprobe" sysv-see "$KEY"
	[ "$output" = ENOENT ]
	[ -z "$(ls -A "$HUTCH_RUNTIME/groups" 2>/dev/null)" ]
	[ ! -e "$HUTCH_RUNTIME/groups" ]
}

@test "--join: exec into a member runs in the group's container, pid namespace included" {
	serve a --join grp4
	"$HUTCH" run --rm --name member --rootfs "$R" --join grp4 -v "$SYNC:/sync" -- \
		sh -c 'echo up >/sync/member; exec cat /sync/fifo' >/dev/null 2>&1 &
	local member=$!
	wait_for 20 test -s "$SYNC/member"
	# /proc is the group's: a process of another pid namespace has no
	# /proc/self there.
	run "$HUTCH" exec member sh -c "readlink /proc/self; cat /proc/1/comm; shmprobe sysv-see $KEY"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^[0-9]+$ ]] && ((lines[0] < 100))
	[ "${lines[1]}" = hutch-init ]
	[ "${lines[2]}" = hutch ]
	release
	wait "$member"
}

@test "without --join two containers share no memory, and cross-memory attach is refused across user namespaces" {
	serve a --pid host
	run "$HUTCH" run --rm --rootfs "$R" --pid host -- sh -c "shmprobe sysv-see $KEY; cat /dev/shm/$SHM 2>/dev/null || echo none; shmprobe cma-read $PEER $ADDR"
	echo "$output"
	[ "${lines[0]}" = ENOENT ]
	[ "${lines[1]}" = none ]
	[ "${lines[2]}" = EPERM ]
	release
}

@test "--join: the first member's container waits for the others; a member that dies does not hold it" {
	serve a --join grp2
	# A member killed while it runs lets go of the group at once.
	"$HUTCH" run --rm --rootfs "$R" --join grp2 -v "$SYNC:/sync" -- \
		sh -c 'echo up >/sync/b; exec sleep 600' >/dev/null 2>&1 &
	b=$!
	wait_for 20 test -s "$SYNC/b" || { ls -la "$SYNC"; false; }
	kill -9 "$b"
	wait "$b" || true
	release
	[ ! -e "$HUTCH_RUNTIME/groups" ]
	# Its command went with it (PDEATHSIG), nothing names the test's dir.
	! pgrep -f "exec sleep 600" -u "$(id -u)" >/dev/null
}

@test "--join: a member of another image is refused in one line" {
	"$HUTCH" import "$R" one:1 >/dev/null
	serve a --join grp3
	expect_plain_error 125 "$HUTCH" run --rm --join grp3 one:1 true
	[[ $stderr == *grp3* ]]
	release
}

@test "--join: a member with other -v, --tmpfs or --read-only than the first is refused in one line, not given the first one's" {
	serve a --join grp5
	mkdir -p "$BATS_TEST_TMPDIR/other"
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --join grp5 -- true
	[[ $stderr == *grp5*"-v, --mount, --tmpfs"*"--join none"* ]]
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --join grp5 -v "$SYNC:/sync" -v "$BATS_TEST_TMPDIR/other:/other" -- true
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --join grp5 -v "$SYNC:/sync:ro" -- true
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --join grp5 -v "$SYNC:/sync" --tmpfs /scratch -- true
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --join grp5 -v "$SYNC:/sync" --read-only -- true
	# The same options join.
	run "$HUTCH" run --rm --rootfs "$R" --join grp5 -v "$SYNC:/sync" -- cat /dev/shm/$SHM
	[ "$status" -eq 0 ]
	[ "$output" = shared ]
	release
}

@test "--preserve-fds N passes descriptors 3..2+N; without it none" {
	echo passed >"$BATS_TEST_TMPDIR/f"
	run "$HUTCH" run --rm --rootfs "$R" --preserve-fds 2 -- sh -c 'cat <&4' 4<"$BATS_TEST_TMPDIR/f"
	[ "$status" -eq 0 ]
	[ "$output" = passed ]
	run "$HUTCH" run --rm --rootfs "$R" -- sh -c 'cat <&4 || echo closed' 4<"$BATS_TEST_TMPDIR/f"
	[ "${lines[-1]}" = closed ]
	[[ $output != *passed* ]]
}
