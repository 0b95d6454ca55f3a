// SPDX-License-Identifier: Apache-2.0
/* cdi.c - CDI specs: read, check, find a device, apply its edits
 *
 * Theory of operation: a spec file (CDI 0.3 to 1.x) is read whole, turned
 * into a jansson tree (JSON directly, YAML through cdi-yaml.c) and walked
 * once by a reader per object (spec, device, containerEdits, deviceNode,
 * mount, hook). Each reader knows the path of the field it is at
 * ("devices[1].containerEdits.mounts[0].hostPath"), so a refusal names
 * the file and the field in one line. Unknown fields are ignored, as the
 * CDI library does for forward compatibility; intelRdt (a resctrl group,
 * root's) is refused when a device is applied, not when it is read.
 *
 * Directories are read lowest priority first (/etc/cdi, then
 * /var/run/cdi); a device defined twice is taken from the spec read last.
 * Applying a device turns its edits into what hutch already does for -e,
 * --device and -v, plus hooks (hooks.c).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define CDI_MAX_SIZE (4 << 20)

/* Where a reader is: the file and the field path. */
struct at {
	const char *file;
	char field[256];
	struct hutch_err *err;
};

static int bad(struct at *a, const char *what)
{
	return cmn_err_msg(
		a->err, EINVAL, "CDI spec %s: %s %s; fix or remove the spec",
		a->file, a->field[0] ? a->field : "the document", what);
}

/* Enter field @name (or index @i when @name is NULL) of where @a is;
 * leave() restores. */
static size_t enter(struct at *a, const char *name, size_t i)
{
	size_t old = strlen(a->field);

	if (name)
		snprintf(a->field + old, sizeof(a->field) - old, "%s%s",
			 old ? "." : "", name);
	else
		snprintf(a->field + old, sizeof(a->field) - old, "[%zu]", i);
	return old;
}

static void leave(struct at *a, size_t old)
{
	a->field[old] = '\0';
}

/* An optional string field; *@out stays NULL when it is absent. */
static int get_string(struct at *a, const json_t *o, const char *name,
		      bool required, char **out)
{
	const json_t *v = json_object_get(o, name);
	size_t old = enter(a, name, 0);
	int ret = 0;

	if (!v || json_is_null(v))
		ret = required ? bad(a, "is missing") : 0;
	else if (!json_is_string(v) || !json_string_length(v))
		ret = bad(a, "is not a non-empty string");
	else if (strlen(json_string_value(v)) != json_string_length(v))
		ret = bad(a, "holds a NUL byte");
	else if (!(*out = strdup(json_string_value(v))))
		ret = -ENOMEM;
	leave(a, old);
	return ret;
}

static int get_strings(struct at *a, const json_t *o, const char *name,
		       char ***out)
{
	const json_t *v = json_object_get(o, name), *e;
	size_t old = enter(a, name, 0), i;
	int ret = 0;

	if (v && !json_is_null(v) && !json_is_array(v))
		ret = bad(a, "is not a list");
	json_array_foreach(v, i, e)
	{
		size_t o2 = enter(a, NULL, i);

		if (!json_is_string(e) ||
		    strlen(json_string_value(e)) != json_string_length(e))
			ret = bad(a, "is not a string");
		else if (cmn_strv_push(out, strdup(json_string_value(e))) < 0)
			ret = -ENOMEM;
		leave(a, o2);
		if (ret < 0)
			break;
	}
	leave(a, old);
	return ret;
}

/* A list field: @fn reads each element into @items[i] of @size bytes. */
static int get_list(struct at *a, const json_t *o, const char *name,
		    void **items, size_t *n, size_t size,
		    int (*fn)(struct at *a, const json_t *e, void *item))
{
	const json_t *v = json_object_get(o, name), *e;
	size_t old = enter(a, name, 0), i;
	int ret = 0;

	if (v && !json_is_null(v) && !json_is_array(v))
		ret = bad(a, "is not a list");
	else if (json_array_size(v) &&
		 !(*items = calloc(json_array_size(v), size)))
		ret = -ENOMEM;
	json_array_foreach(v, i, e)
	{
		size_t o2;

		if (ret < 0)
			break;
		o2 = enter(a, NULL, i);
		if (!json_is_object(e))
			ret = bad(a, "is not an object");
		else
			ret = fn(a, e, (char *)*items + i * size);
		(*n)++; /* even a half-read one, so that it is freed */
		leave(a, o2);
	}
	leave(a, old);
	return ret;
}

/* A whole number: a JSON integer, or a string of one (YAML's scalars are
 * strings, cdi-yaml.c). */
