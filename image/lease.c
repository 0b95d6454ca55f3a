// SPDX-License-Identifier: Apache-2.0
/* lease.c - what a running build or pull uses, kept from img_gc() and prune
 *
 * Theory of operation. Removal works by reachability from the image
 * records (gc.c), and a build or pull in progress has written none yet:
 * the layers a build made so far, the cache hits it reuses, the base image
 * it runs on and the blobs a pull downloaded are referenced by no image
 * until the end, so a `system prune` at that moment deleted them under the
 * build, which then failed in its storage driver. Each process that uses
 * the store therefore keeps a lease while its store is open:
 * leases/<pid>-<random>, lines "image|layer|blob <hex>", on which it holds
 * an exclusive flock(2). The kernel drops that lock however the process
 * ends, so a SIGKILLed build protects nothing after its death: the next
 * img_gc() finds the file unlocked and deletes it. Rejected: a pid in a
 * file (pids are reused, and a store on NFS is shared by hosts whose pids
 * mean nothing to each other), and a shared flock per layer (a build of 80
 * layers would hold 80 descriptors, and every blob one more).
 *
 * Ordering. An entry is appended, and the object's presence checked, under
 * locks/gc held shared; img_gc() reads the leases and deletes under it held
 * exclusive. Either gc ran first and the object is gone (the holder is told
 * -ENOENT and makes it again, or treats it as missing), or the entry is
 * there before gc looks. An entry may name what does not exist yet: that is
 * how a maker protects a layer or blob before publishing it, so that
 * nothing is ever visible unprotected. What a process makes (blob.c,
 * layer.c, layerdir.c, imagedb.c) it holds that way; what it only uses (a
 * base image, a cache hit) it holds with img_hold_image() and
 * img_hold_layer().
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "image/store-internal.h"

static const char *const kind_words[] = {
	[STORE_HOLD_IMAGE] = "image",
	[STORE_HOLD_LAYER] = "layer",
	[STORE_HOLD_BLOB] = "blob",
};

/* Create this process's lease (under locks/gc, so that no gc sees it
 * before it is locked). */
static int lease_open(struct img_store *s)
{
	char rnd[17], path[sizeof(s->lease_name) + 8];
	int fd, ret;

	if (s->lease_fd >= 0 && s->lease_pid == getpid())
		return 0;
	ret = cmn_random_hex(rnd, 8);
	if (ret < 0)
		return ret;
	snprintf(s->lease_name, sizeof(s->lease_name), "%d-%s", (int)getpid(),
		 rnd);
	snprintf(path, sizeof(path), "leases/%s", s->lease_name);
	fd = openat(s->rootfd, path,
		    O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = -errno;
		close(fd);
		unlinkat(s->rootfd, path, 0);
		return ret;
	}
	/* A forked child (lease_pid is its parent's) gets a lease of its
	 * own and leaves the parent's descriptor, and lock, alone. */
	s->lease_fd = fd;
	s->lease_pid = getpid();
	return 0;
}

static bool present(struct img_store *s, enum store_hold kind,
		    const struct img_digest *d)
{
	char rel[128];

	if (kind == STORE_HOLD_IMAGE)
		snprintf(rel, sizeof(rel), "images/%s.json", d->hex);
	else if (kind == STORE_HOLD_LAYER)
		snprintf(rel, sizeof(rel), "layers/%s/diff", d->hex);
	else
		snprintf(rel, sizeof(rel), "blobs/sha256/%s", d->hex);
	return faccessat(s->rootfd, rel, F_OK, 0) == 0;
}

static int append(struct img_store *s, enum store_hold kind,
		  const struct img_digest *d)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%s %s\n", kind_words[kind],
			 d->hex);

	return cmn_write_all(s->lease_fd, line, (size_t)n);
}

