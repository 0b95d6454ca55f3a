// SPDX-License-Identifier: Apache-2.0
/* pull.c - img_pull(): a name, through its manifest and config, to an
 * unpacked image in the store
 *
 * The order matters for safety more than for speed:
 *  1. resolve the name to a manifest (a list through the platform); a
 *     manifest asked for by digest must hash to it, one asked for by tag
 *     gets its digest computed (and compared with the registry's header);
 *  2. fetch the config (small, verified) and check it describes as many
 *     layers as the manifest, on the platform asked for;
 *  3. take a store writer for every missing blob, in digest order (two
 *     pulls that share blobs then never wait on each other in a circle:
 *     writers hold flocks), and download them all in parallel;
 *  4. unpack each layer as soon as its blob is in (img_layer_add checks
 *     its diff_id), several at once, then record the image and point the
 *     names at it.
 *
 * Unpacking is most of a pull's time (gzip, hashing, file creation) and
 * layers are independent trees: a layer's chain id needs only the diff_ids
 * below it, not their unpacked content. So layers are unpacked in forked
 * workers, one per CPU up to four, each started from the download loop the
 * moment its blob is committed, while the other downloads go on. Threads
 * were rejected: the unpacker clones a user-namespace helper with a raw
 * clone(2), which is unsafe in a multithreaded process. A worker closes
 * every inherited descriptor first (the parent's blob locks and sockets),
 * opens the store afresh and dies with the parent (PR_SET_PDEATHSIG).
 * Every step publishes only verified objects, each by one rename, so a
 * pull killed anywhere leaves objects that are whole and junk in tmp/
 * that the next store open removes; the next pull finds what is done and
 * does the rest. A pull that fails (a layer refused as corrupt or too
 * large, a registry error) deletes the blobs and layers it made, unless
 * an image or another running pull uses them (store_discard()): a
 * decompression bomb's blob does not wait for the next prune. Everything
 * the pull touches is held in its lease (lease.c) from the moment it is
 * looked at, so a concurrent prune takes nothing from under it.
 */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/registry-internal.h"
#include "image/store-internal.h"

#define ACCEPT_MANIFESTS                                      \
	MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST \
		     ", " MT_DOCKER_MANIFEST

enum layer_state {
	LAYER_WAIT,    /* its blob is not in the store yet */
	LAYER_READY,   /* its blob is: it may be unpacked */
	LAYER_RUNNING, /* a worker unpacks it */
	LAYER_DONE,    /* unpacked (now or before) */
};

struct layer {
	struct img_digest blob, diff_id, chain;
	int64_t size;
	bool have_blob, have_layer;
	enum layer_state state;
	pid_t pid; /* the worker, while LAYER_RUNNING */
	int fd;	   /* its report pipe, while LAYER_RUNNING */
};

struct pull {
	struct img_store *s;
	const struct img_pull_opts *o;
	struct img_ref ref; /* borrowed: a shallow copy of the caller's */
	char *short_name;   /* owned: "busybox:1.36" */
	struct reg_client *c;
	struct reg_platform want;
	bool explicit_platform;
	struct img_digest top; /* what the name resolved to */
	char *manifest;	       /* owned */
	size_t manifest_len;
	json_t *m;   /* owned */
	json_t *cfg; /* owned */
	struct img_digest cfg_digest;
	int64_t cfg_size;
	bool cfg_new;	  /* the config was not in the store before */
	bool layers_seen; /* each layer's have_blob and have_layer are known */
	struct layer *layers; /* owned */
	size_t n_layers;
	int jobs, running; /* unpack workers allowed, running */
	int unpack_ret;	   /* the first worker's failure */
	struct hutch_err unpack_err;
};

static void event(struct pull *p, enum img_event_kind kind, size_t i,
		  int64_t done, const char *detail)
{
	struct img_event ev = { .kind = kind,
				.index = i,
				.count = p->n_layers,
				.done = done,
				.total = -1,
				.detail = detail };

	if (!p->o->progress)
		return;
	if (i < p->n_layers) {
		ev.blob = &p->layers[i].blob;
		ev.total = p->layers[i].size;
	}
	p->o->progress(p->o->ctx, &ev);
}

static void schedule(struct pull *p);

