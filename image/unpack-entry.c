// SPDX-License-Identifier: Apache-2.0
/* unpack-entry.c - write one layer entry relative to its parent directory:
 * files, directories, symlinks, hardlinks, fifos, whiteouts; replace what an
 * earlier entry left there; apply owner, xattrs, mode and times. Why each
 * step is done the way it is: the theory of operation in unpack.c.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "image/unpack-state.h"

/* Directory levels removed when an entry replaces a directory tree. */
#define RM_MAX_DEPTH 128

/* ---- removal of what an entry replaces -------------------------------- */

/* rm_content() - one pass over @d, unlinking and descending. */
static int rm_content(DIR *d, int depth);

/* rm_tree() - remove directory @name under @dfd and all it holds, never
 * following a symlink. */
static int rm_tree(int dfd, const char *name, int depth)
{
	cleanup_dir DIR *d = NULL;
	int fd, ret;

	if (depth >= RM_MAX_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* Entries removed during readdir() may make it miss others; a
	 * second pass finds them. */
	for (int pass = 0; pass < 4; pass++) {
		ret = rm_content(d, depth);
		if (ret < 0)
			return ret;
		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
			return 0;
		if (errno != ENOTEMPTY)
			return -errno;
		rewinddir(d);
	}
	return -ENOTEMPTY;
}

static int rm_content(DIR *d, int depth)
{
	struct dirent *de;

	while ((errno = 0, de = readdir(d))) {
		int ret;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR)
			return -errno;
		ret = rm_tree(dirfd(d), de->d_name, depth + 1);
		if (ret < 0)
			return ret;
	}
	return errno ? -errno : 0;
}

/* remove_old() - unlink what is at @name so that an entry can replace it. */
static int remove_old(struct unpack *u, int pfd, const char *name)
{
	int ret = 0;

	/* Anything removed may have been on the way to the cached parent;
	 * it is still in use by the caller, so only marked. */
	u->parent_stale = true;
	if (unlinkat(pfd, name, 0) == 0)
		return 0;
	if (errno == EISDIR)
		ret = rm_tree(pfd, name, 0);
	else
		ret = -errno;
	if (ret < 0 && ret != -ENOENT)
		return cmn_err_set(
			u->err, -ret,
			"cannot replace an earlier entry with layer entry %s",
			img_upk_entry_shown(u));
	return 0;
}

typedef int (*make_fn)(int pfd, const char *name, const void *arg);

/*
 * make_replacing() - create @name with @make; when it exists, remove the
 * old entry once and try again. Return: what @make returned (a descriptor
 * or 0), or -errno with the message filled.
 */
static int make_replacing(struct unpack *u, int pfd, const char *name,
			  make_fn make, const void *arg)
{
	int ret = make(pfd, name, arg);

	if (ret == -EEXIST) {
		ret = remove_old(u, pfd, name);
		if (ret < 0)
			return ret;
		ret = make(pfd, name, arg);
	}
	if (ret < 0)
		return cmn_err_set(u->err, -ret, "cannot create layer entry %s",
				   img_upk_entry_shown(u));
	return ret;
}

/* @mode: the mode to create with, or NULL for 0600. */
static int mk_file(int pfd, const char *name, const void *mode)
{
	int fd = openat(pfd, name,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			mode ? *(const mode_t *)mode : 0600);

	return fd < 0 ? -errno : fd;
}

static int mk_symlink(int pfd, const char *name, const void *target)
{
	return symlinkat(target, pfd, name) < 0 ? -errno : 0;
}

static int mk_fifo(int pfd, const char *name, const void *arg)
{
	(void)arg;
	return mkfifoat(pfd, name, 0600) < 0 ? -errno : 0;
}

static int mk_whiteout(int pfd, const char *name, const void *arg)
{
	(void)arg;
	return mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0 ? -errno : 0;
}

struct link_src {
	int pfd;
	const char *name;
};

