// SPDX-License-Identifier: Apache-2.0
/* ops_rename.c - FUSE rename and rename-exchange across layers
 *
 * The rules are the kernel overlayfs's with redirect_dir=on:
 *  - a directory that has lower layers (lower-only or merged) is copied
 *    up (itself, not its tree), renamed in the upper and given an
 *    overlay.redirect xattr naming where its lowers are: its old name
 *    when it stays in the same parent ("a"), else its lower path from
 *    the layers' root ("/x/a"). A directory that has one keeps it (it
 *    already names the original lowers) unless a relative one leaves its
 *    parent; lookups then follow it (lookup.c). Without -o
 *    redirect_dir=on (the default, as the kernel's), where the upper
 *    takes no user xattrs, or where it holds OCI markers, such a rename
 *    is EXDEV, as with the kernel's redirect_dir=off, and mv(1) copies;
 *  - a pure upper directory moved into a merged directory is marked
 *    opaque, so that a lower directory of the new name stays hidden;
 *  - a non-directory is copied up first; the old name gets a whiteout
 *    when a lower layer also holds it (a renamed directory too);
 *  - the new name may be a whiteout (replaced), an empty merged directory
 *    (its whiteouts are cleared first), or anything the kernel allows.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
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

struct rename_op {
	struct ovl_node *op, *np; /* old and new parent */
	const char *oname, *nname;
	struct ovl_node *s, *t; /* source, target (NULL: none), referenced */
	unsigned flags;
	int odfd, ndfd;	     /* the parents in the upper */
	char *opath, *npath; /* the parents' upper paths, owned */
	bool old_in_lower;   /* the old name needs a whiteout after */
	bool np_merged, op_merged;
	bool s_merged, t_merged; /* directories that take a redirect */
};