int store_hold(struct img_store *s, enum store_hold kind,
	       const struct img_digest *d)
{
	int lock = store_lock(s, "gc", false);
	int ret = lock < 0 ? lock : lease_open(s);

	if (ret == 0)
		ret = append(s, kind, d);
	if (ret == 0 && !present(s, kind, d))
		ret = -ENOENT;
	store_unlock(lock);
	return ret;
}

/* An image and everything its record names, appended under one lock, so
 * that its parts stay held even when rmi deletes the record later. */
static int hold_parts(struct img_store *s, const struct img_digest *id)
{
	struct img_image *img = NULL;
	int ret = img_image_load(s, id, &img, NULL);

	if (ret == 0)
		ret = append(s, STORE_HOLD_BLOB, &img->manifest);
	if (ret == 0)
		ret = append(s, STORE_HOLD_BLOB, &img->id);
	for (size_t i = 0; ret == 0 && i < img->n_layers; i++) {
		ret = append(s, STORE_HOLD_BLOB, &img->layers[i].blob);
		if (ret == 0)
			ret = append(s, STORE_HOLD_LAYER,
				     &img->layers[i].chain);
	}
	img_image_free(img);
	return ret;
}

int img_hold_image(struct img_store *s, const struct img_digest *id,
		   struct hutch_err *err)
{
	int lock = store_lock(s, "gc", false);
	int ret = lock < 0 ? lock : lease_open(s);
	char d[72];

	if (ret == 0)
		ret = append(s, STORE_HOLD_IMAGE, id);
	if (ret == 0 && !present(s, STORE_HOLD_IMAGE, id))
		ret = -ENOENT;
	if (ret == 0)
		ret = hold_parts(s, id);
	store_unlock(lock);
	if (ret < 0 && ret != -ENOENT)
		cmn_err_set(err, -ret, "cannot protect image %s in %s/leases",
			    img_digest_str(id, d), s->root);
	return ret;
}

int img_hold_layer(struct img_store *s, const struct img_layer_info *li,
		   struct hutch_err *err)
{
	int ret = store_hold(s, STORE_HOLD_BLOB, &li->blob);

	if (ret == 0)
		ret = store_hold(s, STORE_HOLD_LAYER, &li->chain);
	if (ret < 0 && ret != -ENOENT)
		cmn_err_set(err, -ret, "cannot protect layer %s in %s/leases",
			    li->chain.hex, s->root);
	return ret;
}

void store_lease_close(struct img_store *s)
{
	char path[sizeof(s->lease_name) + 8];

	if (s->lease_fd < 0 || s->lease_pid != getpid())
		return;
	snprintf(path, sizeof(path), "leases/%s", s->lease_name);
	unlinkat(s->rootfd, path, 0);
	close(s->lease_fd);
	s->lease_fd = -1;
}

/* Report every entry of the lease open at @fd. */
static int read_lease(int fd, store_lease_fn fn, void *ctx)
{
	FILE *f = fdopen(fd, "r");
	char line[128];
	int ret = 0;

	if (!f) {
		close(fd);
		return -errno;
	}
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		char word[8], hex[65];

		if (sscanf(line, "%7s %64[0-9a-f]", word, hex) != 2 ||
		    strlen(hex) != 64)
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(kind_words); k++)
			if (!strcmp(word, kind_words[k]))
				ret = fn(ctx, (enum store_hold)k, hex);
	}
	fclose(f);
	return ret;
}

int store_leases(struct img_store *s, bool skip_own, store_lease_fn fn,
		 void *ctx)
{
	cleanup_dir DIR *d = cmn_opendirat(s->rootfd, "leases", 0);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (ret == 0 && (de = readdir(d))) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		if (skip_own && s->lease_fd >= 0 &&
		    !strcmp(de->d_name, s->lease_name))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Free: its holder is gone, however it ended. */
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			unlinkat(dirfd(d), de->d_name, 0);
			close(fd);
			continue;
		}
		ret = read_lease(fd, fn, ctx);
	}
	return ret;
}
