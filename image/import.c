// SPDX-License-Identifier: Apache-2.0
/* import.c - a root filesystem (tarball or directory) into a one-layer image
 *
 * The layer is stored as an uncompressed tar, whatever the input's
 * compression: its blob digest is then its diff_id, computed in the same
 * pass that writes it, and nothing has to be decompressed twice. A directory
 * is archived inside a user namespace with the containers' mapping, so that
 * a tree made by debootstrap in that namespace (owned by subordinate ids on
 * the host) gets the owners it has inside: root is 0, not the user's uid.
 */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "image/store-internal.h"
#include "sandbox/sandbox.h"

#define BUF_SIZE (256 * 1024)

/* The re-archived tar goes to the blob writer as it is produced. */
struct sink {
	struct img_blob_writer *w;
	uint64_t size;
};

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf,
			     size_t len)
{
	struct sink *s = ctx;

	(void)a;
	if (img_blob_writer_write(s->w, buf, len) < 0)
		return -1;
	s->size += len;
	return (la_ssize_t)len;
}

static int copy_entry_data(struct archive *in, struct archive *out, char *buf)
{
	la_ssize_t n;

	while ((n = archive_read_data(in, buf, BUF_SIZE)) > 0)
		if (archive_write_data(out, buf, (size_t)n) != n)
			return -EIO;
	return n < 0 ? -EBADMSG : 0;
}

/*
 * The input (tar, compressed or not) entry by entry into an uncompressed
 * tar blob. Device nodes are skipped, and said so once with their number
 * and the first one (as a pulled layer's are, layer.c): a root filesystem
 * tarball made by debootstrap has /dev/null and friends, which layers may
 * not hold (a container gets its /dev from hutch); Docker's rootless
 * import drops them too.
 */
static int rearchive(struct archive *in, struct archive *out, char *buf,
		     uint64_t *entries, struct hutch_err *err)
{
	struct archive_entry *e;
	uint64_t devices = 0;
	char first[256] = "";
	int st, ret = 0;

	while (ret == 0 &&
	       (st = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		mode_t type = archive_entry_filetype(e);

		if (type == AE_IFCHR || type == AE_IFBLK) {
			const char *p = archive_entry_pathname(e);

			while (p &&
			       ((p[0] == '.' && p[1] == '/') || p[0] == '/'))
				p += p[0] == '/' ? 1 : 2;
			if (!devices++)
				snprintf(first, sizeof(first), "/%s",
					 p ? p : "");
			continue;
		}
		(*entries)++;
		if (archive_write_header(out, e) != ARCHIVE_OK)
			ret = cmn_err_msg(err, EIO, "cannot store %s: %s",
					  archive_entry_pathname(e),
					  archive_error_string(out));
		else if (type == AE_IFREG && copy_entry_data(in, out, buf) < 0)
			ret = cmn_err_msg(err, EBADMSG,
					  "the archive is corrupt at %s: %s",
					  archive_entry_pathname(e),
					  archive_error_string(in));
	}
	if (ret == 0 && st != ARCHIVE_EOF)
		ret = cmn_err_msg(
			err, EBADMSG,
			"the archive is corrupt or not a tar archive: %s",
			archive_error_string(in));
	if (ret == 0 && devices)
		cmn_warn(
			"import: skipped %llu device node%s (the first: %s): a rootless container cannot have them, and gets its /dev from hutch",
			(unsigned long long)devices, devices == 1 ? "" : "s",
			first);
	return ret;
}

static int stream_tar(struct img_store *s, int fd, struct img_digest *out,
		      uint64_t *size, struct hutch_err *err)
{
	struct archive *in = archive_read_new();
	struct archive *ar = archive_write_new();
	struct sink sink = { 0 };
	cleanup_free char *buf = malloc(BUF_SIZE);
	uint64_t entries = 0;
	int ret = in && ar && buf ? 0 : cmn_err_set(err, ENOMEM, "import");

	if (ret == 0)
		ret = img_blob_writer_new(s, NULL, -1, &sink.w, err);
	if (ret == 0) {
		archive_read_support_filter_all(in);
		archive_read_support_format_tar(in);
		archive_read_support_format_gnutar(in);
		archive_write_set_format_pax_restricted(ar);
		/* Names as the bytes they are, whatever the locale: no
		 * conversion to UTF-8 to fail on a Latin-1 file name. */
		archive_write_set_format_option(ar, "pax", "hdrcharset",
						"BINARY");
		if (archive_read_open_fd(in, fd, BUF_SIZE) != ARCHIVE_OK ||
		    archive_write_open2(ar, &sink, NULL, sink_write, NULL,
					NULL) != ARCHIVE_OK)
			ret = cmn_err_msg(err, EINVAL,
					  "cannot read the archive: %s",
					  archive_error_string(in));
	}
	if (ret == 0)
		ret = rearchive(in, ar, buf, &entries, err);
	if (ret == 0 && archive_write_close(ar) != ARCHIVE_OK)
		ret = cmn_err_msg(err, EIO, "cannot store the layer: %s",
				  archive_error_string(ar));
	archive_write_free(ar);
	archive_read_free(in);
	if (ret == 0 && entries == 0)
		ret = cmn_err_msg(err, EINVAL,
				  "the input is empty or not a tar archive");
	*size = sink.size;
	if (ret < 0) {
		img_blob_writer_abort(sink.w);
		return ret;
	}
	return img_blob_writer_commit(sink.w, out, err);
}

/* ---- a directory, archived in the user namespace ---------------------------- */

struct dir_job {
	const char *dir;
	const char *tar; /* absolute path of the tar to write */
};

static int copy_entry(struct archive *disk, struct archive *out,
		      struct archive_entry *e, char *buf)
{
	la_ssize_t n;

	if (archive_write_header(out, e) != ARCHIVE_OK)
		return -EIO;
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) == 0)
		return 0;
	while ((n = archive_read_data(disk, buf, BUF_SIZE)) > 0)
		if (archive_write_data(out, buf, (size_t)n) != n)
			return -EIO;
	return n < 0 ? -EIO : 0;
}

