// SPDX-License-Identifier: Apache-2.0
/* copy.c - `hutch cp`: files between the host and a container, both ways
 *
 * The copy runs in a user namespace with the containers' mapping, so every
 * file of the container can be read and what is copied in belongs to the
 * container's root, while the host side keeps the user's own rights. A
 * running container's tree is reached through /proc/PID/root of its pid 1
 * (its mounts, volumes included); a stopped one's root is its overlay,
 * mounted for the copy in the namespace's private mount namespace.
 *
 * The container is untrusted: every path in it is resolved with
 * cmn_open_in_root(), and the walk below holds directory descriptors and
 * never follows a link, so nothing the container contains, or changes
 * during the copy, can make it read or write outside its root.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container-internal.h"

#define MAX_DEPTH 256

struct copy {
	const struct ctr_container *c;
	const char *src, *dst;
	bool into;	  /* host -> container */
	char *problem;	  /* the first error, in words */
	unsigned skipped; /* devices and sockets */
};

/* "WHAT PATH: why", or for a @what with "%s", the path where it says
 * (and the reason only when it is not a plain "does not exist"). */
static int fail(struct copy *cp, int e, const char *what, const char *path)
{
	if (cp->problem)
		return -e;
	if (strstr(what, "%s")) {
		cleanup_free char *text = cmn_strdup_printf(what, path);

		cp->problem = e == ENOENT ? steal_ptr(&text)
					  : cmn_strdup_printf("%s (%s)", text,
							      strerror(e));
	} else {
		cp->problem =
			cmn_strdup_printf("%s %s: %s", what, path, strerror(e));
	}
	return -e;
}

static int copy_entry(struct copy *cp, int sdir, const char *sname, int ddir,
		      const char *dname, const char *shown, int depth);

static int copy_children(struct copy *cp, int src, int dst, const char *shown,
			 int depth)
{
	DIR *d = cmn_opendirat(src, ".", 0);
	struct dirent *e;
	int ret = 0;

	if (!d)
		return fail(cp, errno, "cannot list", shown);
	while (ret == 0 && (errno = 0, e = readdir(d))) {
		cleanup_free char *sub = NULL;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		sub = cmn_strdup_printf("%s/%s", shown, e->d_name);
		ret = sub ? copy_entry(cp, src, e->d_name, dst, e->d_name, sub,
				       depth + 1)
			  : -ENOMEM;
	}
	if (ret == 0 && errno)
		ret = fail(cp, errno, "cannot list", shown);
	closedir(d);
	return ret;
}

