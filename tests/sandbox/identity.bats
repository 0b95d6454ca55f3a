#!/usr/bin/env bats
# identity.bats - id mappings (full, single, keep-id), -u, and bind mounts'
# ownership on the host

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	mkdir -p "$BATS_TEST_TMPDIR/data"
}

sub_start() {
	grep -E "^($(id -un)|$(id -u)):" /etc/subuid | head -n 1 | cut -d: -f2
}

@test "the automatic mapping is full with subuids and single without" {
	run "$HUTCH" run --rootfs "$R" -- cat /proc/self/uid_map /proc/self/gid_map
	[ "$status" -eq 0 ]
	read -r -a first <<<"${lines[0]}"
	[ "${first[*]}" = "0 $(id -u) 1" ]
	if subids_available; then
		read -r -a second <<<"${lines[1]}"
		[ "${second[*]}" = "1 $(sub_start) 65536" ]
	else
		[ "${#lines[@]}" -eq 2 ]
		read -r -a gid <<<"${lines[1]}"
		[ "${gid[*]}" = "0 $(id -g) 1" ]
	fi
}

@test "--userns=single maps root only, even with subuids" {
	run "$HUTCH" run --rootfs "$R" --userns=single -- cat /proc/self/uid_map
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$HUTCH" run --rootfs "$R" --userns=single -- cat /proc/self/setgroups
	[ "$output" = deny ]
}

@test "--userns=full is a clear error without subuids" {
	run "$HUTCH" run --rootfs "$R" --userns=full -- id -u
	if subids_available; then
		[ "$status" -eq 0 ]
		[ "$output" = 0 ]
	else
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ $output == *"full id mapping unavailable"*"subuid"* ]]
	fi
}

@test "--userns=keep-id: the user's own ids inside" {
	run "$HUTCH" run --rootfs "$R" --userns=keep-id -v "$BATS_TEST_TMPDIR/data:/data" -- sh -c 'id -u; id -g; touch /data/kept'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(id -u)" ]
	[ "${lines[1]}" = "$(id -g)" ]
	[ "$(stat -c %u "$BATS_TEST_TMPDIR/data/kept")" = "$(id -u)" ]
	run "$HUTCH" run --rootfs "$R" --userns=bogus -- true
	[ "$status" -eq 125 ]
}

@test "the rootfs's files, owned by the user, belong to root inside" {
	run "$HUTCH" run --rootfs "$R" -- stat -c '%u %g' /bin/busybox
	[ "$status" -eq 0 ]
	[ "$output" = "0 0" ]
}

@test "files created in a rw bind mount belong to the calling user on the host" {
	run "$HUTCH" run --rootfs "$R" -v "$BATS_TEST_TMPDIR/data:/data" -- sh -c 'echo hi >/data/f; mkdir /data/d; ls -ln /data'
	[ "$status" -eq 0 ]
	[ "$(stat -c '%u %g' "$BATS_TEST_TMPDIR/data/f")" = "$(id -u) $(id -g)" ]
	[ "$(stat -c %u "$BATS_TEST_TMPDIR/data/d")" = "$(id -u)" ]
	[ "$(cat "$BATS_TEST_TMPDIR/data/f")" = hi ]
}

@test "-u by name resolves in the container's passwd and group" {
	run "$HUTCH" run --rootfs "$R" -u alice -- sh -c 'id -u; id -g; id -G; echo $HOME'
	if subids_available; then
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = 1000 ]
		[ "${lines[1]}" = 1000 ]
		[[ " ${lines[2]} " == *" 50 "* ]]
		[ "${lines[3]}" = /home/alice ]
	else
		# A single mapping has no uid 1000: a clear error, not a crash.
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ $output == *"not mapped"* ]]
	fi
}

@test "-u with a group, a numeric uid outside passwd, and unknown names" {
	if subids_available; then
		run "$HUTCH" run --rootfs "$R" -u alice:staff -- sh -c 'id -u; id -g'
		[ "$status" -eq 0 ]
		[ "${lines[1]}" = 50 ]
		run "$HUTCH" run --rootfs "$R" -u 4242 -- sh -c 'id -u; id -g; echo $HOME'
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = 4242 ]
		[ "${lines[1]}" = 0 ]
		[ "${lines[2]}" = / ]
	fi
	run "$HUTCH" run --rootfs "$R" -u bob -- true
	[ "$status" -eq 125 ]
	[[ $output == *"unable to find user bob"* ]]
	run "$HUTCH" run --rootfs "$R" -u root:nosuchgroup -- true
	[ "$status" -eq 125 ]
	[[ $output == *"unable to find group nosuchgroup"* ]]
	run "$HUTCH" run --rootfs "$R" -u root -- id -u
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
}

@test "a non-root user's files in a bind mount get the mapped subordinate id" {
	subids_available || skip "needs /etc/subuid ranges (full mapping); the single mapping has no uid 1000"
	run "$HUTCH" run --rootfs "$R" -u alice -v "$BATS_TEST_TMPDIR/data:/data" -- sh -c 'touch /tmp/x && ls -ld /data'
	[ "$status" -eq 0 ]
	chmod 0777 "$BATS_TEST_TMPDIR/data"
	run "$HUTCH" run --rootfs "$R" -u alice -v "$BATS_TEST_TMPDIR/data:/data" -- touch /data/by-alice
	[ "$status" -eq 0 ]
	[ "$(stat -c %u "$BATS_TEST_TMPDIR/data/by-alice")" = "$(($(sub_start) + 999))" ]
}
