// SPDX-License-Identifier: Apache-2.0
/* sandbox.c - run a container in the foreground: hutch's (the parent's) side
 *
 * Theory of operation
 *
 *   hutch (host user, host namespaces)           the parent, this file
 *    └─ clone(NEWUSER|NEWNS|NEWPID|NEWUTS|NEWIPC|NEWCGROUP[|NEWNET])
 *        hutch-init, pid 1                        child.c, mounts.c, init.c
 *         └─ fork → the command, pid 2             exec.c
 *
 * "Decide, then do": everything that can be decided on the host is decided
 * here before the clone — the id mapping, the compiled seccomp program, the
 * generated /etc files, the terminal size — so the container side only
 * executes a plan and has little to get wrong.
 *
 * The parent clones the child into new namespaces, writes its uid_map and
 * gid_map (the child cannot: it has no privilege over the host's ids), and
 * says GO over a SOCK_SEQPACKET socketpair. The child builds the mount
 * tree, pivots, forks the command and becomes its init. Failures before
 * exec come back as one message on the socket; the socket is close-on-exec,
 * so end-of-file tells the parent that the command is running.
 *
 * The parent then forwards the signals a user or a batch system sends it
 * (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH) to pid 1,
 * which passes them on to the command; with -t it relays the terminal. One
 * poll loop over a signalfd, the socket and the terminal does all of it.
 * The child has PR_SET_PDEATHSIG(SIGKILL): if hutch is killed, pid 1 dies
 * and the kernel kills everything in its pid namespace.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* ---- the plan ----------------------------------------------------------- */

/* --add-host's lines; "host-gateway" is the host as the container's
 * network reaches it (slirp's 10.0.2.2, else the shared loopback). */
static char *extra_hosts(const struct sbx_config *cfg)
{
	char *out = strdup("");

	for (char **h = cfg->add_hosts; out && h && *h; h++) {
		const char *sp = strchr(*h, ' ');
		const char *ip = sp ? sp + 1 : "";
		char *more;

		if (!strcmp(ip, "host-gateway"))
			ip = cfg->network == SBX_NET_SLIRP ? "10.0.2.2"
							   : "127.0.0.1";
		more = cmn_strdup_printf("%s%s\t%.*s\n", out, ip,
					 (int)(sp ? sp - *h : 0), *h);
		free(out);
		out = more;
	}
	return out;
}

static char *etc_hosts(const struct sbx_plan *plan)
{
	cleanup_free char *host = NULL;
	cleanup_free char *extra = extra_hosts(plan->cfg);

	/* With the host's network the host's names (cluster nodes, often
	 * only in /etc/hosts on HPC) must resolve as they do outside. */
	if (plan->cfg->network == SBX_NET_HOST)
		host = cmn_read_fileat(AT_FDCWD, "/etc/hosts", 1 << 20, NULL);
	return cmn_strdup_printf(
		"127.0.0.1\tlocalhost\n"
		"::1\tlocalhost ip6-localhost ip6-loopback\n"
		"%s\t%s\n%s%s%s",
		plan->cfg->network == SBX_NET_SLIRP ? "10.0.2.100"
						    : "127.0.1.1",
		plan->hostname, extra ? extra : "",
		host ? "\n# from the host\n" : "", host ? host : "");
}

static int plan_files(struct sbx_plan *plan, struct hutch_err *err)
{
	const struct sbx_config *cfg = plan->cfg;

	/* Docker's rule: on the host's network (or with its UTS namespace)
	 * the container keeps the node's name unless -h names another;
	 * launchers (MPI, Slurm's) match ranks to nodes by it. */
	if (!cfg->hostname &&
	    (cfg->network == SBX_NET_HOST || cfg->uts == SBX_SHARE_HOST)) {
		if (gethostname(plan->hostname, sizeof(plan->hostname) - 1) < 0)
			return cmn_err_set(err, errno, "gethostname");
	} else {
		snprintf(plan->hostname, sizeof(plan->hostname), "%s",
			 cfg->hostname ? cfg->hostname : cfg->id);
		if (!cfg->hostname)
			plan->hostname[12] = '\0';
	}
	plan->etc_hostname = cmn_strdup_printf("%s\n", plan->hostname);
	plan->etc_hosts = etc_hosts(plan);
	/* With user-mode networking, names go through slirp's forwarder. */
	if (cfg->network == SBX_NET_SLIRP)
		plan->etc_resolv = strdup("nameserver 10.0.2.3\n");
	else
		plan->etc_resolv = cmn_read_fileat(AT_FDCWD, "/etc/resolv.conf",
						   1 << 20, NULL);
	if (!plan->etc_resolv)
		plan->etc_resolv = strdup("");
	if (!plan->etc_hostname || !plan->etc_hosts || !plan->etc_resolv)
		return cmn_err_set(err, ENOMEM, "cannot prepare /etc files");
	return 0;
}

