// SPDX-License-Identifier: Apache-2.0
/* step_mount.c - RUN --mount: what each mount of a step is on the host
 *
 * Theory of operation. A RUN's mounts are resolved before its cache key
 * (bld_mounts_plan), prepared on the host once the key missed
 * (bld_mounts_prepare), handed to the sandbox as struct sbx_mount entries
 * of the step's container, and released after it (bld_mounts_release).
 * Nothing a mount shows is in the step's upper directory, so nothing of it
 * reaches the layer; the mount points the container had to create there
 * are removed afterwards (bld_mounts_drop_points). Per type:
 *
 *  - cache: a directory of the store, build-mounts/cache/<digest>/<n>, the
 *    digest of its id and the uid, gid and mode it was made with (as
 *    BuildKit keys a cache on its id and the base it starts from). It
 *    survives builds; `system prune` removes it. An flock on <n>.lock is
 *    held while the step runs: shared, exclusive for sharing=locked
 *    (concurrent builds wait for each other), and for sharing=private
 *    the first instance <n> nobody holds, a new one when all are held.
 *    Every build also holds build-mounts/cache.lock shared while it uses a
 *    cache; prune takes it exclusively, so it never deletes a cache in use.
 *  - bind: from the context, the source resolved inside it (a symlink
 *    cannot leave it) and bound read-only; with .dockerignore excluding
 *    something below it, a view of the rest is made in the step's
 *    directory (bld_context_view). From a stage or an image, an overlay of
 *    its layers (a plain bind of a single layer). rw gives the overlay an
 *    upper in the step's directory: the step's writes are thrown away with
 *    it, and the context is never written.
 *  - tmpfs: a tmpfs of size= bytes.
 *  - secret: its value (the --secret file or variable, read now) written
 *    to a file in the runtime directory (a tmpfs on most systems, never
 *    the store), bound read-only, and deleted after the step; or given as
 *    the variable env= names. The cache key holds the mount's options,
 *    never the value: a changed secret does not miss the cache (BuildKit).
 *  - ssh: the --ssh agent's socket bound on the target, SSH_AUTH_SOCK set.
 *
 * Rootless limits, each a one-line error: a cache seeded from=, an ssh
 * socket for another uid or with another mode (the socket is the agent's
 * own file). Without subordinate ids uid= and gid= have nobody to name,
 * and the cache directory or secret stays the caller's (root in the
 * step), as COPY --chown does there.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/builder-internal.h"

#define SECRET_MAX (500 * 1024) /* BuildKit's limit */

/* ---- planning ----------------------------------------------------------------- */

/* A target as the container sees it: below WORKDIR when relative. */
static int absolute_target(const struct stage *st, struct bld_mount *m,
			   const char *spec, struct hutch_err *err)
{
	const char *wd =
		json_string_value(json_object_get(st->config, "WorkingDir"));
	cleanup_free char *joined =
		m->target[0] == '/'
			? strdup(m->target)
			: cmn_strdup_printf("%s/%s", wd ? wd : "", m->target);
	cleanup_free char *rel = joined ? bld_clean_path(joined, true) : NULL;

	free(m->target);
	m->target = rel ? cmn_strdup_printf("/%s", rel) : NULL;
	if (!m->target)
		return cmn_err_set(err, ENOMEM, "RUN --mount");
	if (!*rel)
		return cmn_err_msg(
			err, EINVAL,
			"RUN --mount=%s: the target cannot be /; mount on a directory below it",
			spec);
	return 0;
}

/* The defaults that depend on the other mounts of the step. */
static int defaults(const struct stage *st, struct bld_mount *m, size_t n_ssh,
		    const char *spec, struct hutch_err *err)
{
	if (m->type == BLD_MOUNT_SECRET && !m->id) {
		cleanup_free char *t = strdup(m->target);

		m->id = t ? strdup(basename(t)) : NULL;
	}
	if (m->type == BLD_MOUNT_SECRET && !m->target && !m->env)
		m->target = cmn_strdup_printf("/run/secrets/%s", m->id);
	if (m->type == BLD_MOUNT_SSH && !m->target)
		m->target =
			cmn_strdup_printf("/run/buildkit/ssh_agent.%zu", n_ssh);
	if ((m->type == BLD_MOUNT_SECRET && !m->id) ||
	    ((m->type != BLD_MOUNT_SECRET || !m->env) && !m->target))
		return cmn_err_set(err, ENOMEM, "RUN --mount");
	if (m->target && absolute_target(st, m, spec, err) < 0)
		return -EINVAL;
	if (m->type == BLD_MOUNT_CACHE && !m->id &&
	    !(m->id = strdup(m->target)))
		return cmn_err_set(err, ENOMEM, "RUN --mount");
	return 0;
}

