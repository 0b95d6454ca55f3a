// SPDX-License-Identifier: Apache-2.0
/* info.c - `hutch info`: can this machine run rootless containers, and
 * what to fix. sandbox/hostcheck.c does the checks; this file prints them,
 * as "NAME: VALUE" lines with an indented "fix:" after each problem (and,
 * under a fix that installs a file, the file, indented four spaces), or as
 * one JSON object with --format json.
 */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sandbox/sandbox.h"

enum info_format {
	INFO_TEXT,
	INFO_JSON
};

struct info_opts {
	enum info_format format;
};

static int set_format(void *ctx, const char *arg, struct hutch_err *err)
{
	struct info_opts *o = ctx;

	if (!strcmp(arg, "json")) {
		o->format = INFO_JSON;
		return 0;
	}
	if (!strcmp(arg, "text")) {
		o->format = INFO_TEXT;
		return 0;
	}
	cmn_err_msg(err, EINVAL, "unknown format \"%s\": use json or text",
		    arg);
	return -EINVAL;
}

static const struct cli_opt info_opts[] = {
	{ "format", 'f', "FORMAT", "output format: text (default) or json",
	  set_format },
};

static const char *state_name(enum sbx_check_state s)
{
	switch (s) {
	case SBX_CHECK_OK:
		return "ok";
	case SBX_CHECK_WARN:
		return "warn";
	case SBX_CHECK_FAIL:
		return "fail";
	}
	return "unknown";
}

/* A check's detail (a file to install) under its fix, indented four
 * spaces; its empty lines stay empty. */
static void print_detail(const char *detail)
{
	const char *line = detail;

	while (*line) {
		size_t len = strcspn(line, "\n");

		if (len)
			printf("    %.*s\n", (int)len, line);
		else
			putchar('\n');
		line += len + (line[len] == '\n');
	}
}

/* The checks, the GPU section (@gpu, may be NULL) before the last one,
 * the verdict. */
static void print_text(const struct sbx_report *rep, const json_t *gpu)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct sbx_check *c = &rep->checks[i];

		if (i + 1 == rep->n && gpu)
			cli_info_gpu_print(gpu);
		printf("%s: %s\n", c->name, c->value);
		if (c->state != SBX_CHECK_OK && c->fix)
			printf("  fix: %s\n", c->fix);
		if (c->state != SBX_CHECK_OK && c->detail)
			print_detail(c->detail);
	}
}

static json_t *check_json(const struct sbx_check *c)
{
	bool ok = c->state == SBX_CHECK_OK;

	/* s* leaves "detail" out where there is none. */
	return json_pack("{s:s, s:s, s:s, s:s?, s:s*}", "name", c->name,
			 "value", c->value, "state", state_name(c->state),
			 "fix", ok ? NULL : c->fix, "detail",
			 ok ? NULL : c->detail);
}

/* { "checks": [ {name, value, state, fix, detail}, ... ],
 *   "rootless": bool, "gpu": {...} } (fix and detail only where there is
 *   one; gpu as cli_info_gpu()) */
static int print_json(const struct sbx_report *rep, bool ok,
		      struct hutch_err *err)
{
	json_t *root = json_pack("{s:[], s:b, s:o*}", "checks", "rootless", ok,
				 "gpu", cli_info_gpu());
	json_t *checks = root ? json_object_get(root, "checks") : NULL;
	int ret = 0;

	for (size_t i = 0; checks && i < rep->n; i++)
		if (json_array_append_new(checks, check_json(&rep->checks[i])))
			checks = NULL;
	if (!checks || json_dumpf(root, stdout, JSON_INDENT(2)) < 0)
		ret = cmn_err_set(err, ENOMEM, "info: cannot write JSON");
	else
		putchar('\n');
	json_decref(root);
	return ret;
}

static int info_main(int argc, char **argv)
{
	struct info_opts opts = { INFO_TEXT };
	struct sbx_report rep = { 0 };
	struct hutch_err err = { 0 };
	bool help, ok = true;
	int first = cli_parse(&cli_info_cmd, info_opts, ARRAY_SIZE(info_opts),
			      &opts, argc, argv, &help, &err);

	if (first < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (help)
		return 0;
	if (first < argc) {
		cmn_err_msg(
			&err, EINVAL,
			"info: unexpected argument \"%s\"; 'hutch info' takes no arguments",
			argv[first]);
		return cli_fail(&err, CMN_EXIT_HUTCH);
	}
	if (sbx_host_report(sbx_procsys(), &rep, &err) < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	for (size_t i = 0; i < rep.n; i++)
		if (rep.checks[i].state == SBX_CHECK_FAIL)
			ok = false;
	if (opts.format == INFO_JSON) {
		if (print_json(&rep, ok, &err) < 0) {
			sbx_report_free(&rep);
			return cli_fail(&err, CMN_EXIT_HUTCH);
		}
	} else {
		json_t *gpu = cli_info_gpu();

		print_text(&rep, gpu);
		json_decref(gpu);
	}
	sbx_report_free(&rep);
	return ok ? 0 : 1;
}

const struct cli_cmd cli_info_cmd = {
	.name = "info",
	.usage = "info [--format json]",
	.summary =
		"Show whether this machine can run rootless containers, and what to fix.",
	.main = info_main,
};