static int plan_make(const struct sbx_config *cfg, struct sbx_plan *plan,
		     struct hutch_err *err)
{
	int ret;

	memset(plan, 0, sizeof(*plan));
	plan->cfg = cfg;
	plan->sync = -1;
	plan->storage_daemon = -1;
	plan->squashfs_daemon = -1;
	ret = sbx_idmap_plan(cfg->userns, &plan->map, NULL, err);
	if (ret == 0 && !cfg->seccomp_unconfined)
		ret = sbx_seccomp_compile_cached(
			cfg->seccomp_profile,
			cfg->caps |
				(cfg->fake_root ? SBX_SECCOMP_FAKE_ROOT : 0),
			&plan->bpf, err);
	if (ret == 0)
		ret = plan_files(plan, err);
	if (cfg->tty)
		sbx_term_size(&plan->winsize);
	return ret;
}

static void plan_free(struct sbx_plan *plan)
{
	sbx_bpf_free(&plan->bpf);
	free(plan->etc_hosts);
	free(plan->etc_hostname);
	free(plan->etc_resolv);
	free(plan->mount_daemons);
}

/* ---- starting the child ------------------------------------------------- */

static unsigned long clone_flags(const struct sbx_config *cfg)
{
	unsigned long f = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP;

	if (cfg->network != SBX_NET_HOST)
		f |= CLONE_NEWNET;
	/* Sharing the host's (the caller's) namespace gives nothing the
	 * user lacks: the new user namespace holds no capability over it. */
	if (cfg->pid != SBX_SHARE_HOST)
		f |= CLONE_NEWPID;
	if (cfg->ipc != SBX_SHARE_HOST)
		f |= CLONE_NEWIPC;
	if (cfg->uts != SBX_SHARE_HOST)
		f |= CLONE_NEWUTS;
	return f;
}

/* A raw clone behaves like fork(2) but puts the child in new namespaces at
 * once; with CLONE_NEWPID the child is pid 1 of its namespace. */
static pid_t clone_child(unsigned long flags)
{
	pid_t pid =
		(pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);

	/* Kernels built without cgroup namespaces refuse the flag. */
	if (pid < 0 && errno == EINVAL && (flags & CLONE_NEWCGROUP))
		pid = (pid_t)syscall(SYS_clone,
				     (flags & ~CLONE_NEWCGROUP) | SIGCHLD, NULL,
				     NULL, NULL, 0);
	return pid;
}

/* Add the sysctl that forbids unprivileged user namespaces to @err, when
 * one does; false when none does. */
static bool add_userns_blocker(struct hutch_err *err)
{
	cleanup_free char *why = sbx_userns_blocker(sbx_procsys());

	if (why)
		cmn_err_fix(err, "%s", why);
	return why != NULL;
}

static int clone_failed(int e, struct hutch_err *err)
{
	cmn_err_set(err, e, "cannot create the container's namespaces");
	if (!add_userns_blocker(err))
		cmn_err_fix(err,
			    "run 'hutch info' to see what this machine allows");
	return -e;
}

/* Let the child go on, unless @ret says setting it up failed. */
static int send_go(int sock, pid_t pid, int ret, struct hutch_err *err)
{
	struct sbx_msg go = { .type = SBX_MSG_GO };

	if (ret == 0 && sbx_msg_send(sock, &go, -1) < 0)
		ret = cmn_err_set(err, errno, "cannot start the container");
	if (ret < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sock);
		return ret;
	}
	return sock;
}

/* The sync socket and the child that runs @child_main: cloned into new
 * namespaces with @flags, or a plain fork for 0. Return: hutch's end of
 * the socket, or -errno with @err. */
