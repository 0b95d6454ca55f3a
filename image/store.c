// SPDX-License-Identifier: Apache-2.0
/* store.c - the image store: layout, opening, locks, atomic writes
 *
 * Theory of operation. Everything lives under one directory (DESIGN.md's
 * $HUTCH_ROOT) that only its owner may enter: layers unpacked with
 * subordinate ids can contain setuid files owned by those ids, which other
 * users must not be able to run. Objects are content-addressed and
 * immutable once published; publishing is a rename(2) from tmp/ (on the
 * same filesystem) after the data is on disk, so a reader sees an object
 * whole or not at all, and a killed writer leaves only tmp/ entries. These
 * carry the writer's pid, and the next open removes those whose process is
 * gone. Writers of the same object serialise on an flock(2) in locks/; the
 * second finds the object published when it gets the lock. The few mutable
 * files (refs.json) are rewritten whole under their own lock.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store-internal.h"

static const char *const subdirs[] = { "blobs",	 "blobs/sha256", "layers",
				       "images", "tmp",		 "locks",
				       "leases" };

int store_lock(struct img_store *s, const char *name, bool exclusive)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "locks/%s", name);
	fd = openat(s->rootfd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	return fd;
}

void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int store_tmp_name(char buf[static 96], const char *suffix)
{
	char rnd[17];
	int ret = cmn_random_hex(rnd, 8);

	if (ret < 0)
		return ret;
	snprintf(buf, 96, "tmp/%d-%s%s", (int)getpid(), rnd, suffix);
	return 0;
}

int store_write_atomic(struct img_store *s, const char *path, const void *data,
		       size_t len)
{
	char tmp[96];
	cleanup_close int fd = -1;
	int ret = store_tmp_name(tmp, ".file");

	if (ret < 0)
		return ret;
	fd = openat(s->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return -errno;
	ret = cmn_write_all(fd, data, len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (ret == 0 && renameat(s->rootfd, tmp, s->rootfd, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlinkat(s->rootfd, tmp, 0);
	return ret;
}

/* tmp/<pid>-...: the process that made it is gone. */
static bool stale(const char *name)
{
	uint64_t pid;
	char num[16];
	size_t n = strcspn(name, "-");

	if (n == 0 || n >= sizeof(num))
		return true;
	memcpy(num, name, n);
	num[n] = '\0';
	if (!cmn_parse_u64(num, INT32_MAX, &pid))
		return true;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Unpacked layers in tmp/ may hold files of subordinate ids that only a
 * user namespace can remove; store_remove_tree() (layer.c) knows how. */
static void clean_tmp(struct img_store *s)
{
	cleanup_dir DIR *d = NULL;
	int fd = openat(s->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char path[300];

		if (de->d_name[0] == '.' || !stale(de->d_name))
			continue;
		snprintf(path, sizeof(path), "tmp/%s", de->d_name);
		if (unlinkat(s->rootfd, path, 0) < 0 && errno == EISDIR)
			store_remove_tree(s, path, NULL);
	}
}

static int make_layout(struct img_store *s, struct hutch_err *err)
{
	struct stat st;
	int ret = cmn_mkdir_p(s->root, 0700);

	if (ret < 0)
		return cmn_err_set(err, -ret,
				   "cannot create the image store %s", s->root);
	s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0 || fstat(s->rootfd, &st) < 0)
		return cmn_err_set(err, errno, "cannot open the image store %s",
				   s->root);
	if (st.st_uid != getuid())
		return cmn_err_msg(
			err, EPERM,
			"the image store %s belongs to uid %u, not to you; set HUTCH_ROOT to a directory of your own",
			s->root, (unsigned)st.st_uid);
	if ((st.st_mode & 077) && fchmod(s->rootfd, 0700) < 0)
		return cmn_err_set(err, errno, "cannot make %s private",
				   s->root);
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
		if (mkdirat(s->rootfd, subdirs[i], 0700) < 0 && errno != EEXIST)
			return cmn_err_set(err, errno, "cannot create %s/%s",
					   s->root, subdirs[i]);
	return 0;
}

int img_store_open(struct img_store **out, struct hutch_err *err)
{
	struct img_store *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return cmn_err_set(err, ENOMEM, "store");
	s->rootfd = -1;
	s->lease_fd = -1;
	s->root = cmn_store_dir();
	if (!s->root) {
		ret = cmn_err_set(err, errno,
				  "cannot find the image store's directory");
		cmn_err_fix(err, "set HUTCH_ROOT or HOME");
		img_store_close(s);
		return ret;
	}
	ret = make_layout(s, err);
	if (ret < 0) {
		img_store_close(s);
		return ret;
	}
	clean_tmp(s);
	*out = s;
	return 0;
}

void img_store_close(struct img_store *s)
{
	if (!s)
		return;
	store_lease_close(s);
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s->made);
	free(s->root);
	free(s);
}

const char *img_store_root(const struct img_store *s)
{
	return s->root;
}

char *img_store_tmpdir(struct img_store *s, const char *suffix,
		       struct hutch_err *err)
{
	char rel[96];
	int ret = store_tmp_name(rel, suffix);

	if (ret == 0 && mkdirat(s->rootfd, rel, 0700) < 0)
		ret = -errno;
	if (ret < 0) {
		cmn_err_set(err, -ret, "cannot create a directory in %s/tmp",
			    s->root);
		return NULL;
	}
	return cmn_strdup_printf("%s/%s", s->root, rel);
}
