// SPDX-License-Identifier: Apache-2.0
/* step_copy.c - COPY and ADD: files into a new layer
 *
 * The copy runs as root of a user namespace with the containers' mapping,
 * on an overlay of the stage's layers with a fresh upper directory, so
 * that parent directories keep their owners and modes (they are copied up
 * by the kernel, not recreated) and --chown can give real owners where
 * subordinate ids exist. Destinations are resolved inside the overlay with
 * cmn_open_in_root(): an image's symlinks cannot send files out of it.
 * Sources come from the context (through .dockerignore) or, with --from,
 * from an earlier stage's or an image's layers mounted read-only; ADD's
 * http(s) sources are downloaded on the host first (fetch.c) and copied
 * from their descriptor.
 *
 * WORKDIR uses the same overlay: the directories of its path that are
 * missing are made there, 0755 and owned by the stage's USER at that
 * point, as BuildKit makes them (existing ones stay as they are), and
 * become the step's layer; nothing missing, no layer.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder-internal.h"
#include "image/image.h"

/* What the child needs; everything borrowed from the parent's memory. */
struct copy_job {
	const struct bld *b;
	const struct stage *st;	  /* the stage being built */
	const struct stage *from; /* --from stage/image, or NULL: context */
	const struct bld_instr *in;
	const char *dir;  /* tmp dir: upper/ work/ rootfs/ src/ */
	const char *dest; /* absolute destination */
	bool add;
	bool chown;
	uid_t uid;
	gid_t gid;
	const char *chown_spec;
	int chmod; /* -1: keep the source's modes */
	/* In the copy's namespace: the overlay driver and, with FUSE, the
	 * daemons of the destination's and --from's mounts (-1: none). */
	const struct sbx_storage_driver *driver, *src_driver;
	pid_t dst_daemon, src_daemon;
	const struct bld_fetches *fetches; /* ADD's URL sources, downloaded */
};

static int copy_fd(struct copy_job *j, int src, const struct stat *st,
		   int dstdir, const char *name, const char *rel, int depth);
static int copy_children(struct copy_job *j, int src, int dst, const char *rel,
			 int depth);

