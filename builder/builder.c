// SPDX-License-Identifier: Apache-2.0
/* builder.c - `hutch build`: a Dockerfile into an image, without root
 *
 * Theory of operation. The Dockerfile is parsed whole first (build.h), then
 * the stages the target needs are built in order, each from its FROM: an
 * image of the store (pulled when missing), an earlier stage, or scratch.
 * A stage carries the image config as it grows and its list of layers.
 * Instructions that only change the config (ENV, USER, CMD, ...) add
 * no layer; WORKDIR adds one when it makes a missing directory (owned by
 * the USER, as BuildKit makes it). RUN runs a container on the stage's
 * layers with a fresh overlay upper directory; COPY, ADD and WORKDIR
 * write into one through a mounted overlay; that upper directory becomes
 * the layer as it is (img_layer_from_dir()): no tree is diffed and nothing
 * is unpacked. Each RUN/COPY/ADD/WORKDIR has a cache key (parent, config,
 * expanded instruction, the content of what it copies); a hit reuses the
 * layer and prints CACHED.
 * Without subordinate ids, RUN steps get root emulation (chown and the
 * setuid family succeed without effect) so that apt-get and dpkg work.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder-internal.h"

void bld_say(const struct bld *b, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	if (b->o->output < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		cmn_write_all(b->o->output, line,
			      (size_t)n < sizeof(line) ? (size_t)n
						       : sizeof(line) - 1);
}

/* ---- stages ---------------------------------------------------------------- */

void bld_stage_release(struct stage *st)
{
	if (st->config)
		json_decref(st->config);
	if (st->history)
		json_decref(st->history);
	if (st->image_meta)
		json_decref(st->image_meta);
	for (size_t i = 0; i < st->n_layers; i++)
		free(st->layers[i].media_type);
	free(st->layers);
	bld_vars_clear(&st->scope.vars);
	cmn_strv_free(st->shell);
	memset(st, 0, sizeof(*st));
}

static int copy_layers(struct stage *st, const struct img_layer_info *l,
		       size_t n)
{
	st->layers = calloc(n + 1, sizeof(*st->layers));
	if (!st->layers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		st->layers[i] = l[i];
		st->layers[i].media_type =
			strdup(l[i].media_type ? l[i].media_type : "");
	}
	st->n_layers = n;
	return 0;
}

static char **env_of(const json_t *config)
{
	char **env = NULL;
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(config, "Env"), i,
			   e) if (json_is_string(e))
		cmn_strv_push(&env, strdup(json_string_value(e)));
	return env;
}

/* A FROM image not in the store yet: pull it, as Docker's build does. */
static int pull_base(struct bld *b, const char *name, struct img_digest *id,
		     struct hutch_err *err)
{
	struct img_pull_opts po = { 0 };
	struct img_pull_result res = { 0 };
	char d[72];
	int ret;

	bld_say(b, "Trying to pull %s...\n", name);
	ret = img_pull(b->store, name, &po, &res, err);
	if (ret == 0) {
		*id = res.id;
		bld_say(b, "Pulled %s (%s)\n", res.name,
			img_digest_str(&res.digest, d));
	}
	img_pull_result_free(&res);
	return ret;
}

/* A base image in squashfs form: its tree unpacked into one layer of the
 * store (held until the build ends), which the steps go on; its history
 * becomes one entry for that layer. */
