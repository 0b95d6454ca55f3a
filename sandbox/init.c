// SPDX-License-Identifier: Apache-2.0
/* init.c - pid 1 of the container: reap, forward signals, report the exit
 *
 * The kernel gives a pid namespace's init two duties a normal program does
 * not expect: every orphan of the namespace becomes its child (so it must
 * reap them, or zombies pile up), and signals without a handler are
 * dropped (so `python app.py` as pid 1 would ignore SIGTERM and `stop` would
 * have to SIGKILL it). That is why the user's command runs as pid 2 under
 * this loop rather than as pid 1: Docker users meet the first problem as
 * `--init`, the second as a ten-second `docker stop`.
 *
 * The loop is a sigwaitinfo() over blocked signals: no async handlers, no
 * races between a child's exit and a forwarded signal.
 */

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "sandbox/sandbox-internal.h"

void sbx_init_signals(sigset_t *set)
{
	static const int forwarded[] = { SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
					 SIGUSR1, SIGUSR2, SIGWINCH };

	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

/* Docker's convention: the code, or 128+N when signal N killed it. */
static int exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return CMN_EXIT_HUTCH;
}

/* Reap every exited child; true once @cmd is among them. */
static bool reap(pid_t cmd, int *status)
{
	bool done = false;
	int ws;
	pid_t pid;

	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
		if (pid == cmd) {
			*status = exit_status(ws);
			done = true;
		}
	return done;
}

int sbx_init_loop(pid_t cmd)
{
	int status = CMN_EXIT_HUTCH;
	sigset_t set;

	sbx_init_signals(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return CMN_EXIT_HUTCH;
		}
		if (sig == SIGCHLD) {
			if (reap(cmd, &status))
				return status;
			continue;
		}
		kill(cmd, sig);
	}
}
