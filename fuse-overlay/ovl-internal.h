/* SPDX-License-Identifier: Apache-2.0 */
/* ovl-internal.h - what the files of fuse-overlay/ share; private to it
 *
 * The theory of operation is in main.c. In short: a struct ovl_fs holds
 * the layers (upper first, then the lowers top-down), the node table and
 * the options; a struct ovl_node is one FUSE inode, named by its parent
 * and a name (paths are rebuilt from that chain and resolved relative to
 * each layer's root descriptor); directories carry a struct ovl_dir with
 * the lower layers merged below them and a lazily built, immutable index
 * of their lower entries (struct ovl_dindex).
 */
#ifndef HUTCH_OVL_INTERNAL_H
#define HUTCH_OVL_INTERNAL_H

#define FUSE_USE_VERSION 35

#include <dirent.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/common.h"

/* The kernel's overlayfs accepts at most 500 lower layers; so do we. */
#define OVL_MAX_LAYERS 500
/* The upper layer, when there is one, is layer 0. */
#define OVL_UPPER 0
/* A whiteout in a directory index (not a d_type the kernel uses). */
#define OVL_DT_WHT 255

/* ---- options (options.c) ------------------------------------------------ */

/** struct ovl_idmap - an id mapping as in uidmapping=C:H:N[:C:H:N...] */
struct ovl_idmap {
	unsigned n;
	struct {
		uint32_t inner; /* the id seen through the mount */
		uint32_t outer; /* the id stored on disk */
		uint32_t count;
	} r[64];
};

enum ovl_rdp {
	OVL_RDP_YES,  /* every listing carries attributes (readdirplus) */
	OVL_RDP_AUTO, /* the kernel decides per directory */
	OVL_RDP_NO,
};

/**
 * struct ovl_opts - the parsed command line
 *
 * Strings are owned (free with ovl_opts_free()). Mount options that FUSE
 * itself understands (ro, nodev, noatime, ...) are collected in @fuse_opts
 * and handed to libfuse unchanged.
 */
struct ovl_opts {
	char **lowerdirs; /* owned strv, top layer first */
	char *upperdir;	  /* owned, NULL for a read-only mount */
	char *workdir;	  /* owned */
	char *mountpoint; /* owned */
	char *fuse_opts;  /* owned, comma-separated, may be NULL */
	struct ovl_idmap uidmap, gidmap;
	long squash_uid, squash_gid; /* -1: no squashing */
	double upper_timeout; /* seconds the kernel caches upper entries */
	double lower_timeout; /* ... and entries only lowers hold */
	unsigned threads;     /* worker threads at most */
	enum ovl_rdp readdirplus;
	int ready_fd; /* -1: none */
	bool foreground, debug, readonly, single_thread;
	bool static_nlink, fsync, writeback, splice_read, splice_write;
	bool exit_with_mntns, allow_other, oci_whiteouts;
	bool no_redirect; /* redirect_dir=off: merged directories stay put */
	bool help, version;
};

/**
 * ovl_opts_parse() - parse hutch-overlay's command line
 * @argv: as main() gets it
 *
 * Return: 0, or -errno with @err naming the bad option and the fix.
 */
int ovl_opts_parse(int argc, char **argv, struct ovl_opts *o,
		   struct hutch_err *err);
/** ovl_opts_free() - release what ovl_opts_parse() allocated. */
void ovl_opts_free(struct ovl_opts *o);
/** ovl_usage() - the --help text. */
const char *ovl_usage(void);

/* ---- id mappings (idmap.c) --------------------------------------------- */

/** ovl_idmap_parse() - parse "C:H:N[:C:H:N...]"; -EINVAL on junk. */
int ovl_idmap_parse(const char *s, struct ovl_idmap *map);
/** ovl_idmap_in() - on-disk id -> id seen through the mount (65534 when
 * unmapped). An empty map is the identity. */
uint32_t ovl_idmap_in(const struct ovl_idmap *map, uint32_t outer);
/** ovl_idmap_out() - id seen through the mount -> on-disk id, or
 * (uint32_t)-1 when unmapped. An empty map is the identity. */
uint32_t ovl_idmap_out(const struct ovl_idmap *map, uint32_t inner);

/* ---- whiteouts and opaque markers (whiteout.c) ------------------------- */

