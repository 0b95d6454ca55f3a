// SPDX-License-Identifier: Apache-2.0
/* container.c - container records: creation, names, lookup, state, removal
 *
 * Theory of operation. There is no daemon to ask what runs: the truth is
 * on disk and in locks. A record's configuration is written once. Its
 * state is written by whoever runs it (hutch in the foreground, the
 * per-container monitor for -d) to the runtime directory, and the final
 * state also to the store so that `ps -a` survives a reboot. Whoever runs a
 * container holds an flock on its monitor.lock for exactly as long: the
 * kernel drops it when that process dies, however it dies, so a reader who
 * can take the lock knows the state file's "running" is stale and records
 * the container as exited, with the reason. Names are unique through
 * symlinkat(2), which fails atomically when a name is taken.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/container-internal.h"

struct ctr_container *ctr_container_new(void)
{
	struct ctr_container *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->stop_signal = SIGTERM;
	c->stop_timeout = 10;
	c->lock = -1;
	return c;
}

void ctr_container_free(struct ctr_container *c)
{
	if (!c)
		return;
	sbx_config_free(&c->cfg);
	free(c->name);
	free(c->image);
	free(c->image_id);
	free(c->join);
	cmn_strv_free(c->ports);
	cmn_strv_free(c->bound);
	cmn_strv_free(c->labels);
	ctr_healthcheck_clear(&c->health_cfg);
	ctr_health_clear(&c->health);
	free(c->error);
	free(c->host);
	free(c->local_dir);
	free(c->local_host);
	if (c->lock >= 0)
		close(c->lock);
	free(c);
}

int64_t ctr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *ctr_container_dir(const char *id)
{
	cleanup_free char *root = cmn_store_dir();

	return root ? cmn_strdup_printf("%s/containers/%s", root, id) : NULL;
}

/* ---- the record ------------------------------------------------------------ */

static const char *const restart_names[] = { "no", "on-failure", "always",
					     "unless-stopped" };

const char *ctr_restart_name(enum ctr_restart r)
{
	return restart_names[r];
}

static json_t *record_json(const struct ctr_container *c)
{
	json_t *cfg = ctr_config_json(&c->cfg);
	json_t *j;

	if (!cfg)
		return NULL;
	/* RestartMax -1 for "no": what records before RestartPolicy say. */
	j = json_pack(
		"{s:o,s:s,s:s,s:o,s:I,s:b,s:b,s:i,s:s,s:i,s:i,s:o,s:b,s:b,s:o,s:o}",
		"Config", cfg, "Name", c->name, "Image",
		c->image ? c->image : "", "ImageID",
		c->image_id ? json_string(c->image_id) : json_null(), "Created",
		(json_int_t)c->created, "AutoRemove", c->auto_remove,
		"Detached", c->detached, "RestartMax",
		c->restart == CTR_RESTART_NO ? -1 : c->restart_max,
		"RestartPolicy", ctr_restart_name(c->restart), "StopSignal",
		c->stop_signal, "StopTimeout", c->stop_timeout, "Ports",
		ctr_strv_json(c->ports), "OutliveJob", c->outlive_job,
		"PublishAll", c->publish_all, "Healthcheck",
		ctr_healthcheck_json(&c->health_cfg, true), "Labels",
		ctr_strv_json(c->labels));
	if (j && c->awaits_start)
		json_object_set_new(j, "AwaitsStart", json_true());
	if (j && c->local_dir) {
		json_object_set_new(j, "LocalDir", json_string(c->local_dir));
		json_object_set_new(
			j, "LocalHost",
			json_string(c->local_host ? c->local_host : ""));
	}
	return j;
}

static void restart_parse(const json_t *j, struct ctr_container *c)
{
	const char *policy =
		json_string_value(json_object_get(j, "RestartPolicy"));

	c->restart_max =
		(int)json_integer_value(json_object_get(j, "RestartMax"));
	c->restart =
		c->restart_max < 0 ? CTR_RESTART_NO : CTR_RESTART_ON_FAILURE;
	for (size_t i = 0; policy && i < ARRAY_SIZE(restart_names); i++)
		if (!strcmp(policy, restart_names[i]))
			c->restart = (enum ctr_restart)i;
	if (c->restart_max < 0)
		c->restart_max = 0;
}

