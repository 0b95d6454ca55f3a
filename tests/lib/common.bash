# tests/lib/common.bash - shared helpers for the bats suites.
# Load with `load ../lib/common` from tests/SUITE/*.bats.
#
# The runner exports HUTCH (the binary under test), HUTCH_BUILD (its build
# directory), HUTCH_TESTS (this folder), HUTCH_TEST_MODE (full|single) and,
# in a storage-driver pass, HUTCH_TEST_DRIVER (kernel|fuse).

bats_require_minimum_version 1.5.0

: "${HUTCH:?run the suites through tests/run}"
: "${HUTCH_BUILD:=$(dirname "$HUTCH")}"
: "${HUTCH_TESTS:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

source "$HUTCH_TESTS/lib/ports.bash"

# A storage-driver pass (tests/run): containers on a --rootfs directory get
# a copy-on-write root from that driver, as image containers do.
if [ -n "${HUTCH_TEST_DRIVER:-}" ]; then
	export HUTCH_STORAGE_DRIVER=$HUTCH_TEST_DRIVER
	export HUTCH_REAL=${HUTCH_REAL:-$HUTCH}
	HUTCH=$HUTCH_TESTS/lib/hutch-overlaid
fi

# Each test gets its own store and runtime directory.
hutch_test_env() {
	export HUTCH_ROOT="$BATS_TEST_TMPDIR/store"
	export HUTCH_RUNTIME="$BATS_TEST_TMPDIR/runtime"
}

# skopeo: credentials only from the test, never a stray auth file of the
# machine (/run/containers/UID/auth.json may exist, made by root, unreadable).
skopeo() {
	REGISTRY_AUTH_FILE="${REGISTRY_AUTH_FILE:-$BATS_FILE_TMPDIR/skopeo-auth.json}" \
		command skopeo "$@"
}

# wait_for SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.02
	done
}

# make_rootfs DIR: a tiny root filesystem from busybox-static, with users
# root, alice (1000) and nobody, and the static sysprobe helper.
make_rootfs() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,root,home/alice,usr/bin,usr/sbin,usr/local/bin,var,data}
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $("$dir/bin/busybox" --list); do
		[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
	done
	cat >"$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
	cat >"$dir/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
staff:x:50:alice
alice:x:1000:
nogroup:x:65534:
GROUP
	chmod 1777 "$dir/tmp"
	cp "$HUTCH_BUILD/tests/sysprobe" "$dir/usr/local/bin/sysprobe"
	cp "$HUTCH_BUILD/tests/shmprobe" "$dir/usr/local/bin/shmprobe"
	# hget HOST PORT [PATH]: an HTTP GET with nc (busybox-static's wget
	# crashes in its resolver without the image's NSS libraries).
	cat >"$dir/usr/local/bin/hget" <<'HGET'
#!/bin/sh
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "${3:-/}" "$1" | nc -w 5 "$1" "$2" | sed '1,/^\r*$/d'
HGET
	chmod 0755 "$dir/usr/local/bin/hget"
}

# A rootfs shared by the tests of one file (built in setup_file).
shared_rootfs() {
	echo "$BATS_FILE_TMPDIR/rootfs"
}

# remove_store DIR: a store's layers may hold files of subordinate ids,
# which only root of hutch's user namespace can delete.
remove_store() {
	[ -d "$1" ] && "$HUTCH" unshare rm -rf "$1" 2>/dev/null
	rm -rf "$1" 2>/dev/null || true
}

# subids_available: does this user have /etc/subuid ranges (full mapping)?
subids_available() {
	grep -qE "^($(id -un)|$(id -u)):" /etc/subuid 2>/dev/null
}

# strerror_in TEXT: the C library's text for an errno that TEXT carries
# (": Invalid argument" and the like), empty when it carries none. Bad input
# is told in words of its own, never with an errno's text.
strerror_in() {
	python3 - "$1" <<'PY'
import os, sys
for e in range(1, 134):
    t = os.strerror(e)
    if not t.startswith("Unknown error") and t in sys.argv[1]:
        print(t)
        break
PY
}

# expect_plain_error STATUS CMD...: CMD exits STATUS, prints nothing on
# stdout and exactly one line on stderr, without errno text; the line is
# left in $stderr for the caller's own checks.
expect_plain_error() {
	local want=$1
	shift
	run --separate-stderr "$@"
	echo "status=$status stdout=$output stderr=$stderr"
	[ "$status" -eq "$want" ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ -z "$(strerror_in "$stderr")" ]
}