#define OVL_WH_PREFIX	 ".wh."
#define OVL_WH_OPQ	 ".wh..wh..opq"
#define OVL_XATTR_USER	 "user.overlay."
#define OVL_XATTR_TRUST	 "trusted.overlay."
#define OVL_XATTR_ESCAPE "overlay."
/* On an upper's root: it holds OCI ".wh." markers (written with
 * oci_whiteouts), so ".wh." names there are never the user's. */
#define OVL_XATTR_OCI "user.hutch.oci_whiteouts"

/** ovl_is_wh_name() - is @name reserved for OCI markers (".wh.*")? */
bool ovl_is_wh_name(const char *name);
/** ovl_is_whiteout_stat() - a 0/0 character device (overlay whiteout). */
bool ovl_is_whiteout_stat(const struct stat *st);

/* ---- layers and the filesystem (layers.c) ------------------------------ */

struct ovl_layer {
	int fd;	       /* owned: O_DIRECTORY descriptor of the layer's root */
	char *path;    /* owned: its absolute path, for messages */
	dev_t dev;     /* st_dev of the root */
	unsigned fsix; /* index of that filesystem among the layers' */
};

struct ovl_node;

/**
 * struct ovl_fs - one mounted overlay
 *
 * Everything above @tree_lock is set up before the session starts and
 * read-only afterwards.
 */
struct ovl_fs {
	struct ovl_opts *opts;	  /* borrowed from main() */
	struct ovl_layer *layers; /* owned: [0] upper if @has_upper, lowers */
	unsigned nlayers;
	bool has_upper;
	int workfd;	   /* owned: workdir/work, -1 without an upper */
	bool wh_chardev;   /* can create 0/0 whiteouts in the upper */
	bool opaque_xattr; /* can set user.overlay.opaque in the upper */
	/* The upper holds the kernel's markers only (0/0 devices, xattrs):
	 * ".wh." names there are ordinary names, as on kernel overlayfs. */
	bool plain_wh_names;
	bool trusted_xattr; /* may read trusted.overlay.* (real root) */
	/* Merged and lower-only directories may be renamed: the upper takes
	 * user.overlay.redirect (the kernel's redirect_dir=on); else EXDEV */
	bool redirect_dir;
	bool no_opendir;	 /* the kernel opens directories without us */
	unsigned nfs;		 /* distinct filesystems among the layers */
	struct fuse_session *se; /* for notifications; NULL when not mounted */
	uid_t euid;		 /* the daemon's ids */
	gid_t egid;

	pthread_mutex_t tree_lock; /* see struct ovl_node */
	/* Serialises the final steps of every change to the upper's
	 * namespace (create, remove, rename, the rename that ends a copy-up)
	 * with the name updates in the node table. Never held while copying
	 * up or building an index; only tree_lock is taken inside it. */
	pthread_mutex_t ns_lock;
	struct ovl_node **table; /* tree_lock: the node hash table */
	size_t table_size, table_used;
	struct ovl_node *root;	   /* owned */
	struct ovl_inomap *inomap; /* tree_lock: st_ino kept over copy-up */
	atomic_ulong rename_gen;   /* bumped by every rename */
	atomic_ulong tmp_counter;  /* names of temporary files in workdir */
	atomic_ulong live_nodes;   /* for the debug log and leak checks */
	atomic_ulong freed_nodes;  /* since memory was last returned */
};

/**
 * ovl_fs_setup() - open and check the layers, probe the upper's features
 *
 * Return: 0, or -errno with @err saying which directory is wrong and why.
 */
int ovl_fs_setup(struct ovl_fs *fs, struct ovl_opts *o, struct hutch_err *err);
/** ovl_fs_teardown() - free the node table and close the layers. */
void ovl_fs_teardown(struct ovl_fs *fs);

/** ovl_upper_wh_name() - is @name an OCI marker where the upper is
 * concerned (false for every name when fs->plain_wh_names)? */
bool ovl_upper_wh_name(const struct ovl_fs *fs, const char *name);

/** ovl_st_ino() - the inode number reported for a real (dev, ino). */
uint64_t ovl_st_ino(const struct ovl_fs *fs, unsigned layer, ino_t ino);

/* ---- nodes (inode.c) ---------------------------------------------------- */

struct ovl_alias {
	struct ovl_node *parent; /* holds a reference on it */
	char *name;		 /* owned */
	struct ovl_alias *next;	 /* owned */
};

struct ovl_dindex;
struct ovl_listing;

