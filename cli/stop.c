// SPDX-License-Identifier: Apache-2.0
/* stop.c - `hutch stop` and `hutch restart`: the stop signal, then SIGKILL */

#include <errno.h>
#include <stdio.h>

#include "cli/cli.h"

struct stop_opts {
	int timeout; /* -1: each container's own */
};

static int set_time(void *ctx, const char *arg, struct hutch_err *err)
{
	uint64_t n;

	if (!cmn_parse_u64(arg, 86400, &n))
		return cmn_err_msg(err, EINVAL,
				   "invalid time \"%s\": give whole seconds",
				   arg);
	((struct stop_opts *)ctx)->timeout = (int)n;
	return 0;
}

static const struct cli_opt stop_options[] = {
	{ "time", 't', "SECONDS",
	  "seconds to wait before killing (default: the container's, 10)",
	  set_time },
};

static int stop_main(int argc, char **argv);

const struct cli_cmd cli_stop_cmd = {
	.name = "stop",
	.usage = "stop [OPTIONS] CONTAINER [CONTAINER...]",
	.summary = "Stop running containers.",
	.description =
		"Stop running containers: the stop signal, then SIGKILL.",
	.main = stop_main,
};

static int restart_main(int argc, char **argv);

const struct cli_cmd cli_restart_cmd = {
	.name = "restart",
	.usage = "restart [OPTIONS] CONTAINER [CONTAINER...]",
	.summary = "Restart containers.",
	.description = "Stop and start containers again.",
	.main = restart_main,
};

static int stop_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	return ctr_container_stop(c, ((struct stop_opts *)ctx)->timeout, err);
}

static int restart_one(struct ctr_container *c, void *ctx,
		       struct hutch_err *err)
{
	int status, ret = stop_one(c, ctx, err);

	if (ret == 0)
		ret = ctr_container_start(c, &status, err);
	return ret;
}

static int stop_main(int argc, char **argv)
{
	struct stop_opts o = { -1 };
	int first, ret = cli_simple(&cli_stop_cmd, stop_options,
				    ARRAY_SIZE(stop_options), &o, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(argc - first, argv + first, stop_one, &o,
				  true);
}

static int restart_main(int argc, char **argv)
{
	struct stop_opts o = { -1 };
	int first, ret = cli_simple(&cli_restart_cmd, stop_options,
				    ARRAY_SIZE(stop_options), &o, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(argc - first, argv + first, restart_one, &o,
				  true);
}
