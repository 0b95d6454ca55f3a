// SPDX-License-Identifier: Apache-2.0
/* push.c - img_push(): an image of the store to a registry
 *
 * For each blob (the layers top first, as Docker shows them, then the
 * config): HEAD tells whether the registry has it already; if not, and
 * the image is known under another repository of the same registry, a
 * cross-repository mount is asked for (POST ?mount=&from=), which costs no
 * upload when the registry agrees (201) and opens an ordinary upload
 * session when it does not (202). The store keeps no record of where a
 * blob came from, so the candidates are the names, on the same registry
 * and in another repository, of the images of the store that contain the
 * blob; without one, a missing blob is uploaded. Uploads are one PUT for blobs
 * up to CHUNK bytes, else PATCHes of CHUNK bytes and a closing PUT. The
 * manifest goes last, byte for byte as stored, so that its digest at the
 * registry is the one in the store.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/registry-internal.h"

#define CHUNK	      (64ll << 20)
#define PUSH_ATTEMPTS 3
#define OCTET	      "application/octet-stream"

struct push {
	struct img_store *s;
	struct img_ref ref;
	char *short_name;
	struct reg_client *c;
	struct img_image *img;
	char scope[512];
	struct img_image **others; /* every image of the store: mount sources */
	size_t n_others;
	char *source; /* owned: the last mount source found */
	img_progress_fn progress;
	void *ctx;
};

static void event(struct push *p, enum img_event_kind kind,
		  const struct img_digest *blob, size_t i, int64_t done,
		  int64_t total, const char *detail)
{
	struct img_event ev = { .kind = kind,
				.blob = blob,
				.index = i,
				.count = p->img ? p->img->n_layers : 0,
				.done = done,
				.total = total,
				.detail = detail };

	if (p->progress)
		p->progress(p->ctx, &ev);
}

static int refused(struct push *p, const struct reg_response *r,
		   const char *what, struct hutch_err *err)
{
	cleanup_free char *why = reg_error_text(r);

	if (r->status == 401 || r->status == 403)
		return cmn_err_msg(
			err, EACCES,
			"%s refused the push of %s to %s: %s; run 'hutch login %s' with an account that may push there",
			p->ref.registry, what, p->ref.repo, why,
			p->ref.registry);
	return cmn_err_msg(
		err, EPROTO,
		"pushing %s to %s: the registry answered HTTP %ld: %s", what,
		p->short_name, r->status, why);
}

static int request(struct push *p, struct reg_request *req,
		   struct reg_response *r, struct hutch_err *err)
{
	if (!req->scope)
		req->scope = p->scope;
	return reg_do(p->c, req, r, err);
}

static int blob_exists(struct push *p, const struct img_digest *d, bool *exists,
		       struct hutch_err *err)
{
	char path[1024], ds[72];
	struct reg_request req = { .method = "HEAD",
				   .path = path,
				   .file_fd = -1 };
	struct reg_response r;
	int ret;

	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->ref.repo,
		 img_digest_str(d, ds));
	ret = request(p, &req, &r, err);
	if (ret < 0)
		return ret;
	*exists = r.status == 200;
	if (r.status != 200 && r.status != 404)
		ret = refused(p, &r, ds, err);
	reg_response_free(&r);
	return ret;
}

/* POST an upload session, mounting from @from when given. Return 0 with
 * *@location (owned) for an upload, 1 when the mount did it. */
static int open_upload(struct push *p, const struct img_digest *d,
		       const char *from, char **location, struct hutch_err *err)
{
	char path[1024], scope[1024], ds[72];
	struct reg_request req = { .method = "POST",
				   .path = path,
				   .file_fd = -1 };
	struct reg_response r;
	int ret;

	img_digest_str(d, ds);
	if (from) {
		snprintf(path, sizeof(path),
			 "/v2/%s/blobs/uploads/?mount=%s&from=%s", p->ref.repo,
			 ds, from);
		snprintf(scope, sizeof(scope), "%s repository:%s:pull",
			 p->scope, from);
		req.scope = scope;
	} else {
		snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/",
			 p->ref.repo);
	}
	*location = NULL;
	ret = request(p, &req, &r, err);
	if (ret < 0)
		return ret;
	if (from && r.status == 201)
		ret = 1;
	else if (r.status == 202 && r.location)
		*location = steal_ptr(&r.location);
	else
		ret = refused(p, &r, ds, err);
	reg_response_free(&r);
	return ret;
}

