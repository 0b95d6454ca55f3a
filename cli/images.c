// SPDX-License-Identifier: Apache-2.0
/* images.c - `hutch images`: the images in the store, Docker's columns */

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
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
	char **filters;	  /* --filter KEY=VALUE, as given */
	const char *repo; /* the REPOSITORY[:TAG] operand, or NULL */
	/* resolved from the filters */
	int dangling;	       /* -1 any, 0 tagged only, 1 untagged only */
	int64_t before, since; /* created before / after, 0: none */
	bool has_before, has_since;
};

/* One row: an image under one of its names (or none). */
struct row {
	const struct img_image *img;
	char repo[256];
	char tag[128];
	char id[16];
	char created[32];
	char since[32];
	char size[32];
	char digest[72];
	const char *form; /* "layers" or "squashfs" */
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

static const char filter_help[] =
	"use dangling=true|false, label=KEY[=VALUE], reference=PATTERN, before=IMAGE or since=IMAGE";

static int set_filter(void *ctx, const char *arg, struct hutch_err *err)
{
	static const char *const keys[] = { "dangling=", "label=", "reference=",
					    "before=", "since=" };
	struct images_opts *o = ctx;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (cmn_has_prefix(arg, keys[i]) && arg[strlen(keys[i])])
			return cmn_strv_push(&o->filters, strdup(arg)) < 0
				       ? cmn_err_set(err, ENOMEM, "--filter")
				       : 0;
	return cmn_err_msg(err, EINVAL, "images: invalid filter \"%s\"; %s",
			   arg, filter_help);
}

static const struct cli_opt images_options[] = {
	{ "filter", 'f', "FILTER", "only the images that match (Docker's keys)",
	  set_filter },
	{ "quiet", 'q', NULL, "only image ids", set_quiet },
	{ "digests", 0, NULL, "show manifest digests", set_digests },
	{ "format", 0, "TEMPLATE",
	  "Go template: {{.Repository}} {{.Tag}} {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}} {{.Digest}} {{.Format}} (layers or squashfs)",
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
	if (!strcmp(name, "Format"))
		return r->form;
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
	/* In squashfs form: the file's size, and says so. */
	if (img->squashfs) {
		char h[16];

		snprintf(r->size, sizeof(r->size), "%s squashfs",
			 cli_human_size(img->squashfs_size, h));
	} else {
		cli_human_size(img->size, r->size);
	}
	r->form = img->squashfs ? "squashfs" : "layers";
	img_digest_str(&img->manifest, r->digest);
}

/* Does the image's config carry label KEY (and =VALUE when given)? */
static bool has_label(const struct img_image *img, const char *want)
{
	const char *eq = strchr(want, '=');
	size_t klen = eq ? (size_t)(eq - want) : strlen(want);
	json_t *root = img->config_json ? json_loadb(img->config_json,
						     img->config_len, 0, NULL)
					: NULL;
	json_t *labels =
		json_object_get(json_object_get(root, "config"), "Labels");
	const char *key;
	json_t *v;
	bool found = false;

	json_object_foreach(labels, key, v)
	{
		if (strlen(key) == klen && !strncmp(key, want, klen) &&
		    (!eq || (json_is_string(v) &&
			     !strcmp(json_string_value(v), eq + 1))))
			found = true;
	}
	json_decref(root);
	return found;
}

/* @pattern against a row's REPOSITORY[:TAG], as Docker matches the
 * reference filter and the operand: shell patterns, / not matched by *. */
static bool ref_matches(const char *pattern, const struct row *r)
{
	cleanup_free char *shortname = NULL;
	const char *colon;
	struct img_ref ref = { 0 };
	char repo[256];

	/* A plain name is normalised first: docker.io/library/busybox is
	 * the busybox that the REPOSITORY column shows. */
	if (!strpbrk(pattern, "*?[") &&
	    img_ref_parse(pattern, &ref, NULL) == 0) {
		const char *c = strrchr(pattern, ':');
		bool tagged = c && !strchr(c, '/');
		char *t;

		shortname = img_ref_short(&ref);
		img_ref_free(&ref);
		t = shortname ? strrchr(shortname, ':') : NULL;
		if (!tagged && t && !strchr(t, '/'))
			*t = '\0'; /* every tag of it, not only latest */
		if (shortname)
			pattern = shortname;
	}
	colon = strrchr(pattern, ':');

	if (colon && strchr(colon, '/'))
		colon = NULL;
	snprintf(repo, sizeof(repo), "%.*s",
		 colon ? (int)(colon - pattern) : (int)strlen(pattern),
		 pattern);
	if (!strcmp(r->repo, "<none>"))
		return false;
	if (fnmatch(repo, r->repo, FNM_PATHNAME) != 0)
		return false;
	return !colon || fnmatch(colon + 1, r->tag, 0) == 0;
}

/* The filters that look at the image as a whole. */
static bool image_wanted(const struct images_opts *o,
			 const struct img_image *img, bool tagged)
{
	if (o->dangling >= 0 && tagged == (o->dangling == 1))
		return false;
	if (o->has_before && img->created >= o->before)
		return false;
	if (o->has_since && img->created <= o->since)
		return false;
	for (char **f = o->filters; f && *f; f++)
		if (cmn_has_prefix(*f, "label=") && !has_label(img, *f + 6))
			return false;
	return true;
}

/* The filters that look at one of its names: every reference= pattern
 * is an "or", the operand an "and". */
static bool row_wanted(const struct images_opts *o, const struct row *r)
{
	bool seen = false, ok = false;

	if (o->repo && !ref_matches(o->repo, r))
		return false;
	for (char **f = o->filters; f && *f; f++) {
		if (!cmn_has_prefix(*f, "reference="))
			continue;
		seen = true;
		ok = ok || ref_matches(*f + 10, r);
	}
	return !seen || ok;
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
	int tags = 0, ret = 0;

	for (char **n = img->names; n && *n; n++)
		tags += !strchr(*n, '@');
	if (!image_wanted(o, img, tags > 0))
		return 0;
	for (char **n = img->names; ret == 0 && n && *n; n++) {
		if (strchr(*n, '@'))
			continue;
		fill(&r, img, *n);
		if (!row_wanted(o, &r))
			continue;
		ret = print_row(o, &r, err);
		if (o->quiet)
			return ret;
	}
	/* An untagged image has one row, which a name cannot select. */
	if (ret == 0 && tags == 0 && !o->repo) {
		fill(&r, img, NULL);
		if (row_wanted(o, &r))
			ret = print_row(o, &r, err);
	}
	return ret;
}

/* before=IMAGE and since=IMAGE: the named image's date; the last given
 * of each counts, as in Docker. */
static int resolve_filters(struct images_opts *o, struct img_store *s,
			   struct hutch_err *err)
{
	o->dangling = -1;
	for (char **f = o->filters; f && *f; f++) {
		const char *v = strchr(*f, '=') + 1;
		bool before = cmn_has_prefix(*f, "before=");
		struct img_image *img = NULL;
		struct img_digest id;
		int ret;

		if (cmn_has_prefix(*f, "dangling=")) {
			if (strcmp(v, "true") && strcmp(v, "false") &&
			    strcmp(v, "1") && strcmp(v, "0"))
				return cmn_err_msg(
					err, EINVAL,
					"images: invalid filter \"%s\"; dangling takes true or false",
					*f);
			o->dangling = !strcmp(v, "true") || !strcmp(v, "1");
			continue;
		}
		if (!before && !cmn_has_prefix(*f, "since="))
			continue;
		ret = img_resolve(s, v, &id, err);
		if (ret == -ENOENT)
			return cmn_err_msg(
				err, ENOENT,
				"images: --filter %s: no such image: %s; see 'hutch images'",
				*f, v);
		if (ret == 0)
			ret = img_image_load(s, &id, &img, err);
		if (ret < 0)
			return ret;
		if (before) {
			o->before = img->created;
			o->has_before = true;
		} else {
			o->since = img->created;
			o->has_since = true;
		}
		img_image_free(img);
	}
	return 0;
}

static int list(struct images_opts *o, struct hutch_err *err)
{
	struct img_store *s = NULL;
	struct img_image **imgs = NULL;
	size_t n = 0;
	int ret = img_store_open(&s, err);

	if (ret == 0)
		ret = resolve_filters(o, s, err);
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

	if (first >= 0 && !help && argc - first > 1) {
		cmn_err_msg(
			&err, EINVAL,
			"images: takes one REPOSITORY[:TAG] at most; for more, give --filter reference=PATTERN once per pattern");
		first = -EINVAL;
	}
	if (first >= 0 && !help && first < argc)
		o.repo = argv[first];
	if (first < 0 || (!help && list(&o, &err) < 0))
		status = cli_fail(&err, first < 0 ? CMN_EXIT_HUTCH : 1);
	free(o.format);
	cmn_strv_free(o.filters);
	return status;
}
