// SPDX-License-Identifier: Apache-2.0
/* monitor.c - who runs a container: hutch itself in the foreground, or a
 * per-container monitor process for `run -d` and `start`
 *
 * Theory of operation. A detached container needs a parent that outlives
 * the shell that started it: it keeps the runner's lock, reads the
 * command's output into the log, records the exit and restarts on failure.
 * We start one such monitor per container (no daemon shared between
 * containers, so nothing to connect to and nothing that takes every
 * container down with it): fork, setsid, fork again so that it is nobody's
 * child, then exec `hutch container-monitor ID FD` for a clean process
 * that reads the record from disk like every other command. It inherits
 * the runner's lock already taken, so there is no moment when the
 * container is starting but looks free, and answers on a pipe once the
 * command runs (or why it could not). Its pid 1 has PR_SET_PDEATHSIG, so
 * killing the monitor kills the container; the next reader of the state
 * notices the free lock and records why it stopped.
 *
 * The monitor has no terminal. Its standard error, which hutch-net, the
 * container's setup child and its own warnings write to, is monitor.log in
 * the container's directory; after each run of the command what came there
 * is copied into the container's log as stderr records (each line starts
 * "hutch: " or "hutch-net: ", so it reads as ours), where `hutch logs`
 * shows why a detached container ended oddly.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container-internal.h"

/* One message on the handshake pipe: code 0 when the command runs. */
struct handshake {
	int code;
	char text[1024];
};

/* ---- the foreground --------------------------------------------------------- */

struct foreground {
	struct ctr_container *c;
	pid_t prober;		/* the health checks, or -1 */
	struct ctr_group group; /* --join: fd -1 when none */
};

static uint64_t mix(uint64_t h, const char *s)
{
	return cmn_fnv1a64(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* What every member of a group must share, "IMAGE;fs=HASH": the image, and
 * the options that shape the container's file system (-v, --mount, --tmpfs,
 * --device and the GPUs' binds, --read-only, --shm-size), which only the
 * first member's make: a member that asks for others is refused, not
 * silently given the first one's. A volume counts by its path only (an
 * image's anonymous volumes have a name of each container's own). */
static char *group_key(const struct ctr_container *c)
{
	const struct sbx_config *cfg = &c->cfg;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct sbx_mount *m = &cfg->mounts[i];
		unsigned long v[] = { m->kind, m->flags, m->read_only };

		h = cmn_fnv1a64(h, v, sizeof(v));
		h = mix(h, m->dst);
		if (m->kind != SBX_MOUNT_VOLUME)
			h = mix(mix(h, m->src), m->data);
	}
	h = cmn_fnv1a64(h, &cfg->read_only, sizeof(cfg->read_only));
	h = cmn_fnv1a64(h, &cfg->shm_size, sizeof(cfg->shm_size));
	return cmn_strdup_printf("%s;fs=%016llx",
				 c->image_id ? c->image_id : c->image,
				 (unsigned long long)h);
}

static void fg_started(void *ctx, pid_t init, char *const *ports)
{
	struct foreground *f = ctx;

	/* The creator of a group: its container is ready for the others. */
	if (f->group.fd >= 0 && !f->group.init) {
		cleanup_free char *key = group_key(f->c);

		if (!key || ctr_group_publish(&f->group, init, key) < 0)
			cmn_debug("cannot publish group %s", f->c->join);
	}
	ctr_state_running(f->c, init, ports);
	f->prober = ctr_health_start(f->c);
}

/* The job's anchor ended while we still run: under proctrack/linuxproc a
 * hutch whose parent died (the batch script, killed by scancel) is no
 * longer seen as the job's, and a container deaf to SIGTERM would live on.
 * It ends now, as a detached one does. */
static void end_with_job(struct ctr_container *c)
{
	ctr_stop_mark(c);
	if (c->init_pid > 0)
		kill(c->init_pid, SIGKILL);
}

static void fg_job_over(void *ctx)
{
	end_with_job(((struct foreground *)ctx)->c);
}

/* In a Slurm job, a pidfd of the job's anchor (see job.c), else -1. */
static int fg_anchor(const struct ctr_container *c)
{
	struct ctr_anchor a;
	int fd;

	if (c->outlive_job || ctr_job_anchor(&a) < 0)
		return -1;
	fd = ctr_anchor_open(&a);
	return fd < 0 ? -1 : fd;
}

int ctr_container_run(struct ctr_container *c, int *status,
		      struct hutch_err *err)
{
	struct foreground f = { .c = c,
				.prober = -1,
				.group = { .fd = -1, .door = -1 } };
	struct sbx_run_io io = { .stdio = { -1, -1, -1 },
				 .capture = { -1, -1 },
				 .started = fg_started,
				 .ctx = &f };
	int lock = c->lock >= 0 ? steal_fd(&c->lock) : ctr_lock_runner(c, err);
	cleanup_close int job = -1;
	int ret;

