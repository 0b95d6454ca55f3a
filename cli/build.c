// SPDX-License-Identifier: Apache-2.0
/* build.c - `hutch build`: Docker's options into struct bld_opts */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cli/cli.h"
#include "image/image.h"
#include "sandbox/sandbox.h"

struct build_cli {
	struct bld_opts o;
	char **tags, **args, **labels;
	char *file, *target, *iidfile;
	bool quiet;
	struct bld_secret *secrets; /* o.secrets, owned */
	struct bld_ssh *ssh;	    /* o.ssh, owned */
};

static int push(char ***v, const char *s)
{
	return cmn_strv_push(v, strdup(s));
}

static int set_tag(void *ctx, const char *arg, struct hutch_err *err)
{
	struct img_ref ref;

	if (img_ref_parse(arg, &ref, err) < 0)
		return -EINVAL;
	img_ref_free(&ref);
	return push(&((struct build_cli *)ctx)->tags, arg);
}

static int set_arg(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return push(&((struct build_cli *)ctx)->args, arg);
}

static int set_label(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return push(&((struct build_cli *)ctx)->labels, arg);
}

static int set_str(char **field, const char *arg)
{
	free(*field);
	*field = strdup(arg);
	return *field ? 0 : -ENOMEM;
}

static int set_file(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return set_str(&((struct build_cli *)ctx)->file, arg);
}

static int set_target(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return set_str(&((struct build_cli *)ctx)->target, arg);
}

static int set_iidfile(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return set_str(&((struct build_cli *)ctx)->iidfile, arg);
}

static int set_no_cache(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct build_cli *)ctx)->o.no_cache, err);
}

static int set_quiet(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct build_cli *)ctx)->quiet, err);
}

static int set_pull(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct build_cli *)ctx)->o.pull, err);
}

/* BuildKit's --progress: hutch's output is plain text whatever the
 * terminal, and quiet is -q. */
static int set_progress(void *ctx, const char *arg, struct hutch_err *err)
{
	if (!strcmp(arg, "quiet"))
		return set_quiet(ctx, "true", err);
	if (!strcmp(arg, "auto") || !strcmp(arg, "plain") ||
	    !strcmp(arg, "tty"))
		return 0;
	return cmn_err_msg(
		err, EINVAL,
		"invalid --progress \"%s\": use auto, plain, tty or quiet (hutch prints plain text for each)",
		arg);
}

/* RUN's containers and COPY's mounts both read the variable. */
static int set_storage_driver(void *ctx, const char *arg, struct hutch_err *err)
{
	const struct sbx_storage_driver *d;

	(void)ctx;
	if (sbx_storage_parse(arg, &d, err) < 0)
		return -EINVAL;
	return setenv("HUTCH_STORAGE_DRIVER", arg, 1) < 0 ? -errno : 0;
}

static int set_network(void *ctx, const char *arg, struct hutch_err *err)
{
	struct build_cli *b = ctx;

	if (!strcmp(arg, "host") || !strcmp(arg, "default") ||
	    !strcmp(arg, "auto"))
		b->o.network_none = false;
	else if (!strcmp(arg, "none"))
		b->o.network_none = true;
	else
		return cmn_err_msg(
			err, EINVAL,
			"unknown build network \"%s\"; use host or none", arg);
	return 0;
}

static int set_secret(void *ctx, const char *arg, struct hutch_err *err)
{
	struct build_cli *b = ctx;
	struct bld_secret s, *more;

	if (bld_secret_parse(arg, &s, err) < 0)
		return -EINVAL;
	more = realloc(b->secrets, (b->o.n_secrets + 1) * sizeof(*more));
	if (!more) {
		bld_secret_clear(&s);
		return -ENOMEM;
	}
	more[b->o.n_secrets++] = s;
	b->o.secrets = b->secrets = more;
	return 0;
}

/* --ssh default forwards the agent this shell uses. */
static int set_ssh(void *ctx, const char *arg, struct hutch_err *err)
{
	struct build_cli *b = ctx;
	struct bld_ssh s, *more;

	if (bld_ssh_parse(arg, getenv("SSH_AUTH_SOCK"), &s, err) < 0)
		return -EINVAL;
	more = realloc(b->ssh, (b->o.n_ssh + 1) * sizeof(*more));
	if (!more) {
		bld_ssh_clear(&s);
		return -ENOMEM;
	}
	more[b->o.n_ssh++] = s;
	b->o.ssh = b->ssh = more;
	return 0;
}