/**
 * struct ovl_dir - what a directory node knows about its layers
 * @nlower:  number of lower layers merged below the top one (immutable)
 * @lower:   owned: their indices, top-down, the stack ends at the first
 *           opaque layer or non-directory (immutable)
 * @upper_opaque: the upper directory hides all lowers (tree_lock)
 * @upper_wh: the upper directory may hold ".wh.NAME" files (tree_lock)
 * @upper_xwh: the upper directory holds xattr whiteouts (tree_lock)
 * @version: bumped on every change of the merged listing (tree_lock)
 * @redirect: owned: where the lowers are, from a layer's root, when the
 *           directory was renamed (an overlay.redirect xattr), resolved
 *           and without the leading '/'; NULL: at its own path (tree_lock)
 * @redirect_abs: the xattr holds the absolute form ("/a/b", else "b")
 * @index:   the lower entries, built once under the node's lock, then
 *           immutable and read without locks
 * @listing: the last merged listing, refcounted (node lock)
 */
struct ovl_dir {
	uint16_t nlower;
	uint16_t *lower;
	bool upper_opaque, upper_wh, upper_xwh;
	bool redirect_abs;
	char *redirect;
	uint64_t version;
	struct ovl_dindex *_Atomic index;
	struct ovl_listing *listing;
};

/**
 * struct ovl_node - one FUSE inode
 *
 * Locking: fs->tree_lock protects the table, the keys, the reference
 * counts, the names (parent, name, aliases) and @layer; it is held only
 * for short, syscall-free sections. @lock serialises copy-up of this node
 * and the building of its directory index and listing; lock order is
 * child before parent, and tree_lock is always taken last.
 *
 * The FUSE node id is the node's address (the root's is FUSE_ROOT_ID).
 */
struct ovl_node {
	struct ovl_node *hnext;	  /* tree_lock: hash chain */
	dev_t dev;		  /* tree_lock: key: top real object */
	ino_t ino;		  /* tree_lock */
	struct ovl_node *kparent; /* key: parent, for lower hardlinks keyed
				   * by name (NULL otherwise) */
	uint64_t st_ino;	  /* reported inode number (immutable) */
	uint64_t nlookup;	  /* tree_lock: kernel references */
	uint32_t refs;		  /* tree_lock: aliases of children */
	/* The next three fill 8 bytes: with the first name in the same
	 * allocation, a node then fits a 192-byte malloc chunk. */
	int16_t layer;		   /* tree_lock: layer of the top object */
	uint8_t type;		   /* DT_* of the object (immutable) */
	bool hashed;		   /* tree_lock: findable by key */
	struct ovl_node *parent;   /* tree_lock: first name, NULL if unlinked */
	char *name;		   /* tree_lock, owned */
	struct ovl_alias *aliases; /* tree_lock, owned: more upper names */
	struct ovl_dir *dir;	   /* owned, directories only */
	struct ovl_fh *fhs;	   /* tree_lock: its open files */
	pthread_mutex_t lock;	   /* see above */
};

/**
 * struct ovl_found - what a lookup found for one name
 * @layer: layer holding the top object
 * @st:    its stat (real ids)
 * @nlower, @lower: directories: the lower layers merged below, top-down
 * @upper_opaque, @upper_wh, @upper_xwh: directories in the upper: markers
 * @redirect, @redirect_abs: directories in the upper: the resolved redirect
 *         ("" for none), as in struct ovl_dir
 */
struct ovl_found {
	int layer;
	struct stat st;
	uint16_t nlower;
	bool upper_opaque, upper_wh, upper_xwh, redirect_abs;
	char redirect[PATH_MAX];
	uint16_t lower[OVL_MAX_LAYERS];
};

/** ovl_fs_of() - the filesystem of a request. */
static inline struct ovl_fs *ovl_fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/** ovl_node_of() - the node behind a FUSE node id. */
struct ovl_node *ovl_node_of(struct ovl_fs *fs, fuse_ino_t ino);
/** ovl_node_id() - the FUSE node id of @n. */
fuse_ino_t ovl_node_id(const struct ovl_fs *fs, const struct ovl_node *n);

/**
 * ovl_node_root() - create the root node from what the layers hold
 * Return: 0 or -errno.
 */
int ovl_node_root(struct ovl_fs *fs, const struct ovl_found *f);

/**
 * ovl_node_obtain() - the node for what a lookup of @name in @parent found
 *
 * Finds the node by key (or creates it), records (@parent, @name) as one of
 * its names and takes one kernel reference (nlookup). Takes tree_lock.
 * Return: the node, or NULL with errno set (ENOMEM).
 */