static int copy_dir(struct copy *cp, int sdir, const char *sname,
		    const struct stat *st, int ddir, const char *dname,
		    const char *shown, int depth)
{
	cleanup_close int src = -1;
	cleanup_close int dst = -1;
	int ret;

	if (depth > MAX_DEPTH)
		return fail(cp, ELOOP, "too deep at", shown);
	if (mkdirat(ddir, dname, 0700) < 0 && errno != EEXIST)
		return fail(cp, errno, "cannot create", shown);
	src = openat(sdir, sname,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return fail(cp, errno, "cannot open", shown);
	dst = openat(ddir, dname,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return fail(cp, errno == ENOTDIR ? EEXIST : errno,
			    "cannot copy a directory onto a non-directory",
			    shown);
	ret = copy_children(cp, src, dst, shown, depth);
	if (ret == 0 && fchmod(dst, st->st_mode & 07777) < 0)
		ret = fail(cp, errno, "cannot set the mode of", shown);
	if (ret == 0) {
		struct timespec t[2] = { st->st_atim, st->st_mtim };

		futimens(dst, t);
	}
	return ret;
}

static int copy_file(struct copy *cp, int sdir, const char *sname,
		     const struct stat *st, int ddir, const char *dname,
		     const char *shown)
{
	cleanup_close int in = -1;
	cleanup_close int out = -1;
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	int ret;

	in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail(cp, errno, "cannot open", shown);
	out = openat(ddir, dname,
		     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (out < 0 && (errno == ELOOP || errno == EISDIR)) {
		/* A link or a directory in the way: Docker replaces a link,
		 * and refuses to turn a directory into a file. */
		if (errno == EISDIR)
			return fail(cp, EISDIR,
				    "cannot copy a file onto the directory",
				    shown);
		unlinkat(ddir, dname, 0);
		out = openat(ddir, dname,
			     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC,
			     0600);
	}
	if (out < 0)
		return fail(cp, errno, "cannot create", shown);
	ret = cmn_copy_data(in, out);
	if (ret < 0)
		return fail(cp, -ret, "cannot copy", shown);
	if (fchmod(out, st->st_mode & 07777) < 0)
		return fail(cp, errno, "cannot set the mode of", shown);
	futimens(out, t);
	return 0;
}

static int copy_entry(struct copy *cp, int sdir, const char *sname, int ddir,
		      const char *dname, const char *shown, int depth)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;

	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(cp, errno, "cannot read", shown);
	if (S_ISDIR(st.st_mode))
		return copy_dir(cp, sdir, sname, &st, ddir, dname, shown,
				depth);
	if (S_ISREG(st.st_mode))
		return copy_file(cp, sdir, sname, &st, ddir, dname, shown);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(sdir, sname, target, sizeof(target) - 1);
		if (n < 0)
			return fail(cp, errno, "cannot read the link", shown);
		target[n] = '\0';
		unlinkat(ddir, dname, 0);
		if (symlinkat(target, ddir, dname) < 0)
			return fail(cp, errno, "cannot create the link", shown);
		return 0;
	}
	if (S_ISFIFO(st.st_mode)) {
		unlinkat(ddir, dname, 0);
		if (mkfifoat(ddir, dname, st.st_mode & 07777) < 0)
			return fail(cp, errno, "cannot create the fifo", shown);
		return 0;
	}
	/* Device nodes cannot be made without privilege; sockets are not
	 * files. Neither stops the copy. */
	cp->skipped++;
	return 0;
}

/* "dir/." and "dir/" end: the contents, or a directory is required. */
static bool ends_with_dot(const char *p)
{
	size_t n = strlen(p);

	return (n >= 2 && !strcmp(p + n - 2, "/.")) || !strcmp(p, ".");
}

/* Open the parent of @path (in the container when @root >= 0) and set
 * @base to its last component ("." for the root itself). */
static int open_parent(struct copy *cp, int root, const char *path, char **base,
		       const char *side)
{
	cleanup_free char *dir = strdup(path);
	char *slash, *end;
	int fd;

	if (!dir)
		return -ENOMEM;
	end = dir + strlen(dir);
	while (end > dir + 1 && end[-1] == '/')
		*--end = '\0';
	slash = strrchr(dir, '/');
	if (!slash) {
		*base = strdup(dir);
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		*base = strdup(slash[1] ? slash + 1 : ".");
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (!*base)
		return -ENOMEM;
	if (root >= 0)
		fd = cmn_open_in_root(root, dir, O_RDONLY | O_DIRECTORY,
				      CMN_CREATE_NONE);
	else if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		fd = -errno;
	return fd < 0 ? fail(cp, -fd, side, path) : fd;
}

/* Docker's rules for where a source lands, then the copy. */
static int copy_between(struct copy *cp, int root)
{
	int sroot = cp->into ? -1 : root, droot = cp->into ? root : -1;
	const char *sside =
		cp->into ? "%s: no such file or directory on the host"
			 : "%s: no such file or directory in the container";
	const char *dside = cp->into ? "%s: no such directory in the container"
				     : "%s: no such directory on the host";
	cleanup_free char *sbase = NULL;
	cleanup_free char *dbase = NULL;
	cleanup_close int sdir = open_parent(cp, sroot, cp->src, &sbase, sside);
	cleanup_close int ddir = -1;
	cleanup_close int into = -1;
	struct stat sst, dst;
	bool dst_exists, contents = ends_with_dot(cp->src);
	const char *name;

	if (sdir < 0)
		return sdir;
	if (fstatat(sdir, sbase, &sst, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(cp, errno, sside, cp->src);
	ddir = open_parent(cp, droot, cp->dst, &dbase, dside);
	if (ddir < 0)
		return ddir;
	/* The destination, links followed: inside the container's root for
	 * the container's side, as the user's own path on the host. */
	if (droot >= 0)
		into = cmn_open_in_root(droot, cp->dst, O_PATH,
					CMN_CREATE_NONE);
	else if ((into = open(cp->dst, O_PATH | O_CLOEXEC)) < 0)
		into = -errno;
	dst_exists = into >= 0 && fstat(into, &dst) == 0;
	if (into >= 0)
		close(into);
	into = -1;
	if (!dst_exists && cp->dst[strlen(cp->dst) - 1] == '/' &&
	    !S_ISDIR(sst.st_mode))
		return fail(cp, ENOENT, dside, cp->dst);
	if (dst_exists && S_ISDIR(dst.st_mode)) {
		/* Into the directory: as itself, or its contents for "/.". */
		if (droot >= 0)
			into = cmn_open_in_root(droot, cp->dst,
						O_RDONLY | O_DIRECTORY,
						CMN_CREATE_NONE);
		else if ((into = open(cp->dst,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			into = -errno;
		if (into < 0)
			return fail(cp, -into, "cannot open", cp->dst);
		if (S_ISDIR(sst.st_mode) && contents) {
			cleanup_close int s =
				openat(sdir, sbase,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					       O_CLOEXEC);

			if (s < 0)
				return fail(cp, errno, "cannot open", cp->src);
			return copy_children(cp, s, into, cp->src, 0);
		}
		name = strcmp(sbase, ".") ? sbase : "rootfs";
		return copy_entry(cp, sdir, sbase, into, name, cp->src, 0);
	}
	if (dst_exists && S_ISDIR(sst.st_mode))
		return fail(cp, ENOTDIR,
			    "cannot copy a directory onto the file", cp->dst);
	return copy_entry(cp, sdir, sbase, ddir, dbase, cp->src, 0);
}

/* In the user namespace: the container's root, then the copy; @out
 * receives the number of entries skipped (unsigned). */
static int copy_in_ns(void *arg, void *out, struct hutch_err *err)
{
	struct copy *cp = arg;
	const struct sbx_config *cfg = &cp->c->cfg;
	cleanup_close int root = -1;
	pid_t daemon = -1;
	const struct sbx_storage_driver *driver = NULL;
	bool mounted = false;
	char path[64];
	int ret = 0;

	if (cp->c->status == CTR_RUNNING && cp->c->init_pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/root",
			 (int)cp->c->init_pid);
		root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		if (cfg->lowers) {
			struct sbx_layers l;

			sbx_config_layers(cfg, &l);

			driver = sbx_storage_pick(cfg->storage, cfg->lower_base,
						  &l);
			ret = sbx_mount_layers(driver, &l, cfg->rootfs, &daemon,
					       err);
			mounted = ret == 0;
		}
		if (ret == 0)
			root = open(cfg->rootfs,
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (ret == 0 && root < 0)
		ret = cmn_err_set(err, errno,
				  "cannot reach the root of container %s",
				  cp->c->name);
	if (ret == 0) {
		ret = copy_between(cp, root);
		if (ret < 0)
			cmn_err_msg(err, -ret, "%s",
				    cp->problem ? cp->problem : strerror(-ret));
	}
	if (root >= 0)
		close(root);
	root = -1;
	if (mounted)
		sbx_unmount_layers(driver, cfg->rootfs, daemon);
	*(unsigned *)out = cp->skipped;
	return ret;
}

int ctr_container_copy(const struct ctr_container *c, const char *src,
		       const char *dst, bool into, unsigned *skipped,
		       struct hutch_err *err)
{
	cleanup_free char *cwd = getcwd(NULL, 0);
	const char *host = into ? src : dst;
	cleanup_free char *abs = NULL;
	struct copy cp = { .c = c, .src = src, .dst = dst, .into = into };
	unsigned left_out = 0;
	int ret = ctr_refuse_remote(c, "copy files of", err);

	if (ret < 0)
		return ret;

	/* The helper may not share our working directory. */
	if (host[0] != '/') {
		abs = cwd ? cmn_strdup_printf("%s/%s", cwd, host) : NULL;
		if (!abs)
			return cmn_err_set(err, errno ? errno : ENOMEM,
					   "cannot resolve %s", host);
		*(into ? &cp.src : &cp.dst) = abs;
	}
	if (c->status == CTR_RUNNING && c->init_pid > 0)
		ret = sbx_userns_join_call(c->init_pid, copy_in_ns, &cp,
					   &left_out, sizeof(left_out), err);
	else
		ret = sbx_userns_call(c->cfg.userns, copy_in_ns, &cp, &left_out,
				      sizeof(left_out), err);
	free(cp.problem);
	if (skipped)
		*skipped = ret == 0 ? left_out : 0;
	return ret;
}
