// SPDX-License-Identifier: Apache-2.0
/* copyup.c - an empty volume filled from the root filesystem's content at
 * its mount point, as Docker fills a new volume from the image
 *
 * Docker copies what a container's image has at a volume's mount point
 * into the volume when the volume is empty and the container is created:
 * a database image's VOLUME /var/lib/db keeps its skeleton, and `-v
 * data:/home/app` starts with the image's files, owned as in the image, so
 * that the image's user can write there. hutch does it in the container's
 * setup process, after the root is mounted and before any user mount (so
 * the content is the image's, never another mount's), as root of the
 * container's user namespace: owners the mapping has are kept (in the full
 * mapping the files then belong to subordinate ids, as an upper
 * directory's do, and only that namespace can remove them); an id it lacks
 * (the single mapping) or a filesystem that refuses chown (NFS) leaves the
 * file to the container's root, as the rest of its root is.
 *
 * The root filesystem is untrusted: it is walked with directory
 * descriptors and never through a link. Two containers starting on one new
 * volume take turns through an flock on the volume's directory, and the
 * second finds it filled. Left out, as they cannot be made or carried
 * without privilege: device nodes, sockets, extended attributes; hard
 * links become separate copies. Times, modes and set-id bits are kept.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define MAX_DEPTH 256

struct fill {
	const struct sbx_mount *m;
	struct hutch_err *err;
};

/* "cannot fill volume V from /dst: WHAT REL: why"; REL is relative to the
 * mount point and only for the message. */
static int failed(struct fill *f, int e, const char *what, const char *rel)
{
	return cmn_err_set(f->err, e,
			   "cannot fill volume %s from the image's %s: %s %s",
			   f->m->name ? f->m->name : "", f->m->dst, what, rel);
}

/* chown's refusals that leave the owner the container's root: an id the
 * namespace does not map, a filesystem that will not. */
static int own(int r)
{
	return r < 0 && errno != EINVAL && errno != EPERM ? -errno : 0;
}

/* Owner, then mode (chown clears set-id bits), then times. */
static int meta_fd(int fd, const struct stat *st)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	int ret = own(fchown(fd, st->st_uid, st->st_gid));

	if (ret == 0 && fchmod(fd, st->st_mode & 07777) < 0)
		ret = -errno;
	if (ret == 0 && futimens(fd, t) < 0)
		ret = -errno;
	return ret;
}

/* The same for what cannot be opened: links and fifos. */
static int meta_at(int dir, const char *name, const struct stat *st)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	int ret = own(fchownat(dir, name, st->st_uid, st->st_gid,
			       AT_SYMLINK_NOFOLLOW));

	if (ret == 0 && !S_ISLNK(st->st_mode) &&
	    fchmodat(dir, name, st->st_mode & 07777, 0) < 0)
		ret = -errno;
	if (ret == 0 && utimensat(dir, name, t, AT_SYMLINK_NOFOLLOW) < 0)
		ret = -errno;
	return ret;
}

static int copy_entry(struct fill *f, int src, int dst, const char *name,
		      const char *rel, int depth);

static int copy_children(struct fill *f, int src, int dst, const char *rel,
			 int depth)
{
	DIR *d = cmn_opendirat(src, ".", 0);
	struct dirent *e;
	int ret = 0;

	if (!d)
		return failed(f, errno, "cannot list", rel);
	while (ret == 0 && (errno = 0, e = readdir(d))) {
		cleanup_free char *sub = NULL;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		sub = cmn_strdup_printf("%s/%s", rel, e->d_name);
		ret = sub ? copy_entry(f, src, dst, e->d_name, sub, depth + 1)
			  : failed(f, ENOMEM, "cannot copy", rel);
	}
	if (ret == 0 && errno)
		ret = failed(f, errno, "cannot list", rel);
	closedir(d);
	return ret;
}

