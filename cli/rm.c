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

static int set_volumes(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct rm_opts *)ctx)->volumes, err);
}

static const struct cli_opt rm_options[] = {
	{ "force", 'f', NULL, "kill a running container first", set_force },
	{ "volumes", 'v', NULL,
	  "remove its anonymous volumes too (an image's VOLUME, -v /path), unless another container uses them",
	  set_volumes },
};

static int rm_main(int argc, char **argv);

const struct cli_cmd cli_rm_cmd = {
	.name = "rm",
	.usage = "rm [OPTIONS] CONTAINER [CONTAINER...]",
	.summary = "Remove containers.",
	.main = rm_main,
};

/* A container, or what is left of one whose record is damaged or gone (a
 * crash while it was made, a partial rm -rf): that goes too, subordinate-id
 * files included, which the user could not delete by hand. */
static int rm_one(const char *key, const struct rm_opts *o)
{
	struct ctr_container *c = NULL;
	struct hutch_err err = { 0 }, derr = { 0 };
	int ret = ctr_container_find(key, &c, &err);

	if (ret == 0) {
		ret = ctr_container_remove(c, o->force, &err);
		if (ret == 0 && o->volumes)
			ctr_volumes_drop(&c->cfg);
	} else if (ctr_damaged_remove(key, &derr) == 0) {
		ret = 0;
	}
	ctr_container_free(c);
	if (ret < 0)
		return cli_fail(&err, 1);
	printf("%s\n", key);
	return 0;
}

static int rm_main(int argc, char **argv)
{
	struct rm_opts o = { 0 };
	int first, status = 0,
		   ret = cli_simple(&cli_rm_cmd, rm_options,
				    ARRAY_SIZE(rm_options), &o, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	for (int i = first; i < argc; i++)
		status |= rm_one(argv[i], &o);
	return status;
}
