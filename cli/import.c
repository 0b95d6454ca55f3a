// SPDX-License-Identifier: Apache-2.0
/* import.c - `hutch import`: a root filesystem into an image */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"

struct import_opts {
	char *message;
	char *config; /* JSON for the image config's "config" */
};

static int set_message(void *ctx, const char *arg, struct hutch_err *err)
{
	struct import_opts *o = ctx;

	(void)err;
	return cli_set_string(&o->message, arg);
}

static int set_config(void *ctx, const char *arg, struct hutch_err *err)
{
	struct import_opts *o = ctx;

	if (arg[0] != '{')
		return cmn_err_msg(
			err, EINVAL,
			"--config-json takes a JSON object such as '{\"Cmd\":[\"/bin/sh\"]}'");
	return cli_set_string(&o->config, arg);
}

static const struct cli_opt import_options[] = {
	{ "message", 'm', "TEXT", "the history comment", set_message },
	{ "config-json", 0, "JSON",
	  "the image config's \"config\" object (Cmd, Env, WorkingDir, ...)",
	  set_config },
};

static int import_main(int argc, char **argv);

const struct cli_cmd cli_import_cmd = {
	.name = "import",
	.usage = "import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]",
	.summary = "Make an image from a root filesystem tarball or directory.",
	.description =
		"Make an image from a root filesystem tarball (gzip, zstd, xz or plain) or directory.",
	.main = import_main,
};

static int do_import(struct import_opts *o, const char *src, const char *name,
		     struct hutch_err *err)
{
	struct img_store *s = NULL;
	struct img_ref ref = { 0 };
	struct img_digest id;
	struct stat st;
	char idstr[72];
	int fd = -1, ret;
	bool squashfs = false;
	bool dir =
		strcmp(src, "-") && stat(src, &st) == 0 && S_ISDIR(st.st_mode);

	if (name && img_ref_parse(name, &ref, err) < 0)
		return -EINVAL;
	if (!dir && strcmp(src, "-") &&
	    (fd = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		img_ref_free(&ref);
		return cmn_err_set(err, errno, "cannot open %s", src);
	}
	ret = img_store_open(&s, err);
	if (ret == 0 && fd >= 0 && img_is_squashfs(fd)) {
		char *saved = NULL;

		ret = img_load_squashfs(s, src, o->config, o->message, &saved,
					&id, err);
		free(saved);
	} else if (ret == 0)
		ret = img_import(s, dir ? src : NULL, fd < 0 ? 0 : fd,
				 o->config, o->message, &id, err);
	/* A store of squashfs files: the image becomes one, before it has
	 * a name that a `run` could take its layers by. */
	if (ret == 0)
		ret = img_store_format(s, &squashfs, err);
	if (ret == 0 && squashfs && img_image_made(s, &id))
		ret = img_image_pack(s, &id, false, err);
	if (ret == 0 && name)
		ret = img_tag(s, &ref, &id, err);
	if (ret == 0)
		printf("%s\n", img_digest_str(&id, idstr));
	if (fd >= 0)
		close(fd);
	img_ref_free(&ref);
	img_store_close(s);
	return ret;
}

static int import_main(int argc, char **argv)
{
	struct import_opts o = { 0 };
	struct hutch_err err = { 0 };
	bool help;
	int first = cli_parse(&cli_import_cmd, import_options,
			      ARRAY_SIZE(import_options), &o, argc, argv, &help,
			      &err);
	int status = 0;

	if (first < 0)
		status = cli_fail(&err, CMN_EXIT_HUTCH);
	else if (!help && (argc - first < 1 || argc - first > 2))
		status = cli_fail(
			&(struct hutch_err){
				.msg = "import: give a tarball, a directory or - (standard input), and optionally a name" },
			CMN_EXIT_HUTCH);
	else if (!help &&
		 do_import(&o, argv[first],
			   argc - first > 1 ? argv[first + 1] : NULL, &err) < 0)
		status = cli_fail(&err, CMN_EXIT_HUTCH);
	free(o.message);
	free(o.config);
	return status;
}
