// SPDX-License-Identifier: Apache-2.0
/* imagedb.c - image records (images/<id>.json) and names (refs.json)
 *
 * An image is its config digest (Docker's image id). Its record lists the
 * manifest and, per layer, the blob, its diff_id and its chain id, so that
 * running it needs no JSON but this file. Names map to ids in refs.json,
 * rewritten whole under locks/refs; "repo:tag" and "repo@sha256:..." keys
 * live side by side there.
 */

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/store-internal.h"
#include "common/json-cleanup.h"

#define MAX_JSON (16 << 20)

static const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* "2024-01-02T03:04:05.123456789Z" -> seconds; 0 when absent or odd. */
static int64_t parse_created(const char *s)
{
	struct tm tm = { 0 };
	const char *rest;

	if (!s)
		return 0;
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return 0;
	return (int64_t)timegm(&tm);
}

/* Docker schema2 and OCI image manifests; lists are resolved by pull. */
static int check_manifest(const json_t *m, struct hutch_err *err)
{
	const char *type = jstr(m, "mediaType");

	if (type &&
	    (strstr(type, "manifest.list") || strstr(type, "image.index")))
		return cmn_err_msg(
			err, EINVAL,
			"the manifest is a list (%s): pick one platform's manifest first",
			type);
	if (json_integer_value(json_object_get(m, "schemaVersion")) != 2)
		return cmn_err_msg(
			err, EINVAL,
			"unsupported manifest schema (Docker schema 1 is deprecated): re-push the image with a current tool");
	if (!json_is_object(json_object_get(m, "config")) ||
	    !json_is_array(json_object_get(m, "layers")))
		return cmn_err_msg(
			err, EINVAL,
			"the manifest has no config or layers: not a container image");
	return 0;
}

static int digest_field(const json_t *obj, const char *key,
			struct img_digest *d, struct hutch_err *err)
{
	const char *s = jstr(obj, key);

	if (!s || !img_digest_parse(s, d))
		return cmn_err_msg(
			err, EINVAL,
			"the manifest has a bad or unsupported %s digest \"%s\"",
			key, s ? s : "");
	return 0;
}

static bool layer_type_ok(const char *type)
{
	return !type || strstr(type, "image.rootfs.diff.tar") ||
	       strstr(type, "image.layer.v1.tar");
}

/* Unpack every layer in order and build the record's "layers" array. */
static int add_layers(struct img_store *s, const json_t *manifest,
		      const json_t *config, json_t *out, uint64_t *total,
		      struct hutch_err *err)
{
	const json_t *layers = json_object_get(manifest, "layers");
	const json_t *diffs =
		json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	struct img_digest parent, chain;
	size_t i;
	json_t *l;

	if (json_array_size(diffs) != json_array_size(layers))
		return cmn_err_msg(
			err, EINVAL,
			"the image config lists %zu layers but the manifest %zu: the image is corrupt",
			json_array_size(diffs), json_array_size(layers));
	json_array_foreach(layers, i, l)
	{
		struct img_digest blob, diff;
		char b[72], d[72], c[72];
		const char *type = jstr(l, "mediaType");
		json_int_t size =
			json_integer_value(json_object_get(l, "size"));
		int ret;

		if (!layer_type_ok(type))
			return cmn_err_msg(
				err, EINVAL,
				"layer %zu has media type %s, which is not a container filesystem layer",
				i, type);
		if (digest_field(l, "digest", &blob, err) < 0)
			return -EINVAL;
		if (!img_digest_parse(
			    json_string_value(json_array_get(diffs, i)), &diff))
			return cmn_err_msg(
				err, EINVAL,
				"the image config has a bad diff_id for layer %zu",
				i);
		ret = img_layer_add(s, &blob, i ? &parent : NULL, &diff, &chain,
				    err);
		if (ret < 0)
			return ret;
		*total += (uint64_t)(size > 0 ? size : 0);
		json_array_append_new(
			out, json_pack("{s:s,s:I,s:s,s:s,s:s}", "blob",
				       img_digest_str(&blob, b), "size", size,
				       "mediaType", type ? type : "", "diffId",
				       img_digest_str(&diff, d), "chain",
				       img_digest_str(&chain, c)));
		parent = chain;
	}
	return 0;
}

static int write_record(struct img_store *s, const struct img_digest *id,
			json_t *rec, struct hutch_err *err)
{
	char path[96];
	char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	int ret;

	if (!text)
		return cmn_err_set(err, ENOMEM, "image record");
	snprintf(path, sizeof(path), "images/%s.json", id->hex);
	ret = store_write_atomic(s, path, text, strlen(text));
	free(text);
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot record image %s",
				   id->hex);
	return 0;
}

