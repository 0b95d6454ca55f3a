// SPDX-License-Identifier: Apache-2.0
/* stats.c - `hutch stats`: CPU, memory and processes of running containers,
 * from /proc, sampled over one second */

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

struct stats_opts {
	bool no_stream;
};

static int set_no_stream(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct stats_opts *)ctx)->no_stream, err);
}

static const struct cli_opt stats_options[] = {
	{ "no-stream", 0, NULL, "print one sample and exit", set_no_stream },
};

static int stats_main(int argc, char **argv);

const struct cli_cmd cli_stats_cmd = {
	.name = "stats",
	.usage = "stats [OPTIONS] [CONTAINER...]",
	.summary = "Show CPU, memory and processes of running containers.",
	.description =
		"Show CPU, memory and process counts of running containers.",
	.main = stats_main,
};

struct sample {
	unsigned long long ticks;
	long rss_pages;
	size_t pids;
};

static void sample(const struct ctr_container *c, struct sample *s)
{
	struct ctr_proc *p = NULL;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	if (ctr_container_procs(c, &p, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		s->ticks += p[i].ticks;
		s->rss_pages += p[i].rss_pages;
	}
	s->pids = n;
	free(p);
}

static void print_round(struct ctr_container **cs, size_t n, long hz, long page)
{
	struct sample *a = calloc(n ? n : 1, sizeof(*a)), b;

	if (!a)
		return;
	for (size_t i = 0; i < n; i++)
		sample(cs[i], &a[i]);
	poll(NULL, 0, 1000);
	printf("%-14s %-24s %8s %12s %6s\n", "CONTAINER ID", "NAME", "CPU %",
	       "MEM USAGE", "PIDS");
	for (size_t i = 0; i < n; i++) {
		char mem[16];

		sample(cs[i], &b);
		printf("%-14.12s %-24s %7.2f%% %12s %6zu\n", cs[i]->cfg.id,
		       cs[i]->name,
		       (double)(b.ticks - a[i].ticks) * 100.0 / (double)hz,
		       cli_human_size((uint64_t)b.rss_pages * (uint64_t)page,
				      mem),
		       b.pids);
	}
	free(a);
}

static int stats(const struct stats_opts *o, int argc, char **argv,
		 struct hutch_err *err)
{
	struct ctr_container **cs = NULL;
	size_t n = 0, keep = 0;
	int ret = 0;

	if (argc) {
		cs = calloc((size_t)argc, sizeof(*cs));
		for (int i = 0; cs && ret == 0 && i < argc; i++)
			ret = ctr_container_find(argv[i], &cs[n++], err);
	} else {
		ret = ctr_container_list(&cs, &n, err);
	}
	for (size_t i = 0; i < n; i++)
		if (cs[i] && cs[i]->status == CTR_RUNNING)
			cs[keep++] = cs[i];
		else
			ctr_container_free(cs[i]);
	for (bool first = true; ret == 0 && (first || !o->no_stream);
	     first = false) {
		if (!first)
			printf("\n");
		print_round(cs, keep, sysconf(_SC_CLK_TCK),
			    sysconf(_SC_PAGESIZE));
		fflush(stdout);
	}
	for (size_t i = 0; i < keep; i++)
		ctr_container_free(cs[i]);
	free(cs);
	return ret;
}

static int stats_main(int argc, char **argv)
{
	struct stats_opts o = { 0 };
	struct hutch_err err = { 0 };
	int first, ret = cli_simple(&cli_stats_cmd, stats_options,
				    ARRAY_SIZE(stats_options), &o, argc, argv,
				    0, &first);

	if (ret >= 0)
		return ret;
	return stats(&o, argc - first, argv + first, &err) < 0
		       ? cli_fail(&err, 1)
		       : 0;
}
