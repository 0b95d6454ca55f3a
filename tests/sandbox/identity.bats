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
	run "$HUTCH" run --rootfs "$R" -u alice -- sh -c 'id -u; id -g; id -G; echo $HOME; whoami'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 1000 ]
	[ "${lines[3]}" = /home/alice ]
	[ "${lines[4]}" = alice ]
	# Supplementary groups need setgroups(2), which a single mapping
	# denies: there the host's groups stay.
	if subids_available; then
		[[ " ${lines[2]} " == *" 50 "* ]]
	fi
}

@test "-u with a group, a numeric uid outside passwd, and unknown names" {
	run "$HUTCH" run --rootfs "$R" -u alice:staff -- sh -c 'id -u; id -g'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 50 ]
	run "$HUTCH" run --rootfs "$R" -u 4242 -- sh -c 'id -u; id -g; echo $HOME'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 4242 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = / ]
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
	subids_available || skip "needs /etc/subuid ranges (full mapping); the single mapping has its own test below"
	run "$HUTCH" run --rootfs "$R" -u alice -v "$BATS_TEST_TMPDIR/data:/data" -- sh -c 'touch /tmp/x && ls -ld /data'
	[ "$status" -eq 0 ]
	chmod 0777 "$BATS_TEST_TMPDIR/data"
	run "$HUTCH" run --rootfs "$R" -u alice -v "$BATS_TEST_TMPDIR/data:/data" -- touch /data/by-alice
	[ "$status" -eq 0 ]
	[ "$(stat -c %u "$BATS_TEST_TMPDIR/data/by-alice")" = "$(($(sub_start) + 999))" ]
}

# Without subordinate ids the one mapped id is root's: a user that is not
# root gets a user namespace of its own in which it is the caller.
@test "single mapping: a non-root user is the caller (its uid inside, its files on the host)" {
	run "$HUTCH" run --rootfs "$R" --userns=single -u alice -v "$BATS_TEST_TMPDIR/data:/data" -- \
		sh -c 'cat /proc/self/uid_map; whoami; touch /home/alice/own /data/by-alice && stat -c %u /home/alice/own /bin/busybox'
	[ "$status" -eq 0 ]
	read -r -a map <<<"${lines[0]}"
	[ "${map[*]}" = "1000 0 1" ]
	[ "${lines[1]}" = alice ]
	# Every file of the root filesystem is the caller's, so alice's.
	[ "${lines[2]}" = 1000 ]
	[ "${lines[3]}" = 1000 ]
	[ "$(stat -c '%u %g' "$BATS_TEST_TMPDIR/data/by-alice")" = "$(id -u) $(id -g)" ]
	# Root stays root, and the user is alice however the process starts.
	run "$HUTCH" run --rootfs "$R" --userns=single -u 0 -- id -u
	[ "$output" = 0 ]
	run "$HUTCH" run --rootfs "$R" --userns=single -u alice --security-opt no-new-privileges=false -- id -un
	[ "$status" -eq 0 ]
	[ "$output" = alice ]
}

@test "--userns=keep-id with -u: that user inside, and the caller's files in a bind mount" {
	run "$HUTCH" run --rootfs "$R" --userns=keep-id -u 2000 -v "$BATS_TEST_TMPDIR/data:/data" -- \
		sh -c 'id -u; touch /tmp/k && echo ok'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 2000 ]
	[ "${lines[1]}" = ok ]
	subids_available && return 0
	run "$HUTCH" run --rootfs "$R" --userns=keep-id -u alice -v "$BATS_TEST_TMPDIR/data:/data" -- \
		sh -c 'id -un; touch /data/kept-alice'
	[ "$status" -eq 0 ]
	[ "$output" = alice ]
	[ "$(stat -c %u "$BATS_TEST_TMPDIR/data/kept-alice")" = "$(id -u)" ]
}

@test "exec into a container of a non-root user: its user by default, root with -u 0" {
	run "$HUTCH" run -d --name who --rootfs "$R" -u alice -- sleep 300
	[ "$status" -eq 0 ]
	run "$HUTCH" exec who id -un
	[ "$status" -eq 0 ]
	[ "$output" = alice ]
	run "$HUTCH" exec -u 0 who sh -c 'id -u; cat /proc/2/uid_map'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	# The command, pid 2: in a single mapping, in alice's own namespace.
	read -r -a map <<<"${lines[1]}"
	if subids_available; then
		[ "${map[0]}" = 0 ]
	else
		[ "${map[*]}" = "1000 0 1" ]
	fi
	run "$HUTCH" stop -t 5 who
	[ "$status" -eq 0 ]
	run "$HUTCH" inspect -f '{{.State.ExitCode}}' who
	[ "$output" = 143 ]
	"$HUTCH" rm who >/dev/null
}
