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
 *   leases/                 what running builds and pulls use (lease.c)
 *   squashfs-images/<id hex>.sqsh  an image kept in squashfs form (squashfs.c)
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
struct img_layer_info;

/** img_chain_id() - OCI's ChainID: @diff_id for the base layer, else
 * sha256("<parent> <diff_id>"). */
int img_chain_id(const struct img_digest *parent,
		 const struct img_digest *diff_id, struct img_digest *out);

/**
 * img_layer_from_dir() - make a layer of an overlay upper directory (a
 * build step's changes) without unpacking anything: its tar (whiteouts as
 * OCI markers) becomes the blob, and @dir itself, which must be on the
 * store's filesystem (under tmp/), is moved to layers/<chain>/diff
 * @parent: chain id of the layers it sits on, NULL for a base layer
 * @out:    blob (= diff_id, uncompressed), size, media type, chain id
 */
int img_layer_from_dir(struct img_store *s, const char *dir,
		       const struct img_digest *parent,
		       struct img_layer_info *out, struct hutch_err *err);

/**
 * img_unpack_archive() - unpack a tar archive into a directory, as
 * Dockerfile's ADD does with a local archive
 * @fd:    the archive: compressed with any filter libarchive reads (gzip,
 *         bzip2, xz, zstd) or plain, detected from its content
 * @dirfd: the destination directory; it may hold files already, and an
 *         entry replaces what has its name, as in tar
 *
 * The same defences as a layer's unpacking (unpack.c): no entry is written
 * outside @dirfd or through a symlink, device nodes are refused. The tar's
 * owners are kept (the caller runs in a user namespace that maps them), and
 * whiteouts are not applied: ".wh." names stay ordinary files.
 *
 * Return: 0, or -errno with @err naming the entry and why.
 */
int img_unpack_archive(int fd, int dirfd, struct hutch_err *err);

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
	struct img_digest id;	    /* the config's digest */
	struct img_digest manifest; /* the manifest's digest */
	char *manifest_type;	    /* its media type */
	char *manifest_json;
	size_t manifest_len;
	char *config_json;
	size_t config_len;
	struct img_layer_info *layers; /* base first */
	size_t n_layers;
	char **names;	 /* "registry/repo:tag" references to it, NULL-ended */
	int64_t created; /* from the config, seconds since the epoch */
	uint64_t size;	 /* unpacked size of all layers */
	/* In squashfs form (squashfs-images/<id>.sqsh, squashfs.c): the
	 * file's absolute path and size; NULL when kept as layers. The
	 * record still lists the layers, which are no longer in the store. */
	char *squashfs;
	uint64_t squashfs_size;
	/* In squashfs form with its layers kept: a build's step layers stay
	 * as its cache ("layersKept"), owned by the image as in layer form. */
	bool layers_kept;
	/* Brought as a .sqsh file by load or FROM FILE ("adopted"): nothing
	 * binds its tree to its config's layers, so a pull of its id makes
	 * it again (img_adopt_squashfs()). */
	bool adopted;
};

int img_image_load(struct img_store *s, const struct img_digest *id,
		   struct img_image **out, struct hutch_err *err);
void img_image_free(struct img_image *img);
/** img_image_list() - every image, newest first; free each and the array. */
int img_image_list(struct img_store *s, struct img_image ***out, size_t *n,
		   struct hutch_err *err);

/** img_store_tmpdir() - a fresh directory under the store's tmp/ (on the
 * store's filesystem, cleared if its maker dies); owned absolute path. */
char *img_store_tmpdir(struct img_store *s, const char *suffix,
		       struct hutch_err *err);

/** img_store_remove() - delete a tree under the store (relative path),
 * in a user namespace when subordinate ids own part of it. */
int img_store_remove(struct img_store *s, const char *path,
		     struct hutch_err *err);

/**
 * img_import() - make a one-layer image from a root filesystem
 * @dir:    a directory to archive (read in a user namespace with the
 *          containers' mapping), or NULL to read a tar from @fd
 * @fd:     a tar stream, compressed or not, when @dir is NULL
 * @config: a JSON object for the config's "config" (Cmd, Env, ...), or NULL
 * @message: the history comment, or NULL
 * @id:     set to the new image's id
 */
int img_import(struct img_store *s, const char *dir, int fd, const char *config,
	       const char *message, struct img_digest *id,
	       struct hutch_err *err);

/* ---- archives (archive.c) ------------------------------------------------ */

/**
 * img_save() - write images as one tar to @fd
 * @keys: names or ids; a name becomes the archive's tag for that image
 * @oci:  an OCI image layout (oci-archive) rather than docker-archive
 */
