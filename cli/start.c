// SPDX-License-Identifier: Apache-2.0
/* start.c - `hutch start`: run a stopped container again on its kept upper
 * directory, in the background, or attached with -a */

#include <errno.h>
#include <stdio.h>

#include "cli/cli.h"

struct start_opts {
	bool attach;
	bool interactive;
	int status; /* the attached container's exit status */
};

static int set_attach(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct start_opts *)ctx)->attach, err);
}

static int set_interactive(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct start_opts *)ctx)->interactive,
			      err);
}

static const struct cli_opt start_options[] = {
	{ "attach", 'a', NULL,
	  "run in the foreground: output to this terminal, exit with the container",
	  set_attach },
	{ "interactive", 'i', NULL, "attach standard input too",
	  set_interactive },
};

static int start_main(int argc, char **argv);

const struct cli_cmd cli_start_cmd = {
	.name = "start",
	.usage = "start [OPTIONS] CONTAINER [CONTAINER...]",
	.summary = "Start stopped containers.",
	.main = start_main,
};

static int start_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	struct start_opts *o = ctx;

	if (c->status == CTR_RUNNING)
		return 0;
	if (!o->attach && !o->interactive)
		return ctr_container_start(c, &o->status, err);
	c->cfg.interactive = o->interactive;
	return ctr_container_run(c, &o->status, err);
}

static int start_main(int argc, char **argv)
{
	struct start_opts o = { 0 };
	int first, ret = cli_simple(&cli_start_cmd, start_options,
				    ARRAY_SIZE(start_options), &o, argc, argv,
				    1, &first);

	if (ret >= 0)
		return ret;
	if ((o.attach || o.interactive) && argc - first > 1) {
		struct hutch_err err;

		cmn_err_msg(
			&err, EINVAL,
			"start: you cannot attach to more than one container at once");
		return cli_fail(&err, 1);
	}
	ret = cli_each_container(argc - first, argv + first, start_one, &o,
				 !o.attach && !o.interactive);
	return (o.attach || o.interactive) && ret == 0 ? o.status : ret;
}
