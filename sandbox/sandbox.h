/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox.h - the runtime: given a prepared configuration, run a command
 * in rootless namespaces on a root filesystem (or join a running one), and
 * check what the host allows. Knows nothing of container records, names or
 * images: container/ keeps those. The whole interface of sandbox/.
 */
#ifndef HUTCH_SANDBOX_H
#define HUTCH_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

/* ---- user namespace id mappings (idmap.c) ------------------------------ */

enum sbx_userns {
	SBX_USERNS_AUTO, /* full when subordinate ids are usable, else single */
	SBX_USERNS_FULL, /* 0 -> user, 1..N -> /etc/subuid range */
	SBX_USERNS_SINGLE, /* 0 -> user, nothing else mapped */
	SBX_USERNS_KEEP_ID, /* the user's own uid/gid inside (full if possible) */
};

#define SBX_MAX_RANGES 16

struct sbx_id_range {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

/**
 * struct sbx_idmap - the mapping a container will get
 * @full:       subordinate ids are mapped (newuidmap/newgidmap are used)
 * @keep_id:    the user's uid/gid are mapped to themselves
 * @uid, @gid:  the caller's ids on the host
 * @uids/@gids: the ranges, in the order written to uid_map/gid_map
 */
struct sbx_idmap {
	bool full;
	bool keep_id;
	uid_t uid;
	gid_t gid;
	struct sbx_id_range uids[SBX_MAX_RANGES];
	size_t n_uids;
	struct sbx_id_range gids[SBX_MAX_RANGES];
	size_t n_gids;
};

/**
 * sbx_subid_ranges() - the caller's subordinate ranges from a subid file
 * @file: /etc/subuid or /etc/subgid (a parameter so tests can use others)
 * @name: the user's login name (may be NULL)
 * @id:   the user's numeric id (entries may use either)
 * @out:  filled with up to @max ranges (inside = 0; outside = start)
 *
 * Return: the number of ranges found (0 when the file or entry is missing),
 * or -errno for a read error.
 */
int sbx_subid_ranges(const char *file, const char *name, uint32_t id,
		     struct sbx_id_range *out, size_t max);

/**
 * sbx_subid_free_range() - the first @count ids at or above @from that no
 * entry of @subuid or @subgid gives to anyone: a range an admin can add
 * for a user to both files without taking another user's ids
 * @subuid, @subgid: /etc/subuid and /etc/subgid (tests pass others); a
 *                   missing file has no entries
 * @start: set to the range's first id
 *
 * Return: 0, -ENOSPC when no such range is left below 2^32 - 1, or -errno
 * for a read error.
 */
int sbx_subid_free_range(const char *subuid, const char *subgid, uint32_t from,
			 uint32_t count, uint32_t *start);

/**
 * sbx_idmap_plan() - decide the mapping for @mode on this host
 * @why: when full mapping is not possible, set to a static one-line reason
 *       (no subuid entry, no newuidmap, ...); may be NULL
 *
 * Return: 0, or -errno with @err filled (FULL asked for but unavailable).
 */
int sbx_idmap_plan(enum sbx_userns mode, struct sbx_idmap *map,
		   const char **why, struct hutch_err *err);

/** sbx_idmap_container_ids() - the container-side uid and gid the caller's
 * own ids appear as (0 unless keep-id). */
void sbx_idmap_container_ids(const struct sbx_idmap *map, uid_t *uid,
			     gid_t *gid);

/** sbx_idmap_maps_gid() - is container gid @gid mapped? */
bool sbx_idmap_maps_gid(const struct sbx_idmap *map, gid_t gid);

/* ---- the container's configuration -------------------------------------- */

enum sbx_network {
	SBX_NET_HOST,  /* share the host's network namespace */
	SBX_NET_NONE,  /* own network namespace with loopback only */
	SBX_NET_SLIRP, /* own namespace, user-mode networking (hutch-net) */
};

/* A storage driver: how an image's layers (or --overlay's directory)
 * become a container's copy-on-write root (storage.c). NULL means auto. */
struct sbx_storage_driver;

/* --ipc, --pid, --uts: a namespace of the container's own, or the host's
 * (the caller's: nothing more than the user already sees). */
enum sbx_share {
	SBX_SHARE_PRIVATE,
	SBX_SHARE_HOST,
};

enum sbx_mount_kind {
	SBX_MOUNT_BIND,
	SBX_MOUNT_TMPFS,
	SBX_MOUNT_VOLUME, /* a bind of a volume's directory (container/) */
	SBX_MOUNT_LAYERS, /* an overlay of directories (a build's RUN --mount) */
};

/**
 * struct sbx_mount - a user-requested mount (-v, --tmpfs, --mount, RUN --mount)
 * @src:  host path (bind; a volume's directory once container/ has made
 *        it); for layers, an empty host directory the overlay is mounted on
 *        in the container's mount namespace; unused for tmpfs (owned)
 * @dst:  absolute path in the container (owned)
 * @data: tmpfs options such as "size=64m,mode=1777" (owned, may be NULL)
 * @flags: extra MS_* flags (tmpfs: MS_NOEXEC, MS_NOSUID, MS_NODEV)
 * @propagation: MS_PRIVATE or MS_SLAVE, with MS_REC, set on the bind; 0
 *        keeps what it inherits (a slave of the host's mount)
 * @non_recursive: bind only the source's own mount, not those below it
 * @name: volume: its name; NULL until container/ names an anonymous one
 *        (owned)
 * @labels: volume: KEY=VALUE labels for a volume made for this mount
 *        (owned, may be NULL)
 * @copy_up: volume: when it is empty, fill it with what the root
 *        filesystem has at @dst (owners, modes and times kept) before it
 *        is mounted, as Docker does
 * @subpath: bind and layers: what to mount is this path inside the tree
 *        at @src, resolved there as in a root (its symlinks cannot leave
 *        it); NULL: @src itself (owned)
 * @lower_base, @lowers, @upper, @work: layers: the overlay (struct
 *        sbx_layers), made by the container's storage driver before the
 *        other mounts; a NULL @upper makes it read-only, and then it needs
 *        two lowers or more (owned)
 */
struct sbx_mount {
	enum sbx_mount_kind kind;
	char *src;
	char *dst;
	char *data;
	unsigned long flags;
	bool read_only;
	unsigned long propagation;
	bool non_recursive;
	char *name;
	char **labels;
	bool copy_up;
	char *subpath;
	char *lower_base;
	char **lowers;
	char *upper;
	char *work;
};

/**
 * struct sbx_hook - an OCI hook (CDI's containerEdits.hooks), run by the
 * container's setup process in the container's namespaces (hooks.c)
 * @stage: "prestart", "createRuntime" or "createContainer" (the host's
 *         program, before the root is entered) or "startContainer" (the
 *         container's, after) (owned)
 * @path:  the program (owned)
 * @args:  its argv, args[0] included; NULL: @path alone (owned)
 * @env:   its whole environment (owned, may be NULL)
 * @timeout: seconds; 0: none
 */
struct sbx_hook {
	char *stage;
	char *path;
	char **args;
	char **env;
	int timeout;
};

/** sbx_hook_stage_valid() - is @stage one hutch can run (it runs none
 * after the command starts: poststart and poststop are refused)? */
bool sbx_hook_stage_valid(const char *stage);
/** sbx_hook_copy() - a deep copy of @from into @to; -ENOMEM. */
int sbx_hook_copy(struct sbx_hook *to, const struct sbx_hook *from);
/** sbx_hook_clear() - free what @h owns. */
void sbx_hook_clear(struct sbx_hook *h);

/**
 * struct sbx_config - everything a container run needs, decided up front
 *
 * Every pointer is owned and released by sbx_config_free().
 */
/* --ulimit: one resource's limits, set on the container's command. */
#define SBX_RLIMITS 16
struct sbx_rlimit {
	bool set;
	uint64_t soft, hard; /* RLIM_INFINITY: unlimited */
};

/** sbx_rlimit_resource() - setrlimit(2)'s resource for Docker's --ulimit
 * name ("nofile", "nproc", ...), or -1. */
int sbx_rlimit_resource(const char *name);
/** sbx_rlimit_name() - the inverse; NULL for none. */
const char *sbx_rlimit_name(int resource);

struct sbx_config {
	char *rootfs;	/* absolute path of the root filesystem */
	char **argv;	/* the command */
	char **env;	/* KEY=VALUE from -e/--env-file, in order */
	char *workdir;	/* absolute, or NULL for "/" */
	char *user;	/* "name|uid[:group|gid]" or NULL for root */
	char *hostname; /* NULL: the short container id */
	char id[65];	/* 64 hex digits */

