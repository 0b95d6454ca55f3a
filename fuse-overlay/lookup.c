// SPDX-License-Identifier: Apache-2.0
/* lookup.c - find a name in a merged directory, top layer first
 *
 * The upper layer changes under us (we write it), so it is asked directly:
 * one fstatat of the name, and, only in directories that hold OCI
 * ".wh.NAME" files, one more for the whiteout file. The lower layers do
 * not change, so they are asked through the directory's index (dindex.c),
 * built on the first lookup or listing in that directory.
 *
 * A directory found in several layers merges with the directories of the
 * same name below it until one of them is opaque; whether a layer's copy
 * is opaque is read once, when its node is made, and kept in the node.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

bool ovl_is_xattr_whiteout(struct ovl_fs *fs, int dirfd, const char *name)
{
	if (ovl_chdir_fd(dirfd) < 0)
		return false;
	if (lgetxattr(name, OVL_XATTR_USER "whiteout", NULL, 0) >= 0)
		return true;
	return fs->trusted_xattr &&
	       lgetxattr(name, OVL_XATTR_TRUST "whiteout", NULL, 0) >= 0;
}

/* Scan an upper directory for ".wh." files (only for merged ones). */
static bool has_wh_files(int fd)
{
	cleanup_dir DIR *d = cmn_opendirat(fd, ".", 0);
	struct dirent *de;

	if (!d)
		return true; /* cannot tell: check every lookup */
	while ((de = readdir(d))) {
		if (ovl_is_wh_name(de->d_name))
			return true;
	}
	return false;
}

