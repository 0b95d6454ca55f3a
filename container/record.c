// SPDX-License-Identifier: Apache-2.0
/* record.c - struct sbx_config to and from JSON, for container records
 *
 * A container's configuration is written once when it is created and read
 * by every later command (start, ps, inspect, exec) and by its monitor, so
 * every field of struct sbx_config round-trips here. Keys follow Docker's
 * inspect output where one exists (Env, Cmd, WorkingDir, User, Hostname).
 */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/container-internal.h"

static const char *const userns_names[] = { "auto", "full", "single",
					    "keep-id" };
static const char *const network_names[] = { "host", "none", "slirp" };

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (; a && v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static char **json_strv(const json_t *a)
{
	char **v = NULL;
	size_t i;
	json_t *e;

	json_array_foreach(
		a, i, e) if (json_is_string(e) &&
			     cmn_strv_push(&v, strdup(json_string_value(e))) <
				     0) return NULL;
	return v;
}

static json_t *opt_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

static char *dup_string(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? strdup(s) : NULL;
}

static int pick(const char *s, const char *const *names, size_t n, int *out)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	return -EINVAL;
}

static const char *const mount_kinds[] = { "bind", "tmpfs", "volume" };

static json_t *mounts_json(const struct sbx_config *c)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < c->n_mounts; i++) {
		const struct sbx_mount *m = &c->mounts[i];

		json_array_append_new(
			a,
			json_pack(
				"{s:s,s:o,s:s,s:o,s:I,s:b,s:I,s:b,s:o,s:o,s:b}",
				"Type", mount_kinds[m->kind], "Source",
				opt_string(m->src), "Destination", m->dst,
				"Options", opt_string(m->data), "Flags",
				(json_int_t)m->flags, "ReadOnly", m->read_only,
				"Propagation", (json_int_t)m->propagation,
				"NonRecursive", m->non_recursive, "Name",
				opt_string(m->name), "Labels",
				strv_json(m->labels), "CopyUp", m->copy_up));
	}
	return a;
}

static int json_mounts(const json_t *a, struct sbx_config *c)
{
	size_t i, n = json_array_size(a);
	json_t *e;

	c->mounts = n ? calloc(n, sizeof(*c->mounts)) : NULL;
	if (n && !c->mounts)
		return -ENOMEM;
	json_array_foreach(a, i, e)
	{
		struct sbx_mount *m = &c->mounts[i];
		const char *type =
			json_string_value(json_object_get(e, "Type"));

		int kind = SBX_MOUNT_BIND;

		pick(type, mount_kinds, ARRAY_SIZE(mount_kinds), &kind);
		m->kind = (enum sbx_mount_kind)kind;
		m->src = dup_string(e, "Source");
		m->dst = dup_string(e, "Destination");
		m->data = dup_string(e, "Options");
		m->flags = (unsigned long)json_integer_value(
			json_object_get(e, "Flags"));
		m->read_only = json_is_true(json_object_get(e, "ReadOnly"));
		m->propagation = (unsigned long)json_integer_value(
			json_object_get(e, "Propagation"));
		m->non_recursive =
			json_is_true(json_object_get(e, "NonRecursive"));
		m->name = dup_string(e, "Name");
		m->labels = json_strv(json_object_get(e, "Labels"));
		m->copy_up = json_is_true(json_object_get(e, "CopyUp"));
		c->n_mounts++;
		if (!m->dst)
			return -EINVAL;
	}
	return 0;
}

/* Docker's HostConfig.Ulimits: [{"Name", "Soft", "Hard"}]. */
static json_t *ulimits_json(const struct sbx_config *c)
{
	json_t *a = json_array();

	for (int i = 0; a && i < SBX_RLIMITS; i++)
		if (c->rlimits[i].set)
			json_array_append_new(
				a, json_pack("{s:s,s:I,s:I}", "Name",
					     sbx_rlimit_name(i), "Soft",
					     (json_int_t)c->rlimits[i].soft,
					     "Hard",
					     (json_int_t)c->rlimits[i].hard));
	return a;
}

