# tests/fuse/lib.bash - helpers of the fuse suite (load after ../lib/common)
#
# Everything runs as the unprivileged test user. userns_exec enters a new
# user and mount namespace as its root, with the subordinate id range
# mapped when the user has one (the "full" mode) and only itself otherwise
# ("single"), which is where hutch runs the overlay. Mounts made there
# vanish with the namespace, so a failed test leaves nothing behind.

OVL=${HUTCH_OVERLAY:-$HUTCH_BUILD/hutch-overlay}
FUSE_TESTS=$HUTCH_TESTS/fuse
PY=/usr/bin/python3

# in_new_userns PID: has PID left our user namespace?
in_new_userns() {
	local theirs
	theirs=$(readlink "/proc/$1/ns/user" 2>/dev/null) || return 1
	[ "$theirs" != "$(readlink /proc/self/ns/user)" ]
}

# userns_exec CMD...: run CMD as root of a new user+mount namespace.
userns_exec() {
	local me uid gid sub subg fifo pid rc
	uid=$(id -u) gid=$(id -g) me=$(id -un)
	if ! subids_available || ! command -v newuidmap >/dev/null; then
		unshare -Urm --propagation private -- "$@"
		return
	fi
	sub=$(awk -F: -v u="$me" -v i="$uid" '$1==u||$1==i {print $2" "$3; exit}' /etc/subuid)
	subg=$(awk -F: -v u="$me" -v i="$uid" '$1==u||$1==i {print $2" "$3; exit}' /etc/subgid)
	fifo=$(mktemp -u "${BATS_TEST_TMPDIR:-/tmp}/userns.XXXXXX")
	mkfifo "$fifo"
	# The child waits until its maps are written, then runs CMD.
	unshare -U -m --propagation private -- \
		bash -c 'read -r _ <"$0"; exec "$@"' "$fifo" "$@" &
	pid=$!
	# Map only once the child is in its new namespace.
	wait_for 10 in_new_userns "$pid" || { kill "$pid"; return 1; }
	newuidmap "$pid" 0 "$uid" 1 1 ${sub% *} ${sub#* } &&
		newgidmap "$pid" 0 "$gid" 1 1 ${subg% *} ${subg#* } ||
		{ kill "$pid"; rm -f "$fifo"; return 1; }
	echo go >"$fifo"
	wait "$pid"
	rc=$?
	rm -f "$fifo"
	return $rc
}

# mode_now: full or single, as userns_exec maps ids.
mode_now() {
	if subids_available && command -v newuidmap >/dev/null; then
		echo full
	else
		echo single
	fi
}

# kernel_overlay_works: can this kernel mount overlayfs in a user ns?
kernel_overlay_works() {
	local t
	t=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/kprobe.XXXXXX")
	mkdir -p "$t"/{l,u,w,m}
	unshare -Urm sh -c "mount -t overlay overlay -o lowerdir=$t/l,upperdir=$t/u,workdir=$t/w,userxattr $t/m" 2>/dev/null
	local rc=$?
	rm -rf "$t"
	return $rc
}

# with_overlay OPTS SNIPPET: in a new user namespace, mount hutch-overlay
# with -o OPTS on $d/m, run the bash SNIPPET (with $M the mountpoint and $d
# the test directory), unmount, and check the daemon's clean exit.
with_overlay() {
	run userns_exec env OVL="$OVL" d="$d" "$FUSE_TESTS/with-overlay.sh" \
		"$d" "$1" bash -euc "$2"
	echo "$output"
	[ "$status" -eq 0 ]
}

# std_opts: the layers of setup's layout.
std_opts() {
	echo "lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w"
}

# ns_cleanup: remove the test's files; some belong to subordinate ids or
# have no permissions (the kernel's work/work), which only root of the
# namespace may remove.
ns_cleanup() {
	userns_exec rm -rf "$BATS_TEST_TMPDIR"/* >/dev/null 2>&1 || true
}
