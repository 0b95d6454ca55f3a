// SPDX-License-Identifier: Apache-2.0
/* containers.c - what the container subcommands share: acting on several
 * names at once, Docker's way */

#include <stdio.h>

#include "cli/cli.h"

int cli_each_container(int n, char **keys,
		       int (*fn)(struct ctr_container *c, void *ctx,
				 struct hutch_err *err),
		       void *ctx, bool echo)
{
	int status = 0;

	for (int i = 0; i < n; i++) {
		struct ctr_container *c = NULL;
		struct hutch_err err = { 0 };

		if (ctr_container_find(keys[i], &c, &err) < 0 ||
		    fn(c, ctx, &err) < 0) {
			cli_fail(&err, 1);
			status = 1;
		} else if (echo) {
			printf("%s\n", keys[i]);
		}
		ctr_container_free(c);
	}
	return status;
}

int cli_simple(const struct cli_cmd *cmd, const struct cli_opt *opts,
	       size_t n_opts, void *ctx, int argc, char **argv, int min_args,
	       int *first)
{
	struct hutch_err err = { 0 };
	bool help;

	*first = cli_parse(cmd, opts, n_opts, ctx, argc, argv, &help, &err);
	if (*first < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (help)
		return 0;
	if (argc - *first < min_args) {
		cmn_err_msg(
			&err, EINVAL,
			"\"hutch %s\" requires at least %d argument%s; see 'hutch %s --help'",
			cmd->name, min_args, min_args == 1 ? "" : "s",
			cmd->name);
		return cli_fail(&err, CMN_EXIT_HUTCH);
	}
	return -1;
}
