// SPDX-License-Identifier: Apache-2.0
/* groups.c - Docker's management commands `hutch container ...` and
 * `hutch image ...`: each subcommand is one of hutch's commands under
 * another name ("container ls" is ps, "image rm" is rmi), as in Docker */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* @name: the word after the group; @cmd: the command it runs. */
struct alias {
	const char *name;
	const struct cli_cmd *cmd;
};

static const struct alias container_aliases[] = {
	{ "ls", &cli_ps_cmd },		 { "list", &cli_ps_cmd },
	{ "ps", &cli_ps_cmd },		 { "run", &cli_run_cmd },
	{ "create", &cli_create_cmd },	 { "start", &cli_start_cmd },
	{ "stop", &cli_stop_cmd },	 { "restart", &cli_restart_cmd },
	{ "kill", &cli_kill_cmd },	 { "rm", &cli_rm_cmd },
	{ "remove", &cli_rm_cmd },	 { "logs", &cli_logs_cmd },
	{ "inspect", &cli_inspect_cmd }, { "exec", &cli_exec_cmd },
	{ "cp", &cli_cp_cmd },		 { "port", &cli_port_cmd },
	{ "top", &cli_top_cmd },	 { "stats", &cli_stats_cmd },
	{ "wait", &cli_wait_cmd },
};

static const struct alias image_aliases[] = {
	{ "ls", &cli_images_cmd },	 { "list", &cli_images_cmd },
	{ "build", &cli_build_cmd },	 { "pull", &cli_pull_cmd },
	{ "push", &cli_push_cmd },	 { "rm", &cli_rmi_cmd },
	{ "remove", &cli_rmi_cmd },	 { "tag", &cli_tag_cmd },
	{ "history", &cli_history_cmd }, { "inspect", &cli_inspect_cmd },
	{ "save", &cli_save_cmd },	 { "load", &cli_load_cmd },
	{ "import", &cli_import_cmd },
};

static void group_usage(FILE *out, const char *group, const struct alias *a,
			size_t n)
{
	fprintf(out, "Usage: hutch %s COMMAND\n\nCommands:\n", group);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-10s same as 'hutch %s'\n", a[i].name,
			a[i].cmd->name);
}

static int group_main(const char *group, const struct alias *a, size_t n,
		      int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		group_usage(argc < 2 ? stderr : stdout, group, a, n);
		return argc < 2 ? 1 : 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[1], a[i].name))
			return a[i].cmd->main(argc - 1, argv + 1);
	struct hutch_err err = { 0 };

	cmn_err_msg(&err, EINVAL,
		    "'%s %s' is not a hutch command; see 'hutch %s --help'",
		    group, argv[1], group);
	return cli_fail(&err, 1);
}

static int container_main(int argc, char **argv)
{
	return group_main("container", container_aliases,
			  ARRAY_SIZE(container_aliases), argc, argv);
}

static int image_main(int argc, char **argv)
{
	return group_main("image", image_aliases, ARRAY_SIZE(image_aliases),
			  argc, argv);
}

const struct cli_cmd cli_container_cmd = {
	.name = "container",
	.usage = "container COMMAND",
	.summary = "Docker's container commands (container ls, rm, ...).",
	.main = container_main,
};

const struct cli_cmd cli_image_cmd = {
	.name = "image",
	.usage = "image COMMAND",
	.summary = "Docker's image commands (image ls, rm, ...).",
	.main = image_main,
};
