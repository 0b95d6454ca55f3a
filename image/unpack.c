// SPDX-License-Identifier: Apache-2.0
/* unpack.c - write a layer tar into a directory without trusting the tar
 *
 * Theory of operation
 *
 * A layer is a tar stream, gzip- or zstd-compressed or plain, that anyone
 * able to push to a registry wrote. hutch unpacks it into an empty
 * directory (the layer's diff/) and must not let any entry reach outside,
 * nor smuggle in what the container could not create itself.
 *
 * Reading. Two libarchive readers are chained. The outer one opens the blob
 * with every decompression filter and the "raw" format, so its data blocks
 * are the uncompressed tar, handed over without a copy. The inner one reads
 * tar (ustar, pax, GNU) through our own read callback, which pulls the
 * outer's blocks and feeds each to SHA-256 before the tar parser sees it.
 * The inner reader has no skip callback, so the entries it skips are read
 * through that callback too, and after the end-of-archive marker the rest of
 * the stream (tar's padding to its blocking factor) is drained into the
 * hash: the result is the digest of exactly the uncompressed blob, which is
 * what a registry calls the diff_id. Rejected: decompressing with zlib and
 * libzstd ourselves (two more code paths for what libarchive does), and
 * hashing the compressed blob's decompression a second time after the
 * unpack (reads and inflates every layer twice).
 *
 * Names. Every name is cleaned before use: leading "/" and "./" go (as
 * Docker does, so "/etc/x" lands at <layer>/etc/x), empty and "."
 * components are dropped, and a ".." component anywhere refuses the layer:
 * lexical ".." is how "../../home/you/.bashrc" escapes a naive unpacker
 * (the "tar slip" CVEs). A component longer than NAME_MAX or a path of
 * PATH_MAX or more is refused rather than truncated into a different name.
 * libarchive hands names over as C strings, so a NUL cannot hide inside one.
 *
 * Placement. Nothing is written through a path string. The entry's parent
 * directory is opened with cmn_open_in_root(), which resolves every symlink
 * as if the layer were "/" (creating missing parents as 0755 directories);
 * the last component is then created with *at() calls relative to that
 * descriptor and O_NOFOLLOW or its equivalent (O_EXCL creation, mkdirat,
 * symlinkat, AT_SYMLINK_NOFOLLOW), so a symlink is never followed for the
 * final name. A layer with "a -> /etc" and then "a/passwd" therefore writes
 * <layer>/etc/passwd: the symlink is read the way the container will read
 * it, from inside, and the host's /etc is out of reach. Refusing every write
 * through a symlink was rejected: real layers do write through in-layer
 * links (lib -> usr/lib), and Docker and containerd resolve them in the root
 * the same way. archive_write_disk is not used: its checks work on path
 * strings and it follows symlinks in parents unless told otherwise; one flag
 * forgotten is a host file overwritten.
 *
 * Replacement. A later entry with an earlier one's name wins, as in tar:
 * creation is exclusive (O_EXCL, mkdirat, ...) and on EEXIST the old entry
 * is unlinked without following it (a directory is removed with its
 * content, as Docker does) and creation is retried. A file written over a
 * symlink thus replaces the link instead of writing to its target. A
 * directory entry over an existing directory only updates its metadata.
 *
 * Hard links. The target is cleaned like a name and resolved in the root;
 * it must already exist in this layer and not be a directory, and linkat()
 * does not follow a final symlink. A link to "/etc/passwd" looks for
 * <layer>/etc/passwd and fails when the layer has none; the host file is
 * never linked (which would let the container write to it).
 *
 * Types. Device nodes give access to hardware and are refused, except 0/0
 * character devices, which are overlay whiteouts; a pulled layer asks for
 * them to be skipped and counted instead (opts->skips), as rootless Podman
 * does, since a container gets its /dev from hutch. Fifos are made, sockets
 * skipped (tar cannot carry their meaning).
 *
 * Size. A layer of a few megabytes can unpack to gigabytes of zeros (a
 * decompression bomb); opts->max_size bounds the uncompressed stream, and
 * the caller deletes what was written.
 *
 * Whiteouts (OCI image spec, "layer" chapter). ".wh.NAME" deletes NAME of
 * the layers below; ".wh..wh..opq" makes its directory opaque. By default
 * they become the overlay's format: a 0/0 character device NAME and
 * user.overlay.opaque="y" on the directory. With oci_whiteouts the markers
 * are kept as empty files and a 0/0 device from the tar becomes a ".wh."
 * marker. A whiteout hides only lower layers, so a whiteout for a NAME this
 * layer already wrote leaves NAME alone, and a NAME after its whiteout
 * replaces it: either order, NAME stays. Other ".wh..wh." names are aufs
 * bookkeeping and are skipped.
 *
 * Ownership and modes. With keep_owner the caller runs in a user namespace
 * that maps the image's ids; entries are chowned to the tar's numeric
 * uid/gid (then chmod, since chown clears setuid). Without it, nothing is
 * chowned and setuid/setgid bits are dropped: with one mapped id every file
 * belongs to the user, and a setuid bit would only mislead. Directory modes
 * and times are applied at the end, deepest first, so that a read-only
 * directory does not stop its own content from being written and the times
 * are not disturbed by that writing. Extended attributes: user.* (not
 * user.overlay.*, which would forge whiteouts) and security.capability; a
 * failure of the latter only logs. trusted.* and other namespaces are never
 * applied.
 *
 * Speed. The last parent directory stays open and is reused while entries
 * keep to it, which is what tar order gives; any removal drops it, since a
 * removal can change what a path resolves to. File data goes from
 * libarchive's buffer to pwrite() without a copy; sparse entries keep their
 * holes. A file is created with its final mode when nothing would change it
 * afterwards (no chown, no xattrs, no setuid bits, nothing the umask
 * takes), and not chowned when it already has the tar's ids, so the common
 * file costs openat, pwrite, futimens and close, as with tar(1). Nothing is
 * fsynced: the caller syncs the filesystem once. SHA-256 (about 1.5 GB/s
 * with SHA-NI) is the largest cost after the kernel's; hashing on a second
 * thread was left for later (see tests/bench/unpack.sh).
 *
 * Files: unpack.c reads the stream, cleans names, finds parents, orders the
 * work and fixes directories at the end; unpack-entry.c writes one entry;
 * unpack-state.h is what they share.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "image/unpack-internal.h"
#include "image/unpack-state.h"

/* Read size for the compressed blob. */
#define UNPACK_BLOCK (128 * 1024)