/* Does directory @n have lower layers showing through? */
static bool dir_merged(struct ovl_fs *fs, struct ovl_node *n)
{
	bool r;

	pthread_mutex_lock(&fs->tree_lock);
	if (fs->has_upper && n->layer == OVL_UPPER)
		r = n->dir->nlower > 0 && !n->dir->upper_opaque;
	else
		r = true;
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

static int check(struct ovl_fs *fs, struct rename_op *ro)
{
	bool exchange = ro->flags & RENAME_EXCHANGE;
	int r;

	if ((ro->flags & RENAME_NOREPLACE) && ro->t)
		return -EEXIST;
	if (exchange && !ro->t)
		return -ENOENT;
	if (ro->s->dir && dir_merged(fs, ro->s) && !fs->redirect_dir)
		return -EXDEV;
	if (!ro->t)
		return 0;
	if (exchange)
		return ro->t->dir && dir_merged(fs, ro->t) && !fs->redirect_dir
			       ? -EXDEV
			       : 0;
	if (ro->t->dir && !ro->s->dir)
		return -EISDIR;
	if (!ro->t->dir && ro->s->dir)
		return -ENOTDIR;
	if (ro->t->dir) {
		r = ovl_dir_is_empty(fs, ro->t);
		return r < 0 ? r : (r ? 0 : -ENOTEMPTY);
	}
	return 0;
}

static int prepare(struct ovl_fs *fs, struct rename_op *ro)
{
	int r = ovl_copy_up(fs, ro->s, 0);

	if (r == 0)
		r = ovl_copy_up(fs, ro->op, 0);
	if (r == 0)
		r = ovl_copy_up(fs, ro->np, 0);
	if (r == 0 && ro->t && (ro->flags & RENAME_EXCHANGE))
		r = ovl_copy_up(fs, ro->t, 0);
	if (r == 0)
		r = ovl_name_in_lower(fs, ro->op, ro->oname, &ro->old_in_lower);
	if (r < 0)
		return r;
	ro->np_merged = dir_merged(fs, ro->np);
	ro->op_merged = dir_merged(fs, ro->op);
	ro->s_merged = ro->s->dir && dir_merged(fs, ro->s);
	ro->t_merged = ro->t && ro->t->dir && (ro->flags & RENAME_EXCHANGE) &&
		       dir_merged(fs, ro->t);
	ro->odfd = ovl_open_upper_dir(fs, ro->op, &ro->opath);
	if (ro->odfd < 0)
		return ro->odfd;
	ro->ndfd = ovl_open_upper_dir(fs, ro->np, &ro->npath);
	return ro->ndfd < 0 ? ro->ndfd : 0;
}

/* A pure upper directory moving into a merged one must hide whatever the
 * lowers hold under its new name. */
static int maybe_opaque(struct ovl_fs *fs, struct ovl_node *n, int dfd,
			const char *name, bool into_merged)
{
	bool already;
	int r;

	if (!n->dir || !into_merged)
		return 0;
	pthread_mutex_lock(&fs->tree_lock);
	already = n->dir->upper_opaque;
	pthread_mutex_unlock(&fs->tree_lock);
	if (already)
		return 0;
	r = ovl_opaque_at(fs, dfd, name);
	if (r < 0)
		return r == -EOPNOTSUPP ? -EXDEV : r;
	pthread_mutex_lock(&fs->tree_lock);
	n->dir->upper_opaque = true;
	pthread_mutex_unlock(&fs->tree_lock);
	return 0;
}

/* The merged directory @n, at @name in the upper directory @dfd, is about
 * to leave its name: make it name where its lowers are, as the kernel's
 * ovl_set_redirect() does. Written before the move: a failure leaves the
 * rename undone, and a redirect that names the directory's own lower path
 * changes nothing if the move then fails. */
static int set_redirect(struct ovl_fs *fs, struct ovl_node *n, int dfd,
			const char *name, bool samedir)
{
	cleanup_free char *lpath = NULL;
	char value[PATH_MAX + 1];
	cleanup_close int fd = -1;
	bool keep;
	int r;

	pthread_mutex_lock(&fs->tree_lock);
	/* One it has still names the original lowers, unless a relative one
	 * leaves its parent. */
	keep = n->dir->redirect && (n->dir->redirect_abs || samedir);
	r = keep ? 0 : ovl_node_lpath_locked(n, &lpath);
	pthread_mutex_unlock(&fs->tree_lock);
	if (keep)
		return 0;
	if (r < 0)
		return r;
	/* Relative: the old name, in the same parent; else absolute. Too
	 * long for the kernel to read back (or for a lookup's resolved
	 * redirect, ovl_found.redirect): EXDEV, mv copies. */
	if (strlen(lpath) >= PATH_MAX)
		return -EXDEV;
	r = snprintf(value, sizeof(value), "%s%s", samedir ? "" : "/",
		     samedir ? name : lpath);
	if (r < 0 || r >= PATH_MAX)
		return -EXDEV;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsetxattr(fd, OVL_XATTR_USER "redirect", value, strlen(value), 0) <
	    0)
		return errno == ENOTSUP || errno == ENOSPC || errno == E2BIG
			       ? -EXDEV
			       : -errno;
	return ovl_node_set_redirect(fs, n, lpath, !samedir);
}

static int do_exchange(struct ovl_fs *fs, struct rename_op *ro)
{
	bool samedir = ro->op == ro->np;
	int r = ro->s_merged
			? set_redirect(fs, ro->s, ro->odfd, ro->oname, samedir)
			: 0;
	if (r == 0 && ro->t_merged)
		r = set_redirect(fs, ro->t, ro->ndfd, ro->nname, samedir);
	if (r < 0)
		return r;
	if (renameat2(ro->odfd, ro->oname, ro->ndfd, ro->nname,
		      RENAME_EXCHANGE) < 0)
		return -errno;
	if (!ro->s_merged)
		r = maybe_opaque(fs, ro->s, ro->ndfd, ro->nname, ro->np_merged);
	if (r == 0 && !ro->t_merged)
		r = maybe_opaque(fs, ro->t, ro->odfd, ro->oname, ro->op_merged);
	if (r == 0)
		r = ovl_node_rename(fs, ro->s, ro->op, ro->oname, ro->np,
				    ro->nname);
	if (r == 0)
		r = ovl_node_rename(fs, ro->t, ro->np, ro->nname, ro->op,
				    ro->oname);
	return r;
}

/* Move the source onto the new name, whatever the upper holds there.
 * Sets *@wh_left when a whiteout ended up at the old name. */
