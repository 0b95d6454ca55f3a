// SPDX-License-Identifier: Apache-2.0
/* inspect.c - `hutch inspect`: containers and images as JSON, Docker's
 * shape, with --format {{.State.Status}} / {{json .Config}} */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "cli/cli.h"
#include "image/image.h"

struct inspect_opts {
	char *format;
};

static int set_format(void *ctx, const char *arg, struct hutch_err *err)
{
	struct inspect_opts *o = ctx;

	(void)err;
	return cli_set_string(&o->format, arg);
}

static const struct cli_opt inspect_options[] = {
	{ "format", 'f', "TEMPLATE",
	  "Go template: {{.State.Status}}, {{json .Config}}", set_format },
};

static int inspect_main(int argc, char **argv);

const struct cli_cmd cli_inspect_cmd = {
	.name = "inspect",
	.usage = "inspect [OPTIONS] NAME|ID [NAME|ID...]",
	.summary = "Show containers or images as JSON.",
	.main = inspect_main,
};

static json_t *time_json(int64_t ns)
{
	char buf[48];
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	size_t n;

	if (ns <= 0)
		return json_string("0001-01-01T00:00:00Z");
	gmtime_r(&s, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09lldZ",
		 (long long)(ns % 1000000000));
	return json_string(buf);
}

static json_t *strv(char *const *v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static const char *propagation_name(unsigned long p)
{
	if (p & MS_PRIVATE)
		return p & MS_REC ? "rprivate" : "private";
	return p && !(p & MS_REC) ? "slave" : "rslave";
}

static json_t *mounts(const struct sbx_config *cfg)
{
	static const char *const kinds[] = { "bind", "tmpfs", "volume" };
	json_t *a = json_array();

	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct sbx_mount *m = &cfg->mounts[i];
		json_t *j =
			json_pack("{s:s,s:s,s:s,s:b}", "Type", kinds[m->kind],
				  "Source", m->src ? m->src : "", "Destination",
				  m->dst, "RW", !m->read_only);

		/* Docker's: a volume's name and driver, a bind's
		 * propagation (a slave of the host's mount by default). */
		if (j && m->kind == SBX_MOUNT_VOLUME)
			json_object_update_new(j,
					       json_pack("{s:s,s:s}", "Name",
							 m->name ? m->name : "",
							 "Driver", "local"));
		if (j && m->kind == SBX_MOUNT_BIND)
			json_object_set_new(
				j, "Propagation",
				json_string(propagation_name(m->propagation)));
		json_array_append_new(a, j);
	}
	return a;
}

/* Docker's GraphDriver: the overlay and its directories. */
static json_t *graph_driver(const struct sbx_config *cfg)
{
	json_t *lowers = json_array();
	struct sbx_storage_info driver;

	sbx_storage_describe(cfg->lowers ? cfg->storage : NULL, &driver);
	for (char **l = cfg->lowers; l && *l; l++)
		json_array_append_new(
			lowers, json_sprintf("%s/%s", cfg->lower_base, *l));
	return json_pack("{s:s,s:{s:o,s:s,s:s,s:s}}", "Name", driver.graph_name,
			 "Data", "LowerDirs", lowers, "UpperDir",
			 cfg->upper ? cfg->upper : "", "WorkDir",
			 cfg->work ? cfg->work : "", "MergedDir",
			 cfg->rootfs ? cfg->rootfs : "");
}

/* NetworkSettings.Ports: {"80/tcp": [{"HostIp": ..., "HostPort": ...}]}
 * for the ports bound while it runs. */
static json_t *ports_json(const struct ctr_container *c)
{
	json_t *o = json_object();
	struct ctr_port *ports = NULL;
	size_t n = 0;

	if (!o || ctr_container_ports(c, &ports, &n) < 0)
		return o;
	for (size_t i = 0; i < n; i++) {
		char key[16], hp[8];
		json_t *list;

		snprintf(key, sizeof(key), "%u/%s", ports[i].ctr_port,
			 ports[i].proto);
		snprintf(hp, sizeof(hp), "%u", ports[i].host_port);
		list = json_object_get(o, key);
		if (!list) {
			list = json_array();
			json_object_set_new(o, key, list);
		}
		json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp",
						      ports[i].host_ip,
						      "HostPort", hp));
	}
	free(ports);
	return o;
}

