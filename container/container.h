/* SPDX-License-Identifier: Apache-2.0 */
/* container.h - Docker's container objects: records, names, state, the
 * per-container monitor, logs, processes, exec and cp, and the making of a
 * container from an image or a directory. The whole interface of
 * container/.
 *
 * The runtime (sandbox/) runs a prepared configuration; this part decides
 * what a container is and keeps it: it prepares the root (image/), writes
 * the record, runs it in the foreground or under a monitor, and answers
 * ps, logs, stop, rm and friends from what it wrote.
 */
#ifndef HUTCH_CONTAINER_H
#define HUTCH_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"
#include "image/image.h"
#include "sandbox/sandbox.h"

/*
 * $HUTCH_ROOT/containers/<id>/        durable: survives reboots
 *   config.json    the configuration, written once at creation
 *   state.json     the last exit (status, code, times), written at exit
 *   container.log  captured output of detached runs (JSON lines)
 *   upper/ work/ rootfs/   an image container's copy-on-write root
 * $HUTCH_ROOT/containers/.names/<name> -> <id>   unique names (symlinks)
 * $HUTCH_RUNTIME/containers/<id>/     on tmpfs: gone after a reboot
 *   state.json     while it runs: pids, start time
 *   monitor.lock   flock(2)ed by whoever runs it, for as long as it runs:
 *                  a lock that can be taken means nobody runs it
 */

enum ctr_status {
	CTR_CREATED,
	CTR_RUNNING,
	CTR_EXITED
};

/* --restart: Docker's policies. Without a daemon, always and
 * unless-stopped mean the same: the container's monitor restarts it after
 * any exit but a stop or kill, until then; neither survives a reboot. */
enum ctr_restart {
	CTR_RESTART_NO,
	CTR_RESTART_ON_FAILURE,
	CTR_RESTART_ALWAYS,
	CTR_RESTART_UNLESS_STOPPED
};

/** ctr_restart_name() - Docker's word for @r ("on-failure"). */
const char *ctr_restart_name(enum ctr_restart r);

/**
 * struct ctr_healthcheck - Docker's Config.Healthcheck (owned strings)
 * @test:     {"CMD-SHELL", text}, {"CMD", arg...}, {"NONE"}, or NULL for
 *            none (the image's, when it has one)
 * @shell:    the image's SHELL for CMD-SHELL (NULL: /bin/sh -c)
 * @interval, @timeout, @start_period, @start_interval: nanoseconds; 0 is
 *            Docker's default (30 s, 30 s, 0, 5 s)
 * @retries:  failures in a row that make it unhealthy; 0: 3
 */
struct ctr_healthcheck {
	char **test;
	char **shell;
	int64_t interval;
	int64_t timeout;
	int64_t start_period;
	int64_t start_interval;
	int retries;
};

/** ctr_healthcheck_text() - @h as Docker's Config.Healthcheck JSON (the
 * durations left at their default omitted); owned, NULL on ENOMEM. */
char *ctr_healthcheck_text(const struct ctr_healthcheck *h);

/** ctr_healthcheck_active() - does @h run a check (a Test that is not
 * NONE)? */
bool ctr_healthcheck_active(const struct ctr_healthcheck *h);
void ctr_healthcheck_clear(struct ctr_healthcheck *h);

/* The last health checks kept, as Docker keeps them. */
#define CTR_HEALTH_LOG 5

/** struct ctr_health_result - one check: times in ns, its exit code (-1
 * when it could not run or timed out) and its output (owned, at most 4 KiB) */
struct ctr_health_result {
	int64_t start;
	int64_t end;
	int exit_code;
	char *output;
};

/**
 * struct ctr_health - Docker's State.Health
 * @status: "starting", "healthy", "unhealthy", or "" for no health check
 */
struct ctr_health {
	char status[12];
	int failing_streak;
	struct ctr_health_result log[CTR_HEALTH_LOG];
	size_t n_log;
};

/**
 * struct ctr_port - a published port as hutch-net bound it
 * @proto: "tcp" or "udp"; @host_ip: "127.0.0.1", "::1"
 */
struct ctr_port {
	char proto[4];
	char host_ip[48];
	unsigned host_port;
	unsigned ctr_port;
};

/**
 * struct ctr_container - a container record and its current state
 * Strings are owned; release with ctr_container_free().
 */
