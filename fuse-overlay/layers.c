// SPDX-License-Identifier: Apache-2.0
/* layers.c - open and check the layers; probe what the upper supports
 *
 * Checks run before anything is mounted, so that a wrong command line
 * fails with one line naming the directory, the cause and the fix: a
 * missing directory, an upper on a read-only filesystem, layers nested in
 * one another (the kernel's overlayfs refuses those too: a write through
 * the overlay would change a lower under its own feet), a workdir on
 * another filesystem than the upper (copy-up renames from one to the
 * other).
 *
 * The probes decide the on-disk format of what we write: whiteouts are
 * 0/0 character devices when mknod allows them (Linux allows unprivileged
 * whiteouts since 5.8) and ".wh.NAME" files otherwise; opaque directories
 * carry user.overlay.opaque=y when the filesystem has user xattrs, and a
 * ".wh..wh..opq" file otherwise.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

/* Open one layer directory; fill @l. */
static int open_layer(const char *what, const char *path, struct ovl_layer *l,
		      struct hutch_err *err)
{
	char *real = realpath(path, NULL);
	struct stat st;

	if (!real)
		return cmn_err_set(err, errno, "cannot use %s %s", what, path);
	l->path = real;
	l->fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->fd < 0)
		return cmn_err_set(err, errno, "cannot open %s %s", what, real);
	if (fstat(l->fd, &st) < 0)
		return cmn_err_set(err, errno, "cannot stat %s %s", what, real);
	l->dev = st.st_dev;
	return 0;
}

/* Is @inner equal to @outer or below it? (both canonical) */
static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (strcmp(outer, "/") == 0)
		return true;
	return strncmp(inner, outer, n) == 0 &&
	       (inner[n] == '\0' || inner[n] == '/');
}

static int check_overlap(struct ovl_fs *fs, const char *work,
			 struct hutch_err *err)
{
	const char *upper = fs->layers[OVL_UPPER].path;

	for (unsigned i = 1; i < fs->nlayers; i++) {
		const char *lower = fs->layers[i].path;

		if (path_within(upper, lower))
			return cmn_err_msg(
				err, EINVAL,
				"upperdir %s is inside lowerdir %s; the layers must not overlap: put the upper layer elsewhere",
				upper, lower);
		if (path_within(lower, upper))
			return cmn_err_msg(
				err, EINVAL,
				"lowerdir %s is inside upperdir %s; the layers must not overlap: put the upper layer elsewhere",
				lower, upper);
	}
	if (path_within(work, upper) || path_within(upper, work))
		return cmn_err_msg(
			err, EINVAL,
			"workdir %s and upperdir %s overlap; give them separate directories on the same filesystem",
			work, upper);
	return 0;
}

static int check_writable(const char *what, int fd, const char *path,
			  struct hutch_err *err)
{
	struct statvfs sv;

	if (fstatvfs(fd, &sv) < 0)
		return cmn_err_set(err, errno, "cannot check %s %s", what,
				   path);
	if (sv.f_flag & ST_RDONLY)
		return cmn_err_msg(
			err, EROFS,
			"%s %s is on a read-only filesystem; choose a directory on a writable filesystem",
			what, path);
	return 0;
}

/* Remove leftovers of an earlier mount (a crash during copy-up). */
static void clean_workdir(struct ovl_fs *fs)
{
	cleanup_dir DIR *d = cmn_opendirat(fs->workfd, ".", 0);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ovl_rmtree_at(fs, fs->workfd, de->d_name);
	}
}

static int open_workdir(struct ovl_fs *fs, const char *workdir,
			struct hutch_err *err)
{
	struct ovl_layer w = { .fd = -1 };
	int r = open_layer("workdir", workdir, &w, err);

