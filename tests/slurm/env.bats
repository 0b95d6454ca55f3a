#!/usr/bin/env bats
# env.bats - the job's context reaches the container: SLURM_*, PMI_*,
# PMIX_* and the GPU binding variables by default, none of them with
# --job-env=false; -e 'NAME*' passes every matching variable, in a job or not

load ../lib/common
load lib

# The variables a job step hands its tasks (mpi/pmi2 sets PMI_*; the GPU
# ones are set by the submitter here, as Slurm sets them with GPUs).
JOB_VARS='^(SLURM_|PMI_|PMIX_|CUDA_VISIBLE_DEVICES=|ROCR_VISIBLE_DEVICES=|GPU_DEVICE_ORDINAL=)'

setup_file() {
	slurm_probe || return 0
	make_rootfs "$(shared_rootfs)"
}

setup() {
	slurm_setup
	export JOB_VARS
}

teardown() {
	slurm_teardown
}

@test "srun -n 2 hutch run: each task's container knows its rank" {
	run step -n 2 "$HUTCH" run --rm --rootfs "$R" -- sh -c 'echo $SLURM_PROCID'
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "0 1 " ] || { echo "printed: $output"; false; }
}

@test "every SLURM_, PMI_ and GPU binding variable of a task reaches its container, unchanged" {
	export CUDA_VISIBLE_DEVICES=0,1 ROCR_VISIBLE_DEVICES=1 GPU_DEVICE_ORDINAL=0
	cat >"$BATS_TEST_TMPDIR/task.sh" <<'EOF'
#!/bin/bash
out=$(dirname "$0")
env | grep -E "$JOB_VARS" | sort >"$out/host.$SLURM_PROCID"
"$HUTCH" run --rm --rootfs "$R" -- sh -c 'env | grep -E "$0" | sort' "$JOB_VARS" >"$out/ctr.$SLURM_PROCID"
EOF
	chmod +x "$BATS_TEST_TMPDIR/task.sh"
	run step --mpi=pmi2 -n 2 "$BATS_TEST_TMPDIR/task.sh"
	[ "$status" -eq 0 ]
	for i in 0 1; do
		host=$BATS_TEST_TMPDIR/host.$i
		# The task has them: what the container must get.
		grep -qx "SLURM_PROCID=$i" "$host"
		grep -q '^SLURM_JOB_ID=[0-9]' "$host"
		grep -qx "PMI_RANK=$i" "$host"
		grep -qx 'CUDA_VISIBLE_DEVICES=0,1' "$host"
		run diff "$host" "$BATS_TEST_TMPDIR/ctr.$i"
		[ "$status" -eq 0 ] || { echo "task $i: host (<) and container (>) differ:"; echo "$output"; false; }
	done
}

@test "--job-env=false keeps the job's variables out; -e still passes one by name" {
	export CUDA_VISIBLE_DEVICES=0
	run step --mpi=pmi2 "$HUTCH" run --rm --job-env=false --rootfs "$R" -- env
	[ "$status" -eq 0 ]
	[ -z "$(grep -E "$JOB_VARS" <<<"$output")" ] || { echo "in the container: $output"; false; }
	run step "$HUTCH" run --rm --job-env=false -e SLURM_PROCID --rootfs "$R" -- env
	[ "$status" -eq 0 ]
	[ "$(grep -E "$JOB_VARS" <<<"$output")" = SLURM_PROCID=0 ] || { echo "in the container: $output"; false; }
}

@test "-e 'SLURM_*' passes every matching variable, outside a job too" {
	[ -z "${SLURM_JOB_ID:-}" ]
	export SLURM_HUTCH_ONE=1 SLURM_HUTCH_TWO='two words' NOT_SLURM_X=x
	run "$HUTCH" run --rm -e 'SLURM_*' --rootfs "$R" -- env
	[ "$status" -eq 0 ]
	want=$(env | grep '^SLURM_' | sort)
	got=$(grep -E '^(SLURM_|NOT_SLURM)' <<<"$output" | sort)
	[ "$got" = "$want" ] || { echo "want: $want"; echo "got: $got"; false; }
	[[ $got == *"SLURM_HUTCH_TWO=two words"* ]]
	run "$HUTCH" run --rm -e 'NO_SUCH_PREFIX_*' --rootfs "$R" -- env
	[ "$status" -eq 0 ]
	[[ $output != *NO_SUCH_PREFIX* ]]
}

@test "--mpi=pmi2: the descriptor PMI_FD names is open in each task's container" {
	run step --mpi=pmi2 -n 2 "$HUTCH" run --rm --rootfs "$R" -- sh -c 'test -n "$PMI_FD" && test -e "/proc/self/fd/$PMI_FD" && echo "open $PMI_RANK"'
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "open 0 open 1 " ] || { echo "printed: $output"; false; }
	run step --mpi=pmi2 "$HUTCH" run --rm --job-env=false --rootfs "$R" -- sh -c 'ls /proc/self/fd | wc -l'
	[ "$output" -eq 4 ] || { echo "descriptors: $output"; false; }
}
