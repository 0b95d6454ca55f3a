// SPDX-License-Identifier: Apache-2.0
/* mounts.c - the container's mount tree, built in its own mount namespace
 *
 * Theory of operation. The container's first process runs this in fresh
 * user, mount and pid namespaces, before pivot_root:
 *
 *  1. make every mount a slave (events from the host flow in, none out) and
 *     bind the root filesystem onto itself so that it is a mount point;
 *  2. write /etc/hosts, /etc/hostname and /etc/resolv.conf into a small
 *     tmpfs mounted on the rootfs's /proc directory and bind them onto /etc;
 *     proc is then mounted over that tmpfs, which stays hidden and dies with
 *     the namespace (nothing on the host to clean up after kill -9);
 *  3. a fresh /proc with Docker's masked and read-only paths, a minimal
 *     /dev (host device nodes bound in, since mknod(2) is not allowed in a
 *     user namespace; devpts newinstance; shm; mqueue), /sys;
 *  4. the user's -v, --mount and --tmpfs mounts, parents first; new
 *     volumes are filled from the image before any of them (copyup.c);
 *  5. read-only root if asked, pivot_root, detach the old root.
 *
 * Every target inside the rootfs is resolved with cmn_open_in_root(), so a
 * hostile image (/etc -> /, /dev -> ../../..) cannot redirect a mount out of
 * its tree, and mounted through /proc/self/fd/N of that descriptor: the
 * kernel then mounts on exactly the object we resolved.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202 /* not in linux/magic.h */
#endif

/* linux/mount.h clashes with sys/mount.h on glibc 2.36: our own copy. */
struct sbx_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct fdpath {
	char p[32];
};

static struct fdpath fdpath(int fd)
{
	struct fdpath r;

	snprintf(r.p, sizeof(r.p), "/proc/self/fd/%d", fd);
	return r;
}

/* Resolve @path in the container's root; -errno with @err on failure. */
static int target(int rootfd, const char *path, enum cmn_create create,
		  struct hutch_err *err)
{
	int fd = cmn_open_in_root(rootfd, path, O_PATH, create);

	if (fd < 0)
		cmn_err_set(err, -fd, "cannot %s %s in the root filesystem",
			    create ? "create the mount point" : "find", path);
	return fd;
}

/* Flags that a bind remount must repeat: the kernel refuses to clear
 * nosuid/nodev/noexec/atime flags locked by a more privileged namespace. */
static unsigned long locked_flags(int fd)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (fstatvfs(fd, &sv) < 0)
		return 0;
	f |= sv.f_flag & ST_NOSUID ? MS_NOSUID : 0;
	f |= sv.f_flag & ST_NODEV ? MS_NODEV : 0;
	f |= sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0;
	f |= sv.f_flag & ST_NOATIME ? MS_NOATIME : 0;
	f |= sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0;
	f |= sv.f_flag & ST_RELATIME ? MS_RELATIME : 0;
	return f;
}

/* Make the mount whose root @fd is read-only, with its submounts when
 * @recursive and the kernel has mount_setattr(2) (5.12). */
