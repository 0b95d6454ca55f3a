// SPDX-License-Identifier: Apache-2.0
/* push.c - `hutch push`: upload an image, with Docker's output */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "image/image.h"

struct push_opts {
	bool quiet;
};

static int set_quiet(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct push_opts *)ctx)->quiet, err);
}

static const struct cli_opt push_options[] = {
	{ "quiet", 'q', NULL, "Print nothing but errors", set_quiet },
};

static int push_main(int argc, char **argv);

const struct cli_cmd cli_push_cmd = {
	.name = "push",
	.usage = "push [OPTIONS] NAME[:TAG]",
	.summary = "Upload an image to a registry.",
	.main = push_main,
};

static int push(const struct push_opts *o, const char *name,
		struct hutch_err *err)
{
	struct img_push_result res = { 0 };
	struct cli_progress *bar = NULL;
	struct img_store *s = NULL;
	char d[72];
	int ret;

	if (!o->quiet)
		bar = cli_progress_new(stdout, isatty(STDOUT_FILENO), name);
	ret = img_store_open(&s, err);
	if (ret == 0)
		ret = img_push(s, name, bar ? cli_progress_event : NULL, bar,
			       &res, err);
	cli_progress_free(bar);
	img_store_close(s);
	if (ret < 0)
		return ret;
	if (!o->quiet)
		printf("%s: digest: %s size: %zu\n", res.tag,
		       img_digest_str(&res.digest, d), res.size);
	img_push_result_free(&res);
	return 0;
}

static int push_main(int argc, char **argv)
{
	struct push_opts o = { 0 };
	struct hutch_err err = { 0 };
	bool help;
	int first =
		cli_parse(&cli_push_cmd, push_options, ARRAY_SIZE(push_options),
			  &o, argc, argv, &help, &err);

	if (first >= 0 && !help && argc - first != 1) {
		cmn_err_msg(
			&err, EINVAL,
			"\"hutch push\" requires exactly 1 argument, the image name; see 'hutch push --help'");
		first = -EINVAL;
	}
	if (first < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (!help && push(&o, argv[first], &err) < 0)
		return cli_fail(&err, 1);
	return 0;
}
