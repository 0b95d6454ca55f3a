/* SPDX-License-Identifier: Apache-2.0 */
/* store-internal.h - what the store's files share; private to image/ */
#ifndef HUTCH_IMAGE_STORE_INTERNAL_H
#define HUTCH_IMAGE_STORE_INTERNAL_H

#include <sys/types.h>

#include "image/image.h"

/**
 * struct img_store - an open store
 * @root:   its path (owned)
 * @rootfd: a descriptor for it; every path below is relative to it
 * @lease_fd, @lease_name, @lease_pid: this process's lease (lease.c), -1
 *          until something is held; its file is leases/@lease_name
 */
struct img_store {
	char *root;
	int rootfd;
	int lease_fd;
	char lease_name[48];
	pid_t lease_pid;
	struct img_digest *made; /* image records this process created */
	size_t n_made;
};

/* ---- leases (lease.c) ---- */

enum store_hold {
	STORE_HOLD_IMAGE, /* images/<hex>.json */
	STORE_HOLD_LAYER, /* layers/<chain hex> */
	STORE_HOLD_BLOB,  /* blobs/sha256/<hex> */
};

/**
 * store_hold() - add @d to this process's lease, so that img_gc() and
 * prune leave it alone until the store is closed or the process ends
 * Return: 0 when it is in the store, -ENOENT when not (yet): held anyway,
 * so that what the caller publishes next is protected; else -errno.
 */
int store_hold(struct img_store *s, enum store_hold kind,
	       const struct img_digest *d);
/** store_lease_close() - drop this process's lease (img_store_close()). */
void store_lease_close(struct img_store *s);

/** store_lease_fn - told of each entry of a live lease; non-zero stops. */
typedef int (*store_lease_fn)(void *ctx, enum store_hold kind, const char *hex);
/**
 * store_leases() - every entry of every live lease (the caller holds
 * locks/gc exclusive); the files of processes that are gone are deleted.
 * @skip_own: leave this process's own lease out
 */
int store_leases(struct img_store *s, bool skip_own, store_lease_fn fn,
		 void *ctx);

/**
 * store_discard() - delete blobs and layers that a failed pull made,
 * unless an image or another process's lease refers to them
 */
void store_discard(struct img_store *s, const struct img_digest *blobs,
		   size_t n_blobs, const struct img_digest *chains,
		   size_t n_chains);

/** store_lock() - take the flock on locks/@name (created as needed).
 * Return: the descriptor to pass to store_unlock(), or -errno. */
int store_lock(struct img_store *s, const char *name, bool exclusive);
void store_unlock(int fd);

/** store_resolve_id() - the image whose id starts with @name (4 hex digits
 * at least, "sha256:" optional). Return: 0, -ENOENT, or -EINVAL with @err
 * for an ambiguous prefix. */
int store_resolve_id(struct img_store *s, const char *name,
		     struct img_digest *id, struct hutch_err *err);

/** store_tmp_name() - a fresh name under tmp/ that the next open's
 * clean-up knows to be ours while this process lives: "tmp/<pid>-<rand><suffix>". */
int store_tmp_name(char buf[static 96], const char *suffix);

/** store_write_atomic() - write @data to @path (relative to the root) via
 * a temporary file, fsync, rename. */
int store_write_atomic(struct img_store *s, const char *path, const void *data,
		       size_t len);

/** store_layer_meta() - a layer's diff_id, size and whiteout format,
 * written into the layer directory @tmp (relative to the root) before it
 * is renamed into layers/. */
int store_layer_meta(struct img_store *s, const char *tmp,
		     const struct img_digest *diff_id, uint64_t size,
		     bool oci_whiteouts);

/**
 * store_remove_tree() - delete the tree at @path (relative to the root):
 * in this process when everything in it is ours, else in a user namespace
 * with the containers' mapping (layers keep subordinate ids' files).
 */
int store_remove_tree(struct img_store *s, const char *path,
		      struct hutch_err *err);

/* ---- squashfs form (squashfs.c, imagedb.c) ---- */

#define STORE_SQSH_DIR "squashfs-images"

/** store_record_squashfs() - mark the record of image @id as kept in
 * squashfs form, its file @size bytes (rewritten atomically). */
int store_record_squashfs(struct img_store *s, const struct img_digest *id,
			  uint64_t size, bool layers_kept,
			  struct hutch_err *err);

/**
 * store_record_adopted() - record image @id, config @config (stored as a
 * blob; @id is its digest), kept only as the file squashfs-images/<id>.sqsh
 * of @size bytes, already in place: no layers, a manifest made for it.
 */
int store_record_adopted(struct img_store *s, const struct img_digest *id,
			 const char *config, uint64_t size,
			 struct hutch_err *err);

/** store_squashfs_verify() - check the digest and tree of the .sqsh file
 * @path with hutch-squashfs; 0 or -errno with @err saying what is wrong. */
int store_squashfs_verify(const char *path, struct hutch_err *err);

#endif