static bool get_number(const json_t *v, long long *out)
{
	const char *s = json_string_value(v);
	char *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 0);
	return !*end && errno == 0;
}

static int read_node(struct at *a, const json_t *e, void *item)
{
	struct sbx_cdi_node *n = item;
	int ret = get_string(a, e, "path", true, &n->path);

	ret = ret ?: get_string(a, e, "hostPath", false, &n->host_path);
	ret = ret ?: get_string(a, e, "permissions", false, &n->perms);
	if (ret == 0 && n->path[0] != '/')
		ret = bad(a, "path is not absolute");
	if (ret == 0 && n->host_path && n->host_path[0] != '/')
		ret = bad(a, "hostPath is not absolute");
	if (ret == 0 && n->perms && !sbx_device_perms_valid(n->perms))
		ret = bad(a, "permissions is not made of r, w and m");
	return ret;
}

static int read_mount(struct at *a, const json_t *e, void *item)
{
	struct sbx_cdi_mount *m = item;
	int ret = get_string(a, e, "hostPath", true, &m->host_path);

	ret = ret ?: get_string(a, e, "containerPath", true, &m->ctr_path);
	ret = ret ?: get_string(a, e, "type", false, &m->type);
	ret = ret ?: get_strings(a, e, "options", &m->options);
	if (ret == 0 && m->ctr_path[0] != '/')
		ret = bad(a, "containerPath is not absolute");
	return ret;
}

static int read_hook(struct at *a, const json_t *e, void *item)
{
	struct sbx_hook *h = item;
	const json_t *t = json_object_get(e, "timeout");
	long long secs = 0;
	int ret = get_string(a, e, "hookName", true, &h->stage);

	ret = ret ?: get_string(a, e, "path", true, &h->path);
	ret = ret ?: get_strings(a, e, "args", &h->args);
	ret = ret ?: get_strings(a, e, "env", &h->env);
	if (ret == 0 && h->path[0] != '/')
		ret = bad(a, "path is not absolute");

	if (ret == 0 && t && !json_is_null(t) &&
	    (!get_number(t, &secs) || secs <= 0 || secs > 86400))
		ret = bad(a, "timeout is not a number of seconds (1 to 86400)");
	h->timeout = (int)secs;
	return ret;
}

static int read_gids(struct at *a, const json_t *v, struct sbx_cdi_edits *ed)
{
	const json_t *e;
	size_t old = enter(a, "additionalGids", 0), i;
	int ret = 0;

	if (v && !json_is_null(v) && !json_is_array(v))
		ret = bad(a, "is not a list");
	else if (json_array_size(v) &&
		 !(ed->gids = calloc(json_array_size(v), sizeof(*ed->gids))))
		ret = -ENOMEM;
	json_array_foreach(v, i, e)
	{
		size_t o2;
		long long gid;

		if (ret < 0)
			break;
		o2 = enter(a, NULL, i);
		if (!get_number(e, &gid) || gid < 0 || gid >= UINT32_MAX)
			ret = bad(a, "is not a group id");
		else
			ed->gids[ed->n_gids++] = (uint32_t)gid;
		leave(a, o2);
	}
	leave(a, old);
	return ret;
}

static int read_edits(struct at *a, const json_t *o, const char *name,
		      bool required, struct sbx_cdi_edits *ed)
{
	const json_t *e = json_object_get(o, name);
	size_t old = enter(a, name, 0);
	int ret = 0;

	if (!e || json_is_null(e))
		ret = required ? bad(a, "is missing") : 0;
	else if (!json_is_object(e))
		ret = bad(a, "is not an object");
	if (ret < 0 || !e || json_is_null(e)) {
		leave(a, old);
		return ret;
	}
	ret = get_strings(a, e, "env", &ed->env);
	for (char **v = ed->env; ret == 0 && v && *v; v++)
		if (!strchr(*v, '=') || **v == '=')
			ret = bad(a, "env has an entry that is not NAME=VALUE");
	ret = ret
		      ?: get_list(a, e, "deviceNodes", (void **)&ed->nodes,
				  &ed->n_nodes, sizeof(*ed->nodes), read_node);
	ret = ret
		      ?: get_list(a, e, "mounts", (void **)&ed->mounts,
				  &ed->n_mounts, sizeof(*ed->mounts),
				  read_mount);
	ret = ret
		      ?: get_list(a, e, "hooks", (void **)&ed->hooks,
				  &ed->n_hooks, sizeof(*ed->hooks), read_hook);
	ret = ret ?: read_gids(a, json_object_get(e, "additionalGids"), ed);
	if (ret == 0 && json_object_get(e, "intelRdt") &&
	    !json_is_null(json_object_get(e, "intelRdt")))
		ret = bad(
			a,
			"has intelRdt, a resctrl group, which needs root; hutch cannot apply it");
	leave(a, old);
	return ret;
}

