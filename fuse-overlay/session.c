// SPDX-License-Identifier: Apache-2.0
/* session.c - the FUSE session: operations table, capabilities, mounting,
 * the multithreaded loop and a clean exit on unmount
 *
 * libfuse mounts with mount(2) where that is allowed (as root, or as root
 * of a user namespace that owns our mount namespace) and falls back to
 * the setuid fusermount3 elsewhere. Either way the loop ends when the
 * kernel closes the connection: fusermount3 -u, umount, SIGTERM/SIGINT
 * (we unmount), or the last mount going away with its namespace. For that
 * last case the daemon must not hold the namespace alive itself:
 * --exit-with-mntns moves it into a private copy of the namespace without
 * the mount once the mount is live.
 */

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

static void ovl_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ovl_fs *fs = userdata;
	const struct ovl_opts *o = fs->opts;
	unsigned want = FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ATOMIC_O_TRUNC |
			FUSE_CAP_ASYNC_READ;

#ifdef FUSE_CAP_CACHE_SYMLINKS
	want |= FUSE_CAP_CACHE_SYMLINKS;
#endif
	if (o->writeback && fs->has_upper)
		want |= FUSE_CAP_WRITEBACK_CACHE;
	if (o->splice_write)
		want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	if (o->splice_read)
		want |= FUSE_CAP_SPLICE_READ;
#ifdef FUSE_CAP_NO_OPENDIR_SUPPORT
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
		want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
		fs->no_opendir = true;
	}
#endif
	if (o->readdirplus != OVL_RDP_NO)
		want |= FUSE_CAP_READDIRPLUS;
	if (o->readdirplus == OVL_RDP_AUTO)
		want |= FUSE_CAP_READDIRPLUS_AUTO;
	conn->want |= want & conn->capable;
	if (o->readdirplus != OVL_RDP_AUTO)
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	if (o->readdirplus == OVL_RDP_NO)
		conn->want &= ~FUSE_CAP_READDIRPLUS;
	if (!o->splice_write)
		conn->want &= ~(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	if (!o->splice_read)
		conn->want &= ~FUSE_CAP_SPLICE_READ;
	/* Locks stay in the kernel: every access goes through this mount,
	 * so the kernel's local locking is exact and costs no round trip. */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	conn->time_gran = 1;
}

static const struct fuse_lowlevel_ops ovl_ops = {
	.init = ovl_init,
	.lookup = ovl_op_lookup,
	.forget = ovl_op_forget,
	.forget_multi = ovl_op_forget_multi,
	.getattr = ovl_op_getattr,
	.setattr = ovl_op_setattr,
	.readlink = ovl_op_readlink,
	.mknod = ovl_op_mknod,
	.mkdir = ovl_op_mkdir,
	.unlink = ovl_op_unlink,
	.rmdir = ovl_op_rmdir,
	.symlink = ovl_op_symlink,
	.rename = ovl_op_rename,
	.link = ovl_op_link,
	.open = ovl_op_open,
	.read = ovl_op_read,
	.write_buf = ovl_op_write_buf,
	.flush = ovl_op_flush,
	.release = ovl_op_release,
	.fsync = ovl_op_fsync,
	.opendir = ovl_op_opendir,
	.readdir = ovl_op_readdir,
	.readdirplus = ovl_op_readdirplus,
	.releasedir = ovl_op_releasedir,
	.fsyncdir = ovl_op_fsyncdir,
	.statfs = ovl_op_statfs,
	.setxattr = ovl_op_setxattr,
	.getxattr = ovl_op_getxattr,
	.listxattr = ovl_op_listxattr,
	.removexattr = ovl_op_removexattr,
	.create = ovl_op_create,
	.fallocate = ovl_op_fallocate,
	.copy_file_range = ovl_op_copy_file_range,
	.lseek = ovl_op_lseek,
};

/* The mount options libfuse gets: ours, then the user's FUSE ones. */
static char *mount_options(struct ovl_fs *fs)
{
	const struct ovl_opts *o = fs->opts;
	/* Other users (the container's) may enter where we can grant it
	 * without fusermount3's consent: as root here or in a user
	 * namespace. fusermount3 allows allow_other only per fuse.conf. */
	bool other = o->allow_other || geteuid() == 0;

	return cmn_strdup_printf(
		"fsname=hutch-overlay,subtype=hutch-overlay,default_permissions%s%s%s%s",
		other ? ",allow_other" : "",
		o->readonly || !fs->has_upper ? ",ro" : "",
		o->fuse_opts ? "," : "", o->fuse_opts ? o->fuse_opts : "");
}

/* Leave the mount namespace's only reference to the mount to the others:
 * our private copy drops it, so when they are all gone the kernel
 * destroys the mount and ends our session. */
static int leave_mntns(const char *mountpoint, struct hutch_err *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return cmn_err_set(
			err, errno,
			"--exit-with-mntns: cannot make a private mount namespace");
	/* Private first, or the unmount would propagate back to them. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cmn_err_set(
			err, errno,
			"--exit-with-mntns: cannot make mounts private");
	if (umount2(mountpoint, MNT_DETACH) < 0)
		return cmn_err_set(
			err, errno,
			"--exit-with-mntns: cannot drop our copy of %s",
			mountpoint);
	return 0;
}

static void signal_ready(struct ovl_fs *fs)
{
	int fd = fs->opts->ready_fd;

	if (fd < 0)
		return;
	if (cmn_write_all(fd, "1", 1) < 0)
		cmn_warn("cannot write to --ready-fd %d: %s", fd,
			 strerror(errno));
	close(fd);
}

static int serve(struct ovl_fs *fs, struct fuse_session *se,
		 struct hutch_err *err)
{
	const struct ovl_opts *o = fs->opts;
	int r;

	if (fuse_session_mount(se, o->mountpoint) != 0)
		return cmn_err_msg(
			err, EIO,
			"cannot mount the overlay at %s (see the message above); check that /dev/fuse is usable and the mountpoint is yours",
			o->mountpoint);
	if (!o->foreground && fuse_daemonize(0) != 0) {
		fuse_session_unmount(se);
		return cmn_err_msg(
			err, EIO,
			"cannot run in the background (see the message above); run hutch-overlay with -f to stay in the foreground");
	}
	if (o->exit_with_mntns) {
		r = leave_mntns(o->mountpoint, err);
		if (r < 0) {
			fuse_session_unmount(se);
			return r;
		}
	}
	signal_ready(fs);
	r = ovl_loop_run(se, o->single_thread ? 1 : o->threads);
	if (!o->exit_with_mntns)
		fuse_session_unmount(se);
	if (r < 0)
		return cmn_err_set(err, -r, "the FUSE session failed");
	return 0;
}

int ovl_session_run(struct ovl_fs *fs, struct hutch_err *err)
{
	cleanup_free char *opts = mount_options(fs);
	char *argv[] = { "hutch-overlay", "-o", opts, "-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(fs->opts->debug ? 4 : 3, argv);
	struct fuse_session *se;
	int r;

	if (!opts)
		return -ENOMEM;
	se = fuse_session_new(&args, &ovl_ops, sizeof(ovl_ops), fs);
	fuse_opt_free_args(&args);
	if (!se)
		return cmn_err_msg(
			err, EINVAL,
			"cannot start the FUSE session with options '%s' (see the message above)",
			opts);
	fs->se = se;
	if (fuse_set_signal_handlers(se) != 0) {
		fuse_session_destroy(se);
		return cmn_err_set(err, errno,
				   "cannot install signal handlers");
	}
	r = serve(fs, se, err);
	fs->se = NULL;
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return r;
}
