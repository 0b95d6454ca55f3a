#!/usr/bin/env bats
# cli.bats - hutch-overlay's command line: bad input gets one clear line

load ../lib/common
load lib

setup() {
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d"/{l,l2,u,w,m}
}

# expect_one_line_error PATTERN: status non-zero, one line naming it.
expect_one_line_error() {
	echo "status=$status output=$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == "hutch-overlay: "* ]]
	[[ $output =~ $1 ]]
}

@test "cli: --help lists the options and exits 0" {
	run "$OVL" --help
	[ "$status" -eq 0 ]
	[[ $output == *lowerdir* ]]
	[[ $output == *squash_to_root* ]]
	[[ $output == *--ready-fd* ]]
}

@test "cli: missing lowerdir" {
	run "$OVL" -o "upperdir=$d/u,workdir=$d/w" "$d/m"
	expect_one_line_error "missing lowerdir.*lowerdir=DIR"
}

@test "cli: unknown option" {
	run "$OVL" -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w,bogus_opt=1" "$d/m"
	expect_one_line_error "unknown option 'bogus_opt'"
	run "$OVL" --frobnicate -o "lowerdir=$d/l" "$d/m"
	expect_one_line_error "unknown option '--frobnicate'"
}

@test "cli: upperdir inside a lowerdir" {
	mkdir -p "$d/l/inner"
	run "$OVL" -o "lowerdir=$d/l2:$d/l,upperdir=$d/l/inner,workdir=$d/w" "$d/m"
	expect_one_line_error "upperdir .*/l/inner is inside lowerdir .*/l; the layers must not overlap"
}

@test "cli: lowerdir inside the upperdir" {
	mkdir -p "$d/u/low"
	run "$OVL" -o "lowerdir=$d/u/low,upperdir=$d/u,workdir=$d/w" "$d/m"
	expect_one_line_error "lowerdir .* is inside upperdir"
}

@test "cli: workdir on another filesystem than upperdir" {
	run userns_exec bash -c "mount -t tmpfs tmpfs '$d/w' && exec '$OVL' -o 'lowerdir=$d/l,upperdir=$d/u,workdir=$d/w' '$d/m'"
	expect_one_line_error "workdir .* is on another filesystem than upperdir .*; put both on the same filesystem"
	[ -z "$(strerror_in "$output")" ]
}

@test "cli: upperdir on a read-only filesystem" {
	run userns_exec bash -c "mount --bind '$d/u' '$d/u' && mount -o remount,bind,ro '$d/u' && exec '$OVL' -o 'lowerdir=$d/l,upperdir=$d/u,workdir=$d/w' '$d/m'"
	expect_one_line_error "upperdir .* is on a read-only filesystem"
	[ -z "$(strerror_in "$output")" ]
}

@test "cli: a missing directory is named" {
	run "$OVL" -o "lowerdir=$d/nothere,upperdir=$d/u,workdir=$d/w" "$d/m"
	expect_one_line_error "lowerdir .*/nothere: No such file or directory"
	run "$OVL" -o "lowerdir=$d/l" "$d/nomount"
	expect_one_line_error "mountpoint .*/nomount: No such file or directory"
}

@test "cli: upperdir without workdir, and bad values" {
	run "$OVL" -o "lowerdir=$d/l,upperdir=$d/u" "$d/m"
	expect_one_line_error "upperdir needs a workdir"
	run "$OVL" -o "lowerdir=$d/l,uidmapping=0:1" "$d/m"
	expect_one_line_error "uidmapping: '0:1' is not a list of container:host:count"
	run "$OVL" -o "lowerdir=$d/l,squash_to_uid=root" "$d/m"
	expect_one_line_error "squash_to_uid: 'root' is not a numeric id"
	run "$OVL" -o "lowerdir=$d/l" --ready-fd=x "$d/m"
	expect_one_line_error "--ready-fd needs a descriptor number"
}

@test "cli: bad input is one line on stderr, exit 1, without errno text" {
	expect_plain_error 1 "$OVL" -o uid=1 "lowerdir=$d/l" "$d/m"
	[ "$stderr" = "hutch-overlay: unknown option 'uid'; see hutch-overlay --help for the options it accepts" ]
	local o
	for o in bogus_opt=1 squash_to_uid=root uidmapping=0:1 fsync=2 \
		readdirplus=maybe timeout=soon threads=many max_read=big \
		nodev=1 squash_to_root=1 fsname upperdir "upperdir=$d/u"; do
		expect_plain_error 1 "$OVL" -o "lowerdir=$d/l,$o" "$d/m"
		[[ $stderr == "hutch-overlay: "*"${o%%=*}"* ]]
	done
	expect_plain_error 1 "$OVL" -o "lowerdir=$d/l" --ready-fd=x "$d/m"
	expect_plain_error 1 "$OVL" --frobnicate -o "lowerdir=$d/l" "$d/m"
	expect_plain_error 1 "$OVL" -x -o "lowerdir=$d/l" "$d/m"
	expect_plain_error 1 "$OVL" -o
	expect_plain_error 1 "$OVL" -o "lowerdir=$d/l"
	expect_plain_error 1 "$OVL" "$d/m"
	expect_plain_error 1 "$OVL" -o "lowerdir=$d/l,workdir=$d/w" "$d/m"
	expect_plain_error 1 "$OVL" -o "lowerdir=$d/l" "$d/l" "$d/m" "$d/x"
	# Checked once the directories are open: still bad input.
	touch "$d/file"
	expect_plain_error 1 "$OVL" -o "lowerdir=$d/l" "$d/file"
	[[ $stderr == *"mountpoint $d/file is not a directory; give a directory"* ]]
	mkdir -p "$d/u/w"
	expect_plain_error 1 "$OVL" -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/u/w" "$d/m"
	[[ $stderr == *"overlap"* ]]
	mkdir -p "$d/l/inner"
	expect_plain_error 1 "$OVL" -o "lowerdir=$d/l,upperdir=$d/l/inner,workdir=$d/w" "$d/m"
}

@test "cli: fuse-overlayfs's options are accepted" {
	run userns_exec bash -c "
		'$OVL' -o 'lowerdir=$d/l,upperdir=$d/u,workdir=$d/w,noacl,static_nlink,fsync=0,volatile,squash_to_root,xino=off,nodev,nosuid,noatime,context=\"system_u:object_r:container_file_t:s0\"' '$d/m' || exit 1
		touch '$d/m/ok' && umount '$d/m'"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -e "$d/u/ok" ]
}
