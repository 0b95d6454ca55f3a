// SPDX-License-Identifier: Apache-2.0
/* system.c - `hutch system df|prune|check`: the store as a whole */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cli/cli.h"
#include "image/image.h"

struct system_opts {
	bool all;
	bool force;
	bool volumes;
};

static int set_all(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct system_opts *)ctx)->all, err);
}

static int set_force(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct system_opts *)ctx)->force, err);
}

static int set_volumes(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct system_opts *)ctx)->volumes, err);
}

static const struct cli_opt prune_options[] = {
	{ "all", 'a', NULL,
	  "remove every image no container uses, not only unnamed ones",
	  set_all },
	{ "force", 'f', NULL, "do not ask", set_force },
	{ "volumes", 0, NULL,
	  "remove the anonymous volumes no container uses too (named ones: hutch volume prune -a)",
	  set_volumes },
};

static int system_main(int argc, char **argv);

const struct cli_cmd cli_system_cmd = {
	.name = "system",
	.usage = "system df | prune [-a] [-f] [--volumes] | check",
	.summary = "Disk use, clean-up and consistency of the store.",
	.main = system_main,
};

static bool image_used(struct ctr_container **cs, size_t n,
		       const struct img_image *img)
{
	char id[72];

	img_digest_str(&img->id, id);
	for (size_t i = 0; i < n; i++)
		if (cs[i]->image_id && !strcmp(cs[i]->image_id, id))
			return true;
	return false;
}

/* With --volumes, the anonymous volumes no container uses any more, as
 * Docker's does (named ones stay); after the containers, so that theirs
 * count. */
static int prune_volumes(const struct system_opts *o, size_t *removed,
			 struct hutch_err *err)
{
	cleanup_strv char **names = NULL;
	uint64_t bytes = 0;
	int ret = 0;

	*removed = 0;
	if (o->volumes)
		ret = ctr_volume_prune(&(struct ctr_volume_prune){ 0 }, &names,
				       &bytes, err);
	*removed = cmn_strv_len(names);
	return ret;
}

/* Stopped containers, then (--volumes) unused anonymous volumes, then
 * unnamed (or, with -a, unused) images, then layers and blobs nothing
 * refers to, then the build cache. */
static int prune(struct img_store *s, const struct system_opts *o,
		 struct hutch_err *err)
{
	struct ctr_container **cs = NULL;
	struct img_image **imgs = NULL;
	struct img_gc_result gc = { 0 };
	cleanup_strv char **chains = NULL;
	cleanup_strv char **damaged = NULL;
	size_t nc = 0, ni = 0, nd = 0, removed_c = 0, removed_i = 0, kept = 0;
	size_t removed_v = 0, removed_sv = 0;
	int ret = ctr_container_list(&cs, &nc, err);

	/* What a crash or a partial rm -rf left of containers. */
	if (ret == 0)
		ret = ctr_damaged_list(&damaged, &nd, err);
	for (size_t i = 0; i < nd; i++)
		if (ctr_damaged_remove(damaged[i], NULL) == 0)
			removed_c++;

	for (size_t i = 0; ret == 0 && i < nc; i++) {
		if (cs[i]->status != CTR_RUNNING &&
		    ctr_container_remove(cs[i], false, NULL) == 0) {
			removed_c++;
			ctr_container_free(cs[i]);
		} else {
			cs[kept++] = cs[i];
		}
	}
	nc = kept;
	/* Node-local directories of containers whose record went (rm from
	 * another host, a kill between the two removals). */
	if (ret == 0)
		removed_c += ctr_local_sweep();
	if (ret == 0)
		ret = prune_volumes(o, &removed_v, err);
	chains = ctr_kept_lowers(cs, nc);
	if (ret == 0)
		ret = img_image_list(s, &imgs, &ni, err);
	for (size_t i = 0; i < ni; i++) {
		bool unnamed = !imgs[i]->names || !imgs[i]->names[0];

		/* One a running build or pull holds is skipped (-EBUSY). */
		if (ret == 0 && (unnamed || o->all) &&
		    !image_used(cs, nc, imgs[i]) &&
		    img_image_prune(s, &imgs[i]->id, NULL) == 0)
			removed_i++;
		img_image_free(imgs[i]);
	}
	free(imgs);
	if (ret == 0)
		ret = img_gc(s, NULL, chains, &gc, err);
	if (ret == 0)
		ret = img_squashfs_prune_verified(s, &removed_sv, err);
	if (ret == 0) {
		cleanup_free char *cache =
			cmn_strdup_printf("%s/build-cache", img_store_root(s));
		int mounts = bld_cache_mounts_prune(img_store_root(s), err);

		if (cache)
			cmn_remove_tree(AT_FDCWD, cache);
		if (mounts == 0)
			printf("RUN --mount=type=cache directories are in use by a running build: kept\n");
		ret = mounts < 0 ? mounts : 0;
		printf("Deleted containers: %zu\n", removed_c);
		if (removed_sv)
			printf("Deleted squashfs verifications of files gone: %zu\n",
			       removed_sv);
		if (o->volumes)
			printf("Deleted volumes: %zu\n", removed_v);
		printf("Deleted images: %zu\nDeleted layers: %llu\nDeleted squashfs files: %llu\nTotal reclaimed space: %llu bytes of blobs and squashfs files\n",
		       removed_i, (unsigned long long)gc.layers,
		       (unsigned long long)gc.files,
		       (unsigned long long)gc.bytes);
	}
	for (size_t i = 0; i < nc; i++)
		ctr_container_free(cs[i]);
	free(cs);
	return ret;
}

