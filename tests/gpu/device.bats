#!/usr/bin/env bats
# device.bats - run --device HOSTPATH[:CONTAINERPATH][:rwm]: binds of the
# host's device nodes (harmless ones: /dev/zero, /dev/full)

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

@test "--device binds a host node on its own path and on another" {
	run "$HUTCH" run --rootfs "$R" --device /dev/full \
		--device /dev/zero:/dev/mydev:rw -- \
		sh -c '[ -c /dev/full ] && [ -c /dev/mydev ] && head -c 3 /dev/mydev | od -An -tx1'
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "00 00 00" ]
}

@test "--device refuses a path that is not a device, in one line, rc 125" {
	touch "$BATS_TEST_TMPDIR/file"
	run "$HUTCH" run --rootfs "$R" --device "$BATS_TEST_TMPDIR/file" -- true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$BATS_TEST_TMPDIR/file is not a device node"* ]]
}

@test "--device refuses a missing node and bad permissions" {
	run "$HUTCH" run --rootfs "$R" --device /dev/hutch-no-such -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"/dev/hutch-no-such: No such file or directory"* ]]
	run "$HUTCH" run --rootfs "$R" --device /dev/zero:/dev/z:rx -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid permissions "rx"'* ]]
}

@test "--device refuses a node the caller may not open" {
	# a node only root may write: /dev/kmsg (0644) or /dev/console (0600)
	node=
	for n in /dev/kmsg /dev/console /dev/mem; do
		if [ -c "$n" ] && ! [ -w "$n" ]; then node=$n; break; fi
	done
	[ -n "$node" ] || skip "no root-only device node on this host"
	run "$HUTCH" run --rootfs "$R" --device "$node:/dev/x:rw" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"$node: Permission denied"* ]]
}
