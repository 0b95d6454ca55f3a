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

static const struct cli_cmd commands[] = {
	{ "run", "run [OPTIONS] --rootfs DIR [--] COMMAND [ARG...]",
	  "Run a command in a new rootless container.", cli_run_main },
	{ "info", "info",
	  "Show whether this machine can run rootless containers, and what to fix.",
	  cli_info_main },
	{ "version", "version", "Show the version of hutch and its libraries.",
	  cli_version_main },
	{ "build", "build [OPTIONS] CONTEXT",
	  "Build an image from a Dockerfile.", cli_build_main },
	{ "pull", "pull [OPTIONS] NAME[:TAG|@DIGEST]",
	  "Download an image from a registry.", cli_pull_main },
	{ "push", "push [OPTIONS] NAME[:TAG]", "Upload an image to a registry.",
	  cli_push_main },
	{ "login", "login [OPTIONS] [SERVER]", "Log in to a registry.",
	  cli_login_main },
	{ "logout", "logout [SERVER]", "Log out from a registry.",
	  cli_logout_main },
	{ "import", "import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]",
	  "Make an image from a root filesystem tarball or directory.",
	  cli_import_main },
	{ "save", "save [OPTIONS] IMAGE...",
	  "Save images to a tar archive (docker-archive or oci-archive).",
	  cli_save_main },
	{ "load", "load [OPTIONS]", "Load images from a tar archive.",
	  cli_load_main },
	{ "images", "images [OPTIONS] [REPOSITORY[:TAG]]", "List images.",
	  cli_images_main },
	{ "tag", "tag SOURCE TARGET", "Give an image another name.",
	  cli_tag_main },
	{ "rmi", "rmi [OPTIONS] IMAGE...", "Remove images.", cli_rmi_main },
	{ "history", "history IMAGE", "Show the steps that made an image.",
	  cli_history_main },
	{ "system", "system df|prune|check",
	  "Disk use, clean-up and consistency of the store.", cli_system_main },
	{ "ps", "ps [OPTIONS]", "List containers.", cli_ps_main },
	{ "cp", "cp CONTAINER:SRC DEST | cp SRC CONTAINER:DEST",
	  "Copy files between a container and the host.", cli_cp_main },
	{ "logs", "logs [OPTIONS] CONTAINER", "Show a container's output.",
	  cli_logs_main },
	{ "stop", "stop [OPTIONS] CONTAINER...", "Stop running containers.",
	  cli_stop_main },
	{ "kill", "kill [OPTIONS] CONTAINER...",
	  "Send a signal to running containers.", cli_kill_main },
	{ "start", "start [OPTIONS] CONTAINER...", "Start stopped containers.",
	  cli_start_main },
	{ "restart", "restart [OPTIONS] CONTAINER...", "Restart containers.",
	  cli_restart_main },
	{ "rm", "rm [OPTIONS] CONTAINER...", "Remove containers.",
	  cli_rm_main },
	{ "wait", "wait CONTAINER...", "Wait for containers to stop.",
	  cli_wait_main },
	{ "inspect", "inspect [OPTIONS] NAME|ID...",
	  "Show containers or images as JSON.", cli_inspect_main },
	{ "exec", "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
	  "Run a command in a running container.", cli_exec_main },
	{ "port", "port CONTAINER", "List a container's published ports.",
	  cli_port_main },
	{ "top", "top CONTAINER", "List a container's processes.",
	  cli_top_main },
	{ "stats", "stats [OPTIONS] [CONTAINER...]",
	  "Show CPU, memory and processes of running containers.",
	  cli_stats_main },
	{ "unshare", "unshare [COMMAND [ARG...]]",
	  "Run a command as root of hutch's user namespace.",
	  cli_unshare_main },
	{ "container-monitor", "container-monitor ID FD", NULL,
	  cli_monitor_main },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: hutch [--debug] COMMAND [OPTIONS]\n\n"
		     "Docker's workflow without root or a daemon.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary) /* hidden: internal commands */
			fprintf(out, "  %-10s %s\n", commands[i].name,
				commands[i].summary);
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
			printf("hutch version %s\n", cli_version_string());
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
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].main(argc - i, argv + i);
	cmn_log(CMN_LOG_ERROR,
		"'%s' is not a hutch command; see 'hutch --help'", argv[i]);
	return 1;
}
