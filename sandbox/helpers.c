// SPDX-License-Identifier: Apache-2.0
/* helpers.c - where hutch's helper programs are, and which build they are of
 *
 * hutch runs hutch-net for --network slirp and published ports, and
 * hutch-overlay for the fuse storage driver. Both are found the same way:
 * $HUTCH_NET or $HUTCH_OVERLAY when set, else next to hutch's own executable
 * (make install, the packages and the bundle put the three together), else
 * on PATH. When none of these has it, the error names the program, every
 * place looked at and the fix, rather than leaving exec's ENOENT to read as
 * the failure of something else (a missing /dev/fuse, say).
 *
 * `hutch info` also asks each helper for its --version: the first line is
 * "NAME version V (commit C)", from the same common/version.c as hutch's
 * own, so a helper of another build is told apart from hutch's.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* How long a helper may take to print its version. */
#define VERSION_TIMEOUT_MS 5000

extern char **environ;

char *sbx_self_exe(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	return strdup(self);
}

char *sbx_find_program(const char *name, const char *dirs, bool use_path)
{
	const char *env = use_path ? getenv("PATH") : NULL;
	cleanup_free char *path =
		cmn_strdup_printf("%s:%s", env ? env : "", dirs);
	char *save = NULL;

	if (!path)
		return NULL;
	for (char *dir = strtok_r(path, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		char *full;

		if (*dir != '/')
			continue;
		full = cmn_strdup_printf("%s/%s", dir, name);
		if (full && access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

void sbx_helper_free(struct sbx_helper *h)
{
	free(h->path);
	free(h->home);
	free(h->missing);
	free(h->fix);
	*h = (struct sbx_helper){ 0 };
}

/* Why access(X_OK) refused a path, in words (errno @e). */
static const char *access_words(int e)
{
	if (e == ENOENT || e == ENOTDIR)
		return "does not exist";
	if (e == EACCES)
		return "is not executable";
	return strerror(e);
}

/* $@var is set to @value: a path, or a name for a PATH search. */
static int find_from_var(const char *var, const char *value, const char *name,
			 struct sbx_helper *h)
{
	h->from = var;
	if (!strchr(value, '/')) {
		h->path = sbx_find_program(value, "", true);
		if (h->path)
			return 0;
		h->missing = cmn_strdup_printf(
			"%s=%s, and no directory of PATH has %s", var, value,
			value);
	} else if (access(value, X_OK) == 0) {
		h->path = strdup(value);
		return h->path ? 0 : -ENOMEM;
	} else {
		h->missing = cmn_strdup_printf("%s=%s %s", var, value,
					       access_words(errno));
	}
	h->fix = cmn_strdup_printf(
		"set %s to the path of %s, or unset it to use the %s next to hutch or on PATH",
		var, name, name);
	return h->missing && h->fix ? -ENOENT : -ENOMEM;
}

/* Neither next to hutch nor on PATH: say both, and what to do. */
static int not_found(const char *var, const char *name, const char *beside,
		     int e, struct sbx_helper *h)
{
	if (!h->home) {
		h->missing = cmn_strdup_printf(
			"%s is not set, hutch's own directory is unknown (/proc/self/exe cannot be read), and no directory of PATH has %s",
			var, name);
		h->fix = cmn_strdup_printf("set %s to the path of %s", var,
					   name);
	} else {
		h->missing = cmn_strdup_printf(
			"%s is not set, %s (next to hutch) %s, and no directory of PATH has %s",
			var, beside, access_words(e), name);
		h->fix =
			e == EACCES
				? cmn_strdup_printf(
					  "make %s executable (chmod +x), or set %s to the path of %s",
					  beside, var, name)
				: cmn_strdup_printf(
					  "install %s next to hutch, in %s, or set %s to its path",
					  name, h->home, var);
	}
	return h->missing && h->fix ? -ENOENT : -ENOMEM;
}

int sbx_helper_find(const char *var, const char *name, struct sbx_helper *h)
{
	const char *env = getenv(var);
	cleanup_free char *self = sbx_self_exe();
	cleanup_free char *beside = NULL;
	char *slash = self ? strrchr(self, '/') : NULL;
	int e = ENOENT;

	*h = (struct sbx_helper){ 0 };
	if (slash) {
		*slash = '\0';
		h->home = strdup(slash == self ? "/" : self);
		beside = cmn_strdup_printf("%s/%s", self, name);
		if (!h->home || !beside)
			return -ENOMEM;
	}
	if (env && *env)
		return find_from_var(var, env, name, h);
	if (beside && access(beside, X_OK) == 0) {
		h->path = steal_ptr(&beside);
		h->from = "next to hutch";
		return 0;
	}
	if (beside)
		e = errno;
	h->path = sbx_find_program(name, "", true);
	if (h->path) {
		h->from = "on PATH";
		return 0;
	}
	return not_found(var, name, beside, e, h);
}

int sbx_helper_path(const char *var, const char *name, char **path,
		    struct hutch_err *err)
{
	struct sbx_helper h;
	int ret = sbx_helper_find(var, name, &h);

	*path = steal_ptr(&h.path);
	if (ret == -ENOMEM)
		cmn_err_set(err, ENOMEM, "cannot look for %s", name);
	else if (ret < 0)
		cmn_err_msg(err, -ret, "%s not found: %s; %s", name, h.missing,
			    h.fix);
	sbx_helper_free(&h);
	return ret;
}

/* ---- --version ------------------------------------------------------------ */

/* Start "@path --version" with its stdout and stderr on @out. */
static int spawn_version(const char *path, int out, pid_t *pid)
{
	char *argv[] = { (char *)path, "--version", NULL };
	posix_spawn_file_actions_t fa;
	int ret = posix_spawn_file_actions_init(&fa);

	if (ret)
		return -ret;
	ret = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
					       0);
	if (!ret)
		ret = posix_spawn_file_actions_adddup2(&fa, out, 1);
	if (!ret)
		ret = posix_spawn_file_actions_adddup2(&fa, out, 2);
	if (!ret)
		ret = posix_spawn(pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -ret;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Read what comes on @fd into @buf until end of file, a full buffer or
 * the deadline; false at the deadline. */
static bool read_until(int fd, char *buf, size_t size, long deadline)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = deadline - now_ms();
		int r = left > 0 ? poll(&p, 1, (int)left) : 0;
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return true;
}

int sbx_helper_version(const char *path, char **first_line)
{
	char text[1024] = "";
	int fds[2], status = 0, ret;
	bool answered;
	pid_t pid;

	*first_line = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	ret = spawn_version(path, fds[1], &pid);
	close(fds[1]);
	if (ret < 0) {
		close(fds[0]);
		return ret;
	}
	answered = read_until(fds[0], text, sizeof(text),
			      now_ms() + VERSION_TIMEOUT_MS);
	close(fds[0]);
	if (!answered)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	text[strcspn(text, "\n")] = '\0';
	*first_line = strdup(text);
	if (!*first_line)
		return -ENOMEM;
	if (!answered)
		return -ETIMEDOUT;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