struct ovl_node *ovl_node_obtain(struct ovl_fs *fs, struct ovl_node *parent,
				 const char *name, const struct ovl_found *f);
/** ovl_node_forget() - drop @n kernel references; frees unused nodes. */
void ovl_node_forget(struct ovl_fs *fs, struct ovl_node *n, uint64_t n_refs);
/** ovl_mem_release() - after FORGETs: once enough nodes were freed since
 * the last time, hand the heap's free memory back to the system. */
void ovl_mem_release(struct ovl_fs *fs);
/** ovl_node_free_all() - free every node (at unmount). */
void ovl_node_free_all(struct ovl_fs *fs);

/*
 * Paths relative to a layer root are built into heap buffers sized to the
 * path (no maximum; the caller frees them: cleanup_free), and the ovl_*at()
 * wrappers below resolve one longer than a system call takes.
 */

/**
 * ovl_node_path_locked() - @n's path relative to a layer root, into a new
 * buffer *@out ("." for the root). Caller holds tree_lock and frees *@out.
 * Return: 0, -ENOENT for an unlinked node, -ENOMEM (*@out is then NULL).
 */
int ovl_node_path_locked(struct ovl_node *n, char **out);
/** ovl_node_path() - the same, taking tree_lock; also returns @layer, and
 * then the path is the one in @layer (ovl_node_lpath() for a lower). */
int ovl_node_path(struct ovl_fs *fs, struct ovl_node *n, char **out,
		  int *layer);
/**
 * ovl_node_lpath_locked() - @n's path in the lower layers: its own path,
 * except below (or at) a renamed directory, whose redirect replaces the
 * part of the path up to it. Caller holds tree_lock. Return: as
 * ovl_node_path_locked().
 */
int ovl_node_lpath_locked(struct ovl_node *n, char **out);
/** ovl_node_lpath() - the same, taking tree_lock. */
int ovl_node_lpath(struct ovl_fs *fs, struct ovl_node *n, char **out);
/** ovl_node_set_redirect() - the directory @n's lowers are at @lpath
 * (@abs: written in the absolute form). Return: 0 or -ENOMEM. */
int ovl_node_set_redirect(struct ovl_fs *fs, struct ovl_node *n,
			  const char *lpath, bool abs);
/** ovl_path_join() - "@dir/@name" (just @name where @dir is ".") into a
 * new buffer *@out. Return: 0 or -ENOMEM. */
int ovl_path_join(const char *dir, const char *name, char **out);
/** ovl_child_path() - "parent-path/name" into a new buffer; takes
 * tree_lock. Return: as ovl_node_path(). */
int ovl_child_path(struct ovl_fs *fs, struct ovl_node *parent, const char *name,
		   char **out);
/** ovl_node_layer() - @n's top layer, under tree_lock. */
int ovl_node_layer(struct ovl_fs *fs, struct ovl_node *n);
/** ovl_node_is_upper() - is @n's top object in the upper layer? */
bool ovl_node_is_upper(struct ovl_fs *fs, struct ovl_node *n);

/**
 * ovl_node_set_upper() - @n was copied up: it now lives in the upper as
 * (@dev, @ino); rekeys it. Takes tree_lock.
 */
void ovl_node_set_upper(struct ovl_fs *fs, struct ovl_node *n, dev_t dev,
			ino_t ino);
/** ovl_node_unlink_name() - (@parent, @name) no longer names @n. */
void ovl_node_unlink_name(struct ovl_fs *fs, struct ovl_node *n,
			  struct ovl_node *parent, const char *name);
/** ovl_node_add_name() - (@parent, @name) is a further (upper) name of @n.
 * Return: 0 or -ENOMEM. */
int ovl_node_add_name(struct ovl_fs *fs, struct ovl_node *n,
		      struct ovl_node *parent, const char *name);
/** ovl_node_rename() - (@op, @oname) of @n becomes (@np, @nname). */
int ovl_node_rename(struct ovl_fs *fs, struct ovl_node *n, struct ovl_node *op,
		    const char *oname, struct ovl_node *np, const char *nname);
/** ovl_node_parent_get() - @n's (first) parent with a reference taken and
 * its name copied into @name; NULL when @n is unlinked. Drop the reference
 * with ovl_node_put(). */
struct ovl_node *ovl_node_parent_get(struct ovl_fs *fs, struct ovl_node *n,
				     char *name, size_t size);
