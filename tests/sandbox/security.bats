#!/usr/bin/env bats
# security.bats - no_new_privs, capabilities, seccomp

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

# Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
# SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DOCKER_CAPS=00000000a80425fb

status_field() {
	"$HUTCH" run --rootfs "$R" "$@" -- grep "^$FIELD:" /proc/self/status | awk '{print $2}'
}

@test "NoNewPrivs and a seccomp filter are set by default" {
	run "$HUTCH" run --rootfs "$R" -- grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
	[ "$status" -eq 0 ]
	[[ $output == *"NoNewPrivs:"*1* ]]
	[[ $output == *"Seccomp:"*2* ]]
}

@test "root gets Docker's capability set, bounding and effective" {
	FIELD=CapEff run status_field
	[ "$output" = $DOCKER_CAPS ]
	FIELD=CapBnd run status_field
	[ "$output" = $DOCKER_CAPS ]
	FIELD=CapAmb run status_field
	[ "$output" = 0000000000000000 ]
}

@test "--cap-drop and --cap-add change the set" {
	FIELD=CapEff run status_field --cap-drop ALL
	[ "$output" = 0000000000000000 ]
	FIELD=CapEff run status_field --cap-drop all --cap-add NET_BIND_SERVICE
	[ "$output" = 0000000000000400 ]
	FIELD=CapEff run status_field --cap-add CAP_SYS_ADMIN --cap-drop chown
	[ "$output" = 00000000a82425fa ]
	run "$HUTCH" run --rootfs "$R" --cap-add NOT_A_CAP -- true
	[ "$status" -eq 125 ]
	[[ $output == *"unknown capability"* ]]
}

@test "a dropped capability is really gone" {
	# Root reads a mode-000 file only through CAP_DAC_OVERRIDE.
	local cmd='echo secret >/tmp/locked && chmod 000 /tmp/locked && cat /tmp/locked'
	run "$HUTCH" run --rootfs "$R" -- sh -c "$cmd"
	[ "$status" -eq 0 ]
	[ "$output" = secret ]
	run "$HUTCH" run --rootfs "$R" --cap-drop DAC_OVERRIDE -- sh -c "rm -f /tmp/locked; $cmd"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
}

@test "a non-root user has no effective capabilities but the same bound" {
	# Without subordinate ids alice has a user namespace of her own, in
	# which the kernel first gives her every capability: none may stay.
	FIELD=CapEff run status_field -u alice
	[ "$output" = 0000000000000000 ]
	FIELD=CapBnd run status_field -u alice
	[ "$output" = $DOCKER_CAPS ]
}

@test "the default seccomp profile denies keyctl and friends with EPERM" {
	for sc in keyctl add_key bpf unshare-user unshare-ns mount perf_event_open userfaultfd kexec_load init_module open_by_handle_at; do
		run "$HUTCH" run --rootfs "$R" -- sysprobe "$sc"
		[ "$status" -eq 1 ] || { echo "$sc: $output"; false; }
		[ "$output" = EPERM ] || { echo "$sc: $output"; false; }
	done
	run "$HUTCH" run --rootfs "$R" -- sysprobe clone3
	[ "$output" = ENOSYS ]
}

@test "allowed system calls work" {
	for sc in getpid mkdir chroot; do
		run "$HUTCH" run --rootfs "$R" -- sysprobe "$sc"
		[ "$status" -eq 0 ] || { echo "$sc: $output"; false; }
	done
}

@test "seccomp=unconfined removes the filter" {
	run "$HUTCH" run --rootfs "$R" --security-opt seccomp=unconfined -- sh -c 'grep ^Seccomp: /proc/self/status; sysprobe keyctl'
	[[ ${lines[0]} == *0 ]]
	[ "${lines[1]}" != EPERM ]
}

