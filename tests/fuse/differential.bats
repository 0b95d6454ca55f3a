#!/usr/bin/env bats
# differential.bats - hutch-overlay against the kernel's overlayfs
#
# Each test builds the same layers twice, mounts the kernel's overlayfs
# (in a user namespace, userxattr) on one copy and hutch-overlay on the
# other, runs the same operations on both and compares every result, the
# visible trees, and the upper directories' entries, whiteouts and opaque
# markers afterwards (diffrun.sh). The random runs choose their operations
# among what exists at each step, so most of them act on real objects.

load ../lib/common
load lib

setup_file() {
	if ! kernel_overlay_works; then
		skip "this kernel cannot mount overlayfs in a user namespace (needs Linux 5.11+): nothing to compare with"
	fi
}

teardown() {
	ns_cleanup
}

run_diff() {
	run userns_exec env OVL="$OVL" "$FUSE_TESTS/diffrun.sh" \
		"$BATS_TEST_TMPDIR/w" "$1" "$(mode_now)"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "differential: scripted reads, copy-up, whiteouts, renames, xattrs, big files" {
	run_diff "$FUSE_TESTS/scripts/basic.ops"
}

@test "differential: merged directories removed and recreated, opaque markers" {
	run_diff "$FUSE_TESTS/scripts/dirs.ops"
}

@test "differential: renames across layers" {
	run_diff "$FUSE_TESTS/scripts/renames.ops"
}

@test "differential: 0/0 devices refused, chown(-1, -1) and ctime, .wh. names" {
	run_diff "$FUSE_TESTS/scripts/names.ops"
}

@test "differential: paths beyond PATH_MAX from the root, copy-up at depth" {
	run_diff "$FUSE_TESTS/scripts/deep.ops"
}

@test "differential: 400 levels of 200-byte names (80 KiB from the root), copy-up at the bottom" {
	run_diff "$FUSE_TESTS/scripts/deeper.ops"
}

@test "differential: 300 random operations, seed 1" {
	run_diff fuzz:1:300
}

@test "differential: 300 random operations, seed 2" {
	run_diff fuzz:2:300
}

@test "differential: 300 random operations, seed 3" {
	run_diff fuzz:3:300
}

@test "differential: 300 random operations, seed 4" {
	run_diff fuzz:4:300
}

@test "differential: 300 random operations, seed 5" {
	run_diff fuzz:5:300
}

@test "differential: 300 random operations, seed 6" {
	run_diff fuzz:6:300
}

# The kernel renames merged directories only with redirect_dir=on, which
# it refuses together with userxattr: its results were recorded as real
# root (record-kernel.sh) and hutch-overlay, unprivileged, must match them.
run_ref() { # run_ref NAME SCRIPT: against scripts/NAME.expected
	run userns_exec env OVL="$OVL" \
		KERNEL="ref:$FUSE_TESTS/scripts/$1.expected" \
		"$FUSE_TESTS/diffrun.sh" "$BATS_TEST_TMPDIR/w" "$2" "$(mode_now)"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "differential: directory renames with redirects (kernel recorded as root, redirect_dir=on)" {
	run_ref dirrename "$FUSE_TESTS/scripts/dirrename.ops"
}

@test "differential: 300 random operations with redirects, seed 11 (kernel recorded as root)" {
	run_ref fuzz11-redirect recorded
}

@test "differential: 300 random operations with redirects, seed 13 (kernel recorded as root)" {
	run_ref fuzz13-redirect recorded
}
