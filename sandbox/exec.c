// SPDX-License-Identifier: Apache-2.0
/* exec.c - the last steps before the user's command: stdio, user, working
 * directory, environment, capabilities, no_new_privs, seccomp, execve
 *
 * Order matters. The user is resolved from the container's /etc while we
 * are still root; ids change with PR_SET_KEEPCAPS so that the capability
 * sets can then be cut to exactly the configured ones; the working
 * directory is entered after the id change so that permissions are the
 * user's (as Docker does); seccomp comes last because the filter may deny
 * what the steps before it need.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

__attribute__((noreturn)) static void fail(const struct sbx_plan *plan,
					   int code, struct hutch_err *err)
{
	sbx_child_fail(plan->sync, code, err);
}

/* The command starts with every signal at its default and none blocked,
 * whatever hutch's own parent left ignored (nohup, a shell's `&`). */
static void reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int setup_stdio(const struct sbx_plan *plan, const char *slave,
		       struct hutch_err *err)
{
	int fd;

	if (slave) {
		if (setsid() < 0)
			return cmn_err_set(err, errno, "setsid");
		fd = open(slave, O_RDWR | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
			return cmn_err_set(err, errno, "cannot attach %s",
					   slave);
		for (int i = 0; i < 3; i++)
			if (dup2(fd, i) < 0)
				return cmn_err_set(err, errno, "dup2");
		return 0;
	}
	if (plan->cfg->interactive || (plan->io && plan->io->stdio[0] >= 0))
		return 0;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 0) < 0)
		return cmn_err_set(err, errno, "cannot open /dev/null");
	return 0;
}

/* KEY=VALUE with KEY replaced when already present: last one wins. */
static int env_set(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (char **e = *env; e && *e; e++)
		if (!strncmp(*e, kv, klen) && (*e)[klen] == '=') {
			char *copy = strdup(kv);

			if (!copy)
				return -ENOMEM;
			free(*e);
			*e = copy;
			return 0;
		}
	return cmn_strv_push(env, strdup(kv));
}

/* @dir first on LD_LIBRARY_PATH, before what the image or -e set: the
 * host's GPU driver libraries must win over an image's own copies. */
static int lib_path_first(char ***env, const char *dir)
{
	const char *old = NULL;
	cleanup_free char *kv = NULL;

	for (char **e = *env; e && *e; e++)
		if (!strncmp(*e, "LD_LIBRARY_PATH=", 16))
			old = *e + 16;
	kv = old && *old ? cmn_strdup_printf("LD_LIBRARY_PATH=%s:%s", dir, old)
			 : cmn_strdup_printf("LD_LIBRARY_PATH=%s", dir);
	return kv ? env_set(env, kv) : -ENOMEM;
}

static char **build_env(const struct sbx_plan *plan, const struct sbx_user *u)
{
	char **env = NULL;
	char buf[512];
	int ret;

	ret = env_set(&env, "PATH=" DEFAULT_PATH);
	snprintf(buf, sizeof(buf), "HOSTNAME=%s", plan->hostname);
	ret = ret ?: env_set(&env, buf);
	snprintf(buf, sizeof(buf), "HOME=%s", u->home);
	ret = ret ?: env_set(&env, buf);
	if (plan->cfg->tty)
		ret = ret ?: env_set(&env, "TERM=xterm");
	for (char **e = plan->cfg->env; e && *e && !ret; e++)
		ret = env_set(&env, *e);
	if (!ret && plan->cfg->lib_path_first)
		ret = lib_path_first(&env, plan->cfg->lib_path_first);
	if (ret) {
		cmn_strv_free(env);
		return NULL;
	}
	return env;
}

/* -u as given; without it root, or the caller's own ids under keep-id. */
static const char *default_user(const struct sbx_plan *plan, char *buf,
				size_t len)
{
	uid_t uid;
	gid_t gid;

	if (plan->cfg->user || !plan->map.keep_id)
		return plan->cfg->user;
	sbx_idmap_container_ids(&plan->map, &uid, &gid);
	snprintf(buf, len, "%u:%u", (unsigned)uid, (unsigned)gid);
	return buf;
}

