// SPDX-License-Identifier: Apache-2.0
/* dindex.c - the index of a directory's lower layers
 *
 * Lower layers never change while mounted, so what they hold under one
 * directory can be read once and kept: a hash table from each name to the
 * layer whose object is on top, its type and inode number, whether a
 * whiteout hides it, and (for directories) which lower layers merge under
 * that name. With it, a lookup in a directory of a ten-layer image costs
 * no system call for a name that is absent and one fstatat for a name
 * that is there, instead of one or two per layer; and a listing of a
 * lower-only directory is the index itself.
 *
 * Layers are added top-down (ovl_dindex_scan_layer). The rules follow the
 * kernel's overlayfs and the OCI image spec: the top object of a name
 * wins; a whiteout hides the name in the layers below its own (not an
 * object in its own layer); a directory merges with directories of the
 * same name below it until a layer holds a non-directory or a whiteout
 * there, or until an opaque layer. The index is built under the
 * directory node's lock and published with a release store; afterwards it
 * is read-only and needs no lock.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h ? h : 1;
}

struct ovl_dindex *ovl_dindex_new(void)
{
	struct ovl_dindex *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return NULL;
	ix->ndl = 1; /* link 0 means "none" */
	return ix;
}

void ovl_dindex_free(struct ovl_dindex *ix)
{
	if (!ix)
		return;
	free(ix->ents);
	free(ix->slots);
	free(ix->arena);
	free(ix->dl);
	free(ix);
}

static struct ovl_dent *find_mut(const struct ovl_dindex *ix, const char *name,
				 uint32_t h)
{
	if (!ix->nslots)
		return NULL;
	for (uint32_t s = h & (ix->nslots - 1);;
	     s = (s + 1) & (ix->nslots - 1)) {
		uint32_t i = ix->slots[s];

		if (!i)
			return NULL;
		if (ix->ents[i - 1].hash == h &&
		    strcmp(ix->arena + ix->ents[i - 1].name_off, name) == 0)
			return &ix->ents[i - 1];
	}
}

const struct ovl_dent *ovl_dindex_find(const struct ovl_dindex *ix,
				       const char *name)
{
	return find_mut(ix, name, hash_name(name));
}

static int grow_slots(struct ovl_dindex *ix)
{
	uint32_t n = ix->nslots ? ix->nslots * 2 : 64;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < ix->n; i++) {
		uint32_t s = ix->ents[i].hash & (n - 1);

		while (slots[s])
			s = (s + 1) & (n - 1);
		slots[s] = i + 1;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->nslots = n;
	return 0;
}

static void *grow(void *p, uint32_t *cap, size_t elem)
{
	uint32_t n = *cap ? *cap * 2 : 32;
	void *q = realloc(p, (size_t)n * elem);

	if (q)
		*cap = n;
	return q;
}

static int arena_add(struct ovl_dindex *ix, const char *name, uint32_t *off)
{
	size_t len = strlen(name) + 1;

	if (ix->alen + len > ix->acap) {
		size_t cap = ix->acap ? ix->acap * 2 : 1024;
		char *a;

		while (cap < ix->alen + len)
			cap *= 2;
		if (cap > UINT32_MAX)
			return -EFBIG;
		a = realloc(ix->arena, cap);
		if (!a)
			return -ENOMEM;
		ix->arena = a;
		ix->acap = cap;
	}
	memcpy(ix->arena + ix->alen, name, len);
	*off = (uint32_t)ix->alen;
	ix->alen += len;
	return 0;
}

static struct ovl_dent *insert(struct ovl_dindex *ix, const char *name,
			       uint32_t h)
{
	struct ovl_dent *e;
	uint32_t off, s;

	if ((ix->n + 1) * 4 > ix->nslots * 3 && grow_slots(ix) < 0)
		return NULL;
	if (ix->n == ix->cap) {
		void *p = grow(ix->ents, &ix->cap, sizeof(*ix->ents));

		if (!p)
			return NULL;
		ix->ents = p;
	}
	if (arena_add(ix, name, &off) < 0)
		return NULL;
	e = &ix->ents[ix->n];
	memset(e, 0, sizeof(*e));
	e->name_off = off;
	e->hash = h;
	for (s = h & (ix->nslots - 1); ix->slots[s];
	     s = (s + 1) & (ix->nslots - 1))
		;
	ix->slots[s] = ++ix->n;
	return e;
}

static int dl_append(struct ovl_dindex *ix, struct ovl_dent *e, uint16_t layer)
{
	if (ix->ndl >= ix->dlcap) {
		void *p = grow(ix->dl, &ix->dlcap, sizeof(*ix->dl));

		if (!p)
			return -ENOMEM;
		ix->dl = p;
	}
	ix->dl[ix->ndl].layer = layer;
	ix->dl[ix->ndl].next = 0;
	if (e->dl_tail)
		ix->dl[e->dl_tail].next = ix->ndl;
	else
		e->dl_head = ix->ndl;
	e->dl_tail = ix->ndl++;
	return 0;
}

