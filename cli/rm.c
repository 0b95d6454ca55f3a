// SPDX-License-Identifier: Apache-2.0
/* rm.c - `hutch rm`: delete containers (their record, upper directory, log) */

#include "cli/cli.h"

struct rm_opts {
	bool force;
	bool volumes;
};

static int set_force(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct rm_opts *)ctx)->force, err);
}

/* Anonymous volumes do not exist in hutch: -v is accepted and has nothing
 * to remove. */
static int set_volumes(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct rm_opts *)ctx)->volumes, err);
}

static const struct cli_opt rm_options[] = {
	{ "force", 'f', NULL, "kill a running container first", set_force },
	{ "volumes", 'v', NULL, "accepted (hutch has no anonymous volumes)",
	  set_volumes },
};

static int rm_main(int argc, char **argv);

const struct cli_cmd cli_rm_cmd = {
	.name = "rm",
	.usage = "rm [OPTIONS] CONTAINER [CONTAINER...]",
	.summary = "Remove containers.",
	.main = rm_main,
};

static int rm_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	return ctr_container_remove(c, ((struct rm_opts *)ctx)->force, err);
}

static int rm_main(int argc, char **argv)
{
	struct rm_opts o = { 0 };
	int first, ret = cli_simple(&cli_rm_cmd, rm_options,
				    ARRAY_SIZE(rm_options), &o, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(argc - first, argv + first, rm_one, &o, true);
}
