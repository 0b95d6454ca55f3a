#!/usr/bin/env bats
# nvidia.bats - --gpus without a GPU: the Apptainer-style autodetection
# against a fake driver tree through the documented seam HUTCH_GPU_ROOT
# (sandbox/gpu.c): symbolic links to harmless nodes as /dev/nvidia*, stub
# libraries with the driver's sonames in an ldconfig cache made without
# root; the nvidia.com/gpu CDI devices when a spec exists; the one-line
# error of a host without a driver

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
	if command -v cc >/dev/null; then fake_driver "$BATS_FILE_TMPDIR/gpuroot"; fi
}

# fake_driver DIR: a driver tree, made once per file (its ldconfig cache
# names the libraries there); each test gets a copy it may change. Two
# GPUs, control nodes, MIG caps, three driver libraries and one that is
# not the driver's, nvidia-smi.
fake_driver() {
	local G=$1
	mkdir -p "$G/proc/driver/nvidia" "$G/dev/nvidia-caps" "$G/usr/bin" \
		"$G/lib64" "$G/etc" "$G/sys/module/nvidia_uvm"
	echo "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023" \
		>"$G/proc/driver/nvidia/version"
	ln -s /dev/null "$G/dev/nvidia0"
	ln -s /dev/zero "$G/dev/nvidia1"
	for n in nvidiactl nvidia-uvm nvidia-caps/nvidia-cap1; do
		ln -s /dev/null "$G/dev/$n"
	done
	for lib in libcuda libnvidia-ml libnvidia-ptxjitcompiler libnotdriver; do
		echo "const char *hutch_stub = \"host $lib 535\";" >"$BATS_FILE_TMPDIR/stub.c"
		cc -shared -fPIC -Wl,-soname,$lib.so.1 -o "$G/lib64/$lib.so.535.104.05" \
			"$BATS_FILE_TMPDIR/stub.c"
		ln -s "$lib.so.535.104.05" "$G/lib64/$lib.so.1"
	done
	echo "$G/lib64" >"$G/etc/ld.so.conf"
	/sbin/ldconfig -X -C "$G/etc/ld.so.cache" -f "$G/etc/ld.so.conf" 2>/dev/null
	printf '#!/bin/sh\necho fake nvidia-smi\n' >"$G/usr/bin/nvidia-smi"
	chmod +x "$G/usr/bin/nvidia-smi"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	command -v cc >/dev/null || skip "no C compiler for the stub libraries"
	G=$BATS_TEST_TMPDIR/gpuroot
	cp -a "$BATS_FILE_TMPDIR/gpuroot" "$G"
	export HUTCH_GPU_ROOT=$G
	export HUTCH_CDI_SPEC_DIRS=$BATS_TEST_TMPDIR/no-cdi
	unset CUDA_VISIBLE_DEVICES
}

