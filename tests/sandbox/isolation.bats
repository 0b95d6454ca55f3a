#!/usr/bin/env bats
# isolation.bats - namespaces, /proc, /dev, /sys, /etc files, network modes

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

@test "only the container's processes are visible" {
	run "$HUTCH" run --rootfs "$R" -- sh -c 'ls /proc | grep -c "^[0-9][0-9]*$"'
	[ "$status" -eq 0 ]
	# hutch-init, sh, and the ls and grep of the pipeline.
	[ "$output" -le 4 ]
	run "$HUTCH" run --rootfs "$R" -- ps -o pid,comm
	[ "$status" -eq 0 ]
	[[ ${lines[1]} =~ ^\ *1\ hutch-init$ ]]
}

@test "the host's mounts are not visible, the rootfs is /" {
	run "$HUTCH" run --rootfs "$R" -- cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	[[ $output != *"$R"* ]] || [[ $output == *" / "* ]]
	run "$HUTCH" run --rootfs "$R" -- ls /
	[[ $output == *bin* ]]
	[[ $output != *"old_root"* ]]
}

@test "uts, ipc and mount namespaces are new; the host name is the container's" {
	host_ns=$(readlink /proc/self/ns/uts /proc/self/ns/ipc /proc/self/ns/mnt /proc/self/ns/pid)
	run "$HUTCH" run --rootfs "$R" -h my-box -- sh -c 'for n in uts ipc mnt pid; do readlink /proc/self/ns/$n; done; hostname; cat /etc/hostname'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == uts:* ]]
	for ns in $host_ns; do [[ $output != *"$ns"* ]]; done
	[ "${lines[4]}" = my-box ]
	[ "${lines[5]}" = my-box ]
}

@test "/etc/hosts names the container; resolv.conf is the host's" {
	run "$HUTCH" run --rootfs "$R" -h box1 -- cat /etc/hosts
	[ "$status" -eq 0 ]
	[[ $output == *"127.0.0.1"*"localhost"* ]]
	[[ $output == *"box1"* ]]
	run "$HUTCH" run --rootfs "$R" -- cat /etc/resolv.conf
	[ "$output" = "$(cat /etc/resolv.conf)" ]
}

@test "the generated /etc files leave nothing behind in the rootfs or on the host" {
	rm -f "$R/etc/hosts" "$R/etc/hostname" "$R/etc/resolv.conf"
	run "$HUTCH" run --rootfs "$R" -- cat /etc/hostname
	[ "$status" -eq 0 ]
	# Mount points may remain (empty files); contents never do.
	[ ! -s "$R/etc/hostname" ]
	[ ! -s "$R/etc/hosts" ]
	[ -z "$(ls -A "$R/proc")" ]
}

@test "/dev holds the minimal set, a private devpts and shm" {
	run "$HUTCH" run --rootfs "$R" -- ls /dev
	[ "$status" -eq 0 ]
	for d in null zero full random urandom tty pts shm mqueue fd stdin stdout stderr ptmx; do
		[[ " $(echo $output) " == *" $d "* ]] || { echo "missing /dev/$d"; false; }
	done
	run "$HUTCH" run --rootfs "$R" -- sh -c 'echo x >/dev/null && head -c 4 /dev/zero | wc -c && echo ok >/dev/shm/f && cat /dev/shm/f && ls /dev/pts'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 4 ]
	[ "${lines[1]}" = ok ]
	[ "${lines[2]}" = ptmx ]
	# No host block devices.
	run "$HUTCH" run --rootfs "$R" -- sh -c 'ls /dev | grep -E "^(sd|vd|nvme|loop)"'
	[ "$status" -ne 0 ]
}

@test "/proc has Docker's masked and read-only paths" {
	local masked=0 f
	# Whichever of them this kernel has must read as empty inside.
	for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
		[ -e "$f" ] || continue
		masked=$((masked + 1))
		run "$HUTCH" run --rootfs "$R" -- sh -c "cat $f | wc -c"
		[ "$status" -eq 0 ]
		[ "$output" = 0 ] || { echo "$f is not masked"; false; }
	done
	[ "$masked" -gt 0 ]
	run "$HUTCH" run --rootfs "$R" -- sh -c 'find /proc/acpi /proc/scsi -mindepth 1 2>/dev/null | wc -l'
	[ "$output" = 0 ]
	run "$HUTCH" run --rootfs "$R" -- sh -c 'echo 1 >/proc/sys/kernel/hostname'
	[ "$status" -ne 0 ]
	[[ $output == *"Read-only file system"* ]]
	run "$HUTCH" run --rootfs "$R" -- sh -c 'echo b >/proc/sysrq-trigger'
	[ "$status" -ne 0 ]
}

