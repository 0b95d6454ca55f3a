// SPDX-License-Identifier: Apache-2.0
/* kill.c - `hutch kill`: a signal to running containers */

#include <errno.h>
#include <signal.h>

#include "cli/cli.h"

struct kill_opts {
	int sig;
};

static int set_signal(void *ctx, const char *arg, struct hutch_err *err)
{
	int sig = cmn_signal_parse(arg);

	if (sig <= 0)
		return cmn_err_msg(err, EINVAL, "invalid signal: %s", arg);
	((struct kill_opts *)ctx)->sig = sig;
	return 0;
}

static const struct cli_opt kill_options[] = {
	{ "signal", 's', "SIGNAL", "the signal to send (default KILL)",
	  set_signal },
};

static int kill_main(int argc, char **argv);

const struct cli_cmd cli_kill_cmd = {
	.name = "kill",
	.usage = "kill [OPTIONS] CONTAINER [CONTAINER...]",
	.summary = "Send a signal to running containers.",
	.main = kill_main,
};

static int kill_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	return ctr_container_kill(c, ((struct kill_opts *)ctx)->sig, err);
}

static int kill_main(int argc, char **argv)
{
	struct kill_opts o = { SIGKILL };
	int first, ret = cli_simple(&cli_kill_cmd, kill_options,
				    ARRAY_SIZE(kill_options), &o, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(argc - first, argv + first, kill_one, &o,
				  true);
}
