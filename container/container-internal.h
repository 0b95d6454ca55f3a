/* SPDX-License-Identifier: Apache-2.0 */
/* container-internal.h - what container.c, state.c, monitor.c and logs.c
 * share; private to container/ */
#ifndef HUTCH_CONTAINER_INTERNAL_H
#define HUTCH_CONTAINER_INTERNAL_H

#include <jansson.h>

#include "common/json-cleanup.h"
#include "container/container.h"

/** ctr_config_json() - @c as a JSON object (new reference), NULL on
 * ENOMEM (record.c). */
json_t *ctr_config_json(const struct sbx_config *c);
/** ctr_config_from_json() - the inverse; -EINVAL for a damaged record. */
int ctr_config_from_json(const json_t *j, struct sbx_config *c);

int64_t ctr_now_ns(void);
/** ctr_host_name() - this host's name (empty when unknown) (runtime.c). */
void ctr_host_name(char host[static 256]);
/** ctr_is_id() - is @s a 64-hex-digit container id? (container.c) */
bool ctr_is_id(const char *s);

/* ---- changes on node-local disk (local.c) -------------------------------- */

/**
 * ctr_local_claim() - when @store is on a shared filesystem, the node-local
 * directory @c keeps its upper, work and mount points in (cmn_local_dir()
 * made and checked, plus its id) and this host, in @c->local_dir and
 * @c->local_host; else nothing. Return: 0 or -errno with @err.
 */
int ctr_local_claim(struct ctr_container *c, const char *store,
		    struct hutch_err *err);
/**
 * ctr_local_check() - may @c run here? Return: 0, or -EREMOTE (its changes
 * are on another host's disk) or -ENOENT (they are gone) with @err.
 */
int ctr_local_check(const struct ctr_container *c, struct hutch_err *err);
/** ctr_local_remove() - delete @c's node-local directory when it is on this
 * host; warn (and keep the record's removal) when it is on another. */
void ctr_local_remove(const struct ctr_container *c);

/* ---- joined groups (group.c) -------------------------------------------- */

/**
 * struct ctr_group - a member's hold on a joined group
 * @fd:   the group's lock file, held shared while the member runs (owned)
 * @init: the host pid of the group container's pid 1 to join; 0: this
 *        member creates the container
 * @door: the arrivals' mutex, held by a creator until its command runs,
 *        else -1 (owned)
 * @path: the lock file's path (owned)
 */
struct ctr_group {
	int fd;
	int door;
	pid_t init;
	char *path;
};

/**
 * ctr_group_enter() - join or create the group @name of containers whose
 * key is @key ("IMAGE;fs=HASH", monitor.c's group_key(): no whitespace);
 * waits while another member is creating it.
 * Return: 0 with @g filled (release with ctr_group_leave()), or -errno
 * with @err filled (the group's container has another image, or was made
 * with other file-system options).
 */
int ctr_group_enter(struct ctr_group *g, const char *name, const char *key,
		    struct hutch_err *err);
/** ctr_group_publish() - the creator's: its container's pid 1 @init runs
 * the command; let the others join. Return: 0 or -errno. */
int ctr_group_publish(struct ctr_group *g, pid_t init, const char *key);
/** ctr_group_leave() - let go of the group; the last member removes it. */
void ctr_group_leave(struct ctr_group *g);

/** ctr_start_time() - @pid's start time in clock ticks after boot (job.c).
 * Return: 0 or -errno. */
int ctr_start_time(pid_t pid, unsigned long long *start);

/* ---- where a container runs (runtime.c) ---------------------------------- */

/**
 * struct ctr_where - running.json: where a container's lock was taken
 * @kind:  CTR_WHERE_HERE (this host, this boot), CTR_WHERE_BEFORE_BOOT
 *         (this host before a reboot: nothing of it runs), CTR_WHERE_REMOTE
 * @host:  the host's name; @dir: its runtime directory there
 * @job:   the Slurm job it was started in, or ""
 */