@test "/sys is read-only" {
	run "$HUTCH" run --rootfs "$R" -- sh -c 'ls /sys/kernel >/dev/null && touch /sys/kernel/x'
	[ "$status" -ne 0 ]
	[[ $output == *"Read-only file system"* ]]
}

@test "--network none: only loopback, and it is up" {
	run "$HUTCH" run --rootfs "$R" --network none -- cat /proc/net/dev
	[ "$status" -eq 0 ]
	[ "$(grep -c ':' <<<"$output")" -eq 1 ]
	[[ $output == *"lo:"* ]]
	# IFF_UP | IFF_LOOPBACK, from the namespace's own sysfs.
	run "$HUTCH" run --rootfs "$R" --network none -- cat /sys/class/net/lo/flags
	[ "$output" = 0x9 ]
	run "$HUTCH" run --rootfs "$R" --network none -- ping -c 1 -W 2 127.0.0.1
	[ "$status" -eq 0 ]
	[[ $output == *"1 packets received"* ]]
}

@test "--network host (the default) shares the host's interfaces" {
	run "$HUTCH" run --rootfs "$R" -- cat /proc/net/dev
	[ "$status" -eq 0 ]
	[ "$(grep -c ':' <<<"$output")" -eq "$(grep -c ':' /proc/net/dev)" ]
	run "$HUTCH" run --rootfs "$R" --network bogus -- true
	[ "$status" -eq 125 ]
}

@test "--read-only root with a writable --tmpfs" {
	run "$HUTCH" run --rootfs "$R" --read-only -- touch /newfile
	[ "$status" -ne 0 ]
	[[ $output == *"Read-only file system"* ]]
	[ ! -e "$R/newfile" ]
	run "$HUTCH" run --rootfs "$R" --read-only --tmpfs /tmp -- sh -c 'echo hi >/tmp/x && cat /tmp/x && grep " /tmp " /proc/mounts'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hi ]
	[[ ${lines[1]} == *tmpfs*nosuid*nodev* ]]
	run "$HUTCH" run --rootfs "$R" --tmpfs /scratch:size=1m,noexec,mode=0700 -- sh -c 'grep " /scratch " /proc/mounts; stat -c %a /scratch'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *noexec* ]]
	[[ ${lines[0]} == *size=1024k* ]]
	[ "${lines[1]}" = 700 ]
	run "$HUTCH" run --rootfs "$R" --tmpfs /x:bogus -- true
	[ "$status" -eq 125 ]
}

@test "a hostile rootfs symlink cannot redirect mounts out of the tree" {
	H=$BATS_TEST_TMPDIR/hostile
	out=$BATS_TEST_TMPDIR/outside
	make_rootfs "$H"
	mkdir -p "$out/etc" "$out/data" "$BATS_TEST_TMPDIR/vol"
	# Absolute and relative links that point at a host directory the user
	# can write: a naive runtime would create its mount points there.
	rm -rf "$H/etc" "$H/data"
	ln -s "$out/etc" "$H/etc"
	ln -s "../../../../../../../../..$out/data" "$H/data"
	run "$HUTCH" run --rootfs "$H" -v "$BATS_TEST_TMPDIR/vol:/data" -- \
		sh -c "echo ok; cat /etc/hostname; test -e $out/etc/hostname && test -d $out/data && echo inside"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ok ]
	[ "${lines[2]}" = inside ]
	[ -z "$(ls -A "$out/etc")" ]
	[ -z "$(ls -A "$out/data")" ]
	# They were created inside the tree instead (on a driver pass, in the
	# overlay's upper: the directory itself stays untouched).
	if [ -z "${HUTCH_TEST_DRIVER:-}" ]; then
		[ -e "$H/$out/etc/hostname" ]
		[ -d "$H/$out/data" ]
	fi
}