@test "--gpus all binds the nodes, the driver's libraries and nothing else" {
	mkdir -p "$BATS_TEST_TMPDIR/compat"
	echo "image's own libcuda" >"$BATS_TEST_TMPDIR/compat/libcuda.so.1"
	run "$HUTCH" run --rootfs "$R" --gpus all \
		-e LD_LIBRARY_PATH=/usr/local/cuda/compat \
		-v "$BATS_TEST_TMPDIR/compat:/usr/local/cuda/compat:ro" -- sh -c '
		for n in nvidia0 nvidia1 nvidiactl nvidia-uvm nvidia-caps/nvidia-cap1; do
			[ -c /dev/$n ] || echo "missing $n"
		done
		ls /dev | grep "^nvidia" | tr "\n" " "; echo
		ls /.hutch/gpu/lib | tr "\n" " "; echo
		echo "$LD_LIBRARY_PATH"
		grep -c "host libcuda 535" /.hutch/gpu/lib/libcuda.so.1
		touch /.hutch/gpu/lib/libcuda.so.1 2>/dev/null && echo writable
		nvidia-smi'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "nvidia-caps nvidia-uvm nvidia0 nvidia1 nvidiactl " ]
	[ "${lines[1]}" = "libcuda.so.1 libnvidia-ml.so.1 libnvidia-ptxjitcompiler.so.1 " ]
	[ "${lines[2]}" = "/.hutch/gpu/lib:/usr/local/cuda/compat" ]
	[ "${lines[3]}" = "1" ]
	[ "${lines[4]}" = "fake nvidia-smi" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "--gpus N and device=I choose GPUs by number; a missing one is an error" {
	run "$HUTCH" run --rootfs "$R" --gpus 1 -- sh -c 'ls /dev | grep "^nvidia[0-9]"'
	[ "$status" -eq 0 ]
	[ "$output" = nvidia0 ]
	run "$HUTCH" run --rootfs "$R" --gpus '"device=1"' -- sh -c 'ls /dev | grep "^nvidia[0-9]"'
	[ "$status" -eq 0 ]
	[ "$output" = nvidia1 ]
	run "$HUTCH" run --rootfs "$R" --gpus device=0,7 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--gpus device=0,7: GPU 7 is not on this host or not yours"* ]]
	run "$HUTCH" run --rootfs "$R" --gpus 3 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"only 2 GPU(s) here that you may open"* ]]
}

@test "a GPU the caller may not open (a Slurm job's cgroup) is left out; CUDA_VISIBLE_DEVICES passes" {
	node=
	for n in /dev/kmsg /dev/console /dev/mem; do
		if [ -c "$n" ] && ! [ -w "$n" ]; then node=$n; break; fi
	done
	[ -n "$node" ] || skip "no root-only device node on this host"
	ln -s "$node" "$G/dev/nvidia2"
	# in a job: open(2) asks the job's device cgroup; the job's binding
	# comes in with the job's variables
	SLURM_JOB_ID=4242 CUDA_VISIBLE_DEVICES=1 run "$HUTCH" run --rootfs "$R" --gpus all -- \
		sh -c 'ls /dev | grep "^nvidia[0-9]" | tr "\n" " "; echo "$CUDA_VISIBLE_DEVICES $SLURM_JOB_ID"'
	[ "$status" -eq 0 ]
	[ "$output" = "nvidia0 nvidia1 1 4242" ]
	# outside a job: access(2), and CUDA_VISIBLE_DEVICES alone passes
	CUDA_VISIBLE_DEVICES=0 run "$HUTCH" run --rootfs "$R" --gpus all -- \
		sh -c 'ls /dev | grep "^nvidia[0-9]" | tr "\n" " "; echo "$CUDA_VISIBLE_DEVICES"'
	[ "$status" -eq 0 ]
	[ "$output" = "nvidia0 nvidia1 0" ]
}

@test "--gpus without a driver: one line naming what is missing, rc 125" {
	export HUTCH_GPU_ROOT=$BATS_TEST_TMPDIR/empty
	mkdir -p "$HUTCH_GPU_ROOT"
	run "$HUTCH" run --rootfs "$R" --gpus all -- true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--gpus all: no NVIDIA driver on this host: $HUTCH_GPU_ROOT/proc/driver/nvidia/version is missing"* ]]
	[[ "$output" == *"no CDI spec for nvidia.com/gpu"* ]]
}