void ovl_node_put(struct ovl_fs *fs, struct ovl_node *p);
/** ovl_node_has_name() - is (@parent, @name) one of @n's names? */
bool ovl_node_has_name(struct ovl_fs *fs, struct ovl_node *n,
		       struct ovl_node *parent, const char *name);
/** ovl_inomap_free() - at teardown. */
void ovl_inomap_free(struct ovl_fs *fs);
/** ovl_dir_changed() - the merged listing of @dir changed. */
void ovl_dir_changed(struct ovl_fs *fs, struct ovl_node *dir);
/** ovl_inomap_add() - keep reporting @st_ino for upper (@dev, @ino). */
void ovl_inomap_add(struct ovl_fs *fs, dev_t dev, ino_t ino, uint64_t st_ino);
/** ovl_inomap_get() - the st_ino kept for upper (@dev, @ino), or 0. */
uint64_t ovl_inomap_get(struct ovl_fs *fs, dev_t dev, ino_t ino);

/* ---- directory indexes (dindex.c) ------------------------------------- */

/**
 * struct ovl_dent - one name in a directory's lower layers
 * @type: DT_* of the top object, or OVL_DT_WHT when a whiteout hides it
 * @layer: the layer holding the top object (or the whiteout)
 * @dl_head: directories: first link of the list of lower layers holding
 *           the name as a directory (0: none)
 */
struct ovl_dent {
	uint32_t name_off;
	uint32_t hash;
	uint64_t ino;
	uint32_t dl_head, dl_tail;
	uint16_t layer;
	uint8_t type;
	bool stop;
};

struct ovl_dindex {
	struct ovl_dent *ents; /* owned, in insertion order */
	uint32_t n, cap;
	uint32_t *slots; /* owned: open addressing, entry index + 1 */
	uint32_t nslots;
	char *arena; /* owned: the names */
	size_t alen, acap;
	struct {
		uint16_t layer;
		uint32_t next;
	} * dl; /* owned: links of the directory layer lists; [0] unused */
	uint32_t ndl, dlcap;
};

/** ovl_dindex_new() - an empty index; NULL with errno on failure. */
struct ovl_dindex *ovl_dindex_new(void);
void ovl_dindex_free(struct ovl_dindex *ix);
/** ovl_dindex_find() - the entry for @name, or NULL. */
const struct ovl_dent *ovl_dindex_find(const struct ovl_dindex *ix,
				       const char *name);
static inline const char *ovl_dent_name(const struct ovl_dindex *ix,
					const struct ovl_dent *e)
{
	return ix->arena + e->name_off;
}
/** ovl_dindex_add_object() - @name (DT_* @type) exists in @layer. */
int ovl_dindex_add_object(struct ovl_dindex *ix, const char *name, uint8_t type,
			  uint64_t ino, uint16_t layer);
/** ovl_dindex_add_whiteout() - @name is whited out in @layer. */
int ovl_dindex_add_whiteout(struct ovl_dindex *ix, const char *name,
			    uint16_t layer);
/** ovl_dindex_dir_layers() - copy the directory layers of @e into @out
 * (at most @max); returns the count. */
unsigned ovl_dindex_dir_layers(const struct ovl_dindex *ix,
			       const struct ovl_dent *e, uint16_t *out,
			       unsigned max);
/**
 * ovl_dindex_scan_layer() - add the entries of one layer's directory
 * @fd: the directory, open for reading (consumed: closed)
 * @last: the bottom layer of the stack (its opaque marker does not matter)
 * @opaque: set when the directory is opaque in this layer
 * Return: 0 or -errno.
 */
int ovl_dindex_scan_layer(struct ovl_fs *fs, struct ovl_dindex *ix, int fd,
			  uint16_t layer, bool last, bool *opaque);

/* ---- lookup (lookup.c) -------------------------------------------------- */

/** ovl_dir_index() - @dir's lower index, built on first use. */
int ovl_dir_index(struct ovl_fs *fs, struct ovl_node *dir,
		  const struct ovl_dindex **out);
/**
 * ovl_find() - look @name up in @dir through all layers
 * Return: 0 with @f filled, -ENOENT (also for whiteouts), -errno.
 */
int ovl_find(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
	     struct ovl_found *f);
/**
 * ovl_lookup_entry() - ovl_find() plus the node and the FUSE entry reply
 * Takes a kernel reference on the node on success.
 */
