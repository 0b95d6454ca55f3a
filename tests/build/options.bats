#!/usr/bin/env bats
# options.bats - HEALTHCHECK in Docker's form (issue 16)

load ../lib/common

setup_file() {
	make_rootfs "$BATS_FILE_TMPDIR/rootfs"
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	"$HUTCH" import "$BATS_FILE_TMPDIR/rootfs" base:1 >/dev/null
}

teardown_file() {
	remove_store "$BATS_FILE_TMPDIR/store"
}

setup() {
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	C=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$C"
}

# saved_config IMAGE: the image config inside `hutch save`'s archive, as
# other tools read it.
saved_config() {
	local d=$BATS_TEST_TMPDIR/saved
	rm -rf "$d" && mkdir -p "$d"
	"$HUTCH" save -o "$d/img.tar" "$1" && tar -C "$d" -xf "$d/img.tar" &&
		cat "$d/$(jq -r '.[0].Config' "$d/manifest.json")"
}

@test "HEALTHCHECK is kept in Docker's form (CMD-SHELL, CMD, NONE); 0s means the default" {
	printf 'FROM base:1\nHEALTHCHECK --interval=0s --timeout=3s CMD test -e /tmp/ok || exit 1\n' >"$C/Dockerfile"
	run "$HUTCH" build -q -t hc:shell "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" inspect -f '{{json .Config.Healthcheck}}' hc:shell
	[ "$(jq -c . <<<"$output")" = '{"Test":["CMD-SHELL","test -e /tmp/ok || exit 1"],"Timeout":3000000000}' ]
	# What `hutch save` hands to other tools says the same.
	run saved_config hc:shell
	[ "$(jq -c '.config.Healthcheck.Test' <<<"$output")" = '["CMD-SHELL","test -e /tmp/ok || exit 1"]' ]
	printf 'FROM hc:shell\nHEALTHCHECK --start-period=2s --retries=4 CMD ["/bin/check", "-q"]\n' >"$C/Dockerfile"
	"$HUTCH" build -q -t hc:exec "$C" >/dev/null
	run "$HUTCH" inspect -f '{{json .Config.Healthcheck}}' hc:exec
	[ "$(jq -c . <<<"$output")" = '{"Test":["CMD","/bin/check","-q"],"StartPeriod":2000000000,"Retries":4}' ]
	printf 'FROM hc:exec\nHEALTHCHECK NONE\n' >"$C/Dockerfile"
	"$HUTCH" build -q -t hc:none "$C" >/dev/null
	run "$HUTCH" inspect -f '{{json .Config.Healthcheck}}' hc:none
	[ "$(jq -c . <<<"$output")" = '{"Test":["NONE"]}' ]
	# Below 1ms (and not 0) is refused, as BuildKit does.
	printf 'FROM base:1\nHEALTHCHECK --interval=10us CMD true\n' >"$C/Dockerfile"
	run "$HUTCH" build -q "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"HEALTHCHECK --interval=10us is shorter than 1ms"* ]]
}

@test "build --progress, --pull, and -o's answer" {
	printf 'FROM base:1\nRUN echo built\n' >"$C/Dockerfile"
	run "$HUTCH" build --progress plain -t prog:1 "$C"
	[ "$status" -eq 0 ]
	[[ $output == *"built"* ]]
	run --separate-stderr "$HUTCH" build --progress quiet "$C"
	[ "$status" -eq 0 ]
	[[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
	expect_plain_error 125 "$HUTCH" build --progress fancy "$C"
	[[ $stderr == *'invalid --progress "fancy": use auto, plain, tty or quiet'* ]]
	# --pull pulls FROM even when the store has it: here there is no
	# registry to reach, so the build fails saying so (as docker build).
	run "$HUTCH" build --pull -q "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"FROM base:1: cannot reach registry"* ]]
	expect_plain_error 125 "$HUTCH" build -o out "$C"
	[[ $stderr == "hutch: build: -o is not supported by hutch: "*"; use hutch save -o FILE NAME"* ]]
}
