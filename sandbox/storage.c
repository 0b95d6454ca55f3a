// SPDX-License-Identifier: Apache-2.0
/* storage.c - storage drivers: which overlay makes a container's root, and
 * starting hutch-overlay (FUSE) for it
 *
 * kernel: overlayfs mounted by the container's setup child in its user
 * namespace (Linux 5.11+, userxattr, a local filesystem for the upper).
 * fuse: hutch-overlay, started by the runner before the container goes on:
 * it enters the container's user and mount namespaces (not its pid
 * namespace: the container cannot see or signal it), mounts on the
 * container's root and says so on a ready pipe, then leaves the mount
 * namespace (--exit-with-mntns) so that the namespace dies with the
 * container and takes the mount, and so the daemon, with it. No stale
 * mount survives kill -9 of anything.
 * auto: kernel where a probe on the upper's filesystem passes, else fuse;
 * the verdict is cached in the runtime directory per filesystem and kernel.
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
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define READY_TIMEOUT_MS 30000

static const char *const names[] = { "auto", "kernel", "fuse" };

int sbx_storage_parse(const char *s, enum sbx_storage *out,
		      struct hutch_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum sbx_storage)i;
			return 0;
		}
	}
	return cmn_err_msg(
		err, EINVAL,
		"unknown storage driver \"%s\": use auto, kernel (overlayfs) or fuse (hutch-overlay)",
		s);
}

const char *sbx_storage_name(enum sbx_storage s)
{
	return (size_t)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* The cached verdict for the filesystem of @dir on this kernel, in the
 * runtime directory once it is known to be ours. */
static char *cache_path(const char *dir, char *release, size_t size)
{
	cleanup_free char *runtime = cmn_runtime_dir_open(NULL);
	struct utsname u;
	struct stat st;

	if (!runtime || stat(dir, &st) < 0 || uname(&u) < 0)
		return NULL;
	snprintf(release, size, "%s\n", u.release);
	return cmn_strdup_printf("%s/overlay-probe-%llx", runtime,
				 (unsigned long long)st.st_dev);
}

static enum sbx_storage pick(const char *dir)
{
	char release[sizeof(((struct utsname *)0)->release) + 1];
	cleanup_free char *cache = cache_path(dir, release, sizeof(release));
	cleanup_free char *seen =
		cache ? cmn_read_fileat(AT_FDCWD, cache, 256, NULL) : NULL;
	cleanup_free char *tmp = NULL;
	cleanup_free char *text = NULL;
	bool works;

	if (seen && cmn_has_prefix(seen, release))
		return strstr(seen + strlen(release), "kernel")
			       ? SBX_STORAGE_KERNEL
			       : SBX_STORAGE_FUSE;
	works = sbx_overlay_probe(dir) == 0;
	cmn_debug("kernel overlay in %s: %s", dir, works ? "works" : "no");
	text = cmn_strdup_printf("%s%s\n", release, works ? "kernel" : "fuse");
	tmp = cache ? cmn_strdup_printf("%s.%d", cache, (int)getpid()) : NULL;
	/* Best effort: without a cache the next container probes again. */
	if (text && tmp &&
	    cmn_write_fileat(AT_FDCWD, tmp, text, strlen(text), 0600) == 0 &&
	    rename(tmp, cache) < 0)
		unlink(tmp);
	return works ? SBX_STORAGE_KERNEL : SBX_STORAGE_FUSE;
}

enum sbx_storage sbx_storage_default(void)
{
	const char *env = getenv("HUTCH_STORAGE_DRIVER");
	enum sbx_storage s = SBX_STORAGE_AUTO;

	/* The command line checks the variable; here a bad value is auto. */
	if (env)
		sbx_storage_parse(env, &s, NULL);
	return s;
}

enum sbx_storage sbx_storage_pick(enum sbx_storage want, const char *dir)
{
	return want == SBX_STORAGE_AUTO ? pick(dir) : want;
}

enum sbx_storage sbx_storage_of(const struct sbx_config *cfg)
{
	cleanup_free char *dir = NULL;
	char *slash;

