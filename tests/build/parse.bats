#!/usr/bin/env bats
# parse.bats - Dockerfiles as docker build reads them: the JSON form's
# fallback to the shell form, and values that grow without bound

load ../lib/common

# One store for the file (exported to every test), with a busybox base.
setup_file() {
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	make_rootfs "$BATS_FILE_TMPDIR/rootfs"
	"$HUTCH" import "$BATS_FILE_TMPDIR/rootfs" base:1 >/dev/null
}

teardown_file() {
	remove_store "$HUTCH_ROOT"
}

setup() {
	C=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$C"
}

@test "an instruction whose JSON does not parse is the shell form, as docker build takes it" {
	printf 'FROM base:1\nENTRYPOINT [%s]\nCMD ["unterminated\n' "'echo', 'hi'" >"$C/Dockerfile"
	run "$HUTCH" build -q -t fallback:1 "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' fallback:1
	[ "$output" = '["/bin/sh","-c","['"'echo', 'hi'"']"] ["/bin/sh","-c","[\"unterminated"]' ]
	# A JSON array of something else than strings is still refused.
	printf 'FROM base:1\nCMD ["a", 1]\n' >"$C/Dockerfile"
	expect_plain_error 1 "$HUTCH" build -q "$C"
	[[ $stderr == "hutch: Dockerfile:2: CMD: every element of a JSON array must be a string"* ]]
}

@test "ARG and ENV values that double at each line: refused at the line that passes 1 MiB, at once" {
	local i
	{
		printf 'FROM base:1\nARG A=0123456789abcdef\n'
		for i in $(seq 40); do printf 'ENV A=$A$A\n'; done
		printf 'RUN true\n'
	} >"$C/Dockerfile"
	# 16 bytes doubled 16 times is 1 MiB; the 17th doubling (line 19) is
	# refused. Before any limit, the values reached gigabytes: a memory
	# cap turns that into a failure of its own, not this line (none
	# under AddressSanitizer, whose shadow memory needs terabytes of
	# address space).
	(
		[ -n "${HUTCH_TEST_SANITIZED:-}" ] || ulimit -v 1048576
		expect_plain_error 1 "$HUTCH" build -q "$C"
		echo "$stderr"
		[ "$stderr" = 'hutch: Dockerfile:19: ENV substitution makes a value longer than 1 MiB (hutch'"'"'s limit for one value) in "$A$A"' ]
	)
}