	struct sbx_mount *mounts;
	size_t n_mounts;

	bool read_only;	  /* --read-only */
	bool interactive; /* -i: keep stdin */
	bool tty;	  /* -t: a pseudo-terminal */
	bool keep_groups; /* --group-add keep-groups: no setgroups() */

	enum sbx_userns userns;
	enum sbx_network network;
	char **ports;		  /* -p specs for hutch-net (slirp) */
	bool allow_host_loopback; /* slirp: 10.0.2.2 is the host's 127.0.0.1 */

	/* A copy-on-write root: kernel overlayfs of @lowers (top first,
	 * relative to @lower_base, which keeps the mount options short) with
	 * @upper and @work, mounted on @rootfs inside the container's mount
	 * namespace. NULL @lowers: @rootfs is used as it is. @storage says
	 * which driver mounts it (static, not owned); NULL (auto) is resolved
	 * before the container starts. */
	char *lower_base;
	char **lowers;
	char *upper;
	char *work;
	const struct sbx_storage_driver *storage;
	/* The FUSE overlay may rename directories that lowers hold
	 * (redirect_dir=on): a container's own upper, whose driver its record
	 * pins; never a build step's (it becomes an OCI layer as it is) nor an
	 * --upper the user keeps. */
	bool dir_renames;
	/* A .sqsh file served read-only by hutch-squashfs on
	 * @lower_base/@lowers[0] before the root is mounted; NULL: none. */
	char *squashfs;

