# tests/slurm/lib.bash - helpers of the slurm suite: the cluster tests/run
# started, jobs submitted as the test user and waited for with deadlines,
# and the checks that a container left nothing behind. Load after
# ../lib/common.
#
# tests/run, as root, starts a one-node cluster (tests/slurm/cluster.sh)
# with proctrack/cgroup, and again with proctrack/linuxproc, before it runs
# this suite as each test user, and passes SLURM_CONF and
# HUTCH_TEST_PROCTRACK. Without a cluster that answers, every test skips.
#
# Jobs run as the user who submits them, with the submitter's environment
# (--export=ALL): HUTCH, HUTCH_ROOT and HUTCH_RUNTIME of the test reach the
# job. A job's processes run in sessions of their own (slurmstepd's), never
# in the test's, which is how the checks tell them from the test's own.

# slurm_probe: for setup_file: export HUTCH_SLURM_SKIP, why every test of the
# file skips (bats 1.8 skips only in setup and tests), empty when Slurm's
# clients are here and a cluster answers; false when it does not.
slurm_probe() {
	HUTCH_SLURM_SKIP=
	if ! command -v sbatch >/dev/null; then
		HUTCH_SLURM_SKIP="Slurm's client commands are missing (tests/slurm/deps)"
	elif ! timeout 20 sinfo -h -o %t >/dev/null 2>&1; then
		HUTCH_SLURM_SKIP="no Slurm cluster answers: tests/run, run as root, starts one (tests/slurm/cluster.sh)"
	fi
	export HUTCH_SLURM_SKIP
	[ -z "$HUTCH_SLURM_SKIP" ]
}

# proctrack: the cluster's ProctrackType without its prefix (cgroup,
# linuxproc, ...).
proctrack() {
	scontrol show config | sed -n 's|^ProctrackType *= *proctrack/||p'
}

# slurm_setup: the per-test state: its own store and runtime directory
# (which jobs inherit), SYNC for the marks containers leave, JOBS for the
# ids to cancel in teardown.
slurm_setup() {
	[ -z "${HUTCH_SLURM_SKIP:-}" ] || skip "$HUTCH_SLURM_SKIP"
	hutch_test_env
	R=$(shared_rootfs)
	SYNC=$BATS_TEST_TMPDIR/sync
	JOBS=$BATS_TEST_TMPDIR/jobs
	mkdir -p "$SYNC"
	export R SYNC
}

# slurm_teardown: nothing of a test may outlive it: its jobs, its
# containers, then whatever process still names its directory.
slurm_teardown() {
	[ -z "${HUTCH_SLURM_SKIP:-}" ] || return 0
	cancel_jobs "$JOBS"
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
	kill_processes_naming "$BATS_TEST_TMPDIR"
	remove_store "$HUTCH_ROOT"
}

# submit [SBATCH_OPTION...] SCRIPT: sbatch as this user, from the test's
# directory, with this environment; prints the job id and writes it to
# $JOBS for teardown. Output goes to job-ID.out beside $JOBS.
submit() {
	local dir id
	dir=$(dirname "$JOBS")
	id=$(sbatch --parsable --export=ALL --chdir="$dir" -o "$dir/job-%j.out" "$@") || return 1
	id=${id%%;*}
	echo "$id" >>"$JOBS"
	echo "$id"
}

# job_script FILE LINE...: a bash batch script of LINEs; it ends at the
# first that fails (a container that cannot start ends its job).
job_script() {
	local f=$1
	shift
	printf '#!/bin/bash\nset -e\n' >"$f"
	printf '%s\n' "$@" >>"$f"
}

# job_state ID: RUNNING, PENDING, COMPLETING...; empty once it has ended.
job_state() {
	squeue -h -j "$1" -o %T 2>/dev/null
}

job_running() {
	[ "$(job_state "$1")" = RUNNING ]
}

