// SPDX-License-Identifier: Apache-2.0
/* load.c - `hutch load`: images from a docker-archive or oci-archive tar */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"

struct load_opts {
	char *input;
	bool quiet;
};

static int set_input(void *ctx, const char *arg, struct hutch_err *err)
{
	struct load_opts *o = ctx;

	(void)err;
	return cli_set_string(&o->input, arg);
}

static int set_quiet(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct load_opts *)ctx)->quiet, err);
}

static const struct cli_opt load_options[] = {
	{ "input", 'i', "FILE",
	  "Read from a tar archive file (plain or compressed) or a .sqsh file of save --format squashfs, instead of standard input",
	  set_input },
	{ "quiet", 'q', NULL, "Print nothing but errors", set_quiet },
};

static int load_main(int argc, char **argv);

const struct cli_cmd cli_load_cmd = {
	.name = "load",
	.usage = "load [OPTIONS]",
	.summary = "Load images from a tar archive.",
	.description =
		"Load images from a tar archive (docker-archive or oci-archive).",
	.main = load_main,
};

/* What load tells of each image, and the images to pack afterwards when
 * the store keeps them in squashfs form. */
struct loaded_ctx {
	bool quiet;
	struct img_digest *ids;
	size_t n;
};

static void loaded(void *ctx, const struct img_digest *id, const char *name)
{
	struct loaded_ctx *l = ctx;
	struct img_digest *more = realloc(l->ids, (l->n + 1) * sizeof(*more));
	char d[72];

	if (more) {
		l->ids = more;
		l->ids[l->n++] = *id;
	}
	if (l->quiet)
		return;
	if (name)
		printf("Loaded image: %s\n", name);
	else
		printf("Loaded image ID: %s\n", img_digest_str(id, d));
}

/* A .sqsh file of hutch save --format squashfs: one image, tagged with
 * the name it was saved under. */
static int load_squashfs(struct img_store *s, struct load_opts *o,
			 bool squashfs, struct loaded_ctx *l,
			 struct hutch_err *err)
{
	struct img_digest id;
	struct img_ref ref;
	char *name = NULL;
	/* A store of squashfs files keeps the file as it is (nothing
	 * unpacked and packed again, its history kept); a store of layers
	 * unpacks it into one. */
	int ret = squashfs ? img_adopt_squashfs(s, o->input, &name, &id, err)
			   : img_load_squashfs(s, o->input, NULL, NULL, &name,
					       &id, err);

	if (ret == 0 && name && img_ref_parse(name, &ref, err) == 0) {
		ret = img_tag(s, &ref, &id, err);
		img_ref_free(&ref);
	}
	if (ret == 0)
		loaded(l, &id, name);
	free(name);
	return ret;
}

static int load(struct load_opts *o, struct hutch_err *err)
{
	struct img_store *s = NULL;
	struct loaded_ctx l = { .quiet = o->quiet };
	bool squashfs = false;
	int fd = STDIN_FILENO, ret;

	if (!o->input && isatty(STDIN_FILENO))
		return cmn_err_msg(
			err, EINVAL,
			"no archive to load: standard input is a terminal; use -i FILE or redirect the input");
	if (o->input && (fd = open(o->input, O_RDONLY | O_CLOEXEC)) < 0)
		return cmn_err_set(err, errno, "cannot open %s", o->input);
	ret = img_store_open(&s, err);
	if (ret == 0)
		ret = img_store_format(s, &squashfs, err);
	if (ret == 0 && o->input && img_is_squashfs(fd))
		ret = load_squashfs(s, o, squashfs, &l, err);
	else if (ret == 0)
		ret = img_load(s, fd, o->input ? o->input : "standard input",
			       squashfs, loaded, &l, err);
	free(l.ids);
	img_store_close(s);
	if (o->input)
		close(fd);
	return ret;
}

static int load_main(int argc, char **argv)
{
	struct load_opts o = { 0 };
	struct hutch_err err = { 0 };
	int first, ret = cli_simple(&cli_load_cmd, load_options,
				    ARRAY_SIZE(load_options), &o, argc, argv, 0,
				    &first);

	if (ret < 0 && first < argc)
		ret = cli_fail(
			&(struct hutch_err){
				.msg = "\"hutch load\" takes no arguments: give the archive with -i FILE or on standard input" },
			1);
	else if (ret < 0)
		ret = load(&o, &err) < 0 ? cli_fail(&err, 1) : 0;
	free(o.input);
	return ret;
}
