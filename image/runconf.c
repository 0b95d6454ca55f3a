// SPDX-License-Identifier: Apache-2.0
/* runconf.c - from an image's config to a container's configuration */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store-internal.h"
#include "sandbox/sandbox.h"
#include "common/json-cleanup.h"

/* Append the strings of a JSON array (skipping non-strings) to @v. */
static int push_array(char ***v, const json_t *arr)
{
	size_t i;
	json_t *e;

	json_array_foreach(
		arr, i, e) if (json_is_string(e) &&
			       cmn_strv_push(v, strdup(json_string_value(e))) <
				       0) return -ENOMEM;
	return 0;
}

/* Image Env first: the user's -e come after it and win. */
static int apply_env(const json_t *c, struct sbx_config *cfg)
{
	char **env = NULL;
	int ret = push_array(&env, json_object_get(c, "Env"));

	for (char **e = cfg->env; ret == 0 && e && *e; e++)
		ret = cmn_strv_push(&env, strdup(*e));
	if (ret < 0) {
		cmn_strv_free(env);
		return ret;
	}
	cmn_strv_free(cfg->env);
	cfg->env = env;
	return 0;
}

static int apply_string(char **field, const json_t *c, const char *key)
{
	const char *v = json_string_value(json_object_get(c, key));

	if (*field || !v || !*v)
		return 0;
	*field = strdup(v);
	return *field ? 0 : -ENOMEM;
}

/* Docker's rules: --entrypoint replaces the image's and drops its Cmd;
 * arguments after the image replace Cmd. */
static int apply_command(const json_t *c, const struct img_run_opts *o,
			 struct sbx_config *cfg, struct hutch_err *err)
{
	char **argv = NULL;
	int ret = 0;

	if (o->entrypoint && *o->entrypoint)
		ret = cmn_strv_push(&argv, strdup(o->entrypoint));
	else if (!o->entrypoint)
		ret = push_array(&argv, json_object_get(c, "Entrypoint"));
	if (ret == 0 && o->args && o->args[0])
		for (char *const *a = o->args; ret == 0 && *a; a++)
			ret = cmn_strv_push(&argv, strdup(*a));
	else if (ret == 0 && !o->entrypoint)
		ret = push_array(&argv, json_object_get(c, "Cmd"));
	if (ret < 0) {
		cmn_strv_free(argv);
		return cmn_err_set(err, ENOMEM, "command");
	}
	if (!argv || !argv[0]) {
		cmn_strv_free(argv);
		return cmn_err_msg(
			err, EINVAL,
			"no command specified: the image has no ENTRYPOINT or CMD; give one after the image name");
	}
	cmn_strv_free(cfg->argv);
	cfg->argv = argv;
	return 0;
}

int img_run_config(const struct img_image *img, const struct img_run_opts *o,
		   struct sbx_config *cfg, struct hutch_err *err)
{
	json_error_t jerr;
	cleanup_json json_t *root =
		json_loadb(img->config_json, img->config_len, 0, &jerr);
	const json_t *c = json_object_get(root, "config");
	int ret;

	if (!root)
		return cmn_err_msg(
			err, EINVAL,
			"the config of image %.12s is not valid JSON: %s",
			img->id.hex, jerr.text);
	ret = apply_env(c, cfg);
	if (ret == 0)
		ret = apply_string(&cfg->workdir, c, "WorkingDir");
	if (ret == 0)
		ret = apply_string(&cfg->user, c, "User");
	if (ret < 0)
		return cmn_err_set(err, -ret, "image config");
	return apply_command(c, o, cfg, err);
}

/* Lowers top first, as overlayfs lists them, relative to layers/. */
static int lowers(struct img_store *s, const struct img_image *img,
		  struct sbx_config *cfg, struct hutch_err *err)
{
	char **l = NULL;