/* @location with "digest=" added to its query. */
static char *with_digest(const char *location, const struct img_digest *d)
{
	char ds[72];

	img_digest_str(d, ds);
	return cmn_strdup_printf("%s%cdigest=%s", location,
				 strchr(location, '?') ? '&' : '?', ds);
}

/* Blobs above this go up in PATCHes of this size. HUTCH_PUSH_CHUNK_SIZE
 * (bytes, at least 64 KiB) overrides it, for tests. */
static int64_t chunk_size(void)
{
	const char *env = getenv("HUTCH_PUSH_CHUNK_SIZE");
	uint64_t v;

	if (env && cmn_parse_u64(env, INT64_MAX, &v) && v >= (64u << 10))
		return (int64_t)v;
	return CHUNK;
}

static int send_part(struct push *p, const char *method, const char *url,
		     int fd, int64_t off, int64_t len, bool ranged,
		     const struct img_digest *d, size_t i, int64_t total,
		     struct reg_response *r, struct hutch_err *err)
{
	char range[64];
	struct reg_request req = { .method = method,
				   .path = url,
				   .type = OCTET,
				   .file_fd = fd,
				   .file_off = off,
				   .file_len = len,
				   .progress =
					   i == SIZE_MAX ? NULL : p->progress,
				   .progress_ctx = p->ctx,
				   .progress_blob = d,
				   .progress_index = i,
				   .progress_count = p->img->n_layers,
				   .progress_total = total };

	if (ranged) {
		snprintf(range, sizeof(range), "%" PRId64 "-%" PRId64, off,
			 off + len - 1);
		req.content_range = range;
	}
	if (len == 0)
		req.file_fd = -1;
	return request(p, &req, r, err);
}

/* Upload @fd (@size bytes) into the session at @location. */
static int upload(struct push *p, char *location, int fd, int64_t size,
		  const struct img_digest *d, size_t i, struct hutch_err *err)
{
	cleanup_free char *loc = location;
	cleanup_free char *final = NULL;
	struct reg_response r = { 0 };
	char ds[72];
	int64_t off = 0, chunk = chunk_size();
	int ret;

	img_digest_str(d, ds);
	while (size > chunk && off < size) {
		int64_t len = size - off < chunk ? size - off : chunk;

		ret = send_part(p, "PATCH", loc, fd, off, len, true, d, i, size,
				&r, err);
		if (ret < 0)
			return ret;
		if (r.status != 202 || !r.location) {
			ret = refused(p, &r, ds, err);
			reg_response_free(&r);
			return ret;
		}
		free(loc);
		loc = steal_ptr(&r.location);
		reg_response_free(&r);
		off += len;
	}
	final = with_digest(loc, d);
	if (!final)
		return cmn_err_set(err, ENOMEM, "push");
	ret = send_part(p, "PUT", final, fd, off, size - off, false, d, i, size,
			&r, err);
	if (ret == 0 && r.status != 201)
		ret = refused(p, &r, ds, err);
	reg_response_free(&r);
	return ret;
}

/* A repository of the same registry known to have blob @d: an image of
 * the store holding it, named there. NULL when there is none. */
