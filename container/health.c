// SPDX-License-Identifier: Apache-2.0
/* health.c - HEALTHCHECK: Docker's Config.Healthcheck in records, and the
 * prober that runs it in a running container
 *
 * Theory of operation. A container whose image (or `run --health-cmd`)
 * has a health check gets, each time it starts, a prober: a process forked
 * by whoever runs the container (its monitor, or hutch in the foreground)
 * once the command runs, and ended by it when the command exits. The
 * prober sleeps the interval (the start interval during the start period),
 * runs the Test in the container as `hutch exec` would (joining its
 * namespaces, with its user, environment and seccomp profile), its output
 * in a pipe, killed after the timeout, and writes the result to
 * health.json in the runtime directory: Docker's State.Health (Status,
 * FailingStreak, the last five results). Failures during the start period
 * do not count; a success there ends it. Readers (ps, inspect) read the
 * file; nothing else is shared, so a prober that dies costs only its
 * reports. Its end is asked for with SIGTERM, which it takes through a
 * signalfd between and during checks, so health.json is never left half
 * written.
 *
 * Images record the Test in Docker's form, {"CMD-SHELL", text} or {"CMD",
 * arg...} or {"NONE"}; hutch before this wrote {"/bin/sh", "-c", text}
 * without the marker, which is read as {"CMD", "/bin/sh", "-c", text}.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/container-internal.h"

#define SECOND_NS	       1000000000LL
#define DEFAULT_INTERVAL       (30 * SECOND_NS)
#define DEFAULT_TIMEOUT	       (30 * SECOND_NS)
#define DEFAULT_START_INTERVAL (5 * SECOND_NS)
#define DEFAULT_RETRIES	       3
#define OUTPUT_MAX	       4096

/* ---- the configuration -------------------------------------------------- */

bool ctr_healthcheck_active(const struct ctr_healthcheck *h)
{
	return h->test && h->test[0] && strcmp(h->test[0], "NONE") != 0;
}

void ctr_healthcheck_clear(struct ctr_healthcheck *h)
{
	cmn_strv_free(h->test);
	cmn_strv_free(h->shell);
	memset(h, 0, sizeof(*h));
}

static void set_duration(json_t *o, const char *key, int64_t ns)
{
	if (ns)
		json_object_set_new(o, key, json_integer((json_int_t)ns));
}

json_t *ctr_healthcheck_json(const struct ctr_healthcheck *h, bool shell)
{
	json_t *o;

	if (!h->test)
		return json_null();
	o = json_pack("{s:o}", "Test", ctr_strv_json(h->test));
	if (!o)
		return NULL;
	set_duration(o, "Interval", h->interval);
	set_duration(o, "Timeout", h->timeout);
	set_duration(o, "StartPeriod", h->start_period);
	set_duration(o, "StartInterval", h->start_interval);
	if (h->retries)
		json_object_set_new(o, "Retries", json_integer(h->retries));
	if (shell && h->shell)
		json_object_set_new(o, "Shell", ctr_strv_json(h->shell));
	return o;
}

