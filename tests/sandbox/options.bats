#!/usr/bin/env bats
# options.bats - the answer to Docker's options that hutch leaves out, and
# to options it does not know (issue 16)

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

teardown() {
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
}

@test "options hutch leaves out say why and what to use; typos get the closest option" {
	expect_plain_error 125 "$HUTCH" run --privileged --rootfs "$R" -- true
	[[ $stderr == "hutch: run: --privileged is not supported by hutch: "*"; use --cap-add"* ]]
	expect_plain_error 125 "$HUTCH" run --device /dev/kvm --rootfs "$R" -- true
	[[ $stderr == *"--device is not supported by hutch: "*"; use -v /dev/NAME:/dev/NAME"* ]]
	expect_plain_error 125 "$HUTCH" build --cache-from x "$BATS_TEST_TMPDIR"
	[[ $stderr == "hutch: build: --cache-from is not supported by hutch: "* ]]
	expect_plain_error 125 "$HUTCH" run --netwrok host --rootfs "$R" -- true
	[ "$stderr" = "hutch: run: unknown option --netwrok; did you mean --network? (see 'hutch run --help')" ]
	expect_plain_error 125 "$HUTCH" ps --al
	[[ $stderr == *"did you mean --all?"* ]]
	expect_plain_error 125 "$HUTCH" run --frobnicate --rootfs "$R" -- true
	[ "$stderr" = "hutch: run: unknown option --frobnicate; see 'hutch run --help'" ]
}