/* Every layer with blob @d can now be unpacked. */
static void blob_ready(struct pull *p, const struct img_digest *d)
{
	for (size_t i = 0; i < p->n_layers; i++)
		if (p->layers[i].state == LAYER_WAIT &&
		    img_digest_equal(&p->layers[i].blob, d))
			p->layers[i].state = LAYER_READY;
}

/* Events from the downloader: passed on (with the layer count), and a
 * committed blob starts its layer's unpacking. */
static void relay(void *ctx, const struct img_event *ev)
{
	struct pull *p = ctx;
	struct img_event copy = *ev;

	copy.count = p->n_layers;
	if (p->o->progress)
		p->o->progress(p->o->ctx, &copy);
	if (ev->kind == IMG_EV_LAYER_DOWNLOADED && ev->blob)
		blob_ready(p, ev->blob);
	schedule(p);
}

static bool is_list(const char *type, const json_t *m)
{
	if (type &&
	    (!strcmp(type, MT_OCI_INDEX) || !strcmp(type, MT_DOCKER_LIST)))
		return true;
	return !type && json_is_array(json_object_get(m, "manifests"));
}

/* ---- manifests ----------------------------------------------------------- */

static int manifest_refused(struct pull *p, const struct reg_response *r,
			    struct hutch_err *err)
{
	cleanup_free char *why = reg_error_text(r);

	if (r->status == 404)
		return cmn_err_msg(
			err, ENOENT,
			"manifest for %s not found: %s; check the name and the tag",
			p->short_name, why);
	if (r->status == 401 || r->status == 403)
		return cmn_err_msg(
			err, EACCES,
			"pull access denied for %s: %s; the repository does not exist or needs 'hutch login %s'",
			p->short_name, why, p->ref.registry);
	return cmn_err_msg(
		err, EPROTO,
		"the registry answered HTTP %ld for the manifest of %s: %s",
		r->status, p->short_name, why);
}

/* The media type: the header's, without parameters, else the body's. */
static char *media_type(const struct reg_response *r, const json_t *m)
{
	const char *t = json_string_value(json_object_get(m, "mediaType"));

	if (t)
		return strdup(t);
	if (r->type &&
	    (strstr(r->type, "vnd.oci.") || strstr(r->type, "vnd.docker.")))
		return strndup(r->type, strcspn(r->type, "; "));
	return NULL;
}

/* Check a fetched manifest's bytes against what we know of its digest. */
static int check_digest(struct pull *p, const struct reg_response *r,
			const struct img_digest *expect, struct img_digest *got,
			struct hutch_err *err)
{
	struct img_digest hdr;
	char a[72], b[72];

	if (img_sha256_buf(r->body ? r->body : "", r->len, got) < 0)
		return cmn_err_set(err, ENOMEM, "sha256");
	if (expect && !img_digest_equal(expect, got))
		return cmn_err_msg(
			err, EBADMSG,
			"the manifest of %s does not match its digest %s (the content is %s): the registry or the network corrupted it",
			p->short_name, img_digest_str(expect, a),
			img_digest_str(got, b));
	if (r->digest && img_digest_parse(r->digest, &hdr) &&
	    !img_digest_equal(&hdr, got))
		return cmn_err_msg(
			err, EBADMSG,
			"the manifest of %s hashes to %s, but the registry says %s: something between altered it",
			p->short_name, img_digest_str(got, a), r->digest);
	return 0;
}

/* GET one manifest by tag or digest into @resp, verified. */
static int get_manifest(struct pull *p, const char *reference,
			const struct img_digest *expect,
			struct reg_response *resp, struct img_digest *got,
			struct hutch_err *err)
{
	char path[1024], scope[512];
	struct reg_request req = { .method = "GET",
				   .path = path,
				   .scope = scope,
				   .accept = ACCEPT_MANIFESTS,
				   .file_fd = -1,
				   .max = REG_MANIFEST_MAX };
	int ret;

	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", p->ref.repo,
		 reference);
	snprintf(scope, sizeof(scope), "repository:%s:pull", p->ref.repo);
	ret = reg_do(p->c, &req, resp, err);
	if (ret < 0)
		return ret;
	if (resp->status != 200) {
		ret = manifest_refused(p, resp, err);
		reg_response_free(resp);
		return ret;
	}
	ret = check_digest(p, resp, expect, got, err);
	if (ret < 0)
		reg_response_free(resp);
	return ret;
}

