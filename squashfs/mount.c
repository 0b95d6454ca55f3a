// SPDX-License-Identifier: Apache-2.0
/* mount.c - hutch-squashfs mount: a verified .sqsh served through
 * libfuse3 with libsquashfuse_ll's operations, read-only
 *
 * Why a helper and not a layer type of hutch-overlay, nor hutch itself:
 * libsquashfuse_ll already is a complete low-level FUSE filesystem over a
 * squashfs image (its sqfs_ll_op_* are libfuse3 operations), so serving it
 * takes a session and a loop, not a filesystem of our own; hutch-overlay
 * would need a second kind of layer (inodes, readdir, xattrs read from a
 * squashfs instead of a directory descriptor) through all of its code; and
 * in hutch's own process the mount would need a thread in every `run`,
 * and libsquashfuse with it. The writable layer goes above this mount as
 * above any image's layers: the container's storage driver (kernel
 * overlayfs where it can, hutch-overlay otherwise) takes the mount point
 * as its one lower directory.
 *
 * hutch starts it as it starts hutch-overlay (sandbox/storage-fuse.c): in
 * the container's user and mount namespaces, with --ready-fd and
 * --exit-with-mntns, so that the mount and this process end with the
 * container. The file's digest is checked before it is mounted
 * (trailer.c), once per unchanged file (verified.c); libsquashfuse then reads the squashfs at offset 0 through
 * a descriptor of that same file.
 */

/* First: its config.h sets _POSIX_C_SOURCE, which the C library's
 * headers then raise for _GNU_SOURCE; and one of its declarations is not
 * a prototype. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <ll.h>
#pragma GCC diagnostic pop

#include <errno.h>
#include <float.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "squashfs/hsq-internal.h"

/* Exported by libsquashfuse_ll (lookup and getattr answer with it) but
 * missing from its installed headers: the attributes of @inode. */
sqfs_err sqfs_stat(sqfs *fs, sqfs_inode *inode, struct stat *st);

/* Requests the kernel need not send. Under load every request waits for
 * this one thread to be scheduled, so fewer is faster: a cold import of
 * numpy, pandas and scipy sent 12,075, of them 1,638 OPEN and as many
 * RELEASE, and 2,583 GETXATTR (overlayfs asks each lower for its
 * markers) of an image that has no xattrs. */
static bool no_open;   /* the kernel takes ENOSYS to OPEN as "never again" */
static bool no_xattrs; /* the image has no xattr ids */

/* What the kernel may keep: the image does not change under the mount,
 * so symlinks are cached (libsquashfuse already answers lookups and
 * attributes with an endless timeout and opens files with keep_cache). */
static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
}

/* Opens: none, where the kernel can do without them. Answered ENOSYS
 * once, it sends no OPEN or RELEASE again and keeps each file's pages
 * (FOPEN_KEEP_CACHE is its default then); a write is refused by the
 * read-only mount before it gets here. Reads then find the inode by its
 * number (op_read). */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (no_open)
		fuse_reply_err(req, ENOSYS);
	else
		sqfs_ll_op_open(req, ino, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	sqfs_inode inode;

	if (fi->fh) {
		sqfs_ll_op_read(req, ino, size, off, fi);
		return;
	}
	if (sqfs_ll_inode(fuse_req_userdata(req), &inode, ino) != SQFS_OK) {
		fuse_reply_err(req, EIO);
		return;
	}
	fi->fh = (uintptr_t)&inode;
	sqfs_ll_op_read(req, ino, size, off, fi);
	fi->fh = 0;
}

/* An image without xattrs answers ENOSYS: the kernel then answers every
 * later getxattr and listxattr itself (EOPNOTSUPP), which overlayfs and
 * hutch-overlay take as "none". */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	if (no_xattrs)
		fuse_reply_err(req, ENOSYS);
	else
		sqfs_ll_op_getxattr(req, ino, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (no_xattrs)
		fuse_reply_err(req, ENOSYS);
	else
		sqfs_ll_op_listxattr(req, ino, size);
}

/* A directory's entries are kept by the kernel too, from one opendir to
 * the next (libsquashfuse's opendir passes fi through to its reply). */