static const char *mount_source(struct push *p, const struct img_digest *d)
{
	for (size_t i = 0; i < p->n_others; i++) {
		const struct img_image *o = p->others[i];
		bool has = img_digest_equal(&o->id, d);

		for (size_t l = 0; !has && l < o->n_layers; l++)
			has = img_digest_equal(&o->layers[l].blob, d);
		for (char **n = o->names; has && n && *n; n++) {
			struct img_ref r;
			const char *found = NULL;

			if (img_ref_parse(*n, &r, NULL) < 0)
				continue;
			if (!strcmp(r.registry, p->ref.registry) &&
			    strcmp(r.repo, p->ref.repo)) {
				free(p->source);
				p->source = steal_ptr(&r.repo);
				found = p->source;
			}
			img_ref_free(&r);
			if (found)
				return found;
		}
	}
	return NULL;
}

static int push_blob(struct push *p, const struct img_digest *d, int64_t size,
		     size_t i, bool quiet, struct hutch_err *err)
{
	cleanup_free char *path = img_blob_path(p->s, d);
	cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	const char *from = mount_source(p, d);
	char *location = NULL;
	struct stat st;
	bool exists = false;
	char ds[72];
	int ret;

	img_digest_str(d, ds);
	if (fd < 0 || fstat(fd, &st) < 0)
		return cmn_err_set(
			err, errno,
			"blob %s of %s is not in the store; pull or build the image again",
			ds, p->short_name);
	if (st.st_size != size)
		return cmn_err_msg(
			err, EBADMSG,
			"blob %s in the store is %lld bytes, but the manifest says %lld; the store is damaged",
			ds, (long long)st.st_size, (long long)size);
	ret = blob_exists(p, d, &exists, err);
	if (ret < 0)
		return ret;
	if (exists) {
		if (!quiet)
			event(p, IMG_EV_LAYER_PRESENT, d, i, size, size, NULL);
		return 0;
	}
	for (int n = 0; n < PUSH_ATTEMPTS; n++) {
		ret = open_upload(p, d, n == 0 ? from : NULL, &location, err);
		if (ret == 1) {
			if (!quiet)
				event(p, IMG_EV_LAYER_MOUNTED, d, i, size, size,
				      from);
			return 0;
		}
		if (ret == 0)
			ret = upload(p, location, fd, size, d, i, err);
		if (ret != -EIO)
			break;
		reg_sleep(reg_backoff(n));
	}
	if (ret == 0 && !quiet)
		event(p, IMG_EV_LAYER_PUSHED, d, i, size, size, NULL);
	return ret;
}

static int put_manifest(struct push *p, struct img_push_result *res,
			struct hutch_err *err)
{
	char path[1024], a[72];
	const char *type = p->img->manifest_type;
	struct img_digest got;
	cleanup_free char *body_type = NULL;
	struct reg_request req = { .method = "PUT",
				   .path = path,
				   .body = p->img->manifest_json,
				   .body_len = p->img->manifest_len,
				   .file_fd = -1 };
	struct reg_response r;
	int ret;

	if (!type || !*type) {
		json_t *m = json_loadb(p->img->manifest_json,
				       p->img->manifest_len, 0, NULL);
		const char *t =
			json_string_value(json_object_get(m, "mediaType"));

		body_type = strdup(t ? t : MT_OCI_MANIFEST);
		json_decref(m);
		type = body_type;
	}
	req.type = type;
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", p->ref.repo,
		 p->ref.tag);
	ret = request(p, &req, &r, err);
	if (ret < 0)
		return ret;
	if (r.status != 201 && r.status != 200)
		ret = refused(p, &r, "the manifest", err);
	else if (r.digest && img_digest_parse(r.digest, &got) &&
		 !img_digest_equal(&got, &p->img->manifest))
		ret = cmn_err_msg(
			err, EPROTO,
			"the registry stored the manifest of %s as %s, not %s: it rewrote it",
			p->short_name, r.digest,
			img_digest_str(&p->img->manifest, a));
	reg_response_free(&r);
	if (ret == 0) {
		res->digest = p->img->manifest;
		res->size = p->img->manifest_len;
		res->tag = strdup(p->ref.tag);
	}
	return ret;
}

