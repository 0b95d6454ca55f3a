// SPDX-License-Identifier: Apache-2.0
/* tree.c - an image's layers merged into one in-memory tree, as overlayfs
 * would show them
 *
 * The layers are read bottom first, each applied over the tree so far:
 * whiteouts delete, opaque directories empty what was below them, a
 * directory over a directory merges (the upper one's metadata wins),
 * anything else replaces. Both on-disk forms of the store's layers are
 * understood (DESIGN.md, "Process model"): the kernel's (0/0 character
 * devices, user.overlay.opaque=y) and the OCI markers where the store's
 * filesystem has neither (".wh.NAME", ".wh..wh..opq"). Nothing is read
 * through a symlink: every object is opened relative to its layer's
 * descriptor with O_NOFOLLOW on the last component, and the walk only
 * descends into real directories.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "squashfs/hsq-internal.h"

#define WH     ".wh."
#define WH_OPQ ".wh..wh..opq"

void hsq_tree_free(struct hsq_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		hsq_tree_free(n->kids[i]);
	for (size_t i = 0; i < n->n_xattrs; i++) {
		free(n->xattrs[i].key);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->kids);
	free(n->name);
	free(n->path);
	free(n->link);
	free(n->inode);
	free(n);
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct hsq_xattr *)a)->key,
		      ((const struct hsq_xattr *)b)->key);
}

/* Overlay bookkeeping is not content; squashfs stores only the user.,
 * trusted. and security. namespaces. */
static bool keep_xattr(const char *key)
{
	if (!strncmp(key, "user.overlay.", 13) ||
	    !strncmp(key, "trusted.overlay.", 16))
		return false;
	return !strncmp(key, "user.", 5) || !strncmp(key, "trusted.", 8) ||
	       !strncmp(key, "security.", 9);
}

/* The extended attributes of @n, read through /proc/self/fd so that a
 * symlink's own are read (the l*xattr calls on a descriptor-relative
 * path). */