/* Is image @id recorded in squashfs form with its file present? */
static bool squashfs_form(struct img_store *s, const struct img_digest *id)
{
	char path[96];
	cleanup_json json_t *rec = NULL;
	const char *form;

	snprintf(path, sizeof(path), "images/%s.json", id->hex);
	rec = cmn_json_load(s->rootfd, path, "the image record", MAX_JSON, 0,
			    NULL);
	form = rec ? jstr(rec, "form") : NULL;
	snprintf(path, sizeof(path), STORE_SQSH_DIR "/%s.sqsh", id->hex);
	/* One a .sqsh file brought (load, FROM FILE) does not count: its
	 * config is the id, but nothing binds its tree to the config's
	 * layers, so a pull of that id makes the image again from the
	 * registry's verified layers, and replaces it. */
	return form && !strcmp(form, "squashfs") &&
	       !json_is_true(json_object_get(rec, "adopted")) &&
	       faccessat(s->rootfd, path, F_OK, 0) == 0;
}

int img_image_add(struct img_store *s, const char *manifest, size_t len,
		  struct img_digest *id, struct hutch_err *err)
{
	json_error_t jerr;
	cleanup_json json_t *m = json_loadb(manifest, len, 0, &jerr);
	cleanup_json json_t *cfg = NULL;
	cleanup_json json_t *rec = NULL;
	cleanup_free char *cfg_text = NULL;
	struct img_digest mdigest;
	char md[72], cd[72], path[96];
	uint64_t total = 0;
	size_t cfg_len = 0;
	int ret;

	if (!m)
		return cmn_err_msg(
			err, EINVAL,
			"the manifest is not valid JSON: %s (line %d)",
			jerr.text, jerr.line);
	ret = check_manifest(m, err);
	if (ret == 0)
		ret = digest_field(json_object_get(m, "config"), "digest", id,
				   err);
	/* Kept in squashfs form already: it stays so (its layers are not
	 * made again). */
	if (ret == 0 && squashfs_form(s, id))
		return store_hold(s, STORE_HOLD_IMAGE, id) == 0
			       ? 0
			       : cmn_err_msg(err, EIO,
					     "cannot protect image %s",
					     id->hex);
	if (ret == 0)
		ret = img_blob_put(s, manifest, len, NULL, &mdigest, err);
	if (ret < 0)
		return ret;
	cfg_text = img_blob_read(s, id, MAX_JSON, &cfg_len, err);
	if (!cfg_text)
		return -ENOENT;
	cfg = json_loadb(cfg_text, cfg_len, 0, &jerr);
	if (!cfg)
		return cmn_err_msg(err, EINVAL,
				   "the image config %s is not valid JSON: %s",
				   img_digest_str(id, cd), jerr.text);
	rec = json_pack("{s:s,s:s,s:s,s:[],s:I}", "id", img_digest_str(id, cd),
			"manifest", img_digest_str(&mdigest, md),
			"manifestType",
			jstr(m, "mediaType")
				? jstr(m, "mediaType")
				: "application/vnd.oci.image.manifest.v1+json",
			"layers", "created",
			(json_int_t)parse_created(jstr(cfg, "created")));
	if (!rec)
		return cmn_err_set(err, ENOMEM, "image record");
	ret = add_layers(s, m, cfg, json_object_get(rec, "layers"), &total,
			 err);
	if (ret < 0)
		return ret;
	json_object_set_new(rec, "size", json_integer((json_int_t)total));
	snprintf(path, sizeof(path), "images/%s.json", id->hex);
	if (faccessat(s->rootfd, path, F_OK, 0) < 0) {
		struct img_digest *more =
			realloc(s->made, (s->n_made + 1) * sizeof(*more));

		if (!more)
			return cmn_err_set(err, ENOMEM, "image record");
		s->made = more;
		s->made[s->n_made++] = *id;
	}
	/* Held until this process ends: prune leaves an image being
	 * recorded alone, as it is unnamed until its maker tags it. */
	ret = store_hold(s, STORE_HOLD_IMAGE, id);
	if (ret < 0 && ret != -ENOENT)
		return cmn_err_set(err, -ret, "cannot protect image %s",
				   id->hex);
	return write_record(s, id, rec, err);
}

int store_record_squashfs(struct img_store *s, const struct img_digest *id,
			  uint64_t size, bool layers_kept,
			  struct hutch_err *err)
{
	char path[96];
	cleanup_json json_t *rec = NULL;