int img_save(struct img_store *s, char *const *keys, size_t n, bool oci, int fd,
	     struct hutch_err *err);

/* ---- single-file squashfs images (squashfs.c) --------------------------- */

/**
 * img_save_squashfs() - write image @key's flattened root filesystem and
 * config as one squashfs file @out (written beside it, renamed when
 * complete), with hutch-squashfs in the containers' user namespace; the
 * same image gives the same bytes.
 */
int img_save_squashfs(struct img_store *s, const char *key, const char *out,
		      struct hutch_err *err);

/**
 * img_store_format() - whether pull and build keep images in squashfs form
 * in this store: HUTCH_IMAGE_FORMAT, auto by the store's filesystem
 * (sbx_image_format()). -EINVAL with @err for a bad setting.
 */
int img_store_format(struct img_store *s, bool *squashfs,
		     struct hutch_err *err);

/**
 * img_image_pack() - keep image @id in squashfs form: its tree and config
 * packed into squashfs-images/<id>.sqsh (written under tmp/, fsynced,
 * renamed), the record marked, then its layers and layer blobs deleted
 * unless another image or a running build or pull uses them. A kill at any
 * point leaves the image whole in one form or the other (at worst an
 * orphan file or unreferenced layers, which prune removes). An image in
 * squashfs form already: nothing to do. @keep_layers (a build): its layers
 * stay, the build's cache, held by the image until it is removed, as in
 * layer form; runs still take the file.
 */
int img_image_pack(struct img_store *s, const struct img_digest *id,
		   bool keep_layers, struct hutch_err *err);

/** img_image_made() - was image @id's record created by this process
 * through @s (not in the store before)? What load, import and build pack:
 * an image that was there already keeps its form, and its layers, which
 * containers may use. */
bool img_image_made(struct img_store *s, const struct img_digest *id);

/**
 * img_image_flat_layer() - a layer of the store holding the whole tree of
 * @img, an image in squashfs form (unpacked from its file): what a build
 * FROM it starts on. Held by this process's lease.
 */
int img_image_flat_layer(struct img_store *s, const struct img_image *img,
			 struct img_layer_info *out, struct hutch_err *err);

/** img_is_squashfs() - does the file on @fd start with squashfs's magic? */
bool img_is_squashfs(int fd);

/** img_squashfs_path() - is @arg (as `hutch run` got it: a path, or a
 * name ending in .sqsh) a squashfs file rather than an image name? */
bool img_squashfs_path(const char *arg);

/**
 * img_squashfs_prune_verified() - run `hutch-squashfs prune-verified` on
 * the store's squashfs-verified/: entries of .sqsh files that are gone or
 * replaced, and lock files nobody holds without an entry, removed (none
 * when the helper is not installed)
 * Return: 0 with *@n set, or -errno with @err.
 */
int img_squashfs_prune_verified(struct img_store *s, size_t *n,
				struct hutch_err *err);

/**
 * img_squashfs_image() - the .sqsh file @path as an image without layers:
 * its config (from the file's document; the digest is checked when it is
 * mounted) and an id, the config's digest. Free with img_image_free().
 */
int img_squashfs_image(const char *path, struct img_image **out,
		       struct hutch_err *err);

/**
 * img_squashfs_digest() - the sha256 that the .sqsh file @path's footer
 * gives for its whole content (squashfs/trailer.c: the footer's last 32
 * bytes), in hex; read, not checked: for a file of the store, which was
 * verified when it came in. Return: 0, or -errno.
 */
int img_squashfs_digest(const char *path, char hex[static 65]);

/**
 * img_adopt_squashfs() - a store of squashfs files takes the .sqsh file
 * @path as it is: copied into squashfs-images/, the copy verified (digest
 * and whole tree), recorded with the file's whole image config (history
 * and all) and no layers. Nothing is unpacked or packed again.
 * @name: set to the name the file was saved under, or NULL (owned)
 * @id:   set to the image's id, the digest of its config as `run FILE`
 *        gives it; an image already in the store keeps its form
 */
int img_adopt_squashfs(struct img_store *s, const char *path, char **name,
		       struct img_digest *id, struct hutch_err *err);

/**
 * img_load_squashfs() - verify the .sqsh file @path (digest and whole
 * tree) and make a one-layer image of it
 * @config:  JSON for the config's "config" (NULL: the file's own)
 * @message: the history comment (NULL: a default)
 * @name:    set to the name the file was saved under, or NULL (owned)
 * @id:      set to the new image's id
 */
