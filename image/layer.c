// SPDX-License-Identifier: Apache-2.0
/* layer.c - unpacked layers: layers/<chain id>/{diff/,diff_id,size,whiteouts}
 *
 * A layer is unpacked once per chain id (its content and everything below
 * it, as OCI defines ChainID) and shared by every image that has that
 * chain. Unpacking happens in a user namespace with the containers' id
 * mapping (sbx_userns_call()): with subordinate ids, files keep their
 * owners; in every mode the 0/0 whiteout devices of the overlay format can
 * be made. The tree is built in tmp/ and renamed into layers/ only after
 * its diff_id matched the image config and the filesystem was synced.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "image/store-internal.h"
#include "image/unpack-internal.h"
#include "sandbox/sandbox.h"

struct unpack_job {
	const char *blob; /* absolute path of the layer blob */
	const char *dest; /* absolute path of the empty diff/ */
	bool keep_owner;
	uint64_t max_size;
};

struct unpack_result {
	struct img_digest diff_id;
	uint64_t size;
	bool oci_whiteouts;
	struct img_unpack_skips skips;
};

#define MAX_SIZE_ENV "HUTCH_MAX_LAYER_SIZE"

/*
 * How much a layer may unpack to: HUTCH_MAX_LAYER_SIZE when set (a site's
 * cap), else the free space of the store's filesystem, so that a
 * decompression bomb is refused before it fills the disk of everyone on a
 * shared node. @from_env: set when the variable gave it.
 */