struct ctr_where {
	enum {
		CTR_WHERE_HERE,
		CTR_WHERE_BEFORE_BOOT,
		CTR_WHERE_REMOTE
	} kind;
	char host[256];
	char dir[4096];
	char job[32];
	int64_t started_at; /* 0 until it runs */
};

/** ctr_where_read() - @id's running.json. Return: 0, or -ENOENT when
 * there is none (or it is damaged). */
int ctr_where_read(const char *id, struct ctr_where *w);
/** ctr_where_publish() - write running.json naming this host, its boot,
 * @dir and the Slurm job; -ENOENT while the container has no directory. */
int ctr_where_publish(const char *id, const char *dir);
/** ctr_where_started() - add the start time to running.json, for `ps` on
 * other hosts. */
void ctr_where_started(const char *id, int64_t when);
/**
 * ctr_runtime_dir() - the container's runtime directory: the one its
 * running.json names on this host and boot, else the environment's
 * ($HUTCH_RUNTIME/containers/<id>, created 0700). Owned.
 */
char *ctr_runtime_dir(const char *id, struct hutch_err *err);
/** ctr_runtime_file() - the path of @name in that directory, for reading:
 * nothing is created. Owned. */
char *ctr_runtime_file(const char *id, const char *name);
/** ctr_runtime_retire() - remove the runtime directory's files, the
 * directory and running.json; the caller holds the runner's lock, or
 * knows nobody does. */
void ctr_runtime_retire(const char *id);
/** ctr_job_over() - has Slurm job @job ended, as squeue says? false when
 * it cannot tell. */
bool ctr_job_over(const char *job);

/* ---- Slurm jobs (job.c) ------------------------------------------------- */

/** struct ctr_anchor - the process whose end is the job's end: its pid and
 * start time (clock ticks after boot, /proc/PID/stat) */
struct ctr_anchor {
	pid_t pid;
	unsigned long long start;
};

/** ctr_job_anchor() - inside a Slurm job, the nearest ancestor that is
 * slurmstepd (or salloc). Return: 0, -ENOENT outside a job or without
 * one, -ESRCH when /proc cannot be read. */
int ctr_job_anchor(struct ctr_anchor *a);
/** ctr_anchor_open() - a pidfd of @a, readable once it has exited.
 * Return: the descriptor, -ESRCH when @a is gone (its pid may be another
 * process's now), or -errno (no pidfd_open: Linux before 5.3). */
int ctr_anchor_open(const struct ctr_anchor *a);

/* ---- volumes of a container being made (volume.c) ------------------------ */

/** ctr_volumes_from_image() - an anonymous volume mount for each of an
 * image's VOLUME @paths that no mount of @cfg covers already. */
int ctr_volumes_from_image(struct sbx_config *cfg, char *const *paths,
			   struct hutch_err *err);

/**
 * struct ctr_volume_hold - the volumes of a container being made: locked
 * (shared) until its record is written, so that no removal takes them in
 * between; and those made for it, removed again if it fails
 */
struct ctr_volume_hold {
	int *fds;
	size_t n;
	char **made;
};
/** ctr_volumes_attach() - name the anonymous volume mounts of @cfg, make
 * the volumes that are missing, lock them into @h and point each mount's
 * source at its volume. */
int ctr_volumes_attach(struct sbx_config *cfg, struct ctr_volume_hold *h,
		       struct hutch_err *err);
/** ctr_volumes_release() - drop @h's locks; when the container could not
 * be made (@failed), remove the volumes made for it. */
void ctr_volumes_release(struct ctr_volume_hold *h, bool failed);
/** ctr_volumes_filled() - no more filling from the image: Docker fills a
 * volume only when a container is created, not at later starts. */
void ctr_volumes_filled(struct sbx_config *cfg);

/** Replace @path with @j atomically (a temporary file renamed over it).
 * @durable: fsync before the rename, for records in the store; state that
 * lives in the runtime directory is gone after a reboot anyway, and every
 * run writes it, so it skips the flush. */
int ctr_write_json(const char *path, json_t *j, bool durable);
/* The largest record or state file read back (with cmn_json_load()). */
#define CTR_JSON_MAX (4 << 20)
json_t *ctr_strv_json(char *const *v);
char **ctr_json_strv(const json_t *a);
void ctr_release_name(const struct ctr_container *c);
/** "adjective_noun", or with a number suffix when @numbered. */
char *ctr_generate_name(bool numbered);

