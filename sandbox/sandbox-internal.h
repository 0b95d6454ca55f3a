/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox-internal.h - what the files of sandbox/ share; private to it */
#ifndef HUTCH_SANDBOX_INTERNAL_H
#define HUTCH_SANDBOX_INTERNAL_H

#include <jansson.h>
#include <linux/filter.h>
#include <sys/ioctl.h>

#include "sandbox/sandbox.h"

/* ---- the sync socket between hutch and the container (sync.c) ---------- */

/*
 * One SOCK_SEQPACKET socketpair joins hutch (the parent, on the host) with
 * the container's init and its command process before exec. Each message is
 * one datagram: a struct sbx_msg, optionally with a descriptor attached.
 * The socket is O_CLOEXEC, so the parent reads end-of-file exactly when
 * the command has been exec'd (or everything on the other side died).
 */
enum sbx_msg_type {
	SBX_MSG_GO = 1, /* parent -> child: id maps are written */
	SBX_MSG_ERROR,	/* child -> parent: setup failed; @code is the exit */
	SBX_MSG_PTY,	/* child -> parent: the pty master is attached */
};

struct sbx_msg {
	int type;
	int code;	 /* exit status for ERROR */
	char text[1024]; /* the one-line message for ERROR */
};

/* sbx_msg_send() and sbx_msg_recv() are cmn_send_fd() and cmn_recv_fd()
 * for one struct sbx_msg; the received text is always NUL-terminated. */
int sbx_msg_send(int sock, const struct sbx_msg *msg, int fd);
/* Return: 1 with @msg (and *@fd, -1 if none) filled, 0 at EOF, -EPROTO for
 * a bad message, -errno. */
int sbx_msg_recv(int sock, struct sbx_msg *msg, int *fd);

/**
 * sbx_child_fail() - report a setup failure to the parent and exit
 * The only way out of the container side before exec: one message, then
 * _exit(@code). Never returns.
 */
__attribute__((noreturn)) void sbx_child_fail(int sock, int code,
					      const struct hutch_err *err);

/* ---- id maps (idmap.c) ------------------------------------------------ */

/**
 * sbx_idmap_apply() - write @map for the process @pid, which must be in a
 * new user namespace that nobody has mapped yet: through newuidmap and
 * newgidmap for a full mapping, directly for a single one.
 * Return: 0 or -errno with @err filled (the helper's own message).
 */
int sbx_idmap_apply(pid_t pid, const struct sbx_idmap *map,
		    struct hutch_err *err);

/**
 * sbx_idmap_nests() - does a process that becomes @uid/@gid under @map
 * need a user namespace of its own (sbx_idmap_nest())? True in a single
 * mapping for any ids but the one pair it maps (0:0, or the caller's own
 * under keep-id); never in a full one.
 */
bool sbx_idmap_nests(const struct sbx_idmap *map, uid_t uid, gid_t gid);

/**
 * sbx_idmap_nest() - move the calling process into a new user namespace
 * nested in its own, in which @uid and @gid are mapped to its current
 * effective ids and are the only ids: afterwards it is @uid/@gid, owns
 * what its former ids owned, and holds every capability of the new
 * namespace (none over the container's mounts) until it drops them.
 * Call single-threaded, before seccomp (which denies unshare(2)).
 * Return: 0 or -errno with @err filled.
 */
int sbx_idmap_nest(uid_t uid, gid_t gid, struct hutch_err *err);

/* ---- seccomp (seccomp.c) ----------------------------------------------- */

/**
 * struct sbx_bpf - a compiled seccomp program, built on the host before the
 * container starts so that the container side only has to load it
 * @insns: owned
 */
struct sbx_bpf {
	struct sock_filter *insns;
	size_t len;
};