static int from_squashfs(struct bld *b, struct stage *st,
			 const struct img_image *img, struct hutch_err *err)
{
	static const char what[] =
		"hutch: the base image's tree, from its squashfs file";
	struct img_layer_info flat = { 0 };
	char key[65], when[BLD_WHEN_LEN], digest[65], tree[128];
	bool empty = false;
	int ret = 0;

	/* Unpacked once per file: keyed by the file's own digest, which
	 * binds the tree, not by the image id (a config's digest: a file
	 * made to carry another image's config must not borrow its tree).
	 * The unpacked tree keeps every time of the file, so the same file
	 * makes the same layer. */
	if (img_squashfs_digest(img->squashfs, digest) < 0)
		digest[0] = '\0';
	snprintf(tree, sizeof(tree), "hutch: the tree of sha256:%s", digest);
	if (digest[0])
		bld_cache_key(st, tree, key);
	else
		key[0] = '\0';
	if (key[0] && bld_cache_get(b, key, &flat, &empty, when) && !empty) {
		bld_say(b, "Using the tree of %s unpacked before\n", st->base);
	} else {
		free(flat.media_type);
		memset(&flat, 0, sizeof(flat));
		bld_say(b, "Unpacking %s from its squashfs file\n", st->base);
		ret = img_image_flat_layer(b->store, img, &flat, err);
		if (ret == 0 && key[0]) {
			bld_when_now(when);
			bld_cache_put(b, key, &flat, when);
		}
	}
	if (ret == 0)
		ret = copy_layers(st, &flat, 1);
	free(flat.media_type);
	if (ret == 0) {
		json_decref(st->history);
		st->history = json_pack("[{s:s,s:s}]", "created_by", what,
					"comment", st->base);
	}
	return ret == -ENOMEM ? cmn_err_set(err, ENOMEM, "build") : ret;
}

/* FROM a .sqsh file, as `run` takes one (a path with a slash, or a name
 * ending in .sqsh, that is such a file), relative to the context: the
 * file becomes an unnamed image of the store as `load` keeps it (copied
 * and verified, not unpacked: img_adopt_squashfs()), whose id is the
 * digest of the file's config, the same for the same file, so that the
 * steps' cache holds. 1: @name is no such file. */
static int from_file(struct bld *b, const char *name, struct img_digest *id,
		     struct hutch_err *err)
{
	cleanup_free char *path =
		*name == '/' ? strdup(name)
			     : cmn_strdup_printf("%s/%s", b->context, name);
	char *saved = NULL;
	int ret;

	if (!path)
		return cmn_err_set(err, ENOMEM, "FROM");
	if (!img_squashfs_path(path))
		return 1;
	bld_say(b, "Taking %s into the store\n", name);
	ret = img_adopt_squashfs(b->store, path, &saved, id, err);
	free(saved);
	return ret;
}

/* The stage starts as a copy of an image: its config, history, layers. */
int bld_stage_from_image(struct bld *b, struct stage *st, const char *name,
			 struct hutch_err *err)
{
	struct img_digest id;
	struct img_image *img = NULL;
	json_t *root = NULL;
	cleanup_strv char **env = NULL;
	int ret = from_file(b, name, &id, err);

	if (ret == 1)
		ret = b->o->pull ? -ENOENT
				 : img_resolve(b->store, name, &id, err);
	if (ret == -ENOENT)
		ret = pull_base(b, name, &id, err);
	/* Held until the build ends: a prune meanwhile leaves its layers. */
	if (ret == 0 && (ret = img_hold_image(b->store, &id, err)) == -ENOENT)
		ret = cmn_err_msg(
			err, ENOENT,
			"image %s was removed while the build started; build again",
			name);
	if (ret == 0)
		ret = img_image_load(b->store, &id, &img, err);
	if (ret == 0) {
		root = json_loadb(img->config_json, img->config_len, 0, NULL);
		st->config = json_deep_copy(json_object_get(root, "config"));
		st->history = json_deep_copy(json_object_get(root, "history"));
		st->image_meta =
			json_pack("{s:O?,s:O?}", "architecture",
				  json_object_get(root, "architecture"), "os",
				  json_object_get(root, "os"));
		img_digest_str(&id, st->base);
		if (img->squashfs && !img->layers_kept)
			ret = from_squashfs(b, st, img, err);
		else
			ret = copy_layers(st, img->layers, img->n_layers);
	}
	if (ret == 0 && !st->config)
		st->config = json_object();
	if (ret == 0 && !st->history)
		st->history = json_array();
	env = ret == 0 ? env_of(st->config) : NULL;
	if (ret == 0 && env)
		ret = bld_vars_add_environ(&st->scope.vars, env);
	if (root)
		json_decref(root);
	img_image_free(img);
	return ret;
}

