#!/usr/bin/env bats
# storage.bats - storage drivers: an image's root through kernel overlayfs
# and through hutch-overlay (FUSE), the same behaviour from both; the
# daemon's namespaces and lifetime; auto's probe; --overlay and --upper

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	"$HUTCH" import --config-json '{"Cmd":["sh"]}' "$R" st:1 >/dev/null
}

teardown() {
	"$HUTCH" rm -f $("$HUTCH" ps -aq) >/dev/null 2>&1 || true
	remove_store "$HUTCH_ROOT"
}

# daemons_of ID: hutch-overlay processes serving container ID.
daemons_of() {
	pgrep -u "$(id -u)" -f "hutch-overlay .*containers/$1/" || true
}

# has_daemon ID, no_daemon ID: conditions for wait_for, which runs its
# command again each time (a "$(daemons_of ...)" argument would be
# expanded once, before the wait).
has_daemon() {
	[ -n "$(daemons_of "$1")" ]
}
no_daemon() {
	[ -z "$(daemons_of "$1")" ]
}

# The same script, in an image container, on each driver: its output,
# exit status and the upper dir's markers must agree.
SCRIPT='
set -u
echo data >/new; cat /new
echo more >>/etc/passwd; tail -1 /etc/passwd
rm /etc/group; ls /etc/group 2>&1 | sed "s/.*: //"
rm -r /home; mkdir /home; ls -A /home | wc -l
mkdir -p /d/e && echo x >/d/e/f && mv /d /moved && cat /moved/e/f
ln -s /new /link && readlink /link && ln /new /hard && stat -c %h /new
mkfifo /fifo && stat -c %F /fifo
chmod 4711 /new && stat -c %a /new
touch -d @1000000000 /new && stat -c %Y /new
chown 1000:1000 /new 2>/dev/null; stat -c %u:%g /new
dd if=/dev/zero of=/sparse bs=1 count=1 seek=100M 2>/dev/null; du -k /sparse | cut -f1
df -P / | tail -1 | awk "{print (\$2 > 0)}"
'

@test "kernel and fuse give an image container the same root: data, whiteouts, renames, links, modes, owners" {
	for d in kernel fuse; do
		run "$HUTCH" run --rm --storage-driver "$d" st:1 sh -c "$SCRIPT"
		echo "$d: $status $output"
		[ "$status" -eq 0 ]
		printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/$d.out"
	done
	diff "$BATS_TEST_TMPDIR/kernel.out" "$BATS_TEST_TMPDIR/fuse.out"
	grep -qx data "$BATS_TEST_TMPDIR/fuse.out"
	grep -qx 'No such file or directory' "$BATS_TEST_TMPDIR/fuse.out"
	# The image's layer is untouched.
	run "$HUTCH" run --rm --storage-driver fuse st:1 sh -c 'ls /new /etc/group 2>&1; ls -A /home'
	[[ $output == *"/new: No such file"* ]]
	[[ $output == *"alice"* ]]
}

@test "fuse: the daemon shares the container's user and mount namespaces, not its pid namespace" {
	id=$("$HUTCH" run -d --storage-driver fuse st:1 sleep 1000)
	pid=$("$HUTCH" inspect -f '{{.State.Pid}}' "$id")
	wait_for 10 has_daemon "$id"
	daemon=$(daemons_of "$id")
	[ "$(readlink /proc/$daemon/ns/user)" = "$(readlink /proc/$pid/ns/user)" ]
	[ "$(readlink /proc/$daemon/ns/pid)" != "$(readlink /proc/$pid/ns/pid)" ]
	[ "$(readlink /proc/$daemon/ns/pid)" = "$(readlink /proc/self/ns/pid)" ]
	# It is not in the container's process list, and cannot be signalled.
	run "$HUTCH" exec "$id" sh -c 'ps -o comm | grep -c hutch-overlay'
	[ "$output" = 0 ]
	[ "$("$HUTCH" inspect -f '{{.GraphDriver.Name}}' "$id")" = fuse-overlay ]
}

@test "exec, stop and start on the kept upper, on both drivers; nothing is left after rm" {
	for d in kernel fuse; do
		id=$("$HUTCH" run -d --storage-driver "$d" st:1 sleep 1000)
		run "$HUTCH" exec "$id" sh -c 'echo kept-'"$d"' >/state; cat /state'
		[ "$output" = "kept-$d" ]
		"$HUTCH" stop -t 1 "$id" >/dev/null
		wait_for 10 no_daemon "$id"
		"$HUTCH" start "$id" >/dev/null
		run "$HUTCH" exec "$id" cat /state
		[ "$output" = "kept-$d" ]
		"$HUTCH" rm -f "$id" >/dev/null
		wait_for 10 no_daemon "$id"
		[ ! -e "$HUTCH_ROOT/containers/$id" ]
	done
	! grep -q "$HUTCH_ROOT" /proc/self/mountinfo || false
}

@test "fuse: under --userns=keep-id the daemon mounts, and new files are the user's" {
	run "$HUTCH" run --rm --storage-driver fuse --userns=keep-id st:1 \
		sh -c 'id -u; echo x >/tmp/new; stat -c %u /tmp/new; cat /tmp/new'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(id -u)" ]
	[ "${lines[1]}" = "$(id -u)" ]
	[ "${lines[2]}" = x ]
}

