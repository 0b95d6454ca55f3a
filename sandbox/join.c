// SPDX-License-Identifier: Apache-2.0
/* join.c - `exec`: a new process in a running container's namespaces
 *
 * hutch forks a child that opens /proc/PID/ns/ of the container's pid 1,
 * joins the user namespace first (as the user that owns it, it may; and
 * then holds the capabilities it needs for the rest), then the mount, pid,
 * uts, ipc, net and cgroup namespaces that differ from its own (with
 * --network host the container shares hutch's network namespace, and
 * joining it again would need privilege over the host's). Joining the
 * mount namespace puts it in the container's root. From there it is the
 * same as a container's first process: an optional terminal from the
 * container's devpts, then a fork into the pid namespace for the command
 * (sbx_exec_command: user, capabilities, no_new_privs, the container's
 * seccomp profile), and a reaping, forwarding parent.
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

static const struct {
	const char *name;
	int type;
} namespaces[] = {
	{ "user", CLONE_NEWUSER },
	{ "mnt", CLONE_NEWNS },
	/* pid_for_children: the same as pid for a container's pid 1; a
	 * joined group's member (sbx_run_in()) is outside the pid namespace
	 * its command was forked into. */
	{ "pid_for_children", CLONE_NEWPID },
	{ "uts", CLONE_NEWUTS },
	{ "ipc", CLONE_NEWIPC },
	{ "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP },
};

static bool same_ns(const char *name, int fd)
{
	char self[64];
	struct stat a, b;

	snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
	return stat(self, &a) == 0 && fstat(fd, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int join(pid_t pid, struct hutch_err *err)
{
	int fds[ARRAY_SIZE(namespaces)];

	/* All open before the first setns: /proc/PID is the host's view,
	 * and the pid may not be reachable by path once we moved. */
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid,
			 namespaces[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 && errno != ENOENT)
			return cmn_err_set(
				err, errno,
				"cannot open %s (has the container stopped?)",
				path);
		if (fds[i] >= 0 && same_ns(namespaces[i].name, fds[i])) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], namespaces[i].type) < 0)
			return cmn_err_set(
				err, errno,
				"cannot join the container's %s namespace",
				namespaces[i].name);
		close(fds[i]);
	}
	return chdir("/") < 0 ? cmn_err_set(err, errno, "chdir /") : 0;
}

void sbx_join_main(struct sbx_plan *plan)
{
	struct hutch_err err = { 0 };
	char slave[32] = "";
	struct sbx_msg msg;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sbx_close_fds(plan);
	if (sbx_msg_recv(plan->sync, &msg, NULL) <= 0 || msg.type != SBX_MSG_GO)
		_exit(CMN_EXIT_HUTCH);
	if (join(plan->join, &err) < 0 || setsid() < 0 ||
	    (plan->cfg->tty &&
	     sbx_open_pty(plan, slave, sizeof(slave), false, &err) < 0))
		sbx_child_fail(plan->sync, CMN_EXIT_HUTCH, &err);
	sbx_spawn_command(plan, slave);
}
