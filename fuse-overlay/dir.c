// SPDX-License-Identifier: Apache-2.0
/* dir.c - merged directory listings: opendir, readdir(plus), releasedir
 *
 * A listing is the upper directory's entries (less whiteouts and markers)
 * and the lower entries of the directory's index that the upper neither
 * has nor whites out (unless the upper is opaque). It is built at opendir
 * and is a snapshot, sorted by a 62-bit hash of each name, which is also
 * the entry's offset (its telldir cookie), as ext4 does: an offset then
 * means the same place in every listing of the directory, before or after
 * a change and in any open handle. So seekdir works, entries created
 * during a listing neither shift nor repeat anything, and the kernel may
 * cache listings across handles (it resumes a stream by offset). A rewind
 * (offset 0 again) takes a fresh snapshot if the directory changed.
 * The node keeps its last listing, shared by every handle while the
 * directory's version (bumped by each change through us) stays the same,
 * so listing a lower directory again costs no system call; the kernel is
 * also told to cache listings (FOPEN_CACHE_DIR), and drops them itself
 * when the directory changes.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

struct ovl_dirh {
	struct ovl_listing *l; /* owned reference */
	bool started;
};

void ovl_listing_put(struct ovl_listing *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	free(l->ents);
	free(l->arena);
	free(l);
}

/* The offset of an entry: a hash of its name above the 1 and 2 of "."
 * and "..", below 2^63 (off_t is signed). */
static uint64_t cookie(const char *name)
{
	uint64_t h = 14695981039346656037ull;

	while (*name)
		h = (h ^ (unsigned char)*name++) * 1099511628211ull;
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return 3 + (h >> 2);
}

static int by_cookie(const void *a, const void *b)
{
	const struct ovl_lent *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/* The first entry past offset @off. */
static size_t first_after(const struct ovl_listing *l, uint64_t off)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->ents[mid].cookie <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int listing_grow(struct ovl_listing *l)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 32;
		void *p = realloc(l->ents, cap * sizeof(*l->ents));

		if (!p)
			return -ENOMEM;
		l->ents = p;
		l->cap = cap;
	}
	return 0;
}

static void listing_set(struct ovl_listing *l, const char *name,
			uint32_t name_off, uint8_t type, uint16_t layer,
			uint64_t ino)
{
	l->ents[l->n].name_off = name_off;
	l->ents[l->n].type = type;
	l->ents[l->n].layer = layer;
	l->ents[l->n].ino = ino;
	l->ents[l->n].cookie = cookie(name);
	l->n++;
}

/* A lower entry: its name stays in the index (no copy per listing). */
static int listing_add_ix(struct ovl_listing *l, const struct ovl_dindex *ix,
			  const struct ovl_dent *e)
{
	if (e->name_off & OVL_LENT_IX)
		return -ENOMEM; /* a 2 GiB arena: cannot be flagged */
	if (listing_grow(l) < 0)
		return -ENOMEM;
	l->ix = ix;
	listing_set(l, ovl_dent_name(ix, e), e->name_off | OVL_LENT_IX, e->type,
		    e->layer, e->ino);
	return 0;
}

static int listing_add(struct ovl_listing *l, const char *name, uint8_t type,
		       uint16_t layer, uint64_t ino)
{
	size_t len = strlen(name) + 1;

	if (listing_grow(l) < 0)
		return -ENOMEM;
	if (l->alen + len > l->acap) {
		size_t cap = l->acap ? l->acap * 2 : 1024;
		char *a;

		while (cap < l->alen + len)
			cap *= 2;
		a = realloc(l->arena, cap);
		if (!a)
			return -ENOMEM;
		l->arena = a;
		l->acap = cap;
	}
	memcpy(l->arena + l->alen, name, len);
	listing_set(l, name, (uint32_t)l->alen, type, layer, ino);
	l->alen += len;
	return 0;
}

struct list_snap {
	char *path; /* owned */
	bool upper, opaque, xwh, lowers;
	uint64_t version;
};