static int move_onto(struct ovl_fs *fs, struct rename_op *ro, bool *wh_left)
{
	struct stat st;
	int r;

	*wh_left = false;
	if (fstatat(ro->ndfd, ro->nname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (ovl_is_whiteout_stat(&st) && ro->s->dir) {
			/* A directory cannot replace a device: swap them,
			 * which leaves the whiteout at the old name. */
			if (renameat2(ro->odfd, ro->oname, ro->ndfd, ro->nname,
				      RENAME_EXCHANGE) < 0)
				return -errno;
			*wh_left = true;
			if (!ro->old_in_lower &&
			    unlinkat(ro->odfd, ro->oname, 0) < 0)
				return -errno;
			return 0;
		}
		if (S_ISDIR(st.st_mode)) {
			/* An empty merged directory: only markers remain. */
			cleanup_close int fd =
				openat(ro->ndfd, ro->nname,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					       O_CLOEXEC);

			r = fd < 0 ? -errno : ovl_clear_dir(fs, fd);
			if (r < 0)
				return r;
		}
	}
	if (renameat(ro->odfd, ro->oname, ro->ndfd, ro->nname) < 0)
		return -errno;
	return 0;
}

static int do_move(struct ovl_fs *fs, struct rename_op *ro)
{
	bool wh_left = false;
	int r = ro->s_merged ? set_redirect(fs, ro->s, ro->odfd, ro->oname,
					    ro->op == ro->np)
			     : maybe_opaque(fs, ro->s, ro->odfd, ro->oname,
					    ro->np_merged);

	if (r == 0)
		r = move_onto(fs, ro, &wh_left);
	if (r < 0)
		return r;
	if (!fs->plain_wh_names)
		ovl_remove_wh_file(fs, ro->npath, ro->nname);
	if (ro->old_in_lower && !wh_left) {
		r = ovl_make_whiteout(fs, ro->op, ro->opath, ro->oname);
		if (r < 0)
			return r;
	}
	if (ro->t)
		ovl_node_unlink_name(fs, ro->t, ro->np, ro->nname);
	return ovl_node_rename(fs, ro->s, ro->op, ro->oname, ro->np, ro->nname);
}

static int find_nodes(struct ovl_fs *fs, struct rename_op *ro)
{
	cleanup_free struct ovl_found *f = malloc(sizeof(*f));

	if (!f)
		return -ENOMEM;
	ro->s = ovl_child_node(fs, ro->op, ro->oname, f);
	if (!ro->s)
		return -errno;
	ro->t = ovl_child_node(fs, ro->np, ro->nname, f);
	if (!ro->t && errno != ENOENT)
		return -errno;
	return 0;
}

static int do_rename(struct ovl_fs *fs, struct rename_op *ro)
{
	int r;

	if (ro->flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (ovl_upper_wh_name(fs, ro->nname))
		return -EINVAL;
	if (!fs->has_upper)
		return -EROFS;
	r = find_nodes(fs, ro);
	if (r == 0)
		r = check(fs, ro);
	if (r == 0)
		r = prepare(fs, ro);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fs->ns_lock);
	if (ro->flags & RENAME_EXCHANGE)
		r = do_exchange(fs, ro);
	else
		r = do_move(fs, ro);
	pthread_mutex_unlock(&fs->ns_lock);
	ovl_dir_changed(fs, ro->op);
	ovl_dir_changed(fs, ro->np);
	return r;
}

void ovl_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct rename_op *ro = calloc(1, sizeof(*ro));
	int r;

	if (!ro) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ro->op = ovl_node_of(fs, parent);
	ro->np = ovl_node_of(fs, newparent);
	ro->oname = name;
	ro->nname = newname;
	ro->flags = flags;
	ro->odfd = ro->ndfd = -1;
	r = do_rename(fs, ro);
	if (ro->s)
		ovl_node_forget(fs, ro->s, 1);
	if (ro->t)
		ovl_node_forget(fs, ro->t, 1);
	if (ro->odfd >= 0)
		close(ro->odfd);
	if (ro->ndfd >= 0)
		close(ro->ndfd);
	free(ro->opath);
	free(ro->npath);
	free(ro);
	fuse_reply_err(req, -r);
}
