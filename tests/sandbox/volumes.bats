#!/usr/bin/env bats
# volumes.bats - -v bind mounts: rw, ro, files, nesting, bad specifications

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	D=$BATS_TEST_TMPDIR/data
	mkdir -p "$D"
	echo input >"$D/in.txt"
}

@test "-v SRC:DST is read-write and visible on the host" {
	run "$HUTCH" run --rootfs "$R" -v "$D:/data" -e MODE=train -w /data -- sh -c 'cat in.txt; echo $MODE >out.txt'
	[ "$status" -eq 0 ]
	[ "$output" = input ]
	[ "$(cat "$D/out.txt")" = train ]
}

@test "-v SRC:DST:ro is read-only" {
	run "$HUTCH" run --rootfs "$R" -v "$D:/data:ro" -- sh -c 'cat /data/in.txt; echo x >/data/new'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = input ]
	[[ $output == *"Read-only file system"* ]]
	[ ! -e "$D/new" ]
}

@test "a single file can be bound, and the mount point is created" {
	run "$HUTCH" run --rootfs "$R" -v "$D/in.txt:/opt/deep/config.txt:ro" -- cat /opt/deep/config.txt
	[ "$status" -eq 0 ]
	[ "$output" = input ]
}

@test "nested binds land inside their parents whatever the order" {
	mkdir -p "$BATS_TEST_TMPDIR/inner"
	echo inner >"$BATS_TEST_TMPDIR/inner/i.txt"
	run "$HUTCH" run --rootfs "$R" -v "$BATS_TEST_TMPDIR/inner:/data/sub" -v "$D:/data" -- cat /data/sub/i.txt /data/in.txt
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = inner ]
	[ "${lines[1]}" = input ]
}

@test "a relative source path is taken from the current directory" {
	cd "$BATS_TEST_TMPDIR"
	run "$HUTCH" run --rootfs "$R" -v ./data:/data -- cat /data/in.txt
	[ "$status" -eq 0 ]
	[ "$output" = input ]
}

@test "malformed -v specifications are one-line errors with exit 125" {
	for spec in nocolon ":/x" "$D:" "$D:relative" "$D:/" "$D:/x:bogus"; do
		run "$HUTCH" run --rootfs "$R" -v "$spec" -- true
		[ "$status" -eq 125 ] || { echo "accepted: $spec"; false; }
		[ "${#lines[@]}" -eq 1 ]
		[[ $output == *"$spec"* ]] || [[ $output == *"invalid"* ]]
	done
}

@test "a missing bind source is an error naming it" {
	run "$HUTCH" run --rootfs "$R" -v "$BATS_TEST_TMPDIR/missing:/data" -- true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"bind source path $BATS_TEST_TMPDIR/missing does not exist"* ]]
}

@test "named volumes are refused with a clear message" {
	run "$HUTCH" run --rootfs "$R" -v data:/data -- true
	[ "$status" -eq 125 ]
	[[ $output == *"named volumes"* ]]
}
