// SPDX-License-Identifier: Apache-2.0
/* state.c - a container's state: running (runtime dir) and exited (store),
 * the runner's lock, kill and wait */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "container/container-internal.h"

json_t *ctr_strv_json(char *const *v)
{
	json_t *a = json_array();

	for (; a && v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

char **ctr_json_strv(const json_t *a)
{
	char **v = NULL;
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e) if (json_is_string(e))
		cmn_strv_push(&v, strdup(json_string_value(e)));
	return v;
}

static char *state_path(const char *id, bool durable)
{
	cleanup_free char *dir = NULL;

	if (!durable)
		return ctr_runtime_file(id, "state.json");
	dir = ctr_container_dir(id);
	return dir ? cmn_strdup_printf("%s/state.json", dir) : NULL;
}

int ctr_lock_runner(const struct ctr_container *c, struct hutch_err *err)
{
	for (int tries = 0; tries < 10; tries++) {
		cleanup_free char *dir = ctr_runtime_dir(c->cfg.id, err);
		cleanup_free char *path =
			dir ? cmn_strdup_printf("%s/monitor.lock", dir) : NULL;
		struct stat st;
		int fd, e;

		if (!dir)
			return err && err->code ? -err->code : -EIO;
		if (!path)
			return cmn_err_set(err, ENOMEM, "lock");
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return cmn_err_set(
				err, errno,
				"cannot open the lock of container %s",
				c->name);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			e = errno;
			close(fd);
			if (e == EWOULDBLOCK)
				return cmn_err_msg(
					err, EBUSY,
					"container %s is already running",
					c->name);
			return cmn_err_set(err, e, "cannot lock container %s",
					   c->name);
		}
		/* The runner before us retired the file between our open and
		 * our flock: a lock on it is nobody's; take the new one. */
		if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
			close(fd);
			continue;
		}
		/* Every other command finds the lock from here on, whatever
		 * its environment; a container being made publishes once its
		 * directory exists (ctr_container_make()). */
		ctr_where_publish(c->cfg.id, dir);
		return fd;
	}
	return cmn_err_msg(err, EAGAIN,
			   "cannot lock container %s: it keeps changing hands",
			   c->name);
}

/* The runner's lock, for whoever is not the runner: -1 when there is no
 * lock file (nobody runs the container, and none is made for asking). */
static int open_lock(const char *id)
{
	cleanup_free char *path = ctr_runtime_file(id, "monitor.lock");

	return path ? open(path, O_RDWR | O_CLOEXEC) : -1;
}