/* What hutch cannot do without root, told before anything runs. */
static int rootless_limits(const struct bld_mount *m, const char *spec,
			   struct hutch_err *err)
{
	if (m->type == BLD_MOUNT_CACHE && (m->from || m->source))
		return cmn_err_msg(
			err, ENOTSUP,
			"RUN --mount=%s: hutch does not seed a cache from a stage or a source; mount the stage too (--mount=type=bind,from=STAGE,target=/seed) and copy it in the RUN",
			spec);
	if (m->type == BLD_MOUNT_SSH && (m->uid > 0 || m->gid > 0))
		return cmn_err_msg(
			err, ENOTSUP,
			"RUN --mount=%s: hutch forwards the agent's own socket, which belongs to you (root in the build) and cannot be given to another uid or gid; run the step as root",
			spec);
	if (m->type == BLD_MOUNT_SSH && m->mode >= 0 && m->mode != 0600)
		return cmn_err_msg(
			err, ENOTSUP,
			"RUN --mount=%s: hutch forwards the agent's own socket and cannot change its mode; leave mode= out",
			spec);
	return 0;
}

static const struct bld_secret *find_secret(const struct bld *b, const char *id)
{
	for (size_t i = 0; i < b->o->n_secrets; i++)
		if (!strcmp(b->o->secrets[i].id, id))
			return &b->o->secrets[i];
	return NULL;
}

static const struct bld_ssh *find_ssh(const struct bld *b, const char *id)
{
	for (size_t i = 0; i < b->o->n_ssh; i++)
		if (!strcmp(b->o->ssh[i].id, id))
			return &b->o->ssh[i];
	return NULL;
}

/* A secret or an agent the build was not given: an error when required,
 * else the mount is left out (as BuildKit does), and the log says so. */
static int not_given(const struct bld *b, const struct bld_mount *m,
		     struct hutch_err *err)
{
	bool secret = m->type == BLD_MOUNT_SECRET;

	if (m->required)
		return cmn_err_msg(
			err, ENOENT,
			"RUN --mount=type=%s,id=%s,required: no %s %s was given; add %s%s to hutch build",
			bld_mount_type_name(m->type), m->id,
			secret ? "secret" : "ssh agent", m->id,
			secret ? "--secret id=" : "--ssh ", m->id);
	bld_say(b,
		"warning: no %s %s was given (%s%s...); the step runs without it\n",
		secret ? "secret" : "ssh agent", m->id,
		secret ? "--secret id=" : "--ssh ", m->id);
	return 0;
}

/* The context's @source, relative, clean, with its symlinks resolved
 * inside the context. */
static int context_source(struct bld *b, struct bld_run_mount *r,
			  struct hutch_err *err)
{
	struct bld_source *list = NULL;
	size_t n = 0, len = strlen(b->context);
	char link[64], real[4096];
	cleanup_close int fd = -1;
	ssize_t got;
	int ret = bld_sources(b->context_fd, b->ignore,
			      r->m.source ? r->m.source : ".", &list, &n, err);

	if (ret == 0 && n != 1)
		ret = cmn_err_msg(
			err, EINVAL,
			"RUN --mount source=%s names %zu files of the context; a bind mounts one file or directory",
			r->m.source, n);
	if (ret == 0) {
		fd = *list[0].rel ? cmn_open_in_root(b->context_fd, list[0].rel,
						     O_PATH, CMN_CREATE_NONE)
				  : dup(b->context_fd);
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		got = fd >= 0 ? readlink(link, real, sizeof(real) - 1) : -1;
		real[got > 0 ? got : 0] = '\0';
		if (got < (ssize_t)len || strncmp(real, b->context, len) ||
		    (real[len] && real[len] != '/'))
			ret = cmn_err_set(err, fd < 0 ? -fd : EXDEV,
					  "cannot resolve %s in the context",
					  r->m.source ? r->m.source : ".");
	}
	if (ret == 0) {
		struct stat st;

		r->rel = strdup(real[len] ? real + len + 1 : "");
		r->dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
		ret = r->rel ? 0 : cmn_err_set(err, ENOMEM, "RUN --mount");
	}
	bld_sources_free(list, n);
	return ret;
}

/* One --mount: parsed, its defaults, its sources. */
static int plan_one(struct bld *b, const struct stage *st, size_t index,
		    const char *spec, struct bld_run_mounts *rm, size_t n_ssh,
		    struct hutch_err *err)
{
	struct bld_run_mount *r = &rm->v[rm->n];
	int ret = bld_mount_parse(spec, &r->m, err);

	if (ret < 0)
		return ret;
	r->lock = -1;
	rm->n++;
	ret = defaults(st, &r->m, n_ssh, spec, err);
	if (ret == 0)
		ret = rootless_limits(&r->m, spec, err);
	if (ret < 0)
		return ret;
	switch (r->m.type) {
	case BLD_MOUNT_BIND:
		if (r->m.from)
			return bld_stage_source(b, index, r->m.from, &r->img,
						&r->from, err);
		return context_source(b, r, err);
	case BLD_MOUNT_SECRET:
		r->secret = find_secret(b, r->m.id);
		return r->secret ? 0 : not_given(b, &r->m, err);
	case BLD_MOUNT_SSH:
		r->ssh = find_ssh(b, r->m.id);
		return r->ssh ? 0 : not_given(b, &r->m, err);
	default:
		return 0;
	}
}

