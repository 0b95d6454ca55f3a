/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox.h - the runtime: run a command in rootless namespaces on a root
 * filesystem, and check what the host allows. The whole interface of
 * sandbox/.
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
	SBX_NET_HOST, /* share the host's network namespace */
	SBX_NET_NONE, /* own network namespace with loopback only */
};

enum sbx_mount_kind {
	SBX_MOUNT_BIND,
	SBX_MOUNT_TMPFS
};

/**
 * struct sbx_mount - a user-requested mount (-v, --tmpfs)
 * @src:  host path (bind), unused for tmpfs (owned)
 * @dst:  absolute path in the container (owned)
 * @data: tmpfs options such as "size=64m,mode=1777" (owned, may be NULL)
 * @flags: extra MS_* flags (tmpfs: MS_NOEXEC, MS_NOSUID, MS_NODEV)
 */
struct sbx_mount {
	enum sbx_mount_kind kind;
	char *src;
	char *dst;
	char *data;
	unsigned long flags;
	bool read_only;
};

/**
 * struct sbx_config - everything a container run needs, decided up front
 *
 * Every pointer is owned and released by sbx_config_free().
 */
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

	/* A copy-on-write root: kernel overlayfs of @lowers (top first,
	 * relative to @lower_base, which keeps the mount options short) with
	 * @upper and @work, mounted on @rootfs inside the container's mount
	 * namespace. NULL @lowers: @rootfs is used as it is. */
	char *lower_base;
	char **lowers;
	char *upper;
	char *work;

	uint64_t caps; /* capability bounding/effective set, bit = cap */
	char *seccomp_profile; /* Docker-format JSON path, NULL: default */
	bool seccomp_unconfined;
	bool no_new_privs;
};

/** sbx_config_init() - defaults: Docker's capabilities, no_new_privs, our
 * seccomp profile, host network, automatic mapping, a fresh id. */
int sbx_config_init(struct sbx_config *cfg);
void sbx_config_free(struct sbx_config *cfg);

/* ---- capabilities (caps.c) --------------------------------------------- */

/** Docker's default capability set as a mask. */
uint64_t sbx_caps_default(void);
/** sbx_cap_parse() - "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" or "ALL"
 * (all known) into a mask; false for an unknown name. */
bool sbx_cap_parse(const char *name, uint64_t *mask);

/* ---- running (sandbox.c) ----------------------------------------------- */

/**
 * sbx_run() - run the container in the foreground and wait for it
 * @status: set to the exit status as Docker reports it: the command's own
 *          code, 128+N when a signal killed it, 126/127 when it could not be
 *          run, 125 when hutch failed
 *
 * Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH
 * to the container and, with -t, relays the terminal.
 *
 * Return: 0 when the container ran (whatever its status), -errno with @err
 * filled when it could not be started; @status is set in both cases.
 */
int sbx_run(const struct sbx_config *cfg, int *status, struct hutch_err *err);

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

/* ---- host checks (hostcheck.c) ----------------------------------------- */

enum sbx_check_state {
	SBX_CHECK_OK,
	SBX_CHECK_WARN,
	SBX_CHECK_FAIL
};

/**
 * struct sbx_check - one line of `hutch info`
 * @name:  what was checked ("user namespaces", "id mapping", ...) (static)
 * @value: what was found (owned)
 * @fix:   for WARN and FAIL, the one-line fix (owned, may be NULL)
 */
struct sbx_check {
	const char *name;
	char *value;
	enum sbx_check_state state;
	char *fix;
};

struct sbx_report {
	struct sbx_check *checks; /* owned */
	size_t n;
};

/**
 * sbx_host_report() - check everything rootless containers need
 * @procsys: the root of the sysctl tree, "/proc/sys" (tests pass a fake)
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
