// SPDX-License-Identifier: Apache-2.0
/* pull.c - `hutch pull` (being written) */

#include <errno.h>

#include "cli/cli.h"

int cli_pull_main(int argc, char **argv)
{
	struct hutch_err err;

	(void)argc;
	(void)argv;
	cmn_err_msg(&err, ENOTSUP, "pull: not implemented yet");
	return cli_fail(&err, CMN_EXIT_HUTCH);
}
