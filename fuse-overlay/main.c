// SPDX-License-Identifier: Apache-2.0
/* main.c - hutch-overlay: a copy-on-write overlay filesystem over FUSE
 *
 * Theory of operation
 * -------------------
 * hutch-overlay merges read-only lower directories and an optional
 * writable upper directory into one tree, with the semantics of the
 * kernel's overlayfs, for places where that cannot be mounted (kernels
 * before 5.11 in a user namespace, NFS/Lustre/GPFS homes) and as Podman's
 * mount_program. It speaks libfuse's low-level API.
 *
 * Layers. Layer 0 is the upper when there is one, then the lowers top
 * first (layers.c). Each layer is a directory descriptor; every real path
 * is resolved relative to one, never from "/". Paths may be of any length
 * counted from the overlay's root (built on the heap, sized to the path):
 * one too long for a system call is resolved from its parent, opened one
 * component at a time without following symlinks (at.c). What we write to
 * the upper follows the kernel's on-disk format (0/0 character devices for
 * whiteouts, user.overlay.opaque=y for opaque directories), so the same
 * upper directory can later be mounted by the kernel, and we read the OCI
 * ".wh." forms and the xattr whiteouts too (whiteout.c). In an upper that
 * holds only the kernel's markers, ".wh." names are ordinary, as on the
 * kernel's overlay; in lowers, and in an upper written with OCI markers,
 * they stay markers. A 0/0 device cannot be made through the mount (EPERM,
 * as the kernel answers): it would be a whiteout.
 *
 * Nodes. A FUSE inode is a struct ovl_node (inode.c), keyed by the
 * (st_dev, st_ino) of its top real object, named by (parent, name) pairs
 * from which paths are rebuilt, and referenced by the kernel (lookups,
 * forgets) and by its children's names. Directories carry the list of
 * lower layers merged under them (found at lookup, stopping at opaque
 * ones) and an index of what those lowers hold (dindex.c), built once on
 * the first lookup or listing: lower layers never change, so a lookup in
 * a directory of a many-layer image costs one fstatat in the upper and a
 * hash probe, whatever the number of layers (lookup.c).
 *
 * Changes. Anything that changes a lower object copies it up first
 * (copyup.c): built in the workdir, renamed into place. Removing a name
 * that lowers also hold leaves a whiteout; creating over a whiteout
 * replaces it atomically (ops_ns.c). A merged or lower-only directory is
 * renamed as the kernel does with redirect_dir=on (ops_rename.c): the
 * directory alone is copied up, renamed, and marked with
 * user.overlay.redirect naming where its lowers are ("/old/path", or the
 * old name within the same parent); its old name gets a whiteout. Paths
 * in the lowers are then rebuilt through the nearest renamed directory
 * (ovl_node_lpath()), and lookups follow the redirects they find in the
 * upper (lookup.c). That takes -o redirect_dir=on; by default (as the
 * kernel's), without user xattrs in the upper or with OCI markers, such
 * renames are EXDEV and mv(1) copies. Redirects in lower layers are not
 * followed.
 * Listings merge the upper's entries with the index's (dir.c) into a
 * snapshot per open directory, so offsets are stable.
 *
 * Speed. The session is multithreaded. Entries that only lowers hold are
 * cached by the kernel for a day (they cannot change but through us, and
 * the kernel sees every change we make); upper ones for a second by
 * default. readdirplus fills the kernel's caches in the same round trip
 * as a listing; listings and page caches are kept across opens; the
 * writeback cache batches small writes. Locks stay in the kernel.
 *
 * Memory. A cached inode costs about 290 bytes (a 200,000-entry walk:
 * 59 MB): the node with its first name in the same allocation, its share
 * of the node table, and its entry in its directory's index, whose names
 * the directory's listing points at rather than copies. Freed memory is
 * given back: one malloc arena (per-thread arenas kept what FORGETs freed
 * and grew with every walk) and malloc_trim() after every 8,192 nodes
 * freed (inode.c, ovl_mem_release()).
 *
 * Locking: fs->tree_lock guards the node table and names (short, no
 * system calls); fs->ns_lock serialises the final step of each change to
 * the upper's namespace; each node's lock serialises its copy-up and the
 * building of its index and listing. See struct ovl_node.
 *
 * Files: main.c (this), options.c (command line), idmap.c, layers.c,
 * inode.c, lookup.c, dindex.c, dir.c, attr.c, at.c, copyup.c, whiteout.c,
 * ops_attr.c, ops_file.c, ops_ns.c, ops_rename.c, ops_xattr.c, session.c.
 */

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

/* Every open file of the container is one of ours: take what we may. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int fail(const struct hutch_err *err)
{
	fprintf(stderr, "hutch-overlay: %s\n", err->msg);
	return 1;
}

int main(int argc, char **argv)
{
	struct ovl_opts opts;
	struct ovl_fs fs = { 0 };
	struct hutch_err err = { 0 };
	int r;

	cmn_log_init("hutch-overlay");
	if (ovl_opts_parse(argc, argv, &opts, &err) < 0) {
		ovl_opts_free(&opts);
		return fail(&err);
	}
	if (opts.help || opts.version) {
		if (opts.help)
			fputs(ovl_usage(), stdout);
		else
			printf("hutch-overlay version %s\nlibfuse: %s\n",
			       cmn_version_string(), fuse_pkgversion());
		ovl_opts_free(&opts);
		return 0;
	}
	if (opts.debug)
		cmn_log_level = CMN_LOG_DEBUG;
	umask(0); /* modes come from the requests, already masked */
	raise_nofile();
	/* glibc gives each worker thread its own arena: a node freed by one
	 * thread's FORGET stays in that arena, and the next walk allocates
	 * in another, so the daemon grew by its tree on every walk (129 MB,
	 * then 247, 364 MB). One arena (tcache still spares most locking)
	 * keeps freed memory reusable; ovl_mem_release() returns it. */
	mallopt(M_ARENA_MAX, 1);
	r = ovl_fs_setup(&fs, &opts, &err);
	if (r == 0)
		r = ovl_session_run(&fs, &err);
	ovl_fs_teardown(&fs);
	ovl_opts_free(&opts);
	return r < 0 ? fail(&err) : 0;
}