static void ulimits_from_json(const json_t *a, struct sbx_config *c)
{
	const json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
	{
		int r = sbx_rlimit_resource(
			json_string_value(json_object_get(e, "Name")) ?: "");

		if (r < 0)
			continue;
		c->rlimits[r].set = true;
		c->rlimits[r].soft = (uint64_t)json_integer_value(
			json_object_get(e, "Soft"));
		c->rlimits[r].hard = (uint64_t)json_integer_value(
			json_object_get(e, "Hard"));
	}
}

/* CDI's hooks (sandbox/hooks.c), as the OCI spec writes them. */
static json_t *hooks_json(const struct sbx_config *c)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < c->n_hooks; i++) {
		const struct sbx_hook *h = &c->hooks[i];

		json_array_append_new(
			a, json_pack("{s:s,s:s,s:o,s:o,s:i}", "hookName",
				     h->stage, "path", h->path, "args",
				     strv_json(h->args), "env",
				     strv_json(h->env), "timeout", h->timeout));
	}
	return a;
}

static int hooks_from_json(const json_t *a, struct sbx_config *c)
{
	const json_t *e;
	size_t i;

	if (!json_array_size(a))
		return 0;
	c->hooks = calloc(json_array_size(a), sizeof(*c->hooks));
	if (!c->hooks)
		return -ENOMEM;
	json_array_foreach(a, i, e)
	{
		struct sbx_hook *h = &c->hooks[c->n_hooks++];

		h->stage = dup_string(e, "hookName");
		h->path = dup_string(e, "path");
		h->args = json_strv(json_object_get(e, "args"));
		h->env = json_strv(json_object_get(e, "env"));
		h->timeout =
			(int)json_integer_value(json_object_get(e, "timeout"));
		if (!h->stage || !h->path)
			return -EINVAL;
	}
	return 0;
}

/* Docker's HostConfig words: "" is a namespace of the container's own. */
static const char *const share_names[] = { "", "host" };

static enum sbx_share share_of(const json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));

	return v && !strcmp(v, "host") ? SBX_SHARE_HOST : SBX_SHARE_PRIVATE;
}

/* What run's resource options (--add-host, --shm-size, --ulimit, --ipc,
 * --pid, --uts) and
 * devices (CDI hooks, --gpus's library directory) add. */
