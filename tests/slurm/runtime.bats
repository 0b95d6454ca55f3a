#!/usr/bin/env bats
# runtime.bats - the runtime directory in jobs: a container is found
# whatever XDG_RUNTIME_DIR and TMPDIR say in the command of the moment; a
# missing TMPDIR falls back as a missing XDG_RUNTIME_DIR does; killed
# containers leave no monitor.lock behind

load ../lib/common
load lib

setup_file() {
	slurm_probe || return 0
	make_rootfs "$(shared_rootfs)"
}

setup() {
	slurm_setup
	# The runtime directory comes from the environment in these tests,
	# as in a job; TMPDIR stays inside the test's directory.
	unset HUTCH_RUNTIME XDG_RUNTIME_DIR
}

teardown() {
	slurm_teardown
}

@test "started where XDG_RUNTIME_DIR is set, a container is seen, stopped and removed from a job without it" {
	xdg=$BATS_TEST_TMPDIR/xdg
	mkdir -m 0700 "$xdg" "$BATS_TEST_TMPDIR/login" "$BATS_TEST_TMPDIR/job"
	login() { XDG_RUNTIME_DIR=$xdg TMPDIR=$BATS_TEST_TMPDIR/login "$HUTCH" "$@"; }
	job() { step env TMPDIR="$BATS_TEST_TMPDIR/job" "$HUTCH" "$@"; }
	RUNTIME_DIRS=("$xdg/hutch" "$BATS_TEST_TMPDIR/job/hutch-$(id -u)")
	login run -d --name e-stop --rootfs "$R" -- sleep 1000 >/dev/null
	login run -d --name e-rm --rootfs "$R" -- sleep 1000 >/dev/null
	stop_pid=$(login inspect -f '{{.State.Pid}}' e-stop)
	rm_pid=$(login inspect -f '{{.State.Pid}}' e-rm)
	alive "$stop_pid"
	alive "$rm_pid"
	run job ps --format '{{.Names}} {{.Status}}'
	[ "$status" -eq 0 ]
	[[ $output == *"e-stop Up"* ]] || { echo "ps in the job: $output"; false; }
	[[ $output == *"e-rm Up"* ]]
	run job stop e-stop
	[ "$status" -eq 0 ]
	[ "$output" = e-stop ]
	# Returned 0: it has stopped, now, not later.
	! alive "$stop_pid" || { echo "stop returned 0, pid $stop_pid still runs"; false; }
	run login ps -a --format '{{.Names}} {{.Status}}'
	[[ $output == *"e-stop Exited ("* ]]
	run job rm -f e-rm
	[ "$status" -eq 0 ]
	! alive "$rm_pid" || { echo "rm -f returned 0, pid $rm_pid still runs"; false; }
	run login ps -a --format '{{.Names}}'
	[ "$output" = e-stop ]
	run job rm e-stop
	[ "$status" -eq 0 ]
	assert_nothing_left "$BATS_TEST_TMPDIR"
}

@test "started with one TMPDIR, a container is found by ps, exec, logs, kill and rm -f in a job with another" {
	mkdir "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	a() { TMPDIR=$BATS_TEST_TMPDIR/a "$HUTCH" "$@"; }
	b() { step env TMPDIR="$BATS_TEST_TMPDIR/b" "$HUTCH" "$@"; }
	RUNTIME_DIRS=("$BATS_TEST_TMPDIR/a/hutch-$(id -u)" "$BATS_TEST_TMPDIR/b/hutch-$(id -u)")
	a run -d --name e-tmp --rootfs "$R" -- sh -c 'echo hello; exec sleep 1000' >/dev/null
	pid=$(a inspect -f '{{.State.Pid}}' e-tmp)
	run b ps --format '{{.Names}} {{.Status}}'
	[[ $output == "e-tmp Up"* ]] || { echo "ps with the other TMPDIR: $output"; false; }
	run b exec e-tmp echo inside
	[ "$status" -eq 0 ]
	[ "$output" = inside ]
	run b logs e-tmp
	[ "$output" = hello ]
	run b kill e-tmp
	[ "$status" -eq 0 ]
	# kill, as Docker's, returns once the signal is sent.
	wait_for 10 dead "$pid" || { echo "pid $pid still runs after kill"; false; }
	wait_for 10 eval '[[ $(a ps -a --format "{{.Names}} {{.Status}}") == "e-tmp Exited (137)"* ]]'
	a start e-tmp
	pid=$(a inspect -f '{{.State.Pid}}' e-tmp)
	alive "$pid"
	run b rm -f e-tmp
	[ "$status" -eq 0 ]
	! alive "$pid" || { echo "rm -f returned 0, pid $pid still runs"; false; }
	run a ps -aq
	[ "$output" = "" ]
	assert_nothing_left "$BATS_TEST_TMPDIR"
}

