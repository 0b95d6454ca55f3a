#!/usr/bin/env bats
# teardown.bats - whatever ends a job ends its containers and leaves
# nothing: scancel, the time limit, SIGKILL after KillWait, a SIGKILL of
# the whole job; hutch run as a plain child of the batch script, exec'd,
# under srun, detached (-d) unless --outlive-job asks otherwise
#
# Slurm counts time limits in minutes and looks for jobs past theirs every
# 30 s, so the time-limit jobs are submitted in setup_file and judged by
# the last test, a minute or more later; the other tests run meanwhile and
# check what is theirs, until the stress test, which waits for every job
# of the user to end before it checks that the user has no process left.
# HUTCH_TEST_SLURM_JOBS sets how many jobs the stress test runs (50; 12
# under the sanitizers, HUTCH_TEST_SANITIZED).

load ../lib/common
load lib

setup_file() {
	slurm_probe || return 0
	make_rootfs "$(shared_rootfs)"
	# Their own store, runtime directory and marks: the tests in between
	# check theirs only.
	TL=$BATS_FILE_TMPDIR/timelimit
	mkdir -p "$TL/sync"
	(
		export HUTCH_ROOT=$TL/store HUTCH_RUNTIME=$TL/runtime
		R=$(shared_rootfs) SYNC=$TL/sync JOBS=$TL/jobs
		job_script "$TL/child.sh" "$(run_words tl-child --rm)"
		job_script "$TL/srun.sh" "srun $(run_words tl-srun --rm)"
		job_script "$TL/deaf.sh" "$(PAYLOAD_OF=$DEAF_PAYLOAD run_words tl-deaf --rm)"
		job_script "$TL/kept.sh" "$(run_words tl-kept)"
		for s in child srun deaf kept; do
			submit --time=1 -J "tl-$s" "$TL/$s.sh" >/dev/null
		done
	)
	export TL
}

setup() {
	slurm_setup
}

teardown() {
	slurm_teardown
}

teardown_file() {
	[ -n "${TL:-}" ] || return 0
	JOBS=$TL/jobs cancel_jobs "$TL/jobs"
	kill_processes_naming "$TL"
	remove_store "$TL/store"
}

@test "scancel: a --rm container leaves nothing, as a plain child, exec'd, deaf to SIGTERM, or SIGKILLed with the job" {
	job_script "$BATS_TEST_TMPDIR/child.sh" "$(run_words a-child --rm)"
	job_script "$BATS_TEST_TMPDIR/exec.sh" "exec $(run_words a-exec --rm)"
	job_script "$BATS_TEST_TMPDIR/deaf.sh" "$(PAYLOAD_OF=$DEAF_PAYLOAD run_words a-deaf --rm)"
	job_script "$BATS_TEST_TMPDIR/kill.sh" "$(run_words a-kill --rm)"
	ids=() shapes=(child exec deaf kill)
	for s in "${shapes[@]}"; do
		ids+=("$(submit "$BATS_TEST_TMPDIR/$s.sh")")
	done
	for i in 0 1 2 3; do
		await_marks "${ids[i]}" "a-${shapes[i]}"
	done
	scancel "${ids[0]}" "${ids[1]}" "${ids[2]}"
	# Every process of the job at once, the batch shell included.
	scancel -s KILL "${ids[3]}"
	for id in "${ids[@]}"; do
		wait_for 60 job_ended "$id"
	done
	assert_nothing_left "$BATS_TEST_TMPDIR"
}

@test "srun: a --rm container under srun leaves nothing when its job is cancelled, six times over" {
	ids=()
	for i in 1 2 3 4 5; do
		job_script "$BATS_TEST_TMPDIR/srun$i.sh" "srun $(run_words "c-$i" --rm)"
		ids+=("$(submit "$BATS_TEST_TMPDIR/srun$i.sh")")
	done
	# And srun from here, as at a login node: its own job.
	eval "srun -J c-6 $(run_words c-6 --rm)" >"$BATS_TEST_TMPDIR/srun6.out" 2>&1 3>&- &
	srun_pid=$!
	for i in 1 2 3 4 5; do
		await_marks "${ids[i - 1]}" "c-$i"
	done
	wait_for 60 marked c-6
	ids+=("$(squeue -h -u "$(id -un)" -n c-6 -o %i)")
	echo "${ids[5]}" >>"$JOBS"
	[ -n "${ids[5]}" ]
	scancel "${ids[@]}"
	for id in "${ids[@]}"; do
		wait_for 60 job_ended "$id"
	done
	# Not a bare wait: bats's timeout is a background job too.
	wait "$srun_pid" || true
	assert_nothing_left "$BATS_TEST_TMPDIR"
}

