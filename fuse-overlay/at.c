// SPDX-License-Identifier: Apache-2.0
/* at.c - a private working directory per worker thread
 *
 * Paths are resolved relative to each layer's root descriptor. Most system
 * calls take a directory descriptor (fstatat, openat, ...), but the xattr
 * calls before Linux 6.13 and truncate(2) take only a path. Rather than
 * going through /proc/self/fd (which may not be mounted, or may belong to
 * another pid namespace once the container's root is pivoted), each
 * worker thread unshares its filesystem context (CLONE_FS: cwd, root,
 * umask) once and changes into the layer it needs. The layer roots stay
 * open for the daemon's life, so the thread remembers which one it is in
 * and skips the fchdir when it is already there.
 */

#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

static __thread bool tls_private;
static __thread int tls_cwd = -1; /* the layer root we are in, or -1 */

static int make_private(void)
{
	if (tls_private)
		return 0;
	if (unshare(CLONE_FS) < 0)
		return -errno;
	tls_private = true;
	return 0;
}

int ovl_chdir_layer(struct ovl_fs *fs, int layer)
{
	int fd = fs->layers[layer].fd;
	int r = make_private();

	if (r < 0)
		return r;
	if (tls_cwd == fd)
		return 0;
	if (fchdir(fd) < 0)
		return -errno;
	tls_cwd = fd;
	return 0;
}

int ovl_chdir_fd(int fd)
{
	int r = make_private();

	if (r < 0)
		return r;
	tls_cwd = -1; /* @fd may be closed and its number reused */
	if (fchdir(fd) < 0)
		return -errno;
	return 0;
}

void ovl_chdir_forget(void)
{
	tls_cwd = -1;
}