@test "CAP_SYS_ADMIN unlocks mount in the profile, as in Docker" {
	run "$HUTCH" run --rootfs "$R" --cap-add SYS_ADMIN -- sysprobe mount
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "a custom Docker-format profile is applied" {
	cat >"$BATS_TEST_TMPDIR/profile.json" <<'JSON'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [
		{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 }
	]
}
JSON
	run "$HUTCH" run --rootfs "$R" --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" -- sysprobe mkdir
	[ "$status" -eq 1 ]
	[ "$output" = EACCES ]
	run "$HUTCH" run --rootfs "$R" --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" -- sysprobe keyctl
	[ "$output" = ok ]
}

@test "a broken or missing profile is a one-line error" {
	echo '{ "defaultAction": ' >"$BATS_TEST_TMPDIR/bad.json"
	run "$HUTCH" run --rootfs "$R" --security-opt "seccomp=$BATS_TEST_TMPDIR/bad.json" -- true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *bad.json* ]]
	run "$HUTCH" run --rootfs "$R" --security-opt "seccomp=$BATS_TEST_TMPDIR/none.json" -- true
	[ "$status" -eq 125 ]
	[[ $output == *none.json* ]]
	run "$HUTCH" run --rootfs "$R" --security-opt bogus=1 -- true
	[ "$status" -eq 125 ]
}

@test "no-new-privileges can be turned off" {
	run "$HUTCH" run --rootfs "$R" --security-opt no-new-privileges=false -- grep ^NoNewPrivs: /proc/self/status
	[[ $output == *0 ]]
	run "$HUTCH" run --rootfs "$R" --security-opt no-new-privileges -- grep ^NoNewPrivs: /proc/self/status
	[[ $output == *1 ]]
}

@test "pid 1 keeps no capability but CAP_KILL" {
	run "$HUTCH" run --rootfs "$R" -- grep -E '^Cap(Eff|Prm):' /proc/1/status
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *0000000000000020 ]]
	[[ ${lines[1]} == *0000000000000020 ]]
}

@test "the compiled filter is cached, and a damaged cache never weakens it" {
	run "$HUTCH" run --rootfs "$R" -- sysprobe keyctl
	[ "$output" = EPERM ]
	entries=("$HUTCH_RUNTIME"/bpf/*)
	[ "${#entries[@]}" -eq 1 ]
	[ -f "${entries[0]}" ]
	[ "$(stat -c %a "$HUTCH_RUNTIME")" = 700 ]
	# Garbage, then an empty program under the same name: both ignored.
	head -c 4096 /dev/urandom >"${entries[0]}"
	run "$HUTCH" run --rootfs "$R" -- sysprobe keyctl
	[ "$output" = EPERM ]
	: >"${entries[0]}"
	run "$HUTCH" run --rootfs "$R" -- sysprobe keyctl
	[ "$output" = EPERM ]
	# A runtime directory others can write is not trusted at all: hutch
	# refuses it, naming it and the fix, and caches nothing there.
	chmod 0777 "$HUTCH_RUNTIME"
	rm -rf "$HUTCH_RUNTIME"/bpf
	run "$HUTCH" run --rootfs "$R" -- sysprobe keyctl
	[ "$status" -eq 125 ]
	[[ $output == *"$HUTCH_RUNTIME"*"not a private directory"*"HUTCH_RUNTIME"* ]]
	[ ! -e "$HUTCH_RUNTIME/bpf" ]
	chmod 0700 "$HUTCH_RUNTIME"
}

@test "a different profile or capability set gets its own cache entry" {
	run "$HUTCH" run --rootfs "$R" -- sysprobe mount
	[ "$output" = EPERM ]
	run "$HUTCH" run --rootfs "$R" --cap-add SYS_ADMIN -- sysprobe mount
	[ "$output" = ok ]
	run "$HUTCH" run --rootfs "$R" -- sysprobe mount
	[ "$output" = EPERM ]
	entries=("$HUTCH_RUNTIME"/bpf/*)
	[ "${#entries[@]}" -eq 2 ]
}
