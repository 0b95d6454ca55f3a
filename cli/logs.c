// SPDX-License-Identifier: Apache-2.0
/* logs.c - `hutch logs`: a detached container's output */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

struct logs_opts {
	struct ctr_log_opts log;
	char since[40];
};

static int set_follow(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct logs_opts *)ctx)->log.follow, err);
}

static int set_timestamps(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct logs_opts *)ctx)->log.timestamps,
			      err);
}

static int set_tail(void *ctx, const char *arg, struct hutch_err *err)
{
	uint64_t n;

	if (!strcmp(arg, "all")) {
		((struct logs_opts *)ctx)->log.tail = -1;
		return 0;
	}
	if (!cmn_parse_u64(arg, 1 << 30, &n))
		return cmn_err_msg(
			err, EINVAL,
			"invalid --tail \"%s\": a number of lines or all", arg);
	((struct logs_opts *)ctx)->log.tail = (int)n;
	return 0;
}

/* An RFC 3339 time (2024-05-01T12:00:00Z, or a prefix of one), or a
 * duration before now: 30s, 10m, 2h. */
static int set_since(void *ctx, const char *arg, struct hutch_err *err)
{
	struct logs_opts *o = ctx;
	size_t n = strlen(arg);
	uint64_t v;
	char num[24];

	if (n >= 2 && n < sizeof(num) && strchr("smh", arg[n - 1])) {
		memcpy(num, arg, n - 1);
		num[n - 1] = '\0';
		if (cmn_parse_u64(num, 1 << 30, &v)) {
			time_t t = time(NULL) -
				   (time_t)v * (arg[n - 1] == 's'   ? 1
						: arg[n - 1] == 'm' ? 60
								    : 3600);
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(o->since, sizeof(o->since),
				 "%Y-%m-%dT%H:%M:%S", &tm);
			o->log.since = o->since;
			return 0;
		}
	}
	if (n < 10 || n >= sizeof(o->since) || arg[4] != '-')
		return cmn_err_msg(
			err, EINVAL,
			"invalid --since \"%s\": give a time like 2024-05-01T12:00:00Z or a duration like 10m",
			arg);
	snprintf(o->since, sizeof(o->since), "%s", arg);
	o->log.since = o->since;
	return 0;
}

static const struct cli_opt logs_options[] = {
	{ "follow", 'f', NULL, "follow the output until the container stops",
	  set_follow },
	{ "timestamps", 't', NULL, "show each line's time", set_timestamps },
	{ "tail", 'n', "N", "the last N lines (default all)", set_tail },
	{ "since", 0, "WHEN", "lines since a time or a duration ago (10m)",
	  set_since },
};

static int logs_main(int argc, char **argv);

const struct cli_cmd cli_logs_cmd = {
	.name = "logs",
	.usage = "logs [OPTIONS] CONTAINER",
	.summary = "Show a container's output.",
	.description = "Show a container's output (containers run with -d).",
	.main = logs_main,
};

static int logs_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	fflush(stdout);
	return ctr_container_logs(c, &((struct logs_opts *)ctx)->log, 1, 2,
				  err);
}

static int logs_main(int argc, char **argv)
{
	struct logs_opts o = { .log = { .tail = -1 } };
	int first, ret = cli_simple(&cli_logs_cmd, logs_options,
				    ARRAY_SIZE(logs_options), &o, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	return cli_each_container(1, argv + first, logs_one, &o, false);
}
