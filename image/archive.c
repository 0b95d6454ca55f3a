// SPDX-License-Identifier: Apache-2.0
/* archive.c - save and load: images as docker-archive or oci-archive tars
 *
 * docker-archive is what `docker save` wrote for years and what skopeo
 * reads as docker-archive:: manifest.json (config file, RepoTags, layer
 * files), the config as <hex>.json, each layer as <hex>/layer.tar,
 * uncompressed (so compressed blobs are inflated on the way out).
 * oci-archive is an OCI image layout in a tar: oci-layout, index.json and
 * blobs/sha256/<hex>, blobs as stored.
 *
 * Loading extracts regular files only, each resolved inside a scratch
 * directory (an archive is untrusted input: no "..", no absolute paths, no
 * links followed), then imports through the store's writer, so every blob
 * is verified like a pulled one.
 */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/registry-internal.h"
#include "image/store-internal.h"
#include "common/json-cleanup.h"

#define BUF_SIZE (256 * 1024)

/* ---- writing -------------------------------------------------------------------- */

/* Entries belong to whoever saves, as tar's would: a rootless reader
 * (skopeo untars oci-archives keeping owners) can then unpack them. */
static void set_owner(struct archive_entry *e, bool dir)
{
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_uid(e, getuid());
	archive_entry_set_gid(e, getgid());
}

/* A file of @len bytes; (size_t)-1: a directory. */
static int add_bytes(struct archive *a, const char *name, const void *data,
		     size_t len)
{
	struct archive_entry *e = archive_entry_new();
	int ret;

	archive_entry_set_pathname(e, name);
	set_owner(e, len == (size_t)-1);
	archive_entry_set_size(e, len == (size_t)-1 ? 0 : (la_int64_t)len);
	archive_entry_set_mtime(e, 0, 0);
	ret = archive_write_header(a, e) == ARCHIVE_OK &&
			      (len == 0 || len == (size_t)-1 ||
			       archive_write_data(a, data, len) ==
				       (la_ssize_t)len)
		      ? 0
		      : -EIO;
	archive_entry_free(e);
	return ret;
}

/* A blob as an entry; with @inflate, its uncompressed content (a layer
 * for docker-archive), whose size is only known after a first pass. */
static int add_blob(struct img_store *s, struct archive *a, const char *name,
		    const struct img_digest *d, bool inflate)
{
	cleanup_free char *path = img_blob_path(s, d);
	cleanup_free char *buf = malloc(BUF_SIZE);
	struct archive *in = NULL;
	struct archive_entry *e = archive_entry_new();
	int64_t size = 0;
	int ret = 0;

	for (int pass = inflate ? 0 : 1; ret == 0 && pass < 2; pass++) {
		struct archive_entry *raw;
		la_ssize_t n;

		in = archive_read_new();
		archive_read_support_filter_all(in);
		archive_read_support_format_raw(in);
		if (!path || !buf ||
		    archive_read_open_filename(in, path, BUF_SIZE) !=
			    ARCHIVE_OK ||
		    archive_read_next_header(in, &raw) != ARCHIVE_OK)
			ret = -EIO;
		if (ret == 0 && pass == 1) {
			archive_entry_set_pathname(e, name);
			set_owner(e, false);
			if (!inflate) {
				struct stat st;

				size = stat(path, &st) == 0 ? st.st_size : 0;
			}
			archive_entry_set_size(e, size);
			if (archive_write_header(a, e) != ARCHIVE_OK)
				ret = -EIO;
		}
		while (ret == 0 &&
		       (n = inflate || pass == 1
				    ? archive_read_data(in, buf, BUF_SIZE)
				    : 0) > 0) {
			if (pass == 0)
				size += n;
			else if (archive_write_data(a, buf, (size_t)n) != n)
				ret = -EIO;
		}
		archive_read_free(in);
	}
	archive_entry_free(e);
	return ret;
}