/* State.Health, Docker's shape (times as RFC 3339). */
static json_t *health_json(const struct ctr_health *h)
{
	json_t *log = json_array();

	for (size_t i = 0; i < h->n_log; i++)
		json_array_append_new(
			log,
			json_pack("{s:o,s:o,s:i,s:s}", "Start",
				  time_json(h->log[i].start), "End",
				  time_json(h->log[i].end), "ExitCode",
				  h->log[i].exit_code, "Output",
				  h->log[i].output ? h->log[i].output : ""));
	return json_pack("{s:s,s:i,s:o}", "Status", h->status, "FailingStreak",
			 h->failing_streak, "Log", log);
}

/* Config.Labels: {"KEY": "VALUE"}. */
static json_t *labels_json(char *const *labels)
{
	json_t *o = json_object();

	for (; o && labels && *labels; labels++) {
		const char *eq = strchr(*labels, '=');
		cleanup_free char *key =
			strndup(*labels, eq ? (size_t)(eq - *labels) : 0);

		if (key)
			json_object_set_new(o, key,
					    json_string(eq ? eq + 1 : ""));
	}
	return o;
}

/* HostConfig's --add-host ("NAME:IP"), --shm-size and --ulimit. */
static void host_resources(json_t *host, const struct sbx_config *cfg)
{
	json_t *hosts = json_array(), *ulimits = json_array();

	for (char **h = cfg->add_hosts; hosts && h && *h; h++) {
		const char *sp = strchr(*h, ' ');

		if (sp)
			json_array_append_new(
				hosts, json_sprintf("%.*s:%s", (int)(sp - *h),
						    *h, sp + 1));
	}
	for (int i = 0; ulimits && i < SBX_RLIMITS; i++)
		if (cfg->rlimits[i].set)
			json_array_append_new(
				ulimits,
				json_pack("{s:s,s:I,s:I}", "Name",
					  sbx_rlimit_name(i), "Soft",
					  (json_int_t)cfg->rlimits[i].soft,
					  "Hard",
					  (json_int_t)cfg->rlimits[i].hard));
	json_object_set_new(host, "ExtraHosts", hosts);
	json_object_set_new(host, "Ulimits", ulimits);
	json_object_set_new(host, "ShmSize",
			    json_integer(cfg->shm_size
						 ? (json_int_t)cfg->shm_size
						 : 64 << 20));
}

/* What Docker shows and the big pack below leaves out. */
static void container_extras(json_t *o, const struct ctr_container *c)
{
	json_t *state = json_object_get(o, "State");
	json_t *config = json_object_get(o, "Config");
	json_t *host = json_object_get(o, "HostConfig");

	json_object_set_new(state, "Restarting", json_boolean(c->restarting));
	if (c->restarting)
		json_object_set_new(state, "Status", json_string("restarting"));
	if (ctr_healthcheck_active(&c->health_cfg) && c->health.status[0])
		json_object_set_new(state, "Health", health_json(&c->health));
	if (c->health_cfg.test) {
		cleanup_free char *hc = ctr_healthcheck_text(&c->health_cfg);

		json_object_set_new(config, "Healthcheck",
				    hc ? json_loads(hc, 0, NULL) : json_null());
	}
	json_object_set_new(host, "PublishAllPorts",
			    json_boolean(c->publish_all));
	json_object_set_new(config, "Labels", labels_json(c->labels));
	host_resources(host, &c->cfg);
	json_object_set_new(o, "GraphDriver", graph_driver(&c->cfg));
}