static int record_parse(const json_t *j, struct ctr_container *c)
{
	const char *name = json_string_value(json_object_get(j, "Name"));
	const char *image = json_string_value(json_object_get(j, "Image"));
	const char *iid = json_string_value(json_object_get(j, "ImageID"));

	if (!name ||
	    ctr_config_from_json(json_object_get(j, "Config"), &c->cfg) < 0)
		return -EINVAL;
	c->name = strdup(name);
	c->image = strdup(image ? image : "");
	c->image_id = iid ? strdup(iid) : NULL;
	c->created = json_integer_value(json_object_get(j, "Created"));
	c->auto_remove = json_is_true(json_object_get(j, "AutoRemove"));
	c->detached = json_is_true(json_object_get(j, "Detached"));
	c->outlive_job = json_is_true(json_object_get(j, "OutliveJob"));
	c->awaits_start = json_is_true(json_object_get(j, "AwaitsStart"));
	if (json_string_value(json_object_get(j, "LocalDir"))) {
		c->local_dir = strdup(
			json_string_value(json_object_get(j, "LocalDir")));
		c->local_host = strdup(
			json_string_value(json_object_get(j, "LocalHost"))
				?: "");
		if (!c->local_dir || !c->local_host)
			return -ENOMEM;
	}
	restart_parse(j, c);
	c->stop_signal =
		(int)json_integer_value(json_object_get(j, "StopSignal"));
	c->stop_timeout =
		(int)json_integer_value(json_object_get(j, "StopTimeout"));
	c->ports = ctr_json_strv(json_object_get(j, "Ports"));
	c->publish_all = json_is_true(json_object_get(j, "PublishAll"));
	c->labels = ctr_json_strv(json_object_get(j, "Labels"));
	if (ctr_healthcheck_from_json(json_object_get(j, "Healthcheck"),
				      &c->health_cfg) < 0)
		return -ENOMEM;
	return c->name && c->image ? 0 : -ENOMEM;
}

int ctr_write_json(const char *path, json_t *j, bool durable)
{
	cleanup_free char *tmp =
		cmn_strdup_printf("%s.tmp%d", path, (int)getpid());
	char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	int fd, ret = 0;

	if (!tmp || !text) {
		free(text);
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || cmn_write_all(fd, text, strlen(text)) < 0 ||
	    (durable && fsync(fd) < 0) || rename(tmp, path) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	free(text);
	return ret;
}

/* ---- names ------------------------------------------------------------------- */

static char *names_dir(void)
{
	cleanup_free char *root = cmn_store_dir();

	return root ? cmn_strdup_printf("%s/containers/.names", root) : NULL;
}

/* Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
static bool valid_name(const char *n)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

	return n[0] && strchr(ok, n[0]) && n[0] != '_' && n[0] != '.' &&
	       n[0] != '-' && strspn(n, ok) == strlen(n) && strlen(n) < 200;
}

static int claim_name(const struct ctr_container *c, struct hutch_err *err)
{
	cleanup_free char *dir = names_dir();
	cleanup_free char *link = NULL;
	char other[80] = "";

	if (!dir || cmn_mkdir_p(dir, 0700) < 0)
		return cmn_err_set(err, errno,
				   "cannot create the names directory");
	link = cmn_strdup_printf("%s/%s", dir, c->name);
	if (!link)
		return -ENOMEM;
	if (symlink(c->cfg.id, link) == 0)
		return 0;
	if (errno != EEXIST)
		return cmn_err_set(err, errno, "cannot record the name %s",
				   c->name);
	if (readlink(link, other, sizeof(other) - 1) < 0)
		other[0] = '\0';
	return cmn_err_msg(
		err, EEXIST,
		"Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
		c->name, other);
}

void ctr_release_name(const struct ctr_container *c)
{
	cleanup_free char *dir = names_dir();
	cleanup_free char *link =
		dir ? cmn_strdup_printf("%s/%s", dir, c->name) : NULL;
	char target[80];
	ssize_t n;

	if (!link)
		return;
	/* Only our own: the name may have moved on to another container. */
	n = readlink(link, target, sizeof(target) - 1);
	if (n == 64 && !memcmp(target, c->cfg.id, 64))
		unlink(link);
}

