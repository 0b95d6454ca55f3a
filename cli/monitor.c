// SPDX-License-Identifier: Apache-2.0
/* monitor.c - `hutch container-monitor ID FD`: not for users; the process
 * that runs a detached container (see sandbox/monitor.c) */

#include "cli/cli.h"

int cli_monitor_main(int argc, char **argv)
{
	uint64_t fd;

	if (argc != 3 || !cmn_parse_u64(argv[2], 1024, &fd))
		return CMN_EXIT_HUTCH;
	cmn_log_prog = "hutch-monitor";
	return ctr_monitor_main(argv[1], (int)fd);
}