	snprintf(path, sizeof(path), "images/%s.json", id->hex);
	rec = cmn_json_load(s->rootfd, path, "the image record", MAX_JSON, 0,
			    err);
	if (!rec)
		return -EIO;
	if (json_object_set_new(rec, "form", json_string("squashfs")) < 0 ||
	    json_object_set_new(rec, "squashfsSize",
				json_integer((json_int_t)size)) < 0 ||
	    (layers_kept &&
	     json_object_set_new(rec, "layersKept", json_true()) < 0))
		return cmn_err_set(err, ENOMEM, "image record");
	return write_record(s, id, rec, err);
}

/* An OCI manifest of the config blob @cfg (@len bytes) and @layers (its
 * "layers" array, taken), as compact JSON (owned; NULL on ENOMEM). */
static char *manifest_text(const struct img_digest *cfg, size_t len,
			   json_t *layers)
{
	cleanup_json json_t *m = NULL;
	char c[72];

	m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2,
		      "mediaType", "application/vnd.oci.image.manifest.v1+json",
		      "config", "mediaType",
		      "application/vnd.oci.image.config.v1+json", "digest",
		      img_digest_str(cfg, c), "size", (json_int_t)len, "layers",
		      layers);
	return m ? json_dumps(m, JSON_COMPACT) : NULL;
}

int store_record_adopted(struct img_store *s, const struct img_digest *id,
			 const char *config, uint64_t size,
			 struct hutch_err *err)
{
	cleanup_json json_t *cfg = json_loads(config, 0, NULL);
	cleanup_json json_t *rec = NULL;
	cleanup_free char *text = NULL;
	struct img_digest cd, md;
	char c[72], d[72];
	struct img_digest *more;
	int ret = img_blob_put(s, config, strlen(config), id, &cd, err);

	if (ret < 0)
		return ret;
	/* Its layers are not in the store: the manifest lists none, and the
	 * config's diff_ids say what the file was made from. */
	text = manifest_text(&cd, strlen(config), json_array());
	if (!text)
		return cmn_err_set(err, ENOMEM, "manifest");
	ret = img_blob_put(s, text, strlen(text), NULL, &md, err);
	if (ret < 0)
		return ret;
	rec = json_pack(
		"{s:s,s:s,s:s,s:[],s:I,s:I,s:s,s:I}", "id",
		img_digest_str(id, c), "manifest", img_digest_str(&md, d),
		"manifestType", "application/vnd.oci.image.manifest.v1+json",
		"layers", "created",
		(json_int_t)parse_created(cfg ? jstr(cfg, "created") : NULL),
		"size", (json_int_t)size, "form", "squashfs", "squashfsSize",
		(json_int_t)size);
	if (!rec || json_object_set_new(rec, "adopted", json_true()) < 0)
		return cmn_err_set(err, ENOMEM, "image record");
	more = realloc(s->made, (s->n_made + 1) * sizeof(*more));
	if (!more)
		return cmn_err_set(err, ENOMEM, "image record");
	s->made = more;
	s->made[s->n_made++] = *id;
	return write_record(s, id, rec, err);
}

bool img_image_made(struct img_store *s, const struct img_digest *id)
{
	for (size_t i = 0; i < s->n_made; i++)
		if (img_digest_equal(&s->made[i], id))
			return true;
	return false;
}

/* ---- names ---------------------------------------------------------------- */

static json_t *load_refs(struct img_store *s)
{
	json_t *refs = cmn_json_load(s->rootfd, "refs.json", "the image names",
				     MAX_JSON, 0, NULL);

	return refs ? refs : json_object();
}

int img_tag(struct img_store *s, const struct img_ref *ref,
	    const struct img_digest *id, struct hutch_err *err)
{
	cleanup_free char *name = img_ref_str(ref);
	cleanup_json json_t *refs = NULL;
	char idstr[72];
	char *text;
	int lock, ret;

	if (!name)
		return cmn_err_set(err, ENOMEM, "tag");
	lock = store_lock(s, "refs", true);
	if (lock < 0)
		return cmn_err_set(err, -lock, "cannot lock the image names");
	refs = load_refs(s);
	json_object_set_new(refs, name, json_string(img_digest_str(id, idstr)));
	text = json_dumps(refs, JSON_INDENT(1) | JSON_SORT_KEYS);
	ret = text ? store_write_atomic(s, "refs.json", text, strlen(text))
		   : -ENOMEM;
	free(text);
	store_unlock(lock);
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot record the name %s",
				   name);
	return 0;
}

static bool record_exists(struct img_store *s, const char *hex)
{
	char path[96];

	snprintf(path, sizeof(path), "images/%.64s.json", hex);
	return faccessat(s->rootfd, path, F_OK, 0) == 0;
}

