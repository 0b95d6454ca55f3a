// SPDX-License-Identifier: Apache-2.0
/* read.c - a squashfs image read back with libsquashfs: checked whole, and
 * unpacked into a directory (hutch load and import of a .sqsh)
 *
 * The image is untrusted input (a file someone handed over): libsquashfs
 * parses the tables, and this file must not trust what they say either.
 * Names are single components (no "/", not "." or ".."), objects are made
 * relative to their directory's descriptor with O_NOFOLLOW and never
 * through a symlink, a directory tree that loops is refused by
 * libsquashfs's hierarchy reader, and file sizes are bounded by the data
 * actually read. tests/fuzz/fuzz_squashfs.c feeds this file random images.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir_reader.h>
#include <sqfs/error.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/super.h>
#include <sqfs/xattr.h>
#include <sqfs/xattr_reader.h>

#include "common/cleanup.h"
#include "squashfs/hsq-internal.h"

struct reader {
	sqfs_file_t *file;
	sqfs_super_t super;
	sqfs_compressor_t *cmp;
	sqfs_id_table_t *ids;
	sqfs_dir_reader_t *dr;
	sqfs_data_reader_t *data;
	sqfs_xattr_reader_t *xr;
	sqfs_tree_node_t *tree;
	const char *what;
	size_t count;
	struct hutch_err *err;
};

static int bad(struct reader *r, int code, const char *part)
{
	if (code == SQFS_ERROR_ALLOC)
		return cmn_err_msg(
			r->err, EINVAL,
			"%s is not a valid squashfs image: its %s asks for more memory than hutch-squashfs allows (1 GiB); copy or save it again",
			r->what, *part ? part : "metadata");
	return cmn_err_msg(
		r->err, EINVAL,
		"%s is not a valid squashfs image: its %s cannot be read (libsquashfs error %d); copy or save it again",
		r->what, part, code);
}

static int open_reader(struct reader *r, int fd)
{
	char path[64];
	sqfs_compressor_config_t cfg;
	int ret;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r->file = sqfs_open_file(path, SQFS_FILE_OPEN_READ_ONLY);
	if (!r->file)
		return cmn_err_set(r->err, errno ? errno : EIO,
				   "cannot open %s", r->what);
	ret = sqfs_super_read(&r->super, r->file);
	if (ret)
		return bad(r, ret, "superblock");
	ret = sqfs_compressor_config_init(&cfg, r->super.compression_id,
					  r->super.block_size,
					  SQFS_COMP_FLAG_UNCOMPRESS);
	if (ret == 0)
		ret = sqfs_compressor_create(&cfg, &r->cmp);
	if (ret)
		return bad(r, ret, "compressor");
	if ((r->super.flags & SQFS_FLAG_COMPRESSOR_OPTIONS) &&
	    (ret = r->cmp->read_options(r->cmp, r->file)) != 0)
		return bad(r, ret, "compressor options");
	r->ids = sqfs_id_table_create(0);
	r->dr = sqfs_dir_reader_create(&r->super, r->cmp, r->file, 0);
	r->data = sqfs_data_reader_create(r->file, r->super.block_size, r->cmp,
					  0);
	r->xr = sqfs_xattr_reader_create(0);
	if (!r->ids || !r->dr || !r->data || !r->xr)
		return bad(r, SQFS_ERROR_ALLOC, "");
	if ((ret = sqfs_id_table_read(r->ids, r->file, &r->super, r->cmp)))
		return bad(r, ret, "id table");
	if ((ret = sqfs_data_reader_load_fragment_table(r->data, &r->super)))
		return bad(r, ret, "fragment table");
	if ((ret = sqfs_xattr_reader_load(r->xr, &r->super, r->file, r->cmp)))
		return bad(r, ret, "xattr table");
	ret = sqfs_dir_reader_get_full_hierarchy(r->dr, r->ids, NULL, 0,
						 &r->tree);
	return ret ? bad(r, ret, "directory tree") : 0;
}

static void close_reader(struct reader *r)
{
	sqfs_dir_tree_destroy(r->tree);
	sqfs_destroy(r->xr);
	sqfs_destroy(r->data);
	sqfs_destroy(r->dr);
	sqfs_destroy(r->ids);
	sqfs_destroy(r->cmp);
	sqfs_destroy(r->file);
}

/* Every xattr of @ino: checked, and set on @fd's object when @fd >= 0. */
static int do_xattrs(struct reader *r, const sqfs_inode_generic_t *ino, int fd,
		     const char *name)
{
	sqfs_xattr_id_t desc;
	sqfs_u32 idx;
	int ret;

	sqfs_inode_get_xattr_index(ino, &idx);
	if (idx == 0xFFFFFFFF)
		return 0;
	/* libsquashfs's reader of an image without an xattr table has no
	 * table to seek in (a NULL dereference, found by fuzz_squashfs). */
	if ((r->super.flags & SQFS_FLAG_NO_XATTRS) ||
	    r->super.xattr_id_table_start == 0xFFFFFFFFFFFFFFFFULL)
		return bad(r, SQFS_ERROR_CORRUPTED, "xattrs");
	if ((ret = sqfs_xattr_reader_get_desc(r->xr, idx, &desc)) ||
	    (ret = sqfs_xattr_reader_seek_kv(r->xr, &desc)))
		return bad(r, ret, "xattrs");
	for (sqfs_u32 i = 0; i < desc.count; i++) {
		sqfs_xattr_entry_t *key = NULL;
		sqfs_xattr_value_t *val = NULL;
		char k[XATTR_NAME_MAX + 1];
		int failed = 0;

		ret = sqfs_xattr_reader_read_key(r->xr, &key);
		if (ret == 0)
			ret = sqfs_xattr_reader_read_value(r->xr, key, &val);
		/* libsquashfs puts the namespace's prefix before the key
		 * but leaves key->size the size of the rest. */
		const char *pre =
			ret == 0 ? sqfs_get_xattr_prefix(key->type &
							 SQFS_XATTR_PREFIX_MASK)
				 : NULL;

		if (ret == 0 && pre && strlen(pre) + key->size < sizeof(k)) {
			memcpy(k, key->key, strlen(pre) + key->size);
			k[strlen(pre) + key->size] = '\0';
			if (fd >= 0 &&
			    fsetxattr(fd, k, val->value, val->size, 0) < 0 &&
			    errno != ENOTSUP && errno != EPERM)
				failed = cmn_err_set(
					r->err, errno,
					"cannot set xattr %s on %s", k, name);
		}
		sqfs_free(key);
		sqfs_free(val);
		if (failed)
			return failed;
		if (ret)
			return bad(r, ret, "xattrs");
	}
	return 0;
}

