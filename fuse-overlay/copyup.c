// SPDX-License-Identifier: Apache-2.0
/* copyup.c - bring a lower object into the upper layer before it changes
 *
 * Any change to an object that lives in a lower layer (a write, chmod,
 * chown, utimes, an xattr, a rename, a new link) first copies it up: its
 * parents are copied up (as directories with the same mode, owner, times
 * and xattrs), then the object is rebuilt in the workdir (data, owner,
 * mode, xattrs, times, in that order: chown clears setuid bits and writes
 * clear capabilities) and renamed into place in one step, so that a crash
 * leaves either the lower object or a complete copy. The parent's times
 * are restored afterwards, as the kernel's overlayfs does.
 *
 * Data is copied with copy_file_range(2) (a reflink on filesystems that
 * share extents, an in-kernel copy elsewhere), skipping holes, so that a
 * sparse 10 GiB file copies in the time its data takes. An open with
 * O_TRUNC skips the data altogether (OVL_CU_NODATA).
 *
 * Each node's lock serialises its copy-up; parents are copied up while
 * the child's lock is held (lock order child before parent). The final
 * rename runs under fs->ns_lock and only if the node still has the name
 * it had when we started (a concurrent unlink wins).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

/* Is @name an xattr the overlay keeps for itself (not copied, not shown)?
 * Escaped ones ("user.overlay.overlay.*") belong to the user. */
static bool private_xattr(const char *name)
{
	const char *rest = NULL;

	if (cmn_has_prefix(name, OVL_XATTR_USER))
		rest = name + sizeof(OVL_XATTR_USER) - 1;
	else if (cmn_has_prefix(name, OVL_XATTR_TRUST))
		rest = name + sizeof(OVL_XATTR_TRUST) - 1;
	return rest && !cmn_has_prefix(rest, OVL_XATTR_ESCAPE);
}

static int copy_one_xattr(int src, int dst, const char *name)
{
	char stackbuf[4096];
	cleanup_free char *heap = NULL;
	char *buf = stackbuf;
	ssize_t n = fgetxattr(src, name, buf, sizeof(stackbuf));

	if (n < 0 && errno == ERANGE) {
		n = fgetxattr(src, name, NULL, 0);
		heap = n > 0 ? malloc(n) : NULL;
		if (!heap)
			return n < 0 ? -errno : -ENOMEM;
		buf = heap;
		n = fgetxattr(src, name, buf, n);
	}
	if (n < 0)
		return errno == ENODATA ? 0 : -errno;
	if (fsetxattr(dst, name, buf, n, 0) < 0) {
		/* Only user xattrs must survive; security labels and ACLs
		 * the upper cannot hold are dropped, as the kernel does for
		 * EOPNOTSUPP. */
		if (cmn_has_prefix(name, "user.") ||
		    (errno != EOPNOTSUPP && errno != EPERM))
			return -errno;
	}
	return 0;
}

int ovl_copy_xattrs(int src, int dst)
{
	ssize_t len = flistxattr(src, NULL, 0);
	cleanup_free char *names = NULL;

	if (len < 0)
		return errno == EOPNOTSUPP || errno == ENOTSUP ? 0 : -errno;
	if (len == 0)
		return 0;
	names = malloc(len);
	if (!names)
		return -ENOMEM;
	len = flistxattr(src, names, len);
	if (len < 0)
		return -errno;
	for (char *p = names; p < names + len; p += strlen(p) + 1) {
		int r;

		if (private_xattr(p))
			continue;
		r = copy_one_xattr(src, dst, p);
		if (r < 0)
			return r;
	}
	return 0;
}