int bld_mounts_plan(struct bld *b, const struct stage *st, size_t index,
		    const struct bld_instr *in, struct bld_run_mounts *rm,
		    struct hutch_err *err)
{
	size_t n_ssh = 0;
	int ret = 0;

	rm->store_lock = -1;
	rm->v = calloc(in->n_flags + 1, sizeof(*rm->v));
	if (!rm->v)
		return cmn_err_set(err, ENOMEM, "RUN --mount");
	for (size_t i = 0; ret == 0 && i < in->n_flags; i++) {
		if (strcmp(in->flags[i].name, "mount"))
			continue;
		ret = plan_one(b, st, index, in->flags[i].value, rm, n_ssh,
			       err);
		n_ssh += ret == 0 && rm->v[rm->n - 1].m.type == BLD_MOUNT_SSH;
	}
	return ret;
}

/* ---- the cache key ------------------------------------------------------------ */

static void add_text(struct img_sha256 *h, const char *name, const char *v)
{
	img_sha256_update(h, name, strlen(name));
	img_sha256_update(h, "=", 1);
	if (v)
		img_sha256_update(h, v, strlen(v));
	img_sha256_update(h, "\x1f", 1);
}

static void add_num(struct img_sha256 *h, const char *name, int64_t v)
{
	char n[32];

	snprintf(n, sizeof(n), "%lld", (long long)v);
	add_text(h, name, n);
}

/* What a bind shows: the top layer of its stage, or the context's
 * content below its source. */
static void key_source(const struct bld *b, const struct bld_run_mount *r,
		       struct img_sha256 *h)
{
	char top[80];

	if (r->m.type != BLD_MOUNT_BIND)
		return;
	if (r->from && r->from->n_layers)
		add_text(h, "layer",
			 img_digest_str(
				 &r->from->layers[r->from->n_layers - 1].chain,
				 top));
	else if (r->from)
		add_text(h, "base", r->from->base);
	else
		bld_hash_tree(b->context_fd, b->ignore, r->rel, h);
}

char *bld_mounts_key(const struct bld *b, const struct bld_run_mounts *rm)
{
	struct img_sha256 *h;
	struct img_digest d;

	if (!rm->n)
		return strdup("");
	h = img_sha256_new();
	if (!h)
		return NULL;
	for (size_t i = 0; i < rm->n; i++) {
		const struct bld_mount *m = &rm->v[i].m;

		add_text(h, "type", bld_mount_type_name(m->type));
		add_text(h, "target", m->target);
		add_text(h, "source", m->source);
		add_text(h, "from", m->from);
		add_text(h, "id", m->id);
		add_text(h, "env", m->env);
		add_num(h, "sharing", m->sharing);
		add_num(h, "ro", m->read_only);
		add_num(h, "required", m->required);
		add_num(h, "size", (int64_t)m->size);
		add_num(h, "uid", m->uid);
		add_num(h, "gid", m->gid);
		add_num(h, "mode", m->mode);
		key_source(b, &rm->v[i], h);
	}
	img_sha256_final(h, &d);
	return cmn_strdup_printf("mounts %s\n", d.hex);
}

/* ---- preparing: owners ------------------------------------------------------------ */

struct chown_job {
	const char *path;
	uid_t uid;
	gid_t gid;
};

static int chown_in_ns(void *arg, void *out, struct hutch_err *err)
{
	const struct chown_job *j = arg;

	(void)out;
	(void)err;
	/* Without subordinate ids other owners do not exist: root it is,
	 * as for COPY --chown. */
	if (lchown(j->path, j->uid, j->gid) < 0)
		cmn_debug("cannot give %s to %u:%u: %s", j->path,
			  (unsigned)j->uid, (unsigned)j->gid, strerror(errno));
	return 0;
}

/* Give @path to the step's @uid and @gid (-1: root), as the container's
 * root sees them: through a user namespace with the step's mapping. */
static int give(const char *path, int64_t uid, int64_t gid,
		struct hutch_err *err)
{
	struct chown_job j = { path, uid > 0 ? (uid_t)uid : 0,
			       gid > 0 ? (gid_t)gid : 0 };

	if (uid <= 0 && gid <= 0)
		return 0;
	return sbx_userns_call(SBX_USERNS_AUTO, chown_in_ns, &j, NULL, 0, err);
}

static struct sbx_mount *add_mount(struct sbx_config *cfg,
				   enum sbx_mount_kind kind, const char *dst)
{
	struct sbx_mount *more =
		realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof(*more));
	struct sbx_mount *m;

	if (!more)
		return NULL;
	cfg->mounts = more;
	m = &more[cfg->n_mounts];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->dst = strdup(dst);
	if (!m->dst)
		return NULL;
	cfg->n_mounts++;
	return m;
}

/* ---- preparing: cache ------------------------------------------------------------- */

static char *cache_root(const struct bld *b)
{
	return cmn_strdup_printf("%s/build-mounts/cache",
				 img_store_root(b->store));
}

