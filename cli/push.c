// SPDX-License-Identifier: Apache-2.0
/* push.c - `hutch push` (being written) */

#include <errno.h>

#include "cli/cli.h"

int cli_push_main(int argc, char **argv)
{
	struct hutch_err err;

	(void)argc;
	(void)argv;
	cmn_err_msg(&err, ENOTSUP, "push: not implemented yet");
	return cli_fail(&err, CMN_EXIT_HUTCH);
}