/**
 * sbx_seccomp_compile() - build the container's filter
 * @profile: path of a Docker-format JSON profile, or NULL for hutch's
 *           default (Docker's default denials, EPERM)
 * @caps:    the container's capability mask; rules gated on capabilities
 *           (Docker's "includes": {"caps": [...]}) follow it
 *
 * Return: 0 with @out filled (release with sbx_bpf_free()), or -errno with
 * @err naming the profile and the problem.
 */
/* Not a capability: in @caps it asks for root emulation (seccomp.c). */
#define SBX_SECCOMP_FAKE_ROOT (1ULL << 62)

int sbx_seccomp_compile(const char *profile, uint64_t caps, struct sbx_bpf *out,
			struct hutch_err *err);
void sbx_bpf_free(struct sbx_bpf *bpf);

/**
 * sbx_seccomp_compile_cached() - sbx_seccomp_compile() through a cache of
 * compiled programs in the runtime directory (bpfcache.c); same contract.
 */
int sbx_seccomp_compile_cached(const char *profile, uint64_t caps,
			       struct sbx_bpf *out, struct hutch_err *err);

/**
 * sbx_seccomp_apply() - load @bpf into the calling thread
 * Needs no_new_privs or CAP_SYS_ADMIN in the current user namespace; call it
 * last before execve. Return: 0 or -errno.
 */
int sbx_seccomp_apply(const struct sbx_bpf *bpf);

/* ---- capabilities (caps.c) --------------------------------------------- */

/**
 * sbx_caps_apply() - limit the bounding set to @caps, then set permitted,
 * effective and inheritable to @caps when @uid is 0 and to nothing
 * otherwise; clears the ambient set. Call after setresuid() with
 * PR_SET_KEEPCAPS set. Return: 0 or -errno.
 */
int sbx_caps_apply(uint64_t caps, uid_t uid);

/** sbx_caps_keep_only() - reduce the caller's effective and permitted sets
 * to @caps and empty its inheritable set. */
int sbx_caps_keep_only(uint64_t caps);

/** sbx_caps_keep_over_exec() - make every permitted capability inheritable
 * and ambient, so that a program run by a user that is not root of its
 * user namespace keeps them. Return: 0 or -errno. */
int sbx_caps_keep_over_exec(void);

/* ---- the container side (mounts.c, child.c, init.c, exec.c) ------------ */

/**
 * struct sbx_plan - what the parent decided and both sides need
 * @cfg:     the configuration (borrowed)
 * @map:     the id mapping
 * @bpf:     compiled seccomp program, len 0 when unconfined
 * @winsize: the terminal's size when cfg->tty
 * @sync:    the child's end of the sync socket
 * @hostname: the container's host name
 * @etc_hosts, @etc_hostname, @etc_resolv: the generated files' contents
 */
struct sbx_plan {
	const struct sbx_config *cfg;
	const struct sbx_run_io *io; /* NULL: hutch's own standard I/O */
	struct sbx_idmap map;
	struct sbx_bpf bpf;
	struct winsize winsize;
	int sync;
	char hostname[65];
	char *etc_hosts;    /* owned */
	char *etc_hostname; /* owned */
	char *etc_resolv;   /* owned */
	pid_t join; /* exec: the host pid of the container's pid 1, else 0 */
	/* cfg's, auto resolved; NULL without lowers or layers mounts
	 * (static) */
	const struct sbx_storage_driver *storage;
	pid_t storage_daemon;  /* what serves the root (hutch-overlay), or -1 */
	pid_t squashfs_daemon; /* what serves a .sqsh lower, or -1 */
	/* what serves each of cfg's layers mounts (-1: none), one per mount
	 * of cfg, or NULL (owned) */
	pid_t *mount_daemons;
};

/** sbx_yaml_to_json() - a YAML document as a JSON tree, or NULL with @why
 * (@size bytes) saying where it is broken (cdi-yaml.c). */
json_t *sbx_yaml_to_json(const char *text, size_t len, char *why, size_t size);