	for (size_t i = img->n_layers; i-- > 0;) {
		char rel[96];

		snprintf(rel, sizeof(rel), "layers/%s/diff",
			 img->layers[i].chain.hex);
		if (faccessat(s->rootfd, rel, F_OK, 0) < 0) {
			cmn_strv_free(l);
			return cmn_err_msg(
				err, ENOENT,
				"layer %.12s of image %.12s is missing from the store; pull the image again",
				img->layers[i].chain.hex, img->id.hex);
		}
		if (cmn_strv_push(&l, cmn_strdup_printf(
					      "%s/diff",
					      img->layers[i].chain.hex)) < 0)
			return cmn_err_set(err, ENOMEM, "layers");
	}
	cmn_strv_free(cfg->lowers);
	cfg->lowers = l;
	free(cfg->lower_base);
	cfg->lower_base = cmn_strdup_printf("%s/layers", s->root);
	return cfg->lower_base ? 0 : cmn_err_set(err, ENOMEM, "layers");
}

int img_rootfs_prepare(struct img_store *s, const struct img_image *img,
		       const char *dir, const char *local,
		       struct sbx_config *cfg, struct hutch_err *err)
{
	static const char *const parts[] = { "upper", "work", "rootfs" };
	cleanup_free char *base =
		local ? strdup(local)
		      : cmn_strdup_printf("%s/%s", s->root, dir);
	char *path[ARRAY_SIZE(parts)] = { NULL };
	int ret = 0;

	if (mkdirat(s->rootfd, "containers", 0700) < 0 && errno != EEXIST)
		return cmn_err_set(err, errno, "cannot create %s/containers",
				   s->root);
	if (mkdirat(s->rootfd, dir, 0700) < 0 && errno != EEXIST)
		return cmn_err_set(err, errno, "cannot create %s/%s", s->root,
				   dir);
	if (!base)
		return cmn_err_set(err, ENOMEM, "rootfs");
	if (local && mkdir(local, 0700) < 0 && errno != EEXIST)
		return cmn_err_set(err, errno, "cannot create %s", local);
	for (size_t i = 0; i < ARRAY_SIZE(parts) && ret == 0; i++) {
		path[i] = cmn_strdup_printf("%s/%s", base, parts[i]);
		if (!path[i])
			ret = cmn_err_set(err, ENOMEM, "rootfs");
		else if (mkdir(path[i], 0755) < 0)
			ret = cmn_err_set(err, errno, "cannot create %s",
					  path[i]);
	}
	if (ret < 0) {
		for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
			free(path[i]);
		return ret;
	}
	free(cfg->upper);
	free(cfg->work);
	free(cfg->rootfs);
	cfg->upper = path[0];
	cfg->work = path[1];
	cfg->rootfs = path[2];
	return img ? lowers(s, img, cfg, err) : 0;
}

int img_stop_signal(const struct img_image *img)
{
	json_t *root = json_loadb(img->config_json, img->config_len, 0, NULL);
	const char *s = json_string_value(
		json_object_get(json_object_get(root, "config"), "StopSignal"));
	int sig = s ? cmn_signal_parse(s) : -1;

	if (root)
		json_decref(root);
	return sig > 0 ? sig : SIGTERM;
}

char *img_config_value(const struct img_image *img, const char *key)
{
	cleanup_json json_t *root =
		json_loadb(img->config_json, img->config_len, 0, NULL);
	const json_t *v = json_object_get(json_object_get(root, "config"), key);

	if (!v || json_is_null(v))
		return NULL;
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

char **img_volumes(const struct img_image *img)
{
	cleanup_json json_t *root =
		json_loadb(img->config_json, img->config_len, 0, NULL);
	const json_t *vols =
		json_object_get(json_object_get(root, "config"), "Volumes");
	const char *path;
	json_t *ignored;
	char **out = NULL;

	json_object_foreach((json_t *)vols, path, ignored)
	{
		if (cmn_strv_push(&out, strdup(path)) < 0) {
			cmn_strv_free(out);
			return NULL;
		}
	}
	return out;
}