# sqsh_words NAME [OPTION...]: run_words, but the container runs from the
# single-file image $SQSH (its hutch-squashfs serves the root).
sqsh_words() {
	local name=$1
	shift
	printf '%q ' "$HUTCH" run --name "$name" "$@" -v "$SYNC:/sync" "$SQSH" \
		sh -c "${PAYLOAD_OF:-$PAYLOAD}" "$name"
}

@test "a .sqsh container (hutch-squashfs under it): scancel, srun, SIGKILL of the whole job leave no process, mount, record or upper dir" {
	SQSH=$BATS_TEST_TMPDIR/img.sqsh
	"$HUTCH" import "$R" sqt:1 >/dev/null
	"$HUTCH" save --format squashfs -o "$SQSH" sqt:1
	# The kept one and the SIGKILLed one as with a store on a shared
	# filesystem (the seam): their upper dirs in the job's TMPDIR.
	local T=$BATS_TEST_TMPDIR/jobtmp
	mkdir "$T"
	local shared="env HUTCH_TEST_FSTYPE=nfs TMPDIR=$T"
	job_script "$BATS_TEST_TMPDIR/child.sh" "$(sqsh_words q-child --rm)"
	job_script "$BATS_TEST_TMPDIR/srun.sh" "srun $(sqsh_words q-srun --rm)"
	job_script "$BATS_TEST_TMPDIR/kept.sh" "$shared $(sqsh_words q-kept)"
	job_script "$BATS_TEST_TMPDIR/kill.sh" "$shared $(sqsh_words q-kill --rm)"
	ids=() shapes=(child srun kept kill)
	for s in "${shapes[@]}"; do
		ids+=("$(submit "$BATS_TEST_TMPDIR/$s.sh")")
	done
	for i in 0 1 2 3; do
		await_marks "${ids[i]}" "q-${shapes[i]}"
	done
	# Each is served by a hutch-squashfs of its own while it runs.
	[ "$(pgrep -u "$(id -u)" -f "hutch-squashfs .*$SQSH" | wc -l)" -ge 4 ]
	scancel "${ids[0]}" "${ids[1]}" "${ids[2]}"
	scancel -s KILL "${ids[3]}"
	for id in "${ids[@]}"; do
		wait_for 60 job_ended "$id"
	done
	# The kept one shows as ended and goes with rm.
	wait_for 30 eval '"$HUTCH" ps -a --format "{{.Names}} {{.Status}}" | grep -q "^q-kept Exited"'
	"$HUTCH" rm q-kept >/dev/null
	assert_nothing_left "$BATS_TEST_TMPDIR"
	[ -z "$(pgrep -u "$(id -u)" -f "hutch-squashfs .*$SQSH")" ]
	# They had node-local directories; none is left.
	[ -d "$T/hutch-$(id -u)/local" ]
	[ -z "$(ls -A "$T/hutch-$(id -u)/local/"*/)" ]
}