char *ctr_healthcheck_text(const struct ctr_healthcheck *h)
{
	cleanup_json json_t *j = ctr_healthcheck_json(h, false);

	return j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static bool marked(const char *first)
{
	return !strcmp(first, "CMD") || !strcmp(first, "CMD-SHELL") ||
	       !strcmp(first, "NONE");
}

int ctr_healthcheck_from_json(const json_t *j, struct ctr_healthcheck *h)
{
	char **test = ctr_json_strv(json_object_get(j, "Test"));

	memset(h, 0, sizeof(*h));
	if (!test)
		return 0;
	/* hutch's old form: the command without Docker's marker. */
	if (!marked(test[0])) {
		char **cmd = NULL;

		cmn_strv_push(&cmd, strdup("CMD"));
		for (char **t = test; cmd && *t; t++)
			cmn_strv_push(&cmd, strdup(*t));
		cmn_strv_free(test);
		test = cmd;
	}
	h->test = test;
	h->shell = ctr_json_strv(json_object_get(j, "Shell"));
	h->interval = json_integer_value(json_object_get(j, "Interval"));
	h->timeout = json_integer_value(json_object_get(j, "Timeout"));
	h->start_period = json_integer_value(json_object_get(j, "StartPeriod"));
	h->start_interval =
		json_integer_value(json_object_get(j, "StartInterval"));
	h->retries = (int)json_integer_value(json_object_get(j, "Retries"));
	return h->test ? 0 : -ENOMEM;
}

/* Docker's merge of run's options over the image's HEALTHCHECK: what the
 * user left unset comes from the image. */
int ctr_healthcheck_merge(struct ctr_healthcheck *user,
			  const struct ctr_healthcheck *image)
{
	if (!user->test && image->test &&
	    !(user->test = cmn_strv_dup(image->test)))
		return -ENOMEM;
	if (!user->shell && image->shell &&
	    !(user->shell = cmn_strv_dup(image->shell)))
		return -ENOMEM;
	if (!user->interval)
		user->interval = image->interval;
	if (!user->timeout)
		user->timeout = image->timeout;
	if (!user->start_period)
		user->start_period = image->start_period;
	if (!user->start_interval)
		user->start_interval = image->start_interval;
	if (!user->retries)
		user->retries = image->retries;
	return 0;
}

/* ---- the state: State.Health ---------------------------------------------- */

void ctr_health_clear(struct ctr_health *h)
{
	for (size_t i = 0; i < h->n_log; i++)
		free(h->log[i].output);
	memset(h, 0, sizeof(*h));
}

json_t *ctr_health_json(const struct ctr_health *h)
{
	json_t *log = json_array();

	for (size_t i = 0; log && i < h->n_log; i++)
		json_array_append_new(
			log,
			json_pack("{s:I,s:I,s:i,s:s}", "Start",
				  (json_int_t)h->log[i].start, "End",
				  (json_int_t)h->log[i].end, "ExitCode",
				  h->log[i].exit_code, "Output",
				  h->log[i].output ? h->log[i].output : ""));
	return json_pack("{s:s,s:i,s:o}", "Status", h->status, "FailingStreak",
			 h->failing_streak, "Log", log ? log : json_array());
}

void ctr_health_from_json(const json_t *j, struct ctr_health *h)
{
	const char *status = json_string_value(json_object_get(j, "Status"));
	json_t *e;
	size_t i;

	ctr_health_clear(h);
	snprintf(h->status, sizeof(h->status), "%s", status ? status : "");
	h->failing_streak =
		(int)json_integer_value(json_object_get(j, "FailingStreak"));
	json_array_foreach(json_object_get(j, "Log"), i, e)
	{
		struct ctr_health_result *r = &h->log[h->n_log];
		const char *out =
			json_string_value(json_object_get(e, "Output"));

		if (h->n_log == CTR_HEALTH_LOG)
			break;
		r->start = json_integer_value(json_object_get(e, "Start"));
		r->end = json_integer_value(json_object_get(e, "End"));
		r->exit_code =
			(int)json_integer_value(json_object_get(e, "ExitCode"));
		r->output = strdup(out ? out : "");
		h->n_log++;
	}
}

static char *health_path(const char *id)
{
	return ctr_runtime_file(id, "health.json");
}

void ctr_health_load(const char *id, struct ctr_health *h)
{
	cleanup_free char *path = health_path(id);
	cleanup_json json_t *j =
		path ? cmn_json_load(AT_FDCWD, path, "the container's health",
				     CTR_JSON_MAX, 0, NULL)
		     : NULL;

	if (j)
		ctr_health_from_json(j, h);
	else
		snprintf(h->status, sizeof(h->status), "starting");
}

static void health_save(const char *id, const struct ctr_health *h)
{
	cleanup_free char *path = health_path(id);
	cleanup_json json_t *j = ctr_health_json(h);

	if (path && j)
		ctr_write_json(path, j, false);
}

void ctr_health_forget(const char *id)
{
	cleanup_free char *path = health_path(id);

	if (path)
		unlink(path);
}

/* ---- the prober ------------------------------------------------------------- */

struct prober {
	struct ctr_container *c;
	int sigfd; /* SIGTERM: the container ended */
	struct ctr_health health;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * SECOND_NS + ts.tv_nsec;
}

/* Sleep @ns; false when SIGTERM came. */
static bool pause_ns(const struct prober *p, int64_t ns)
{
	int64_t end = mono_ns() + ns;

	for (;;) {
		struct pollfd pfd = { p->sigfd, POLLIN, 0 };
		int64_t left = end - mono_ns();

		if (left <= 0)
			return true;
		if (poll(&pfd, 1, (int)((left + 999999) / 1000000)) > 0)
			return false;
	}
}

/* The Test as a command: CMD-SHELL through the image's SHELL. */
static char **check_argv(const struct ctr_healthcheck *h)
{
	char **argv = NULL;
	bool shell = !strcmp(h->test[0], "CMD-SHELL");

	if (shell && h->shell)
		argv = cmn_strv_dup(h->shell);
	else if (shell && (cmn_strv_push(&argv, strdup("/bin/sh")) < 0 ||
			   cmn_strv_push(&argv, strdup("-c")) < 0))
		return NULL;
	for (char **t = h->test + 1; *t; t++)
		if (cmn_strv_push(&argv, strdup(*t)) < 0)
			return NULL;
	return argv;
}

/* In the check's process: the Test in the container, output to @out. */
__attribute__((noreturn)) static void check_child(struct ctr_container *c,
						  char **argv, int out)
{
	struct ctr_exec_opts o = { .argv = argv };
	struct hutch_err err = { 0 };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int status = CMN_EXIT_HUTCH;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(CMN_EXIT_HUTCH);
	if (ctr_container_exec(c, &o, &status, &err) < 0)
		dprintf(2, "%s\n", err.msg);
	_exit(status & 0xff);
}

/* Read what the check writes until it ends or @deadline; -ETIMEDOUT, or
 * -EINTR when SIGTERM came. */
static int collect(const struct prober *p, int fd, int64_t deadline, char *buf,
		   size_t *len)
{
	char scratch[4096];

	for (;;) {
		struct pollfd pfd[2] = { { fd, POLLIN, 0 },
					 { p->sigfd, POLLIN, 0 } };
		int64_t left = deadline - mono_ns();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(pfd, 2, (int)((left + 999999) / 1000000)) < 0)
			continue;
		if (pfd[1].revents)
			return -EINTR;
		if (!pfd[0].revents)
			continue;
		n = read(fd, scratch, sizeof(scratch));
		if (n <= 0)
			return 0;
		if (*len < OUTPUT_MAX) {
			size_t take = (size_t)n < OUTPUT_MAX - *len
					      ? (size_t)n
					      : OUTPUT_MAX - *len;

			memcpy(buf + *len, scratch, take);
			*len += take;
		}
	}
}