/* A unique id prefix of at least 4 hex digits ("sha256:" optional). */
int store_resolve_id(struct img_store *s, const char *name,
		     struct img_digest *id, struct hutch_err *err)
{
	const char *hex = cmn_has_prefix(name, "sha256:") ? name + 7 : name;
	size_t n = strlen(hex), found = 0;
	cleanup_dir DIR *d = NULL;
	struct dirent *de;

	if (n < 4 || n > 64 || strspn(hex, "0123456789abcdef") != n)
		return -ENOENT;
	d = cmn_opendirat(s->rootfd, "images", 0);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, hex, n) && strlen(de->d_name) == 69) {
			memcpy(id->hex, de->d_name, 64);
			id->hex[64] = '\0';
			found++;
		}
	if (found > 1)
		return cmn_err_msg(
			err, EINVAL,
			"the id prefix %s matches %zu images; give more digits",
			name, found);
	return found ? 0 : -ENOENT;
}

int img_resolve_ref(struct img_store *s, const struct img_ref *ref,
		    struct img_digest *id)
{
	cleanup_free char *full = img_ref_str(ref);
	cleanup_json json_t *refs = full ? load_refs(s) : NULL;
	const char *hit = json_string_value(json_object_get(refs, full));

	return hit && img_digest_parse(hit, id) && record_exists(s, id->hex)
		       ? 0
		       : -ENOENT;
}

int img_resolve(struct img_store *s, const char *name, struct img_digest *id,
		struct hutch_err *err)
{
	struct img_ref ref = { 0 };
	struct hutch_err perr = { 0 };
	int ret = -ENOENT;

	if (img_ref_parse(name, &ref, &perr) == 0) {
		ret = img_resolve_ref(s, &ref, id);
		img_ref_free(&ref);
		if (ret == 0)
			return 0;
	}
	ret = store_resolve_id(s, name, id, err);
	if (ret == -ENOENT && perr.msg[0])
		return cmn_err_msg(err, EINVAL, "%s", perr.msg);
	return ret;
}

/* ---- loading --------------------------------------------------------------- */

static int load_layers(const json_t *arr, struct img_image *img,
		       struct hutch_err *err)
{
	size_t i;
	json_t *l;

	img->layers = calloc(json_array_size(arr) + 1, sizeof(*img->layers));
	if (!img->layers)
		return cmn_err_set(err, ENOMEM, "image");
	json_array_foreach(arr, i, l)
	{
		struct img_layer_info *li = &img->layers[i];

		if (!img_digest_parse(jstr(l, "blob") ? jstr(l, "blob") : "",
				      &li->blob) ||
		    !img_digest_parse(jstr(l, "diffId") ? jstr(l, "diffId")
							: "",
				      &li->diff_id) ||
		    !img_digest_parse(jstr(l, "chain") ? jstr(l, "chain") : "",
				      &li->chain))
			return cmn_err_msg(
				err, EINVAL,
				"the record of image %s is damaged (layer %zu); remove it with hutch rmi and pull again",
				img->id.hex, i);
		li->size = json_integer_value(json_object_get(l, "size"));
		li->media_type = strdup(
			jstr(l, "mediaType") ? jstr(l, "mediaType") : "");
		img->n_layers++;
	}
	return 0;
}

static int load_names(struct img_store *s, struct img_image *img)
{
	cleanup_json json_t *refs = load_refs(s);
	const char *key;
	json_t *val;
	char idstr[72];

	img_digest_str(&img->id, idstr);
	json_object_foreach(refs, key,
			    val) if (!strcmp(json_string_value(val)
						     ? json_string_value(val)
						     : "",
					     idstr) &&
				     cmn_strv_push(&img->names, strdup(key)) <
					     0) return -ENOMEM;
	return 0;
}

static int load_record(struct img_store *s, struct img_image *img,
		       struct hutch_err *err)
{
	char path[96];
	cleanup_json json_t *rec = NULL;

