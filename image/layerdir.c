// SPDX-License-Identifier: Apache-2.0
/* layerdir.c - a layer made from a directory: a build step's overlay upper
 *
 * A RUN or COPY step writes into a fresh overlay upper directory; that
 * directory is exactly the step's change set (no tree diffing), already in
 * the store's layer format. It becomes a layer in two moves: a tar of it
 * (overlay whiteouts written as OCI ".wh." entries, overlay-internal
 * xattrs left out) is stored as the layer blob, its SHA-256 being the
 * diff_id since the blob is not compressed; and the directory itself is
 * renamed into layers/<chain>/diff, so nothing is unpacked again. The tar
 * is written in a user namespace with the containers' mapping so that
 * files keep the owners the step gave them.
 */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/store-internal.h"
#include "sandbox/sandbox.h"

#define BUF_SIZE (256 * 1024)

struct tar_job {
	const char *dir; /* the upper directory */
	const char *tar; /* where the tar goes */
};

struct tar_result {
	struct img_digest digest;
	uint64_t size;
	uint64_t entries;
};

/* The tar's bytes go to the file and through SHA-256 at once. */
struct sink {
	int fd;
	struct img_sha256 *h;
	uint64_t size;
};

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf,
			     size_t len)
{
	struct sink *s = ctx;

	(void)a;
	if (cmn_write_all(s->fd, buf, len) < 0)
		return -1;
	img_sha256_update(s->h, buf, len);
	s->size += len;
	return (la_ssize_t)len;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(const char *path)
{
	char v[4] = "";

	return getxattr(path, "user.overlay.opaque", v, sizeof(v)) > 0 &&
	       v[0] == 'y';
}

/* A zero-length regular entry: OCI's way of writing a whiteout. */
static int write_marker(struct archive *out, const char *dirpart,
			const char *name, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	char path[4096];
	int ret;

	snprintf(path, sizeof(path), "%s%s%s", dirpart, *dirpart ? "/" : "",
		 name);
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	ret = archive_write_header(out, e) == ARCHIVE_OK ? 0 : -EIO;
	archive_entry_free(e);
	return ret;
}

static int copy_data(struct archive *disk, struct archive *out, char *buf)
{
	la_ssize_t n;

	while ((n = archive_read_data(disk, buf, BUF_SIZE)) > 0)
		if (archive_write_data(out, buf, (size_t)n) != n)
			return -EIO;
	return n < 0 ? -EIO : 0;
}

/* Overlay bookkeeping (opaque, origin, impure...) is not content; other
 * xattrs (file capabilities, user.*) are. */
static void drop_overlay_xattrs(struct archive_entry *e)
{
	struct {
		char *name;
		void *value;
		size_t size;
	} keep[32];
	const char *name;
	const void *value;
	size_t size, n = 0;

	if (archive_entry_xattr_reset(e) == 0)
		return;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		if (!strstr(name, ".overlay.") && n < ARRAY_SIZE(keep)) {
			keep[n].name = strdup(name);
			keep[n].value = malloc(size ? size : 1);
			if (keep[n].value)
				memcpy(keep[n].value, value, size);
			keep[n].size = size;
			n++;
		}
	archive_entry_xattr_clear(e);
	for (size_t i = 0; i < n; i++) {
		if (keep[i].name && keep[i].value)
			archive_entry_xattr_add_entry(
				e, keep[i].name, keep[i].value, keep[i].size);
		free(keep[i].name);
		free(keep[i].value);
	}
}

/* One entry of the upper directory, translated to OCI's layer format. */
static int entry(struct archive *disk, struct archive *out,
		 struct archive_entry *e, char *buf, struct tar_result *r)
{
	const char *path = archive_entry_pathname(e);
	const struct stat *st = archive_entry_stat(e);
	char dirpart[4096], wh[300];
	const char *base = strrchr(path, '/');
	const char *name = base ? base + 1 : path;

	r->entries++;
	snprintf(dirpart, sizeof(dirpart), "%.*s",
		 base ? (int)(base - path) : 0, path);
	if (is_whiteout(st)) {
		snprintf(wh, sizeof(wh), ".wh.%s", name);
		return write_marker(out, dirpart, wh, st);
	}
	drop_overlay_xattrs(e);
	/* The same tree, the same bytes: access and change times say when
	 * it was read or made, not what it is (pax would record them with
	 * any entry that needs an extended header: an xattr, a long name). */
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	if (archive_write_header(out, e) != ARCHIVE_OK)
		return -EIO;
	if (S_ISDIR(st->st_mode) && is_opaque(path))
		return write_marker(out, path, ".wh..wh..opq", st);
	if (S_ISREG(st->st_mode) && archive_entry_size(e) > 0)
		return copy_data(disk, out, buf);
	return 0;
}

static int walk(struct archive *disk, struct archive *out, char *buf,
		struct tar_result *r, struct hutch_err *err)
{
	struct archive_entry *e;
	int ret = 0, st;

	while (ret == 0 &&
	       (st = archive_read_next_header(disk, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);

		archive_read_disk_descend(disk);
		if (!strcmp(p, "."))
			continue;
		if (cmn_has_prefix(p, "./"))
			archive_entry_set_pathname(e, p + 2);
		ret = entry(disk, out, e, buf, r);
		if (ret < 0)
			cmn_err_msg(err, EIO, "cannot archive %s: %s", p,
				    archive_error_string(out));
	}
	if (ret == 0 && st != ARCHIVE_EOF)
		ret = cmn_err_msg(err, EIO, "cannot read the layer: %s",
				  archive_error_string(disk));
	return ret;
}

/* Runs in the user namespace. */
static int make_tar(void *arg, void *out_, struct hutch_err *err)
{
	const struct tar_job *job = arg;
	struct tar_result *r = out_;
	struct sink sink = { .fd = -1 };
	struct archive *disk = archive_read_disk_new();
	struct archive *out = archive_write_new();
	cleanup_free char *buf = malloc(BUF_SIZE);
	int ret = 0;

	sink.h = img_sha256_new();
	sink.fd = open(job->tar, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (!disk || !out || !buf || !sink.h || sink.fd < 0 ||
	    chdir(job->dir) < 0)
		ret = cmn_err_set(err, errno ? errno : ENOMEM,
				  "cannot archive %s", job->dir);
	if (ret == 0) {
		archive_read_disk_set_symlink_physical(disk);
		archive_read_disk_set_behavior(
			disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
		archive_write_set_format_pax_restricted(out);
		/* Names as the bytes they are, whatever the locale: no
		 * conversion to UTF-8 to fail on a Latin-1 file name. */
		archive_write_set_format_option(out, "pax", "hdrcharset",
						"BINARY");
		archive_write_set_bytes_in_last_block(out, 1);
		if (archive_write_open2(out, &sink, NULL, sink_write, NULL,
					NULL) != ARCHIVE_OK ||
		    archive_read_disk_open(disk, ".") != ARCHIVE_OK)
			ret = cmn_err_msg(err, EIO, "cannot archive %s",
					  job->dir);
	}
	if (ret == 0)
		ret = walk(disk, out, buf, r, err);
	if (ret == 0 && archive_write_close(out) != ARCHIVE_OK)
		ret = cmn_err_msg(err, EIO, "cannot finish the layer: %s",
				  archive_error_string(out));
	if (ret == 0 && fsync(sink.fd) < 0)
		ret = cmn_err_set(err, errno, "cannot write the layer");
	archive_write_free(out);
	archive_read_free(disk);
	if (sink.fd >= 0)
		close(sink.fd);
	r->size = sink.size;
	if (sink.h)
		img_sha256_final(sink.h, &r->digest);
	return ret;
}

static int adopt_dir(struct img_store *s, const char *dir,
		     const struct img_digest *chain, const struct tar_result *r,
		     struct hutch_err *err)
{
	char tmp[96], path[200];
	int ret = store_tmp_name(tmp, ".layer");

	if (ret == 0 && mkdirat(s->rootfd, tmp, 0700) < 0)
		ret = -errno;
	snprintf(path, sizeof(path), "%s/%s/diff", s->root, tmp);
	if (ret == 0 && rename(dir, path) < 0)
		ret = -errno;
	if (ret == 0)
		ret = store_layer_meta(s, tmp, &r->digest, r->size, false);
	snprintf(path, sizeof(path), "layers/%s", chain->hex);
	/* Someone made the same layer meanwhile: theirs stands. */
	if (ret == 0 && renameat(s->rootfd, tmp, s->rootfd, path) < 0 &&
	    errno != ENOTEMPTY && errno != EEXIST)
		ret = -errno;
	if (ret < 0) {
		store_remove_tree(s, tmp, NULL);
		return cmn_err_set(err, -ret, "cannot record the layer %s",
				   chain->hex);
	}
	if (faccessat(s->rootfd, tmp, F_OK, 0) == 0)
		store_remove_tree(s, tmp, NULL);
	return 0;
}

int img_layer_from_dir(struct img_store *s, const char *dir,
		       const struct img_digest *parent,
		       struct img_layer_info *out, struct hutch_err *err)
{
	struct tar_result r = { 0 };
	char tmp[96];
	cleanup_free char *tar = NULL;
	cleanup_free char *blob = NULL;
	struct tar_job job;
	int ret = store_tmp_name(tmp, ".tar");

	memset(out, 0, sizeof(*out));
	tar = ret == 0 ? cmn_strdup_printf("%s/%s", s->root, tmp) : NULL;
	if (!tar)
		return cmn_err_set(err, ENOMEM, "layer");
	job = (struct tar_job){ dir, tar };
	ret = sbx_userns_call(SBX_USERNS_AUTO, make_tar, &job, &r, sizeof(r),
			      err);
	/* Blob and layer are held before they are published (lease.c). */
	if (ret == 0) {
		ret = store_hold(s, STORE_HOLD_BLOB, &r.digest);
		if (ret == -ENOENT)
			ret = 0;
		else if (ret < 0)
			cmn_err_set(err, -ret, "cannot protect blob %s",
				    r.digest.hex);
	}
	blob = ret == 0 ? img_blob_path(s, &r.digest) : NULL;
	if (ret == 0 && (!blob || rename(tar, blob) < 0))
		ret = cmn_err_set(err, errno, "cannot store the layer blob");
	unlink(tar);
	if (ret < 0)
		return ret;
	out->blob = out->diff_id = r.digest;
	out->size = (int64_t)r.size;
	out->media_type = strdup("application/vnd.oci.image.layer.v1.tar");
	ret = img_chain_id(parent, &r.digest, &out->chain);
	if (ret == 0 &&
	    (ret = store_hold(s, STORE_HOLD_LAYER, &out->chain)) == -ENOENT)
		ret = 0;
	if (ret == 0)
		ret = adopt_dir(s, dir, &out->chain, &r, err);
	else
		cmn_err_set(err, -ret, "cannot protect layer %s",
			    out->chain.hex);
	return ret;
}
