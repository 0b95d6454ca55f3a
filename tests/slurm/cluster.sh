#!/usr/bin/env bash
# tests/slurm/cluster.sh - a private one-node Slurm for the tests: munged,
# slurmctld and slurmd started by hand (there may be no systemd), as root.
#
# usage: tests/slurm/cluster.sh start [cgroup|linuxproc]   prints DIR
#        tests/slurm/cluster.sh status DIR
#        tests/slurm/cluster.sh stop DIR
#
# start makes DIR (mktemp, under /tmp) and everything lives there: a munge
# key of its own and munged on DIR/munge/socket, slurm.conf (and cgroup.conf
# for proctrack/cgroup), the controller's state, slurmd's spool, pid and log
# files. SlurmctldPort and SlurmdPort are free ports picked at random; the
# node is this machine with the CPUs and memory `slurmd -C` reports; one
# partition, "debug", lets up to 8 jobs share a core so that the tests can
# run jobs side by side on a small machine. The argument chooses
# ProctrackType (default cgroup): proctrack/cgroup keeps a job's processes
# in a freezer cgroup (cgroup v1 here: cgroup/v1 on /sys/fs/cgroup), so
# whatever a job leaves is killed with it; proctrack/linuxproc finds them
# through their parents, so a process that daemonizes escapes it. KillWait
# and MinJobAge are short, so that cancelled jobs end within seconds.
#
# Clients find the cluster through SLURM_CONF=DIR/slurm.conf (readable by
# every user, as is the munge socket). status says whether the three daemons
# run and the node answers; stop cancels every job, waits for their steps
# to end, stops the daemons by pid, removes the node's empty cgroups and
# DIR (HUTCH_SLURM_KEEP=1 keeps DIR, for its logs).
set -euo pipefail

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

# wait_until SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# free_port: the ports of slurmctld and slurmd
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.bash"

node_idle() {
	[ "$(SLURM_CONF=$1/slurm.conf sinfo -h -o %t 2>/dev/null)" = idle ]
}

pid_of() {
	[ -s "$1" ] && cat "$1"
}

alive() {
	local pid
	pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null
}

start_munge() {
	local m=$1/munge
	mkdir -m 0755 "$m"
	mungekey --create --keyfile="$m/munge.key" 2>/dev/null ||
		dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 status=none
	chmod 0600 "$m/munge.key"
	# munged refuses to run as root without --force; it warns and goes on.
	munged --force --socket="$m/socket" --key-file="$m/munge.key" \
		--pid-file="$m/munged.pid" --log-file="$m/munged.log" \
		--seed-file="$m/munged.seed" 2>>"$m/munged.log" ||
		die "munged did not start: $(tail -n 3 "$m/munged.log")"
	wait_until 10 test -S "$m/socket" || die "munged made no socket"
}

