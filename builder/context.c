// SPDX-License-Identifier: Apache-2.0
/* context.c - the build context: what a COPY source names, and the
 * content digests that make COPY's cache keys
 *
 * Everything is read relative to the context's directory descriptor:
 * a source path is cleaned, and one that climbs out ("../x") is refused as
 * Docker refuses it; a symlink inside the context is resolved inside it
 * (cmn_open_in_root), so `COPY link /` where link -> /etc copies the
 * context's etc, never the host's. .dockerignore'd paths are invisible.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder-internal.h"

char *bld_clean_path(const char *path, bool clamp)
{
	char *out = calloc(1, strlen(path) + 2);
	cleanup_free char *copy = strdup(path);
	char *save = NULL;
	size_t n = 0;

	if (!out || !copy) {
		free(out);
		return NULL;
	}
	for (char *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash;

			if (n == 0 && !clamp) {
				free(out);
				return NULL;
			}
			slash = strrchr(out, '/');
			n = slash ? (size_t)(slash - out) : 0;
			out[n] = '\0';
			continue;
		}
		n += (size_t)sprintf(out + n, "%s%s", n ? "/" : "", c);
	}
	return out;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int push(struct bld_source **out, size_t *n, const char *rel, bool dir)
{
	struct bld_source *more = realloc(*out, (*n + 1) * sizeof(**out));

	if (!more)
		return -ENOMEM;
	*out = more;
	more[*n].rel = strdup(rel);
	more[*n].dir = dir;
	(*n)++;
	return more[*n - 1].rel ? 0 : -ENOMEM;
}

/* Every path below @rel (not ignored) that matches @pattern. */
static int walk_match(int root_fd, const struct bld_ignore *ignore,
		      const char *rel, const char *pattern,
		      struct bld_source **out, size_t *n, int depth)
{
	cleanup_close int fd =
		*rel ? cmn_open_in_root(root_fd, rel,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
					CMN_CREATE_NONE)
		     : openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (!d)
		return 0;
	fd = -1;
	while (ret == 0 && (de = readdir(d))) {
		char child[4096];
		bool dir = de->d_type == DT_DIR, ignored;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		ignored = ignore && bld_ignore_match(ignore, child);
		if (!ignored && fnmatch(pattern, child, FNM_PATHNAME) == 0)
			ret = push(out, n, child, dir);
		if (ret == 0 && dir && depth < 64 &&
		    (!ignored || bld_ignore_may_include_below(ignore, child)))
			ret = walk_match(root_fd, ignore, child, pattern, out,
					 n, depth + 1);
	}
	closedir(d);
	return ret;
}

int bld_sources(int root_fd, const struct bld_ignore *ignore,
		const char *pattern, struct bld_source **out, size_t *n,
		struct hutch_err *err)
{
	cleanup_free char *rel = bld_clean_path(pattern, false);
	struct stat st;
	int fd, ret;

	*out = NULL;
	*n = 0;
	if (!rel)
		return cmn_err_msg(
			err, EPERM,
			"forbidden path outside the build context: %s",
			pattern);
	if (has_glob(rel)) {
		ret = walk_match(root_fd, ignore, "", rel, out, n, 0);
		if (ret == 0 && *n == 0)
			ret = cmn_err_msg(
				err, ENOENT,
				"no source files were specified: %s matches nothing in the build context (or everything it matches is in .dockerignore)",
				pattern);
		return ret;
	}
	if (*rel && ignore && bld_ignore_match(ignore, rel))
		return cmn_err_msg(
			err, ENOENT,
			"file not found in build context or excluded by .dockerignore: %s",
			pattern);
	fd = *rel ? cmn_open_in_root(root_fd, rel, O_PATH, CMN_CREATE_NONE)
		  : openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cmn_err_msg(
			err, ENOENT,
			"file not found in build context or excluded by .dockerignore: stat %s: %s",
			pattern, strerror(-fd));
	ret = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (ret < 0)
		return cmn_err_set(err, -ret, "stat %s", pattern);
	return push(out, n, rel, S_ISDIR(st.st_mode));
}

void bld_sources_free(struct bld_source *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].rel);
	free(s);
}

/* ---- content digests ------------------------------------------------------------ */

static int hash_file(int fd, struct img_sha256 *h)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		img_sha256_update(h, buf, (size_t)n);
	return n < 0 ? -errno : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int hash_entry(int root_fd, const struct bld_ignore *ignore,
		      const char *rel, struct img_sha256 *h, int depth);

/* A directory's entries in name order, so the digest does not depend on
 * readdir's order. */
static int hash_dir(int root_fd, const struct bld_ignore *ignore,
		    const char *rel, int dfd, struct img_sha256 *h, int depth)
{
	DIR *d = fdopendir(dfd);
	cleanup_strv char **names = NULL;
	struct dirent *de;
	int ret = 0;

	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			cmn_strv_push(&names, strdup(de->d_name));
	closedir(d);
	if (names)
		qsort(names, cmn_strv_len(names), sizeof(*names), cmp_names);
	for (char **nm = names; ret == 0 && nm && *nm; nm++) {
		char child[4096];

		snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
			 *nm);
		if (!ignore || !bld_ignore_match(ignore, child) ||
		    bld_ignore_may_include_below(ignore, child))
			ret = hash_entry(root_fd, ignore, child, h, depth + 1);
	}
	return ret;
}