@test "run -d in a job: the container ends with the job, its port goes, --rm removes its record, the kept one can be removed" {
	p1=$(free_port) p2=$(free_port) p3=$(free_port)
	# One job ends on its own when told to, one is cancelled.
	job_script "$BATS_TEST_TMPDIR/ends.sh" \
		"$(PAYLOAD_OF=$WEB_PAYLOAD run_words d-rm -d --rm -p "127.0.0.1:$p1:80")" \
		"$(PAYLOAD_OF=$WEB_PAYLOAD run_words d-kept -d -p "127.0.0.1:$p2:80")" \
		'until [ -e "$SYNC/end" ]; do sleep 0.1; done'
	job_script "$BATS_TEST_TMPDIR/cancelled.sh" \
		"$(PAYLOAD_OF=$WEB_PAYLOAD run_words d-cancel -d --rm -p "127.0.0.1:$p3:80")" \
		'exec sleep 1000'
	ends=$(submit "$BATS_TEST_TMPDIR/ends.sh")
	cancelled=$(submit "$BATS_TEST_TMPDIR/cancelled.sh")
	await_marks "$ends" d-rm d-kept
	await_marks "$cancelled" d-cancel
	wait_for 10 serves "$p1" d-rm
	wait_for 10 serves "$p2" d-kept
	wait_for 10 serves "$p3" d-cancel
	touch "$SYNC/end"
	scancel "$cancelled"
	wait_for 60 job_ended "$ends"
	wait_for 60 job_ended "$cancelled"
	wait_for 30 port_closed "$p1" || { echo "d-rm still listens on $p1 after its job ended"; false; }
	wait_for 30 port_closed "$p2" || { echo "d-kept still listens on $p2 after its job ended"; false; }
	wait_for 30 port_closed "$p3" || { echo "d-cancel still listens on $p3 after its job was cancelled"; false; }
	wait_for 30 no_processes_naming "$BATS_TEST_TMPDIR"
	# One ordinary command first: it may clean up what SIGKILL left.
	"$HUTCH" ps -a >/dev/null
	run "$HUTCH" ps -a --format '{{.Names}}'
	[ "$status" -eq 0 ]
	[ "$output" = d-kept ] || { echo "ps -a: $output"; false; }
	run "$HUTCH" inspect -f '{{.State.Status}}' d-kept
	[ "$output" = exited ]
	run "$HUTCH" rm d-kept
	[ "$status" -eq 0 ]
	assert_nothing_left "$BATS_TEST_TMPDIR" "$p1" "$p2" "$p3"
}

@test "run -d --outlive-job: it outlives the job under proctrack/linuxproc (stop and rm end it), not under proctrack/cgroup" {
	p1=$(free_port) p2=$(free_port)
	job_script "$BATS_TEST_TMPDIR/job.sh" \
		"$(PAYLOAD_OF=$WEB_PAYLOAD run_words d-out -d --outlive-job -p "127.0.0.1:$p1:80")" \
		"$(PAYLOAD_OF=$WEB_PAYLOAD run_words d-ends -d -p "127.0.0.1:$p2:80")" \
		'until [ -e "$SYNC/end" ]; do sleep 0.1; done'
	id=$(submit "$BATS_TEST_TMPDIR/job.sh")
	await_marks "$id" d-out d-ends
	wait_for 10 serves "$p1" d-out
	wait_for 10 serves "$p2" d-ends
	touch "$SYNC/end"
	wait_for 60 job_ended "$id"
	# d-ends, without the option, ends with the job under either plugin:
	# whatever ended it has acted by the time its port is gone.
	wait_for 30 port_closed "$p2" || { echo "d-ends still listens on $p2 after its job ended"; false; }
	case $(proctrack) in
	linuxproc)
		serves "$p1" d-out
		run "$HUTCH" ps --format '{{.Names}} {{.Status}}'
		[[ $output == *"d-out Up"* ]]
		run "$HUTCH" stop d-out
		[ "$status" -eq 0 ]
		wait_for 10 port_closed "$p1"
		;;
	cgroup)
		wait_for 30 port_closed "$p1" || { echo "d-out still listens on $p1: proctrack/cgroup kills what is in the job's cgroup"; false; }
		;;
	*)
		skip "proctrack/$(proctrack): no expectation here"
		;;
	esac
	wait_for 30 no_processes_naming "$BATS_TEST_TMPDIR"
	run "$HUTCH" rm d-out d-ends
	[ "$status" -eq 0 ]
	assert_nothing_left "$BATS_TEST_TMPDIR" "$p1" "$p2"
}

# cancel_later ID NAME: once container NAME of job ID has started, wait a
# random 0 to 3 s, then scancel the job.
cancel_later() {
	local ms=$((RANDOM % 3001))
	await_marks "$1" "$2" >/dev/null || true
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	scancel "$1"
}

no_jobs_of_user() {
	[ -z "$(squeue -h -u "$(id -un)" -o %i)" ]
}

