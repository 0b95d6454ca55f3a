// SPDX-License-Identifier: Apache-2.0
/* main.c - hutch's entry point: global options, then the subcommand table
 *
 * hutch is Docker's command line for machines without root or a daemon.
 * main() only decides which subcommand runs; each lives in its own file
 * (cli/run.c, cli/info.c, ...) and reports its own errors through
 * cli_fail(). The parts below (sandbox/, image/, builder/) never print or
 * exit.
 */

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_cmd *const commands[] = {
	&cli_run_cmd,	  &cli_create_cmd, &cli_info_cmd,      &cli_version_cmd,
	&cli_build_cmd,	  &cli_pull_cmd,   &cli_push_cmd,      &cli_login_cmd,
	&cli_logout_cmd,  &cli_import_cmd, &cli_save_cmd,      &cli_load_cmd,
	&cli_images_cmd,  &cli_tag_cmd,	   &cli_rmi_cmd,       &cli_history_cmd,
	&cli_system_cmd,  &cli_ps_cmd,	   &cli_cp_cmd,	       &cli_logs_cmd,
	&cli_stop_cmd,	  &cli_kill_cmd,   &cli_start_cmd,     &cli_restart_cmd,
	&cli_rm_cmd,	  &cli_wait_cmd,   &cli_inspect_cmd,   &cli_exec_cmd,
	&cli_port_cmd,	  &cli_top_cmd,	   &cli_stats_cmd,     &cli_unshare_cmd,
	&cli_monitor_cmd, &cli_volume_cmd, &cli_container_cmd, &cli_image_cmd,
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: hutch [--debug] COMMAND [OPTIONS]\n\n"
		     "Docker's workflow without root or a daemon.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i]->summary) /* hidden: internal commands */
			fprintf(out, "  %-10s %s\n", commands[i]->name,
				commands[i]->summary);
	fprintf(out, "\nRun 'hutch COMMAND --help' for more on a command.\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	/* libarchive converts pax names (UTF-8) to the locale's charset: with
	 * the C locale any non-ASCII name in a layer would fail to convert. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	cmn_log_init("hutch");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--debug") || !strcmp(argv[i], "-D")) {
			cmn_log_level = CMN_LOG_DEBUG;
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version") ||
			   !strcmp(argv[i], "-v")) {
			printf("hutch version %s\n", cmn_version_string());
			return 0;
		} else {
			cmn_log(CMN_LOG_ERROR,
				"unknown option %s; see 'hutch --help'",
				argv[i]);
			return CMN_EXIT_HUTCH;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 1;
	}
	for (size_t c = 0; c < ARRAY_SIZE(commands); c++)
		if (!strcmp(argv[i], commands[c]->name))
			return commands[c]->main(argc - i, argv + i);
	cmn_log(CMN_LOG_ERROR,
		"'%s' is not a hutch command; see 'hutch --help'", argv[i]);
	return 1;
}