static int hash_entry(int root_fd, const struct bld_ignore *ignore,
		      const char *rel, struct img_sha256 *h, int depth)
{
	int fd =
		*rel ? cmn_open_in_root(root_fd, rel,
					O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
					CMN_CREATE_NONE)
		     : openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char head[4200], target[4096];
	struct stat st;
	ssize_t n;

	if (fd == -ELOOP || fd == -EISDIR || fd == -ENXIO)
		fd = cmn_open_in_root(root_fd, rel, O_PATH | O_NOFOLLOW,
				      CMN_CREATE_NONE);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : -errno;
	}
	if (ignore && *rel && bld_ignore_match(ignore, rel) &&
	    !S_ISDIR(st.st_mode)) {
		close(fd);
		return 0;
	}
	snprintf(head, sizeof(head), "%s\n%o %lld\n", rel, st.st_mode,
		 (long long)(S_ISREG(st.st_mode) ? st.st_size : 0));
	img_sha256_update(h, head, strlen(head));
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(fd, "", target, sizeof(target));
		if (n > 0)
			img_sha256_update(h, target, (size_t)n);
		close(fd);
		return 0;
	}
	if (S_ISDIR(st.st_mode) && depth < 64)
		return hash_dir(root_fd, ignore, rel, fd, h, depth);
	n = S_ISREG(st.st_mode) ? hash_file(fd, h) : 0;
	close(fd);
	return (int)n;
}

int bld_hash_tree(int root_fd, const struct bld_ignore *ignore, const char *rel,
		  struct img_sha256 *h)
{
	return hash_entry(root_fd, ignore, rel, h, 0);
}

/* ---- a filtered view for RUN --mount=type=bind ----------------------------------- */

int bld_copy_data(int src, int dst, off_t size)
{
	off_t off = 0;

	while (off < size) {
		ssize_t n = sendfile(dst, src, &off, (size_t)(size - off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* Some filesystems leave d_type unknown. */
static bool entry_is_dir(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* Is anything below the directory @rel (no symlink in it) excluded by
 * .dockerignore? */
static bool excluded_below(int root_fd, const struct bld_ignore *ignore,
			   const char *rel, int depth)
{
	cleanup_dir DIR *d =
		cmn_opendirat(root_fd, *rel ? rel : ".", O_NOFOLLOW);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char child[4096];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		if (bld_ignore_match(ignore, child))
			return true;
		if (depth < 64 && entry_is_dir(d, de) &&
		    excluded_below(root_fd, ignore, child, depth + 1))
			return true;
	}
	return false;
}

/* A regular file into the view: a hard link, or a copy across
 * filesystems (and where protected_hardlinks says no). */
static int view_file(int sdir, int ddir, const char *name,
		     const struct stat *st)
{
	cleanup_close int in = -1;
	cleanup_close int out = -1;
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	int ret;

	if (linkat(sdir, name, ddir, name, 0) == 0)
		return 0;
	in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		return -errno;
	ret = bld_copy_data(in, out, st->st_size);
	if (ret == 0 &&
	    (fchmod(out, st->st_mode & 07777) < 0 || futimens(out, t) < 0))
		ret = -errno;
	return ret;
}

static int view_dir(int root_fd, const struct bld_ignore *ignore,
		    const char *rel, int ddir, int depth);

static int view_entry(int root_fd, const struct bld_ignore *ignore, int sdir,
		      int ddir, const char *name, const char *rel, int depth)
{
	char target[4096];
	struct stat st;
	ssize_t n;
	int ret;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return view_file(sdir, ddir, name, &st);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		return symlinkat(target, ddir, name) < 0 ? -errno : 0;
	}
	if (!S_ISDIR(st.st_mode) || depth >= 64)
		return 0; /* sockets, fifos, devices: nothing to read */
	if (mkdirat(ddir, name, 0700) < 0)
		return -errno;
	{
		cleanup_close int sub =
			openat(ddir, name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0)
			return -errno;
		ret = view_dir(root_fd, ignore, rel, sub, depth + 1);
		if (ret == 0 && fchmod(sub, st.st_mode & 07777) < 0)
			ret = -errno;
	}
	return ret;
}

/* The entries of the context's directory @rel that are not excluded, into
 * @ddir; an excluded directory only when something below it is not. */
static int view_dir(int root_fd, const struct bld_ignore *ignore,
		    const char *rel, int ddir, int depth)
{
	cleanup_dir DIR *d =
		cmn_opendirat(root_fd, *rel ? rel : ".", O_NOFOLLOW);
	struct dirent *de;
	int ret = d ? 0 : -errno;

	while (ret == 0 && (de = readdir(d))) {
		char child[4096];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		if (bld_ignore_match(ignore, child) &&
		    (!entry_is_dir(d, de) ||
		     !bld_ignore_may_include_below(ignore, child)))
			continue;
		ret = view_entry(root_fd, ignore, dirfd(d), ddir, de->d_name,
				 child, depth);
	}
	return ret;
}

int bld_context_view(int root_fd, const struct bld_ignore *ignore,
		     const char *rel, const char *dir, struct hutch_err *err)
{
	cleanup_close int ddir = -1;
	int ret;

	if (!ignore || !excluded_below(root_fd, ignore, rel, 0))
		return 0;
	if (mkdir(dir, 0755) < 0 ||
	    (ddir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cmn_err_set(err, errno, "cannot create %s", dir);
	ret = view_dir(root_fd, ignore, rel, ddir, 0);
	if (ret < 0)
		return cmn_err_set(
			err, -ret,
			"cannot prepare the context's %s for the mount (.dockerignore applied)",
			*rel ? rel : ".");
	return 1;
}
