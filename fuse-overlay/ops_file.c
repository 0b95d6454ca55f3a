// SPDX-License-Identifier: Apache-2.0
/* ops_file.c - FUSE operations on file contents: create, open, read,
 * write, flush, release, fsync, fallocate, copy_file_range, lseek
 *
 * Opening for writing (or with O_TRUNC) copies the file up first; reads of
 * a file opened from a lower switch to the upper copy once one exists
 * (ovl_fh_fd), so every descriptor sees the data of the one real file the
 * kernel's page cache stands for. Data moves with fuse_reply_data() from
 * our descriptor, which libfuse splices into the kernel where allowed.
 *
 * With the writeback cache, the kernel may read pages of a file opened
 * write-only and handles O_APPEND itself, so such files are opened
 * read-write and without O_APPEND here.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

static struct ovl_fh *fh_of(struct fuse_file_info *fi)
{
	return (struct ovl_fh *)(uintptr_t)fi->fh;
}

int ovl_fh_fd(struct ovl_fs *fs, struct ovl_node *n, struct ovl_fh *fh)
{
	cleanup_free char *path = NULL;
	int up = atomic_load(&fh->upfd), expected = -1, layer, fd;

	if (up >= 0)
		return up;
	if (fh->layer == OVL_UPPER && fs->has_upper)
		return fh->fd;
	if (!ovl_node_is_upper(fs, n)) /* the usual case: still the same */
		return fh->fd;
	if (ovl_node_path(fs, n, &path, &layer) < 0 ||
	    !(fs->has_upper && layer == OVL_UPPER))
		return fh->fd;
	fd = ovl_openat(fs->layers[OVL_UPPER].fd, path,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fh->fd;
	if (!atomic_compare_exchange_strong(&fh->upfd, &expected, fd)) {
		close(fd); /* another reader won */
		return expected;
	}
	return fd;
}

/* The flags for our own open of the real file. */
static int real_flags(struct ovl_fs *fs, int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT);
	if (fs->opts->writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags | O_CLOEXEC | O_NOFOLLOW;
}

static int open_real(struct ovl_fs *fs, int layer, const char *path, int flags)
{
	int fd = ovl_openat(fs->layers[layer].fd, path, real_flags(fs, flags));

	/* Read-write for the page cache may be refused where write-only is
	 * not (an unprivileged daemon, a file mode 0200). */
	if (fd < 0 && errno == EACCES && (flags & O_ACCMODE) == O_WRONLY)
		fd = ovl_openat(fs->layers[layer].fd, path,
				(real_flags(fs, flags) & ~O_ACCMODE) |
					O_WRONLY);
	return fd < 0 ? -errno : fd;
}

static struct ovl_fh *fh_new(struct ovl_fs *fs, struct ovl_node *n, int fd,
			     int layer)
{
	struct ovl_fh *fh = malloc(sizeof(*fh));

	if (!fh)
		return NULL;
	fh->fd = fd;
	fh->layer = layer;
	atomic_init(&fh->upfd, -1);
	pthread_mutex_lock(&fs->tree_lock);
	fh->next = n->fhs;
	n->fhs = fh;
	pthread_mutex_unlock(&fs->tree_lock);
	return fh;
}

static void fh_free(struct ovl_fs *fs, struct ovl_node *n, struct ovl_fh *fh)
{
	int up = atomic_load(&fh->upfd);

	pthread_mutex_lock(&fs->tree_lock);
	for (struct ovl_fh **pp = &n->fhs; *pp; pp = &(*pp)->next) {
		if (*pp == fh) {
			*pp = fh->next;
			break;
		}
	}
	pthread_mutex_unlock(&fs->tree_lock);
	close(fh->fd);
	if (up >= 0)
		close(up);
	free(fh);
}

int ovl_node_target(struct ovl_fs *fs, struct ovl_node *n, char **path,
		    int *layer, int *fd)
{
	int r = ovl_node_path(fs, n, path, layer);

	*fd = -1;
	if (r != -ENOENT)
		return r;
	r = ovl_node_dup_fd(fs, n);
	if (r < 0)
		return r;
	*fd = r;
	return 0;
}

int ovl_node_dup_fd(struct ovl_fs *fs, struct ovl_node *n)
{
	int fd = -ENOENT;

	pthread_mutex_lock(&fs->tree_lock);
	for (struct ovl_fh *fh = n->fhs; fh; fh = fh->next) {
		if (fs->has_upper && fh->layer == OVL_UPPER) {
			fd = fcntl(fh->fd, F_DUPFD_CLOEXEC, 0);
			fd = fd < 0 ? -errno : fd;
			break;
		}
	}
	pthread_mutex_unlock(&fs->tree_lock);
	return fd;
}

