// SPDX-License-Identifier: Apache-2.0
/* group.c - joined containers: the ranks of one MPI job on one node share
 * one container
 *
 * Theory of operation
 *
 * Shared memory between MPI ranks needs more than one image: POSIX shm
 * lives in /dev/shm (a tmpfs of the mount namespace), SysV segments in the
 * IPC namespace, and cross-memory attach (process_vm_readv, Open MPI's
 * vader, UCX) asks for ptrace rights, which a process of one user
 * namespace never has over one of a sibling namespace. So the members of a
 * group (`--join NAME`, or automatically the tasks of one Slurm step or of
 * one PMIx namespace on this node) run in one container: the first to
 * arrive creates it as `run` does, the others enter its namespaces as
 * `exec` does (Pyxis's model: one container per node and step, tasks join
 * it). Each member keeps its own record, command, environment and exit
 * status.
 *
 * The group is two files in the runtime directory, groups/NAME.door and
 * groups/NAME.lock:
 *  - the door is a mutex for arrivals: a member takes it exclusively,
 *    and reads the lock file, which holds "PID START IMAGE" of the
 *    container's pid 1 once it runs. A running pid of that start time whose
 *    lock it can hold shared makes it a joiner: it takes the lock shared
 *    and lets go of the door. Otherwise it is the creator: it makes a new
 *    lock file, holds it shared, and keeps the door closed until its
 *    command runs and the file names its pid 1. A creator that dies drops
 *    the door with it, and the next arrival creates.
 *  - every member holds the lock shared while it runs; the creator's pid 1
 *    holds it too (the same open file), and after its own command it waits
 *    for the lock exclusively: it gets it when every other member has let
 *    go (ended, or died: the kernel drops the lock of a killed process),
 *    so the container outlives none of them and none of them waits on a
 *    process that is gone.
 *  - whoever gets the lock exclusively on its way out is the last: behind
 *    the door it removes both files. An arrival that opened the door before
 *    that finds, once it holds it, that the path no longer names its file,
 *    and starts over.
 * No count of members is needed, unlike Charliecloud's --join, whose
 * winner must know when every peer has joined to remove its semaphore:
 * here the kernel's lock counts. Nothing is left in the runtime directory
 * after the last member, and the group's /dev/shm and IPC namespace go
 * with the container.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container-internal.h"

/* Names come from the environment: keep them one path component. */
static char *lock_path(const char *name, struct hutch_err *err)
{
	cleanup_free char *rt = cmn_runtime_dir_open(err);
	cleanup_free char *dir = NULL;
	cleanup_free char *safe = strdup(name);

	if (!rt || !safe)
		return NULL;
	for (char *p = safe; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-",
			    *p))
			*p = '_';
	dir = cmn_strdup_printf("%s/groups", rt);
	if (!dir || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		cmn_err_set(err, errno, "cannot create %s", dir ? dir : rt);
		return NULL;
	}
	return cmn_strdup_printf("%s/%s.lock", dir, safe);
}