int ovl_lookup_entry(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
		     struct fuse_entry_param *e);
/**
 * ovl_lookup_listed() - ovl_lookup_entry() for a name a listing of @dir
 * showed from the lower @layer, where @dirfd is @dir (at @dirpath) in that
 * layer: one fstatat relative to it, the rest from the index. Falls back
 * to a full lookup for upper entries (they may have changed since).
 */
int ovl_lookup_listed(struct ovl_fs *fs, struct ovl_node *dir, int dirfd,
		      const char *dirpath, const char *name, int layer,
		      struct fuse_entry_param *e);
/** ovl_name_in_lower() - does a lower layer of @dir show @name (a whiteout
 * is needed when it is removed from the upper)? */
int ovl_name_in_lower(struct ovl_fs *fs, struct ovl_node *dir, const char *name,
		      bool *in_lower);
/** ovl_dir_probe() - read the markers of the directory at @path in @layer:
 * opaque, holds .wh. files, xattr whiteouts. */
int ovl_dir_probe(struct ovl_fs *fs, int layer, const char *path, bool *opaque,
		  bool *has_wh, bool *xwh);
/** ovl_is_xattr_whiteout() - a regular file marked with the whiteout xattr
 * (only looked for in directories marked opaque=x). */
bool ovl_is_xattr_whiteout(struct ovl_fs *fs, int dirfd, const char *name);

/* ---- attributes (attr.c) ----------------------------------------------- */

/** ovl_fill_attr() - turn a real stat into what the kernel is told. */
void ovl_fill_attr(struct ovl_fs *fs, struct ovl_node *n, struct stat *st);
/** ovl_entry_timeout() - the cache time for an entry in @layer. */
double ovl_timeout(struct ovl_fs *fs, int layer);
/** ovl_fill_entry() - the entry reply for @n found as @f. */
void ovl_fill_entry(struct ovl_fs *fs, struct ovl_node *n,
		    const struct ovl_found *f, struct fuse_entry_param *e);
/** ovl_stat_node() - stat @n's top object. */
int ovl_stat_node(struct ovl_fs *fs, struct ovl_node *n, struct stat *st,
		  int *layer);
/** ovl_owner_out() - on-disk owner for a new object made by @req. */
void ovl_owner_out(struct ovl_fs *fs, fuse_req_t req, uid_t *uid, gid_t *gid);

/* ---- the per-thread working directory (at.c) --------------------------- */

/** ovl_chdir_layer() - make @layer's root this thread's working directory
 * (each worker thread has its own, so path-only syscalls such as
 * lgetxattr resolve relative to a layer). Return: 0 or -errno. */
int ovl_chdir_layer(struct ovl_fs *fs, int layer);
/** ovl_chdir_fd() - the same for any directory descriptor. */
int ovl_chdir_fd(int fd);
/** ovl_chdir_forget() - @fd is being closed: forget that it is current. */
void ovl_chdir_forget(void);

/* The ovl_*at() wrappers take a path of any length, also one longer than
 * a system call accepts (PATH_MAX): they open its parent component by
 * component (O_NOFOLLOW) and call the *at() function on the last
 * component. They return as libc does (-1 and errno). Paths that fit cost
 * one strnlen. */

/** ovl_at_parent() - open the parent of *@path (relative to @dirfd) by
 * walking its components; *@path becomes the last one. Return: the new
 * O_PATH descriptor (caller closes), or -1 and errno. */
int ovl_at_parent(int dirfd, const char **path);
int ovl_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int ovl_openat(int dirfd, const char *path, int flags, ...);
ssize_t ovl_readlinkat(int dirfd, const char *path, char *buf, size_t size);
int ovl_unlinkat(int dirfd, const char *path, int flags);
int ovl_utimensat(int dirfd, const char *path, const struct timespec ts[2],
		  int flags);
int ovl_fchmodat(int dirfd, const char *path, mode_t mode, int flags);
int ovl_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
int ovl_linkat(int odirfd, const char *opath, int ndirfd, const char *npath,
	       int flags);
/** ovl_opendirat() - cmn_opendirat() for any length of @path. */
DIR *ovl_opendirat(int dirfd, const char *path, int flags);
/** ovl_chdir_at() - ovl_chdir_layer(), for path-only calls on *@path: a
 * long one leaves the thread in its parent and *@path its last component.
 * Return: 0 or -errno. */
int ovl_chdir_at(struct ovl_fs *fs, int layer, const char **path);