static int read_xattrs(struct hsq_node *n, struct hutch_err *err)
{
	char path[64 + PATH_MAX];
	char list[65536];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", n->layer, n->path);
	len = llistxattr(path, list, sizeof(list));
	if (len < 0 && (errno == ENOTSUP || errno == ENODATA))
		return 0;
	if (len < 0)
		return cmn_err_set(err, errno, "cannot list the xattrs of %s",
				   n->path);
	for (char *k = list; k < list + len; k += strlen(k) + 1) {
		ssize_t vlen;
		struct hsq_xattr *x, *grown;

		if (!keep_xattr(k))
			continue;
		vlen = lgetxattr(path, k, NULL, 0);
		if (vlen < 0)
			return cmn_err_set(err, errno,
					   "cannot read xattr %s of %s", k,
					   n->path);
		grown = realloc(n->xattrs, (n->n_xattrs + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		n->xattrs = grown;
		x = &n->xattrs[n->n_xattrs];
		*x = (struct hsq_xattr){ .key = strdup(k),
					 .value = malloc(vlen ? vlen : 1) };
		if (!x->key || !x->value) {
			free(x->key);
			free(x->value);
			return -ENOMEM;
		}
		n->n_xattrs++;
		vlen = lgetxattr(path, k, x->value, vlen);
		if (vlen < 0)
			return cmn_err_set(err, errno,
					   "cannot read xattr %s of %s", k,
					   n->path);
		x->size = (size_t)vlen;
	}
	if (n->n_xattrs > 1)
		qsort(n->xattrs, n->n_xattrs, sizeof(*n->xattrs), cmp_xattr);
	return 0;
}

/* A node for @name (a path of @layer) from its lstat @st. */
static struct hsq_node *node_new(const char *name, const char *path, int layer,
				 const struct stat *st, struct hutch_err *err)
{
	struct hsq_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	n->path = strdup(path);
	n->layer = layer;
	n->st = *st;
	if (!n->name || !n->path)
		goto fail;
	if (S_ISLNK(st->st_mode)) {
		char buf[PATH_MAX];
		ssize_t len = readlinkat(layer, path, buf, sizeof(buf) - 1);

		if (len < 0) {
			cmn_err_set(err, errno, "cannot read the symlink %s",
				    path);
			goto fail;
		}
		buf[len] = '\0';
		n->link = strdup(buf);
		if (!n->link)
			goto fail;
	}
	if (read_xattrs(n, err) < 0)
		goto fail;
	return n;
fail:
	hsq_tree_free(n);
	return NULL;
}

static struct hsq_node **find_kid(struct hsq_node *dir, const char *name)
{
	for (size_t i = 0; i < dir->n_kids; i++)
		if (!strcmp(dir->kids[i]->name, name))
			return &dir->kids[i];
	return NULL;
}

static void drop_kid(struct hsq_node *dir, const char *name)
{
	struct hsq_node **k = find_kid(dir, name);

	if (!k)
		return;
	hsq_tree_free(*k);
	*k = dir->kids[--dir->n_kids];
}

static void drop_all(struct hsq_node *dir)
{
	for (size_t i = 0; i < dir->n_kids; i++)
		hsq_tree_free(dir->kids[i]);
	dir->n_kids = 0;
}

static int add_kid(struct hsq_node *dir, struct hsq_node *kid)
{
	if (dir->n_kids == dir->cap_kids) {
		size_t cap = dir->cap_kids ? 2 * dir->cap_kids : 8;
		struct hsq_node **k = realloc(dir->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		dir->kids = k;
		dir->cap_kids = cap;
	}
	dir->kids[dir->n_kids++] = kid;
	return 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool xattr_opaque(int layer, const char *path)
{
	char p[64 + PATH_MAX], v[2];

	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", layer, path);
	return lgetxattr(p, "user.overlay.opaque", v, sizeof(v)) == 1 &&
	       v[0] == 'y';
}

static int merge_dir(struct hsq_node *dir, int layer, const char *path,
		     struct hutch_err *err);

/* Apply the entry @name of directory @path of @layer to @dir. */
static int merge_entry(struct hsq_node *dir, int layer, const char *path,
		       const char *name, struct hutch_err *err)
{
	char sub[PATH_MAX];
	struct hsq_node **old, *n;
	struct stat st;

	if (!strcmp(name, WH_OPQ))
		return 0; /* applied by merge_dir() before the entries */
	if (!strncmp(name, WH, strlen(WH))) {
		if (strncmp(name, WH WH, 2 * strlen(WH)))
			drop_kid(dir, name + strlen(WH));
		return 0; /* other ".wh..wh." names: aufs bookkeeping */
	}
	if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, name) >=
	    sizeof(sub))
		return cmn_err_msg(err, ENAMETOOLONG,
				   "layer path %s/%s is too long", path, name);
	if (fstatat(layer, sub, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cmn_err_set(err, errno, "cannot stat %s", sub);
	if (is_whiteout(&st)) {
		drop_kid(dir, name);
		return 0;
	}
	old = find_kid(dir, name);
	if (old && S_ISDIR(st.st_mode) && S_ISDIR((*old)->st.st_mode)) {
		struct hsq_node *fresh = node_new(name, sub, layer, &st, err);

		if (!fresh)
			return err && err->code ? -err->code : -ENOMEM;
		/* The upper directory's metadata, the merged entries. */
		fresh->kids = steal_ptr(&(*old)->kids);
		fresh->n_kids = (*old)->n_kids;
		fresh->cap_kids = (*old)->cap_kids;
		(*old)->n_kids = (*old)->cap_kids = 0;
		hsq_tree_free(*old);
		*old = fresh;
		return merge_dir(fresh, layer, sub, err);
	}
	if (old)
		drop_kid(dir, name);
	n = node_new(name, sub, layer, &st, err);
	if (!n)
		return err && err->code ? -err->code : -ENOMEM;
	if (add_kid(dir, n) < 0) {
		hsq_tree_free(n);
		return -ENOMEM;
	}
	return S_ISDIR(st.st_mode) ? merge_dir(n, layer, sub, err) : 0;
}

/* Apply directory @path of @layer to @dir (whose metadata is already that
 * layer's). */
static int merge_dir(struct hsq_node *dir, int layer, const char *path,
		     struct hutch_err *err)
{
	int fd = openat(layer, path,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_dir DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		ret = cmn_err_set(err, errno, "cannot open directory %s", path);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (xattr_opaque(layer, path) ||
	    faccessat(fd, WH_OPQ, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		drop_all(dir);
	errno = 0;
	while (ret == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ret = merge_entry(dir, layer, path, e->d_name, err);
		errno = 0;
	}
	if (ret == 0 && errno)
		ret = cmn_err_set(err, errno, "cannot read directory %s", path);
	return ret;
}

int hsq_tree_merge(struct hsq_node **root, int layer, struct hutch_err *err)
{
	struct stat st;
	struct hsq_node *fresh;

	if (fstatat(layer, ".", &st, 0) < 0)
		return cmn_err_set(err, errno, "cannot stat a layer");
	fresh = node_new("", ".", layer, &st, err);
	if (!fresh)
		return err && err->code ? -err->code : -ENOMEM;
	if (*root) {
		fresh->kids = steal_ptr(&(*root)->kids);
		fresh->n_kids = (*root)->n_kids;
		fresh->cap_kids = (*root)->cap_kids;
		(*root)->n_kids = (*root)->cap_kids = 0;
		hsq_tree_free(*root);
	}
	*root = fresh;
	return merge_dir(fresh, layer, ".", err);
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp((*(struct hsq_node *const *)a)->name,
		      (*(struct hsq_node *const *)b)->name);
}

void hsq_tree_sort(struct hsq_node *n)
{
	if (n->n_kids > 1)
		qsort(n->kids, n->n_kids, sizeof(*n->kids), cmp_node);
	for (size_t i = 0; i < n->n_kids; i++)
		hsq_tree_sort(n->kids[i]);
}
