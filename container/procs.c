// SPDX-License-Identifier: Apache-2.0
/* procs.c - a running container's processes, from /proc: for top and stats
 *
 * The container's processes are those whose pid namespace is that of its
 * pid 1. Counting comes from /proc/PID/stat (CPU ticks, RSS pages); where a
 * delegated cgroup exists it would be more exact, but most HPC and laptop
 * users have none, and /proc is always there.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container-internal.h"

static bool ns_of(pid_t pid, struct stat *st)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, st) == 0;
}

/* utime+stime (ticks), RSS (pages), the comm, from /proc/PID/stat. */
static bool read_stat(pid_t pid, struct ctr_proc *p)
{
	char path[64], buf[1024];
	cleanup_close int fd = -1;
	unsigned long long ut, st, start;
	long rss;
	ssize_t n;
	char *close_paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	close_paren = strrchr(buf, ')');
	if (!close_paren)
		return false;
	snprintf(p->comm, sizeof(p->comm), "%.*s",
		 (int)(close_paren - strchr(buf, '(') - 1),
		 strchr(buf, '(') + 1);
	/* Fields after the comm: state ppid ... utime(14) stime(15) ...
	 * starttime(22) vsize(23) rss(24). */
	if (sscanf(close_paren + 2,
		   "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %*u %ld",
		   &p->ppid, &ut, &st, &start, &rss) != 5)
		return false;
	p->ticks = ut + st;
	p->start_ticks = start;
	p->rss_pages = rss;
	return true;
}

static void read_uid(pid_t pid, struct ctr_proc *p)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	p->uid = stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

int ctr_container_procs(const struct ctr_container *c, struct ctr_proc **out,
			size_t *n, struct hutch_err *err)
{
	cleanup_dir DIR *d = opendir("/proc");
	struct stat target, st;
	struct ctr_proc *list = NULL;
	struct dirent *de;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (ctr_refuse_remote(c, "list the processes of", err) < 0)
		return -EREMOTE;
	if (c->status != CTR_RUNNING || !ns_of(c->init_pid, &target))
		return cmn_err_msg(err, EINVAL, "container %s is not running",
				   c->name);
	while (d && (de = readdir(d))) {
		uint64_t pid;
		struct ctr_proc p = { 0 }, *more;

		if (!cmn_parse_u64(de->d_name, INT32_MAX, &pid) ||
		    !ns_of((pid_t)pid, &st) || st.st_ino != target.st_ino ||
		    st.st_dev != target.st_dev)
			continue;
		p.pid = (pid_t)pid;
		if (!read_stat(p.pid, &p))
			continue;
		read_uid(p.pid, &p);
		more = realloc(list, (count + 1) * sizeof(*list));
		if (!more)
			break;
		list = more;
		list[count++] = p;
	}
	*out = list;
	*n = count;
	return 0;
}
