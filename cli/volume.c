// SPDX-License-Identifier: Apache-2.0
/* volume.c - `hutch volume create|ls|inspect|rm|prune`: Docker's volume
 * commands, over container/volume.c */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct volume_opts {
	char *name;	/* create --name */
	char **labels;	/* create --label */
	char **filters; /* ls and prune --filter */
	char *format;
	bool quiet;
	bool force;
	bool all;
};

static int set_name(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return cli_set_string(&((struct volume_opts *)ctx)->name, arg);
}

static int set_label(void *ctx, const char *arg, struct hutch_err *err)
{
	if (!*arg || *arg == '=')
		return cmn_err_msg(err, EINVAL,
				   "invalid label \"%s\": use KEY=VALUE", arg);
	return cmn_strv_push(&((struct volume_opts *)ctx)->labels, strdup(arg));
}

static int set_driver(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)ctx;
	if (!strcmp(arg, "local"))
		return 0;
	return cmn_err_msg(
		err, ENOTSUP,
		"volume driver \"%s\" is not supported by hutch: its volumes are the local driver's (directories in the store); drop --driver",
		arg);
}

/* The local driver's options (type=nfs, device=..., o=...) mount a
 * filesystem, which an unprivileged user cannot. */
static int set_opt(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)ctx;
	return cmn_err_msg(
		err, ENOTSUP,
		"volume option \"%s\" is not supported by hutch: the local driver's options mount a filesystem (NFS, tmpfs, a device), which needs root; mount it on the host and bind it with -v /host/path:/path",
		arg);
}

static int set_filter(void *ctx, const char *arg, struct hutch_err *err)
{
	static const char *const keys[] = { "dangling=", "name=", "label=",
					    "driver=" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (cmn_has_prefix(arg, keys[i]))
			return cmn_strv_push(
				&((struct volume_opts *)ctx)->filters,
				strdup(arg));
	return cmn_err_msg(
		err, EINVAL,
		"invalid filter \"%s\"; use dangling=true|false, name=NAME, label=KEY[=VALUE] or driver=local",
		arg);
}

static int set_format(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return cli_set_string(&((struct volume_opts *)ctx)->format, arg);
}

static int set_quiet(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct volume_opts *)ctx)->quiet, err);
}

static int set_force(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct volume_opts *)ctx)->force, err);
}

static int set_all(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct volume_opts *)ctx)->all, err);
}

static const struct cli_opt create_options[] = {
	{ "name", 0, "NAME", "the volume's name (or give it as the argument)",
	  set_name },
	{ "label", 0, "KEY=VALUE", "set a label (repeatable)", set_label },
	{ "driver", 'd', "local", "only local: a directory in the store",
	  set_driver },
	{ "opt", 'o', "OPT",
	  "refused: the local driver's options mount filesystems, which needs root",
	  set_opt },
};

static const struct cli_opt ls_options[] = {
	{ "quiet", 'q', NULL, "only volume names", set_quiet },
	{ "format", 0, "TEMPLATE",
	  "Go template: {{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels}} {{.Links}} {{.CreatedAt}}",
	  set_format },
	{ "filter", 'f', "FILTER",
	  "dangling=true|false, name=NAME, label=KEY[=VALUE], driver=local",
	  set_filter },
};

static const struct cli_opt inspect_options[] = {
	{ "format", 'f', "TEMPLATE", "Go template: {{.Mountpoint}}",
	  set_format },
};

static const struct cli_opt rm_options[] = {
	{ "force", 'f', NULL, "no error for volumes that do not exist",
	  set_force },
};

static const struct cli_opt prune_options[] = {
	{ "all", 'a', NULL, "named volumes too, not only anonymous ones",
	  set_all },
	{ "force", 'f', NULL, "do not ask", set_force },
	{ "filter", 0, "label=KEY[=VALUE]", "only volumes with this label",
	  set_filter },
};

static int volume_main(int argc, char **argv);

const struct cli_cmd cli_volume_cmd = {
	.name = "volume",
	.usage = "volume create|ls|inspect|rm|prune [OPTIONS]",
	.summary = "Manage volumes (data kept in the store across containers).",
	.description =
		"Manage volumes: directories in the store that containers mount with -v NAME:/path, kept across containers.\n\nCommands:\n  create   Create a volume\n  ls       List volumes\n  inspect  Show volumes as JSON\n  rm       Remove volumes no container uses\n  prune    Remove the anonymous volumes (-a: all) no container uses\n\nRun 'hutch volume COMMAND --help' for more on a command.",
	.main = volume_main,
};

