/* SPDX-License-Identifier: Apache-2.0 */
/* unpack-state.h - what unpack.c (the stream, names, order) and
 * unpack-entry.c (writing one entry) share; private to them. The theory of
 * operation is at the top of unpack.c.
 */
#ifndef HUTCH_IMAGE_UNPACK_STATE_H
#define HUTCH_IMAGE_UNPACK_STATE_H

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "common/common.h"
#include "image/image.h"
#include "image/unpack-internal.h"

/* A name shown in a message is cut after this many bytes. */
#define SHOW_MAX 200

/* OCI whiteout names. */
#define WH	".wh."
#define WH_LEN	4
#define WH_OPQ	".wh..wh..opq"
#define WH_META ".wh..wh."

/* A directory whose mode and times are set at the end. */
struct dir_fix {
	size_t name;	/* offset of its path in unpack.names */
	unsigned depth; /* its number of components */
	size_t seq;	/* entry order: later entries win */
	mode_t mode;
	struct timespec ts[2];
};

struct unpack {
	int root; /* borrowed: the destination directory */
	bool keep_owner;
	bool oci_whiteouts;
	uint64_t max_size;		/* 0: no limit */
	struct img_unpack_skips *skips; /* NULL: devices are refused */
	struct hutch_err *err;
	uid_t euid;   /* what a new entry belongs to ... */
	gid_t egid;   /* ... unless the root is setgid: */
	bool own_ids; /* new entries get euid:egid */
	int umask;    /* the process's umask, -1 when unknown */

	struct archive *outer;	/* owned: the blob, decompressed */
	struct archive *inner;	/* owned: the tar parser */
	struct img_sha256 *sha; /* owned */
	uint64_t size;		/* uncompressed bytes hashed */
	bool outer_eof;		/* the outer stream is used up */
	int outer_errno;	/* set when the outer reader failed */
	char outer_msg[256];

	struct archive_entry *e; /* borrowed: the entry being written */
	size_t seq;
	char path[PATH_MAX];		 /* its cleaned name */
	size_t dirlen;			 /* path[0..dirlen) is its parent */
	const char *name;		 /* its last component, inside path */
	char shown[2][SHOW_MAX * 4 + 8]; /* show()'s two buffers */
	int shown_i;

	char parent[PATH_MAX]; /* the parent held open in parent_fd */
	int parent_fd;	       /* owned, -1 when none */
	bool parent_stale;     /* parent_fd may no longer be at parent */

	struct dir_fix *dirs; /* owned */
	size_t n_dirs, cap_dirs;
	char *names; /* owned: NUL-separated paths of dirs */
	size_t names_len, names_cap;
};

/* ---- unpack.c --------------------------------------------------------- */

/** img_upk_show() - @s escaped and cut for a one-line message; one of two
 * buffers in @u, so that a message can show two names. */
const char *img_upk_show(struct unpack *u, const char *s);

/** img_upk_clean_name() - clean a name from the tar (@what: "entry",
 * "hardlink target") into @out (PATH_MAX); -errno with the message. */
int img_upk_clean_name(struct unpack *u, const char *raw, char *out,
		       const char *what);

/** img_upk_stream_error() - a libarchive failure as -errno and message. */
int img_upk_stream_error(struct unpack *u, struct archive *a);

/** img_upk_defer_dir() - set the entry's (a directory's) mode and times at
 * the end. */
int img_upk_defer_dir(struct unpack *u, mode_t mode,
		      const struct timespec ts[2]);

/* The entry's cleaned name, for messages. */
static inline const char *img_upk_entry_shown(struct unpack *u)
{
	return img_upk_show(u, u->path);
}

/* ---- unpack-entry.c ------------------------------------------------------ */

/**
 * img_upk_write() - write the entry @u->e (not a whiteout marker) as
 * @u->name in the directory @pfd (borrowed; resolved in the root).
 * Return: 0 or -errno with the message filled.
 */
int img_upk_write(struct unpack *u, int pfd);

/** img_upk_whiteout() - the entry ".wh.NAME" in @pfd as an overlay
 * whiteout for NAME. */
int img_upk_whiteout(struct unpack *u, int pfd);

/** img_upk_opaque() - the entry ".wh..wh..opq": its directory made opaque. */
int img_upk_opaque(struct unpack *u);

#endif