int bld_stage_source(struct bld *b, size_t index, const char *from,
		     struct stage *img_stage, const struct stage **out,
		     struct hutch_err *err)
{
	size_t ref;
	int kind = bld_stage_ref(b->df, index, from, &ref, err);

	if (kind < 0 && kind != -ENOENT)
		return kind;
	if (kind == 0) {
		int ret = bld_build_stage(b, ref, err);

		*out = &b->stages[ref];
		return ret;
	}
	*out = img_stage;
	return bld_stage_from_image(b, img_stage, from, err);
}

static int stage_from_scratch(struct stage *st)
{
	st->config = json_object();
	st->history = json_array();
	st->image_meta = json_object();
	snprintf(st->base, sizeof(st->base), "scratch");
	return st->config && st->history ? 0 : -ENOMEM;
}

static int stage_from_stage(struct stage *st, const struct stage *from)
{
	int ret;

	st->config = json_deep_copy(from->config);
	st->history = json_deep_copy(from->history);
	st->image_meta = json_deep_copy(from->image_meta);
	snprintf(st->base, sizeof(st->base), "%s", from->base);
	ret = copy_layers(st, from->layers, from->n_layers);
	if (ret == 0)
		ret = bld_vars_copy(&st->scope.vars, &from->scope.vars);
	return ret;
}

/* FROM: an earlier stage, scratch, or an image (ARGs before FROM
 * substituted). */
static int stage_begin(struct bld *b, size_t index, const struct bld_instr *raw,
		       struct hutch_err *err)
{
	struct stage *st = &b->stages[index];
	struct bld_instr *from = NULL;
	const char *image;
	size_t ref;
	int ret;

	st->scope.filename = b->df->filename;
	st->scope.escape = b->df->escape;
	st->scope.build_args = &b->build_args;
	st->scope.global = &b->global;
	ret = bld_expand(raw, &st->scope, &from, err);
	if (ret < 0)
		return ret;
	image = from->args[0];
	if (bld_stage_ref(b->df, index, image, &ref, NULL) == 0) {
		ret = bld_build_stage(b, ref, err);
		if (ret == 0)
			ret = stage_from_stage(st, &b->stages[ref]);
	} else if (!strcasecmp(image, "scratch")) {
		ret = stage_from_scratch(st);
	} else {
		ret = bld_stage_from_image(b, st, image, err);
	}
	bld_instr_free(from);
	return ret;
}

/* ---- config-only instructions ------------------------------------------------- */

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* CMD, ENTRYPOINT: JSON form as is, shell form through the stage's
 * SHELL. */
static json_t *command_json(const struct stage *st, const struct bld_instr *in)
{
	json_t *a;
	char *joined;

	if (in->json)
		return strv_json(in->args, in->n_args);
	a = json_array();
	for (char **s = st->shell; a && s && *s; s++)
		json_array_append_new(a, json_string(*s));
	joined = in->n_args ? strdup(in->args[0]) : strdup("");
	for (size_t i = 1; joined && i < in->n_args; i++) {
		char *more = cmn_strdup_printf("%s %s", joined, in->args[i]);

		free(joined);
		joined = more;
	}
	if (a && joined)
		json_array_append_new(a, json_string(joined));
	free(joined);
	return a;
}

/* HEALTHCHECK as Docker's image config has it: Test {"CMD-SHELL", text}
 * for the shell form (the container's shell runs it), {"CMD", arg...} for
 * JSON, {"NONE"}; durations in ns, those left at the default omitted. */