static int become_user(const struct sbx_plan *plan, const struct sbx_user *u,
		       struct hutch_err *err)
{
	/* setgroups(2) is denied for good in a single mapping; there the
	 * process keeps the host's supplementary groups, which is what lets
	 * it read group-shared project directories through -v. */
	bool groups = plan->map.full && !plan->cfg->keep_groups;
	int ret;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return cmn_err_set(err, errno, "PR_SET_KEEPCAPS");
	if (groups && setgroups(u->n_groups, u->groups) < 0)
		return cmn_err_set(err, errno, "setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0) {
		int e = errno;

		cmn_err_set(err, e, "cannot become uid %u gid %u",
			    (unsigned)u->uid, (unsigned)u->gid);
		/* Only a full mapping gets here with an unmapped id: a
		 * single one gives every user a namespace of its own. */
		if (e == EINVAL)
			cmn_err_fix(
				err,
				"that id is outside the ids this container maps (your /etc/subuid and /etc/subgid ranges): ask for larger ranges, or use --userns=single, where any user runs as you");
		return -e;
	}
	ret = sbx_caps_apply(plan->cfg->caps, u->uid);
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot set the capabilities");
	return 0;
}

static int enter_workdir(const struct sbx_config *cfg, struct hutch_err *err)
{
	const char *dir = cfg->workdir ? cfg->workdir : "/";

	if (chdir(dir) < 0)
		return cmn_err_set(err, errno,
				   "cannot enter the working directory %s",
				   dir);
	return 0;
}

static const char *env_get(char **env, const char *key)
{
	size_t klen = strlen(key);

	for (; env && *env; env++)
		if (!strncmp(*env, key, klen) && (*env)[klen] == '=')
			return *env + klen + 1;
	return NULL;
}

/* Try execve on one candidate; returns its errno when it fails. */
static int try_exec(const char *path, char **argv, char **env)
{
	execve(path, argv, env);
	return errno;
}

/* Exit code and message for a failed execve, as Docker reports them. */
__attribute__((noreturn)) static void exec_failed(const struct sbx_plan *plan,
						  const char *cmd, int e)
{
	struct hutch_err err;

	if (e == ENOENT && strchr(cmd, '/') && access(cmd, F_OK) == 0) {
		cmn_err_set(&err, e, "exec %s", cmd);
		cmn_err_fix(
			&err,
			"its interpreter (the #! line) or a library it needs is missing in the image");
		fail(plan, CMN_EXIT_NOT_FOUND, &err);
	}
	if (e == ENOENT) {
		cmn_err_msg(&err, ENOENT, "exec \"%s\": %s", cmd,
			    strchr(cmd, '/')
				    ? "no such file or directory"
				    : "executable file not found in $PATH");
		cmn_err_fix(
			&err,
			"check the command's name, or install it in the root filesystem");
		fail(plan, CMN_EXIT_NOT_FOUND, &err);
	}
	cmn_err_set(&err, e, "exec \"%s\"", cmd);
	fail(plan, CMN_EXIT_CANNOT_RUN, &err);
}

/* execvpe(3) with the container's PATH, not hutch's. */
__attribute__((noreturn)) static void exec_command(const struct sbx_plan *plan,
						   char **env)
{
	char **argv = plan->cfg->argv;
	const char *path = env_get(env, "PATH");
	char buf[4096];
	int first_err = ENOENT, e;

	if (strchr(argv[0], '/'))
		exec_failed(plan, argv[0], try_exec(argv[0], argv, env));
	for (const char *p = path ? path : DEFAULT_PATH; p;) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)dlen, dlen ? p : ".",
			 argv[0]);
		e = try_exec(buf, argv, env);
		if (e != ENOENT && e != ENOTDIR && first_err == ENOENT)
			first_err = e;
		p = end ? end + 1 : NULL;
	}
	exec_failed(plan, argv[0], first_err);
}

/*
 * Loading a filter needs no_new_privs or CAP_SYS_ADMIN. With no_new_privs
 * (the default) it is loaded last, so that the filter covers the command
 * from its first instruction and hutch's own steps run unfiltered; without
 * it, before the capabilities are cut, while CAP_SYS_ADMIN is still held.
 */