/* A regular file's data: every block decompressed; written to @fd when
 * @fd >= 0. */
static int do_data(struct reader *r, const sqfs_inode_generic_t *ino, int fd)
{
	static char buf[131072];
	sqfs_u64 size, at = 0;

	sqfs_inode_get_file_size(ino, &size);
	while (at < size) {
		sqfs_u32 want = size - at < sizeof(buf) ? (sqfs_u32)(size - at)
							: sizeof(buf);
		sqfs_s32 got =
			sqfs_data_reader_read(r->data, ino, at, buf, want);

		if (got <= 0)
			return bad(r, got ? got : SQFS_ERROR_CORRUPTED,
				   "file data");
		if (fd >= 0 && cmn_write_all(fd, buf, (size_t)got) < 0)
			return cmn_err_set(r->err, errno,
					   "cannot write a file");
		at += (sqfs_u64)got;
	}
	return 0;
}

static bool good_name(const char *n)
{
	return n[0] && strcmp(n, ".") && strcmp(n, "..") && !strchr(n, '/');
}

/* Make the object @n in @dirfd (when >= 0): owner, mode, xattrs, time. */
static int make(struct reader *r, const sqfs_tree_node_t *n, int dirfd,
		int *out)
{
	const sqfs_inode_generic_t *ino = n->inode;
	const char *name = (const char *)n->name;
	int fd = -1;

	*out = -1;
	if (dirfd < 0)
		return 0;
	switch (ino->base.mode & S_IFMT) {
	case S_IFDIR:
		if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
			return cmn_err_set(r->err, errno, "cannot make %s",
					   name);
		fd = openat(dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		break;
	case S_IFREG:
		fd = openat(dirfd, name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    0600);
		break;
	case S_IFLNK: {
		sqfs_u32 len = ino->data.slink.target_size;
		char *t = len < ino->payload_bytes_used + 1u
				  ? strndup((const char *)ino->extra, len)
				  : NULL;

		struct timespec ts[2] = { { .tv_sec = ino->base.mod_time },
					  { .tv_sec = ino->base.mod_time } };

		if (!t || symlinkat(t, dirfd, name) < 0) {
			free(t);
			return cmn_err_set(r->err, t ? errno : EINVAL,
					   "cannot make the symlink %s", name);
		}
		free(t);
		if (fchownat(dirfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) <
			    0 &&
		    errno != EINVAL)
			return cmn_err_set(r->err, errno, "cannot chown %s",
					   name);
		/* Its own time too, as for every other object: the same
		 * file unpacks to the same tree, and so to the same layer. */
		utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	case S_IFIFO:
		if (mknodat(dirfd, name, S_IFIFO | 0600, 0) < 0)
			return cmn_err_set(r->err, errno, "cannot make %s",
					   name);
		fd = openat(dirfd, name,
			    O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		break;
	default:
		return 0; /* devices and sockets: skipped, as unpacking does */
	}
	if (fd < 0)
		return cmn_err_set(r->err, errno, "cannot make %s", name);
	if (fchown(fd, n->uid, n->gid) < 0 && errno != EINVAL) {
		close(fd);
		return cmn_err_set(r->err, errno, "cannot chown %s", name);
	}
	*out = fd;
	return 0;
}

/* Mode and times once the content is there (a 0500 directory is filled
 * first). */
static void settle(const sqfs_tree_node_t *n, int fd)
{
	struct timespec ts[2] = { { .tv_sec = n->inode->base.mod_time },
				  { .tv_sec = n->inode->base.mod_time } };

	if (fd < 0)
		return;
	fchmod(fd, n->inode->base.mode & 07777);
	futimens(fd, ts);
}

static int walk(struct reader *r, const sqfs_tree_node_t *n, int dirfd)
{
	const char *name = (const char *)n->name;
	int fd = -1, ret;

	if (n->parent && !good_name(name))
		return cmn_err_msg(
			r->err, EINVAL,
			"%s is not a valid image: it holds the file name \"%s\"",
			r->what, name);
	r->count++;
	if (n->parent)
		ret = make(r, n, dirfd, &fd);
	else
		ret = dirfd >= 0 ? ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0
					    ? -errno
					    : 0)
				 : 0;
	if (ret == 0 && S_ISREG(n->inode->base.mode))
		ret = do_data(r, n->inode, fd);
	if (ret == 0 && !S_ISLNK(n->inode->base.mode))
		ret = do_xattrs(r, n->inode, fd, name);
	for (const sqfs_tree_node_t *k = n->children; ret == 0 && k;
	     k = k->next)
		ret = walk(r, k, fd);
	if (ret == 0)
		settle(n, fd);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int run(int fd, uint64_t size, const char *what, int outfd,
	       size_t *count, struct hutch_err *err)
{
	struct reader r = { .what = what, .err = err };
	int ret = open_reader(&r, fd);

	if (ret == 0 && r.super.bytes_used > size)
		ret = cmn_err_msg(
			err, EINVAL,
			"%s is not a valid image: its squashfs claims %llu bytes, more than the file holds",
			what, (unsigned long long)r.super.bytes_used);
	if (ret == 0)
		ret = walk(&r, r.tree, outfd);
	if (ret == 0 && count)
		*count = r.count;
	close_reader(&r);
	return ret;
}

int hsq_check_image(int fd, uint64_t size, const char *what, size_t *count,
		    struct hutch_err *err)
{
	return run(fd, size, what, -1, count, err);
}

int hsq_unpack(int fd, uint64_t size, const char *what, int dirfd,
	       struct hutch_err *err)
{
	return run(fd, size, what, dirfd, NULL, err);
}