/* One check: its result in @r. Return: -EINTR when SIGTERM came. */
static int run_check(struct prober *p, char **argv, int64_t timeout,
		     struct ctr_health_result *r)
{
	char buf[OUTPUT_MAX + 1];
	size_t len = 0;
	int fds[2], ws = 0, ret;
	pid_t pid;

	r->start = ctr_now_ns();
	r->exit_code = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return 0;
	pid = fork();
	if (pid == 0)
		check_child(p->c, argv, fds[1]);
	close(fds[1]);
	ret = pid < 0 ? 0 : collect(p, fds[0], mono_ns() + timeout, buf, &len);
	close(fds[0]);
	if (pid > 0 && ret < 0)
		kill(pid, SIGKILL);
	if (pid > 0)
		waitpid(pid, &ws, 0);
	buf[len] = '\0';
	r->end = ctr_now_ns();
	/* Docker's words, its Go duration ("30s", "200ms"). */
	if (ret == -ETIMEDOUT && timeout % SECOND_NS == 0)
		r->output = cmn_strdup_printf(
			"Health check exceeded timeout (%llds)",
			(long long)(timeout / SECOND_NS));
	else if (ret == -ETIMEDOUT)
		r->output = cmn_strdup_printf(
			"Health check exceeded timeout (%lldms)",
			(long long)(timeout / 1000000));
	else
		r->output = strdup(buf);
	if (pid > 0 && ret == 0 && WIFEXITED(ws))
		r->exit_code = WEXITSTATUS(ws);
	return ret == -EINTR ? -EINTR : 0;
}

