// SPDX-License-Identifier: Apache-2.0
/* gc.c - removing images and what nothing uses any more; checking the store
 *
 * A layer or blob is shared by every image that has it, so removal works
 * by reachability: after an image record goes, its layers and blobs are
 * deleted only when no remaining image, and no container (whose overlay
 * lowers are layers), refers to them. The set of what is still referenced
 * is computed from the image records each time: there is no reference
 * count to get out of step after a kill -9. What running builds and pulls
 * hold (lease.c) counts as referenced too; a layer is renamed into tmp/
 * before its tree is deleted, so that it is whole or gone, never half.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store-internal.h"

/* A set of 64-hex names, sorted for bsearch. */
struct hexset {
	char (*v)[65];
	size_t n, cap;
};

static int set_add(struct hexset *s, const char *hex)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char(*v)[65] = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memcpy(s->v[s->n++], hex, 64);
	s->v[s->n - 1][64] = '\0';
	return 0;
}

static int cmp_hex(const void *a, const void *b)
{
	return memcmp(a, b, 64);
}

static void set_sort(struct hexset *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_hex);
}

static bool set_has(const struct hexset *s, const char *hex)
{
	return s->n && bsearch(hex, s->v, s->n, sizeof(*s->v), cmp_hex);
}

struct refs {
	struct hexset chains, blobs, images, files;
};

static int add_held(void *ctx, enum store_hold kind, const char *hex)
{
	struct refs *r = ctx;

	return set_add(kind == STORE_HOLD_IMAGE	  ? &r->images
		       : kind == STORE_HOLD_LAYER ? &r->chains
						  : &r->blobs,
		       hex);
}

static void refs_free(struct refs *r)
{
	free(r->chains.v);
	free(r->blobs.v);
	free(r->images.v);
	free(r->files.v);
}

/* Everything the images (but @skip), @keep_chains and the leases (but our
 * own when @skip_own) refer to; locks/gc is held exclusive. */
static int referenced(struct img_store *s, const struct img_digest *skip,
		      char *const *keep_chains, bool skip_own, struct refs *r,
		      struct hutch_err *err)
{
	struct hexset *chains = &r->chains, *blobs = &r->blobs;
	struct img_image **imgs = NULL;
	size_t n = 0;
	int ret = img_image_list(s, &imgs, &n, err);

	for (size_t i = 0; i < n; i++) {
		const struct img_image *im = imgs[i];

		if (ret == 0 && !(skip && img_digest_equal(&im->id, skip))) {
			ret = set_add(blobs, im->id.hex);
			if (ret == 0)
				ret = set_add(blobs, im->manifest.hex);
			if (ret == 0 && im->squashfs)
				ret = set_add(&r->files, im->id.hex);
			/* In squashfs form, its layers are not its own
			 * (but a build's, kept as its cache). */
			for (size_t l = 0;
			     ret == 0 && (!im->squashfs || im->layers_kept) &&
			     l < im->n_layers;
			     l++) {
				ret = set_add(blobs, im->layers[l].blob.hex);
				if (ret == 0)
					ret = set_add(chains,
						      im->layers[l].chain.hex);
			}
		}
		img_image_free(imgs[i]);
	}
	free(imgs);
	/* A container's lowers, or the image id of the store's .sqsh it
	 * runs: keep both. */
	for (char *const *k = keep_chains; ret == 0 && k && *k; k++)
		if (strlen(*k) >= 64) {
			ret = set_add(chains, *k);
			if (ret == 0)
				ret = set_add(&r->files, *k);
		}
	if (ret == 0)
		ret = store_leases(s, skip_own, add_held, r);
	if (ret < 0 && err && !err->msg[0])
		cmn_err_set(err, -ret, "cannot read %s/leases", s->root);
	set_sort(chains);
	set_sort(blobs);
	set_sort(&r->images);
	set_sort(&r->files);
	return ret;
}

/* Delete layers/@hex: out of sight first (one rename), then the tree. */
static bool remove_layer(struct img_store *s, const char *hex)
{
	char path[96], tmp[96];

	snprintf(path, sizeof(path), "layers/%.64s", hex);
	if (store_tmp_name(tmp, ".gc") < 0 ||
	    renameat(s->rootfd, path, s->rootfd, tmp) < 0)
		return false;
	store_remove_tree(s, tmp, NULL);
	return true;
}

static bool remove_blob(struct img_store *s, const char *hex, uint64_t *freed)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "blobs/sha256/%.64s", hex);
	if (fstatat(s->rootfd, path, &st, 0) < 0 ||
	    unlinkat(s->rootfd, path, 0) < 0)
		return false;
	*freed += (uint64_t)st.st_size;
	return true;
}

