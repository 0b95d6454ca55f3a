// SPDX-License-Identifier: Apache-2.0
/* ops_xattr.c - FUSE extended attribute operations
 *
 * The overlay's own xattrs (user.overlay.* and trusted.overlay.*: opaque,
 * whiteout, ...) are markers, never shown. A user who sets an xattr of
 * that name on a file of the overlay gets it stored escaped, as
 * user.overlay.overlay.NAME, exactly as the kernel's overlayfs (6.7+)
 * does, so overlays can be nested and each sees only its own markers.
 *
 * The calls go by path relative to the layer root (the thread's working
 * directory, see at.c), which works for every file type without opening
 * the file (opening a device node or FIFO to read its xattrs would have
 * side effects).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

/* The namespace prefix @name uses among ours, or NULL. */
static const char *overlay_prefix(const char *name)
{
	if (cmn_has_prefix(name, OVL_XATTR_USER))
		return OVL_XATTR_USER;
	if (cmn_has_prefix(name, OVL_XATTR_TRUST))
		return OVL_XATTR_TRUST;
	return NULL;
}

/* The name on disk for the name the user asked for. */
static int disk_name(const char *name, char *buf, size_t size)
{
	const char *pfx = overlay_prefix(name);
	int n;

	if (!pfx)
		n = snprintf(buf, size, "%s", name);
	else
		n = snprintf(buf, size, "%s" OVL_XATTR_ESCAPE "%s", pfx,
			     name + strlen(pfx));
	return n < 0 || (size_t)n >= size ? -ERANGE : 0;
}

/* The name the user sees for a name on disk, or NULL: hidden. */
static const char *user_name(const char *disk, char *buf, size_t size)
{
	const char *pfx = overlay_prefix(disk);
	const char *rest;

	if (!pfx)
		return disk;
	rest = disk + strlen(pfx);
	if (!cmn_has_prefix(rest, OVL_XATTR_ESCAPE))
		return NULL; /* one of our markers */
	snprintf(buf, size, "%s%s", pfx, rest + sizeof(OVL_XATTR_ESCAPE) - 1);
	return buf;
}

/* Path (a new buffer in *@path, replacing what was there) and layer of
 * @n, with the thread's cwd in that layer; or, for an unlinked node, an
 * open descriptor of it in *@fd (caller closes). */
static int at_node(struct ovl_fs *fs, struct ovl_node *n, char **path, int *fd)
{
	const char *rel;
	int layer, r;

	free(*path);
	r = ovl_node_target(fs, n, path, &layer, fd);
	if (r < 0 || *fd >= 0)
		return r;
	rel = *path;
	r = ovl_chdir_at(fs, layer, &rel);
	if (r == 0 &&
	    rel != *path) /* long: the last component, from its parent */
		memmove(*path, rel, strlen(rel) + 1);
	return r;
}

static void reply_size_or_data(fuse_req_t req, size_t size, const char *buf,
			       ssize_t n)
{
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void ovl_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	char dname[XATTR_NAME_MAX + 32];
	cleanup_free char *path = NULL;
	cleanup_free char *buf = size ? malloc(size) : NULL;
	cleanup_close int fd = -1;
	ssize_t n;
	int r;

	r = disk_name(name, dname, sizeof(dname));
	if (r == 0)
		r = at_node(fs, ovl_node_of(fs, ino), &path, &fd);
	if (r == 0 && size && !buf)
		r = -ENOMEM;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	n = fd >= 0 ? fgetxattr(fd, dname, buf, size)
		    : lgetxattr(path, dname, buf, size);
	reply_size_or_data(req, size, buf, n);
}

/* Keep the names the user may see, unescaped, in @out; returns the
 * length (which may exceed @outsize: the caller checks). */
static size_t filter_names(const char *in, size_t len, char *out,
			   size_t outsize)
{
	char tmp[XATTR_NAME_MAX + 1];
	size_t used = 0;

	for (const char *p = in; p < in + len; p += strlen(p) + 1) {
		const char *u = user_name(p, tmp, sizeof(tmp));
		size_t l;

		if (!u)
			continue;
		l = strlen(u) + 1;
		if (out && used + l <= outsize)
			memcpy(out + used, u, l);
		used += l;
	}
	return used;
}

static ssize_t list_raw(const char *path, int fd, char *buf, size_t size)
{
	return fd >= 0 ? flistxattr(fd, buf, size)
		       : llistxattr(path, buf, size);
}

void ovl_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	cleanup_free char *path = NULL;
	cleanup_free char *raw = NULL, *out = NULL;
	cleanup_close int fd = -1;
	ssize_t len;
	size_t used;
	int r = at_node(fs, ovl_node_of(fs, ino), &path, &fd);

	len = r < 0 ? (errno = -r, -1) : list_raw(path, fd, NULL, 0);
	if (len > 0) {
		raw = malloc(len);
		len = raw ? list_raw(path, fd, raw, len) : (errno = ENOMEM, -1);
	}
	if (len < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	used = filter_names(raw, len, NULL, 0);
	if (size == 0) {
		fuse_reply_xattr(req, used);
		return;
	}
	if (used > size) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	out = malloc(used ? used : 1);
	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	filter_names(raw, len, out, used);
	fuse_reply_buf(req, out, used);
}

/* Copy up @n and point the thread at its upper path (or *@fd). */
static int prepare_change(struct ovl_fs *fs, struct ovl_node *n, char **path,
			  int *fd)
{
	int r = ovl_copy_up(fs, n, 0);

	return r < 0 && r != -ENOENT ? r : at_node(fs, n, path, fd);
}

void ovl_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size, int flags)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	char dname[XATTR_NAME_MAX + 32];
	cleanup_free char *path = NULL;
	cleanup_close int fd = -1;
	int r = disk_name(name, dname, sizeof(dname));

	if (r == 0)
		r = prepare_change(fs, ovl_node_of(fs, ino), &path, &fd);
	if (r == 0 &&
	    (fd >= 0 ? fsetxattr(fd, dname, value, size, flags)
		     : lsetxattr(path, dname, value, size, flags)) < 0)
		r = -errno;
	fuse_reply_err(req, -r);
}

void ovl_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *n = ovl_node_of(fs, ino);
	char dname[XATTR_NAME_MAX + 32];
	cleanup_free char *path = NULL;
	cleanup_close int fd = -1;
	int r = disk_name(name, dname, sizeof(dname));

	/* Removing what is not there copies nothing up. */
	if (r == 0 && !ovl_node_is_upper(fs, n)) {
		r = at_node(fs, n, &path, &fd);
		if (r == 0 && fd < 0 && lgetxattr(path, dname, NULL, 0) < 0)
			r = -errno;
	}
	if (r == 0 && fd < 0)
		r = prepare_change(fs, n, &path, &fd);
	if (r == 0 &&
	    (fd >= 0 ? fremovexattr(fd, dname) : lremovexattr(path, dname)) < 0)
		r = -errno;
	fuse_reply_err(req, -r);
}