@test "stress: jobs cancelled 0-3 s after their container started leave no process, mount, listener, record or upper dir" {
	local n=${HUTCH_TEST_SLURM_JOBS:-50} i id name p ports=() cancellers=() running
	[ -n "${HUTCH_TEST_SANITIZED:-}" ] && n=${HUTCH_TEST_SLURM_JOBS:-12}
	for ((i = 0; i < n; i++)); do
		name=s-$i
		# Four shapes in turn: a plain child, exec'd, under srun, and a
		# plain child publishing a port.
		case $((i % 4)) in
		0) job_script "$BATS_TEST_TMPDIR/$name.sh" "$(run_words "$name" --rm)" ;;
		1) job_script "$BATS_TEST_TMPDIR/$name.sh" "exec $(run_words "$name" --rm)" ;;
		2) job_script "$BATS_TEST_TMPDIR/$name.sh" "srun $(run_words "$name" --rm)" ;;
		3)
			ports+=("$(free_port)")
			job_script "$BATS_TEST_TMPDIR/$name.sh" \
				"$(PAYLOAD_OF=$WEB_PAYLOAD run_words "$name" --rm -p "127.0.0.1:${ports[-1]}:80")"
			;;
		esac
		# Ten at a time.
		while ((${#cancellers[@]} >= 10)); do
			wait -n "${cancellers[@]}" || true
			running=()
			for p in "${cancellers[@]}"; do
				kill -0 "$p" 2>/dev/null && running+=("$p")
			done
			cancellers=("${running[@]}")
		done
		id=$(submit "$BATS_TEST_TMPDIR/$name.sh")
		cancel_later "$id" "$name" 3>&- &
		cancellers+=($!)
	done
	# Not a bare wait: bats's timeout is a background job too.
	((${#cancellers[@]} == 0)) || wait "${cancellers[@]}" || true
	# Every container did start before its job was cancelled.
	[ "$(ls "$SYNC" | wc -l)" -eq "$n" ]
	# The time-limit jobs too: then no process of the user may be left.
	wait_for 150 no_jobs_of_user
	wait_for 30 no_user_processes || true
	"$HUTCH" ps -a >/dev/null
	run user_processes
	[ "$output" = "" ] || { echo "processes of $(id -un) left:"; echo "$output"; false; }
	# The host sees no mount of any: no FUSE mount of this user, nothing
	# under the test's directory (kernel overlayfs mounts live in the
	# containers' own mount namespaces, gone with them).
	run grep -E "user_id=$(id -u)([, ]|$)" /proc/self/mountinfo
	[ "$output" = "" ] || { echo "mounted: $output"; false; }
	run ss -Hltnp
	[[ $output != *"users:(("* ]] || { echo "listening: $output"; false; }
	assert_nothing_left "$BATS_TEST_TMPDIR" "${ports[@]}"
	run "$HUTCH" system check
	[ "$status" -eq 0 ] || { echo "system check: $output"; false; }
}

@test "time limit: a --rm container leaves nothing, as a plain child, under srun, or deaf to SIGTERM; a kept one shows Exited and can be removed" {
	export HUTCH_ROOT=$TL/store HUTCH_RUNTIME=$TL/runtime
	SYNC=$TL/sync
	ids=$(tr '\n' ' ' <"$TL/jobs")
	for id in $ids; do
		wait_for 200 job_ended "$id"
	done
	for id in $ids; do
		grep -q 'DUE TO TIME LIMIT' "$TL/job-$id.out" || {
			echo "job $id did not end by its time limit:"
			cat "$TL/job-$id.out"
			false
		}
	done
	marked tl-child tl-srun tl-deaf tl-kept
	wait_for 30 no_processes_naming "$TL"
	"$HUTCH" ps -a >/dev/null
	run "$HUTCH" ps -a --format '{{.Names}}'
	[ "$status" -eq 0 ]
	[ "$output" = tl-kept ] || { echo "ps -a: $output"; false; }
	run "$HUTCH" ps -a --format '{{.Status}}'
	[[ $output == "Exited ("* ]]
	run "$HUTCH" rm tl-kept
	[ "$status" -eq 0 ]
	assert_nothing_left "$TL"
}