static int prepare(struct push *p, const char *name, struct hutch_err *err)
{
	cleanup_free char *full = NULL;
	struct img_digest id;
	int ret = img_ref_parse(name, &p->ref, err);

	if (ret < 0)
		return ret;
	if (!p->ref.tag)
		return cmn_err_msg(
			err, EINVAL,
			"push needs a tag, not a digest: \"%s\"; tag the image first with a name:tag",
			name);
	p->short_name = img_ref_short(&p->ref);
	full = img_ref_str(&p->ref);
	if (!p->short_name || !full)
		return cmn_err_set(err, ENOMEM, "push");
	ret = img_resolve(p->s, full, &id, err);
	if (ret == -ENOENT)
		return cmn_err_msg(
			err, ENOENT,
			"an image does not exist locally with the tag: %s; tag one with that name first",
			p->short_name);
	if (ret == 0)
		ret = img_image_load(p->s, &id, &p->img, err);
	if (ret == 0 && p->img->squashfs)
		ret = cmn_err_msg(
			err, EINVAL,
			"image %s is kept as one squashfs file (HUTCH_IMAGE_FORMAT), without the layers a registry takes: build or pull it again with HUTCH_IMAGE_FORMAT=layers after hutch rmi, then push",
			p->short_name);
	if (ret < 0)
		return ret;
	snprintf(p->scope, sizeof(p->scope), "repository:%s:pull,push",
		 p->ref.repo);
	/* Without the list, blobs are uploaded rather than mounted. */
	if (img_image_list(p->s, &p->others, &p->n_others, NULL) < 0)
		p->n_others = 0;
	return reg_open(p->ref.registry, false, NULL, NULL, &p->c, err);
}

static int config_size(struct push *p, int64_t *size, struct hutch_err *err)
{
	json_t *m = json_loadb(p->img->manifest_json, p->img->manifest_len, 0,
			       NULL);
	const json_t *sz =
		json_object_get(json_object_get(m, "config"), "size");
	bool ok = json_is_integer(sz);

	*size = json_integer_value(sz);
	json_decref(m);
	if (!ok)
		return cmn_err_msg(
			err, EINVAL,
			"the stored manifest of %s has no config size",
			p->short_name);
	return 0;
}

int img_push(struct img_store *s, const char *name, img_progress_fn progress,
	     void *ctx, struct img_push_result *res, struct hutch_err *err)
{
	struct push p = { .s = s, .progress = progress, .ctx = ctx };
	int64_t cfg_size = 0;
	char where[600];
	int ret;

	memset(res, 0, sizeof(*res));
	ret = prepare(&p, name, err);
	if (ret == 0) {
		snprintf(where, sizeof(where), "%s/%s", p.ref.registry,
			 p.ref.repo);
		event(&p, IMG_EV_PUSHING, NULL, SIZE_MAX, 0, -1, where);
		for (size_t i = p.img->n_layers; i-- > 0;)
			event(&p, IMG_EV_LAYER_PREPARING,
			      &p.img->layers[i].blob, i, 0,
			      p.img->layers[i].size, NULL);
		ret = config_size(&p, &cfg_size, err);
	}
	for (size_t i = p.img ? p.img->n_layers : 0; ret == 0 && i-- > 0;)
		ret = push_blob(&p, &p.img->layers[i].blob,
				p.img->layers[i].size, i, false, err);
	if (ret == 0)
		ret = push_blob(&p, &p.img->id, cfg_size, SIZE_MAX, true, err);
	if (ret == 0)
		ret = put_manifest(&p, res, err);
	reg_close(p.c);
	img_image_free(p.img);
	img_ref_free(&p.ref);
	free(p.short_name);
	for (size_t i = 0; i < p.n_others; i++)
		img_image_free(p.others[i]);
	free(p.others);
	free(p.source);
	if (ret < 0)
		img_push_result_free(res);
	return ret;
}

void img_push_result_free(struct img_push_result *res)
{
	free(res->tag);
	res->tag = NULL;
}