/* CDI's device names: letters, digits, '-', '_', '.', ':'. */
static bool name_valid(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") ==
			     strlen(s);
}

/* VENDOR/CLASS: a domain-like vendor and a simple class. */
static bool kind_valid(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash && slash > s && slash[1] && !strchr(slash + 1, '/') &&
	       strspn(s,
		      "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == strlen(s);
}

static int read_device(struct at *a, const json_t *e, void *item)
{
	struct sbx_cdi_device *d = item;
	int ret = get_string(a, e, "name", true, &d->name);

	if (ret == 0 && !name_valid(d->name))
		ret = bad(
			a,
			"name has characters other than letters, digits, '-', '_', '.' and ':'");
	return ret ?: read_edits(a, e, "containerEdits", true, &d->edits);
}

static int read_spec(struct at *a, const json_t *j, struct sbx_cdi_spec *s)
{
	int ret;

	if (!json_is_object(j))
		return bad(a, "is not an object");
	ret = get_string(a, j, "cdiVersion", true, &s->version);
	ret = ret ?: get_string(a, j, "kind", true, &s->kind);
	if (ret == 0 && !kind_valid(s->kind)) {
		size_t old = enter(a, "kind", 0);

		ret = bad(a, "is not VENDOR/CLASS");
		leave(a, old);
	}
	ret = ret
		      ?: get_list(a, j, "devices", (void **)&s->devices,
				  &s->n_devices, sizeof(*s->devices),
				  read_device);
	ret = ret ?: read_edits(a, j, "containerEdits", false, &s->edits);
	if (ret == 0 && s->n_devices == 0)
		ret = bad(a, "has no devices");
	return ret;
}

struct sbx_cdi_spec *sbx_cdi_parse(const char *file, const char *text,
				   size_t len, struct hutch_err *err)
{
	struct at a = { .file = file, .err = err };
	struct sbx_cdi_spec *s = calloc(1, sizeof(*s));
	size_t flen = strlen(file);
	json_t *j = NULL;
	char why[200];
	int ret;

	if (!s || !(s->file = strdup(file))) {
		free(s);
		cmn_err_set(err, ENOMEM, "CDI spec %s", file);
		return NULL;
	}
	if (flen > 5 && !strcmp(file + flen - 5, ".json")) {
		json_error_t je;

		j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		if (!j)
			snprintf(why, sizeof(why), "line %d: %s", je.line,
				 je.text);
	} else {
		j = sbx_yaml_to_json(text, len, why, sizeof(why));
	}
	if (!j) {
		cmn_err_msg(
			err, EINVAL,
			"CDI spec %s is not valid %s (%s); fix or remove it",
			file,
			flen > 5 && !strcmp(file + flen - 5, ".json") ? "JSON"
								      : "YAML",
			why);
		sbx_cdi_spec_free(s);
		return NULL;
	}
	ret = read_spec(&a, j, s);
	json_decref(j);
	if (ret < 0) {
		if (ret == -ENOMEM)
			cmn_err_set(err, ENOMEM, "CDI spec %s", file);
		sbx_cdi_spec_free(s);
		return NULL;
	}
	return s;
}

static void edits_free(struct sbx_cdi_edits *ed)
{
	cmn_strv_free(ed->env);
	for (size_t i = 0; i < ed->n_nodes; i++) {
		free(ed->nodes[i].path);
		free(ed->nodes[i].host_path);
		free(ed->nodes[i].perms);
	}
	free(ed->nodes);
	for (size_t i = 0; i < ed->n_mounts; i++) {
		free(ed->mounts[i].host_path);
		free(ed->mounts[i].ctr_path);
		free(ed->mounts[i].type);
		cmn_strv_free(ed->mounts[i].options);
	}
	free(ed->mounts);
	for (size_t i = 0; i < ed->n_hooks; i++)
		sbx_hook_clear(&ed->hooks[i]);
	free(ed->hooks);
	free(ed->gids);
}

void sbx_cdi_spec_free(struct sbx_cdi_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_devices; i++) {
		free(s->devices[i].name);
		edits_free(&s->devices[i].edits);
	}
	free(s->devices);
	edits_free(&s->edits);
	free(s->file);
	free(s->version);
	free(s->kind);
	free(s);
}