/* Delete entries of @dir (layers or blobs/sha256) that @keep lacks. */
static uint64_t sweep(struct img_store *s, const char *dir,
		      const struct hexset *keep, bool trees)
{
	cleanup_dir DIR *d = cmn_opendirat(s->rootfd, dir, 0);
	struct dirent *de;
	uint64_t freed = 0;

	while (d && (de = readdir(d))) {
		if (strlen(de->d_name) != 64 || set_has(keep, de->d_name))
			continue;
		if (trees)
			freed += remove_layer(s, de->d_name);
		else
			remove_blob(s, de->d_name, &freed);
	}
	return freed;
}

/* The squashfs files of squashfs-images/ that no image, container or
 * lease has: "<hex>.sqsh" by its image id. */
static void sweep_files(struct img_store *s, const struct refs *r,
			struct img_gc_result *res)
{
	cleanup_dir DIR *d = cmn_opendirat(s->rootfd, STORE_SQSH_DIR, 0);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[sizeof(STORE_SQSH_DIR) + NAME_MAX + 2];
		struct stat st;

		if (strlen(de->d_name) != 69 ||
		    strcmp(de->d_name + 64, ".sqsh") ||
		    set_has(&r->files, de->d_name) ||
		    set_has(&r->images, de->d_name))
			continue;
		snprintf(path, sizeof(path), STORE_SQSH_DIR "/%s", de->d_name);
		if (fstatat(s->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    unlinkat(s->rootfd, path, 0) == 0) {
			res->files++;
			res->bytes += (uint64_t)st.st_size;
		}
	}
}

int img_gc(struct img_store *s, const struct img_digest *removed,
	   char *const *keep_chains, struct img_gc_result *res,
	   struct hutch_err *err)
{
	struct refs r = { 0 };
	int lock = store_lock(s, "gc", true);
	int ret =
		lock < 0 ? cmn_err_set(err, -lock, "cannot lock the store") : 0;

	memset(res, 0, sizeof(*res));
	if (ret == 0)
		ret = referenced(s, removed, keep_chains, false, &r, err);
	if (ret == 0) {
		res->layers = sweep(s, "layers", &r.chains, true);
		res->bytes = sweep(s, "blobs/sha256", &r.blobs, false);
		sweep_files(s, &r, res);
	}
	store_unlock(lock);
	refs_free(&r);
	return ret;
}

void store_discard(struct img_store *s, const struct img_digest *blobs,
		   size_t n_blobs, const struct img_digest *chains,
		   size_t n_chains)
{
	struct hutch_err err = { 0 };
	struct refs r = { 0 };
	int lock = store_lock(s, "gc", true);
	uint64_t freed = 0;

	if (lock >= 0 && referenced(s, NULL, NULL, true, &r, &err) == 0) {
		for (size_t i = 0; i < n_chains; i++)
			if (!set_has(&r.chains, chains[i].hex))
				remove_layer(s, chains[i].hex);
		for (size_t i = 0; i < n_blobs; i++)
			if (!set_has(&r.blobs, blobs[i].hex))
				remove_blob(s, blobs[i].hex, &freed);
	}
	store_unlock(lock);
	refs_free(&r);
}

int img_image_prune(struct img_store *s, const struct img_digest *id,
		    struct hutch_err *err)
{
	struct refs r = { 0 };
	int lock = store_lock(s, "gc", true);
	int ret = lock < 0 ? lock : store_leases(s, false, add_held, &r);

	set_sort(&r.images);
	if (ret == 0)
		ret = set_has(&r.images, id->hex)
			      ? -EBUSY
			      : img_image_delete(s, id, err);
	else
		cmn_err_set(err, -ret, "cannot read %s/leases", s->root);
	store_unlock(lock);
	refs_free(&r);
	return ret;
}

/* ---- names and records -------------------------------------------------------- */

int img_untag(struct img_store *s, const char *name, struct hutch_err *err)
{
	struct img_ref ref = { 0 };
	cleanup_free char *full = NULL;
	json_t *refs = NULL;
	char *text = NULL;
	int lock, ret = img_ref_parse(name, &ref, err);

	if (ret < 0)
		return ret;
	full = img_ref_str(&ref);
	img_ref_free(&ref);
	lock = store_lock(s, "refs", true);
	if (!full || lock < 0) {
		store_unlock(lock);
		return cmn_err_set(err, lock < 0 ? -lock : ENOMEM,
				   "cannot lock the image names");
	}
	refs = cmn_json_load(s->rootfd, "refs.json", "the image names",
			     16 << 20, 0, NULL);
	if (!json_object_get(refs, full))
		ret = cmn_err_msg(err, ENOENT, "No such image: %s", name);
	else if (json_object_del(refs, full) == 0 &&
		 (text = json_dumps(refs, JSON_INDENT(1) | JSON_SORT_KEYS)))
		ret = store_write_atomic(s, "refs.json", text, strlen(text));
	if (ret < 0 && ret != -ENOENT)
		cmn_err_set(err, -ret, "cannot update the image names");
	free(text);
	if (refs)
		json_decref(refs);
	store_unlock(lock);
	return ret;
}