struct ctr_container {
	struct sbx_config cfg;
	char *name;
	char *image;	   /* as the user gave it, or the --rootfs directory */
	char *image_id;	   /* "sha256:...", NULL for --rootfs */
	int64_t created;   /* nanoseconds since the epoch */
	bool auto_remove;  /* --rm */
	bool detached;	   /* -d: output goes to the log */
	bool outlive_job;  /* --outlive-job: -d in a Slurm job survives it */
	bool awaits_start; /* made by `create`: a --rm one is not a leftover */
	enum ctr_restart restart;
	int restart_max; /* on-failure:N: N (0: unlimited) */
	int stop_signal;
	int stop_timeout; /* seconds */
	char **ports;	  /* -p specs as ps shows them before they are bound */
	bool publish_all; /* -P: the image's EXPOSEd ports too */
	char **labels;	  /* --label KEY=VALUE */
	struct ctr_healthcheck health_cfg;

	enum ctr_status status;
	pid_t init_pid;	   /* host pid of the container's pid 1, when running */
	pid_t monitor_pid; /* host pid of what runs it */
	int exit_code;
	int64_t started_at, finished_at; /* nanoseconds */
	char *error; /* why the last start failed, or the monitor died */
	int restart_count;
	bool restarting; /* the monitor waits to restart it (status RUNNING) */
	char **bound;	 /* while it runs: the ports bound (net.h's lines) */
	struct ctr_health health;
	char *host; /* running on this other host (running.json), else NULL */
	/* A store on a shared filesystem: the node-local directory holding
	 * cfg.upper, cfg.work and the mount points, and the host whose disk
	 * it is on; NULL: they are in the container's directory. */
	char *local_dir;
	char *local_host;
	int lock; /* the runner's lock while this process holds it, or -1 */
	/* --join: the group (group.c) a foreground run shares one container
	 * with; NULL: a container of its own; not recorded */
	char *join;
};

/**
 * ctr_container_ports() - the ports @c's network bound, in -p's order:
 * while it runs on this host, else none
 * Return: 0 with *@out (free() it; NULL when *@n is 0), or -ENOMEM.
 */
int ctr_container_ports(const struct ctr_container *c, struct ctr_port **out,
			size_t *n);

/** ctr_container_new() - an empty record with defaults (SIGTERM, 10 s). */
struct ctr_container *ctr_container_new(void);
void ctr_container_free(struct ctr_container *c);

/**
 * ctr_container_create() - write a new record; picks a name when @c->name
 * is NULL. Return: 0, -EEXIST with @err for a name in use (Docker's
 * wording), or -errno.
 */
int ctr_container_create(struct ctr_container *c, struct hutch_err *err);

/**
 * struct ctr_source - where a new container's root and command come from
 * (borrowed)
 * @image:      an image reference or id; NULL for a container on the
 *              directory in cfg.rootfs (--rootfs)
 * @args:       the command after the image (NULL or empty: the image's)
 * @entrypoint: --entrypoint (NULL: the image's; "": none)
 * @overlay:    --overlay: the --rootfs directory becomes the one lower of
 *              a copy-on-write root in the store, as an image's layers do
 * @upper_dir:  --upper DIR: the root's changes go to DIR/upper (and
 *              DIR/work), which outlive the container
 * @get:        how the image is found, and pulled when the store lacks it
 */
struct ctr_source {
	const char *image;
	char *const *args;
	const char *entrypoint;
	bool overlay;
	const char *upper_dir;
	struct img_get_opts get; /* get.platform: --platform, checked */
};
/* With an image, ctr_container_make() also applies the image's config to
 * what the caller set in @c: EXPOSE for publish_all, its HEALTHCHECK under
 * c->health_cfg (a field the caller left zero takes the image's value). */

/**
 * ctr_container_make() - make @c a container of the store: its root from
 * @src (the image's layers under an upper dir of its own, the image's
 * config under the options already in @c->cfg), its storage driver, then
 * its record (ctr_container_create()). The caller has filled @c (cfg,
 * name, image, --rm, -d, ports). On failure nothing is left on disk.
 * Return: 0, or -errno with @err.
 */
int ctr_container_make(struct ctr_container *c, const struct ctr_source *src,
		       struct hutch_err *err);

/**
 * ctr_container_copy() - `hutch cp`: @src on the host to @dst in the
 * container (@into), or @src in the container to @dst on the host, by
 * Docker's rules (a directory's contents with "DIR/.", into an existing
 * directory, a new name otherwise); running or stopped
 * @skipped: set to the number of device nodes and sockets left out (they
 *           cannot be copied without privilege; the copy goes on without
 *           them), 0 on failure; may be NULL
 */
int ctr_container_copy(const struct ctr_container *c, const char *src,
		       const char *dst, bool into, unsigned *skipped,
		       struct hutch_err *err);

/**
 * ctr_container_find() - load a container by name, id or unique id prefix,
 * with its current state (a running record whose runner died is marked
 * exited, with the reason)
 * Return: 0, -ENOENT with @err "No such container: X", -EINVAL for an
 * ambiguous prefix.
 */
int ctr_container_find(const char *key, struct ctr_container **out,
		       struct hutch_err *err);