int ovl_dindex_add_object(struct ovl_dindex *ix, const char *name, uint8_t type,
			  uint64_t ino, uint16_t layer)
{
	uint32_t h = hash_name(name);
	struct ovl_dent *e = find_mut(ix, name, h);

	if (e && e->type == OVL_DT_WHT && e->layer == layer) {
		/* A whiteout hides only the layers below its own. */
		e->type = type;
		e->ino = ino;
		e->stop = true;
		return type == DT_DIR ? dl_append(ix, e, layer) : 0;
	}
	if (e) {
		if (e->type != DT_DIR || e->stop)
			return 0;
		if (type == DT_DIR)
			return dl_append(ix, e, layer);
		e->stop = true; /* a non-directory ends the merge */
		return 0;
	}
	e = insert(ix, name, h);
	if (!e)
		return -ENOMEM;
	e->type = type;
	e->ino = ino;
	e->layer = layer;
	return type == DT_DIR ? dl_append(ix, e, layer) : 0;
}

int ovl_dindex_add_whiteout(struct ovl_dindex *ix, const char *name,
			    uint16_t layer)
{
	uint32_t h = hash_name(name);
	struct ovl_dent *e = find_mut(ix, name, h);

	if (e) {
		/* Hides what lies below: the merge of a directory above (or
		 * in this very layer) stops here. */
		if (e->type == DT_DIR)
			e->stop = true;
		return 0;
	}
	e = insert(ix, name, h);
	if (!e)
		return -ENOMEM;
	e->type = OVL_DT_WHT;
	e->layer = layer;
	return 0;
}

unsigned ovl_dindex_dir_layers(const struct ovl_dindex *ix,
			       const struct ovl_dent *e, uint16_t *out,
			       unsigned max)
{
	unsigned n = 0;

	for (uint32_t l = e->dl_head; l && n < max; l = ix->dl[l].next)
		out[n++] = ix->dl[l].layer;
	return n;
}

/* The opaque xattr of one layer's directory: "y" opaque, "x" xattr
 * whiteouts inside. */
static void read_opaque_xattr(struct ovl_fs *fs, int fd, bool *opaque,
			      bool *xwh)
{
	char v[4];
	ssize_t n = fgetxattr(fd, OVL_XATTR_USER "opaque", v, sizeof(v));

	if (n < 0 && fs->trusted_xattr)
		n = fgetxattr(fd, OVL_XATTR_TRUST "opaque", v, sizeof(v));
	if (n == 1 && v[0] == 'y')
		*opaque = true;
	if (n == 1 && v[0] == 'x')
		*xwh = true;
}

/* Classify one raw entry of a lower layer and add it. */
static int scan_entry(struct ovl_fs *fs, struct ovl_dindex *ix, int fd,
		      const char *name, uint8_t type, uint64_t ino,
		      uint16_t layer, bool xwh, bool *opaque)
{
	struct stat st;

	if (strcmp(name, OVL_WH_OPQ) == 0) {
		*opaque = true;
		return 0;
	}
	if (ovl_is_wh_name(name))
		return ovl_dindex_add_whiteout(ix, name + 4, layer);
	if (type == DT_CHR || type == DT_UNKNOWN) {
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -errno;
		if (ovl_is_whiteout_stat(&st))
			return ovl_dindex_add_whiteout(ix, name, layer);
		type = IFTODT(st.st_mode);
	}
	if (type == DT_REG && xwh && ovl_is_xattr_whiteout(fs, fd, name))
		return ovl_dindex_add_whiteout(ix, name, layer);
	return ovl_dindex_add_object(ix, name, type, ino, layer);
}

/* getdents64 records, as the kernel writes them. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int ovl_dindex_scan_layer(struct ovl_fs *fs, struct ovl_dindex *ix, int fd,
			  uint16_t layer, bool last, bool *opaque)
{
	/* getdents64 straight into a buffer: no fdopendir (two fcntl calls)
	 * and no copy into struct dirent. */
	char buf[32768] __attribute__((aligned(8)));
	bool xwh = false;
	int r = 0;

	*opaque = false;
	/* The bottom layer has nothing below to hide. */
	if (!last)
		read_opaque_xattr(fs, fd, opaque, &xwh);
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		for (long pos = 0; pos < n && r == 0;) {
			struct linux_dirent64 *d = (void *)(buf + pos);
			const char *nm = d->d_name;

			pos += d->d_reclen;
			if (nm[0] == '.' &&
			    (!nm[1] || (nm[1] == '.' && !nm[2])))
				continue;
			r = scan_entry(fs, ix, fd, nm, d->d_type, d->d_ino,
				       layer, xwh, opaque);
		}
		if (r < 0)
			break;
	}
	close(fd);
	return r;
}