static void own(const struct copy_job *j, int fd, const char *name, int dirfd,
		const struct stat *st, bool link)
{
	uid_t u = j->chown ? j->uid : 0;
	gid_t g = j->chown ? j->gid : 0;

	/* Without subordinate ids other owners do not exist: root it is
	 * (root is the only id of a single mapping, and cannot fail). */
	if (link && fchownat(dirfd, name, u, g, AT_SYMLINK_NOFOLLOW) < 0 &&
	    fchownat(dirfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
		cmn_debug("cannot chown %s: %s", name, strerror(errno));
	else if (!link && fchown(fd, u, g) < 0 && fchown(fd, 0, 0) < 0)
		cmn_debug("cannot chown: %s", strerror(errno));
	if (!link) {
		struct timespec t[2] = { st->st_atim, st->st_mtim };

		fchmod(fd,
		       j->chmod >= 0 ? (mode_t)j->chmod : st->st_mode & 07777);
		futimens(fd, t);
	}
}

static int copy_file(struct copy_job *j, int src, const struct stat *st,
		     int dstdir, const char *name)
{
	cleanup_close int dst = -1;
	int ret;

	unlinkat(dstdir, name, 0);
	dst = openat(dstdir, name,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (dst < 0)
		return -errno;
	ret = bld_copy_data(src, dst, st->st_size);
	if (ret < 0)
		return ret;
	own(j, dst, name, dstdir, st, false);
	return 0;
}

static int copy_dir(struct copy_job *j, int src, const struct stat *st,
		    int dstdir, const char *name, const char *rel, int depth)
{
	cleanup_close int dst = -1;
	int ret;

	if (mkdirat(dstdir, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	dst = openat(dstdir, name,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return -errno;
	ret = copy_children(j, src, dst, rel, depth);
	if (ret == 0)
		own(j, dst, name, dstdir, st, false);
	return ret;
}

/* Is @rel (relative to the context) left out by .dockerignore, and can
 * nothing below it come back? */
static bool skipped(const struct copy_job *j, const char *rel, bool dir)
{
	const struct bld_ignore *ign = j->from ? NULL : j->b->ignore;

	if (!ign || !bld_ignore_match(ign, rel))
		return false;
	return !dir || !bld_ignore_may_include_below(ign, rel);
}

/* The entries of directory @src (at @rel in the source) into @dst. */
static int copy_children(struct copy_job *j, int src, int dst, const char *rel,
			 int depth)
{
	DIR *d = cmn_opendirat(src, ".", 0);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return -errno;
	while (ret == 0 && (de = readdir(d))) {
		struct stat st;
		char crel[4096];
		int child;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		snprintf(crel, sizeof(crel), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		if (skipped(j, crel, S_ISDIR(st.st_mode)))
			continue;
		child = openat(src, de->d_name,
			       (S_ISLNK(st.st_mode) ? O_PATH : O_RDONLY) |
				       O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (child < 0)
			continue;
		ret = copy_fd(j, child, &st, dst, de->d_name, crel, depth + 1);
		close(child);
	}
	closedir(d);
	return ret;
}

static int copy_link(struct copy_job *j, int src, const struct stat *st,
		     int dstdir, const char *name)
{
	char target[4096];
	ssize_t n = readlinkat(src, "", target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	unlinkat(dstdir, name, 0);
	if (symlinkat(target, dstdir, name) < 0)
		return -errno;
	own(j, -1, name, dstdir, st, true);
	return 0;
}

static int copy_fd(struct copy_job *j, int src, const struct stat *st,
		   int dstdir, const char *name, const char *rel, int depth)
{
	if (depth > 256)
		return -ELOOP;
	if (S_ISDIR(st->st_mode))
		return copy_dir(j, src, st, dstdir, name, rel, depth);
	if (S_ISREG(st->st_mode))
		return copy_file(j, src, st, dstdir, name);
	if (S_ISLNK(st->st_mode))
		return copy_link(j, src, st, dstdir, name);
	if (S_ISFIFO(st->st_mode))
		return mkfifoat(dstdir, name, st->st_mode & 07777) < 0 &&
				       errno != EEXIST
			       ? -errno
			       : 0;
	return 0; /* sockets and device nodes are not copied */
}

/* ---- ADD: local archives --------------------------------------------------------- */

/* gzip, bzip2, xz, zstd or a tar header: ADD unpacks these. */
static bool is_archive(int fd)
{
	unsigned char h[512];
	ssize_t n = pread(fd, h, sizeof(h), 0);

	if (n < 6)
		return false;
	return (h[0] == 0x1f && h[1] == 0x8b) || !memcmp(h, "BZh", 3) ||
	       !memcmp(h,
		       "\xfd"
		       "7zXZ",
		       5) ||
	       !memcmp(h, "\x28\xb5\x2f\xfd", 4) ||
	       (n >= 262 && !memcmp(h + 257, "ustar", 5));
}

/* ---- one source --------------------------------------------------------------------- */

static const char *base_name(const char *rel)
{
	const char *s = strrchr(rel, '/');

	return s ? s + 1 : rel;
}

/*
 * Docker's rules: a directory's contents go into the destination; a file
 * goes to DEST/NAME when DEST is a directory (ends in '/', exists as one,
 * or there are several sources), else it becomes DEST.
 */
static int copy_opened(struct copy_job *j, int src, const struct stat *st,
		       const char *rel, bool unpack, int dst_root,
		       bool into_dir, struct hutch_err *err)
{
	cleanup_close int dst = -1;
	cleanup_free char *parent = NULL;
	const char *name;
	int ret;

	if (S_ISDIR(st->st_mode) || into_dir) {
		dst = cmn_open_in_root(dst_root, j->dest,
				       O_RDONLY | O_DIRECTORY, CMN_CREATE_DIR);
		if (dst < 0)
			return cmn_err_set(err, -dst,
					   "cannot create the destination %s",
					   j->dest);
		if (S_ISDIR(st->st_mode))
			ret = copy_children(j, src, dst, rel, 0);
		else if (unpack && is_archive(src))
			return img_unpack_archive(src, dst, err);
		else
			ret = copy_fd(j, src, st, dst, base_name(rel), rel, 0);
	} else {
		parent = strdup(j->dest);
		name = parent ? base_name(parent) : NULL;
		if (!parent)
			return -ENOMEM;
		if (name != parent)
			parent[name - parent - 1] = '\0';
		dst = cmn_open_in_root(dst_root,
				       *parent && name != parent ? parent : "/",
				       O_RDONLY | O_DIRECTORY, CMN_CREATE_DIR);
		if (dst < 0)
			return cmn_err_set(err, -dst,
					   "cannot create the destination %s",
					   j->dest);
		ret = copy_fd(j, src, st, dst, name, rel, 0);
	}
	return ret < 0 ? cmn_err_set(err, -ret, "cannot copy %s to %s", rel,
				     j->dest)
		       : 0;
}

static int copy_source(struct copy_job *j, int src_root,
		       const struct bld_source *s, int dst_root, bool into_dir,
		       struct hutch_err *err)
{
	cleanup_close int src =
		*s->rel ? cmn_open_in_root(src_root, s->rel,
					   O_RDONLY | O_NONBLOCK,
					   CMN_CREATE_NONE)
			: dup(src_root);
	struct stat st;

	if (src < 0 || fstat(src, &st) < 0)
		return cmn_err_set(err, src < 0 ? -src : errno,
				   "cannot open %s", s->rel);
	return copy_opened(j, src, &st, s->rel, j->add, dst_root, into_dir,
			   err);
}

/* ADD URL: the downloaded file, named by the URL in a directory; not
 * unpacked unless --unpack asks. */
static int copy_url(struct copy_job *j, const struct bld_fetch *f, int dst_root,
		    bool into_dir, struct hutch_err *err)
{
	const char *name = into_dir ? bld_fetch_name(f, err) : f->url;

	if (!name)
		return -EINVAL;
	return copy_opened(j, f->fd, &f->st, name,
			   bld_instr_flag_bool(j->in, "unpack"), dst_root,
			   into_dir, err);
}

/* Is DEST a directory: "/x/", several sources, or an existing one? */
static bool dest_is_dir(struct copy_job *j, int dst_root, size_t n_sources,
			bool globbed)
{
	struct stat st;
	int fd;

	if (j->dest[strlen(j->dest) - 1] == '/' || n_sources > 1 || globbed)
		return true;
	fd = cmn_open_in_root(dst_root, j->dest, O_PATH, CMN_CREATE_NONE);
	if (fd < 0)
		return false;
	fstat(fd, &st);
	close(fd);
	return S_ISDIR(st.st_mode);
}

/* Heredoc sources (COPY <<EOF /dest): files named after the delimiter. */
static int copy_heredoc(struct copy_job *j, const struct bld_heredoc *h,
			int dst_root, bool into_dir, struct hutch_err *err)
{
	cleanup_free char *path =
		into_dir ? cmn_strdup_printf("%s/%s", j->dest, h->name)
			 : strdup(j->dest);
	cleanup_close int fd = -1;
	struct stat st = { .st_mode = S_IFREG | 0644 };

	if (!path)
		return -ENOMEM;
	fd = cmn_open_in_root(dst_root, path, O_WRONLY | O_TRUNC,
			      CMN_CREATE_FILE);
	if (fd < 0 || cmn_write_all(fd, h->body, strlen(h->body)) < 0)
		return cmn_err_set(err, fd < 0 ? -fd : errno, "cannot write %s",
				   path);
	clock_gettime(CLOCK_REALTIME, &st.st_mtim);
	st.st_atim = st.st_mtim;
	own(j, fd, NULL, -1, &st, false);
	return 0;
}

/* COPY <<EOF /dest: argument @i names a heredoc, not a file. */
static bool heredoc_arg(const struct bld_instr *in, size_t i)
{
	for (size_t h = 0; h < in->n_heredocs; h++)
		if (in->heredocs[h].arg == (int)i)
			return true;
	return false;
}

/* ---- in the user namespace ------------------------------------------------------------ */

static char **lowers_of(const struct stage *st)
{
	char **l = NULL;

	for (size_t i = st->n_layers; i-- > 0;)
		cmn_strv_push(&l, cmn_strdup_printf("%s/diff",
						    st->layers[i].chain.hex));
	return l;
}

/* The layers of --from, read-only at DIR/src. */
static int mount_from(struct copy_job *j, const char *lower_base,
		      const char *at, struct hutch_err *err)
{
	cleanup_strv char **l = lowers_of(j->from);
	cleanup_free char *one = NULL;

	if (j->from->n_layers == 0)
		return 0;
	if (j->from->n_layers > 1) {
		struct sbx_layers ro = { lower_base, l, NULL, NULL, false };

		j->src_driver =
			sbx_storage_pick(sbx_storage_default(), j->dir, &ro);
		return sbx_mount_layers(j->src_driver, &ro, at, &j->src_daemon,
					err);
	}
	/* overlayfs wants two lowers without an upper: bind the one. */
	one = cmn_strdup_printf("%s/%s", lower_base, l[0]);
	if (!one || mount(one, at, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return cmn_err_set(err, errno,
				   "cannot mount the --from source");
	return 0;
}

static int open_roots(struct copy_job *j, int *src_root, int *dst_root,
		      struct hutch_err *err)
{
	const char *store = img_store_root(j->b->store);
	cleanup_free char *lower_base = cmn_strdup_printf("%s/layers", store);
	cleanup_free char *upper = cmn_strdup_printf("%s/upper", j->dir);
	cleanup_free char *work = cmn_strdup_printf("%s/work", j->dir);
	cleanup_free char *merged = cmn_strdup_printf("%s/rootfs", j->dir);
	cleanup_free char *src = cmn_strdup_printf("%s/src", j->dir);
	cleanup_strv char **l = lowers_of(j->st);
	int ret = 0;

	if (!lower_base || !upper || !work || !merged || !src)
		return -ENOMEM;
	if (j->st->n_layers) {
		struct sbx_layers rw = { lower_base, l, upper, work, false };

		j->driver =
			sbx_storage_pick(sbx_storage_default(), j->dir, &rw);
		ret = sbx_mount_layers(j->driver, &rw, merged, &j->dst_daemon,
				       err);
	}
	if (ret == 0 && j->from)
		ret = mount_from(j, lower_base, src, err);
	if (ret < 0)
		return ret;
	*dst_root = open(j->st->n_layers ? merged : upper,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*src_root = j->from ? open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			    : dup(j->b->context_fd);
	if (*dst_root < 0 || *src_root < 0)
		return cmn_err_set(err, errno, "cannot open the copy's roots");
	return 0;
}

/* --chown names are the image's users: resolve them in its /etc. */
static int resolve_chown(struct copy_job *j, int dst_root,
			 struct hutch_err *err)
{
	struct sbx_user u;
	char passwd[64], group[64];
	cleanup_close int pfd = cmn_open_in_root(dst_root, "/etc/passwd",
						 O_RDONLY, CMN_CREATE_NONE);
	cleanup_close int gfd = cmn_open_in_root(dst_root, "/etc/group",
						 O_RDONLY, CMN_CREATE_NONE);
	int ret;

	if (!j->chown_spec)
		return 0;
	snprintf(passwd, sizeof(passwd), "/proc/self/fd/%d", pfd);
	snprintf(group, sizeof(group), "/proc/self/fd/%d", gfd);
	ret = sbx_user_resolve(j->chown_spec,
			       pfd >= 0 ? passwd : "/nonexistent",
			       gfd >= 0 ? group : "/nonexistent", &u, err);
	if (ret < 0)
		return ret;
	j->chown = true;
	j->uid = u.uid;
	j->gid = u.gid;
	return 0;
}

/* ---- WORKDIR -------------------------------------------------------------------------- */

/* Make @name in @dir for WORKDIR: 0755, the USER's (j->chown_spec). In a
 * single mapping the chown fails and root stays the owner: that is the
 * caller, whom a non-root USER is in every container (sandbox/idmap.c). */
static int make_dir(struct copy_job *j, int dst_root, int dir, const char *name,
		    struct hutch_err *err)
{
	int ret = 0;

	if (j->chown_spec && !j->chown)
		ret = resolve_chown(j, dst_root, err);
	if (ret < 0)
		return ret;
	if (mkdirat(dir, name, 0755) < 0)
		return cmn_err_set(err, errno,
				   "cannot create the working directory %s",
				   j->dest);
	if (j->chown &&
	    fchownat(dir, name, j->uid, j->gid, AT_SYMLINK_NOFOLLOW) < 0)
		cmn_debug("cannot chown %s: %s", name, strerror(errno));
	if (fchmodat(dir, name, 0755, 0) < 0)
		cmn_debug("cannot chmod %s: %s", name, strerror(errno));
	return 0;
}

/* Walk WORKDIR's path in the root one component at a time (symlinks and
 * ".." resolved inside it), making the components that are missing. */
static int make_workdir(struct copy_job *j, int dst_root, struct hutch_err *err)
{
	cleanup_close int dir = dup(dst_root);
	char path[4096] = "", name[256];
	size_t len = 0;
	int ret = dir < 0 ? cmn_err_set(err, errno, "dup") : 0;

	for (const char *p = j->dest; ret == 0 && *p;) {
		size_t n = strcspn(p, "/");
		int next;

		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(name) || len + n + 2 > sizeof(path))
			return cmn_err_msg(
				err, ENAMETOOLONG,
				"the working directory %s is too long",
				j->dest);
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		len += (size_t)snprintf(path + len, sizeof(path) - len, "/%s",
					name);
		p += n;
		next = cmn_open_in_root(dst_root, path, O_RDONLY | O_DIRECTORY,
					CMN_CREATE_NONE);
		if (next == -ENOENT) {
			ret = make_dir(j, dst_root, dir, name, err);
			next = ret < 0 ? ret
				       : cmn_open_in_root(dst_root, path,
							  O_RDONLY |
								  O_DIRECTORY,
							  CMN_CREATE_NONE);
		}
		if (ret == 0 && next < 0)
			ret = cmn_err_set(
				err, -next,
				"cannot create the working directory %s",
				j->dest);
		if (next >= 0) {
			close(dir);
			dir = next;
		}
	}
	return ret;
}

static int copy_files(struct copy_job *j, struct hutch_err *err)
{
	const struct bld_instr *in = j->in;
	cleanup_close int src_root = -1;
	cleanup_close int dst_root = -1;
	size_t n_src = in->n_args - 1, count = in->n_heredocs;
	bool globbed = false, into_dir;
	int ret;

	ret = open_roots(j, &src_root, &dst_root, err);
	if (ret == 0 && in->kind == BLD_WORKDIR)
		return make_workdir(j, dst_root, err);
	if (ret == 0)
		ret = resolve_chown(j, dst_root, err);
	for (size_t i = 0; i < n_src; i++)
		if (!heredoc_arg(in, i)) {
			globbed |= !bld_fetch_find(j->fetches, i) &&
				   strpbrk(in->args[i], "*?[") != NULL;
			count++;
		}
	into_dir = ret == 0 && dest_is_dir(j, dst_root, count, globbed);
	for (size_t i = 0; ret == 0 && i < n_src; i++) {
		struct bld_source *list = NULL;
		size_t n = 0;

		if (heredoc_arg(in, i))
			continue;
		if (bld_fetch_find(j->fetches, i)) {
			ret = copy_url(j, bld_fetch_find(j->fetches, i),
				       dst_root, into_dir, err);
			continue;
		}
		ret = bld_sources(src_root, j->from ? NULL : j->b->ignore,
				  in->args[i], &list, &n, err);
		for (size_t k = 0; ret == 0 && k < n; k++)
			ret = copy_source(j, src_root, &list[k], dst_root,
					  into_dir || n > 1, err);
		bld_sources_free(list, n);
	}
	for (size_t h = 0; ret == 0 && h < in->n_heredocs; h++)
		ret = copy_heredoc(j, &in->heredocs[h], dst_root, into_dir,
				   err);
	return ret;
}

static int copy_in_ns(void *arg, void *out, struct hutch_err *err)
{
	struct copy_job *j = arg;
	cleanup_free char *merged = cmn_strdup_printf("%s/rootfs", j->dir);
	cleanup_free char *src = cmn_strdup_printf("%s/src", j->dir);
	int ret;

	(void)out;
	j->dst_daemon = j->src_daemon = -1;
	ret = copy_files(j, err);
	/* Where a process serves the mount (FUSE), a synchronous unmount
	 * once every descriptor is closed: all the copy's bytes are in the
	 * upper before it becomes a layer. */
	if (j->dst_daemon > 0 && merged)
		sbx_unmount_layers(j->driver, merged, j->dst_daemon);
	if (j->src_daemon > 0 && src)
		sbx_unmount_layers(j->src_driver, src, j->src_daemon);
	return ret;
}

/* ---- in the builder --------------------------------------------------------------------- */

/* DEST relative to WORKDIR, with its trailing '/' kept. */
static char *destination(const struct stage *st, const char *dest)
{
	const char *wd =
		json_string_value(json_object_get(st->config, "WorkingDir"));

	if (dest[0] == '/')
		return strdup(dest);
	if (!strcmp(dest, ".") || !strcmp(dest, "./"))
		return cmn_strdup_printf("%s/", wd && *wd ? wd : "");
	return cmn_strdup_printf("%s/%s", wd && *wd ? wd : "", dest);
}

/* The key: the instruction and the content of every source it names. */
static int copy_key(struct bld *b, struct stage *st, const struct copy_job *j,
		    char key[65], struct hutch_err *err)
{
	struct img_sha256 *h = img_sha256_new();
	struct img_digest d;
	char *text;
	int ret = 0;

	if (!h)
		return -ENOMEM;
	img_sha256_update(h, j->in->original, strlen(j->in->original));
	img_sha256_update(h, j->dest, strlen(j->dest));
	if (j->from) {
		char top[80];

		if (j->from->n_layers)
			img_digest_str(
				&j->from->layers[j->from->n_layers - 1].chain,
				top);
		else
			snprintf(top, sizeof(top), "%s", j->from->base);
		img_sha256_update(h, top, strlen(top));
	}
	for (size_t i = 0; !j->from && ret == 0 && i + 1 < j->in->n_args; i++) {
		struct bld_source *list = NULL;
		size_t n = 0;

		if (heredoc_arg(j->in, i) || bld_fetch_find(j->fetches, i))
			continue;
		ret = bld_sources(b->context_fd, b->ignore, j->in->args[i],
				  &list, &n, err);
		for (size_t k = 0; ret == 0 && k < n; k++)
			ret = bld_hash_tree(b->context_fd, b->ignore,
					    list[k].rel, h);
		bld_sources_free(list, n);
	}
	for (size_t i = 0; i < j->in->n_heredocs; i++)
		img_sha256_update(h, j->in->heredocs[i].body,
				  strlen(j->in->heredocs[i].body));
	bld_fetch_key(j->fetches, h);
	img_sha256_final(h, &d);
	if (ret < 0)
		return ret;
	text = cmn_strdup_printf("copy %s", d.hex);
	if (!text)
		return -ENOMEM;
	bld_cache_key(st, text, key);
	free(text);
	return 0;
}

static int parse_chmod(const char *s, int *mode, struct hutch_err *err)
{
	uint64_t v = 0;

	*mode = -1;
	if (!s)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7' || v > 07777)
			return cmn_err_msg(
				err, EINVAL,
				"invalid --chmod \"%s\": give an octal mode such as 755",
				s);
		v = v * 8 + (uint64_t)(*p - '0');
	}
	*mode = (int)v;
	return 0;
}

/* Copy into a fresh upper directory, which becomes the layer. */
static int execute(struct bld *b, struct stage *st, struct copy_job *j,
		   const char *key, struct hutch_err *err)
{
	cleanup_free char *dir = img_store_tmpdir(b->store, ".copy", err);
	cleanup_free char *upper = NULL;
	int ret = dir ? 0 : -EIO;

	for (int i = 0; ret == 0 && i < 4; i++) {
		static const char *const parts[] = { "upper", "work", "rootfs",
						     "src" };
		cleanup_free char *p =
			cmn_strdup_printf("%s/%s", dir, parts[i]);

		if (!p || mkdir(p, 0755) < 0)
			ret = cmn_err_set(err, errno,
					  "cannot prepare the copy");
	}
	j->dir = dir;
	if (ret == 0)
		ret = sbx_userns_call(SBX_USERNS_AUTO, copy_in_ns, j, NULL, 0,
				      err);
	upper = dir ? cmn_strdup_printf("%s/upper", dir) : NULL;
	if (ret == 0)
		ret = upper ? bld_commit_layer(b, st, upper, j->in->original,
					       key, err)
			    : -ENOMEM;
	if (dir)
		sbx_remove_tree(dir, NULL);
	return ret;
}

int bld_step_copy(struct bld *b, struct stage *st, size_t stage_index,
		  const struct bld_instr *in, struct hutch_err *err)
{
	const char *from = bld_instr_flag(in, "from", NULL);
	cleanup_free char *dest = destination(st, in->args[in->n_args - 1]);
	struct stage img_stage = { 0 };
	struct copy_job j = { .b = b,
			      .st = st,
			      .in = in,
			      .add = in->kind == BLD_ADD,
			      .chown_spec = bld_instr_flag(in, "chown", NULL) };
	struct bld_fetches urls = { 0 };
	char key[65];
	int ret = parse_chmod(bld_instr_flag(in, "chmod", NULL), &j.chmod, err);

	/* URLs are downloaded here, on the host: without --checksum before
	 * the key (which holds their digest), with it only on a miss. */
	if (ret == 0)
		ret = bld_fetch_plan(in, &urls, err);
	if (ret == 0)
		ret = bld_fetch_all(b, &urls, false, err);
	j.fetches = &urls;
	if (ret == 0 && from)
		ret = bld_stage_source(b, stage_index, from, &img_stage,
				       &j.from, err);
	j.dest = dest;
	if (ret == 0)
		ret = copy_key(b, st, &j, key, err);
	if (ret == 0 && (b->o->no_cache ||
			 bld_commit_cached(b, st, key, in->original) != 1)) {
		ret = bld_fetch_all(b, &urls, true, err);
		if (ret == 0)
			ret = execute(b, st, &j, key, err);
	}
	bld_fetches_free(&urls);
	bld_stage_release(&img_stage);
	return ret;
}

int bld_step_workdir(struct bld *b, struct stage *st,
		     const struct bld_instr *in, struct hutch_err *err)
{
	const char *wd =
		json_string_value(json_object_get(st->config, "WorkingDir"));
	const char *user =
		json_string_value(json_object_get(st->config, "User"));
	struct bld_fetches none = { 0 };
	struct copy_job j = { .b = b,
			      .st = st,
			      .in = in,
			      .dest = wd,
			      .chown_spec = user && *user ? user : NULL,
			      .chmod = -1,
			      .fetches = &none };
	char key[65];

	if (!wd || !*wd)
		return 0;
	/* The stage's config (WorkingDir, User) is in every key already. */
	bld_cache_key(st, "workdir", key);
	if (!b->o->no_cache && bld_commit_cached(b, st, key, in->original) == 1)
		return 0;
	return execute(b, st, &j, key, err);
}