int img_image_delete(struct img_store *s, const struct img_digest *id,
		     struct hutch_err *err)
{
	struct img_image *img = NULL;
	char path[96];
	int ret = img_image_load(s, id, &img, err);

	for (char **n = img ? img->names : NULL; ret == 0 && n && *n; n++)
		ret = img_untag(s, *n, err);
	snprintf(path, sizeof(path), "images/%s.json", id->hex);
	if (ret == 0 && unlinkat(s->rootfd, path, 0) < 0 && errno != ENOENT)
		ret = cmn_err_set(err, errno, "cannot remove %s", path);
	img_image_free(img);
	return ret;
}

/* ---- checking ------------------------------------------------------------------ */

static int check_blob(struct img_store *s, const struct img_digest *d,
		      struct img_check_result *r)
{
	cleanup_free char *path = img_blob_path(s, d);
	cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct img_sha256 *h = img_sha256_new();
	struct img_digest got;
	char buf[65536];
	ssize_t n;

	if (fd < 0 || !h) {
		img_sha256_free(h);
		r->problems++;
		snprintf(r->first, sizeof(r->first), "blob %.12s is missing",
			 d->hex);
		return 0;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		img_sha256_update(h, buf, (size_t)n);
	img_sha256_final(h, &got);
	r->blobs++;
	if (n < 0 || !img_digest_equal(&got, d)) {
		r->problems++;
		snprintf(r->first, sizeof(r->first),
			 "blob %.12s does not match its digest", d->hex);
	}
	return 0;
}

static void problem(struct img_check_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct img_check_result *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->problems++) {
		va_start(ap, fmt);
		vsnprintf(r->first, sizeof(r->first), fmt, ap);
		va_end(ap);
	}
}

/* The .sqsh of an image in squashfs form: present, and its digest and
 * tree what the footer says. */
static void check_file(const struct img_image *im, struct img_check_result *r)
{
	struct hutch_err e = { 0 };

	r->files++;
	if (access(im->squashfs, F_OK) < 0)
		problem(r, "the squashfs file of image %.12s is missing",
			im->id.hex);
	else if (store_squashfs_verify(im->squashfs, &e) < 0)
		problem(r, "the squashfs file of image %.12s is damaged (%s)",
			im->id.hex, e.msg);
}

/* Files of squashfs-images/ that no image record names. */
static void check_orphans(struct img_store *s, struct img_image **imgs,
			  size_t n, struct img_check_result *r)
{
	cleanup_dir DIR *d = cmn_opendirat(s->rootfd, STORE_SQSH_DIR, 0);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		bool named = false;

		if (de->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < n && !named; i++)
			named = imgs[i]->squashfs && strlen(de->d_name) == 69 &&
				!strncmp(de->d_name, imgs[i]->id.hex, 64) &&
				!strcmp(de->d_name + 64, ".sqsh");
		if (!named)
			problem(r,
				"%s/" STORE_SQSH_DIR
				"/%.80s belongs to no image (an orphan: hutch system prune removes it)",
				s->root, de->d_name);
	}
}

int img_check(struct img_store *s, struct img_check_result *r,
	      struct hutch_err *err)
{
	struct img_image **imgs = NULL;
	size_t n = 0;
	int ret = img_image_list(s, &imgs, &n, err);

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		const struct img_image *im = imgs[i];

		r->images++;
		check_blob(s, &im->id, r);
		check_blob(s, &im->manifest, r);
		if (im->squashfs)
			check_file(im, r);
		for (size_t l = 0; !im->squashfs && l < im->n_layers; l++) {
			char *dir = img_layer_dir(s, &im->layers[l].chain);

			check_blob(s, &im->layers[l].blob, r);
			r->layers++;
			if (!dir) {
				r->problems++;
				snprintf(
					r->first, sizeof(r->first),
					"layer %.12s of image %.12s is missing",
					im->layers[l].chain.hex, im->id.hex);
			}
			free(dir);
		}
	}
	check_orphans(s, imgs, n, r);
	for (size_t i = 0; i < n; i++)
		img_image_free(imgs[i]);
	free(imgs);
	return ret;
}