/* Every name that leads to @id (its record, which says which, is gone). */
static void release_names_of(const char *id)
{
	cleanup_free char *dir = names_dir();
	cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	char target[80];

	while (d && (de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, target,
				       sizeof(target) - 1);

		if (n == 64 && !memcmp(target, id, 64))
			unlinkat(dirfd(d), de->d_name, 0);
	}
}

static int pick_name(struct ctr_container *c, struct hutch_err *err)
{
	struct hutch_err ignored;

	for (int tries = 0; tries < 20; tries++) {
		free(c->name);
		c->name = ctr_generate_name(tries >= 10);
		if (!c->name)
			return cmn_err_set(err, ENOMEM, "name");
		if (claim_name(c, &ignored) == 0)
			return 0;
	}
	return cmn_err_msg(
		err, EEXIST,
		"could not find a free container name; give one with --name");
}

int ctr_container_create(struct ctr_container *c, struct hutch_err *err)
{
	cleanup_free char *dir = ctr_container_dir(c->cfg.id);
	cleanup_free char *path = NULL;
	json_t *j;
	int ret;

	if (!dir)
		return cmn_err_set(err, errno,
				   "cannot find the store directory");
	if (c->name && !valid_name(c->name))
		return cmn_err_msg(
			err, EINVAL,
			"Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
			c->name);
	ret = cmn_mkdir_p(dir, 0700);
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot create %s", dir);
	ret = c->name ? claim_name(c, err) : pick_name(c, err);
	if (ret < 0) {
		rmdir(dir);
		return ret;
	}
	c->created = ctr_now_ns();
	c->status = CTR_CREATED;
	path = cmn_strdup_printf("%s/config.json", dir);
	j = record_json(c);
	ret = path && j ? ctr_write_json(path, j, true) : -ENOMEM;
	if (j)
		json_decref(j);
	if (ret < 0) {
		ctr_release_name(c);
		return cmn_err_set(err, -ret, "cannot write %s", path);
	}
	return 0;
}

/* ---- lookup ------------------------------------------------------------------- */

static bool reap(struct ctr_container *c);

static int load(const char *id, struct ctr_container **out,
		struct hutch_err *err)
{
	cleanup_free char *dir = ctr_container_dir(id);
	cleanup_free char *path =
		dir ? cmn_strdup_printf("%s/config.json", dir) : NULL;
	json_t *j = path ? cmn_json_load(AT_FDCWD, path, "the container record",
					 CTR_JSON_MAX, 0, NULL)
			 : NULL;
	struct ctr_container *c = ctr_container_new();
	int ret;

	ret = j && c ? record_parse(j, c) : -ENOENT;
	if (j)
		json_decref(j);
	if (ret == 0)
		ret = ctr_state_load(c);
	if (ret == 0 && reap(c)) {
		ctr_container_free(c);
		return cmn_err_msg(err, ENOENT, "No such container: %.12s", id);
	}
	if (ret < 0) {
		ctr_container_free(c);
		return cmn_err_msg(
			err, -ret,
			"the record of container %.12s is damaged or gone (%s)",
			id, path ? path : "");
	}
	*out = c;
	return 0;
}

