// SPDX-License-Identifier: Apache-2.0
/* userns.c - run one function as root of a user namespace
 *
 * Unpacking a layer must create files owned by the image's users (with a
 * full mapping) and 0/0 whiteout devices (mknod(2) needs CAP_MKNOD in the
 * namespace that owns the filesystem's view); deleting such a tree later
 * needs the same ids. A child process in a new user namespace with the
 * containers' mapping does that work; the result travels back over a pipe
 * as one message: the return code, the error text and @out's bytes.
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

struct result {
	int ret;
	struct hutch_err err;
};

__attribute__((noreturn)) static void
child(int go, int res, int (*fn)(void *, void *, struct hutch_err *), void *arg,
      void *out, size_t out_len)
{
	struct result r = { 0 };
	char byte;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cmn_read_all(go, &byte, 1) != 1)
		_exit(1);
	r.ret = fn(arg, out, &r.err);
	if (cmn_write_all(res, &r, sizeof(r)) < 0 ||
	    (out_len && cmn_write_all(res, out, out_len) < 0))
		_exit(1);
	_exit(0);
}

static int collect(pid_t pid, int res, void *out, size_t out_len,
		   struct hutch_err *err)
{
	struct result r;
	ssize_t n = cmn_read_all(res, &r, sizeof(r));
	int status = 0;

	if (n == (ssize_t)sizeof(r) && out_len)
		n = cmn_read_all(res, out, out_len) == (ssize_t)out_len ? n
									: -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		return cmn_err_msg(err, EIO,
				   "the user-namespace helper died (status %d)",
				   status);
	if (r.ret < 0 && err)
		*err = r.err;
	return r.ret;
}

typedef int (*call_fn)(void *arg, void *out, struct hutch_err *err);

/* @fn in a child cloned with @flags; with @map, the child's new user
 * namespace gets it before @fn runs. */
static int call_in_child(unsigned long flags, const struct sbx_idmap *map,
			 call_fn fn, void *arg, void *out, size_t out_len,
			 struct hutch_err *err)
{
	int go[2], res[2], ret = 0;
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return cmn_err_set(err, errno, "pipe");
	if (pipe2(res, O_CLOEXEC) < 0) {
		ret = cmn_err_set(err, errno, "pipe");
		close(go[0]);
		close(go[1]);
		return ret;
	}
	pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0) {
		close(go[1]);
		close(res[0]);
		child(go[0], res[1], fn, arg, out, out_len);
	}
	close(go[0]);
	close(res[1]);
	if (pid < 0)
		ret = cmn_err_set(err, errno, "cannot create a user namespace");
	else if (map)
		ret = sbx_idmap_apply(pid, map, err);
	if (pid > 0 && ret == 0 && cmn_write_all(go[1], "g", 1) < 0)
		ret = cmn_err_set(err, errno, "cannot start the helper");
	close(go[1]);
	if (pid > 0 && ret < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	} else if (pid > 0) {
		ret = collect(pid, res[0], out, out_len, err);
	}
	close(res[0]);
	return ret;
}

int sbx_userns_call(enum sbx_userns mode, call_fn fn, void *arg, void *out,
		    size_t out_len, struct hutch_err *err)
{
	struct sbx_idmap map;
	int ret = sbx_idmap_plan(mode == SBX_USERNS_KEEP_ID ? SBX_USERNS_AUTO
							    : mode,
				 &map, NULL, err);

	if (ret < 0)
		return ret;
	return call_in_child(CLONE_NEWUSER | CLONE_NEWNS, &map, fn, arg, out,
			     out_len, err);
}

struct join_job {
	pid_t target;
	call_fn fn;
	void *arg;
};

static int join_then_call(void *arg, void *out, struct hutch_err *err)
{
	const struct join_job *j = arg;
	char path[64];
	cleanup_close int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)j->target);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
		return cmn_err_set(
			err, errno,
			"cannot enter the container's user namespace");
	return j->fn(j->arg, out, err);
}

int sbx_userns_join_call(pid_t target, call_fn fn, void *arg, void *out,
			 size_t out_len, struct hutch_err *err)
{
	struct join_job j = { target, fn, arg };

	return call_in_child(0, NULL, join_then_call, &j, out, out_len, err);
}

struct remove_job {
	const char *parent;
	const char *name;
};

static int remove_in_ns(void *arg, void *out, struct hutch_err *err)
{
	const struct remove_job *job = arg;
	cleanup_close int fd =
		open(job->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	(void)out;
	if (fd < 0)
		return cmn_err_set(err, errno, "cannot open %s", job->parent);
	ret = cmn_remove_tree(fd, job->name);
	if (ret < 0)
		cmn_err_set(err, -ret, "cannot remove %s/%s", job->parent,
			    job->name);
	return ret;
}

/* Our own files go without help; trees with files of subordinate ids (a
 * layer, a container's upper directory) need root of the namespace. */
int sbx_remove_tree(const char *path, struct hutch_err *err)
{
	cleanup_free char *copy = strdup(path);
	char *slash = copy ? strrchr(copy, '/') : NULL;
	struct remove_job job;
	int ret;

	if (!slash || slash == copy || !slash[1])
		return cmn_err_msg(err, EINVAL, "refusing to remove %s", path);
	*slash = '\0';
	job = (struct remove_job){ copy, slash + 1 };
	ret = cmn_remove_tree(AT_FDCWD, path);
	if (ret == -EACCES || ret == -EPERM)
		ret = sbx_userns_call(SBX_USERNS_AUTO, remove_in_ns, &job, NULL,
				      0, err);
	else if (ret < 0)
		cmn_err_set(err, -ret, "cannot remove %s", path);
	return ret;
}