static int snap(struct ovl_fs *fs, struct ovl_node *dir, struct list_snap *s)
{
	int r;

	pthread_mutex_lock(&fs->tree_lock);
	r = ovl_node_path_locked(dir, &s->path);
	s->upper = fs->has_upper && dir->layer == OVL_UPPER;
	s->opaque = dir->dir->upper_opaque;
	s->xwh = dir->dir->upper_xwh;
	s->lowers = dir->dir->nlower > 0 && !(s->upper && s->opaque);
	s->version = dir->dir->version;
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

/* Sort one raw upper entry: 1 visible, 0 hidden marker (name noted in
 * @hidden when it whites out a lower name). */
static int upper_entry(struct ovl_fs *fs, int fd, struct dirent *de, bool xwh,
		       struct ovl_dindex *hidden, uint8_t *type)
{
	struct stat st;

	*type = de->d_type;
	if (ovl_upper_wh_name(fs, de->d_name)) {
		if (hidden && strcmp(de->d_name, OVL_WH_OPQ) != 0)
			ovl_dindex_add_object(hidden, de->d_name + 4, 0, 0, 0);
		return 0;
	}
	if (*type == DT_CHR || *type == DT_UNKNOWN) {
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0;
		if (ovl_is_whiteout_stat(&st)) {
			if (hidden)
				ovl_dindex_add_object(hidden, de->d_name, 0, 0,
						      0);
			return 0;
		}
		*type = IFTODT(st.st_mode);
	}
	if (xwh && *type == DT_REG &&
	    ovl_is_xattr_whiteout(fs, fd, de->d_name)) {
		if (hidden)
			ovl_dindex_add_object(hidden, de->d_name, 0, 0, 0);
		return 0;
	}
	return 1;
}

static int read_upper(struct ovl_fs *fs, const struct list_snap *s,
		      struct ovl_listing *l, struct ovl_dindex *seen)
{
	cleanup_dir DIR *d =
		ovl_opendirat(fs->layers[OVL_UPPER].fd, s->path, O_NOFOLLOW);
	struct dirent *de;
	uint8_t type;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (upper_entry(fs, dirfd(d), de, s->xwh, seen, &type) == 0)
			continue;
		if (listing_add(l, de->d_name, type, OVL_UPPER, de->d_ino) < 0)
			return -ENOMEM;
		if (seen &&
		    ovl_dindex_add_object(seen, de->d_name, type, 0, 0) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_lowers(struct ovl_fs *fs, struct ovl_node *dir,
		      struct ovl_listing *l, const struct ovl_dindex *seen)
{
	const struct ovl_dindex *ix;
	int r = ovl_dir_index(fs, dir, &ix);

	if (r < 0)
		return r;
	for (uint32_t i = 0; i < ix->n; i++) {
		const struct ovl_dent *e = &ix->ents[i];
		const char *name = ovl_dent_name(ix, e);

		if (e->type == OVL_DT_WHT ||
		    (seen && ovl_dindex_find(seen, name)))
			continue;
		r = listing_add_ix(l, ix, e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int build(struct ovl_fs *fs, struct ovl_node *dir,
		 struct ovl_listing **out)
{
	struct ovl_listing *l = calloc(1, sizeof(*l));
	struct ovl_dindex *seen = NULL;
	struct list_snap s = { .path = NULL };
	int r = l ? snap(fs, dir, &s) : -ENOMEM;

	if (r == 0 && s.upper && s.lowers) {
		seen = ovl_dindex_new();
		r = seen ? 0 : -ENOMEM;
	}
	if (r == 0 && s.upper)
		r = read_upper(fs, &s, l, seen);
	if (r == 0 && s.lowers)
		r = add_lowers(fs, dir, l, seen);
	ovl_dindex_free(seen);
	free(s.path);
	if (r < 0) {
		if (l)
			atomic_init(&l->refs, 1);
		ovl_listing_put(l);
		return r;
	}
	if (l->n > 1)
		qsort(l->ents, l->n, sizeof(*l->ents), by_cookie);
	l->version = s.version;
	atomic_init(&l->refs, 1);
	*out = l;
	return 0;
}

int ovl_listing_get(struct ovl_fs *fs, struct ovl_node *dir,
		    struct ovl_listing **out)
{
	struct ovl_dir *d = dir->dir;
	const struct ovl_dindex *ix;
	uint64_t version;
	int r = 0;

	/* The index is built under the same lock: build it first. */
	if (d->nlower) {
		r = ovl_dir_index(fs, dir, &ix);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&dir->lock);
	pthread_mutex_lock(&fs->tree_lock);
	version = d->version;
	pthread_mutex_unlock(&fs->tree_lock);
	if (!d->listing || d->listing->version != version) {
		struct ovl_listing *l;

		r = build(fs, dir, &l);
		if (r == 0) {
			ovl_listing_put(d->listing);
			d->listing = l;
		}
	}
	if (r == 0) {
		atomic_fetch_add(&d->listing->refs, 1);
		*out = d->listing;
	}
	pthread_mutex_unlock(&dir->lock);
	return r;
}

int ovl_dir_is_empty(struct ovl_fs *fs, struct ovl_node *dir)
{
	struct ovl_listing *l;
	int r = ovl_listing_get(fs, dir, &l);

	if (r < 0)
		return r;
	r = l->n == 0;
	ovl_listing_put(l);
	return r;
}

void ovl_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);

	/* Where the kernel takes ENOSYS as "no handle needed", it sends no
	 * OPENDIR and RELEASEDIR at all, caches listings, and readdir serves
	 * the directory's current listing by cookie. */
	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	struct ovl_dirh *h = calloc(1, sizeof(*h));
	int r = h ? ovl_listing_get(fs, ovl_node_of(fs, ino), &h->l) : -ENOMEM;

	if (r < 0) {
		free(h);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		ovl_listing_put(h->l);
		free(h);
	}
}

/* The inode number shown for an entry; matches what lookup reports. */
static uint64_t entry_ino(struct ovl_fs *fs, const struct ovl_lent *e)
{
	uint64_t kept;

	if (fs->has_upper && e->layer == OVL_UPPER) {
		kept = ovl_inomap_get(fs, fs->layers[OVL_UPPER].dev, e->ino);
		if (kept)
			return kept;
	}
	return ovl_st_ino(fs, e->layer, e->ino);
}

/* "." and "..": the directory's and its parent's numbers. */
static uint64_t dot_ino(struct ovl_fs *fs, struct ovl_node *dir, bool dotdot)
{
	uint64_t ino;

	pthread_mutex_lock(&fs->tree_lock);
	ino = dotdot && dir->parent ? dir->parent->st_ino : dir->st_ino;
	pthread_mutex_unlock(&fs->tree_lock);
	return ino;
}

/* Directory descriptors of one readdirplus call, per layer, opened on
 * first use: attributes are read relative to them. */
struct plus_ctx {
	char *path; /* the directory's path in the lowers, owned */
	bool have_path;
	int fds[8];
	uint16_t layers[8];
	unsigned n;
};

static void plus_ctx_done(struct plus_ctx *pc)
{
	free(pc->path);
	for (unsigned i = 0; i < pc->n; i++) {
		if (pc->fds[i] >= 0)
			close(pc->fds[i]);
	}
}

static int plus_fd(struct ovl_fs *fs, struct ovl_node *dir, struct plus_ctx *pc,
		   uint16_t layer)
{
	unsigned i;

	for (i = 0; i < pc->n; i++) {
		if (pc->layers[i] == layer)
			return pc->fds[i];
	}
	if (!pc->have_path) {
		if (ovl_node_lpath(fs, dir, &pc->path) < 0)
			return -1;
		pc->have_path = true;
	}
	if (pc->n == ARRAY_SIZE(pc->fds))
		return -1;
	pc->layers[pc->n] = layer;
	pc->fds[pc->n] =
		ovl_openat(fs->layers[layer].fd, pc->path,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return pc->fds[pc->n++];
}

/* Add "." (@i == 0), ".." (@i == 1) or listing entry @i - 2 to @buf.
 * Returns its size (more than @rem: did not fit), 0 to skip it, -errno. */
static ssize_t add_entry(fuse_req_t req, struct ovl_node *dir,
			 struct ovl_listing *l, size_t i, char *buf, size_t rem,
			 struct plus_ctx *pc)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct fuse_entry_param e = { 0 };
	const char *name = i == 0 ? "." : i == 1 ? ".." : NULL;
	off_t next = i + 1;
	size_t size;

	if (name) {
		e.attr.st_ino = dot_ino(fs, dir, i == 1);
		e.attr.st_mode = S_IFDIR;
	} else {
		const struct ovl_lent *le = &l->ents[i - 2];

		name = ovl_lent_name(l, le);
		next = (off_t)le->cookie;
		e.attr.st_ino = entry_ino(fs, le);
		e.attr.st_mode = DTTOIF(le->type);
		if (pc) {
			/* first: it sets pc->path */
			int dfd = plus_fd(fs, dir, pc, le->layer);
			int r = ovl_lookup_listed(fs, dir, dfd, pc->path, name,
						  le->layer, &e);

			if (r < 0)
				return r == -ENOENT ? 0 : r; /* gone since */
		}
	}
	if (!pc)
		return fuse_add_direntry(req, buf, rem, name, &e.attr, next);
	size = fuse_add_direntry_plus(req, buf, rem, name, &e, next);
	if (size > rem && e.ino)
		ovl_node_forget(fs, ovl_node_of(fs, e.ino), 1);
	return size;
}

/* The listing to serve from: the handle's snapshot, or (no handle: the
 * kernel skipped opendir) the directory's current one. A reference. */
static int listing_for(struct ovl_fs *fs, struct ovl_node *dir,
		       struct ovl_dirh *h, off_t off, struct ovl_listing **out)
{
	struct ovl_listing *l;
	int r;

	if (h && !(off == 0 && h->started)) {
		h->started = true;
		atomic_fetch_add(&h->l->refs, 1);
		*out = h->l;
		return 0;
	}
	r = ovl_listing_get(fs, dir, &l); /* a rewind takes a fresh one */
	if (r < 0)
		return r;
	if (h) {
		ovl_listing_put(h->l);
		atomic_fetch_add(&l->refs, 1);
		h->l = l;
		h->started = true;
	}
	*out = l;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	struct ovl_node *dir = ovl_node_of(fs, ino);
	struct ovl_dirh *h = (struct ovl_dirh *)(uintptr_t)fi->fh;
	cleanup_free char *buf = malloc(size);
	struct ovl_listing *l = NULL;
	struct plus_ctx pc = { .path = NULL, .n = 0 };
	size_t rem = size;
	int r = buf ? listing_for(fs, dir, h, off, &l) : -ENOMEM;

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* Offsets 0 and 1 come before "." and ".."; any other is the cookie
	 * of the last entry read. */
	for (size_t i = off < 2 ? (size_t)off
				: 2 + first_after(l, (uint64_t)off);
	     i < (size_t)l->n + 2; i++) {
		ssize_t n = add_entry(req, dir, l, i, buf + (size - rem), rem,
				      plus ? &pc : NULL);

		if (n < 0 && rem == size) {
			plus_ctx_done(&pc);
			ovl_listing_put(l);
			fuse_reply_err(req, (int)-n);
			return;
		}
		if (n < 0 || (size_t)n > rem)
			break;
		rem -= n;
	}
	plus_ctx_done(&pc);
	ovl_listing_put(l);
	fuse_reply_buf(req, buf, size - rem);
}

void ovl_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void ovl_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void ovl_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ovl_dirh *h = (struct ovl_dirh *)(uintptr_t)fi->fh;

	(void)ino;
	if (h)
		ovl_listing_put(h->l);
	free(h);
	fuse_reply_err(req, 0);
}

void ovl_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct ovl_fs *fs = ovl_fs_of(req);
	cleanup_free char *path = NULL;
	int layer = -1, r = 0;

	(void)fi;
	if (fs->opts->fsync &&
	    ovl_node_path(fs, ovl_node_of(fs, ino), &path, &layer) == -ENOMEM)
		r = ENOMEM;
	if (path && fs->has_upper && layer == OVL_UPPER) {
		cleanup_close int fd =
			ovl_openat(fs->layers[OVL_UPPER].fd, path,
				   O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || (datasync ? fdatasync(fd) : fsync(fd)) < 0)
			r = errno;
	}
	fuse_reply_err(req, r);
}