/** Fill @c's state from the runtime and durable state files, fixing up a
 * "running" whose runner is gone. */
int ctr_state_load(struct ctr_container *c);
/**
 * ctr_lock_runner() - take monitor.lock for running @c
 * Return: the descriptor (hold it while the container runs), -EBUSY when
 * someone runs it already, -errno.
 */
int ctr_lock_runner(const struct ctr_container *c, struct hutch_err *err);
/**
 * ctr_lock_idle() - the runner's lock, for those who clean up after a
 * runner: taken only when nobody holds it
 * Return: the descriptor (close it when done), -EBUSY while someone runs
 * or makes the container, -ENOENT when there is no lock file at all.
 */
int ctr_lock_idle(const char *id);
/** The container runs: pids, start time and the ports bound (@ports:
 * net.h's lines, may be NULL) to the runtime state. */
int ctr_state_running(struct ctr_container *c, pid_t init, char *const *ports);
/** It exited and its monitor restarts it at @when (ns, CLOCK_REALTIME):
 * status "restarting" in the runtime state, with @code. */
int ctr_state_restarting(struct ctr_container *c, int code, int64_t when);
/** It exited: the durable state gets @code and @error (may be NULL). */
int ctr_state_exited(struct ctr_container *c, int code, const char *error);

/** A `stop` or `kill` was asked for: on-failure must not restart. */
void ctr_stop_mark(const struct ctr_container *c);
bool ctr_stop_requested(const struct ctr_container *c);
void ctr_stop_clear(const struct ctr_container *c);

/** ctr_restart_delay() - the wait before the next restart, after one of
 * @previous ns (0 before the first) and a run of @ran ns (monitor.c). */
int64_t ctr_restart_delay(int64_t previous, int64_t ran);

/* ---- health checks (health.c) -------------------------------------------- */

/** ctr_healthcheck_json() - Docker's Config.Healthcheck for @h (json null
 * without a Test); @shell: with the SHELL the record keeps. */
json_t *ctr_healthcheck_json(const struct ctr_healthcheck *h, bool shell);
/** ctr_healthcheck_from_json() - the inverse; hutch's old form (a Test
 * without CMD/CMD-SHELL) is read as CMD. 0 or -ENOMEM. */
int ctr_healthcheck_from_json(const json_t *j, struct ctr_healthcheck *h);
/** ctr_healthcheck_merge() - fill what @user left unset from @image. */
int ctr_healthcheck_merge(struct ctr_healthcheck *user,
			  const struct ctr_healthcheck *image);
json_t *ctr_health_json(const struct ctr_health *h);
void ctr_health_from_json(const json_t *j, struct ctr_health *h);
void ctr_health_clear(struct ctr_health *h);
/** ctr_health_load() - a running container's health.json ("starting"
 * while there is none yet). */
void ctr_health_load(const char *id, struct ctr_health *h);
/** ctr_health_forget() - remove health.json (a new start begins again). */
void ctr_health_forget(const char *id);
/**
 * ctr_health_start() - fork the prober of @c, which runs now (its
 * init_pid set): it checks until ctr_health_stop()
 * Return: its pid, or -1 when @c has no health check (or fork failed).
 */
pid_t ctr_health_start(struct ctr_container *c);
/** ctr_health_stop() - end the prober (SIGTERM) and reap it; -1: none. */
void ctr_health_stop(pid_t prober);

/* The monitor's log writer (logs.c). */
struct ctr_log;
struct ctr_log *ctr_log_open(const struct ctr_container *c,
			     struct hutch_err *err);
/** Append output of @stream (1 stdout, 2 stderr), a record per line. */
void ctr_log_write(struct ctr_log *l, int stream, const char *buf, size_t len);
/** Write out unfinished lines (the command exited in mid-line). */
void ctr_log_flush(struct ctr_log *l);
void ctr_log_close(struct ctr_log *l);

#endif