static int spawn(struct sbx_plan *plan, unsigned long flags,
		 void (*child_main)(struct sbx_plan *plan), pid_t *pid,
		 struct hutch_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cmn_err_set(err, errno, "socketpair");
	plan->sync = sv[1];
	*pid = flags ? clone_child(flags) : fork();
	if (*pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return flags ? clone_failed(e, err)
			     : cmn_err_set(err, e, "fork");
	}
	if (*pid == 0) {
		close(sv[0]);
		child_main(plan);
	}
	close(sv[1]);
	return sv[0];
}

/* The driver of the root and of the overlays among the mounts (a build's
 * RUN --mount=from=STAGE), NULL when there is none of either. */
static const struct sbx_storage_driver *
plan_storage(const struct sbx_config *cfg)
{
	if (cfg->lowers)
		return sbx_storage_of(cfg);
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i].kind == SBX_MOUNT_LAYERS)
			return sbx_storage_pick(cfg->storage,
						cfg->mounts[i].src, NULL);
	return NULL;
}

/* The overlays among the mounts, checked by @d before the clone. */
static int prepare_mounts(struct sbx_plan *plan,
			  const struct sbx_storage_driver *d,
			  struct hutch_err *err)
{
	const struct sbx_config *cfg = plan->cfg;
	struct sbx_layers l;
	int ret = 0;

	plan->mount_daemons = calloc(cfg->n_mounts + 1, sizeof(pid_t));
	if (!plan->mount_daemons)
		return cmn_err_set(err, ENOMEM, "mounts");
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		plan->mount_daemons[i] = -1;
		sbx_mount_layers_of(&cfg->mounts[i], &l);
		if (ret == 0 && cfg->mounts[i].kind == SBX_MOUNT_LAYERS &&
		    d->prepare)
			ret = d->prepare(&l, err);
	}
	return ret;
}

/* Overlays a driver mounts from the host: each on its mount's @src, in
 * the child's namespaces, before it binds them into its tree. */
static int mount_from_host(struct sbx_plan *plan, pid_t pid,
			   struct hutch_err *err)
{
	const struct sbx_config *cfg = plan->cfg;
	struct sbx_layers l;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < cfg->n_mounts; i++) {
		if (cfg->mounts[i].kind != SBX_MOUNT_LAYERS)
			continue;
		sbx_mount_layers_of(&cfg->mounts[i], &l);
		ret = plan->storage->mount(&l, cfg->mounts[i].src, pid,
					   &plan->mount_daemons[i], err);
	}
	return ret;
}

static int start_child(struct sbx_plan *plan, pid_t *pid, struct sbx_net *net,
		       struct hutch_err *err)
{
	const struct sbx_storage_driver *d = plan->storage =
		plan_storage(plan->cfg);
	struct sbx_layers layers;
	int sock, ret = 0;

	sbx_config_layers(plan->cfg, &layers);
	if (d && plan->cfg->lowers && d->prepare)
		ret = d->prepare(&layers, err);
	if (ret == 0 && d)
		ret = prepare_mounts(plan, d, err);
	if (ret < 0)
		return ret;
	sock = spawn(plan, clone_flags(plan->cfg), sbx_child_main, pid, err);
	if (sock < 0)
		return sock;
	ret = sbx_idmap_apply(*pid, &plan->map, err);
	/* A .sqsh lower is served before any driver mounts over it. */
	if (ret == 0 && plan->cfg->squashfs)
		ret = sbx_squashfs_mount(plan->cfg, *pid,
					 &plan->squashfs_daemon, err);
	/* A root mounted from the host (hutch-overlay) is there, in the
	 * child's namespaces, before it builds its mount tree on it. */
	if (ret == 0 && d && d->from_host && plan->cfg->lowers)
		ret = d->mount(&layers, plan->cfg->rootfs, *pid,
			       &plan->storage_daemon, err);
	if (ret == 0 && d && d->from_host)
		ret = mount_from_host(plan, *pid, err);
	/* The network is up, its ports bound, before the command starts. */
	if (ret == 0 && plan->cfg->network == SBX_NET_SLIRP)
		ret = sbx_net_start(plan->cfg, *pid, net, err);
	return send_go(sock, *pid, ret, err);
}

/* exec, and a joined group's members: a plain fork; the child joins the
 * container's namespaces. */
