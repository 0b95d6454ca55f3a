// SPDX-License-Identifier: Apache-2.0
/* slowfs.c - a passthrough FUSE filesystem that answers every metadata
 * request late, to stand for a shared parallel filesystem (Lustre, GPFS,
 * NFS) whose metadata server is a network round trip away.
 *
 * usage: slowfs [--delay-us=N] BACKING MOUNTPOINT [FUSE options]
 *
 * Every request but the data ones (read, write, flush, fsync, release)
 * sleeps N microseconds (default 200) before it is done on BACKING:
 * lookups (getattr: the high-level API resolves paths with it), opendir,
 * readdir, open, create, readlink, statfs, access, the xattr calls and
 * every change to the tree. The sleep is the point: it is the simulated
 * latency, not a synchronisation. Multi-threaded, as libfuse3's loop is
 * by default, so that concurrent clients overlap as they would on a real
 * server. Run it as root with -o allow_other: a file made through it is
 * given the caller's uid and gid, as a real filesystem does. Locks are
 * the kernel's own (no lock operations: FUSE then keeps them locally).
 *
 * Built by tests/bench/squashfs.sh with cc (libfuse3); a bench tool, not
 * part of hutch.
 */

#define FUSE_USE_VERSION 35

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static int base = -1;
static long delay_us = 200;