static int save_docker(struct img_store *s, struct archive *a,
		       struct img_image *const *imgs, size_t n,
		       char *const *names, struct hutch_err *err)
{
	json_t *manifest = json_array();
	cleanup_json json_t *written = json_object();
	cleanup_free char *text = NULL;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < n; i++) {
		const struct img_image *im = imgs[i];
		char cfg[80];
		json_t *layers = json_array(), *tags = json_array();

		snprintf(cfg, sizeof(cfg), "%s.json", im->id.hex);
		ret = add_bytes(a, cfg, im->config_json, im->config_len);
		for (size_t l = 0; ret == 0 && l < im->n_layers; l++) {
			char lname[80];

			snprintf(lname, sizeof(lname), "%s/layer.tar",
				 im->layers[l].diff_id.hex);
			json_array_append_new(layers, json_string(lname));
			/* A layer shared by images (or repeated) goes in once. */
			if (json_object_get(written, lname))
				continue;
			json_object_set_new(written, lname, json_true());
			lname[64] = '\0';
			ret = add_bytes(a, lname, NULL, (size_t)-1);
			lname[64] = '/';
			if (ret == 0)
				ret = add_blob(s, a, lname, &im->layers[l].blob,
					       true);
		}
		if (names[i])
			json_array_append_new(tags, json_string(names[i]));
		json_array_append_new(manifest,
				      json_pack("{s:s,s:o,s:o}", "Config", cfg,
						"RepoTags", tags, "Layers",
						layers));
	}
	text = json_dumps(manifest, JSON_COMPACT);
	json_decref(manifest);
	if (ret == 0)
		ret = text ? add_bytes(a, "manifest.json", text, strlen(text))
			   : -ENOMEM;
	return ret < 0 ? cmn_err_set(err, -ret, "cannot write the archive") : 0;
}

static int save_oci(struct img_store *s, struct archive *a,
		    struct img_image *const *imgs, size_t n, char *const *names,
		    char *const *full, struct hutch_err *err)
{
	json_t *index =
		json_pack("{s:i,s:[]}", "schemaVersion", 2, "manifests");
	cleanup_json json_t *written = json_object();
	cleanup_free char *text = NULL;
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	int ret = add_bytes(a, "oci-layout", layout, strlen(layout));

	if (ret == 0)
		ret = add_bytes(a, "blobs/", NULL, (size_t)-1);
	if (ret == 0)
		ret = add_bytes(a, "blobs/sha256/", NULL, (size_t)-1);

	for (size_t i = 0; ret == 0 && i < n; i++) {
		const struct img_image *im = imgs[i];
		char path[96], d[72];
		json_t *desc;

		/* Blobs images share go in once. */
		snprintf(path, sizeof(path), "blobs/sha256/%s",
			 im->manifest.hex);
		if (!json_object_get(written, path)) {
			json_object_set_new(written, path, json_true());
			ret = add_bytes(a, path, im->manifest_json,
					im->manifest_len);
		}
		snprintf(path, sizeof(path), "blobs/sha256/%s", im->id.hex);
		if (ret == 0 && !json_object_get(written, path)) {
			json_object_set_new(written, path, json_true());
			ret = add_bytes(a, path, im->config_json,
					im->config_len);
		}
		for (size_t l = 0; ret == 0 && l < im->n_layers; l++) {
			snprintf(path, sizeof(path), "blobs/sha256/%s",
				 im->layers[l].blob.hex);
			if (json_object_get(written, path))
				continue;
			json_object_set_new(written, path, json_true());
			ret = add_blob(s, a, path, &im->layers[l].blob, false);
		}
		desc = json_pack(
			"{s:s,s:s,s:I}", "mediaType",
			im->manifest_type && *im->manifest_type
				? im->manifest_type
				: "application/vnd.oci.image.manifest.v1+json",
			"digest", img_digest_str(&im->manifest, d), "size",
			(json_int_t)im->manifest_len);
		if (names[i])
			json_object_set_new(
				desc, "annotations",
				json_pack("{s:s,s:s}",
					  "org.opencontainers.image.ref.name",
					  names[i], "io.containerd.image.name",
					  full[i]));
		json_array_append_new(json_object_get(index, "manifests"),
				      desc);
	}
	text = json_dumps(index, JSON_COMPACT);
	json_decref(index);
	if (ret == 0)
		ret = text ? add_bytes(a, "index.json", text, strlen(text))
			   : -ENOMEM;
	return ret < 0 ? cmn_err_set(err, -ret, "cannot write the archive") : 0;
}