/**
 * sbx_hooks_run() - run @cfg's hooks of the stages in @stages (a NULL-
 * terminated list), in order, each with the OCI state on its standard
 * input; @rootfs is where the container's root is in this mount namespace
 * (its /dev holds the bundle's config.json while they run). Return: 0, or
 * -errno with @err naming the hook that failed and why (hooks.c).
 */
int sbx_hooks_run(const struct sbx_config *cfg, const char *const *stages,
		  const char *rootfs, struct hutch_err *err);

/**
 * sbx_setup_rootfs() - build the container's mount tree and pivot into it:
 * rootfs bind, /proc (masked), /sys, /dev, /etc/{hosts,hostname,
 * resolv.conf}, user mounts, read-only root. Runs in the new mount, user
 * and pid namespaces. Return: 0 or -errno with @err filled.
 */
int sbx_setup_rootfs(const struct sbx_plan *plan, struct hutch_err *err);

/**
 * sbx_volume_fill() - when the volume of @m (kind SBX_MOUNT_VOLUME, its
 * directory in @m->src) is empty, copy into it what the root filesystem
 * @rootfd has at @m->dst, owners and modes kept as far as the user
 * namespace maps them (copyup.c). Runs in the container's setup process,
 * before the user mounts. Return: 0 or -errno with @err filled.
 */
int sbx_volume_fill(int rootfd, const struct sbx_mount *m,
		    struct hutch_err *err);

/** sbx_close_fds() - close every descriptor from 3 up but the sync
 * socket, --preserve-fds' range, the PMI descriptor and a group's lock. */
void sbx_close_fds(const struct sbx_plan *plan);

/** sbx_child_main() - the container's first process: setup, then init. */
__attribute__((noreturn)) void sbx_child_main(struct sbx_plan *plan);

/** sbx_join_main() - exec's first process: join the namespaces of
 * @plan->join, then start the command as sbx_child_main() does. */
__attribute__((noreturn)) void sbx_join_main(struct sbx_plan *plan);

/**
 * sbx_spawn_command() - the end of the container side: fork the command
 * (sbx_exec_command()), then reap and forward signals until it exits, and
 * exit with its status. @slave: the terminal's path, "" without one.
 */
__attribute__((noreturn)) void sbx_spawn_command(struct sbx_plan *plan,
						 const char *slave);

/** sbx_open_pty() - a terminal from the devpts at /dev/pts, its master
 * sent to hutch; with @console also bound on /dev/console. */
int sbx_open_pty(const struct sbx_plan *plan, char *slave, size_t len,
		 bool console, struct hutch_err *err);

/** sbx_prepare_signals() - handlers and a block for the signals a
 * forwarding parent takes with sigwaitinfo(). */
void sbx_prepare_signals(void);

/**
 * sbx_init_loop() - pid 1: reap every child, forward signals to @cmd, and
 * return the exit status for @cmd (128+N for signal N) once it has exited.
 * The forwarded signals must already have handlers and be blocked.
 */
int sbx_init_loop(pid_t cmd);

/** sbx_init_signals() - the signals pid 1 forwards, as a set. */
void sbx_init_signals(sigset_t *set);

/**
 * sbx_exec_command() - become the user's command: stdio, user, workdir,
 * capabilities, no_new_privs, seccomp, execve. Never returns: on failure
 * it reports over @plan->sync and exits 125, 126 or 127.
 * @pty_slave: the terminal's path inside the container, or NULL
 */
__attribute__((noreturn)) void sbx_exec_command(const struct sbx_plan *plan,
						const char *pty_slave);

/* ---- storage drivers (storage.c) ---------------------------------------- */

