/* SPDX-License-Identifier: Apache-2.0 */
/* image.h - images: digests, references, the content-addressed store, the
 * registry client, layer unpacking. The whole interface of image/.
 */
#ifndef HUTCH_IMAGE_H
#define HUTCH_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ---- digests (digest.c) ------------------------------------------------- */

/**
 * struct img_digest - "sha256:<64 hex>", the only algorithm OCI images use
 * in practice; sha512 digests are parsed and refused with a clear error.
 * @hex: 64 lowercase hex digits and a NUL
 */
struct img_digest {
	char hex[65];
};

/** img_digest_parse() - "sha256:<64 lowercase hex>" into @out. */
bool img_digest_parse(const char *s, struct img_digest *out);

/** img_digest_str() - "sha256:<hex>" into @buf (72 bytes). */
const char *img_digest_str(const struct img_digest *d, char buf[static 72]);

/** img_digest_equal() - do two digests name the same content? */
bool img_digest_equal(const struct img_digest *a, const struct img_digest *b);

/** Streaming SHA-256. */
struct img_sha256;
struct img_sha256 *img_sha256_new(void);
void img_sha256_update(struct img_sha256 *h, const void *data, size_t len);
/** img_sha256_final() - the digest; @h is freed. */
void img_sha256_final(struct img_sha256 *h, struct img_digest *out);
/** img_sha256_free() - release @h without a result (NULL is fine). */
void img_sha256_free(struct img_sha256 *h);
/** img_sha256_buf() - the digest of a buffer in one call; 0 or -ENOMEM. */
int img_sha256_buf(const void *data, size_t len, struct img_digest *out);

/* ---- references (ref.c) ------------------------------------------------- */

/**
 * struct img_ref - a parsed image reference, Docker's rules
 * @registry: "docker.io", "registry.example.org:5000", "localhost:5000"
 * @repo:     "library/python", "team/app"
 * @tag:      "3.11-slim", or NULL when only a digest was given
 * @digest:   set when @has_digest ("name@sha256:...")
 *
 * "python:3.11-slim" is docker.io/library/python:3.11-slim; a missing tag
 * is "latest" unless a digest is given. The first component is a registry
 * when it has a '.' or ':' or is "localhost". Strings are owned.
 */
struct img_ref {
	char *registry;
	char *repo;
	char *tag;
	struct img_digest digest;
	bool has_digest;
};

/** img_ref_parse() - parse @s; Return: 0 or -EINVAL with @err saying what
 * is wrong ("invalid reference format: repository name must be lowercase"). */
int img_ref_parse(const char *s, struct img_ref *out, struct hutch_err *err);
/** img_ref_str() - "registry/repo:tag" or "registry/repo@sha256:..."; owned. */
char *img_ref_str(const struct img_ref *ref);
/** img_ref_short() - Docker's display form: "python:3.11-slim" for
 * docker.io/library/python:3.11-slim; owned. */
char *img_ref_short(const struct img_ref *ref);
void img_ref_free(struct img_ref *ref);

/* ---- the store (store.c, blob.c, layer.c, imagedb.c) -------------------- */

/*
 * $HUTCH_ROOT (0700)
 *   blobs/sha256/<hex>      verified blobs: manifests, configs, layer tars
 *   layers/<chain hex>/     an unpacked layer: diff/ (the tree, overlay
 *                           whiteout format), diff_id, size
 *   images/<id hex>.json    one record per image (id = config digest)
 *   refs.json               name:tag -> image id
 *   tmp/                    staging for atomic renames (same filesystem)
 *   locks/                  flock(2) files: one per blob/layer being made
 *
 * Every write lands under tmp/ and is renamed into place after fsync; a
 * killed hutch leaves at most junk in tmp/, which the next open clears of
 * entries no live process holds a lock on.
 */
struct img_store;

/** img_store_open() - open (creating if needed) the store at cmn_store_dir().
 * Return: 0, or -errno with @err naming the directory and the fix. */
int img_store_open(struct img_store **out, struct hutch_err *err);
void img_store_close(struct img_store *s);
const char *img_store_root(const struct img_store *s);

/** img_blob_exists() - is a verified blob with this digest present? */
bool img_blob_exists(struct img_store *s, const struct img_digest *d);
/** img_blob_path() - where the blob lives (it may not exist); owned. */
char *img_blob_path(struct img_store *s, const struct img_digest *d);
/** img_blob_read() - a small blob (manifest, config) into memory, NUL
 * terminated; NULL with @err on failure or when larger than @max. */
char *img_blob_read(struct img_store *s, const struct img_digest *d, size_t max,
		    size_t *len, struct hutch_err *err);
/**
 * img_blob_put() - store a small blob from memory
 * @expect: when not NULL, the digest the data must have
 * @out:    set to the data's digest (may be NULL)
 */
int img_blob_put(struct img_store *s, const void *data, size_t len,
		 const struct img_digest *expect, struct img_digest *out,
		 struct hutch_err *err);

