// SPDX-License-Identifier: Apache-2.0
/* storage-kernel.c - the "kernel" storage driver: overlayfs mounted in the
 * container's user namespace
 *
 * Linux 5.11 lets the root of a user namespace mount overlayfs with
 * "userxattr": whiteouts and opaque markers then live in user.overlay.*,
 * which an unprivileged user may write. The container's setup child
 * mounts it (the driver is not from_host), so the mount belongs to the
 * container's mount namespace and dies with it; nothing serves it but the
 * kernel. The upper dir's filesystem must take user xattrs and be local:
 * the probe (hostcheck.c) tries a real mount in a throw-away namespace.
 *
 * Many layers. mount(2) takes its options in one page: with the lower
 * directories relative to the store (64 hex digits and "/diff" each) about
 * 57 layers fit. Linux 6.8's overlayfs takes lower directories one by one
 * through the new mount API (fsopen(2), fsconfig(2) "lowerdir+"), which has
 * no such limit; hutch uses it for an image whose options do not fit in a
 * page, where the kernel has it (probed once per process), and mount(2)
 * otherwise, as before. Where it has not, auto picks hutch-overlay for
 * that container (storage.c asks takes()), and an explicit kernel driver
 * says why it cannot. Rejected: stacking overlays of at most 57 layers
 * each (the kernel caps the stacking depth at 2, and each level costs a
 * mount per container), and always using the new API (kernels before 6.5
 * parse overlay's options as one string anyway).
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* The lower directories are given relative to their common parent (we
 * chdir there for the mount): the options must fit in one page, and 60
 * absolute store paths would not. */
static int options(const struct sbx_layers *l, char *opts, size_t size)
{
	size_t used;
	int n;

	if (l->upper)
		n = snprintf(opts, size,
			     "upperdir=%s,workdir=%s,userxattr,lowerdir=",
			     l->upper, l->work);
	else
		n = snprintf(opts, size, "userxattr,lowerdir=");
	for (char *const *p = l->lowers; n > 0 && *p; p++) {
		used = (size_t)n;
		if (used >= size)
			break;
		n += snprintf(opts + used, size - used, "%s%s",
			      p == l->lowers ? "" : ":", *p);
	}
	if (n < 0 || (size_t)n >= size)
		return -E2BIG;
	return 0;
}

/* In a child: can this kernel's overlayfs take lower directories one by
 * one? On kernels whose overlayfs still parses one option string (before
 * 6.5), fsconfig() accepts any key, so an unknown key must be refused too
 * for the answer to be yes. */
static int probe_append(const char *lower)
{
	int fd;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return 1;
	fd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fd < 0)
		return 1;
	if (fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", lower, 0) < 0)
		return 1;
	if (fsconfig(fd, FSCONFIG_SET_FLAG, "hutch-no-such-option", NULL, 0) ==
		    0 ||
	    errno != EINVAL)
		return 1;
	return 0;
}

/* Does the kernel take "lowerdir+" (Linux 6.8+)? Asked once per process,
 * in a child that makes a user namespace for it; @lower is a directory
 * overlayfs may use as a lower one. */
static bool appends_lowers(const char *lower)
{
	static int known = -1;
	int status;
	pid_t pid;

	if (known >= 0)
		return known;
	pid = fork();
	if (pid == 0)
		_exit(probe_append(lower));
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	known = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	cmn_debug("kernel overlay takes lowerdir+: %s", known ? "yes" : "no");
	return known;
}

static bool takes(const struct sbx_layers *l)
{
	char opts[4096];

	return options(l, opts, sizeof(opts)) == 0 ||
	       appends_lowers(l->lower_base);
}

static int probe(const char *dir, struct hutch_err *err)
{
	int ret = sbx_overlay_probe(dir);

	if (ret < 0)
		cmn_err_msg(
			err, -ret,
			"kernel overlayfs cannot be mounted in a user namespace with an upper dir in %s",
			dir);
	return ret;
}

static int prepare(const struct sbx_layers *l, struct hutch_err *err)
{
	size_t n = 0;

	if (takes(l))
		return 0;
	while (l->lowers[n])
		n++;
	return cmn_err_msg(
		err, E2BIG,
		"the kernel overlay cannot take this image's %zu layers on this kernel: mount(2) takes about 57, and Linux 6.8 and later any number; use --storage-driver fuse (or auto, which picks it)",
		n);
}

static int mount_failed(const char *target, int e, struct hutch_err *err)
{
	cmn_err_set(err, e,
		    "cannot mount the image's layers (kernel overlay) on %s",
		    target);
	cmn_err_fix(
		err,
		"run 'hutch info' to see whether this kernel allows overlay mounts in a user namespace, or use --storage-driver fuse");
	return -e;
}

/* The new mount API, one lower directory at a time (relative to the
 * working directory, as with mount(2)). */
static int mount_append(const struct sbx_layers *l, const char *target,
			struct hutch_err *err)
{
	cleanup_close int fd = fsopen("overlay", FSOPEN_CLOEXEC);
	cleanup_close int mnt = -1;
	int ret = fd < 0 ? -1 : 0;

	if (ret == 0)
		ret = fsconfig(fd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
	for (char *const *p = l->lowers; ret == 0 && *p; p++)
		ret = fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", *p, 0);
	if (ret == 0 && l->upper)
		ret = fsconfig(fd, FSCONFIG_SET_STRING, "upperdir", l->upper,
			       0);
	if (ret == 0 && l->upper)
		ret = fsconfig(fd, FSCONFIG_SET_STRING, "workdir", l->work, 0);
	if (ret == 0)
		ret = fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	if (ret == 0)
		ret = mnt = fsmount(fd, FSMOUNT_CLOEXEC,
				    l->upper ? 0 : MOUNT_ATTR_RDONLY);
	if (ret >= 0)
		ret = move_mount(mnt, "", AT_FDCWD, target,
				 MOVE_MOUNT_F_EMPTY_PATH);
	return ret < 0 ? mount_failed(target, errno, err) : 0;
}

static int mount_layers(const struct sbx_layers *l, const char *target,
			pid_t join, pid_t *daemon, struct hutch_err *err)
{
	char opts[4096];
	bool fits = options(l, opts, sizeof(opts)) == 0;
	int ret;

	(void)join; /* never from_host: called in the right namespaces */
	*daemon = -1;
	if (chdir(l->lower_base) < 0)
		return cmn_err_set(err, errno, "cannot enter %s",
				   l->lower_base);
	if (!fits)
		ret = mount_append(l, target, err);
	else if (mount("overlay", target, "overlay", l->upper ? 0 : MS_RDONLY,
		       opts) < 0)
		ret = mount_failed(target, errno, err);
	else
		ret = 0;
	if (ret < 0)
		return ret;
	return chdir("/") < 0 ? cmn_err_set(err, errno, "chdir /") : 0;
}

static void unmount_layers(const char *target, pid_t daemon)
{
	(void)daemon;
	/* A synchronous unmount; a busy one is detached. */
	if (target && umount2(target, 0) < 0)
		umount2(target, MNT_DETACH);
}

const struct sbx_storage_driver sbx_storage_kernel = {
	.info = { "kernel", "overlay", "kernel overlayfs" },
	.from_host = false,
	.probe = probe,
	.takes = takes,
	.prepare = prepare,
	.mount = mount_layers,
	.unmount = unmount_layers,
};
