// SPDX-License-Identifier: Apache-2.0
/* whiteout.c - the markers that hide lower entries, read and written
 *
 * Three forms hide a name of a lower layer: a 0/0 character device (the
 * kernel's overlayfs format), an empty regular file carrying the
 * overlay.whiteout xattr in a directory marked opaque=x (the kernel's
 * format for nested overlays), and an OCI ".wh.NAME" file (image layers,
 * and what we write where mknod is refused). A directory hides all lower
 * ones when it carries overlay.opaque=y (user. or trusted.) or holds a
 * ".wh..wh..opq" file. Reading understands all of them; writing uses the
 * best the upper's filesystem supports (probed at mount, layers.c).
 *
 * A ".wh." name is a marker or the user's own file depending on where it
 * is: always a marker in lower layers (OCI image layers are written so);
 * in the upper, a marker only when the upper uses OCI markers (the
 * oci_whiteouts option, remembered by a user.hutch.oci_whiteouts xattr on
 * its root, or a filesystem without 0/0 devices or user xattrs). Where the
 * upper has the kernel's markers, ".wh.foo" is a plain name, as the
 * kernel's overlayfs has it, and an upper we wrote stays readable by it.
 *
 * Replacing an upper entry by a whiteout goes through the workdir: the
 * whiteout is made there and renamed over the entry, so that a crash
 * never leaves the lower entry showing through.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

bool ovl_is_wh_name(const char *name)
{
	return strncmp(name, OVL_WH_PREFIX, sizeof(OVL_WH_PREFIX) - 1) == 0;
}

bool ovl_upper_wh_name(const struct ovl_fs *fs, const char *name)
{
	return !fs->plain_wh_names && ovl_is_wh_name(name);
}

bool ovl_is_whiteout_stat(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

void ovl_tmpname(struct ovl_fs *fs, char *buf, size_t size)
{
	unsigned long n = atomic_fetch_add(&fs->tmp_counter, 1);

	snprintf(buf, size, "#hutch.%d.%lu", (int)getpid(), n);
}

static int open_upper_dir(struct ovl_fs *fs, const char *dirpath)
{
	int fd = ovl_openat(fs->layers[OVL_UPPER].fd, dirpath,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* ".wh." + @name into @buf; -ENAMETOOLONG when it does not fit NAME_MAX. */
static int wh_name(const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, OVL_WH_PREFIX "%s", name);

	if (n < 0 || (size_t)n >= size || n > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Make a 0/0 whiteout in the workdir and rename it over @name. */
static int chardev_whiteout(struct ovl_fs *fs, int dfd, const char *name)
{
	char tmp[64];

	ovl_tmpname(fs, tmp, sizeof(tmp));
	if (mknodat(fs->workfd, tmp, S_IFCHR | 0, makedev(0, 0)) < 0)
		return -errno;
	if (renameat(fs->workfd, tmp, dfd, name) < 0) {
		int r = -errno;

		unlinkat(fs->workfd, tmp, 0);
		return r;
	}
	return 0;
}

/* The OCI form: create ".wh.NAME", then remove NAME if the upper has it. */
static int file_whiteout(struct ovl_fs *fs, struct ovl_node *dir, int dfd,
			 const char *name)
{
	char wh[NAME_MAX + 2];
	int fd, r = wh_name(name, wh, sizeof(wh));

	if (r < 0)
		return r;
	fd = openat(dfd, wh, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	pthread_mutex_lock(&fs->tree_lock);
	dir->dir->upper_wh = true;
	pthread_mutex_unlock(&fs->tree_lock);
	return 0;
}

int ovl_make_whiteout(struct ovl_fs *fs, struct ovl_node *dir,
		      const char *dirpath, const char *name)
{
	cleanup_close int dfd = open_upper_dir(fs, dirpath);

	if (dfd < 0)
		return dfd;
	if (fs->wh_chardev)
		return chardev_whiteout(fs, dfd, name);
	return file_whiteout(fs, dir, dfd, name);
}

int ovl_set_opaque(struct ovl_fs *fs, const char *path)
{
	cleanup_close int fd = open_upper_dir(fs, path);

	if (fd < 0)
		return fd;
	if (fs->opaque_xattr) {
		if (fsetxattr(fd, OVL_XATTR_USER "opaque", "y", 1, 0) < 0)
			return -errno;
		return 0;
	}
	int f = openat(fd, OVL_WH_OPQ, O_WRONLY | O_CREAT | O_CLOEXEC, 0);

	if (f < 0)
		return -errno;
	close(f);
	return 0;
}

void ovl_remove_wh_file(struct ovl_fs *fs, const char *dirpath,
			const char *name)
{
	cleanup_close int dfd = open_upper_dir(fs, dirpath);
	char wh[NAME_MAX + 2];

	if (dfd >= 0 && wh_name(name, wh, sizeof(wh)) == 0)
		unlinkat(dfd, wh, 0);
}

int ovl_clear_dir(struct ovl_fs *fs, int fd)
{
	cleanup_dir DIR *d = cmn_opendirat(fd, ".", 0);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		int r = ovl_rmtree_at(fs, fd, de->d_name);

		if (r < 0)
			return r;
	}
	return 0;
}

int ovl_rmtree_at(struct ovl_fs *fs, int dirfd, const char *name)
{
	cleanup_close int fd = -1;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = ovl_clear_dir(fs, fd);

	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}