int img_load_squashfs(struct img_store *s, const char *path, const char *config,
		      const char *message, char **name, struct img_digest *id,
		      struct hutch_err *err);

/** img_load_fn - told of each image loaded, once per name it got (@name
 * NULL: it came without one). */
typedef void (*img_load_fn)(void *ctx, const struct img_digest *id,
			    const char *name);
/**
 * img_load() - add the images of a docker-archive or oci-archive tar
 * (plain or compressed) read from @fd; @what names it in errors
 *
 * Every blob is verified by its digest and every layer by its diff id, as
 * for a pull; links in the archive are followed by name only. @squashfs:
 * each image the load made is packed (img_image_pack()) before it is named.
 */
int img_load(struct img_store *s, int fd, const char *what, bool squashfs,
	     img_load_fn cb, void *ctx, struct hutch_err *err);

/* ---- running an image (runconf.c) ------------------------------------------ */

struct sbx_config;

/**
 * struct img_run_opts - what the user said on top of the image's config
 * @entrypoint: --entrypoint (NULL: the image's; "": none)
 * @args:       the command after the image name (NULL or empty: the
 *              image's Cmd, unless --entrypoint was given)
 */
struct img_run_opts {
	const char *entrypoint;
	char *const *args;
};

/**
 * img_run_config() - apply the image's config to @cfg as Docker does: Env
 * before the user's -e, WorkingDir and User unless -w/-u were given,
 * Entrypoint and Cmd with Docker's override rules (--entrypoint drops the
 * image's Cmd). Return: 0, or -EINVAL with @err when no command results.
 */
int img_run_config(const struct img_image *img, const struct img_run_opts *o,
		   struct sbx_config *cfg, struct hutch_err *err);

/** img_stop_signal() - the image's STOPSIGNAL, SIGTERM without one. */
int img_stop_signal(const struct img_image *img);

/** img_volumes() - the paths of the image's VOLUME instructions (its
 * config's Volumes), NULL when it has none; free with cmn_strv_free(). */
char **img_volumes(const struct img_image *img);

/**
 * img_config_value() - the JSON text of the image config's config.@key
 * ("Healthcheck", "ExposedPorts", "Labels", "Shell") for whoever reads
 * more of it than img_run_config() does
 * Return: owned text, NULL when the key is absent or null (or ENOMEM).
 */
char *img_config_value(const struct img_image *img, const char *key);

/**
 * img_rootfs_prepare() - a copy-on-write root for @img: @dir (relative to
 * the store, created unless it exists) gets upper/, work/ and rootfs/, and
 * @cfg the layers as overlay lowers (@img NULL: the caller sets the lowers).
 * @local: when not NULL, an absolute directory (created, 0700) that gets
 *         upper/, work/ and rootfs/ instead of @dir: node-local disk for a
 *         store on a shared filesystem
 * Return: 0 or -errno with @err.
 */
int img_rootfs_prepare(struct img_store *s, const struct img_image *img,
		       const char *dir, const char *local,
		       struct sbx_config *cfg, struct hutch_err *err);

/**
 * img_image_make() - record an image whose layers are all in the store
 * already (a build's): stores @config (the full image config JSON, its
 * rootfs.diff_ids matching @layers) and an OCI manifest for it.
 */
int img_image_make(struct img_store *s, const char *config,
		   const struct img_layer_info *layers, size_t n,
		   struct img_digest *id, struct hutch_err *err);

/* ---- removal and checks (gc.c, lease.c) ------------------------------------------ */

/**
 * img_hold_image() - keep image @id, its blobs and its layers from img_gc()
 * and prune while @s stays open (a build's base image); the hold ends with
 * the process however it ends. Things this process makes in the store
 * (blobs, layers, image records) are held that way without asking.
 * Return: 0, -ENOENT (no message) when the image is not in the store, or
 * -errno with @err.
 */
int img_hold_image(struct img_store *s, const struct img_digest *id,
		   struct hutch_err *err);
/** img_hold_layer() - the same for one layer (its chain and its blob): a
 * build cache hit. -ENOENT when either is gone. */
int img_hold_layer(struct img_store *s, const struct img_layer_info *li,
		   struct hutch_err *err);

/** img_untag() - remove one name (-ENOENT "No such image" when unknown). */
int img_untag(struct img_store *s, const char *name, struct hutch_err *err);
/** img_image_delete() - remove an image's record and all its names; its
 * layers and blobs stay until img_gc(). */
int img_image_delete(struct img_store *s, const struct img_digest *id,
		     struct hutch_err *err);

