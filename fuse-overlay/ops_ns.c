// SPDX-License-Identifier: Apache-2.0
/* ops_ns.c - FUSE operations that change the namespace: mknod, mkdir,
 * symlink, link, unlink, rmdir, rename (create is in ops_file.c)
 *
 * Each one first copies up what it touches (the parent directories, and
 * for link and rename the object), then, under fs->ns_lock, changes the
 * upper layer and the node table together:
 *
 *  - a new name replaces a whiteout atomically: the object is made in the
 *    workdir and renamed over it (directories are exchanged with it, and
 *    are marked opaque, so the lower directory stays hidden);
 *  - a removed name that a lower layer also holds leaves a whiteout (the
 *    upper entry is replaced by it in one rename);
 *  - a directory with lower layers is renamed with a redirect under
 *    redirect_dir=on, as the kernel does (ops_rename.c), and is EXDEV
 *    otherwise (mv(1) then copies); a pure upper directory moved into a
 *    merged one becomes opaque; so does one made in a merged one while
 *    redirects are written, as the kernel has it.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int ovl_open_upper_dir(struct ovl_fs *fs, struct ovl_node *dir, char **path)
{
	int r = ovl_node_path(fs, dir, path, NULL);
	int fd;

	if (r < 0)
		return r;
	fd = ovl_openat(fs->layers[OVL_UPPER].fd, *path,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Give the new object @name (in @at) the requester's ids. Its group comes
 * from the parent directory (@pat, @pname) instead when that is setgid, as
 * the filesystem does for what is made in place; objects made in the
 * workdir get it here, and directories the setgid bit too. */
static int fix_owner(struct ovl_fs *fs, fuse_req_t req, int at,
		     const char *name, int pat, const char *pname,
		     struct stat *st)
{
	bool in_place = at == pat;
	struct stat pst;
	uid_t uid;
	gid_t gid;

