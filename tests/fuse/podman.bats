#!/usr/bin/env bats
# podman.bats - rootless Podman with hutch-overlay as its mount_program
#
# Podman's storage.conf names the program that mounts container root
# filesystems ("mount_program", usually fuse-overlayfs); here it is ours.
# The image is imported from a busybox tarball (no registry needed).

load ../lib/common
load lib

setup_file() {
	command -v podman >/dev/null ||
		skip "podman is not installed (apt-get install podman)"
	export T=$BATS_FILE_TMPDIR
	mkdir -p "$T"/{run,cfg,rootfs/bin,rootfs/tmp,rootfs/etc}
	cat >"$T/cfg/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$T/graph"
runroot = "$T/run/storage"
[storage.options.overlay]
mount_program = "$OVL"
CONF
	cat >"$T/cfg/containers.conf" <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
	cp /bin/busybox "$T/rootfs/bin/"
	for a in sh cat echo grep ls rm mkdir true; do ln -s busybox "$T/rootfs/bin/$a"; done
	echo "root:x:0:0:root:/:/bin/sh" >"$T/rootfs/etc/passwd"
	# Owned by root: the single mapping has no other id to give files.
	tar -C "$T/rootfs" --owner=0 --group=0 --numeric-owner -cf "$T/img.tar" .
	pod import "$T/img.tar" localhost/hutch-bb:test >/dev/null ||
		skip "podman cannot import an image here: $(pod import "$T/img.tar" 2>&1 | tail -1)"
	# crun refuses hybrid cgroup hierarchies; runc copes.
	for rt in crun runc; do
		if pod --runtime "$rt" run --rm --network none localhost/hutch-bb:test true 2>"$T/err"; then
			echo "$rt" >"$T/runtime"
			return
		fi
	done
	skip "podman cannot run containers here: $(tail -1 "$T/err")"
}

teardown_file() {
	if [ -n "${T:-}" ]; then
		pod system reset -f >/dev/null 2>&1 || true
	fi
}

pod() {
	XDG_RUNTIME_DIR=$T/run HOME=$T CONTAINERS_STORAGE_CONF=$T/cfg/storage.conf \
		CONTAINERS_CONF=$T/cfg/containers.conf podman "$@"
}

prun() {
	pod --runtime "$(cat "$T/runtime")" run --network none "$@"
}

@test "podman: a rootless container runs on hutch-overlay" {
	run prun --rm localhost/hutch-bb:test sh -c \
		'echo hello >/tmp/f && cat /tmp/f && grep " / / " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hello ]
	[[ ${lines[1]} == *" - fuse.hutch-overlay "* ]]
}

@test "podman: diff and commit read our whiteouts and new files" {
	run prun --name c1 localhost/hutch-bb:test sh -c \
		'echo x >/newf && rm /bin/ls && mkdir /d && echo y >/d/f'
	[ "$status" -eq 0 ]
	run pod diff c1
	echo "$output"
	echo "pod diff exited $status"
	# Once, in CI's sanitizer run at 78b2dd8, the diff listed the image's
	# files as added and none of the container's: show where podman's
	# layers put the container's changes should that happen again.
	[[ $output == *"A /newf"* ]] ||
		find "$T/graph" -path '*/diff/newf' -o -path '*/diff/bin/ls' | sed 's/^/diag: /'
	[[ $output == *"A /newf"* ]]
	[[ $output == *"D /bin/ls"* ]]
	[[ $output == *"A /d/f"* ]]
	pod commit -q c1 localhost/hutch-bb:two >/dev/null
	pod rm c1 >/dev/null
	run prun --rm localhost/hutch-bb:two sh -c 'cat /newf /d/f; ls /bin/ls'
	echo "$output"
	[ "${lines[0]}" = x ]
	[ "${lines[1]}" = y ]
	[ "$status" -ne 0 ]
}

@test "podman: no overlay daemon outlives its container" {
	prun --rm localhost/hutch-bb:test true
	run pgrep -f "hutch-overlay.*$T/graph"
	echo "$output"
	[ "$status" -ne 0 ]
}