/* ---- copy-up (copyup.c) ------------------------------------------------ */

enum {
	OVL_CU_NODATA = 1, /* the caller truncates to 0: skip the data */
};

/**
 * ovl_copy_up() - make sure @n (and its parents) live in the upper layer
 * Return: 0, -EROFS without an upper, -errno.
 */
int ovl_copy_up(struct ovl_fs *fs, struct ovl_node *n, int flags);
/** ovl_tmpname() - a fresh name for a temporary object in workdir. */
void ovl_tmpname(struct ovl_fs *fs, char *buf, size_t size);
/** ovl_copy_xattrs() - copy the user-visible xattrs from @src to @dst
 * (descriptors of regular files or directories). */
int ovl_copy_xattrs(int src, int dst);

/* ---- whiteouts in the upper (whiteout.c) ------------------------------- */

/** ovl_make_whiteout() - hide @name of @dir's lowers, replacing whatever
 * the upper holds under that name (which must not be a directory). */
int ovl_make_whiteout(struct ovl_fs *fs, struct ovl_node *dir,
		      const char *dirpath, const char *name);
/** ovl_set_opaque() - mark the upper directory at @path opaque. */
int ovl_set_opaque(struct ovl_fs *fs, const char *path);
/** ovl_remove_upper_markers() - delete @dirpath/.wh.@name if present. */
void ovl_remove_wh_file(struct ovl_fs *fs, const char *dirpath,
			const char *name);
/** ovl_clear_dir() - empty the upper directory @fd of whiteouts and
 * markers before it is removed (it holds nothing else). */
int ovl_clear_dir(struct ovl_fs *fs, int fd);
/** ovl_rmtree_at() - remove @name (a directory of markers) under @dirfd. */
int ovl_rmtree_at(struct ovl_fs *fs, int dirfd, const char *name);

/* ---- directories (dir.c) ----------------------------------------------- */

/* In ovl_lent.name_off: the name is in the listing's index, not its arena */
#define OVL_LENT_IX 0x80000000u

struct ovl_lent {
	uint64_t cookie;   /* its offset in the listing: a hash of the name */
	uint32_t name_off; /* in @arena, or (| OVL_LENT_IX) in @ix's */
	uint16_t layer;
	uint8_t type;
	uint64_t ino; /* real inode number in @layer */
};

/** struct ovl_listing - a snapshot of a merged directory, refcounted */
struct ovl_listing {
	atomic_uint refs;
	uint64_t version;
	struct ovl_lent *ents;
	uint32_t n, cap;
	char *arena; /* the upper's names; lower ones are the index's */
	size_t alen, acap;
	/* borrowed: the directory's index, immutable and freed only with
	 * the node, which the kernel holds while it reads the listing */
	const struct ovl_dindex *ix;
};

/** ovl_lent_name() - the name of entry @e of @l. */
static inline const char *ovl_lent_name(const struct ovl_listing *l,
					const struct ovl_lent *e)
{
	if (e->name_off & OVL_LENT_IX)
		return l->ix->arena + (e->name_off & ~OVL_LENT_IX);
	return l->arena + e->name_off;
}

/** ovl_listing_get() - the merged listing of @dir (shared, refcounted). */
int ovl_listing_get(struct ovl_fs *fs, struct ovl_node *dir,
		    struct ovl_listing **out);
void ovl_listing_put(struct ovl_listing *l);
/** ovl_dir_is_empty() - is the merged directory @dir empty? (0/1/-errno) */
int ovl_dir_is_empty(struct ovl_fs *fs, struct ovl_node *dir);

void ovl_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void ovl_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi);
void ovl_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void ovl_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi);

/* ---- operations (ops_*.c) ---------------------------------------------- */

void ovl_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void ovl_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void ovl_op_forget_multi(fuse_req_t req, size_t count,
			 struct fuse_forget_data *forgets);
void ovl_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi);
void ovl_op_readlink(fuse_req_t req, fuse_ino_t ino);
void ovl_op_statfs(fuse_req_t req, fuse_ino_t ino);

void ovl_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev);
void ovl_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode);
void ovl_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name);
void ovl_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname);
void ovl_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void ovl_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void ovl_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags);

void ovl_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi);
void ovl_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void ovl_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv,
		      off_t off, struct fuse_file_info *fi);
void ovl_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);
void ovl_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		      off_t length, struct fuse_file_info *fi);
void ovl_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			    struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			    off_t off_out, struct fuse_file_info *fi_out,
			    size_t len, int flags);
