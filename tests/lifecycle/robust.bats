#!/usr/bin/env bats
# robust.bats - what kills, crashes and changing environments leave of a
# container: nothing for --rm, a removable record otherwise; a running
# container is found whatever the runtime-dir environment of the command;
# the job context and the job's end (a stand-in for Slurm's step daemon:
# tests/slurm runs the real one)

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

teardown() {
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
	[ -z "${keeper:-}" ] || kill -9 "$keeper" 2>/dev/null || true
}

state_is() {
	[ "$("$HUTCH" inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = "$2" ]
}

# gone PID: the process has exited.
gone() {
	! kill -0 "$1" 2>/dev/null
}

# store_empty: no container directory is left in the store.
store_empty() {
	[ -z "$(ls -A "$HUTCH_ROOT/containers" 2>/dev/null | grep -v '^\.names$')" ]
}

@test "a running container is found whatever the runtime-dir environment: ps, stop, rm -f" {
	local xdg=$BATS_TEST_TMPDIR/xdg init
	mkdir -m 0700 "$xdg"
	# Started with XDG_RUNTIME_DIR (a login shell), asked without it and
	# without HUTCH_RUNTIME (a batch job).
	unset HUTCH_RUNTIME
	XDG_RUNTIME_DIR=$xdg "$HUTCH" run -d --rootfs "$R" --name far -- sleep 1000
	init=$(XDG_RUNTIME_DIR=$xdg "$HUTCH" inspect -f '{{.State.Pid}}' far)
	[ "$init" -gt 1 ]
	run env -u XDG_RUNTIME_DIR TMPDIR="$BATS_TEST_TMPDIR" "$HUTCH" ps --format '{{.Names}} {{.Status}}'
	[[ $output == "far Up"* ]]
	run env -u XDG_RUNTIME_DIR TMPDIR="$BATS_TEST_TMPDIR" "$HUTCH" stop -t 1 far
	[ "$status" -eq 0 ]
	gone "$init"
	run env -u XDG_RUNTIME_DIR "$HUTCH" ps -a --format '{{.Names}} {{.Status}}'
	[[ $output == "far Exited"* ]]
	# Started again from the job's environment, removed from the login's.
	env -u XDG_RUNTIME_DIR TMPDIR="$BATS_TEST_TMPDIR" "$HUTCH" start far
	init=$(XDG_RUNTIME_DIR=$xdg "$HUTCH" inspect -f '{{.State.Pid}}' far)
	run env XDG_RUNTIME_DIR="$xdg" "$HUTCH" rm -f far
	[ "$status" -eq 0 ]
	gone "$init"
	store_empty
}

@test "a TMPDIR that is gone falls back; a --rm run that fails before its start leaves nothing" {
	unset HUTCH_RUNTIME XDG_RUNTIME_DIR
	export TMPDIR=$BATS_TEST_TMPDIR/gone/deeper
	run "$HUTCH" run --rm --rootfs "$R" -- echo ok
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	[ ! -e "$BATS_TEST_TMPDIR/gone" ]
	run "$HUTCH" run --rm --rootfs "$R" -v /nonexistent/x:/x -- true
	[ "$status" -eq 125 ]
	run -127 "$HUTCH" run --rm --rootfs "$R" -- /no/such/command
	run "$HUTCH" ps -aq
	[ "$output" = "" ]
	store_empty
}

@test "SIGKILL of every hutch process: the next command removes a --rm container; no lock files pile up" {
	local i ids=() mon
	for i in 1 2 3; do
		ids+=("$("$HUTCH" run -d --rm --rootfs "$R" --overlay -- sh -c 'echo x >/f; sleep 1000')")
	done
	"$HUTCH" run -d --rootfs "$R" --name kept -- sleep 1000
	for i in "${ids[@]}" kept; do
		mon=$("$HUTCH" inspect -f '{{.State.Pid}}' "$i")
		[ "$mon" -gt 1 ]
	done
	# Every monitor at once, as a node-side kill of the job does.
	pkill -9 -u "$(id -u)" -f 'container-monito[r]' || true
	for i in "${ids[@]}"; do
		wait_for 10 bash -c "! pgrep -u $(id -u) -f 'container-monito[r] $i' >/dev/null"
	done
	run "$HUTCH" ps -a --format '{{.Names}} {{.Status}}'
	[ "$output" = "kept Exited (137) Less than a second ago" ] || [[ $output == "kept Exited (137)"* ]]
	[ "$(ls "$HUTCH_ROOT/containers" | grep -cv '^\.names$')" -eq 1 ]
	run "$HUTCH" rm kept
	[ "$status" -eq 0 ]
	store_empty
	# The runtime directory holds nothing of them.
	[ -z "$(ls -A "$HUTCH_RUNTIME/containers" 2>/dev/null)" ]
	# Nor of many containers that ran and exited the ordinary way.
	for i in $(seq 8); do "$HUTCH" run --rm --rootfs "$R" -- true; done
	"$HUTCH" run -d --rootfs "$R" --name done -- true
	"$HUTCH" wait done
	[ -z "$(ls -A "$HUTCH_RUNTIME/containers" 2>/dev/null)" ]
}

@test "a container whose record is damaged: system check names it; rm and system prune remove it, subordinate-id files included" {
	local id
	id=$("$HUTCH" run -d --rootfs "$R" --overlay --name half -- sh -c 'mkdir -p /d && touch /d/f && chown -R 1234:1234 /d 2>/dev/null; true')
	"$HUTCH" wait half
	# A partial rm -rf: the record goes, the upper stays.
	rm -f "$HUTCH_ROOT/containers/$id/config.json"
	run "$HUTCH" system check
	[ "$status" -eq 1 ]
	[[ $output == *"container ${id:0:12}: its record is damaged or gone"* ]]
	run "$HUTCH" rm "${id:0:12}"
	[ "$status" -eq 0 ]
	[ ! -e "$HUTCH_ROOT/containers/$id" ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
	# The same through prune, by what is left.
	id=$("$HUTCH" run -d --rootfs "$R" --overlay -- sh -c 'mkdir /e; chown 4321 /e 2>/dev/null; true')
	"$HUTCH" wait "$id"
	rm -f "$HUTCH_ROOT/containers/$id/config.json"
	run "$HUTCH" system prune -f
	[ "$status" -eq 0 ]
	[[ $output == *"Deleted containers: 1"* ]]
	[ ! -e "$HUTCH_ROOT/containers/$id" ]
}

@test "a job's variables reach the container; --job-env=false keeps them out; -e 'NAME*' passes matching ones" {
	export SLURM_JOB_ID=77 SLURM_PROCID=3 PMIX_RANK=3 CUDA_VISIBLE_DEVICES=1 OTHER=no
	run "$HUTCH" run --rm --rootfs "$R" -- sh -c 'echo $SLURM_JOB_ID $SLURM_PROCID $PMIX_RANK $CUDA_VISIBLE_DEVICES ${OTHER:-unset}'
	[ "$output" = "77 3 3 1 unset" ]
	# -e wins over the job's value.
	run "$HUTCH" run --rm --rootfs "$R" -e SLURM_PROCID=9 -- sh -c 'echo $SLURM_PROCID'
	[ "$output" = 9 ]
	run "$HUTCH" run --rm --rootfs "$R" --job-env=false -- sh -c 'echo ${SLURM_JOB_ID:-none} ${CUDA_VISIBLE_DEVICES:-none}'
	[ "$output" = "none none" ]
	unset SLURM_JOB_ID
	run "$HUTCH" run --rm --rootfs "$R" -- sh -c 'echo ${SLURM_PROCID:-none}'
	[ "$output" = none ]
	run "$HUTCH" run --rm --rootfs "$R" -e 'SLURM_*' -e 'PMIX*' -- sh -c 'echo $SLURM_PROCID $PMIX_RANK ${OTHER:-unset}'
	[ "$output" = "3 3 unset" ]
	run "$HUTCH" run --rm --rootfs "$R" --outlive-job -- true
	[ "$status" -eq 125 ]
	[[ $output == *"--outlive-job needs -d"* ]]
}

@test "a detached container started in a job ends when the job does, unless --outlive-job" {
	# A stand-in for the job: a process named salloc (as an allocation's
	# shell on a login node) whose child starts the containers.
	local bin=$BATS_TEST_TMPDIR/bin init kept
	mkdir -p "$bin"
	cp /bin/bash "$bin/salloc"
	export R
	SLURM_JOB_ID=88 "$bin/salloc" -c '"$HUTCH" run -d --rootfs "$R" --name inj -- sleep 1000 >/dev/null &&
		"$HUTCH" run -d --rootfs "$R" --name outl --outlive-job -- sleep 1000 >/dev/null &&
		exec sleep 1000' &
	keeper=$!
	wait_for 20 state_is inj running
	wait_for 20 state_is outl running
	init=$("$HUTCH" inspect -f '{{.State.Pid}}' inj)
	kept=$("$HUTCH" inspect -f '{{.State.Pid}}' outl)
	kill -9 "$keeper"
	wait_for 10 gone "$init"
	wait_for 10 state_is inj exited
	run "$HUTCH" inspect -f '{{.State.Error}}' inj
	[[ $output == *"the Slurm job 88 ended"* ]]
	kill -0 "$kept"
	state_is outl running
	"$HUTCH" rm -f outl inj
	gone "$kept"
}

@test "a container whose running.json names another host: ps says where, stop, kill, exec and rm -f refuse; without the file it can go" {
	id=$("$HUTCH" create --name far --rootfs "$R" -- sleep 1000)
	dir=$HUTCH_ROOT/containers/$id
	[ -d "$dir" ]
	# What a runner on node-far would have written: its lock is there,
	# and no job says that it is over.
	printf '{"Host":"node-far","BootId":"x","Dir":"/tmp/hutch-far","Job":"","StartedAt":%s}\n' \
		"$(date +%s%N)" >"$dir/running.json"
	run "$HUTCH" ps --filter name=far --format '{{.Status}}'
	[ "$status" -eq 0 ]
	[[ $output == "Up "*" on node-far" ]]
	refused() {
		run "$HUTCH" "$@"
		[ "$status" -ne 0 ] || return 1
		[ "${#lines[@]}" -eq 1 ] || return 1
		[[ $output == *"it runs on node-far"*"delete $dir/running.json first)" ]]
	}
	refused stop far
	refused kill far
	refused rm -f far
	refused exec far true
	[ -d "$dir" ]
	# The user's way out, which the message gives, once node-far is gone.
	rm "$dir/running.json"
	run "$HUTCH" rm -f far
	[ "$status" -eq 0 ]
	[ ! -d "$dir" ]
}