	char **add_hosts; /* --add-host: "NAME IP" ("host-gateway": the host) */
	uint64_t shm_size;  /* /dev/shm's size in bytes; 0: Docker's 64 MiB */
	enum sbx_share ipc; /* --ipc host: the host's IPC and /dev/shm */
	enum sbx_share pid; /* --pid host: the host's pid namespace and /proc */
	enum sbx_share uts; /* --uts host: the host's host name */
	/* --preserve-fds N: descriptors 3..3+N-1 reach the command, and
	 * @keep_fd too (PMI2's PMI_FD); below 3: none; neither is recorded */
	int preserve_fds;
	int keep_fd;
	/* A joined group's lock (container/group.c), held shared by the
	 * container's init, which waits after the command for every other
	 * member to let go of it before it ends the container; -1 for none;
	 * borrowed, not recorded */
	int group_fd;
	struct sbx_rlimit rlimits[SBX_RLIMITS]; /* --ulimit */

	uint64_t caps; /* capability bounding/effective set, bit = cap */
	char *seccomp_profile; /* Docker-format JSON path, NULL: default */
	bool seccomp_unconfined;
	bool no_new_privs;
	bool fake_root; /* builds without subuids: chown & co. succeed */
	struct sbx_hook *hooks; /* CDI hooks, in order */
	size_t n_hooks;
	/* a directory put first on the command's LD_LIBRARY_PATH, ahead of
	 * the image's (--gpus: the host's driver libraries) */
	char *lib_path_first;
#define SBX_APT_ROOT_CONF "/etc/apt/apt.conf.d/00hutch-root-emulation"
};

/** sbx_config_init() - defaults: Docker's capabilities, no_new_privs, our
 * seccomp profile, host network, automatic mapping, a fresh id. */
int sbx_config_init(struct sbx_config *cfg);
void sbx_config_free(struct sbx_config *cfg);

/* ---- device nodes (devices.c) ------------------------------------------ */

/** sbx_config_add_bind() - append a bind of host @src on @dst to @cfg's
 * mounts (copies both). Return: 0 or -ENOMEM. */
int sbx_config_add_bind(struct sbx_config *cfg, const char *src,
			const char *dst, bool read_only, bool recursive);
/** sbx_device_perms_valid() - is @perms Docker's r, w and m, each at most
 * once? */
bool sbx_device_perms_valid(const char *perms);
/**
 * sbx_device_check() - is host path @host a device node the caller may
 * open as @perms ("rwm"; m is not checked; NULL: not at all)?
 * Return: 0, or -errno with @err a one-line message naming @host.
 */
int sbx_device_check(const char *host, const char *perms,
		     struct hutch_err *err);
/**
 * sbx_device_add() - bind the host's device node @host on @path (NULL:
 * the same path) in the container, after sbx_device_check(). The
 * permissions are checked, not enforced: without root there is no device
 * cgroup.
 */
int sbx_device_add(struct sbx_config *cfg, const char *host, const char *path,
		   const char *perms, struct hutch_err *err);

/* ---- CDI: the Container Device Interface (cdi.c, cdi-yaml.c) ----------- */

/*
 * A CDI spec (YAML or JSON, in /etc/cdi and /var/run/cdi) names devices
 * "VENDOR/CLASS=NAME" and says what each adds to a container: variables,
 * device nodes, mounts, OCI hooks and supplementary groups. The parser
 * checks every field and names the file and the field it refuses; applying
 * a device turns its edits into @cfg's own binds, variables and hooks.
 */
struct sbx_cdi_node {
	char *path;	 /* in the container (owned) */
	char *host_path; /* owned; NULL: @path */
	char *perms;	 /* "rwm" or less (owned, may be NULL) */
};

struct sbx_cdi_mount {
	char *host_path; /* owned */
	char *ctr_path;	 /* owned */
	char *type;	 /* owned, may be NULL (a bind) */
	char **options;	 /* owned, may be NULL */
};

struct sbx_cdi_edits {
	char **env; /* NAME=VALUE (owned) */
	struct sbx_cdi_node *nodes;
	size_t n_nodes;
	struct sbx_cdi_mount *mounts;
	size_t n_mounts;
	struct sbx_hook *hooks;
	size_t n_hooks;
	uint32_t *gids;
	size_t n_gids;
};

struct sbx_cdi_device {
	char *name; /* owned */
	struct sbx_cdi_edits edits;
};

struct sbx_cdi_spec {
	char *file;    /* where it was read (owned) */
	char *version; /* cdiVersion (owned) */
	char *kind;    /* VENDOR/CLASS (owned) */
	struct sbx_cdi_device *devices;
	size_t n_devices;
	struct sbx_cdi_edits edits; /* for every device of the spec */
};

/* The default spec directories, lowest priority first. */
#define SBX_CDI_DIRS "/etc/cdi:/var/run/cdi"

/**
 * sbx_cdi_parse() - one spec's @text (@len bytes; YAML, of which JSON is a
 * subset, unless @file ends in .json) into a new spec; @file names it in
 * errors. Return: the spec (free with sbx_cdi_spec_free()), or NULL with
 * @err one line naming @file and the field.
 */
struct sbx_cdi_spec *sbx_cdi_parse(const char *file, const char *text,
				   size_t len, struct hutch_err *err);
void sbx_cdi_spec_free(struct sbx_cdi_spec *spec);

/* The specs of the directories, in order: a later one wins; and why each
 * file that could not be used was skipped. */
struct sbx_cdi_set {
	struct sbx_cdi_spec **specs; /* owned */
	size_t n;
	char **broken; /* owned; one line per file naming it and the field */
};

/**
 * sbx_cdi_load() - read every *.json, *.yaml and *.yml of each directory
 * of @dirs (colon-separated, lowest priority first; missing ones are
 * skipped), in name order. A file that cannot be read or is malformed is
 * skipped, its reason kept in @set->broken (as Podman's CDI registry does:
 * one vendor's broken file does not take every other device away).
 * Return: 0, or -errno with @err (no memory, an unreadable directory).
 */
int sbx_cdi_load(const char *dirs, struct sbx_cdi_set *set,
		 struct hutch_err *err);
void sbx_cdi_set_free(struct sbx_cdi_set *set);
/** sbx_cdi_find() - the device @name of @kind of the spec that wins (the
 * last), with its spec in *@spec; NULL if none. */
const struct sbx_cdi_device *sbx_cdi_find(const struct sbx_cdi_set *set,
					  const char *kind, const char *name,
					  const struct sbx_cdi_spec **spec);
/**
 * sbx_cdi_apply() - add the edits of @spec's device @dev (NULL: of the
 * spec itself, which apply once for all its devices) to @cfg:
 * variables before @cfg's own (so -e wins), device nodes and mounts as
 * binds, hooks. additionalGids: a rootless process cannot take a group it
 * does not have; a gid the caller has keeps its host groups (as --group-add
 * keep-groups); *@note (owned, may stay NULL) then says which ones the
 * caller lacks. Return: 0 or -errno with @err naming the device.
 */
int sbx_cdi_apply(struct sbx_config *cfg, const struct sbx_cdi_spec *spec,
		  const struct sbx_cdi_device *dev, char **note,
		  struct hutch_err *err);

/* ---- NVIDIA GPUs without a CDI spec (gpu.c) ----------------------------- */

#define SBX_GPU_MAX 64

/**
 * struct sbx_gpu_host - what the host's NVIDIA driver offers this caller
 * (every path is a host path under sbx_gpu_root(); all owned)
 * @version:  the kernel module's version
 * @gpus:     /dev/nvidiaN the caller may open, in N's order; @indexes
 *            their N; @n_closed how many more there are that it may not
 * @ctl:      nvidiactl, nvidia-modeset, nvidia-uvm(-tools), the nodes of
 *            nvidia-caps/
 * @uvm:      nvidia_uvm is loaded (CUDA needs it)
 * @libs, @lib_names: the driver's libraries and their sonames
 * @ldconfig_failed: the ldconfig cache could not be read; @libs come from
 *            a scan of the usual directories
 * @bins:     nvidia-smi and the like
 * @persistenced: nvidia-persistenced's socket, or NULL
 */
struct sbx_gpu_host {
	char *version;
	char **gpus;
	int indexes[SBX_GPU_MAX];
	size_t n_gpus, n_closed;
	char **ctl;
	bool uvm;
	char **libs, **lib_names;
	bool ldconfig_failed;
	char **bins;
	char *persistenced;
};

/** sbx_gpu_root() - $HUTCH_GPU_ROOT (the test seam: a directory taken as
 * / for the driver's files), or "". */
const char *sbx_gpu_root(void);
/**
 * sbx_gpu_detect() - find the NVIDIA driver, its nodes, libraries and
 * programs. Return: 0, -ENODEV with @err one line naming the missing
 * driver file, or -errno.
 */
int sbx_gpu_detect(struct sbx_gpu_host *h, struct hutch_err *err);
void sbx_gpu_host_free(struct sbx_gpu_host *h);
/**
 * sbx_gpu_apply() - bind the GPUs of @h whose @chosen[i] is set, the
 * control nodes, the programs and the libraries (read-only, in one tmpfs
 * directory put first on LD_LIBRARY_PATH) into @cfg.
 */
int sbx_gpu_apply(struct sbx_config *cfg, const struct sbx_gpu_host *h,
		  const bool *chosen, struct hutch_err *err);

/* ---- storage drivers (storage.c, storage-kernel.c, storage-fuse.c) ----- */

/*
 * A storage driver turns read-only lower directories and an upper one into
 * a container's root: "kernel" (overlayfs in the user namespace, Linux
 * 5.11+) or "fuse" (hutch-overlay). Each is a table of operations in its
 * own file; a new driver is one more file and one more entry in storage.c's
 * list. "auto" (a NULL driver) picks the first whose probe passes on the
 * filesystem of the upper dir, and the runtime resolves it before a
 * container starts.
 */

/**
 * struct sbx_layers - the directories of a copy-on-write root (borrowed)
 * @lower_base: the directory @lowers are relative to (mount options stay
 *              short: 60 absolute store paths would not fit in a page)
 * @lowers:     top first, NULL-terminated
 * @upper, @work: NULL for a read-only mount
 */
struct sbx_layers {
	const char *lower_base;
	char *const *lowers;
	const char *upper;
	const char *work;
	bool dir_renames; /* sbx_config's */
};

/**
 * struct sbx_storage_info - what a driver says of itself
 * @name:       --storage-driver's word ("kernel", "fuse")
 * @graph_name: Docker's GraphDriver.Name for inspect ("overlay", ...)
 * @what:       a few words for people ("kernel overlayfs")
 */
struct sbx_storage_info {
	const char *name;
	const char *graph_name;
	const char *what;
};

/** sbx_storage_parse() - "auto" (*@out = NULL) or a driver's name;
 * -EINVAL with @err naming the drivers there are. */
int sbx_storage_parse(const char *s, const struct sbx_storage_driver **out,
		      struct hutch_err *err);
/** sbx_storage_name() - the driver's name, "auto" for NULL. */
const char *sbx_storage_name(const struct sbx_storage_driver *d);
/** sbx_storage_describe() - @d's names (static strings); for NULL, auto's
 * ("auto", "none"). */
void sbx_storage_describe(const struct sbx_storage_driver *d,
			  struct sbx_storage_info *out);
/**
 * sbx_storage_resolve() - set @cfg's driver when it is auto and the
 * container has lowers: the first driver whose probe passes in the
 * directory of its upper (its filesystem, this kernel) and that takes its
 * layers (the kernel's takes about 57 before Linux 6.8). The probe's
 * answer is kept in the runtime directory per filesystem and kernel
 * release, so only the first container on a filesystem pays for it.
 */
void sbx_storage_resolve(struct sbx_config *cfg);
/** sbx_storage_of() - what sbx_storage_resolve() would set. */
const struct sbx_storage_driver *sbx_storage_of(const struct sbx_config *cfg);
/** sbx_storage_default() - $HUTCH_STORAGE_DRIVER's driver, or NULL (auto,
 * also for a bad value, which the command line reports). */
const struct sbx_storage_driver *sbx_storage_default(void);
/** sbx_storage_pick() - @want, or for auto the driver that works for an
 * upper dir under @dir and takes the layers @l (NULL: any); never NULL. */
const struct sbx_storage_driver *
sbx_storage_pick(const struct sbx_storage_driver *want, const char *dir,
		 const struct sbx_layers *l);
/** sbx_config_layers() - @cfg's copy-on-write root as a struct sbx_layers. */
void sbx_config_layers(const struct sbx_config *cfg, struct sbx_layers *out);
/**
 * sbx_mount_layers() - mount @l with @driver on @target in the caller's
 * own user and mount namespaces (a build's COPY, hutch cp), read-only
 * without @l->upper. @daemon: set to the pid of the process serving the
 * mount (hutch-overlay), or -1; pass it to sbx_unmount_layers().
 */
int sbx_mount_layers(const struct sbx_storage_driver *driver,
		     const struct sbx_layers *l, const char *target,
		     pid_t *daemon, struct hutch_err *err);
/** sbx_unmount_layers() - unmount @target, flushing to the upper, and
 * reap @daemon. */
void sbx_unmount_layers(const struct sbx_storage_driver *driver,
			const char *target, pid_t daemon);

/* ---- capabilities (caps.c) --------------------------------------------- */

/** Docker's default capability set as a mask. */
uint64_t sbx_caps_default(void);
/** sbx_cap_parse() - "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" or "ALL"
 * (all known) into a mask; false for an unknown name. */
bool sbx_cap_parse(const char *name, uint64_t *mask);

/* ---- running (sandbox.c) ----------------------------------------------- */

/**
 * struct sbx_run_io - where the command's I/O goes when not to hutch's own
 * @stdio:   descriptors for the command's 0, 1, 2 (-1: hutch's own)
 * @capture: read ends of pipes (the command's stdout, stderr) the parent
 *           loop reads and hands to @output; -1 for none. With -t the
 *           terminal's output goes to @output as stream 1.
 * @output:  called with what a stream produced (stream 1 or 2)
 * @started: called once the command has been exec'd, with the host pid of
 *           the container's pid 1 and the ports hutch-net bound, one
 *           "PROTO HOSTADDR:PORT CONTAINERPORT" each (net/net.h's
 *           --ports-fd; NULL without published ports; borrowed)
 * @watch:   when set, called once when @watch_fd becomes readable (a
 *           pidfd of a process whose end should end the container: the
 *           Slurm job's step daemon); it may signal the container
 */
struct sbx_run_io {
	int stdio[3];
	int capture[2];
	void (*output)(void *ctx, int stream, const char *buf, size_t len);
	void (*started)(void *ctx, pid_t init, char *const *ports);
	void (*watch)(void *ctx);
	int watch_fd;
	void *ctx;
};

/**
 * sbx_run() - run the container and wait for it
 * @io:     NULL in the foreground: the command shares hutch's standard I/O
 *          (with -t, hutch relays the terminal); else see struct sbx_run_io
 * @status: set to the exit status as Docker reports it: the command's own
 *          code, 128+N when a signal killed it, 126/127 when it could not be
 *          run, 125 when hutch failed
 *
 * Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH
 * to the container (those hutch was not started with ignored).
 *
 * Return: 0 when the container ran (whatever its status), -errno with @err
 * filled when it could not be started; @status is set in both cases.
 */
int sbx_run(const struct sbx_config *cfg, const struct sbx_run_io *io,
	    int *status, struct hutch_err *err);

/** sbx_remove_tree() - delete @path, through a user namespace when files
 * of subordinate ids are in it. */
int sbx_remove_tree(const char *path, struct hutch_err *err);

/* ---- work in a user namespace (userns.c) ------------------------------- */

/**
 * sbx_userns_call() - run @fn(@arg) in a child process that is root in a
 * new user namespace with the mapping @mode gives (the one containers get)
 * and a private mount namespace; used to unpack layers with their owners
 * and to delete trees owned by subordinate ids.
 * @fn:  returns 0 or -errno and may fill its struct hutch_err, which is
 *       passed back to the caller
 * @out/@out_len: up to @out_len bytes @fn writes into @out (in the child's
 *       copy) are copied back (results such as a digest); may be NULL/0
 *
 * Return: what @fn returned, or -errno with @err when the namespace could
 * not be made.
 */
int sbx_userns_call(enum sbx_userns mode,
		    int (*fn)(void *arg, void *out, struct hutch_err *err),
		    void *arg, void *out, size_t out_len,
		    struct hutch_err *err);

/** sbx_helper_path() - set *@path to the helper program @name's path
 * ($@var, next to hutch, PATH; owned) and return 0; or -errno with @err
 * one line: "NAME not found: where it was looked for; what to do". */
int sbx_helper_path(const char *var, const char *name, char **path,
		    struct hutch_err *err);

/**
 * sbx_userns_join_call() - as sbx_userns_call(), in the user namespace of
 * the running process @target (a container's pid 1) rather than a new
 * one; the mount namespace stays the caller's.
 */
int sbx_userns_join_call(pid_t target,
			 int (*fn)(void *arg, void *out, struct hutch_err *err),
			 void *arg, void *out, size_t out_len,
			 struct hutch_err *err);

/**
 * sbx_exec() - run @cfg's command inside the running container whose
 * pid 1 has host pid @init, with @cfg's user, capabilities, seccomp
 * profile, environment and working directory; foreground I/O as sbx_run()
 * with a NULL io. Return and @status as sbx_run().
 */
int sbx_exec(const struct sbx_config *cfg, pid_t init, int *status,
	     struct hutch_err *err);

/**
 * sbx_run_in() - sbx_run() for a member of a joined group: @cfg's command
 * in the running container whose pid 1 has host pid @init, as sbx_exec()
 * does, with @io as sbx_run() takes it.
 */
int sbx_run_in(const struct sbx_config *cfg, const struct sbx_run_io *io,
	       pid_t init, int *status, struct hutch_err *err);

/* ---- users inside the root filesystem (user.c) ------------------------- */

#define SBX_MAX_GROUPS 64

struct sbx_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[SBX_MAX_GROUPS];
	size_t n_groups;
	char home[256];
};

