// SPDX-License-Identifier: Apache-2.0
/* storage-fuse.c - the "fuse" storage driver: hutch-overlay
 *
 * hutch starts the daemon once the container's setup child exists and its
 * id maps are written (the driver is from_host): it enters the container's
 * user and mount namespaces (not its pid namespace: the container cannot
 * see or signal it), mounts on the container's root and says so on a ready
 * pipe, then leaves the mount namespace (--exit-with-mntns) so that the
 * namespace dies with the container and takes the mount, and so the
 * daemon, with it. No stale mount survives kill -9 of anything. For a
 * mount in hutch's own namespaces (a build's COPY, hutch cp) it enters
 * none.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define READY_TIMEOUT_MS 30000

/* lowerdir=A:B[,upperdir=U,workdir=W]; lowers relative to the daemon's
 * working directory (the lower base), like the kernel mount's. */
static char *fuse_options(char *const *lowers, const char *upper,
			  const char *work, bool dir_renames)
{
	size_t len = sizeof("lowerdir=,upperdir=,workdir=,redirect_dir=on");
	char *opts, *p;

	for (char *const *l = lowers; *l; l++)
		len += strlen(*l) + 1;
	len += upper ? strlen(upper) + strlen(work) : 0;
	opts = malloc(len);
	if (!opts)
		return NULL;
	p = opts + sprintf(opts, "lowerdir=");
	for (char *const *l = lowers; *l; l++)
		p += sprintf(p, "%s%s", l == lowers ? "" : ":", *l);
	if (upper)
		p += sprintf(p, ",upperdir=%s,workdir=%s", upper, work);
	if (upper && dir_renames)
		sprintf(p, ",redirect_dir=on");
	return opts;
}

static int enter_namespaces(pid_t join)
{
	static const char *const ns[] = { "user", "mnt" };

	for (size_t i = 0; join > 0 && i < ARRAY_SIZE(ns); i++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)join,
			 ns[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, 0) < 0)
			return -errno;
		close(fd);
	}
	return 0;
}

/* Under keep-id the user's own id is not 0 in the container's user
 * namespace, and execve() would drop the capabilities that mounting and
 * serving other users' files need. Become root there, as under the other
 * mappings; where 0 is not mapped (keep-id with the single mapping, where
 * the user is alone) keep the capabilities across execve() instead. */
static int become_ns_root(void)
{
	if (getuid() == 0)
		return 0;
	if (setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	return sbx_caps_keep_over_exec();
}

/* The daemon's side of the fork: never returns. Its stderr goes to @log,
 * so that a failure to mount can be told in hutch's own error line; its
 * ready descriptor is 3. */
static void daemon_child(char *const argv[], const char *cwd, pid_t join,
			 int ready, int log)
{
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Not killed by the terminal's ^C with the container: it ends when
	 * its mount does. */
	setpgid(0, 0);
	if (dup2(ready, 3) < 0 || dup2(log, 2) < 0 || dup2(log, 1) < 0)
		_exit(127);
	e = enter_namespaces(join);
	if (e < 0)
		dprintf(2, "cannot enter the container's namespaces: %s\n",
			strerror(-e));
	else if (join > 0 && (e = become_ns_root()) < 0)
		dprintf(2,
			"cannot become root of the container's user namespace, nor keep the capabilities the mount needs: %s\n",
			strerror(-e));
	else if (chdir(cwd) < 0)
		dprintf(2, "cannot enter %s: %s\n", cwd, strerror(errno));
	else {
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	}
	_exit(127);
}

/* The daemon's last line of output, for the error message. */
static void tell_failure(int log, const char *path, const char *what,
			 const char *fix, struct hutch_err *err)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char text[1024];
	ssize_t n = pread(log, text, sizeof(text) - 1, 0);
	char *line, *end;

	text[n > 0 ? n : 0] = '\0';
	end = text + strlen(text);
	while (end > text && end[-1] == '\n')
		*--end = '\0';
	line = strrchr(text, '\n');
	line = line ? line + 1 : text;
	if (cmn_has_prefix(line, base) &&
	    cmn_has_prefix(line + strlen(base), ": "))
		line += strlen(base) + 2;
	cmn_err_msg(err, EIO, "cannot mount %s with %s: %s", what, path,
		    *line ? line : "it exited without a word");
	if (fix)
		cmn_err_fix(err, "%s", fix);
}