int img_save(struct img_store *s, char *const *keys, size_t n, bool oci, int fd,
	     struct hutch_err *err)
{
	struct img_image **imgs = calloc(n + 1, sizeof(*imgs));
	char **names = calloc(2 * n + 1, sizeof(*names)); /* short, then full */
	struct archive *a = archive_write_new();
	int ret = imgs && names && a ? 0 : cmn_err_set(err, ENOMEM, "save");

	for (size_t i = 0; ret == 0 && i < n; i++) {
		struct img_digest id;
		struct img_ref ref;

		ret = img_resolve(s, keys[i], &id, err);
		if (ret == -ENOENT)
			cmn_err_msg(err, ENOENT, "No such image: %s", keys[i]);
		if (ret == 0)
			ret = img_image_load(s, &id, &imgs[i], err);
		if (ret == 0 && imgs[i]->squashfs)
			ret = cmn_err_msg(
				err, EINVAL,
				"image %s is kept as one squashfs file (HUTCH_IMAGE_FORMAT), without its layers: save it with hutch save --format squashfs",
				keys[i]);
		/* A name as given becomes the archive's tag; an id, none. */
		if (ret == 0 && img_ref_parse(keys[i], &ref, NULL) == 0) {
			if (ref.tag &&
			    !cmn_has_prefix(imgs[i]->id.hex, keys[i])) {
				names[i] = img_ref_short(&ref);
				names[n + i] = img_ref_str(&ref);
			}
			img_ref_free(&ref);
		}
	}
	if (ret == 0) {
		archive_write_set_format_pax_restricted(a);
		if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
			ret = cmn_err_msg(err, EIO,
					  "cannot write the archive: %s",
					  archive_error_string(a));
	}
	if (ret == 0)
		ret = oci ? save_oci(s, a, imgs, n, names, names + n, err)
			  : save_docker(s, a, imgs, n, names, err);
	if (ret == 0 && archive_write_close(a) != ARCHIVE_OK)
		ret = cmn_err_msg(err, EIO, "cannot finish the archive: %s",
				  archive_error_string(a));
	if (a)
		archive_write_free(a);
	for (size_t i = 0; i < n; i++) {
		img_image_free(imgs ? imgs[i] : NULL);
		free(names ? names[i] : NULL);
		free(names ? names[n + i] : NULL);
	}
	free(imgs);
	free(names);
	return ret;
}

/* ---- reading -------------------------------------------------------------------- */

#define SMALL_FILE  (4 << 20)	/* read into memory up to this size */
#define SMALL_TOTAL (256 << 20) /* and this much in all */
#define MAX_LINKS   8

/* One file of the archive: small ones in memory, large ones (layers)
 * streamed straight into the store as blobs; symbolic links (old docker
 * save linked repeated layers) as names only, never on a filesystem. */
struct ld_file {
	char *name;
	char *link;
	char *data;
	size_t len;
	bool stored;
	struct img_digest digest;
	int64_t size;
};

struct loader {
	struct img_store *s;
	struct ld_file *f;
	size_t n, cap, mem;
	img_load_fn cb;
	void *ctx;
	unsigned loaded;
	bool squashfs; /* pack each image made before it is named */
};

/* A store of squashfs files: an image this load made becomes one before
 * it gets a name, so that no `run` by name takes its layers meanwhile. */
static int ld_pack(struct loader *l, const struct img_digest *id,
		   struct hutch_err *err)
{
	if (!l->squashfs || !img_image_made(l->s, id))
		return 0;
	return img_image_pack(l->s, id, false, err);
}

/* @raw relative to @dir ("" for the top) as a clean path: no "", "." or
 * ".." parts; false when it climbs out of the archive or is too long. */
static bool ld_clean(const char *dir, const char *raw, char *out, size_t size)
{
	char tmp[1024];
	size_t len = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", dir, raw) >=
	    sizeof(tmp))
		return false;
	out[0] = '\0';
	for (char *save = NULL, *p = strtok_r(tmp, "/", &save); p;
	     p = strtok_r(NULL, "/", &save)) {
		if (!strcmp(p, "."))
			continue;
		if (!strcmp(p, "..")) {
			char *slash;

			if (len == 0)
				return false;
			slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		if (len + strlen(p) + 2 > size)
			return false;
		len += (size_t)sprintf(out + len, "%s%s", len ? "/" : "", p);
	}
	return len > 0;
}

