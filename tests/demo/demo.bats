#!/usr/bin/env bats
# demo.bats - the README's main job: examples/demo.sh, the Flask story end
# to end (build with apt-get, run -d -p -v, ps, curl, logs, stop, rm), as an
# unprivileged user, with its Debian base served by a local registry.
#
# The base is a Debian minbase tarball: tests/run makes it once as root
# (examples/debian-base.sh, cached where `make demo` keeps it,
# /var/cache/hutch-demo) and passes it as HUTCH_TEST_DEBIAN_TAR. Flask
# itself comes from Debian's mirror.

load ../lib/common
load ../lib/registry

setup_file() {
	# Given by tests/run: it must be there. Otherwise `make demo`'s cache.
	if [ -n "${HUTCH_TEST_DEBIAN_TAR:-}" ]; then
		[ -r "$HUTCH_TEST_DEBIAN_TAR" ] || {
			echo "the Debian base $HUTCH_TEST_DEBIAN_TAR is missing: see [prepare] above" >&2
			return 1
		}
	else
		export HUTCH_TEST_DEBIAN_TAR=/var/cache/hutch-demo/debian-bookworm.tar
		[ -r "$HUTCH_TEST_DEBIAN_TAR" ] ||
			skip "no Debian base tarball: run tests/run as root, or set HUTCH_TEST_DEBIAN_TAR (examples/debian-base.sh makes one)"
	fi
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/pusher" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/rt-pusher"
	registry_start "$BATS_FILE_TMPDIR/reg"
	"$HUTCH" import "$HUTCH_TEST_DEBIAN_TAR" "$REG/debian:bookworm-slim" >/dev/null
	"$HUTCH" push -q "$REG/debian:bookworm-slim" >/dev/null
	remove_store "$HUTCH_ROOT"
}

teardown_file() {
	registry_stop
}

setup() {
	hutch_test_env
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
}

teardown() {
	"$HUTCH" rm -f simpleflask >/dev/null 2>&1 || true
	remove_store "$HUTCH_ROOT"
}

@test "examples/demo.sh: build, run -d -p -v, square(7) = 49, logs, stop, rm" {
	run env HUTCH_DEMO_BASE="$REG/debian:bookworm-slim" bash "$HUTCH_TESTS/../examples/demo.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"demo: OK - built without root, served square(7) = 49"* ]]
	# It pulled its base from the registry and built on it.
	[[ $output == *"pull $REG/debian:bookworm-slim"* ]]
	[[ $output == *"Successfully tagged simpleflask"* ]]
	# The data folder got the container's request log, and nothing is left.
	[[ $output == *"Z square(7)"* ]]
	cid=$(grep -oE '^[0-9a-f]{64}$' <<<"$output" | head -n 1)
	[ -n "$cid" ]
	run "$HUTCH" ps -aq
	[ "$output" = "" ]
	! pgrep -u "$(id -u)" -f "$cid" || false
	! grep -q "$HUTCH_ROOT" /proc/self/mountinfo || false
}