/* Keep @resp's body as the image manifest. */
static int adopt(struct pull *p, struct reg_response *resp, json_t *m)
{
	p->manifest = steal_ptr(&resp->body);
	p->manifest_len = resp->len;
	p->m = m;
	return 0;
}

static int pick_platform(struct pull *p, const json_t *index,
			 struct img_digest *d, struct hutch_err *err)
{
	char avail[512], want[128];
	const json_t *entry =
		reg_platform_select(index, &p->want, avail, sizeof(avail));
	const char *ds = json_string_value(json_object_get(entry, "digest"));

	reg_platform_str(&p->want, want, sizeof(want));
	if (!entry)
		return cmn_err_msg(
			err, ENOENT,
			"no matching manifest for %s in the manifest list of %s (it has %s); choose one with --platform",
			want, p->short_name, avail[0] ? avail : "none");
	if (!ds || !img_digest_parse(ds, d))
		return cmn_err_msg(
			err, EINVAL,
			"the manifest list of %s has a bad digest for %s",
			p->short_name, want);
	return 0;
}

static int resolve_once(struct pull *p, struct hutch_err *err)
{
	char dstr[72];
	const char *reference = p->ref.has_digest
					? img_digest_str(&p->ref.digest, dstr)
					: p->ref.tag;
	struct reg_response r = { 0 };
	struct img_digest got, entry;
	json_t *m;
	cleanup_free char *type = NULL;
	int ret = get_manifest(p, reference,
			       p->ref.has_digest ? &p->ref.digest : NULL, &r,
			       &p->top, err);

	if (ret < 0)
		return ret;
	m = json_loadb(r.body, r.len, 0, NULL);
	type = media_type(&r, m);
	if (!json_is_object(m)) {
		json_decref(m);
		reg_response_free(&r);
		return cmn_err_msg(err, EINVAL,
				   "the manifest of %s is not JSON",
				   p->short_name);
	}
	if (!is_list(type, m)) {
		adopt(p, &r, m);
		reg_response_free(&r);
		return 0;
	}
	ret = pick_platform(p, m, &entry, err);
	json_decref(m);
	reg_response_free(&r);
	if (ret < 0)
		return ret;
	ret = get_manifest(p, img_digest_str(&entry, dstr), &entry, &r, &got,
			   err);
	if (ret < 0)
		return ret;
	m = json_loadb(r.body, r.len, 0, NULL);
	free(type);
	type = media_type(&r, m);
	if (!json_is_object(m) || is_list(type, m)) {
		json_decref(m);
		reg_response_free(&r);
		return cmn_err_msg(
			err, EINVAL,
			"the manifest list of %s points to %s, which is not an image manifest",
			p->short_name, dstr);
	}
	adopt(p, &r, m);
	reg_response_free(&r);
	return 0;
}

/* Resolve on the first endpoint that has the manifest (mirrors first). */
static int resolve(struct pull *p, struct hutch_err *err)
{
	int ret;

	for (;;) {
		ret = resolve_once(p, err);
		if (ret == 0 || !reg_is_mirror(p->c))
			return ret;
		cmn_debug("registry: mirror %s: %s", reg_host(p->c),
			  err ? err->msg : "failed");
		if (reg_next_endpoint(p->c, err) < 0)
			return ret;
	}
}

/* ---- what the manifest says ------------------------------------------- */

static bool layer_type_ok(const char *t)
{
	static const char *const ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};

	for (size_t i = 0; t && i < ARRAY_SIZE(ok); i++)
		if (!strcmp(t, ok[i]))
			return true;
	return false;
}

static int descriptor(struct pull *p, const json_t *d, struct img_digest *dg,
		      int64_t *size, const char *what, struct hutch_err *err)
{
	const char *ds = json_string_value(json_object_get(d, "digest"));
	const json_t *sz = json_object_get(d, "size");

	if (!ds || !img_digest_parse(ds, dg))
		return cmn_err_msg(
			err, EINVAL,
			"the manifest of %s has a bad or unsupported digest \"%s\" for its %s (only sha256 is supported)",
			p->short_name, ds ? ds : "", what);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return cmn_err_msg(
			err, EINVAL,
			"the manifest of %s gives no size for its %s",
			p->short_name, what);
	*size = json_integer_value(sz);
	return 0;
}

