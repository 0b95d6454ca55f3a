// SPDX-License-Identifier: Apache-2.0
/* unshare.c - `hutch unshare`: a command as root of hutch's user namespace
 * (the containers' id mapping), like `podman unshare`: the way to inspect
 * or delete files in the store that belong to subordinate ids */

#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"

static int unshare_main(int argc, char **argv);

const struct cli_cmd cli_unshare_cmd = {
	.name = "unshare",
	.usage = "unshare [COMMAND [ARG...]]",
	.summary = "Run a command as root of hutch's user namespace.",
	.description =
		"Run a command as root of hutch's user namespace (default: your shell).",
	.main = unshare_main,
};

struct job {
	char **argv;
	int status;
};

static int run_command(void *arg, void *out, struct hutch_err *err)
{
	struct job *j = arg;
	int *status = out, ws = 0;
	pid_t pid = fork();

	if (pid < 0)
		return cmn_err_set(err, errno, "fork");
	if (pid == 0) {
		execvp(j->argv[0], j->argv);
		_exit(errno == ENOENT ? CMN_EXIT_NOT_FOUND
				      : CMN_EXIT_CANNOT_RUN);
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

static int unshare_main(int argc, char **argv)
{
	char *shell[] = { getenv("SHELL") ? getenv("SHELL") : "/bin/sh", NULL };
	struct hutch_err err = { 0 };
	struct job j = { 0 };
	int first, status = cli_simple(&cli_unshare_cmd, NULL, 0, NULL, argc,
				       argv, 0, &first);

	if (status >= 0)
		return status;
	j.argv = first < argc ? argv + first : shell;
	status = CMN_EXIT_HUTCH;
	if (sbx_userns_call(SBX_USERNS_AUTO, run_command, &j, &status,
			    sizeof(status), &err) < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	return status;
}