static int lock_file(const char *path, int how)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	while (fd >= 0 && flock(fd, how) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(fd);
		return -e;
	}
	return fd < 0 ? -errno : fd;
}

/* The cache's directory for @m, by its id and how it is made. */
static char *cache_dir(const struct bld *b, const struct bld_mount *m)
{
	struct img_sha256 *h = img_sha256_new();
	cleanup_free char *root = cache_root(b);
	struct img_digest d;
	char *dir;

	if (!h || !root)
		return NULL;
	add_text(h, "hutch-cache-mount-1", m->id);
	add_num(h, "uid", m->uid);
	add_num(h, "gid", m->gid);
	add_num(h, "mode", m->mode);
	img_sha256_final(h, &d);
	dir = cmn_strdup_printf("%s/%s", root, d.hex);
	if (dir && cmn_mkdir_p(dir, 0700) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* Instance @n of the cache at @dir, made with @m's owner and mode the
 * first time; renamed into place so that a half-made one is never used. */
static int cache_instance(const char *dir, int n, const struct bld_mount *m,
			  struct hutch_err *err)
{
	cleanup_free char *path = cmn_strdup_printf("%s/%d", dir, n);
	cleanup_free char *tmp =
		cmn_strdup_printf("%s/%d.new-%d", dir, n, (int)getpid());
	struct stat st;
	int ret;

	if (!path || !tmp)
		return cmn_err_set(err, ENOMEM, "cache mount");
	if (stat(path, &st) == 0)
		return 0;
	if (mkdir(tmp, 0700) < 0 ||
	    chmod(tmp, m->mode >= 0 ? (mode_t)m->mode : 0755) < 0)
		return cmn_err_set(err, errno, "cannot create the cache %s",
				   tmp);
	ret = give(tmp, m->uid, m->gid, err);
	if (ret == 0 && rename(tmp, path) < 0 && errno != EEXIST &&
	    errno != ENOTEMPTY)
		ret = cmn_err_set(err, errno, "cannot create the cache %s",
				  path);
	rmdir(tmp); /* another build made it first */
	return ret;
}

/* Lock the cache as its sharing says; set @path to the instance. */
static int cache_lock(struct bld_run_mount *r, const char *dir, char **path,
		      struct hutch_err *err)
{
	int how = r->m.sharing == BLD_SHARING_SHARED ? LOCK_SH : LOCK_EX;

	for (int n = 0; n < 64; n++) {
		cleanup_free char *lock =
			cmn_strdup_printf("%s/%d.lock", dir, n);

		if (!lock)
			return cmn_err_set(err, ENOMEM, "cache mount");
		r->lock = lock_file(lock,
				    how | (r->m.sharing == BLD_SHARING_PRIVATE
						   ? LOCK_NB
						   : 0));
		if (r->lock == -EWOULDBLOCK)
			continue;
		if (r->lock < 0)
			return cmn_err_set(err, -r->lock, "cannot lock %s",
					   lock);
		*path = cmn_strdup_printf("%s/%d", dir, n);
		return *path ? cache_instance(dir, n, &r->m, err)
			     : cmn_err_set(err, ENOMEM, "cache mount");
	}
	return cmn_err_msg(
		err, EBUSY,
		"RUN --mount=type=cache,id=%s,sharing=private: 64 builds hold a copy of the cache; wait for one to end",
		r->m.id);
}

static int prepare_cache(struct bld *b, struct bld_run_mounts *rm,
			 struct bld_run_mount *r, struct sbx_config *cfg,
			 struct hutch_err *err)
{
	cleanup_free char *root = cache_root(b);
	cleanup_free char *store_lock =
		root ? cmn_strdup_printf("%s.lock", root) : NULL;
	cleanup_free char *dir = NULL;
	char *path = NULL;
	struct sbx_mount *sm;
	int ret;

	if (!store_lock)
		return cmn_err_set(err, ENOMEM, "cache mount");
	if (rm->store_lock < 0) {
		ret = cmn_mkdir_p(root, 0700);
		if (ret == 0)
			ret = rm->store_lock = lock_file(store_lock, LOCK_SH);
		if (ret < 0)
			return cmn_err_set(err, -ret, "cannot lock %s",
					   store_lock);
	}
	dir = cache_dir(b, &r->m);
	if (!dir)
		return cmn_err_set(err, errno, "cannot create a cache in %s",
				   root);
	/* The same cache twice in one step: one lock (a second flock of
	 * ours would wait for the first), one directory. */
	for (struct bld_run_mount *o = rm->v; o < r && !path; o++)
		if (o->cache && !strcmp(o->cache_dir, dir))
			path = strdup(o->cache);
	ret = path ? 0 : cache_lock(r, dir, &path, err);
	r->cache_dir = steal_ptr(&dir);
	r->cache = path;
	sm = ret == 0 ? add_mount(cfg, SBX_MOUNT_BIND, r->m.target) : NULL;
	if (ret == 0 &&
	    (!sm || !r->cache_dir || !path || !(sm->src = strdup(path))))
		ret = cmn_err_set(err, ENOMEM, "cache mount");
	if (sm)
		sm->read_only = r->m.read_only;
	return ret;
}

/* ---- preparing: secrets, ssh, tmpfs ---------------------------------------------- */

static char *secret_value(const struct bld_secret *s, size_t *len,
			  struct hutch_err *err)
{
	char *v;

	if (s->env) {
		const char *e = getenv(s->env);

		v = strdup(e ? e : "");
		*len = v ? strlen(v) : 0;
	} else {
		v = cmn_read_fileat(AT_FDCWD, s->path, SECRET_MAX, len);
	}
	if (!v)
		cmn_err_set(err, errno, "cannot read the secret %s from %s",
			    s->id, s->env ? s->env : s->path);
	return v;
}

/* build-secrets-PID-... of builds that were killed before they could
 * delete them: the runtime directory is often a tmpfs that lives until
 * the next reboot, and secrets must not. */
static void drop_stale_secrets(const char *rt)
{
	cleanup_dir DIR *d = cmn_opendirat(AT_FDCWD, rt, 0);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		uint64_t pid;
		char num[16], path[4096];
		size_t n;

		if (!cmn_has_prefix(de->d_name, "build-secrets-"))
			continue;
		n = strcspn(de->d_name + 14, "-");
		if (n == 0 || n >= sizeof(num))
			continue;
		memcpy(num, de->d_name + 14, n);
		num[n] = '\0';
		if (!cmn_parse_u64(num, INT32_MAX, &pid) ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", rt, de->d_name);
		sbx_remove_tree(path, NULL);
	}
}

/* A file in the runtime directory (per step, private) with the secret. */
static int secret_file(struct bld_run_mounts *rm, size_t i,
		       const struct bld_run_mount *r, const char *v, size_t len,
		       struct sbx_config *cfg, struct hutch_err *err)
{
	cleanup_free char *path = NULL;
	struct sbx_mount *sm;
	int ret;

	if (!rm->secrets) {
		cleanup_free char *rt = cmn_runtime_dir_open(err);
		char rnd[17];

		if (!rt || cmn_random_hex(rnd, 8) < 0)
			return -EIO;
		drop_stale_secrets(rt);
		rm->secrets = cmn_strdup_printf("%s/build-secrets-%d-%s", rt,
						(int)getpid(), rnd);
		if (!rm->secrets || mkdir(rm->secrets, 0700) < 0)
			return cmn_err_set(
				err, errno,
				"cannot create a directory for the secrets in %s",
				rt);
	}
	path = cmn_strdup_printf("%s/%zu", rm->secrets, i);
	if (!path)
		return cmn_err_set(err, ENOMEM, "secret");
	ret = cmn_write_fileat(AT_FDCWD, path, v, len, 0600);
	if (ret == 0 &&
	    chmod(path, r->m.mode >= 0 ? (mode_t)r->m.mode : 0400) < 0)
		ret = -errno;
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot write the secret %s",
				   r->m.id);
	ret = give(path, r->m.uid, r->m.gid, err);
	sm = ret == 0 ? add_mount(cfg, SBX_MOUNT_BIND, r->m.target) : NULL;
	if (!sm)
		return ret < 0 ? ret : cmn_err_set(err, ENOMEM, "secret");
	sm->src = steal_ptr(&path);
	sm->read_only = true;
	return 0;
}

static int prepare_secret(struct bld_run_mounts *rm, size_t i,
			  struct sbx_config *cfg, struct hutch_err *err)
{
	const struct bld_run_mount *r = &rm->v[i];
	size_t len = 0;
	char *v = secret_value(r->secret, &len, err);
	int ret = v ? 0 : -EIO;

	if (ret == 0 && r->m.env &&
	    cmn_strv_push(&rm->env, cmn_strdup_printf("%s=%s", r->m.env, v)) <
		    0)
		ret = cmn_err_set(err, ENOMEM, "secret");
	if (ret == 0 && r->m.target)
		ret = secret_file(rm, i, r, v, len, cfg, err);
	if (v) {
		explicit_bzero(v, len);
		free(v);
	}
	return ret;
}

/* The entry of @env for @kv's name ("NAME=..."), or NULL. */
static char **env_entry(char **env, const char *kv)
{
	size_t n = strcspn(kv, "=");

	for (; env && *env; env++)
		if (!strncmp(*env, kv, n) && (*env)[n] == '=')
			return env;
	return NULL;
}

/* "NAME=VALUE" into @env, over the stage's own NAME. */
static int set_env(char ***env, const char *kv, struct hutch_err *err)
{
	char **slot = env_entry(*env, kv);
	char *copy = strdup(kv);

	if (!copy)
		return cmn_err_set(err, ENOMEM, "RUN --mount");
	if (!slot)
		return cmn_strv_push(env, copy) < 0
			       ? cmn_err_set(err, ENOMEM, "RUN --mount")
			       : 0;
	explicit_bzero(*slot, strlen(*slot));
	free(*slot);
	*slot = copy;
	return 0;
}

static int prepare_ssh(struct bld_run_mounts *rm, const struct bld_run_mount *r,
		       struct sbx_config *cfg, struct hutch_err *err)
{
	struct sbx_mount *sm = add_mount(cfg, SBX_MOUNT_BIND, r->m.target);

	if (!sm || !(sm->src = strdup(r->ssh->path)))
		return cmn_err_set(err, ENOMEM, "ssh mount");
	/* The first agent of the step is the one ssh finds (BuildKit). */
	if (!env_entry(rm->env, "SSH_AUTH_SOCK=") &&
	    cmn_strv_push(&rm->env, cmn_strdup_printf("SSH_AUTH_SOCK=%s",
						      r->m.target)) < 0)
		return cmn_err_set(err, ENOMEM, "ssh mount");
	return 0;
}

static int prepare_tmpfs(const struct bld_run_mount *r, struct sbx_config *cfg,
			 struct hutch_err *err)
{
	struct sbx_mount *sm = add_mount(cfg, SBX_MOUNT_TMPFS, r->m.target);

	if (!sm)
		return cmn_err_set(err, ENOMEM, "tmpfs mount");
	sm->flags = MS_NOSUID | MS_NODEV;
	if (r->m.size &&
	    !(sm->data = cmn_strdup_printf("size=%llu,mode=1777",
					   (unsigned long long)r->m.size)))
		return cmn_err_set(err, ENOMEM, "tmpfs mount");
	return 0;
}

/* ---- preparing: binds ------------------------------------------------------------- */

/* An overlay of @lowers (top first) at DIR/mnt-I, with an upper there when
 * the mount is writable: the step's writes end with the step. */
static int overlay(const char *dir, size_t i, const char *base, char **lowers,
		   const struct bld_run_mount *r, const char *subpath,
		   struct sbx_config *cfg, struct hutch_err *err)
{
	struct sbx_mount *sm = add_mount(cfg, SBX_MOUNT_LAYERS, r->m.target);
	int ret = 0;

	if (!sm) {
		cmn_strv_free(lowers);
		return cmn_err_set(err, ENOMEM, "bind mount");
	}
	sm->lowers = lowers;
	sm->lower_base = strdup(base);
	sm->src = cmn_strdup_printf("%s/mnt-%zu", dir, i);
	sm->subpath = strdup(subpath);
	sm->read_only = r->m.read_only;
	if (!r->m.read_only) {
		sm->upper = cmn_strdup_printf("%s/mnt-%zu.upper", dir, i);
		sm->work = cmn_strdup_printf("%s/mnt-%zu.work", dir, i);
	}
	if (!sm->lower_base || !sm->src || !sm->subpath ||
	    (!r->m.read_only && (!sm->upper || !sm->work)))
		return cmn_err_set(err, ENOMEM, "bind mount");
	if (mkdir(sm->src, 0755) < 0 ||
	    (sm->upper &&
	     (mkdir(sm->upper, 0755) < 0 || mkdir(sm->work, 0700) < 0)))
		ret = cmn_err_set(err, errno, "cannot prepare %s", sm->src);
	return ret;
}

static int plain_bind(const char *src, const char *subpath,
		      const struct bld_run_mount *r, struct sbx_config *cfg,
		      struct hutch_err *err)
{
	struct sbx_mount *sm = add_mount(cfg, SBX_MOUNT_BIND, r->m.target);

	if (!sm || !(sm->src = strdup(src)) || !(sm->subpath = strdup(subpath)))
		return cmn_err_set(err, ENOMEM, "bind mount");
	sm->read_only = r->m.read_only;
	return 0;
}

/* from=STAGE|IMAGE: its layers, seen at source=. */
static int bind_stage(const struct bld *b, const char *dir, size_t i,
		      const struct bld_run_mount *r, struct sbx_config *cfg,
		      struct hutch_err *err)
{
	const struct stage *from = r->from;
	const char *sub = r->m.source ? r->m.source : "/";
	cleanup_free char *base =
		cmn_strdup_printf("%s/layers", img_store_root(b->store));
	cleanup_free char *empty = cmn_strdup_printf("%s/empty-%zu", dir, i);
	char **lowers = NULL;

	if (!base || !empty)
		return cmn_err_set(err, ENOMEM, "bind mount");
	if (from->n_layers == 0) {
		if (mkdir(empty, 0755) < 0)
			return cmn_err_set(err, errno, "cannot create %s",
					   empty);
		return plain_bind(empty, sub, r, cfg, err);
	}
	if (from->n_layers == 1 && r->m.read_only) {
		cleanup_free char *one = cmn_strdup_printf(
			"%s/%s/diff", base, from->layers[0].chain.hex);

		return one ? plain_bind(one, sub, r, cfg, err)
			   : cmn_err_set(err, ENOMEM, "bind mount");
	}
	for (size_t l = from->n_layers; l-- > 0;)
		if (cmn_strv_push(
			    &lowers,
			    cmn_strdup_printf("%s/diff",
					      from->layers[l].chain.hex)) < 0) {
			cmn_strv_free(lowers);
			return cmn_err_set(err, ENOMEM, "bind mount");
		}
	return overlay(dir, i, base, lowers, r, sub, cfg, err);
}

/* The context (or its .dockerignore'd view) at source=; rw through an
 * overlay, so that the context itself is never written. */
static int bind_context(const struct bld *b, const char *dir, size_t i,
			const struct bld_run_mount *r, struct sbx_config *cfg,
			struct hutch_err *err)
{
	cleanup_free char *view = cmn_strdup_printf("%s/view-%zu", dir, i);
	const char *root = b->context, *sub = *r->rel ? r->rel : "/";
	char **lowers = NULL;
	int ret;

	if (!view)
		return cmn_err_set(err, ENOMEM, "bind mount");
	ret = r->dir ? bld_context_view(b->context_fd, b->ignore, r->rel, view,
					err)
		     : 0;
	if (ret < 0)
		return ret;
	if (ret == 1) {
		root = view;
		sub = "/";
	}
	if (r->m.read_only)
		return plain_bind(root, sub, r, cfg, err);
	/* The overlay's options separate directories with ':' and ','. */
	if (strpbrk(root, ":,\\"))
		return cmn_err_msg(
			err, EINVAL,
			"RUN --mount=type=bind,rw: the context's path %s holds ':', ',' or '\\', which an overlay cannot take; move the context, or mount it read-only",
			root);
	if (cmn_strv_push(&lowers, strdup(root)) < 0)
		return cmn_err_set(err, ENOMEM, "bind mount");
	return overlay(dir, i, "/", lowers, r, sub, cfg, err);
}

int bld_mounts_prepare(struct bld *b, struct bld_run_mounts *rm,
		       const char *dir, struct sbx_config *cfg,
		       struct hutch_err *err)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < rm->n; i++) {
		struct bld_run_mount *r = &rm->v[i];

		switch (r->m.type) {
		case BLD_MOUNT_BIND:
			ret = r->from ? bind_stage(b, dir, i, r, cfg, err)
				      : bind_context(b, dir, i, r, cfg, err);
			break;
		case BLD_MOUNT_CACHE:
			ret = prepare_cache(b, rm, r, cfg, err);
			break;
		case BLD_MOUNT_TMPFS:
			ret = prepare_tmpfs(r, cfg, err);
			break;
		case BLD_MOUNT_SECRET:
			ret = r->secret ? prepare_secret(rm, i, cfg, err) : 0;
			break;
		case BLD_MOUNT_SSH:
			ret = r->ssh ? prepare_ssh(rm, r, cfg, err) : 0;
			break;
		}
	}
	for (char **e = rm->env; ret == 0 && e && *e; e++)
		ret = set_env(&cfg->env, *e, err);
	return ret;
}