static uint64_t size_limit(struct img_store *s, bool *from_env)
{
	const char *env = getenv(MAX_SIZE_ENV);
	struct statvfs vfs;
	uint64_t v;

	*from_env = env && *env && cmn_parse_size(env, &v) && v > 0;
	if (*from_env)
		return v;
	if (fstatvfs(s->rootfd, &vfs) < 0 || vfs.f_bavail == 0)
		return 0;
	return (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

/* Runs in the user namespace. */
static int unpack_in_ns(void *arg, void *out, struct hutch_err *err)
{
	const struct unpack_job *job = arg;
	struct unpack_result *r = out;
	struct img_unpack_opts opts = { .keep_owner = job->keep_owner,
					.max_size = job->max_size,
					.skips = &r->skips };
	cleanup_close int fd = open(job->blob, O_RDONLY | O_CLOEXEC);
	cleanup_close int dirfd =
		open(job->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0 || dirfd < 0)
		return cmn_err_set(err, errno, "cannot open %s",
				   fd < 0 ? job->blob : job->dest);
	opts.oci_whiteouts = !img_unpack_probe(dirfd);
	r->oci_whiteouts = opts.oci_whiteouts;
	ret = img_unpack(fd, dirfd, &opts, &r->diff_id, &r->size, err);
	if (ret == 0 && syncfs(dirfd) < 0)
		ret = cmn_err_set(err, errno, "cannot sync %s", job->dest);
	return ret;
}

int img_chain_id(const struct img_digest *parent,
		 const struct img_digest *diff_id, struct img_digest *out)
{
	char p[72], d[72], buf[160];

	if (!parent) {
		*out = *diff_id;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s %s", img_digest_str(parent, p),
		 img_digest_str(diff_id, d));
	return img_sha256_buf(buf, strlen(buf), out);
}

int store_layer_meta(struct img_store *s, const char *tmp,
		     const struct img_digest *diff_id, uint64_t size,
		     bool oci_whiteouts)
{
	char path[160], text[96];
	int ret;

	snprintf(path, sizeof(path), "%s/diff_id", tmp);
	img_digest_str(diff_id, text);
	ret = cmn_write_fileat(s->rootfd, path, text, strlen(text), 0644);
	snprintf(path, sizeof(path), "%s/size", tmp);
	snprintf(text, sizeof(text), "%llu", (unsigned long long)size);
	if (ret == 0)
		ret = cmn_write_fileat(s->rootfd, path, text, strlen(text),
				       0644);
	snprintf(path, sizeof(path), "%s/whiteouts", tmp);
	snprintf(text, sizeof(text), "%s", oci_whiteouts ? "oci" : "overlay");
	if (ret == 0)
		ret = cmn_write_fileat(s->rootfd, path, text, strlen(text),
				       0644);
	return ret;
}

/* Unpack into tmp/<name>/diff and check the diff_id. */
static int unpack(struct img_store *s, const struct img_digest *blob,
		  const struct img_digest *diff_id, const char *tmp,
		  struct unpack_result *r, struct hutch_err *err)
{
	cleanup_free char *blob_path = img_blob_path(s, blob);
	cleanup_free char *dest = cmn_strdup_printf("%s/%s/diff", s->root, tmp);
	struct sbx_idmap map;
	struct unpack_job job = { blob_path, dest, false, 0 };
	char want[72], got[72], b[72];
	bool from_env;
	int ret;

	if (!blob_path || !dest)
		return cmn_err_set(err, ENOMEM, "layer");
	if (mkdirat(s->rootfd, tmp, 0700) < 0 || mkdir(dest, 0755) < 0)
		return cmn_err_set(err, errno, "cannot create %s", dest);
	job.max_size = size_limit(s, &from_env);
	ret = sbx_idmap_plan(SBX_USERNS_AUTO, &map, NULL, err);
	job.keep_owner = ret == 0 && map.full;
	if (ret == 0)
		ret = sbx_userns_call(SBX_USERNS_AUTO, unpack_in_ns, &job, r,
				      sizeof(*r), err);
	if (ret == -EFBIG)
		ret = cmn_err_msg(
			err, EFBIG,
			"layer %s unpacks to more than %llu bytes, %s; nothing of it was kept",
			img_digest_str(blob, b),
			(unsigned long long)job.max_size,
			from_env
				? "the limit " MAX_SIZE_ENV " sets"
				: "the free space of the store's filesystem (a decompression bomb, or a disk too full: free space, or set HUTCH_ROOT to a larger disk)");
	if (ret == 0 && !img_digest_equal(&r->diff_id, diff_id))
		ret = cmn_err_msg(
			err, EBADMSG,
			"layer %s unpacks to %s, but the image config says %s: the image is corrupt",
			img_digest_str(blob, b),
			img_digest_str(&r->diff_id, got),
			img_digest_str(diff_id, want));
	return ret;
}

static int publish(struct img_store *s, const struct img_digest *blob,
		   const struct img_digest *diff_id, const char *final,
		   struct hutch_err *err)
{
	struct unpack_result r = { 0 };
	char tmp[96];
	int ret = store_tmp_name(tmp, ".layer");

	if (ret < 0)
		return cmn_err_set(err, -ret, "layer");
	ret = unpack(s, blob, diff_id, tmp, &r, err);
	if (ret == 0 && (ret = store_layer_meta(s, tmp, &r.diff_id, r.size,
						r.oci_whiteouts)) < 0)
		cmn_err_set(err, -ret, "cannot record layer metadata");
	if (ret == 0 && renameat(s->rootfd, tmp, s->rootfd, final) < 0)
		ret = cmn_err_set(err, errno, "cannot publish layer %s", final);
	if (ret < 0)
		store_remove_tree(s, tmp, NULL);
	/* Said once per layer, never silently (import.c says it alike). */
	if (ret == 0 && r.skips.devices)
		cmn_warn(
			"layer %.12s: skipped %llu device node%s (the first: %s): a rootless container cannot have them, and gets its /dev from hutch",
			blob->hex, (unsigned long long)r.skips.devices,
			r.skips.devices == 1 ? "" : "s", r.skips.first);
	return ret;
}

int img_layer_add(struct img_store *s, const struct img_digest *blob,
		  const struct img_digest *parent,
		  const struct img_digest *diff_id, struct img_digest *chain,
		  struct hutch_err *err)
{
	char final[96], name[80];
	int lock, ret;

	ret = img_chain_id(parent, diff_id, chain);
	if (ret < 0)
		return cmn_err_set(err, -ret, "chain id");
	snprintf(final, sizeof(final), "layers/%s", chain->hex);
	/* Held before it is made: no gc sees it unprotected (lease.c). */
	ret = store_hold(s, STORE_HOLD_LAYER, chain);
	if (ret != -ENOENT)
		return ret < 0 ? cmn_err_set(err, -ret,
					     "cannot protect layer %s",
					     chain->hex)
			       : 0;
	snprintf(name, sizeof(name), "layer-%s", chain->hex);
	lock = store_lock(s, name, true);
	if (lock < 0)
		return cmn_err_set(err, -lock, "cannot lock layer %s",
				   chain->hex);
	ret = 0;
	if (faccessat(s->rootfd, final, F_OK, 0) != 0)
		ret = publish(s, blob, diff_id, final, err);
	store_unlock(lock);
	return ret;
}

char *img_layer_dir(struct img_store *s, const struct img_digest *chain)
{
	char rel[96];

	snprintf(rel, sizeof(rel), "layers/%s/diff", chain->hex);
	if (faccessat(s->rootfd, rel, F_OK, 0) < 0)
		return NULL;
	return cmn_strdup_printf("%s/%s", s->root, rel);
}

int store_remove_tree(struct img_store *s, const char *path,
		      struct hutch_err *err)
{
	cleanup_free char *abs = cmn_strdup_printf("%s/%s", s->root, path);

	return abs ? sbx_remove_tree(abs, err) : -ENOMEM;
}

int img_store_remove(struct img_store *s, const char *path,
		     struct hutch_err *err)
{
	return store_remove_tree(s, path, err);
}
