// SPDX-License-Identifier: Apache-2.0
/* child.c - the container's first process: wait for the id maps, build the
 * mount tree, start the command, then serve as its init
 *
 * Between clone and exec nothing may print or return: every failure goes to
 * the parent over the sync socket as one message (sbx_child_fail()), and the
 * parent reports it. See sandbox.c for the parent's half.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

static void noop_handler(int sig)
{
	(void)sig;
}

/* pid 1 of a namespace only receives signals it has handlers for; the
 * handlers never run (the signals stay blocked and are taken by
 * sigwaitinfo), they only make the kernel queue them. */
void sbx_prepare_signals(void)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	sigset_t set;

	sbx_init_signals(&set);
	sigaddset(&set, SIGCHLD);
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig))
			sigaction(sig, &sa, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* A terminal from the container's own devpts, so `tty` inside says
 * /dev/pts/0; the master goes to the parent, which relays it. */
int sbx_open_pty(const struct sbx_plan *plan, char *slave, size_t len,
		 bool console, struct hutch_err *err)
{
	struct sbx_msg msg = { .type = SBX_MSG_PTY };
	cleanup_close int master =
		open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int n, unlock = 0;

	if (master < 0)
		return cmn_err_set(err, errno, "cannot open /dev/pts/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
	    ioctl(master, TIOCGPTN, &n) < 0)
		return cmn_err_set(err, errno, "cannot set up the terminal");
	snprintf(slave, len, "/dev/pts/%d", n);
	ioctl(master, TIOCSWINSZ, &plan->winsize);
	/* /dev/console is the terminal too, as under Docker's -t. */
	if (console &&
	    cmn_write_fileat(AT_FDCWD, "/dev/console", "", 0, 0600) == 0 &&
	    mount(slave, "/dev/console", NULL, MS_BIND, NULL) < 0)
		cmn_debug("no /dev/console: %s", strerror(errno));
	if (sbx_msg_send(plan->sync, &msg, master) < 0)
		return cmn_err_set(err, errno,
				   "cannot pass the terminal to hutch");
	return 0;
}

static void setup(const struct sbx_plan *plan, char *slave, size_t len)
{
	struct hutch_err err = { 0 };
	int ret;

	if (setsid() < 0)
		cmn_err_set(&err, errno, "setsid");
	else if (plan->cfg->uts != SBX_SHARE_HOST &&
		 sethostname(plan->hostname, strlen(plan->hostname)) < 0)
		cmn_err_set(&err, errno, "cannot set the host name");
	else if (plan->cfg->network == SBX_NET_NONE &&
		 (ret = sbx_loopback_up()) < 0)
		cmn_err_set(&err, -ret,
			    "cannot bring up the loopback interface");
	else if (sbx_setup_rootfs(plan, &err) == 0 && plan->cfg->tty)
		sbx_open_pty(plan, slave, len, true, &err);
	if (err.msg[0])
		sbx_child_fail(plan->sync, CMN_EXIT_HUTCH, &err);
}

/* Close @lo..@hi; close_range(2) where the kernel has it (5.9). */
static void close_between(unsigned int lo, unsigned int hi)
{
	if (syscall(SYS_close_range, lo, hi, 0) == 0 || errno != ENOSYS)
		return;
	for (unsigned int fd = lo; fd <= hi && fd < 65536; fd++)
		close((int)fd);
}

void sbx_close_fds(const struct sbx_plan *plan)
{
	const struct sbx_config *cfg = plan->cfg;
	int keep[3] = { plan->sync, cfg->keep_fd, cfg->group_fd };
	int from = 3 + (cfg->preserve_fds > 0 ? cfg->preserve_fds : 0);

	/* Ascending, then close the gaps between the descriptors kept. */
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];

				keep[i] = keep[j];
				keep[j] = t;
			}
	for (int i = 0; i < 3; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from)
			close_between((unsigned int)from,
				      (unsigned int)keep[i] - 1);
		from = keep[i] + 1;
	}
	close_between((unsigned int)from, ~0U);
}

/* A joined group's container ends when its last member is done: its
 * first member's command may finish before the others' (MPI ranks do),
 * and the others run in this pid namespace. A child waits for the group's
 * lock, exclusively, which it gets once every other member has let go of
 * its shared one (died, or ended); pid 1 reaps and forwards meanwhile. */
static int wait_for_group(const struct sbx_plan *plan, int status)
{
	pid_t waiter;

	if (plan->cfg->group_fd < 3 || plan->join)
		return status;
	waiter = fork();
	if (waiter == 0) {
		while (flock(plan->cfg->group_fd, LOCK_EX) < 0 &&
		       errno == EINTR)
			;
		_exit(0);
	}
	if (waiter > 0)
		sbx_init_loop(waiter);
	return status;
}

void sbx_spawn_command(struct sbx_plan *plan, const char *slave)
{
	pid_t cmd;

	sbx_prepare_signals();
	cmd = fork();
	if (cmd < 0) {
		struct hutch_err err;

		cmn_err_set(&err, errno, "cannot start the command");
		sbx_child_fail(plan->sync, CMN_EXIT_HUTCH, &err);
	}
	if (cmd == 0)
		sbx_exec_command(plan, slave[0] ? slave : NULL);
	close(plan->sync);
	/* The parent of the command needs no privilege to reap, and only
	 * CAP_KILL to forward signals to a command that changed its uid; a
	 * process in the container must not find a capable process to
	 * attach to. It stays dumpable: `exec` opens its /proc/PID/ns, and
	 * with CAP_KILL alone there is nothing to gain by tracing it. */
	sbx_caps_keep_only(1ULL << CAP_KILL);
	/* With the host's pid namespace this is no pid 1: orphans of the
	 * command would go to the host's reaper. */
	if (plan->cfg->pid == SBX_SHARE_HOST && !plan->join)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	_exit(wait_for_group(plan, sbx_init_loop(cmd)));
}

void sbx_child_main(struct sbx_plan *plan)
{
	char slave[32] = "";
	struct sbx_msg msg;

	/* Die with hutch: a killed job must not leave a container behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "hutch-init");
	/* The command inherits 0, 1 and 2 from here: put the caller's
	 * descriptors there, then let nothing else of the host through. */
	for (int i = 0; plan->io && i < 3; i++)
		if (plan->io->stdio[i] >= 0 && plan->io->stdio[i] != i)
			dup2(plan->io->stdio[i], i);
	sbx_close_fds(plan);
	if (sbx_msg_recv(plan->sync, &msg, NULL) <= 0 || msg.type != SBX_MSG_GO)
		_exit(CMN_EXIT_HUTCH);
	setup(plan, slave, sizeof(slave));
	sbx_spawn_command(plan, slave);
}
