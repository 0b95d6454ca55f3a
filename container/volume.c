// SPDX-License-Identifier: Apache-2.0
/* volume.c - volumes: Docker's local driver, kept in the store
 *
 * Theory of operation. A volume is a directory of the store,
 * volumes/<name>/_data, that containers bind at a path of their choosing,
 * with a small record beside it (volume.json: CreatedAt, Labels, Driver
 * "local", Scope "local", Mountpoint). As under Docker, `run -v NAME:/path`
 * makes a volume that is missing; an empty volume is filled from the
 * image's content at its mount point when a container first starts on it
 * (sandbox/copyup.c); an image's VOLUME, `-v /path` and `--mount
 * type=volume` without a source get an anonymous volume each (a random
 * name and Docker's label com.docker.volume.anonymous), which `rm -v` and
 * `--rm` remove with their container; and a volume that any container's
 * record names cannot be removed.
 *
 * There is no daemon to count references: the records are the truth, and
 * locks close the gap between a volume chosen and a record written.
 * Whoever makes a container holds a shared flock on the directory of each
 * of its volumes from before it uses them until the record is on disk;
 * whoever removes a volume holds an exclusive one while it reads the
 * records and removes it. A volume is made in a temporary directory that
 * is renamed into place (of two makers of one name, one wins and the other
 * uses its volume), and removed by renaming it out of the way first, so
 * that its name is free at once; what a crash leaves (volumes/.tmp-* and
 * .trash-*, names no volume can have) goes at the next prune. A maker that
 * waited for a remover finds the directory renamed away, and makes the
 * volume anew. The files of a volume filled in the full mapping belong to
 * subordinate ids, so removal goes through sbx_remove_tree(), as a
 * container's does.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/container-internal.h"

/* How often a maker tries again when its volume is removed under it. */
#define MAKE_TRIES 5

/* volumes/ of the store, opened (made when @create), and its path. */
struct vdir {
	int fd;
	char *path; /* owned */
};

static void vdir_close(struct vdir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
}
#define cleanup_vdir __attribute__((cleanup(vdir_close)))

static int vdir_open(struct vdir *d, bool create, struct hutch_err *err)
{
	cleanup_free char *root = cmn_store_dir();

	d->fd = -1;
	d->path = root ? cmn_strdup_printf("%s/volumes", root) : NULL;
	if (!d->path)
		return cmn_err_set(err, ENOMEM, "volumes");
	if (create && mkdir(root, 0700) < 0 && errno != EEXIST)
		return cmn_err_set(err, errno, "cannot create %s", root);
	if (create && mkdir(d->path, 0700) < 0 && errno != EEXIST)
		return cmn_err_set(err, errno, "cannot create %s", d->path);
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0 && (errno != ENOENT || create))
		return cmn_err_set(err, errno, "cannot open %s", d->path);
	return d->fd < 0 ? -ENOENT : 0;
}

/* Docker's local driver: [a-zA-Z0-9][a-zA-Z0-9_.-]+, two characters at
 * least. No '/' and no leading '.': a name is one entry of volumes/ and
 * never one of its temporary ones. */
bool ctr_volume_name_valid(const char *name)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(name);

	return n >= 2 && n < 256 && strspn(name, ok) == n && name[0] != '_' &&
	       name[0] != '.' && name[0] != '-';
}

void ctr_volume_free(struct ctr_volume *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->mountpoint);
	cmn_strv_free(v->labels);
	free(v);
}

void ctr_volume_list_free(struct ctr_volume **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ctr_volume_free(list[i]);
	free(list);
}

/* ---- records ----------------------------------------------------------- */

static json_t *labels_json(char *const *labels, bool anonymous)
{
	json_t *o = json_object();

	for (char *const *l = labels; o && l && *l; l++) {
		cleanup_free char *key = strdup(*l);
		char *eq = key ? strchr(key, '=') : NULL;

		if (!key)
			break;
		if (eq)
			*eq = '\0';
		json_object_set_new(o, key, json_string(eq ? eq + 1 : ""));
	}
	if (o && anonymous)
		json_object_set_new(o, CTR_VOLUME_ANONYMOUS, json_string(""));
	return o;
}

