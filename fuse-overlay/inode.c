// SPDX-License-Identifier: Apache-2.0
/* inode.c - the node table: FUSE inodes, their keys, names and lifetime
 *
 * A node stands for one object of the merged tree. It is found by the key
 * of its top real object, (st_dev, st_ino) in the layer that holds it, so
 * that two names of one upper file (a hardlink) are one node, as the
 * kernel expects. Lower files with several links are the exception: the
 * kernel's overlayfs (without index=on) breaks such links at copy-up, so
 * each name of them is its own node, keyed by (dev, ino, parent, name).
 *
 * A node is referenced by the kernel (nlookup, from lookups, dropped by
 * forget) and by the names of its children (refs: every name holds its
 * parent). It is freed when both reach zero. Its names are where it lives
 * in the tree; paths are rebuilt from them for every system call and
 * resolved relative to a layer's root. A node that loses its last name
 * (unlinked while open) leaves the table, so that a new file reusing the
 * inode number cannot be mistaken for it.
 */

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "fuse-overlay/ovl-internal.h"

/* Nodes also sit on a list of all of them, so teardown frees unlinked
 * ones too. The list links live in front of the node. */
struct node_box {
	struct node_box *prev, *next; /* tree_lock */
	struct ovl_node node;
	char iname[]; /* the first name, allocated with the node: one
		       * allocation (and its overhead) fewer per node */
};

static struct node_box all_nodes = { &all_nodes, &all_nodes, { 0 } };

static struct node_box *box_of(struct ovl_node *n)
{
	return (struct node_box *)((char *)n - offsetof(struct node_box, node));
}

/* Give @n the name @owned (malloc'ed), freeing the one it had unless that
 * lives in its box. tree_lock, or @n not yet shared. */
static void node_set_name(struct ovl_node *n, char *owned)
{
	if (n->name != box_of(n)->iname)
		free(n->name);
	n->name = owned;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static size_t key_hash(dev_t dev, ino_t ino, const struct ovl_node *kparent,
		       const char *name)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	if (kparent)
		h ^= (uintptr_t)kparent * 31 + name_hash(name);
	return (size_t)(h ^ (h >> 29));
}

static size_t node_slot(const struct ovl_fs *fs, const struct ovl_node *n)
{
	return key_hash(n->dev, n->ino, n->kparent, n->name) &
	       (fs->table_size - 1);
}

static int table_grow(struct ovl_fs *fs)
{
	size_t size = fs->table_size ? fs->table_size * 2 : 1024;
	struct ovl_node **t = calloc(size, sizeof(*t));
	struct ovl_node **old = fs->table;
	size_t old_size = fs->table_size;

	if (!t)
		return -ENOMEM;
	fs->table = t;
	fs->table_size = size;
	for (size_t i = 0; i < old_size; i++) {
		for (struct ovl_node *n = old[i], *next; n; n = next) {
			size_t s = node_slot(fs, n);

			next = n->hnext;
			n->hnext = t[s];
			t[s] = n;
		}
	}
	free(old);
	return 0;
}

static void table_insert(struct ovl_fs *fs, struct ovl_node *n)
{
	size_t s;

	if (fs->table_used + 1 > fs->table_size)
		table_grow(fs); /* on failure chains just grow longer */
	s = node_slot(fs, n);
	n->hnext = fs->table[s];
	fs->table[s] = n;
	n->hashed = true;
	fs->table_used++;
}