static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	sqfs_ll_op_opendir(req, ino, fi);
}

/* A directory's entries from @off (an entry's next offset, 0 first),
 * with their attributes when @plus. READDIRPLUS answers each entry as a
 * lookup would, so that the kernel makes its dentries and inodes from the
 * listing and sends no LOOKUP for them later: Python lists a package
 * directory before it opens and stats what it found there, and a cold
 * import of numpy, pandas and scipy sent 3,094 LOOKUPs with plain READDIR.
 * Both kinds are answered here, with one offset scheme, because the kernel
 * mixes them in one listing (READDIRPLUS first, READDIR after) and
 * libsquashfuse's own readdir changed its offsets between versions (0.1.105
 * lists no "." and ".."; later ones do, shifted by 2). Neither lists them:
 * the kernel makes its own. An entry is registered with libsquashfuse's
 * inode table only once it fits in the reply: the kernel counts a lookup
 * for every entry it receives, and forgets it later. */
static void list_dir(fuse_req_t req, size_t size, off_t off,
		     struct fuse_file_info *fi, bool plus)
{
	sqfs_ll_i *lli = (sqfs_ll_i *)(intptr_t)fi->fh;
	sqfs_ll *ll = lli->ll;
	cleanup_free char *buf = malloc(size);
	sqfs_err sqerr = SQFS_OK;
	sqfs_dir_entry entry;
	sqfs_name name;
	size_t used = 0;
	sqfs_dir dir;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (sqfs_dir_open(&ll->fs, &lli->inode, &dir, off) != SQFS_OK) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	sqfs_dentry_init(&entry, name);
	while (sqfs_dir_next(&ll->fs, &dir, &entry, &sqerr)) {
		const char *n = sqfs_dentry_name(&entry);
		off_t next = (off_t)sqfs_dentry_next_offset(&entry);
		struct fuse_entry_param e = { .attr_timeout = DBL_MAX,
					      .entry_timeout = DBL_MAX };
		sqfs_inode inode;

		if (!plus) {
			size_t len;

			e.attr.st_ino = ll->ino_fuse_num(ll, &entry);
			e.attr.st_mode = sqfs_dentry_mode(&entry);
			len = fuse_add_direntry(req, buf + used, size - used, n,
						&e.attr, next);
			if (len > size - used)
				break;
			used += len;
			continue;
		}
		if (fuse_add_direntry_plus(req, NULL, 0, n, NULL, 0) >
		    size - used)
			break;
		if (sqfs_inode_get(&ll->fs, &inode,
				   sqfs_dentry_inode(&entry)) != SQFS_OK ||
		    sqfs_stat(&ll->fs, &inode, &e.attr) != SQFS_OK) {
			sqerr = SQFS_ERR;
			break;
		}
		e.ino = ll->ino_register(ll, &entry);
		e.attr.st_ino = e.ino;
		used += fuse_add_direntry_plus(req, buf + used, size - used, n,
					       &e, next);
	}
	/* What was listed before an error is the kernel's (its lookups are
	 * counted); the error comes with the next call. */
	if (sqerr != SQFS_OK && used == 0)
		fuse_reply_err(req, EIO);
	else
		fuse_reply_buf(req, buf, used);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	list_dir(req, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	list_dir(req, size, off, fi, true);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = sqfs_ll_op_lookup,
	.forget = sqfs_ll_op_forget,
	.getattr = sqfs_ll_op_getattr,
	.readlink = sqfs_ll_op_readlink,
	.open = op_open,
	.read = op_read,
	.release = sqfs_ll_op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = sqfs_ll_op_releasedir,
	.statfs = stfs_ll_op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
};

/* Into a private copy of the mount namespace without our mount: the
 * container's namespace then dies with its last process, and takes the
 * mount, and so this process's session, with it. */
static int leave_mntns(const char *mnt, struct hutch_err *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return cmn_err_set(err, errno,
				   "cannot make a private mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cmn_err_set(err, errno, "cannot make mounts private");
	if (umount2(mnt, MNT_DETACH) < 0)
		return cmn_err_set(err, errno, "cannot drop our copy of %s",
				   mnt);
	return 0;
}

/* libsquashfuse keeps 8 metadata blocks, 1 data block and 3 fragment
 * blocks decompressed: a lookup among tens of thousands of entries reads
 * more inode and directory blocks than that, and the kernel's 128 KiB
 * reads around an mmap fault span two data blocks, so the same blocks
 * were read and inflated again and again. Its caches are members of the
 * public struct sqfs, made with its exported sqfs_block_cache_init(), so
 * they are made again larger once it is open, before any request: at
 * most 2 MiB of metadata blocks (8 KiB each), 2 MiB of data blocks and
 * 2 MiB of fragment blocks (128 KiB each) per mount. Measured, a cold
 * import of numpy, pandas and scipy: the daemon's CPU time 1.2 s to
 * 0.8 s (gzip image). Linear search over 256 entries costs nothing
 * beside one inflate. */
#define MD_BLOCKS   256
#define DATA_BLOCKS 16
#define FRAG_BLOCKS 16

static int grow_caches(sqfs_ll *ll)
{
	sqfs_cache_destroy(&ll->fs.md_cache);
	sqfs_cache_destroy(&ll->fs.data_cache);
	sqfs_cache_destroy(&ll->fs.frag_cache);
	memset(&ll->fs.md_cache, 0, sizeof(ll->fs.md_cache));
	memset(&ll->fs.data_cache, 0, sizeof(ll->fs.data_cache));
	memset(&ll->fs.frag_cache, 0, sizeof(ll->fs.frag_cache));
	if (sqfs_block_cache_init(&ll->fs.md_cache, MD_BLOCKS) != SQFS_OK ||
	    sqfs_block_cache_init(&ll->fs.data_cache, DATA_BLOCKS) != SQFS_OK ||
	    sqfs_block_cache_init(&ll->fs.frag_cache, FRAG_BLOCKS) != SQFS_OK)
		return -1;
	return 0;
}

int hsq_mount(const char *file, const char *mnt, const char *cache, int ready,
	      bool exit_with_ns, struct hutch_err *err)
{
	char *argv[] = {
		"hutch-squashfs", "-o",
		"ro,allow_other,default_permissions,fsname=hutch-squashfs,subtype=squashfs",
		NULL
	};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct fuse_session *se = NULL;
	char path[64];
	sqfs_ll *ll;
	int ret;

	if (fd < 0)
		return cmn_err_set(err, errno, "cannot open %s", file);
	ret = hsq_verify_cached(fd, file, cache, err);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ll = sqfs_ll_open(path, 0);
	if (!ll)
		return cmn_err_msg(
			err, EINVAL,
			"%s is not a squashfs image libsquashfuse can read; save it again",
			file);
	if (grow_caches(ll) < 0) {
		ret = cmn_err_set(err, ENOMEM, "squashfs caches");
		goto out;
	}
	no_xattrs = ll->fs.sb.xattr_id_table_start ==
			    (uint64_t)SQUASHFS_INVALID_BLK ||
		    ll->fs.xattr_info.xattr_ids == 0;
	se = fuse_session_new(&args, &ops, sizeof(ops), ll);
	if (!se || fuse_session_mount(se, mnt) != 0) {
		ret = cmn_err_msg(
			err, EIO,
			"cannot mount %s on %s with FUSE (see the line above); check /dev/fuse",
			file, mnt);
		goto out;
	}
	if (exit_with_ns && (ret = leave_mntns(mnt, err)) < 0)
		goto unmount;
	if (ready >= 0) {
		if (cmn_write_all(ready, "1", 1) < 0)
			cmn_warn("cannot write to the ready descriptor: %s",
				 strerror(errno));
		close(ready);
	}
	ret = fuse_session_loop(se);
	ret = ret < 0 ? cmn_err_set(err, -ret, "serving %s", file) : 0;
unmount:
	if (!exit_with_ns)
		fuse_session_unmount(se);
out:
	if (se)
		fuse_session_destroy(se);
	sqfs_ll_destroy(ll);
	free(ll);
	fuse_opt_free_args(&args);
	return ret;
}
