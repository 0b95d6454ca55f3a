// SPDX-License-Identifier: Apache-2.0
/* file.c - whole-file reads and writes, descriptor hygiene */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/common.h"

int cmn_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

ssize_t cmn_read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

int cmn_copy_data(int in, int out)
{
	char buf[64 * 1024];
	ssize_t n;
	int ret;

	for (;;) {
		n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n == 0)
			return 0;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		ret = cmn_write_all(out, buf, (size_t)n);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static uint64_t tree_size(int parent, const char *name, int depth)
{
	DIR *d = cmn_opendirat(parent, name, O_NOFOLLOW);
	struct dirent *de;
	uint64_t total = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		total += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < 64)
			total += tree_size(dirfd(d), de->d_name, depth + 1);
	}
	closedir(d);
	return total;
}

uint64_t cmn_tree_size(int dirfd, const char *name)
{
	return tree_size(dirfd, name, 0);
}

char *cmn_read_fileat(int dirfd, const char *path, size_t max, size_t *len)
{
	cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t cap = 4096, used = 0;

	if (fd < 0)
		return NULL;
	for (;;) {
		char *nbuf;
		ssize_t n;

		if (used + 1 >= cap || !buf) {
			if (buf)
				cap *= 2;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				return NULL;
			buf = nbuf;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0)
			break;
		used += n;
		if (used > max) {
			errno = EFBIG;
			return NULL;
		}
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	return steal_ptr(&buf);
}

int cmn_write_fileat(int dirfd, const char *path, const char *data, size_t len,
		     mode_t mode)
{
	cleanup_close int fd = openat(
		dirfd, path,
		O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int ret;

	if (fd < 0)
		return -errno;
	ret = cmn_write_all(fd, data, len);
	if (ret < 0)
		return ret;
	if (close(steal_fd(&fd)) < 0)
		return -errno;
	return 0;
}

int cmn_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int close_range_compat(unsigned int first, unsigned int last)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, first, last, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	/* Kernels before 5.9: walk /proc/self/fd. */
	cleanup_dir DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t fd;

		if (!cmn_parse_u64(de->d_name, INT_MAX, &fd))
			continue;
		if (fd >= first && fd <= last && (int)fd != dirfd(d))
			close((int)fd);
	}
	return 0;
}

int cmn_close_fds_from(int lowest, int keep)
{
	int ret;

	if (keep < lowest)
		return close_range_compat(lowest, ~0U);
	if (keep > lowest) {
		ret = close_range_compat(lowest, keep - 1);
		if (ret < 0)
			return ret;
	}
	return close_range_compat(keep + 1, ~0U);
}

DIR *cmn_opendirat(int dirfd, const char *path, int flags)
{
	int fd =
		openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int e = errno;

	if (!d && fd >= 0) {
		close(fd);
		errno = e;
	}
	return d;
}

static int remove_at(int dirfd, const char *name, int depth);

static int remove_children(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	while (ret == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ret = remove_at(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	return ret;
}

/* One fd per level; 4096 levels is deeper than PATH_MAX allows. */
static int remove_at(int dirfd, const char *name, int depth)
{
	int fd, ret;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -errno;
	if (depth > 4096)
		return -ELOOP;
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Entries cannot be removed from a directory we may not write. */
	fchmod(fd, 0700);
	ret = remove_children(fd, depth);
	if (ret < 0)
		return ret;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cmn_remove_tree(int dirfd, const char *name)
{
	return remove_at(dirfd, name, 0);
}