/** img_image_prune() - img_image_delete(), unless a running build or pull
 * holds the image (-EBUSY, no message): prune's way. */
int img_image_prune(struct img_store *s, const struct img_digest *id,
		    struct hutch_err *err);

struct img_gc_result {
	uint64_t layers; /* unpacked layers deleted */
	uint64_t bytes;	 /* bytes of blobs and squashfs files deleted */
	uint64_t files;	 /* squashfs files (squashfs-images/) deleted */
};

/**
 * img_gc() - delete the layers and blobs no image refers to and no running
 * build or pull holds
 * @removed:     an image to count as gone already (NULL: none)
 * @keep_chains: chain ids (hex) that containers use as lowers, NULL-ended
 */
int img_gc(struct img_store *s, const struct img_digest *removed,
	   char *const *keep_chains, struct img_gc_result *res,
	   struct hutch_err *err);

struct img_check_result {
	size_t images, layers, blobs, files, problems;
	char first[256]; /* the first problem, in words */
};

/** img_check() - verify every image's blobs (by their digests) and layers. */
int img_check(struct img_store *s, struct img_check_result *r,
	      struct hutch_err *err);

/** img_tag() - point @ref ("repo:tag" or "repo@sha256:...") at image @id. */
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
/** img_resolve_ref() - the image a parsed reference names in the store.
 * Return: 0 with @id set, or -ENOENT. */
int img_resolve_ref(struct img_store *s, const struct img_ref *ref,
		    struct img_digest *id);

/* ---- registry (registry*.c, pull.c, push.c, auth.c) ---- */

/**
 * enum img_event_kind - what a pull or push is doing, for progress output
 * (Docker's words in comments). Image-level events have no @blob.
 */
enum img_event_kind {
	IMG_EV_PULLING,	      /* "TAG: Pulling from REPO" (@detail: the ref) */
	IMG_EV_LAYER_EXISTS,  /* "Already exists" */
	IMG_EV_LAYER_WAITING, /* "Pulling fs layer" */
	IMG_EV_LAYER_DOWNLOADING, /* "Downloading" @done of @total bytes */
	IMG_EV_LAYER_RETRYING,	  /* "Retrying" (@detail: why) */
	IMG_EV_LAYER_VERIFYING,	  /* "Verifying Checksum" */
	IMG_EV_LAYER_DOWNLOADED,  /* "Download complete" */
	IMG_EV_LAYER_EXTRACTING,  /* "Extracting" */
	IMG_EV_LAYER_PULLED,	  /* "Pull complete" */
	IMG_EV_PUSHING,		/* "The push refers to repository [@detail]" */
	IMG_EV_LAYER_PREPARING, /* "Preparing" */
	IMG_EV_LAYER_PUSHING,	/* "Pushing" @done of @total bytes */
	IMG_EV_LAYER_PRESENT,	/* "Layer already exists" */
	IMG_EV_LAYER_MOUNTED,	/* "Mounted from @detail" */
	IMG_EV_LAYER_PUSHED,	/* "Pushed" */
};

/**
 * struct img_event - one progress report
 * @blob:  the layer (NULL for image-level events); @index its position in
 *         the manifest (base first) and @count the number of layers
 * @done, @total: bytes, where the kind has them (@total -1: unknown)
 * @detail: text for the kind (see above), or NULL
 * Everything is borrowed for the duration of the callback.
 */
struct img_event {
	enum img_event_kind kind;
	const struct img_digest *blob;
	size_t index, count;
	int64_t done, total;
	const char *detail;
};

/** img_progress_fn - receives progress; called from the calling thread
 * only, often (rate-limited to a few times a second per layer). */
typedef void (*img_progress_fn)(void *ctx, const struct img_event *ev);

/**
 * struct img_pull_opts - how to pull
 * @platform: "os/arch[/variant]" to pick from a list; NULL: the host's
 * @parallel: downloads at once; 0: the default (4)
 * @progress, @ctx: optional progress callback
 */
struct img_pull_opts {
	const char *platform;
	int parallel;
	img_progress_fn progress;
	void *ctx;
};

/**
 * struct img_pull_result - what a pull did
 * @id:       the image (its config's digest)
 * @digest:   what the name resolved to at the registry: the list's digest
 *            for a multi-platform image (Docker's "Digest:" line)
 * @name:     the full reference pulled ("docker.io/library/busybox:1.36"),
 *            owned; free with img_pull_result_free()
 * @up_to_date: the name already pointed at this image
 */
struct img_pull_result {
	struct img_digest id;
	struct img_digest digest;
	char *name;
	bool up_to_date;
};