/** ctr_container_list() - every container, newest first. */
int ctr_container_list(struct ctr_container ***out, size_t *n,
		       struct hutch_err *err);

/** ctr_container_dir() - $HUTCH_ROOT/containers/<id>; owned. */
char *ctr_container_dir(const char *id);

/**
 * ctr_container_remove() - delete a stopped container (record, upper
 * directory, log, name). Running ones: -EBUSY with Docker's message,
 * unless @force, which kills it first.
 */
int ctr_container_remove(struct ctr_container *c, bool force,
			 struct hutch_err *err);

/**
 * ctr_refuse_remote() - -EREMOTE with @err when @c runs on another host
 * (only that host sees its lock and its processes), naming the host; @what
 * is the action refused ("stop"). 0 for a container of this host.
 */
int ctr_refuse_remote(const struct ctr_container *c, const char *what,
		      struct hutch_err *err);

/**
 * ctr_container_done() - its runner is done with @c (the last exit): with
 * --rm the container goes, else its runtime directory is retired. The
 * caller still holds the runner's lock. Return: 0, or -1 after a warning.
 */
int ctr_container_done(struct ctr_container *c);

/**
 * ctr_damaged_list() - ids of container directories whose record cannot be
 * read (a partial rm -rf, a crash while one was made) and that nobody is
 * making; free with cmn_strv_free().
 */
int ctr_damaged_list(char ***ids, size_t *n, struct hutch_err *err);
/** ctr_damaged_remove() - remove such a directory, by id or unique prefix,
 * subordinate-id files included. -EBUSY when its record is sound. */
int ctr_damaged_remove(const char *key, struct hutch_err *err);
/**
 * ctr_local_sweep() - remove this store's node-local container directories
 * (local.c) on this host whose record is gone and which nobody is making.
 * Return: how many were removed.
 */
size_t ctr_local_sweep(void);

/* ---- volumes (volume.c) ----------------------------------------------- */

/*
 * $HUTCH_ROOT/volumes/<name>/         a volume, as Docker's local driver
 *   _data/         its content, bound into the containers that mount it
 *   volume.json    CreatedAt, Labels, Driver, Scope, Mountpoint, Options
 */

/* Docker's label on the volumes it makes for one container (an image's
 * VOLUME, -v /path): `rm -v` and `--rm` remove them, and `volume prune`
 * takes only them unless asked for all. */
#define CTR_VOLUME_ANONYMOUS "com.docker.volume.anonymous"

/**
 * struct ctr_volume - a volume and its record (strings owned)
 * @mountpoint: its _data directory
 * @created:    CreatedAt, RFC 3339 in UTC ("" when the record is damaged)
 * @labels:     KEY=VALUE, NULL-terminated (may be NULL)
 * @anonymous:  it has CTR_VOLUME_ANONYMOUS
 * @links:      how many containers' records mount it
 */
struct ctr_volume {
	char *name;
	char *mountpoint;
	char created[32];
	char **labels;
	bool anonymous;
	size_t links;
};

void ctr_volume_free(struct ctr_volume *v);
void ctr_volume_list_free(struct ctr_volume **list, size_t n);

/** ctr_volume_name_valid() - Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool ctr_volume_name_valid(const char *name);

/**
 * ctr_volume_create() - make volume @name (NULL: a random name) with
 * @labels (KEY=VALUE, may be NULL); one that exists is kept as it is, as
 * Docker does. @out (may be NULL) gets the volume.
 * Return: 0, -EINVAL with Docker's message for a bad name, -errno.
 */
int ctr_volume_create(const char *name, char *const *labels,
		      struct ctr_volume **out, struct hutch_err *err);
/** ctr_volume_get() - volume @name; -ENOENT with "No such volume: NAME". */
int ctr_volume_get(const char *name, struct ctr_volume **out,
		   struct hutch_err *err);
/** ctr_volume_list() - every volume, by name; free with
 * ctr_volume_list_free(). */
int ctr_volume_list(struct ctr_volume ***out, size_t *n, struct hutch_err *err);
/**
 * ctr_volume_remove() - delete volume @name and its content (files of
 * subordinate ids included). Return: 0, -ENOENT, or -EBUSY with Docker's
 * "volume is in use - [IDS]" while any container's record mounts it.
 */
int ctr_volume_remove(const char *name, struct hutch_err *err);

/**
 * struct ctr_volume_prune - what `volume prune` takes (borrowed)
 * @all:    named volumes too, not only anonymous ones (Docker 23's -a)
 * @labels: only volumes with each of these ("KEY" or "KEY=VALUE")
 */