static const struct cli_cmd create_cmd = {
	.name = "volume create",
	.usage = "volume create [OPTIONS] [VOLUME]",
	.summary =
		"Create a volume: a directory in the store that containers mount with -v VOLUME:/path; a new one is filled from the image at its first mount.",
};
static const struct cli_cmd ls_cmd = {
	.name = "volume ls",
	.usage = "volume ls [OPTIONS]",
	.summary = "List volumes.",
};
static const struct cli_cmd inspect_cmd = {
	.name = "volume inspect",
	.usage = "volume inspect [OPTIONS] VOLUME [VOLUME...]",
	.summary = "Show volumes as JSON.",
};
static const struct cli_cmd rm_cmd = {
	.name = "volume rm",
	.usage = "volume rm [OPTIONS] VOLUME [VOLUME...]",
	.summary =
		"Remove volumes and their content; a volume that a container uses, running or not, is kept.",
};
static const struct cli_cmd prune_cmd = {
	.name = "volume prune",
	.usage = "volume prune [OPTIONS]",
	.summary =
		"Remove the anonymous volumes no container uses (with -a, every volume no container uses).",
};

/* ---- create ---------------------------------------------------------------- */

static int create(struct volume_opts *o, int argc, char **argv)
{
	struct hutch_err err = { 0 };
	struct ctr_volume *v = NULL;
	const char *name = o->name;
	int first, ret = cli_simple(&create_cmd, create_options,
				    ARRAY_SIZE(create_options), o, argc, argv,
				    0, &first);

	if (ret >= 0)
		return ret;
	if (argc - first > 1 || (o->name && argc - first == 1)) {
		cmn_err_msg(
			&err, EINVAL,
			"volume create: give the name once, as the argument or with --name");
		return cli_fail(&err, CMN_EXIT_HUTCH);
	}
	if (argc - first == 1)
		name = argv[first];
	if (ctr_volume_create(name, o->labels, &v, &err) < 0)
		return cli_fail(&err, 1);
	printf("%s\n", v->name);
	ctr_volume_free(v);
	return 0;
}

/* ---- ls -------------------------------------------------------------------- */

struct ls_row {
	const struct ctr_volume *v;
	char labels[1024];
	char links[16];
};

static const char *field(void *ctx, const char *name)
{
	const struct ls_row *r = ctx;

	if (!strcmp(name, "Name"))
		return r->v->name;
	if (!strcmp(name, "Driver"))
		return "local";
	if (!strcmp(name, "Scope"))
		return "local";
	if (!strcmp(name, "Mountpoint"))
		return r->v->mountpoint;
	if (!strcmp(name, "Labels"))
		return r->labels;
	if (!strcmp(name, "Links"))
		return r->links;
	if (!strcmp(name, "CreatedAt"))
		return r->v->created;
	if (!strcmp(name, "Size"))
		return "N/A";
	return NULL;
}

static bool has_label(const struct ctr_volume *v, const char *want)
{
	size_t klen = strcspn(want, "=");

	for (char **l = v->labels; l && *l; l++)
		if (want[klen] ? !strcmp(*l, want)
			       : !strncmp(*l, want, klen) && (*l)[klen] == '=')
			return true;
	return false;
}

/* Docker's filters: the same key given twice is an "or", different keys
 * an "and"; labels all have to match. */
static bool wanted(const struct ctr_volume *v, char *const *filters)
{
	static const char *const keys[] = { "dangling=", "name=", "driver=" };
	bool ok[ARRAY_SIZE(keys)] = { false },
	     seen[ARRAY_SIZE(keys)] = { false };

	for (char *const *f = filters; f && *f; f++) {
		if (cmn_has_prefix(*f, "label=") && !has_label(v, *f + 6))
			return false;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			const char *val = *f + strlen(keys[i]);
			bool match;

			if (!cmn_has_prefix(*f, keys[i]))
				continue;
			match = i == 0 ? (v->links == 0) ==
						 (!strcmp(val, "true") ||
						  !strcmp(val, "1"))
				: i == 1 ? strstr(v->name, val) != NULL
					 : !strcmp(val, "local");
			ok[i] = seen[i] ? ok[i] || match : match;
			seen[i] = true;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (seen[i] && !ok[i])
			return false;
	return true;
}

static void fill(struct ls_row *r, const struct ctr_volume *v)
{
	size_t n = 0;

	r->v = v;
	r->labels[0] = '\0';
	for (char **l = v->labels; l && *l && n < sizeof(r->labels) - 1; l++) {
		int w = snprintf(r->labels + n, sizeof(r->labels) - n, "%s%s",
				 n ? "," : "", *l);

		n = w < 0 ? sizeof(r->labels) : n + (size_t)w;
	}
	snprintf(r->links, sizeof(r->links), "%zu", v->links);
}

static int ls(struct volume_opts *o, int argc, char **argv)
{
	struct hutch_err err = { 0 };
	struct ctr_volume **vs = NULL;
	struct ls_row r;
	size_t n = 0;
	int first, ret = cli_simple(&ls_cmd, ls_options, ARRAY_SIZE(ls_options),
				    o, argc, argv, 0, &first);

	if (ret >= 0)
		return ret;
	if (first < argc) {
		cmn_err_msg(
			&err, EINVAL,
			"volume ls: takes no arguments; filter with --filter name=NAME");
		return cli_fail(&err, CMN_EXIT_HUTCH);
	}
	ret = ctr_volume_list(&vs, &n, &err);
	if (ret == 0 && !o->quiet && !o->format)
		printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
	for (size_t i = 0; ret == 0 && i < n; i++) {
		if (!wanted(vs[i], o->filters))
			continue;
		fill(&r, vs[i]);
		if (o->format)
			ret = cli_format_line(o->format, field, &r, stdout,
					      &err);
		else if (o->quiet)
			printf("%s\n", vs[i]->name);
		else
			printf("%-10s%s\n", "local", vs[i]->name);
	}
	ctr_volume_list_free(vs, n);
	return ret < 0 ? cli_fail(&err, 1) : 0;
}

/* ---- inspect --------------------------------------------------------------- */

json_t *cli_volume_json(const struct ctr_volume *v)
{
	json_t *labels = json_object();

	for (char **l = v->labels; labels && l && *l; l++) {
		size_t klen = strcspn(*l, "=");
		cleanup_free char *key = strndup(*l, klen);

		if (key)
			json_object_set_new(
				labels, key,
				json_string((*l)[klen] ? *l + klen + 1 : ""));
	}
	return json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:s}", "CreatedAt",
			 v->created, "Driver", "local", "Labels", labels,
			 "Mountpoint", v->mountpoint, "Name", v->name,
			 "Options", json_object(), "Scope", "local");
}

