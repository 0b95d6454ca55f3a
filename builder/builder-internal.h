/* SPDX-License-Identifier: Apache-2.0 */
/* builder-internal.h - what the builder's files share; private to build/ */
#ifndef HUTCH_BUILDER_BUILDER_INTERNAL_H
#define HUTCH_BUILDER_BUILDER_INTERNAL_H

#include <jansson.h>
#include <sys/stat.h>

#include "builder/builder.h"
#include "image/image.h"
#include "sandbox/sandbox.h"

/**
 * struct stage - the state of one stage while it is built
 * @config:  the image config's "config" object (Env, Cmd, WorkingDir ...)
 * @history: the image config's "history" array
 * @layers:  the layers so far, base first (media_type owned)
 * @base:    what the first layer sits on, for cache keys: the base image's
 *           id, or "scratch"
 * @vars:    substitution scope (ENV and ARG)
 * @shell:   SHELL, default /bin/sh -c
 * @built:   the stage is complete (a later COPY --from may use it)
 */
struct stage {
	json_t *config;
	json_t *history;
	json_t *image_meta; /* architecture, os of the base */
	struct img_layer_info *layers;
	size_t n_layers;
	char base[80];
	struct bld_scope scope;
	char **shell;
	bool built;
};

/**
 * struct bld - one build
 * @df:      the parsed Dockerfile
 * @store:   the image store
 * @stages:  one per Dockerfile stage (built on demand)
 * @context: the context directory (absolute) and a descriptor for it
 * @ignore:  the .dockerignore rules (NULL: none)
 * @step/@steps: counters for "STEP n/m"
 * @fake_root: RUN steps emulate root (no subordinate ids)
 */
struct bld {
	const struct bld_opts *o;
	struct bld_dockerfile *df;
	struct img_store *store;
	bool squashfs; /* the store keeps images in squashfs form */
	struct stage *stages;
	char *context;
	int context_fd;
	struct bld_ignore *ignore;
	struct bld_vars build_args;
	struct bld_vars global;
	size_t step, steps;
	bool fake_root;
};

