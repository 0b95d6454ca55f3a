// SPDX-License-Identifier: Apache-2.0
/* login.c - `hutch login` and `hutch logout` (being written) */

#include <errno.h>

#include "cli/cli.h"

int cli_login_main(int argc, char **argv)
{
	struct hutch_err err;

	(void)argc;
	(void)argv;
	cmn_err_msg(&err, ENOTSUP, "login: not implemented yet");
	return cli_fail(&err, CMN_EXIT_HUTCH);
}
int cli_logout_main(int argc, char **argv)
{
	struct hutch_err err;

	(void)argc;
	(void)argv;
	cmn_err_msg(&err, ENOTSUP, "logout: not implemented yet");
	return cli_fail(&err, CMN_EXIT_HUTCH);
}
