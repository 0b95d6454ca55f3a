// SPDX-License-Identifier: Apache-2.0
/* images.c - `hutch images`: the images in the store, Docker's columns */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "image/image.h"

struct images_opts {
	bool quiet;
	bool digests;
	char *format;
};

/* One row: an image under one of its names (or none). */
struct row {
	const struct img_image *img;
	char repo[256];
	char tag[128];
	char id[16];
	char created[32];
	char since[32];
	char size[16];
	char digest[72];
};

static int set_quiet(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct images_opts *)ctx)->quiet, err);
}

static int set_digests(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct images_opts *)ctx)->digests, err);
}

static int set_format(void *ctx, const char *arg, struct hutch_err *err)
{
	struct images_opts *o = ctx;

	(void)err;
	return cli_set_string(&o->format, arg);
}

static const struct cli_opt images_options[] = {
	{ "quiet", 'q', NULL, "only image ids", set_quiet },
	{ "digests", 0, NULL, "show manifest digests", set_digests },
	{ "format", 0, "TEMPLATE",
	  "Go template: {{.Repository}} {{.Tag}} {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}} {{.Digest}}",
	  set_format },
};

static int images_main(int argc, char **argv);

const struct cli_cmd cli_images_cmd = {
	.name = "images",
	.usage = "images [OPTIONS] [REPOSITORY[:TAG]]",
	.summary = "List images.",
	.main = images_main,
};

static const char *field(void *ctx, const char *name)
{
	const struct row *r = ctx;

	if (!strcmp(name, "Repository"))
		return r->repo;
	if (!strcmp(name, "Tag"))
		return r->tag;
	if (!strcmp(name, "ID"))
		return r->id;
	if (!strcmp(name, "CreatedSince"))
		return r->since;
	if (!strcmp(name, "CreatedAt"))
		return r->created;
	if (!strcmp(name, "Size"))
		return r->size;
	if (!strcmp(name, "Digest"))
		return r->digest;
	return NULL;
}

static void fill(struct row *r, const struct img_image *img, const char *name)
{
	struct img_ref ref = { 0 };
	time_t t = (time_t)img->created;
	struct tm tm;

	memset(r, 0, sizeof(*r));
	r->img = img;
	snprintf(r->repo, sizeof(r->repo), "<none>");
	snprintf(r->tag, sizeof(r->tag), "<none>");
	if (name && img_ref_parse(name, &ref, NULL) == 0) {
		char *shortname = img_ref_short(&ref);
		char *at = shortname ? strrchr(shortname, ':') : NULL;

		if (at && !strchr(at, '/'))
			*at = '\0';
		snprintf(r->repo, sizeof(r->repo), "%s",
			 shortname ? shortname : "<none>");
		snprintf(r->tag, sizeof(r->tag), "%s",
			 ref.tag ? ref.tag : "<none>");
		free(shortname);
		img_ref_free(&ref);
	}
	snprintf(r->id, sizeof(r->id), "%.12s", img->id.hex);
	cli_human_ago(img->created, r->since);
	gmtime_r(&t, &tm);
	strftime(r->created, sizeof(r->created), "%Y-%m-%d %H:%M:%S +0000 UTC",
		 &tm);
	cli_human_size(img->size, r->size);
	img_digest_str(&img->manifest, r->digest);
}

static int print_row(const struct images_opts *o, struct row *r,
		     struct hutch_err *err)
{
	if (o->format)
		return cli_format_line(o->format, field, r, stdout, err);
	if (o->quiet) {
		printf("%s\n", r->id);
		return 0;
	}
	if (o->digests)
		printf("%-40s %-16s %-72s %-14s %-20s %s\n", r->repo, r->tag,
		       r->digest, r->id, r->since, r->size);
	else
		printf("%-40s %-16s %-14s %-20s %s\n", r->repo, r->tag, r->id,
		       r->since, r->size);
	return 0;
}

/* A row per tag; digest-only names are not tags. */
static int print_image(const struct images_opts *o, const struct img_image *img,
		       struct hutch_err *err)
{
	struct row r;
	int rows = 0, ret = 0;

	for (char **n = img->names; ret == 0 && n && *n; n++) {
		if (strchr(*n, '@'))
			continue;
		fill(&r, img, *n);
		ret = print_row(o, &r, err);
		rows++;
		if (o->quiet)
			return ret;
	}
	if (ret == 0 && rows == 0) {
		fill(&r, img, NULL);
		ret = print_row(o, &r, err);
	}
	return ret;
}

static int list(const struct images_opts *o, struct hutch_err *err)
{
	struct img_store *s = NULL;
	struct img_image **imgs = NULL;
	size_t n = 0;
	int ret = img_store_open(&s, err);

	if (ret == 0)
		ret = img_image_list(s, &imgs, &n, err);
	if (ret == 0 && !o->quiet && !o->format)
		printf(o->digests ? "%-40s %-16s %-72s %-14s %-20s %s\n"
				  : "%-40s %-16s %s%-14s %-20s %s\n",
		       "REPOSITORY", "TAG", o->digests ? "DIGEST" : "",
		       "IMAGE ID", "CREATED", "SIZE");
	for (size_t i = 0; i < n; i++) {
		if (ret == 0)
			ret = print_image(o, imgs[i], err);
		img_image_free(imgs[i]);
	}
	free(imgs);
	img_store_close(s);
	return ret;
}

static int images_main(int argc, char **argv)
{
	struct images_opts o = { 0 };
	struct hutch_err err = { 0 };
	bool help;
	int first = cli_parse(&cli_images_cmd, images_options,
			      ARRAY_SIZE(images_options), &o, argc, argv, &help,
			      &err);
	int status = 0;

	if (first < 0 || (!help && list(&o, &err) < 0))
		status = cli_fail(&err, first < 0 ? CMN_EXIT_HUTCH : 1);
	free(o.format);
	return status;
}