/* ---- after the step ----------------------------------------------------------------- */

/* The top-most entry for @rel among the stage's layers (and @upper when
 * given): its host path, NULL when none has it or a whiteout hides it. */
static char *top_entry(const struct bld *b, const struct stage *st,
		       const char *upper, const char *rel, struct stat *s)
{
	for (size_t i = st->n_layers + 1; i-- > 0;) {
		char *p =
			i == st->n_layers
				? upper ? cmn_strdup_printf("%s/%s", upper, rel)
					: NULL
				: cmn_strdup_printf("%s/layers/%s/diff/%s",
						    img_store_root(b->store),
						    st->layers[i].chain.hex,
						    rel);

		if (p && lstat(p, s) == 0) {
			if (S_ISCHR(s->st_mode) && s->st_rdev == 0) {
				free(p);
				return NULL;
			}
			return p;
		}
		free(p);
	}
	return NULL;
}

/* The root a step's container saw: its upper over the stage's layers. */
struct view {
	const struct bld *b;
	const struct stage *st;
	const char *upper;
};

/* One component @c (@len bytes) of a path resolved into @done (@size
 * bytes): ".." and "." as usual, a symlink's target put in front of @rest.
 * Return: what is left to walk (owned), NULL for ENOMEM. */
static char *walk(const struct view *v, char *done, size_t size, const char *c,
		  size_t len, const char *rest, int *links)
{
	size_t n = strlen(done);
	char target[4096];
	struct stat s;
	ssize_t t = -1;
	char *e;

	if (len == 2 && !strncmp(c, "..", 2)) {
		char *slash = strrchr(done, '/');

		*(slash ? slash : done) = '\0';
		return strdup(rest);
	}
	if (len == 1 && *c == '.')
		return strdup(rest);
	snprintf(done + n, size - n, "%s%.*s", n ? "/" : "", (int)len, c);
	e = top_entry(v->b, v->st, v->upper, done, &s);
	if (e && S_ISLNK(s.st_mode) && (*links)++ < 40)
		t = readlink(e, target, sizeof(target) - 1);
	free(e);
	if (t <= 0)
		return strdup(rest);
	target[t] = '\0';
	done[target[0] == '/' ? 0 : n] = '\0';
	return cmn_strdup_printf("%s/%s", target, rest);
}