/* Someone holds the runner's lock. */
static bool runner_alive(const char *id)
{
	int fd = open_lock(id);
	bool alive;

	if (fd < 0)
		return false;
	alive = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

int ctr_lock_idle(const char *id)
{
	int fd = open_lock(id);

	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

static void parse_state(const json_t *j, struct ctr_container *c)
{
	const char *err = json_string_value(json_object_get(j, "Error"));
	const char *status = json_string_value(json_object_get(j, "Status"));

	c->init_pid = (pid_t)json_integer_value(json_object_get(j, "Pid"));
	c->monitor_pid =
		(pid_t)json_integer_value(json_object_get(j, "MonitorPid"));
	c->exit_code = (int)json_integer_value(json_object_get(j, "ExitCode"));
	c->started_at = json_integer_value(json_object_get(j, "StartedAt"));
	c->finished_at = json_integer_value(json_object_get(j, "FinishedAt"));
	c->restart_count =
		(int)json_integer_value(json_object_get(j, "RestartCount"));
	free(c->error);
	c->error = err && *err ? strdup(err) : NULL;
	c->restarting = status && !strcmp(status, "restarting");
	cmn_strv_free(c->bound);
	c->bound = ctr_json_strv(json_object_get(j, "Ports"));
	if (json_is_object(json_object_get(j, "Health")))
		ctr_health_from_json(json_object_get(j, "Health"), &c->health);
}

/* Its runner died without a word (kill -9 of the monitor or of hutch in
 * the foreground, a Slurm job's end, a reboot): the container died with
 * it. Recorded, and its runtime directory retired, by whoever gets the
 * lock first. */
static void runner_died(struct ctr_container *c, const char *why)
{
	int fd = ctr_lock_idle(c->cfg.id);

	if (fd == -EBUSY)
		return;
	ctr_state_exited(c, 137, why);
	ctr_runtime_retire(c->cfg.id);
	if (fd >= 0)
		close(fd);
}

/* running.json names another host (or this host before a reboot). */
static bool elsewhere(struct ctr_container *c)
{
	struct ctr_where w;
	char why[512];

	if (ctr_where_read(c->cfg.id, &w) < 0 || w.kind == CTR_WHERE_HERE)
		return false;
	if (w.kind == CTR_WHERE_REMOTE && !ctr_job_over(w.job)) {
		/* Only that host sees its lock: as far as we can tell, it
		 * runs. */
		c->status = CTR_RUNNING;
		c->started_at = w.started_at;
		free(c->host);
		c->host = strdup(w.host);
		return true;
	}
	if (w.kind == CTR_WHERE_REMOTE)
		snprintf(
			why, sizeof(why),
			"the Slurm job %s on %s ended; the container ended with it",
			w.job, w.host);
	else
		snprintf(why, sizeof(why),
			 "the machine restarted while the container ran");
	ctr_state_exited(c, 137, why);
	ctr_runtime_retire(c->cfg.id);
	return false;
}

int ctr_state_load(struct ctr_container *c)
{
	cleanup_free char *rt = NULL;
	cleanup_free char *dur = state_path(c->cfg.id, true);
	json_t *j;

	c->status = CTR_CREATED;
	if (elsewhere(c))
		return 0;
	rt = state_path(c->cfg.id, false);
	j = rt ? cmn_json_load(AT_FDCWD, rt, "the container state",
			       CTR_JSON_MAX, 0, NULL)
	       : NULL;
	if (j) {
		parse_state(j, c);
		json_decref(j);
		if (runner_alive(c->cfg.id)) {
			c->status = CTR_RUNNING;
			if (ctr_healthcheck_active(&c->health_cfg))
				ctr_health_load(c->cfg.id, &c->health);
			return 0;
		}
		runner_died(
			c,
			"the process that ran the container was killed; the container was stopped with it");
		if (c->status == CTR_EXITED)
			return 0;
	}
	j = dur ? cmn_json_load(AT_FDCWD, dur, "the container state",
				CTR_JSON_MAX, 0, NULL)
		: NULL;
	if (j) {
		parse_state(j, c);
		c->status = CTR_EXITED;
		c->restarting = false;
		cmn_strv_free(c->bound);
		c->bound = NULL;
		json_decref(j);
	}
	return 0;
}

int ctr_state_running(struct ctr_container *c, pid_t init, char *const *ports)
{
	cleanup_free char *path = state_path(c->cfg.id, false);
	json_t *j;
	int ret;

	c->status = CTR_RUNNING;
	c->restarting = false;
	c->init_pid = init;
	c->monitor_pid = getpid();
	c->started_at = ctr_now_ns();
	ctr_where_started(c->cfg.id, c->started_at);
	j = json_pack("{s:s,s:i,s:i,s:I,s:i,s:o}", "Status", "running", "Pid",
		      (int)init, "MonitorPid", (int)c->monitor_pid, "StartedAt",
		      (json_int_t)c->started_at, "RestartCount",
		      c->restart_count, "Ports", ctr_strv_json(ports));
	ret = path && j ? ctr_write_json(path, j, false) : -ENOMEM;
	if (j)
		json_decref(j);
	return ret;
}

int ctr_state_restarting(struct ctr_container *c, int code, int64_t when)
{
	cleanup_free char *path = state_path(c->cfg.id, false);
	json_t *j;
	int ret;

	c->status = CTR_RUNNING;
	c->restarting = true;
	c->init_pid = 0;
	c->monitor_pid = getpid();
	j = json_pack("{s:s,s:i,s:i,s:i,s:I,s:I,s:I,s:i}", "Status",
		      "restarting", "Pid", 0, "MonitorPid", (int)c->monitor_pid,
		      "ExitCode", code, "StartedAt", (json_int_t)c->started_at,
		      "FinishedAt", (json_int_t)c->finished_at, "RestartAt",
		      (json_int_t)when, "RestartCount", c->restart_count);
	ret = path && j ? ctr_write_json(path, j, false) : -ENOMEM;
	if (j)
		json_decref(j);
	return ret;
}

int ctr_state_exited(struct ctr_container *c, int code, const char *error)
{
	cleanup_free char *rt = state_path(c->cfg.id, false);
	cleanup_free char *dur = state_path(c->cfg.id, true);
	json_t *j;
	int ret;

	c->status = CTR_EXITED;
	c->restarting = false;
	c->exit_code = code;
	c->finished_at = ctr_now_ns();
	free(c->error);
	c->error = error ? strdup(error) : NULL;
	j = json_pack("{s:s,s:i,s:I,s:I,s:s,s:i}", "Status", "exited",
		      "ExitCode", code, "StartedAt", (json_int_t)c->started_at,
		      "FinishedAt", (json_int_t)c->finished_at, "Error",
		      error ? error : "", "RestartCount", c->restart_count);
	/* The last health report stays with the container, as Docker's. */
	if (j && ctr_healthcheck_active(&c->health_cfg)) {
		ctr_health_clear(&c->health);
		ctr_health_load(c->cfg.id, &c->health);
		json_object_set_new(j, "Health", ctr_health_json(&c->health));
		ctr_health_forget(c->cfg.id);
	}
	ret = dur && j ? ctr_write_json(dur, j, true) : -ENOMEM;
	if (j)
		json_decref(j);
	if (rt)
		unlink(rt);
	return ret;
}

/* "tcp 127.0.0.1:34567 80" or "udp [::1]:5353 53" (net.h's --ports-fd). */
static bool parse_port(const char *line, struct ctr_port *p)
{
	char addr[64];
	const char *colon;
	size_t alen;

	memset(p, 0, sizeof(*p));
	if (sscanf(line, "%3s %63s %u", p->proto, addr, &p->ctr_port) != 3)
		return false;
	colon = strrchr(addr, ':');
	if (!colon || sscanf(colon + 1, "%u", &p->host_port) != 1)
		return false;
	alen = (size_t)(colon - addr);
	if (addr[0] == '[' && alen >= 2 && addr[alen - 1] == ']')
		snprintf(p->host_ip, sizeof(p->host_ip), "%.*s",
			 (int)(alen - 2), addr + 1);
	else
		snprintf(p->host_ip, sizeof(p->host_ip), "%.*s", (int)alen,
			 addr);
	return true;
}

int ctr_container_ports(const struct ctr_container *c, struct ctr_port **out,
			size_t *n)
{
	size_t count = cmn_strv_len(c->bound);

	*out = NULL;
	*n = 0;
	if (c->status != CTR_RUNNING || c->restarting || c->host || !count)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		if (parse_port(c->bound[i], &(*out)[*n]))
			(*n)++;
	return 0;
}

int ctr_container_kill(struct ctr_container *c, int sig, struct hutch_err *err)
{
	if (ctr_refuse_remote(c, sig == SIGKILL ? "kill" : "signal", err) < 0)
		return -EREMOTE;
	/* Between two runs: no process to signal; the monitor, woken,
	 * sees the mark and gives up restarting. */
	if (c->status == CTR_RUNNING && c->restarting) {
		ctr_stop_mark(c);
		if (c->monitor_pid > 0 && kill(c->monitor_pid, SIGALRM) < 0 &&
		    errno != ESRCH)
			return cmn_err_set(err, errno,
					   "cannot stop container %s", c->name);
		return 0;
	}
	if (c->status != CTR_RUNNING || c->init_pid <= 0)
		return cmn_err_msg(
			err, EINVAL,
			"cannot kill container %s: the container is not running",
			c->name);
	/* pid 1 has handlers for the signals it forwards; SIGKILL from
	 * outside its namespace always lands and takes the namespace down. */
	ctr_stop_mark(c);
	if (kill(c->init_pid, sig) < 0 && errno != ESRCH)
		return cmn_err_set(err, errno, "cannot signal container %s",
				   c->name);
	return 0;
}

/* Wait until nobody holds the runner's lock, @timeout seconds at most
 * (-1: for ever). Return: 0, or -ETIMEDOUT. */
static int wait_runner(const char *id, int timeout)
{
	int fd = open_lock(id);
	struct timespec start, now;
	int ret = 0;

	/* No lock file: nobody runs it. */
	if (fd < 0)
		return 0;
	if (timeout < 0) {
		while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
			;
		close(fd);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout) {
			ret = -ETIMEDOUT;
			break;
		}
		/* No lock with a time-out exists; 20 ms steps are cheap. */
		poll(NULL, 0, 20);
	}
	close(fd);
	return ret;
}

int ctr_container_wait(struct ctr_container *c, int timeout, int *code,
		       struct hutch_err *err)
{
	int ret = ctr_refuse_remote(c, "wait for", err);

	if (ret == 0)
		ret = wait_runner(c->cfg.id, timeout);
	if (ret == -EREMOTE)
		return ret;
	if (ret < 0)
		return cmn_err_set(
			err, -ret,
			"container %s did not stop within %d seconds", c->name,
			timeout);
	ctr_state_load(c);
	if (code)
		*code = c->exit_code;
	return 0;
}

int ctr_container_stop(struct ctr_container *c, int timeout,
		       struct hutch_err *err)
{
	int ret = ctr_refuse_remote(c, "stop", err);

	if (ret < 0 || c->status != CTR_RUNNING)
		return ret;
	if (timeout < 0)
		timeout = c->stop_timeout;
	ret = ctr_container_kill(c, c->stop_signal, err);
	if (ret == 0 && wait_runner(c->cfg.id, timeout) == -ETIMEDOUT) {
		ctr_state_load(c);
		if (c->status == CTR_RUNNING)
			ret = ctr_container_kill(c, SIGKILL, err);
		if (ret == 0)
			ret = wait_runner(c->cfg.id, 30);
		if (ret < 0)
			cmn_err_msg(err, -ret, "container %s did not stop",
				    c->name);
	}
	if (ret == 0)
		ctr_state_load(c);
	return ret;
}

static char *stop_path(const struct ctr_container *c)
{
	cleanup_free char *dir = ctr_runtime_dir(c->cfg.id, NULL);

	return dir ? cmn_strdup_printf("%s/stop-requested", dir) : NULL;
}

void ctr_stop_mark(const struct ctr_container *c)
{
	cleanup_free char *path = stop_path(c);

	if (path)
		cmn_write_fileat(AT_FDCWD, path, "", 0, 0600);
}

bool ctr_stop_requested(const struct ctr_container *c)
{
	cleanup_free char *path = stop_path(c);

	return path && access(path, F_OK) == 0;
}

void ctr_stop_clear(const struct ctr_container *c)
{
	cleanup_free char *path = stop_path(c);

	if (path)
		unlink(path);
}