static void load_seccomp(const struct sbx_plan *plan)
{
	struct hutch_err err;
	int ret;

	if (!plan->bpf.len)
		return;
	ret = sbx_seccomp_apply(&plan->bpf);
	if (ret < 0) {
		cmn_err_set(&err, -ret, "cannot load the seccomp profile");
		fail(plan, CMN_EXIT_HUTCH, &err);
	}
}

/* --ulimit. A user namespace gives no CAP_SYS_RESOURCE over the host's
 * limits: a hard limit above the one hutch runs under is refused here. */
static int apply_rlimits(const struct sbx_config *cfg, struct hutch_err *err)
{
	for (int i = 0; i < SBX_RLIMITS; i++) {
		const struct sbx_rlimit *r = &cfg->rlimits[i];
		struct rlimit rl = { .rlim_cur = r->soft, .rlim_max = r->hard };

		if (r->set && setrlimit(i, &rl) < 0)
			return cmn_err_msg(
				err, errno,
				"--ulimit %s=%llu:%llu: %s; a rootless container cannot raise a hard limit above the one hutch runs under (see ulimit -H -a)",
				sbx_rlimit_name(i), (unsigned long long)r->soft,
				(unsigned long long)r->hard, strerror(errno));
	}
	return 0;
}

void sbx_exec_command(const struct sbx_plan *plan, const char *pty_slave)
{
	struct hutch_err err = { 0 };
	pid_t parent = getppid();
	struct sbx_user user;
	char spec[32];
	char **env;

	reset_signals();
	if (setup_stdio(plan, pty_slave, &err) < 0)
		fail(plan, CMN_EXIT_HUTCH, &err);
	if (sbx_user_resolve(default_user(plan, spec, sizeof(spec)),
			     "/etc/passwd", "/etc/group", &user, &err) < 0)
		fail(plan, CMN_EXIT_HUTCH, &err);
	env = build_env(plan, &user);
	if (!env) {
		cmn_err_set(&err, ENOMEM, "environment");
		fail(plan, CMN_EXIT_HUTCH, &err);
	}
	/* Docker creates a missing working directory, as root. */
	if (plan->cfg->workdir && cmn_mkdir_p(plan->cfg->workdir, 0755) < 0)
		cmn_debug("cannot create %s: %s", plan->cfg->workdir,
			  strerror(errno));
	/* A user a single mapping lacks is the caller, in a namespace of its
	 * own (idmap.c); made before any seccomp filter denies unshare(2). */
	if (sbx_idmap_nests(&plan->map, user.uid, user.gid) &&
	    sbx_idmap_nest(user.uid, user.gid, &err) < 0)
		fail(plan, CMN_EXIT_HUTCH, &err);
	if (!plan->cfg->no_new_privs)
		load_seccomp(plan);
	if (apply_rlimits(plan->cfg, &err) < 0 ||
	    become_user(plan, &user, &err) < 0 ||
	    enter_workdir(plan->cfg, &err) < 0)
		fail(plan, CMN_EXIT_HUTCH, &err);
	if (plan->cfg->no_new_privs) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			cmn_err_set(&err, errno, "PR_SET_NO_NEW_PRIVS");
			fail(plan, CMN_EXIT_HUTCH, &err);
		}
		load_seccomp(plan);
	}
	/* A group member's command is no child of the container's pid 1:
	 * it must not outlive the hutch that runs it (a killed rank). With
	 * the host's pid namespace no pid 1 takes the command down with it
	 * either: it dies with its parent, hutch's init, which dies with
	 * hutch (the command's own children then go to the host's reaper:
	 * only a pid namespace or a cgroup holds those). Set after the
	 * change of user, which clears it; a parent already gone is seen. */
	if ((plan->join && plan->io) || plan->cfg->pid == SBX_SHARE_HOST) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (plan->cfg->pid == SBX_SHARE_HOST && getppid() != parent)
			_exit(CMN_EXIT_HUTCH);
	}
	exec_command(plan, env);
}