static const struct cli_opt build_options[] = {
	{ "tag", 't', "NAME[:TAG]", "name the image (repeatable)", set_tag },
	{ "file", 'f', "PATH",
	  "the Dockerfile (default: CONTEXT/Dockerfile; - for standard input)",
	  set_file },
	{ "build-arg", 0, "NAME=VALUE",
	  "set a build argument (NAME alone: from the environment)", set_arg },
	{ "target", 0, "STAGE", "build this stage of a multi-stage Dockerfile",
	  set_target },
	{ "no-cache", 0, NULL, "do not use the build cache", set_no_cache },
	{ "network", 0, "MODE", "RUN steps' network: host (default) or none",
	  set_network },
	{ "storage-driver", 0, "DRIVER",
	  "how steps mount the layers: auto (default), kernel or fuse",
	  set_storage_driver },
	{ "iidfile", 0, "FILE", "write the image id to FILE", set_iidfile },
	{ "quiet", 'q', NULL, "print only the image id", set_quiet },
	{ "progress", 0, "TYPE",
	  "auto, plain, tty (all plain text) or quiet (as -q)", set_progress },
	{ "pull", 0, NULL, "pull each FROM image, even one the store has",
	  set_pull },
	{ "label", 0, "KEY=VALUE", "add a label to the image", set_label },
	{ "secret", 0, "id=ID,src=FILE",
	  "a secret for RUN --mount=type=secret (or id=ID,env=VAR), never stored",
	  set_secret },
	{ "ssh", 0, "default|ID[=SOCKET]",
	  "forward an ssh agent ($SSH_AUTH_SOCK) to RUN --mount=type=ssh",
	  set_ssh },
};

static int build_main(int argc, char **argv);

const struct cli_cmd cli_build_cmd = {
	.name = "build",
	.usage = "build [OPTIONS] CONTEXT",
	.summary = "Build an image from a Dockerfile.",
	.description = "Build an image from a Dockerfile, without root.",
	.main = build_main,
};

/* `-f -`: the Dockerfile comes from standard input. */
static char *read_stdin(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	while (buf && (n = read(0, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *more = realloc(buf, cap * 2);

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int build(struct build_cli *b, const char *context,
		 struct hutch_err *err)
{
	cleanup_free char *text = NULL;
	struct img_digest id;
	char d[72];
	int ret;

	b->o.context = context;
	b->o.dockerfile = b->file;
	if (b->file && !strcmp(b->file, "-") && !(text = read_stdin()))
		return cmn_err_set(
			err, errno,
			"cannot read the Dockerfile from standard input");
	b->o.dockerfile_text = text;
	b->o.tags = b->tags;
	b->o.build_args = b->args;
	b->o.labels = b->labels;
	b->o.target = b->target;
	b->o.output = b->quiet ? -1 : 1;
	ret = bld_build(&b->o, &id, err);
	if (ret < 0)
		return ret;
	for (char **t = b->tags; !b->quiet && t && *t; t++)
		printf("Successfully tagged %s\n", *t);
	printf("%s\n", img_digest_str(&id, d));
	if (b->iidfile &&
	    cmn_write_fileat(AT_FDCWD, b->iidfile, d, strlen(d), 0644) < 0)
		return cmn_err_set(err, errno, "cannot write %s", b->iidfile);
	return 0;
}

static int build_main(int argc, char **argv)
{
	struct build_cli b = { 0 };
	struct hutch_err err = { 0 };
	int first, status = cli_simple(&cli_build_cmd, build_options,
				       ARRAY_SIZE(build_options), &b, argc,
				       argv, 1, &first);

	if (status < 0 && argc - first != 1) {
		cmn_err_msg(
			&err, EINVAL,
			"\"hutch build\" requires exactly 1 argument, the context directory; see 'hutch build --help'");
		status = cli_fail(&err, CMN_EXIT_HUTCH);
	}
	/* A bad HUTCH_IMAGE_FORMAT is the user's setting, not the build's. */
	if (status < 0 && sbx_image_format(NULL, &(bool){ 0 }, NULL, &err) < 0)
		status = cli_fail(&err, CMN_EXIT_HUTCH);
	if (status < 0) {
		fflush(stdout);
		status = build(&b, argv[first], &err) < 0 ? cli_fail(&err, 1)
							  : 0;
	}
	cmn_strv_free(b.tags);
	cmn_strv_free(b.args);
	cmn_strv_free(b.labels);
	free(b.file);
	free(b.target);
	free(b.iidfile);
	for (size_t i = 0; i < b.o.n_secrets; i++)
		bld_secret_clear(&b.secrets[i]);
	for (size_t i = 0; i < b.o.n_ssh; i++)
		bld_ssh_clear(&b.ssh[i]);
	free(b.secrets);
	free(b.ssh);
	return status;
}