/**
 * struct sbx_storage_driver - one storage driver's operations
 * @info:       its names (sbx_storage_describe())
 * @from_host:  where a container's root is mounted: false, in the
 *              container's setup child, inside its new user and mount
 *              namespaces (@mount gets @join 0); true, by hutch once the
 *              child's id maps are written, entering its namespaces
 *              (@join is the child's pid), before the child builds its
 *              mount tree on it
 * @probe:      can it mount an upper dir under @dir on this host? 0, or
 *              -errno with @err (may be NULL) saying why not
 * @prepare:    on the host, before anything starts: can it serve @l? (the
 *              options fit, the helper exists); 0 or -errno with @err
 * @mount:      mount @l on @target; @daemon is set to the pid of a process
 *              that serves the mount and must be reaped, or -1
 * @unmount:    unmount @target (NULL: its mount namespace is gone already)
 *              and reap @daemon
 */
struct sbx_storage_driver {
	struct sbx_storage_info info;
	bool from_host;
	int (*probe)(const char *dir, struct hutch_err *err);
	/* Can it mount these layers here (NULL: any)? auto asks. */
	bool (*takes)(const struct sbx_layers *l);
	int (*prepare)(const struct sbx_layers *l, struct hutch_err *err);
	int (*mount)(const struct sbx_layers *l, const char *target, pid_t join,
		     pid_t *daemon, struct hutch_err *err);
	void (*unmount)(const char *target, pid_t daemon);
};

/* The drivers, one file each: storage-kernel.c, storage-fuse.c. */
extern const struct sbx_storage_driver sbx_storage_kernel;
extern const struct sbx_storage_driver sbx_storage_fuse;

/** sbx_mount_layers_of() - a layers mount (SBX_MOUNT_LAYERS) as a struct
 * sbx_layers. */
void sbx_mount_layers_of(const struct sbx_mount *m, struct sbx_layers *out);

/**
 * sbx_overlay_probe() - can kernel overlayfs be mounted in a user
 * namespace here, with an upper dir under @dir? 0, or -errno (hostcheck.c)
 */
int sbx_overlay_probe(const char *dir);

/* ---- hutch's helper programs (helpers.c) ------------------------------- */

/** sbx_self_exe() - the path of the running program (/proc/self/exe, every
 * symbolic link resolved); owned, NULL when it cannot be read. */
char *sbx_self_exe(void);

/** sbx_find_program() - @name in the absolute directories of $PATH (when
 * @use_path), then of @dirs (colon-separated); the first executable one,
 * owned, or NULL. */
char *sbx_find_program(const char *name, const char *dirs, bool use_path);

/**
 * struct sbx_helper - where a helper program is, or why it is not
 * @path:    the program (owned); NULL when not found
 * @from:    how it was found: the variable's name, "next to hutch" or
 *           "on PATH" (static)
 * @home:    hutch's own directory (owned); NULL when unknown
 * @missing: when not found, every place looked at, in words (owned)
 * @fix:     when not found, what to do, in words (owned)
 */
struct sbx_helper {
	char *path;
	const char *from;
	char *home;
	char *missing;
	char *fix;
};

/**
 * sbx_helper_find() - find helper @name (hutch-net, hutch-overlay): $@var
 * when set (a path, or a name for a PATH search), else next to hutch's
 * own executable (they are installed together), else on PATH.
 * Return: 0 with @h->path set, -ENOENT with @h->missing and @h->fix set,
 * or -ENOMEM. Release @h with sbx_helper_free() in every case.
 */
/**
 * sbx_fuse_daemon() - start a FUSE daemon (hutch-overlay, hutch-squashfs)
 * that mounts in the namespaces of @join (0: ours) and writes a byte to
 * its descriptor 3 once mounted; wait for that byte
 * @argv:   the command (argv[0] its path); it runs in directory @cwd
 * @what:   what it mounts, and @fix what to do (or NULL), for the error
 * @wait_ms: how long it may take (-1: as long as it lives; its death is
 *          seen at once, as the end of the pipe)
 * @daemon: set to its pid
 * Return: 0, or -EIO with @err made of the daemon's last line.
 */
int sbx_fuse_daemon(char *const argv[], const char *cwd, pid_t join,
		    const char *what, const char *fix, int wait_ms,
		    pid_t *daemon, struct hutch_err *err);