void ovl_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		  struct fuse_file_info *fi);

void ovl_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     const char *value, size_t size, int flags);
void ovl_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		     size_t size);
void ovl_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void ovl_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ---- making objects in the upper (ops_ns.c) ---------------------------- */

enum ovl_mk_kind {
	OVL_MK_FILE,	/* open(O_CREAT|O_EXCL) with @flags, @mode; sets @fd */
	OVL_MK_DIR,	/* mkdir with @mode */
	OVL_MK_SYMLINK, /* symlink to @target */
	OVL_MK_NODE,	/* mknod with @mode, @rdev */
	OVL_MK_LINK,	/* hard link to the upper path @target */
};

struct ovl_maker {
	enum ovl_mk_kind kind;
	mode_t mode;
	dev_t rdev;
	const char *target;
	int flags;
	int fd; /* OVL_MK_FILE: the open file, owned by the caller */
};

/**
 * ovl_create_obj() - make @name in @parent in the upper layer
 *
 * Copies @parent up, replaces a whiteout if there is one, gives the object
 * the requester's owner, and fills @e (taking a kernel reference).
 * Return: 0 or -errno.
 */
int ovl_create_obj(fuse_req_t req, struct ovl_node *parent, const char *name,
		   struct ovl_maker *m, struct fuse_entry_param *e);

/** ovl_opaque_at() - mark the upper directory @name in @dfd opaque. */
int ovl_opaque_at(struct ovl_fs *fs, int dfd, const char *name);
/** ovl_child_node() - look @name up in @dir and return its node with a
 * kernel reference taken (drop it with ovl_node_forget(.., 1)). */
struct ovl_node *ovl_child_node(struct ovl_fs *fs, struct ovl_node *dir,
				const char *name, struct ovl_found *f);
/** ovl_open_upper_dir() - open @dir (already copied up) in the upper;
 * its path goes to a new buffer *@path (caller frees; NULL where that
 * failed). Return: the descriptor or -errno. */
int ovl_open_upper_dir(struct ovl_fs *fs, struct ovl_node *dir, char **path);

/* ---- open files (ops_file.c) ------------------------------------------ */

/**
 * struct ovl_fh - an open file (fuse_file_info.fh)
 * @fd:    owned: the real file, in @layer
 * @layer: where @fd was opened
 * @upfd:  owned: the upper copy, opened for reading when the node was
 *         copied up after @fd was opened from a lower (-1 until then), so
 *         that reads see writes made through other descriptors
 */
struct ovl_fh {
	int fd;
	int layer;
	_Atomic int upfd;
	struct ovl_fh *next; /* tree_lock: on the node's list */
};

/** ovl_node_dup_fd() - a duplicate of a descriptor of one of @n's open
 * files (for an unlinked node, which has no path), or -ENOENT. */
int ovl_node_dup_fd(struct ovl_fs *fs, struct ovl_node *n);
/**
 * ovl_node_target() - where to act on @n: its path in a new buffer *@path
 * (and layer), or, for an unlinked node with open files, a descriptor in
 * *@fd (*@path NULL). The caller owns both (*@fd is -1 when the path
 * serves). Return: 0 or -errno.
 */
int ovl_node_target(struct ovl_fs *fs, struct ovl_node *n, char **path,
		    int *layer, int *fd);

/** ovl_read_buffer_free() - free this thread's read buffer (at exit). */
void ovl_read_buffer_free(void);
/** ovl_fh_fd() - the descriptor to read @n's data through. */
int ovl_fh_fd(struct ovl_fs *fs, struct ovl_node *n, struct ovl_fh *fh);

/* ---- the request loop (loop.c) ----------------------------------------- */

/**
 * ovl_loop_run() - serve @se with up to @max_threads threads until the
 * session ends (unmount or a signal). Return: 0 or -errno.
 */
int ovl_loop_run(struct fuse_session *se, unsigned max_threads);
/**
 * ovl_loop_may_block() - the current request is about to do slow work
 * (copy data, fsync): let another thread take the next requests.
 */
void ovl_loop_may_block(void);

/* ---- the session (session.c) ------------------------------------------- */

/**
 * ovl_session_run() - mount at the mountpoint and serve until unmounted
 * Return: 0 on a clean unmount, -errno with @err otherwise.
 */
int ovl_session_run(struct ovl_fs *fs, struct hutch_err *err);

#endif