static bool spec_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && ((l > 5 && !strcmp(n + l - 5, ".json")) ||
			       (l > 5 && !strcmp(n + l - 5, ".yaml")) ||
			       (l > 4 && !strcmp(n + l - 4, ".yml")));
}

static int load_file(const char *dir, const char *name, struct sbx_cdi_set *set,
		     struct hutch_err *err)
{
	cleanup_free char *path = cmn_strdup_printf("%s/%s", dir, name);
	cleanup_free char *text = NULL;
	struct sbx_cdi_spec **more, *s;
	size_t len = 0;

	if (!path)
		return -ENOMEM;
	text = cmn_read_fileat(AT_FDCWD, path, CDI_MAX_SIZE, &len);
	if (!text)
		return cmn_err_msg(
			err, errno,
			"CDI spec %s cannot be read (%s); fix its permissions or remove it",
			path, strerror(errno));
	s = sbx_cdi_parse(path, text, len, err);
	if (!s)
		return -EINVAL;
	more = realloc(set->specs, (set->n + 1) * sizeof(*more));
	if (!more) {
		sbx_cdi_spec_free(s);
		return -ENOMEM;
	}
	set->specs = more;
	set->specs[set->n++] = s;
	return 0;
}

static int load_dir(const char *dir, struct sbx_cdi_set *set,
		    struct hutch_err *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), ret = 0;

	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR
			       ? 0
			       : cmn_err_set(err, errno,
					     "cannot read the CDI directory %s",
					     dir);
	for (int i = 0; i < n; i++) {
		if (ret == 0 && spec_name(names[i]->d_name)) {
			ret = load_file(dir, names[i]->d_name, set, err);
			/* A file of its own that is wrong: skipped, kept. */
			if (ret < 0 && ret != -ENOMEM)
				ret = cmn_strv_push(&set->broken,
						    strdup(err->msg)) < 0
					      ? -ENOMEM
					      : 0;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int sbx_cdi_load(const char *dirs, struct sbx_cdi_set *set,
		 struct hutch_err *err)
{
	cleanup_free char *copy = strdup(dirs);
	char *save = NULL;
	int ret = 0;

	memset(set, 0, sizeof(*set));
	if (!copy)
		return -ENOMEM;
	for (char *d = strtok_r(copy, ":", &save); d && ret == 0;
	     d = strtok_r(NULL, ":", &save))
		ret = load_dir(d, set, err);
	if (ret < 0)
		sbx_cdi_set_free(set);
	return ret;
}

void sbx_cdi_set_free(struct sbx_cdi_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		sbx_cdi_spec_free(set->specs[i]);
	free(set->specs);
	cmn_strv_free(set->broken);
	memset(set, 0, sizeof(*set));
}

const struct sbx_cdi_device *sbx_cdi_find(const struct sbx_cdi_set *set,
					  const char *kind, const char *name,
					  const struct sbx_cdi_spec **spec)
{
	for (size_t i = set->n; i-- > 0;) {
		const struct sbx_cdi_spec *s = set->specs[i];

		if (strcmp(s->kind, kind) != 0)
			continue;
		for (size_t d = 0; d < s->n_devices; d++)
			if (!strcmp(s->devices[d].name, name)) {
				*spec = s;
				return &s->devices[d];
			}
	}
	return NULL;
}

/* ---- applying -------------------------------------------------------------- */

/* CDI variables go before @cfg's own: -e, --env-file and a job's win. */
static int apply_env(struct sbx_config *cfg, char *const *env)
{
	char **out = NULL;

	if (!env)
		return 0;
	for (char *const *e = env; *e; e++)
		if (cmn_strv_push(&out, strdup(*e)) < 0)
			goto fail;
	for (char **e = cfg->env; e && *e; e++)
		if (cmn_strv_push(&out, strdup(*e)) < 0)
			goto fail;
	cmn_strv_free(cfg->env);
	cfg->env = out;
	return 0;
fail:
	cmn_strv_free(out);
	return -ENOMEM;
}

static bool has_option(char *const *opts, const char *o)
{
	for (char *const *p = opts; p && *p; p++)
		if (!strcmp(*p, o))
			return true;
	return false;
}

static int apply_mount(struct sbx_config *cfg, const struct sbx_cdi_mount *m,
		       const char *dev, struct hutch_err *err)
{
	bool ro = has_option(m->options, "ro") ||
		  has_option(m->options, "readonly");
	int ret;

	if (m->type && strcmp(m->type, "bind") != 0 &&
	    !has_option(m->options, "bind") && !has_option(m->options, "rbind"))
		return cmn_err_msg(
			err, ENOTSUP,
			"CDI device %s: mount of type %s on %s is not supported rootless; only binds are",
			dev, m->type, m->ctr_path);
	if (access(m->host_path, F_OK) < 0)
		return cmn_err_msg(
			err, errno,
			"CDI device %s: mount source %s: %s; check the spec or the driver's installation",
			dev, m->host_path, strerror(errno));
	ret = sbx_config_add_bind(cfg, m->host_path, m->ctr_path, ro,
				  has_option(m->options, "rbind"));
	return ret < 0 ? cmn_err_set(err, -ret, "CDI device %s", dev) : 0;
}

static int apply_hooks(struct sbx_config *cfg, const struct sbx_cdi_edits *ed,
		       const char *dev, struct hutch_err *err)
{
	struct sbx_hook *more;

	for (size_t i = 0; i < ed->n_hooks; i++)
		if (!sbx_hook_stage_valid(ed->hooks[i].stage))
			return cmn_err_msg(
				err, ENOTSUP,
				"CDI device %s: hook %s (%s) cannot run: hutch runs hooks in the container's namespaces before the command (prestart, createRuntime, createContainer, startContainer) and none after it",
				dev, ed->hooks[i].path, ed->hooks[i].stage);
	if (!ed->n_hooks)
		return 0;
	more = realloc(cfg->hooks,
		       (cfg->n_hooks + ed->n_hooks) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	cfg->hooks = more;
	for (size_t i = 0; i < ed->n_hooks; i++) {
		if (sbx_hook_copy(&cfg->hooks[cfg->n_hooks], &ed->hooks[i]) < 0)
			return -ENOMEM;
		cfg->n_hooks++;
	}
	return 0;
}

/* Which of @ed's groups the caller has; a note for those it lacks. */
static int apply_gids(struct sbx_config *cfg, const struct sbx_cdi_edits *ed,
		      const char *dev, char **note)
{
	gid_t groups[NGROUPS_MAX + 1];
	int n = getgroups(NGROUPS_MAX, groups);

	if (n < 0)
		n = 0;
	groups[n++] = getgid();
	for (size_t i = 0; i < ed->n_gids; i++) {
		bool have = false;
		char *s;

		for (int g = 0; g < n && !have; g++)
			have = groups[g] == ed->gids[i];
		if (have) {
			cfg->keep_groups = true;
			continue;
		}
		s = cmn_strdup_printf(
			"%s%sCDI device %s asks for group %u, which you are not in: a rootless container can only keep the groups you have, so its nodes may not open (ask to join the group)",
			*note ? *note : "", *note ? "; " : "", dev,
			(unsigned)ed->gids[i]);
		if (!s)
			return -ENOMEM;
		free(*note);
		*note = s;
	}
	return 0;
}

static int apply_edits(struct sbx_config *cfg, const struct sbx_cdi_edits *ed,
		       const char *dev, char **note, struct hutch_err *err)
{
	int ret = apply_env(cfg, ed->env);

	if (ret < 0)
		return cmn_err_set(err, -ret, "CDI device %s", dev);
	for (size_t i = 0; i < ed->n_nodes; i++) {
		const struct sbx_cdi_node *n = &ed->nodes[i];

		ret = sbx_device_add(cfg, n->host_path ? n->host_path : n->path,
				     n->path, n->perms ? n->perms : "rw", err);
		if (ret < 0) {
			char why[sizeof(err->msg)];

			snprintf(why, sizeof(why), "%s", err->msg);
			return cmn_err_msg(err, -ret, "CDI device %s: %s", dev,
					   why);
		}
	}
	for (size_t i = 0; i < ed->n_mounts; i++) {
		ret = apply_mount(cfg, &ed->mounts[i], dev, err);
		if (ret < 0)
			return ret;
	}
	ret = apply_hooks(cfg, ed, dev, err);
	ret = ret ?: apply_gids(cfg, ed, dev, note);
	return ret == -ENOMEM ? cmn_err_set(err, ENOMEM, "CDI device %s", dev)
			      : ret;
}

int sbx_cdi_apply(struct sbx_config *cfg, const struct sbx_cdi_spec *spec,
		  const struct sbx_cdi_device *dev, char **note,
		  struct hutch_err *err)
{
	char name[512];
	int ret;

	snprintf(name, sizeof(name), "%s=%s (%s)", spec->kind,
		 dev ? dev->name : "*", spec->file);
	ret = apply_edits(cfg, dev ? &dev->edits : &spec->edits, name, note,
			  err);
	return ret;
}