/* Runs in the user namespace: the tree's owners as the container sees them. */
static int archive_dir(void *arg, void *out_, struct hutch_err *err)
{
	const struct dir_job *job = arg;
	struct archive *disk = archive_read_disk_new();
	struct archive *out = archive_write_new();
	cleanup_free char *buf = malloc(BUF_SIZE);
	struct archive_entry *e;
	int ret = 0, r;

	(void)out_;
	if (!disk || !out || !buf)
		return cmn_err_set(err, ENOMEM, "import");
	archive_read_disk_set_behavior(disk,
				       ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	archive_read_disk_set_symlink_physical(disk);
	archive_write_set_format_pax_restricted(out);
	/* Names as the bytes they are, whatever the locale: no
	 * conversion to UTF-8 to fail on a Latin-1 file name. */
	archive_write_set_format_option(out, "pax", "hdrcharset", "BINARY");
	if (archive_write_open_filename(out, job->tar) != ARCHIVE_OK ||
	    archive_read_disk_open(disk, ".") != ARCHIVE_OK)
		ret = cmn_err_msg(err, EIO, "cannot archive %s: %s", job->dir,
				  archive_error_string(disk));
	while (ret == 0 &&
	       (r = archive_read_next_header(disk, &e)) == ARCHIVE_OK) {
		archive_read_disk_descend(disk);
		if (copy_entry(disk, out, e, buf) < 0)
			ret = cmn_err_msg(err, EIO, "cannot archive %s/%s: %s",
					  job->dir, archive_entry_pathname(e),
					  archive_error_string(out));
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = cmn_err_msg(err, EIO, "cannot read %s: %s", job->dir,
				  archive_error_string(disk));
	if (archive_write_close(out) != ARCHIVE_OK && ret == 0)
		ret = cmn_err_msg(err, EIO, "cannot write the archive: %s",
				  archive_error_string(out));
	archive_write_free(out);
	archive_read_free(disk);
	return ret;
}

static int chdir_then_archive(void *arg, void *out, struct hutch_err *err)
{
	const struct dir_job *job = arg;

	if (chdir(job->dir) < 0)
		return cmn_err_set(err, errno, "cannot enter %s", job->dir);
	return archive_dir(arg, out, err);
}

static int import_dir(struct img_store *s, const char *dir,
		      struct img_digest *out, uint64_t *size,
		      struct hutch_err *err)
{
	char tmp[96];
	cleanup_free char *tar = NULL;
	struct dir_job job;
	int fd, ret = store_tmp_name(tmp, ".tar");

	if (ret < 0)
		return cmn_err_set(err, -ret, "import");
	tar = cmn_strdup_printf("%s/%s", s->root, tmp);
	if (!tar)
		return cmn_err_set(err, ENOMEM, "import");
	job = (struct dir_job){ dir, tar };
	ret = sbx_userns_call(SBX_USERNS_AUTO, chdir_then_archive, &job, NULL,
			      0, err);
	fd = ret == 0 ? open(tar, O_RDONLY | O_CLOEXEC) : -1;
	if (ret == 0 && fd < 0)
		ret = cmn_err_set(err, errno, "cannot read %s", tar);
	if (ret == 0)
		ret = stream_tar(s, fd, out, size, err);
	if (fd >= 0)
		close(fd);
	unlink(tar);
	return ret;
}

/* ---- config and manifest ------------------------------------------------------ */

static const char *go_arch(void)
{
	static const char *const map[][2] = {
		{ "x86_64", "amd64" },	  { "aarch64", "arm64" },
		{ "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "i686", "386" },
	};
	static struct utsname u;

	if (uname(&u) == 0)
		for (size_t i = 0; i < ARRAY_SIZE(map); i++)
			if (!strcmp(u.machine, map[i][0]))
				return map[i][1];
	return "amd64";
}

static void now_rfc3339(char buf[static 32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *make_config(const struct img_digest *diff, json_t *config,
			 const char *message)
{
	char created[32], d[72];
	json_t *c;
	char *text;

	now_rfc3339(created);
	c = json_pack("{s:s,s:s,s:s,s:O,s:{s:s,s:[s]},s:[{s:s,s:s,s:s}]}",
		      "architecture", go_arch(), "os", "linux", "created",
		      created, "config", config, "rootfs", "type", "layers",
		      "diff_ids", img_digest_str(diff, d), "history", "created",
		      created, "created_by", "hutch import", "comment",
		      message ? message : "");
	text = c ? json_dumps(c, JSON_COMPACT) : NULL;
	if (c)
		json_decref(c);
	return text;
}

static char *make_manifest(const struct img_digest *cfg, size_t cfg_len,
			   const struct img_digest *layer, uint64_t layer_len)
{
	char c[72], l[72];
	json_t *m = json_pack(
		"{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}", "schemaVersion",
		2, "mediaType", "application/vnd.oci.image.manifest.v1+json",
		"config", "mediaType",
		"application/vnd.oci.image.config.v1+json", "digest",
		img_digest_str(cfg, c), "size", (json_int_t)cfg_len, "layers",
		"mediaType", "application/vnd.oci.image.layer.v1.tar", "digest",
		img_digest_str(layer, l), "size", (json_int_t)layer_len);
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;

	if (m)
		json_decref(m);
	return text;
}

int img_import(struct img_store *s, const char *source, int fd,
	       const char *config_json, const char *message,
	       struct img_digest *id, struct hutch_err *err)
{
	json_t *config = json_loads(config_json ? config_json : "{}", 0, NULL);
	cleanup_free char *cfg = NULL;
	cleanup_free char *man = NULL;
	struct img_digest layer, cfg_digest;
	uint64_t size = 0;
	int ret;

	if (!json_is_object(config)) {
		if (config)
			json_decref(config);
		return cmn_err_msg(
			err, EINVAL,
			"import: the config changes are not a JSON object");
	}
	ret = source ? import_dir(s, source, &layer, &size, err)
		     : stream_tar(s, fd, &layer, &size, err);
	if (ret == 0) {
		cfg = make_config(&layer, config, message);
		ret = cfg ? img_blob_put(s, cfg, strlen(cfg), NULL, &cfg_digest,
					 err)
			  : cmn_err_set(err, ENOMEM, "import");
	}
	json_decref(config);
	if (ret == 0) {
		man = make_manifest(&cfg_digest, strlen(cfg), &layer, size);
		ret = man ? img_image_add(s, man, strlen(man), id, err)
			  : cmn_err_set(err, ENOMEM, "import");
	}
	return ret;
}