static json_t *lookup(const char *name, struct hutch_err *err)
{
	struct ctr_volume *v = NULL;
	json_t *j;

	if (ctr_volume_get(name, &v, err) < 0)
		return NULL;
	j = cli_volume_json(v);
	ctr_volume_free(v);
	return j;
}

static int inspect(struct volume_opts *o, int argc, char **argv)
{
	int first, status = cli_simple(&inspect_cmd, inspect_options,
				       ARRAY_SIZE(inspect_options), o, argc,
				       argv, 1, &first);

	return status >= 0 ? status
			   : cli_inspect_each(argv + first, argc - first,
					      o->format, lookup);
}

/* ---- rm and prune ---------------------------------------------------------- */

static int rm(struct volume_opts *o, int argc, char **argv)
{
	int first,
		status = cli_simple(&rm_cmd, rm_options, ARRAY_SIZE(rm_options),
				    o, argc, argv, 1, &first);

	if (status >= 0)
		return status;
	status = 0;
	for (int i = first; i < argc; i++) {
		struct hutch_err err = { 0 };
		int ret = ctr_volume_remove(argv[i], &err);

		if (ret == 0)
			printf("%s\n", argv[i]);
		else if (!(ret == -ENOENT && o->force))
			status = cli_fail(&err, 1);
	}
	return status;
}

static int prune(struct volume_opts *o, int argc, char **argv)
{
	struct hutch_err err = { 0 };
	cleanup_strv char **removed = NULL;
	cleanup_strv char **labels = NULL;
	uint64_t bytes = 0;
	char size[16];
	int first, ret = cli_simple(&prune_cmd, prune_options,
				    ARRAY_SIZE(prune_options), o, argc, argv, 0,
				    &first);

	if (ret >= 0)
		return ret;
	for (char **f = o->filters; f && *f; f++) {
		if (!cmn_has_prefix(*f, "label=")) {
			cmn_err_msg(
				&err, EINVAL,
				"volume prune: invalid filter \"%s\"; use label=KEY[=VALUE]",
				*f);
			return cli_fail(&err, CMN_EXIT_HUTCH);
		}
		cmn_strv_push(&labels, strdup(*f + 6));
	}
	if (!o->force &&
	    !cli_confirm(
		    o->all ? "WARNING! This will remove all local volumes not used by at least one container."
			   : "WARNING! This will remove anonymous local volumes not used by at least one container."))
		return 0;
	ret = ctr_volume_prune(
		&(struct ctr_volume_prune){ .all = o->all, .labels = labels },
		&removed, &bytes, &err);
	if (ret < 0)
		return cli_fail(&err, 1);
	if (removed) {
		printf("Deleted Volumes:\n");
		for (char **r = removed; *r; r++)
			printf("%s\n", *r);
		printf("\n");
	}
	printf("Total reclaimed space: %s\n", cli_human_size(bytes, size));
	return 0;
}

static int volume_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct volume_opts *o, int argc, char **argv);
	} subs[] = { { "create", create },   { "ls", ls }, { "list", ls },
		     { "inspect", inspect }, { "rm", rm }, { "remove", rm },
		     { "prune", prune } };
	struct volume_opts o = { 0 };
	int status = -1;

	for (size_t i = 0; argc >= 2 && i < ARRAY_SIZE(subs); i++)
		if (!strcmp(argv[1], subs[i].name))
			status = subs[i].run(&o, argc - 1, argv + 1);
	if (status < 0 && (argc < 2 || !strcmp(argv[1], "--help"))) {
		cli_help(&cli_volume_cmd, NULL, 0);
		status = 0;
	} else if (status < 0) {
		struct hutch_err err = { 0 };

		cmn_err_msg(
			&err, EINVAL,
			"volume: unknown command \"%s\"; use create, ls, inspect, rm or prune (see 'hutch volume --help')",
			argv[1]);
		status = cli_fail(&err, CMN_EXIT_HUTCH);
	}
	free(o.name);
	free(o.format);
	cmn_strv_free(o.labels);
	cmn_strv_free(o.filters);
	return status;
}
