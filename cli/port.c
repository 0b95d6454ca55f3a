// SPDX-License-Identifier: Apache-2.0
/* port.c - `hutch port`: a container's published ports */

#include <stdio.h>

#include "cli/cli.h"

static int port_main(int argc, char **argv);

const struct cli_cmd cli_port_cmd = {
	.name = "port",
	.usage = "port CONTAINER",
	.summary = "List a container's published ports.",
	.main = port_main,
};

static int port_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	(void)ctx;
	(void)err;
	for (char **p = c->ports; p && *p; p++)
		printf("%s\n", *p);
	return 0;
}

static int port_main(int argc, char **argv)
{
	int first, ret = cli_simple(&cli_port_cmd, NULL, 0, NULL, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(1, argv + first, port_one, NULL, false);
}