/* Docker's rules: a success is healthy; failures count, outside the start
 * period, until @retries in a row make it unhealthy. */
static void record(struct prober *p, struct ctr_health_result *r, bool starting,
		   int retries)
{
	struct ctr_health *h = &p->health;

	if (h->n_log == CTR_HEALTH_LOG) {
		free(h->log[0].output);
		memmove(h->log, h->log + 1, (CTR_HEALTH_LOG - 1) * sizeof(*r));
		h->n_log--;
	}
	h->log[h->n_log++] = *r;
	if (r->exit_code == 0) {
		h->failing_streak = 0;
		snprintf(h->status, sizeof(h->status), "healthy");
	} else if (!starting) {
		h->failing_streak++;
		if (h->failing_streak >= retries)
			snprintf(h->status, sizeof(h->status), "unhealthy");
	}
	health_save(p->c->cfg.id, h);
}

static int probe_loop(struct prober *p)
{
	const struct ctr_healthcheck *h = &p->c->health_cfg;
	int64_t interval = h->interval ? h->interval : DEFAULT_INTERVAL;
	int64_t timeout = h->timeout ? h->timeout : DEFAULT_TIMEOUT;
	int64_t start_iv =
		h->start_interval ? h->start_interval : DEFAULT_START_INTERVAL;
	int retries = h->retries ? h->retries : DEFAULT_RETRIES;
	int64_t start_end = mono_ns() + h->start_period;
	cleanup_strv char **argv = check_argv(h);

	if (!argv)
		return 1;
	snprintf(p->health.status, sizeof(p->health.status), "starting");
	health_save(p->c->cfg.id, &p->health);
	for (;;) {
		bool starting = mono_ns() < start_end &&
				strcmp(p->health.status, "starting") == 0;
		struct ctr_health_result r = { 0 };

		if (!pause_ns(p, starting ? start_iv : interval))
			return 0;
		starting = mono_ns() < start_end &&
			   strcmp(p->health.status, "starting") == 0;
		if (run_check(p, argv, timeout, &r) < 0) {
			free(r.output);
			return 0;
		}
		record(p, &r, starting, retries);
	}
}

pid_t ctr_health_start(struct ctr_container *c)
{
	sigset_t term;
	pid_t pid;

	if (!ctr_healthcheck_active(&c->health_cfg))
		return -1;
	ctr_health_forget(c->cfg.id);
	pid = fork();
	if (pid != 0)
		return pid;
	/* Whoever forked us may have signals blocked (the runtime's loop)
	 * and descriptors open (the log pipes, the runner's lock). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_SETMASK, &term, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	cmn_close_fds_from(3, -1);
	{
		struct prober p = { .c = c,
				    .sigfd = signalfd(-1, &term, SFD_CLOEXEC) };

		if (p.sigfd < 0)
			_exit(1);
		_exit(probe_loop(&p));
	}
}

void ctr_health_stop(pid_t prober)
{
	if (prober <= 0)
		return;
	kill(prober, SIGTERM);
	while (waitpid(prober, NULL, 0) < 0 && errno == EINTR)
		;
}