/* ---- messages ----------------------------------------------------------- */

/* Control bytes and backslashes are escaped so that a hostile name cannot
 * forge terminal output, and long names cut. */
const char *img_upk_show(struct unpack *u, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *start = u->shown[u->shown_i ^= 1], *o = start;
	size_t n = 0;

	for (; *s && n < SHOW_MAX; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != 0x7f && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		*o++ = 'x';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	if (*s)
		o = stpcpy(o, "...");
	*o = '\0';
	if (o == start)
		strcpy(start, "/");
	return start;
}

/* ---- names ------------------------------------------------------------- */

/*
 * clean_path() - @raw without leading "/", "." and empty components, into
 * @out (PATH_MAX bytes). Return: 0, -EINVAL for a ".." component,
 * -ENAMETOOLONG for an overlong component or path.
 */
static int clean_path(const char *raw, char *out)
{
	size_t len = 0;

	while (*raw) {
		const char *end = strchrnul(raw, '/');
		size_t n = end - raw;

		if (n == 2 && raw[0] == '.' && raw[1] == '.')
			return -EINVAL;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		if (n && !(n == 1 && raw[0] == '.')) {
			if (len + !!len + n >= PATH_MAX)
				return -ENAMETOOLONG;
			if (len)
				out[len++] = '/';
			memcpy(out + len, raw, n);
			len += n;
		}
		raw = *end ? end + 1 : end;
	}
	out[len] = '\0';
	return 0;
}

/* Clean @raw into @out, filling @err for entry @what when it is refused. */
int img_upk_clean_name(struct unpack *u, const char *raw, char *out,
		       const char *what)
{
	int ret;

	if (!raw || !*raw)
		return cmn_err_msg(
			u->err, EINVAL,
			"layer has an entry without a name; the image is corrupt");
	ret = clean_path(raw, out);
	if (ret == -EINVAL)
		return cmn_err_msg(
			u->err, EINVAL,
			"layer %s %s contains \"..\"; refusing a layer that writes outside itself",
			what, img_upk_show(u, raw));
	if (ret < 0)
		return cmn_err_msg(
			u->err, ENAMETOOLONG,
			"layer %s %s is longer than this system allows", what,
			img_upk_show(u, raw));
	return 0;
}

/* ---- the chained readers ---------------------------------------------- */

/* The inner reader's read callback: the outer's next block, hashed. */
static la_ssize_t chain_read(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;

	while (!u->outer_eof) {
		size_t len = 0;
		la_int64_t off;
		int r = archive_read_data_block(u->outer, buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			const char *s = archive_error_string(u->outer);

			u->outer_errno = archive_errno(u->outer);
			if (!u->outer_errno)
				u->outer_errno = EBADMSG;
			snprintf(u->outer_msg, sizeof(u->outer_msg), "%s",
				 s ? s : "read error");
			archive_set_error(a, u->outer_errno, "%s",
					  u->outer_msg);
			return -1;
		}
		if (len && u->max_size && u->size + len > u->max_size) {
			u->outer_errno = EFBIG;
			snprintf(u->outer_msg, sizeof(u->outer_msg),
				 "the layer unpacks to more than %llu bytes",
				 (unsigned long long)u->max_size);
			archive_set_error(a, EFBIG, "%s", u->outer_msg);
			return -1;
		}
		if (len) {
			img_sha256_update(u->sha, *buf, len);
			u->size += len;
			return (la_ssize_t)len;
		}
	}
	u->outer_eof = true;
	return 0;
}

/*
 * stream_error() - turn a libarchive failure into -errno and a message: a
 * read error stays what it is, anything else the parser or a decompressor
 * says is a corrupt or truncated layer (-EBADMSG).
 */
int img_upk_stream_error(struct unpack *u, struct archive *a)
{
	int code = u->outer_errno ? u->outer_errno : archive_errno(a);
	const char *s = u->outer_errno ? u->outer_msg : archive_error_string(a);

	/* libarchive's gzip reader fails a cut-off trailer without a word. */
	if (!s)
		s = "the compressed data ends early or is damaged";
	if (code == ENOMEM)
		return cmn_err_msg(u->err, ENOMEM,
				   "out of memory reading the layer");
	if (code == EIO)
		return cmn_err_msg(u->err, EIO, "cannot read the layer: %s", s);
	if (code == EFBIG)
		return cmn_err_msg(u->err, EFBIG, "%s", s);
	return cmn_err_msg(u->err, EBADMSG,
			   "layer is corrupt or truncated: %s; pull it again",
			   s);
}

static int stream_open(struct unpack *u, int fd)
{
	struct archive_entry *e;

	u->outer = archive_read_new();
	u->inner = archive_read_new();
	u->sha = img_sha256_new();
	if (!u->outer || !u->inner || !u->sha)
		return cmn_err_msg(u->err, ENOMEM, "out of memory");
	archive_read_support_filter_gzip(u->outer);
	archive_read_support_filter_zstd(u->outer);
	archive_read_support_filter_bzip2(u->outer);
	archive_read_support_filter_xz(u->outer);
	archive_read_support_format_raw(u->outer);
	archive_read_support_format_empty(u->outer);
	if (archive_read_open_fd(u->outer, fd, UNPACK_BLOCK) != ARCHIVE_OK)
		return img_upk_stream_error(u, u->outer);
	switch (archive_read_next_header(u->outer, &e)) {
	case ARCHIVE_OK:
	case ARCHIVE_WARN:
		break;
	case ARCHIVE_EOF: /* an empty blob */
		u->outer_eof = true;
		break;
	default:
		return img_upk_stream_error(u, u->outer);
	}
	archive_read_support_format_tar(u->inner);
	archive_read_support_format_empty(u->inner);
	if (archive_read_open(u->inner, u, NULL, chain_read, NULL) !=
	    ARCHIVE_OK)
		return img_upk_stream_error(u, u->inner);
	return 0;
}

/* After the tar's end marker: hash the rest of the stream. */
static int stream_drain(struct unpack *u)
{
	const void *buf;

	for (;;) {
		la_ssize_t n = chain_read(u->inner, u, &buf);

		if (n == 0)
			return 0;
		if (n < 0)
			return img_upk_stream_error(u, u->inner);
	}
}

/* ---- the parent directory ----------------------------------------------- */

static void parent_close(struct unpack *u)
{
	if (u->parent_fd >= 0)
		close(u->parent_fd);
	u->parent_fd = -1;
}

/*
 * parent_open() - the directory the entry goes into, resolved in the root
 * and created when missing. Return: a descriptor borrowed from @u (or the
 * root itself), or -errno with the message filled.
 */
static int parent_open(struct unpack *u)
{
	int fd;

	if (u->dirlen == 0)
		return u->root;
	u->path[u->dirlen] = '\0';
	if (u->parent_fd >= 0 && !u->parent_stale &&
	    !strcmp(u->parent, u->path)) {
		u->path[u->dirlen] = '/';
		return u->parent_fd;
	}
	parent_close(u);
	u->parent_stale = false;
	fd = cmn_open_in_root(u->root, u->path, O_PATH | O_DIRECTORY,
			      CMN_CREATE_NONE);
	if (fd == -ENOENT)
		fd = cmn_open_in_root(u->root, u->path, O_PATH | O_DIRECTORY,
				      CMN_CREATE_DIR);
	if (fd >= 0)
		memcpy(u->parent, u->path, u->dirlen + 1);
	u->path[u->dirlen] = '/';
	if (fd < 0)
		return cmn_err_set(
			u->err, -fd,
			"cannot open the directory of layer entry %s",
			img_upk_entry_shown(u));
	u->parent_fd = fd;
	return fd;
}

/* ---- dispatch ------------------------------------------------------------- */

/* Does a component of the entry's directory start with ".wh..wh."? */
static bool in_aufs_meta(const struct unpack *u)
{
	const char *p = u->path, *end = u->path + u->dirlen;

	while (p < end) {
		if (!strncmp(p, WH_META, strlen(WH_META)))
			return true;
		p = strchrnul(p, '/');
		if (*p)
			p++;
	}
	return false;
}

enum wh_kind {
	WH_KIND_NONE,	/* an ordinary entry */
	WH_KIND_NAME,	/* ".wh.NAME" */
	WH_KIND_OPAQUE, /* ".wh..wh..opq" */
	WH_KIND_AUFS,	/* other ".wh..wh." bookkeeping: skipped */
};

static enum wh_kind whiteout_kind(const struct unpack *u)
{
	if (in_aufs_meta(u))
		return WH_KIND_AUFS;
	if (strncmp(u->name, WH, WH_LEN))
		return WH_KIND_NONE;
	if (!strcmp(u->name, WH_OPQ))
		return WH_KIND_OPAQUE;
	if (!strncmp(u->name, WH_META, strlen(WH_META)))
		return WH_KIND_AUFS;
	return WH_KIND_NAME;
}

static int one_entry(struct unpack *u)
{
	const char *slash;
	enum wh_kind kind;
	int pfd, ret;

	ret = img_upk_clean_name(u, archive_entry_pathname(u->e), u->path,
				 "entry");
	if (ret < 0)
		return ret;
	slash = strrchr(u->path, '/');
	u->dirlen = slash ? (size_t)(slash - u->path) : 0;
	u->name = slash ? slash + 1 : u->path;
	if (!*u->path) {
		if (archive_entry_filetype(u->e) == AE_IFDIR &&
		    !archive_entry_hardlink(u->e))
			return 0; /* the root keeps the store's mode */
		return cmn_err_msg(
			u->err, EINVAL,
			"layer entry %s would replace the layer's root directory; the image is corrupt",
			img_upk_show(u, archive_entry_pathname(u->e)));
	}
	kind = whiteout_kind(u);
	if (kind == WH_KIND_AUFS)
		return 0;
	/* With oci_whiteouts the markers are written as the files they are. */
	if (kind == WH_KIND_OPAQUE && !u->oci_whiteouts)
		return img_upk_opaque(u);
	pfd = parent_open(u);
	if (pfd < 0)
		return pfd;
	if (kind == WH_KIND_NAME && !u->oci_whiteouts)
		return img_upk_whiteout(u, pfd);
	return img_upk_write(u, pfd);
}

/* ---- directories, at the end ---------------------------------------------- */

int img_upk_defer_dir(struct unpack *u, mode_t mode,
		      const struct timespec ts[2])
{
	size_t len = strlen(u->path) + 1;
	struct dir_fix *f;

	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? 2 * u->cap_dirs : 64;
		void *p = realloc(u->dirs, cap * sizeof(*u->dirs));

		if (!p)
			return cmn_err_msg(u->err, ENOMEM, "out of memory");
		u->dirs = p;
		u->cap_dirs = cap;
	}
	if (u->names_len + len > u->names_cap) {
		size_t cap = u->names_cap ? 2 * u->names_cap : 4096;
		char *p;

		while (cap < u->names_len + len)
			cap *= 2;
		p = realloc(u->names, cap);
		if (!p)
			return cmn_err_msg(u->err, ENOMEM, "out of memory");
		u->names = p;
		u->names_cap = cap;
	}
	f = &u->dirs[u->n_dirs++];
	f->name = u->names_len;
	f->depth = 1;
	for (const char *p = u->path; *p; p++)
		f->depth += *p == '/';
	f->seq = u->seq;
	f->mode = mode;
	f->ts[0] = ts[0];
	f->ts[1] = ts[1];
	memcpy(u->names + u->names_len, u->path, len);
	u->names_len += len;
	return 0;
}

