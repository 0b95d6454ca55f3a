// SPDX-License-Identifier: Apache-2.0
/* ops_attr.c - FUSE operations on names and attributes: lookup, forget,
 * getattr, setattr, readlink, statfs
 *
 * Every operation replies exactly once; the helpers it calls return 0 or
 * -errno and leave the reply to it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

void ovl_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *dir = ovl_node_of(fs, parent);
	struct fuse_entry_param e;
	int r = ovl_lookup_entry(fs, dir, name, &e);

	if (r == -ENOENT) {
		/* A negative entry the kernel may cache: creating the name
		 * goes through the kernel, which then replaces it. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = ovl_timeout(fs, ovl_node_layer(fs, dir));
		fuse_reply_entry(req, &e);
		return;
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

void ovl_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct ovl_fs *fs = ovl_fs_of(req);

	ovl_node_forget(fs, ovl_node_of(fs, ino), nlookup);
	fuse_reply_none(req);
	ovl_mem_release(fs);
}

void ovl_op_forget_multi(fuse_req_t req, size_t count,
			 struct fuse_forget_data *forgets)
{
	struct ovl_fs *fs = ovl_fs_of(req);

	for (size_t i = 0; i < count; i++)
		ovl_node_forget(fs, ovl_node_of(fs, forgets[i].ino),
				forgets[i].nlookup);
	fuse_reply_none(req);
	ovl_mem_release(fs);
}

void ovl_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *n = ovl_node_of(fs, ino);
	struct stat st;
	int layer = OVL_UPPER;
	int r = ovl_stat_node(fs, n, &st, &layer);

	/* Unlinked while open: the descriptor still knows. */
	if (r == -ENOENT && fi && fi->fh) {
		struct ovl_fh *fh = (struct ovl_fh *)(uintptr_t)fi->fh;

		r = fstat(ovl_fh_fd(fs, n, fh), &st) < 0 ? -errno : 0;
		layer = fh->layer;
	} else if (r == -ENOENT) {
		int fd = ovl_node_dup_fd(fs, n);

		r = fd < 0 ? fd : fstat(fd, &st) < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	ovl_fill_attr(fs, n, &st);
	fuse_reply_attr(req, &st, ovl_timeout(fs, layer));
}

/* The on-disk owner for a chown request; -EINVAL when unmapped. */
static int chown_ids(struct ovl_fs *fs, const struct stat *attr, int valid,
		     uid_t *uid, gid_t *gid)
{
	const struct ovl_opts *o = fs->opts;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if ((valid & FUSE_SET_ATTR_UID) && o->squash_uid < 0) {
		*uid = ovl_idmap_out(&o->uidmap, attr->st_uid);
		if (*uid == (uid_t)-1)
			return -EINVAL;
	}
	if ((valid & FUSE_SET_ATTR_GID) && o->squash_gid < 0) {
		*gid = ovl_idmap_out(&o->gidmap, attr->st_gid);
		if (*gid == (gid_t)-1)
			return -EINVAL;
	}
	return 0;
}

static int set_times(int ufd, const char *path, int fd, const struct stat *attr,
		     int valid)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
				  { .tv_nsec = UTIME_OMIT } };

	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		ts[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		ts[1] = attr->st_mtim;
	if (fd >= 0)
		return futimens(fd, ts) < 0 ? -errno : 0;
	return ovl_utimensat(ufd, path, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
								     : 0;
}

static int set_size(struct ovl_fs *fs, const char *path, int fd, off_t size)
{
	int r;

	if (fd >= 0)
		return ftruncate(fd, size) < 0 ? -errno : 0;
	r = ovl_chdir_at(fs, OVL_UPPER, &path);
	if (r < 0)
		return r;
	return truncate(path, size) < 0 ? -errno : 0;
}

/* Apply the changes to the (copied-up) object at @path, or through @fd
 * when the kernel passed an open file. */
static int apply_setattr(struct ovl_fs *fs, const char *path, int fd,
			 const struct stat *attr, int valid)
{
	int ufd = fs->layers[OVL_UPPER].fd;
	uid_t uid;
	gid_t gid;
	int r;

	if (valid & FUSE_SET_ATTR_MODE) {
		r = fd >= 0 ? fchmod(fd, attr->st_mode & 07777)
			    : ovl_fchmodat(ufd, path, attr->st_mode & 07777, 0);
		if (r < 0)
			return -errno;
	}
	/* chown(f, -1, -1) reaches us as a setattr that sets nothing (or
	 * only ctime): it still changes ctime, as on the kernel's overlay,
	 * and so does a chown squashed to no change. */
	if ((valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) ||
	    !(valid & ~FUSE_SET_ATTR_CTIME)) {
		r = chown_ids(fs, attr, valid, &uid, &gid);
		if (r < 0)
			return r;
		if ((fd >= 0 ? fchown(fd, uid, gid)
			     : ovl_fchownat(ufd, path, uid, gid,
					    AT_SYMLINK_NOFOLLOW)) < 0)
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		r = set_size(fs, path, fd, attr->st_size);
		if (r < 0)
			return r;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		     FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))
		return set_times(ufd, path, fd, attr, valid);
	return 0;
}

void ovl_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int valid, struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *n = ovl_node_of(fs, ino);
	bool trunc0 = (valid & FUSE_SET_ATTR_SIZE) && attr->st_size == 0;
	cleanup_free char *path = NULL;
	struct stat st;
	int fd = -1, layer, r;

	(void)fi; /* paths serve; an unlinked file is found by its node */
	r = ovl_copy_up(fs, n, trunc0 ? OVL_CU_NODATA : 0);
	if (r == 0 || r == -ENOENT)
		r = ovl_node_target(fs, n, &path, &layer, &fd);
	if (r == 0)
		r = apply_setattr(fs, path, fd, attr, valid);
	if (r == 0)
		r = fd >= 0 ? (fstat(fd, &st) < 0 ? -errno : 0)
			    : ovl_stat_node(fs, n, &st, NULL);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	ovl_fill_attr(fs, n, &st);
	fuse_reply_attr(req, &st, fs->opts->upper_timeout);
}

void ovl_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	cleanup_free char *path = NULL;
	char target[PATH_MAX + 1];
	ssize_t n;
	int layer, r;

	r = ovl_node_path(fs, ovl_node_of(fs, ino), &path, &layer);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	n = ovl_readlinkat(fs->layers[layer].fd, path, target, sizeof(target));
	if (n < 0 || n >= (ssize_t)sizeof(target)) {
		fuse_reply_err(req, n < 0 ? errno : ENAMETOOLONG);
		return;
	}
	target[n] = '\0';
	fuse_reply_readlink(req, target);
}

void ovl_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct statvfs sv;

	(void)ino;
	/* The upper's space is what writes consume; without one, the top
	 * lower's. */
	if (fstatvfs(fs->layers[0].fd, &sv) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_statfs(req, &sv);
}
