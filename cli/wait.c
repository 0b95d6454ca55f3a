// SPDX-License-Identifier: Apache-2.0
/* wait.c - `hutch wait`: block until containers stop; print exit codes */

#include <stdio.h>

#include "cli/cli.h"

static int wait_main(int argc, char **argv);

const struct cli_cmd cli_wait_cmd = {
	.name = "wait",
	.usage = "wait CONTAINER [CONTAINER...]",
	.summary = "Wait for containers to stop.",
	.description =
		"Block until containers stop, then print their exit codes.",
	.main = wait_main,
};

static int wait_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	int code = 0, ret = ctr_container_wait(c, -1, &code, err);

	(void)ctx;
	if (ret == 0)
		printf("%d\n", code);
	return ret;
}

static int wait_main(int argc, char **argv)
{
	int first, ret = cli_simple(&cli_wait_cmd, NULL, 0, NULL, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(argc - first, argv + first, wait_one, NULL,
				  false);
}
