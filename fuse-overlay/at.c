// SPDX-License-Identifier: Apache-2.0
/* at.c - a private working directory per worker thread; long paths
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
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sched.h>
#include <stdarg.h>
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

/* ---- paths longer than one system call takes ----------------------------
 *
 * PATH_MAX bounds the path of one system call, not the depth of a tree: the
 * kernel's overlayfs works at any depth reachable from some working
 * directory, and so must we. Paths relative to a layer root are built into
 * heap buffers sized to them (ovl_node_path(), no maximum; the caller frees
 * them); one that does not fit a system call is resolved by opening its
 * parent one component at a time, each with O_NOFOLLOW (a symlink in a
 * component is never followed), and the *at() call is made on the last
 * component. A path that fits costs one strnlen and nothing more.
 *
 * Why paths and not a descriptor cached per directory node: nearly every
 * path fits PATH_MAX and needs no descriptor at all; a cached one per
 * directory and layer would hold thousands of descriptors open on the
 * trees a container walks (RLIMIT_NOFILE), and renames and copy-ups would
 * have to keep them true. The walk costs O(depth) openat calls, paid only
 * by the rare path beyond PATH_MAX.
 */

static bool is_long(const char *path)
{
	return strnlen(path, PATH_MAX) >= PATH_MAX;
}

int ovl_at_parent(int dirfd, const char **path)
{
	const char *p = *path, *slash;
	char comp[NAME_MAX + 1];
	int fd = dirfd;

	while ((slash = strchr(p, '/')) != NULL) {
		size_t len = (size_t)(slash - p);
		int next;

		if (len > NAME_MAX) {
			if (fd != dirfd)
				close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p = slash + 1;
		if (len == 0)
			continue;
		next = openat(fd, comp,
			      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd != dirfd) {
			int e = errno;

			close(fd);
			errno = e;
		}
		if (next < 0)
			return -1;
		fd = next;
	}
	if (fd == dirfd) { /* one component: it cannot be this long */
		errno = ENAMETOOLONG;
		return -1;
	}
	*path = p;
	return fd;
}

static void close_keep_errno(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
}

/* Run @call with (dirfd, path) made short enough: the wrappers below. */
#define LONG_AT(dirfd, path, call)                  \
	do {                                        \
		int pfd_;                           \
		__typeof__(call) r_;                \
		if (!is_long(path))                 \
			return call;                \
		pfd_ = ovl_at_parent(dirfd, &path); \
		if (pfd_ < 0)                       \
			return -1;                  \
		dirfd = pfd_;                       \
		r_ = call;                          \
		close_keep_errno(pfd_);             \
		return r_;                          \
	} while (0)

int ovl_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	LONG_AT(dirfd, path, fstatat(dirfd, path, st, flags));
}

int ovl_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	LONG_AT(dirfd, path, openat(dirfd, path, flags, mode));
}

ssize_t ovl_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	LONG_AT(dirfd, path, readlinkat(dirfd, path, buf, size));
}

int ovl_unlinkat(int dirfd, const char *path, int flags)
{
	LONG_AT(dirfd, path, unlinkat(dirfd, path, flags));
}

int ovl_utimensat(int dirfd, const char *path, const struct timespec ts[2],
		  int flags)
{
	LONG_AT(dirfd, path, utimensat(dirfd, path, ts, flags));
}

int ovl_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	LONG_AT(dirfd, path, fchmodat(dirfd, path, mode, flags));
}

int ovl_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	LONG_AT(dirfd, path, fchownat(dirfd, path, uid, gid, flags));
}

int ovl_linkat(int odirfd, const char *opath, int ndirfd, const char *npath,
	       int flags)
{
	LONG_AT(odirfd, opath, linkat(odirfd, opath, ndirfd, npath, flags));
}

int ovl_chdir_at(struct ovl_fs *fs, int layer, const char **path)
{
	int pfd, r;

	if (!is_long(*path))
		return ovl_chdir_layer(fs, layer);
	pfd = ovl_at_parent(fs->layers[layer].fd, path);
	if (pfd < 0)
		return -errno;
	r = ovl_chdir_fd(pfd);
	close(pfd);
	return r;
}

DIR *ovl_opendirat(int dirfd, const char *path, int flags)
{
	int fd = ovl_openat(dirfd, path,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0)
		close_keep_errno(fd);
	return d;
}