@test "TMPDIR at a missing directory: commands fall back and work; a --rm run that fails before its container starts leaves no record" {
	# A per-job TMPDIR that the batch script names and no prolog made,
	# where it cannot be made. (slurmstepd replaces a TMPDIR it cannot
	# create with /tmp, so the job's commands set it themselves.)
	mkdir -m 0555 "$BATS_TEST_TMPDIR/scratch"
	missing=$BATS_TEST_TMPDIR/scratch/job-tmp
	here() { TMPDIR=$missing "$HUTCH" "$@"; }
	in_job() { step env TMPDIR="$missing" "$HUTCH" "$@"; }
	# Where both fall back to.
	RUNTIME_DIRS=("/tmp/hutch-$(id -u)")
	run in_job run --rm --rootfs "$R" -- echo ran
	[ "$status" -eq 0 ] && [ "${lines[-1]}" = ran ] || { echo "$output"; false; }
	XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/scratch/xdg run here run --rm --rootfs "$R" -- echo ran
	[ "$status" -eq 0 ] && [ "${lines[-1]}" = ran ] || { echo "$output"; false; }
	run here run -d --name f-up --rootfs "$R" -- sleep 1000
	[ "$status" -eq 0 ]
	run in_job ps --format '{{.Names}} {{.Status}}'
	[[ $output == "f-up Up"* ]]
	pid=$(here inspect -f '{{.State.Pid}}' f-up)
	run in_job stop f-up
	[ "$status" -eq 0 ]
	! alive "$pid"
	run here rm f-up
	[ "$status" -eq 0 ]
	# Failures after the record is made: an unusable runtime directory,
	# a published port that is taken.
	touch "$BATS_TEST_TMPDIR/afile"
	HUTCH_RUNTIME=$BATS_TEST_TMPDIR/afile run "$HUTCH" run --rm --name f-bad --rootfs "$R" -- true
	[ "$status" -eq 125 ]
	port=$(free_port)
	here run -d --name f-port --rootfs "$R" -p "127.0.0.1:$port:80" -- sleep 1000
	run here run --rm --name f-clash --rootfs "$R" -p "127.0.0.1:$port:80" -- true
	[ "$status" -eq 125 ]
	run here ps -a --format '{{.Names}}'
	[ "$output" = f-port ] || { echo "ps -a: $output"; false; }
	here rm -f f-port
	assert_nothing_left "$BATS_TEST_TMPDIR" "$port"
}

@test "killed containers leave no monitor.lock in any runtime directory" {
	# Started and killed in jobs without XDG_RUNTIME_DIR, TMPDIR of their
	# own; looked at and removed from a login shell with it.
	export TMPDIR=$BATS_TEST_TMPDIR/jobtmp
	xdg=$BATS_TEST_TMPDIR/xdg
	mkdir "$TMPDIR"
	mkdir -m 0700 "$xdg"
	login() { XDG_RUNTIME_DIR=$xdg "$HUTCH" "$@"; }
	RUNTIME_DIRS=("$TMPDIR/hutch-$(id -u)" "$xdg/hutch")
	# In a job: foreground --rm containers and detached ones, cancelled.
	job_script "$BATS_TEST_TMPDIR/job.sh" \
		"$(run_words h-1 --rm) &" "$(run_words h-2 --rm) &" "$(run_words h-3) &" \
		"$(run_words h-4 -d --rm)" "$(run_words h-5 -d)" 'wait'
	id=$(submit "$BATS_TEST_TMPDIR/job.sh")
	await_marks "$id" h-1 h-2 h-3 h-4 h-5
	[ -n "$(find "${RUNTIME_DIRS[0]}" -name monitor.lock)" ]
	scancel "$id"
	# SIGKILL to the monitor of detached ones, to the foreground hutch of
	# others (the oldest process of its command line: hutch-init is a
	# fork of it).
	for n in 6 7; do
		eval "$(run_words "h-$n" -d)" >/dev/null
	done
	fg=()
	for n in 8 9; do
		eval "setsid -w $(run_words "h-$n" --rm)" >/dev/null 2>&1 3>&- &
		fg+=($!)
	done
	wait_for 30 marked h-6 h-7 h-8 h-9
	for n in 6 7; do
		pkill -KILL -o -u "$(id -u)" -f "container-monitor $("$HUTCH" inspect -f '{{.Id}}' "h-$n")"
	done
	for n in 8 9; do
		pkill -KILL -o -u "$(id -u)" -f "^[^ ]*/hutch run --name h-$n "
	done
	wait_for 60 job_ended "$id"
	wait_for 30 no_processes_naming "$BATS_TEST_TMPDIR"
	wait "${fg[@]}" || true
	# One ordinary command, then no lock may be left of a container that
	# is gone, and none at all once the rest are removed.
	login ps -a >/dev/null
	run login ps -aq --no-trunc
	[ "$status" -eq 0 ]
	ids=$output
	run --separate-stderr find "${RUNTIME_DIRS[@]}" -name monitor.lock
	for f in "${lines[@]}"; do
		[[ $ids == *"$(basename "$(dirname "$f")")"* ]] || { echo "a lock without its container: $f"; false; }
	done
	[ -n "$ids" ]
	login rm $ids >/dev/null
	run --separate-stderr find "${RUNTIME_DIRS[@]}" -name monitor.lock
	[ "$output" = "" ] || { echo "left after rm:"; echo "$output"; false; }
	assert_nothing_left "$BATS_TEST_TMPDIR"
}