	ovl_owner_out(fs, req, &uid, &gid);
	if ((gid != st->st_gid || !in_place) &&
	    fstatat(pat, pname, &pst, 0) == 0 && (pst.st_mode & S_ISGID)) {
		gid = pst.st_gid;
		if (!in_place && S_ISDIR(st->st_mode) &&
		    fchmodat(at, name, (st->st_mode & 07777) | S_ISGID, 0) == 0)
			st->st_mode |= S_ISGID;
	}
	if (uid == st->st_uid && gid == st->st_gid)
		return 0;
	if (fchownat(at, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	st->st_uid = uid;
	st->st_gid = gid;
	return 0;
}

static int make_object(struct ovl_fs *fs, int dfd, const char *name,
		       struct ovl_maker *m)
{
	int fd;

	switch (m->kind) {
	case OVL_MK_FILE:
		fd = openat(
			dfd, name,
			(m->flags | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW) &
				~O_TRUNC,
			m->mode & 07777);
		if (fd < 0)
			return -errno;
		m->fd = fd;
		return 0;
	case OVL_MK_DIR:
		return mkdirat(dfd, name, m->mode & 07777) < 0 ? -errno : 0;
	case OVL_MK_SYMLINK:
		return symlinkat(m->target, dfd, name) < 0 ? -errno : 0;
	case OVL_MK_NODE:
		return mknodat(dfd, name, m->mode, m->rdev) < 0 ? -errno : 0;
	case OVL_MK_LINK:
		return ovl_linkat(fs->layers[OVL_UPPER].fd, m->target, dfd,
				  name, 0) < 0
			       ? -errno
			       : 0;
	}
	return -EINVAL;
}

int ovl_opaque_at(struct ovl_fs *fs, int dfd, const char *name)
{
	cleanup_close int fd = openat(
		dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fs->opaque_xattr)
		return fsetxattr(fd, OVL_XATTR_USER "opaque", "y", 1, 0) < 0
			       ? -errno
			       : 0;
	int f = openat(fd, OVL_WH_OPQ, O_WRONLY | O_CREAT | O_CLOEXEC, 0);

	if (f < 0)
		return -errno;
	close(f);
	return 0;
}

/* Put the finished object @tmp (in the workdir) at @name, where a 0/0
 * whiteout is: replace it (files) or exchange with it (directories). */
static int replace_whiteout(struct ovl_fs *fs, int dfd, const char *name,
			    const char *tmp, bool dir)
{
	if (!dir)
		return renameat(fs->workfd, tmp, dfd, name) < 0 ? -errno : 0;
	if (renameat2(fs->workfd, tmp, dfd, name, RENAME_EXCHANGE) == 0) {
		unlinkat(fs->workfd, tmp, 0);
		return 0;
	}
	if (errno != EINVAL)
		return -errno;
	/* No RENAME_EXCHANGE on this filesystem: not atomic, but close. */
	if (unlinkat(dfd, name, 0) < 0)
		return -errno;
	return renameat(fs->workfd, tmp, dfd, name) < 0 ? -errno : 0;
}

/* Create over a 0/0 whiteout at @name. */
static int create_over_whiteout(struct ovl_fs *fs, fuse_req_t req, int dfd,
				const char *name, struct ovl_maker *m,
				struct stat *st)
{
	bool dir = m->kind == OVL_MK_DIR;
	char tmp[64];
	int r;

	ovl_tmpname(fs, tmp, sizeof(tmp));
	r = make_object(fs, fs->workfd, tmp, m);
	if (r == 0 && fstatat(fs->workfd, tmp, st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && m->kind != OVL_MK_LINK)
		r = fix_owner(fs, req, fs->workfd, tmp, dfd, ".", st);
	if (r == 0 && dir)
		r = ovl_opaque_at(fs, fs->workfd, tmp);
	if (r == 0)
		r = replace_whiteout(fs, dfd, name, tmp, dir);
	if (r < 0)
		ovl_rmtree_at(fs, fs->workfd, tmp);
	return r;
}

/* Create at @name, where the upper holds nothing, or a ".wh.NAME" file
 * (removed after, since an object shows over a whiteout of its layer). */
static int create_plain(struct ovl_fs *fs, fuse_req_t req, int dfd,
			const char *name, struct ovl_maker *m, bool wh_file,
			struct stat *st)
{
	int r = make_object(fs, dfd, name, m);

	if (r == 0 && fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && m->kind != OVL_MK_LINK) /* a link shares the owner */
		r = fix_owner(fs, req, dfd, name, dfd, ".", st);
	if (r == 0 && wh_file && m->kind == OVL_MK_DIR)
		r = ovl_opaque_at(fs, dfd, name);
	if (r < 0) {
		if (m->kind != OVL_MK_LINK)
			ovl_rmtree_at(fs, dfd, name);
		return r;
	}
	if (wh_file) {
		char wh[NAME_MAX + 6] = OVL_WH_PREFIX;

		strncat(wh, name, NAME_MAX);
		unlinkat(dfd, wh, 0);
	}
	return 0;
}

static bool has_wh_file(int dfd, const char *name)
{
	char wh[NAME_MAX + 6] = OVL_WH_PREFIX;
	struct stat st;

	if (strlen(name) + 4 > NAME_MAX)
		return false;
	strcat(wh, name);
	return fstatat(dfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The usual case, in a directory without ".wh." files: make the object
 * straight away; only when the name is taken look for a whiteout there
 * (1: go the careful way). */
static int create_fast(struct ovl_fs *fs, fuse_req_t req, const char *dirpath,
		       const char *path, struct ovl_maker *m, struct stat *st)
{
	int ufd = fs->layers[OVL_UPPER].fd;
	int r;

	if (strnlen(path, PATH_MAX) >= PATH_MAX)
		return 1; /* too long for one call: from the parent's fd */
	r = make_object(fs, ufd, path, m);

	if (r == -EEXIST) {
		struct stat cur;

		if (ovl_fstatat(ufd, path, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
		    ovl_is_whiteout_stat(&cur))
			return 1;
		return -EEXIST;
	}
	if (r == 0 && ovl_fstatat(ufd, path, st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && m->kind != OVL_MK_LINK)
		r = fix_owner(fs, req, ufd, path, ufd, dirpath, st);
	if (r < 0 && m->kind != OVL_MK_LINK)
		ovl_rmtree_at(fs, ufd, path);
	return r;
}

/* Over a whiteout, or next to ".wh." files: through the directory. */
static int create_careful(struct ovl_fs *fs, fuse_req_t req,
			  const char *dirpath, const char *name,
			  struct ovl_maker *m, struct stat *st)
{
	cleanup_close int dfd =
		ovl_openat(fs->layers[OVL_UPPER].fd, dirpath,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat cur;

	if (dfd < 0)
		return -errno;
	if (fstatat(dfd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0)
		return ovl_is_whiteout_stat(&cur)
			       ? create_over_whiteout(fs, req, dfd, name, m, st)
			       : -EEXIST;
	return create_plain(fs, req, dfd, name, m,
			    !fs->plain_wh_names && has_wh_file(dfd, name), st);
}

int ovl_create_obj(fuse_req_t req, struct ovl_node *parent, const char *name,
		   struct ovl_maker *m, struct fuse_entry_param *e)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	cleanup_free char *dirpath = NULL, *path = NULL;
	cleanup_free struct ovl_found *f = calloc(1, sizeof(*f));
	struct ovl_node *n;
	bool wh_files, parent_merged;
	int r;

	m->fd = -1;
	if (!f)
		return -ENOMEM;
	if (ovl_upper_wh_name(fs, name))
		return -EINVAL; /* the name is reserved for whiteouts */
	r = ovl_copy_up(fs, parent, 0);
	if (r == 0)
		r = ovl_node_path(fs, parent, &dirpath, NULL);
	if (r == 0)
		r = ovl_path_join(dirpath, name, &path);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fs->tree_lock);
	wh_files = parent->dir->upper_wh;
	parent_merged = parent->dir->nlower > 0 && !parent->dir->upper_opaque;
	pthread_mutex_unlock(&fs->tree_lock);
	pthread_mutex_lock(&fs->ns_lock);
	r = wh_files ? 1 : create_fast(fs, req, dirpath, path, m, &f->st);
	if (r == 1)
		r = create_careful(fs, req, dirpath, name, m, &f->st);
	/* With redirects the kernel marks every directory made in a merged
	 * one opaque (lookups below it need not go down); we do the same so
	 * that both write the same upper. A failure only costs lookups. */
	if (r == 0 && m->kind == OVL_MK_DIR && fs->redirect_dir &&
	    parent_merged)
		ovl_set_opaque(fs, path);
	if (r == 0) {
		f->layer = OVL_UPPER;
		n = ovl_node_obtain(fs, parent, name, f);
		if (n)
			ovl_fill_entry(fs, n, f, e);
		else
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&fs->ns_lock);
	if (r < 0 && m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
	}
	ovl_dir_changed(fs, parent);
	return r;
}

static void reply_entry_or_err(fuse_req_t req, int r,
			       const struct fuse_entry_param *e)
{
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, e);
}

void ovl_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_maker m = { .kind = OVL_MK_NODE,
			       .mode = mode,
			       .rdev = rdev };
	struct fuse_entry_param e;
	int r;

	if (S_ISCHR(mode) && rdev == 0) {
		/* a 0/0 device is a whiteout here: the kernel refuses it */
		fuse_reply_err(req, EPERM);
		return;
	}
	if (S_ISREG(mode)) {
		m.kind = OVL_MK_FILE;
		m.flags = O_WRONLY;
	}
	r = ovl_create_obj(req, ovl_node_of(fs, parent), name, &m, &e);
	if (m.fd >= 0)
		close(m.fd);
	reply_entry_or_err(req, r, &e);
}

void ovl_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_maker m = { .kind = OVL_MK_DIR, .mode = mode };
	struct fuse_entry_param e;
	int r = ovl_create_obj(req, ovl_node_of(fs, parent), name, &m, &e);

	reply_entry_or_err(req, r, &e);
}

void ovl_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_maker m = { .kind = OVL_MK_SYMLINK, .target = link };
	struct fuse_entry_param e;
	int r = ovl_create_obj(req, ovl_node_of(fs, parent), name, &m, &e);

	reply_entry_or_err(req, r, &e);
}

void ovl_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *n = ovl_node_of(fs, ino);
	struct ovl_maker m = { .kind = OVL_MK_LINK };
	cleanup_free char *src = NULL;
	struct fuse_entry_param e;
	int r;

	if (n->dir) {
		fuse_reply_err(req, EPERM);
		return;
	}
	r = ovl_copy_up(fs, n, 0);
	if (r == 0)
		r = ovl_node_path(fs, n, &src, NULL);
	m.target = src;
	if (r == 0)
		r = ovl_create_obj(req, ovl_node_of(fs, newparent), newname, &m,
				   &e);
	reply_entry_or_err(req, r, &e);
}

/* ---- removal ------------------------------------------------------------ */

/* The node of @name in @dir as the table has it (the kernel looked it up
 * before asking to remove it), with a reference; NULL if unknown. */
struct ovl_node *ovl_child_node(struct ovl_fs *fs, struct ovl_node *dir,
				const char *name, struct ovl_found *f)
{
	int r = ovl_find(fs, dir, name, f);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return ovl_node_obtain(fs, dir, name, f);
}

/* Replace the upper directory @name (merged, now empty) by a whiteout:
 * exchange it with a fresh one, then delete it from the workdir. */
static int whiteout_over_dir(struct ovl_fs *fs, struct ovl_node *dir,
			     const char *dirpath, int dfd, const char *name)
{
	char tmp[64];
	int r;

	ovl_tmpname(fs, tmp, sizeof(tmp));
	if (renameat(dfd, name, fs->workfd, tmp) < 0)
		return -errno;
	r = ovl_make_whiteout(fs, dir, dirpath, name);
	if (r < 0) {
		renameat(fs->workfd, tmp, dfd, name);
		return r;
	}
	ovl_rmtree_at(fs, fs->workfd, tmp);
	return 0;
}

static int remove_upper(struct ovl_fs *fs, struct ovl_node *dir,
			const char *dirpath, int dfd, const char *name,
			bool is_dir, bool need_wh)
{
	if (is_dir)
		ovl_loop_may_block(); /* it may hold many whiteouts */
	if (!need_wh) {
		if (!is_dir)
			return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
		return ovl_rmtree_at(fs, dfd, name);
	}
	if (is_dir)
		return whiteout_over_dir(fs, dir, dirpath, dfd, name);
	return ovl_make_whiteout(fs, dir, dirpath, name);
}

/* Remove @name (node @n, found as @f) from @dir's upper (already copied
 * up), leaving a whiteout if @need_wh (a lower layer holds the name too).
 * Caller holds ns_lock. */
static int remove_name(struct ovl_fs *fs, struct ovl_node *dir,
		       struct ovl_node *n, const char *name,
		       const struct ovl_found *f, bool rmdir, bool need_wh)
{
	cleanup_free char *dirpath = NULL, *path = NULL;
	cleanup_close int dfd = -1;
	int r;

	if (f->layer == OVL_UPPER && !need_wh && !rmdir) {
		/* The common case needs no directory descriptor. */
		r = ovl_child_path(fs, dir, name, &path);
		if (r == 0 &&
		    ovl_unlinkat(fs->layers[OVL_UPPER].fd, path, 0) < 0)
			r = -errno;
	} else {
		dfd = ovl_open_upper_dir(fs, dir, &dirpath);
		if (dfd < 0)
			return dfd;
		r = f->layer == OVL_UPPER
			    ? remove_upper(fs, dir, dirpath, dfd, name, rmdir,
					   need_wh)
			    : ovl_make_whiteout(fs, dir, dirpath, name);
	}
	if (r == 0)
		ovl_node_unlink_name(fs, n, dir, name);
	return r;
}

static int do_remove(fuse_req_t req, fuse_ino_t parent, const char *name,
		     bool rmdir)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *dir = ovl_node_of(fs, parent), *n;
	struct ovl_found f;
	bool need_wh = false;
	int r;

	n = ovl_child_node(fs, dir, name, &f);
	if (!n)
		return -errno;
	r = (rmdir && !n->dir) ? -ENOTDIR : (!rmdir && n->dir) ? -EISDIR : 0;
	if (r == 0 && rmdir) {
		r = ovl_dir_is_empty(fs, n);
		r = r < 0 ? r : (r ? 0 : -ENOTEMPTY);
	}
	/* Outside ns_lock: an index build or a copy-up may take long. */
	if (r == 0)
		r = ovl_name_in_lower(fs, dir, name, &need_wh);
	if (r == 0)
		r = ovl_copy_up(fs, dir, 0);
	if (r == 0) {
		pthread_mutex_lock(&fs->ns_lock);
		r = remove_name(fs, dir, n, name, &f, rmdir, need_wh);
		pthread_mutex_unlock(&fs->ns_lock);
		ovl_dir_changed(fs, dir);
	}
	ovl_node_forget(fs, n, 1);
	return r;
}

void ovl_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -do_remove(req, parent, name, false));
}

void ovl_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -do_remove(req, parent, name, true));
}