static int copy_range_rw(int in, int out, off_t pos, off_t end)
{
	static const size_t bufsize = 1 << 20;
	cleanup_free char *buf = malloc(bufsize);

	if (!buf)
		return -ENOMEM;
	while (pos < end) {
		size_t want = end - pos > (off_t)bufsize ? bufsize
							 : (size_t)(end - pos);
		ssize_t n = pread(in, buf, want, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w =
				pwrite(out, buf + done, n - done, pos + done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			done += w;
		}
		pos += n;
	}
	return 0;
}

static int copy_range(int in, int out, off_t pos, off_t end)
{
	while (pos < end) {
		loff_t ip = pos, op = pos;
		ssize_t n = copy_file_range(in, &ip, out, &op, end - pos, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
			      errno == ENOSYS || errno == EOPNOTSUPP))
			return copy_range_rw(in, out, pos, end);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		pos += n;
	}
	return 0;
}

/* Copy the data of @in into @out, leaving holes where @in has them. */
static int copy_data(int in, int out, off_t size)
{
	off_t pos = 0;

	while (pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;
		int r;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole remains */
		if (data < 0)
			data = pos; /* no SEEK_DATA here: copy everything */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		r = copy_range(in, out, data, hole);
		if (r < 0)
			return r;
		pos = hole;
	}
	if (ftruncate(out, size) < 0)
		return -errno;
	return 0;
}

/* Owner, mode, times of @tmp in the workdir; xattrs through @fd (-1 for
 * symlinks and special files, which cannot hold user xattrs). */