write_conf() {
	local dir=$1 proctrack=$2 host node
	host=$(hostname -s)
	# "NodeName=vm CPUs=2 Boards=1 ... RealMemory=N": this machine as is.
	node=$(slurmd -C | head -n 1)
	[[ $node == NodeName=* ]] || die "slurmd -C printed no node line"
	cat >"$dir/slurm.conf" <<EOF
# A one-node test cluster made by tests/slurm/cluster.sh; see its head.
ClusterName=hutchtest
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/socket
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/$proctrack
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=30
MessageTimeout=20
SlurmdTimeout=300
InactiveLimit=0
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
EOF
	: >"$dir/plugstack.conf"
	if [ "$proctrack" = cgroup ]; then
		# A cgroup v1 (or hybrid) machine: the freezer hierarchy under
		# /sys/fs/cgroup. No constraints: the tests need only tracking.
		cat >"$dir/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
CgroupAutomount=yes
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainSwapSpace=no
ConstrainDevices=no
EOF
	fi
	chmod 0644 "$dir"/*.conf
}

start() {
	local proctrack=${1:-cgroup} dir
	case $proctrack in
	cgroup|linuxproc) ;;
	*) die "unknown proctrack plugin '$proctrack' (cgroup or linuxproc)" ;;
	esac
	[ "$(id -u)" = 0 ] || die "start the cluster as root"
	for t in munged mungekey slurmctld slurmd sinfo ss; do
		command -v "$t" >/dev/null || die "missing $t: run tests/deps.sh"
	done
	dir=$(mktemp -d /tmp/hutch-slurm.XXXXXX)
	chmod 0755 "$dir"
	mkdir -m 0700 "$dir/ctld" "$dir/spool"
	start_munge "$dir"
	write_conf "$dir" "$proctrack"
	SLURM_CONF=$dir/slurm.conf slurmctld ||
		{ stop "$dir" >/dev/null 2>&1; die "slurmctld did not start: $(tail -n 3 "$dir/slurmctld.log")"; }
	SLURM_CONF=$dir/slurm.conf slurmd ||
		{ stop "$dir" >/dev/null 2>&1; die "slurmd did not start: $(tail -n 3 "$dir/slurmd.log")"; }
	if ! wait_until 60 node_idle "$dir"; then
		echo "cluster.sh: the node never became idle; slurmd.log:" >&2
		tail -n 10 "$dir/slurmd.log" >&2
		HUTCH_SLURM_KEEP=1 stop "$dir" >/dev/null 2>&1
		exit 1
	fi
	echo "$dir"
}

status() {
	local dir=$1 d st=0
	[ -f "$dir/slurm.conf" ] || die "$dir is not a cluster's directory"
	for d in munge/munged slurmctld slurmd; do
		if alive "$dir/$d.pid"; then
			echo "${d#munge/} running, pid $(pid_of "$dir/$d.pid")"
		else
			echo "${d#munge/} not running"
			st=1
		fi
	done
	SLURM_CONF=$dir/slurm.conf sinfo -h -o '%P %t %D %c %m' 2>&1 || st=1
	return "$st"
}

# no_steps DIR: no job step of this cluster runs: slurmd's spool holds a
# socket for each step's slurmstepd while it runs.
no_steps() {
	local f
	for f in "$1"/spool/*; do
		[ -S "$f" ] && return 1
	done
	return 0
}

no_jobs() {
	[ -z "$(SLURM_CONF=$1/slurm.conf squeue -h -o %i 2>/dev/null)" ]
}

# stop_pid PIDFILE: SIGTERM, then SIGKILL after 10 s.
stop_pid() {
	local pid
	pid=$(pid_of "$1") || return 0
	kill "$pid" 2>/dev/null || return 0
	wait_until 10 eval "! kill -0 $pid 2>/dev/null" && return 0
	kill -9 "$pid" 2>/dev/null || true
	wait_until 5 eval "! kill -0 $pid 2>/dev/null"
}

stop() {
	local dir=$1 jobs
	[ -f "$dir/slurm.conf" ] || die "$dir is not a cluster's directory"
	if alive "$dir/slurmctld.pid"; then
		jobs=$(SLURM_CONF=$dir/slurm.conf squeue -h -o %i 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -n "$jobs" ] && SLURM_CONF=$dir/slurm.conf scancel $jobs 2>/dev/null
		wait_until 30 no_jobs "$dir" || echo "cluster.sh: jobs still listed: $(SLURM_CONF=$dir/slurm.conf squeue -h -o %i | tr '\n' ' ')" >&2
	fi
	alive "$dir/slurmd.pid" && { wait_until 30 no_steps "$dir" || echo "cluster.sh: job steps still running" >&2; }
	stop_pid "$dir/slurmd.pid"
	stop_pid "$dir/slurmctld.pid"
	stop_pid "$dir/munge/munged.pid"
	# proctrack/cgroup's hierarchy for this node (cgroup/v1 names it
	# slurm_NODE), empty now; rmdir leaves it if anything still uses it.
	if [ -f "$dir/cgroup.conf" ]; then
		find /sys/fs/cgroup/*/"slurm_$(hostname -s)" -depth -type d \
			-exec rmdir {} + 2>/dev/null || true
	fi
	if [ -z "${HUTCH_SLURM_KEEP:-}" ]; then
		rm -rf "$dir"
	fi
}

case ${1:-} in
start) start "${2:-cgroup}" ;;
status) status "${2:?usage: $0 status DIR}" ;;
stop) stop "${2:?usage: $0 stop DIR}" ;;
*) sed -n '2,/^set -e/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