static json_t *container_json(const struct ctr_container *c)
{
	static const char *const states[] = { "created", "running", "exited" };
	const struct sbx_config *cfg = &c->cfg;
	char name[256];
	json_t *o;

	snprintf(name, sizeof(name), "/%s", c->name);
	o = json_pack(
		"{s:s,s:o,s:s,s:o,s:{s:s,s:b,s:b,s:i,s:i,s:o,s:o,s:s},s:s,s:s,s:i,"
		"s:{s:b,s:{s:s,s:i},s:s,s:b},s:o,s:{s:s,s:s,s:o,s:o,s:s,s:s,s:b,s:b,s:s},s:{s:o}}",
		"Id", cfg->id, "Created", time_json(c->created), "Path",
		cfg->argv && cfg->argv[0] ? cfg->argv[0] : "", "Args",
		strv(cfg->argv && cfg->argv[0] ? cfg->argv + 1 : NULL), "State",
		"Status", states[c->status], "Running",
		c->status == CTR_RUNNING, "Paused", false, "ExitCode",
		c->exit_code, "Pid",
		c->status == CTR_RUNNING ? (int)c->init_pid : 0, "StartedAt",
		time_json(c->started_at), "FinishedAt",
		time_json(c->finished_at), "Error", c->error ? c->error : "",
		"Image", c->image_id ? c->image_id : "", "Name", name,
		"RestartCount", c->restart_count, "HostConfig", "AutoRemove",
		c->auto_remove, "RestartPolicy", "Name",
		ctr_restart_name(c->restart), "MaximumRetryCount",
		c->restart == CTR_RESTART_ON_FAILURE ? c->restart_max : 0,
		"NetworkMode",
		cfg->network == SBX_NET_NONE	? "none"
		: cfg->network == SBX_NET_SLIRP ? "slirp"
						: "host",
		"ReadonlyRootfs", cfg->read_only, "Mounts", mounts(cfg),
		"Config", "Hostname", cfg->hostname ? cfg->hostname : "",
		"User", cfg->user ? cfg->user : "", "Env", strv(cfg->env),
		"Cmd", strv(cfg->argv), "Image", c->image, "WorkingDir",
		cfg->workdir ? cfg->workdir : "", "Tty", cfg->tty, "OpenStdin",
		cfg->interactive, "StopSignal", cmn_signal_name(c->stop_signal),
		"NetworkSettings", "Ports", ports_json(c));
	if (o)
		container_extras(o, c);
	return o;
}

/* A value of the image config, or @dflt (both new references). */
static json_t *cfg_get(json_t *cfg, const char *key, json_t *dflt)
{
	json_t *v = json_object_get(cfg, key);

	if (!v)
		return dflt;
	json_decref(dflt);
	return json_incref(v);
}

static json_t *image_json(const struct img_image *img)
{
	json_t *cfg = json_loadb(img->config_json, img->config_len, 0, NULL);
	json_t *tags = json_array(), *digests = json_array(), *out;
	char id[72];

	for (char **n = img->names; n && *n; n++)
		json_array_append_new(strchr(*n, '@') ? digests : tags,
				      json_string(*n));
	out = json_pack("{s:s,s:o,s:o,s:I}", "Id", img_digest_str(&img->id, id),
			"RepoTags", tags, "RepoDigests", digests, "Size",
			(json_int_t)img->size);
	if (out) {
		json_object_set_new(out, "Created",
				    cfg_get(cfg, "created", json_null()));
		json_object_set_new(out, "Architecture",
				    cfg_get(cfg, "architecture", json_null()));
		json_object_set_new(out, "Os", cfg_get(cfg, "os", json_null()));
		json_object_set_new(out, "Config",
				    cfg_get(cfg, "config", json_object()));
		json_object_set_new(out, "RootFS",
				    cfg_get(cfg, "rootfs", json_object()));
		json_object_set_new(out, "History",
				    cfg_get(cfg, "history", json_array()));
	}
	if (cfg)
		json_decref(cfg);
	return out;
}

