// SPDX-License-Identifier: Apache-2.0
/* save.c - `hutch save`: images to a docker-archive or oci-archive tar */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"

struct save_opts {
	char *output;
	bool oci;
	bool squashfs;
};

static int set_output(void *ctx, const char *arg, struct hutch_err *err)
{
	struct save_opts *o = ctx;

	(void)err;
	return cli_set_string(&o->output, arg);
}

static int set_format(void *ctx, const char *arg, struct hutch_err *err)
{
	struct save_opts *o = ctx;

	if (!strcmp(arg, "docker-archive") || !strcmp(arg, "oci-archive") ||
	    !strcmp(arg, "squashfs")) {
		o->oci = arg[0] == 'o';
		o->squashfs = arg[0] == 's';
		return 0;
	}
	return cmn_err_msg(
		err, EINVAL,
		"--format \"%s\" is not known: use docker-archive (what docker load reads), oci-archive or squashfs",
		arg);
}

static const struct cli_opt save_options[] = {
	{ "output", 'o', "FILE", "Write to a file, instead of standard output",
	  set_output },
	{ "format", 0, "FORMAT",
	  "docker-archive (default, for docker load), oci-archive, or squashfs (one file that hutch runs without unpacking; needs -o)",
	  set_format },
};

static int save_main(int argc, char **argv);

const struct cli_cmd cli_save_cmd = {
	.name = "save",
	.usage = "save [OPTIONS] IMAGE...",
	.summary =
		"Save images to a tar archive (docker-archive or oci-archive).",
	.main = save_main,
};

/* One image, flattened, into one squashfs file (image/squashfs.c). */
static int save_squashfs(const struct save_opts *o, char **keys, size_t n,
			 struct hutch_err *err)
{
	struct img_store *s = NULL;
	int ret;

	if (!o->output || n != 1)
		return cmn_err_msg(
			err, EINVAL,
			"save --format squashfs writes one image to a file: give one image and -o FILE.sqsh");
	ret = img_store_open(&s, err);
	if (ret == 0)
		ret = img_save_squashfs(s, keys[0], o->output, err);
	img_store_close(s);
	return ret;
}

/* To a file: written beside it and renamed in place when complete, so a
 * failed save never leaves a truncated archive under the name asked for. */
static int save(const struct save_opts *o, char **keys, size_t n,
		struct hutch_err *err)
{
	struct img_store *s = NULL;
	cleanup_free char *tmp = NULL;
	int fd = STDOUT_FILENO, ret;

	if (o->squashfs)
		return save_squashfs(o, keys, n, err);
	if (!o->output && isatty(STDOUT_FILENO))
		return cmn_err_msg(
			err, EINVAL,
			"refusing to write an archive to a terminal: use -o FILE or redirect the output");
	if (o->output) {
		if (asprintf(&tmp, "%s.hutch-tmp-%d", o->output,
			     (int)getpid()) < 0)
			return cmn_err_set(err, ENOMEM, "save");
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return cmn_err_set(err, errno, "cannot create %s",
					   o->output);
	}
	ret = img_store_open(&s, err);
	if (ret == 0)
		ret = img_save(s, keys, n, o->oci, fd, err);
	img_store_close(s);
	if (o->output) {
		if (ret == 0 && fsync(fd) < 0)
			ret = cmn_err_set(err, errno, "cannot write %s",
					  o->output);
		close(fd);
		if (ret == 0 && rename(tmp, o->output) < 0)
			ret = cmn_err_set(err, errno, "cannot write %s",
					  o->output);
		if (ret < 0)
			unlink(tmp);
	}
	return ret;
}

static int save_main(int argc, char **argv)
{
	struct save_opts o = { 0 };
	struct hutch_err err = { 0 };
	int first, ret = cli_simple(&cli_save_cmd, save_options,
				    ARRAY_SIZE(save_options), &o, argc, argv, 0,
				    &first);

	if (ret < 0 && first >= argc)
		ret = cli_fail(
			&(struct hutch_err){
				.msg = "\"hutch save\" requires at least 1 argument: the images to save" },
			1);
	else if (ret < 0)
		ret = save(&o, argv + first, (size_t)(argc - first), &err) < 0
			      ? cli_fail(&err, 1)
			      : 0;
	free(o.output);
	return ret;
}