/* @path as the container resolved it on its root: symlinks followed, ".."
 * clamped at the root. Return: relative to the root, without symlinks;
 * owned, NULL for ENOMEM. */
static char *resolve(const struct view *v, const char *path)
{
	char done[4096] = "";
	char *todo = strdup(path);
	int links = 0;

	while (todo) {
		const char *c = todo + strspn(todo, "/");
		size_t len = strcspn(c, "/");
		char *next;

		if (!len)
			break;
		next = walk(v, done, sizeof(done), c, len, c + len, &links);
		free(todo);
		todo = next;
	}
	if (!todo)
		return NULL;
	free(todo);
	return strdup(done);
}

/* Was the upper's directory @p only copied up from the layers' @l (same
 * owner and mode, not made opaque), so that dropping it changes nothing? */
static bool copied_up(const char *p, const struct stat *u, const struct stat *l)
{
	char v;

	return S_ISDIR(l->st_mode) && u->st_mode == l->st_mode &&
	       u->st_uid == l->st_uid && u->st_gid == l->st_gid &&
	       lgetxattr(p, "user.overlay.opaque", &v, 1) < 0 &&
	       lgetxattr(p, "trusted.overlay.opaque", &v, 1) < 0;
}

/* The mount point @rel and the parents made for it, while each is empty
 * and the layers below either lack it or have it as it is. */