static int read_manifest(struct pull *p, struct hutch_err *err)
{
	const json_t *cfg = json_object_get(p->m, "config");
	const json_t *layers = json_object_get(p->m, "layers");
	const char *ct = json_string_value(json_object_get(cfg, "mediaType"));
	const json_t *l;
	size_t i;

	if (json_integer_value(json_object_get(p->m, "schemaVersion")) != 2)
		return cmn_err_msg(
			err, EINVAL,
			"%s has a Docker schema 1 manifest, which is deprecated and unsupported; push it again with a current tool",
			p->short_name);
	if (!json_is_object(cfg) || !json_is_array(layers))
		return cmn_err_msg(
			err, EINVAL,
			"the manifest of %s has no config or layers: not a container image",
			p->short_name);
	if (ct && strcmp(ct, MT_DOCKER_CONFIG) && strcmp(ct, MT_OCI_CONFIG))
		return cmn_err_msg(
			err, EINVAL,
			"%s is not a container image (its config is %s)",
			p->short_name, ct);
	if (descriptor(p, cfg, &p->cfg_digest, &p->cfg_size, "config", err) < 0)
		return -EINVAL;
	if (p->cfg_size > REG_CONFIG_MAX)
		return cmn_err_msg(
			err, EFBIG,
			"the config of %s is %lld bytes, more than hutch accepts",
			p->short_name, (long long)p->cfg_size);
	p->n_layers = json_array_size(layers);
	p->layers = calloc(p->n_layers + 1, sizeof(*p->layers));
	if (!p->layers)
		return cmn_err_set(err, ENOMEM, "pull");
	json_array_foreach(layers, i, l)
	{
		const char *t =
			json_string_value(json_object_get(l, "mediaType"));
		char what[32];

		snprintf(what, sizeof(what), "layer %zu", i + 1);
		if (!layer_type_ok(t))
			return cmn_err_msg(
				err, EINVAL,
				"layer %zu of %s has media type %s, which hutch cannot unpack (encrypted or not a filesystem layer)",
				i + 1, p->short_name, t ? t : "(none)");
		if (descriptor(p, l, &p->layers[i].blob, &p->layers[i].size,
			       what, err) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ---- the config ------------------------------------------------------- */

/* The config goes through the same downloader as layers: resumption,
 * retries, the size enforced byte by byte. */
static int download_config(struct pull *p, struct hutch_err *err)
{
	struct reg_blob b = { .digest = p->cfg_digest,
			      .size = p->cfg_size,
			      .index = SIZE_MAX,
			      .quiet = true };
	int ret = img_blob_writer_new(p->s, &p->cfg_digest, p->cfg_size, &b.w,
				      err);

	if (ret != 0)
		return ret < 0 ? ret : 0;
	return reg_fetch_blobs(p->c, p->ref.repo, &b, 1, 1, NULL, NULL, err);
}

static int check_config_platform(struct pull *p, struct hutch_err *err)
{
	const char *os = json_string_value(json_object_get(p->cfg, "os"));
	const char *arch =
		json_string_value(json_object_get(p->cfg, "architecture"));
	const char *var = json_string_value(json_object_get(p->cfg, "variant"));
	struct reg_platform have = { 0 };
	char a[128], b[128];

	if (!p->explicit_platform || !os || !arch)
		return 0;
	snprintf(have.os, sizeof(have.os), "%s", os);
	snprintf(have.arch, sizeof(have.arch), "%s", arch);
	snprintf(have.variant, sizeof(have.variant), "%s", var ? var : "");
	reg_platform_str(&have, a, sizeof(a));
	if (reg_platform_parse(a, &have, NULL) < 0)
		return 0;
	reg_platform_str(&have, a, sizeof(a));
	reg_platform_str(&p->want, b, sizeof(b));
	if (strcmp(have.os, p->want.os) || strcmp(have.arch, p->want.arch) ||
	    (p->want.explicit_variant && strcmp(have.variant, p->want.variant)))
		return cmn_err_msg(
			err, ENOENT,
			"%s is an image for %s, not for the requested %s",
			p->short_name, a, b);
	return 0;
}

static int layer_chains(struct pull *p, struct hutch_err *err)
{
	const json_t *diffs =
		json_object_get(json_object_get(p->cfg, "rootfs"), "diff_ids");

	if (json_array_size(diffs) != p->n_layers)
		return cmn_err_msg(
			err, EINVAL,
			"the config of %s lists %zu layers but its manifest %zu: the image is corrupt",
			p->short_name, json_array_size(diffs), p->n_layers);
	for (size_t i = 0; i < p->n_layers; i++) {
		struct layer *l = &p->layers[i];
		char a[72], b[72], buf[160];

		if (!img_digest_parse(
			    json_string_value(json_array_get(diffs, i)),
			    &l->diff_id))
			return cmn_err_msg(
				err, EINVAL,
				"the config of %s has a bad diff_id for layer %zu",
				p->short_name, i + 1);
		if (i == 0) {
			l->chain = l->diff_id;
		} else {
			snprintf(buf, sizeof(buf), "%s %s",
				 img_digest_str(&p->layers[i - 1].chain, a),
				 img_digest_str(&l->diff_id, b));
			img_sha256_buf(buf, strlen(buf), &l->chain);
		}
		/* Held from now on, present or not (lease.c). */
		l->have_layer =
			store_hold(p->s, STORE_HOLD_LAYER, &l->chain) == 0;
		l->have_blob = store_hold(p->s, STORE_HOLD_BLOB, &l->blob) == 0;
	}
	p->layers_seen = true;
	return 0;
}

static int get_config(struct pull *p, struct hutch_err *err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	int ret = 0;

	p->cfg_new = store_hold(p->s, STORE_HOLD_BLOB, &p->cfg_digest) != 0;
	if (p->cfg_new)
		ret = download_config(p, err);
	if (ret < 0)
		return ret;
	text = img_blob_read(p->s, &p->cfg_digest, REG_CONFIG_MAX, &len, err);
	if (!text)
		return -EIO;
	p->cfg = json_loadb(text, len, 0, NULL);
	if (!json_is_object(p->cfg))
		return cmn_err_msg(err, EINVAL,
				   "the config of %s is not a JSON object",
				   p->short_name);
	ret = check_config_platform(p, err);
	if (ret == 0)
		ret = layer_chains(p, err);
	return ret;
}

/* ---- layers ----------------------------------------------------------- */

static int cmp_blob(const void *a, const void *b)
{
	return strcmp(((const struct reg_blob *)a)->digest.hex,
		      ((const struct reg_blob *)b)->digest.hex);
}

/* The blobs to download, each once, in digest order. */
static int plan_downloads(struct pull *p, struct reg_blob **out, size_t *n)
{
	struct reg_blob *v = calloc(p->n_layers + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_layers; i++) {
		const struct layer *l = &p->layers[i];
		bool dup = false;

		if (l->have_blob)
			continue;
		for (size_t j = 0; j < k; j++)
			dup |= img_digest_equal(&v[j].digest, &l->blob);
		if (dup)
			continue;
		v[k].digest = l->blob;
		v[k].size = l->size;
		v[k].index = i;
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_blob);
	*out = v;
	*n = k;
	return 0;
}

/* Take the writers in digest order; another pull may hand a blob over. */
static int take_writers(struct pull *p, struct reg_blob *v, size_t *n,
			struct hutch_err *err)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		int ret = img_blob_writer_new(p->s, &v[i].digest, v[i].size,
					      &v[i].w, err);

		if (ret < 0) {
			for (size_t j = 0; j < k; j++)
				img_blob_writer_abort(steal_ptr(&v[j].w));
			return ret;
		}
		if (ret == 1) {
			event(p, IMG_EV_LAYER_DOWNLOADED, v[i].index, 0, NULL);
			blob_ready(p, &v[i].digest);
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
	return 0;
}

/* ---- unpacking ------------------------------------------------------- */

/* In a worker: unpack layer @i into a store of its own, report, exit. */
static void __attribute__((noreturn))
unpack_worker(struct pull *p, size_t i, int report, pid_t parent)
{
	struct hutch_err err = { 0 };
	struct img_store *s = NULL;
	struct img_digest chain;
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/* The parent's blob writers hold flocks: a copy here would keep
	 * another pull waiting until this worker ends. */
	cmn_close_fds_from(3, report);
	ret = img_store_open(&s, &err);
	if (ret == 0)
		ret = img_layer_add(s, &p->layers[i].blob,
				    i ? &p->layers[i - 1].chain : NULL,
				    &p->layers[i].diff_id, &chain, &err);
	/* The parent holds the layer; this worker's lease goes. */
	img_store_close(s);
	if (ret < 0)
		cmn_write_all(report, err.msg,
			      strnlen(err.msg, sizeof(err.msg)));
	_exit(ret < 0 ? 1 : 0);
}

static void unpack_failed(struct pull *p, size_t i, int code, const char *msg)
{
	char d[72];

	if (p->unpack_ret < 0)
		return;
	p->unpack_ret = -(code ? code : EIO);
	cmn_err_msg(&p->unpack_err, code ? code : EIO, "%s", msg);
	cmn_err_prefix(&p->unpack_err, "layer %zu (%s) of %s", i + 1,
		       img_digest_str(&p->layers[i].blob, d), p->short_name);
}

static void launch(struct pull *p, size_t i)
{
	struct layer *l = &p->layers[i];
	pid_t parent = getpid(), pid;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		unpack_failed(p, i, errno,
			      "cannot start unpacking: pipe failed");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		unpack_worker(p, i, fds[1], parent);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		unpack_failed(p, i, errno,
			      "cannot start unpacking: fork failed");
		return;
	}
	l->pid = pid;
	l->fd = fds[0];
	l->state = LAYER_RUNNING;
	p->running++;
	event(p, IMG_EV_LAYER_EXTRACTING, i, 0, NULL);
}

/* A worker's pipe closed: it is done; take its verdict. */
static void collect(struct pull *p, size_t i)
{
	struct layer *l = &p->layers[i];
	char msg[sizeof(p->unpack_err.msg)];
	ssize_t n = cmn_read_all(l->fd, msg, sizeof(msg) - 1);
	int status = 0;

	msg[n > 0 ? n : 0] = '\0';
	close(l->fd);
	while (waitpid(l->pid, &status, 0) < 0 && errno == EINTR)
		;
	p->running--;
	l->fd = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		l->state = LAYER_DONE;
		event(p, IMG_EV_LAYER_PULLED, i, 0, NULL);
		return;
	}
	l->state = LAYER_WAIT;
	unpack_failed(p, i, EIO, msg[0] ? msg : "the unpacking process died");
}

/* Collect the workers that have ended; @block: wait for one at least. */
static void reap(struct pull *p, bool block)
{
	struct pollfd pf[16];
	size_t idx[16], k = 0;
	int n;

	for (size_t i = 0; i < p->n_layers && k < ARRAY_SIZE(pf); i++)
		if (p->layers[i].state == LAYER_RUNNING) {
			pf[k] = (struct pollfd){ .fd = p->layers[i].fd,
						 .events = POLLIN };
			idx[k++] = i;
		}
	if (k == 0)
		return;
	do
		n = poll(pf, k, block ? -1 : 0);
	while (n < 0 && errno == EINTR);
	for (size_t j = 0; n > 0 && j < k; j++)
		if (pf[j].revents)
			collect(p, idx[j]);
}

/* Start the layers whose blobs are in, as workers free up. */
static void schedule(struct pull *p)
{
	reap(p, false);
	for (size_t i = 0; i < p->n_layers && p->unpack_ret == 0; i++)
		if (p->layers[i].state == LAYER_READY && p->running < p->jobs)
			launch(p, i);
}

/* After the downloads: finish every layer (or, after a failure, let the
 * running workers end without starting more). */
static int unpack_rest(struct pull *p, int ret, struct hutch_err *err)
{
	for (;;) {
		bool pending = false;

		if (ret == 0)
			schedule(p);
		for (size_t i = 0; i < p->n_layers; i++)
			pending |= p->layers[i].state == LAYER_READY &&
				   p->unpack_ret == 0 && ret == 0;
		if (p->running == 0 && !pending)
			break;
		reap(p, true);
	}
	if (ret < 0)
		return ret;
	if (p->unpack_ret < 0) {
		if (err)
			*err = p->unpack_err;
		return p->unpack_ret;
	}
	for (size_t i = 0; i < p->n_layers; i++)
		if (p->layers[i].state != LAYER_DONE)
			return cmn_err_msg(err, EIO,
					   "layer %zu of %s was not unpacked",
					   i + 1, p->short_name);
	return 0;
}

static int unpack_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* Download what is missing and unpack every layer, overlapping both. */
static int fetch_and_unpack(struct pull *p, struct hutch_err *err)
{
	cleanup_free struct reg_blob *v = NULL;
	size_t n = 0;
	int ret = plan_downloads(p, &v, &n);

	if (ret < 0)
		return cmn_err_set(err, -ret, "pull");
	p->jobs = unpack_jobs();
	for (size_t i = 0; i < p->n_layers; i++) {
		struct layer *l = &p->layers[i];

		l->fd = -1;
		if (l->have_layer) {
			l->state = LAYER_DONE;
			event(p, IMG_EV_LAYER_EXISTS, i, 0, NULL);
		} else if (l->have_blob) {
			l->state = LAYER_READY;
			event(p, IMG_EV_LAYER_DOWNLOADED, i, 0, NULL);
		} else {
			event(p, IMG_EV_LAYER_WAITING, i, 0, NULL);
		}
	}
	schedule(p);
	ret = take_writers(p, v, &n, err);
	if (ret == 0 && n > 0)
		ret = reg_fetch_blobs(p->c, p->ref.repo, v, n, p->o->parallel,
				      relay, p, err);
	return unpack_rest(p, ret, err);
}

/* ---- names ------------------------------------------------------------ */

/* The image recorded, packed first when @pack (before it has a name, so
 * that no `run` by name takes its layers as lowers while they go), then
 * tagged. */
static int record(struct pull *p, bool pack, struct img_pull_result *res,
		  struct hutch_err *err)
{
	struct img_ref byname = p->ref, bydigest = p->ref;
	struct img_digest id;
	char a[72], b[72];
	int ret = img_image_add(p->s, p->manifest, p->manifest_len, &id, err);

	if (ret < 0)
		return ret;
	if (!img_digest_equal(&id, &p->cfg_digest))
		return cmn_err_msg(err, EPROTO,
				   "the store recorded %s as image %s, not %s",
				   p->short_name, img_digest_str(&id, a),
				   img_digest_str(&p->cfg_digest, b));
	res->id = id;
	if (pack) {
		ret = img_image_pack(p->s, &id, false, err);
		if (ret < 0)
			return ret;
	}
	bydigest.tag = NULL;
	bydigest.has_digest = true;
	bydigest.digest = p->top;
	ret = img_tag(p->s, &bydigest, &id, err);
	if (ret == 0 && !p->ref.has_digest) {
		byname.has_digest = false;
		ret = img_tag(p->s, &byname, &id, err);
	}
	return ret;
}

static int start(struct pull *p, struct hutch_err *err)
{
	int ret = 0;

	p->short_name = img_ref_short(&p->ref);
	if (!p->short_name)
		return cmn_err_set(err, ENOMEM, "pull");
	if (p->o->platform) {
		p->explicit_platform = true;
		ret = reg_platform_parse(p->o->platform, &p->want, err);
	} else {
		reg_platform_host(&p->want);
	}
	if (ret < 0)
		return ret;
	return reg_open(p->ref.registry, true, NULL, NULL, &p->c, err);
}

/* After a failure: delete what this pull made (blobs and layers that were
 * not in the store when it began), unless something else uses them. */
static void discard(struct pull *p)
{
	cleanup_free struct img_digest *blobs =
		calloc(p->n_layers + 1, sizeof(*blobs));
	cleanup_free struct img_digest *chains =
		calloc(p->n_layers + 1, sizeof(*chains));
	size_t nb = 0, nc = 0;

	if (!blobs || !chains)
		return;
	if (p->cfg_new)
		blobs[nb++] = p->cfg_digest;
	for (size_t i = 0; p->layers_seen && i < p->n_layers; i++) {
		if (!p->layers[i].have_blob)
			blobs[nb++] = p->layers[i].blob;
		if (!p->layers[i].have_layer)
			chains[nc++] = p->layers[i].chain;
	}
	store_discard(p->s, blobs, nb, chains, nc);
}

static void pull_free(struct pull *p)
{
	reg_close(p->c);
	free(p->short_name);
	free(p->manifest);
	json_decref(p->m);
	json_decref(p->cfg);
	free(p->layers);
}

int img_pull_ref(struct img_store *s, const struct img_ref *ref,
		 const struct img_pull_opts *opts, struct img_pull_result *res,
		 struct hutch_err *err)
{
	static const struct img_pull_opts none;
	struct pull p = { .s = s, .o = opts ? opts : &none, .ref = *ref };
	struct img_digest before;
	bool had = false, squashfs = false, existed = false, packed = false;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = img_store_format(s, &squashfs, err);
	if (ret == 0)
		ret = start(&p, err);
	if (ret == 0) {
		res->name = img_ref_str(&p.ref);
		had = img_resolve_ref(s, &p.ref, &before) == 0;
		char d[72];

		event(&p, IMG_EV_PULLING, SIZE_MAX, 0,
		      p.ref.has_digest ? img_digest_str(&p.ref.digest, d)
				       : p.ref.tag);
		ret = resolve(&p, err);
	}
	if (ret == 0)
		ret = read_manifest(&p, err);
	if (ret == 0)
		ret = get_config(&p, err);
	/* An image in the store already keeps its form; one in squashfs
	 * form is not downloaded again (its layers are gone), unless a .sqsh
	 * file brought it: then nothing bound its tree to these layers, and
	 * it is made again from them, as if new. */
	if (ret == 0) {
		struct img_image *old = NULL;

		existed = img_image_load(s, &p.cfg_digest, &old, NULL) == 0;
		if (existed && old->adopted)
			existed = false;
		packed = existed && old->squashfs &&
			 access(old->squashfs, F_OK) == 0;
		img_image_free(old);
	}
	if (ret == 0 && !packed)
		ret = fetch_and_unpack(&p, err);
	if (ret == 0)
		ret = record(&p, squashfs && !existed, res, err);
	if (ret == 0) {
		res->digest = p.top;
		res->up_to_date = had && img_digest_equal(&before, &res->id);
	}
	if (ret < 0 && (p.cfg_new || p.layers_seen) && !packed)
		discard(&p);
	pull_free(&p);
	if (ret < 0)
		img_pull_result_free(res);
	return ret;
}

int img_pull(struct img_store *s, const char *name,
	     const struct img_pull_opts *opts, struct img_pull_result *res,
	     struct hutch_err *err)
{
	struct img_ref ref;
	int ret = img_ref_parse(name, &ref, err);

	if (ret < 0) {
		memset(res, 0, sizeof(*res));
		return ret;
	}
	ret = img_pull_ref(s, &ref, opts, res, err);
	img_ref_free(&ref);
	return ret;
}

int img_get(struct img_store *s, const char *name, const struct img_get_opts *o,
	    struct img_digest *id, struct hutch_err *err)
{
	struct img_pull_opts po = { 0 };
	struct img_pull_result res;
	struct hutch_err perr = { 0 };
	struct img_ref ref = { 0 };
	bool parsed = img_ref_parse(name, &ref, &perr) == 0;
	int ret = parsed && !(o && o->pull && o->always)
			  ? img_resolve_ref(s, &ref, id)
			  : -ENOENT;

	if (ret == -ENOENT && !(parsed && o && o->pull && o->always))
		ret = store_resolve_id(s, name, id, err);
	if (ret == -ENOENT && !parsed)
		ret = cmn_err_msg(err, EINVAL, "%s", perr.msg);
	else if (ret == -ENOENT && o && o->pull) {
		po.platform = o->platform;
		if (o->missing)
			o->missing(o->ctx, name, &ref, &po);
		ret = img_pull_ref(s, &ref, &po, &res, err);
		if (ret == 0)
			*id = res.id;
		img_pull_result_free(&res);
	}
	img_ref_free(&ref);
	return ret;
}

void img_pull_result_free(struct img_pull_result *res)
{
	free(res->name);
	res->name = NULL;
}