/** sbx_fuse_reap() - wait a little for a daemon whose mount is gone, then
 * kill it (-1: none). */
void sbx_fuse_reap(pid_t daemon);
/** sbx_squashfs_mount() - serve @cfg->squashfs with hutch-squashfs on its
 * one lower (@cfg->lower_base/@cfg->lowers[0]) in @join's namespaces. */
int sbx_squashfs_mount(const struct sbx_config *cfg, pid_t join, pid_t *daemon,
		       struct hutch_err *err);

int sbx_helper_find(const char *var, const char *name, struct sbx_helper *h);
void sbx_helper_free(struct sbx_helper *h);

/**
 * sbx_helper_version() - run "@path --version" (at most 5 s)
 * @first_line: set to the first line it printed on stdout or stderr
 *              (owned, may be empty), also when it failed
 * Return: its exit status (128+N when signal N killed it), or -errno when
 * it could not be started (-ETIMEDOUT: no answer in time).
 */
int sbx_helper_version(const char *path, char **first_line);

/* ---- Ubuntu's restricted user namespaces (apparmor.c) ------------------- */

/**
 * struct sbx_apparmor - the AppArmor profile that grants one hutch binary
 * user namespaces (all owned)
 * @exe:  the binary's path
 * @name: the profile's name: "hutch" for /usr/bin/hutch (the packaged
 *        profile), else one made from the path
 * @file: where it goes: /etc/apparmor.d/@name
 * @text: the profile, several lines
 */
struct sbx_apparmor {
	char *exe;
	char *name;
	char *file;
	char *text;
};

/** sbx_apparmor_profile() - the profile for the binary at @exe (absolute);
 * 0, -EINVAL for a path a profile cannot name, -ENOMEM. */
int sbx_apparmor_profile(const char *exe, struct sbx_apparmor *out);
void sbx_apparmor_free(struct sbx_apparmor *p);
/** sbx_apparmor_fix() - one line: install @p as its file, load it with
 * apparmor_parser, or lift the restriction (owned). */
char *sbx_apparmor_fix(const struct sbx_apparmor *p);

/* ---- user-mode networking (netstart.c) ---------------------------------- */

/** struct sbx_net - a running hutch-net: its pid, the pipe whose
 * closing tells it to go, and the ports it bound ("tcp 127.0.0.1:34567
 * 80" each, net.h's --ports-fd; owned, NULL without -p) */
struct sbx_net {
	pid_t pid;
	int exit_fd;
	char **bound;
};

/** sbx_net_start() - hutch-net for the container whose first process is
 * @pid; returns once its network and published ports are usable. */
int sbx_net_start(const struct sbx_config *cfg, pid_t pid, struct sbx_net *net,
		  struct hutch_err *err);
/** sbx_net_stop() - tell it to go and reap it. */
void sbx_net_stop(struct sbx_net *net);

/* ---- network namespace (netns.c) --------------------------------------- */

/** sbx_loopback_up() - bring "lo" up in the current network namespace. */
int sbx_loopback_up(void);

/* ---- terminal relay on the host side (pty.c) --------------------------- */

/**
 * struct sbx_term - the user's terminal while a -t container runs
 * @fd:    the terminal (stdin when it is one), -1 without
 * @saved: its settings before raw mode, restored by sbx_term_restore()
 */
struct sbx_term {
	int fd;
	bool raw;
	struct termios *saved; /* owned */
};

/** sbx_term_size() - the size of the user's terminal, 80x24 without one. */
void sbx_term_size(struct winsize *ws);
/** sbx_term_raw() - put stdin in raw mode when it is a terminal. */
int sbx_term_raw(struct sbx_term *term);
/** sbx_term_restore() - undo sbx_term_raw(); safe to call twice. */
void sbx_term_restore(struct sbx_term *term);

#endif