static int mk_link(int pfd, const char *name, const void *arg)
{
	const struct link_src *src = arg;

	return linkat(src->pfd, src->name, pfd, name, 0) < 0 ? -errno : 0;
}

/* ---- metadata ----------------------------------------------------------- */

static mode_t entry_mode(const struct unpack *u)
{
	mode_t mode = archive_entry_perm(u->e) & 07777;

	return u->keep_owner ? mode : mode & ~(mode_t)(S_ISUID | S_ISGID);
}

static void entry_times(const struct unpack *u, struct timespec ts[2])
{
	struct archive_entry *e = u->e;

	ts[1].tv_nsec = UTIME_OMIT;
	if (archive_entry_mtime_is_set(e)) {
		ts[1].tv_sec = archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	}
	ts[0] = ts[1];
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	}
}

/* Must the entry be chowned? Not when it already has the tar's ids. */
static bool need_chown(const struct unpack *u)
{
	return u->keep_owner &&
	       (!u->own_ids || archive_entry_uid(u->e) != u->euid ||
		archive_entry_gid(u->e) != u->egid);
}

/* chown_error() - EINVAL from chown: an id the namespace does not map. */
static int chown_error(struct unpack *u, int fd, int pfd, uint64_t uid,
		       uint64_t gid)
{
	bool uid_bad = fd >= 0 ? fchown(fd, uid, -1) < 0
			       : fchownat(pfd, u->name, uid, -1,
					  AT_SYMLINK_NOFOLLOW) < 0;

	return cmn_err_msg(
		u->err, EINVAL,
		"layer file %s is owned by %s %llu, which this user namespace does not map; ask for a larger %s range",
		img_upk_entry_shown(u), uid_bad ? "uid" : "gid",
		(unsigned long long)(uid_bad ? uid : gid),
		uid_bad ? "subuid" : "subgid");
}

/*
 * set_owner() - chown the entry to the tar's ids when keeping owners: by
 * @fd when there is one, else @name under @pfd without following it.
 */
static int set_owner(struct unpack *u, int fd, int pfd)
{
	la_int64_t uid = archive_entry_uid(u->e);
	la_int64_t gid = archive_entry_gid(u->e);
	int r;

	if (!need_chown(u))
		return 0;
	if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
		return cmn_err_msg(
			u->err, EINVAL,
			"layer file %s has an invalid owner %lld:%lld; the image is corrupt",
			img_upk_entry_shown(u), (long long)uid, (long long)gid);
	if (fd >= 0)
		r = fchown(fd, uid, gid);
	else
		r = fchownat(pfd, u->name, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (r == 0)
		return 0;
	if (errno == EINVAL)
		return chown_error(u, fd, pfd, uid, gid);
	return cmn_err_set(u->err, errno,
			   "cannot set the owner of layer file %s",
			   img_upk_entry_shown(u));
}

/* Which extended attributes from a tar are applied; see the top. */
static bool xattr_wanted(const char *name)
{
	if (cmn_has_prefix(name, "user."))
		return !cmn_has_prefix(name, "user.overlay.");
	return !strcmp(name, "security.capability");
}

/* set_xattrs() - apply the tar's wanted xattrs to @fd (a file or dir). */
static int set_xattrs(struct unpack *u, int fd)
{
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(u->e) == 0)
		return 0;
	while (archive_entry_xattr_next(u->e, &name, &value, &size) ==
	       ARCHIVE_OK) {
		if (!xattr_wanted(name)) {
			cmn_debug("layer entry %s: xattr %s not applied",
				  img_upk_entry_shown(u), name);
			continue;
		}
		if (fsetxattr(fd, name, value, size, 0) == 0)
			continue;
		if (cmn_has_prefix(name, "user.") && errno != ENOTSUP)
			return cmn_err_set(
				u->err, errno,
				"cannot set xattr %s on layer entry %s", name,
				img_upk_entry_shown(u));
		cmn_debug("layer entry %s: xattr %s: %s",
			  img_upk_entry_shown(u), name, strerror(errno));
	}
	return 0;
}