/**
 * struct img_blob_writer - a blob being streamed into the store (a
 * download): hashed and size-checked as it is written, published only by
 * img_blob_writer_commit() when digest and size match.
 */
struct img_blob_writer;
/**
 * img_blob_writer_new() - start writing a blob
 * @expect: the digest the content must have (NULL: whatever it has)
 * @size:   the exact size it must have, or -1 when unknown
 *
 * Two processes fetching the same blob: the second waits on the first's
 * lock and then finds the blob present: *@out is NULL and the return 1.
 * Return: 0 with *@out set, 1 when the blob is already present, -errno.
 */
int img_blob_writer_new(struct img_store *s, const struct img_digest *expect,
			int64_t size, struct img_blob_writer **out,
			struct hutch_err *err);
/** img_blob_writer_write() - append; -EFBIG past the expected size. */
int img_blob_writer_write(struct img_blob_writer *w, const void *buf,
			  size_t len);
/** img_blob_writer_reset() - drop what was written (a retried download). */
int img_blob_writer_reset(struct img_blob_writer *w);
/** img_blob_writer_commit() - verify and publish; frees @w in all cases.
 * A mismatch is -EBADMSG with @err naming the blob, and nothing is kept. */
int img_blob_writer_commit(struct img_blob_writer *w, struct img_digest *out,
			   struct hutch_err *err);
/** img_blob_writer_abort() - discard; frees @w (NULL is fine). */
void img_blob_writer_abort(struct img_blob_writer *w);

/**
 * img_layer_add() - unpack a layer blob on top of @parent into the store
 * @blob:   the compressed (gzip, zstd) or plain tar, already in the store
 * @parent: the chain id of the layers below, NULL for the base layer
 * @diff_id: the digest of the uncompressed tar from the image config; the
 *          unpacked content must match it
 * @chain:  set to the new layer's chain id
 *
 * Unpacking runs in a user namespace with the containers' id mapping, so
 * ownership is kept where subordinate ids exist. Idempotent and safe
 * against concurrent callers. Return: 0 or -errno with @err.
 */
int img_layer_add(struct img_store *s, const struct img_digest *blob,
		  const struct img_digest *parent,
		  const struct img_digest *diff_id, struct img_digest *chain,
		  struct hutch_err *err);
/** img_layer_dir() - the unpacked tree of a layer (layers/<chain>/diff);
 * owned; NULL with errno ENOENT when the layer is not there. */
char *img_layer_dir(struct img_store *s, const struct img_digest *chain);

/**
 * img_image_add() - record an image whose blobs and layers are in the store
 * @manifest: an OCI or Docker schema2 image manifest (not a list)
 * @id:       set to the image id (the config's digest)
 *
 * Unpacks any layer not yet unpacked. Return: 0 or -errno with @err.
 */
int img_image_add(struct img_store *s, const char *manifest, size_t len,
		  struct img_digest *id, struct hutch_err *err);
/**
 * struct img_layer_info - one layer of an image
 * @blob:    the compressed blob's digest, @size its size, @media_type its
 *           type (owned)
 * @diff_id: the uncompressed tar's digest (from the config)
 * @chain:   the chain id: where it is unpacked (layers/<chain>)
 */
struct img_layer_info {
	struct img_digest blob;
	int64_t size;
	char *media_type;
	struct img_digest diff_id;
	struct img_digest chain;
};

/**
 * struct img_image - an image in the store, as recorded by img_image_add()
 * Every pointer is owned; release with img_image_free().
 */
struct img_image {
	struct img_digest id;       /* the config's digest */
	struct img_digest manifest; /* the manifest's digest */
	char *manifest_type;        /* its media type */
	char *manifest_json;
	size_t manifest_len;
	char *config_json;
	size_t config_len;
	struct img_layer_info *layers; /* base first */
	size_t n_layers;
	char **names;    /* "registry/repo:tag" references to it, NULL-ended */
	int64_t created; /* from the config, seconds since the epoch */
	uint64_t size;   /* unpacked size of all layers */
};

int img_image_load(struct img_store *s, const struct img_digest *id,
		   struct img_image **out, struct hutch_err *err);
void img_image_free(struct img_image *img);
/** img_image_list() - every image, newest first; free each and the array. */
int img_image_list(struct img_store *s, struct img_image ***out, size_t *n,
		   struct hutch_err *err);

/** img_tag() - point @ref (a tag, not a digest reference) at image @id. */
int img_tag(struct img_store *s, const struct img_ref *ref,
	    const struct img_digest *id, struct hutch_err *err);
/**
 * img_resolve() - find an image by reference ("python:3.11", a full
 * name, "name@sha256:..."), by id or by a unique id prefix (>= 4 hex)
 * Return: 0 with @id set, -ENOENT when unknown (no message: callers decide
 * whether to pull), -EINVAL with @err for an ambiguous prefix or bad name.
 */
int img_resolve(struct img_store *s, const char *name, struct img_digest *id,
		struct hutch_err *err);

#endif
