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
 * struct cli_cmd - one subcommand, as `hutch --help` lists it and as
 * `hutch NAME --help` and the option parser describe it
 * @name:  what follows "hutch" on the command line
 * @usage: the synopsis after "hutch "
 * @summary: the line in `hutch --help`'s list; NULL hides the command
 *         there (internal commands)
 * @description: what `hutch NAME --help` says under the usage when it says
 *         more than @summary; NULL for @summary
 * @main:  gets argv with argv[0] the subcommand; returns the exit status
 *
 * Each cli/NAME.c defines its cli_NAME_cmd, the only place a command's
 * texts are written; cli/main.c's table points to them.
 */
struct cli_cmd {
	const char *name;
	const char *usage;
	const char *summary;
	const char *description;
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

/**
 * struct cli_unsupported - one of Docker's options that hutch knows and
 * does not take (cli/unsupported.c's table)
 * @cmd:  the command ("run", "build"), NULL for both
 * @name: the long name; @short_name: its letter, or 0
 * @why:  why hutch leaves it out; @use: what to use instead
 */
struct cli_unsupported {
	const char *cmd;
	const char *name;
	char short_name;
	const char *why;
	const char *use;
};

/** cli_unsupported_find() - the entry for --@name (or -@short_name when
 * @name is NULL) of @cmd, or NULL. */
const struct cli_unsupported *
cli_unsupported_find(const char *cmd, const char *name, char short_name);
/** cli_unsupported_list() - the whole table (*@out) and its length. */
size_t cli_unsupported_list(const struct cli_unsupported **out);
/** cli_edit_distance() - Levenshtein's distance of @a and @b (names under
 * 64 characters; else SIZE_MAX). */
size_t cli_edit_distance(const char *a, const char *b);
/** cli_suggest() - the option of @opts closest to @name when it is close
 * enough to be a typo of it, else NULL. */
const char *cli_suggest(const struct cli_opt *opts, size_t n, const char *name);

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

/** cli_confirm() - print @warning and Docker's "Are you sure you want to
 * continue? [y/N]" on stderr; true when the answer starts with y. */
bool cli_confirm(const char *warning);

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

/** cli_ports_text() - ps's PORTS: the ports @c bound while it runs, ranges
 * joined ("127.0.0.1:34567->80/tcp, ...") (port.c). */
void cli_ports_text(const struct ctr_container *c, char *buf, size_t len);

/**
 * cli_inspect_each() - `inspect`'s output for @n @keys: each looked up with
 * @find (a new reference, or NULL with @err filled, which is printed),
 * then printed through @format (Go's {{.A.B}} and {{json .A.B}}) or, without
 * one, all as one JSON array (inspect.c).
 * Return: the exit status, 1 when any key was not found.
 */
int cli_inspect_each(char *const *keys, int n, const char *format,
		     struct json_t *(*find)(const char *key,
					    struct hutch_err *err));

/** cli_volume_json() - @v as Docker's `volume inspect` shows it (a new
 * reference; volume.c). */
struct json_t *cli_volume_json(const struct ctr_volume *v);

/* ---- mount specifications (mount.c) ------------------------------------ */

/** cli_check_mount_dst() - -EINVAL with @err (naming @spec) unless @dst is
 * an absolute path other than /. */
int cli_check_mount_dst(const char *spec, const char *dst,
			struct hutch_err *err);
/**
 * cli_info_gpu() - `hutch info`'s GPU section as JSON: driver (its version,
 * or the one line saying what is missing), devices, devices_closed,
 * nvidia_uvm, cdi_specs, libraries, binds, gpus_all; NULL without memory.
 * cli_info_gpu_print() prints it as text (info-gpu.c).
 */
struct json_t *cli_info_gpu(void);
void cli_info_gpu_print(const struct json_t *gpu);
/**
 * cli_devices_apply() - run's --device arguments (@devices, in order: host
 * nodes, and CDI names read from @cdi_dirs, else $HUTCH_CDI_SPEC_DIRS,
 * else /etc/cdi and /var/run/cdi) and --gpus (@gpus, may be NULL: the
 * nvidia.com/gpu CDI devices when a spec has them, else the host's driver
 * as sandbox/gpu.c finds it) into @cfg. Return: 0, or -errno with a
 * one-line @err.
 */
int cli_devices_apply(struct sbx_config *cfg, char *const *devices,
		      char *const *cdi_dirs, const char *gpus,
		      struct hutch_err *err);
/**
 * cli_volume_spec() - `-v SRC:DST[:OPTS]` (SRC a host path: a bind; a
 * name: a volume) or `-v DST` (an anonymous volume) into @m, whose fields
 * are then owned by the caller. Return: 0, or -errno with a one-line @err
 * that names @arg; @m is left empty.
 */
int cli_volume_spec(const char *arg, struct sbx_mount *m,
		    struct hutch_err *err);
/** cli_mount_spec() - `--mount type=bind|volume|tmpfs,...` (Docker's CSV
 * syntax and keys) into @m; as cli_volume_spec(). */
int cli_mount_spec(const char *arg, struct sbx_mount *m, struct hutch_err *err);

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

/* The subcommands, one file each (cli/NAME.c; stop.c also defines restart,
 * login.c logout), in the order of main.c's table and `hutch --help`. */
extern const struct cli_cmd cli_run_cmd;
extern const struct cli_cmd cli_create_cmd;
extern const struct cli_cmd cli_info_cmd;
extern const struct cli_cmd cli_version_cmd;
extern const struct cli_cmd cli_build_cmd;
extern const struct cli_cmd cli_pull_cmd;
extern const struct cli_cmd cli_push_cmd;
extern const struct cli_cmd cli_login_cmd;
extern const struct cli_cmd cli_logout_cmd;
extern const struct cli_cmd cli_import_cmd;
extern const struct cli_cmd cli_save_cmd;
extern const struct cli_cmd cli_load_cmd;
extern const struct cli_cmd cli_images_cmd;
extern const struct cli_cmd cli_tag_cmd;
extern const struct cli_cmd cli_rmi_cmd;
extern const struct cli_cmd cli_history_cmd;
extern const struct cli_cmd cli_system_cmd;
extern const struct cli_cmd cli_ps_cmd;
extern const struct cli_cmd cli_cp_cmd;
extern const struct cli_cmd cli_logs_cmd;
extern const struct cli_cmd cli_stop_cmd;
extern const struct cli_cmd cli_kill_cmd;
extern const struct cli_cmd cli_start_cmd;
extern const struct cli_cmd cli_restart_cmd;
extern const struct cli_cmd cli_rm_cmd;
extern const struct cli_cmd cli_wait_cmd;
extern const struct cli_cmd cli_inspect_cmd;
extern const struct cli_cmd cli_exec_cmd;
extern const struct cli_cmd cli_port_cmd;
extern const struct cli_cmd cli_top_cmd;
extern const struct cli_cmd cli_stats_cmd;
extern const struct cli_cmd cli_unshare_cmd;
extern const struct cli_cmd cli_monitor_cmd;
extern const struct cli_cmd cli_volume_cmd;
extern const struct cli_cmd cli_container_cmd;
extern const struct cli_cmd cli_image_cmd;

#endif
