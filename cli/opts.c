// SPDX-License-Identifier: Apache-2.0
/* opts.c - table-driven option parsing with Docker's conventions */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_set_string(char **field, const char *arg)
{
	free(*field);
	*field = strdup(arg);
	return *field ? 0 : -ENOMEM;
}

int cli_parse_bool(const char *arg, bool *out, struct hutch_err *err)
{
	if (!strcmp(arg, "true") || !strcmp(arg, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(arg, "false") || !strcmp(arg, "0")) {
		*out = false;
		return 0;
	}
	return cmn_err_msg(err, EINVAL,
			   "invalid boolean value \"%s\": use true or false",
			   arg);
}

int cli_fail(const struct hutch_err *err, int status)
{
	cmn_log(CMN_LOG_ERROR, "%s", err->msg);
	return status;
}

bool cli_confirm(const char *warning)
{
	char answer[8] = "";

	fprintf(stderr, "%s\nAre you sure you want to continue? [y/N] ",
		warning);
	return fgets(answer, sizeof(answer), stdin) &&
	       (answer[0] == 'y' || answer[0] == 'Y');
}

static const struct cli_opt *find_long(const struct cli_opt *opts, size_t n,
				       const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len &&
		    !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, size_t n,
					char c)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].short_name == c)
			return &opts[i];
	return NULL;
}

static int apply(const struct cli_cmd *cmd, const struct cli_opt *opt,
		 void *ctx, const char *arg, struct hutch_err *err)
{
	int ret = opt->set(ctx, arg, err);

	if (ret < 0)
		cmn_err_prefix(err, "%s: --%s", cmd->name, opt->name);
	return ret;
}

/* @name: a long option's name (no dashes, no value), or NULL for the
 * short option @c. Docker's options hutch leaves out say why; a typo gets
 * the closest option of the command. */
static int unknown(const struct cli_cmd *cmd, const struct cli_opt *opts,
		   size_t n, const char *name, char c, struct hutch_err *err)
{
	const struct cli_unsupported *u =
		cli_unsupported_find(cmd->name, name, c);
	const char *near = name ? cli_suggest(opts, n, name) : NULL;
	char what[128];

	if (name)
		snprintf(what, sizeof(what), "--%s", name);
	else
		snprintf(what, sizeof(what), "-%c", c);
	if (u)
		return cmn_err_msg(
			err, ENOTSUP,
			"%s: %s is not supported by hutch: %s; use %s",
			cmd->name, what, u->why, u->use);
	if (near)
		return cmn_err_msg(
			err, EINVAL,
			"%s: unknown option %s; did you mean --%s? (see 'hutch %s --help')",
			cmd->name, what, near, cmd->name);
	cmn_err_msg(err, EINVAL, "%s: unknown option %s", cmd->name, what);
	cmn_err_fix(err, "see 'hutch %s --help'", cmd->name);
	return -EINVAL;
}

static int missing(const struct cli_cmd *cmd, const struct cli_opt *opt,
		   struct hutch_err *err)
{
	cmn_err_msg(err, EINVAL, "%s: option --%s needs an argument (%s)",
		    cmd->name, opt->name, opt->arg);
	cmn_err_fix(err, "see 'hutch %s --help'", cmd->name);
	return -EINVAL;
}

/* One "--name[=value]" at argv[*i]; may consume argv[*i + 1]. */
static int parse_long(const struct cli_cmd *cmd, const struct cli_opt *opts,
		      size_t n, void *ctx, int argc, char **argv, int *i,
		      struct hutch_err *err)
{
	const char *name = argv[*i] + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cli_opt *opt = find_long(opts, n, name, len);

	if (!opt) {
		char bare[96];

		snprintf(bare, sizeof(bare), "%.*s", (int)len, name);
		return unknown(cmd, opts, n, bare, 0, err);
	}
	if (!opt->arg)
		return apply(cmd, opt, ctx, eq ? eq + 1 : "true", err);
	if (eq)
		return apply(cmd, opt, ctx, eq + 1, err);
	if (*i + 1 >= argc)
		return missing(cmd, opt, err);
	*i += 1;
	return apply(cmd, opt, ctx, argv[*i], err);
}

/* A bundle of short options "-it" or "-eKEY=V" at argv[*i]. */
static int parse_short(const struct cli_cmd *cmd, const struct cli_opt *opts,
		       size_t n, void *ctx, int argc, char **argv, int *i,
		       struct hutch_err *err)
{
	for (const char *p = argv[*i] + 1; *p; p++) {
		const struct cli_opt *opt = find_short(opts, n, *p);
		int ret;

		if (!opt)
			return unknown(cmd, opts, n, NULL, *p, err);
		if (!opt->arg) {
			ret = apply(cmd, opt, ctx, "true", err);
			if (ret < 0)
				return ret;
			continue;
		}
		if (p[1])
			return apply(cmd, opt, ctx, p[1] == '=' ? p + 2 : p + 1,
				     err);
		if (*i + 1 >= argc)
			return missing(cmd, opt, err);
		*i += 1;
		return apply(cmd, opt, ctx, argv[*i], err);
	}
	return 0;
}

int cli_parse(const struct cli_cmd *cmd, const struct cli_opt *opts,
	      size_t n_opts, void *ctx, int argc, char **argv, bool *help,
	      struct hutch_err *err)
{
	int i;

	*help = false;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int ret;

		if (!strcmp(a, "--"))
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (!strcmp(a, "--help")) {
			cli_help(cmd, opts, n_opts);
			*help = true;
			return argc;
		}
		if (a[1] == '-')
			ret = parse_long(cmd, opts, n_opts, ctx, argc, argv, &i,
					 err);
		else
			ret = parse_short(cmd, opts, n_opts, ctx, argc, argv,
					  &i, err);
		if (ret < 0)
			return ret;
	}
	return argc;
}

void cli_help(const struct cli_cmd *cmd, const struct cli_opt *opts,
	      size_t n_opts)
{
	printf("Usage: hutch %s\n\n%s\n", cmd->usage,
	       cmd->description ? cmd->description : cmd->summary);
	if (n_opts)
		printf("\nOptions:\n");
	for (size_t i = 0; i < n_opts; i++) {
		const struct cli_opt *o = &opts[i];
		char left[64];

		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s %s",
				 o->short_name, o->name, o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s %s", o->name,
				 o->arg ? o->arg : "");
		printf("  %-32s %s\n", left, o->help);
	}
}
