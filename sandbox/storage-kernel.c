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
 */

#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* The lower directories are given relative to their common parent (we
 * chdir there for the mount): the options must fit in one page, and 60
 * absolute store paths would not. */
static int options(const struct sbx_layers *l, char *opts, size_t size,
		   struct hutch_err *err)
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
		return cmn_err_msg(
			err, E2BIG,
			"the image has too many layers for the kernel overlay's options; use --storage-driver fuse");
	return 0;
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
	char opts[4096];

	return options(l, opts, sizeof(opts), err);
}

static int mount_layers(const struct sbx_layers *l, const char *target,
			pid_t join, pid_t *daemon, struct hutch_err *err)
{
	char opts[4096];
	int ret = options(l, opts, sizeof(opts), err);
	int e;

	(void)join; /* never from_host: called in the right namespaces */
	*daemon = -1;
	if (ret < 0)
		return ret;
	if (chdir(l->lower_base) < 0)
		return cmn_err_set(err, errno, "cannot enter %s",
				   l->lower_base);
	if (mount("overlay", target, "overlay", l->upper ? 0 : MS_RDONLY,
		  opts) < 0) {
		e = errno;
		cmn_err_set(
			err, e,
			"cannot mount the image's layers (kernel overlay) on %s",
			target);
		cmn_err_fix(
			err,
			"run 'hutch info' to see whether this kernel allows overlay mounts in a user namespace, or use --storage-driver fuse");
		return -e;
	}
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
	.prepare = prepare,
	.mount = mount_layers,
	.unmount = unmount_layers,
};