static json_t *health_json(const struct bld_instr *in)
{
	const struct bld_health *h = &in->health;
	const struct {
		const char *key;
		int64_t v;
	} fields[] = { { "Interval", h->interval_ns },
		       { "Timeout", h->timeout_ns },
		       { "StartPeriod", h->start_period_ns },
		       { "StartInterval", h->start_interval_ns },
		       { "Retries", h->retries } };
	json_t *test = json_array(), *o;

	if (h->none) {
		json_array_append_new(test, json_string("NONE"));
		return json_pack("{s:o}", "Test", test);
	}
	json_array_append_new(test,
			      json_string(in->json ? "CMD" : "CMD-SHELL"));
	for (size_t i = 0; i < in->n_args; i++) {
		if (!in->json && i) {
			/* Shell form: one text, as it was written. */
			char *more = cmn_strdup_printf(
				"%s %s",
				json_string_value(json_array_get(test, 1)),
				in->args[i]);

			json_array_set_new(test, 1, json_string(more));
			free(more);
			continue;
		}
		json_array_append_new(test, json_string(in->args[i]));
	}
	o = json_pack("{s:o}", "Test", test);
	for (size_t i = 0; o && i < ARRAY_SIZE(fields); i++)
		if (fields[i].v)
			json_object_set_new(
				o, fields[i].key,
				json_integer((json_int_t)fields[i].v));
	return o;
}

static void set_env(struct stage *st, const char *k, const char *v)
{
	json_t *env = json_object_get(st->config, "Env");
	size_t klen = strlen(k), i;
	char *kv = cmn_strdup_printf("%s=%s", k, v);
	json_t *e;

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(st->config, "Env", env);
	}
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);

		if (s && !strncmp(s, k, klen) && s[klen] == '=') {
			json_array_set_new(env, i, json_string(kv));
			free(kv);
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
	free(kv);
}

static json_t *object_of(json_t *config, const char *key)
{
	json_t *o = json_object_get(config, key);

	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(config, key, o);
	}
	return o;
}

static char *join_path(const char *base, const char *rel)
{
	if (rel[0] == '/')
		return strdup(rel);
	return cmn_strdup_printf("%s/%s", base && *base ? base : "", rel);
}

/* The instructions that change only the config; true when handled. */
static bool config_step(struct bld *b, struct stage *st,
			const struct bld_instr *in)
{
	json_t *c = st->config;

	switch (in->kind) {
	case BLD_ENV:
		for (size_t i = 0; i < in->n_kvs; i++)
			set_env(st, in->kvs[i].key, in->kvs[i].value);
		return true;
	case BLD_LABEL:
		for (size_t i = 0; i < in->n_kvs; i++)
			json_object_set_new(object_of(c, "Labels"),
					    in->kvs[i].key,
					    json_string(in->kvs[i].value));
		return true;
	case BLD_EXPOSE:
		for (size_t i = 0; i < in->n_args; i++) {
			char *p = strchr(in->args[i], '/')
					  ? strdup(in->args[i])
					  : cmn_strdup_printf("%s/tcp",
							      in->args[i]);

			json_object_set_new(object_of(c, "ExposedPorts"), p,
					    json_object());
			free(p);
		}
		return true;
	case BLD_WORKDIR: {
		char *w = join_path(
			json_string_value(json_object_get(c, "WorkingDir")),
			in->args[0]);

		json_object_set_new(c, "WorkingDir", json_string(w));
		free(w);
		return true;
	}
	case BLD_USER:
		json_object_set_new(c, "User", json_string(in->args[0]));
		return true;
	case BLD_CMD:
		json_object_set_new(c, "Cmd", command_json(st, in));
		return true;
	case BLD_ENTRYPOINT:
		json_object_set_new(c, "Entrypoint", command_json(st, in));
		return true;
	case BLD_VOLUME:
		for (size_t i = 0; i < in->n_args; i++)
			json_object_set_new(object_of(c, "Volumes"),
					    in->args[i], json_object());
		return true;
	case BLD_STOPSIGNAL:
		json_object_set_new(c, "StopSignal", json_string(in->args[0]));
		return true;
	case BLD_SHELL:
		cmn_strv_free(st->shell);
		st->shell = NULL;
		for (size_t i = 0; i < in->n_args; i++)
			cmn_strv_push(&st->shell, strdup(in->args[i]));
		json_object_set_new(c, "Shell",
				    strv_json(in->args, in->n_args));
		return true;
	case BLD_HEALTHCHECK:
		json_object_set_new(c, "Healthcheck", health_json(in));
		return true;
	case BLD_ONBUILD: {
		char *expr = bld_onbuild_expression(in);
		json_t *list = json_object_get(c, "OnBuild");

		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(c, "OnBuild", list);
		}
		json_array_append_new(list, json_string(expr ? expr : ""));
		free(expr);
		return true;
	}
	case BLD_MAINTAINER:
	case BLD_ARG:
		return true;
	default:
		(void)b;
		return false;
	}
}