static struct ld_file *ld_find(struct loader *l, const char *name)
{
	char cur[1024];

	snprintf(cur, sizeof(cur), "%s", name);
	for (int hops = 0; hops <= MAX_LINKS; hops++) {
		struct ld_file *f = NULL;

		for (size_t i = l->n; i-- > 0;) {
			if (!strcmp(l->f[i].name, cur)) {
				f = &l->f[i];
				break;
			}
		}
		if (!f || !f->link)
			return f;
		snprintf(cur, sizeof(cur), "%s", f->link);
	}
	return NULL;
}

static int ld_read_entry(struct loader *l, struct archive *a,
			 struct archive_entry *e, struct ld_file *f,
			 struct hutch_err *err)
{
	int64_t size =
		archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	struct img_blob_writer *w = NULL;
	struct img_digest expect;
	bool named = cmn_has_prefix(f->name, "blobs/sha256/") &&
		     img_digest_parse(f->name + strlen("blobs/"), &expect);
	char buf[64 * 1024];
	la_ssize_t got;
	int ret;

	if (size >= 0 && size <= SMALL_FILE &&
	    l->mem + (size_t)size <= SMALL_TOTAL) {
		f->data = malloc((size_t)size + 1);
		if (!f->data)
			return cmn_err_set(err, ENOMEM, "load");
		while ((got = archive_read_data(a, f->data + f->len,
						(size_t)size - f->len)) > 0)
			f->len += (size_t)got;
		if (got < 0 || f->len != (size_t)size)
			return cmn_err_msg(
				err, EIO,
				"the archive is truncated or corrupt at %s: %s",
				f->name,
				got < 0 ? archive_error_string(a)
					: "short entry");
		f->data[f->len] = '\0';
		f->size = size;
		l->mem += f->len;
		return 0;
	}
	if (named && img_blob_exists(l->s, &expect)) {
		f->stored = true;
		f->digest = expect;
		f->size = size;
		return 0; /* libarchive skips the data */
	}
	ret = img_blob_writer_new(l->s, named ? &expect : NULL, size, &w, err);
	if (ret == 1) {
		f->stored = true;
		f->digest = expect;
		return 0;
	}
	while (ret == 0 && (got = archive_read_data(a, buf, sizeof(buf))) > 0)
		ret = img_blob_writer_write(w, buf, (size_t)got);
	if (ret == 0 && got < 0)
		ret = cmn_err_msg(
			err, EIO,
			"the archive is truncated or corrupt at %s: %s",
			f->name, archive_error_string(a));
	else if (ret < 0 && w)
		cmn_err_msg(err, -ret, "cannot store %s from the archive",
			    f->name);
	if (ret < 0) {
		img_blob_writer_abort(w);
		return ret;
	}
	ret = img_blob_writer_commit(w, &f->digest, err);
	if (ret == -EBADMSG)
		return cmn_err_msg(
			err, EBADMSG,
			"%s in the archive does not match its digest: the archive is corrupt",
			f->name);
	f->stored = ret == 0;
	f->size = size;
	return ret;
}