static void drop_point(const struct bld *b, const struct stage *st,
		       const char *upper, char *rel)
{
	for (bool first = true; *rel; first = false) {
		cleanup_free char *p = cmn_strdup_printf("%s/%s", upper, rel);
		cleanup_free char *below = NULL;
		struct stat u, l;
		char *slash;

		if (!p || lstat(p, &u) < 0)
			return;
		below = top_entry(b, st, NULL, rel, &l);
		if (S_ISDIR(u.st_mode) && (!below || copied_up(p, &u, &l))) {
			if (rmdir(p) < 0)
				return;
		} else if (first && S_ISREG(u.st_mode) && u.st_size == 0 &&
			   !below) {
			if (unlink(p) < 0)
				return;
		} else {
			return;
		}
		slash = strrchr(rel, '/');
		*(slash ? slash : rel) = '\0';
	}
}

void bld_drop_point(const struct bld *b, const struct stage *st,
		    const char *upper, const char *path)
{
	struct view v = { b, st, upper };
	cleanup_free char *rel = resolve(&v, path);

	if (rel && *rel)
		drop_point(b, st, upper, rel);
}

void bld_mounts_drop_points(const struct bld *b, const struct stage *st,
			    const char *upper, const struct bld_run_mounts *rm)
{
	for (size_t i = rm->n; i-- > 0;) {
		const struct bld_run_mount *r = &rm->v[i];

		if (r->m.target &&
		    (r->m.type != BLD_MOUNT_SECRET || r->secret) &&
		    (r->m.type != BLD_MOUNT_SSH || r->ssh))
			bld_drop_point(b, st, upper, r->m.target);
	}
}