static int dir_fix_cmp(const void *a, const void *b, void *arg)
{
	const struct dir_fix *x = a, *y = b;
	const char *names = arg;
	int c;

	if (x->depth != y->depth)
		return x->depth > y->depth ? -1 : 1;
	c = strcmp(names + x->name, names + y->name);
	if (c)
		return c;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/*
 * fix_dirs() - apply directories' modes and times, deepest first so that a
 * parent made read-only does not lock out its children, and only the last
 * entry of a name. A directory that a later entry replaced is skipped.
 */
static int fix_dirs(struct unpack *u)
{
	const char *prev = NULL;

	if (!u->n_dirs)
		return 0;
	qsort_r(u->dirs, u->n_dirs, sizeof(*u->dirs), dir_fix_cmp, u->names);
	for (size_t i = 0; i < u->n_dirs; i++) {
		const struct dir_fix *f = &u->dirs[i];
		const char *path = u->names + f->name;
		cleanup_close int fd = -1;

		if (prev && !strcmp(prev, path))
			continue;
		prev = path;
		fd = cmn_open_in_root(u->root, path,
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
				      CMN_CREATE_NONE);
		/* Replaced by a later entry; or, for a user without
		 * CAP_DAC_OVERRIDE, behind a directory already made
		 * unsearchable when a symlink defeated the depth order. */
		if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP ||
		    fd == -EACCES) {
			cmn_debug("layer directory %s: mode not set: %s",
				  img_upk_show(u, path), strerror(-fd));
			continue;
		}
		if (fd < 0 || fchmod(fd, f->mode) < 0 ||
		    futimens(fd, f->ts) < 0)
			return cmn_err_set(
				u->err, fd < 0 ? -fd : errno,
				"cannot set the mode of layer directory %s",
				img_upk_show(u, path));
	}
	return 0;
}

