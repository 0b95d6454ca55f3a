// SPDX-License-Identifier: Apache-2.0
/* ps.c - `hutch ps`: containers, Docker's columns, --format and --filter */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

struct ps_opts {
	bool all;
	bool quiet;
	bool no_trunc;
	char *format;
	char *status; /* --filter status= */
	char *name;   /* --filter name= */
};

struct ps_row {
	char id[65];
	char image[256];
	char command[512];
	char created[40];
	char running_for[40];
	char status[80];
	char state[16];
	char ports[256];
	char names[256];
};

static int set_all(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct ps_opts *)ctx)->all, err);
}

static int set_quiet(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct ps_opts *)ctx)->quiet, err);
}

static int set_no_trunc(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct ps_opts *)ctx)->no_trunc, err);
}

static int set_string(char **field, const char *arg)
{
	free(*field);
	*field = strdup(arg);
	return *field ? 0 : -ENOMEM;
}

static int set_format(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return set_string(&((struct ps_opts *)ctx)->format, arg);
}

static int set_filter(void *ctx, const char *arg, struct hutch_err *err)
{
	struct ps_opts *o = ctx;

	if (cmn_has_prefix(arg, "status="))
		return set_string(&o->status, arg + 7);
	if (cmn_has_prefix(arg, "name="))
		return set_string(&o->name, arg + 5);
	return cmn_err_msg(
		err, EINVAL,
		"invalid filter \"%s\"; use status=created|running|restarting|exited or name=NAME",
		arg);
}

static const struct cli_opt ps_options[] = {
	{ "all", 'a', NULL, "all containers (default: running ones)", set_all },
	{ "quiet", 'q', NULL, "only container ids", set_quiet },
	{ "no-trunc", 0, NULL, "do not shorten ids and commands",
	  set_no_trunc },
	{ "format", 0, "TEMPLATE",
	  "Go template: {{.ID}} {{.Names}} {{.Image}} {{.Status}} {{.Ports}} {{.Command}} {{.CreatedAt}} {{.State}} {{.RunningFor}}",
	  set_format },
	{ "filter", 'f', "FILTER",
	  "status=created|running|restarting|exited, name=NAME", set_filter },
};

static int ps_main(int argc, char **argv);

const struct cli_cmd cli_ps_cmd = {
	.name = "ps",
	.usage = "ps [OPTIONS]",
	.summary = "List containers.",
	.main = ps_main,
};

static const char *field(void *ctx, const char *name)
{
	const struct ps_row *r = ctx;
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "ID", offsetof(struct ps_row, id) },
		{ "Image", offsetof(struct ps_row, image) },
		{ "Command", offsetof(struct ps_row, command) },
		{ "CreatedAt", offsetof(struct ps_row, created) },
		{ "RunningFor", offsetof(struct ps_row, running_for) },
		{ "Status", offsetof(struct ps_row, status) },
		{ "State", offsetof(struct ps_row, state) },
		{ "Ports", offsetof(struct ps_row, ports) },
		{ "Names", offsetof(struct ps_row, names) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(name, fields[i].name))
			return (const char *)r + fields[i].off;
	return NULL;
}

/* "Up 5 minutes", "Up 5 minutes on node12" (another host: HOME shared
 * between a login node and the compute nodes), "Exited (0) 2 minutes
 * ago", "Created" */
static void status_text(const struct ctr_container *c, char *buf, size_t len)
{
	char ago[32];

	if (c->status == CTR_RUNNING && c->host && !c->started_at) {
		snprintf(buf, len, "Starting on %s", c->host);
	} else if (c->status == CTR_RUNNING && c->restarting) {
		snprintf(buf, len, "Restarting (%d) %s", c->exit_code,
			 cli_human_ago(c->finished_at / 1000000000, ago));
	} else if (c->status == CTR_RUNNING) {
		const char *h = c->health.status;

		cli_human_ago(c->started_at / 1000000000, ago);
		ago[strlen(ago) > 4 ? strlen(ago) - 4 : 0] = '\0';
		snprintf(buf, len, "Up %s%s%s%s%s%s", ago,
			 c->host ? " on " : "", c->host ? c->host : "",
			 *h ? " (" : "",
			 !strcmp(h, "starting") ? "health: starting" : h,
			 *h ? ")" : "");
	} else if (c->status == CTR_EXITED) {
		snprintf(buf, len, "Exited (%d) %s", c->exit_code,
			 cli_human_ago(c->finished_at / 1000000000, ago));
	} else {
		snprintf(buf, len, "Created");
	}
}