@test "fuse: kill -9 of the monitor, then of everything: no daemon and no mount left" {
	id=$("$HUTCH" run -d --storage-driver fuse st:1 sleep 4646)
	wait_for 10 has_daemon "$id"
	monitor=$(pgrep -o -u "$(id -u)" -f "container-monitor $id")
	kill -KILL "$monitor"
	wait_for 10 bash -c '! pgrep -u "$(id -u)" -f "sleep 464[6]" >/dev/null'
	wait_for 10 no_daemon "$id"
	run "$HUTCH" ps -a --format '{{.Status}}'
	[[ $output == "Exited (137)"* ]]
	run "$HUTCH" rm "$id"
	[ "$status" -eq 0 ]
	# The daemon itself killed: the container loses its root, not the host.
	id=$("$HUTCH" run -d --storage-driver fuse st:1 sleep 4747)
	wait_for 10 has_daemon "$id"
	kill -KILL "$(daemons_of "$id")"
	run "$HUTCH" exec "$id" cat /etc/passwd
	[ "$status" -ne 0 ]
	"$HUTCH" rm -f "$id" >/dev/null
	wait_for 10 bash -c '! pgrep -u "$(id -u)" -f "sleep 474[7]" >/dev/null'
	! grep -q "$HUTCH_ROOT" /proc/self/mountinfo || false
}

@test "fuse: a container renames a directory of the image in place (same inode, kept across starts); a build step still copies it, so its layer holds the tree" {
	local d=$BATS_TEST_TMPDIR/dr
	mkdir -p "$d" "$BATS_TEST_TMPDIR/ctx"
	cp -a "$R"/. "$d"/
	mkdir -p "$d/data/sub"
	echo x >"$d/data/sub/f"
	"$HUTCH" import --config-json '{"Cmd":["sh"]}' "$d" dr:1 >/dev/null
	# rename(2) itself: mv would copy on EXDEV, with a new inode.
	run "$HUTCH" run --rm --storage-driver fuse dr:1 sh -c 'a=$(stat -c %i /data); mv /data /moved && [ "$(stat -c %i /moved)" = "$a" ] && cat /moved/sub/f && ! ls -d /data 2>/dev/null'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = x ]
	# The record keeps the option: a second start finds the moved tree.
	"$HUTCH" create --name drc --storage-driver fuse dr:1 sh -c 'if [ -d /data ]; then mv /data /moved; fi; cat /moved/sub/f; ls -d /data 2>/dev/null; true' >/dev/null
	run "$HUTCH" start -a drc
	[ "$output" = x ]
	run "$HUTCH" start -a drc
	[ "$output" = x ]
	# A build step's upper becomes a layer as it is: no redirect there.
	printf 'FROM dr:1\nRUN mv /data /moved\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	HUTCH_STORAGE_DRIVER=fuse "$HUTCH" build -q -t dr:2 "$BATS_TEST_TMPDIR/ctx" >/dev/null
	run "$HUTCH" run --rm dr:2 cat /moved/sub/f
	[ "$output" = x ]
}

@test "auto: probed once per filesystem and kernel, then cached; inspect names the choice" {
	unset HUTCH_STORAGE_DRIVER # a driver pass of tests/run sets one
	run "$HUTCH" run --rm st:1 true
	[ "$status" -eq 0 ]
	cache=$(ls "$HUTCH_RUNTIME"/overlay-probe-*)
	[ "$(sed -n 1p "$cache")" = "$(uname -r)" ]
	verdict=$(sed -n 2p "$cache")
	[[ $verdict == kernel || $verdict == fuse ]]
	id=$("$HUTCH" run -d st:1 sleep 1000)
	want=overlay
	[ "$verdict" = kernel ] || want=fuse-overlay
	[ "$("$HUTCH" inspect -f '{{.GraphDriver.Name}}' "$id")" = "$want" ]
	# A cached "fuse" is believed: no probe runs again.
	printf '%s\nfuse\n' "$(uname -r)" >"$cache"
	id=$("$HUTCH" run -d st:1 sleep 1000)
	[ "$("$HUTCH" inspect -f '{{.GraphDriver.Name}}' "$id")" = fuse-overlay ]
}

@test "bad drivers and a missing hutch-overlay: one-line errors, exit 125, nothing kept" {
	run -125 "$HUTCH" run --rm --storage-driver zfs st:1 true
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *'unknown storage driver "zfs"'* ]]
	HUTCH_STORAGE_DRIVER=btrfs run -125 "$HUTCH" run --rm st:1 true
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *HUTCH_STORAGE_DRIVER=btrfs* ]]
	HUTCH_OVERLAY=/nonexistent/hutch-overlay run -125 "$HUTCH" run --rm --storage-driver fuse st:1 true
	[[ $output == *"cannot mount the image's layers"* ]]
	[[ $output == *"/nonexistent/hutch-overlay"* ]]
	run "$HUTCH" ps -aq
	[ "$output" = "" ]
	! grep -q "$HUTCH_ROOT" /proc/self/mountinfo || false
}

@test "--rootfs --overlay leaves the directory untouched; --upper keeps the changes" {
	for d in kernel fuse; do
		run "$HUTCH" run --rm --rootfs "$R" --overlay --storage-driver "$d" sh -c 'echo x >/scratch; rm /etc/group; cat /scratch'
		[ "$output" = x ]
		[ ! -e "$R/scratch" ]
		[ -e "$R/etc/group" ]
		U=$BATS_TEST_TMPDIR/upper-$d
		"$HUTCH" run --rm --rootfs "$R" --upper "$U" --storage-driver "$d" sh -c 'echo kept >/kept'
		[ -f "$U/upper/kept" ]
		[ ! -e "$R/kept" ]
		run "$HUTCH" run --rm --rootfs "$R" --upper "$U" --storage-driver "$d" cat /kept
		[ "$output" = kept ]
	done
}
