// SPDX-License-Identifier: Apache-2.0
/* netstart.c - --network slirp: start hutch-net for a container and wait
 * until its network is usable
 *
 * hutch-net runs in the host's namespaces, joins the container's network
 * namespace to make and configure the tap device, binds the published
 * ports, and says so on a ready pipe (one NUL byte, or an error line such
 * as a port already taken). Before that it lists the ports it bound on a
 * third pipe (--ports-fd), so that a port the kernel chose ("-p 8080")
 * can be reported by ps, port and inspect. Only then does the container's
 * command start, so its first connect cannot race the network. It exits when the exit
 * pipe, whose write end only hutch (or the container's monitor) holds,
 * closes: when the container ends, and when its runner is killed.
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
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define READY_TIMEOUT_MS 30000

extern char **environ;

static char **helper_argv(const struct sbx_config *cfg, const char *path,
			  pid_t pid)
{
	char **argv = NULL;

	cmn_strv_push(&argv, strdup(path));
	cmn_strv_push(&argv, strdup("--ready-fd=3"));
	cmn_strv_push(&argv, strdup("--exit-fd=4"));
	if (cfg->ports)
		cmn_strv_push(&argv, strdup("--ports-fd=5"));
	if (cfg->allow_host_loopback)
		cmn_strv_push(&argv, strdup("--allow-host-loopback"));
	for (char **p = cfg->ports; p && *p; p++)
		cmn_strv_push(&argv, cmn_strdup_printf("--publish=%s", *p));
	cmn_strv_push(&argv, cmn_strdup_printf("%d", (int)pid));
	return argv;
}

/* @fds[0..2] become the helper's 3, 4 and 5: each moved above 9 first,
 * so that no dup2 overwrites a descriptor that a later one copies from. */
static int spawn(char **argv, const int fds[3], pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int high[3] = { -1, -1, -1 };
	int ret = posix_spawn_file_actions_init(&fa);

	for (int i = 0; ret == 0 && i < 3; i++) {
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
		if (high[i] < 0)
			ret = errno;
		else
			ret = posix_spawn_file_actions_adddup2(&fa, high[i],
							       3 + i);
	}
	if (ret == 0)
		ret = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 3; i++)
		if (high[i] >= 0)
			close(high[i]);
	return ret;
}

/* The lines hutch-net wrote on --ports-fd (it closed it before ready). */
static char **read_ports(int fd)
{
	char buf[8192], *save = NULL;
	char **lines = NULL;
	ssize_t n = cmn_read_all(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	for (char *l = strtok_r(buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		if (cmn_strv_push(&lines, strdup(l)) < 0)
			break;
	return lines;
}

/* One NUL byte: ready. Anything else is hutch-net's error line. */
static int wait_ready(int fd, const char *path, struct hutch_err *err)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char msg[512];
	ssize_t n;

	if (poll(&p, 1, READY_TIMEOUT_MS) <= 0)
		return cmn_err_msg(err, ETIMEDOUT,
				   "%s did not set up the network within %d s",
				   path, READY_TIMEOUT_MS / 1000);
	n = cmn_read_all(fd, msg, sizeof(msg) - 1);
	if (n >= 1 && msg[0] == '\0')
		return 0;
	msg[n > 0 ? n : 0] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	return cmn_err_msg(
		err, EADDRINUSE, "%s",
		n > 0 ? msg : "hutch-net exited before the network was ready");
}

int sbx_net_start(const struct sbx_config *cfg, pid_t pid, struct sbx_net *net,
		  struct hutch_err *err)
{
	cleanup_free char *path = NULL;
	cleanup_strv char **argv = NULL;
	int ready[2], ex[2], ports[2], ret;

	net->pid = -1;
	net->exit_fd = -1;
	net->bound = NULL;
	ret = sbx_helper_path("HUTCH_NET", "hutch-net", &path, err);
	if (ret < 0) {
		cmn_err_prefix(err, "cannot start the container's network");
		return ret;
	}
	argv = helper_argv(cfg, path, pid);
	if (!argv)
		return cmn_err_set(err, ENOMEM, "network");
	if (pipe2(ready, O_CLOEXEC) < 0)
		return cmn_err_set(err, errno, "pipe");
	if (pipe2(ex, O_CLOEXEC) < 0 || pipe2(ports, O_CLOEXEC) < 0) {
		ret = cmn_err_set(err, errno, "pipe");
		close(ready[0]);
		close(ready[1]);
		return ret;
	}
	ret = spawn(argv, (int[3]){ ready[1], ex[0], ports[1] }, &net->pid);
	close(ready[1]);
	close(ex[0]);
	close(ports[1]);
	if (ret) {
		close(ready[0]);
		close(ex[1]);
		close(ports[0]);
		return cmn_err_set(err, ret, "cannot start %s", path);
	}
	net->exit_fd = ex[1];
	ret = wait_ready(ready[0], path, err);
	close(ready[0]);
	if (ret == 0 && cfg->ports)
		net->bound = read_ports(ports[0]);
	close(ports[0]);
	if (ret < 0)
		sbx_net_stop(net);
	return ret;
}

void sbx_net_stop(struct sbx_net *net)
{
	if (net->exit_fd >= 0)
		close(net->exit_fd);
	net->exit_fd = -1;
	if (net->pid > 0) {
		int ws;

		/* It exits on the closed pipe; a stuck one gets no mercy. */
		for (int i = 0; i < 200 && waitpid(net->pid, &ws, WNOHANG) == 0;
		     i++)
			poll(NULL, 0, 10);
		if (waitpid(net->pid, &ws, WNOHANG) == 0) {
			kill(net->pid, SIGKILL);
			waitpid(net->pid, &ws, 0);
		}
	}
	net->pid = -1;
	cmn_strv_free(net->bound);
	net->bound = NULL;
}