	*status = CMN_EXIT_HUTCH;
	if (lock < 0)
		return lock;
	ret = ctr_local_check(c, err);
	if (ret < 0) {
		close(lock);
		return ret;
	}
	job = fg_anchor(c);
	if (job >= 0) {
		io.watch = fg_job_over;
		io.watch_fd = job;
	}
	if (c->started_at)
		ctr_volumes_filled(&c->cfg);
	if (c->join) {
		cleanup_free char *key = group_key(c);

		ret = key ? ctr_group_enter(&f.group, c->join, key, err)
			  : cmn_err_set(err, ENOMEM, "group %s", c->join);
	} else {
		ret = 0;
	}
	if (ret == 0 && f.group.init)
		ret = sbx_run_in(&c->cfg, &io, f.group.init, status, err);
	else if (ret == 0) {
		c->cfg.group_fd = f.group.fd;
		ret = sbx_run(&c->cfg, &io, status, err);
		c->cfg.group_fd = -1;
	}
	ctr_group_leave(&f.group);
	ctr_health_stop(f.prober);
	ctr_state_exited(c, *status, ret < 0 ? err->msg : NULL);
	/* Still holding the lock: nobody can take the container for one
	 * that is free and half gone. */
	ctr_container_done(c);
	close(lock);
	return ret;
}

/* ---- starting a monitor -------------------------------------------------------- */

/* In the grandchild: descriptors 3 (handshake) and 4 (lock), /dev/null for
 * the rest, then a fresh hutch; @anchor is "PID:START" or "". */
__attribute__((noreturn)) static void exec_monitor(const char *id, int hs,
						   int lock, char *anchor)
{
	char *argv[] = { "hutch", "container-monitor",	   (char *)id,
			 "3",	  *anchor ? anchor : NULL, NULL };
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Out of the way first: either may already be 3 or 4. */
	hs = fcntl(hs, F_DUPFD_CLOEXEC, 10);
	lock = fcntl(lock, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || hs < 0 || lock < 0 || dup2(hs, 3) < 0 ||
	    dup2(lock, 4) < 0)
		_exit(CMN_EXIT_HUTCH);
	for (int i = 0; i < 3; i++)
		dup2(null, i);
	cmn_close_fds_from(5, -1);
	execv("/proc/self/exe", argv);
	_exit(CMN_EXIT_HUTCH);
}

static int read_handshake(int fd, int *status, struct hutch_err *err)
{
	struct handshake h;
	ssize_t n = cmn_read_all(fd, &h, sizeof(h));

	if (n != (ssize_t)sizeof(h)) {
		*status = CMN_EXIT_HUTCH;
		return cmn_err_msg(
			err, EIO,
			"the container's monitor died while starting it; see 'hutch logs' and 'hutch inspect'");
	}
	*status = h.code;
	if (h.code == 0)
		return 0;
	h.text[sizeof(h.text) - 1] = '\0';
	return cmn_err_msg(err, EIO, "%s", h.text);
}

int ctr_container_start(struct ctr_container *c, int *status,
			struct hutch_err *err)
{
	int lock = c->lock >= 0 ? steal_fd(&c->lock) : ctr_lock_runner(c, err);
	struct ctr_anchor a;
	char anchor[64] = "";
	int hs[2], ret;
	pid_t pid;

	/* Found here, where the job's processes are still our ancestors. */
	if (!c->outlive_job && ctr_job_anchor(&a) == 0)
		snprintf(anchor, sizeof(anchor), "%d:%llu", (int)a.pid,
			 a.start);
	*status = CMN_EXIT_HUTCH;
	if (lock < 0)
		return lock;
	ret = ctr_local_check(c, err);
	if (ret < 0) {
		close(lock);
		return ret;
	}
	if (pipe2(hs, O_CLOEXEC) < 0) {
		close(lock);
		return cmn_err_set(err, errno, "pipe");
	}
	pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() == 0)
			exec_monitor(c->cfg.id, hs[1], lock, anchor);
		_exit(0);
	}
	close(hs[1]);
	close(lock);
	if (pid < 0) {
		close(hs[0]);
		return cmn_err_set(err, errno, "cannot start the monitor");
	}
	waitpid(pid, NULL, 0);
	ret = read_handshake(hs[0], status, err);
	close(hs[0]);
	return ret;
}

/* ---- the monitor ------------------------------------------------------------------ */