	snprintf(path, sizeof(path), "images/%s.json", img->id.hex);
	rec = cmn_json_load(s->rootfd, path, "the image record", MAX_JSON, 0,
			    err);
	if (!rec && errno == ENOENT)
		return cmn_err_msg(err, ENOENT, "no such image: %s",
				   img->id.hex);
	if (!rec && errno != EBADMSG && errno != EINVAL)
		return -errno;
	if (!rec || !img_digest_parse(
			    jstr(rec, "manifest") ? jstr(rec, "manifest") : "",
			    &img->manifest))
		return cmn_err_msg(
			err, EINVAL,
			"the record of image %s is damaged; remove it with hutch rmi and pull again",
			img->id.hex);
	img->manifest_type = strdup(
		jstr(rec, "manifestType") ? jstr(rec, "manifestType") : "");
	img->created = json_integer_value(json_object_get(rec, "created"));
	img->size = (uint64_t)json_integer_value(json_object_get(rec, "size"));
	if (jstr(rec, "form") && !strcmp(jstr(rec, "form"), "squashfs")) {
		img->squashfs = cmn_strdup_printf(
			"%s/" STORE_SQSH_DIR "/%s.sqsh", s->root, img->id.hex);
		if (!img->squashfs)
			return cmn_err_set(err, ENOMEM, "image");
		img->squashfs_size = (uint64_t)json_integer_value(
			json_object_get(rec, "squashfsSize"));
		img->layers_kept =
			json_is_true(json_object_get(rec, "layersKept"));
		img->adopted = json_is_true(json_object_get(rec, "adopted"));
	}
	return load_layers(json_object_get(rec, "layers"), img, err);
}

int img_image_load(struct img_store *s, const struct img_digest *id,
		   struct img_image **out, struct hutch_err *err)
{
	struct img_image *img = calloc(1, sizeof(*img));
	int ret;

	if (!img)
		return cmn_err_set(err, ENOMEM, "image");
	img->id = *id;
	ret = load_record(s, img, err);
	if (ret == 0) {
		img->manifest_json = img_blob_read(s, &img->manifest, MAX_JSON,
						   &img->manifest_len, err);
		img->config_json = img_blob_read(s, &img->id, MAX_JSON,
						 &img->config_len, err);
		if (!img->manifest_json || !img->config_json)
			ret = -ENOENT;
	}
	if (ret == 0 && load_names(s, img) < 0)
		ret = cmn_err_set(err, ENOMEM, "image");
	if (ret < 0) {
		img_image_free(img);
		return ret;
	}
	*out = img;
	return 0;
}

void img_image_free(struct img_image *img)
{
	if (!img)
		return;
	free(img->squashfs);
	free(img->manifest_type);
	free(img->manifest_json);
	free(img->config_json);
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layers[i].media_type);
	free(img->layers);
	cmn_strv_free(img->names);
	free(img);
}

static int newest_first(const void *a, const void *b)
{
	const struct img_image *x = *(struct img_image *const *)a;
	const struct img_image *y = *(struct img_image *const *)b;

	return (y->created > x->created) - (y->created < x->created);
}

int img_image_list(struct img_store *s, struct img_image ***out, size_t *n,
		   struct hutch_err *err)
{
	cleanup_dir DIR *d = cmn_opendirat(s->rootfd, "images", 0);
	struct img_image **list = NULL;
	struct dirent *de;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return cmn_err_set(err, errno, "cannot list %s/images",
				   s->root);
	while ((de = readdir(d))) {
		struct img_digest id;
		struct img_image *img, **more;

		if (strlen(de->d_name) != 69 ||
		    strcmp(de->d_name + 64, ".json"))
			continue;
		memcpy(id.hex, de->d_name, 64);
		id.hex[64] = '\0';
		if (img_image_load(s, &id, &img, NULL) < 0)
			continue;
		more = realloc(list, (count + 1) * sizeof(*list));
		if (!more) {
			img_image_free(img);
			break;
		}
		list = more;
		list[count++] = img;
	}
	if (count)
		qsort(list, count, sizeof(*list), newest_first);
	*out = list;
	*n = count;
	return 0;
}

static json_t *layers_json(const struct img_layer_info *layers, size_t n)
{
	json_t *a = json_array();
	char d[72];

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(
			a,
			json_pack(
				"{s:s,s:s,s:I}", "mediaType",
				layers[i].media_type
					? layers[i].media_type
					: "application/vnd.oci.image.layer.v1.tar",
				"digest", img_digest_str(&layers[i].blob, d),
				"size", (json_int_t)layers[i].size));
	return a;
}

int img_image_make(struct img_store *s, const char *config,
		   const struct img_layer_info *layers, size_t n,
		   struct img_digest *id, struct hutch_err *err)
{
	struct img_digest cfg;
	cleanup_free char *text = NULL;
	int ret = img_blob_put(s, config, strlen(config), NULL, &cfg, err);

	if (ret < 0)
		return ret;
	text = manifest_text(&cfg, strlen(config), layers_json(layers, n));
	if (!text)
		return cmn_err_set(err, ENOMEM, "manifest");
	return img_image_add(s, text, strlen(text), id, err);
}