static int start_joiner(struct sbx_plan *plan, pid_t *pid,
			struct hutch_err *err)
{
	int sock = spawn(plan, 0, sbx_join_main, pid, err);

	return sock < 0 ? sock : send_go(sock, *pid, 0, err);
}

/* ---- the parent's loop ---------------------------------------------------- */

struct parent {
	const struct sbx_run_io *io; /* NULL in the foreground */
	pid_t child;
	int sync; /* -1 once the command runs (end-of-file) */
	int sigfd;
	int master;	/* pty master, -1 without -t */
	int capture[2]; /* the command's stdout and stderr pipes, or -1 */
	bool read_stdin;
	bool watched;	    /* io->watch was called */
	char *const *ports; /* what hutch-net bound, for io->started */
	bool done;
	int status;
	struct sbx_msg error; /* type 0 when none came */
	struct sbx_term term;
};

static void on_child_exit(struct parent *p)
{
	int ws;

	if (waitpid(p->child, &ws, WNOHANG) != p->child)
		return;
	p->done = true;
	if (WIFEXITED(ws))
		p->status = WEXITSTATUS(ws);
	else if (WIFSIGNALED(ws))
		p->status = 128 + WTERMSIG(ws);
}

static void on_signal(struct parent *p)
{
	struct signalfd_siginfo si;

	while (read(p->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			on_child_exit(p);
		} else if (si.ssi_signo == SIGWINCH && p->master >= 0) {
			struct winsize ws;

			sbx_term_size(&ws);
			ioctl(p->master, TIOCSWINSZ, &ws);
		} else {
			kill(p->child, (int)si.ssi_signo);
		}
	}
}

static void on_sync(struct parent *p)
{
	struct sbx_msg msg;
	int fd = -1;
	int n = sbx_msg_recv(p->sync, &msg, &fd);

	if (n <= 0) {
		close(p->sync);
		p->sync = -1;
		/* End-of-file without an error: the command runs. */
		if (p->error.type != SBX_MSG_ERROR && p->io && p->io->started)
			p->io->started(p->io->ctx, p->child, p->ports);
		return;
	}
	if (msg.type == SBX_MSG_ERROR)
		p->error = msg;
	if (msg.type == SBX_MSG_PTY && fd >= 0 && p->master < 0) {
		p->master = fd;
		if (p->read_stdin)
			sbx_term_raw(&p->term);
		return;
	}
	if (fd >= 0)
		close(fd);
}

/* Copy what is there from @from to @to, or to the output hook for
 * @stream when there is one; false at end-of-file or error. */
static bool relay(const struct parent *p, int from, int to, int stream)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (stream && p->io && p->io->output) {
		p->io->output(p->io->ctx, stream, buf, (size_t)n);
		return true;
	}
	return cmn_write_all(to, buf, n) == 0;
}

enum {
	I_SIG,
	I_SYNC,
	I_MASTER,
	I_STDIN,
	I_OUT,
	I_ERR,
	I_WATCH,
	I_MAX
};

static void poll_once(struct parent *p)
{
	struct pollfd fds[I_MAX];

	for (int i = 0; i < I_MAX; i++)
		fds[i] = (struct pollfd){ -1, POLLIN, 0 };
	fds[I_SIG].fd = p->sigfd;
	fds[I_SYNC].fd = p->sync;
	fds[I_MASTER].fd = p->master;
	if (p->master >= 0 && p->read_stdin)
		fds[I_STDIN].fd = 0;
	fds[I_OUT].fd = p->capture[0];
	fds[I_ERR].fd = p->capture[1];
	if (p->io && p->io->watch && !p->watched)
		fds[I_WATCH].fd = p->io->watch_fd;
	if (poll(fds, I_MAX, -1) < 0)
		return;
	if (fds[I_WATCH].revents) {
		p->watched = true;
		p->io->watch(p->io->ctx);
	}
	if (fds[I_SIG].revents)
		on_signal(p);
	if (fds[I_SYNC].revents)
		on_sync(p);
	if (fds[I_MASTER].revents && !relay(p, p->master, 1, 1)) {
		close(p->master);
		p->master = -1;
	}
	if (fds[I_STDIN].revents && !relay(p, 0, p->master, 0))
		p->read_stdin = false;
	for (int i = 0; i < 2; i++)
		if (fds[I_OUT + i].revents &&
		    !relay(p, p->capture[i], 1 + i, 1 + i))
			p->capture[i] = -1;
}