	if (r == 0 && w.dev != fs->layers[OVL_UPPER].dev)
		r = cmn_err_msg(
			err, EXDEV,
			"workdir %s is on another filesystem than upperdir %s; put both on the same filesystem",
			w.path, fs->layers[OVL_UPPER].path);
	if (r == 0)
		r = check_overlap(fs, w.path, err);
	if (r == 0 && mkdirat(w.fd, "work", 0700) < 0 && errno != EEXIST)
		r = cmn_err_set(err, errno, "cannot create %s/work", w.path);
	if (r == 0) {
		fs->workfd =
			openat(w.fd, "work",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fs->workfd < 0)
			r = cmn_err_set(err, errno, "cannot open %s/work",
					w.path);
	}
	if (w.fd >= 0)
		close(w.fd);
	free(w.path);
	if (r == 0)
		clean_workdir(fs);
	return r;
}

static void probe_upper(struct ovl_fs *fs)
{
	int ufd = fs->layers[OVL_UPPER].fd;
	char name[64];

	if (fs->opts->oci_whiteouts) {
		/* .wh. files and .wh..wh..opq, by request; remembered on the
		 * upper (where it takes xattrs) so that a mount without the
		 * option still reads them as markers */
		fsetxattr(ufd, OVL_XATTR_OCI, "y", 1, 0);
		return;
	}
	ovl_tmpname(fs, name, sizeof(name));
	if (mknodat(fs->workfd, name, S_IFCHR | 0, makedev(0, 0)) == 0) {
		fs->wh_chardev = true;
		unlinkat(fs->workfd, name, 0);
	}
	if (mkdirat(fs->workfd, name, 0700) == 0) {
		int fd = openat(fs->workfd, name,
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0 &&
		    fsetxattr(fd, OVL_XATTR_USER "opaque", "y", 1, 0) == 0)
			fs->opaque_xattr = true;
		if (fd >= 0)
			close(fd);
		unlinkat(fs->workfd, name, AT_REMOVEDIR);
	}
	fs->plain_wh_names = fs->wh_chardev && fs->opaque_xattr &&
			     fgetxattr(ufd, OVL_XATTR_OCI, NULL, 0) < 0;
	/* A renamed directory is an xattr naming where its lowers are
	 * (redirect_dir=on): an upper without user xattrs cannot hold it,
	 * and an OCI layer made from an upper with OCI markers has no form
	 * for it (it would show the directory empty). There a rename stays
	 * EXDEV and mv(1) copies, as with the kernel's redirect_dir=off. */
	fs->redirect_dir = !fs->opts->no_redirect && fs->opaque_xattr &&
			   fgetxattr(ufd, OVL_XATTR_OCI, NULL, 0) < 0;
}

/* trusted.* xattrs are visible only with CAP_SYS_ADMIN in the initial user
 * namespace; elsewhere reading them is a wasted system call. */