/* Output to the build's log (-q: nowhere). */
void bld_say(const struct bld *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- stages (builder.c) ---------------------------------------------------- */

/** bld_build_stage() - build stage @index and those it needs, once. */
int bld_build_stage(struct bld *b, size_t index, struct hutch_err *err);
/** bld_stage_from_image() - @st as a copy of image @name (pulled when
 * missing): config, history and layers. */
int bld_stage_from_image(struct bld *b, struct stage *st, const char *name,
			 struct hutch_err *err);
void bld_stage_release(struct stage *st);
/**
 * bld_stage_source() - what "--from=@from" names inside stage @index: an
 * earlier stage (built on demand; *@out points at it) or an image, loaded
 * into @img_stage (*@out = @img_stage; release it with
 * bld_stage_release()).
 */
int bld_stage_source(struct bld *b, size_t index, const char *from,
		     struct stage *img_stage, const struct stage **out,
		     struct hutch_err *err);

/* ---- steps (step_run.c, step_copy.c) -------------------------------------- */

/** bld_step_run() - a RUN of stage @index: a container on the stage's
 * layers whose upper directory becomes the new layer (NULL-layer when
 * nothing changed). */
int bld_step_run(struct bld *b, struct stage *st, size_t index,
		 const struct bld_instr *in, struct hutch_err *err);

/* ---- RUN --mount (step_mount.c) ------------------------------------------ */

/**
 * struct bld_run_mount - one RUN --mount of a step, resolved
 * @m:      the parsed mount; its target absolute and clean, its secret or
 *          ssh target and its cache id filled in
 * @from:   bind: the stage or image it mounts (borrowed or @img); NULL:
 *          the context
 * @img:    the image of from=IMAGE (owned)
 * @rel:    bind from the context: the source, relative and clean (owned)
 * @dir:    bind from the context: the source is a directory
 * @secret, @ssh: the --secret or --ssh it uses (borrowed), NULL when
 *          none was given and it is not required: the mount is skipped
 * @lock:   cache: the flock held on its directory while the step runs
 * @cache_dir, @cache: cache: its directory in the store and the instance
 *          mounted (owned)
 */
struct bld_run_mount {
	struct bld_mount m;
	const struct stage *from;
	struct stage img;
	char *rel;
	bool dir;
	const struct bld_secret *secret;
	const struct bld_ssh *ssh;
	int lock;
	char *cache_dir;
	char *cache;
};

/**
 * struct bld_run_mounts - the mounts of one RUN (zero-initialise)
 * @env:     what the step's environment gets besides the stage's own
 *           (SSH_AUTH_SOCK, secrets given as env=): never in the cache key
 * @secrets: the directory in the runtime dir holding the secrets' files
 *           while the step runs (owned)
 * @store_lock: a shared flock on the store's cache mounts, which `system
 *           prune` takes exclusively
 */
struct bld_run_mounts {
	struct bld_run_mount *v;
	size_t n;
	char **env;
	char *secrets;
	int store_lock;
};

/**
 * bld_mounts_plan() - parse the --mount flags of @in and resolve them:
 * targets against WORKDIR, from= stages (built) and images (pulled), the
 * context's sources, which --secret and --ssh each one uses.
 */
int bld_mounts_plan(struct bld *b, const struct stage *st, size_t index,
		    const struct bld_instr *in, struct bld_run_mounts *rm,
		    struct hutch_err *err);

/**
 * bld_mounts_key() - what the mounts add to the step's cache key: their
 * options, the content of a bind's context source, the layer a bind from a
 * stage shows; never a secret's value. Return: owned text, NULL on ENOMEM.
 */
char *bld_mounts_key(const struct bld *b, const struct bld_run_mounts *rm);

/**
 * bld_mounts_prepare() - make every mount of @rm ready on the host and add
 * it to @cfg's mounts (and @rm->env): cache directories locked and
 * created, secrets written, binds from stages as overlays, context views.
 * @dir: the step's private directory (its mount points and uppers go
 *       there, and are deleted with it)
 */
int bld_mounts_prepare(struct bld *b, struct bld_run_mounts *rm,
		       const char *dir, struct sbx_config *cfg,
		       struct hutch_err *err);

/**
 * bld_drop_point() - remove from a step's @upper what a mount on @path
 * made there: the mount point when it is an empty directory or file the
 * layers lack, then each parent while it is empty and the layers either
 * lack it or have it with the same owner and mode (a copy-up). @path is
 * resolved as the container did, through the layers' symlinks.
 */
void bld_drop_point(const struct bld *b, const struct stage *st,
		    const char *upper, const char *path);

/**
 * bld_mounts_drop_points() - bld_drop_point() for each mount of @rm, so
 * that the layer holds nothing of them, as under BuildKit.
 */
void bld_mounts_drop_points(const struct bld *b, const struct stage *st,
			    const char *upper, const struct bld_run_mounts *rm);

/** bld_mounts_release() - drop the locks, delete the secrets' files, free. */
void bld_mounts_release(struct bld_run_mounts *rm);

/** bld_step_copy() - COPY or ADD into a new layer. */
int bld_step_copy(struct bld *b, struct stage *st, size_t stage_index,
		  const struct bld_instr *in, struct hutch_err *err);

/**
 * bld_step_workdir() - after WORKDIR set the stage's WorkingDir: make the
 * directories of it that are missing, owned by the stage's USER (as
 * BuildKit does), into a new layer; none when all exist (step_copy.c).
 */
int bld_step_workdir(struct bld *b, struct stage *st,
		     const struct bld_instr *in, struct hutch_err *err);

/**
 * bld_commit_layer() - turn a finished upper directory into the stage's
 * next layer, or into nothing when it is empty; record history
 * @created_by: the history line
 */
int bld_commit_layer(struct bld *b, struct stage *st, const char *upper,
		     const char *created_by, const char *cache_key,
		     struct hutch_err *err);

/**
 * bld_commit_cached() - reuse the layer of @key when the cache has it:
 * prints CACHED and records the step. Return: 1 on a hit, 0 on a miss.
 */
int bld_commit_cached(struct bld *b, struct stage *st, const char *key,
		      const char *created_by);

/* ---- ADD <URL> (fetch.c) ---------------------------------------------------- */

/**
 * struct bld_fetch - one http(s) source of an ADD
 * @arg:    its index in the instruction's arguments
 * @url:    the argument (borrowed from the instruction)
 * @name:   the URL path's last component, NULL when it has none (owned)
 * @fd:     the downloaded file, unlinked; -1 until fetched (owned)
 * @st:     what the copy gives it: a regular file of mode 0600, its size,
 *          mtime from Last-Modified (else the download's time)
 * @digest: --checksum's sha256 until fetched, then the content's
 * @pinned: --checksum was given
 */
struct bld_fetch {
	size_t arg;
	const char *url;
	char *name;
	int fd;
	struct stat st;
	struct img_digest digest;
	bool pinned;
};

struct bld_fetches {
	struct bld_fetch *v; /* owned */
	size_t n;
};

/** bld_is_url() - does an ADD source name an http:// or https:// URL? */
bool bld_is_url(const char *arg);

/**
 * bld_fetch_plan() - the URL sources of @in (none for COPY), with
 * --checksum parsed; refuses COPY of a URL, other schemes, git sources and
 * a --checksum that is not for exactly one URL. Nothing is downloaded.
 * @out: freed with bld_fetches_free(), also after a failure
 */
int bld_fetch_plan(const struct bld_instr *in, struct bld_fetches *out,
		   struct hutch_err *err);

/**
 * bld_fetch_all() - download the sources of @f that are not yet fetched
 * and were (@pinned) or were not given --checksum, into files under the
 * store's tmp/; a pinned download must match its checksum.
 */
int bld_fetch_all(struct bld *b, struct bld_fetches *f, bool pinned,
		  struct hutch_err *err);

/** bld_fetch_key() - add each source's URL and digest to a cache key. */
void bld_fetch_key(const struct bld_fetches *f, struct img_sha256 *h);

/** bld_fetch_find() - the fetch of argument @arg, or NULL (not a URL). */
const struct bld_fetch *bld_fetch_find(const struct bld_fetches *f, size_t arg);

/** bld_fetch_name() - the file name a URL gives inside a destination
 * directory (borrowed), or NULL with @err when it has none. */
const char *bld_fetch_name(const struct bld_fetch *f, struct hutch_err *err);

void bld_fetches_free(struct bld_fetches *f);

/* ---- the cache (cache.c) ---------------------------------------------------- */

/**
 * bld_cache_key() - the key of a step: its parent (the last layer's chain
 * id or the base), the stage's config, and @what (the expanded
 * instruction and everything else it depends on)
 */
void bld_cache_key(const struct stage *st, const char *what, char out[65]);

/* "2024-01-02T03:04:05Z" and its NUL: a history entry's date. */
#define BLD_WHEN_LEN 32

/** bld_when_now() - the current time as a history entry's date. */
void bld_when_now(char when[static BLD_WHEN_LEN]);

/**
 * bld_cache_get() - a recorded result for @key whose layer is still in the
 * store, held from now on so that a prune leaves it to this build.
 * Return: 1 with @layer filled (or @empty set when the step changed
 * nothing; @layer may then be NULL) and @when the date the step was first
 * made, 0 on a miss.
 */
int bld_cache_get(struct bld *b, const char *key, struct img_layer_info *layer,
		  bool *empty, char when[static BLD_WHEN_LEN]);
/** bld_cache_put() - record @layer (NULL: the step changed nothing), made
 * at @when, as the result of @key. */
void bld_cache_put(struct bld *b, const char *key,
		   const struct img_layer_info *layer, const char *when);

/* ---- the context (context.c) ------------------------------------------------ */

/**
 * struct bld_source - one file matched by a COPY source
 * @rel: path relative to the context (or the source root)
 */
struct bld_source {
	char *rel;
	bool dir;
};

/**
 * bld_clean_path() - "./a//b/." -> "a/b", "" for the root; a ".." above
 * the root is NULL, or stays at the root with @clamp (as a container's
 * paths do). Return: owned; NULL also for ENOMEM.
 */
char *bld_clean_path(const char *path, bool clamp);

/**
 * bld_sources() - the paths a COPY/ADD source names: a path or a glob
 * (*, ?, [..]) relative to @root_fd, with .dockerignore applied when
 * @ignore is given; a directory stands for itself (its contents are
 * copied). "../" leaving the context is refused.
 */
int bld_sources(int root_fd, const struct bld_ignore *ignore,
		const char *pattern, struct bld_source **out, size_t *n,
		struct hutch_err *err);
void bld_sources_free(struct bld_source *s, size_t n);

/** bld_hash_tree() - add the content and metadata of @rel (recursively,
 * .dockerignore applied) to @h, for cache keys. */
int bld_hash_tree(int root_fd, const struct bld_ignore *ignore, const char *rel,
		  struct img_sha256 *h);

/** bld_copy_data() - copy @size bytes from @src's offset 0 to @dst.
 * Return: 0 or -errno (-EIO when @src ends early). */
int bld_copy_data(int src, int dst, off_t size);

/**
 * bld_context_view() - the context's directory @rel as the build sees it,
 * .dockerignore applied, for RUN --mount=type=bind: when something below
 * it is excluded, what is not is put in the new directory @dir (hard links
 * where the filesystem allows, else copies) and 1 is returned; 0 when
 * nothing below is excluded, so the context itself can be mounted.
 */
int bld_context_view(int root_fd, const struct bld_ignore *ignore,
		     const char *rel, const char *dir, struct hutch_err *err);

#endif