struct monitor {
	struct ctr_container *c;
	int handshake; /* -1 once answered */
	struct ctr_log *log;
	int own;       /* monitor.log, read back; -1 without */
	off_t relayed; /* how much of it is in the container's log */
	int job;       /* pidfd of the Slurm job's anchor, or -1 */
	bool job_over; /* it exited: the container was killed */
	pid_t prober;  /* the health checks of this run, or -1 */
};

/* Standard error to monitor.log (kept open as @m->own for reading). */
static void own_log_open(struct monitor *m)
{
	cleanup_free char *dir = ctr_container_dir(m->c->cfg.id);
	cleanup_free char *path =
		dir ? cmn_strdup_printf("%s/monitor.log", dir) : NULL;

	m->own =
		path ? open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
		     : -1;
	if (m->own >= 0 && dup2(m->own, 2) < 0) {
		close(m->own);
		m->own = -1;
	}
	if (m->own >= 0)
		m->relayed = lseek(m->own, 0, SEEK_END);
}

/* What the monitor and its helpers wrote since last time, into the
 * container's log as stderr. */
static void own_log_relay(struct monitor *m)
{
	char buf[4096];
	ssize_t n;

	while (m->own >= 0 &&
	       (n = pread(m->own, buf, sizeof(buf), m->relayed)) > 0) {
		ctr_log_write(m->log, 2, buf, (size_t)n);
		m->relayed += n;
	}
	ctr_log_flush(m->log);
}

static void answer(struct monitor *m, int code, const char *text)
{
	struct handshake h = { .code = code };

	if (m->handshake < 0)
		return;
	snprintf(h.text, sizeof(h.text), "%s", text ? text : "");
	cmn_write_all(m->handshake, &h, sizeof(h));
	close(m->handshake);
	m->handshake = -1;
}

static void mon_started(void *ctx, pid_t init, char *const *ports)
{
	struct monitor *m = ctx;

	ctr_state_running(m->c, init, ports);
	m->prober = ctr_health_start(m->c);
	answer(m, 0, NULL);
}

/* The job ended: so does the container, at once (Slurm has already given
 * the job's processes their grace time), and for good. */
static void mon_job_over(void *ctx)
{
	struct monitor *m = ctx;

	m->job_over = true;
	end_with_job(m->c);
}

static void mon_output(void *ctx, int stream, const char *buf, size_t len)
{
	struct monitor *m = ctx;

	ctr_log_write(m->log, stream, buf, len);
}

/* Docker's policies: on-failure after a non-zero exit (up to its count),
 * always and unless-stopped after any; never after `stop` or `kill`. */
static bool should_restart(const struct ctr_container *c, int status)
{
	if (c->restart == CTR_RESTART_NO || ctr_stop_requested(c))
		return false;
	if (c->restart != CTR_RESTART_ON_FAILURE)
		return true;
	if (status == 0)
		return false;
	return c->restart_max == 0 || c->restart_count < c->restart_max;
}

/* Docker's back-off: 100 ms before the first restart, doubled before each
 * next one up to a minute, and back to 100 ms once a run lasted 10 s. A
 * command that fails at once is then restarted a few times a minute, not
 * dozens of times a second. */
#define BACKOFF_FIRST_NS 100000000LL
#define BACKOFF_MAX_NS	 60000000000LL
#define BACKOFF_RESET_NS 10000000000LL

int64_t ctr_restart_delay(int64_t previous, int64_t ran)
{
	if (ran >= BACKOFF_RESET_NS || previous <= 0)
		return BACKOFF_FIRST_NS;
	return previous >= BACKOFF_MAX_NS / 2 ? BACKOFF_MAX_NS : previous * 2;
}

/* Wait @ns before the next run; false when `stop`, `kill` or `rm -f`
 * asked for the end meanwhile (they mark it and send SIGALRM, which the
 * monitor keeps blocked). */
static bool backoff(const struct ctr_container *c, int64_t ns)
{
	int64_t end = ctr_now_ns() + ns;
	sigset_t alarm;

	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	while (!ctr_stop_requested(c)) {
		int64_t left = end - ctr_now_ns();
		struct timespec ts = { left / 1000000000, left % 1000000000 };

		if (left <= 0)
			return true;
		sigtimedwait(&alarm, NULL, &ts);
	}
	return false;
}

