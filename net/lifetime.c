// SPDX-License-Identifier: Apache-2.0
/* lifetime.c - hutch-net never outlives the container or its starter */

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "net/net-internal.h"

int net_life_pdeathsig(int sig, pid_t ppid)
{
	if (prctl(PR_SET_PDEATHSIG, sig) < 0)
		return -errno;
	/* The parent may have died before the prctl took effect. */
	if (getppid() != ppid)
		return -ESRCH;
	return 0;
}

unsigned long net_life_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

bool net_life_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int net_life_watch_pid(pid_t pid, bool *ticks)
{
	struct itimerspec its = { .it_interval.tv_sec = 1,
				  .it_value.tv_sec = 1 };
	int fd = syscall(SYS_pidfd_open, pid, 0);

	*ticks = false;
	if (fd >= 0 || errno != ENOSYS)
		return fd < 0 ? -errno : fd;
	if (!net_life_alive(pid))
		return -ESRCH;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	*ticks = true;
	return fd;
}