/* ---- the public functions ------------------------------------------------ */

/* read_umask() - the umask from /proc/self/status; -1 when unknown
 * (no /proc yet): umask(2) cannot be read without changing it. */
static int read_umask(void)
{
	char buf[2048], *p;
	cleanup_close int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : cmn_read_all(fd, buf, sizeof(buf) - 1);
	unsigned long mask;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nUmask:");
	if (!p || sscanf(p + 7, "%lo", &mask) != 1 || mask > 0777)
		return -1;
	return (int)mask;
}

/* Who owns what this process creates in the root. */
static void init_ids(struct unpack *u)
{
	struct stat st;

	u->euid = geteuid();
	u->egid = getegid();
	/* A setgid root hands its group to what is created in it. */
	u->own_ids = fstat(u->root, &st) == 0 && !(st.st_mode & S_ISGID);
	u->umask = read_umask();
}

static void unpack_free(struct unpack *u)
{
	if (!u)
		return;
	if (u->inner)
		archive_read_free(u->inner);
	if (u->outer)
		archive_read_free(u->outer);
	img_sha256_free(u->sha);
	parent_close(u);
	free(u->dirs);
	free(u->names);
	free(u);
}

static void unpack_freep(struct unpack **u)
{
	int saved = errno;

	unpack_free(*u);
	errno = saved;
}