static bool can_read_trusted(void)
{
	char buf[128] = "";
	cleanup_fclose FILE *f = NULL;
	unsigned long a, b, c;

	if (geteuid() != 0)
		return false;
	f = fopen("/proc/self/uid_map", "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		return false;
	return sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 &&
	       b == 0 && c == 4294967295ul;
}

static void number_filesystems(struct ovl_fs *fs)
{
	fs->nfs = 0;
	for (unsigned i = 0; i < fs->nlayers; i++) {
		unsigned j;

		for (j = 0; j < i; j++) {
			if (fs->layers[j].dev == fs->layers[i].dev)
				break;
		}
		fs->layers[i].fsix = j < i ? fs->layers[j].fsix : fs->nfs++;
	}
}

uint64_t ovl_st_ino(const struct ovl_fs *fs, unsigned layer, ino_t ino)
{
	/* One filesystem: its inode numbers are unique already. Several:
	 * tag each with its filesystem in the top bits, as the kernel's
	 * xino does. */
	if (fs->nfs <= 1)
		return ino;
	return (uint64_t)ino ^ ((uint64_t)fs->layers[layer].fsix << 56);
}

/* The root's stack: every lower down to the first opaque one (the top
 * lower included when there is no upper). */
static int make_root(struct ovl_fs *fs, struct hutch_err *err)
{
	struct ovl_found *f = calloc(1, sizeof(*f));
	unsigned first_lower = fs->has_upper ? 1 : 0;
	bool opaque = false, wh, xwh;
	int r;

	if (!f)
		return -ENOMEM;
	if (fstat(fs->layers[0].fd, &f->st) < 0) {
		r = cmn_err_set(err, errno, "cannot stat %s",
				fs->layers[0].path);
		free(f);
		return r;
	}
	f->layer = 0;
	if (fs->has_upper) {
		ovl_dir_probe(fs, OVL_UPPER, ".", &opaque, &wh, &xwh);
		f->upper_opaque = opaque;
		f->upper_wh = wh;
		f->upper_xwh = xwh;
	}
	for (unsigned i = first_lower; i < fs->nlayers && !opaque; i++) {
		f->lower[f->nlower++] = i;
		if (i + 1 < fs->nlayers)
			ovl_dir_probe(fs, i, ".", &opaque, NULL, NULL);
	}
	r = ovl_node_root(fs, f);
	free(f);
	return r;
}

static int open_layers(struct ovl_fs *fs, struct ovl_opts *o,
		       struct hutch_err *err)
{
	size_t nlower = cmn_strv_len(o->lowerdirs);
	unsigned i = 0;
	int r;

	fs->nlayers = nlower + (o->upperdir ? 1 : 0);
	fs->layers = calloc(fs->nlayers, sizeof(*fs->layers));
	if (!fs->layers)
		return -ENOMEM;
	for (unsigned j = 0; j < fs->nlayers; j++)
		fs->layers[j].fd = -1;
	if (o->upperdir) {
		fs->has_upper = true;
		r = open_layer("upperdir", o->upperdir, &fs->layers[i++], err);
		if (r == 0)
			r = check_writable("upperdir", fs->layers[0].fd,
					   fs->layers[0].path, err);
		if (r < 0)
			return r;
	}
	for (size_t j = 0; j < nlower; j++) {
		r = open_layer("lowerdir", o->lowerdirs[j], &fs->layers[i++],
			       err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Make the mountpoint absolute: the daemon later changes directory. */
static int absolute_mountpoint(struct ovl_opts *o, struct hutch_err *err)
{
	char *real = realpath(o->mountpoint, NULL);

	if (!real)
		return cmn_err_set(err, errno, "cannot use mountpoint %s",
				   o->mountpoint);
	free(o->mountpoint);
	o->mountpoint = real;
	return 0;
}

int ovl_fs_setup(struct ovl_fs *fs, struct ovl_opts *o, struct hutch_err *err)
{
	struct stat st;
	int r;

	fs->opts = o;
	fs->workfd = -1;
	fs->euid = geteuid();
	fs->egid = getegid();
	pthread_mutex_init(&fs->tree_lock, NULL);
	pthread_mutex_init(&fs->ns_lock, NULL);
	r = open_layers(fs, o, err);
	if (r == 0 && fs->has_upper)
		r = open_workdir(fs, o->workdir, err);
	if (r < 0)
		return r;
	if (stat(o->mountpoint, &st) < 0)
		return cmn_err_set(err, errno, "cannot use mountpoint %s",
				   o->mountpoint);
	r = absolute_mountpoint(o, err);
	if (r < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return cmn_err_msg(
			err, ENOTDIR,
			"mountpoint %s is not a directory; give a directory to mount on",
			o->mountpoint);
	if (fs->has_upper)
		probe_upper(fs);
	fs->trusted_xattr = can_read_trusted();
	number_filesystems(fs);
	return make_root(fs, err);
}

void ovl_fs_teardown(struct ovl_fs *fs)
{
	ovl_node_free_all(fs);
	ovl_inomap_free(fs);
	for (unsigned i = 0; fs->layers && i < fs->nlayers; i++) {
		if (fs->layers[i].fd >= 0)
			close(fs->layers[i].fd);
		free(fs->layers[i].path);
	}
	free(fs->layers);
	fs->layers = NULL;
	if (fs->workfd >= 0)
		close(fs->workfd);
	fs->workfd = -1;
	pthread_mutex_destroy(&fs->tree_lock);
	pthread_mutex_destroy(&fs->ns_lock);
}