/* {{.A.B}} and {{json .A.B}} over @root; Go prints strings bare. */
static int print_format(const char *tmpl, json_t *root, struct hutch_err *err)
{
	const char *p = cmn_has_prefix(tmpl, "table ") ? tmpl + 6 : tmpl;

	while (*p) {
		const char *end;
		char path[256];
		bool as_json = false;
		json_t *v = root;

		if (p[0] == '\\' && p[1] == 'n') {
			putchar('\n');
			p += 2;
			continue;
		}
		if (p[0] != '{' || p[1] != '{') {
			putchar(*p++);
			continue;
		}
		end = strstr(p, "}}");
		if (!end)
			return cmn_err_msg(
				err, EINVAL,
				"template: unclosed action in \"%s\"", tmpl);
		p += 2;
		while (*p == ' ')
			p++;
		if (cmn_has_prefix(p, "json ")) {
			as_json = true;
			p += 5;
		}
		snprintf(path, sizeof(path), "%.*s", (int)(end - p), p);
		path[strcspn(path, " ")] = '\0';
		if (path[0] != '.')
			return cmn_err_msg(
				err, EINVAL,
				"template: unsupported action \"%s\"; use {{.Field}} or {{json .Field}}",
				path);
		for (char *save = NULL, *k = strtok_r(path + 1, ".", &save);
		     k && v; k = strtok_r(NULL, ".", &save))
			v = json_object_get(v, k);
		if (!v)
			return cmn_err_msg(err, EINVAL,
					   "template: no such field \"%.*s\"",
					   (int)(end - p), p);
		if (json_is_string(v) && !as_json) {
			fputs(json_string_value(v), stdout);
		} else {
			char *text =
				json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			fputs(text ? text : "", stdout);
			free(text);
		}
		p = end + 2;
	}
	putchar('\n');
	return 0;
}

/* A container first, then an image, then a volume, as `docker inspect`
 * looks them up. */
static json_t *lookup(const char *key, struct hutch_err *err)
{
	struct ctr_container *c = NULL;
	struct img_store *s = NULL;
	struct img_image *img = NULL;
	struct ctr_volume *v = NULL;
	struct img_digest id;
	json_t *j = NULL;

	if (ctr_container_find(key, &c, NULL) == 0) {
		j = container_json(c);
		ctr_container_free(c);
		return j;
	}
	if (img_store_open(&s, err) == 0 &&
	    img_resolve(s, key, &id, NULL) == 0 &&
	    img_image_load(s, &id, &img, err) == 0)
		j = image_json(img);
	else if (ctr_volume_get(key, &v, NULL) == 0)
		j = cli_volume_json(v);
	else
		cmn_err_msg(err, ENOENT, "No such object: %s", key);
	ctr_volume_free(v);
	img_image_free(img);
	img_store_close(s);
	return j;
}

int cli_inspect_each(char *const *keys, int n, const char *format,
		     json_t *(*find)(const char *key, struct hutch_err *err))
{
	struct hutch_err err = { 0 };
	json_t *all = json_array();
	int status;

	for (int i = 0; i < n; i++) {
		json_t *j = find(keys[i], &err);

		if (!j) {
			cli_fail(&err, 1);
			continue;
		}
		if (format && print_format(format, j, &err) < 0)
			cli_fail(&err, 1);
		json_array_append_new(all, j);
	}
	if (!format) {
		char *text = json_dumps(all, JSON_INDENT(4));

		printf("%s\n", text ? text : "[]");
		free(text);
	}
	status = (int)json_array_size(all) == n ? 0 : 1;
	json_decref(all);
	return status;
}

static int inspect_main(int argc, char **argv)
{
	struct inspect_opts o = { 0 };
	int first, status = cli_simple(&cli_inspect_cmd, inspect_options,
				       ARRAY_SIZE(inspect_options), &o, argc,
				       argv, 1, &first);

	if (status < 0)
		status = cli_inspect_each(argv + first, argc - first, o.format,
					  lookup);
	free(o.format);
	return status;
}