static int ld_extract(struct loader *l, int fd, const char *what,
		      struct hutch_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, ret = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK) {
		ret = cmn_err_msg(
			err, EINVAL,
			"%s is not an image archive (%s): make one with hutch save or docker save",
			what, archive_error_string(a));
		archive_read_free(a);
		return ret;
	}
	while (ret == 0 &&
	       (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		char name[1024], target[1024], dir[1024];
		const char *raw = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);
		struct ld_file *f;

		if ((type != AE_IFREG && type != AE_IFLNK) || !raw ||
		    !ld_clean("", raw, name, sizeof(name)))
			continue; /* directories, devices, odd names: never needed */
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 32;
			struct ld_file *nf = realloc(l->f, cap * sizeof(*nf));

			if (!nf) {
				ret = cmn_err_set(err, ENOMEM, "load");
				break;
			}
			l->f = nf;
			l->cap = cap;
		}
		f = &l->f[l->n];
		memset(f, 0, sizeof(*f));
		f->name = strdup(name);
		if (!f->name) {
			ret = cmn_err_set(err, ENOMEM, "load");
			break;
		}
		l->n++;
		if (type == AE_IFLNK) {
			const char *t = archive_entry_symlink(e);
			char *slash;

			snprintf(dir, sizeof(dir), "%s", name);
			slash = strrchr(dir, '/');
			*(slash ? slash : dir) = '\0';
			if (t && t[0] != '/' &&
			    ld_clean(dir, t, target, sizeof(target)))
				f->link = strdup(target);
			if (!f->link)
				l->n--, free(f->name); /* dangling or escaping: ignored */
			continue;
		}
		ret = ld_read_entry(l, a, e, f, err);
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = cmn_err_msg(
			err, EIO,
			"%s is truncated or not a tar archive (%s): make one with hutch save or docker save",
			what, archive_error_string(a));
	archive_read_free(a);
	return ret;
}

/* The file's bytes: its memory, or a small stored blob read back. */
static char *ld_bytes(struct loader *l, struct ld_file *f, size_t *len,
		      struct hutch_err *err)
{
	if (f->stored)
		return img_blob_read(l->s, &f->digest, 64 << 20, len, err);
	char *copy = f->data ? malloc(f->len + 1) : NULL;

	if (copy)
		memcpy(copy, f->data, f->len + 1);
	*len = f->len;
	return copy;
}

/* Make @f a blob in the store; with @expect, check it has that digest. */
static int ld_store(struct loader *l, struct ld_file *f,
		    const struct img_digest *expect, struct hutch_err *err)
{
	char d[72];

	if (!f->stored) {
		int ret = img_blob_put(l->s, f->data, f->len, NULL, &f->digest,
				       err);

		if (ret < 0)
			return ret;
		f->stored = true;
		f->size = (int64_t)f->len;
	}
	if (expect && !img_digest_equal(expect, &f->digest))
		return cmn_err_msg(
			err, EBADMSG,
			"%s in the archive does not match its digest %s: the archive is corrupt",
			f->name, img_digest_str(expect, d));
	return 0;
}

static struct ld_file *ld_blob(struct loader *l, const char *digest)
{
	char name[128];
	char *colon;

	snprintf(name, sizeof(name), "blobs/%s", digest);
	colon = strchr(name, ':');
	if (!colon)
		return NULL;
	*colon = '/';
	return ld_find(l, name);
}

static void ld_tag(struct loader *l, const struct img_digest *id,
		   const char *name)
{
	struct img_ref ref;

	if (name && img_ref_parse(name, &ref, NULL) == 0) {
		if (img_tag(l->s, &ref, id, NULL) == 0) {
			cleanup_free char *shown = img_ref_short(&ref);

			l->cb(l->ctx, id, shown);
			name = NULL;
		}
		img_ref_free(&ref);
		if (!name)
			return;
	}
	l->cb(l->ctx, id, NULL);
}