static int set_meta(struct ovl_fs *fs, const char *tmp, int src_fd, int fd,
		    const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int r;

	if (fchownat(fs->workfd, tmp, st->st_uid, st->st_gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		/* An unprivileged daemon cannot give files away: the copy
		 * stays its own. As root, fail as the kernel does. */
		if (fs->euid == 0)
			return errno == EINVAL ? -EOVERFLOW : -errno;
	}
	if (!S_ISLNK(st->st_mode) &&
	    fchmodat(fs->workfd, tmp, st->st_mode & 07777, 0) < 0)
		return -errno;
	if (fd >= 0 && src_fd >= 0) {
		r = ovl_copy_xattrs(src_fd, fd);
		if (r < 0)
			return r;
	}
	if (utimensat(fs->workfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int open_src(struct ovl_fs *fs, int layer, const char *path, int flags)
{
	int fd = ovl_openat(fs->layers[layer].fd, path,
			    flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

static int make_reg(struct ovl_fs *fs, int layer, const char *src,
		    const char *tmp, const struct stat *st, int flags)
{
	cleanup_close int in = open_src(fs, layer, src, O_RDONLY);
	cleanup_close int out = -1;
	int r;

	if (in < 0)
		return in;
	out = openat(fs->workfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		     0600);
	if (out < 0)
		return -errno;
	r = (flags & OVL_CU_NODATA) ? 0 : copy_data(in, out, st->st_size);
	if (r == 0)
		r = set_meta(fs, tmp, in, out, st);
	return r;
}

static int make_dir(struct ovl_fs *fs, int layer, const char *src,
		    const char *tmp, const struct stat *st)
{
	cleanup_close int in = open_src(fs, layer, src, O_RDONLY | O_DIRECTORY);
	cleanup_close int out = -1;

	if (in < 0)
		return in;
	if (mkdirat(fs->workfd, tmp, 0700) < 0)
		return -errno;
	out = openat(fs->workfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out < 0)
		return -errno;
	return set_meta(fs, tmp, in, out, st);
}

static int make_other(struct ovl_fs *fs, int layer, const char *src,
		      const char *tmp, const struct stat *st)
{
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX + 1];
		ssize_t n = ovl_readlinkat(fs->layers[layer].fd, src, target,
					   sizeof(target));

		if (n < 0)
			return -errno;
		if (n >= (ssize_t)sizeof(target))
			return -ENAMETOOLONG;
		target[n] = '\0';
		if (symlinkat(target, fs->workfd, tmp) < 0)
			return -errno;
	} else if (mknodat(fs->workfd, tmp, st->st_mode, st->st_rdev) < 0) {
		return -errno;
	}
	return set_meta(fs, tmp, -1, -1, st);
}

/* Rename the finished copy @tmp into the upper directory @dfd as @name,
 * if @n is still called that; point @n at it. */
static int install(struct ovl_fs *fs, struct ovl_node *n,
		   struct ovl_node *parent, int dfd, const char *name,
		   const char *tmp, nlink_t lower_nlink)
{
	struct stat st;
	int r = 0;

	pthread_mutex_lock(&fs->ns_lock);
	if (!ovl_node_has_name(fs, n, parent, name))
		r = -ENOENT; /* unlinked meanwhile */
	else if (renameat(fs->workfd, tmp, dfd, name) < 0)
		r = -errno;
	else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0) {
		/* Keep the inode number, unless the lower file had other
		 * links that stay behind with it (then two objects would
		 * share it). */
		if (S_ISDIR(st.st_mode) || lower_nlink <= 1)
			ovl_inomap_add(fs, st.st_dev, st.st_ino, n->st_ino);
		ovl_node_set_upper(fs, n, st.st_dev, st.st_ino);
	}
	pthread_mutex_unlock(&fs->ns_lock);
	return r;
}

/* Not inlined: ovl_copy_up() recurses once per parent to copy up, and its
 * frame stays small without this one's (the paths are on the heap). */
__attribute__((noinline)) static int copy_up_locked(struct ovl_fs *fs,
						    struct ovl_node *n,
						    struct ovl_node *parent,
						    const char *name, int flags)
{
	cleanup_free char *src = NULL, *dir = NULL;
	char tmp[64];
	cleanup_close int dfd = -1;
	struct stat st, pst;
	int layer, r;

	r = ovl_node_path(fs, n, &src, &layer);
	if (r == 0)
		r = ovl_node_path(fs, parent, &dir, NULL);
	if (r < 0)
		return r;
	if (ovl_fstatat(fs->layers[layer].fd, src, &st, AT_SYMLINK_NOFOLLOW) <
	    0)
		return -errno;
	dfd = ovl_openat(fs->layers[OVL_UPPER].fd, dir,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &pst) < 0)
		return -errno;
	ovl_tmpname(fs, tmp, sizeof(tmp));
	ovl_loop_may_block();
	if (S_ISREG(st.st_mode))
		r = make_reg(fs, layer, src, tmp, &st, flags);
	else if (S_ISDIR(st.st_mode))
		r = make_dir(fs, layer, src, tmp, &st);
	else
		r = make_other(fs, layer, src, tmp, &st);
	if (r == 0)
		r = install(fs, n, parent, dfd, name, tmp, st.st_nlink);
	if (r < 0) {
		ovl_rmtree_at(fs, fs->workfd, tmp);
		return r;
	}
	/* Adding the entry changed the parent's times: put them back. */
	struct timespec ts[2] = { pst.st_atim, pst.st_mtim };

	futimens(dfd, ts);
	/* A directory now merged reports one link (attr.c): the kernel
	 * cached the old count, and nothing else tells it. */
	if (S_ISDIR(st.st_mode) && fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, ovl_node_id(fs, n), -1,
						 0);
	return 0;
}

int ovl_copy_up(struct ovl_fs *fs, struct ovl_node *n, int flags)
{
	struct ovl_node *parent;
	char name[NAME_MAX + 1];
	int r;

	if (!fs->has_upper)
		return -EROFS;
	if (ovl_node_is_upper(fs, n))
		return 0;
	pthread_mutex_lock(&n->lock);
	if (ovl_node_is_upper(fs, n)) {
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	parent = ovl_node_parent_get(fs, n, name, sizeof(name));
	if (!parent) {
		pthread_mutex_unlock(&n->lock);
		return -ENOENT;
	}
	r = ovl_copy_up(fs, parent, 0);
	if (r == 0)
		r = copy_up_locked(fs, n, parent, name, flags);
	pthread_mutex_unlock(&n->lock);
	ovl_node_put(fs, parent);
	return r;
}
