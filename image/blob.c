// SPDX-License-Identifier: Apache-2.0
/* blob.c - content-addressed blobs: streamed in, verified, published */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store-internal.h"

struct img_blob_writer {
	struct img_store *s;
	struct img_digest expect;
	bool has_expect;
	int64_t size; /* -1: unknown */
	int64_t written;
	struct img_sha256 *h; /* owned */
	int fd;
	int lock;
	char tmp[96];
};

static void rel_path(const struct img_digest *d, char buf[static 96])
{
	snprintf(buf, 96, "blobs/sha256/%s", d->hex);
}

bool img_blob_exists(struct img_store *s, const struct img_digest *d)
{
	char rel[96];

	rel_path(d, rel);
	return faccessat(s->rootfd, rel, F_OK, 0) == 0;
}

char *img_blob_path(struct img_store *s, const struct img_digest *d)
{
	return cmn_strdup_printf("%s/blobs/sha256/%s", s->root, d->hex);
}

char *img_blob_read(struct img_store *s, const struct img_digest *d, size_t max,
		    size_t *len, struct hutch_err *err)
{
	char rel[96], dstr[72];
	char *data;

	rel_path(d, rel);
	data = cmn_read_fileat(s->rootfd, rel, max, len);
	if (!data)
		cmn_err_set(err, errno, "cannot read blob %s",
			    img_digest_str(d, dstr));
	return data;
}

static void writer_free(struct img_blob_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->s->rootfd, w->tmp, 0);
	}
	img_sha256_free(w->h);
	store_unlock(w->lock);
	free(w);
}

/* Serialise writers of one blob; the second finds it published. The blob
 * is held first (lease.c): present, it stays; absent, what this writer
 * publishes is protected from the start. */
static int lock_blob(struct img_blob_writer *w)
{
	char name[80];
	int ret;

	if (!w->has_expect)
		return 0;
	ret = store_hold(w->s, STORE_HOLD_BLOB, &w->expect);
	if (ret != -ENOENT)
		return ret < 0 ? ret : 1;
	snprintf(name, sizeof(name), "blob-%s", w->expect.hex);
	w->lock = store_lock(w->s, name, true);
	if (w->lock < 0)
		return w->lock;
	return img_blob_exists(w->s, &w->expect) ? 1 : 0;
}

int img_blob_writer_new(struct img_store *s, const struct img_digest *expect,
			int64_t size, struct img_blob_writer **out,
			struct hutch_err *err)
{
	struct img_blob_writer *w = calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	if (!w)
		return cmn_err_set(err, ENOMEM, "blob writer");
	*w = (struct img_blob_writer){
		.s = s, .size = size, .fd = -1, .lock = -1
	};
	if (expect) {
		w->expect = *expect;
		w->has_expect = true;
	}
	ret = lock_blob(w);
	if (ret == 0)
		ret = store_tmp_name(w->tmp, ".blob");
	if (ret == 0) {
		w->fd = openat(s->rootfd, w->tmp,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		ret = w->fd < 0 ? -errno : 0;
	}
	if (ret == 0 && !(w->h = img_sha256_new()))
		ret = -ENOMEM;
	if (ret != 0) {
		writer_free(w);
		return ret == 1 ? 1
				: cmn_err_set(err, -ret,
					      "cannot write a blob in %s",
					      s->root);
	}
	*out = w;
	return 0;
}

int img_blob_writer_write(struct img_blob_writer *w, const void *buf,
			  size_t len)
{
	int ret;

	if (w->size >= 0 && w->written + (int64_t)len > w->size)
		return -EFBIG;
	ret = cmn_write_all(w->fd, buf, len);
	if (ret < 0)
		return ret;
	img_sha256_update(w->h, buf, len);
	w->written += len;
	return 0;
}

int img_blob_writer_reset(struct img_blob_writer *w)
{
	img_sha256_free(w->h);
	w->h = img_sha256_new();
	w->written = 0;
	if (!w->h)
		return -ENOMEM;
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

static int verify(struct img_blob_writer *w, struct img_digest *got,
		  struct hutch_err *err)
{
	char e[72], g[72];
	struct img_sha256 *h = steal_ptr(&w->h);

	img_sha256_final(h, got);
	if (w->size >= 0 && w->written != w->size)
		return cmn_err_msg(
			err, EBADMSG,
			"blob %s is %lld bytes, but the manifest says %lld: a truncated or corrupt download; nothing was kept",
			img_digest_str(w->has_expect ? &w->expect : got, e),
			(long long)w->written, (long long)w->size);
	if (w->has_expect && !img_digest_equal(got, &w->expect))
		return cmn_err_msg(
			err, EBADMSG,
			"blob %s does not match its digest (the content is %s): the registry or the network corrupted it; nothing was kept",
			img_digest_str(&w->expect, e), img_digest_str(got, g));
	return 0;
}

int img_blob_writer_commit(struct img_blob_writer *w, struct img_digest *out,
			   struct hutch_err *err)
{
	struct img_digest got;
	char rel[96];
	int ret = verify(w, &got, err);

	if (ret == 0 && fsync(w->fd) < 0)
		ret = cmn_err_set(err, errno, "cannot write a blob");
	if (ret == 0 && !w->has_expect) {
		ret = store_hold(w->s, STORE_HOLD_BLOB, &got);
		if (ret == -ENOENT)
			ret = 0;
		else if (ret < 0)
			cmn_err_set(err, -ret, "cannot protect blob %s",
				    got.hex);
	}
	rel_path(&got, rel);
	if (ret == 0 && renameat(w->s->rootfd, w->tmp, w->s->rootfd, rel) < 0)
		ret = cmn_err_set(err, errno, "cannot publish blob %s", rel);
	if (ret == 0) {
		close(w->fd);
		w->fd = -1;
		if (out)
			*out = got;
	}
	writer_free(w);
	return ret;
}

void img_blob_writer_abort(struct img_blob_writer *w)
{
	if (w)
		writer_free(w);
}

int img_blob_put(struct img_store *s, const void *data, size_t len,
		 const struct img_digest *expect, struct img_digest *out,
		 struct hutch_err *err)
{
	struct img_blob_writer *w;
	struct img_digest d;
	int ret;

	if (!expect) {
		ret = img_sha256_buf(data, len, &d);
		if (ret < 0)
			return cmn_err_set(err, -ret, "sha256");
		expect = &d;
	}
	ret = img_blob_writer_new(s, expect, (int64_t)len, &w, err);
	if (ret == 1) {
		if (out)
			*out = *expect;
		return 0;
	}
	if (ret < 0)
		return ret;
	ret = img_blob_writer_write(w, data, len);
	if (ret < 0) {
		img_blob_writer_abort(w);
		return cmn_err_set(err, -ret, "cannot write a blob");
	}
	return img_blob_writer_commit(w, out, err);
}
