// SPDX-License-Identifier: Apache-2.0
/* create.c - making a container: its root from an image or a directory,
 * the image's config under the user's options, the storage driver, the
 * record
 *
 * `run` and `create` decide the configuration (cli/run.c); this file turns
 * it into a container of the store. An image container gets a directory
 * containers/<id>/ with upper/, work/ and rootfs/ and the image's layers
 * as lowers; `--rootfs DIR --overlay` makes DIR the one lower of such a
 * root, and `--upper DIR` keeps the changes in DIR instead. The driver is
 * resolved here, once, and kept in the record, so that start, exec and cp
 * find the same. Its volumes (-v NAME, an image's VOLUME) are made here
 * when missing (volume.c). A failure leaves nothing behind: the directory
 * goes with it, and so do the volumes made for it.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container-internal.h"

/* The image config's config.@key, parsed; NULL without it. */
static json_t *image_value(const struct img_image *img, const char *key)
{
	cleanup_free char *text = img_config_value(img, key);

	return text ? json_loads(text, 0, NULL) : NULL;
}

/* -P: every port the image EXPOSEs, on a free port of 127.0.0.1. */
static int publish_exposed(struct ctr_container *c, const struct img_image *img)
{
	cleanup_json json_t *ports = image_value(img, "ExposedPorts");
	const char *key;
	json_t *v;

	json_object_foreach(ports, key, v)
	{
		const char *slash = strchr(key, '/');

		/* hutch-net publishes TCP and UDP; SCTP has no way out. */
		if (slash && strcmp(slash, "/tcp") && strcmp(slash, "/udp"))
			continue;
		if (cmn_strv_push(&c->cfg.ports, strdup(key)) < 0 ||
		    cmn_strv_push(&c->ports,
				  cmn_strdup_printf("127.0.0.1:*->%s%s", key,
						    slash ? "" : "/tcp")) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The image's HEALTHCHECK and SHELL under run's --health-* options. */
static int image_health(struct ctr_container *c, const struct img_image *img)
{
	cleanup_json json_t *j = image_value(img, "Healthcheck");
	cleanup_json json_t *sh = image_value(img, "Shell");
	struct ctr_healthcheck h;
	int ret = ctr_healthcheck_from_json(j, &h);

	if (ret == 0 && !h.shell && sh)
		h.shell = ctr_json_strv(sh);
	if (ret == 0)
		ret = ctr_healthcheck_merge(&c->health_cfg, &h);
	ctr_healthcheck_clear(&h);
	return ret;
}

/* Config.Labels: the image's, under those of --label, as Docker merges
 * them. */
static int image_labels(struct ctr_container *c, const struct img_image *img)
{
	cleanup_json json_t *labels = image_value(img, "Labels");
	const char *key;
	json_t *v;

	json_object_foreach(labels, key, v)
	{
		size_t klen = strlen(key);
		bool given = false;

		if (!json_is_string(v))
			continue;
		for (char **l = c->labels; l && *l && !given; l++)
			given = !strncmp(*l, key, klen) &&
				((*l)[klen] == '=' || !(*l)[klen]);
		if (!given &&
		    cmn_strv_push(&c->labels,
				  cmn_strdup_printf("%s=%s", key,
						    json_string_value(v))) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int apply_image(struct ctr_container *c, const struct img_image *img)
{
	int ret = c->publish_all ? publish_exposed(c, img) : 0;

	if (ret == 0)
		ret = image_health(c, img);
	if (ret == 0)
		ret = image_labels(c, img);
	return ret;
}

/* --platform: an image of the store for another platform is refused, as
 * Docker refuses it, rather than failing later with "exec format error". */
static int check_platform(const struct img_image *img, const char *want,
			  struct hutch_err *err)
{
	cleanup_json json_t *j =
		json_loadb(img->config_json, img->config_len, 0, NULL);
	const char *os = json_string_value(json_object_get(j, "os"));
	const char *arch =
		json_string_value(json_object_get(j, "architecture"));
	size_t len = strcspn(want, "/");
	const char *warch = want[len] ? want + len + 1 : "";
	size_t alen = strcspn(warch, "/");

	if (!os || !arch ||
	    (strlen(os) == len && !strncmp(os, want, len) &&
	     strlen(arch) == alen && !strncmp(arch, warch, alen)))
		return 0;
	return cmn_err_msg(
		err, EINVAL,
		"image with reference %s was found but does not match the specified platform: wanted %s, actual: %s/%s; pull it with --platform %s, or drop --platform",
		img->names && img->names[0] ? img->names[0] : "(an id)", want,
		os, arch, want);
}

/* What an image gives a container, from either source: its config under the
 * user's options, its volumes, its id and stop signal. */
static int take_image(struct ctr_container *c, struct img_image *img,
		      const struct img_run_opts *ro,
		      const struct img_digest *id, struct hutch_err *err)
{
	char idstr[72];
	int ret = img_run_config(img, ro, &c->cfg, err);

	if (ret == 0) {
		cleanup_strv char **volumes = img_volumes(img);

		ret = ctr_volumes_from_image(&c->cfg, volumes, err);
	}
	if (ret == 0) {
		free(c->image_id);
		c->image_id = strdup(img_digest_str(id, idstr));
		c->stop_signal = img_stop_signal(img);
		if (!c->image_id || apply_image(c, img) < 0)
			ret = cmn_err_set(err, ENOMEM, "container");
	}
	return ret;
}
/* The .sqsh file @real as the container's one lower, served by
 * hutch-squashfs (sandbox/squashfs.c) on the container's sqfs/ when it
 * starts. Nothing of it is unpacked. */
static int squashfs_lower(struct ctr_container *c, struct img_store *store,
			  const char *real, struct hutch_err *err)
{
	struct sbx_config *cfg = &c->cfg;
	char dir[96];
	int ret;

	snprintf(dir, sizeof(dir), "containers/%s", cfg->id);
	ret = img_rootfs_prepare(store, NULL, dir, c->local_dir, cfg, err);
	if (ret == 0) {
		free(cfg->lower_base);
		cfg->lower_base =
			c->local_dir
				? strdup(c->local_dir)
				: cmn_strdup_printf("%s/%s",
						    img_store_root(store), dir);
		cmn_strv_free(cfg->lowers);
		cfg->lowers = NULL;
		free(cfg->squashfs);
		cfg->squashfs = strdup(real);
		if (!cfg->lower_base || !cfg->squashfs ||
		    cmn_strv_push(&cfg->lowers, strdup("sqfs")) < 0)
			ret = cmn_err_set(err, ENOMEM, "container");
	}
	if (ret == 0) {
		cleanup_free char *mnt =
			cmn_strdup_printf("%s/sqfs", cfg->lower_base);

		if (!mnt || mkdir(mnt, 0755) < 0)
			ret = cmn_err_set(err, mnt ? errno : ENOMEM,
					  "cannot create %s", mnt);
	}
	return ret;
}

/* `run IMG.sqsh`: the file is the one lower; the config is the file's
 * own. */
static int prepare_squashfs(struct ctr_container *c,
			    const struct ctr_source *src, struct hutch_err *err)
{
	struct img_run_opts ro = { src->entrypoint, src->args };
	struct img_store *store = NULL;
	struct img_image *img = NULL;
	char real[PATH_MAX];
	int ret =
		realpath(src->image, real)
			? 0
			: cmn_err_set(err, errno, "cannot find %s", src->image);

	if (ret == 0)
		ret = img_squashfs_image(real, &img, err);
	if (ret == 0)
		ret = img_store_open(&store, err);
	if (ret == 0)
		ret = ctr_local_claim(c, img_store_root(store), err);
	if (ret == 0)
		ret = squashfs_lower(c, store, real, err);
	if (ret == 0)
		ret = take_image(c, img, &ro, &img->id, err);
	img_image_free(img);
	img_store_close(store);
	return ret;
}

static int prepare_layers(struct ctr_container *c, const struct ctr_source *src,
			  struct hutch_err *err);

/* An image of the store, or a .sqsh file. */
static int prepare_image(struct ctr_container *c, const struct ctr_source *src,
			 struct hutch_err *err)
{
	if (img_squashfs_path(src->image))
		return prepare_squashfs(c, src, err);
	return prepare_layers(c, src, err);
}

/* The image's layers under the container's own upper directory, and its
 * config under the user's options. */
static int prepare_layers(struct ctr_container *c, const struct ctr_source *src,
			  struct hutch_err *err)
{
	struct img_run_opts ro = { src->entrypoint, src->args };
	struct img_store *store = NULL;
	struct img_image *img = NULL;
	struct img_digest id;
	char dir[96];
	int ret = img_store_open(&store, err);

	if (ret == 0)
		ret = img_get(store, src->image, &src->get, &id, err);
	if (ret == -ENOENT)
		ret = cmn_err_msg(err, ENOENT, "No such image: %s", src->image);
	if (ret == 0)
		ret = img_image_load(store, &id, &img, err);
	if (ret == 0 && src->get.platform)
		ret = check_platform(img, src->get.platform, err);
	if (ret == 0)
		ret = ctr_local_claim(c, img_store_root(store), err);
	snprintf(dir, sizeof(dir), "containers/%s", c->cfg.id);
	/* An image the store keeps in squashfs form runs from its file. */
	if (ret == 0 && img->squashfs)
		ret = squashfs_lower(c, store, img->squashfs, err);
	else if (ret == 0)
		ret = img_rootfs_prepare(store, img, dir, c->local_dir, &c->cfg,
					 err);
	if (ret == 0)
		ret = take_image(c, img, &ro, &id, err);
	img_image_free(img);
	img_store_close(store);
	return ret;
}

/* --rootfs DIR --overlay: DIR becomes the one lower of a container of the
 * store, like an image's layers. */
static int prepare_rootfs_overlay(struct ctr_container *c,
				  struct hutch_err *err)
{
	struct sbx_config *cfg = &c->cfg;
	struct img_store *store = NULL;
	cleanup_free char *lower = steal_ptr(&cfg->rootfs);
	char dir[96];
	int ret = img_store_open(&store, err);

	snprintf(dir, sizeof(dir), "containers/%s", cfg->id);
	if (ret == 0)
		ret = ctr_local_claim(c, img_store_root(store), err);
	if (ret == 0)
		ret = img_rootfs_prepare(store, NULL, dir, c->local_dir, cfg,
					 err);
	img_store_close(store);
	if (ret < 0)
		return ret;
	cmn_strv_free(cfg->lowers);
	cfg->lowers = NULL;
	free(cfg->lower_base);
	cfg->lower_base = steal_ptr(&lower);
	return cmn_strv_push(&cfg->lowers, strdup(".")) < 0
		       ? cmn_err_set(err, ENOMEM, "overlay")
		       : 0;
}

/* --upper DIR: the root's changes kept in DIR, not the container's. */
static int use_upper_dir(struct sbx_config *cfg, const char *upper_dir,
			 struct hutch_err *err)
{
	char *upper = cmn_strdup_printf("%s/upper", upper_dir);
	char *work = cmn_strdup_printf("%s/work", upper_dir);

	free(cfg->upper);
	free(cfg->work);
	cfg->upper = upper;
	cfg->work = work;
	if (!upper || !work)
		return cmn_err_set(err, ENOMEM, "--upper");
	if ((mkdir(upper, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(work, 0700) < 0 && errno != EEXIST))
		return cmn_err_set(err, errno, "--upper: cannot create %s",
				   errno == EEXIST ? work : upper);
	return 0;
}

/* The runner's lock, taken before anything of the container is on disk
 * and held until it has run (or failed to): no other command takes a
 * half-made container for a dead one. Then its directory, and where the
 * lock is (running.json), so that commands of another environment find it
 * too. */
static int claim(struct ctr_container *c, struct hutch_err *err)
{
	cleanup_free char *dir = ctr_container_dir(c->cfg.id);
	cleanup_free char *rt = NULL;
	int ret;

	c->lock = ctr_lock_runner(c, err);
	if (c->lock < 0)
		return c->lock;
	if (!dir)
		return cmn_err_set(err, ENOMEM, "container");
	ret = cmn_mkdir_p(dir, 0700);
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot create %s", dir);
	rt = ctr_runtime_dir(c->cfg.id, err);
	return rt ? ctr_where_publish(c->cfg.id, rt) : -EIO;
}

int ctr_container_make(struct ctr_container *c, const struct ctr_source *src,
		       struct hutch_err *err)
{
	struct ctr_volume_hold volumes = { 0 };
	int ret = claim(c, err);

	if (ret == 0 && src->image)
		ret = prepare_image(c, src, err);
	else if (ret == 0 && (src->overlay || src->upper_dir))
		ret = prepare_rootfs_overlay(c, err);
	if (ret == 0 && src->upper_dir)
		ret = use_upper_dir(&c->cfg, src->upper_dir, err);
	/* Its own upper, whose driver the record pins (resolved below):
	 * hutch-overlay may rename lower directories there, as the kernel
	 * does with redirect_dir=on; an --upper the user keeps, no. */
	c->cfg.dir_renames = !src->upper_dir;
	/* Its volumes are held from here until its record names them. */
	if (ret == 0)
		ret = ctr_volumes_attach(&c->cfg, &volumes, err);
	if (ret == 0) {
		sbx_storage_resolve(&c->cfg);
		ret = ctr_container_create(c, err);
	}
	ctr_volumes_release(&volumes, ret < 0);
	if (ret < 0) {
		cleanup_free char *dir = ctr_container_dir(c->cfg.id);

		ctr_local_remove(c);
		if (dir)
			sbx_remove_tree(dir, NULL);
		if (c->lock >= 0) {
			ctr_runtime_retire(c->cfg.id);
			close(c->lock);
			c->lock = -1;
		}
	}
	return ret;
}