	if (!cfg->lowers || cfg->storage != SBX_STORAGE_AUTO)
		return cfg->storage;
	/* The upper's parent: the container's directory, on the filesystem
	 * that must take the upper dir's whiteouts and xattrs. */
	dir = strdup(cfg->upper ? cfg->upper : cfg->lower_base);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash && slash != dir)
		*slash = '\0';
	return dir ? pick(dir) : SBX_STORAGE_FUSE;
}

void sbx_storage_resolve(struct sbx_config *cfg)
{
	cfg->storage = sbx_storage_of(cfg);
}

/* ---- hutch-overlay ---------------------------------------------------------- */

/* lowerdir=A:B[,upperdir=U,workdir=W]; lowers relative to the daemon's
 * working directory (the lower base), like the kernel mount's. */
static char *fuse_options(char *const *lowers, const char *upper,
			  const char *work)
{
	size_t len = sizeof("lowerdir=,upperdir=,workdir=");
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
		sprintf(p, ",upperdir=%s,workdir=%s", upper, work);
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
 * so that a failure to mount can be told in hutch's own error line. */
static void daemon_child(const char *path, const char *lower_base,
			 const char *opts, const char *target, pid_t join,
			 int ready, int log)
{
	char *argv[] = { (char *)path,	      "-f", "--ready-fd=3",
			 "--exit-with-mntns", "-o", (char *)opts,
			 (char *)target,      NULL };
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
	else if (chdir(lower_base) < 0)
		dprintf(2, "cannot enter %s: %s\n", lower_base,
			strerror(errno));
	else {
		execvp(path, argv);
		dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
	}
	_exit(127);
}

/* The daemon's last line of output, for the error message. */
static void tell_failure(int log, const char *path, struct hutch_err *err)
{
	char text[1024];
	ssize_t n = pread(log, text, sizeof(text) - 1, 0);
	char *line, *end;

	text[n > 0 ? n : 0] = '\0';
	end = text + strlen(text);
	while (end > text && end[-1] == '\n')
		*--end = '\0';
	line = strrchr(text, '\n');
	line = line ? line + 1 : text;
	if (cmn_has_prefix(line, "hutch-overlay: "))
		line += strlen("hutch-overlay: ");
	cmn_err_msg(err, EIO, "cannot mount the image's layers with %s: %s",
		    path, *line ? line : "it exited without a word");
	cmn_err_fix(
		err,
		"run 'hutch info' to check /dev/fuse, or use --storage-driver kernel");
}

int sbx_fuse_mount(const char *lower_base, char *const *lowers,
		   const char *upper, const char *work, const char *target,
		   pid_t join, pid_t *daemon, struct hutch_err *err)
{
	cleanup_free char *path =
		sbx_helper_path("HUTCH_OVERLAY", "hutch-overlay");
	cleanup_free char *opts = fuse_options(lowers, upper, work);
	cleanup_close int log = -1;
	struct pollfd p = { -1, POLLIN, 0 };
	int fds[2];
	char byte;
	pid_t pid;

	*daemon = -1;
	if (!path || !opts)
		return cmn_err_set(err, ENOMEM, "overlay");
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
		daemon_child(path, lower_base, opts, target, join, fds[1], log);
	close(fds[1]);
	p.fd = fds[0];
	if (poll(&p, 1, READY_TIMEOUT_MS) > 0 && read(fds[0], &byte, 1) == 1) {
		close(fds[0]);
		*daemon = pid;
		return 0;
	}
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tell_failure(log, path, err);
	return -EIO;
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

int sbx_mount_layers(enum sbx_storage driver, const char *lower_base,
		     char *const *lowers, const char *upper, const char *work,
		     const char *target, pid_t *daemon, struct hutch_err *err)
{
	*daemon = -1;
	if (driver == SBX_STORAGE_FUSE)
		return sbx_fuse_mount(lower_base, lowers, upper, work, target,
				      0, daemon, err);
	return sbx_mount_overlay(lower_base, lowers, upper, work, target, err);
}

void sbx_unmount_layers(const char *target, pid_t daemon)
{
	/* A synchronous unmount: whatever the kernel still caches for the
	 * FUSE daemon reaches the upper dir before we go on. */
	if (umount2(target, 0) < 0)
		umount2(target, MNT_DETACH);
	sbx_fuse_reap(daemon);
}