/*
 * create_mode() - the mode a file can be created with so that no fchmod()
 * is needed afterwards, or 0 when it must be created 0600 and chmodded:
 * chown would clear setuid bits, user xattrs need a writable file, the
 * kernel may strip setgid at creation, and the umask takes its bits.
 */
static mode_t create_mode(const struct unpack *u)
{
	mode_t mode = entry_mode(u);

	if (need_chown(u) || archive_entry_xattr_count(u->e) > 0 ||
	    (mode & 07000) || u->umask < 0 || (mode & (mode_t)u->umask))
		return 0;
	return mode;
}

/* Owner, xattrs, mode, times, in that order: chown clears setuid bits and
 * security.capability, and a read-only mode would refuse user xattrs.
 * @xattrs: whether the type takes user xattrs (files, not fifos)
 * @chmod:  false when the file was created with its mode already */
static int set_meta_fd(struct unpack *u, int fd, int pfd, bool xattrs,
		       bool chmod)
{
	struct timespec ts[2];
	int ret = set_owner(u, fd, pfd);

	if (ret == 0 && xattrs)
		ret = set_xattrs(u, fd);
	if (ret < 0)
		return ret;
	entry_times(u, ts);
	if ((chmod && fchmod(fd, entry_mode(u)) < 0) || futimens(fd, ts) < 0)
		return cmn_err_set(u->err, errno,
				   "cannot set the mode of layer entry %s",
				   img_upk_entry_shown(u));
	return 0;
}

/* ---- one entry per type --------------------------------------------------- */

static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* copy_data() - the entry's content into @fd, holes left as holes. */
static int copy_data(struct unpack *u, int fd)
{
	la_int64_t size = archive_entry_size(u->e), end = 0;

	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(u->inner, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return img_upk_stream_error(u, u->inner);
		r = pwrite_all(fd, buf, len, off);
		if (r < 0)
			return cmn_err_set(u->err, -r,
					   "cannot write layer file %s",
					   img_upk_entry_shown(u));
		if (off + (la_int64_t)len > end)
			end = off + len;
	}
	/* A sparse file's trailing hole. */
	if (end < size && ftruncate(fd, size) < 0)
		return cmn_err_set(u->err, errno, "cannot write layer file %s",
				   img_upk_entry_shown(u));
	return 0;
}

static int do_file(struct unpack *u, int pfd)
{
	mode_t mode = create_mode(u);
	cleanup_close int fd =
		make_replacing(u, pfd, u->name, mk_file, mode ? &mode : NULL);
	int ret;

	if (fd < 0)
		return fd;
	ret = copy_data(u, fd);
	if (ret < 0)
		return ret;
	return set_meta_fd(u, fd, pfd, true, mode == 0);
}