static void command_text(const struct ctr_container *c, bool full, char *buf,
			 size_t len)
{
	char cmd[512] = "";
	size_t n = 0;

	for (char **a = c->cfg.argv; a && *a && n < sizeof(cmd) - 1; a++) {
		int w = snprintf(cmd + n, sizeof(cmd) - n, "%s%s",
				 a == c->cfg.argv ? "" : " ", *a);

		n = w < 0 ? sizeof(cmd) : n + (size_t)w;
	}
	if (!full && strlen(cmd) > 20)
		snprintf(cmd + 19, sizeof(cmd) - 19, "\u2026");
	snprintf(buf, len, "\"%.*s\"", len > 3 ? (int)(len - 3) : 0, cmd);
}

static void fill(struct ps_row *r, const struct ctr_container *c,
		 const struct ps_opts *o)
{
	time_t t = (time_t)(c->created / 1000000000);
	static const char *const states[] = { "created", "running", "exited" };
	struct tm tm;

	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%.*s", o->no_trunc ? 64 : 12,
		 c->cfg.id);
	snprintf(r->image, sizeof(r->image), "%s", c->image);
	command_text(c, o->no_trunc, r->command, sizeof(r->command));
	localtime_r(&t, &tm);
	strftime(r->created, sizeof(r->created), "%Y-%m-%d %H:%M:%S %z %Z",
		 &tm);
	cli_human_ago(t, r->running_for);
	status_text(c, r->status, sizeof(r->status));
	snprintf(r->state, sizeof(r->state), "%s",
		 c->restarting ? "restarting" : states[c->status]);
	cli_ports_text(c, r->ports, sizeof(r->ports));
	snprintf(r->names, sizeof(r->names), "%s", c->name);
}

static bool wanted(const struct ctr_container *c, const struct ps_opts *o)
{
	static const char *const states[] = { "created", "running", "exited" };

	if (o->status)
		return !strcmp(o->status, c->restarting ? "restarting"
							: states[c->status]);
	if (o->name && !strstr(c->name, o->name))
		return false;
	return o->all || c->status == CTR_RUNNING;
}

static int list(const struct ps_opts *o, struct hutch_err *err)
{
	struct ctr_container **cs = NULL;
	struct ps_row r;
	size_t n = 0;
	int ret = ctr_container_list(&cs, &n, err);

	if (ret == 0 && !o->quiet && !o->format)
		printf("%-12s   %-20s %-22s %-16s %-28s %-20s %s\n",
		       "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
		       "PORTS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		if (ret == 0 && wanted(cs[i], o)) {
			fill(&r, cs[i], o);
			if (o->format)
				ret = cli_format_line(o->format, field, &r,
						      stdout, err);
			else if (o->quiet)
				printf("%s\n", r.id);
			else
				printf("%-12s   %-20s %-22s %-16s %-28s %-20s %s\n",
				       r.id, r.image, r.command, r.running_for,
				       r.status, r.ports, r.names);
		}
		ctr_container_free(cs[i]);
	}
	free(cs);
	return ret;
}

static int ps_main(int argc, char **argv)
{
	struct ps_opts o = { 0 };
	struct hutch_err err = { 0 };
	int first, ret = cli_simple(&cli_ps_cmd, ps_options,
				    ARRAY_SIZE(ps_options), &o, argc, argv, 0,
				    &first);

	if (ret < 0)
		ret = first < argc
			      ? cli_fail(
					&(struct hutch_err){
						.msg = "ps: takes no arguments; see 'hutch ps --help'" },
					CMN_EXIT_HUTCH)
		      : list(&o, &err) < 0 ? cli_fail(&err, 1)
					   : 0;
	free(o.format);
	free(o.status);
	free(o.name);
	return ret;
}