static json_t *resources_json(json_t *o, const struct sbx_config *c)
{
	if (o &&
	    (json_object_set_new(o, "Hooks", hooks_json(c)) < 0 ||
	     json_object_set_new(o, "LibPathFirst",
				 opt_string(c->lib_path_first)) < 0 ||
	     json_object_set_new(o, "ExtraHosts", strv_json(c->add_hosts)) <
		     0 ||
	     json_object_set_new(o, "ShmSize",
				 json_integer((json_int_t)c->shm_size)) < 0 ||
	     json_object_set_new(o, "Ulimits", ulimits_json(c)) < 0 ||
	     json_object_set_new(o, "IpcMode",
				 json_string(share_names[c->ipc])) < 0 ||
	     json_object_set_new(o, "PidMode",
				 json_string(share_names[c->pid])) < 0 ||
	     json_object_set_new(o, "UTSMode",
				 json_string(share_names[c->uts])) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Everything but resources_json()'s. */
static json_t *config_json(const struct sbx_config *c)
{
	char caps[24];

	snprintf(caps, sizeof(caps), "0x%llx", (unsigned long long)c->caps);
	return json_pack(
		"{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:b,"
		"s:s,s:s,s:s,s:o,s:b,s:b,s:o,s:o,s:o,s:o,s:o,s:b,s:s}",
		"Id", c->id, "Rootfs", opt_string(c->rootfs), "Cmd",
		strv_json(c->argv), "Env", strv_json(c->env), "WorkingDir",
		opt_string(c->workdir), "User", opt_string(c->user), "Hostname",
		opt_string(c->hostname), "Mounts", mounts_json(c), "ReadOnly",
		c->read_only, "Interactive", c->interactive, "Tty", c->tty,
		"KeepGroups", c->keep_groups, "Userns", userns_names[c->userns],
		"Network", network_names[c->network], "Caps", caps,
		"SeccompProfile", opt_string(c->seccomp_profile),
		"SeccompUnconfined", c->seccomp_unconfined, "NoNewPrivs",
		c->no_new_privs, "LowerBase", opt_string(c->lower_base),
		"Lowers", strv_json(c->lowers), "Upper", opt_string(c->upper),
		"Work", opt_string(c->work), "Publish", strv_json(c->ports),
		"AllowHostLoopback", c->allow_host_loopback, "StorageDriver",
		sbx_storage_name(c->storage));
}

json_t *ctr_config_json(const struct sbx_config *c)
{
	json_t *j = resources_json(config_json(c), c);

	if (j && c->squashfs)
		json_object_set_new(j, "Squashfs", json_string(c->squashfs));
	if (j && c->dir_renames)
		json_object_set_new(j, "DirRenames", json_true());
	return j;
}

static int enums_from_json(const json_t *j, struct sbx_config *c)
{
	int u = 0, n = 0;
	const char *caps = json_string_value(json_object_get(j, "Caps"));

	if (pick(json_string_value(json_object_get(j, "Userns")), userns_names,
		 ARRAY_SIZE(userns_names), &u) < 0 ||
	    pick(json_string_value(json_object_get(j, "Network")),
		 network_names, ARRAY_SIZE(network_names), &n) < 0 ||
	    !caps)
		return -EINVAL;
	c->userns = (enum sbx_userns)u;
	c->network = (enum sbx_network)n;
	c->caps = strtoull(caps, NULL, 16);
	return 0;
}

int ctr_config_from_json(const json_t *j, struct sbx_config *c)
{
	const char *id = json_string_value(json_object_get(j, "Id"));

	memset(c, 0, sizeof(*c));
	if (!id || strlen(id) != 64 || enums_from_json(j, c) < 0)
		return -EINVAL;
	memcpy(c->id, id, 65);
	c->rootfs = dup_string(j, "Rootfs");
	c->argv = json_strv(json_object_get(j, "Cmd"));
	c->env = json_strv(json_object_get(j, "Env"));
	c->workdir = dup_string(j, "WorkingDir");
	c->user = dup_string(j, "User");
	c->hostname = dup_string(j, "Hostname");
	c->read_only = json_is_true(json_object_get(j, "ReadOnly"));
	c->interactive = json_is_true(json_object_get(j, "Interactive"));
	c->tty = json_is_true(json_object_get(j, "Tty"));
	c->keep_groups = json_is_true(json_object_get(j, "KeepGroups"));
	c->seccomp_profile = dup_string(j, "SeccompProfile");
	c->seccomp_unconfined =
		json_is_true(json_object_get(j, "SeccompUnconfined"));
	c->no_new_privs = json_is_true(json_object_get(j, "NoNewPrivs"));
	c->lower_base = dup_string(j, "LowerBase");
	c->lowers = json_strv(json_object_get(j, "Lowers"));
	c->upper = dup_string(j, "Upper");
	c->work = dup_string(j, "Work");
	c->squashfs = dup_string(j, "Squashfs");
	c->ports = json_strv(json_object_get(j, "Publish"));
	c->allow_host_loopback =
		json_is_true(json_object_get(j, "AllowHostLoopback"));
	c->add_hosts = json_strv(json_object_get(j, "ExtraHosts"));
	c->shm_size =
		(uint64_t)json_integer_value(json_object_get(j, "ShmSize"));
	ulimits_from_json(json_object_get(j, "Ulimits"), c);
	c->lib_path_first = dup_string(j, "LibPathFirst");
	c->ipc = share_of(j, "IpcMode");
	c->pid = share_of(j, "PidMode");
	c->uts = share_of(j, "UTSMode");
	c->dir_renames = json_is_true(json_object_get(j, "DirRenames"));
	/* Records from before drivers: auto. */
	if (json_string_value(json_object_get(j, "StorageDriver")))
		sbx_storage_parse(
			json_string_value(json_object_get(j, "StorageDriver")),
			&c->storage, NULL);
	if (!c->argv || !c->rootfs ||
	    json_mounts(json_object_get(j, "Mounts"), c) < 0 ||
	    hooks_from_json(json_object_get(j, "Hooks"), c) < 0) {
		sbx_config_free(c);
		return -EINVAL;
	}
	return 0;
}
