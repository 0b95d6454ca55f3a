// SPDX-License-Identifier: Apache-2.0
/* hooks.c - OCI hooks of CDI devices, run rootless by the setup process
 *
 * OCI runtimes run createRuntime and prestart hooks in the runtime's
 * namespaces as root. hutch has no root and no daemon: every hook runs in
 * the container's user and mount namespaces (and its pid, network, ...
 * ones), as the container's root, from the container's setup process:
 * prestart, createRuntime and createContainer after the mounts are made
 * and before the root is entered, so their program is the host's (NVIDIA's
 * `nvidia-ctk hook update-ldcache` and `create-symlinks` are
 * createContainer hooks); startContainer after, so its program is the
 * container's. Hooks after the command starts (poststart, poststop) would
 * need a process of hutch's to outlive setup for them and are refused.
 *
 * Each hook gets the OCI state on its standard input; "bundle" names a
 * directory holding a config.json whose root.path is where the container's
 * root is in the hook's mount namespace (what nvidia-ctk reads), and "pid"
 * is the setup process as the hook's /proc shows it. The bundle lives in
 * the container's /dev tmpfs while the hooks run, and is removed after.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

static const char *const stages[] = { "prestart", "createRuntime",
				      "createContainer", "startContainer" };

bool sbx_hook_stage_valid(const char *stage)
{
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++)
		if (!strcmp(stage, stages[i]))
			return true;
	return false;
}

static char **strv_copy(char *const *v)
{
	return v ? cmn_strv_dup(v) : NULL;
}

int sbx_hook_copy(struct sbx_hook *to, const struct sbx_hook *from)
{
	memset(to, 0, sizeof(*to));
	to->stage = strdup(from->stage);
	to->path = strdup(from->path);
	to->args = strv_copy(from->args);
	to->env = strv_copy(from->env);
	to->timeout = from->timeout;
	if (!to->stage || !to->path || (from->args && !to->args) ||
	    (from->env && !to->env)) {
		sbx_hook_clear(to);
		return -ENOMEM;
	}
	return 0;
}

void sbx_hook_clear(struct sbx_hook *h)
{
	free(h->stage);
	free(h->path);
	cmn_strv_free(h->args);
	cmn_strv_free(h->env);
	memset(h, 0, sizeof(*h));
}

/* The bundle: @dir/config.json for @rootfs. */
static int write_bundle(const struct sbx_config *cfg, const char *dir,
			const char *rootfs)
{
	json_t *j = json_pack("{s:s,s:{s:s},s:{s:o,s:o,s:s}}", "ociVersion",
			      "1.0.2", "root", "path", rootfs, "process",
			      "args", json_array(), "env", json_array(), "cwd",
			      cfg->workdir ? cfg->workdir : "/");
	cleanup_free char *path = cmn_strdup_printf("%s/config.json", dir);
	json_t *proc = json_object_get(j, "process");
	int ret;

	for (char **a = cfg->argv; j && a && *a; a++)
		json_array_append_new(json_object_get(proc, "args"),
				      json_string(*a));
	for (char **e = cfg->env; j && e && *e; e++)
		json_array_append_new(json_object_get(proc, "env"),
				      json_string(*e));
	if (!j || !path) {
		json_decref(j);
		return -ENOMEM;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		json_decref(j);
		return -errno;
	}
	ret = json_dump_file(j, path, JSON_COMPACT) < 0 ? -EIO : 0;
	json_decref(j);
	return ret;
}

/* The setup process's pid as the hooks' /proc (the host's, before the
 * root is entered) counts it. */
static long proc_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return getpid();
	buf[n] = '\0';
	return atol(buf);
}

static char *state_json(const struct sbx_config *cfg, const char *bundle)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:s,s:{}}", "ociVersion",
			      "1.0.2", "id", cfg->id, "status", "creating",
			      "pid", (json_int_t)proc_pid(), "bundle", bundle,
			      "annotations");
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* Wait for @pid up to @timeout seconds (0: for ever); its wait status. */
static int wait_hook(pid_t pid, int timeout, int *status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd >= 0 && timeout > 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int n;

		do
			n = poll(&p, 1, timeout * 1000);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			close(pidfd);
			return -ETIMEDOUT;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int run_hook(const struct sbx_hook *h, const char *state,
		    struct hutch_err *err)
{
	char *const none[] = { NULL };
	char *const path_only[] = { h->path, NULL };
	int in[2], status = 0, ret;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return cmn_err_set(err, errno, "hook %s", h->path);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(in[0]);
		close(in[1]);
		return cmn_err_set(err, e, "hook %s", h->path);
	}
	if (pid == 0) {
		dup2(in[0], 0);
		execve(h->path, h->args ? h->args : path_only,
		       h->env ? h->env : none);
		_exit(127);
	}
	close(in[0]);
	/* A hook need not read its state: EPIPE, not SIGPIPE, then. */
	{
		struct sigaction ign = { .sa_handler = SIG_IGN }, old;

		sigaction(SIGPIPE, &ign, &old);
		if (cmn_write_all(in[1], state, strlen(state)) < 0)
			cmn_debug("hook %s did not read its state", h->path);
		sigaction(SIGPIPE, &old, NULL);
	}
	close(in[1]);
	ret = wait_hook(pid, h->timeout, &status);
	if (ret == -ETIMEDOUT)
		return cmn_err_msg(
			err, ETIMEDOUT,
			"CDI hook %s (%s) did not finish in its timeout of %d s; check the hook, or the spec's timeout",
			h->path, h->stage, h->timeout);
	if (ret < 0)
		return cmn_err_set(err, -ret, "hook %s", h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 &&
	    access(h->path, X_OK) < 0)
		return cmn_err_msg(
			err, ENOENT,
			"CDI hook %s (%s) cannot be run: %s; install it, or fix the spec's path",
			h->path, h->stage, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cmn_err_msg(
			err, EIO,
			"CDI hook %s (%s) failed (%s %d) in the container's namespaces; its messages are above",
			h->path, h->stage,
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status)
					  : WTERMSIG(status));
	return 0;
}

static bool in_stages(const char *stage, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(stage, *list))
			return true;
	return false;
}

int sbx_hooks_run(const struct sbx_config *cfg, const char *const *list,
		  const char *rootfs, struct hutch_err *err)
{
	cleanup_free char *bundle = NULL, *state = NULL;
	bool any = false;
	int ret = 0;

	for (size_t i = 0; i < cfg->n_hooks; i++)
		any |= in_stages(cfg->hooks[i].stage, list);
	if (!any)
		return 0;
	bundle = cmn_strdup_printf("%s/dev/.hutch-bundle",
				   strcmp(rootfs, "/") ? rootfs : "");
	if (!bundle)
		return cmn_err_set(err, ENOMEM, "hooks");
	ret = write_bundle(cfg, bundle, rootfs);
	if (ret < 0)
		return cmn_err_set(err, -ret,
				   "cannot write the hooks' bundle %s", bundle);
	state = state_json(cfg, bundle);
	if (!state)
		return cmn_err_set(err, ENOMEM, "hooks");
	for (size_t i = 0; ret == 0 && i < cfg->n_hooks; i++)
		if (in_stages(cfg->hooks[i].stage, list))
			ret = run_hook(&cfg->hooks[i], state, err);
	{
		cleanup_free char *json =
			cmn_strdup_printf("%s/config.json", bundle);

		if (json)
			unlink(json);
		rmdir(bundle);
	}
	return ret;
}