static int copy_dir(struct fill *f, int sdir, int ddir, const char *name,
		    const struct stat *st, const char *rel, int depth)
{
	cleanup_close int src = -1;
	cleanup_close int dst = -1;
	int ret;

	if (depth > MAX_DEPTH)
		return failed(f, ELOOP, "too deep at", rel);
	if (mkdirat(ddir, name, 0700) < 0)
		return failed(f, errno, "cannot create", rel);
	src = openat(sdir, name,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return failed(f, errno, "cannot open", rel);
	dst = openat(ddir, name,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return failed(f, errno, "cannot open the copy of", rel);
	ret = copy_children(f, src, dst, rel, depth);
	if (ret == 0 && (ret = meta_fd(dst, st)) < 0)
		return failed(f, -ret, "cannot set the owner and mode of", rel);
	return ret;
}

static int copy_file(struct fill *f, int sdir, int ddir, const char *name,
		     const struct stat *st, const char *rel)
{
	cleanup_close int in =
		openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int out = -1;
	int ret;

	if (in < 0)
		return failed(f, errno, "cannot open", rel);
	out = openat(ddir, name,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (out < 0)
		return failed(f, errno, "cannot create", rel);
	ret = cmn_copy_data(in, out);
	if (ret < 0)
		return failed(f, -ret, "cannot copy", rel);
	ret = meta_fd(out, st);
	if (ret < 0)
		return failed(f, -ret, "cannot set the owner and mode of", rel);
	return 0;
}

static int copy_entry(struct fill *f, int src, int dst, const char *name,
		      const char *rel, int depth)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return failed(f, errno, "cannot read", rel);
	if (S_ISDIR(st.st_mode))
		return copy_dir(f, src, dst, name, &st, rel, depth);
	if (S_ISREG(st.st_mode))
		return copy_file(f, src, dst, name, &st, rel);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(src, name, target, sizeof(target) - 1);
		if (n < 0)
			return failed(f, errno, "cannot read the link", rel);
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return failed(f, errno, "cannot create the link", rel);
	} else if (S_ISFIFO(st.st_mode)) {
		if (mkfifoat(dst, name, 0600) < 0)
			return failed(f, errno, "cannot create the fifo", rel);
	} else {
		return 0; /* a device node or a socket */
	}
	n = meta_at(dst, name, &st);
	return n < 0 ? failed(f, (int)-n, "cannot set the owner of", rel) : 0;
}

/* 1 when @dir has no entries, 0 when it has, -errno. */
static int empty(int dir)
{
	DIR *d = cmn_opendirat(dir, ".", 0);
	struct dirent *e;
	int ret = 1;

	if (!d)
		return -errno;
	while (ret == 1 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ret = 0;
	closedir(d);
	return ret;
}

int sbx_volume_fill(int rootfd, const struct sbx_mount *m,
		    struct hutch_err *err)
{
	struct fill f = { m, err };
	cleanup_close int vol =
		open(m->src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int from = -1;
	struct stat st;
	int ret;

	if (vol < 0)
		return cmn_err_set(err, errno, "cannot open volume %s at %s",
				   m->name ? m->name : "", m->src);
	/* Held until the copy is whole: a second container waits here. */
	if (flock(vol, LOCK_EX) < 0)
		return cmn_err_set(err, errno, "cannot lock volume %s",
				   m->name ? m->name : m->src);
	ret = empty(vol);
	if (ret < 0)
		return failed(&f, -ret, "cannot list the volume", m->src);
	if (ret == 0)
		return 0;
	from = cmn_open_in_root(rootfd, m->dst, O_RDONLY | O_DIRECTORY,
				CMN_CREATE_NONE);
	/* Nothing at the mount point (or not a directory): nothing to copy,
	 * and the volume keeps its own owner and mode. */
	if (from == -ENOENT || from == -ENOTDIR)
		return 0;
	if (from < 0)
		return failed(&f, -from, "cannot open", m->dst);
	if (fstat(from, &st) < 0)
		return failed(&f, errno, "cannot read", m->dst);
	ret = copy_children(&f, from, vol, ".", 0);
	if (ret == 0 && (ret = meta_fd(vol, &st)) < 0)
		return failed(&f, -ret, "cannot set the owner and mode of",
			      m->src);
	return ret;
}