struct ctr_volume_prune {
	bool all;
	char *const *labels;
};
/**
 * ctr_volume_prune() - remove the volumes no container uses, as @p says,
 * and what a crash left of volumes being made or removed
 * @removed: set to their names (free with cmn_strv_free())
 * @bytes:   set to the space they took
 */
int ctr_volume_prune(const struct ctr_volume_prune *p, char ***removed,
		     uint64_t *bytes, struct hutch_err *err);
/** ctr_volumes_drop() - remove the anonymous volumes @cfg mounts that no
 * container uses any more (rm -v, --rm); quiet. */
void ctr_volumes_drop(const struct sbx_config *cfg);

/** ctr_container_kill() - send @sig to a running container's pid 1, which
 * passes it to the command (SIGKILL ends the whole container). */
int ctr_container_kill(struct ctr_container *c, int sig, struct hutch_err *err);
/**
 * ctr_container_stop() - the stop signal, then SIGKILL after @timeout
 * seconds (-1: the container's own), then wait until it is down.
 */
int ctr_container_stop(struct ctr_container *c, int timeout,
		       struct hutch_err *err);
/**
 * ctr_container_wait() - wait until @c is not running (@timeout seconds,
 * -1 for ever) and reload its state; @code gets its exit code.
 */
int ctr_container_wait(struct ctr_container *c, int timeout, int *code,
		       struct hutch_err *err);

/**
 * ctr_container_run() - run @c in the foreground: hutch holds the runner's
 * lock, the command shares hutch's standard I/O, the state is recorded,
 * and with auto_remove the container is deleted after.
 * @status: as for sbx_run()
 */
int ctr_container_run(struct ctr_container *c, int *status,
		      struct hutch_err *err);

/**
 * ctr_container_start() - start @c in the background: a monitor process
 * (setsid, one per container) runs it, captures its output to the log and
 * records its exit; returns once the command runs or failed to start
 * (@status as for sbx_run() then).
 */
int ctr_container_start(struct ctr_container *c, int *status,
			struct hutch_err *err);

/** ctr_monitor_main() - the monitor's body (hutch's hidden
 * "container-monitor ID FD" command); returns the process's exit status. */
int ctr_monitor_main(const char *id, int handshake_fd, const char *anchor);
/** ctr_kept_lowers() - what containers @cs (@n) keep of the store, for
 * gc: their lowers' chain ids, and the image ids of the store's .sqsh
 * files they run. Return: a NULL-ended list to free (NULL when empty). */
char **ctr_kept_lowers(struct ctr_container *const *cs, size_t n);
/** ctr_pmi_launcher_group() - for a rank a PMI-1/PMI-2 launcher started
 * (MPICH's Hydra: PMI_FD, PMI_RANK, and no job id among its variables),
 * the group its ranks on this node share: "pmi-PID-START" of the nearest
 * ancestor whose environment names no PMI rank, which is the launcher's
 * process on this node (a rank's own wrapper scripts have PMI_RANK).
 * Return: a string to free, or NULL when /proc does not tell (another
 * user's process, no memory). */
char *ctr_pmi_launcher_group(void);

/**
 * struct ctr_log_opts - what `logs` prints
 * @tail:  the last N lines (-1: all)
 * @since: only records at or after this RFC 3339 time (NULL: all)
 */
struct ctr_log_opts {
	int tail;
	bool timestamps;
	const char *since;
	bool follow;
};

/** ctr_container_logs() - copy @c's log to @out and @err_fd (stdout and
 * stderr records apart), following it until the container stops. */
int ctr_container_logs(struct ctr_container *c, const struct ctr_log_opts *o,
		       int out, int err_fd, struct hutch_err *err);

/**
 * struct ctr_exec_opts - `exec`'s options (borrowed)
 * @argv: the command; @env: extra KEY=VALUE; @workdir, @user: NULL for the
 * container's own
 */
struct ctr_exec_opts {
	char *const *argv;
	char *const *env;
	const char *workdir;
	const char *user;
	bool tty;
	bool interactive;
};

/** ctr_container_exec() - run a command in the running container @c, with
 * its capabilities, seccomp profile and environment. */
int ctr_container_exec(const struct ctr_container *c,
		       const struct ctr_exec_opts *o, int *status,
		       struct hutch_err *err);

/**
 * struct ctr_proc - a process of a running container (top, stats)
 * @pid, @ppid: host pids; @uid: host uid; @ticks: CPU time used, in clock
 * ticks; @start_ticks: start time in ticks after boot; @rss_pages: memory
 */
struct ctr_proc {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	unsigned long long ticks;
	unsigned long long start_ticks;
	long rss_pages;
	char comm[64];
};

/** ctr_container_procs() - the processes in @c's pid namespace; free()
 * the array. */
int ctr_container_procs(const struct ctr_container *c, struct ctr_proc **out,
			size_t *n, struct hutch_err *err);

#endif
