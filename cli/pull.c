// SPDX-License-Identifier: Apache-2.0
/* pull.c - `hutch pull`: download an image, with Docker's output */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "image/image.h"
#include "sandbox/sandbox.h"

struct pull_opts {
	bool quiet;
	char *platform;
};

static int set_quiet(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct pull_opts *)ctx)->quiet, err);
}

static int set_platform(void *ctx, const char *arg, struct hutch_err *err)
{
	struct pull_opts *o = ctx;

	(void)err;
	return cli_set_string(&o->platform, arg);
}

static const struct cli_opt pull_options[] = {
	{ "quiet", 'q', NULL, "Print only the image's full name at the end",
	  set_quiet },
	{ "platform", 0, "OS/ARCH[/VARIANT]",
	  "Pick this platform from a multi-platform image (default: the host's)",
	  set_platform },
};

static int pull_main(int argc, char **argv);

const struct cli_cmd cli_pull_cmd = {
	.name = "pull",
	.usage = "pull [OPTIONS] NAME[:TAG|@DIGEST]",
	.summary = "Download an image from a registry.",
	.main = pull_main,
};

/* "busybox:latest" or "busybox@sha256:..." for the status line. */
static char *display_name(const char *name)
{
	struct img_ref ref;
	char *s;

	if (img_ref_parse(name, &ref, NULL) < 0)
		return strdup(name);
	s = img_ref_short(&ref);
	img_ref_free(&ref);
	return s;
}

static int pull(const struct pull_opts *o, const char *name,
		struct hutch_err *err)
{
	struct img_pull_opts po = { .platform = o->platform };
	struct img_pull_result res = { 0 };
	struct cli_progress *bar = NULL;
	struct img_store *s = NULL;
	struct img_ref ref;
	char d[72];
	int ret = img_ref_parse(name, &ref, err);

	if (ret < 0)
		return ret;
	if (!o->quiet) {
		bar = cli_progress_new(stdout, isatty(STDOUT_FILENO), ref.repo);
		po.progress = bar ? cli_progress_event : NULL;
		po.ctx = bar;
	}
	img_ref_free(&ref);
	ret = img_store_open(&s, err);
	if (ret == 0)
		ret = img_pull(s, name, &po, &res, err);
	cli_progress_free(bar);
	img_store_close(s);
	if (ret < 0)
		return ret;
	if (!o->quiet) {
		cleanup_free char *shown = display_name(res.name);

		printf("Digest: %s\n", img_digest_str(&res.digest, d));
		printf(res.up_to_date
			       ? "Status: Image is up to date for %s\n"
			       : "Status: Downloaded newer image for %s\n",
		       shown ? shown : res.name);
	}
	printf("%s\n", res.name);
	img_pull_result_free(&res);
	return 0;
}

static int pull_main(int argc, char **argv)
{
	struct pull_opts o = { 0 };
	struct hutch_err err = { 0 };
	bool help;
	int first =
		cli_parse(&cli_pull_cmd, pull_options, ARRAY_SIZE(pull_options),
			  &o, argc, argv, &help, &err);
	int status = 0;

	if (first >= 0 && !help && argc - first != 1) {
		cmn_err_msg(
			&err, EINVAL,
			"\"hutch pull\" requires exactly 1 argument, the image name; see 'hutch pull --help'");
		first = -EINVAL;
	}
	/* A bad HUTCH_IMAGE_FORMAT is the user's setting, not the pull's. */
	if (first >= 0 && !help &&
	    sbx_image_format(NULL, &(bool){ 0 }, NULL, &err) < 0)
		first = -EINVAL;
	if (first < 0)
		status = cli_fail(&err, CMN_EXIT_HUTCH);
	else if (!help && pull(&o, argv[first], &err) < 0)
		status = cli_fail(&err, 1);
	free(o.platform);
	return status;
}