/**
 * sbx_user_resolve() - resolve "name|uid[:group|gid]" like Docker does,
 * against @passwd and @group files (the container's, after pivot_root)
 * @spec: NULL or "" means root
 *
 * Return: 0, or -errno with @err filled ("unable to find user alice: no
 * matching entries in passwd file").
 */
int sbx_user_resolve(const char *spec, const char *passwd, const char *group,
		     struct sbx_user *out, struct hutch_err *err);

/* ---- host checks (hostcheck.c) ----------------------------------------- */

/**
 * sbx_image_format() - the form in which pull and build keep images:
 * $HUTCH_IMAGE_FORMAT, "layers", "squashfs" or "auto" (unset or empty:
 * auto); auto is squashfs when @store (or its nearest existing ancestor)
 * is on a shared network or cluster filesystem (NFS, Lustre, GPFS, ...),
 * layers otherwise. $HUTCH_TEST_FSTYPE ("nfs") stands for the detected
 * filesystem (a test seam).
 * @why: when not NULL, set to the reason in words (owned)
 * Return: 0 with *@squashfs set, or -EINVAL with @err for a bad value.
 */
int sbx_image_format(const char *store, bool *squashfs, char **why,
		     struct hutch_err *err);

/**
 * sbx_fs_shared() - is @path (or its nearest existing ancestor) on a
 * shared network or cluster filesystem, as sbx_image_format() tells them
 * ($HUTCH_TEST_FSTYPE included)? A container of a store there keeps its
 * upper, work and mount points on node-local disk (cmn_local_dir()).
 * @name: when not NULL, the filesystem's name ("nfs", "lustre"...)
 * Return: true or false; false when nothing of @path can be found.
 */
