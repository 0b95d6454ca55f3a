// SPDX-License-Identifier: Apache-2.0
/* top.c - `hutch top`: the processes of a running container */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"

static int top_main(int argc, char **argv);

const struct cli_cmd cli_top_cmd = {
	.name = "top",
	.usage = "top CONTAINER",
	.summary = "List a container's processes.",
	.description = "List the processes of a running container.",
	.main = top_main,
};

static int top_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct ctr_proc *p = NULL;
	size_t n = 0;
	int ret = ctr_container_procs(c, &p, &n, err);

	(void)ctx;
	if (ret < 0)
		return ret;
	printf("%-8s %-8s %-8s %-10s %s\n", "UID", "PID", "PPID", "TIME",
	       "CMD");
	for (size_t i = 0; i < n; i++) {
		unsigned long long s =
			p[i].ticks / (unsigned long long)(hz > 0 ? hz : 100);

		printf("%-8u %-8d %-8d %02llu:%02llu:%02llu %s\n",
		       (unsigned)p[i].uid, (int)p[i].pid, (int)p[i].ppid,
		       s / 3600, s / 60 % 60, s % 60, p[i].comm);
	}
	free(p);
	return 0;
}

static int top_main(int argc, char **argv)
{
	int first, ret = cli_simple(&cli_top_cmd, NULL, 0, NULL, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(1, argv + first, top_one, NULL, false);
}