job_ended() {
	[ -z "$(job_state "$1")" ]
}

# cancel_jobs FILE: scancel the jobs listed in FILE and wait until they end.
cancel_jobs() {
	local ids id
	[ -s "$1" ] || return 0
	ids=$(tr '\n' ' ' <"$1")
	# shellcheck disable=SC2086
	scancel $ids 2>/dev/null || true
	for id in $ids; do
		wait_for 60 job_ended "$id" || echo "job $id has not ended"
	done
}

# marked NAME...: every container NAME has written its mark in $SYNC.
marked() {
	local n
	for n in "$@"; do
		[ -e "$SYNC/$n" ] || return 1
	done
}

# The usual container's command: files in its upper dir (one of a
# subordinate id where the mapping has them), its mark in /sync, then a
# long wait. $0 is the container's name.
PAYLOAD='mkdir -p /home/alice/d && dd if=/dev/zero of=/home/alice/d/blob bs=64k count=16 2>/dev/null; chown -R 1000:1000 /home/alice/d 2>/dev/null; touch "/sync/$0"; exec sleep 1000'
# The same, deaf to SIGTERM: Slurm's SIGKILL after KillWait ends it, and
# every process of hutch with it, at once.
DEAF_PAYLOAD="trap '' TERM; $PAYLOAD"

# run_words NAME [OPTION...]: `hutch run` of the usual container NAME on
# the busybox rootfs with an upper in the store, as shell words for a job
# script. OPTIONs go before --rootfs; PAYLOAD may be set for the command.
run_words() {
	local name=$1
	shift
	printf '%q ' "$HUTCH" run --name "$name" "$@" --rootfs "$R" --overlay \
		-v "$SYNC:/sync" -- sh -c "${PAYLOAD_OF:-$PAYLOAD}" "$name"
}

# my_session: the session of the test's processes; jobs never run in it.
my_session() {
	ps -o sid= -p $$ | tr -d ' '
}

# processes_naming DIR: "PID COMMAND" of each process of this user outside
# the test's session whose command line or environment names DIR: hutch,
# its monitor, hutch-init, hutch-net and hutch-overlay of a container of
# the test all carry HUTCH_ROOT, and its command runs in the pid namespace
# of hutch-init, which the kernel empties when hutch-init dies.
processes_naming() {
	local dir=${1%/}/ me sid pid uid psid args
	me=$(id -u)
	sid=$(my_session)
	while read -r pid uid psid args; do
		[ "$uid" = "$me" ] && [ "$psid" != "$sid" ] || continue
		if grep -qsaF -- "$dir" "/proc/$pid/environ" "/proc/$pid/cmdline"; then
			echo "$pid $args"
		fi
	done < <(ps -eo pid=,euid=,sid=,args=)
}

no_processes_naming() {
	[ -z "$(processes_naming "$1")" ]
}

# kill_processes_naming DIR: SIGKILL them, and wait until they are gone.
kill_processes_naming() {
	local pids
	pids=$(processes_naming "$1" | cut -d' ' -f1)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -9 $pids 2>/dev/null || true
	wait_for 10 no_processes_naming "$1" || true
}

# subid_range: "START COUNT" of this user's subordinate uids, if any.
subid_range() {
	grep -E "^($(id -un)|$(id -u)):" /etc/subuid 2>/dev/null | head -n 1 | cut -d: -f2,3 | tr : ' '
}

# user_processes: "PID COMMAND" of every process of this user, or of its
# subordinate uids, outside the test's session: after every job has ended
# there must be none.
user_processes() {
	local me sid start=0 count=0 pid uid psid args
	me=$(id -u)
	sid=$(my_session)
	read -r start count < <(subid_range; echo "0 0")
	while read -r pid uid psid args; do
		[ "$psid" != "$sid" ] || continue
		if [ "$uid" = "$me" ] || ((uid >= start && uid < start + count)); then
			echo "$pid $args"
		fi
	done < <(ps -eo pid=,euid=,sid=,args=)
}