@test "nvidia_uvm not loaded is said; a nvidia.com/gpu CDI spec is used instead of the driver" {
	rm "$G/dev/nvidia-uvm"
	rmdir "$G/sys/module/nvidia_uvm"
	run "$HUTCH" run --rootfs "$R" --gpus all -- true
	[ "$status" -eq 0 ]
	[[ "$output" == *"nvidia_uvm is not loaded"*"CUDA_ERROR_UNKNOWN"* ]]

	mkdir -p "$BATS_TEST_TMPDIR/cdi"
	cat >"$BATS_TEST_TMPDIR/cdi/nvidia.yaml" <<-'EOF'
	cdiVersion: "0.5.0"
	kind: nvidia.com/gpu
	containerEdits:
	  deviceNodes: [{path: /dev/nvidiactl, hostPath: /dev/null}]
	devices:
	  - {name: "0", containerEdits: {env: [FROM_CDI=0], deviceNodes: [{path: /dev/nvidia0, hostPath: /dev/null}]}}
	  - {name: "1", containerEdits: {env: [FROM_CDI=1], deviceNodes: [{path: /dev/nvidia1, hostPath: /dev/zero}]}}
	EOF
	HUTCH_CDI_SPEC_DIRS=$BATS_TEST_TMPDIR/cdi run "$HUTCH" run --rootfs "$R" --gpus '"device=1"' -- \
		sh -c 'echo $FROM_CDI; ls /dev | grep "^nvidia" | tr "\n" " "; echo; echo "libs:$(ls /.hutch/gpu/lib 2>/dev/null) $LD_LIBRARY_PATH"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1" ]
	[ "${lines[1]}" = "nvidia1 nvidiactl " ]
	[ "${lines[2]}" = "libs: " ]
}

@test "a broken ldconfig cache: the usual directories are scanned, and it is said" {
	rm "$G/etc/ld.so.cache"
	run "$HUTCH" run --rootfs "$R" --gpus all -- sh -c 'ls /.hutch/gpu/lib | tr "\n" " "'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"ldconfig cache could not be read"* ]]
	[ "${lines[1]}" = "libcuda.so.1 libnvidia-ml.so.1 libnvidia-ptxjitcompiler.so.1 " ]
}

@test "hutch info's GPU section: driver, devices, uvm, CDI specs, what --gpus binds" {
	run "$HUTCH" info
	[[ "$output" == *$'gpu driver: 535.104.05\ngpu devices: '"$G/dev/nvidia0 $G/dev/nvidia1"$'\ngpu nvidia_uvm: loaded\n'* ]]
	[[ "$output" == *"gpu --gpus all binds: the driver's nodes, libraries and programs below"* ]]
	[ "${lines[-1]}" = "rootless containers: yes" ]
	libs=$(echo "$output" | sed -n 's/^gpu libraries: //p' | tr ' ' '\n' | sort | tr '\n' ' ')
	[ "$libs" = "libcuda.so.1 libnvidia-ml.so.1 libnvidia-ptxjitcompiler.so.1 " ]
	run "$HUTCH" info --format json
	[ "$(echo "$output" | jq -r '.gpu.driver, (.gpu.devices | length), (.gpu.binds | map(select(test("nvidia-smi"))) | length)')" = $'535.104.05\n2\n1' ]
	export HUTCH_GPU_ROOT=$BATS_TEST_TMPDIR/none
	run "$HUTCH" info
	[[ "$output" == *$'gpu driver: no NVIDIA driver on this host: '"$HUTCH_GPU_ROOT"'/proc/driver/nvidia/version is missing'*$'\ngpu cdi directories: '"$HUTCH_CDI_SPEC_DIRS"$'\ngpu cdi specs: none\n'* ]]
	[[ "$output" == *"--gpus all binds: nothing: it fails"* ]]
}

@test "exec in a --gpus container gets the driver's library directory first too" {
	run "$HUTCH" run -d --name gpux --rootfs "$R" --gpus all -e LD_LIBRARY_PATH=/opt/lib -- sleep 300
	[ "$status" -eq 0 ]
	run "$HUTCH" exec gpux sh -c 'echo "$LD_LIBRARY_PATH"; ls /.hutch/gpu/lib | wc -l'
	"$HUTCH" rm -f gpux >/dev/null
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/.hutch/gpu/lib:/opt/lib" ]
	[ "$(echo ${lines[1]})" = 3 ]
}
