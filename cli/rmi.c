// SPDX-License-Identifier: Apache-2.0
/* rmi.c - `hutch rmi`: untag or remove images, Docker's way
 *
 * A name of an image that has other names only loses that name; the last
 * name, or an id, removes the image, unless a container uses it (-f
 * removes it anyway; the container keeps its layers). Layers and blobs no
 * image or container needs any more are then deleted.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/image.h"

struct rmi_opts {
	bool force;
};

static int set_force(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct rmi_opts *)ctx)->force, err);
}

static const struct cli_opt rmi_options[] = {
	{ "force", 'f', NULL,
	  "remove even when containers use it, or it has several names",
	  set_force },
};

static int rmi_main(int argc, char **argv);

const struct cli_cmd cli_rmi_cmd = {
	.name = "rmi",
	.usage = "rmi [OPTIONS] IMAGE [IMAGE...]",
	.summary = "Remove images.",
	.main = rmi_main,
};

/* Chain ids the containers use, and the one container that uses @id. */
static char **container_chains(const struct img_digest *id, char *user,
			       size_t len)
{
	struct ctr_container **cs = NULL;
	char **chains = NULL, idstr[72];
	size_t n = 0;

	img_digest_str(id, idstr);
	user[0] = '\0';
	ctr_container_list(&cs, &n, NULL);
	chains = ctr_kept_lowers(cs, n);
	for (size_t i = 0; i < n; i++) {
		if (cs[i]->image_id && !strcmp(cs[i]->image_id, idstr) &&
		    !user[0])
			snprintf(user, len, "%.12s", cs[i]->cfg.id);
		ctr_container_free(cs[i]);
	}
	free(cs);
	return chains;
}

/* The whole name given: "busybox" means docker.io/library/busybox:latest. */
static bool is_name(const char *key)
{
	struct img_ref ref;
	bool ok = img_ref_parse(key, &ref, NULL) == 0;

	if (ok)
		img_ref_free(&ref);
	return ok && strspn(key, "0123456789abcdef") != strlen(key);
}

static int remove_image(struct img_store *s, const char *key, bool force,
			struct hutch_err *err)
{
	struct img_image *img = NULL;
	struct img_gc_result gc;
	struct img_digest id;
	cleanup_strv char **chains = NULL;
	char user[16], d[72];
	int ret = img_resolve(s, key, &id, err);

	if (ret == -ENOENT)
		return cmn_err_msg(err, ENOENT, "No such image: %s", key);
	if (ret == 0)
		ret = img_image_load(s, &id, &img, err);
	if (ret < 0)
		return ret;
	if (is_name(key) && cmn_strv_len(img->names) > 1) {
		ret = img_untag(s, key, err);
		if (ret == 0)
			printf("Untagged: %s\n", key);
		img_image_free(img);
		return ret;
	}
	chains = container_chains(&id, user, sizeof(user));
	if (user[0] && !force) {
		img_image_free(img);
		return cmn_err_msg(
			err, EBUSY,
			"conflict: unable to remove image %s: container %s is using it; remove the container first, or use rmi -f",
			key, user);
	}
	for (char **n = img->names; n && *n; n++) {
		struct img_ref ref;
		char *shown = NULL;

		if (img_ref_parse(*n, &ref, NULL) == 0) {
			shown = img_ref_short(&ref);
			img_ref_free(&ref);
		}
		printf("Untagged: %s\n", shown ? shown : *n);
		free(shown);
	}
	img_image_free(img);
	ret = img_image_delete(s, &id, err);
	if (ret == 0)
		ret = img_gc(s, &id, chains, &gc, err);
	if (ret == 0)
		printf("Deleted: %s\n", img_digest_str(&id, d));
	return ret;
}

static int rmi_main(int argc, char **argv)
{
	struct rmi_opts o = { 0 };
	struct img_store *s = NULL;
	int first, status = cli_simple(&cli_rmi_cmd, rmi_options,
				       ARRAY_SIZE(rmi_options), &o, argc, argv,
				       1, &first);
	struct hutch_err err = { 0 };

	if (status >= 0)
		return status;
	if (img_store_open(&s, &err) < 0)
		return cli_fail(&err, 1);
	status = 0;
	for (int i = first; i < argc; i++) {
		struct hutch_err e = { 0 };

		if (remove_image(s, argv[i], o.force, &e) < 0)
			status = cli_fail(&e, 1);
	}
	img_store_close(s);
	return status;
}
