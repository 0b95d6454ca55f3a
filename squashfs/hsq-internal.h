// SPDX-License-Identifier: Apache-2.0
/* hsq-internal.h - hutch-squashfs's parts: the merged tree, the writer and
 * the trailer that carries the image config and the file's digest */

#ifndef HUTCH_HSQ_INTERNAL_H
#define HUTCH_HSQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/common.h"

/** struct hsq_xattr - one extended attribute (both fields owned) */
struct hsq_xattr {
	char *key;
	void *value;
	size_t size;
};

/**
 * struct hsq_node - one object of the flattened root filesystem
 * @name:     its name in the parent ("" for the root; owned)
 * @st:       lstat() of the object in the topmost layer that has it, as
 *            root of the containers' user namespace sees it (owners are
 *            the container's ids)
 * @layer:    that layer's directory descriptor (borrowed)
 * @path:     its path relative to that layer ("." for a root; owned)
 * @link:     a symlink's target (owned)
 * @xattrs:   its extended attributes, overlay bookkeeping left out,
 *            sorted by key (owned)
 * @kids:     a directory's entries, sorted by name once the tree is
 *            complete (owned)
 * @ino:      the squashfs inode number, @inode and @ref the writer's
 */
struct hsq_node {
	char *name;
	struct stat st;
	int layer;
	char *path;
	char *link;
	struct hsq_xattr *xattrs;
	size_t n_xattrs;
	struct hsq_node **kids;
	size_t n_kids, cap_kids;
	uint32_t ino;
	void *inode; /* sqfs_inode_generic_t *, owned */
	uint64_t ref;
};

/**
 * hsq_tree_merge() - apply the layer whose root is @layer over @root, as
 * overlayfs would show it: whiteouts (0/0 character devices, ".wh.NAME")
 * delete, opaque directories (user.overlay.opaque=y, ".wh..wh..opq") hide
 * what is below them, anything else replaces what is below it.
 * @root: NULL for the first layer; set to the tree
 * Return: 0 or -errno with @err.
 */
int hsq_tree_merge(struct hsq_node **root, int layer, struct hutch_err *err);

/** hsq_tree_sort() - sort every directory's entries by name (byte order). */
void hsq_tree_sort(struct hsq_node *n);

/** hsq_tree_free() - free @n and everything below it (NULL is fine). */
void hsq_tree_free(struct hsq_node *n);

/**
 * hsq_write() - write @root as a squashfs image to @path (made or
 * truncated), deterministically: the same tree gives the same bytes
 * @mtime: the superblock's modification time
 * Return: 0 or -errno with @err.
 */
int hsq_write(struct hsq_node *root, const char *path, uint32_t mtime,
	      struct hutch_err *err);

/* ---- the trailer (trailer.c) -------------------------------------------- */

#define HSQ_MAGIC	"hutch-squashfs1"
#define HSQ_FOOTER_SIZE 64

/**
 * struct hsq_footer - the last 64 bytes of a hutch .sqsh file
 * @magic:       HSQ_MAGIC, NUL-padded to 16 bytes
 * @fs_size:     bytes of the squashfs image (padded to 4 KiB) at offset 0
 * @config_size: bytes of the JSON document that follows it
 * @digest:      sha256 of everything before the footer
 * Integers are little-endian.
 */
struct hsq_footer {
	char magic[16];
	uint64_t fs_size;
	uint64_t config_size;
	unsigned char digest[32];
};

/** hsq_footer_parse() - check and decode the footer of a file of @size
 * bytes (@buf: its last HSQ_FOOTER_SIZE bytes). */
int hsq_footer_parse(const unsigned char *buf, uint64_t size,
		     struct hsq_footer *out, const char *what,
		     struct hutch_err *err);

/** hsq_footer_encode() - @f into @buf (HSQ_FOOTER_SIZE bytes). */
void hsq_footer_encode(const struct hsq_footer *f, unsigned char *buf);

/**
 * hsq_append_trailer() - append @config (JSON) and the footer to the
 * squashfs image in @fd, padding it to 4 KiB first.
 */
int hsq_append_trailer(int fd, const char *config, size_t len,
		       struct hutch_err *err);

/**
 * hsq_verify() - check the .sqsh file open on @fd (named @what in errors):
 * footer, sizes and digest; on success *@config is its JSON document
 * (owned, NUL-terminated) and *@fs_size the squashfs image's size.
 */
int hsq_verify(int fd, const char *what, char **config, uint64_t *fs_size,
	       struct hutch_err *err);

/** hsq_read_footer() - the footer of the file on @fd, checked against its
 * size (not the digest). */
int hsq_read_footer(int fd, const char *what, struct hsq_footer *f,
		    struct hutch_err *err);

/**
 * hsq_verify_cached() - hsq_verify() without its outputs, once per file:
 * when @cache (a directory, made if missing) holds an entry for the file
 * on @fd with the same device, inode, size, mtime, ctime and footer
 * digest, the file is not read again; otherwise it is verified and, when
 * its stat did not change meanwhile and its ctime is at least
 * HSQ_SETTLE_S seconds old, the entry is written (tmp+rename). @cache NULL:
 * plain hsq_verify(). (verified.c)
 */
int hsq_verify_cached(int fd, const char *what, const char *cache,
		      struct hutch_err *err);

#define HSQ_SETTLE_S 2

/**
 * hsq_verified_prune() - remove the entries of the verified cache @dir
 * whose file is gone or is another file now, and the lock files without
 * an entry, each only while nobody holds its lock (verified.c)
 * Return: 0 with *@removed set (files of entries and orphan locks), or
 * -errno with @err.
 */
int hsq_verified_prune(const char *dir, size_t *removed, struct hutch_err *err);

/** hsq_read_document() - the JSON document of the .sqsh on @fd, the footer
 * checked but not the digest (owned, NUL-terminated). */
int hsq_read_document(int fd, const char *what, char **doc,
		      struct hutch_err *err);

/**
 * hsq_check_image() - open the squashfs image of @size bytes in @fd with
 * libsquashfs and walk its whole tree (every inode, directory, xattr and
 * data block), so that a corrupt image fails here rather than in a
 * container; counts the objects into *@count when not NULL.
 */
int hsq_check_image(int fd, uint64_t size, const char *what, size_t *count,
		    struct hutch_err *err);

/**
 * hsq_unpack() - as hsq_check_image(), and make every object in the empty
 * directory @dirfd with its owner, mode, xattrs and time (devices and
 * sockets skipped).
 */
int hsq_unpack(int fd, uint64_t size, const char *what, int dirfd,
	       struct hutch_err *err);

/**
 * hsq_mount() - verify the .sqsh @file and serve it read-only on @mnt
 * through libfuse3 until the mount goes; write a byte to @ready (when >= 0)
 * once it is mounted; @cache: hsq_verify_cached()'s; with @exit_with_ns, leave the mount namespace first
 * so that the mount ends with it.
 */
int hsq_mount(const char *file, const char *mnt, const char *cache, int ready,
	      bool exit_with_ns, struct hutch_err *err);

#endif
