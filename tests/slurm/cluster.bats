#!/usr/bin/env bats
# cluster.bats - the test cluster itself: it answers, runs batch jobs, job
# steps and terminals as this user, cancels them, and tracks processes the
# way its proctrack plugin says (what the other files rely on)

load ../lib/common
load lib

setup_file() {
	slurm_probe || true
}

setup() {
	slurm_setup
}

teardown() {
	slurm_teardown
}

@test "the node is up in one partition, with the proctrack plugin of this pass" {
	run sinfo -h -o '%P %t %D'
	[ "$status" -eq 0 ]
	[[ $output =~ ^[a-z]+\*\ (idle|mix|alloc)\ 1$ ]]
	if [ -n "${HUTCH_TEST_PROCTRACK:-}" ]; then
		[ "$(proctrack)" = "$HUTCH_TEST_PROCTRACK" ]
	fi
}

@test "sbatch runs a batch script as this user, with this environment" {
	export HUTCH_SLURM_PROBE=carried
	job_script "$BATS_TEST_TMPDIR/job.sh" 'echo "$(id -un) $HUTCH_SLURM_PROBE $SLURM_JOB_ID"'
	id=$(submit "$BATS_TEST_TMPDIR/job.sh")
	wait_for 60 job_ended "$id"
	[ "$(job_output "$id")" = "$(id -un) carried $id" ]
}

@test "srun -n 2 runs two tasks; srun --pty gives the task a terminal" {
	run srun -n 2 sh -c 'echo "$SLURM_PROCID $(id -un)"'
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "0 $(id -un) 1 $(id -un) " ]
	run script -qec 'srun --pty sh -c "test -t 0 && test -t 1 && echo terminal"' /dev/null
	[ "$status" -eq 0 ]
	[[ $output == *terminal* ]]
	run srun sh -c 'exit 3'
	[ "$status" -eq 3 ]
}

@test "scancel ends a running job and its processes" {
	job_script "$BATS_TEST_TMPDIR/job.sh" 'touch "$SYNC/up"' 'exec sleep 1000'
	id=$(submit "$BATS_TEST_TMPDIR/job.sh")
	wait_for 60 marked up
	job_running "$id"
	[ -n "$(processes_naming "$BATS_TEST_TMPDIR")" ]
	scancel "$id"
	wait_for 60 job_ended "$id"
	wait_for 30 no_processes_naming "$BATS_TEST_TMPDIR"
}

@test "a process that leaves the job's tree dies with the job under proctrack/cgroup only" {
	# setsid -f: a daemon, the child of no process of the job; the job
	# then ends on its own.
	job_script "$BATS_TEST_TMPDIR/job.sh" 'setsid -f sleep 1000 </dev/null >/dev/null 2>&1' \
		'touch "$SYNC/up"'
	id=$(submit "$BATS_TEST_TMPDIR/job.sh")
	wait_for 60 job_ended "$id"
	[ -e "$SYNC/up" ]
	case $(proctrack) in
	cgroup)
		wait_for 30 no_processes_naming "$BATS_TEST_TMPDIR"
		;;
	linuxproc)
		run processes_naming "$BATS_TEST_TMPDIR"
		[[ $output == *"sleep 1000"* ]]
		;;
	*)
		skip "proctrack/$(proctrack): no expectation here"
		;;
	esac
}
