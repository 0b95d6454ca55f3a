// SPDX-License-Identifier: Apache-2.0
/* login.c - `hutch login` and `hutch logout`: registry credentials
 *
 * Docker's behaviour and words: the password comes from a prompt with
 * echo off, from stdin with --password-stdin, or (with a warning, since
 * other users can read command lines in /proc) from -p. Credentials are
 * checked against the registry before they are stored; a password is
 * never printed.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"

#define SECRET_MAX 4096

struct login_opts {
	char *user;
	char *pass;
	bool pass_stdin;
};

static int set_str(char **field, const char *arg)
{
	free(*field);
	*field = strdup(arg);
	return *field ? 0 : -ENOMEM;
}

static int set_user(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return set_str(&((struct login_opts *)ctx)->user, arg);
}

static int set_pass(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return set_str(&((struct login_opts *)ctx)->pass, arg);
}

static int set_pass_stdin(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct login_opts *)ctx)->pass_stdin,
			      err);
}

static const struct cli_opt login_options[] = {
	{ "username", 'u', "USER", "Username", set_user },
	{ "password", 'p', "PASS",
	  "Password (visible to other users: prefer --password-stdin)",
	  set_pass },
	{ "password-stdin", 0, NULL, "Read the password from stdin",
	  set_pass_stdin },
};

static int login_main(int argc, char **argv);

const struct cli_cmd cli_login_cmd = {
	.name = "login",
	.usage = "login [OPTIONS] [SERVER]",
	.summary = "Log in to a registry.",
	.description =
		"Log in to a registry (Docker Hub when SERVER is not given).",
	.main = login_main,
};

static int logout_main(int argc, char **argv);

const struct cli_cmd cli_logout_cmd = {
	.name = "logout",
	.usage = "logout [SERVER]",
	.summary = "Log out from a registry.",
	.description =
		"Log out from a registry (Docker Hub when SERVER is not given).",
	.main = logout_main,
};

/* A line from stdin without its newline; echo off for secrets. */
static char *read_line(const char *prompt, bool secret)
{
	struct termios old, quiet;
	bool restore = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (prompt) {
		fputs(prompt, stdout);
		fflush(stdout);
	}
	if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	n = getline(&line, &cap, stdin);
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stdout);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* All of stdin (--password-stdin), trailing newlines dropped. */
static char *read_stdin(struct hutch_err *err)
{
	char *buf = malloc(SECRET_MAX + 1);
	ssize_t n;

	if (!buf) {
		cmn_err_set(err, ENOMEM, "login");
		return NULL;
	}
	n = cmn_read_all(STDIN_FILENO, buf, SECRET_MAX + 1);
	if (n < 0 || n > SECRET_MAX) {
		free(buf);
		cmn_err_msg(err, n < 0 ? (int)-n : EFBIG,
			    "cannot read the password from stdin");
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return buf;
}

static int check_opts(struct login_opts *o, struct hutch_err *err)
{
	if (o->pass && o->pass_stdin)
		return cmn_err_msg(
			err, EINVAL,
			"login: --password and --password-stdin are mutually exclusive");
	if (o->pass_stdin && !o->user)
		return cmn_err_msg(
			err, EINVAL,
			"login: --password-stdin needs --username (-u)");
	if (o->pass)
		fprintf(stderr,
			"WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
	return 0;
}

/* Fill in what the options left out, from stdin or prompts. */
static int ask(struct login_opts *o, struct hutch_err *err)
{
	bool tty = isatty(STDIN_FILENO);

	if (o->pass_stdin) {
		o->pass = read_stdin(err);
		return o->pass ? 0 : -EIO;
	}
	if ((!o->user || !o->pass) && !tty)
		return cmn_err_msg(
			err, EINVAL,
			"cannot perform an interactive login from a non TTY device; use -u USER --password-stdin");
	if (!o->user)
		o->user = read_line("Username: ", false);
	if (o->user && !o->pass)
		o->pass = read_line("Password: ", true);
	if (!o->user || !*o->user || !o->pass)
		return cmn_err_msg(
			err, EINVAL,
			"login: a username and a password are required");
	return 0;
}

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

static int login_main(int argc, char **argv)
{
	struct login_opts o = { 0 };
	struct hutch_err err = { 0 };
	bool help;
	int status = 0;
	int first = cli_parse(&cli_login_cmd, login_options,
			      ARRAY_SIZE(login_options), &o, argc, argv, &help,
			      &err);

	if (first >= 0 && !help && argc - first > 1) {
		cmn_err_msg(
			&err, EINVAL,
			"\"hutch login\" takes at most 1 argument, the registry; see 'hutch login --help'");
		first = -EINVAL;
	}
	if (first >= 0 && !help && check_opts(&o, &err) < 0)
		first = -EINVAL;
	if (first < 0) {
		status = cli_fail(&err, CMN_EXIT_HUTCH);
	} else if (!help) {
		const char *server = first < argc ? argv[first] : NULL;

		if (ask(&o, &err) < 0 ||
		    img_login(server, o.user, o.pass, &err) < 0)
			status = cli_fail(&err, 1);
		else
			printf("Login Succeeded\n");
	}
	free(o.user);
	wipe(o.pass);
	return status;
}

static int logout_main(int argc, char **argv)
{
	struct hutch_err err = { 0 };
	cleanup_free char *shown = NULL;
	const char *server;
	bool help, found = false;
	int first = cli_parse(&cli_logout_cmd, NULL, 0, NULL, argc, argv, &help,
			      &err);

	if (first >= 0 && !help && argc - first > 1) {
		cmn_err_msg(
			&err, EINVAL,
			"\"hutch logout\" takes at most 1 argument, the registry; see 'hutch logout --help'");
		first = -EINVAL;
	}
	if (first < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (help)
		return 0;
	server = first < argc ? argv[first] : NULL;
	shown = img_registry_display(server);
	if (img_logout(server, &found, &err) < 0)
		return cli_fail(&err, 1);
	if (found)
		printf("Removing login credentials for %s\n",
		       shown ? shown : server);
	else
		printf("Not logged in to %s\n", shown ? shown : server);
	return 0;
}