/* ---- steps ------------------------------------------------------------------- */

void bld_when_now(char when[static BLD_WHEN_LEN])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, BLD_WHEN_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A step's history entry, dated @when: the time the step was first made,
 * which a cache hit keeps, so that a build that is all cache writes the
 * same config, hence the same image id (as Docker). */
static void history(struct stage *st, const char *created_by, bool empty,
		    const char *when)
{
	json_array_append_new(st->history,
			      json_pack("{s:s,s:s,s:s,s:b}", "created", when,
					"created_by", created_by, "comment",
					"hutch build", "empty_layer", empty));
}

static int add_layer(struct stage *st, const struct img_layer_info *li)
{
	struct img_layer_info *more =
		realloc(st->layers, (st->n_layers + 2) * sizeof(*more));

	if (!more)
		return -ENOMEM;
	st->layers = more;
	st->layers[st->n_layers++] = *li;
	return 0;
}

int bld_commit_cached(struct bld *b, struct stage *st, const char *key,
		      const char *created_by)
{
	struct img_layer_info li = { 0 };
	char when[BLD_WHEN_LEN];
	bool empty = false;

	if (!bld_cache_get(b, key, &li, &empty, when))
		return 0;
	if (!empty && add_layer(st, &li) < 0) {
		free(li.media_type);
		return 0;
	}
	bld_say(b, "--> CACHED\n");
	history(st, created_by, empty, when);
	return 1;
}

static bool dir_empty(const char *path)
{
	cleanup_dir DIR *d = opendir(path);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return false;
	return true;
}

int bld_commit_layer(struct bld *b, struct stage *st, const char *upper,
		     const char *created_by, const char *key,
		     struct hutch_err *err)
{
	struct img_layer_info li;
	char when[BLD_WHEN_LEN];
	int ret;

	bld_when_now(when);
	if (dir_empty(upper)) {
		history(st, created_by, true, when);
		bld_cache_put(b, key, NULL, when);
		return 0;
	}
	ret = img_layer_from_dir(
		b->store, upper,
		st->n_layers ? &st->layers[st->n_layers - 1].chain : NULL, &li,
		err);
	if (ret == 0 && (ret = add_layer(st, &li)) < 0)
		free(li.media_type);
	if (ret < 0)
		return ret;
	history(st, created_by, false, when);
	bld_cache_put(b, key, &li, when);
	return 0;
}

/* A step that changes only the config: its history entry keeps the date
 * it had in an earlier build of the same stage state, as a cached layer
 * step does; the key is the config after the step and its text. */
static void config_history(struct bld *b, struct stage *st,
			   const struct bld_instr *raw)
{
	cleanup_free char *what = cmn_strdup_printf("config %s", raw->original);
	char key[65], when[BLD_WHEN_LEN];
	bool empty;

	if (!what)
		return;
	bld_cache_key(st, what, key);
	if (b->o->no_cache || !bld_cache_get(b, key, NULL, &empty, when)) {
		bld_when_now(when);
		bld_cache_put(b, key, NULL, when);
	}
	history(st, raw->original, true, when);
}