/* One OCI descriptor: an image manifest, or an index to choose from. */
static int ld_oci_desc(struct loader *l, const json_t *desc, const char *name,
		       int depth, struct hutch_err *err)
{
	const char *digest = json_string_value(json_object_get(desc, "digest"));
	struct img_digest want, id;
	struct ld_file *f;
	cleanup_free char *text = NULL;
	cleanup_json json_t *m = NULL;
	const json_t *layer;
	size_t len, i;
	int ret;

	if (!digest || !img_digest_parse(digest, &want))
		return cmn_err_msg(
			err, EINVAL,
			"the archive's index has a bad digest \"%s\"",
			digest ? digest : "");
	f = ld_blob(l, digest);
	if (!f)
		return cmn_err_msg(
			err, EINVAL,
			"the archive lacks the manifest %s: it is incomplete",
			digest);
	ret = ld_store(l, f, &want, err);
	text = ret == 0 ? ld_bytes(l, f, &len, err) : NULL;
	if (ret == 0 && !text)
		ret = -EIO;
	if (ret == 0 && !(m = json_loadb(text, len, 0, NULL)))
		ret = cmn_err_msg(err, EINVAL,
				  "the archive's manifest %s is not JSON",
				  digest);
	if (ret < 0)
		return ret;
	if (json_is_array(json_object_get(m, "manifests"))) {
		struct reg_platform host;
		const json_t *pick;
		char avail[256];

		reg_platform_host(&host);
		pick = depth < 2 ? reg_platform_select(m, &host, avail,
						       sizeof(avail))
				 : NULL;
		if (!pick)
			return cmn_err_msg(
				err, ENOENT,
				"the archive has no image for this machine's platform (it has %s)",
				avail);
		return ld_oci_desc(l, pick, name, depth + 1, err);
	}
	/* The config and the layers; a blob already in the store may be
	 * missing from the archive. */
	for (i = 0;
	     ret == 0 && i <= json_array_size(json_object_get(m, "layers"));
	     i++) {
		const char *bd;
		struct img_digest bdig;
		struct ld_file *bf;

		layer = i == 0 ? json_object_get(m, "config")
			       : json_array_get(json_object_get(m, "layers"),
						i - 1);
		bd = json_string_value(json_object_get(layer, "digest"));
		if (!bd || !img_digest_parse(bd, &bdig))
			return cmn_err_msg(err, EINVAL,
					   "the manifest %s has a bad digest",
					   digest);
		bf = ld_blob(l, bd);
		if (bf)
			ret = ld_store(l, bf, &bdig, err);
		else if (!img_blob_exists(l->s, &bdig))
			ret = cmn_err_msg(
				err, EINVAL,
				"the archive lacks the blob %s: it is incomplete",
				bd);
	}
	if (ret == 0)
		ret = img_image_add(l->s, text, len, &id, err);
	if (ret == 0)
		ret = ld_pack(l, &id, err);
	if (ret == 0) {
		ld_tag(l, &id, name);
		l->loaded++;
	}
	return ret;
}

/* An annotation names the image: containerd's full name, or the OCI
 * ref.name when it is a whole reference rather than a bare tag. */
static const char *ld_oci_name(const json_t *desc)
{
	const json_t *ann = json_object_get(desc, "annotations");
	const char *full = json_string_value(
		json_object_get(ann, "io.containerd.image.name"));
	const char *ref = json_string_value(
		json_object_get(ann, "org.opencontainers.image.ref.name"));

	if (full)
		return full;
	return ref && strpbrk(ref, ":/@") ? ref : NULL;
}

static int ld_oci(struct loader *l, struct ld_file *index_file,
		  struct hutch_err *err)
{
	cleanup_json json_t *index =
		json_loadb(index_file->data, index_file->len, 0, NULL);
	const json_t *desc;
	size_t i;
	int ret = 0;

	if (!index_file->data ||
	    !json_is_array(json_object_get(index, "manifests")))
		return cmn_err_msg(
			err, EINVAL,
			"the archive's index.json is not an OCI index");
	json_array_foreach(json_object_get(index, "manifests"), i, desc)
	{
		if (ret == 0)
			ret = ld_oci_desc(l, desc, ld_oci_name(desc), 0, err);
	}
	return ret;
}

/* The layer's media type from its first bytes. */
static const char *ld_layer_type(struct loader *l, struct ld_file *f)
{
	unsigned char m[4] = { 0 };

	if (f->stored) {
		cleanup_free char *path = img_blob_path(l->s, &f->digest);
		cleanup_close int fd =
			path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

		if (fd < 0 || read(fd, m, sizeof(m)) != (ssize_t)sizeof(m))
			memset(m, 0, sizeof(m));
	} else if (f->len >= sizeof(m)) {
		memcpy(m, f->data, sizeof(m));
	}
	if (m[0] == 0x1f && m[1] == 0x8b)
		return "application/vnd.oci.image.layer.v1.tar+gzip";
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return "application/vnd.oci.image.layer.v1.tar";
}