static int unpack_entries(struct unpack *u)
{
	for (;;) {
		int r = archive_read_next_header(u->inner, &u->e), ret;

		if (r == ARCHIVE_EOF)
			return 0;
		/* ARCHIVE_RETRY is a damaged header: refused, not skipped. */
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return img_upk_stream_error(u, u->inner);
		if (r == ARCHIVE_WARN)
			cmn_debug("layer: %s", archive_error_string(u->inner));
		u->seq++;
		ret = one_entry(u);
		if (ret < 0)
			return ret;
	}
}

int img_unpack(int fd, int dirfd, const struct img_unpack_opts *opts,
	       struct img_digest *diff_id, uint64_t *size,
	       struct hutch_err *err)
{
	__attribute__((cleanup(unpack_freep))) struct unpack *u =
		calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return cmn_err_msg(err, ENOMEM, "out of memory");
	u->root = dirfd;
	u->keep_owner = opts->keep_owner;
	u->oci_whiteouts = opts->oci_whiteouts;
	u->max_size = opts->max_size;
	u->skips = opts->skips;
	u->err = err;
	u->parent_fd = -1;
	init_ids(u);
	ret = stream_open(u, fd);
	if (ret == 0)
		ret = unpack_entries(u);
	if (ret == 0)
		ret = stream_drain(u);
	if (ret == 0)
		ret = fix_dirs(u);
	if (ret < 0)
		return ret;
	img_sha256_final(steal_ptr(&u->sha), diff_id);
	*size = u->size;
	return 0;
}

int img_unpack_archive(int fd, int dirfd, struct hutch_err *err)
{
	static const struct img_unpack_opts opts = { .keep_owner = true,
						     .oci_whiteouts = true };
	struct img_digest ignored;
	uint64_t size;

	return img_unpack(fd, dirfd, &opts, &ignored, &size, err);
}

bool img_unpack_probe(int dirfd)
{
	char name[32] = ".hutch-probe-";
	cleanup_close int fd = -1;
	bool ok;

	if (cmn_random_hex(name + strlen(name), 8) < 0 ||
	    mkdirat(dirfd, name, 0700) < 0)
		return false;
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	ok = fd >= 0 && mknodat(fd, "wh", S_IFCHR, makedev(0, 0)) == 0;
	ok = ok && fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) == 0;
	if (fd >= 0)
		unlinkat(fd, "wh", 0);
	unlinkat(dirfd, name, AT_REMOVEDIR);
	return ok;
}