bool ctr_is_id(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* A unique prefix of the ids in containers/. */
static int by_prefix(const char *prefix, char id[static 65],
		     struct hutch_err *err)
{
	cleanup_free char *root = cmn_store_dir();
	cleanup_free char *dir =
		root ? cmn_strdup_printf("%s/containers", root) : NULL;
	cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
	size_t n = strlen(prefix), found = 0;
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (ctr_is_id(de->d_name) && !strncmp(de->d_name, prefix, n)) {
			memcpy(id, de->d_name, 65);
			found++;
		}
	if (found > 1)
		return cmn_err_msg(
			err, EINVAL,
			"multiple containers found with the prefix %s; give more of the id",
			prefix);
	if (!found)
		return cmn_err_msg(err, ENOENT, "No such container: %s",
				   prefix);
	return 0;
}

/* A container's id from its name, id or unique id prefix. */
static int resolve(const char *key, char id[static 65], struct hutch_err *err)
{
	cleanup_free char *ndir = names_dir();
	cleanup_free char *link =
		ndir ? cmn_strdup_printf("%s/%s", ndir, key) : NULL;
	char target[80];
	ssize_t n = -1;

	if (!*key || strchr(key, '/'))
		return cmn_err_msg(err, ENOENT, "No such container: %s", key);
	if (link && valid_name(key))
		n = readlink(link, target, sizeof(target) - 1);
	if (n == 64) {
		memcpy(id, target, 64);
		id[64] = '\0';
		return 0;
	}
	return by_prefix(key, id, err);
}

int ctr_container_find(const char *key, struct ctr_container **out,
		       struct hutch_err *err)
{
	char id[65];
	int ret = resolve(key, id, err);

	return ret < 0 ? ret : load(id, out, err);
}

static int newest_first(const void *a, const void *b)
{
	const struct ctr_container *x = *(struct ctr_container *const *)a;
	const struct ctr_container *y = *(struct ctr_container *const *)b;

	return (y->created > x->created) - (y->created < x->created);
}

int ctr_container_list(struct ctr_container ***out, size_t *n,
		       struct hutch_err *err)
{
	cleanup_free char *root = cmn_store_dir();
	cleanup_free char *dir =
		root ? cmn_strdup_printf("%s/containers", root) : NULL;
	cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
	struct ctr_container **list = NULL, *c;
	struct dirent *de;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT
			       ? 0
			       : cmn_err_set(err, errno, "cannot list %s", dir);
	while ((de = readdir(d))) {
		struct ctr_container **more;

		if (!ctr_is_id(de->d_name) || load(de->d_name, &c, NULL) < 0)
			continue;
		more = realloc(list, (count + 1) * sizeof(*list));
		if (!more) {
			ctr_container_free(c);
			break;
		}
		list = more;
		list[count++] = c;
	}
	if (count)
		qsort(list, count, sizeof(*list), newest_first);
	*out = list;
	*n = count;
	return 0;
}

/* ---- removal ----------------------------------------------------------------- */

int ctr_refuse_remote(const struct ctr_container *c, const char *what,
		      struct hutch_err *err)
{
	cleanup_free char *dir = NULL;

	if (!c->host)
		return 0;
	dir = ctr_container_dir(c->cfg.id);
	return cmn_err_msg(
		err, EREMOTE,
		"cannot %s container %s: it runs on %s, where only hutch sees its processes; run the command there (if %s is down for good, delete %s/running.json first)",
		what, c->name, c->host, c->host,
		dir ? dir : "the container's directory");
}

/* Record, upper directory, log, runtime directory and name: gone. The
 * caller holds the runner's lock or knows nobody runs the container. */
static int remove_now(struct ctr_container *c, struct hutch_err *err)
{
	cleanup_free char *dir = ctr_container_dir(c->cfg.id);

	ctr_runtime_retire(c->cfg.id);
	ctr_release_name(c);
	/* The node-local part first: a kill between the two leaves a record
	 * without it, which the next command reaps, never the reverse. */
	ctr_local_remove(c);
	return dir ? sbx_remove_tree(dir, err) : -ENOMEM;
}

int ctr_container_done(struct ctr_container *c)
{
	struct hutch_err err = { 0 };

	if (!c->auto_remove) {
		ctr_runtime_retire(c->cfg.id);
		return 0;
	}
	if (remove_now(c, &err) < 0) {
		cmn_warn("%s", err.msg);
		return -1;
	}
	/* --rm takes its anonymous volumes along, as Docker's does. */
	ctr_volumes_drop(&c->cfg);
	return 0;
}

/* A --rm container nobody runs any more (its runner was killed before it
 * could remove it: kill -9, the end of a Slurm job): removed by whichever
 * command finds it first. Return: true when it is gone. */
static bool reap(struct ctr_container *c)
{
	int fd;

	if (!c->auto_remove || c->status == CTR_RUNNING || c->host ||
	    (c->status == CTR_CREATED && c->awaits_start))
		return false;
	fd = ctr_lock_idle(c->cfg.id);
	if (fd == -EBUSY)
		return false; /* being made, or started right now */
	if (remove_now(c, NULL) == 0)
		ctr_volumes_drop(&c->cfg);
	if (fd >= 0)
		close(fd);
	return true;
}

int ctr_container_remove(struct ctr_container *c, bool force,
			 struct hutch_err *err)
{
	int ret = ctr_refuse_remote(c, "remove", err);
	int lock;

	if (ret < 0)
		return ret;
	if (c->status == CTR_RUNNING && !force)
		return cmn_err_msg(
			err, EBUSY,
			"cannot remove container %s: the container is running; stop it first, or use -f (rm -f)",
			c->name);
	if (c->status == CTR_RUNNING) {
		ret = ctr_container_kill(c, SIGKILL, err);
		if (ret == 0)
			ret = ctr_container_wait(c, 30, NULL, err);
		if (ret < 0)
			return ret;
	}
	/* Nobody may start it while it goes. */
	lock = ctr_lock_idle(c->cfg.id);
	if (lock == -EBUSY)
		return cmn_err_msg(
			err, EBUSY,
			"cannot remove container %s: it was started again; stop it first, or use -f (rm -f)",
			c->name);
	ret = remove_now(c, err);
	if (lock >= 0)
		close(lock);
	return ret;
}

/* ---- what a crash or a partial rm -rf left ---------------------------------- */

/* A container directory without a readable record that nobody is making
 * (its maker holds the lock from before the directory exists). */
static bool damaged(const char *id)
{
	struct ctr_container *c = NULL;
	int fd;

	if (load(id, &c, NULL) == 0) {
		ctr_container_free(c);
		return false;
	}
	fd = ctr_lock_idle(id);
	if (fd >= 0)
		close(fd);
	return fd != -EBUSY;
}

int ctr_damaged_list(char ***ids, size_t *n, struct hutch_err *err)
{
	cleanup_free char *root = cmn_store_dir();
	cleanup_free char *dir =
		root ? cmn_strdup_printf("%s/containers", root) : NULL;
	cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;

	*ids = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT
			       ? 0
			       : cmn_err_set(err, errno, "cannot list %s", dir);
	while ((de = readdir(d)))
		if (ctr_is_id(de->d_name) && damaged(de->d_name)) {
			if (cmn_strv_push(ids, strdup(de->d_name)) < 0)
				return cmn_err_set(err, ENOMEM, "containers");
			(*n)++;
		}
	return 0;
}

int ctr_damaged_remove(const char *key, struct hutch_err *err)
{
	cleanup_free char *dir = NULL;
	char id[65];
	int fd, ret = resolve(key, id, err);

	if (ret < 0)
		return ret;
	if (!damaged(id))
		return cmn_err_msg(
			err, EBUSY,
			"container %.12s is being made or its record is sound; try again",
			id);
	fd = ctr_lock_idle(id);
	dir = ctr_container_dir(id);
	ctr_runtime_retire(id);
	release_names_of(id);
	ret = dir ? sbx_remove_tree(dir, err) : -ENOMEM;
	if (fd >= 0)
		close(fd);
	return ret;
}

char **ctr_kept_lowers(struct ctr_container *const *cs, size_t n)
{
	char **kept = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *sq = cs[i]->cfg.squashfs;

		for (char **l = cs[i]->cfg.lowers; l && *l; l++)
			cmn_strv_push(&kept, strndup(*l, 64));
		/* One that runs the store's .sqsh of an image keeps it. */
		if (sq && strstr(sq, "/squashfs-images/"))
			cmn_strv_push(&kept, strndup(strrchr(sq, '/') + 1, 64));
	}
	return kept;
}
