#!/usr/bin/env bats
# run.bats - `hutch run --rootfs`: the basics, exit codes and bad input

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

@test "runs a command and prints its output" {
	run "$HUTCH" run --rootfs "$R" -- echo hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
}

@test "the command is pid 2 under hutch's init, uid 0, and the short id is the host name of a container with its own network" {
	run "$HUTCH" run --rootfs "$R" --network none -- sh -c 'echo $$; id -u; hostname; cat /proc/1/comm'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 2 ]
	[ "${lines[1]}" = 0 ]
	[[ ${lines[2]} =~ ^[0-9a-f]{12}$ ]]
	[ "${lines[3]}" = hutch-init ]
}

@test "exit codes: the command's own, 0 and 7" {
	run "$HUTCH" run --rootfs "$R" -- true
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rootfs "$R" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
}

@test "exit code 127 and a one-line error for a command that does not exist" {
	run -127 "$HUTCH" run --rootfs "$R" -- no-such-command
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *'exec "no-such-command": executable file not found in $PATH'* ]]
	run -127 "$HUTCH" run --rootfs "$R" -- /nope/cmd
	[[ $output == *"no such file or directory"* ]]
}

@test "exit code 126 for a command that cannot be executed" {
	echo 'not a program' >"$R/tmp/notexec"
	chmod 0644 "$R/tmp/notexec"
	run "$HUTCH" run --rootfs "$R" -- /tmp/notexec
	[ "$status" -eq 126 ]
	[[ $output == *"/tmp/notexec"*"Permission denied"* ]]
	run "$HUTCH" run --rootfs "$R" -- /tmp
	[ "$status" -eq 126 ]
}

@test "a script whose interpreter is missing says so" {
	printf '#!/usr/bin/python9\nprint(1)\n' >"$R/tmp/script"
	chmod 0755 "$R/tmp/script"
	run -127 "$HUTCH" run --rootfs "$R" -- /tmp/script
	[[ $output == *interpreter* ]]
}

@test "bad input: missing rootfs, no rootfs option, no command, unknown option" {
	run "$HUTCH" run --rootfs "$BATS_TEST_TMPDIR/nope" -- true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"root filesystem"*"does not exist"* ]]
	# Docker's two lines: not here, and why the pull failed.
	run "$HUTCH" run -- no-such-image-here
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -le 2 ]
	[[ ${lines[0]} == *"Unable to find image 'no-such-image-here' locally"* ]]
	run "$HUTCH" run --rootfs "$R"
	[ "$status" -eq 125 ]
	[[ $output == *"no command given"* ]]
	run "$HUTCH" run --bogus --rootfs "$R" true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"unknown option --bogus"*"hutch run --help"* ]]
	run "$HUTCH" run -e
	[ "$status" -eq 125 ]
	[[ $output == *"needs an argument"* ]]
}

@test "bad input: a rootfs that is a file" {
	touch "$BATS_TEST_TMPDIR/file"
	run "$HUTCH" run --rootfs "$BATS_TEST_TMPDIR/file" -- true
	[ "$status" -eq 125 ]
	[[ $output == *"not a directory"* ]]
}

@test "bad input: a rootfs without the command's shell" {
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	run -127 "$HUTCH" run --rootfs "$BATS_TEST_TMPDIR/empty" -- sh -c true
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *'"sh": executable file not found'* ]]
}

@test "environment: defaults, -e, -e KEY from the host, --env-file, last one wins" {
	printf '# comment\n\nFROM_FILE=yes\nSHARED=file\n' >"$BATS_TEST_TMPDIR/env"
	export HOST_VALUE=passed
	run "$HUTCH" run --rootfs "$R" -e A=1 -e HOST_VALUE -e UNSET_ON_HOST \
		--env-file "$BATS_TEST_TMPDIR/env" -e SHARED=flag -- env
	[ "$status" -eq 0 ]
	[[ $output == *"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"* ]]
	[[ $output == *"HOME=/root"* ]]
	[[ $output == *"HOSTNAME="* ]]
	[[ $output == *"A=1"* ]]
	[[ $output == *"HOST_VALUE=passed"* ]]
	[[ $output != *"UNSET_ON_HOST"* ]]
	[[ $output == *"FROM_FILE=yes"* ]]
	[[ $output == *"SHARED=flag"* ]]
	[[ $output != *"SHARED=file"* ]]
	# Nothing of the host's environment leaks in.
	[[ $output != *"BATS_"* ]]
}

@test "a bad --env-file line is an error naming the file and line" {
	printf 'OK=1\nBAD KEY=2\n' >"$BATS_TEST_TMPDIR/env"
	run "$HUTCH" run --rootfs "$R" --env-file "$BATS_TEST_TMPDIR/env" -- true
	[ "$status" -eq 125 ]
	[[ $output == *"env:2"* ]]
}

@test "workdir: -w is entered and created when missing; relative is refused" {
	run "$HUTCH" run --rootfs "$R" -w /srv/app -- pwd
	[ "$status" -eq 0 ]
	[ "$output" = /srv/app ]
	run "$HUTCH" run --rootfs "$R" -w srv -- pwd
	[ "$status" -eq 125 ]
	[[ $output == *"absolute path"* ]]
}

@test "stdin: closed without -i, passed with -i" {
	run bash -c "echo from-host | '$HUTCH' run --rootfs '$R' -- cat"
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run bash -c "echo from-host | '$HUTCH' run -i --rootfs '$R' -- cat"
	[ "$status" -eq 0 ]
	[ "$output" = from-host ]
}

@test "-it without a terminal is refused like Docker does" {
	run bash -c "'$HUTCH' run -it --rootfs '$R' -- true </dev/null"
	[ "$status" -eq 125 ]
	[[ $output == *"not a TTY"* ]]
}

@test "--help lists the options" {
	run "$HUTCH" run --help
	[ "$status" -eq 0 ]
	[[ $output == *"--volume"* ]]
	[[ $output == *"--security-opt"* ]]
}

@test "no host file descriptor leaks into the container" {
	exec 7<"$BATS_TEST_TMPDIR"
	run "$HUTCH" run --rootfs "$R" -- ls /proc/self/fd
	exec 7<&-
	[ "$status" -eq 0 ]
	# 0 1 2 and the descriptor ls uses for the listing.
	[ "$(echo "$output" | wc -l)" -le 4 ]
	[[ $output != *7* ]]
}
