// SPDX-License-Identifier: Apache-2.0
/* monitor.c - `hutch container-monitor ID FD`: not for users; the process
 * that runs a detached container (see container/monitor.c) */

#include "cli/cli.h"

static int monitor_main(int argc, char **argv)
{
	uint64_t fd;

	if (argc < 3 || argc > 4 || !cmn_parse_u64(argv[2], 1024, &fd))
		return CMN_EXIT_HUTCH;
	cmn_log_prog = "hutch-monitor";
	return ctr_monitor_main(argv[1], (int)fd, argc == 4 ? argv[3] : NULL);
}

const struct cli_cmd cli_monitor_cmd = {
	.name = "container-monitor",
	.usage = "container-monitor ID FD [ANCHOR]",
	.main = monitor_main,
};