static void slow(void)
{
	struct timespec ts = { delay_us / 1000000,
			       (delay_us % 1000000) * 1000 };

	while (delay_us > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The path relative to the backing directory ("." for the root). */
static const char *rel(const char *path)
{
	return path[1] ? path + 1 : ".";
}

/* /proc/self/fd/N/PATH for the xattr calls (no *xattrat before 6.13). */
static void procpath(char *buf, size_t n, const char *path)
{
	snprintf(buf, n, "/proc/self/fd/%d/%s", base, rel(path));
}

static int give_owner(const char *path)
{
	struct fuse_context *c = fuse_get_context();

	return fchownat(base, rel(path), c->uid, c->gid, AT_SYMLINK_NOFOLLOW) <
			       0
		       ? -errno
		       : 0;
}

static int sf_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	slow();
	if (fi)
		return fstat((int)fi->fh, st) < 0 ? -errno : 0;
	return fstatat(base, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
								     : 0;
}

static int sf_access(const char *path, int mask)
{
	slow();
	return faccessat(base, rel(path), mask, AT_SYMLINK_NOFOLLOW) < 0
		       ? -errno
		       : 0;
}

static int sf_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	slow();
	n = readlinkat(base, rel(path), buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int sf_opendir(const char *path, struct fuse_file_info *fi)
{
	int fd;
	DIR *d;

	slow();
	fd = openat(base, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

static int sf_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	DIR *d = (DIR *)(uintptr_t)fi->fh;
	struct dirent *e;

	(void)path;
	(void)flags;
	slow();
	if (off == 0)
		rewinddir(d);
	else
		seekdir(d, off);
	while ((e = readdir(d))) {
		struct stat st = { .st_ino = e->d_ino,
				   .st_mode = (mode_t)DTTOIF(e->d_type) };

		if (fill(buf, e->d_name, &st, telldir(d), 0))
			break;
	}
	return 0;
}

static int sf_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	closedir((DIR *)(uintptr_t)fi->fh);
	return 0;
}

static int sf_open(const char *path, struct fuse_file_info *fi)
{
	int fd;

	slow();
	fd = openat(base, rel(path), (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	return 0;
}

static int sf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd;

	slow();
	fd = openat(base, rel(path), fi->flags | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return give_owner(path);
}

static int sf_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int sf_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int sf_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int sf_fsync(const char *path, int data, struct fuse_file_info *fi)
{
	(void)path;
	return (data ? fdatasync((int)fi->fh) : fsync((int)fi->fh)) < 0 ? -errno
									: 0;
}

static int sf_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	slow();
	return fstatvfs(base, sv) < 0 ? -errno : 0;
}

static int sf_mkdir(const char *path, mode_t mode)
{
	slow();
	if (mkdirat(base, rel(path), mode) < 0)
		return -errno;
	return give_owner(path);
}

static int sf_mknod(const char *path, mode_t mode, dev_t dev)
{
	slow();
	if (mknodat(base, rel(path), mode, dev) < 0)
		return -errno;
	return give_owner(path);
}

static int sf_symlink(const char *target, const char *path)
{
	slow();
	if (symlinkat(target, base, rel(path)) < 0)
		return -errno;
	return give_owner(path);
}

static int sf_link(const char *from, const char *to)
{
	slow();
	return linkat(base, rel(from), base, rel(to), 0) < 0 ? -errno : 0;
}

static int sf_unlink(const char *path)
{
	slow();
	return unlinkat(base, rel(path), 0) < 0 ? -errno : 0;
}

static int sf_rmdir(const char *path)
{
	slow();
	return unlinkat(base, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int sf_rename(const char *from, const char *to, unsigned int flags)
{
	slow();
	return renameat2(base, rel(from), base, rel(to), flags) < 0 ? -errno
								    : 0;
}

static int sf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	slow();
	if (fi)
		return fchmod((int)fi->fh, mode) < 0 ? -errno : 0;
	return fchmodat(base, rel(path), mode, 0) < 0 ? -errno : 0;
}

static int sf_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	slow();
	if (fi)
		return fchown((int)fi->fh, uid, gid) < 0 ? -errno : 0;
	return fchownat(base, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0
		       ? -errno
		       : 0;
}

static int sf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd, ret;

	slow();
	if (fi)
		return ftruncate((int)fi->fh, size) < 0 ? -errno : 0;
	fd = openat(base, rel(path), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, size) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int sf_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	slow();
	if (fi)
		return futimens((int)fi->fh, tv) < 0 ? -errno : 0;
	return utimensat(base, rel(path), tv, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
								       : 0;
}

static int sf_getxattr(const char *path, const char *name, char *value,
		       size_t size)
{
	char p[4096];
	ssize_t n;

	slow();
	procpath(p, sizeof(p), path);
	n = lgetxattr(p, name, value, size);
	return n < 0 ? -errno : (int)n;
}

static int sf_listxattr(const char *path, char *list, size_t size)
{
	char p[4096];
	ssize_t n;

	slow();
	procpath(p, sizeof(p), path);
	n = llistxattr(p, list, size);
	return n < 0 ? -errno : (int)n;
}

static int sf_setxattr(const char *path, const char *name, const char *value,
		       size_t size, int flags)
{
	char p[4096];

	slow();
	procpath(p, sizeof(p), path);
	return lsetxattr(p, name, value, size, flags) < 0 ? -errno : 0;
}

static int sf_removexattr(const char *path, const char *name)
{
	char p[4096];

	slow();
	procpath(p, sizeof(p), path);
	return lremovexattr(p, name) < 0 ? -errno : 0;
}

static void *sf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* Inode numbers of the backing files, and the kernel's default
	 * caching (1 s for entries and attributes), as a plain mount. */
	cfg->use_ino = 1;
	cfg->readdir_ino = 1;
	return NULL;
}

static const struct fuse_operations ops = {
	.init = sf_init,
	.getattr = sf_getattr,
	.access = sf_access,
	.readlink = sf_readlink,
	.opendir = sf_opendir,
	.readdir = sf_readdir,
	.releasedir = sf_releasedir,
	.open = sf_open,
	.create = sf_create,
	.read = sf_read,
	.write = sf_write,
	.release = sf_release,
	.fsync = sf_fsync,
	.statfs = sf_statfs,
	.mkdir = sf_mkdir,
	.mknod = sf_mknod,
	.symlink = sf_symlink,
	.link = sf_link,
	.unlink = sf_unlink,
	.rmdir = sf_rmdir,
	.rename = sf_rename,
	.chmod = sf_chmod,
	.chown = sf_chown,
	.truncate = sf_truncate,
	.utimens = sf_utimens,
	.getxattr = sf_getxattr,
	.listxattr = sf_listxattr,
	.setxattr = sf_setxattr,
	.removexattr = sf_removexattr,
};

int main(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int n = 0;

	if (!args)
		return 1;
	args[n++] = argv[0];
	if (argc > 1 && !strncmp(argv[1], "--delay-us=", 11)) {
		delay_us = atol(argv[1] + 11);
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr,
			"usage: slowfs [--delay-us=N] BACKING MOUNTPOINT [FUSE options]\n");
		return 2;
	}
	base = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base < 0) {
		perror(argv[1]);
		return 1;
	}
	for (int i = 2; i < argc; i++)
		args[n++] = argv[i];
	umask(0);
	return fuse_main(n, args, &ops, NULL);
}