no_user_processes() {
	[ -z "$(user_processes)" ]
}

# port_closed PORT: nothing listens on TCP PORT.
port_closed() {
	[ -z "$(ss -Hltn "( sport = :$1 )")" ]
}

# serves PORT TEXT: http://127.0.0.1:PORT/ answers with TEXT.
serves() {
	[ "$(curl -fsS --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null)" = "$2" ]
}

# store_leftovers: what the store and the runtime directories still hold
# of containers: records and upper dirs in $HUTCH_ROOT/containers, names in
# its .names, files in each of RUNTIME_DIRS (default: $HUTCH_RUNTIME)
# under containers/. One line each. Hidden entries of the store's
# containers/ other than .names count only when they hold something.
store_leftovers() {
	local d
	for d in "$HUTCH_ROOT/containers"/* "$HUTCH_ROOT/containers"/.[!.]* \
		"$HUTCH_ROOT/containers/.names"/*; do
		[ -e "$d" ] || [ -L "$d" ] || continue
		case ${d##*/} in
		.names) continue ;;
		.*) [ -d "$d" ] && [ -n "$(ls -A "$d")" ] || continue ;;
		esac
		echo "store: ${d#"$HUTCH_ROOT"/}$([ -d "$d/upper" ] && echo ' (with upper/)')"
	done
	for d in "${RUNTIME_DIRS[@]:-$HUTCH_RUNTIME}"; do
		[ -d "$d/containers" ] || continue
		find "$d/containers" -mindepth 1 | sed "s|^|runtime: |"
	done
}

# assert_nothing_left DIR [PORT...]: after the jobs of a test have ended,
# nothing of its containers remains: no process (within a deadline, since
# a SIGKILLed container's processes take a moment to go), then, after one
# ordinary command (which may clean up what SIGKILL interrupted), no
# record, no upper dir, no runtime-dir file, no mount under DIR, no
# listener on the PORTs. Prints what it found.
assert_nothing_left() {
	local dir=$1 found p
	shift
	wait_for 30 no_processes_naming "$dir" || true
	"$HUTCH" ps -a >/dev/null 2>&1 || true
	found=$(
		processes_naming "$dir" | sed 's/^/process: /'
		store_leftovers
		grep -F -- "${dir%/}/" /proc/self/mountinfo | sed 's/^/mount: /'
		for p in "$@"; do
			port_closed "$p" || echo "listener: port $p"
		done
	)
	if [ -n "$found" ]; then
		echo "left behind:"
		echo "$found"
		echo "hutch ps -a:"
		"$HUTCH" ps -a 2>&1
		return 1
	fi
}

# step CMD...: CMD as a job step of a job of its own (srun), without input.
step() {
	srun -Q "$@" </dev/null
}

# alive PID: PID runs (a zombie does not).
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]
}

dead() {
	! alive "$1"
}

# job_output ID: what job ID printed (for failure messages).
job_output() {
	cat "$(dirname "$JOBS")/job-$1.out" 2>/dev/null
}

# await_marks ID NAME...: wait until every container NAME of job ID has
# written its mark; fail at once, with the job's output, if the job ends
# first (a container that could not start).
await_marks() {
	local id=$1 deadline=$((SECONDS + 60))
	shift
	until marked "$@"; do
		if job_ended "$id" || ((SECONDS >= deadline)); then
			marked "$@" && return 0
			echo "job $id: no mark from $* (state '$(job_state "$id")'); its output:"
			job_output "$id"
			return 1
		fi
		sleep 0.05
	done
}

# The command of a container that serves its name over HTTP on port 80
# (busybox httpd), with its page in its upper dir.
WEB_PAYLOAD='mkdir -p /www && echo "$0" >/www/index.html && touch "/sync/$0" && exec httpd -f -p 80 -h /www'
