// SPDX-License-Identifier: Apache-2.0
/* attr.c - what the kernel is told about an object: ids, inode numbers,
 * link counts and how long it may cache them
 *
 * Owners are mapped from disk to the mount with uidmapping/gidmapping or
 * squashed (squash_to_root, squash_to_uid/gid), as fuse-overlayfs does.
 * Inode numbers are the node's (stable for the mount's life, see
 * inode.c). A merged directory reports one link, like the kernel's
 * overlayfs: counting subdirectories across layers costs more than it is
 * worth, and find(1) and friends take 1 to mean "unknown".
 *
 * Entries only read-only lowers hold cannot change except through us, and
 * every change through us passes the kernel, which updates its caches; so
 * they are cached for lower_timeout (a day by default). Entries in the
 * upper get the shorter timeout=, which bounds the staleness should
 * something else touch the upper directory while mounted.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse-overlay/ovl-internal.h"

static bool is_upper(const struct ovl_fs *fs, int layer)
{
	return fs->has_upper && layer == OVL_UPPER;
}

double ovl_timeout(struct ovl_fs *fs, int layer)
{
	return is_upper(fs, layer) ? fs->opts->upper_timeout
				   : fs->opts->lower_timeout;
}

static void map_ids(struct ovl_fs *fs, struct stat *st)
{
	const struct ovl_opts *o = fs->opts;

	if (o->squash_uid >= 0)
		st->st_uid = (uid_t)o->squash_uid;
	else
		st->st_uid = ovl_idmap_in(&o->uidmap, st->st_uid);
	if (o->squash_gid >= 0)
		st->st_gid = (gid_t)o->squash_gid;
	else
		st->st_gid = ovl_idmap_in(&o->gidmap, st->st_gid);
}

/* Fill in the attributes of @n from the real @st of its top object in
 * @layer. */
static void fill_attr_layer(struct ovl_fs *fs, struct ovl_node *n,
			    struct stat *st, int layer)
{
	st->st_ino = n->st_ino;
	map_ids(fs, st);
	if (!S_ISDIR(st->st_mode))
		return;
	if (fs->opts->static_nlink) {
		st->st_nlink = 1;
		return;
	}
	pthread_mutex_lock(&fs->tree_lock);
	if (is_upper(fs, layer) ? (n->dir->nlower > 0 && !n->dir->upper_opaque)
				: n->dir->nlower > 1)
		st->st_nlink = 1;
	pthread_mutex_unlock(&fs->tree_lock);
}

void ovl_fill_attr(struct ovl_fs *fs, struct ovl_node *n, struct stat *st)
{
	fill_attr_layer(fs, n, st, ovl_node_layer(fs, n));
}

void ovl_fill_entry(struct ovl_fs *fs, struct ovl_node *n,
		    const struct ovl_found *f, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ovl_node_id(fs, n);
	e->generation = 0;
	e->attr = f->st;
	fill_attr_layer(fs, n, &e->attr, f->layer);
	e->attr_timeout = ovl_timeout(fs, f->layer);
	e->entry_timeout = e->attr_timeout;
}

int ovl_stat_node(struct ovl_fs *fs, struct ovl_node *n, struct stat *st,
		  int *layer)
{
	unsigned long gen;
	int r, l;

	for (int tries = 0; tries < 2; tries++) {
		cleanup_free char *path = NULL;

		gen = atomic_load(&fs->rename_gen);
		r = ovl_node_path(fs, n, &path, &l);
		if (r < 0)
			return r;
		if (ovl_fstatat(fs->layers[l].fd, path, st,
				AT_SYMLINK_NOFOLLOW) == 0) {
			if (layer)
				*layer = l;
			return 0;
		}
		r = -errno;
		if (r != -ENOENT || gen == atomic_load(&fs->rename_gen))
			break;
	}
	return r;
}

void ovl_owner_out(struct ovl_fs *fs, fuse_req_t req, uid_t *uid, gid_t *gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	const struct ovl_opts *o = fs->opts;
	uint32_t u, g;

	*uid = fs->euid;
	*gid = fs->egid;
	if (o->squash_uid < 0) {
		u = ovl_idmap_out(&o->uidmap, ctx->uid);
		if (u != (uint32_t)-1)
			*uid = u;
	}
	if (o->squash_gid < 0) {
		g = ovl_idmap_out(&o->gidmap, ctx->gid);
		if (g != (uint32_t)-1)
			*gid = g;
	}
}
