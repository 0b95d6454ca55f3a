// SPDX-License-Identifier: Apache-2.0
/* info.c - `hutch info` (placeholder until hostcheck lands) */

#include "cli/cli.h"

int cli_info_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
