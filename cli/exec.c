// SPDX-License-Identifier: Apache-2.0
/* exec.c - `hutch exec`: a command in a running container */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

struct exec_cli {
	struct ctr_exec_opts o;
	char **env; /* owned */
	char *workdir;
	char *user;
};

static int set_env(void *ctx, const char *arg, struct hutch_err *err)
{
	struct exec_cli *x = ctx;
	const char *v;

	if (!*arg || *arg == '=')
		return cmn_err_msg(err, EINVAL,
				   "invalid environment variable \"%s\"", arg);
	if (strchr(arg, '='))
		return cmn_strv_push(&x->env, strdup(arg));
	v = getenv(arg);
	return v ? cmn_strv_push(&x->env, cmn_strdup_printf("%s=%s", arg, v))
		 : 0;
}

static int set_str(char **field, const char *arg)
{
	free(*field);
	*field = strdup(arg);
	return *field ? 0 : -ENOMEM;
}

static int set_workdir(void *ctx, const char *arg, struct hutch_err *err)
{
	if (arg[0] != '/')
		return cmn_err_msg(
			err, EINVAL,
			"the working directory \"%s\" is invalid: it needs to be an absolute path",
			arg);
	return set_str(&((struct exec_cli *)ctx)->workdir, arg);
}

static int set_user(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return set_str(&((struct exec_cli *)ctx)->user, arg);
}

static int set_tty(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct exec_cli *)ctx)->o.tty, err);
}

static int set_interactive(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct exec_cli *)ctx)->o.interactive,
			      err);
}

static const struct cli_opt exec_options[] = {
	{ "interactive", 'i', NULL, "keep standard input open",
	  set_interactive },
	{ "tty", 't', NULL, "allocate a pseudo-terminal", set_tty },
	{ "env", 'e', "KEY=VALUE", "set an environment variable", set_env },
	{ "workdir", 'w', "DIR", "working directory inside the container",
	  set_workdir },
	{ "user", 'u', "USER[:GROUP]", "user name or uid inside the container",
	  set_user },
};

static int exec_main(int argc, char **argv);

const struct cli_cmd cli_exec_cmd = {
	.name = "exec",
	.usage = "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
	.summary = "Run a command in a running container.",
	.main = exec_main,
};

static int exec_main(int argc, char **argv)
{
	struct exec_cli x = { 0 };
	struct ctr_container *c = NULL;
	struct hutch_err err = { 0 };
	int first, status = cli_simple(&cli_exec_cmd, exec_options,
				       ARRAY_SIZE(exec_options), &x, argc, argv,
				       2, &first);

	if (status < 0 && x.o.tty && x.o.interactive && !isatty(0)) {
		cmn_err_msg(
			&err, ENOTTY,
			"exec: the input device is not a TTY; drop -t, or run from a terminal");
		status = cli_fail(&err, 1);
	}
	if (status < 0) {
		x.o.argv = argv + first + 1;
		x.o.env = x.env;
		x.o.workdir = x.workdir;
		x.o.user = x.user;
		/* 1 for a missing or stopped container, as Docker;
		 * 125-127 when the command could not be started. */
		if (ctr_container_find(argv[first], &c, &err) < 0)
			status = cli_fail(&err, 1);
		else if (ctr_container_exec(c, &x.o, &status, &err) < 0)
			status = cli_fail(&err, status);
	}
	ctr_container_free(c);
	cmn_strv_free(x.env);
	free(x.workdir);
	free(x.user);
	return status;
}