static int do_dir(struct unpack *u, int pfd)
{
	struct timespec ts[2];
	struct stat st;
	int ret;

	if (mkdirat(pfd, u->name, 0700) < 0) {
		if (errno != EEXIST ||
		    fstatat(pfd, u->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return cmn_err_set(u->err, errno,
					   "cannot create layer directory %s",
					   img_upk_entry_shown(u));
		if (!S_ISDIR(st.st_mode)) {
			ret = remove_old(u, pfd, u->name);
			if (ret < 0)
				return ret;
			if (mkdirat(pfd, u->name, 0700) < 0)
				return cmn_err_set(
					u->err, errno,
					"cannot create layer directory %s",
					img_upk_entry_shown(u));
		}
	}
	ret = set_owner(u, -1, pfd);
	if (ret < 0)
		return ret;
	if (archive_entry_xattr_count(u->e) > 0) {
		cleanup_close int fd =
			openat(pfd, u->name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			return cmn_err_set(u->err, errno,
					   "cannot open layer directory %s",
					   img_upk_entry_shown(u));
		ret = set_xattrs(u, fd);
		if (ret < 0)
			return ret;
	}
	entry_times(u, ts);
	return img_upk_defer_dir(u, entry_mode(u), ts);
}

static int do_symlink(struct unpack *u, int pfd)
{
	const char *target = archive_entry_symlink(u->e);
	struct timespec ts[2];
	int ret;

	/* The target is data: the container resolves it, inside. */
	if (!target || !*target)
		return cmn_err_msg(
			u->err, EINVAL,
			"layer symlink %s has no target; the image is corrupt",
			img_upk_entry_shown(u));
	ret = make_replacing(u, pfd, u->name, mk_symlink, target);
	if (ret == 0)
		ret = set_owner(u, -1, pfd);
	if (ret < 0)
		return ret;
	entry_times(u, ts);
	if (utimensat(pfd, u->name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return cmn_err_set(u->err, errno,
				   "cannot set the times of layer symlink %s",
				   img_upk_entry_shown(u));
	return 0;
}

/*
 * do_hardlink() - link to an entry this layer already wrote, resolved in the
 * root; the final component of the target is not followed.
 */
static int do_hardlink(struct unpack *u, int pfd)
{
	char target[PATH_MAX];
	const char *slash, *tname = target;
	cleanup_close int tfd = -1;
	struct link_src src;
	struct stat st, old;
	int ret = img_upk_clean_name(u, archive_entry_hardlink(u->e), target,
				     "hardlink target");

	if (ret < 0)
		return ret;
	slash = strrchr(target, '/');
	if (slash) {
		target[slash - target] = '\0';
		tname = slash + 1;
		tfd = cmn_open_in_root(u->root, target, O_PATH | O_DIRECTORY,
				       CMN_CREATE_NONE);
		target[slash - target] = '/';
	}
	src.pfd = slash ? tfd : u->root;
	src.name = tname;
	if (!*target || src.pfd < 0 ||
	    fstatat(src.pfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    S_ISDIR(st.st_mode))
		return cmn_err_msg(
			u->err, EINVAL,
			"layer hardlink %s points to %s, which is not a file earlier in this layer; refusing a link outside the layer",
			img_upk_entry_shown(u), img_upk_show(u, target));
	/* A link to itself: nothing to do (removing it would lose it). */
	if (fstatat(pfd, u->name, &old, AT_SYMLINK_NOFOLLOW) == 0 &&
	    old.st_dev == st.st_dev && old.st_ino == st.st_ino)
		return 0;
	return make_replacing(u, pfd, u->name, mk_link, &src);
}

static int do_fifo(struct unpack *u, int pfd)
{
	cleanup_close int fd = -1;
	int ret = make_replacing(u, pfd, u->name, mk_fifo, NULL);

	if (ret < 0)
		return ret;
	/* Opening a fifo for reading without blocking works at once, and
	 * gives a descriptor to set the metadata through, unfollowed. */
	fd = openat(pfd, u->name,
		    O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cmn_err_set(u->err, errno, "cannot open layer fifo %s",
				   img_upk_entry_shown(u));
	return set_meta_fd(u, fd, pfd, false, true);
}

/* whiteout_name() - ".wh.NAME" for @name into @buf (NAME_MAX + 1 bytes). */
static int whiteout_name(struct unpack *u, const char *name, char *buf)
{
	if (WH_LEN + strlen(name) > NAME_MAX)
		return cmn_err_msg(
			u->err, ENAMETOOLONG,
			"layer whiteout for %s: the name is too long for a .wh. marker",
			img_upk_entry_shown(u));
	memcpy(buf, WH, WH_LEN);
	strcpy(buf + WH_LEN, name);
	return 0;
}

/* A 0/0 character device in the tar: an overlay whiteout already. */
static int do_overlay_whiteout(struct unpack *u, int pfd)
{
	char marker[NAME_MAX + 1];
	cleanup_close int fd = -1;
	int ret;

	if (!u->oci_whiteouts)
		return make_replacing(u, pfd, u->name, mk_whiteout, NULL);
	ret = whiteout_name(u, u->name, marker);
	if (ret < 0)
		return ret;
	fd = make_replacing(u, pfd, marker, mk_file, NULL);
	return fd < 0 ? fd : 0;
}

static int do_device(struct unpack *u, int pfd)
{
	dev_t rdev = archive_entry_rdev(u->e);
	bool chr = archive_entry_filetype(u->e) == AE_IFCHR;

	if (chr && major(rdev) == 0 && minor(rdev) == 0)
		return do_overlay_whiteout(u, pfd);
	if (u->skips) {
		if (!u->skips->devices++)
			snprintf(u->skips->first, sizeof(u->skips->first),
				 "/%.250s", u->path);
		return 0;
	}
	return cmn_err_msg(
		u->err, EPERM,
		"layer entry %s is a %s device (%u,%u); image layers may not contain device nodes",
		img_upk_entry_shown(u), chr ? "character" : "block",
		major(rdev), minor(rdev));
}

/* ---- OCI whiteouts -------------------------------------------------------- */

/* ".wh..wh..opq": the directory hides the layers below. */
int img_upk_opaque(struct unpack *u)
{
	cleanup_close int fd = -1;

	if (u->dirlen)
		u->path[u->dirlen] = '\0';
	fd = cmn_open_in_root(u->root, u->dirlen ? u->path : ".",
			      O_RDONLY | O_DIRECTORY, CMN_CREATE_DIR);
	if (u->dirlen)
		u->path[u->dirlen] = '/';
	if (fd < 0)
		return cmn_err_set(
			u->err, -fd,
			"cannot open the directory of layer entry %s",
			img_upk_entry_shown(u));
	if (fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) < 0)
		return cmn_err_set(
			u->err, errno,
			"cannot mark the directory of layer entry %s opaque",
			img_upk_entry_shown(u));
	return 0;
}

/* ".wh.NAME": NAME of the layers below is deleted. */
int img_upk_whiteout(struct unpack *u, int pfd)
{
	const char *target = u->name + WH_LEN;
	struct stat st;

	if (!*target || !strcmp(target, ".") || !strcmp(target, ".."))
		return cmn_err_msg(
			u->err, EINVAL,
			"layer whiteout %s names no file; the image is corrupt",
			img_upk_entry_shown(u));
	/* Only lower layers are hidden: what this layer wrote stays. */
	if (fstatat(pfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (mknodat(pfd, target, S_IFCHR, makedev(0, 0)) < 0)
		return cmn_err_set(
			u->err, errno,
			"cannot create the whiteout for layer entry %s",
			img_upk_entry_shown(u));
	return 0;
}

int img_upk_write(struct unpack *u, int pfd)
{
	if (archive_entry_hardlink(u->e))
		return do_hardlink(u, pfd);
	switch (archive_entry_filetype(u->e)) {
	case AE_IFREG:
		return do_file(u, pfd);
	case AE_IFDIR:
		return do_dir(u, pfd);
	case AE_IFLNK:
		return do_symlink(u, pfd);
	case AE_IFIFO:
		return do_fifo(u, pfd);
	case AE_IFCHR:
	case AE_IFBLK:
		return do_device(u, pfd);
	case AE_IFSOCK:
		cmn_debug("layer entry %s is a socket; skipped",
			  img_upk_entry_shown(u));
		return 0;
	default:
		return cmn_err_msg(
			u->err, EINVAL,
			"layer entry %s has an unknown type (mode %o); the image is corrupt",
			img_upk_entry_shown(u),
			(unsigned)archive_entry_mode(u->e));
	}
}