static int step(struct bld *b, size_t index, const struct bld_instr *raw,
		struct hutch_err *err)
{
	struct stage *st = &b->stages[index];
	struct bld_instr *in = NULL;
	struct timespec t0, t1;
	int ret;

	b->step++;
	bld_say(b, "STEP %zu/%zu: %s\n", b->step, b->steps, raw->original);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = bld_expand(raw, &st->scope, &in, err);
	if (ret < 0)
		return ret;
	if (in->kind == BLD_RUN)
		ret = bld_step_run(b, st, index, in, err);
	else if (in->kind == BLD_COPY || in->kind == BLD_ADD)
		ret = bld_step_copy(b, st, index, in, err);
	else if (in->kind == BLD_WORKDIR && config_step(b, st, in))
		ret = bld_step_workdir(b, st, in, err);
	else if (config_step(b, st, in))
		config_history(b, st, raw);
	bld_instr_free(in);
	if (ret < 0) {
		cmn_err_prefix(err, "STEP %zu/%zu: %s", b->step, b->steps,
			       raw->original);
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (raw->kind == BLD_RUN || raw->kind == BLD_COPY ||
	    raw->kind == BLD_ADD)
		bld_say(b, "--> %.2fs\n",
			(double)(t1.tv_sec - t0.tv_sec) +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int bld_build_stage(struct bld *b, size_t index, struct hutch_err *err)
{
	const struct bld_stage *s = &b->df->stages[index];
	int ret;

	if (b->stages[index].built)
		return 0;
	b->step++;
	bld_say(b, "STEP %zu/%zu: %s\n", b->step, b->steps,
		s->instrs[0].original);
	ret = stage_begin(b, index, &s->instrs[0], err);
	if (ret < 0) {
		cmn_err_prefix(err, "%s:%u: FROM %s", b->df->filename,
			       s->instrs[0].line, s->image);
		return ret;
	}
	if (!b->stages[index].shell) {
		cmn_strv_push(&b->stages[index].shell, strdup("/bin/sh"));
		cmn_strv_push(&b->stages[index].shell, strdup("-c"));
	}
	for (size_t i = 1; i < s->n_instrs && ret == 0; i++)
		ret = step(b, index, &s->instrs[i], err);
	b->stages[index].built = ret == 0;
	return ret;
}

/* ---- the whole build ---------------------------------------------------------- */

/* The stage a RUN --mount=from=STAGE names, if its spec names one. */
static bool mount_stage(const struct bld *b, size_t index, const char *spec,
			size_t *ref)
{
	struct bld_mount m;
	bool found;

	if (bld_mount_parse(spec, &m, NULL) < 0)
		return false;
	found = m.from && bld_stage_ref(b->df, index, m.from, ref, NULL) == 0;
	bld_mount_clear(&m);
	return found;
}

/* The stages @index needs: its FROM stage, its COPY --from stages and
 * those its RUN --mount=from= mounts. */
static void mark_needed(const struct bld *b, size_t index, bool *need)
{
	const struct bld_stage *s = &b->df->stages[index];
	size_t ref;

	if (need[index])
		return;
	need[index] = true;
	if (bld_stage_ref(b->df, index, s->image, &ref, NULL) == 0)
		mark_needed(b, ref, need);
	for (size_t i = 1; i < s->n_instrs; i++) {
		const struct bld_instr *in = &s->instrs[i];
		const char *from = bld_instr_flag(in, "from", NULL);

		if (from && in->kind == BLD_COPY &&
		    bld_stage_ref(b->df, index, from, &ref, NULL) == 0)
			mark_needed(b, ref, need);
		for (size_t f = 0; in->kind == BLD_RUN && f < in->n_flags; f++)
			if (!strcmp(in->flags[f].name, "mount") &&
			    mount_stage(b, index, in->flags[f].value, &ref))
				mark_needed(b, ref, need);
	}
}

static int parse(struct bld *b, struct hutch_err *err)
{
	const struct bld_opts *o = b->o;
	cleanup_free char *path = NULL;
	cleanup_free char *text = NULL;
	size_t len = 0;

	if (o->dockerfile && !strcmp(o->dockerfile, "-")) {
		text = strdup(o->dockerfile_text ? o->dockerfile_text : "");
		len = text ? strlen(text) : 0;
	} else {
		path = o->dockerfile
			       ? strdup(o->dockerfile)
			       : cmn_strdup_printf("%s/Dockerfile", b->context);
		text = path ? cmn_read_fileat(AT_FDCWD, path, 8 << 20, &len)
			    : NULL;
		if (!text)
			return cmn_err_set(err, errno,
					   "cannot read the Dockerfile %s",
					   path ? path : "");
	}
	return bld_dockerfile_parse(text, len, "Dockerfile", &b->df, err);
}

static int load_ignore(struct bld *b, struct hutch_err *err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;

	text = cmn_read_fileat(b->context_fd, ".dockerignore", 1 << 20, &len);
	if (!text)
		return errno == ENOENT
			       ? 0
			       : cmn_err_set(err, errno,
					     "cannot read %s/.dockerignore",
					     b->context);
	return bld_ignore_parse(text, len, ".dockerignore", &b->ignore, err);
}

static int build_args(struct bld *b, struct hutch_err *err)
{
	for (char *const *a = b->o->build_args; a && *a; a++) {
		const char *eq = strchr(*a, '=');
		cleanup_free char *name =
			eq ? strndup(*a, (size_t)(eq - *a)) : strdup(*a);
		const char *value = eq ? eq + 1 : getenv(*a);

		if (!name || !*name)
			return cmn_err_msg(
				err, EINVAL,
				"invalid --build-arg \"%s\": use NAME=VALUE",
				*a);
		if (bld_vars_set(&b->build_args, name, value, false) < 0)
			return -ENOMEM;
	}
	return bld_global_args(b->df, &b->build_args, &b->global, err);
}

static int open_context(struct bld *b, struct hutch_err *err)
{
	char real[4096];
	struct stat st;

	if (!realpath(b->o->context, real) || stat(real, &st) < 0)
		return cmn_err_msg(
			err, ENOENT,
			"unable to prepare the context: path \"%s\" not found",
			b->o->context);
	if (!S_ISDIR(st.st_mode))
		return cmn_err_msg(
			err, ENOTDIR,
			"unable to prepare the context: \"%s\" is not a directory",
			b->o->context);
	b->context = strdup(real);
	b->context_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!b->context || b->context_fd < 0)
		return cmn_err_set(err, errno, "cannot open the context %s",
				   real);
	return 0;
}

static char *image_config(const struct bld *b, const struct stage *st)
{
	json_t *root = json_deep_copy(st->image_meta);
	json_t *diffs = json_array();
	struct utsname u;
	char when[BLD_WHEN_LEN], d[72];
	const char *last = json_string_value(json_object_get(
		json_array_get(st->history, json_array_size(st->history) - 1),
		"created"));
	char *text;

	if (!root || !diffs)
		return NULL;
	for (size_t i = 0; i < st->n_layers; i++)
		json_array_append_new(
			diffs,
			json_string(img_digest_str(&st->layers[i].diff_id, d)));
	if (!json_object_get(root, "architecture"))
		json_object_set_new(
			root, "architecture",
			json_string(
				uname(&u) == 0 && !strcmp(u.machine, "aarch64")
					? "arm64"
					: "amd64"));
	if (!json_object_get(root, "os"))
		json_object_set_new(root, "os", json_string("linux"));
	/* The last step's date, as Docker's: the same steps, the same id. */
	if (last)
		snprintf(when, sizeof(when), "%s", last);
	else
		bld_when_now(when);
	json_object_set_new(root, "created", json_string(when));
	json_object_set(root, "config", st->config);
	json_object_set_new(
		root, "rootfs",
		json_pack("{s:s,s:o}", "type", "layers", "diff_ids", diffs));
	json_object_set(root, "history", st->history);
	for (char *const *l = b->o->labels; l && *l; l++) {
		const char *eq = strchr(*l, '=');
		char *k = eq ? strndup(*l, (size_t)(eq - *l)) : strdup(*l);

		json_object_set_new(object_of(st->config, "Labels"), k,
				    json_string(eq ? eq + 1 : ""));
		free(k);
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

static int commit(struct bld *b, size_t target, struct img_digest *id,
		  struct hutch_err *err)
{
	struct stage *st = &b->stages[target];
	cleanup_free char *config = image_config(b, st);
	char d[72];
	int ret;

	if (!config)
		return cmn_err_set(err, ENOMEM, "image config");
	ret = img_image_make(b->store, config, st->layers, st->n_layers, id,
			     err);
	/* Squashfs form: the image becomes one file, before it has a name
	 * that a `run` could take its layers by; its step layers stay, the
	 * build cache (runs take the file, the next build the layers). */
	if (ret == 0 && b->squashfs && img_image_made(b->store, id))
		ret = img_image_pack(b->store, id, true, err);
	for (char *const *t = b->o->tags; ret == 0 && t && *t; t++) {
		struct img_ref ref;

		ret = img_ref_parse(*t, &ref, err);
		if (ret == 0)
			ret = img_tag(b->store, &ref, id, err);
		img_ref_free(&ref);
	}
	if (ret == 0)
		bld_say(b, "COMMIT %s\n--> %.12s\n",
			b->o->tags && b->o->tags[0] ? b->o->tags[0] : "",
			img_digest_str(id, d) + 7);
	return ret;
}

static void bld_free(struct bld *b)
{
	for (size_t i = 0; b->df && b->stages && i < b->df->n_stages; i++)
		bld_stage_release(&b->stages[i]);
	free(b->stages);
	bld_dockerfile_free(b->df);
	bld_ignore_free(b->ignore);
	bld_vars_clear(&b->build_args);
	bld_vars_clear(&b->global);
	if (b->context_fd >= 0)
		close(b->context_fd);
	free(b->context);
	img_store_close(b->store);
}

static int run_build(struct bld *b, struct img_digest *id,
		     struct hutch_err *err)
{
	cleanup_free bool *need = NULL;
	struct sbx_idmap map;
	size_t target;
	int ret = open_context(b, err);

	if (ret == 0)
		ret = parse(b, err);
	if (ret == 0)
		ret = load_ignore(b, err);
	if (ret == 0)
		ret = build_args(b, err);
	if (ret == 0)
		ret = bld_target_resolve(b->df, b->o->target, &target, err);
	if (ret == 0)
		ret = img_store_open(&b->store, err);
	if (ret == 0)
		ret = img_store_format(b->store, &b->squashfs, err);
	if (ret < 0)
		return ret;
	b->fake_root = sbx_idmap_plan(SBX_USERNS_AUTO, &map, NULL, NULL) == 0 &&
		       !map.full;
	b->stages = calloc(b->df->n_stages, sizeof(*b->stages));
	need = calloc(b->df->n_stages, sizeof(*need));
	if (!b->stages || !need)
		return cmn_err_set(err, ENOMEM, "build");
	mark_needed(b, target, need);
	for (size_t i = 0; i < b->df->n_stages; i++)
		if (need[i])
			b->steps += b->df->stages[i].n_instrs;
	ret = bld_build_stage(b, target, err);
	return ret < 0 ? ret : commit(b, target, id, err);
}

int bld_build(const struct bld_opts *o, struct img_digest *id,
	      struct hutch_err *err)
{
	struct bld b = { .o = o, .context_fd = -1 };
	int ret = run_build(&b, id, err);

	bld_free(&b);
	return ret;
}
