#!/usr/bin/env bats
# mpi.bats - MPI across containers: Debian's Open MPI (and MPICH) in an image that hutch
# builds, our mpiprobe (ping-pong and allreduce), started by Slurm's srun
# --mpi=pmix and by a host mpirun (the hybrid model), two and four ranks on
# this node. The ranks of a job share one container (a joined group), so Open
# MPI's shared-memory transport (vader) works with cross-memory attach:
# Open MPI says so itself, and says why when the ranks are not joined.
#
# The image costs an apt-get: it is built once per run of this file
# (setup_file), from the Debian base tarball tests/run prepares.

load ../lib/common
load ../slurm/lib

# What makes Open MPI show its own evidence: only shared memory (vader)
# and self, single copies through CMA or an error, and the MCA values it
# runs with, printed by each rank.
MCA=(OMPI_MCA_btl=vader,self OMPI_MCA_btl_vader_single_copy_mechanism=cma
	OMPI_MCA_mpi_show_mca_params=all)

setup_file() {
	local tar=${HUTCH_TEST_DEBIAN_TAR:-/var/cache/hutch-demo/debian-bookworm.tar} start
	export MPI_SKIP=
	if ! command -v mpirun >/dev/null; then
		MPI_SKIP="no host Open MPI (tests/mpi/deps)"
	elif [ ! -r "$tar" ]; then
		MPI_SKIP="no Debian base tarball $tar: tests/run prepares it (examples/debian-base.sh)"
	fi
	slurm_probe || true
	[ -z "$MPI_SKIP" ] || return 0
	export HUTCH_ROOT=$BATS_FILE_TMPDIR/store HUTCH_RUNTIME=$BATS_FILE_TMPDIR/runtime
	start=$SECONDS
	"$HUTCH" import "$tar" debian:12 >/dev/null
	"$HUTCH" build -q -t mpi:1 "$BATS_TEST_DIRNAME" >"$BATS_FILE_TMPDIR/build.log" 2>&1 ||
		{ tail -n 30 "$BATS_FILE_TMPDIR/build.log"; MPI_SKIP=; return 1; }
	echo "# the MPI image (Open MPI and MPICH) was built in $((SECONDS - start)) s" >&3
}

teardown_file() {
	[ -z "${MPI_SKIP:-}" ] || return 0
	remove_store "$BATS_FILE_TMPDIR/store"
}

setup() {
	[ -z "$MPI_SKIP" ] || skip "$MPI_SKIP"
	export HUTCH_ROOT=$BATS_FILE_TMPDIR/store
	export HUTCH_RUNTIME=$BATS_TEST_TMPDIR/runtime
	cd "$BATS_TEST_TMPDIR"
	shm_files >"$BATS_TEST_TMPDIR/shm.before"
}

teardown() {
	[ -z "${MPI_SKIP:-}" ] || return 0
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
	pkill -KILL -u "$(id -u)" -x mpiprobe 2>/dev/null || true
}

need_slurm() {
	[ -z "$HUTCH_SLURM_SKIP" ] || skip "$HUTCH_SLURM_SKIP"
}

# ranks_right N: every rank of N says its own rank and the size, and the
# allreduce of 1..N is right (the ranks' standard output, $output).
ranks_right() {
	local i
	for ((i = 0; i < $1; i++)); do
		grep -qx "rank $i of $1 on $(hostname)" <<<"$output" || { echo "no rank $i of $1"; return 1; }
	done
	[ "$(grep -c '^rank ' <<<"$output")" -eq "$1" ] &&
		grep -qx "allreduce $(($1 * ($1 + 1) / 2))" <<<"$output"
}

# ranks_ok N: ranks_right, and Open MPI ran with CMA single copies (its MCA
# values, on standard error: $stderr; mpirun interleaves the ranks'
# streams, so they are kept apart).
ranks_ok() {
	ranks_right "$1" &&
		grep -q 'btl_vader_single_copy_mechanism=cma' <<<"$stderr" &&
		! grep -q 'CMA support is' <<<"$stderr"
}

# show: what a job printed, less Open MPI's default values.
show() {
	echo "$output"
	grep -v '(default)$' <<<"$stderr"
}

# shm_files: the user's files in the host's /dev/shm, one per line.
shm_files() {
	find /dev/shm -maxdepth 1 -user "$(id -u)" 2>/dev/null | sort
}

# nothing_left: no container, group, rank or shared memory file remains
# (none of the user's /dev/shm files but those setup() found: another
# suite's job of this user may have left its own).
nothing_left() {
	[ -z "$("$HUTCH" ps -aq)" ] && [ ! -e "$HUTCH_RUNTIME/groups" ] &&
		! pgrep -u "$(id -u)" -x mpiprobe >/dev/null &&
		[ -z "$(comm -13 "$BATS_TEST_TMPDIR/shm.before" <(shm_files))" ]
}