static int ld_docker_image(struct loader *l, const json_t *entry,
			   struct hutch_err *err)
{
	const char *cfg_name =
		json_string_value(json_object_get(entry, "Config"));
	const json_t *names = json_object_get(entry, "Layers"),
		     *tags = json_object_get(entry, "RepoTags");
	struct ld_file *cf = cfg_name ? ld_find(l, cfg_name) : NULL;
	json_t *layers = json_array();
	cleanup_json json_t *m = NULL;
	cleanup_free char *text = NULL;
	struct img_digest id;
	const json_t *v;
	char d[72];
	size_t i;
	int ret =
		cf ? ld_store(l, cf, NULL, err)
		   : cmn_err_msg(
			     err, EINVAL,
			     "the archive lacks the image config \"%s\" its manifest.json names",
			     cfg_name ? cfg_name : "");

	json_array_foreach(names, i, v)
	{
		const char *ln = json_string_value(v);
		struct ld_file *lf = ln ? ld_find(l, ln) : NULL;

		if (ret < 0)
			break;
		if (!lf) {
			ret = cmn_err_msg(
				err, EINVAL,
				"the archive lacks the layer \"%s\" its manifest.json names",
				ln ? ln : "");
			break;
		}
		ret = ld_store(l, lf, NULL, err);
		if (ret == 0)
			json_array_append_new(
				layers,
				json_pack("{s:s,s:s,s:I}", "mediaType",
					  ld_layer_type(l, lf), "digest",
					  img_digest_str(&lf->digest, d),
					  "size", (json_int_t)lf->size));
	}
	if (ret < 0) {
		json_decref(layers);
		return ret;
	}
	m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2,
		      "mediaType", "application/vnd.oci.image.manifest.v1+json",
		      "config", "mediaType",
		      "application/vnd.oci.image.config.v1+json", "digest",
		      img_digest_str(&cf->digest, d), "size",
		      (json_int_t)cf->size, "layers", layers);
	text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	if (!text)
		return cmn_err_set(err, ENOMEM, "load");
	ret = img_image_add(l->s, text, strlen(text), &id, err);
	if (ret == 0)
		ret = ld_pack(l, &id, err);
	if (ret < 0)
		return ret;
	l->loaded++;
	if (json_array_size(tags) == 0)
		ld_tag(l, &id, NULL);
	for (i = 0; i < json_array_size(tags); i++)
		ld_tag(l, &id, json_string_value(json_array_get(tags, i)));
	return 0;
}

static int ld_docker(struct loader *l, struct ld_file *mf,
		     struct hutch_err *err)
{
	cleanup_json json_t *list =
		mf->data ? json_loadb(mf->data, mf->len, 0, NULL) : NULL;
	const json_t *entry;
	size_t i;
	int ret = 0;

	if (!json_is_array(list))
		return cmn_err_msg(
			err, EINVAL,
			"the archive's manifest.json is not a docker-archive manifest");
	json_array_foreach(list, i, entry)
	{
		if (ret == 0)
			ret = ld_docker_image(l, entry, err);
	}
	return ret;
}

int img_load(struct img_store *s, int fd, const char *what, bool squashfs,
	     img_load_fn cb, void *ctx, struct hutch_err *err)
{
	struct loader l = {
		.s = s, .cb = cb, .ctx = ctx, .squashfs = squashfs
	};
	struct ld_file *index, *manifest;
	int ret = ld_extract(&l, fd, what, err);

	index = ret == 0 ? ld_find(&l, "index.json") : NULL;
	manifest = ret == 0 ? ld_find(&l, "manifest.json") : NULL;
	if (ret == 0 && index && !index->stored)
		ret = ld_oci(&l, index, err);
	else if (ret == 0 && manifest && !manifest->stored)
		ret = ld_docker(&l, manifest, err);
	else if (ret == 0)
		ret = cmn_err_msg(
			err, EINVAL,
			"%s has neither manifest.json nor index.json: it is not a docker-archive or oci-archive image",
			what);
	if (ret == 0 && l.loaded == 0)
		ret = cmn_err_msg(err, EINVAL, "%s holds no image", what);
	for (size_t i = 0; i < l.n; i++) {
		free(l.f[i].name);
		free(l.f[i].link);
		free(l.f[i].data);
	}
	free(l.f);
	return ret;
}