/* Whatever @fd still holds, without blocking. */
static void drain_fd(const struct parent *p, int fd, int stream)
{
	if (fd < 0)
		return;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (relay(p, fd, 1, stream)) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (poll(&pfd, 1, 0) <= 0)
			break;
	}
}

/* After pid 1 exited: take the last error message and terminal output. */
static void drain(struct parent *p)
{
	while (p->sync >= 0) {
		struct pollfd pfd = { p->sync, POLLIN, 0 };

		if (poll(&pfd, 1, 0) <= 0)
			break;
		on_sync(p);
	}
	drain_fd(p, p->master, 1);
	for (int i = 0; i < 2; i++)
		drain_fd(p, p->capture[i], 1 + i);
}

/* The signals to forward, less those hutch was started with ignored:
 * `nohup hutch run ...` means the container must survive the hang-up. */
static int signal_fd(sigset_t *old)
{
	sigset_t set;

	sbx_init_signals(&set);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sigismember(&set, sig) && sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_IGN)
			sigdelset(&set, sig);
	}
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void parent_loop(struct parent *p)
{
	while (!p->done)
		poll_once(p);
	drain(p);
	sbx_term_restore(&p->term);
	if (p->master >= 0)
		close(p->master);
	if (p->sync >= 0)
		close(p->sync);
}

/* Run @cfg as a new container, or in the one whose pid 1 is @join. */
static int run_plan(const struct sbx_config *cfg, const struct sbx_run_io *io,
		    pid_t join, int *status, struct hutch_err *err)
{
	struct parent p = { .io = io,
			    .sync = -1,
			    .sigfd = -1,
			    .master = -1,
			    .capture = { -1, -1 } };
	struct sbx_net net = { .pid = -1, .exit_fd = -1, .bound = NULL };
	struct sbx_plan plan;
	sigset_t old;
	int ret;

	*status = CMN_EXIT_HUTCH;
	if (io) {
		p.capture[0] = io->capture[0];
		p.capture[1] = io->capture[1];
	}
	ret = plan_make(cfg, &plan, err);
	plan.io = io;
	plan.join = join;
	if (ret == 0 && (p.sigfd = signal_fd(&old)) < 0)
		ret = cmn_err_set(err, errno, "signalfd");
	if (ret == 0)
		ret = p.sync = join ? start_joiner(&plan, &p.child, err)
				    : start_child(&plan, &p.child, &net, err);
	if (ret >= 0) {
		p.ports = net.bound;
		p.read_stdin = cfg->tty && cfg->interactive;
		parent_loop(&p);
		*status = p.status;
		ret = 0;
		if (p.error.type == SBX_MSG_ERROR) {
			ret = cmn_err_msg(err, 0, "%s", p.error.text);
			*status = p.error.code;
			/* Under Ubuntu's AppArmor restriction the clone
			 * succeeds and the setup's first mount fails with
			 * EPERM: the namespace has no capabilities. */
			if (*status == CMN_EXIT_HUTCH &&
			    strstr(p.error.text, strerror(EPERM)))
				add_userns_blocker(err);
		}
	}
	sbx_net_stop(&net);
	/* The root's mount went with the container's mount namespace; what
	 * served it is left to reap. */
	if (plan.storage)
		plan.storage->unmount(NULL, plan.storage_daemon);
	for (size_t i = 0; plan.mount_daemons && i < cfg->n_mounts; i++)
		if (plan.mount_daemons[i] > 0)
			plan.storage->unmount(NULL, plan.mount_daemons[i]);
	sbx_fuse_reap(plan.squashfs_daemon);
	if (p.sigfd >= 0) {
		close(p.sigfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	plan_free(&plan);
	return ret;
}

int sbx_run(const struct sbx_config *cfg, const struct sbx_run_io *io,
	    int *status, struct hutch_err *err)
{
	return run_plan(cfg, io, 0, status, err);
}

int sbx_exec(const struct sbx_config *cfg, pid_t init, int *status,
	     struct hutch_err *err)
{
	return run_plan(cfg, NULL, init, status, err);
}

int sbx_run_in(const struct sbx_config *cfg, const struct sbx_run_io *io,
	       pid_t init, int *status, struct hutch_err *err)
{
	return run_plan(cfg, io, init, status, err);
}