static int run_once(struct monitor *m, int *status, struct hutch_err *err)
{
	struct sbx_run_io io = { .stdio = { -1, -1, -1 },
				 .capture = { -1, -1 },
				 .output = mon_output,
				 .started = mon_started,
				 .watch = m->job >= 0 ? mon_job_over : NULL,
				 .watch_fd = m->job,
				 .ctx = m };
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, in[2] = { -1, -1 };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int ret;

	/* -di: a stdin that stays open (we hold its write end and never
	 * write), so `run -dit IMAGE sh` keeps its shell, as under Docker. */
	if (m->c->cfg.interactive && pipe2(in, O_CLOEXEC) == 0) {
		close(null);
		null = in[0];
	}
	if (null < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		ret = cmn_err_set(err, errno, "cannot make the output pipes");
	} else {
		io.stdio[0] = null;
		io.stdio[1] = out[1];
		io.stdio[2] = errp[1];
		io.capture[0] = out[0];
		io.capture[1] = errp[0];
		if (m->c->started_at)
			ctr_volumes_filled(&m->c->cfg);
		ret = sbx_run(&m->c->cfg, &io, status, err);
	}
	ctr_health_stop(m->prober);
	m->prober = -1;
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (null >= 0)
		close(null);
	if (in[1] >= 0)
		close(in[1]);
	ctr_log_flush(m->log);
	return ret;
}

static int monitor_loop(struct monitor *m)
{
	struct ctr_container *c = m->c;
	struct hutch_err err = { 0 };
	int status = CMN_EXIT_HUTCH, ret;
	int64_t delay = 0;

	for (;;) {
		ctr_stop_clear(c);
		ret = run_once(m, &status, &err);
		own_log_relay(m);
		if (m->job_over)
			ret = cmn_err_msg(
				&err, ECANCELED,
				"the Slurm job %s ended; the container ended with it (use --outlive-job to keep it)",
				getenv("SLURM_JOB_ID") ? getenv("SLURM_JOB_ID")
						       : "");
		ctr_state_exited(c, status, ret < 0 ? err.msg : NULL);
		if (ret < 0) {
			answer(m, status, err.msg);
			break;
		}
		if (!should_restart(c, status))
			break;
		delay = ctr_restart_delay(delay,
					  c->finished_at - c->started_at);
		c->restart_count++;
		ctr_state_restarting(c, status, ctr_now_ns() + delay);
		if (!backoff(c, delay)) {
			/* Stopped while it waited: as it last exited. */
			ctr_state_exited(c, status, NULL);
			break;
		}
	}
	return status;
}

/* "PID:START" from ctr_container_start(): the job's anchor, opened; -1
 * without one; -ESRCH with @err when the job is over already. */
static int open_anchor(const char *spec, struct hutch_err *err)
{
	struct ctr_anchor a;
	int pid, ret;

	if (!spec)
		return -1;
	if (sscanf(spec, "%d:%llu", &pid, &a.start) != 2)
		return -1;
	a.pid = pid;
	ret = ctr_anchor_open(&a);
	if (ret == -ESRCH)
		return cmn_err_msg(
			err, ESRCH,
			"the Slurm job %s has ended; the container is not started",
			getenv("SLURM_JOB_ID") ? getenv("SLURM_JOB_ID") : "");
	if (ret < 0)
		cmn_warn(
			"cannot watch the Slurm job (%s): the container may outlive it",
			strerror(-ret));
	return ret < 0 ? -1 : ret;
}

int ctr_monitor_main(const char *id, int handshake_fd, const char *anchor)
{
	struct monitor m = {
		.handshake = handshake_fd, .own = -1, .job = -1, .prober = -1
	};
	struct hutch_err err = { 0 };
	sigset_t alarm;
	int status;

	/* SIGALRM ends a restart's wait (backoff()); blocked, it never
	 * kills the monitor, whenever it comes. */
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alarm, NULL);

	if (ctr_container_find(id, &m.c, &err) < 0) {
		answer(&m, CMN_EXIT_HUTCH, err.msg);
		return CMN_EXIT_HUTCH;
	}
	m.log = ctr_log_open(m.c, &err);
	if (!m.log) {
		answer(&m, CMN_EXIT_HUTCH, err.msg);
		ctr_container_free(m.c);
		return CMN_EXIT_HUTCH;
	}
	own_log_open(&m);
	m.job = open_anchor(anchor, &err);
	if (m.job == -ESRCH) {
		answer(&m, CMN_EXIT_HUTCH, err.msg);
		ctr_state_exited(m.c, CMN_EXIT_HUTCH, err.msg);
		m.job = -1;
		status = CMN_EXIT_HUTCH;
	} else {
		status = monitor_loop(&m);
	}
	if (m.job >= 0)
		close(m.job);
	/* The runner's lock (fd 4) is still held: nobody takes the
	 * container for one that is free and half gone. A failed removal
	 * leaves the container, and its log tells why. */
	if (ctr_container_done(m.c) < 0)
		own_log_relay(&m);
	ctr_log_close(m.log);
	if (m.own >= 0)
		close(m.own);
	close(4);
	ctr_container_free(m.c);
	return status;
}