static json_t *record_json(const char *name, const char *mountpoint,
			   char *const *labels, bool anonymous)
{
	char created[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:s}", "CreatedAt", created,
			 "Driver", "local", "Labels",
			 labels_json(labels, anonymous), "Mountpoint",
			 mountpoint, "Name", name, "Options", json_object(),
			 "Scope", "local");
}

/* The volume @name of @d, with its record; a record that cannot be read
 * (written by hand, damaged) leaves the defaults. -ENOENT when there is
 * no such volume. */
static int record_read(const struct vdir *d, const char *name,
		       struct ctr_volume **out)
{
	cleanup_free char *path =
		cmn_strdup_printf("%s/%s/volume.json", d->path, name);
	struct ctr_volume *v = calloc(1, sizeof(*v));
	struct stat st;
	const char *key, *created;
	json_t *j, *val;

	if (!v || !path) {
		free(v);
		return -ENOMEM;
	}
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		free(v);
		return -ENOENT;
	}
	v->name = strdup(name);
	v->mountpoint = cmn_strdup_printf("%s/%s/_data", d->path, name);
	j = cmn_json_load(AT_FDCWD, path, "the volume record", 1 << 20, 0,
			  NULL);
	created = json_string_value(json_object_get(j, "CreatedAt"));
	snprintf(v->created, sizeof(v->created), "%s", created ? created : "");
	json_object_foreach(json_object_get(j, "Labels"), key, val)
	{
		if (!strcmp(key, CTR_VOLUME_ANONYMOUS))
			v->anonymous = true;
		cmn_strv_push(&v->labels,
			      cmn_strdup_printf("%s=%s", key,
						json_is_string(val)
							? json_string_value(val)
							: ""));
	}
	if (j)
		json_decref(j);
	if (!v->name || !v->mountpoint) {
		ctr_volume_free(v);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

/* ---- making and locking ------------------------------------------------- */

/* The temporary directory @tmp of @d, locked by its maker (@fd) so that a
 * prune leaves it, with _data and the record; renamed into place by the
 * caller. */
static int fill_tmp(const struct vdir *d, const char *tmp, const char *name,
		    char *const *labels, bool anonymous)
{
	cleanup_close int fd =
		openat(d->fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *mountpoint =
		cmn_strdup_printf("%s/%s/_data", d->path, name);
	cleanup_free char *path =
		cmn_strdup_printf("%s/%s/volume.json", d->path, tmp);
	json_t *j;
	int ret;

	if (fd < 0 || flock(fd, LOCK_EX) < 0 || mkdirat(fd, "_data", 0755) < 0)
		return -errno;
	j = mountpoint && path
		    ? record_json(name, mountpoint, labels, anonymous)
		    : NULL;
	ret = j ? ctr_write_json(path, j, true) : -ENOMEM;
	if (j)
		json_decref(j);
	return ret;
}

/* A new volume @name. -EEXIST when one of that name is there already. */
static int make_volume(const struct vdir *d, const char *name,
		       char *const *labels, bool anonymous,
		       struct hutch_err *err)
{
	char tmp[32] = ".tmp-";
	int ret;

	if (cmn_random_hex(tmp + 5, 8) < 0 || mkdirat(d->fd, tmp, 0700) < 0)
		return cmn_err_set(err, errno, "cannot create volume %s in %s",
				   name, d->path);
	ret = fill_tmp(d, tmp, name, labels, anonymous);
	if (ret == 0 && renameat(d->fd, tmp, d->fd, name) == 0)
		return 0;
	if (ret == 0)
		ret = errno == ENOTEMPTY ? -EEXIST : -errno;
	cmn_remove_tree(d->fd, tmp);
	if (ret == -EEXIST)
		return ret;
	return cmn_err_set(err, -ret, "cannot create volume %s in %s", name,
			   d->path);
}

/*
 * volumes/<name> opened and flock()ed with @how, and still the volume of
 * that name: a remover may have renamed it away while we waited.
 * Return: the descriptor, -ENOENT when there is no such volume (any more),
 * -EWOULDBLOCK for LOCK_NB when another holds it, -errno.
 */
static int lock_volume(const struct vdir *d, const char *name, int how)
{
	int fd = openat(d->fd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat held, now;
	int e;

	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -ENOENT : -errno;
	if (flock(fd, how) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	if (fstat(fd, &held) < 0 ||
	    fstatat(d->fd, name, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    held.st_ino != now.st_ino || held.st_dev != now.st_dev) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* ---- who uses what ------------------------------------------------------- */

/* Every volume mount of every container record: the volume's name and the
 * container's id, side by side. */
struct refs {
	char **names;
	char **ids;
};

static void refs_free(struct refs *r)
{
	cmn_strv_free(r->names);
	cmn_strv_free(r->ids);
}
#define cleanup_refs __attribute__((cleanup(refs_free)))

static int refs_load(struct refs *r, struct hutch_err *err)
{
	struct ctr_container **cs = NULL;
	size_t n = 0;
	int ret = ctr_container_list(&cs, &n, err);

	for (size_t i = 0; i < n; i++) {
		const struct sbx_config *cfg = &cs[i]->cfg;

		for (size_t k = 0; ret == 0 && k < cfg->n_mounts; k++) {
			const struct sbx_mount *m = &cfg->mounts[k];

			if (m->kind != SBX_MOUNT_VOLUME || !m->name)
				continue;
			if (cmn_strv_push(&r->names, strdup(m->name)) < 0 ||
			    cmn_strv_push(&r->ids, strdup(cfg->id)) < 0)
				ret = cmn_err_set(err, ENOMEM, "volumes");
		}
		ctr_container_free(cs[i]);
	}
	free(cs);
	return ret;
}

static size_t refs_count(const struct refs *r, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; r->names && r->names[i]; i++)
		n += !strcmp(r->names[i], name);
	return n;
}

/* Rename the locked volume @name out of the way, then delete it. */
static int remove_locked(const struct vdir *d, const char *name,
			 struct hutch_err *err)
{
	char trash[40] = ".trash-";
	cleanup_free char *path = NULL;

	if (cmn_random_hex(trash + 7, 8) < 0 ||
	    renameat(d->fd, name, d->fd, trash) < 0)
		return cmn_err_set(err, errno, "cannot remove volume %s", name);
	path = cmn_strdup_printf("%s/%s", d->path, trash);
	return path ? sbx_remove_tree(path, err) : -ENOMEM;
}

/* Remove @name unless a container uses it or someone holds its lock. */
static void drop_unused(const struct vdir *d, const char *name)
{
	cleanup_refs struct refs r = { 0 };
	int fd = lock_volume(d, name, LOCK_EX | LOCK_NB);

	if (fd < 0)
		return;
	if (refs_load(&r, NULL) == 0 && refs_count(&r, name) == 0)
		remove_locked(d, name, NULL);
	close(fd);
}

/* ---- the interface ---------------------------------------------------------- */

static int no_such(const char *name, struct hutch_err *err)
{
	return cmn_err_msg(err, ENOENT,
			   "No such volume: %s; see 'hutch volume ls'", name);
}

int ctr_volume_get(const char *name, struct ctr_volume **out,
		   struct hutch_err *err)
{
	cleanup_vdir struct vdir d = { -1, NULL };
	cleanup_refs struct refs r = { 0 };
	int ret;

	if (!ctr_volume_name_valid(name) || vdir_open(&d, false, err) < 0)
		return no_such(name, err);
	ret = record_read(&d, name, out);
	if (ret == -ENOENT)
		return no_such(name, err);
	if (ret < 0)
		return cmn_err_set(err, -ret, "volume %s", name);
	if (refs_load(&r, NULL) == 0)
		(*out)->links = refs_count(&r, name);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct ctr_volume *const *)a)->name,
		      (*(struct ctr_volume *const *)b)->name);
}

int ctr_volume_list(struct ctr_volume ***out, size_t *n, struct hutch_err *err)
{
	cleanup_vdir struct vdir d = { -1, NULL };
	cleanup_refs struct refs r = { 0 };
	struct ctr_volume **list = NULL, *v;
	size_t count = 0;
	struct dirent *de;
	DIR *dir;
	int ret = vdir_open(&d, false, err);

	*out = NULL;
	*n = 0;
	if (ret == -ENOENT)
		return 0;
	if (ret < 0 || (ret = refs_load(&r, err)) < 0)
		return ret;
	dir = cmn_opendirat(d.fd, ".", 0);
	if (!dir)
		return cmn_err_set(err, errno, "cannot list %s", d.path);
	while ((de = readdir(dir))) {
		struct ctr_volume **more;

		if (!ctr_volume_name_valid(de->d_name) ||
		    record_read(&d, de->d_name, &v) < 0)
			continue;
		v->links = refs_count(&r, v->name);
		more = realloc(list, (count + 1) * sizeof(*list));
		if (!more) {
			ctr_volume_free(v);
			break;
		}
		list = more;
		list[count++] = v;
	}
	closedir(dir);
	if (count)
		qsort(list, count, sizeof(*list), by_name);
	*out = list;
	*n = count;
	return 0;
}

int ctr_volume_create(const char *name, char *const *labels,
		      struct ctr_volume **out, struct hutch_err *err)
{
	cleanup_vdir struct vdir d = { -1, NULL };
	char random[65];
	int ret;

	if (!name) {
		if (cmn_random_hex(random, 32) < 0)
			return cmn_err_set(err, errno, "volume name");
		name = random;
	}
	if (!ctr_volume_name_valid(name))
		return cmn_err_msg(
			err, EINVAL,
			"create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed (two at least); if you intended to pass a host directory, use an absolute path",
			name, name);
	ret = vdir_open(&d, true, err);
	if (ret == 0)
		ret = make_volume(&d, name, labels, false, err);
	if (ret < 0 && ret != -EEXIST)
		return ret;
	return out ? ctr_volume_get(name, out, err) : 0;
}

int ctr_volume_remove(const char *name, struct hutch_err *err)
{
	cleanup_vdir struct vdir d = { -1, NULL };
	cleanup_refs struct refs r = { 0 };
	cleanup_free char *users = NULL;
	cleanup_close int fd = -1;
	size_t len = 0;
	int ret;

	if (!ctr_volume_name_valid(name) || vdir_open(&d, false, err) < 0)
		return no_such(name, err);
	fd = lock_volume(&d, name, LOCK_EX);
	if (fd == -ENOENT)
		return no_such(name, err);
	if (fd < 0)
		return cmn_err_set(err, -fd, "cannot lock volume %s", name);
	ret = refs_load(&r, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; r.names && r.names[i]; i++) {
		char *more;

		if (strcmp(r.names[i], name))
			continue;
		more = cmn_strdup_printf("%s%s%s", users ? users : "",
					 users ? ", " : "", r.ids[i]);
		free(users);
		users = more;
		len++;
	}
	if (len)
		return cmn_err_msg(
			err, EBUSY,
			"remove %s: volume is in use - [%s]; remove the container%s first (hutch rm)",
			name, users ? users : "", len > 1 ? "s" : "");
	return remove_locked(&d, name, err);
}

/* Does @v have every label of @want ("KEY" or "KEY=VALUE")? */
static bool has_labels(const struct ctr_volume *v, char *const *want)
{
	for (char *const *w = want; w && *w; w++) {
		size_t klen = strcspn(*w, "=");
		bool found = false;

		for (char **l = v->labels; l && *l && !found; l++)
			found = (*w)[klen] ? !strcmp(*l, *w)
					   : !strncmp(*l, *w, klen) &&
						     (*l)[klen] == '=';
		if (!found)
			return false;
	}
	return true;
}

/* What a crash left: temporary and renamed-away directories nobody holds. */
static void clear_leftovers(const struct vdir *d)
{
	DIR *dir = cmn_opendirat(d->fd, ".", 0);
	struct dirent *de;

	while (dir && (de = readdir(dir))) {
		cleanup_free char *path = NULL;
		int fd;

		if (!cmn_has_prefix(de->d_name, ".tmp-") &&
		    !cmn_has_prefix(de->d_name, ".trash-"))
			continue;
		fd = openat(d->fd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		path = flock(fd, LOCK_EX | LOCK_NB) == 0
			       ? cmn_strdup_printf("%s/%s", d->path, de->d_name)
			       : NULL;
		if (path)
			sbx_remove_tree(path, NULL);
		close(fd);
	}
	if (dir)
		closedir(dir);
}

/* The volumes a prune may take, each locked (@fds), before the records are
 * read: a container made meanwhile waits for the lock. */
static int prune_candidates(const struct vdir *d,
			    const struct ctr_volume_prune *p, char ***names,
			    int **fds, size_t *n)
{
	DIR *dir = cmn_opendirat(d->fd, ".", 0);
	struct dirent *de;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		struct ctr_volume *v = NULL;
		bool take = false;
		int fd, *more;

		if (ctr_volume_name_valid(de->d_name) &&
		    record_read(d, de->d_name, &v) == 0)
			take = (p->all || v->anonymous) &&
			       has_labels(v, p->labels);
		ctr_volume_free(v);
		if (!take)
			continue;
		fd = lock_volume(d, de->d_name, LOCK_EX | LOCK_NB);
		more = fd >= 0 ? realloc(*fds, (*n + 1) * sizeof(**fds)) : NULL;
		if (!more || cmn_strv_push(names, strdup(de->d_name)) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		*fds = more;
		(*fds)[(*n)++] = fd;
	}
	closedir(dir);
	return 0;
}

int ctr_volume_prune(const struct ctr_volume_prune *p, char ***removed,
		     uint64_t *bytes, struct hutch_err *err)
{
	cleanup_vdir struct vdir d = { -1, NULL };
	cleanup_refs struct refs r = { 0 };
	cleanup_strv char **names = NULL;
	cleanup_free int *fds = NULL;
	size_t n = 0;
	int ret = vdir_open(&d, false, err);

	*removed = NULL;
	*bytes = 0;
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	clear_leftovers(&d);
	ret = prune_candidates(&d, p, &names, &fds, &n);
	if (ret < 0)
		cmn_err_set(err, -ret, "cannot list %s", d.path);
	if (ret == 0)
		ret = refs_load(&r, err);
	for (size_t i = 0; i < n; i++) {
		uint64_t size;

		if (ret == 0 && refs_count(&r, names[i]) == 0) {
			size = cmn_tree_size(d.fd, names[i]);
			if (remove_locked(&d, names[i], NULL) == 0 &&
			    cmn_strv_push(removed, strdup(names[i])) == 0)
				*bytes += size;
		}
		close(fds[i]);
	}
	return ret;
}

void ctr_volumes_drop(const struct sbx_config *cfg)
{
	cleanup_vdir struct vdir d = { -1, NULL };

	if (vdir_open(&d, false, NULL) < 0)
		return;
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct sbx_mount *m = &cfg->mounts[i];
		struct ctr_volume *v = NULL;

		if (m->kind == SBX_MOUNT_VOLUME && m->name &&
		    record_read(&d, m->name, &v) == 0 && v->anonymous)
			drop_unused(&d, m->name);
		ctr_volume_free(v);
	}
}

/* ---- for the making of a container (container-internal.h) ------------------ */

/* "/data" and "/data/" are one mount point. */
static bool same_path(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && !strncmp(a, b, la);
}

int ctr_volumes_from_image(struct sbx_config *cfg, char *const *paths,
			   struct hutch_err *err)
{
	for (char *const *p = paths; p && *p; p++) {
		struct sbx_mount *more, *m;
		bool taken = false;

		for (size_t i = 0; i < cfg->n_mounts && !taken; i++)
			taken = same_path(cfg->mounts[i].dst, *p);
		if (taken || (*p)[0] != '/' || same_path(*p, "/"))
			continue;
		more = realloc(cfg->mounts,
			       (cfg->n_mounts + 1) * sizeof(*more));
		if (!more)
			return cmn_err_set(err, ENOMEM, "volumes");
		cfg->mounts = more;
		m = &cfg->mounts[cfg->n_mounts];
		memset(m, 0, sizeof(*m));
		m->kind = SBX_MOUNT_VOLUME;
		m->copy_up = true;
		m->dst = strdup(*p);
		if (!m->dst)
			return cmn_err_set(err, ENOMEM, "volumes");
		cfg->n_mounts++;
	}
	return 0;
}

/* Hold volume @name for a container being made: made when missing, locked
 * shared until its record is written. */
static int hold_one(const struct vdir *d, struct sbx_mount *m, bool anonymous,
		    struct ctr_volume_hold *h, struct hutch_err *err)
{
	for (int tries = 0; tries < MAKE_TRIES; tries++) {
		int fd = lock_volume(d, m->name, LOCK_SH), *more, ret;

		if (fd >= 0) {
			more = realloc(h->fds, (h->n + 1) * sizeof(*more));
			if (!more) {
				close(fd);
				return cmn_err_set(err, ENOMEM, "volumes");
			}
			h->fds = more;
			h->fds[h->n++] = fd;
			free(m->src);
			m->src = cmn_strdup_printf("%s/%s/_data", d->path,
						   m->name);
			return m->src ? 0 : cmn_err_set(err, ENOMEM, "volumes");
		}
		if (fd != -ENOENT)
			return cmn_err_set(err, -fd, "cannot lock volume %s",
					   m->name);
		ret = make_volume(d, m->name, m->labels, anonymous, err);
		if (ret == 0 && cmn_strv_push(&h->made, strdup(m->name)) < 0)
			return cmn_err_set(err, ENOMEM, "volumes");
		if (ret < 0 && ret != -EEXIST)
			return ret;
	}
	return cmn_err_msg(
		err, EAGAIN,
		"volume %s was removed again and again while the container was made; try again",
		m->name);
}

int ctr_volumes_attach(struct sbx_config *cfg, struct ctr_volume_hold *h,
		       struct hutch_err *err)
{
	cleanup_vdir struct vdir d = { -1, NULL };
	char random[65];
	bool any = false;
	int ret;

	for (size_t i = 0; i < cfg->n_mounts; i++)
		any |= cfg->mounts[i].kind == SBX_MOUNT_VOLUME;
	if (!any)
		return 0;
	ret = vdir_open(&d, true, err);
	for (size_t i = 0; ret == 0 && i < cfg->n_mounts; i++) {
		struct sbx_mount *m = &cfg->mounts[i];
		bool anonymous = !m->name;

		if (m->kind != SBX_MOUNT_VOLUME)
			continue;
		if (anonymous) {
			if (cmn_random_hex(random, 32) < 0)
				return cmn_err_set(err, errno, "volume name");
			m->name = strdup(random);
			if (!m->name)
				return cmn_err_set(err, ENOMEM, "volumes");
		}
		ret = hold_one(&d, m, anonymous, h, err);
	}
	return ret;
}

void ctr_volumes_release(struct ctr_volume_hold *h, bool failed)
{
	cleanup_vdir struct vdir d = { -1, NULL };

	for (size_t i = 0; i < h->n; i++)
		close(h->fds[i]);
	if (failed && h->made && vdir_open(&d, false, NULL) == 0)
		for (char **name = h->made; *name; name++)
			drop_unused(&d, *name);
	free(h->fds);
	cmn_strv_free(h->made);
	memset(h, 0, sizeof(*h));
}

void ctr_volumes_filled(struct sbx_config *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		cfg->mounts[i].copy_up = false;
}