/**
 * img_pull() - fetch @name from its registry into the store and tag it
 *
 * Resolves the name (a list through the platform), downloads the config
 * and the layers missing from the store (verified by the store's writer,
 * sizes from the manifest enforced), unpacks them in order and records
 * the image under "repo:tag" and "repo@digest". Credentials come from
 * `hutch login` or Docker's config; mirrors and insecure registries from
 * registries.json (see registry-conf.c). Safe against concurrent pulls
 * and kill -9 at any point.
 * Return: 0 with @res filled, or -errno with @err naming what failed.
 */
int img_pull(struct img_store *s, const char *name,
	     const struct img_pull_opts *opts, struct img_pull_result *res,
	     struct hutch_err *err);
void img_pull_result_free(struct img_pull_result *res);
/** img_pull_ref() - img_pull() of a reference parsed already (borrowed). */
int img_pull_ref(struct img_store *s, const struct img_ref *ref,
		 const struct img_pull_opts *opts, struct img_pull_result *res,
		 struct hutch_err *err);

/**
 * struct img_get_opts - what img_get() does with a name the store lacks
 * @pull:    pull it (Docker's run and create); false: -ENOENT
 * @missing: called once before that pull with the name as given and as
 *           parsed; it may fill @po (a progress callback, the platform)
 *           for the pull; may be NULL
 * @always:  with @pull, pull even when the store has it (--pull always)
 * @platform: "os/arch[/variant]" for the pull; NULL: the host's
 */
struct img_get_opts {
	bool pull;
	bool always;
	const char *platform;
	void (*missing)(void *ctx, const char *name, const struct img_ref *ref,
			struct img_pull_opts *po);
	void *ctx;
};

/**
 * img_get() - the image @name refers to, as img_resolve() finds it (the
 * name parsed once), pulled first when the store lacks it and @o says so
 * Return: 0 with @id set; -ENOENT (no message) for a missing image that is
 * not pulled; -errno with @err for a bad name or a failed pull.
 */
int img_get(struct img_store *s, const char *name, const struct img_get_opts *o,
	    struct img_digest *id, struct hutch_err *err);

/**
 * struct img_push_result - what a push did
 * @digest: the manifest's digest at the registry, @size its length
 * @tag:    the tag pushed (owned; free with img_push_result_free())
 */
struct img_push_result {
	struct img_digest digest;
	size_t size;
	char *tag;
};

/**
 * img_push() - upload image @name ("registry/repo:tag") to its registry:
 * blobs the registry has are skipped, blobs of an image known under
 * another repository of the same registry are mounted from there, the
 * rest uploaded; then the exact stored manifest is put under the tag, so
 * the digest is the same as in the store.
 * Return: 0 with @res filled, or -errno with @err.
 */
int img_push(struct img_store *s, const char *name, img_progress_fn progress,
	     void *ctx, struct img_push_result *res, struct hutch_err *err);
void img_push_result_free(struct img_push_result *res);

/**
 * img_login() - check @user and @pass against @server ("docker.io" when
 * NULL; any spelling Docker accepts) and store them in
 * ${XDG_CONFIG_HOME:-~/.config}/hutch/auth.json (0600, Docker's "auths"
 * format). Return: 0, -EACCES with @err when the registry refuses them.
 */
int img_login(const char *server, const char *user, const char *pass,
	      struct hutch_err *err);

/**
 * img_logout() - forget the credentials stored for @server (NULL:
 * docker.io). *@found says whether there were any.
 */
int img_logout(const char *server, bool *found, struct hutch_err *err);

/** img_registry_display() - the name Docker shows for @server in login
 * and logout messages ("https://index.docker.io/v1/" for Docker Hub, else
 * host[:port]); owned. */
char *img_registry_display(const char *server);

/* ---- http (http.c): what the registry client and ADD <URL> share ---- */

/** img_http_init() - libcurl's global set-up, once per process. */
int img_http_init(void);

/**
 * img_http_easy() - a curl easy handle for @url: http(s) only, redirects,
 * a connect timeout and a stall limit (seconds from the environment
 * variable @stall_env, default 60), the environment's proxies (never for
 * loopback or no_proxy hosts), CA certificates from SSL_CERT_FILE and
 * SSL_CERT_DIR, else libcurl's, else the distribution's (http.c).
 * @proxy: if not NULL, receives the proxy in use (borrowed), or NULL
 * Return: the handle (a CURL *), or NULL when out of memory.
 */
void *img_http_easy(const char *url, const char *stall_env, const char **proxy);

/* ---- end of registry ---- */

#endif