/* The node-local container directories of the store @store. */
static uint64_t local_size(const char *store)
{
	cleanup_free char *dir = cmn_local_dir(store);

	return dir ? cmn_tree_size(AT_FDCWD, dir) : 0;
}

static int df(struct img_store *s, struct hutch_err *err)
{
	struct img_image **imgs = NULL;
	struct ctr_container **cs = NULL;
	struct ctr_volume **vs = NULL;
	size_t ni = 0, nc = 0, nv = 0, running = 0, used = 0;
	int root = open(img_store_root(s), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char a[16], b[16], c[16], d[16], e[16], f[16];
	int ret = img_image_list(s, &imgs, &ni, err);
	size_t files = 0;

	for (size_t i = 0; i < ni; i++)
		files += imgs[i]->squashfs != NULL;

	if (ret == 0)
		ret = ctr_container_list(&cs, &nc, err);
	for (size_t i = 0; i < nc; i++)
		running += cs[i]->status == CTR_RUNNING;
	if (ret == 0)
		ret = ctr_volume_list(&vs, &nv, err);
	for (size_t i = 0; i < nv; i++)
		used += vs[i]->links > 0;
	if (ret == 0) {
		printf("%-14s %-8s %-8s %-12s\n", "TYPE", "TOTAL", "ACTIVE",
		       "SIZE");
		printf("%-14s %-8zu %-8zu %-12s (layers %s, squashfs files %s in %zu)\n",
		       "Images", ni, nc ? ni : 0,
		       cli_human_size(
			       cmn_tree_size(root, "blobs") +
				       cmn_tree_size(root, "squashfs-images"),
			       a),
		       cli_human_size(cmn_tree_size(root, "layers"), b),
		       cli_human_size(cmn_tree_size(root, "squashfs-images"),
				      f),
		       files);
		/* With the store on a shared filesystem, their changes are
		 * on this node's disk (container/local.c), counted too. */
		printf("%-14s %-8zu %-8zu %-12s\n", "Containers", nc, running,
		       cli_human_size(cmn_tree_size(root, "containers") +
					      local_size(img_store_root(s)),
				      c));
		printf("%-14s %-8zu %-8zu %-12s\n", "Local Volumes", nv, used,
		       cli_human_size(cmn_tree_size(root, "volumes"), e));
		printf("%-14s %-8s %-8s %-12s\n", "Build Cache", "-", "-",
		       cli_human_size(
			       cmn_tree_size(root, "build-cache") +
				       cmn_tree_size(root, "build-mounts"),
			       d));
	}
	ctr_volume_list_free(vs, nv);
	for (size_t i = 0; i < ni; i++)
		img_image_free(imgs[i]);
	for (size_t i = 0; i < nc; i++)
		ctr_container_free(cs[i]);
	free(imgs);
	free(cs);
	if (root >= 0)
		close(root);
	return ret;
}

static int check(struct img_store *s, struct hutch_err *err)
{
	struct img_check_result r;
	cleanup_strv char **damaged = NULL;
	size_t nd = 0;
	int ret = img_check(s, &r, err);

	if (ret == 0)
		ret = ctr_damaged_list(&damaged, &nd, err);
	if (ret < 0)
		return ret;
	printf("%zu images, %zu layers, %zu blobs, %zu squashfs files verified: %s\n",
	       r.images, r.layers, r.blobs, r.files,
	       r.problems || nd ? "PROBLEMS" : "the store is consistent");
	for (size_t i = 0; i < nd; i++)
		printf("container %.12s: its record is damaged or gone; hutch rm %.12s (or hutch system prune) removes what is left\n",
		       damaged[i], damaged[i]);
	if (nd && !r.problems)
		return cmn_err_msg(
			err, EIO,
			"%zu container(s) left damaged; remove them with hutch rm ID or hutch system prune",
			nd);
	if (r.problems)
		return cmn_err_msg(
			err, EIO, "%zu problem(s), the first: %s%s", r.problems,
			r.first,
			strstr(r.first, "hutch system prune")
				? ""
				: "; remove the image (hutch rmi) and pull it again");
	return 0;
}

static int system_main(int argc, char **argv)
{
	struct system_opts o = { 0 };
	struct hutch_err err = { 0 };
	struct img_store *s = NULL;
	int first, ret;

	if (argc < 2 || (strcmp(argv[1], "df") && strcmp(argv[1], "prune") &&
			 strcmp(argv[1], "check"))) {
		cli_help(&cli_system_cmd, NULL, 0);
		return argc < 2 ? 0 : CMN_EXIT_HUTCH;
	}
	ret = cli_simple(&cli_system_cmd, prune_options,
			 ARRAY_SIZE(prune_options), &o, argc - 1, argv + 1, 0,
			 &first);
	if (ret >= 0)
		return ret;
	if (!strcmp(argv[1], "prune") && !o.force) {
		cleanup_free char *warning = cmn_strdup_printf(
			"WARNING! This will remove stopped containers, %s%s images, unused layers and the build cache.",
			o.volumes
				? "anonymous volumes not used by at least one container, "
				: "",
			o.all ? "unused" : "unnamed");

		if (!warning || !cli_confirm(warning))
			return 0;
	}
	ret = img_store_open(&s, &err);
	if (ret == 0)
		ret = !strcmp(argv[1], "df")	  ? df(s, &err)
		      : !strcmp(argv[1], "prune") ? prune(s, &o, &err)
						  : check(s, &err);
	img_store_close(s);
	return ret < 0 ? cli_fail(&err, 1) : 0;
}
