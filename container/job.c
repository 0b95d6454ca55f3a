// SPDX-License-Identifier: Apache-2.0
/* job.c - detached containers in Slurm jobs: the process whose end is the
 * job's end
 *
 * A detached container's monitor leaves the process tree of whoever
 * started it (setsid, a second fork), which is what lets it outlive a
 * shell. Inside a Slurm job that is wrong: under proctrack/linuxproc Slurm
 * finds a job's processes by parentage, misses the monitor, and the
 * container (its published ports included) lives on after the job, on a
 * node that is now someone else's. So `run -d` and `start` in a job find
 * the job's anchor among their ancestors, the slurmstepd that runs the
 * step (or salloc, for an allocation's shell on a login node), and the
 * monitor holds a pidfd of it: when it exits, the job is over and the
 * container is killed. The anchor travels to the monitor as its pid and
 * start time, which the monitor checks before it opens the pidfd, so a
 * pid used again by another process is not taken for the anchor.
 * --outlive-job turns this off (under proctrack/cgroup Slurm kills the
 * whole cgroup anyway).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/container-internal.h"

/* The processes whose end ends the job. */
static const char *const anchors[] = { "slurmstepd", "salloc" };

/* @pid's parent and start time (clock ticks after boot), from
 * /proc/PID/stat: the fields after the command name, which may hold
 * spaces and parentheses itself. */
static int stat_of(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char path[64];
	cleanup_free char *text = NULL;
	char *p;
	int ppid_i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = cmn_read_fileat(AT_FDCWD, path, 4096, NULL);
	p = text ? strrchr(text, ')') : NULL;
	/* ") S PPID" then 18 more fields to starttime (field 22). */
	if (!p ||
	    sscanf(p + 1,
		   " %*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
		   &ppid_i, start) != 2)
		return -EINVAL;
	*ppid = (pid_t)ppid_i;
	return 0;
}

int ctr_start_time(pid_t pid, unsigned long long *start)
{
	pid_t ppid;

	return stat_of(pid, &ppid, start);
}

static bool is_anchor(pid_t pid)
{
	char path[64];
	cleanup_free char *comm = NULL;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm = cmn_read_fileat(AT_FDCWD, path, 64, NULL);
	if (!comm)
		return false;
	comm[strcspn(comm, "\n")] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(anchors); i++)
		if (!strcmp(comm, anchors[i]))
			return true;
	return false;
}

int ctr_job_anchor(struct ctr_anchor *a)
{
	pid_t pid = getppid(), ppid;
	unsigned long long start;

	if (!getenv("SLURM_JOB_ID"))
		return -ENOENT;
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		if (stat_of(pid, &ppid, &start) < 0)
			return -ESRCH;
		if (is_anchor(pid)) {
			a->pid = pid;
			a->start = start;
			return 0;
		}
		pid = ppid;
	}
	return -ENOENT;
}

/* Whether @pid's environment (as it was at its exec) names a PMI rank. */
static int has_pmi_rank(pid_t pid)
{
	char path[64];
	cleanup_free char *env = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	env = cmn_read_fileat(AT_FDCWD, path, 1 << 20, &len);
	if (!env)
		return -ESRCH;
	for (size_t i = 0; i < len; i += strlen(env + i) + 1)
		if (!strncmp(env + i, "PMI_RANK=", 9))
			return 1;
	return 0;
}

char *ctr_pmi_launcher_group(void)
{
	pid_t pid = getppid(), ppid;
	unsigned long long start;
	int rank;

	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		if (stat_of(pid, &ppid, &start) < 0)
			return NULL;
		rank = has_pmi_rank(pid);
		if (rank < 0)
			return NULL;
		if (!rank)
			return cmn_strdup_printf("pmi-%d-%llu", (int)pid,
						 start);
		pid = ppid;
	}
	return NULL;
}

int ctr_anchor_open(const struct ctr_anchor *a)
{
	unsigned long long start;
	pid_t ppid;
	int fd = (int)syscall(SYS_pidfd_open, a->pid, 0);

	if (fd < 0)
		return -errno;
	/* Checked after the pidfd is open: from here on it cannot be
	 * another process's, and the start time says it is the anchor. */
	if (stat_of(a->pid, &ppid, &start) < 0 || start != a->start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}