int ovl_dir_probe(struct ovl_fs *fs, int layer, const char *path, bool *opaque,
		  bool *has_wh, bool *xwh)
{
	cleanup_close int fd =
		ovl_openat(fs->layers[layer].fd, path,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char v[4];
	ssize_t n;
	struct stat st;

	*opaque = false;
	if (has_wh)
		*has_wh = false;
	if (xwh)
		*xwh = false;
	if (fd < 0)
		return -errno;
	n = fgetxattr(fd, OVL_XATTR_USER "opaque", v, sizeof(v));
	if (n < 0 && fs->trusted_xattr)
		n = fgetxattr(fd, OVL_XATTR_TRUST "opaque", v, sizeof(v));
	if (n == 1 && v[0] == 'y')
		*opaque = true;
	if (n == 1 && v[0] == 'x' && xwh)
		*xwh = true;
	if (layer == OVL_UPPER && fs->plain_wh_names) {
		/* ".wh." names are the user's: nothing to scan for */
	} else if (has_wh) {
		*has_wh = has_wh_files(fd);
		if (*has_wh &&
		    fstatat(fd, OVL_WH_OPQ, &st, AT_SYMLINK_NOFOLLOW) == 0)
			*opaque = true;
	} else if (fstatat(fd, OVL_WH_OPQ, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		*opaque = true;
	}
	return 0;
}

int ovl_dir_index(struct ovl_fs *fs, struct ovl_node *dir,
		  const struct ovl_dindex **out)
{
	struct ovl_dir *d = dir->dir;
	struct ovl_dindex *ix =
		atomic_load_explicit(&d->index, memory_order_acquire);
	cleanup_free char *path = NULL;
	int r = 0;

	if (ix) {
		*out = ix;
		return 0;
	}
	pthread_mutex_lock(&dir->lock);
	ix = atomic_load_explicit(&d->index, memory_order_acquire);
	if (!ix) {
		ix = ovl_dindex_new();
		r = ix ? ovl_node_lpath(fs, dir, &path) : -ENOMEM;
		for (unsigned i = 0; r == 0 && i < d->nlower; i++) {
			int fd = ovl_openat(fs->layers[d->lower[i]].fd, path,
					    O_RDONLY | O_DIRECTORY |
						    O_NOFOLLOW | O_CLOEXEC);
			bool opaque = false;

			if (fd < 0) {
				r = -errno;
				break;
			}
			r = ovl_dindex_scan_layer(fs, ix, fd, d->lower[i],
						  i + 1 == d->nlower, &opaque);
			if (opaque)
				break;
		}
		if (r == 0)
			atomic_store_explicit(&d->index, ix,
					      memory_order_release);
		else
			ovl_dindex_free(ix);
	}
	pthread_mutex_unlock(&dir->lock);
	*out = ix;
	return r;
}

/* What the lookup needs to know about the directory it searches. */
struct dir_snap {
	char *path;  /* owned, as lpath */
	char *lpath; /* its path in the lowers */
	bool upper;  /* the directory exists in the upper */
	bool opaque, wh, xwh;
	uint16_t nlower;
};

static int snap_dir(struct ovl_fs *fs, struct ovl_node *dir, struct dir_snap *s)
{
	int r;

	pthread_mutex_lock(&fs->tree_lock);
	s->lpath = NULL;
	r = ovl_node_path_locked(dir, &s->path);
	if (r == 0)
		r = ovl_node_lpath_locked(dir, &s->lpath);
	s->upper = fs->has_upper && dir->layer == OVL_UPPER;
	s->opaque = dir->dir->upper_opaque;
	s->wh = dir->dir->upper_wh;
	s->xwh = dir->dir->upper_xwh;
	s->nlower = s->upper && s->opaque ? 0 : dir->dir->nlower;
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

static void snap_done(struct dir_snap *s)
{
	free(s->path);
	free(s->lpath);
}

/* Into a fixed buffer: only for ovl_found.redirect (see read_redirect()). */
static int join(char *buf, size_t size, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (strcmp(dir, ".") == 0) {
		if (nl + 1 > size)
			return -ENAMETOOLONG;
		memcpy(buf, name, nl + 1);
		return 0;
	}
	if (dl + nl + 2 > size)
		return -ENAMETOOLONG;
	memcpy(buf, dir, dl);
	buf[dl] = '/';
	memcpy(buf + dl + 1, name, nl + 1);
	return 0;
}

/* The lower layers a directory found as @e merges, down to the first
 * opaque one; appended to f->lower. */
static void lower_stack(struct ovl_fs *fs, const struct ovl_dindex *ix,
			const struct ovl_dent *e, const char *path,
			struct ovl_found *f)
{
	uint16_t layers[OVL_MAX_LAYERS];
	unsigned n = ovl_dindex_dir_layers(ix, e, layers, OVL_MAX_LAYERS);

	for (unsigned k = 0; k < n; k++) {
		bool opaque = false;

		f->lower[f->nlower++] = layers[k];
		if (k + 1 < n &&
		    ovl_dir_probe(fs, layers[k], path, &opaque, NULL, NULL) ==
			    0 &&
		    opaque)
			break;
	}
}

/* Read the redirect of the upper directory @path into f->redirect,
 * resolved against @s->lpath. 1: there is one, 0: none, -errno. */
static int read_redirect(struct ovl_fs *fs, const struct dir_snap *s,
			 const char *path, struct ovl_found *f)
{
	char v[PATH_MAX];
	const char *p = path;
	ssize_t n;
	bool abs;
	int r = ovl_chdir_at(fs, OVL_UPPER, &p);

	if (r < 0)
		return r;
	n = lgetxattr(p, OVL_XATTR_USER "redirect", v, sizeof(v) - 1);
	if (n < 0 && errno == ENODATA && fs->trusted_xattr)
		n = lgetxattr(p, OVL_XATTR_TRUST "redirect", v, sizeof(v) - 1);
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
	v[n] = '\0';
	abs = v[0] == '/';
	/* The kernel's forms: "/a/b" from the layers' root, or one name in
	 * the same parent. Anything else is damage: refuse as it does. */
	if (n == 0 || strlen(v) != (size_t)n || (!abs && strchr(v, '/')))
		return -EIO;
	for (char *c = abs ? v + 1 : v, *e; c; c = e ? e + 1 : NULL) {
		e = strchr(c, '/');
		if (e)
			*e = '\0';
		if (!*c || strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
			return -EIO;
		if (e)
			*e = '/';
	}
	if (abs)
		r = join(f->redirect, sizeof(f->redirect), ".", v + 1);
	else
		r = join(f->redirect, sizeof(f->redirect), s->lpath, v);
	if (r < 0)
		return -EIO;
	f->redirect_abs = abs;
	return 1;
}

/* In lower @layer, is the absolute lower path @rpath a directory? Walks
 * it one component at a time as the kernel does: a whiteout or a
 * non-directory on the way hides it here and in every layer below, an
 * opaque directory on the way hides the layers below (*@stop). */
static bool lower_walk(struct ovl_fs *fs, int layer, const char *rpath,
		       bool *stop)
{
	int lfd = fs->layers[layer].fd;
	char p[PATH_MAX];
	size_t len = strlen(rpath);

	if (len >= sizeof(p))
		return false;
	memcpy(p, rpath, len + 1);
	for (char *e = p;; e++) {
		struct stat st;
		bool opaque = false, last;

		e = strchr(e, '/');
		last = !e;
		if (e)
			*e = '\0';
		if (fstatat(lfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			char wh[PATH_MAX + 8];
			char *slash = strrchr(p, '/');

			/* an OCI ".wh.NAME" in the parent hides it */
			if (slash)
				snprintf(wh, sizeof(wh),
					 "%.*s/" OVL_WH_PREFIX "%s",
					 (int)(slash - p), p, slash + 1);
			else
				snprintf(wh, sizeof(wh), OVL_WH_PREFIX "%s", p);
			if (fstatat(lfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0)
				*stop = true;
			return false;
		}
		if (!S_ISDIR(st.st_mode)) {
			*stop = true;
			return false;
		}
		if (ovl_dir_probe(fs, layer, p, &opaque, NULL, NULL) == 0 &&
		    opaque)
			*stop = true;
		if (last)
			return true;
		*e = '/';
	}
}

/* The lower stack of a directory renamed from the absolute @rpath: the
 * merged lower directory at that path, from the root's lowers. */
static void abs_stack(struct ovl_fs *fs, const char *rpath, struct ovl_found *f)
{
	const struct ovl_dir *rd = fs->root->dir; /* lower: immutable */

	for (unsigned i = 0; i < rd->nlower; i++) {
		bool stop = false;

		if (lower_walk(fs, rd->lower[i], rpath, &stop))
			f->lower[f->nlower++] = rd->lower[i];
		if (stop)
			break;
	}
}

/* A renamed directory: its lowers are at f->redirect, not at its name. */
static int redirected_dir(struct ovl_fs *fs, struct ovl_node *dir,
			  const struct dir_snap *s, const char *path,
			  struct ovl_found *f)
{
	const struct ovl_dindex *ix;
	const struct ovl_dent *e;
	bool opaque;
	int r = ovl_dir_probe(fs, OVL_UPPER, path, &opaque, &f->upper_wh,
			      &f->upper_xwh);

	if (r < 0)
		return r;
	f->upper_opaque = opaque;
	if (opaque)
		return 0;
	if (f->redirect_abs) {
		abs_stack(fs, f->redirect, f);
		return 0;
	}
	/* One name: the same parent's lowers, as any name there. */
	if (s->nlower == 0)
		return 0;
	r = ovl_dir_index(fs, dir, &ix);
	if (r < 0)
		return r;
	e = ovl_dindex_find(ix, strrchr(f->redirect, '/')
					? strrchr(f->redirect, '/') + 1
					: f->redirect);
	if (e && e->type == DT_DIR)
		lower_stack(fs, ix, e, f->redirect, f);
	return 0;
}

/* @name found in the upper as a directory: probe its markers and, unless
 * it is opaque, merge the lower directories of the same name (or of the
 * name it was renamed from). */
static int upper_dir(struct ovl_fs *fs, struct ovl_node *dir,
		     const struct dir_snap *s, const char *name,
		     const char *path, const char *lpath, struct ovl_found *f)
{
	const struct ovl_dindex *ix;
	const struct ovl_dent *e;
	bool opaque;
	int r;

	if (fs->nlayers > 1) {
		r = read_redirect(fs, s, path, f);
		if (r != 0)
			return r < 0 ? r : redirected_dir(fs, dir, s, path, f);
	}
	if (s->nlower == 0)
		return 0;
	r = ovl_dir_index(fs, dir, &ix);
	if (r < 0)
		return r;
	e = ovl_dindex_find(ix, name);
	if (!e || e->type != DT_DIR)
		return 0;
	r = ovl_dir_probe(fs, OVL_UPPER, path, &opaque, &f->upper_wh,
			  &f->upper_xwh);
	if (r < 0)
		return r;
	f->upper_opaque = opaque;
	if (!opaque)
		lower_stack(fs, ix, e, lpath, f);
	return 0;
}

/* Look in the upper. 1: found (f filled), 0: go on to the lowers,
 * -ENOENT: hidden by a whiteout, -errno. */
static int find_upper(struct ovl_fs *fs, struct ovl_node *dir,
		      const struct dir_snap *s, const char *name,
		      const char *path, const char *lpath, struct ovl_found *f)
{
	int ufd = fs->layers[OVL_UPPER].fd;

	if (ovl_fstatat(ufd, path, &f->st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (ovl_is_whiteout_stat(&f->st))
			return -ENOENT;
		if (s->xwh && S_ISREG(f->st.st_mode) && f->st.st_size == 0) {
			cleanup_close int dfd =
				ovl_openat(ufd, s->path,
					   O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (dfd >= 0 && ovl_is_xattr_whiteout(fs, dfd, name))
				return -ENOENT;
		}
		f->layer = OVL_UPPER;
		if (S_ISDIR(f->st.st_mode)) {
			int r = upper_dir(fs, dir, s, name, path, lpath, f);

			return r < 0 ? r : 1;
		}
		return 1;
	}
	if (errno != ENOENT)
		return -errno;
	if (s->wh && strlen(name) + 4 <= NAME_MAX) {
		struct stat st;
		char whname[NAME_MAX + 1] = OVL_WH_PREFIX;
		cleanup_free char *wh = NULL;
		int r;

		strcat(whname, name);
		r = ovl_path_join(s->path, whname, &wh);
		if (r < 0)
			return r;
		if (ovl_fstatat(ufd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return -ENOENT;
	}
	return s->nlower ? 0 : -ENOENT;
}

static int find_lower(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
		      const char *path, struct ovl_found *f)
{
	const struct ovl_dindex *ix;
	const struct ovl_dent *e;
	int r = ovl_dir_index(fs, dir, &ix);

	if (r < 0)
		return r;
	e = ovl_dindex_find(ix, name);
	if (!e || e->type == OVL_DT_WHT)
		return -ENOENT;
	if (ovl_fstatat(fs->layers[e->layer].fd, path, &f->st,
			AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	f->layer = e->layer;
	if (S_ISDIR(f->st.st_mode))
		lower_stack(fs, ix, e, path, f);
	return 0;
}

static int find_once(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
		     struct ovl_found *f)
{
	struct dir_snap s;
	cleanup_free char *path = NULL, *lpath = NULL;
	int r;

	r = snap_dir(fs, dir, &s);
	if (r == 0)
		r = ovl_path_join(s.path, name, &path);
	if (r == 0)
		r = ovl_path_join(s.lpath, name, &lpath);
	if (r < 0) {
		snap_done(&s);
		return r;
	}
	f->nlower = 0;
	f->upper_opaque = f->upper_wh = f->upper_xwh = false;
	f->redirect[0] = '\0';
	f->redirect_abs = false;
	if (s.upper) {
		r = find_upper(fs, dir, &s, name, path, lpath, f);
		if (r != 0) {
			snap_done(&s);
			return r < 0 ? r : 0;
		}
	}
	snap_done(&s);
	return find_lower(fs, dir, name, lpath, f);
}

int ovl_find(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
	     struct ovl_found *f)
{
	unsigned long gen;
	int r;

	if (!dir->dir)
		return -ENOTDIR;
	if (ovl_upper_wh_name(fs, name))
		return -ENOENT; /* reserved for markers, never shown */
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	/* A rename of an ancestor between building the path and using it
	 * makes the path stale: try again once with the new one. */
	gen = atomic_load(&fs->rename_gen);
	r = find_once(fs, dir, name, f);
	if (r == -ENOENT && gen != atomic_load(&fs->rename_gen))
		r = find_once(fs, dir, name, f);
	return r;
}

static int entry_for(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
		     const struct ovl_found *f, struct fuse_entry_param *e)
{
	struct ovl_node *n = ovl_node_obtain(fs, dir, name, f);

	if (!n)
		return -errno;
	ovl_fill_entry(fs, n, f, e);
	return 0;
}

int ovl_lookup_entry(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
		     struct fuse_entry_param *e)
{
	struct ovl_found f; /* 5 KiB: fine on a worker's stack */
	int r = ovl_find(fs, dir, name, &f);

	return r < 0 ? r : entry_for(fs, dir, name, &f, e);
}

int ovl_lookup_listed(struct ovl_fs *fs, struct ovl_node *dir, int dirfd,
		      const char *dirpath, const char *name, int layer,
		      struct fuse_entry_param *e)
{
	const struct ovl_dindex *ix;
	const struct ovl_dent *ie;
	struct ovl_found f;
	cleanup_free char *path = NULL;

	/* Where the directory has an upper copy, names may have changed
	 * since the listing: ask afresh. */
	if ((fs->has_upper &&
	     (layer == OVL_UPPER || ovl_node_layer(fs, dir) == OVL_UPPER)) ||
	    dirfd < 0 || ovl_dir_index(fs, dir, &ix) < 0 ||
	    !(ie = ovl_dindex_find(ix, name)))
		return ovl_lookup_entry(fs, dir, name, e);
	if (fstatat(dirfd, name, &f.st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	f.layer = layer;
	f.nlower = 0;
	f.upper_opaque = f.upper_wh = f.upper_xwh = false;
	f.redirect[0] = '\0';
	f.redirect_abs = false;
	if (S_ISDIR(f.st.st_mode)) {
		int r = ovl_path_join(dirpath, name, &path);

		if (r < 0)
			return r;
		lower_stack(fs, ix, ie, path, &f);
	}
	return entry_for(fs, dir, name, &f, e);
}

int ovl_name_in_lower(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
		      bool *in_lower)
{
	const struct ovl_dindex *ix;
	const struct ovl_dent *e;
	bool opaque;
	uint16_t nlower;
	int r;

	pthread_mutex_lock(&fs->tree_lock);
	opaque = dir->layer == OVL_UPPER && fs->has_upper &&
		 dir->dir->upper_opaque;
	nlower = dir->dir->nlower;
	pthread_mutex_unlock(&fs->tree_lock);
	*in_lower = false;
	if (opaque || nlower == 0)
		return 0;
	r = ovl_dir_index(fs, dir, &ix);
	if (r < 0)
		return r;
	e = ovl_dindex_find(ix, name);
	*in_lower = e && e->type != OVL_DT_WHT;
	return 0;
}