bool sbx_fs_shared(const char *path, char name[32]);

enum sbx_check_state {
	SBX_CHECK_OK,
	SBX_CHECK_WARN,
	SBX_CHECK_FAIL
};

/**
 * struct sbx_check - one line of `hutch info`
 * @name:   what was checked ("user namespaces", "id mapping", ...) (static)
 * @value:  what was found (owned)
 * @fix:    for WARN and FAIL, the one-line fix (owned, may be NULL)
 * @detail: what the fix needs whole, several lines (a file to install, such
 *          as an AppArmor profile) (owned, usually NULL)
 */
struct sbx_check {
	const char *name;
	char *value;
	enum sbx_check_state state;
	char *fix;
	char *detail;
};

struct sbx_report {
	struct sbx_check *checks; /* owned */
	size_t n;
};

/**
 * sbx_procsys() - the root of the sysctl tree to read: "/proc/sys", or
 * $HUTCH_PROCSYS when it is an absolute path (the tests fake a host's
 * sysctls with it, such as Ubuntu's restricted user namespaces) (static)
 */
const char *sbx_procsys(void);

/**
 * sbx_host_report() - check everything rootless containers need
 * @procsys: the root of the sysctl tree, sbx_procsys() (tests pass a fake)
 *
 * Return: 0 with @rep filled (release with sbx_report_free()), or -errno.
 */
int sbx_host_report(const char *procsys, struct sbx_report *rep,
		    struct hutch_err *err);
void sbx_report_free(struct sbx_report *rep);

/**
 * sbx_userns_blocker() - why unprivileged user namespaces are unavailable
 * @procsys: as above
 *
 * Return: NULL when the sysctls allow them, else an owned one-line message
 * naming the sysctl and the fix.
 */
char *sbx_userns_blocker(const char *procsys);

#endif