static int make_read_only(int fd, bool recursive)
{
	struct sbx_mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

#ifdef SYS_mount_setattr
	if (syscall(SYS_mount_setattr, fd, "",
		    AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
		    sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	if (mount(NULL, fdpath(fd).p, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(fd),
		  NULL) < 0)
		return -errno;
	return 0;
}

/* Re-resolve @path after something was mounted on it: the descriptor we
 * mounted through still names the covered directory, not the new mount. */
static int read_only_at(int rootfd, const char *path, bool recursive,
			struct hutch_err *err)
{
	cleanup_close int fd = target(rootfd, path, CMN_CREATE_NONE, err);
	int ret;

	if (fd < 0)
		return fd;
	ret = make_read_only(fd, recursive);
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot make %s read-only", path);
	return 0;
}

static int mount_fs(int rootfd, const char *path, const char *fstype,
		    unsigned long flags, const char *data,
		    struct hutch_err *err)
{
	cleanup_close int fd = target(rootfd, path, CMN_CREATE_DIR, err);

	if (fd < 0)
		return fd;
	if (mount(fstype, fdpath(fd).p, fstype, flags, data) < 0)
		return cmn_err_set(err, errno, "cannot mount %s on %s", fstype,
				   path);
	return 0;
}

/* Bind host path @src (a file or directory) onto @path in the rootfs. */
static int bind_host(int rootfd, const char *src, const char *path,
		     bool recursive, struct hutch_err *err)
{
	struct stat st;
	cleanup_close int fd = -1;

	if (stat(src, &st) < 0)
		return cmn_err_set(err, errno, "cannot bind %s", src);
	fd = target(rootfd, path,
		    S_ISDIR(st.st_mode) ? CMN_CREATE_DIR : CMN_CREATE_FILE,
		    err);
	if (fd < 0)
		return fd;
	if (mount(src, fdpath(fd).p, NULL, MS_BIND | (recursive ? MS_REC : 0),
		  NULL) < 0)
		return cmn_err_set(err, errno, "cannot bind %s to %s", src,
				   path);
	return 0;
}

/* The host has POSIX message queues' filesystem at /dev/mqueue. */
static bool host_mqueue(void)
{
	struct statfs sfs;

	return statfs("/dev/mqueue", &sfs) == 0 && sfs.f_type == MQUEUE_MAGIC;
}

/* ---- /etc/hosts, /etc/hostname, /etc/resolv.conf ------------------------ */

static int bind_staged(int rootfd, int stage, const char *name,
		       const char *path, struct hutch_err *err)
{
	cleanup_close int src = openat(stage, name, O_PATH | O_CLOEXEC);
	cleanup_close int dst = -1;

	dst = cmn_open_in_root(rootfd, path, O_PATH, CMN_CREATE_FILE);
	/* A read-only or foreign-owned rootfs cannot take a mount point;
	 * the image's own file then stays, as under Docker's --read-only. */
	if (dst == -EACCES || dst == -EROFS || dst == -EPERM) {
		cmn_debug("keeping the image's %s: %s", path, strerror(-dst));
		return 0;
	}
	if (src < 0 || dst < 0)
		return cmn_err_set(err, src < 0 ? errno : -dst,
				   "cannot prepare %s", path);
	if (mount(fdpath(src).p, fdpath(dst).p, NULL, MS_BIND, NULL) < 0)
		return cmn_err_set(err, errno, "cannot bind %s", path);
	return 0;
}

/*
 * Under root emulation setgid(2) "succeeds" without effect, and apt checks
 * that it really dropped to its _apt user ("Could not switch group"). A
 * configuration file, bound in like /etc/hosts and never part of a layer,
 * makes apt keep root for its downloads, as it does when run as root
 * without an _apt user.
 */
static bool apt_needs_root(const struct sbx_plan *plan, int rootfd)
{
	int fd;

	if (!plan->cfg->fake_root)
		return false;
	fd = cmn_open_in_root(rootfd, "/etc/apt/apt.conf.d",
			      O_PATH | O_DIRECTORY, CMN_CREATE_NONE);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int setup_etc(const struct sbx_plan *plan, int rootfd,
		     struct hutch_err *err)
{
	const struct {
		const char *name, *data, *path;
	} files[] = {
		{ "hosts", plan->etc_hosts, "/etc/hosts" },
		{ "hostname", plan->etc_hostname, "/etc/hostname" },
		{ "resolv.conf", plan->etc_resolv, "/etc/resolv.conf" },
		{ "apt", "APT::Sandbox::User \"root\";\n", SBX_APT_ROOT_CONF },
	};
	cleanup_close int stage = -1;
	int ret;

	ret = mount_fs(rootfd, "/proc", "tmpfs",
		       MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=256k,mode=0755",
		       err);
	if (ret < 0)
		return ret;
	stage = cmn_open_in_root(rootfd, "/proc", O_RDONLY | O_DIRECTORY,
				 CMN_CREATE_NONE);
	if (stage < 0)
		return cmn_err_set(err, -stage,
				   "cannot open the staging tmpfs");
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (!strcmp(files[i].path, SBX_APT_ROOT_CONF) &&
		    !apt_needs_root(plan, rootfd))
			continue;
		ret = cmn_write_fileat(stage, files[i].name, files[i].data,
				       strlen(files[i].data), 0644);
		if (ret < 0)
			return cmn_err_set(err, -ret, "cannot write %s",
					   files[i].name);
		ret = bind_staged(rootfd, stage, files[i].name, files[i].path,
				  err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- /proc ------------------------------------------------------------- */

/* Docker's lists: files that leak host details or allow harm are hidden,
 * kernel tunables are read-only. */
static const char *const masked_paths[] = {
	"/proc/acpi",	     "/proc/asound",
	"/proc/interrupts",  "/proc/kcore",
	"/proc/keys",	     "/proc/latency_stats",
	"/proc/timer_list",  "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi",
	"/sys/firmware",     "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus",	       "/proc/fs", "/proc/irq", "/proc/sys",
	"/proc/sysrq-trigger",
};

static int mask_path(int rootfd, const char *path, struct hutch_err *err)
{
	cleanup_close int fd =
		cmn_open_in_root(rootfd, path, O_PATH, CMN_CREATE_NONE);
	struct stat st;
	int ret;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return cmn_err_set(err, fd < 0 ? -fd : errno, "cannot mask %s",
				   path);
	if (S_ISDIR(st.st_mode))
		ret = mount("tmpfs", fdpath(fd).p, "tmpfs",
			    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			    "mode=0555");
	else
		ret = mount("/dev/null", fdpath(fd).p, NULL, MS_BIND, NULL);
	if (ret < 0)
		return cmn_err_set(err, errno, "cannot mask %s", path);
	return 0;
}

static int readonly_path(int rootfd, const char *path, struct hutch_err *err)
{
	cleanup_close int fd =
		cmn_open_in_root(rootfd, path, O_PATH, CMN_CREATE_NONE);

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return cmn_err_set(err, -fd, "cannot find %s", path);
	if (mount(fdpath(fd).p, fdpath(fd).p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return cmn_err_set(err, errno, "cannot bind %s", path);
	return read_only_at(rootfd, path, true, err);
}

static int setup_proc(const struct sbx_plan *plan, int rootfd,
		      struct hutch_err *err)
{
	int ret;

	/* A proc of the host's pid namespace needs privilege over it, which
	 * the container's user namespace lacks: bind the host's, as rootless
	 * Podman does (Docker's masks still go over it). */
	if (plan->cfg->pid == SBX_SHARE_HOST)
		return bind_host(rootfd, "/proc", "/proc", true, err);
	ret = mount_fs(rootfd, "/proc", "proc",
		       MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);

	if (ret < 0) {
		cmn_err_fix(
			err,
			"the host's /proc must be fully visible (is hutch running inside another container that masks /proc?)");
		return ret;
	}
	return 0;
}

static int protect_paths(int rootfd, struct hutch_err *err)
{
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
		ret = mask_path(rootfd, masked_paths[i], err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < ARRAY_SIZE(readonly_paths); i++) {
		ret = readonly_path(rootfd, readonly_paths[i], err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- /dev -------------------------------------------------------------- */

static int dev_node(int rootfd, const char *name, struct hutch_err *err)
{
	char host[32], path[32];

	snprintf(host, sizeof(host), "/dev/%s", name);
	snprintf(path, sizeof(path), "/dev/%s", name);
	return bind_host(rootfd, host, path, false, err);
}

static int dev_links(int devfd, struct hutch_err *err)
{
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },
		{ "core", "/proc/kcore" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][1], devfd, links[i][0]) < 0 &&
		    errno != EEXIST)
			return cmn_err_set(err, errno, "cannot link /dev/%s",
					   links[i][0]);
	return 0;
}

static int setup_devpts(const struct sbx_plan *plan, int rootfd,
			struct hutch_err *err)
{
	/* gid=5 (tty) only where the mapping has it: the kernel refuses an
	 * unmapped gid, and a single mapping has only gid 0. */
	const char *opts = sbx_idmap_maps_gid(&plan->map, 5)
				   ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
				   : "newinstance,ptmxmode=0666,mode=0620";

	if (mount_fs(rootfd, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, opts,
		     err) == 0)
		return 0;
	/* Some kernels refuse devpts in a user namespace: share the host's. */
	cmn_debug("%s; binding the host's /dev/pts", err->msg);
	return bind_host(rootfd, "/dev/pts", "/dev/pts", false, err);
}

static int setup_dev(const struct sbx_plan *plan, int rootfd,
		     struct hutch_err *err)
{
	static const char *const nodes[] = { "null",   "zero",	  "full",
					     "random", "urandom", "tty" };
	cleanup_close int devfd = -1;
	char shm[64];
	int ret;

	ret = mount_fs(rootfd, "/dev", "tmpfs",
		       MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
		       "mode=755,size=65536k", err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		ret = dev_node(rootfd, nodes[i], err);
		if (ret < 0)
			return ret;
	}
	ret = setup_devpts(plan, rootfd, err);
	/* Docker's 64 MiB unless --shm-size says otherwise. */
	snprintf(shm, sizeof(shm), "mode=1777,size=%lluk",
		 plan->cfg->shm_size
			 ? (unsigned long long)(plan->cfg->shm_size + 1023) /
				   1024
			 : 65536ULL);
	/* --ipc host: the host's POSIX shared memory with its SysV. */
	if (ret == 0 && plan->cfg->ipc == SBX_SHARE_HOST)
		ret = bind_host(rootfd, "/dev/shm", "/dev/shm", false, err);
	else if (ret == 0)
		ret = mount_fs(rootfd, "/dev/shm", "tmpfs",
			       MS_NOSUID | MS_NODEV | MS_NOEXEC, shm, err);
	if (ret < 0)
		return ret;
	/* An mqueue filesystem needs privilege over its IPC namespace: with
	 * the host's there is none, so the host's own mount is bound where
	 * it has one (mq_open works without it: it only lists the queues). */
	if (plan->cfg->ipc != SBX_SHARE_HOST)
		ret = mount_fs(rootfd, "/dev/mqueue", "mqueue",
			       MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	else if (host_mqueue())
		ret = bind_host(rootfd, "/dev/mqueue", "/dev/mqueue", false,
				err);
	if (ret < 0) {
		cmn_debug("no /dev/mqueue: %s", err->msg);
		err->msg[0] = '\0';
	}
	devfd = cmn_open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY,
				 CMN_CREATE_NONE);
	if (devfd < 0)
		return cmn_err_set(err, -devfd, "cannot open /dev");
	return dev_links(devfd, err);
}

/* ---- /sys -------------------------------------------------------------- */

static bool host_cgroup2(void)
{
	struct statfs sfs;

	return statfs("/sys/fs/cgroup", &sfs) == 0 &&
	       sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/*
 * A fresh sysfs needs a network namespace of our own (the kernel ties
 * sysfs's net class to it); with the host's network we bind the host's
 * /sys read-only instead, as rootless Podman does.
 */
static int setup_sys(const struct sbx_plan *plan, int rootfd,
		     struct hutch_err *err)
{
	const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int ret = -1;

	if (plan->cfg->network != SBX_NET_HOST)
		ret = mount_fs(rootfd, "/sys", "sysfs", ro, NULL, err);
	if (ret < 0) {
		ret = bind_host(rootfd, "/sys", "/sys", true, err);
		if (ret == 0)
			ret = read_only_at(rootfd, "/sys", true, err);
		return ret;
	}
	if (host_cgroup2() &&
	    mount_fs(rootfd, "/sys/fs/cgroup", "cgroup2", ro, NULL, err) < 0)
		cmn_debug("no cgroup2 in the container: %s", err->msg);
	return 0;
}

/* ---- user mounts ------------------------------------------------------- */

static size_t depth(const char *path)
{
	size_t n = 0;

	for (; *path; path++)
		n += *path == '/' && path[1] && path[1] != '/';
	return n;
}

static int by_depth(const void *a, const void *b)
{
	size_t da = depth(((const struct sbx_mount *const *)a)[0]->dst);
	size_t db = depth(((const struct sbx_mount *const *)b)[0]->dst);

	return (da > db) - (da < db);
}

/* bind-propagation: private or slave, recursive or not, on the bind now
 * at @path (re-resolved: the descriptor we mounted through is covered). */
static int propagate_at(int rootfd, const char *path, unsigned long how,
			struct hutch_err *err)
{
	cleanup_close int fd = target(rootfd, path, CMN_CREATE_NONE, err);

	if (fd < 0)
		return fd;
	if (mount(NULL, fdpath(fd).p, NULL, how, NULL) < 0)
		return cmn_err_set(err, errno,
				   "cannot set the propagation of %s", path);
	return 0;
}

/* Bind @m->subpath of the tree at @m->src, resolved in that tree as in a
 * root: a build's bind from a stage or the context, whose symlinks must
 * not reach the host's files. */
static int bind_inside(int rootfd, const struct sbx_mount *m,
		       struct hutch_err *err)
{
	cleanup_close int top = open(m->src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int fd = -1;

	if (top < 0)
		return cmn_err_set(err, errno, "cannot open %s", m->src);
	fd = cmn_open_in_root(top, m->subpath ? m->subpath : "/", O_PATH,
			      CMN_CREATE_NONE);
	if (fd < 0)
		return cmn_err_set(
			err, -fd,
			"cannot find %s in the source of the mount on %s",
			m->subpath ? m->subpath : "/", m->dst);
	return bind_host(rootfd, fdpath(fd).p, m->dst, true, err);
}

static int user_mount(int rootfd, const struct sbx_mount *m,
		      struct hutch_err *err)
{
	int ret;

	if (m->kind == SBX_MOUNT_TMPFS)
		ret = mount_fs(rootfd, m->dst, "tmpfs",
			       m->flags | (m->read_only ? MS_RDONLY : 0),
			       m->data ? m->data : "mode=1777", err);
	else if (m->subpath || m->kind == SBX_MOUNT_LAYERS)
		ret = bind_inside(rootfd, m, err);
	else
		ret = bind_host(rootfd, m->src, m->dst, !m->non_recursive, err);
	if (ret == 0 && m->propagation && m->kind != SBX_MOUNT_TMPFS)
		ret = propagate_at(rootfd, m->dst, m->propagation, err);
	if (ret == 0 && m->read_only && m->kind != SBX_MOUNT_TMPFS)
		ret = read_only_at(rootfd, m->dst, !m->non_recursive, err);
	return ret;
}

/* Empty volumes take the image's content at their mount point first, while
 * no user mount covers it. */
static int fill_volumes(const struct sbx_config *cfg, int rootfd,
			struct hutch_err *err)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct sbx_mount *m = &cfg->mounts[i];
		int ret;

		if (m->kind != SBX_MOUNT_VOLUME || !m->copy_up)
			continue;
		ret = sbx_volume_fill(rootfd, m, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Parents before children, so /data/sub lands inside /data's mount. */
static int setup_user_mounts(const struct sbx_config *cfg, int rootfd,
			     struct hutch_err *err)
{
	cleanup_free const struct sbx_mount **order = NULL;
	int ret;

	if (cfg->n_mounts == 0)
		return 0;
	order = calloc(cfg->n_mounts, sizeof(*order));
	if (!order)
		return cmn_err_set(err, ENOMEM, "mounts");
	for (size_t i = 0; i < cfg->n_mounts; i++)
		order[i] = &cfg->mounts[i];
	qsort(order, cfg->n_mounts, sizeof(*order), by_depth);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		ret = user_mount(rootfd, order[i], err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- the whole tree ------------------------------------------------------ */

static int enter_root(int rootfd, struct hutch_err *err)
{
	if (fchdir(rootfd) < 0)
		return cmn_err_set(err, errno,
				   "cannot enter the root filesystem");
	/* pivot_root(".", ".") stacks the old root under the new one; the
	 * detach then drops it without needing a directory for it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return cmn_err_set(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return cmn_err_set(err, errno, "cannot detach the host's root");
	if (chdir("/") < 0)
		return cmn_err_set(err, errno, "chdir /");
	return 0;
}

static int setup_tree(const struct sbx_plan *plan, int rootfd,
		      struct hutch_err *err)
{
	int ret = fill_volumes(plan->cfg, rootfd, err);

	if (ret == 0)
		ret = setup_etc(plan, rootfd, err);
	if (ret == 0)
		ret = setup_proc(plan, rootfd, err);
	if (ret == 0)
		ret = setup_dev(plan, rootfd, err);
	if (ret == 0)
		ret = setup_sys(plan, rootfd, err);
	if (ret == 0)
		ret = setup_user_mounts(plan->cfg, rootfd, err);
	if (ret == 0)
		ret = protect_paths(rootfd, err);
	if (ret == 0 && plan->cfg->read_only) {
		ret = make_read_only(rootfd, false);
		if (ret < 0)
			cmn_err_set(
				err, -ret,
				"cannot make the root filesystem read-only");
	}
	return ret;
}

/* A root the driver mounts from inside (kernel overlayfs), and the
 * overlays among the mounts, each on its host directory. */
static int mount_layers(const struct sbx_plan *plan, struct hutch_err *err)
{
	const struct sbx_config *cfg = plan->cfg;
	struct sbx_layers layers;
	pid_t none;
	int ret = 0;

	sbx_config_layers(cfg, &layers);
	if (cfg->lowers)
		ret = plan->storage->mount(&layers, cfg->rootfs, 0, &none, err);
	for (size_t i = 0; ret == 0 && i < cfg->n_mounts; i++) {
		if (cfg->mounts[i].kind != SBX_MOUNT_LAYERS)
			continue;
		sbx_mount_layers_of(&cfg->mounts[i], &layers);
		ret = plan->storage->mount(&layers, cfg->mounts[i].src, 0,
					   &none, err);
	}
	return ret;
}

int sbx_setup_rootfs(const struct sbx_plan *plan, struct hutch_err *err)
{
	static const char *const before[] = { "prestart", "createRuntime",
					      "createContainer", NULL };
	static const char *const after[] = { "startContainer", NULL };
	const char *rootfs = plan->cfg->rootfs;
	cleanup_close int rootfd = -1;
	int ret;

	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return cmn_err_set(err, errno,
				   "cannot make the mount namespace private");
	/* A driver that mounts from the host has done it already. */
	if (plan->storage && !plan->storage->from_host &&
	    (ret = mount_layers(plan, err)) < 0)
		return ret;
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return cmn_err_set(err, errno,
				   "cannot bind the root filesystem %s",
				   rootfs);
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cmn_err_set(err, errno, "cannot open %s", rootfs);
	ret = setup_tree(plan, rootfd, err);
	if (ret == 0)
		ret = sbx_hooks_run(plan->cfg, before, rootfs, err);
	if (ret == 0)
		ret = enter_root(rootfd, err);
	if (ret == 0)
		ret = sbx_hooks_run(plan->cfg, after, "/", err);
	return ret;
}