static void table_remove(struct ovl_fs *fs, struct ovl_node *n)
{
	struct ovl_node **pp;

	if (!n->hashed)
		return;
	for (pp = &fs->table[node_slot(fs, n)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	}
	n->hnext = NULL;
	n->hashed = false;
	fs->table_used--;
}

static struct ovl_node *table_find(struct ovl_fs *fs, dev_t dev, ino_t ino,
				   const struct ovl_node *kparent,
				   const char *name)
{
	size_t s;

	if (!fs->table_size)
		return NULL;
	s = key_hash(dev, ino, kparent, name) & (fs->table_size - 1);
	for (struct ovl_node *n = fs->table[s]; n; n = n->hnext) {
		if (n->dev == dev && n->ino == ino && n->kparent == kparent &&
		    (!kparent || strcmp(n->name, name) == 0))
			return n;
	}
	return NULL;
}

struct ovl_node *ovl_node_of(struct ovl_fs *fs, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return fs->root;
	return (struct ovl_node *)(uintptr_t)ino;
}

fuse_ino_t ovl_node_id(const struct ovl_fs *fs, const struct ovl_node *n)
{
	if (n == fs->root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)n;
}

static bool layer_is_upper(const struct ovl_fs *fs, int layer)
{
	return fs->has_upper && layer == OVL_UPPER;
}

static uint64_t inomap_get_locked(struct ovl_fs *fs, dev_t dev, ino_t ino);

/* The reported inode number: kept over copy-up (inomap), else the real
 * one of the top object, tagged with its filesystem. */
static uint64_t found_st_ino(struct ovl_fs *fs, const struct ovl_found *f)
{
	uint64_t kept = 0;

	if (layer_is_upper(fs, f->layer))
		kept = inomap_get_locked(fs, f->st.st_dev, f->st.st_ino);
	return kept ? kept : ovl_st_ino(fs, f->layer, f->st.st_ino);
}

static int dir_init(struct ovl_node *n, const struct ovl_found *f)
{
	struct ovl_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	if (f->nlower) {
		d->lower = malloc(f->nlower * sizeof(*d->lower));
		if (!d->lower) {
			free(d);
			return -ENOMEM;
		}
		memcpy(d->lower, f->lower, f->nlower * sizeof(*d->lower));
	}
	d->nlower = f->nlower;
	d->upper_opaque = f->upper_opaque;
	d->upper_wh = f->upper_wh;
	d->upper_xwh = f->upper_xwh;
	if (f->redirect[0]) {
		d->redirect = strdup(f->redirect);
		if (!d->redirect) {
			free(d->lower);
			free(d);
			return -ENOMEM;
		}
		d->redirect_abs = f->redirect_abs;
	}
	n->dir = d;
	return 0;
}

static void listing_drop(struct ovl_dir *d)
{
	struct ovl_dindex *ix = atomic_load(&d->index);

	if (d->listing)
		ovl_listing_put(d->listing);
	if (ix)
		ovl_dindex_free(ix);
	free(d->lower);
	free(d->redirect);
	free(d);
}

static struct ovl_node *node_new(struct ovl_fs *fs, const struct ovl_found *f,
				 struct ovl_node *parent, const char *name)
{
	size_t nl = name ? strlen(name) + 1 : 0;
	struct node_box *b = calloc(1, sizeof(*b) + nl);
	struct ovl_node *n;

	if (!b)
		return NULL;
	n = &b->node;
	if (name)
		n->name = memcpy(b->iname, name, nl);
	if (S_ISDIR(f->st.st_mode) && dir_init(n, f) < 0) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	n->dev = f->st.st_dev;
	n->ino = f->st.st_ino;
	n->st_ino = found_st_ino(fs, f);
	n->type = IFTODT(f->st.st_mode);
	n->layer = f->layer;
	n->parent = parent;
	if (parent)
		parent->refs++;
	b->next = all_nodes.next;
	b->prev = &all_nodes;
	all_nodes.next->prev = b;
	all_nodes.next = b;
	atomic_fetch_add(&fs->live_nodes, 1);
	return n;
}

static void node_destroy(struct ovl_fs *fs, struct ovl_node *n)
{
	struct node_box *b = box_of(n);

	b->prev->next = b->next;
	b->next->prev = b->prev;
	for (struct ovl_alias *a = n->aliases, *next; a; a = next) {
		next = a->next;
		free(a->name);
		free(a);
	}
	if (n->dir)
		listing_drop(n->dir);
	pthread_mutex_destroy(&n->lock);
	node_set_name(n, NULL);
	free(b);
	atomic_fetch_sub(&fs->live_nodes, 1);
	atomic_fetch_add(&fs->freed_nodes, 1);
}

/* Drop a child's reference on @p; queue @p on @todo when it is unused. */
static void drop_ref(struct ovl_fs *fs, struct ovl_node **todo,
		     struct ovl_node *p)
{
	if (p && --p->refs == 0 && p->nlookup == 0 && p != fs->root) {
		table_remove(fs, p);
		p->hnext = *todo; /* reused as the free list once unhashed */
		*todo = p;
	}
}

/* Nodes freed between two malloc_trim() calls: a trim walks the whole heap
 * (about a millisecond per 10 MB), so it waits for a few MB to be free. */
#define OVL_TRIM_NODES 8192

void ovl_mem_release(struct ovl_fs *fs)
{
	unsigned long n = atomic_load(&fs->freed_nodes);

	if (n < OVL_TRIM_NODES ||
	    !atomic_compare_exchange_strong(&fs->freed_nodes, &n, 0))
		return;
	malloc_trim(0);
}

/* Destroy the nodes on @todo and the parents that this releases. Caller
 * holds tree_lock. */
static void free_list(struct ovl_fs *fs, struct ovl_node *todo)
{
	while (todo) {
		struct ovl_node *cur = todo;

		todo = cur->hnext;
		drop_ref(fs, &todo, cur->parent);
		for (struct ovl_alias *a = cur->aliases; a; a = a->next)
			drop_ref(fs, &todo, a->parent);
		node_destroy(fs, cur);
	}
}

/* Free @n if nothing references it. Caller holds tree_lock. */
static void maybe_free(struct ovl_fs *fs, struct ovl_node *n)
{
	if (n == fs->root || n->nlookup || n->refs)
		return;
	table_remove(fs, n);
	n->hnext = NULL;
	free_list(fs, n);
}

int ovl_node_root(struct ovl_fs *fs, const struct ovl_found *f)
{
	struct ovl_node *n;

	pthread_mutex_lock(&fs->tree_lock);
	n = node_new(fs, f, NULL, NULL);
	if (n) {
		n->refs = 1; /* never freed before teardown */
		n->nlookup = 1;
		fs->root = n;
		table_insert(fs, n);
	}
	pthread_mutex_unlock(&fs->tree_lock);
	return n ? 0 : -ENOMEM;
}

static bool has_name(const struct ovl_node *n, const struct ovl_node *parent,
		     const char *name)
{
	if (n->parent == parent && n->name && strcmp(n->name, name) == 0)
		return true;
	for (const struct ovl_alias *a = n->aliases; a; a = a->next) {
		if (a->parent == parent && strcmp(a->name, name) == 0)
			return true;
	}
	return false;
}

static int add_name_locked(struct ovl_node *n, struct ovl_node *parent,
			   const char *name)
{
	char *dup = strdup(name);
	struct ovl_alias *a;

	if (!dup)
		return -ENOMEM;
	if (!n->parent) {
		node_set_name(n, dup);
		n->parent = parent;
		parent->refs++;
		return 0;
	}
	a = malloc(sizeof(*a));
	if (!a) {
		free(dup);
		return -ENOMEM;
	}
	a->parent = parent;
	a->name = dup;
	a->next = n->aliases;
	n->aliases = a;
	parent->refs++;
	return 0;
}

/* A directory has one name: found under another, it was moved. */
static int move_dir_name(struct ovl_fs *fs, struct ovl_node *n,
			 struct ovl_node *parent, const char *name)
{
	char *dup = strdup(name);
	struct ovl_node *todo = NULL;

	if (!dup)
		return -ENOMEM;
	node_set_name(n, dup);
	parent->refs++;
	drop_ref(fs, &todo, n->parent);
	n->parent = parent;
	free_list(fs, todo);
	return 0;
}

struct ovl_node *ovl_node_obtain(struct ovl_fs *fs, struct ovl_node *parent,
				 const char *name, const struct ovl_found *f)
{
	bool dir = S_ISDIR(f->st.st_mode);
	struct ovl_node *kparent = NULL, *n;
	int r = 0;

	if (!dir && !layer_is_upper(fs, f->layer) && f->st.st_nlink > 1)
		kparent = parent;
	pthread_mutex_lock(&fs->tree_lock);
	n = table_find(fs, f->st.st_dev, f->st.st_ino, kparent, name);
	if (n && n->type != IFTODT(f->st.st_mode)) {
		/* The real inode was reused by an object of another type. */
		table_remove(fs, n);
		n = NULL;
	}
	if (n) {
		if (!has_name(n, parent, name))
			r = dir ? move_dir_name(fs, n, parent, name)
				: add_name_locked(n, parent, name);
		if (r == 0)
			n->nlookup++;
	} else {
		n = node_new(fs, f, parent, name);
		if (n) {
			n->kparent = kparent;
			n->nlookup = 1;
			table_insert(fs, n);
		}
	}
	pthread_mutex_unlock(&fs->tree_lock);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return n;
}

void ovl_node_forget(struct ovl_fs *fs, struct ovl_node *n, uint64_t n_refs)
{
	pthread_mutex_lock(&fs->tree_lock);
	n->nlookup = n_refs > n->nlookup ? 0 : n->nlookup - n_refs;
	maybe_free(fs, n);
	pthread_mutex_unlock(&fs->tree_lock);
}

void ovl_node_free_all(struct ovl_fs *fs)
{
	pthread_mutex_lock(&fs->tree_lock);
	while (all_nodes.next != &all_nodes)
		node_destroy(fs, &all_nodes.next->node);
	free(fs->table);
	fs->table = NULL;
	fs->table_size = fs->table_used = 0;
	fs->root = NULL;
	pthread_mutex_unlock(&fs->tree_lock);
}

/* Walk @n's names up to the root: their total length with separators and
 * the terminating NUL ("." for the root), or -ENOENT where @n or one of its
 * ancestors was unlinked. */
static int path_len_locked(const struct ovl_node *n, size_t *len)
{
	size_t l = 0;

	if (!n->parent) {
		if (n->name)
			return -ENOENT; /* unlinked: no path */
		*len = 2;
		return 0;
	}
	for (const struct ovl_node *p = n; p->parent; p = p->parent) {
		if (!p->name)
			return -ENOENT;
		l += strlen(p->name) + 1;
		if (!p->parent->parent && p->parent->name)
			return -ENOENT; /* an ancestor was unlinked */
	}
	*len = l;
	return 0;
}

/* Write the names from @n up to (not including) @stop, or the root, backwards
 * into @buf, ending at @end (where the NUL goes), each preceded by a '/'
 * except the one at offset 0. */
static void fill_names(const struct ovl_node *n, const struct ovl_node *stop,
		       char *buf, size_t end)
{
	size_t pos = end;

	buf[pos] = '\0';
	for (const struct ovl_node *p = n; p != stop && p->parent;
	     p = p->parent) {
		size_t l = strlen(p->name);

		pos -= l;
		memcpy(buf + pos, p->name, l);
		if (pos > 0)
			buf[--pos] = '/';
	}
}

int ovl_node_path_locked(struct ovl_node *n, char **out)
{
	size_t len;
	int r = path_len_locked(n, &len);
	char *buf;

	*out = NULL;
	if (r < 0)
		return r;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	if (!n->parent)
		memcpy(buf, ".", 2);
	else
		fill_names(n, NULL, buf, len - 1);
	*out = buf;
	return 0;
}

int ovl_node_lpath_locked(struct ovl_node *n, char **out)
{
	const struct ovl_node *stop = NULL;
	size_t len = 0, rl;
	int r = path_len_locked(n, &len); /* checks the chain */
	char *buf;

	*out = NULL;
	if (r < 0)
		return r;
	/* The nearest renamed directory at or above @n gives the prefix. */
	len = 0;
	for (struct ovl_node *p = n; p->parent && !stop; p = p->parent) {
		if (p->dir && p->dir->redirect)
			stop = p;
		else
			len += strlen(p->name) + 1;
	}
	if (!stop)
		return ovl_node_path_locked(n, out); /* the lower path is it */
	rl = strlen(stop->dir->redirect);
	buf = malloc(rl + len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, stop->dir->redirect, rl);
	/* below the redirect every name has its '/', the first one too */
	fill_names(n, stop, buf, rl + len);
	*out = buf;
	return 0;
}

int ovl_node_lpath(struct ovl_fs *fs, struct ovl_node *n, char **out)
{
	int r;

	pthread_mutex_lock(&fs->tree_lock);
	r = ovl_node_lpath_locked(n, out);
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

int ovl_node_set_redirect(struct ovl_fs *fs, struct ovl_node *n,
			  const char *lpath, bool abs)
{
	char *dup = strdup(lpath);

	if (!dup)
		return -ENOMEM;
	pthread_mutex_lock(&fs->tree_lock);
	free(n->dir->redirect);
	n->dir->redirect = dup;
	n->dir->redirect_abs = abs;
	pthread_mutex_unlock(&fs->tree_lock);
	return 0;
}

int ovl_node_path(struct ovl_fs *fs, struct ovl_node *n, char **out, int *layer)
{
	int r;

	pthread_mutex_lock(&fs->tree_lock);
	/* A caller that asks for the layer acts on the object there. */
	if (layer && !layer_is_upper(fs, n->layer))
		r = ovl_node_lpath_locked(n, out);
	else
		r = ovl_node_path_locked(n, out);
	if (layer)
		*layer = n->layer;
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

int ovl_path_join(const char *dir, const char *name, char **out)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *buf;

	*out = NULL;
	if (strcmp(dir, ".") == 0)
		dl = 0; /* the root's children: "name" */
	buf = malloc(dl + 1 + nl + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, dir, dl);
	if (dl)
		buf[dl++] = '/';
	memcpy(buf + dl, name, nl + 1);
	*out = buf;
	return 0;
}

int ovl_child_path(struct ovl_fs *fs, struct ovl_node *parent, const char *name,
		   char **out)
{
	cleanup_free char *dir = NULL;
	int r = ovl_node_path(fs, parent, &dir, NULL);

	*out = NULL;
	return r < 0 ? r : ovl_path_join(dir, name, out);
}

int ovl_node_layer(struct ovl_fs *fs, struct ovl_node *n)
{
	(void)fs;
	/* It only ever changes once, from a lower to the upper (copy-up,
	 * stored with release): no lock needed to read it. */
	return __atomic_load_n(&n->layer, __ATOMIC_ACQUIRE);
}

bool ovl_node_is_upper(struct ovl_fs *fs, struct ovl_node *n)
{
	return layer_is_upper(fs, ovl_node_layer(fs, n));
}

void ovl_node_set_upper(struct ovl_fs *fs, struct ovl_node *n, dev_t dev,
			ino_t ino)
{
	pthread_mutex_lock(&fs->tree_lock);
	if (n->hashed) {
		table_remove(fs, n);
		n->dev = dev;
		n->ino = ino;
		n->kparent = NULL;
		table_insert(fs, n);
	} else {
		n->dev = dev;
		n->ino = ino;
		n->kparent = NULL;
	}
	__atomic_store_n(&n->layer, OVL_UPPER, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fs->tree_lock);
}

/* Remove (@parent, @name) from @n's names; caller holds tree_lock. */
static bool drop_name_locked(struct ovl_fs *fs, struct ovl_node *n,
			     struct ovl_node *parent, const char *name,
			     struct ovl_node **todo)
{
	struct ovl_alias **pp, *a;

	if (n->parent == parent && n->name && strcmp(n->name, name) == 0) {
		drop_ref(fs, todo, parent);
		a = n->aliases;
		if (a) { /* promote the next name */
			node_set_name(n, a->name);
			n->parent = a->parent;
			n->aliases = a->next;
			free(a);
		} else {
			n->parent = NULL; /* keep the name: marks "unlinked" */
		}
		return true;
	}
	for (pp = &n->aliases; (a = *pp); pp = &a->next) {
		if (a->parent == parent && strcmp(a->name, name) == 0) {
			*pp = a->next;
			drop_ref(fs, todo, a->parent);
			free(a->name);
			free(a);
			return true;
		}
	}
	return false;
}

void ovl_node_unlink_name(struct ovl_fs *fs, struct ovl_node *n,
			  struct ovl_node *parent, const char *name)
{
	struct ovl_node *todo = NULL;

	pthread_mutex_lock(&fs->tree_lock);
	drop_name_locked(fs, n, parent, name, &todo);
	if (!n->parent)
		table_remove(fs, n);
	free_list(fs, todo);
	pthread_mutex_unlock(&fs->tree_lock);
}

int ovl_node_add_name(struct ovl_fs *fs, struct ovl_node *n,
		      struct ovl_node *parent, const char *name)
{
	int r = 0;

	pthread_mutex_lock(&fs->tree_lock);
	if (!has_name(n, parent, name))
		r = add_name_locked(n, parent, name);
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

int ovl_node_rename(struct ovl_fs *fs, struct ovl_node *n, struct ovl_node *op,
		    const char *oname, struct ovl_node *np, const char *nname)
{
	struct ovl_node *todo = NULL;
	int r = 0;

	pthread_mutex_lock(&fs->tree_lock);
	if (drop_name_locked(fs, n, op, oname, &todo) ||
	    !has_name(n, np, nname))
		r = add_name_locked(n, np, nname);
	free_list(fs, todo);
	atomic_fetch_add(&fs->rename_gen, 1);
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

void ovl_dir_changed(struct ovl_fs *fs, struct ovl_node *dir)
{
	if (!dir->dir)
		return;
	pthread_mutex_lock(&fs->tree_lock);
	dir->dir->version++;
	pthread_mutex_unlock(&fs->tree_lock);
}

/* ---- inode numbers kept over copy-up ------------------------------------ */

struct ovl_inomap {
	size_t size, used;
	struct inomap_ent {
		dev_t dev;
		ino_t ino;
		uint64_t st_ino; /* 0: empty slot */
	} * ents;
};

static size_t inomap_slot(const struct ovl_inomap *m, dev_t dev, ino_t ino)
{
	return key_hash(dev, ino, NULL, NULL) & (m->size - 1);
}

static int inomap_grow(struct ovl_fs *fs)
{
	struct ovl_inomap *m = fs->inomap, *nm = calloc(1, sizeof(*nm));

	if (!nm)
		return -ENOMEM;
	nm->size = m ? m->size * 2 : 256;
	nm->ents = calloc(nm->size, sizeof(*nm->ents));
	if (!nm->ents) {
		free(nm);
		return -ENOMEM;
	}
	for (size_t i = 0; m && i < m->size; i++) {
		size_t s;

		if (!m->ents[i].st_ino)
			continue;
		s = inomap_slot(nm, m->ents[i].dev, m->ents[i].ino);
		while (nm->ents[s].st_ino)
			s = (s + 1) & (nm->size - 1);
		nm->ents[s] = m->ents[i];
		nm->used++;
	}
	if (m)
		free(m->ents);
	free(m);
	fs->inomap = nm;
	return 0;
}

void ovl_inomap_add(struct ovl_fs *fs, dev_t dev, ino_t ino, uint64_t st_ino)
{
	struct ovl_inomap *m;
	size_t s;

	pthread_mutex_lock(&fs->tree_lock);
	if ((!fs->inomap || fs->inomap->used * 2 >= fs->inomap->size) &&
	    inomap_grow(fs) < 0) {
		pthread_mutex_unlock(&fs->tree_lock);
		return; /* the number then changes at copy-up: harmless */
	}
	m = fs->inomap;
	s = inomap_slot(m, dev, ino);
	while (m->ents[s].st_ino &&
	       (m->ents[s].dev != dev || m->ents[s].ino != ino))
		s = (s + 1) & (m->size - 1);
	if (!m->ents[s].st_ino)
		m->used++;
	m->ents[s].dev = dev;
	m->ents[s].ino = ino;
	m->ents[s].st_ino = st_ino;
	pthread_mutex_unlock(&fs->tree_lock);
}

static uint64_t inomap_get_locked(struct ovl_fs *fs, dev_t dev, ino_t ino)
{
	struct ovl_inomap *m = fs->inomap;
	size_t s;

	if (!m)
		return 0;
	s = inomap_slot(m, dev, ino);
	while (m->ents[s].st_ino) {
		if (m->ents[s].dev == dev && m->ents[s].ino == ino)
			return m->ents[s].st_ino;
		s = (s + 1) & (m->size - 1);
	}
	return 0;
}

uint64_t ovl_inomap_get(struct ovl_fs *fs, dev_t dev, ino_t ino)
{
	uint64_t r;

	pthread_mutex_lock(&fs->tree_lock);
	r = inomap_get_locked(fs, dev, ino);
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}

void ovl_inomap_free(struct ovl_fs *fs)
{
	if (fs->inomap)
		free(fs->inomap->ents);
	free(fs->inomap);
	fs->inomap = NULL;
}

struct ovl_node *ovl_node_parent_get(struct ovl_fs *fs, struct ovl_node *n,
				     char *name, size_t size)
{
	struct ovl_node *p;

	pthread_mutex_lock(&fs->tree_lock);
	p = n->parent;
	if (p && strlen(n->name) < size) {
		strcpy(name, n->name);
		p->refs++;
	} else {
		p = NULL;
	}
	pthread_mutex_unlock(&fs->tree_lock);
	return p;
}

void ovl_node_put(struct ovl_fs *fs, struct ovl_node *p)
{
	pthread_mutex_lock(&fs->tree_lock);
	p->refs--;
	maybe_free(fs, p);
	pthread_mutex_unlock(&fs->tree_lock);
}

bool ovl_node_has_name(struct ovl_fs *fs, struct ovl_node *n,
		       struct ovl_node *parent, const char *name)
{
	bool r;

	pthread_mutex_lock(&fs->tree_lock);
	r = has_name(n, parent, name);
	pthread_mutex_unlock(&fs->tree_lock);
	return r;
}