static int lock(int fd, int how)
{
	while (flock(fd, how) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Does @fd still hold the file @path names? */
static bool still_named(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The running pid 1 the file names, with the image it runs, or 0. */
static pid_t recorded_init(int fd, char *image, size_t len)
{
	char buf[4096], fmt[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	unsigned long long start, now;
	int pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	snprintf(fmt, sizeof(fmt), "%%d %%llu %%%zus", len - 1);
	if (sscanf(buf, fmt, &pid, &start, image) != 3 || pid <= 1 ||
	    ctr_start_time(pid, &now) < 0 || now != start)
		return 0;
	return pid;
}

/* @path with ".lock" replaced by ".door". */
static char *door_path(const char *lock_file)
{
	return cmn_strdup_printf("%.*s.door",
				 (int)(strlen(lock_file) - strlen(".lock")),
				 lock_file);
}

/* Hold the door of @g exclusively: Return: its descriptor or -errno. */
static int open_door(const struct ctr_group *g)
{
	cleanup_free char *path = door_path(g->path);

	if (!path)
		return -ENOMEM;
	for (;;) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0)
			return -errno;
		if (lock(fd, LOCK_EX) == 0 && still_named(fd, path))
			return fd;
		close(fd);
	}
}

/* Behind the door: join the running container the lock file names. */
static bool try_join(struct ctr_group *g, char *image, size_t len)
{
	int fd = open(g->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	g->init = recorded_init(fd, image, len);
	/* Held exclusively: its pid 1 is ending the container. */
	if (g->init && flock(fd, LOCK_SH | LOCK_NB) == 0) {
		g->fd = fd;
		return true;
	}
	g->init = 0;
	close(fd);
	return false;
}

/* Behind the door: a new lock file, held shared. */
static int create(struct ctr_group *g)
{
	unlink(g->path);
	g->fd = open(g->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (g->fd < 0)
		return -errno;
	return lock(g->fd, LOCK_SH);
}

int ctr_group_enter(struct ctr_group *g, const char *name, const char *image,
		    struct hutch_err *err)
{
	char theirs[2048];
	int ret;

	g->fd = g->door = -1;
	g->init = 0;
	g->path = lock_path(name, err);
	if (!g->path)
		return err->msg[0] ? -EIO : -ENOMEM;
	g->door = open_door(g);
	if (g->door < 0)
		return cmn_err_set(err, -g->door, "cannot open the door of %s",
				   g->path);
	if (!try_join(g, theirs, sizeof(theirs))) {
		ret = create(g);
		return ret < 0 ? cmn_err_set(err, -ret, "cannot create %s",
					     g->path)
			       : 0;
	}
	close(g->door);
	g->door = -1;
	if (strcmp(theirs, image) != 0) {
		size_t n = strcspn(image, ";");

		if (strncmp(theirs, image, n) == 0 && theirs[n] == ';')
			return cmn_err_msg(
				err, EINVAL,
				"cannot join group \"%s\": its container was made with other -v, --mount, --tmpfs, --device, --gpus, --read-only or --shm-size options than these; give every member the same ones, or --join none to run alone",
				name);
		return cmn_err_msg(
			err, EINVAL,
			"cannot join group \"%s\": its container runs %.*s, not %.*s; give every member the same image, another --join name, or --join none",
			name, (int)strcspn(theirs, ";"), theirs, (int)n, image);
	}
	return 0;
}

int ctr_group_publish(struct ctr_group *g, pid_t init, const char *image)
{
	unsigned long long start;
	cleanup_free char *line = NULL;
	int ret = 0;

	if (ctr_start_time(init, &start) < 0)
		ret = -ESRCH;
	line = ret ? NULL
		   : cmn_strdup_printf("%d %llu %s\n", (int)init, start, image);
	if (!ret && !line)
		ret = -ENOMEM;
	if (!ret &&
	    pwrite(g->fd, line, strlen(line), 0) != (ssize_t)strlen(line))
		ret = -EIO;
	/* Open the door: the next arrival joins, or creates if this failed. */
	if (g->door >= 0)
		close(g->door);
	g->door = -1;
	return ret;
}

void ctr_group_leave(struct ctr_group *g)
{
	if (g->door >= 0)
		close(g->door);
	g->door = -1;
	if (g->fd >= 0 && g->path && flock(g->fd, LOCK_EX | LOCK_NB) == 0) {
		cleanup_free char *door = door_path(g->path);
		cleanup_close int d = open_door(g);
		char *slash;

		if (still_named(g->fd, g->path))
			unlink(g->path);
		if (d >= 0 && door)
			unlink(door);
		slash = strrchr(g->path, '/');
		*slash = '\0';
		rmdir(g->path); /* fails while another group has a file */
	}
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	g->init = 0;
	free(g->path);
	g->path = NULL;
}