int sbx_fuse_daemon(char *const argv[], const char *cwd, pid_t join,
		    const char *what, const char *fix, int wait_ms,
		    pid_t *daemon, struct hutch_err *err)
{
	cleanup_close int log = -1;
	struct pollfd p = { -1, POLLIN, 0 };
	int fds[2];
	char byte;
	pid_t pid;

	*daemon = -1;
	log = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (log < 0)
		log = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return cmn_err_set(err, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fds[0]);
		close(fds[1]);
		return cmn_err_set(err, e, "fork");
	}
	if (pid == 0)
		daemon_child(argv, cwd, join, fds[1], log);
	close(fds[1]);
	p.fd = fds[0];
	while (poll(&p, 1, wait_ms) < 0 && errno == EINTR)
		;
	if ((p.revents & (POLLIN | POLLHUP)) && read(fds[0], &byte, 1) == 1) {
		close(fds[0]);
		*daemon = pid;
		return 0;
	}
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tell_failure(log, argv[0], what, fix, err);
	return -EIO;
}

static int mount_layers(const struct sbx_layers *l, const char *target,
			pid_t join, pid_t *daemon, struct hutch_err *err)
{
	cleanup_free char *path = NULL;
	cleanup_free char *opts =
		fuse_options(l->lowers, l->upper, l->work, l->dir_renames);
	int ret;

	*daemon = -1;
	ret = sbx_helper_path("HUTCH_OVERLAY", "hutch-overlay", &path, err);
	if (ret < 0) {
		cmn_err_prefix(err, "cannot mount the image's layers");
		return ret;
	}
	if (!opts)
		return cmn_err_set(err, ENOMEM, "overlay");
	return sbx_fuse_daemon(
		(char *[]){ path, "-f", "--ready-fd=3", "--exit-with-mntns",
			    "-o", opts, (char *)target, NULL },
		l->lower_base, join, "the image's layers",
		"run 'hutch info' to check /dev/fuse, or use --storage-driver kernel",
		READY_TIMEOUT_MS, daemon, err);
}

void sbx_fuse_reap(pid_t daemon)
{
	int ws;

	if (daemon <= 0)
		return;
	/* It exits once its mount is gone; a stuck one gets no mercy. */
	for (int i = 0; i < 500 && waitpid(daemon, &ws, WNOHANG) == 0; i++)
		poll(NULL, 0, 10);
	if (waitpid(daemon, &ws, WNOHANG) == 0) {
		kill(daemon, SIGKILL);
		waitpid(daemon, &ws, 0);
	}
}

static void unmount_layers(const char *target, pid_t daemon)
{
	/* A synchronous unmount: whatever the kernel still caches for the
	 * daemon reaches the upper dir before we go on. */
	if (target && umount2(target, 0) < 0)
		umount2(target, MNT_DETACH);
	sbx_fuse_reap(daemon);
}

/* /dev/fuse is all the daemon needs of the host; the mount itself is
 * tried for real when the container starts. */
static int probe(const char *dir, struct hutch_err *err)
{
	(void)dir;
	if (access("/dev/fuse", R_OK | W_OK) < 0)
		return cmn_err_set(err, errno,
				   "hutch-overlay cannot open /dev/fuse");
	return 0;
}

const struct sbx_storage_driver sbx_storage_fuse = {
	.info = { "fuse", "fuse-overlay", "hutch-overlay (FUSE)" },
	.from_host = true,
	.probe = probe,
	.prepare = NULL,
	.mount = mount_layers,
	.unmount = unmount_layers,
};
