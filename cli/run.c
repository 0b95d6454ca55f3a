// SPDX-License-Identifier: Apache-2.0
/* run.c - `hutch run` (placeholder) */

#include "cli/cli.h"

int cli_run_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return CMN_EXIT_HUTCH;
}