void bld_mounts_release(struct bld_run_mounts *rm)
{
	for (size_t i = 0; i < rm->n; i++) {
		if (rm->v[i].lock >= 0)
			close(rm->v[i].lock);
		bld_stage_release(&rm->v[i].img);
		bld_mount_clear(&rm->v[i].m);
		free(rm->v[i].rel);
		free(rm->v[i].cache_dir);
		free(rm->v[i].cache);
	}
	if (rm->store_lock >= 0)
		close(rm->store_lock);
	if (rm->secrets)
		cmn_remove_tree(AT_FDCWD, rm->secrets);
	for (char **e = rm->env; e && *e; e++)
		explicit_bzero(*e, strlen(*e));
	cmn_strv_free(rm->env);
	free(rm->secrets);
	free(rm->v);
	memset(rm, 0, sizeof(*rm));
	rm->store_lock = -1;
}

/* ---- system prune ------------------------------------------------------------------ */

int bld_cache_mounts_prune(const char *store_root, struct hutch_err *err)
{
	cleanup_free char *root =
		cmn_strdup_printf("%s/build-mounts/cache", store_root);
	cleanup_free char *lock =
		root ? cmn_strdup_printf("%s.lock", root) : NULL;
	cleanup_close int fd = -1;
	struct stat st;
	int ret;

	if (!lock)
		return cmn_err_set(err, ENOMEM, "prune");
	if (stat(root, &st) < 0)
		return errno == ENOENT ? 1
				       : cmn_err_set(err, errno,
						     "cannot read %s", root);
	fd = lock_file(lock, LOCK_EX | LOCK_NB);
	if (fd == -EWOULDBLOCK)
		return 0;
	if (fd < 0)
		return cmn_err_set(err, -fd, "cannot lock %s", lock);
	/* Files of subordinate ids: sbx_remove_tree() knows the way. */
	ret = sbx_remove_tree(root, err);
	return ret < 0 ? ret : 1;
}
