// SPDX-License-Identifier: Apache-2.0
/* nsjoin.c - the child that joins the container's user and network
 * namespaces, creates the tap there and hands its descriptor back
 *
 * Creating and configuring a tap needs CAP_NET_ADMIN in the user namespace
 * that owns the container's netns. hutch-net runs as the user in the
 * host's namespaces, where it has no capability, but as the owner of the
 * container's user namespace it may join it (setns needs CAP_SYS_ADMIN in
 * the target user ns, which its owner has). Joining is one-way: a process
 * inside the container's user ns cannot return to the host's netns, and
 * libslirp's sockets must be created there. So a forked child joins, does
 * the privileged part, and passes the tap descriptor back over a unix
 * socket pair (SCM_RIGHTS) with a one-line report; the parent never leaves
 * the host's namespaces.
 *
 * With published ports the child does not exit: it already lives in the
 * container's netns, and it inherited the host listeners bound before the
 * fork, which is exactly what the forwarder needs (forward.c).
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/net-internal.h"

/* What the child tells the parent; the tap descriptor rides along. */
struct report {
	int32_t code; /* 0 or a positive errno */
	char msg[sizeof(((struct hutch_err *)0)->msg)];
};

static int open_ns(const char *path, const char *what, struct hutch_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return cmn_err_set(
			err, errno,
			"cannot open the container's %s namespace %s", what,
			path);
	return fd;
}

/* Is @fd the user namespace we are in already (setns would fail)? */
static bool is_own_userns(int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int net_ns_open(const struct net_config *cfg, struct net_ns *ns,
		struct hutch_err *err)
{
	ns->userns = ns->netns = -1;
	ns->netns = open_ns(cfg->netns_path, "network", err);
	if (ns->netns < 0)
		return ns->netns;
	if (!cfg->userns_path)
		return 0;
	ns->userns = open_ns(cfg->userns_path, "user", err);
	if (ns->userns < 0) {
		int ret = ns->userns;

		net_ns_close(ns);
		return ret;
	}
	if (is_own_userns(ns->userns)) {
		close(ns->userns);
		ns->userns = -1;
	}
	return 0;
}

void net_ns_close(struct net_ns *ns)
{
	if (ns->userns >= 0)
		close(ns->userns);
	if (ns->netns >= 0)
		close(ns->netns);
	ns->userns = ns->netns = -1;
}

static void send_report(int sock, const struct hutch_err *err, int fd)
{
	struct report r = { .code = err ? err->code : 0 };

	if (err)
		snprintf(r.msg, sizeof(r.msg), "%s", err->msg);
	/* Nothing to do when it fails: the parent sees EOF instead. */
	(void)cmn_send_fd(sock, &r, sizeof(r), fd);
}

/* Read the child's report; the descriptor if it sent one. */
static int recv_report(int sock, int *fd, struct hutch_err *err)
{
	struct report r;
	int ret = cmn_recv_fd(sock, &r, sizeof(r), fd);

	if (ret <= 0)
		return cmn_err_set(
			err, ret < 0 ? -ret : EPROTO,
			"the helper that joins the container's namespaces died before reporting");
	if (r.code == 0 && *fd >= 0)
		return 0;
	r.msg[sizeof(r.msg) - 1] = '\0';
	return cmn_err_msg(err, r.code ? r.code : EPROTO, "%s", r.msg);
}

/* Wait until the child closed its end of the socket pair. */
static void wait_eof(int sock)
{
	char c;

	while (recv(sock, &c, 1, 0) < 0 && errno == EINTR)
		;
}

/* In the child: join the namespaces and create the tap; -errno. */
static int child_setup(const struct net_config *cfg, const struct net_ns *ns,
		       struct hutch_err *err)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (ns->userns >= 0 && setns(ns->userns, CLONE_NEWUSER) < 0) {
		int ret = cmn_err_set(
			err, errno,
			"cannot join the container's user namespace");

		cmn_err_fix(err, "hutch-net must run as the user who owns it");
		return ret;
	}
	if (setns(ns->netns, CLONE_NEWNET) < 0)
		return cmn_err_set(
			err, errno,
			"cannot join the container's network namespace");
	return net_tap_setup(cfg, err);
}

static void __attribute__((noreturn))
child_main(const struct net_config *cfg, const struct net_ns *ns,
	   struct net_listener *l, size_t nl, int sock, pid_t parent)
{
	struct hutch_err err = { 0 };
	int tap, ret;

	if (net_life_pdeathsig(SIGKILL, parent) < 0)
		_exit(1);
	if (cfg->ready_fd >= 0)
		close(cfg->ready_fd);
	if (cfg->exit_fd >= 0)
		close(cfg->exit_fd);
	tap = child_setup(cfg, ns, &err);
	send_report(sock, tap < 0 ? &err : NULL, tap);
	if (tap < 0)
		_exit(1);
	close(tap);
	if (ns->userns >= 0)
		close(ns->userns);
	close(ns->netns);
	/* Last: the parent waits for this EOF, so that it reports ready
	 * with the forwarder's descriptors in their steady state. */
	close(sock);
	if (nl == 0)
		exit(0);
	ret = net_forward_run(cfg, l, nl);
	if (ret < 0)
		cmn_log(CMN_LOG_ERROR, "the port forwarder failed: %s",
			strerror(-ret));
	exit(ret < 0);
}

int net_nsjoin_spawn(const struct net_config *cfg, const struct net_ns *ns,
		     struct net_listener *listeners, size_t nlisteners,
		     int *tapfd, pid_t *fwd, struct hutch_err *err)
{
	pid_t parent = getpid(), pid;
	int sv[2], ret;

	*tapfd = -1;
	*fwd = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cmn_err_set(err, errno, "cannot create a socket pair");
	pid = fork();
	if (pid < 0) {
		ret = cmn_err_set(err, errno, "cannot fork");
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(cfg, ns, listeners, nlisteners, sv[1], parent);
	}
	close(sv[1]);
	ret = recv_report(sv[0], tapfd, err);
	if (ret == 0)
		wait_eof(sv[0]);
	close(sv[0]);
	if (ret < 0 || nlisteners == 0) {
		if (ret < 0)
			kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return ret;
	}
	*fwd = pid;
	return 0;
}
