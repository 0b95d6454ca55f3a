/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - the command line: subcommand table, option tables, reporting */
#ifndef HUTCH_CLI_H
#define HUTCH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"
#include "container/container.h"

/**
 * struct cli_opt - one option of a subcommand, Docker's spelling
 * @name:  long name without the dashes
 * @short_name: single-letter alias, 0 for none
 * @arg:   NULL for a flag (which also takes "=true"/"=false"), else the
 *         argument's name for --help ("DIR", "KEY=VALUE")
 * @help:  one line for --help
 * @set:   stores the value into @ctx; @arg is "true"/"false" for flags.
 *         Returns 0 or -errno with @err naming the option and the fix.
 */
struct cli_opt {
	const char *name;
	char short_name;
	const char *arg;
	const char *help;
	int (*set)(void *ctx, const char *arg, struct hutch_err *err);
};

/**
 * struct cli_cmd - one subcommand
 * @usage: the synopsis after "hutch "
 * @main:  gets argv with argv[0] the subcommand; returns the exit status
 */
struct cli_cmd {
	const char *name;
	const char *usage;
	const char *summary;
	int (*main)(int argc, char **argv);
};

/**
 * cli_parse() - parse options from @argv[1] up to the first operand
 *
 * Accepts --name=value, --name value, -x value, -xvalue, bundled flags
 * (-it), and "--" to end options. "--help" prints the generated help and
 * sets *@help.
 *
 * Return: the index of the first operand (argc if none), or -errno with
 * @err filled (unknown option, missing argument, rejected value).
 */
int cli_parse(const struct cli_cmd *cmd, const struct cli_opt *opts,
	      size_t n_opts, void *ctx, int argc, char **argv, bool *help,
	      struct hutch_err *err);

/** cli_help() - print the usage and option table of @cmd to stdout. */
void cli_help(const struct cli_cmd *cmd, const struct cli_opt *opts,
	      size_t n_opts);

/** cli_set_string() - replace *@field with a copy of @arg (string option
 * setters). Return: 0 or -ENOMEM. */
int cli_set_string(char **field, const char *arg);

/** cli_parse_bool() - "true"/"1" or "false"/"0" for flag setters. */
int cli_parse_bool(const char *arg, bool *out, struct hutch_err *err);

/** cli_fail() - print "hutch: MSG" for @err and return @status. */
int cli_fail(const struct hutch_err *err, int status);

/* ---- listings (format.c) ---------------------------------------------- */

/** A field's value for a --format template, NULL for an unknown field. */
typedef const char *(*cli_field_fn)(void *ctx, const char *name);

/** cli_format_line() - print one line of @tmpl ({{.Field}} subset of Go
 * templates, as Docker's --format) with fields from @get. */
int cli_format_line(const char *tmpl, cli_field_fn get, void *ctx, FILE *out,
		    struct hutch_err *err);
/** cli_human_size() - "1.23MB", Docker's decimal units. */
const char *cli_human_size(uint64_t bytes, char buf[static 16]);
/** cli_human_ago() - "2 hours ago". */
const char *cli_human_ago(int64_t when, char buf[static 32]);

/* ---- container commands (containers.c) ------------------------------- */

/**
 * cli_each_container() - run @fn on each container named in @keys; errors
 * are printed per container and make the result 1; with @echo each key is
 * printed when done, as `docker stop` does.
 */
int cli_each_container(int n, char **keys,
		       int (*fn)(struct ctr_container *c, void *ctx,
				 struct hutch_err *err),
		       void *ctx, bool echo);

/**
 * cli_simple() - parse options and check that @min_args operands follow
 * Return: -1 to go on (*@first is the first operand), else the exit status
 * to return (0 after --help).
 */
int cli_simple(const struct cli_cmd *cmd, const struct cli_opt *opts,
	       size_t n_opts, void *ctx, int argc, char **argv, int min_args,
	       int *first);

/* The subcommands, one file each (cli/NAME.c). */
int cli_run_main(int argc, char **argv);
int cli_info_main(int argc, char **argv);
int cli_version_main(int argc, char **argv);
int cli_pull_main(int argc, char **argv);
int cli_save_main(int argc, char **argv);
int cli_cp_main(int argc, char **argv);
int cli_load_main(int argc, char **argv);
int cli_push_main(int argc, char **argv);
int cli_login_main(int argc, char **argv);
int cli_logout_main(int argc, char **argv);
int cli_import_main(int argc, char **argv);
int cli_images_main(int argc, char **argv);
int cli_ps_main(int argc, char **argv);
int cli_logs_main(int argc, char **argv);
int cli_stop_main(int argc, char **argv);
int cli_kill_main(int argc, char **argv);
int cli_start_main(int argc, char **argv);
int cli_restart_main(int argc, char **argv);
int cli_rm_main(int argc, char **argv);
int cli_wait_main(int argc, char **argv);
int cli_inspect_main(int argc, char **argv);
int cli_exec_main(int argc, char **argv);
int cli_port_main(int argc, char **argv);
int cli_top_main(int argc, char **argv);
int cli_build_main(int argc, char **argv);
int cli_unshare_main(int argc, char **argv);
int cli_tag_main(int argc, char **argv);
int cli_rmi_main(int argc, char **argv);
int cli_history_main(int argc, char **argv);
int cli_system_main(int argc, char **argv);
int cli_stats_main(int argc, char **argv);
int cli_monitor_main(int argc, char **argv);

/** cli_version_string() - "0.1.0 (commit abcdef123456)". */
const char *cli_version_string(void);

#endif
