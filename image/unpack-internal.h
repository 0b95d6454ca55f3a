/* SPDX-License-Identifier: Apache-2.0 */
/* unpack-internal.h - defensive unpacking of layer tars; private to image/ */
#ifndef HUTCH_IMAGE_UNPACK_INTERNAL_H
#define HUTCH_IMAGE_UNPACK_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "image/image.h"

/**
 * struct img_unpack_opts - how a layer is written
 * @keep_owner:  chown entries to the tar's uid/gid (the caller runs in a
 *               user namespace that maps them); false: leave everything
 *               owned by the caller (single id mapping) and keep modes
 * @oci_whiteouts: keep OCI ".wh.NAME" and ".wh..wh..opq" markers as files
 *               instead of converting them to overlay whiteouts (0/0
 *               character devices, user.overlay.opaque="y"); the caller sets
 *               it where mknod or user xattrs fail (NFS) — see
 *               img_unpack_probe()
 * @max_size:    refuse a stream that unpacks to more bytes than this, with
 *               -EFBIG (a decompression bomb); 0: no limit
 * @skips:       NULL: device nodes (other than whiteouts) refuse the layer;
 *               else they are skipped and counted here
 */
struct img_unpack_opts {
	bool keep_owner;
	bool oci_whiteouts;
	uint64_t max_size;
	struct img_unpack_skips *skips;
};

/**
 * struct img_unpack_skips - the device nodes a layer had and img_unpack()
 * left out (a rootless container cannot make them, and gets its /dev from
 * hutch), for one warning that says so
 * @devices: how many
 * @first:   the first one's cleaned path
 */
struct img_unpack_skips {
	uint64_t devices;
	char first[256];
};

/**
 * img_unpack() - unpack one layer tar into an empty directory
 * @fd:      the layer blob: gzip, zstd or plain tar (detected from content)
 * @dirfd:   the empty destination directory (the layer's diff/)
 * @diff_id: set to the SHA-256 of the uncompressed tar stream
 * @size:    set to the number of bytes of the uncompressed stream
 *
 * Hostile input is refused, never partly honoured: entries with ".."
 * components, absolute paths (after Docker's leading-"/" cleaning),
 * anything that would be written through a symlink or resolved outside
 * @dirfd, hardlinks whose target leaves the layer or does not exist in it,
 * device nodes, fifos are allowed; setuid/setgid bits are kept only with
 * @keep_owner. Whiteouts are converted as @opts says. Every path is resolved
 * relative to @dirfd (cmn_open_in_root and *at() calls), never by string
 * concatenation.
 *
 * Return: 0, or -errno with @err naming the entry and why (a corrupt or
 * truncated stream is -EBADMSG). On failure the directory's content is
 * undefined; the caller deletes it.
 */
int img_unpack(int fd, int dirfd, const struct img_unpack_opts *opts,
	       struct img_digest *diff_id, uint64_t *size,
	       struct hutch_err *err);

/**
 * img_unpack_probe() - can @dirfd's filesystem hold overlay whiteouts
 * (mknod of 0/0 and user.overlay.* xattrs) for the calling process?
 */
bool img_unpack_probe(int dirfd);

#endif