static void set_open_flags(struct ovl_fs *fs, struct fuse_file_info *fi)
{
	(void)fs;
	/* Everything that changes the file passes the kernel, which keeps
	 * its page cache current; dropping it at each open would only make
	 * reads of unchanged files slow. */
	fi->keep_cache = 1;
	/* No FLUSH round trip at each close: nothing is buffered here, locks
	 * are the kernel's, and dirty pages go back by writeback. */
	fi->noflush = 1;
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
}

void ovl_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *n = ovl_node_of(fs, ino);
	bool writes =
		(fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	cleanup_free char *path = NULL;
	struct ovl_fh *fh;
	int layer, fd, r = 0;

	if (writes)
		r = ovl_copy_up(fs, n,
				(fi->flags & O_TRUNC) ? OVL_CU_NODATA : 0);
	if (r == 0)
		r = ovl_node_path(fs, n, &path, &layer);
	fd = r < 0 ? r : open_real(fs, layer, path, fi->flags);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	fh = fh_new(fs, n, fd, layer);
	if (!fh) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)fh;
	set_open_flags(fs, fi);
	if (fuse_reply_open(req, fi) == -ENOENT)
		fh_free(fs, n, fh); /* the opener was interrupted */
}

void ovl_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_maker m = { .kind = OVL_MK_FILE,
			       .mode = mode,
			       .flags = real_flags(fs, fi->flags) };
	struct fuse_entry_param e;
	struct ovl_fh *fh;
	int r = ovl_create_obj(req, ovl_node_of(fs, parent), name, &m, &e);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fh = fh_new(fs, ovl_node_of(fs, e.ino), m.fd, OVL_UPPER);
	if (!fh) {
		close(m.fd);
		ovl_node_forget(fs, ovl_node_of(fs, e.ino), 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)fh;
	set_open_flags(fs, fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		fh_free(fs, ovl_node_of(fs, e.ino), fh);
}

/* A buffer per thread for reads: no allocation per request. */
static __thread char *tls_rbuf;
static __thread size_t tls_rbuf_size;

static char *read_buffer(size_t size)
{
	if (size > tls_rbuf_size) {
		char *p = realloc(tls_rbuf, size);

		if (!p)
			return NULL;
		tls_rbuf = p;
		tls_rbuf_size = size;
	}
	return tls_rbuf;
}

void ovl_read_buffer_free(void)
{
	free(tls_rbuf);
	tls_rbuf = NULL;
	tls_rbuf_size = 0;
}

void ovl_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	int fd = ovl_fh_fd(fs, ovl_node_of(fs, ino), fh_of(fi));
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	char *mem;
	ssize_t n;

	if (fs->opts->splice_write) { /* libfuse moves it with splice(2) */
		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = fd;
		buf.buf[0].pos = off;
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	mem = read_buffer(size);
	if (!mem) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	do
		n = pread(fd, mem, size, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, mem, (size_t)n);
}

void ovl_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		      off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t n;

	(void)ino;
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = fh_of(fi)->fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

void ovl_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	/* Nothing is buffered here; locks are the kernel's (local). */
	fuse_reply_err(req, 0);
}

void ovl_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);

	fh_free(fs, ovl_node_of(fs, ino), fh_of(fi));
	fuse_reply_err(req, 0);
}

void ovl_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	int fd = fh_of(fi)->fd, r = 0;

	(void)ino;
	if (fs->opts->fsync) {
		ovl_loop_may_block();
		r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0;
	}
	fuse_reply_err(req, r);
}

void ovl_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		      off_t length, struct fuse_file_info *fi)
{
	(void)ino;
	ovl_loop_may_block();
	if (fallocate(fh_of(fi)->fd, mode, offset, length) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

void ovl_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			    struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			    off_t off_out, struct fuse_file_info *fi_out,
			    size_t len, int flags)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	loff_t in = off_in, out = off_out;
	ssize_t n;

	(void)ino_out;
	ovl_loop_may_block();
	n = copy_file_range(
		ovl_fh_fd(fs, ovl_node_of(fs, ino_in), fh_of(fi_in)), &in,
		fh_of(fi_out)->fd, &out, len, flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

void ovl_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		  struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	off_t r = lseek(ovl_fh_fd(fs, ovl_node_of(fs, ino), fh_of(fi)), off,
			whence);

	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}