# left: what nothing_left found, for the log.
left() {
	echo "left: containers: $("$HUTCH" ps -aq | tr '\n' ' ')"
	ls -la "$HUTCH_RUNTIME/groups" 2>/dev/null
	pgrep -a -u "$(id -u)" -x mpiprobe
	comm -13 "$BATS_TEST_TMPDIR/shm.before" <(shm_files)
}

@test "srun --mpi=pmix -n 2 and -n 4 hutch run: right ranks and size, allreduce, shared memory with CMA; nothing left" {
	need_slurm
	local n
	# -O: four tasks on a two-CPU node.
	for n in 2 4; do
		run --separate-stderr env "${MCA[@]}" srun -Q -O --mpi=pmix -n "$n" "$HUTCH" run --rm mpi:1 mpiprobe
		show
		[ "$status" -eq 0 ]
		ranks_ok "$n"
		wait_for 10 nothing_left || { left; false; }
	done
}

@test "host mpirun -np 2 and -np 4 hutch run (hybrid): right ranks and size, allreduce, shared memory with CMA; nothing left" {
	local n
	for n in 2 4; do
		run --separate-stderr env "${MCA[@]}" mpirun --oversubscribe --bind-to none -np "$n" "$HUTCH" run --rm mpi:1 mpiprobe
		show
		[ "$status" -eq 0 ]
		ranks_ok "$n"
		wait_for 10 nothing_left || { left; false; }
	done
}

@test "ranks that are not joined cannot use CMA: Open MPI names the user namespaces" {
	run env "${MCA[@]}" mpirun --bind-to none -np 2 "$HUTCH" run --rm --join none mpi:1 mpiprobe
	echo "$output" | grep -v '(default)$'
	[ "$status" -ne 0 ]
	# Open MPI's help text travels to mpirun in a message that its
	# show_help sometimes fails to unpack ("Data unpack would read past
	# end of buffer"); its vader BTL's abort, after the CMA check, then
	# stands alone.
	[[ $output == *"not available due to different user namespaces"* ]] ||
		[[ $output == *"show_help.c"*"vader BTL is aborting"* ]]
}

@test "srun: killing one rank mid-step ends the step, and nothing is left" {
	need_slurm
	local out=$BATS_TEST_TMPDIR/step.out pids victim
	srun -Q -K --mpi=pmix -n 2 "$HUTCH" run --rm mpi:1 mpiprobe hang >"$out" 2>&1 </dev/null &
	local srun_pid=$!
	wait_for 120 grep -qx ready "$out" || { cat "$out"; false; }
	pids=$(pgrep -u "$(id -u)" -x mpiprobe)
	[ "$(wc -w <<<"$pids")" -eq 2 ]
	victim=$(tr ' ' '\n' <<<"$pids" | sort -n | tail -n 1)
	kill -KILL "$victim"
	wait_for 60 dead "$srun_pid" || { cat "$out"; false; }
	run wait "$srun_pid"
	[ "$status" -ne 0 ]
	wait_for 30 nothing_left || { left; false; }
}

# MPICH (Debian's 4.0, ch4 with UCX) speaks PMI-1 and PMI-2 over PMI_FD,
# not PMIx: Slurm starts it with --mpi=pmi2. Its intra-node transport is
# POSIX shared memory (its single copy is XPMEM, not CMA), so the ranks need
# one /dev/shm: without joining, MPI_Init fails in its own words.
@test "MPICH: srun --mpi=pmi2 -n 2 and -n 4 hutch run: right ranks and size, allreduce over shared memory; nothing left" {
	need_slurm
	local n
	for n in 2 4; do
		run srun -Q -O --mpi=pmi2 -n "$n" "$HUTCH" run --rm mpi:1 mpiprobe.mpich
		echo "$output"
		[ "$status" -eq 0 ]
		ranks_right "$n"
		wait_for 10 nothing_left || { left; false; }
	done
}

@test "MPICH: host mpiexec.hydra -np 2 and -np 4 hutch run (hybrid): joined without --join; right ranks, allreduce; nothing left" {
	command -v mpiexec.hydra >/dev/null || skip "no host MPICH (tests/mpi/deps)"
	local n
	for n in 2 4; do
		run mpiexec.hydra -np "$n" "$HUTCH" run --rm mpi:1 mpiprobe.mpich
		echo "$output"
		[ "$status" -eq 0 ]
		ranks_right "$n"
		wait_for 10 nothing_left || { left; false; }
	done
	# A rank's own wrapper script does not split the group.
	run mpiexec.hydra -np 2 sh -c "\"$HUTCH\" run --rm mpi:1 mpiprobe.mpich; true"
	[ "$status" -eq 0 ]
	ranks_right 2
}

@test "MPICH: ranks that are not joined have no shared memory between them, in MPICH's own words" {
	# Under srun: Hydra's proxies drop the aborting ranks' output now and
	# then (1 run in 6 printed nothing); Slurm's forwarding keeps it.
	need_slurm
	run timeout 120 srun -Q --mpi=pmi2 -n 2 "$HUTCH" run --rm --join none mpi:1 mpiprobe.mpich
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"unable to allocate shared memory"* ]]
	wait_for 10 nothing_left || { left; false; }
}
